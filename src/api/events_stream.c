/*
 * DESIGN: GET /api/v1/events/stream, the live events feed as Server-Sent
 * Events (docs/design/0042).
 *
 * Each client is an http_stream (src/http/http_stream.c: a suspended
 * connection, a bounded buffer, keep-alive comments every 15 s) subscribed
 * to the daemon's evt_feed. The feed calls deliver under its lock for
 * every message: deliver filters by the client's ?camera= list, camera
 * grant and tenant (a copy of the caller's principal taken at connect, so
 * no request and no database is touched per message) and frames it:
 *
 *     id: <id>\nevent: new|update|end|reset\ndata: <one line of JSON>\n\n
 *
 * Resume: Last-Event-ID (or ?last_event_id= for EventSource reconnects
 * that cannot set headers) replays what the feed still keeps after it, or
 * sends "reset" (reload GET /api/v1/events). The stream's end (hang-up,
 * cut off for reading too slowly, server stop) unsubscribes and frees the
 * client; horus_events_stream_clients and _dropped_total count them.
 *
 * Thread: the handler on http-N; deliver on the publisher's; end on http-N
 * or the thread stopping the server.
 */
#include "api_int.h"
#include "query_int.h"

#include "err.h"
#include "feed.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEPALIVE_MS 15000
#define BUFFER_BYTES (256 * 1024)
#define PING ": ping\n\n"

