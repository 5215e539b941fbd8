/*
 * Live view: LL-HLS (and plain HLS) per camera stream, served from memory
 * out of the recorder's fMP4 parts (write once, serve both). Design and
 * numbering rules: docs/design/0005-live-ll-hls.md.
 *
 * The hub keeps, per (camera, stream), the recent parts grouped into
 * segments that start on independent (keyframe) parts. The recorder's
 * thread publishes parts through each stream's media_part_sink; HTTP
 * threads render playlists and serve init segments, parts and whole
 * segments by reference; blocking playlist reloads are deferred requests
 * (http/http.h) that a "live" thread answers when the part they wait for
 * is published.
 *
 * Lifecycle (every module's rule): live_hub_new allocates and starts no
 * thread; live_hub_start starts "live"; live_hub_stop stops and joins it;
 * live_hub_free frees (NULL is a no-op; after stop, or on a never-started
 * hub).
 *
 * URIs inside a media playlist are relative to
 * /api/v1/cameras/{id}/live/: init/<run>-<n>.mp4, part/<run>-<seq>.m4s,
 * segment/<run>-<msn>.m4s, each with "?stream=<name>" for streams other
 * than "main". <run> changes with every start of the process, so media
 * URLs are immutable and cacheable.
 *
 * Signed media URLs: given a token (a string the caller got from the auth
 * module, which live does not link), every URI a playlist lists also
 * carries "t=<token>" ("?t=" or "&t="), so players that cannot send
 * headers can fetch the media. NULL leaves the URIs as above. The token
 * names no viewer: a blocking reload's playlist is rendered once per
 * (stream, token) and shared by every viewer waiting with that token.
 */
#ifndef HORUS_LIVE_H
#define HORUS_LIVE_H

#include "cfg.h"
#include "clock.h"
#include "http.h"
#include "media_part.h"
#include "metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* `live:` section of horus.yaml. */
struct live_config {
    int64_t part_duration_ms; /* the recorder's part length: PART-TARGET */
    int64_t segment_target_ms; /* segments close at the first keyframe part after this */
    int64_t segments_kept; /* complete segments per stream kept in memory */
    uint64_t max_stream_bytes; /* hard cap per stream; oldest segments go first */
};

extern const cfg_field live_config_fields[];

typedef struct live_hub live_hub;

struct live_hub_options {
    uint32_t part_target_ms; /* the recorder's part duration; 0 = 200 */
    uint32_t segment_target_ms; /* 0 = 2000 */
    uint32_t segments_kept; /* 0 = 4 (at least 2); 1 while a camera is unwatched for 60 s */
    size_t max_stream_bytes; /* 0 = 32 MiB */
    metrics_registry *metrics; /* borrowed, may be NULL; must outlive the hub */
    const horus_clock *clock; /* borrowed; NULL = system */
};

/*
 * Creates a hub; starts no thread. Parts can be published at once; waiting
 * requests are answered once the hub is started. Returns 0 (a new hub in
 * *out). Thread: main.
 */
int live_hub_new(const struct live_hub_options *opt, live_hub **out);

/*
 * Starts the "live" thread (blocking-reload wakeups, viewer gauges).
 * Returns 0 or -errno. Thread: main.
 */
int live_hub_start(live_hub *h);

/* Stops and joins the "live" thread; a no-op when not started. Thread: main. */
void live_hub_stop(live_hub *h);

/*
 * Frees the hub with every part it holds (stopping it first if the caller
 * did not). Call after the HTTP server stopped (no deferred request left)
 * and after the recorder was freed (no sink in use). NULL is a no-op.
 * Thread: main.
 */
void live_hub_free(live_hub *h);

/*
 * Makes (camera, stream) live and returns the sink the recorder publishes
 * its parts to (rec_camera_set_part_sink). Every attach starts a new
 * generation and returns a new sink: parts published later through the
 * sink of an earlier attach (a segment opened before a camera restart)
 * are dropped, so they never reach the new attachment's viewers.
 * Borrowed: valid until live_hub_free, also after live_hub_detach. camera
 * and stream are copied. Thread: any.
 */
