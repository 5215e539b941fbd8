/*
 * DESIGN: the audit log callers use (docs/design/0018-audit-chain.md). It
 * turns an action into a struct sto_audit_input and queues it on the
 * database writer, which chains it (storage/audit.c); it owns no thread.
 *
 * Loss is never silent. The write queue refuses only when it holds
 * database.queue_max writes (65536 by default, the database stalled for
 * a long while); auth_audit then tries again for up to LOSS_WAIT_MS, so a
 * request thread waits at most that long, and then gives the entry up: an
 * error line with its fields, horus_audit_lost_total, and a pending count
 * that the next successful append turns into an "audit.lost" entry ahead
 * of itself, inside the chain. A write that fails for good (the writer
 * retries locked and full databases itself) goes the same way from its
 * done callback on the writer thread.
 *
 * The head (last id and hash) is written to the log at start, at stop and
 * every head_log_interval, bypassing the log level, so that a database
 * rewritten later disagrees with lines already shipped elsewhere.
 *
 * Thread: auth_audit from any thread but the writer; new, tick and free
 * from main. State shared across threads is atomic.
 */
#include "audit.h"
#include "auth.h"

#include "err.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "audit"

/* How long auth_audit retries a full write queue before the entry is lost. */
#define LOSS_WAIT_MS 50
#define HOUR_MS (3600 * INT64_C(1000))

struct auth_audit_log {
    sto_db *db; /* borrowed */
    const horus_clock *clock; /* borrowed */
    _Atomic int64_t interval_ms;
    int64_t last_head_ms; /* main thread only: monotonic ms of the last head line */
    _Atomic uint64_t lost; /* since start */
    _Atomic uint64_t pending_lost; /* lost entries not yet recorded by an "audit.lost" entry */
    metrics_series *m_appended, *m_lost;
    metrics_registry *own_metrics; /* owned when the caller gave none */
};

static const char *const outcome_names[] = {"ok", "denied", "failed"};

const char *auth_audit_outcome_name(enum auth_audit_outcome o)
{
    return (unsigned)o < HORUS_ARRAY_LEN(outcome_names) ? outcome_names[o] : "failed";
}

int auth_audit_log_new(const struct auth_audit_options *o, auth_audit_log **out)
{
    auth_audit_log *l = horus_calloc(1, sizeof(*l));
    l->db = o->db;
    l->clock = o->clock ? o->clock : clock_system();
    atomic_store(&l->interval_ms, o->head_log_interval_ms > 0 ? o->head_log_interval_ms : HOUR_MS);
    l->last_head_ms = clock_monotonic_ns(l->clock) / 1000000;
    metrics_registry *metrics = o->metrics;
    if (!metrics)
        metrics = l->own_metrics = metrics_registry_new();
    metrics_family *fam = metrics_family_add(
        metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                        .name = "horus_audit_entries_total",
                                        .help = "Audit entries by result (lost = could not be "
                                                "written; see the audit.lost entries)",
                                        .labels = "result"});
    l->m_appended = metrics_series_get(fam, "written");
    l->m_lost = metrics_series_get(fam, "lost");
    *out = l;
    return 0;
}

void auth_audit_log_set_interval(auth_audit_log *l, int64_t head_log_interval_ms)
{
    if (l)
        atomic_store(&l->interval_ms, head_log_interval_ms > 0 ? head_log_interval_ms : HOUR_MS);
}

int auth_audit_log_sync(auth_audit_log *l)
{
    return l ? sto_audit_sync(l->db) : 0;
}

void auth_audit_log_free(auth_audit_log *l)
{
    if (!l)
        return;
    metrics_registry_free(l->own_metrics);
    free(l);
}

uint64_t auth_audit_lost(const auth_audit_log *l)
{
    return l ? atomic_load(&l->lost) : 0;
}

/* Counts a lost entry and logs what it said (no secrets are ever in an entry). */
static void note_lost(auth_audit_log *l, const struct sto_audit_input *in, int rc)
{
    atomic_fetch_add(&l->lost, 1);
    atomic_fetch_add(&l->pending_lost, 1);
    metrics_counter_inc(l->m_lost);
    log_error_kv(LOG_KV({"action", in->action}, {"outcome", in->outcome},
                        {"actor", in->actor_id ? in->actor_id : ""},
                        {"client", in->client ? in->client : ""},
                        {"target_kind", in->target_kind ? in->target_kind : ""},
                        {"target_id", in->target_id ? in->target_id : ""},
                        {"details", in->details ? in->details : "{}"}),
                 "audit entry lost: %s; the next entry records the loss", horus_strerror(rc));
}

/* The done callback of one append (writer thread). */
struct pending {
    auth_audit_log *log;
    struct sto_audit_input in; /* strings point into text */
    char text[]; /* the copied strings, NUL-separated */
};

static void append_done(int rc, void *arg)
{
    struct pending *p = arg;
    if (rc < 0)
        note_lost(p->log, &p->in, rc);
    else
        metrics_counter_inc(p->log->m_appended);
    free(p);
}

