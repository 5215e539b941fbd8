/*
 * DESIGN: /api/v1/detections (docs/design/0046-detections-ingest.md).
 *
 * POST takes a batch from an external AI worker (JSON array or NDJSON,
 * detection_input.c), all or nothing: a batch with one bad item stores
 * nothing and the 400 names the first bad items and fields. The cameras
 * named are checked against the caller's grant and tenant (a camera the
 * caller may not see answers 404 like one that does not exist). The batch
 * then becomes one queued write on the storage writer; the request is
 * deferred (http_defer.c: no HTTP thread waits) and answered 200 from the
 * writer's done callback, after the COMMIT that made the rows durable. The
 * writer commits every write waiting in its queue in one transaction, so
 * concurrent requests share one fsync (group commit).
 *
 * GET lists newest first, paged by an opaque cursor "<time_us>-<id>" of
 * the last row, filtered by the caller's visibility like /api/v1/events.
 *
 * Events (docs/design/0051): with detections.events on and the events
 * engine taking them, the handler also copies the batch in time order into
 * chunks for the engine's inbox (api_det_chunks), and the done callback
 * pushes them after a successful commit: only durable detections make
 * events, and neither the request nor the writer waits for the engine (a
 * push never blocks; a full inbox drops its oldest chunk, counted).
 *
 * Retention: api_detections_tick (main thread, once a second) queues a
 * bounded delete of the rows older than detections.retention_days about
 * once a minute, and at every tick while full batches go.
 *
 * Threads: handlers on http-N; done callbacks on sto-w; the tick on main.
 * Shared state lives in the refcounted struct api_det (atomics only).
 */
#include "api_int.h"
#include "auth_token.h"
#include "detections_int.h"
#include "query_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "api"

#define DET_PAGE_DEFAULT 100
#define DET_PAGE_MAX 1000
#define DET_LIST_READS 8 /* pages read at most to fill one filtered page */
#define DET_REPLY_TIMEOUT_MS 30000 /* a commit slower than this answers 503; the rows may land */
#define DET_PRUNE_BATCH 10000 /* rows deleted by one retention write */
#define DET_PRUNE_INTERVAL_NS (60 * INT64_C(1000000000))
#define DET_CAMERAS_CHECKED 64 /* distinct cameras remembered while checking a batch */

#define OFF(f) offsetof(struct api_detections_config, f)

const cfg_field api_detections_fields[] = {
    {.name = "retention_days",
     .type = CFG_INT,
     .offset = OFF(retention_days),
     .def = "7",
     .min = 1,
     .max = 3650,
     .is_reloadable = true,
     .help = "Detections posted to /api/v1/detections are kept this long (by their time), then "
             "deleted in batches"},
    {.name = "max_items",
     .type = CFG_INT,
     .offset = OFF(max_items),
     .def = "10000",
     .min = 1,
     .max = 100000,
     .is_reloadable = true,
     .help = "Detections in one POST /api/v1/detections; a larger batch gets 413"},
    {.name = "max_body",
     .type = CFG_BYTES,
     .offset = OFF(max_body_bytes),
     .def = "8MiB",
     .min = 1024,
     .max = 268435456,
     .help = "Largest body POST /api/v1/detections takes; a larger one gets 413"},
    {.name = "events",
     .type = CFG_BOOL,
     .offset = OFF(events),
     .def = "true",
     .is_reloadable = true,
     .help = "Committed detections feed the events engine as tracks (a worker's track_id, or "
             "the tracker), into events of source \"external\" for cameras whose analytics "
             "document is enabled, while events.enabled is on"},
    {.name = "idempotency_window",
     .type = CFG_DURATION,
     .offset = OFF(idempotency_window_ms),
     .def = "24h",
     .min = 60000,
     .max = 30 * INT64_C(86400000),
     .is_reloadable = true,
     .help = "A batch posted with an Idempotency-Key is remembered this long: a retry with the "
             "same key and body answers the first reply again and stores nothing"},
    {0},
};

static const double batch_buckets[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 20000};
static const double commit_buckets[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                        0.1,   0.2,   0.5,   1,    2,    5};

