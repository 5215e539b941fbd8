/*
 * DESIGN: /api/v1/events (docs/design/0040-events.md): list (newest first,
 * filters, an opaque cursor: the last event id of the page), get, the
 * snapshot (?box=0|1), the clip (a redirect to the camera's playback
 * playlist over [start - pre_roll, end + post_roll]), delete (operator)
 * and post (operator: an event from an integration, written through the
 * events engine like the analysis' own: row, pins, feed).
 *
 * Visibility: an event is its camera's; a caller sees it only when
 * api_may_see allows the camera and its tenant, and anything else answers
 * as if it did not exist. Lists filter rows after reading them, reading
 * further pages until the page is full or a bound of reads is reached, so
 * a viewer of one camera still gets full pages.
 *
 * Thread: http-N.
 */
#include "api_int.h"
#include "query_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVENTS_PAGE_DEFAULT 50
#define EVENTS_PAGE_MAX 500
#define EVENTS_LIST_READS 8 /* pages read at most to fill one filtered page */

static int unavailable(http_request *req)
{
    return http_reply_error(req, HORUS_EUNAVAIL, "events are not available on this node");
}

static json_t *event_json(struct api *ctx, const struct sto_event *ev)
{
    int64_t pre, post;
    evt_engine_roll(ctx->events, &pre, &post);
    return evt_event_json(ev, pre, post);
}

/* event_json, then releases ev. */
static json_t *event_json_release(struct api *ctx, struct sto_event *ev)
{
    json_t *j = event_json(ctx, ev);
    sto_event_release(ev);
    return j;
}

static int parse_filter(http_request *req, struct sto_event_filter *f, size_t *limit, char *why,
                        size_t cap)
{
    static const char *const names[] = {"camera", "label", "zone"};
    const char **slots[] = {&f->camera_id, &f->label, &f->zone};
    for (size_t i = 0; i < HORUS_ARRAY_LEN(names); i++) {
        const char *v = http_request_query(req, names[i]);
        if (v && !evt_name_is_valid(v, 63)) {
            snprintf(why, cap, "%s: must be 1..63 characters", names[i]);
            return -EINVAL;
        }
        *slots[i] = v;
    }
    const char *after = http_request_query(req, "after");
    const char *before = http_request_query(req, "before");
    if (api_after_before_parse(after, before, &f->after_us, &f->before_us, why, cap) < 0)
        return -EINVAL;
    const char *ms = http_request_query(req, "min_score");
    if (ms) {
        char *end;
        double v = strtod(ms, &end);
        if (!*ms || *end || !(v >= 0 && v <= 1)) {
            snprintf(why, cap, "min_score: must be a number 0..1");
            return -EINVAL;
        }
        f->min_score = v;
    }
    f->has_snapshot = -1;
    const char *hs = http_request_query(req, "has_snapshot");
    if (hs) {
        if (strcmp(hs, "true") == 0 || strcmp(hs, "1") == 0)
            f->has_snapshot = 1;
        else if (strcmp(hs, "false") == 0 || strcmp(hs, "0") == 0)
            f->has_snapshot = 0;
        else {
            snprintf(why, cap, "has_snapshot: must be true or false");
            return -EINVAL;
        }
    }
    *limit = EVENTS_PAGE_DEFAULT;
    const char *ls = http_request_query(req, "limit");
    if (ls) {
        int64_t v;
        if (api_int_parse("limit", ls, 1, EVENTS_PAGE_MAX, &v, why, cap) < 0)
            return -EINVAL;
        *limit = (size_t)v;
    }
    const char *cursor = http_request_query(req, "cursor");
    if (cursor && !evt_id_is_valid(cursor)) {
        snprintf(why, cap, "cursor: not a cursor this server returned");
        return -EINVAL;
    }
    f->cursor_id = cursor;
    return 0;
}

static int events_list(http_request *req, void *arg)
{
    struct api *ctx = arg;
    if (!ctx->events)
        return unavailable(req);
    struct sto_event_filter f = {0};
    size_t limit;
    char why[160];
    if (parse_filter(req, &f, &limit, why, sizeof(why)) < 0)
        return http_reply_error(req, -EINVAL, "%s", why);
    json_t *items = json_array();
    char last[EVT_ID_MAX] = "";
    bool has_more = false;
    for (int reads = 0; reads < EVENTS_LIST_READS && json_array_size(items) < limit; reads++) {
        struct sto_event *list;
        size_t n;
        int rc = sto_event_list(ctx->db, &f, limit - json_array_size(items), &list, &n, &has_more);
        if (rc < 0) {
            json_decref(items);
            return http_reply_error(req, rc, "list events: %s", horus_strerror(rc));
        }
        for (size_t i = 0; i < n; i++)
            if (api_may_see(req, list[i].camera_id, list[i].tenant))
                json_array_append_new(items, event_json(ctx, &list[i]));
        if (n > 0)
            snprintf(last, sizeof(last), "%s", list[n - 1].id);
        sto_event_list_free(list, n);
        if (!has_more)
            break;
        f.cursor_id = last;
    }
    json_t *next = has_more && last[0] ? json_string(last) : json_null();
    return http_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

/*
 * Loads the event named in the path, or replies (503 without the events
 * engine, 404, 500) and returns < 0.
 */
static int load_event(http_request *req, struct api *ctx, struct sto_event *ev)
{
    if (!ctx->events) {
        unavailable(req);
        return HORUS_EUNAVAIL;
    }
    const char *id = http_request_param(req, "id");
    int rc = evt_id_is_valid(id) ? sto_event_get(ctx->db, id, ev) : -ENOENT;
    if (rc == 0 && !api_may_see(req, ev->camera_id, ev->tenant)) {
        sto_event_release(ev);
        rc = -ENOENT; /* an event of a camera outside the grant does not exist for the caller */
    }
    if (rc == -ENOENT)
        http_reply_error(req, rc, "event '%.64s' does not exist", id);
    else if (rc < 0)
        http_reply_error(req, rc, "read event '%s': %s", id, horus_strerror(rc));
    return rc;
}

static int events_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_event ev;
    if (load_event(req, ctx, &ev) < 0)
        return 0;
    return http_reply_json(req, 200, event_json_release(ctx, &ev));
}

