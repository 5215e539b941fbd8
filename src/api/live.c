/*
 * DESIGN: /api/v1/cameras/{id}/live/...: LL-HLS and plain HLS from the
 * live hub (src/live). This file checks parameters and turns "the hub has
 * no media" into a message that says why: an unknown camera, or a camera
 * that is not streaming yet, is disabled, or does not record (live view
 * is served from the recorder's parts, so a camera with recording off has
 * no live view for now). The database is read only on that path, never
 * per part.
 *
 * Thread: http-N.
 */
#include "api_int.h"
#include "query_int.h"

#include "cfg.h"
#include "err.h"
#include "live.h"
#include "media_token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_camera_stream_args(http_request *req, const char **stream)
{
    const char *id = http_request_param(req, "id");
    const char *s = http_request_query(req, "stream");
    *stream = s ? s : "main";
    if (!cfg_is_id(id, strlen(id), CFG_ID_MAX)) {
        http_reply_error(req, -ENOENT, "camera '%s' does not exist", id);
        return 1;
    }
    if (!cfg_is_id(*stream, strlen(*stream), 16)) {
        http_reply_error(req, -EINVAL,
                         "stream: must be 'main', 'sub' or another [a-z0-9_-]{1,16} "
                         "stream name");
        return 1;
    }
    return 0;
}

/*
 * Checks {id} and ?stream= and the hub. Returns 0 with *stream set, or
 * replies and returns 1.
 */
static int live_args(http_request *req, struct api *ctx, const char **stream)
{
    if (api_camera_stream_args(req, stream))
        return 1;
    if (!ctx->live) {
        http_reply_error(req, HORUS_EUNAVAIL, "live view is not running");
        return 1;
    }
    return 0;
}

/*
 * The hub had nothing for (id, stream): redirect to the node that holds
 * the camera (docs/design/0070), or say why. token_stream is what a token
 * for the redirect opens: the stream, or "" for the whole camera.
 */
static int no_media_for(http_request *req, struct api *ctx, const char *stream,
                        const char *token_stream)
{
    const char *id = http_request_param(req, "id");
    char elsewhere[200];
    struct auth_media_scope scope = {.kind = AUTH_MEDIA_LIVE, .camera = id, .stream = token_stream};
    if (api_redirect_to_holder(req, ctx, id, &scope, elsewhere, sizeof(elsewhere)))
        return 0;
    if (elsewhere[0])
        return http_reply_error(req, HORUS_EUNAVAIL, "camera '%s' has no live media here: %s", id,
                                elsewhere);
    struct sto_camera c;
    int rc = ctx->db ? sto_camera_get(ctx->db, id, &c) : -ENOENT;
    if (rc == -ENOENT)
        return http_reply_error(req, -ENOENT, "camera '%s' does not exist", id);
    if (rc < 0)
        return http_reply_error(req, rc, "read camera '%s': %s", id, horus_strerror(rc));
    const char *why = !c.enabled          ? "the camera is disabled"
                      : !c.record_enabled ? "recording is disabled for it (live view is served "
                                            "from the recorder's parts)"
                                          : "it is not streaming yet (or has no such stream)";
    rc = http_reply_error(req, -ENOENT, "camera '%s' has no live media on stream '%s': %s", id,
                          stream, why);
    sto_camera_release(&c);
    return rc;
}

static int no_media(http_request *req, struct api *ctx, const char *stream)
{
    return no_media_for(req, ctx, stream, stream);
}

/* Parses an optional non-negative integer query parameter into *out (-1 when absent). */
static int query_count(http_request *req, const char *name, int64_t *out)
{
    const char *v = http_request_query(req, name);
    *out = -1;
    if (!v)
        return 0;
    /* At most 2^53, so that msn + 2 and the like stay exact everywhere (JSON numbers too). */
    char why[128];
    if (api_int_parse(name, v, 0, INT64_C(1) << 53, out, why, sizeof(why)) < 0) {
        http_reply_error(req, -EINVAL, "%s", why);
        return 1;
    }
    return 0;
}

/*
 * Parses base_msn and base_us (both or neither: where the viewer's media
 * time starts, docs/design/0075) into *view. Returns 0, or replies 400 and
 * returns 1.
 */
