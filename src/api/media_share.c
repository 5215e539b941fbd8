/*
 * DESIGN: signed media URLs on the API side (docs/design/0021): which
 * token a playlist's URIs carry, and the share links.
 *
 *   POST /api/v1/cameras/{id}/share   {"kind": "live" | "playback" | "snapshot", ...}
 *   POST /api/v1/exports/{id}/share
 *
 * answer {"url", "expires_at"}: a path with ?t= that opens exactly that
 * media without credentials until expires_at (plus a few seconds' grace),
 * for players and people that cannot send headers. The gate (gate.c)
 * checks ?t= on the media routes; this file only issues.
 *
 * The renewal rule lives in api_media_token: a request authenticated as a
 * principal (session, API key, JWT) gets a fresh token, so reloading a
 * live playlist keeps a viewer going; a request authorised only by its
 * own ?t= gets that token back, so a link cannot renew itself and stops
 * at its expiry.
 *
 * Thread: http-N.
 */
#include "api_int.h"
#include "query_int.h"

#include "err.h"
#include "log.h"
#include "media_token.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "api"

int api_media_token(struct api *ctx, http_request *req, const struct auth_media_scope *scope,
                    char *out, size_t cap)
{
    out[0] = '\0';
    if (!ctx->media_keys)
        return 0;
    const struct auth_principal *p = api_principal(req);
    if (p && p->kind == AUTH_KIND_MEDIA_TOKEN) {
        /* The gate checked it: base64url, at most AUTH_MEDIA_TOKEN_MAX characters. */
        const char *t = http_request_query(req, "t");
        if (!t || strlen(t) >= cap)
            return -EINVAL;
        memcpy(out, t, strlen(t) + 1);
        return 0;
    }
    int rc = auth_media_token_issue(ctx->media_keys, scope, out, cap);
    return rc < 0 ? rc : 0;
}

int api_media_token_issue_cb(void *arg, const char *camera, const char *stream, char *out,
                             size_t cap)
{
    struct api_token_req *t = arg;
    struct auth_media_scope s = {.kind = AUTH_MEDIA_LIVE, .camera = camera, .stream = stream};
    int rc = api_media_token(t->ctx, t->req, &s, out, cap);
    if (rc == 0 && !out[0])
        rc = -ENOENT; /* signed URLs off: the variant is listed without a token */
    return rc < 0 ? rc : (int)strlen(out);
}

/* Replies with the link {"url": path + t, "expires_at"} and audits it. */
static int reply_link(struct api *ctx, http_request *req, const char *path, const char *token,
                      const char *target_kind, const char *target_id, json_t *details)
{
    int64_t exp_s = 0;
    auth_media_token_expiry_s(token, &exp_s);
    char exp[40];
    clock_format_rfc3339_ms(exp_s * 1000, exp, sizeof(exp));
    char *url = horus_asprintf("%s%st=%s", path, strchr(path, '?') ? "&" : "?", token);
    json_object_set_new(details, "expires_at", json_string(exp));
    if (ctx->audit)
        auth_audit_request(ctx->audit, req, AUTH_AUDIT_MEDIA_SHARED, AUTH_AUDIT_OK, target_kind,
                           target_id, details);
    json_decref(details);
    json_t *j = json_pack("{s:s, s:s}", "url", url, "expires_at", exp);
    free(url);
    return http_reply_json(req, 200, j);
}

/* A JSON time into whole milliseconds (floor, or ceil with is_ceil). Replies on error. */
static int body_time_ms(http_request *req, const json_t *body, const char *name, bool is_ceil,
                        int64_t *out_ms)
{
    const json_t *v = json_object_get(body, name);
    int64_t us;
    if (!v || api_time_parse_json(v, &us) < 0) {
        http_reply_error(req, -EINVAL, "%s: %s an RFC 3339 time or Unix milliseconds", name,
                         v ? "must be" : "needs");
        return -EINVAL;
    }
    int64_t ms = us / 1000 - (us % 1000 < 0);
    *out_ms = is_ceil && ms * 1000 < us ? ms + 1 : ms;
    return 0;
}

