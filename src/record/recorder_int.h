/*
 * Private to src/record: the recorder's objects, shared by its three
 * files. recorder.c is the public face (cameras, their sinks on the ingest
 * threads, lookups for HTTP threads, lifecycle); recorder_work.c the
 * worker pool and the per-camera queues it serves (docs/design/0011);
 * recorder_segment.c what a worker does with a camera's packets (segments,
 * rotation, index rows) and crash recovery.
 *
 * Lock order: cameras_lock, then lock, then a camera's kf_lock or
 * view_lock (never both). None is held across I/O.
 */
#ifndef HORUS_RECORDER_INT_H
#define HORUS_RECORDER_INT_H

#include "interleave_int.h"
#include "journal_int.h"
#include "record.h"
#include "recorder.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Why a packet was not recorded: the values of the `reason` label. */
enum rec_drop_reason {
    REC_DROP_QUEUE_FULL, /* the camera's own queue quota was full */
    REC_DROP_STOPPING, /* the recorder was stopping */
    REC_DROP_LEASE, /* stamped after the node's camera leases ran out (docs/design/0066) */
    REC_DROP_COUNT,
};

/*
 * What HTTP threads may read of a segment file whose row is not indexed
 * yet (recorder_view.c; rec_recorder_pending). Refcounted; everything but
 * parts[n..cap) and n is immutable once published. The worker holding the
 * camera appends a part by writing parts[n] and then storing n + 1 with
 * release order; readers load n with acquire order and copy parts[0..n),
 * so appending never takes a lock. A full view is replaced by a larger
 * copy (a pointer swap under view_lock), at most a few times a segment.
 */
struct rec_view {
    _Atomic int refs;
    int64_t start_us;
    bool is_open;
    char *path; /* owned: relative to the data directory */
    char codec[80];
    int64_t width, height;
    size_t cap;
    _Atomic size_t n;
    struct sto_part parts[]; /* cap entries */
};

/* One queued packet of a camera. */
struct rec_item {
    media_packet *pkt; /* owned reference */
    bool is_resync; /* packets were dropped (or a gap) just before pkt */
};

struct rec_camera {
    media_sink sink; /* first: the sink pointer is the camera pointer */
    _Atomic int refs;
    rec_recorder *r; /* borrowed */
    char *camera;
    char *stream;
    char *lease_node; /* rec_camera_set_lease; NULL = rows not fenced */
    int64_t lease_token;
    int64_t not_before_us; /* rec_camera_set_lease: no segment starts before it (0: none) */
    pthread_mutex_t kf_lock; /* guards keyframe only */
    media_packet *keyframe; /* owned: latest video keyframe, NULL after a gap */
    _Atomic(media_part_sink *) part_sink; /* borrowed; NULL = no live consumer */
    atomic_bool is_g711_told; /* the G.711 audio that is not recorded was logged */
    _Atomic int64_t open_since_us; /* start of the open segment; 0 = none (for timelines) */
    pthread_mutex_t view_lock; /* guards the two pointers below (not the views' parts) */
    struct rec_view *open_view; /* owned ref: the segment being written, or NULL */
    struct rec_view *closed_view; /* owned ref: the last segment closed, or NULL */
    /* Health (rec_camera_health), monotonic ns; 0 = never: */
    _Atomic int64_t video_ns; /* the sink's last video packet (ingest thread) */
    _Atomic int64_t written_ns; /* last segment opened or part written (its worker) */
    _Atomic int64_t failed_ns; /* last failed open, write or close (its worker) */
    _Atomic int write_err; /* that failure's code */
    struct rec_camera *next; /* in r->cameras, under cameras_lock */

    /* The camera's queue and its place in the schedule: under r->lock. */
    struct rec_item *q; /* owned ring of q_cap items, grown up to the quota */
    size_t q_cap, q_head, q_len;
    bool is_resync_pending; /* a drop or gap since the last queued packet */
    bool is_ready; /* on r's ready list */
    bool is_busy; /* a worker holds it (its packets, or a hash round) */
    bool is_removing; /* rec_recorder_remove: close and unlink once the queue is empty */
    struct rec_camera *ready_next;

    /* Ingest thread only (the sink has one caller): drop log rate limit. */
    int64_t drop_logged_ns;
    uint64_t drops_unlogged;

