/*
 * DESIGN: /api/v1/webhooks, for admins (docs/design/0049-webhooks.md).
 * A target is an id, a URL, an HMAC key, a filter (cameras, labels,
 * types) and delivery limits; the delivery itself is src/bus/webhook.c,
 * told of each change by bus_webhooks_sync. The key is write-only: a
 * target made without one gets a random key, shown once in the 201 (as
 * API keys are); reads say only whether it has one. A target belongs to
 * its creator's tenant: a tenant's admins see and change only theirs, and
 * it receives only messages about that tenant's cameras. Dead letters can
 * be listed, sent again (deleted when the receiver takes them) or dropped.
 * Thread: http-N.
 */
#include "api_int.h"
#include "webhook.h"

#include "err.h"
#include "log.h"
#include "mem.h"

#define LOG_MODULE "api"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define URL_MAX 2048
#define KEY_MIN 16
#define KEY_MAX 256
#define LIST_MAX 64
#define DEAD_PAGE 100

static json_t *time_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char buf[40];
    clock_format_rfc3339_ms(ms, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *list_json(const char *text)
{
    json_t *j = json_loads(text ? text : "[]", 0, NULL);
    return json_is_array(j) ? j : (json_decref(j), json_array());
}

static json_t *webhook_json(struct api *ctx, const struct sto_webhook *w)
{
    json_t *j = json_pack(
        "{s:s, s:s, s:b, s:o, s:o, s:o, s:b, s:I, s:I, s:o, s:o}", "id", w->id, "url", w->url,
        "has_secret", w->secret && w->secret[0], "cameras", list_json(w->cameras), "labels",
        list_json(w->labels), "types", list_json(w->types), "enabled", w->enabled, "timeout_ms",
        (json_int_t)w->timeout_ms, "max_attempts", (json_int_t)w->max_attempts, "created_at",
        time_json(w->created_at_ms), "updated_at", time_json(w->updated_at_ms));
    if (w->tenant && w->tenant[0])
        json_object_set_new(j, "tenant", json_string(w->tenant));
    int64_t dead = 0;
    if (sto_dead_letter_count(ctx->db, w->id, &dead) < 0)
        dead = 0;
    struct bus_webhook_status st;
    bool running = ctx->webhooks && bus_webhooks_status(ctx->webhooks, w->id, &st) == 0;
    if (!running)
        memset(&st, 0, sizeof(st));
    int64_t backlog = 0;
    if (running && sto_outbox_count_after(ctx->db, st.cursor, &backlog) < 0)
        backlog = 0;
    json_object_set_new(
        j, "delivery",
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:s, s:o, s:o, s:o, s:I}", "state",
                  !w->enabled ? "disabled"
                  : running   ? st.state
                              : "stopped",
                  "failures", (json_int_t)st.failures, "delivered", (json_int_t)st.delivered,
                  "dead_letters", (json_int_t)dead, "backlog", (json_int_t)backlog, "last_status",
                  st.last_status ? json_integer(st.last_status) : json_null(), "last_error",
                  st.last_error, "last_attempt_at", time_json(st.last_attempt_ms),
                  "last_success_at", time_json(st.last_success_ms), "next_retry_at",
                  time_json(st.next_retry_ms), "cursor", (json_int_t)st.cursor));
    return j;
}

/* Loads id when the caller's tenant may see it; else replies 404 (or the error). */
static int load(http_request *req, struct api *ctx, const char *id, struct sto_webhook *out)
{
    int rc = sto_webhook_get(ctx->db, id, out);
    if (rc == 0 && !auth_may_see_tenant(api_principal(req), out->tenant)) {
        sto_webhook_release(out);
        rc = -ENOENT;
    }
    if (rc == -ENOENT)
        http_reply_error(req, rc, "webhook '%.64s' does not exist", id);
    else if (rc < 0)
        http_reply_error(req, rc, "read webhook '%.64s': %s", id, horus_strerror(rc));
    return rc;
}

static bool id_is_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 1 || n > STO_WEBHOOK_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool url_is_valid(const char *u)
{
    size_t n = strlen(u);
    const char *host = strncmp(u, "http://", 7) == 0    ? u + 7
                       : strncmp(u, "https://", 8) == 0 ? u + 8
                                                        : NULL;
    if (!host || n > URL_MAX || !host[0] || host[0] == '/' || host[0] == ':')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f)
            return false;
    return true;
}

