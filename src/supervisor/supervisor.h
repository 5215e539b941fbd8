/*
 * The camera supervisor: runs the pipelines of the cameras this node owns
 * (today every camera in the database; a cluster lease will decide later).
 * A camera's pipeline is ingest -> record -> live for its main stream, and
 * for its sub stream when it has a sub_url; an analysed camera's chosen
 * stream also feeds the analysis sampler, after the recorder, and a camera whose frames go to
 * the buses feeds the frame hub last. With a relay, every stream also feeds
 * the relay's feed of (camera, stream), right after the recorder. The database is the source of
 * truth: sup_supervisor_sync makes what runs match it, and the status
 * snapshot it keeps is what the API shows as each camera's "status".
 */
#ifndef HORUS_SUPERVISOR_H
#define HORUS_SUPERVISOR_H

#include "analysis.h"
#include "frames.h"
#include "ingest.h"
#include "live.h"
#include "metrics.h"
#include "recorder.h"
#include "relay.h"
#include "storage.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sup_supervisor sup_supervisor;

/* Frames not recorded for this long (a few GOPs) make a camera no_video or undecodable. */
#define SUP_NOT_RECORDING_MS 5000

struct sup_options {
    sto_db *db; /* borrowed: the cameras to run */
    rec_recorder *recorder; /* borrowed: records each stream and feeds live */
    live_hub *live; /* borrowed, may be NULL: live view off */
    metrics_registry *metrics; /* borrowed: ingest's series */
    det_analysis *analysis; /* borrowed, may be NULL: no object detection */
    frames_hub *frames; /* borrowed, may be NULL: no frame publishing (docs/design/0050) */
    relay_hub *relay; /* borrowed, may be NULL: no re-stream (docs/design/0054) */
    /*
     * Camera leases (docs/design/0065): with a node id, only the cameras
     * whose lease this node holds run; free and expired leases are claimed
     * at each sync and held ones renewed every lease_ttl_ms / 3. NULL: every
     * camera of the database runs.
     */
    const char *node_id; /* copied */
    int64_t lease_ttl_ms;
};

/* A camera's pipeline as the supervisor last saw it. */
struct sup_camera_status {
    /*
     * "streaming", "connecting", "failed", "disabled", or, while frames are
     * not recorded for more than SUP_NOT_RECORDING_MS: "no_video"
     * (connected, no video frames) or "undecodable" (frames arrive, none can
     * be recorded: unusable parameter sets, no keyframe)
     */
    char state[16];
    int64_t since_unix_ms; /* when state last changed (or the pipeline started) */
    char breaker[12]; /* "closed", "open", "half_open" */
    char last_error[160]; /* sentence of the last failure, "" if none; no credentials */
    int64_t next_retry_unix_ms; /* 0 unless waiting to retry */
    uint64_t reconnects;
    /*
     * What the main stream uses now: "tcp" or "udp" (after a transport auto
     * fallback), "native" or "libav"; "" while no ingest runs.
     */
    char transport[8];
    char client[8];
    bool is_recording; /* streaming, and a segment of the main stream is being written now */
    char sub_state[16]; /* the sub stream's state; "" when the camera has no sub_url */
    char audio_note[160]; /* the main stream's audio that is not recorded, and why; "" if none */
    /* The main stream's camera clock (ing_stream_status); has_clock false until measured. */
    bool has_clock;
    double clock_offset_ms, clock_jitter_ms, clock_burst_ms;
    /* The camera's own clock from RTCP sender reports (docs/design/0053); false: none accepted. */
    bool has_camera_offset;
    double camera_offset_ms;
    bool has_av_offset; /* both tracks' reports: how much later audio plays than its picture */
    double av_offset_ms;
    /*
     * Rates over the last ~5 s (SUP_RATE_SAMPLES status passes): video
     * frames per second and media bits per second (every track) of the main
     * stream, and of the sub stream; has_* false while the stream is not
     * receiving (or has not been up for a second yet).
     */
    bool has_rate, has_sub_rate;
    double fps, bitrate_bps;
    double sub_fps, sub_bitrate_bps;
    /* The camera's object detection (detect: section); has_detect false when not analysed. */
    bool has_detect;
    struct det_camera_status detect;
};

/*
 * Returns a new supervisor. Nothing runs until the first sync; the options'
 * objects must outlive it. Thread: main.
 */
sup_supervisor *sup_supervisor_new(const struct sup_options *o);

/*
 * Sets the deadlines, transport and breaker policy for streams started
 * from now on (c is copied; it must have passed validation). Thread: main.
 */
void sup_supervisor_configure(sup_supervisor *s, const struct ing_config *c);

/*
 * The networks camera streams may connect to (ingest.networks on top of
 * the built-in rules), for the API's checks of camera URLs and probes.
 * Borrowed until sup_supervisor_free. Thread: any.
 */
const ing_netpolicy *sup_supervisor_networks(const sup_supervisor *s);

/*
 * Starts, restarts and stops pipelines to match the database: a camera
 * restarts when anything its pipeline is built from changes (URLs,
 * enabled, recording, segment length, transport, client). On a read error everything keeps
 * running as it is. Thread: main, about once a second.
 */
void sup_supervisor_sync(sup_supervisor *s);

/*
 * Rebuilds the status snapshot sup_camera_status_get reads and counts the
 * cameras receiving media and those whose last attempt failed. Thread:
 * main, after sync.
 */
void sup_supervisor_refresh_status(sup_supervisor *s, unsigned *online, unsigned *failed);

/*
 * Copies camera id's status from the last snapshot into *out. Returns
 * false when the supervisor does not run that camera (yet). Thread: any.
 */
bool sup_camera_status_get(sup_supervisor *s, const char *id, struct sup_camera_status *out);

/*
 * Stops every pipeline: ingest first (all asked, then all joined), then
 * the recorder closes and indexes each stream's open segment. The status
 * snapshot stays readable. Idempotent. Thread: main.
 */
void sup_supervisor_stop(sup_supervisor *s);

/* Stops what still runs and frees s. NULL is a no-op. Thread: main. */
void sup_supervisor_free(sup_supervisor *s);

#endif
