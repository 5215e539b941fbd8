/*
 * DESIGN: recorded video over HTTP:
 *   GET /api/v1/cameras/{id}/recordings                 timeline (spans, gaps, days)
 *   GET /api/v1/cameras/{id}/playback.m3u8              HLS VOD / EVENT playlist
 *   GET /api/v1/cameras/{id}/recordings/{stream}/{file} one segment file, by Range
 *
 * The playlist's media URIs are relative ("recordings/main/<start_us>.mp4"),
 * so they resolve under whatever prefix a proxy puts in front. A media
 * request names a recording by its index key (camera, stream, start_us);
 * the file name on disk comes from the index row, never from the request.
 *
 * Range decisions (docs/design/0006-playback.md): a playlist needs start;
 * end defaults to now (the live edge). A playlist covers at most 24 h (an
 * explicit longer range is 400; a default end is cut at start + 24 h) and
 * is EVENT (no ENDLIST, no-store) on a camera that records until no more
 * media can come before its end; a past range without recordings is 404.
 *
 * Open segments (docs/design/0032): the segment being written and the one
 * closed last are not (or may not yet be) in the index; the recorder lends
 * copies of their part index (rec_recorder_pending, never waiting for the
 * workers). Playlists, the timeline, snapshots and the media route use
 * them: a media request for a start_us no row has is served from the
 * pending file (no-cache, never put in the media cache), by its .part name
 * or, once renamed at close, its final one.
 *
 * Thread: http-N. Reads only (reader pool); the files go out by sendfile.
 */
#include "api_int.h"
#include "query_int.h"

#include "err.h"
#include "log.h"
#include "media_token.h"
#include "mem.h"
#include "playback.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_MODULE "api"

#define EDGE_SLACK_US (INT64_C(10) * 1000000) /* on top of segment_seconds */
#define VOD_CACHE_CONTROL "max-age=60"
#define MEDIA_CACHE_CONTROL "max-age=31536000, immutable"
#define PENDING_CACHE_CONTROL "no-cache" /* a segment not indexed yet: the file may grow */
#define HLS_CONTENT_TYPE "application/vnd.apple.mpegurl"
/* A playlist spans at most 24 h, so a file's offset in it is within a day either way. */
#define MEDIA_OFFSET_MAX_US (INT64_C(48) * 3600 * 1000000)

static int64_t now_us(const struct api *ctx)
{
    return clock_realtime_ms(ctx->clock) * 1000;
}

static json_t *time_json(int64_t us)
{
    char ts[32];
    clock_format_rfc3339_ms(us / 1000 - (us % 1000 < 0), ts, sizeof(ts)); /* floor */
    return json_string(ts);
}

/* Seconds with millisecond precision. */
static json_t *seconds_json(int64_t us)
{
    return json_real(round((double)us / 1000.0) / 1000.0);
}

/* "main" (default) or "sub" into *stream. Replies on error. */
static int query_stream(http_request *req, const char **stream)
{
    const char *v = http_request_query(req, "stream");
    if (!v) {
        *stream = "main";
        return 0;
    }
    if (strcmp(v, "main") != 0 && strcmp(v, "sub") != 0) {
        http_reply_error(req, -EINVAL, "stream: must be main or sub, not '%.32s'", v);
        return -EINVAL;
    }
    *stream = v;
    return 0;
}

/* "Z" or "+HH:MM" / "-HH:MM" into seconds east of UTC. Replies on error. */
static int query_tz(http_request *req, int *offset_s)
{
    char why[96];
    int rc = api_tz_parse(http_request_query(req, "tz"), offset_s, why, sizeof(why));
    if (rc < 0)
        http_reply_error(req, rc, "%s", why);
    return rc;
}

/* The ?start= and ?end= of kind's range into *start, *end (query.c). Replies on error. */
static int query_range(http_request *req, enum api_range_kind kind, int64_t now, int64_t *start,
                       int64_t *end)
{
    char why[192];
    int rc = api_range_parse(kind, http_request_query(req, "start"), http_request_query(req, "end"),
                             now, start, end, why, sizeof(why));
    if (rc < 0)
        http_reply_error(req, rc, "%s", why);
    return rc;
}

static json_t *intervals_json(const struct pb_interval *iv, size_t n, bool has_duration)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:o, s:o}", "start", time_json(iv[i].start_us), "end",
                              time_json(iv[i].end_us));
        if (has_duration)
            json_object_set_new(o, "duration_s", seconds_json(iv[i].end_us - iv[i].start_us));
        json_array_append_new(a, o);
    }
    return a;
}