/* A copy of in whose strings live in one allocation with it. */
static struct pending *pending_new(auth_audit_log *l, const struct sto_audit_input *in)
{
    const char *const src[] = {in->actor_kind, in->actor_id, in->actor_name,  in->tenant,
                               in->client,     in->action,   in->target_kind, in->target_id,
                               in->outcome,    in->details};
    size_t bytes = 0;
    for (size_t i = 0; i < HORUS_ARRAY_LEN(src); i++)
        bytes += (src[i] ? strlen(src[i]) : 0) + 1;
    struct pending *p = horus_calloc(1, sizeof(*p) + bytes);
    p->log = l;
    const char *dst[HORUS_ARRAY_LEN(src)];
    char *w = p->text;
    for (size_t i = 0; i < HORUS_ARRAY_LEN(src); i++) {
        size_t n = src[i] ? strlen(src[i]) : 0;
        if (n)
            memcpy(w, src[i], n);
        w[n] = '\0';
        dst[i] = w;
        w += n + 1;
    }
    p->in = (struct sto_audit_input){.time_us = in->time_us,
                                     .actor_kind = dst[0],
                                     .actor_id = dst[1],
                                     .actor_name = dst[2],
                                     .tenant = dst[3],
                                     .client = dst[4],
                                     .action = dst[5],
                                     .target_kind = dst[6],
                                     .target_id = dst[7],
                                     .outcome = dst[8],
                                     .details = dst[9]};
    return p;
}

/* Queues in, retrying a full queue for up to LOSS_WAIT_MS. Returns 0 or the push's error. */
static int push(auth_audit_log *l, const struct sto_audit_input *in)
{
    struct pending *p = pending_new(l, in);
    int rc = -EAGAIN;
    for (int waited = 0;; waited++) {
        rc = sto_audit_append_async(l->db, &p->in, append_done, p);
        if (rc != -EAGAIN || waited >= LOSS_WAIT_MS)
            break;
        struct timespec ms = {.tv_nsec = 1000000};
        nanosleep(&ms, NULL);
    }
    if (rc < 0)
        free(p); /* the callback is not called when the push fails */
    return rc;
}

/* Records the pending loss count ahead of the next entry. */
static void record_losses(auth_audit_log *l, int64_t time_us)
{
    uint64_t n = atomic_exchange(&l->pending_lost, 0);
    if (n == 0)
        return;
    char details[64];
    snprintf(details, sizeof(details), "{\"count\":%" PRIu64 "}", n);
    struct sto_audit_input in = {.time_us = time_us,
                                 .actor_kind = "system",
                                 .action = AUTH_AUDIT_LOST,
                                 .outcome = "failed",
                                 .details = details};
    if (push(l, &in) < 0)
        atomic_fetch_add(&l->pending_lost, n); /* still owed; the next entry tries again */
}

int auth_audit(auth_audit_log *l, const struct auth_audit_actor *actor, const char *action,
               enum auth_audit_outcome outcome, const char *target_kind, const char *target_id,
               const json_t *details)
{
    if (!action || !action[0] || (details && !json_is_object(details)))
        return -EINVAL;
    if (!l)
        return 0;
    static const struct auth_audit_actor nobody = {0};
    if (!actor)
        actor = &nobody;
    char *text = details ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int64_t now_us = clock_realtime_ms(l->clock) * 1000;
    struct sto_audit_input in = {.time_us = now_us,
                                 .actor_kind = actor->kind,
                                 .actor_id = actor->id,
                                 .actor_name = actor->name,
                                 .tenant = actor->tenant,
                                 .client = actor->client,
                                 .action = action,
                                 .target_kind = target_kind,
                                 .target_id = target_id,
                                 .outcome = auth_audit_outcome_name(outcome),
                                 .details = text ? text : "{}"};
    record_losses(l, now_us);
    int rc = push(l, &in);
    if (rc < 0)
        note_lost(l, &in, rc);
    free(text);
    return rc;
}

static const char *const actor_kinds[] = {
    [AUTH_KIND_SESSION] = "user",
    [AUTH_KIND_API_KEY] = "apikey",
    [AUTH_KIND_JWT] = "oidc",
    [AUTH_KIND_MEDIA_TOKEN] = "media_token",
};

struct auth_audit_actor auth_audit_actor_of(const struct auth_principal *p, const char *client)
{
    struct auth_audit_actor a = {.client = client};
    if (!p)
        return a;
    a.kind = (unsigned)p->kind < HORUS_ARRAY_LEN(actor_kinds) ? actor_kinds[p->kind] : NULL;
    /* A session's own id is a handle for revoking it, not who acted: the user is. */
    a.id = p->kind == AUTH_KIND_SESSION && p->user[0] ? p->user : p->id;
    a.name = p->name;
    a.tenant = p->tenant;
    return a;
}

int auth_audit_request(auth_audit_log *l, const http_request *req, const char *action,
                       enum auth_audit_outcome outcome, const char *target_kind,
                       const char *target_id, const json_t *details)
{
    /* The gate attaches nothing but a struct auth_principal (api/gate.c). */
    const struct auth_principal *p = req ? http_request_principal(req) : NULL;
    struct auth_audit_actor actor = auth_audit_actor_of(p, req ? http_request_remote(req) : NULL);
    return auth_audit(l, &actor, action, outcome, target_kind, target_id, details);
}

void auth_audit_log_head(auth_audit_log *l, const char *why)
{
    if (!l)
        return;
    int64_t id;
    char hash[STO_AUDIT_HASH_LEN];
    sto_audit_head(l->db, &id, hash);
    char ids[24];
    snprintf(ids, sizeof(ids), "%" PRId64, id);
    /* log_write, not log_info: the head is written whatever the level. */
    log_write(LOG_LEVEL_INFO, LOG_MODULE,
              LOG_KV({"audit_head_id", ids}, {"audit_head_hash", hash}, {"audit_head_why", why}),
              "audit chain head (%s)", why);
}

void auth_audit_log_tick(auth_audit_log *l)
{
    if (!l)
        return;
    int64_t now = clock_monotonic_ns(l->clock) / 1000000;
    if (now - l->last_head_ms < atomic_load(&l->interval_ms))
        return;
    l->last_head_ms = now;
    auth_audit_log_head(l, "interval");
}