struct api_det *api_det_new(const struct api_detections_config *c, metrics_registry *metrics,
                            evt_inbox *inbox)
{
    struct api_det *d = horus_calloc(1, sizeof(*d));
    atomic_init(&d->refs, 1);
    atomic_init(&d->retention_days, c ? c->retention_days : 7);
    atomic_init(&d->max_items, c ? c->max_items : 10000);
    atomic_init(&d->feeds_events, c ? c->events : true);
    atomic_init(&d->idem_window_ms, c ? c->idempotency_window_ms : 86400000);
    d->inbox = inbox;
    d->max_body_bytes = c ? c->max_body_bytes : 8u << 20;
    if (!metrics)
        return d;
    metrics_family *f = metrics_family_add(
        metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                        .name = "horus_detections_ingested_total",
                                        .help = "Detections stored from POST /api/v1/detections "
                                                "(committed before the reply)"});
    d->m_ingested = metrics_series_get(f);
    f = metrics_family_add(metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                                           .name = "horus_detections_batches_total",
                                                           .help = "Batches stored from POST "
                                                                   "/api/v1/detections"});
    d->m_batches = metrics_series_get(f);
    f = metrics_family_add(
        metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                        .name = "horus_detections_rejected_total",
                                        .help = "Batches of POST /api/v1/detections refused, by "
                                                "reason",
                                        .labels = "reason"});
    static const char *const reasons[API_DET_NREJECT] = {"invalid", "too_large", "camera",
                                                         "storage"};
    for (int i = 0; i < API_DET_NREJECT; i++)
        d->m_rejected[i] = metrics_series_get(f, reasons[i]);
    f = metrics_family_add(metrics,
                           &(struct metrics_desc){.type = METRICS_HISTOGRAM,
                                                  .name = "horus_detections_batch_size",
                                                  .help = "Detections per stored batch",
                                                  .buckets = batch_buckets,
                                                  .nbuckets = HORUS_ARRAY_LEN(batch_buckets)});
    d->m_batch_size = metrics_series_get(f);
    f = metrics_family_add(
        metrics, &(struct metrics_desc){.type = METRICS_HISTOGRAM,
                                        .name = "horus_detections_commit_seconds",
                                        .help = "From a batch queued to its commit (the group "
                                                "commit's wait and fsync)",
                                        .buckets = commit_buckets,
                                        .nbuckets = HORUS_ARRAY_LEN(commit_buckets)});
    d->m_commit = metrics_series_get(f);
    f = metrics_family_add(metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                                           .name = "horus_detections_pruned_total",
                                                           .help = "Detections deleted by "
                                                                   "detections.retention_days"});
    d->m_pruned = metrics_series_get(f);
    return d;
}

static struct api_det *det_ref(struct api_det *d)
{
    atomic_fetch_add(&d->refs, 1);
    return d;
}

void api_det_unref(struct api_det *d)
{
    if (d && atomic_fetch_sub(&d->refs, 1) == 1) {
        evt_inbox_unref(d->inbox);
        free(d);
    }
}

static void reject(struct api_det *d, enum api_det_reject why)
{
    if (d->m_rejected[why])
        metrics_counter_inc(d->m_rejected[why]);
}

void api_detections_configure(api *a, const struct api_detections_config *c)
{
    atomic_store(&a->det->retention_days, c->retention_days);
    atomic_store(&a->det->max_items, c->max_items);
    atomic_store(&a->det->feeds_events, c->events);
    atomic_store(&a->det->idem_window_ms, c->idempotency_window_ms);
}

/* ---- the events feed ---- */

struct time_index {
    int64_t time_us;
    size_t i;
};