void api_pending_read(struct api *ctx, const char *camera, const char *stream,
                      struct api_pending *p)
{
    memset(p, 0, sizeof(*p));
    if (!ctx->recorder || rec_recorder_pending(ctx->recorder, camera, stream, p->segs, &p->n) < 0)
        return;
    for (size_t i = 0; i < p->n; i++) {
        const struct rec_pending_segment *g = &p->segs[i];
        p->files[i] = (struct pb_file){
            .start_us = g->start_us,
            .end_us = g->end_us,
            .path = g->path,
            .is_open = g->is_open,
            .codec = g->codec,
            .width = g->width,
            .height = g->height,
            .init_bytes = g->parts[0].offset,
            .parts = g->parts,
            .nparts = g->nparts,
        };
        if (g->is_open)
            p->open = &p->files[i];
    }
}

void api_pending_release(struct api_pending *p)
{
    for (size_t i = 0; i < p->n; i++)
        rec_pending_segment_release(&p->segs[i]);
    memset(p, 0, sizeof(*p));
}

static int timeline_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *stream;
    int tz_s;
    int64_t start, end;
    if (query_stream(req, &stream) < 0 || query_tz(req, &tz_s) < 0 ||
        query_range(req, API_RANGE_TIMELINE, now_us(ctx), &start, &end) < 0)
        return 0;
    struct sto_camera cam;
    if (api_camera_load(req, ctx, http_request_param(req, "id"), &cam) < 0)
        return 0;
    /*
     * Segments not indexed yet (the one being written, up to its last
     * complete part; one just closed whose row may lag) come from the recorder.
     */
    int64_t since = 0;
    bool is_recording =
        ctx->recorder && rec_recorder_recording_since(ctx->recorder, cam.id, stream, &since) == 0;
    struct api_pending pend;
    api_pending_read(ctx, cam.id, stream, &pend);
    struct pb_interval open[REC_PENDING_MAX];
    for (size_t i = 0; i < pend.n; i++)
        open[i] = (struct pb_interval){pend.files[i].start_us, pend.files[i].end_us};
    struct pb_timeline t;
    int rc = pb_timeline_read(ctx->db, cam.id, stream, start, end, tz_s, open, pend.n, &t);
    api_pending_release(&pend);
    if (rc < 0) {
        http_reply_error(req, rc, "read recordings of camera '%s': %s", cam.id, horus_strerror(rc));
        sto_camera_release(&cam);
        return 0;
    }
    json_t *days = json_array();
    for (size_t i = 0; i < t.ndays; i++)
        json_array_append_new(days, json_pack("{s:s, s:o}", "date", t.days[i].date, "recorded_s",
                                              seconds_json(t.days[i].recorded_us)));
    json_t *j = json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b}", "camera", cam.id, "stream", stream, "start",
        time_json(start), "end", time_json(end), "spans", intervals_json(t.spans, t.nspans, true),
        "gaps", intervals_json(t.gaps, t.ngaps, true), "days", days, "recording", is_recording);
    pb_timeline_release(&t);
    sto_camera_release(&cam);
    if (ctx->playback_metrics.timeline_requests)
        metrics_counter_add(ctx->playback_metrics.timeline_requests, 1);
    return http_reply_json(req, 200, j);
}

static int keep_end(int64_t start_us, int64_t end_us, void *arg)
{
    (void)start_us;
    *(int64_t *)arg = end_us;
    return 0;
}

/* Whether end is after the end of camera/stream's newest index row (or it has none). */
static bool reaches_past_index(struct api *ctx, const char *camera, const char *stream, int64_t end)
{
    int64_t start_us, end_us = INT64_MIN;
    if (sto_recording_latest(ctx->db, camera, stream, &start_us) < 0)
        return true;
    int rc =
        sto_recordings_times(ctx->db, camera, stream, start_us, start_us + 1, keep_end, &end_us);
    return rc < 0 || end > end_us;
}

