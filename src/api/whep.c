/*
 * DESIGN: WHEP (RFC 9725) on /api/v1/cameras/{id}/whep: a viewer POSTs an
 * SDP offer and gets the answer (201, Location of the session resource,
 * ETag); PATCH takes trickle ICE fragments and answers 204 without using
 * them (the server is ICE-lite: the browser's checks find the path);
 * DELETE ends the session; OPTIONS says what the endpoint accepts (CORS
 * preflights are answered by src/http before routing). The media side is
 * src/webrtc (docs/design/0055). Permission: viewer with the camera's
 * grant, like live view, ?t= media tokens included (gate.c).
 * An answered offer is audited as live.started, like LL-HLS's first playlist.
 * GET /api/v1/webrtc/sessions (admins) lists the sessions of the cameras
 * the caller may see, from the server's copy of each session's record.
 *
 * Thread: http-N.
 */
#include "api_int.h"

#include "cfg.h"
#include "err.h"
#include "media_token.h"
#include "mem.h"
#include "webrtc.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHEP_ERR_MAX 256

/* Checks {id}, ?stream= and that WebRTC runs. Returns 0, or replies and returns 1. */
static int whep_args(http_request *req, struct api *ctx, const char **stream)
{
    if (api_camera_stream_args(req, stream))
        return 1;
    if (!ctx->webrtc) {
        http_reply_error(req, HORUS_EDISABLED,
                         "WebRTC is off on this node (webrtc.udp_listen, webrtc.tcp_listen)");
        return 1;
    }
    return 0;
}

/*
 * The relay has no such stream: a redirect to the node that holds the
 * camera (docs/design/0070), 404 for an unknown camera, 503 for one not
 * streaming.
 */
static int not_streaming(http_request *req, struct api *ctx, const char *stream, const char *why)
{
    const char *id = http_request_param(req, "id");
    char elsewhere[200];
    struct auth_media_scope scope = {.kind = AUTH_MEDIA_LIVE, .camera = id, .stream = stream};
    if (api_redirect_to_holder(req, ctx, id, &scope, elsewhere, sizeof(elsewhere)))
        return 0;
    if (elsewhere[0])
        return http_reply_error(req, HORUS_EUNAVAIL, "camera '%s' is not streamed here: %s", id,
                                elsewhere);
    struct sto_camera c;
    int rc = ctx->db ? sto_camera_get(ctx->db, id, &c) : -ENOENT;
    if (rc == -ENOENT)
        return http_reply_error(req, -ENOENT, "camera '%s' does not exist", id);
    if (rc < 0)
        return http_reply_error(req, rc, "read camera '%s': %s", id, horus_strerror(rc));
    sto_camera_release(&c);
    return http_reply_error(req, HORUS_EUNAVAIL, "%s", why);
}

static void add_link(void *arg, const char *link)
{
    http_reply_header(arg, "Link", link);
}

/*
 * The ICE servers the caller should use (docs/design/0079) as Link headers,
 * TURN credentials minted for the caller's name: only for a caller who may
 * watch the camera.
 */
static void ice_links(http_request *req, struct api *ctx)
{
    const struct auth_principal *p = api_principal(req);
    if (!p || api_camera_visible(ctx, req, http_request_param(req, "id")) != 0)
        return;
    webrtc_server_ice_links(ctx->webrtc, p->name, clock_realtime_ms(ctx->clock) / 1000, add_link,
                            req);
}

static int whep_post(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *stream;
    if (whep_args(req, ctx, &stream))
        return 0;
    if (!http_media_type_is_accepted("application/sdp", http_request_header(req, "Content-Type")))
        return http_reply_error(req, HORUS_EMEDIATYPE,
                                "body: Content-Type must be application/sdp (an SDP offer)");
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    const char *id = http_request_param(req, "id");
    struct webrtc_answer ans;
    char err[WHEP_ERR_MAX] = "";
    int rc = webrtc_server_offer(ctx->webrtc, id, stream, body ? body : "", body ? len : 0, &ans,
                                 err, sizeof(err));
    switch (rc) {
    case 0:
        break;
    case HORUS_EPARSE:
        return http_reply_error(req, HORUS_EPARSE, "offer: %s", err);
    case HORUS_ECODEC:
        return http_reply_error(req, -EINVAL, "%s", err);
    case -ENOENT:
    case -EAGAIN:
        return not_streaming(req, ctx, stream, err);
    case -EBUSY:
        return http_reply_error(req, HORUS_EUNAVAIL, "%s", err);
    default:
        return http_reply_error(req, rc, "webrtc: %s", horus_strerror(rc));
    }
    /* A WHEP session is a live view like an LL-HLS one (deduplicated per client). */
    json_t *d = json_pack("{s:s, s:s}", "stream", stream, "transport", "webrtc");
    api_audit_view(ctx, req, AUTH_AUDIT_LIVE_STARTED, "camera", id, stream, d);
    json_decref(d);
    char location[160 + AUTH_MEDIA_TOKEN_MAX], etag[40];
    /* A caller that came with ?t= (a redirect from another node, or a signed link) has no
       header to send with PATCH and DELETE: the session's URL carries the token too. */
    const struct auth_principal *p = api_principal(req);
    const char *t = p && p->kind == AUTH_KIND_MEDIA_TOKEN ? http_request_query(req, "t") : NULL;
    snprintf(location, sizeof(location), "/api/v1/cameras/%s/whep/%s%s%s", id, ans.session_id,
             t ? "?t=" : "", t ? t : "");
    snprintf(etag, sizeof(etag), "\"%s\"", ans.session_id);
    http_reply_header(req, "Location", location);
    http_reply_header(req, "ETag", etag);
    http_reply_header(req, "Cache-Control", "no-store");
    ice_links(req, ctx);
    return http_reply_owned(req, 201, "application/sdp", ans.sdp, strlen(ans.sdp));
}