media_part_sink *live_hub_attach(live_hub *h, const char *camera, const char *stream);

/*
 * The camera stream stopped: drops its parts from memory, answers its
 * waiting blocking reloads with 404, and ignores parts until the next
 * attach. Numbering continues after a later attach. Thread: any.
 */
void live_hub_detach(live_hub *h, const char *camera, const char *stream);

/* Longest token the renderers accept (without the NUL). */
#define LIVE_TOKEN_MAX 128

/*
 * Where the multivariant playlist gets each stream's token: issue writes
 * the token for (camera, stream) into out (cap bytes) and returns its
 * length, or a negative code to list the stream without one. Called on
 * the HTTP thread, with no live lock held.
 */
struct live_token_source {
    int (*issue)(void *arg, const char *camera, const char *stream, char *out, size_t cap);
    void *arg;
};

/*
 * Where a viewer's media time starts (docs/design/0075). Live parts count
 * media time from the start of the camera's session; GStreamer's legacy
 * hlsdemux holds the first frame until that much time has passed. So the
 * multivariant playlist gives each viewer's variant URI the segment a
 * plain player starts at (base_msn) and a media time just before it
 * (base_us), and the media playlist carries both on in every part and
 * segment URI: segments before msn are not listed, and parts and segments
 * whose first decode time is at or after base_us are served with base_us
 * moved to zero (a part from before it, which only a camera restart's new
 * timeline makes, as recorded). Init segments are the same for everyone.
 */
struct live_view {
    bool is_set; /* false: media time as recorded, every segment listed */
    uint64_t msn;
    int64_t base_us;
};

/* ---- serving (Thread: http-N) ----
 *
 * Each function replies (or defers the request) and returns 0, or returns
 * -ENOENT without replying when the hub has no media for (camera, stream),
 * so that the caller can tell an unknown camera from one without media.
 */

/*
 * The LL-HLS media playlist, or with is_legacy the plain HLS playlist of
 * complete segments. msn >= 0 (and part >= 0, or -1 for none) makes it a
 * blocking reload: answered when segment msn (part `part` of it) exists,
 * 400 when msn is beyond the last one plus two, 503 after three target
 * durations without it. The client's address counts as a viewer. token
 * (NULL: none; else at most LIVE_TOKEN_MAX characters of [A-Za-z0-9._~-],
 * a programming error otherwise) is appended to every URI listed; view
 * (NULL: none) as struct live_view says.
 */
int live_serve_playlist(live_hub *h, http_request *req, const char *camera, const char *stream,
                        bool is_legacy, int64_t msn, int64_t part, const char *token,
                        const struct live_view *view);

/*
 * The multivariant playlist: one variant per stream of camera with media,
 * each variant URI with its stream's token from tokens (NULL: none) and a
 * view (struct live_view) that starts the viewer's media time near zero.
 */
int live_serve_master(live_hub *h, http_request *req, const char *camera,
                      const struct live_token_source *tokens);

/*
 * Media by the name in its URI ("<run>-<n>.mp4" / ".m4s"): an init
 * segment, a part, or a complete segment. 404 naming the reason for a
 * malformed or stale name, or media no longer in memory. A part that is
 * the next to come (the playlist's preload hint) is answered when it is
 * published. Parts and segments are moved to view's media time (NULL:
 * none).
 */
int live_serve_init(live_hub *h, http_request *req, const char *camera, const char *stream,
                    const char *name);
int live_serve_part(live_hub *h, http_request *req, const char *camera, const char *stream,
                    const char *name, const struct live_view *view);
int live_serve_segment(live_hub *h, http_request *req, const char *camera, const char *stream,
                       const char *name, const struct live_view *view);

#endif
