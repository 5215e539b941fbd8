/*
 * Playback: what users do with recorded (and the latest) video without
 * transcoding it: export a range to one MP4 file, take a JPEG snapshot of
 * the latest keyframe or of any recorded instant.
 *
 * The module reads index rows through storage and segment files from
 * <data>/recordings; it never includes ingest or record (media crosses as
 * media_packets, CONVENTIONS.md §2). Decisions:
 * docs/design/0007-exports-and-snapshots.md.
 */
#ifndef HORUS_PLAYBACK_H
#define HORUS_PLAYBACK_H

#include "cfg.h"
#include "clock.h"
#include "media.h"
#include "metrics.h"
#include "storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- exports ---- */

/* `exports:` section of horus.yaml. */
struct pb_export_config {
    int64_t workers; /* pb-export-N threads [restart] */
    int64_t max_queued; /* queued jobs before POST is refused with 503 */
    int64_t max_age_ms; /* finished exports (rows and files) are deleted after this */
    int64_t max_duration_ms; /* longest range one export may cover */
};

extern const cfg_field pb_export_fields[];

typedef struct pb_exporter pb_exporter;

struct pb_exporter_options {
    sto_db *db; /* borrowed */
    const char *data_dir; /* borrowed during the call: files go to <data_dir>/exports */
    const struct pb_export_config *config; /* copied */
    metrics_registry *metrics; /* borrowed; may be NULL */
    const horus_clock *clock; /* borrowed; NULL = system */
};

/*
 * Creates the exporter and <data_dir>/exports, and registers the export
 * metrics. No thread runs yet. Returns 0 or -errno (the directory).
 * Thread: main.
 */
int pb_exporter_new(const struct pb_exporter_options *opt, pb_exporter **out);

/*
 * Recovers jobs a previous run left (queued ones are queued again; ones
 * that were running when the process died are marked failed, since the
 * export itself may have killed it) and starts the workers.
 * Returns 0 or -errno. Thread: main.
 */
int pb_exporter_start(pb_exporter *ex);

/* Applies the reloadable limits (max_queued, max_age, max_duration). Thread: any. */
void pb_exporter_configure(pb_exporter *ex, const struct pb_export_config *config);

/* The current exports.max_duration in milliseconds. Thread: any. */
int64_t pb_exporter_max_duration_ms(pb_exporter *ex);

/*
 * Stops the workers: running jobs are interrupted, their partial files
 * removed and their rows set back to queued, so the next start runs them
 * again. Frees ex. NULL is a no-op. Thread: main.
 */
void pb_exporter_free(pb_exporter *ex);

struct pb_export_request {
    const char *camera_id;
    const char *stream; /* "main" or "sub" */
    int64_t start_us, end_us; /* UTC microseconds */
};

/*
 * Validates rq and queues a job. On success fills *out (new strings; the
 * queued row). On failure returns the code and writes a sentence naming the
 * field or limit into why: -ENOENT (unknown camera), -EINVAL (bad stream or
 * range, over max_duration), -ENODATA (no recordings in the range), -EAGAIN
 * (max_queued jobs wait already), HORUS_ESTOPPED, or a storage error.
 * Thread: any.
 */
int pb_export_submit(pb_exporter *ex, const struct pb_export_request *rq, struct sto_export *out,
                     char *why, size_t size);

/* The job's row with its live state and progress. Returns 0 or -ENOENT. Thread: any. */
int pb_export_get(pb_exporter *ex, const char *id, struct sto_export *out);

/* sto_export_list with live state and progress. Thread: any. */
int pb_export_list(pb_exporter *ex, const char *after_id, size_t limit, struct sto_export **out,
                   size_t *n, bool *has_more);

/*
 * A queued or running job is cancelled (a running one within a fraction of
 * a second; this waits up to 2 s for its worker to remove the partial
 * file) and its row stays with state "cancelled". A finished job's file
 * and row are deleted. Returns 0 or -ENOENT. Thread: any.
 */
int pb_export_delete(pb_exporter *ex, const char *id);

/* Writes <data_dir>/exports/<id>.mp4 into buf. Thread: any. */
void pb_export_file_path(pb_exporter *ex, const char *id, char *buf, size_t size);

/* ---- snapshots ---- */

#define PB_SNAPSHOT_WIDTH_MIN 16
#define PB_SNAPSHOT_WIDTH_MAX 3840

typedef struct pb_snapshots pb_snapshots;

struct pb_snapshot_options {
    sto_db *db; /* borrowed */
    const char *data_dir; /* borrowed during the call */
    unsigned max_decodes; /* decodes running at once; 0 = 2 */
    int64_t wait_ms; /* how long a request waits for a decode slot; 0 = 2000 */
    metrics_registry *metrics; /* borrowed; may be NULL */
};

/* Returns a new snapshot service (a small JPEG cache and the decode slots). Thread: main. */
pb_snapshots *pb_snapshots_new(const struct pb_snapshot_options *opt);
/* NULL is a no-op. Thread: main, after the HTTP server stopped. */
void pb_snapshots_free(pb_snapshots *s);

/*
 * JPEG of keyframe (borrowed; H.264 or H.265 with its avcC/hvcC in
 * keyframe->stream), scaled to width (0 = the source width; the height
 * keeps the aspect ratio). The result is cached per (camera, stream,
 * width) until a newer keyframe arrives, and concurrent requests for the
 * same one wait for a single decode. *jpeg is new (free()).
 * Returns 0, -EINVAL (width), HORUS_ECODEC (cannot decode), or -EAGAIN when
 * no decode slot freed up within wait_ms. Thread: any (decodes on the
 * caller's thread).
 */
int pb_snapshot_latest(pb_snapshots *s, const char *camera, const char *stream,
                       const media_packet *keyframe, int width, uint8_t **jpeg, size_t *len);

/*
 * JPEG of the recorded frame shown at ts_us (the last frame whose time is
 * at or before it), decoded from the keyframe before it in the segment
 * file. Returns 0, -ENOENT when no recording covers ts_us, or the codes of
 * pb_snapshot_latest; why gets a sentence on failure. Thread: any.
 */
int pb_snapshot_at(pb_snapshots *s, const char *camera, const char *stream, int64_t ts_us,
                   int width, uint8_t **jpeg, size_t *len, char *why, size_t size);

#endif