    /* The worker that holds the camera (is_busy) only: */
    rec_segment *seg;
    struct rec_interleave ilv; /* packets waiting for the other track (interleave.c) */
    media_stream *video, *audio; /* latest streams seen (owned refs) */
    media_stream *seg_video, *seg_audio; /* streams of the open segment (owned refs) */
    int64_t segment_90k;
    int64_t first_segment_90k;
    int64_t audio_only_since_us; /* first audio packet while no video was seen; 0 = none */
    int64_t err_logged_ns; /* when the last write error was logged */
    unsigned err_unlogged; /* write errors since then */
    unsigned nsegments;
    int64_t last_end_us; /* end of the last segment indexed; 0 = none yet */
    bool is_lease_lapsed; /* packets past the lease deadline are being dropped (logged once) */
    char dir[PATH_MAX];
    metrics_series *m_segments, *m_bytes, *m_errors, *m_flush, *m_lag;
    metrics_series *m_dropped[REC_DROP_COUNT];
};

struct rec_recorder {
    struct rec_recorder_options opt;
    char *data_dir;
    char *volume;
    size_t camera_queue_max; /* each camera's quota of queued packets */
    unsigned nthreads;
    pthread_t *threads; /* nstarted of nthreads running */
    unsigned nstarted;
    bool is_started, is_stopped; /* caller's thread only */
    pthread_mutex_t cameras_lock;
    rec_camera *cameras;

    /* The schedule (recorder_work.c), under lock. */
    pthread_mutex_t lock;
    pthread_cond_t work_cond; /* workers wait for a ready camera */
    pthread_cond_t idle_cond; /* rec_recorder_sync waits for no work at all */
    rec_camera *ready_head, *ready_tail; /* cameras with queued work, none busy */
    size_t nbusy; /* cameras held by workers */
    bool is_closing; /* stop: refuse new packets, drain, then end */
    bool is_hashing; /* a worker runs a hash round */
    int64_t hashed_ns; /* monotonic, the last hash round */

    metrics_family *f_segments, *f_bytes, *f_dropped, *f_errors, *f_flush, *f_lag;
    rec_journal *journal; /* owned reference; NULL when it could not be opened */
    _Atomic int64_t lease_until_ms; /* rec_recorder_set_lease_deadline; 0 = none */
};

/* ---- recorder.c ---- */

/* Drops a reference; the last one frees c and whatever its queue holds. */
void rec_camera_unref(rec_camera *c);

/* ---- recorder_view.c (Thread: the worker holding c, unless said) ---- */

/* Publishes c's newly opened segment as its open view (replacing none). */
void rec_view_open(rec_recorder *r, rec_camera *c);

/* Appends the parts c's open segment wrote since the last call. */
void rec_view_update(rec_camera *c);

/*
 * After c's segment closed into info (info->path NULL: nothing was kept):
 * replaces the closed view with it and drops the open view, under one lock
 * so that a reader sees the segment in one of the two.
 */
void rec_view_close(rec_recorder *r, rec_camera *c, const struct rec_segment_info *info);

/* Drops both views (the camera is being freed). Thread: any, with no worker holding c. */
void rec_view_release(rec_camera *c);

/* ---- recorder_work.c ---- */

/*
 * Queues pkt (a new reference is taken) behind c's earlier packets.
 * Returns 0, or the reason it was refused. Thread: ingest (the sink).
 */
int rec_work_push(rec_recorder *r, rec_camera *c, media_packet *pkt, enum rec_drop_reason *why);

/* Marks c so that its next queued packet resumes at a keyframe. Thread: ingest. */
void rec_work_mark_resync(rec_recorder *r, rec_camera *c);

/* Asks for c's removal behind its queued packets. Thread: any. */
void rec_work_remove(rec_recorder *r, rec_camera *c);

/* Starts the workers. Returns 0 or -errno (none left running). Thread: main. */
int rec_work_start(rec_recorder *r);

/* Refuses new packets, lets the workers drain every queue, joins them. Thread: main. */
void rec_work_stop(rec_recorder *r);

/* Waits until no camera has queued work and no worker holds one. */
void rec_work_sync(rec_recorder *r);

/* ---- recorder_segment.c ---- */

/* Records one packet of c (in decode-time order, interleave.c). Thread: the worker holding c. */
void rec_segment_handle(rec_recorder *r, rec_camera *c, media_packet *pkt, bool is_resync);

/* Records every packet c's interleaver still holds. Thread: as rec_segment_finish. */
void rec_segment_drain(rec_recorder *r, rec_camera *c);

/*
 * Closes c's open segment (if any), indexes it, and returns its end (UTC
 * microseconds; 0 when nothing was closed). Thread: the worker holding c,
 * or main after the workers stopped.
 */
int64_t rec_segment_finish(rec_recorder *r, rec_camera *c, const char *why);

/* Closes c's segment, takes it off the list and drops the list's reference. */
void rec_camera_remove_now(rec_recorder *r, rec_camera *c);

#endif