static int playlist_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    int64_t now = now_us(ctx);
    const char *stream;
    int64_t start, end;
    if (query_stream(req, &stream) < 0 ||
        query_range(req, API_RANGE_PLAYLIST, now, &start, &end) < 0)
        return 0;
    struct sto_camera cam;
    if (api_camera_load(req, ctx, http_request_param(req, "id"), &cam) < 0)
        return 0;
    bool is_recording = cam.enabled && cam.record_enabled;
    char token[AUTH_MEDIA_TOKEN_MAX + 1];
    int rc = api_media_token(ctx, req,
                             &(struct auth_media_scope){.kind = AUTH_MEDIA_PLAYBACK,
                                                        .camera = cam.id,
                                                        .stream = stream,
                                                        .from_us = start,
                                                        .to_us = end},
                             token, sizeof(token));
    if (rc < 0) {
        http_reply_error(req, rc, "issue a media token: %s", horus_strerror(rc));
        sto_camera_release(&cam);
        return 0;
    }
    /*
     * The range is complete (VOD) once nothing more can be written before
     * its end: the segment being written has a part at or after it. With
     * no segment open (camera away, or between two) media may still be
     * queued for the disk: EVENT while end is within EDGE_SLACK_US of now.
     * Without a recorder on this node, the index is all there is: the
     * open segment shows up when it closes, up to segment_seconds later.
     */
    struct api_pending pend;
    api_pending_read(ctx, cam.id, stream, &pend);
    /*
     * Without end, on a camera that records, the playlist follows the
     * recording for up to PB_PLAYLIST_MAX_US from start (a person starts
     * 10 s back and keeps watching): its range ends there, not at this
     * request's now, so no segment is cut short by a moving end and every
     * reload only appends. The media token still covers [start, now].
     */
    int64_t list_end = end;
    if (is_recording && !http_request_query(req, "end") && end == now)
        list_end = start + PB_PLAYLIST_MAX_US; /* start <= now: no overflow */
    /*
     * The recent past of a camera another node records: its open segment
     * (not indexed until it closes) is known only there, so that node lists
     * the window (docs/design/0070). Its files it serves itself, the others'
     * it redirects in turn.
     */
    if (is_recording && pend.n == 0 && reaches_past_index(ctx, cam.id, stream, list_end)) {
        char elsewhere[200];
        struct auth_media_scope scope = {.kind = AUTH_MEDIA_PLAYBACK,
                                         .camera = cam.id,
                                         .stream = stream,
                                         .from_us = start,
                                         .to_us = list_end > start ? list_end : start + 1};
        if (api_redirect_to_holder(req, ctx, cam.id, &scope, elsewhere, sizeof(elsewhere))) {
            api_pending_release(&pend);
            sto_camera_release(&cam);
            return 0;
        }
    }
    bool is_event = false;
    if (is_recording && pend.open)
        is_event = !pb_file_reaches(pend.open, list_end);
    else if (is_recording && ctx->recorder)
        is_event = list_end > now - EDGE_SLACK_US;
    else if (is_recording)
        is_event = list_end > now - (cam.segment_seconds * 1000000 + EDGE_SLACK_US);
    struct pb_playlist_options o = {
        .start_us = start,
        .end_us = list_end,
        .is_event = is_event,
        .token = token[0] ? token : NULL,
        .pending = pend.files,
        .npending = pend.n,
    };
    int64_t t0 = clock_monotonic_ns(clock_system());
    char *text = NULL;
    size_t len = 0;
    struct pb_playlist_info info;
    rc = pb_playlist_read(ctx->db, cam.id, stream, &o, &text, &len, &info);
    api_pending_release(&pend);
    const struct pb_metrics *m = &ctx->playback_metrics;
    if (m->render_seconds)
        metrics_histogram_observe(m->render_seconds,
                                  (double)(clock_monotonic_ns(clock_system()) - t0) / 1e9);
    if (rc < 0) {
        http_reply_error(req, rc, "read recordings of camera '%s': %s", cam.id, horus_strerror(rc));
    } else if (info.segments == 0 && !o.is_event) {
        char a[32], b[32];
        clock_format_rfc3339_ms(start / 1000, a, sizeof(a));
        clock_format_rfc3339_ms(end / 1000, b, sizeof(b));
        http_reply_error(req, -ENOENT,
                         "camera '%s' has no recordings of stream '%s' between %s and %s", cam.id,
                         stream, a, b);
        free(text);
    } else {
        metrics_series *s = o.is_event ? m->playlists_event : m->playlists_vod;
        if (s)
            metrics_counter_add(s, 1);
        http_reply_header(req, "Cache-Control", o.is_event ? "no-store" : VOD_CACHE_CONTROL);
        http_reply_owned(req, 200, HLS_CONTENT_TYPE, text, len);
        char a[32], b[32], object[64];
        clock_format_rfc3339_ms(start / 1000, a, sizeof(a));
        clock_format_rfc3339_ms(end / 1000, b, sizeof(b));
        snprintf(object, sizeof(object), "%s@%s", stream, a); /* event reloads: one viewing */
        json_t *d = json_pack("{s:s, s:s, s:s}", "stream", stream, "start", a, "end", b);
        api_audit_view(ctx, req, AUTH_AUDIT_PLAYBACK_REQUESTED, "camera", cam.id, object, d);
        json_decref(d);
    }
    sto_camera_release(&cam);
    return 0;
}

