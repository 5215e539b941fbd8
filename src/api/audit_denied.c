/*
 * DESIGN: the gate's refusals in the audit chain, bounded
 * (docs/design/0025-audit-actors-and-refusals.md). A refusal (a 403, the
 * 404 of a camera outside the grant, credentials that were presented and
 * refused) is a security event worth an entry, but a scanner makes
 * thousands a minute and every entry stays in the chain for good. So the
 * first refusal of a client address in a window of API_DENIED_WINDOW_MS
 * is recorded, the following ones are only counted, and the count rides
 * on that client's next entry as "suppressed". A client whose slot is
 * taken over by another address gets a summary entry with its count, so
 * no refusal disappears without a trace. Over all clients, at most
 * API_DENIED_WINDOW_MAX entries are written a window; the refusals over
 * that budget are summed up in the next entry that gets through
 * ("suppressed_global"). Requests without any credential are not recorded
 * (they are the Internet's background noise, and the log has them).
 *
 * Thread: http-N, any number at once. One mutex guards the table; the
 * entries are written after it is released.
 */
#include "api_int.h"

#include "mem.h"

#include <stdio.h>
#include <string.h>

/* FNV-1a of s; never 0. */
static uint64_t client_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return h ? h : 1;
}

/* Takes one entry from the global budget; false (and counts n) when it is spent. */
static bool take_budget(struct api_audit_denied *d, uint64_t n)
{
    if (d->written < API_DENIED_WINDOW_MAX) {
        d->written++;
        return true;
    }
    d->suppressed += n;
    return false;
}

struct api_denied_plan api_audit_denied_plan(struct api_audit_denied *d, const char *client,
                                             int64_t now_ms)
{
    struct api_denied_plan out = {0};
    uint64_t key = client_key(client);
    pthread_mutex_lock(&d->lock);
    if (now_ms - d->window_start_ms >= API_DENIED_WINDOW_MS || now_ms < d->window_start_ms) {
        d->window_start_ms = now_ms;
        d->written = 0;
    }
    struct api_denied_slot *s = &d->slots[key % API_DENIED_SLOTS];
    if (s->key != 0 && s->key != key && s->suppressed > 0) {
        out.summary_count = s->suppressed;
        snprintf(out.summary_client, sizeof(out.summary_client), "%s", s->client);
        out.has_summary = take_budget(d, s->suppressed);
    }
    if (s->key == key && now_ms - s->window_start_ms < API_DENIED_WINDOW_MS &&
        now_ms >= s->window_start_ms) {
        s->suppressed++;
    } else {
        uint64_t mine = s->key == key ? s->suppressed : 0;
        s->key = key;
        snprintf(s->client, sizeof(s->client), "%s", client);
        s->window_start_ms = now_ms;
        s->suppressed = 0;
        out.is_recorded = take_budget(d, mine + 1);
        if (out.is_recorded) {
            out.suppressed = mine;
            out.suppressed_global = d->suppressed;
            d->suppressed = 0;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return out;
}

void api_audit_denied(struct api *ctx, http_request *req, const struct auth_principal *p,
                      int status, const char *reason)
{
    if (!ctx->audit)
        return;
    const char *client = http_request_remote(req);
    if (!client)
        client = "";
    struct api_denied_plan d =
        api_audit_denied_plan(&ctx->audit_denied, client, clock_monotonic_ns(ctx->clock) / 1000000);
    if (d.has_summary) {
        struct auth_audit_actor old = {.client = d.summary_client};
        json_t *j = json_pack("{s:s, s:I}", "reason", "refusals not recorded one by one",
                              "suppressed", (json_int_t)d.summary_count);
        auth_audit(ctx->audit, &old, AUTH_AUDIT_PERMISSION_DENIED, AUTH_AUDIT_DENIED, NULL, NULL,
                   j);
        json_decref(j);
    }
    if (!d.is_recorded)
        return;
    const char *route = http_request_route(req);
    json_t *j = json_pack("{s:i, s:s, s:s, s:s}", "status", status, "reason", reason, "method",
                          http_request_method(req), "route", route ? route : "");
    if (d.suppressed > 0)
        json_object_set_new(j, "suppressed", json_integer((json_int_t)d.suppressed));
    if (d.suppressed_global > 0)
        json_object_set_new(j, "suppressed_global", json_integer((json_int_t)d.suppressed_global));
    /* The camera asked for, cut to an id's length: a scanner's path may be kilobytes. */
    const char *camera = http_request_param(req, "id");
    bool is_camera = camera && route && strncmp(route, "/api/v1/cameras/{id}", 20) == 0;
    char target[AUTH_ID_MAX + 1];
    snprintf(target, sizeof(target), "%s", is_camera ? camera : "");
    struct auth_audit_actor actor = auth_audit_actor_of(p, client);
    auth_audit(ctx->audit, &actor, AUTH_AUDIT_PERMISSION_DENIED, AUTH_AUDIT_DENIED,
               is_camera ? "camera" : NULL, is_camera ? target : NULL, j);
    json_decref(j);
}
