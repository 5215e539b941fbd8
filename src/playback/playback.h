/*
 * Playback: what users do with recorded (and the latest) video, without
 * transcoding it: a timeline of spans and gaps, HLS playlists over the
 * recorded files (whose bytes the API serves straight from disk with
 * http/http_file.c), exports of a range to one MP4 file, and JPEG
 * snapshots of the latest keyframe or of any recorded instant.
 *
 * The module reads index rows through storage and segment files from
 * <data>/recordings; it never includes ingest or record (media crosses as
 * media_packets, docs/conventions.md §2). Timeline and playlists own no thread
 * and no state (Thread: any); exports run on pb-export-N workers.
 *
 * Lifecycle (every module's rule): pb_exporter_new allocates and starts no
 * thread; pb_exporter_start starts the pb-export-N workers;
 * pb_exporter_stop stops and joins them; pb_exporter_free frees (NULL is a
 * no-op; after stop, or on a never-started exporter).
 * Decisions: docs/design/0006-playback.md (timeline, playlists),
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
    uint64_t max_bytes; /* quota of all exports (done, and estimated for unfinished); 0 = none */
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

/* Applies the reloadable limits (max_queued, max_age, max_duration, max_bytes). Thread: any. */
void pb_exporter_configure(pb_exporter *ex, const struct pb_export_config *config);

/* The current exports.max_duration in milliseconds. Thread: any. */
int64_t pb_exporter_max_duration_ms(pb_exporter *ex);

/*
 * Stops and joins the workers: running jobs are interrupted, their partial
 * files removed and their rows set back to queued, so the next start runs
 * them again; later submits are refused (HORUS_ESTOPPED). Call before
 * storage stops. Thread: main.
 */
void pb_exporter_stop(pb_exporter *ex);

/* Frees ex, stopping it first if the caller did not. NULL is a no-op. Thread: main. */
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
 * file. When no index row covers ts_us, pending[0..npending) (segments not
 * indexed yet, as in pb_playlist_options; start_us, end_us and path are
 * used) are tried: the file being written, up to its last complete part.
 * Returns 0, -ENOENT when no recording covers ts_us, or the codes of
 * pb_snapshot_latest; why gets a sentence on failure. Thread: any.
 */
struct pb_file; /* below, with the playlists */
int pb_snapshot_at(pb_snapshots *s, const char *camera, const char *stream, int64_t ts_us,
                   const struct pb_file *pending, size_t npending, int width, uint8_t **jpeg,
                   size_t *len, char *why, size_t size);
/* ==== timeline and HLS playback over recordings (timeline.c, playlist.c, pb_metrics.c) ==== */

/* Holes between recordings up to this long are not gaps (about two frames at 25 fps). */
#define PB_GAP_TOLERANCE_US INT64_C(100000)
/* The longest range one timeline request may cover (a quarter, for calendars). */
#define PB_TIMELINE_MAX_US (INT64_C(92) * 86400 * 1000000)
/* The longest range one playlist may cover; clients page through longer ones. */
#define PB_PLAYLIST_MAX_US (INT64_C(24) * 3600 * 1000000)
/* Most segment files one playlist reads (24 h of the shortest 2 s segments fits). */
#define PB_PLAYLIST_MAX_FILES 50000
/* A media segment is cut at the first keyframe part once it holds this much (90 kHz). */
#define PB_SEGMENT_TARGET_90K (4 * 90000)
/* EVENT playlists announce at least this target duration (s), so it need not grow later. */
#define PB_EVENT_MIN_TARGET_S 10

/* A half-open interval of UTC microseconds. */
struct pb_interval {
    int64_t start_us;
    int64_t end_us;
};

/* Recorded time of one calendar day. */
struct pb_day {
    char date[11]; /* "YYYY-MM-DD" in the timeline's UTC offset */
    int64_t start_us; /* UTC instant of that day's midnight */
    int64_t recorded_us; /* recorded within the day and within [from, to) */
};

/*
 * Contiguous spans of recording and the gaps between them, clipped to
 * [from_us, to_us), and per-day totals. Build one with pb_timeline_init,
 * pb_timeline_add per recording row (in start order) and pb_timeline_finish,
 * or with pb_timeline_read; release with pb_timeline_release.
 */
struct pb_timeline {
    int64_t from_us, to_us;
    int tz_offset_s; /* days are local days at this offset from UTC */
    struct pb_interval *spans; /* owned; merged: a hole <= PB_GAP_TOLERANCE_US joins */
    size_t nspans;
    struct pb_interval *gaps; /* owned; the holes between consecutive spans only */
    size_t ngaps;
    struct pb_day *days; /* owned; every day that overlaps [from, to), zeros included */
    size_t ndays;
    /* private */
    size_t spans_cap;
    bool has_open;
    struct pb_interval open;
};

/* Starts an empty timeline for [from_us, to_us) (to > from). */
void pb_timeline_init(struct pb_timeline *t, int64_t from_us, int64_t to_us, int tz_offset_s);
/*
 * Adds one recording [start_us, end_us); rows must come in start order
 * (overlaps are merged). Parts outside [from, to) are clipped away.
 */
void pb_timeline_add(struct pb_timeline *t, int64_t start_us, int64_t end_us);
/* Closes the last span and computes gaps and days. Call once, after the last add. */
void pb_timeline_finish(struct pb_timeline *t);
/* Frees the arrays; t may be re-initialised afterwards. */
void pb_timeline_release(struct pb_timeline *t);