static int share_camera(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    if (!ctx->media_keys)
        return http_reply_error(req, HORUS_EUNAVAIL, "signed media URLs are off on this node");
    json_t *body;
    if (http_request_json(req, &body) < 0)
        return 0; /* replied */
    int rc = 0;
    const char *kind = json_string_value(json_object_get(body, "kind"));
    const json_t *js = json_object_get(body, "stream");
    const char *stream = js ? json_string_value(js) : NULL;
    if (!kind || (strcmp(kind, "live") != 0 && strcmp(kind, "playback") != 0 &&
                  strcmp(kind, "snapshot") != 0)) {
        rc = http_reply_error(req, -EINVAL, "kind: must be live, playback or snapshot");
        goto out;
    }
    if ((js && !stream) || (stream && strcmp(stream, "main") != 0 && strcmp(stream, "sub") != 0)) {
        rc = http_reply_error(req, -EINVAL, "stream: must be main or sub");
        goto out;
    }
    struct sto_camera cam;
    rc = sto_camera_get(ctx->db, id, &cam);
    if (rc < 0) {
        rc = rc == -ENOENT
                 ? http_reply_error(req, rc, "camera '%s' does not exist", id)
                 : http_reply_error(req, rc, "read camera '%s': %s", id, horus_strerror(rc));
        goto out;
    }
    sto_camera_release(&cam);
    struct auth_media_scope s = {.camera = id, .stream = stream ? stream : "main"};
    char path[512], token[AUTH_MEDIA_TOKEN_MAX + 1];
    json_t *d = json_pack("{s:s}", "kind", kind);
    if (strcmp(kind, "live") == 0) {
        /* Without a stream: the multivariant playlist, with a token for every stream. */
        s.kind = AUTH_MEDIA_LIVE;
        s.stream = stream ? stream : "";
        if (stream)
            snprintf(path, sizeof(path), "/api/v1/cameras/%s/live/index.m3u8?stream=%s", id,
                     stream);
        else
            snprintf(path, sizeof(path), "/api/v1/cameras/%s/live/master.m3u8", id);
    } else if (strcmp(kind, "playback") == 0) {
        int64_t start_ms, end_ms, from_us, to_us;
        if (body_time_ms(req, body, "start", false, &start_ms) < 0 ||
            body_time_ms(req, body, "end", true, &end_ms) < 0) {
            json_decref(d);
            goto out;
        }
        /* The link must pass the playlist's own range rules, or it would open nothing. */
        char a[24], b[24], why[192];
        snprintf(a, sizeof(a), "%" PRId64, start_ms);
        snprintf(b, sizeof(b), "%" PRId64, end_ms);
        rc = api_range_parse(API_RANGE_PLAYLIST, a, b, clock_realtime_ms(ctx->clock) * 1000,
                             &from_us, &to_us, why, sizeof(why));
        if (rc < 0) {
            rc = http_reply_error(req, rc, "%s", why);
            json_decref(d);
            goto out;
        }
        s.kind = AUTH_MEDIA_PLAYBACK;
        s.from_us = from_us;
        s.to_us = to_us;
        snprintf(path, sizeof(path),
                 "/api/v1/cameras/%s/playback.m3u8?stream=%s&start=%" PRId64 "&end=%" PRId64, id,
                 s.stream, start_ms, end_ms);
        json_object_set_new(d, "start_ms", json_integer(start_ms));
        json_object_set_new(d, "end_ms", json_integer(end_ms));
    } else {
        s.kind = AUTH_MEDIA_SNAPSHOT;
        int64_t ts_ms;
        if (json_object_get(body, "ts")) {
            if (body_time_ms(req, body, "ts", false, &ts_ms) < 0) {
                json_decref(d);
                goto out;
            }
            s.from_us = ts_ms * 1000;
            s.to_us = s.from_us + 1;
            snprintf(path, sizeof(path), "/api/v1/cameras/%s/snapshot.jpg?stream=%s&ts=%" PRId64,
                     id, s.stream, ts_ms);
            json_object_set_new(d, "ts_ms", json_integer(ts_ms));
        } else {
            s.export_id = "latest"; /* what the gate checks a snapshot without ts against */
            snprintf(path, sizeof(path), "/api/v1/cameras/%s/snapshot.jpg?stream=%s", id, s.stream);
        }
    }
    if (s.stream[0])
        json_object_set_new(d, "stream", json_string(s.stream));
    rc = auth_media_token_issue(ctx->media_keys, &s, token, sizeof(token));
    if (rc < 0) {
        json_decref(d);
        rc = http_reply_error(req, rc, "issue a media token: %s", horus_strerror(rc));
        goto out;
    }
    rc = reply_link(ctx, req, path, token, "camera", id, d);
out:
    json_decref(body);
    return rc < 0 ? rc : 0;
}

static int share_export(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    if (!ctx->media_keys)
        return http_reply_error(req, HORUS_EUNAVAIL, "signed media URLs are off on this node");
    struct sto_export e;
    /* The exporter's view: a job that just finished is done before its row is written. */
    int rc = ctx->exports ? pb_export_get(ctx->exports, id, &e) : sto_export_get(ctx->db, id, &e);
    if (rc == 0 && !api_may_see(req, e.camera_id, e.tenant)) {
        sto_export_release(&e);
        rc = -ENOENT; /* outside the grant or the tenant: it does not exist for the caller */
    }
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "export '%s' does not exist", id);
    if (rc < 0)
        return http_reply_error(req, rc, "read export '%s': %s", id, horus_strerror(rc));
    if (e.state != STO_EXPORT_DONE) {
        rc = http_reply_error(req, -EBUSY, "export '%s' is %s; only a done export can be shared",
                              e.id, sto_export_state_name(e.state));
        sto_export_release(&e);
        return rc;
    }
    struct auth_media_scope s = {
        .kind = AUTH_MEDIA_EXPORT, .camera = e.camera_id, .export_id = e.id};
    char path[256], token[AUTH_MEDIA_TOKEN_MAX + 1];
    snprintf(path, sizeof(path), "/api/v1/exports/%s/file", e.id);
    rc = auth_media_token_issue(ctx->media_keys, &s, token, sizeof(token));
    if (rc < 0) {
        rc = http_reply_error(req, rc, "issue a media token: %s", horus_strerror(rc));
    } else {
        json_t *d = json_pack("{s:s, s:s}", "kind", "export", "camera", e.camera_id);
        rc = reply_link(ctx, req, path, token, "export", e.id, d);
    }
    sto_export_release(&e);
    return rc < 0 ? rc : 0;
}

int api_media_share_register(http_router *r, struct api *ctx)
{
    int rc = http_router_add(r, "POST", "/api/v1/cameras/{id}/share", share_camera, ctx);
    if (rc == 0)
        rc = http_router_add(r, "POST", "/api/v1/exports/{id}/share", share_export, ctx);
    return rc;
}