/* A stored relative path that stays inside the data directory. */
static bool is_safe_path(const char *p)
{
    if (!p[0] || p[0] == '/')
        return false;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s += n;
        if (*s == '/')
            s++;
    }
    return true;
}

int api_pending_ref(struct api *ctx, const char *id, const char *stream, int64_t start_us,
                    struct api_media_ref *ref)
{
    struct api_pending p;
    api_pending_read(ctx, id, stream, &p);
    int rc = -ENOENT;
    for (size_t i = 0; i < p.n && rc < 0; i++) {
        const struct pb_file *f = &p.files[i];
        if (f->start_us != start_us || !is_safe_path(f->path) ||
            strlen(f->path) >= sizeof(ref->path))
            continue;
        snprintf(ref->path, sizeof(ref->path), "%s", f->path);
        ref->sha256[0] = '\0';
        ref->end_us = f->end_us;
        ref->is_pending = true;
        rc = 0;
    }
    api_pending_release(&p);
    return rc;
}

/*
 * Finds the file of (id, stream, start_us) in the index into *ref, or
 * replies with the error (404 naming the recording) and returns it.
 */
static int lookup_media(http_request *req, struct api *ctx, const char *id, const char *stream,
                        int64_t start_us, struct api_media_ref *ref)
{
    struct sto_recording r;
    int rc = sto_recording_get(ctx->db, id, stream, start_us, &r);
    if (rc == -ENOENT && api_pending_ref(ctx, id, stream, start_us, ref) == 0)
        return 0;
    if (rc == -ENOENT) {
        http_reply_error(req, rc,
                         "camera '%s' has no recording of stream '%s' starting at %" PRId64 " us",
                         id, stream, start_us);
        return rc;
    }
    if (rc < 0) {
        http_reply_error(req, rc, "read recording: %s", horus_strerror(rc));
        return rc;
    }
    if (!is_safe_path(r.path) || strlen(r.path) >= sizeof(ref->path)) {
        log_error_kv(LOG_KV({"camera", id}, {"path", r.path}),
                     "recording row has a path outside the data directory or too long");
        sto_recording_release(&r);
        http_reply_error(req, -EIO, "recording has an invalid path");
        return -EIO;
    }
    snprintf(ref->path, sizeof(ref->path), "%s", r.path);
    snprintf(ref->sha256, sizeof(ref->sha256), "%s", r.sha256 ? r.sha256 : "");
    ref->end_us = r.end_us;
    ref->is_pending = false;
    sto_recording_release(&r);
    return 0;
}

