/*
 * DESIGN: /api/v1/exports: create (202, the job runs on a pb-export
 * worker), list (newest first, cursor-paginated by id), get (live state
 * and progress), delete (cancels a queued or running job; deletes a
 * finished one) and the finished file as an attachment.
 *
 * The file is sent in one place (reply_export_file), so the shared Range
 * and conditional-request implementation can replace the whole-file reply
 * there without touching the handlers.
 *
 * A range that reaches into the segment still being written is refused
 * here (409, Retry-After about when it closes): an export reads closed,
 * hash-checked segments only, and a file that silently ends early is worse
 * than a clear "not yet" (docs/design/0032).
 *
 * Thread: http-N. Validation and queueing rules live in playback/export.c.
 */
#include "api_int.h"
#include "query_int.h"

#include "checked.h"
#include "err.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXPORTS_PAGE_DEFAULT 50
#define EXPORTS_PAGE_MAX 500

int api_time_parse_json(const json_t *v, int64_t *out_us)
{
    int64_t ms, us;
    if (json_is_integer(v)) {
        ms = json_integer_value(v);
        if (ms < 0 || ms > API_TIME_MAX_MS) /* year 9999 */
            return -EINVAL;
        *out_us = ms * 1000; /* below 2^58: cannot overflow */
        return 0;
    }
    /* A string may be Unix ms too: bounded the same way, or end - start overflows downstream. */
    if (!json_is_string(v) || api_time_parse_us("time", json_string_value(v), &us, NULL, 0) < 0 ||
        us < 0)
        return -EINVAL;
    *out_us = us;
    return 0;
}

static json_t *time_or_null(int64_t ms)
{
    char buf[32];
    if (ms <= 0)
        return json_null();
    clock_format_rfc3339_ms(ms, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *export_json(const struct sto_export *e)
{
    char start[32], end[32], created[32], file[128];
    clock_format_rfc3339_ms(e->start_us / 1000, start, sizeof(start));
    clock_format_rfc3339_ms(e->end_us / 1000, end, sizeof(end));
    clock_format_rfc3339_ms(e->created_at_ms, created, sizeof(created));
    bool is_done = e->state == STO_EXPORT_DONE;
    snprintf(file, sizeof(file), "/api/v1/exports/%s/file", e->id);
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:I, s:f, s:s?, s:s?, s:s, s:o, "
                          "s:o, s:s?}",
                          "id", e->id, "camera", e->camera_id, "stream", e->stream, "start", start,
                          "end", end, "state", sto_export_state_name(e->state), "progress",
                          e->progress, "size_bytes", (json_int_t)e->size_bytes, "duration_s",
                          (double)e->duration_us / 1e6, "sha256", is_done ? e->sha256 : NULL,
                          "error", e->error && e->error[0] ? e->error : NULL, "created_at", created,
                          "started_at", time_or_null(e->started_at_ms), "finished_at",
                          time_or_null(e->finished_at_ms), "file_url", is_done ? file : NULL);
    if (e->tenant && e->tenant[0]) /* single-tenant installs never see the field */
        json_object_set_new(j, "tenant", json_string(e->tenant));
    return j;
}

static bool is_valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n != 20)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

static int unavailable(http_request *req)
{
    return http_reply_error(req, HORUS_EUNAVAIL, "exports are not available on this node");
}

/*
 * Refuses an export that would take its camera's tenant past the tenant's
 * max_storage_bytes (recordings plus exports, docs/design/0024): -EDQUOT
 * with a sentence naming the quota, or a storage error. The export is
 * estimated as the bytes of its sources, as exports.max_bytes does.
 */
static int check_tenant_storage(struct api *ctx, const struct pb_export_request *rq, char *why,
                                size_t cap)
{
    char tenant[AUTH_ID_MAX];
    int rc = sto_camera_tenant(ctx->db, rq->camera_id, tenant, sizeof(tenant));
    if (rc == -ENOENT || (rc == 0 && !tenant[0]))
        return 0; /* pb_export_submit names a missing camera */
    struct sto_tenant t = {0};
    struct sto_tenant_usage u;
    uint64_t want = 0;
    if (rc == 0)
        rc = sto_tenant_get(ctx->db, tenant, &t);
    if (rc == -ENOENT)
        return 0; /* a camera of a deleted tenant: no quota left to apply */
    if (rc == 0 && t.max_storage_bytes > 0) {
        rc = sto_tenant_usage_get(ctx->db, tenant, &u);
        if (rc == 0)
            rc = sto_recordings_range_bytes(ctx->db, rq->camera_id, rq->stream, rq->start_us,
                                            rq->end_us, &want);
        uint64_t used = u.recording_bytes + u.export_bytes;
        if (rc == 0 && used + want > t.max_storage_bytes) {
            snprintf(why, cap,
                     "tenant '%s' would pass its storage quota (max_storage_bytes = %llu): this "
                     "export needs about %llu bytes and the tenant uses %llu (recordings %llu, "
                     "exports %llu); delete exports or raise the quota",
                     tenant, (unsigned long long)t.max_storage_bytes, (unsigned long long)want,
                     (unsigned long long)used, (unsigned long long)u.recording_bytes,
                     (unsigned long long)u.export_bytes);
            rc = -EDQUOT;
        }
    }
    if (rc < 0 && rc != -EDQUOT)
        snprintf(why, cap, "read the usage of tenant '%s': %s", tenant, horus_strerror(rc));
    sto_tenant_release(&t);
    return rc;
}