static int events_snapshot(http_request *req, void *arg)
{
    struct api *ctx = arg;
    if (!ctx->events)
        return unavailable(req);
    const char *box = http_request_query(req, "box");
    if (box && strcmp(box, "0") != 0 && strcmp(box, "1") != 0)
        return http_reply_error(req, -EINVAL, "box: must be 0 or 1");
    struct sto_event ev;
    if (load_event(req, ctx, &ev) < 0)
        return 0;
    int rc, fd = -1;
    if (ev.has_snapshot) {
        char path[PATH_MAX];
        evt_snapshot_path(ctx->data_dir, ev.camera_id, ev.id, box && strcmp(box, "0") == 0, path,
                          sizeof(path));
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        rc = http_reply_error(req, -ENOENT, "event '%s' has no snapshot", ev.id);
        sto_event_release(&ev);
        return rc;
    }
    sto_event_release(&ev);
    struct http_file_options o = {.content_type = "image/jpeg",
                                  .cache_control = "private, max-age=60"};
    rc = http_reply_file(req, fd, &o, NULL);
    return rc == -EALREADY || rc == -EIO || rc == 0
               ? rc
               : http_reply_error(req, rc, "snapshot: %s", horus_strerror(rc));
}

static int events_clip(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_event ev;
    if (load_event(req, ctx, &ev) < 0)
        return 0;
    json_t *j = event_json_release(ctx, &ev);
    const char *url =
        json_string_value(json_object_get(json_object_get(j, "clip"), "playback_url"));
    http_reply_header(req, "Location", url ? url : "/");
    http_reply_header(req, "Cache-Control", "no-store");
    json_decref(j);
    return http_reply(req, 302, NULL, NULL, 0);
}

static int events_delete(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_event ev;
    if (load_event(req, ctx, &ev) < 0)
        return 0;
    int rc = evt_engine_delete(ctx->events, ev.id);
    if (rc == -ENOENT)
        rc = http_reply_error(req, rc, "event '%s' does not exist", ev.id);
    else if (rc < 0)
        rc = http_reply_error(req, rc, "delete event '%s': %s", ev.id, horus_strerror(rc));
    else
        rc = http_reply(req, 204, NULL, NULL, 0);
    sto_event_release(&ev);
    return rc;
}

static int events_post(http_request *req, void *arg)
{
    struct api *ctx = arg;
    if (!ctx->events)
        return unavailable(req);
    json_t *body;
    if (http_request_json(req, &body) < 0)
        return 0;
    struct evt_post p;
    const char *zones[EVT_ZONES_MAX];
    char why[200];
    if (api_event_input_parse(body, clock_realtime_ms(ctx->clock) * 1000, &p, zones, why,
                              sizeof(why)) < 0) {
        json_decref(body);
        return http_reply_error(req, -EINVAL, "%s", why);
    }
    int rc = api_camera_visible(ctx, req, p.camera_id);
    if (rc < 0) {
        if (rc == -ENOENT)
            rc = http_reply_error(req, -ENOENT, "camera: camera '%s' does not exist", p.camera_id);
        else
            rc = http_reply_error(req, rc, "read camera '%s': %s", p.camera_id, horus_strerror(rc));
        json_decref(body);
        return rc;
    }
    struct sto_event ev;
    rc = evt_engine_post(ctx->events, &p, &ev, why, sizeof(why));
    json_decref(body);
    if (rc < 0)
        return http_reply_error(req, rc, "%s", why);
    char location[96];
    snprintf(location, sizeof(location), "/api/v1/events/%s", ev.id);
    http_reply_header(req, "Location", location);
    return http_reply_json(req, 201, event_json_release(ctx, &ev));
}

int api_events_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/events", events_list},
        {"POST", "/api/v1/events", events_post},
        {"GET", "/api/v1/events/{id}", events_get},
        {"DELETE", "/api/v1/events/{id}", events_delete},
        {"GET", "/api/v1/events/{id}/snapshot.jpg", events_snapshot},
        {"GET", "/api/v1/events/{id}/clip.m3u8", events_clip},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