/*
 * Builds the timeline of camera/stream over [from_us, to_us) from the index
 * (sto_recordings_times: primary-key seek, no copies), then adds
 * open[0..nopen) (open may be NULL): segments not indexed yet (the one
 * being written, up to its last complete part, and one just closed whose
 * row may lag), in start order, newer than the index. Returns 0, -EINVAL when the
 * range is empty, longer than PB_TIMELINE_MAX_US (computed without
 * overflow) or tz_offset_s is beyond ±14 h, or the storage error (t is
 * then released).
 */
int pb_timeline_read(sto_db *db, const char *camera_id, const char *stream, int64_t from_us,
                     int64_t to_us, int tz_offset_s, const struct pb_interval *open, size_t nopen,
                     struct pb_timeline *t);

/* One recorded segment file, as the playlist renderer needs it (all borrowed). */
struct pb_file {
    int64_t start_us; /* the row's UTC start: the time of part offset 0 */
    int64_t end_us;
    const char *uri; /* media URI as written into the playlist (relative to it) */
    const char *path; /* pending files: relative to the data directory; else unused */
    /*
     * Being written (docs/design/0032): parts are its complete parts so
     * far, and its last media segment is listed only once it cannot grow
     * (a later keyframe part cut it, or a part starts at or after the
     * range's end), so an EVENT playlist only ever gains segments.
     */
    bool is_open;
    const char *codec; /* with width and height: a change means a new init section */
    int64_t width, height;
    uint64_t init_bytes; /* ftyp+moov at offset 0 (= the first part's offset) */
    const struct sto_part *parts;
    size_t nparts;
};

struct pb_playlist_options {
    int64_t start_us; /* snapped back to the keyframe part at or before it */
    int64_t end_us; /* exclusive: parts that start before it are included */
    bool is_event; /* EVENT without ENDLIST (range reaches the live edge), else VOD */
    /*
     * NULL, or a media token (at most PB_TOKEN_MAX characters of
     * [A-Za-z0-9._~-]; anything else is a programming error) appended as
     * "?t=" (or "&t=") to every URI listed: EXT-X-MAP and segment files.
     * It comes from the auth module, which playback does not link.
     */
    const char *token;
    /*
     * Segment files whose index row may not be readable yet (the segment
     * being written, is_open, and the one closed last), borrowed, in start
     * order and newer than the rows. pb_playlist_read lists each one that
     * overlaps the range and whose start_us no row has, with the URI a
     * row would get (their uri field is ignored). Empty in pb_playlist_render.
     */
    const struct pb_file *pending;
    size_t npending;
};

#define PB_TOKEN_MAX 128

/*
 * Whether open file f can no longer gain media before end_us: it starts at
 * or after end_us, or one of its parts does (parts are written in time
 * order). The test a playlist over [.., end_us) uses to stop being EVENT.
 */
bool pb_file_reaches(const struct pb_file *f, int64_t end_us);

/* What a rendered playlist holds. */
struct pb_playlist_info {
    size_t segments;
    size_t files;
    size_t discontinuities;
    int64_t duration_90k; /* sum of the segments' durations */
    int64_t first_us; /* UTC of the first segment (its PROGRAM-DATE-TIME); 0 when empty */
};

/*
 * Renders an HLS media playlist over files[0..n) (in start order) for
 * opt's range: one EXT-X-MAP (the file's init bytes) and one
 * PROGRAM-DATE-TIME per file, media segments of whole parts from a
 * keyframe part up to the first keyframe part after PB_SEGMENT_TARGET_90K
 * as one EXT-X-BYTERANGE, EXTINF from the parts' exact 90 kHz times,
 * EXT-X-DISCONTINUITY (+ PROGRAM-DATE-TIME) at holes over
 * PB_GAP_TOLERANCE_US between or inside files and where codec or size
 * change, and ENDLIST unless opt->is_event. After the start and after
 * every discontinuity, parts before the next keyframe part are skipped.
 * *out is new (NUL-terminated, *len bytes) even when no segment qualifies
 * (info->segments == 0). Pure; Thread: any.
 */
void pb_playlist_render(const struct pb_file *files, size_t n,
                        const struct pb_playlist_options *opt, char **out, size_t *len,
                        struct pb_playlist_info *info);

/*
 * Reads camera/stream's rows for opt's range (sto_recordings_seek: primary
 * key, at most PB_PLAYLIST_MAX_FILES), decodes their part indexes and
 * renders the playlist with media URIs "recordings/<stream>/<start_us>.mp4".
 * A row whose index does not decode is left out (a warning is logged) and
 * so becomes a discontinuity. Returns 0 with *out new, -EINVAL when the
 * range is empty or longer than PB_PLAYLIST_MAX_US (computed without
 * overflow), or a storage error.
 */
int pb_playlist_read(sto_db *db, const char *camera_id, const char *stream,
                     const struct pb_playlist_options *opt, char **out, size_t *len,
                     struct pb_playlist_info *info);

/* Series of the horus_playback_* metrics; all NULL (and ignored) without a registry. */
struct pb_metrics {
    metrics_series *playlists_vod; /* horus_playback_playlist_requests_total{type="vod"} */
    metrics_series *playlists_event; /* {type="event"} */
    metrics_series *render_seconds; /* horus_playback_playlist_render_seconds */
    metrics_series *media_requests; /* horus_playback_media_requests_total */
    metrics_series *media_bytes; /* horus_playback_media_bytes_total */
    metrics_series *timeline_requests; /* horus_playback_timeline_requests_total */
};

/* Registers the families in reg (may be NULL: m is zeroed). Thread: setup. */
void pb_metrics_init(struct pb_metrics *m, metrics_registry *reg);

/* ==== end of timeline and HLS playback ==== */

#endif