static int whep_options(http_request *req, void *arg)
{
    struct api *ctx = arg;
    http_reply_header(req, "Accept-Post", "application/sdp");
    http_reply_header(req, "Allow", "POST, OPTIONS");
    const char *id = http_request_param(req, "id");
    if (ctx->webrtc && cfg_is_id(id, strlen(id), CFG_ID_MAX)) {
        /* Players ask before the offer, so that their relay candidates are in it. */
        http_reply_header(req, "Cache-Control", "no-store");
        ice_links(req, ctx);
    }
    return http_reply(req, 204, NULL, NULL, 0);
}

static int whep_session_patch(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *stream;
    if (whep_args(req, ctx, &stream))
        return 0;
    const char *id = http_request_param(req, "id");
    const char *session = http_request_param(req, "session");
    if (!webrtc_server_has_session(ctx->webrtc, id, session))
        return http_reply_error(req, -ENOENT, "camera '%s' has no WebRTC session '%s'", id,
                                session);
    if (!http_media_type_is_accepted("application/trickle-ice-sdpfrag",
                                     http_request_header(req, "Content-Type")))
        return http_reply_error(req, HORUS_EMEDIATYPE,
                                "body: Content-Type must be application/trickle-ice-sdpfrag");
    /* ICE-lite: the viewer's candidates are found by its own checks; nothing to apply. */
    return http_reply(req, 204, NULL, NULL, 0);
}

static int whep_session_delete(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *stream;
    if (whep_args(req, ctx, &stream))
        return 0;
    const char *id = http_request_param(req, "id");
    const char *session = http_request_param(req, "session");
    if (webrtc_server_delete(ctx->webrtc, id, session) != 0)
        return http_reply_error(req, -ENOENT, "camera '%s' has no WebRTC session '%s'", id,
                                session);
    return http_reply(req, 204, NULL, NULL, 0);
}

static int webrtc_sessions(http_request *req, void *arg)
{
    struct api *ctx = arg;
    json_t *items = json_array();
    if (ctx->webrtc) {
        struct webrtc_session_info *v = NULL;
        size_t n = webrtc_server_list(ctx->webrtc, &v);
        for (size_t i = 0; i < n; i++) {
            if (api_camera_visible(ctx, req, v[i].camera) != 0)
                continue; /* another camera grant or tenant */
            json_array_append_new(
                items,
                json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:b, s:I, s:I}",
                          "session", v[i].id, "camera", v[i].camera, "stream", v[i].stream, "peer",
                          v[i].peer, "transport", v[i].transport, "playing", v[i].is_playing,
                          "packets", (json_int_t)v[i].packets, "bytes", (json_int_t)v[i].bytes,
                          "keyframe_requests", (json_int_t)v[i].keyframe_requests, "retransmits",
                          (json_int_t)v[i].retransmits, "audio", v[i].has_audio, "audio_packets",
                          (json_int_t)v[i].audio_packets, "started_ms",
                          (json_int_t)v[i].started_unix_ms));
        }
        free(v);
    }
    return http_reply_json(req, 200,
                           json_pack("{s:b, s:o}", "enabled", ctx->webrtc != NULL, "items", items));
}

int api_whep_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"POST", "/api/v1/cameras/{id}/whep", whep_post},
        {"OPTIONS", "/api/v1/cameras/{id}/whep", whep_options},
        {"PATCH", "/api/v1/cameras/{id}/whep/{session}", whep_session_patch},
        {"DELETE", "/api/v1/cameras/{id}/whep/{session}", whep_session_delete},
        {"GET", "/api/v1/webrtc/sessions", webrtc_sessions},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
