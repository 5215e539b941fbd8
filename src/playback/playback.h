/*
 * Playback: reading recordings back. This module owns no thread and no
 * state of its own: every function reads the index through storage and
 * renders an answer for the HTTP handler that called it (Thread: any).
 * Media bytes are served by the API straight from the recorded files
 * (core/http_file.c); nothing is remuxed here.
 *
 * Decisions (segment grouping, discontinuities, live edge, limits,
 * caching) are in docs/design/0006-playback.md.
 */
#ifndef HORUS_PLAYBACK_H
#define HORUS_PLAYBACK_H

#include "metrics.h"
#include "storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
 * (sto_recordings_times: primary-key seek, no copies). Returns 0, or the
 * storage error (t is then released).
 */
int pb_timeline_read(sto_db *db, const char *camera_id, const char *stream, int64_t from_us,
                     int64_t to_us, int tz_offset_s, struct pb_timeline *t);

/* One recorded segment file, as the playlist renderer needs it (all borrowed). */
struct pb_file {
    int64_t start_us; /* the row's UTC start: the time of part offset 0 */
    int64_t end_us;
    const char *uri; /* media URI as written into the playlist (relative to it) */
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
};

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
 * so becomes a discontinuity. Returns 0 with *out new, or a storage error.
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