/* Opens the file of ref under the data directory; -errno on failure. */
static int open_media(const struct api *ctx, const struct api_media_ref *ref)
{
    char *path = horus_asprintf("%s/%s", ctx->data_dir, ref->path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t n = strlen(path);
    if (fd < 0 && errno == ENOENT && ref->is_pending && n > 5 &&
        strcmp(path + n - 5, ".part") == 0) {
        /* The segment closed meanwhile: same bytes, renamed. */
        path[n - 5] = '\0';
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    int rc = fd < 0 ? -errno : fd;
    free(path);
    return rc;
}

/*
 * A recorded file this node does not have: redirect to the node whose row
 * names it (docs/design/0070), or say where it is, or that it is gone.
 */
static int elsewhere(http_request *req, struct api *ctx, const char *id, const char *stream,
                     int64_t start_us, int64_t end_us)
{
    char *node = NULL, why[200] = "";
    if (sto_recording_node(ctx->db, id, stream, start_us, &node) == 0) {
        struct auth_media_scope scope = {.kind = AUTH_MEDIA_PLAYBACK,
                                         .camera = id,
                                         .stream = stream,
                                         .from_us = start_us,
                                         .to_us = end_us > start_us ? end_us : start_us + 1};
        int rc = api_redirect_to_node(req, ctx, node, &scope, why, sizeof(why));
        free(node);
        if (rc)
            return 0;
    }
    if (why[0])
        return http_reply_error(req, HORUS_EUNAVAIL,
                                "recording %s/%s/%" PRId64 " is not on this node: %s", id, stream,
                                start_us, why);
    return http_reply_error(req, -ENOENT,
                            "the file of recording %s/%s/%" PRId64 " is gone (retention?)", id,
                            stream, start_us);
}

static int media_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    const char *stream = http_request_param(req, "stream");
    const char *file = http_request_param(req, "file");
    if (strcmp(stream, "main") != 0 && strcmp(stream, "sub") != 0)
        return http_reply_error(req, -EINVAL, "stream: must be main or sub, not '%.32s'", stream);
    int64_t start_us;
    if (api_file_start_parse(file, &start_us) < 0)
        return http_reply_error(
            req, -EINVAL, "file: expected <start_us>.mp4 as listed in a playlist, not '%.40s'",
            file);
    /* ?m=: the playlist's media time for the file's first picture (docs/design/0074). */
    const char *mq = http_request_query(req, "m");
    int64_t offset_us = 0;
    bool offset_is_set = mq != NULL;
    if (mq) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(mq, &end, 10);
        if (!*mq || *end || errno || v < -MEDIA_OFFSET_MAX_US || v > MEDIA_OFFSET_MAX_US)
            return http_reply_error(req, -EINVAL,
                                    "m: expected the media time offset in microseconds a "
                                    "playlist lists (within 48 h), not '%.40s'",
                                    mq);
        offset_us = v;
    }
    /* Rows never change, only disappear: the cached file is right or gone (media_cache.c). */
    struct api_media_ref ref;
    bool is_cached = api_media_cache_get(&ctx->media_cache, id, stream, start_us, &ref);
    if (!is_cached && lookup_media(req, ctx, id, stream, start_us, &ref) < 0)
        return 0; /* replied */
    int fd = open_media(ctx, &ref);
    if (fd == -ENOENT && is_cached) {
        api_media_cache_drop(&ctx->media_cache, id, stream, start_us);
        is_cached = false;
        if (lookup_media(req, ctx, id, stream, start_us, &ref) < 0)
            return 0;
        fd = open_media(ctx, &ref);
    }
    if (fd == -ENOENT && !ref.is_pending)
        return elsewhere(req, ctx, id, stream, start_us, ref.end_us);
    if (fd == -ENOENT)
        return http_reply_error(req, fd,
                                "the file of recording %s/%s/%" PRId64 " is gone (retention?)", id,
                                stream, start_us);
    if (fd < 0)
        return http_reply_error(req, fd, "open recording: %s", horus_strerror(fd));
    /* A file not indexed yet may still grow (its listed byte ranges do not change). */
    if (!is_cached && !ref.is_pending)
        api_media_cache_put(&ctx->media_cache, id, stream, start_us, &ref);
    uint64_t bytes = 0;
    const struct http_file_options fopt = {
        .content_type = "video/mp4",
        .etag = ref.sha256[0] ? ref.sha256 : NULL,
        .cache_control = ref.is_pending ? PENDING_CACHE_CONTROL : MEDIA_CACHE_CONTROL,
    };
    int rc = offset_is_set ? api_media_reply_rebased(req, fd, offset_us, &fopt, &bytes)
                           : http_reply_file(req, fd, &fopt, &bytes);
    if (rc < 0 && rc != -EALREADY && rc != -EIO)
        http_reply_error(req, rc, "read recording: %s", horus_strerror(rc));
    const struct pb_metrics *m = &ctx->playback_metrics;
    if (m->media_requests)
        metrics_counter_add(m->media_requests, 1);
    if (m->media_bytes && bytes)
        metrics_counter_add(m->media_bytes, (double)bytes);
    return 0;
}

int api_playback_register(http_router *r, struct api *ctx)
{
    static const struct {
        const char *tmpl;
        http_handler_cb cb;
    } routes[] = {
        {"/api/v1/cameras/{id}/recordings", timeline_get},
        {"/api/v1/cameras/{id}/playback.m3u8", playlist_get},
        {"/api/v1/cameras/{id}/recordings/{stream}/{file}", media_get},
    };
    pb_metrics_init(&ctx->playback_metrics, ctx->metrics);
    for (size_t i = 0; i < HORUS_ARRAY_LEN(routes); i++) {
        int rc = http_router_add(r, "GET", routes[i].tmpl, routes[i].cb, ctx);
        if (rc < 0)
            return rc;
    }
    return 0;
}