static int time_index_cmp(const void *pa, const void *pb)
{
    const struct time_index *a = pa, *b = pb;
    if (a->time_us != b->time_us)
        return a->time_us < b->time_us ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

struct evt_dets **api_det_chunks(const struct api_det_batch *b, size_t *nchunks)
{
    struct time_index *order = horus_malloc((b->n ? b->n : 1) * sizeof(*order));
    bool is_sorted = true;
    for (size_t i = 0; i < b->n; i++) {
        order[i] = (struct time_index){b->rows[i].time_us, i};
        is_sorted = is_sorted && (i == 0 || order[i - 1].time_us <= order[i].time_us);
    }
    if (!is_sorted)
        qsort(order, b->n, sizeof(*order), time_index_cmp);
    *nchunks = (b->n + EVT_DETS_CHUNK - 1) / EVT_DETS_CHUNK;
    struct evt_dets **chunks = horus_calloc(*nchunks ? *nchunks : 1, sizeof(*chunks));
    for (size_t k = 0; k < *nchunks; k++) {
        size_t from = k * EVT_DETS_CHUNK;
        size_t n = b->n - from < EVT_DETS_CHUNK ? b->n - from : EVT_DETS_CHUNK;
        chunks[k] = evt_dets_new(n);
        for (size_t j = 0; j < n; j++) {
            const struct sto_detection_input *r = &b->rows[order[from + j].i];
            struct evt_detection *e = &chunks[k]->items[j];
            snprintf(e->camera_id, sizeof(e->camera_id), "%s", r->camera_id);
            snprintf(e->label, sizeof(e->label), "%s", r->label);
            snprintf(e->track_id, sizeof(e->track_id), "%s", r->track_id ? r->track_id : "");
            e->time_us = r->time_us;
            e->score = (float)r->score;
            e->x0 = (float)r->x0;
            e->y0 = (float)r->y0;
            e->x1 = (float)r->x1;
            e->y1 = (float)r->y1;
        }
    }
    free(order);
    return chunks;
}

/* ---- POST ---- */

/* A batch waiting for its commit. */
struct post_op {
    struct api_det *det; /* a reference */
    http_deferred *reply; /* given back by post_done */
    size_t n;
    int64_t queued_ns;
    const horus_clock *clock; /* borrowed: the system clock outlives everything */
    struct evt_dets **chunks; /* owned: for the events engine once committed, or NULL */
    size_t nchunks;
    bool has_key; /* posted with an Idempotency-Key: key_res says what happened */
    struct sto_detection_key_result key_res; /* written by the writer before post_done */
    char key[API_DET_IDEM_KEY_MAX + 1];
};

/* 422 idempotency_key_reused naming the key (JSON-escaped by jansson). */
static void reply_key_reused(struct post_op *op)
{
    char msg[API_DET_IDEM_KEY_MAX + 160];
    snprintf(msg, sizeof(msg),
             "Idempotency-Key '%s' was already used with a different body; nothing was stored",
             op->key);
    json_t *j =
        json_pack("{s:{s:s, s:s}}", "error", "code", "idempotency_key_reused", "message", msg);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        http_deferred_reply_error(op->reply, -ENOMEM, NULL);
        return;
    }
    http_deferred_reply(op->reply, 422, "application/json", text, strlen(text));
    free(text);
}

/* Hands the chunks to the events engine (committed) or frees them. */
static void chunks_done(struct post_op *op, bool is_committed)
{
    for (size_t i = 0; i < op->nchunks; i++) {
        if (is_committed)
            evt_inbox_push(op->det->inbox, op->chunks[i]);
        else
            evt_dets_free(op->chunks[i]);
    }
    free(op->chunks);
    op->chunks = NULL;
    op->nchunks = 0;
}