/*
 * Checks list field key of v: an array of at most LIST_MAX strings, each
 * passing is_ok (why: what it must be). Returns the JSON text (new) or
 * NULL after replying 400 naming the item.
 */
static char *list_field(http_request *req, struct api *ctx, const char *key, const json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) > LIST_MAX) {
        http_reply_error(req, -EINVAL,
                         "%s: must be an array of at most %d strings ([] = every one)", key,
                         LIST_MAX);
        return NULL;
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        const char *s = json_string_value(item);
        size_t len = s ? strlen(s) : 0;
        if (!s || len < 1 || len > 63) {
            http_reply_error(req, -EINVAL, "%s[%zu]: must be a string of 1..63 characters", key, i);
            return NULL;
        }
        if (strcmp(key, "types") == 0 && strcmp(s, "new") != 0 && strcmp(s, "update") != 0 &&
            strcmp(s, "end") != 0 && strcmp(s, "detection") != 0) {
            http_reply_error(req, -EINVAL,
                             "types[%zu]: '%.63s' is not one of new, update, end, detection", i, s);
            return NULL;
        }
        if (strcmp(key, "cameras") == 0) {
            struct sto_camera c;
            int rc = sto_camera_get(ctx->db, s, &c);
            bool seen = rc == 0 && auth_may_see_tenant(api_principal(req), c.tenant);
            if (rc == 0)
                sto_camera_release(&c);
            if (!seen) {
                http_reply_error(req, -EINVAL, "cameras[%zu]: camera '%.63s' does not exist", i, s);
                return NULL;
            }
        }
    }
    return json_dumps(v, JSON_COMPACT);
}

struct body {
    struct sto_webhook_input in;
    char *cameras, *labels, *types; /* owned JSON texts */
    char key[2 * 32 + 1]; /* a generated key */
    bool is_key_generated;
};

static void body_release(struct body *b)
{
    free(b->cameras);
    free(b->labels);
    free(b->types);
    explicit_bzero(b->key, sizeof(b->key));
}

/* Applies the fields of j to b->in; 0, or -EINVAL after replying 400 naming the field. */
static int apply(http_request *req, struct api *ctx, json_t *j, bool is_create, struct body *b)
{
    if (!json_is_object(j)) {
        http_reply_error(req, -EINVAL, "the body must be a JSON object");
        return -EINVAL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        char **list = strcmp(key, "cameras") == 0  ? &b->cameras
                      : strcmp(key, "labels") == 0 ? &b->labels
                      : strcmp(key, "types") == 0  ? &b->types
                                                   : NULL;
        if (strcmp(key, "id") == 0) {
            if (!json_is_string(v) || !id_is_valid(json_string_value(v))) {
                http_reply_error(req, -EINVAL, "id: must be 1..64 characters of [a-z0-9_-]");
                return -EINVAL;
            }
            if (!is_create && strcmp(json_string_value(v), b->in.id) != 0) {
                http_reply_error(req, -EINVAL, "id: does not match the id in the path");
                return -EINVAL;
            }
            b->in.id = json_string_value(v);
        } else if (strcmp(key, "url") == 0) {
            if (!json_is_string(v) || !url_is_valid(json_string_value(v))) {
                http_reply_error(req, -EINVAL,
                                 "url: must be an http:// or https:// URL with a host, at most "
                                 "%d characters",
                                 URL_MAX);
                return -EINVAL;
            }
            b->in.url = json_string_value(v);
        } else if (strcmp(key, "secret") == 0) {
            size_t n = json_is_string(v) ? json_string_length(v) : 0;
            if (!json_is_string(v) || (n > 0 && (n < KEY_MIN || n > KEY_MAX))) {
                http_reply_error(req, -EINVAL,
                                 "secret (the HMAC key) needs %d..%d characters, or \"\" for "
                                 "unsigned deliveries",
                                 KEY_MIN, KEY_MAX);
                return -EINVAL;
            }
            b->in.secret = json_string_value(v);
        } else if (list) {
            free(*list);
            *list = list_field(req, ctx, key, v);
            if (!*list)
                return -EINVAL;
        } else if (strcmp(key, "enabled") == 0) {
            if (!json_is_boolean(v)) {
                http_reply_error(req, -EINVAL, "enabled: must be true or false");
                return -EINVAL;
            }
            b->in.enabled = json_is_true(v);
        } else if (strcmp(key, "timeout_ms") == 0 || strcmp(key, "max_attempts") == 0) {
            bool is_timeout = key[0] == 't';
            json_int_t lo = is_timeout ? 100 : 1, hi = is_timeout ? 60000 : 100;
            if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
                http_reply_error(req, -EINVAL, "%s: must be an integer in %lld..%lld", key,
                                 (long long)lo, (long long)hi);
                return -EINVAL;
            }
            *(is_timeout ? &b->in.timeout_ms : &b->in.max_attempts) = json_integer_value(v);
        } else if (strcmp(key, "has_secret") == 0 || strcmp(key, "created_at") == 0 ||
                   strcmp(key, "updated_at") == 0 || strcmp(key, "delivery") == 0 ||
                   strcmp(key, "tenant") == 0) {
            continue; /* read-only fields a client may echo back */
        } else {
            http_reply_error(req, -EINVAL,
                             "%.64s: unknown field (allowed: id, url, secret, cameras, labels, "
                             "types, enabled, timeout_ms, max_attempts)",
                             key);
            return -EINVAL;
        }
    }
    if (!b->in.id) {
        http_reply_error(req, -EINVAL, "id: is required");
        return -EINVAL;
    }
    if (!b->in.url) {
        http_reply_error(req, -EINVAL, "url: is required");
        return -EINVAL;
    }
    if (is_create && !b->in.secret) {
        unsigned char raw[32];
        if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
            http_reply_error(req, -EIO, "cannot make a key: no randomness");
            return -EIO;
        }
        for (size_t i = 0; i < sizeof(raw); i++)
            snprintf(b->key + 2 * i, 3, "%02x", raw[i]);
        explicit_bzero(raw, sizeof(raw));
        b->in.secret = b->key;
        b->is_key_generated = true;
    }
    if (b->cameras)
        b->in.cameras = b->cameras;
    if (b->labels)
        b->in.labels = b->labels;
    if (b->types)
        b->in.types = b->types;
    return 0;
}