struct sse_client {
    struct api *ctx; /* borrowed */
    http_stream *st;
    evt_feed_sub *sub;
    struct auth_principal *who; /* owned copy: grant and tenant */
    char **cameras; /* owned: the ?camera= filter, sorted; none = every camera */
    size_t ncameras;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void client_free(struct sse_client *c)
{
    auth_principal_free(c->who);
    api_camera_list_release(c->cameras, c->ncameras);
    free(c);
}

/* The grant and tenant of p, copied (the request's principal ends with the request). */
static struct auth_principal *principal_copy(const struct auth_principal *p)
{
    struct auth_principal *q = auth_principal_new(p->kind, p->id, p->name, p->role);
    snprintf(q->tenant, sizeof(q->tenant), "%s", p->tenant);
    q->is_all_cameras = p->is_all_cameras;
    if (!p->is_all_cameras && p->ncameras) {
        q->cameras = horus_calloc(p->ncameras, sizeof(*q->cameras));
        for (size_t i = 0; i < p->ncameras; i++)
            q->cameras[i] = horus_strdup(p->cameras[i]);
        q->ncameras = p->ncameras;
    }
    return q;
}

static bool may_deliver(const struct sse_client *c, const struct evt_feed_msg *m)
{
    if (strcmp(m->type, "reset") == 0)
        return true;
    if (c->ncameras) {
        const char *key = m->camera_id;
        if (!bsearch(&key, c->cameras, c->ncameras, sizeof(*c->cameras), cmp_str))
            return false;
    }
    return auth_may_see_camera(c->who, m->camera_id) && auth_may_see_tenant(c->who, m->tenant);
}

/* Under the feed's lock: frame and copy, never wait (a full buffer cuts the client off). */
static void deliver(const struct evt_feed_msg *m, void *arg)
{
    struct sse_client *c = arg;
    if (!may_deliver(c, m))
        return;
    char head[96];
    int n = m->id
                ? snprintf(head, sizeof(head), "id: %" PRIu64 "\nevent: %s\ndata: ", m->id, m->type)
                : snprintf(head, sizeof(head), "event: %s\ndata: ", m->type);
    if (http_stream_write(c->st, head, (size_t)n) == 0 &&
        http_stream_write(c->st, m->json, m->json_len) == 0)
        http_stream_write(c->st, "\n\n", 2);
}

static void on_end(http_stream *st, enum http_stream_end why, void *arg)
{
    struct sse_client *c = arg;
    evt_feed_unsubscribe(c->ctx->feed, c->sub); /* deliver is never called again */
    if (c->ctx->sse_clients)
        metrics_gauge_add(c->ctx->sse_clients, -1);
    if (why == HTTP_STREAM_OVERFLOW && c->ctx->sse_dropped)
        metrics_counter_inc(c->ctx->sse_dropped);
    http_stream_release(st);
    client_free(c);
}

/* Reads ?camera= (repeated, or comma lists) into c. Returns 0 or replies 400 and returns 1. */
static int parse_cameras(http_request *req, struct sse_client *c)
{
    const char *vals[API_CAMERA_LIST_MAX + 1];
    size_t nvals = http_request_query_all(req, "camera", vals, API_CAMERA_LIST_MAX + 1);
    char why[128];
    if (nvals > API_CAMERA_LIST_MAX) {
        http_reply_error(req, -EINVAL, "camera: at most %d cameras", API_CAMERA_LIST_MAX);
        return 1;
    }
    if (api_camera_list_parse(vals, nvals, &c->cameras, &c->ncameras, why, sizeof(why)) < 0) {
        http_reply_error(req, -EINVAL, "camera: %s", why);
        return 1;
    }
    return 0;
}

static int events_stream(http_request *req, void *arg)
{
    struct api *ctx = arg;
    if (!ctx->feed)
        return http_reply_error(req, HORUS_EUNAVAIL, "the events feed is not running");
    const char *field = "Last-Event-ID";
    const char *last = http_request_header(req, "Last-Event-ID");
    if (!last || !*last) {
        last = http_request_query(req, "last_event_id");
        field = "last_event_id";
    }
    bool has_last;
    uint64_t last_id;
    if (api_event_id_parse(last, &has_last, &last_id) < 0)
        return http_reply_error(req, -EINVAL, "%s: must be an event id (decimal digits)", field);
    const struct auth_principal *p = api_principal(req);
    if (!p) /* the route is "viewer": the gate always attaches one */
        return http_reply_error(req, HORUS_EAUTH, "sign in to follow events");
    struct sse_client *c = horus_calloc(1, sizeof(*c));
    c->ctx = ctx;
    if (parse_cameras(req, c)) {
        client_free(c);
        return 0;
    }
    c->who = principal_copy(p);
    int rc = http_reply_stream(req, 200, "text/event-stream",
                               &(struct http_stream_options){.buffer_bytes = BUFFER_BYTES,
                                                             .keepalive_ms = KEEPALIVE_MS,
                                                             .keepalive = PING,
                                                             .end_cb = on_end,
                                                             .arg = c},
                               &c->st);
    if (rc < 0) {
        client_free(c);
        return rc == -ESHUTDOWN ? http_reply_error(req, HORUS_EUNAVAIL, "shutting down") : rc;
    }
    if (ctx->sse_clients)
        metrics_gauge_add(ctx->sse_clients, 1);
    /* The first bytes: headers and a comment go out at once (proxies, the client's onopen). */
    http_stream_write(c->st, "retry: 3000\n" PING, sizeof("retry: 3000\n" PING) - 1);
    c->sub = evt_feed_subscribe(ctx->feed, has_last, last_id, deliver, c);
    return 0;
}

/* The tenant resolver of the feed: the camera's tenant through the gate's cache. */
static int camera_tenant(const char *camera_id, char *out, size_t cap, void *arg)
{
    return api_camera_tenant(arg, camera_id, out, cap);
}

int api_events_stream_register(http_router *r, struct api *ctx)
{
    if (ctx->metrics) {
        metrics_family *f = metrics_family_add(
            ctx->metrics, &(struct metrics_desc){.type = METRICS_GAUGE,
                                                 .name = "horus_events_stream_clients",
                                                 .help = "Clients following GET "
                                                         "/api/v1/events/stream"});
        ctx->sse_clients = metrics_series_get(f);
        f = metrics_family_add(
            ctx->metrics,
            &(struct metrics_desc){.type = METRICS_COUNTER,
                                   .name = "horus_events_stream_dropped_total",
                                   .help = "Events stream clients cut off for reading too slowly"});
        ctx->sse_dropped = metrics_series_get(f);
    }
    if (ctx->feed)
        evt_feed_set_tenant_cb(ctx->feed, camera_tenant, ctx);
    return http_router_add(r, "GET", "/api/v1/events/stream", events_stream, ctx);
}