static void post_done(int rc, void *arg)
{
    struct post_op *op = arg;
    struct api_det *d = op->det;
    if (d->m_commit)
        metrics_histogram_observe(d->m_commit,
                                  (double)(clock_monotonic_ns(op->clock) - op->queued_ns) / 1e9);
    if (rc == 0 && op->has_key && op->key_res.outcome != STO_DET_KEY_NEW) {
        chunks_done(op, false);
        if (op->key_res.outcome == STO_DET_KEY_REUSED) {
            reject(d, API_DET_REJECT_INVALID);
            reply_key_reused(op);
        } else {
            char body[64];
            int len = snprintf(body, sizeof(body), "{\"stored\":%" PRId64 "}", op->key_res.stored);
            http_deferred_header(op->reply, "Idempotent-Replayed", "true");
            http_deferred_reply(op->reply, 200, "application/json", body, (size_t)len);
        }
    } else if (rc == 0) {
        if (d->m_ingested) {
            metrics_counter_add(d->m_ingested, (double)op->n);
            metrics_counter_inc(d->m_batches);
            metrics_histogram_observe(d->m_batch_size, (double)op->n);
        }
        char body[64];
        int len = snprintf(body, sizeof(body), "{\"stored\":%zu}", op->n);
        http_deferred_reply(op->reply, 200, "application/json", body, (size_t)len);
        chunks_done(op, true);
    } else {
        chunks_done(op, false);
        reject(d, API_DET_REJECT_STORAGE);
        if (rc == -EAGAIN || rc == HORUS_EDBBUSY)
            rc = HORUS_EDBBUSY;
        http_deferred_reply_error(op->reply, rc, "store detections: %s; nothing was stored",
                                  horus_strerror(rc));
    }
    api_det_unref(d);
    free(op);
}

/* Who posted: "key:<id>" for an API key, "user:<name>" for a person. */
static void source_of(const http_request *req, char *out, size_t cap)
{
    const struct auth_principal *p = api_principal(req);
    if (!p)
        snprintf(out, cap, "anonymous");
    else if (p->kind == AUTH_KIND_API_KEY)
        snprintf(out, cap, "key:%s", p->id);
    else
        snprintf(out, cap, "user:%s", p->user[0] ? p->user : p->name);
}

/*
 * Checks every distinct camera of b against the caller. Returns 0, or an
 * error after replying (404 naming the first item of an unknown camera).
 */
static int check_cameras(struct api *ctx, http_request *req, const struct api_det_batch *b)
{
    const char *seen[DET_CAMERAS_CHECKED];
    size_t nseen = 0;
    for (size_t i = 0; i < b->n; i++) {
        const char *cam = b->rows[i].camera_id;
        bool is_known = false;
        for (size_t k = 0; k < nseen && !is_known; k++)
            is_known = strcmp(seen[k], cam) == 0;
        if (is_known)
            continue;
        int rc = api_camera_visible(ctx, req, cam);
        if (rc == -ENOENT) {
            reject(ctx->det, API_DET_REJECT_CAMERA);
            http_reply_error(req, -ENOENT,
                             "items[%zu].camera: camera '%s' does not exist; nothing was stored", i,
                             cam);
            return -ENOENT;
        }
        if (rc < 0) {
            reject(ctx->det, API_DET_REJECT_STORAGE);
            http_reply_error(req, rc, "read camera '%s': %s", cam, horus_strerror(rc));
            return rc;
        }
        if (nseen < DET_CAMERAS_CHECKED)
            seen[nseen++] = cam;
    }
    return 0;
}