static void sync_delivery(struct api *ctx)
{
    if (!ctx->webhooks)
        return;
    int rc = bus_webhooks_sync(ctx->webhooks);
    if (rc < 0)
        log_warn("webhooks: read the targets: %s", horus_strerror(rc));
}

static int webhooks_list(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const struct auth_principal *p = api_principal(req);
    struct sto_webhook *list;
    size_t n;
    int rc = sto_webhook_list(ctx->db, p && p->tenant[0] ? p->tenant : NULL, &list, &n);
    if (rc < 0)
        return http_reply_error(req, rc, "list webhooks: %s", horus_strerror(rc));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, webhook_json(ctx, &list[i]));
    sto_webhook_list_free(list, n);
    return http_reply_json(req, 200, json_pack("{s:o}", "items", items));
}

static json_t *audit_details(const struct sto_webhook_input *in)
{
    /* Never the key: only whether one is set. */
    return json_pack("{s:s, s:b, s:b}", "url", in->url ? in->url : "", "has_secret",
                     in->secret && in->secret[0], "enabled", in->enabled);
}

static int webhooks_create(http_request *req, void *arg)
{
    struct api *ctx = arg;
    json_t *j;
    if (http_request_json(req, &j) < 0)
        return 0;
    const struct auth_principal *p = api_principal(req);
    struct body b = {
        .in = {
            .enabled = true, .timeout_ms = 10000, .max_attempts = 5, .tenant = p ? p->tenant : ""}};
    int rc = apply(req, ctx, j, true, &b);
    if (rc == 0) {
        rc = sto_webhook_insert(ctx->db, &b.in);
        if (rc == -EEXIST)
            http_reply_error(req, rc, "webhook '%s' already exists", b.in.id);
        else if (rc < 0)
            http_reply_error(req, rc, "create webhook '%s': %s", b.in.id, horus_strerror(rc));
    }
    struct sto_webhook w;
    if (rc == 0 && (rc = sto_webhook_get(ctx->db, b.in.id, &w)) < 0)
        http_reply_error(req, rc, "read webhook '%s': %s", b.in.id, horus_strerror(rc));
    if (rc == 0) {
        sync_delivery(ctx);
        json_t *out = webhook_json(ctx, &w);
        if (b.is_key_generated) /* shown this once */
            json_object_set_new(out, "secret", json_string(b.key));
        char location[128];
        snprintf(location, sizeof(location), "/api/v1/webhooks/%s", w.id);
        http_reply_header(req, "Location", location);
        http_reply_json(req, 201, out);
        json_t *d = audit_details(&b.in);
        auth_audit_request(ctx->audit, req, AUTH_AUDIT_WEBHOOK_CREATED, AUTH_AUDIT_OK, "webhook",
                           w.id, d);
        json_decref(d);
        sto_webhook_release(&w);
    }
    body_release(&b);
    json_decref(j);
    return 0;
}