/*
 * Refuses (409, Retry-After) a range that reaches into the segment still
 * being written: an export reads closed segments only, and a silently
 * shortened file is worse than a clear "not yet" (docs/design/0032).
 */
static int check_not_recording(struct api *ctx, http_request *req,
                               const struct pb_export_request *rq)
{
    /* A request that is wrong anyway gets pb_export_submit's 400 naming the field first. */
    int64_t span_us;
    if (rq->start_us >= rq->end_us || !horus_sub_i64(rq->end_us, rq->start_us, &span_us) ||
        span_us / 1000 > pb_exporter_max_duration_ms(ctx->exports))
        return 0;
    struct api_pending p;
    api_pending_read(ctx, rq->camera_id, rq->stream, &p);
    int64_t since = p.open ? p.open->start_us : 0;
    api_pending_release(&p);
    int64_t seg_s = 0;
    if (ctx->recorder && !since &&
        rec_recorder_recording_since(ctx->recorder, rq->camera_id, rq->stream, &since) < 0)
        since = 0;
    if (!since || rq->end_us <= since)
        return 0;
    struct sto_camera cam;
    if (sto_camera_get(ctx->db, rq->camera_id, &cam) == 0) {
        seg_s = cam.segment_seconds;
        sto_camera_release(&cam);
    }
    int64_t now_us = clock_realtime_ms(ctx->clock) * 1000;
    int64_t wait_s = (since + seg_s * 1000000 - now_us) / 1000000 + 2;
    char retry[24], at[32];
    snprintf(retry, sizeof(retry), "%lld", (long long)(wait_s < 1 ? 1 : wait_s));
    http_reply_header(req, "Retry-After", retry);
    clock_format_rfc3339_ms(since / 1000, at, sizeof(at));
    http_reply_error(req, -EBUSY,
                     "end: the range reaches into the segment of camera '%s' still being recorded "
                     "(since %s); export it once that segment closes (retry after %s s) or end "
                     "the range before %s",
                     rq->camera_id, at, retry, at);
    return -EBUSY;
}