static int detections_post(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct api_det *d = ctx->det;
    size_t len;
    const char *body = http_request_body(req, &len);
    const char *type = http_request_header(req, "Content-Type");
    bool is_ndjson = type && strncasecmp(type, "application/x-ndjson", 20) == 0;
    int64_t now_us = clock_realtime_ms(ctx->clock) * 1000;
    struct api_det_batch b;
    char why[1024];
    const char *key = http_request_header(req, "Idempotency-Key");
    if (key && api_det_idem_key_check(key, why, sizeof(why)) < 0) {
        reject(d, API_DET_REJECT_INVALID);
        return http_reply_error(req, -EINVAL, "%s; nothing was stored", why);
    }
    int rc = api_det_batch_parse(body, len, is_ndjson, (size_t)atomic_load(&d->max_items), now_us,
                                 &b, why, sizeof(why));
    if (rc < 0) {
        reject(d, rc == HORUS_ETOOBIG ? API_DET_REJECT_TOO_LARGE : API_DET_REJECT_INVALID);
        return http_reply_error(req, rc, "%s; nothing was stored", why);
    }
    if (check_cameras(ctx, req, &b) < 0) {
        api_det_batch_release(&b);
        return 0;
    }
    char source[AUTH_NAME_MAX + 8];
    source_of(req, source, sizeof(source));
    struct post_op *op = horus_calloc(1, sizeof(*op));
    op->n = b.n;
    op->clock = ctx->clock;
    op->queued_ns = clock_monotonic_ns(ctx->clock);
    op->reply = http_request_defer(req, DET_REPLY_TIMEOUT_MS, NULL, NULL);
    if (!op->reply) { /* the server is stopping */
        free(op);
        api_det_batch_release(&b);
        return http_reply_error(req, HORUS_EUNAVAIL, "the server is stopping; nothing was stored");
    }
    op->det = det_ref(d);
    if (d->inbox && atomic_load(&d->feeds_events) && evt_inbox_is_open(d->inbox))
        op->chunks = api_det_chunks(&b, &op->nchunks);
    /* Rows and strings are copied: the batch goes before the commit. */
    if (key) {
        char hash[AUTH_SHA256_HEX_LEN];
        auth_sha256_hex(body, len, hash);
        op->has_key = true;
        snprintf(op->key, sizeof(op->key), "%s", key);
        struct sto_detection_key k = {
            .key = key,
            .body_hash = hash,
            .since_us = now_us - atomic_load(&d->idem_window_ms) * 1000,
        };
        rc = sto_detections_insert_keyed_async(ctx->db, b.rows, b.n, source, now_us, &k,
                                               &op->key_res, post_done, op);
    } else {
        rc = sto_detections_insert_async(ctx->db, b.rows, b.n, source, now_us, post_done, op);
    }
    api_det_batch_release(&b);
    if (rc < 0) {
        reject(d, API_DET_REJECT_STORAGE);
        http_deferred_reply_error(op->reply, rc == -EAGAIN ? HORUS_EDBBUSY : rc,
                                  rc == -EAGAIN ? "the database write queue is full; retry later"
                                                : "store detections: %s",
                                  horus_strerror(rc));
        chunks_done(op, false);
        api_det_unref(op->det);
        free(op);
    }
    return 0;
}

/* ---- GET ---- */

static int parse_cursor(const char *s, struct sto_detection_filter *f)
{
    char *end;
    long long t = strtoll(s, &end, 10);
    if (end == s || *end != '-' || t < 0)
        return -EINVAL;
    const char *idp = end + 1;
    long long id = strtoll(idp, &end, 10);
    if (end == idp || *end || id <= 0)
        return -EINVAL;
    f->has_cursor = true;
    f->cursor_time_us = t;
    f->cursor_id = id;
    return 0;
}

static int parse_filter(http_request *req, struct sto_detection_filter *f, size_t *limit, char *why,
                        size_t cap)
{
    const char *camera = http_request_query(req, "camera");
    const char *label = http_request_query(req, "label");
    if (camera && (!*camera || strlen(camera) > API_CAMERA_ID_MAX)) {
        snprintf(why, cap, "camera: must be 1..%d bytes", API_CAMERA_ID_MAX);
        return -EINVAL;
    }
    if (label && (!*label || strlen(label) > API_DET_LABEL_MAX)) {
        snprintf(why, cap, "label: must be 1..%d characters", API_DET_LABEL_MAX);
        return -EINVAL;
    }
    f->camera_id = camera;
    f->label = label;
    const char *after = http_request_query(req, "after");
    const char *before = http_request_query(req, "before");
    if (api_after_before_parse(after, before, &f->after_us, &f->before_us, why, cap) < 0)
        return -EINVAL;
    *limit = DET_PAGE_DEFAULT;
    const char *ls = http_request_query(req, "limit");
    if (ls) {
        int64_t v;
        if (api_int_parse("limit", ls, 1, DET_PAGE_MAX, &v, why, cap) < 0)
            return -EINVAL;
        *limit = (size_t)v;
    }
    const char *cursor = http_request_query(req, "cursor");
    if (cursor && parse_cursor(cursor, f) < 0) {
        snprintf(why, cap, "cursor: not a cursor this server returned");
        return -EINVAL;
    }
    return 0;
}