static int webhooks_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_webhook w;
    if (load(req, ctx, http_request_param(req, "id"), &w) < 0)
        return 0;
    json_t *out = webhook_json(ctx, &w);
    sto_webhook_release(&w);
    return http_reply_json(req, 200, out);
}

static int webhooks_patch(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    struct sto_webhook cur;
    if (load(req, ctx, id, &cur) < 0)
        return 0;
    json_t *j;
    if (http_request_json(req, &j) < 0) {
        sto_webhook_release(&cur);
        return 0;
    }
    struct body b = {.in = {.id = cur.id,
                            .url = cur.url,
                            .cameras = cur.cameras,
                            .labels = cur.labels,
                            .types = cur.types,
                            .enabled = cur.enabled,
                            .timeout_ms = cur.timeout_ms,
                            .max_attempts = cur.max_attempts,
                            .tenant = cur.tenant}};
    int rc = apply(req, ctx, j, false, &b);
    if (rc == 0 && (rc = sto_webhook_update(ctx->db, &b.in)) < 0)
        http_reply_error(req, rc, "update webhook '%.64s': %s", id, horus_strerror(rc));
    struct sto_webhook w;
    if (rc == 0 && (rc = sto_webhook_get(ctx->db, id, &w)) < 0)
        http_reply_error(req, rc, "read webhook '%.64s': %s", id, horus_strerror(rc));
    if (rc == 0) {
        sync_delivery(ctx);
        http_reply_json(req, 200, webhook_json(ctx, &w));
        json_t *d = audit_details(&b.in);
        auth_audit_request(ctx->audit, req, AUTH_AUDIT_WEBHOOK_UPDATED, AUTH_AUDIT_OK, "webhook",
                           id, d);
        json_decref(d);
        sto_webhook_release(&w);
    }
    body_release(&b);
    json_decref(j);
    sto_webhook_release(&cur);
    return 0;
}

static int webhooks_delete(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    struct sto_webhook cur;
    if (load(req, ctx, id, &cur) < 0)
        return 0;
    sto_webhook_release(&cur);
    int rc = sto_webhook_delete(ctx->db, id);
    if (rc < 0)
        return http_reply_error(req, rc, "delete webhook '%.64s': %s", id, horus_strerror(rc));
    sync_delivery(ctx);
    auth_audit_request(ctx->audit, req, AUTH_AUDIT_WEBHOOK_DELETED, AUTH_AUDIT_OK, "webhook", id,
                       NULL);
    return http_reply(req, 204, NULL, NULL, 0);
}

static json_t *result_json(int rc, const struct bus_webhook_result *r)
{
    return json_pack("{s:b, s:o, s:I, s:s}", "delivered", rc == 0, "status",
                     r->status ? json_integer(r->status) : json_null(), "duration_ms",
                     (json_int_t)r->duration_ms, "error", r->error);
}

/* POST .../test: one synthetic message now, outside the outbox and its order. */
static int webhooks_test(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    if (!ctx->webhooks)
        return http_reply_error(req, HORUS_EUNAVAIL, "webhook delivery is not running");
    struct sto_webhook w;
    if (load(req, ctx, id, &w) < 0)
        return 0;
    char sent_at[40];
    clock_format_rfc3339_ms(clock_realtime_ms(ctx->clock), sent_at, sizeof(sent_at));
    json_t *msg = json_pack("{s:s, s:s, s:s}", "type", "test", "webhook", id, "sent_at", sent_at);
    char *body = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    struct bus_webhook_result r;
    int rc = bus_webhooks_send(ctx->webhooks, &w, "test", "test", body ? body : "{}", &r);
    free(body);
    sto_webhook_release(&w);
    return http_reply_json(req, 200, result_json(rc, &r));
}