static int exports_create(http_request *req, void *arg)
{
    struct api *ctx = arg;
    if (!ctx->exports)
        return unavailable(req);
    json_t *body;
    if (http_request_json(req, &body) < 0)
        return 0;
    struct pb_export_request rq = {.stream = "main"};
    const char *key;
    json_t *v;
    const char *bad = NULL; /* the field at fault; the reply is sent once, below */
    char msg[160] = "";
    bool has_start = false, has_end = false;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "camera") == 0) {
            if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 64) {
                bad = "camera: must be a camera id";
                break;
            }
            rq.camera_id = json_string_value(v);
        } else if (strcmp(key, "stream") == 0) {
            if (!json_is_string(v)) {
                bad = "stream: must be \"main\" or \"sub\"";
                break;
            }
            rq.stream = json_string_value(v);
        } else if (strcmp(key, "start") == 0 || strcmp(key, "end") == 0) {
            bool is_start = key[0] == 's';
            if (api_time_parse_json(v, is_start ? &rq.start_us : &rq.end_us) < 0) {
                bad = is_start ? "start: must be an RFC 3339 time or Unix milliseconds "
                                 "in years 1970..9999"
                               : "end: must be an RFC 3339 time or Unix milliseconds "
                                 "in years 1970..9999";
                break;
            }
            *(is_start ? &has_start : &has_end) = true;
        } else {
            snprintf(msg, sizeof(msg), "%.64s: unknown field (allowed: camera, stream, start, end)",
                     key);
            bad = msg;
            break;
        }
    }
    if (!bad && !rq.camera_id)
        bad = "camera: is required";
    else if (!bad && !has_start)
        bad = "start: is required";
    else if (!bad && !has_end)
        bad = "end: is required";
    if (bad) {
        json_decref(body);
        return http_reply_error(req, -EINVAL, "%s", bad);
    }
    int rc;
    struct sto_export e;
    char why[512];
    /*
     * A camera outside the caller's grant goes through the same checks as
     * a missing one (an id no camera can have), so the reply is the same.
     */
    const char *asked = rq.camera_id;
    rc = api_camera_visible(ctx, req, asked);
    if (rc < 0 && rc != -ENOENT) {
        json_decref(body);
        return http_reply_error(req, rc, "read camera '%s': %s", asked, horus_strerror(rc));
    }
    bool is_hidden = rc == -ENOENT;
    if (is_hidden)
        rq.camera_id = "~hidden";
    else if ((rc = check_tenant_storage(ctx, &rq, why, sizeof(why))) < 0) {
        json_decref(body);
        return http_reply_error(req, rc, "%s", why);
    }
    if (!is_hidden && (rc = check_not_recording(ctx, req, &rq)) < 0) {
        json_decref(body);
        return 0; /* replied */
    }
    rc = pb_export_submit(ctx->exports, &rq, &e, why, sizeof(why));
    if (is_hidden && rc == -ENOENT)
        snprintf(why, sizeof(why), "camera '%s' does not exist", asked);
    json_decref(body);
    if (rc < 0) {
        if (rc == -EAGAIN)
            http_reply_header(req, "Retry-After", "10");
        return http_reply_error(req, rc, "%s", why);
    }
    char location[64];
    snprintf(location, sizeof(location), "/api/v1/exports/%s", e.id);
    http_reply_header(req, "Location", location);
    json_t *j = export_json(&e);
    json_t *d = json_pack("{s:s, s:s, s:O, s:O}", "camera", e.camera_id, "stream", e.stream,
                          "start", json_object_get(j, "start"), "end", json_object_get(j, "end"));
    auth_audit_request(ctx->audit, req, AUTH_AUDIT_EXPORT_CREATED, AUTH_AUDIT_OK, "export", e.id,
                       d);
    json_decref(d);
    sto_export_release(&e);
    return http_reply_json(req, 202, j);
}

static int exports_list(http_request *req, void *arg)
{
    struct api *ctx = arg;
    if (!ctx->exports)
        return unavailable(req);
    size_t limit = EXPORTS_PAGE_DEFAULT;
    const char *ls = http_request_query(req, "limit");
    if (ls) {
        char why[96];
        int64_t v;
        if (api_int_parse("limit", ls, 1, EXPORTS_PAGE_MAX, &v, why, sizeof(why)) < 0)
            return http_reply_error(req, -EINVAL, "%s", why);
        limit = (size_t)v;
    }
    const char *cursor = http_request_query(req, "cursor");
    if (cursor && !is_valid_id(cursor))
        return http_reply_error(req, -EINVAL, "cursor: not a cursor this server returned");
    struct sto_export *list;
    size_t n;
    bool has_more;
    int rc = pb_export_list(ctx->exports, cursor, limit, &list, &n, &has_more);
    if (rc < 0)
        return http_reply_error(req, rc, "list exports: %s", horus_strerror(rc));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        if (api_may_see(req, list[i].camera_id, list[i].tenant)) /* others' are invisible */
            json_array_append_new(items, export_json(&list[i]));
    json_t *next = has_more && n > 0 ? json_string(list[n - 1].id) : json_null();
    sto_export_list_free(list, n);
    return http_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

/* Loads the export named in the path, or replies 404 and returns -ENOENT. */
static int load_export(http_request *req, struct api *ctx, struct sto_export *e)
{
    const char *id = http_request_param(req, "id");
    int rc = is_valid_id(id) ? pb_export_get(ctx->exports, id, e) : -ENOENT;
    if (rc == 0 && !api_may_see(req, e->camera_id, e->tenant)) {
        sto_export_release(e);
        rc = -ENOENT; /* an export of a camera outside the grant does not exist for the caller */
    }
    if (rc == -ENOENT)
        http_reply_error(req, rc, "export '%.64s' does not exist", id);
    else if (rc < 0)
        http_reply_error(req, rc, "read export '%s': %s", id, horus_strerror(rc));
    return rc;
}

static int exports_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    if (!ctx->exports)
        return unavailable(req);
    struct sto_export e;
    if (load_export(req, ctx, &e) < 0)
        return 0;
    json_t *j = export_json(&e);
    sto_export_release(&e);
    return http_reply_json(req, 200, j);
}

