/*
 * DESIGN: GET /api/v1/restream/sessions (admins; docs/design/0054): the
 * RTSP re-stream server's sessions right now, from its own snapshot
 * (restream_server_sessions copies under the server's lock), filtered to
 * the cameras the caller may see (grant and tenant, as every camera
 * route). No credential is part of a session's record: "user" is the
 * user's or API key's name. Thread: HTTP.
 */
#include "api_int.h"

#include "mem.h"
#include "restream.h"

#include <stdlib.h>

static json_t *session_json(const struct restream_session_info *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I, s:I}", "client", s->client, "camera",
                     s->camera, "stream", s->stream, "user", s->user, "transport", s->transport,
                     "playing", s->is_playing, "bytes", (json_int_t)s->bytes, "skips",
                     (json_int_t)s->skips, "started_ms", (json_int_t)s->started_unix_ms);
}

static int sessions_list(http_request *req, void *arg)
{
    struct api *ctx = arg;
    json_t *items = json_array();
    if (ctx->restream) {
        struct restream_session_info *v = NULL;
        size_t n = restream_server_sessions(ctx->restream, &v);
        for (size_t i = 0; i < n; i++) {
            if (api_camera_visible(ctx, req, v[i].camera) != 0)
                continue; /* another camera grant or tenant */
            json_array_append_new(items, session_json(&v[i]));
        }
        free(v);
    }
    return http_reply_json(
        req, 200, json_pack("{s:b, s:o}", "enabled", ctx->restream != NULL, "items", items));
}

int api_restream_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/restream/sessions", sessions_list},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