static json_t *dead_json(const struct sto_dead_letter *d)
{
    json_t *payload = json_loads(d->payload, 0, NULL);
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:I, s:s, s:o}", "seq", (json_int_t)d->seq, "kind",
                     d->kind, "type", d->type, "camera", d->camera_id, "payload",
                     payload ? payload : json_string(d->payload), "attempts",
                     (json_int_t)d->attempts, "last_error", d->last_error, "failed_at",
                     time_json(d->failed_at_ms));
}

static int dead_list(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    struct sto_webhook w;
    if (load(req, ctx, id, &w) < 0)
        return 0;
    sto_webhook_release(&w);
    struct sto_dead_letter *list;
    size_t n;
    int rc = sto_dead_letter_list(ctx->db, id, DEAD_PAGE, &list, &n);
    if (rc < 0)
        return http_reply_error(req, rc, "list dead letters: %s", horus_strerror(rc));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, dead_json(&list[i]));
    sto_dead_letter_list_free(list, n);
    return http_reply_json(req, 200, json_pack("{s:o}", "items", items));
}

/* The target and dead letter of the path into *w and *d, or a reply (404) and -ENOENT. */
static int dead_load(http_request *req, struct api *ctx, struct sto_webhook *w,
                     struct sto_dead_letter *d)
{
    const char *id = http_request_param(req, "id");
    const char *seq_text = http_request_param(req, "seq");
    char *end = NULL;
    long long seq = strtoll(seq_text ? seq_text : "", &end, 10);
    if (load(req, ctx, id, w) < 0)
        return -ENOENT;
    int rc = end && end != seq_text && !*end && seq > 0 ? sto_dead_letter_get(ctx->db, id, seq, d)
                                                        : -ENOENT;
    if (rc == 0)
        return 0;
    sto_webhook_release(w);
    if (rc == -ENOENT)
        http_reply_error(req, rc, "webhook '%.64s' has no dead letter %.24s", id,
                         seq_text ? seq_text : "");
    else
        http_reply_error(req, rc, "read the dead letter: %s", horus_strerror(rc));
    return rc;
}

/* POST .../dead-letters/{seq}/redeliver: sent now; deleted when the receiver takes it. */
static int dead_redeliver(http_request *req, void *arg)
{
    struct api *ctx = arg;
    if (!ctx->webhooks)
        return http_reply_error(req, HORUS_EUNAVAIL, "webhook delivery is not running");
    struct sto_webhook w;
    struct sto_dead_letter d;
    if (dead_load(req, ctx, &w, &d) < 0)
        return 0;
    char delivery[32];
    snprintf(delivery, sizeof(delivery), "%lld", (long long)d.seq);
    struct bus_webhook_result r;
    int rc = bus_webhooks_send(ctx->webhooks, &w, d.type, delivery, d.payload, &r);
    if (rc == 0)
        sto_dead_letter_delete(ctx->db, w.id, d.seq);
    sto_dead_letter_release(&d);
    sto_webhook_release(&w);
    return http_reply_json(req, 200, result_json(rc, &r));
}

static int dead_delete(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_webhook w;
    struct sto_dead_letter d;
    if (dead_load(req, ctx, &w, &d) < 0)
        return 0;
    int rc = sto_dead_letter_delete(ctx->db, w.id, d.seq);
    sto_dead_letter_release(&d);
    sto_webhook_release(&w);
    if (rc < 0)
        return http_reply_error(req, rc, "delete the dead letter: %s", horus_strerror(rc));
    return http_reply(req, 204, NULL, NULL, 0);
}

int api_webhooks_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/webhooks", webhooks_list},
        {"POST", "/api/v1/webhooks", webhooks_create},
        {"GET", "/api/v1/webhooks/{id}", webhooks_get},
        {"PATCH", "/api/v1/webhooks/{id}", webhooks_patch},
        {"DELETE", "/api/v1/webhooks/{id}", webhooks_delete},
        {"POST", "/api/v1/webhooks/{id}/test", webhooks_test},
        {"GET", "/api/v1/webhooks/{id}/dead-letters", dead_list},
        {"POST", "/api/v1/webhooks/{id}/dead-letters/{seq}/redeliver", dead_redeliver},
        {"DELETE", "/api/v1/webhooks/{id}/dead-letters/{seq}", dead_delete},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