static int exports_delete(http_request *req, void *arg)
{
    struct api *ctx = arg;
    if (!ctx->exports)
        return unavailable(req);
    const char *id = http_request_param(req, "id");
    struct sto_export e;
    if (load_export(req, ctx, &e) < 0)
        return 0;
    sto_export_release(&e);
    int rc = pb_export_delete(ctx->exports, id);
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "export '%.64s' does not exist", id);
    if (rc < 0)
        return http_reply_error(req, rc, "delete export '%s': %s", id, horus_strerror(rc));
    auth_audit_request(ctx->audit, req, AUTH_AUDIT_EXPORT_DELETED, AUTH_AUDIT_OK, "export", id,
                       NULL);
    return http_reply(req, 204, NULL, NULL, 0);
}

/*
 * Sends the finished file with Range and conditional requests (ETag = the
 * file's sha256) by sendfile. The one place that replies with an export's
 * bytes. Steals fd.
 */
static int reply_export_file(http_request *req, int fd, uint64_t size, const char *sha256)
{
    (void)size;
    struct http_file_options o = {.content_type = "video/mp4",
                                  .etag = sha256,
                                  .cache_control = "private, max-age=86400, immutable"};
    int rc = http_reply_file(req, fd, &o, NULL);
    return rc == -EALREADY || rc == -EIO || rc == 0
               ? rc
               : http_reply_error(req, rc, "export file: %s", horus_strerror(rc));
}

static int exports_file(http_request *req, void *arg)
{
    struct api *ctx = arg;
    if (!ctx->exports)
        return unavailable(req);
    struct sto_export e;
    if (load_export(req, ctx, &e) < 0)
        return 0;
    int rc = 0;
    if (e.state != STO_EXPORT_DONE) {
        rc = http_reply_error(req, -EBUSY, "export '%s' is %s%s; the file exists once it is done",
                              e.id, sto_export_state_name(e.state),
                              e.state == STO_EXPORT_QUEUED || e.state == STO_EXPORT_RUNNING
                                  ? ""
                                  : " and has no file");
        sto_export_release(&e);
        return rc;
    }
    char path[PATH_MAX];
    pb_export_file_path(ctx->exports, e.id, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        http_reply_error(req, rc == -ENOENT ? -ENOENT : rc, "export '%s' file: %s", e.id,
                         strerror(-rc));
        sto_export_release(&e);
        return 0;
    }
    /* "<camera>_<start>.mp4" with the time in basic ISO 8601 form, safe in any file system. */
    char start[32], name[128], disp[200];
    clock_format_rfc3339_ms(e.start_us / 1000, start, sizeof(start));
    size_t k = 0;
    for (const char *p = start; *p && *p != '.' && k + 1 < sizeof(start); p++)
        if (*p != '-' && *p != ':')
            start[k++] = *p;
    start[k] = '\0';
    snprintf(name, sizeof(name), "%s_%sZ.mp4", e.camera_id, start);
    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
    http_reply_header(req, "Content-Disposition", disp);
    json_t *d = json_pack("{s:s}", "camera", e.camera_id);
    api_audit_view(ctx, req, AUTH_AUDIT_EXPORT_DOWNLOADED, "export", e.id, NULL, d);
    json_decref(d);
    rc = reply_export_file(req, fd, (uint64_t)st.st_size, e.sha256);
    sto_export_release(&e);
    return rc;
}

/* GET /api/v1/pins: the ranges the watermark deletes last (docs/design/0013). */
static int pins_list(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_pin *list = NULL;
    size_t n = 0;
    int rc = sto_pin_list(ctx->db, clock_realtime_ms(ctx->clock) * 1000, 1000, &list, &n);
    if (rc < 0)
        return http_reply_error(req, rc, "list pins: %s", horus_strerror(rc));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct sto_pin *p = &list[i];
        if (!api_may_see(req, NULL, p->tenant)) /* another tenant's camera or orphan group */
            continue;
        char start[32], end[32];
        clock_format_rfc3339_ms(p->start_us / 1000, start, sizeof(start));
        clock_format_rfc3339_ms(p->end_us / 1000, end, sizeof(end));
        json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id",
                                               p->id, "camera", p->camera_id, "stream", p->stream,
                                               "start", start, "end", end, "reason", p->reason,
                                               "until", time_or_null(p->until_us / 1000),
                                               "created_at", time_or_null(p->created_at_ms)));
    }
    sto_pin_list_free(list, n);
    return http_reply_json(req, 200, json_pack("{s:o}", "items", items));
}

int api_exports_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/exports", exports_list},
        {"POST", "/api/v1/exports", exports_create},
        {"GET", "/api/v1/exports/{id}", exports_get},
        {"DELETE", "/api/v1/exports/{id}", exports_delete},
        {"GET", "/api/v1/exports/{id}/file", exports_file},
        {"GET", "/api/v1/pins", pins_list},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
