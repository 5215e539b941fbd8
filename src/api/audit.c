/*
 * DESIGN: GET /api/v1/audit, the audit chain (docs/design/0018): filters
 * (from/to as RFC 3339 or Unix ms, action exact or "prefix.*", actor,
 * camera or target_kind/target_id, outcome), newest first by default or
 * oldest first with order=asc, cursor-paged by entry id like the other
 * lists (next_cursor is the last item's id). Each item carries prev_hash
 * and hash, so a client can check the chain of what it fetched.
 *
 * Thread: http-N; reads on a reader connection.
 */
#include "api_int.h"
#include "query_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_PAGE_DEFAULT 100
#define AUDIT_PAGE_MAX 1000
#define AUDIT_FILTER_MAX 128 /* characters of a text filter */

static json_t *entry_json(const struct sto_audit_entry *e)
{
    char time[32];
    clock_format_rfc3339_ms(e->time_us / 1000, time, sizeof(time));
    json_t *details = json_loads(e->details, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(details)) {
        json_decref(details); /* stored by horus as an object; a tampered row shows as text */
        details = json_string(e->details);
    }
    return json_pack("{s:I, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:o, s:s, "
                     "s:s}",
                     "id", (json_int_t)e->id, "time", time, "actor", "kind", e->actor_kind, "id",
                     e->actor_id, "name", e->actor_name, "tenant", e->tenant, "client", e->client,
                     "action", e->action, "target", "kind", e->target_kind, "id", e->target_id,
                     "outcome", e->outcome, "details", details, "prev_hash", e->prev_hash, "hash",
                     e->hash);
}

/* A text filter (borrowed from the request), or NULL; false with a reply when too long. */
static bool text_filter(http_request *req, const char *name, const char **out)
{
    const char *v = http_request_query(req, name);
    if (v && strlen(v) > AUDIT_FILTER_MAX) {
        http_reply_error(req, -EINVAL, "%s: at most %d characters", name, AUDIT_FILTER_MAX);
        return false;
    }
    *out = v && v[0] ? v : NULL;
    return true;
}

static int audit_list(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_audit_filter f = {0};
    char why[160];
    size_t limit = AUDIT_PAGE_DEFAULT;
    int64_t v;
    const char *s = http_request_query(req, "limit");
    if (s) {
        if (api_int_parse("limit", s, 1, AUDIT_PAGE_MAX, &v, why, sizeof(why)) < 0)
            return http_reply_error(req, -EINVAL, "%s", why);
        limit = (size_t)v;
    }
    if ((s = http_request_query(req, "cursor"))) {
        if (api_int_parse("cursor", s, 1, INT64_MAX, &f.after_id, NULL, 0) < 0)
            return http_reply_error(req, -EINVAL, "cursor: not a cursor this server returned");
    }
    if ((s = http_request_query(req, "from"))) {
        if (api_time_parse_us("from", s, &f.from_us, why, sizeof(why)) < 0)
            return http_reply_error(req, -EINVAL, "%s", why);
        f.has_from = true;
    }
    if ((s = http_request_query(req, "to"))) {
        if (api_time_parse_us("to", s, &f.to_us, why, sizeof(why)) < 0)
            return http_reply_error(req, -EINVAL, "%s", why);
        f.has_to = true;
    }
    if (f.has_from && f.has_to && f.to_us <= f.from_us)
        return http_reply_error(req, -EINVAL, "to: must be after from");
    if ((s = http_request_query(req, "order"))) {
        if (strcmp(s, "asc") != 0 && strcmp(s, "desc") != 0)
            return http_reply_error(req, -EINVAL, "order: must be \"asc\" or \"desc\"");
        f.oldest_first = strcmp(s, "asc") == 0;
    }
    const char *camera = NULL;
    if (!text_filter(req, "action", &f.action) || !text_filter(req, "actor", &f.actor) ||
        !text_filter(req, "camera", &camera) || !text_filter(req, "target_kind", &f.target_kind) ||
        !text_filter(req, "target_id", &f.target_id) || !text_filter(req, "outcome", &f.outcome))
        return 0;
    if (f.outcome && strcmp(f.outcome, "ok") != 0 && strcmp(f.outcome, "denied") != 0 &&
        strcmp(f.outcome, "failed") != 0)
        return http_reply_error(req, -EINVAL, "outcome: must be ok, denied or failed");
    if (camera) {
        if ((f.target_kind && strcmp(f.target_kind, "camera") != 0) ||
            (f.target_id && strcmp(f.target_id, camera) != 0))
            return http_reply_error(req, -EINVAL,
                                    "camera: cannot be combined with another target_kind or "
                                    "target_id");
        f.target_kind = "camera";
        f.target_id = camera;
    }
    /*
     * Tenants (docs/design/0024): the rule of auth_may_see_tenant, in the
     * query so that pages stay full: an admin of a tenant reads the
     * entries its tenant's principals made, a superadmin every entry.
     */
    const struct auth_principal *p = api_principal(req);
    if (p && p->role != AUTH_ROLE_SUPERADMIN)
        f.tenant = p->tenant;
    struct sto_audit_entry *list;
    size_t n;
    bool has_more;
    int rc = sto_audit_list(ctx->db, &f, limit, &list, &n, &has_more);
    if (rc < 0)
        return http_reply_error(req, rc, "list audit entries: %s", horus_strerror(rc));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, entry_json(&list[i]));
    char cursor[24];
    snprintf(cursor, sizeof(cursor), "%" PRId64, n > 0 ? list[n - 1].id : 0);
    json_t *next = has_more && n > 0 ? json_string(cursor) : json_null();
    sto_audit_list_free(list, n);
    return http_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

/* Views closer together than this are one viewing. */
#define VIEW_GAP_MS (120 * 1000)

/* FNV-1a over the parts, each followed by a 0 byte; never 0. */
static uint64_t view_key(const char *const *parts, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
            h = (h ^ (uint8_t)*p) * 1099511628211ULL;
        h = (h ^ 0) * 1099511628211ULL;
    }
    return h ? h : 1;
}

void api_audit_view(struct api *ctx, http_request *req, const char *action, const char *target_kind,
                    const char *target_id, const char *object, const json_t *details)
{
    api_audit_once(ctx, req, action, AUTH_AUDIT_OK, target_kind, target_id, object, details);
}

void api_audit_once(struct api *ctx, http_request *req, const char *action,
                    enum auth_audit_outcome outcome, const char *target_kind, const char *target_id,
                    const char *object, const json_t *details)
{
    if (!ctx->audit)
        return;
    const char *parts[] = {action, http_request_remote(req), target_kind, target_id, object};
    uint64_t key = view_key(parts, HORUS_ARRAY_LEN(parts));
    int64_t now = clock_monotonic_ns(ctx->clock) / 1000000;
    struct api_audit_seen *s = &ctx->audit_seen;
    size_t slot = (size_t)(key % API_AUDIT_SEEN_SLOTS);
    pthread_mutex_lock(&s->lock);
    bool is_new = s->slots[slot].key != key || now - s->slots[slot].seen_ms >= VIEW_GAP_MS;
    s->slots[slot].key = key;
    s->slots[slot].seen_ms = now;
    pthread_mutex_unlock(&s->lock);
    if (is_new)
        auth_audit_request(ctx->audit, req, action, outcome, target_kind, target_id, details);
}

int api_audit_register(http_router *r, struct api *ctx)
{
    return http_router_add(r, "GET", "/api/v1/audit", audit_list, ctx);
}
