/*
 * Recorder: the "rec-<volume>-<n>" worker threads that turn every
 * camera's media packets into segment files and index rows. (Folds into
 * record.h once the segment writer's header settles; see #3.)
 *
 * Lifecycle (every module's rule): rec_recorder_new allocates and starts
 * no thread; rec_recorder_start starts the workers; rec_recorder_stop
 * stops and joins them and closes the open segments; rec_recorder_free
 * frees (NULL is a no-op; after stop, or on a never-started recorder).
 *
 * Each recorded camera stream gets a rec_camera whose media_sink is handed
 * to ingest. The sink callbacks run on the ingest thread and only queue,
 * on the camera's own bounded queue: a full queue (slow disk, or a camera
 * sending faster than it can be written) drops that camera's packet,
 * counts it, and makes the recorder resume the stream at its next
 * keyframe, so ingest never waits for the disk and one camera's flood
 * never costs another camera a packet (docs/design/0011). A camera is
 * handled by one worker at a time, in packet order.
 */
#ifndef HORUS_RECORD_RECORDER_H
#define HORUS_RECORD_RECORDER_H

#include "cfg.h"
#include "clock.h"
#include "media.h"
#include "media_part.h"
#include "metrics.h"
#include "retention.h"
#include "storage.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct rec_recorder rec_recorder;
typedef struct rec_camera rec_camera;

/* The `record:` section of horus.yaml (config.c); both keys apply at start. */
struct rec_config {
    int64_t threads; /* worker threads; 0 = one per CPU, at most 4 */
    int64_t camera_queue; /* packets queued per camera stream */
};

extern const cfg_field rec_config_fields[];

struct rec_recorder_options {
    sto_db *db; /* borrowed */
    const char *data_dir; /* borrowed: files go to <data_dir>/recordings/... */
    const char *volume; /* thread name suffix and metric label; default "0" */
    /*
     * Packets each camera stream may have queued for the workers; beyond
     * it that camera's own packets are dropped (counted, reason
     * queue_full). 0 = 2048.
     */
    size_t camera_queue_max;
    unsigned threads; /* worker threads "rec-<volume>-<n>"; 0 = one per CPU, at most 4 */
    uint32_t part_duration_ms; /* 0 = the writer's default (200 ms) */
    rec_retention *retention; /* borrowed, may be NULL: kicked on ENOSPC */
    metrics_registry *metrics; /* borrowed */
    const horus_clock *clock; /* borrowed; NULL = system */
};

/* Creates the recorder; starts no thread. Returns a new object. Thread: main. */
rec_recorder *rec_recorder_new(const struct rec_recorder_options *opt);

/*
 * Closes every .part file a crash left under <data_dir>/recordings at its
 * last complete part, renames it and inserts its index row; then replays
 * the index journal and indexes the newest files the index lacks
 * (docs/design/0012-index-journal.md). Returns the number of .part
 * segments recovered. Call before rec_recorder_start. Thread: any.
 */
int rec_recorder_recover(rec_recorder *r);

/* Starts the "rec-<volume>-<n>" workers. Returns 0 or -errno. Thread: main. */
int rec_recorder_start(rec_recorder *r);

/*
 * Adds a recorded stream. segment_seconds is the target length (cut at the
 * first keyframe after it). Returns a new rec_camera; its sink is valid
 * until rec_recorder_remove. Thread: any.
 */
rec_camera *rec_recorder_add(rec_recorder *r, const char *camera, const char *stream,
                             int64_t segment_seconds);

/* The sink to give to ingest. Borrowed from c. */
media_sink *rec_camera_sink(rec_camera *c);

/*
 * Gives a new reference to the latest video keyframe the sink of
 * camera/stream received (its stream, with the avcC/hvcC extradata, rides
 * along in pkt->stream). The keyframe is dropped on a gap (disconnect,
 * stall), so a camera that stopped sending has none. Returns 0 and *out,
 * -ENOENT when the recorder has no such camera stream, or -EAGAIN when it
 * has no keyframe yet. Never waits for the recorder workers or the disk.
 * Thread: any.
 */
int rec_recorder_latest_keyframe(rec_recorder *r, const char *camera, const char *stream,
                                 media_packet **out);

/*
 * The UTC start of camera/stream's open segment (being written, not indexed
 * until it closes) into *since_us: whether a timeline says "recording".
 * Its playable parts: rec_recorder_pending. Returns 0, or -ENOENT when no
 * segment is open. Thread: any.
 */
int rec_recorder_recording_since(rec_recorder *r, const char *camera, const char *stream,
                                 int64_t *since_us);

/*
 * A segment file of camera/stream whose index row may not be readable yet:
 * the one being written (is_open), and the one closed last (its row goes
 * through the journal and the writer thread, so it may lag the rename by a
 * batch). Everything listed is on disk: the init segment and complete
 * parts that pwritev wrote in full (not fsynced: a crash keeps them,
 * recovery indexes them; power loss may not). docs/design/0032.
 */
struct rec_pending_segment {
    int64_t start_us; /* UTC; the index key the row will have */
    int64_t end_us; /* start + the end of the last complete part */
    bool is_open; /* being written: named path, renamed to path less ".part" at close */
    char *path; /* new: relative to the data directory */
    char codec[80]; /* "avc1.640028,mp4a.40.2" as the row will have it */
    int64_t width, height;
    struct sto_part *parts; /* new: complete parts, in file order */
    size_t nparts;
};