static int query_view(http_request *req, struct live_view *view)
{
    int64_t msn, us;
    if (query_count(req, "base_msn", &msn) || query_count(req, "base_us", &us))
        return 1;
    if ((msn < 0) != (us < 0)) {
        http_reply_error(req, -EINVAL, "%s: needs %s (a viewer's start comes as both)",
                         msn < 0 ? "base_us" : "base_msn", msn < 0 ? "base_msn" : "base_us");
        return 1;
    }
    *view = (struct live_view){
        .is_set = msn >= 0, .msn = (uint64_t)(msn < 0 ? 0 : msn), .base_us = us < 0 ? 0 : us};
    return 0;
}

static int live_playlist(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *stream;
    if (live_args(req, ctx, &stream))
        return 0;
    const char *legacy = http_request_query(req, "legacy");
    bool is_legacy = legacy && strcmp(legacy, "0") != 0 && strcmp(legacy, "false") != 0;
    if (legacy && is_legacy && *legacy && strcmp(legacy, "1") != 0 && strcmp(legacy, "true") != 0)
        return http_reply_error(req, -EINVAL, "legacy: must be 1, true, 0 or false");
    int64_t msn, part;
    if (query_count(req, "_HLS_msn", &msn) || query_count(req, "_HLS_part", &part))
        return 0;
    if (part >= 0 && msn < 0)
        return http_reply_error(req, -EINVAL, "_HLS_part: needs _HLS_msn");
    struct live_view view;
    if (query_view(req, &view))
        return 0;
    const char *id = http_request_param(req, "id");
    char token[AUTH_MEDIA_TOKEN_MAX + 1];
    int rc = api_media_token(
        ctx, req,
        &(struct auth_media_scope){.kind = AUTH_MEDIA_LIVE, .camera = id, .stream = stream}, token,
        sizeof(token));
    if (rc < 0)
        return http_reply_error(req, rc, "issue a media token: %s", horus_strerror(rc));
    rc = live_serve_playlist(ctx->live, req, id, stream, is_legacy, msn, part,
                             token[0] ? token : NULL, &view);
    if (rc == 0 && msn < 0) {
        /* A playlist without _HLS_msn starts a view (legacy players: every reload, deduplicated).
         */
        json_t *d = json_pack("{s:s}", "stream", stream);
        api_audit_view(ctx, req, AUTH_AUDIT_LIVE_STARTED, "camera", id, stream, d);
        json_decref(d);
    }
    return rc == -ENOENT ? no_media(req, ctx, stream) : rc;
}

static int live_master(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *stream;
    if (live_args(req, ctx, &stream))
        return 0;
    struct api_token_req treq = {ctx, req};
    struct live_token_source tokens = {api_media_token_issue_cb, &treq};
    int rc = live_serve_master(ctx->live, req, http_request_param(req, "id"),
                               ctx->media_keys ? &tokens : NULL);
    return rc == -ENOENT ? no_media_for(req, ctx, "main", "") : rc;
}

static int live_init(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *stream;
    if (live_args(req, ctx, &stream))
        return 0;
    int rc = live_serve_init(ctx->live, req, http_request_param(req, "id"), stream,
                             http_request_param(req, "name"));
    return rc == -ENOENT ? no_media(req, ctx, stream) : rc;
}

typedef int (*media_fn)(live_hub *, http_request *, const char *, const char *, const char *,
                        const struct live_view *);

/* A part or a segment, moved to the viewer's media time when the URI says where it starts. */
static int live_media(http_request *req, struct api *ctx, media_fn fn)
{
    const char *stream;
    struct live_view view;
    if (live_args(req, ctx, &stream) || query_view(req, &view))
        return 0;
    int rc = fn(ctx->live, req, http_request_param(req, "id"), stream,
                http_request_param(req, "name"), &view);
    return rc == -ENOENT ? no_media(req, ctx, stream) : rc;
}

static int live_part(http_request *req, void *arg)
{
    return live_media(req, arg, live_serve_part);
}

static int live_segment(http_request *req, void *arg)
{
    return live_media(req, arg, live_serve_segment);
}

int api_live_register(http_router *r, struct api *ctx)
{
    static const struct {
        const char *tmpl;
        http_handler_cb cb;
    } routes[] = {
        {"/api/v1/cameras/{id}/live/index.m3u8", live_playlist},
        {"/api/v1/cameras/{id}/live/master.m3u8", live_master},
        {"/api/v1/cameras/{id}/live/init/{name}", live_init},
        {"/api/v1/cameras/{id}/live/part/{name}", live_part},
        {"/api/v1/cameras/{id}/live/segment/{name}", live_segment},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = http_router_add(r, "GET", routes[i].tmpl, routes[i].cb, ctx);
        if (rc < 0)
            return rc;
    }
    return 0;
}