static json_t *detection_json(const struct sto_detection *r)
{
    char time[32], received[32];
    clock_format_rfc3339_ms(r->time_us / 1000, time, sizeof(time));
    clock_format_rfc3339_ms(r->received_us / 1000, received, sizeof(received));
    json_t *attrs = json_loads(r->attributes ? r->attributes : "{}", 0, NULL);
    json_t *j = json_pack("{s:I, s:s, s:s, s:I, s:s, s:f, s:[f, f, f, f], s:o, s:s, s:s}", "id",
                          (json_int_t)r->id, "camera", r->camera_id, "time", time, "time_us",
                          (json_int_t)r->time_us, "label", r->label, "score", r->score, "box",
                          r->x0, r->y0, r->x1, r->y1, "attributes", attrs ? attrs : json_object(),
                          "received_at", received, "source", r->source);
    if (r->track_id && r->track_id[0])
        json_object_set_new(j, "track_id", json_string(r->track_id));
    return j;
}

static int detections_list(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_detection_filter f = {0};
    size_t limit;
    char why[160];
    if (parse_filter(req, &f, &limit, why, sizeof(why)) < 0)
        return http_reply_error(req, -EINVAL, "%s", why);
    json_t *items = json_array();
    char last[48] = "";
    bool has_more = false;
    for (int reads = 0; reads < DET_LIST_READS && json_array_size(items) < limit; reads++) {
        struct sto_detection *list;
        size_t n;
        int rc =
            sto_detection_list(ctx->db, &f, limit - json_array_size(items), &list, &n, &has_more);
        if (rc < 0) {
            json_decref(items);
            return http_reply_error(req, rc, "list detections: %s", horus_strerror(rc));
        }
        for (size_t i = 0; i < n; i++)
            if (api_may_see(req, list[i].camera_id, list[i].tenant))
                json_array_append_new(items, detection_json(&list[i]));
        if (n > 0) {
            f.has_cursor = true;
            f.cursor_time_us = list[n - 1].time_us;
            f.cursor_id = list[n - 1].id;
            snprintf(last, sizeof(last), "%" PRId64 "-%" PRId64, f.cursor_time_us, f.cursor_id);
        }
        sto_detection_list_free(list, n);
        if (!has_more)
            break;
    }
    json_t *next = has_more && last[0] ? json_string(last) : json_null();
    return http_reply_json(req, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

/* ---- retention ---- */

static void pruned(int rc, size_t deleted, void *arg)
{
    struct api_det *d = arg;
    if (rc < 0)
        log_warn("detections retention: delete old rows: %s; retried in a minute",
                 horus_strerror(rc));
    else if (d->m_pruned)
        metrics_counter_add(d->m_pruned, (double)deleted);
    atomic_store(&d->is_behind, rc == 0 && deleted >= DET_PRUNE_BATCH);
    atomic_store(&d->is_pruning, false);
    api_det_unref(d);
}

void api_detections_tick(api *a)
{
    struct api_det *d = a->det;
    int64_t now = clock_monotonic_ns(a->clock);
    if (atomic_load(&d->is_pruning) ||
        (!atomic_load(&d->is_behind) && now < atomic_load(&d->next_prune_ns)))
        return;
    atomic_store(&d->next_prune_ns, now + DET_PRUNE_INTERVAL_NS);
    atomic_store(&d->is_behind, false);
    int64_t before_us =
        clock_realtime_ms(a->clock) * 1000 - atomic_load(&d->retention_days) * INT64_C(86400000000);
    atomic_store(&d->is_pruning, true);
    int64_t keys_before_us =
        clock_realtime_ms(a->clock) * 1000 - atomic_load(&d->idem_window_ms) * 1000;
    int rc = sto_detections_prune_async(a->db, before_us, keys_before_us, DET_PRUNE_BATCH, pruned,
                                        det_ref(d));
    if (rc < 0) {
        atomic_store(&d->is_pruning, false);
        api_det_unref(d);
    }
}

int api_detections_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/detections", detections_list},
        {"POST", "/api/v1/detections", detections_post},
    };
    int rc = api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
    if (rc == 0)
        rc = http_router_set_body_limit(r, "POST", "/api/v1/detections",
                                        (size_t)ctx->det->max_body_bytes);
    return rc;
}