#define REC_PENDING_MAX 2

/*
 * Copies camera/stream's pending segments (the closed one first, then the
 * open one; at most REC_PENDING_MAX, none without parts) into out[0..*n).
 * Release each with rec_pending_segment_release. Never waits for the
 * workers or the disk: it takes a reference under a camera's view lock
 * (a few instructions) and copies the part entries published so far.
 * Returns 0 (maybe *n = 0), or -ENOENT when the recorder has no such
 * camera stream. Thread: any.
 */
int rec_recorder_pending(rec_recorder *r, const char *camera, const char *stream,
                         struct rec_pending_segment out[REC_PENDING_MAX], size_t *n);

/* Frees what rec_recorder_pending copied; p may be re-used. */
void rec_pending_segment_release(struct rec_pending_segment *p);

/*
 * Publishes every part of c's segments (from the next segment opened on)
 * to sink, borrowed; NULL stops publishing. The sink is called on the
 * worker that holds the camera and must stay valid until
 * rec_recorder_free returns (a removed camera's last part is published
 * when its segment closes).
 * Thread: any; normally right after rec_recorder_add.
 */
void rec_camera_set_part_sink(rec_camera *c, media_part_sink *sink);

/*
 * Fences c's index rows (docs/design/0066-fencing.md): each goes in only
 * while node (copied) holds the camera's lease with token, or when its
 * segment ended before the present holder took the lease. A refused
 * segment's file is renamed <name>.fenced, out of the index's and
 * recovery's way, and kept. No segment starts with a packet stamped
 * before not_before_ms (0: no bound): the supervisor gives the expiry of
 * the lease it took over from a node that stopped renewing, which may
 * have recorded until then, so that the GOP a camera buffers and sends at
 * connect cannot make this node's first file cover that node's last
 * moments. Without this call rows are not fenced. Thread: the caller of
 * rec_recorder_add, before the first packet.
 */
void rec_camera_set_lease(rec_camera *c, const char *node, int64_t token, int64_t not_before_ms);

/*
 * The local side of fencing (docs/design/0066): packets stamped after
 * until_ms (ms since the epoch) are not recorded, counted as
 * horus_record_dropped_packets_total{reason="lease_expired"}, and close
 * the open segment; recording resumes at the next keyframe once the
 * deadline moves past them. The supervisor sets it to the moment this
 * node's leases run out after each renewal, so that a node whose main
 * thread is stuck on an unanswering database still stops writing in time.
 * 0 (the default): no deadline. Thread: any.
 */
void rec_recorder_set_lease_deadline(rec_recorder *r, int64_t until_ms);

/*
 * Stops recording c: its open segment is closed and indexed by a worker
 * once its queued packets are recorded. Call after ingest stopped calling the sink. c is freed.
 * Thread: any.
 */
void rec_recorder_remove(rec_recorder *r, rec_camera *c);

/*
 * Fills *row, the index row to insert for a closed segment: its path
 * relative to data_dir, and the codecs joined into codec (the caller's
 * 80-byte buffer). Strings are borrowed from info, camera, stream and
 * codec. Thread: any.
 */
struct rec_segment_info;
void rec_recording_row(const struct rec_segment_info *info, const char *data_dir,
                       const char *camera, const char *stream, char codec[80],
                       struct sto_recording_input *row);

/*
 * Recording health. A write is a segment open, a part write or a close;
 * "written" counts the opens and parts that reached the disk.
 */
struct rec_camera_health {
    int64_t video_age_ms; /* since the sink last received a video frame; -1: never */
    int64_t written_age_ms; /* since this stream last wrote (segment or part); -1: never */
    int write_error; /* the last write's code when it failed after the last success; else 0 */
};

/* Fills *out for c. Never waits. Thread: any, while c is not removed. */
void rec_camera_health(rec_camera *c, struct rec_camera_health *out);

/* A write failure newer than every success makes the recorder unhealthy for this long. */
#define REC_HEALTH_WINDOW_MS 30000

struct rec_recorder_health {
    bool is_ok; /* no camera stream's last write failed within REC_HEALTH_WINDOW_MS */
    int write_error; /* the latest failure's code (-EROFS, -ENOSPC, -EIO...); 0 when ok */
    int64_t failed_age_ms; /* how long ago it failed */
    unsigned failing_streams; /* camera streams whose last write failed */
};

/* Fills *out across every camera of r. Never waits. Thread: any. */
void rec_recorder_health(rec_recorder *r, struct rec_recorder_health *out);

/*
 * Returns once the workers have handled everything queued (segments cut
 * and closed, removals done, index rows handed to storage; not the
 * storage commit) and none holds a camera. Tests wait on it instead of
 * sleeping; the supervisor, before it gives its camera leases up. It waits
 * as long as packets keep coming. The recorder must be started, or its
 * queues empty. Thread: any but a worker.
 */
void rec_recorder_sync(rec_recorder *r);

/*
 * Stops the workers after they recorded every queued packet, joins them, then
 * closes every open segment and queues its index row (so stop the
 * recorder before storage). Call after ingest stopped calling the sinks.
 * A second call is a no-op, and so is, in effect, a call on a
 * never-started recorder (nothing is open). Thread: main.
 */
void rec_recorder_stop(rec_recorder *r);

/*
 * Frees r and every camera still added (stopping it first if the caller
 * did not). NULL is a no-op. Thread: main.
 */
void rec_recorder_free(rec_recorder *r);

#endif
