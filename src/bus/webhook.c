/*
 * DESIGN: webhook delivery (docs/design/0049-webhooks.md). One thread per
 * enabled target: its cursor in the outbox, one POST at a time, the cursor
 * stepped after each 2xx (at least once: a crash between the 2xx and the
 * cursor write sends that message again, with the same X-Horus-Delivery
 * so the receiver can drop the repeat). Rows the filter does not pass only
 * move the cursor. A refusal is retried after a delay that doubles from
 * backoff_min to backoff_max; the message goes to the dead letters (in one
 * transaction with the cursor step) after max_attempts permanent refusals
 * (4xx but 408 and 429), or once it has failed for retry_for, whatever the
 * failures were. A receiver that hangs costs the target's timeout per try
 * and nothing else: every target has its own thread, and the API's state
 * reads never wait for a delivery.
 *
 * Threads: the engine's lock guards the target list and every target's
 * status; a target's thread owns its copy of the row and its curl handle.
 */
#include "webhook.h"
#include "webhook_sign.h"
#include "outbox_lease.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#define LOG_MODULE "bus"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READ_BATCH 64
#define POLL_MS 2000 /* the safety net behind bus_webhooks_notify */
#define DEAD_LIMIT_RETRY_FOR_MS (24LL * 3600 * 1000)

struct target {
    bus_webhooks *w;
    struct sto_webhook row; /* owned copy, read by the thread only */
    char *key; /* the HMAC key in clear; "" = unsigned */
    json_t *cameras, *labels, *types; /* the filter; empty arrays pass everything */
    pthread_t thread;
    bool is_started;
    atomic_bool is_stopping;
    struct bus_webhook_status st; /* under w->lock */
    struct bus_outbox_lease lease; /* which node delivers (0071); the thread's */
    metrics_series *m_delivered, *m_failed, *m_dead;
    struct target *next;
};

struct bus_webhooks {
    sto_db *db;
    metrics_registry *metrics;
    metrics_family *f_delivered, *f_failed, *f_dead;
    const horus_clock *clock;
    int64_t backoff_min_ms, backoff_max_ms, retry_for_ms;
    bool is_outbox_wanted; /* a bus reads the outbox anyway */
    char *node_id; /* owned; NULL = alone: no outbox leases (docs/design/0071) */
    int64_t node_ttl_ms;
    pthread_mutex_t sync_lock; /* one sync (or stop) at a time; taken before lock */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* notify_gen changed, or a target is stopping */
    uint64_t notify_gen;
    struct target *targets;
    unsigned next_thread;
    bool is_started;
};

static int64_t now_ms(const bus_webhooks *w)
{
    return clock_realtime_ms(w->clock);
}

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- one POST ---- */

struct progress {
    const atomic_bool *is_stopping;
};

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    const struct progress *p = arg;
    return p->is_stopping && atomic_load(p->is_stopping) ? 1 : 0; /* aborts the transfer */
}

static size_t on_body(char *ptr, size_t size, size_t n, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * n; /* the receiver's body is not kept */
}

/* POSTs body to t with its signature; *out gets the outcome. Returns 0 on a 2xx. */
static int post(bus_webhooks *w, const struct sto_webhook *t, const char *key, const char *type,
                const char *delivery, const char *body, const atomic_bool *is_stopping,
                struct bus_webhook_result *out)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, curl_init_once);
    memset(out, 0, sizeof(*out));
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(out->error, sizeof(out->error), "cannot make an HTTP client");
        return -ENOMEM;
    }
    int64_t ts = now_ms(w) / 1000;
    char h_ts[64], h_sig[32 + BUS_WEBHOOK_SIG_LEN], h_type[96], h_delivery[96];
    snprintf(h_ts, sizeof(h_ts), "X-Horus-Timestamp: %lld", (long long)ts);
    snprintf(h_type, sizeof(h_type), "X-Horus-Event: %.60s", type);
    snprintf(h_delivery, sizeof(h_delivery), "X-Horus-Delivery: %.60s", delivery);
    struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
    hs = curl_slist_append(hs, "Expect:");
    hs = curl_slist_append(hs, h_ts);
    hs = curl_slist_append(hs, h_type);
    hs = curl_slist_append(hs, h_delivery);
    if (key && key[0]) {
        char sig[BUS_WEBHOOK_SIG_LEN + 1];
        if (bus_webhook_sign(key, ts, body, strlen(body), sig) == 0) {
            snprintf(h_sig, sizeof(h_sig), "X-Horus-Signature: %s", sig);
            hs = curl_slist_append(hs, h_sig);
        }
    }
    struct progress prog = {is_stopping};
    int64_t timeout = t->timeout_ms > 0 ? t->timeout_ms : 10000;
    curl_easy_setopt(c, CURLOPT_URL, t->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout < 5000 ? timeout : 5000));
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "horus-webhook/1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &prog);
    int64_t t0 = clock_monotonic_ns(w->clock);
    CURLcode cc = curl_easy_perform(c);
    out->duration_ms = (clock_monotonic_ns(w->clock) - t0) / 1000000;
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(hs);
    out->status = cc == CURLE_OK ? (int)status : 0;
    if (cc != CURLE_OK) {
        snprintf(out->error, sizeof(out->error), "%s", curl_easy_strerror(cc));
        return cc == CURLE_ABORTED_BY_CALLBACK ? HORUS_ESTOPPED : -EIO;
    }
    if (status < 200 || status > 299) {
        snprintf(out->error, sizeof(out->error), "the receiver answered HTTP %ld", status);
        return -EIO;
    }
    return 0;
}

int bus_webhooks_send(bus_webhooks *w, const struct sto_webhook *t, const char *type,
                      const char *delivery, const char *body, struct bus_webhook_result *out)
{
    char *key = NULL;
    int rc = sto_webhook_secret_open(w->db, t, &key);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        snprintf(out->error, sizeof(out->error), "the target's key does not open: %s",
                 horus_strerror(rc));
        return rc;
    }
    rc = post(w, t, key, type, delivery, body, NULL, out);
    explicit_bzero(key, strlen(key));
    free(key);
    return rc;
}

/* ---- the filter ---- */

static bool list_has(const json_t *list, const char *s)
{
    if (!json_is_array(list) || json_array_size(list) == 0)
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (json_is_string(v) && s && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* Whether row passes t's filter (and its tenant). */
static bool passes(struct target *t, const struct sto_outbox_row *row)
{
    bool is_event = strcmp(row->kind, "event") == 0;
    /* Events of every type pass an empty list; detections only when "detection" is listed. */
    if (is_event ? !list_has(t->types, row->type)
                 : !(json_array_size(t->types) > 0 && list_has(t->types, row->kind)))
        return false;
    if (!list_has(t->cameras, row->camera_id))
        return false;
    if (json_array_size(t->labels) > 0) {
        json_t *doc = json_loads(row->payload, 0, NULL);
        json_t *after = json_object_get(doc, "after");
        const char *label = json_string_value(json_object_get(after ? after : doc, "label"));
        bool ok = list_has(t->labels, label);
        json_decref(doc);
        if (!ok)
            return false;
    }
    if (t->row.tenant && t->row.tenant[0]) {
        struct sto_camera cam;
        if (sto_camera_get(t->w->db, row->camera_id, &cam) < 0)
            return false;
        bool same = cam.tenant && strcmp(cam.tenant, t->row.tenant) == 0;
        sto_camera_release(&cam);
        return same;
    }
    return true;
}

/* ---- a target's thread ---- */

static void set_state(struct target *t, const char *state)
{
    pthread_mutex_lock(&t->w->lock);
    t->st.state = state;
    pthread_mutex_unlock(&t->w->lock);
}

/* Waits until deadline_ms (wall), a stop, or (when is_notify) new rows. */
static void wait_until(struct target *t, int64_t deadline_ms, bool is_notify)
{
    bus_webhooks *w = t->w;
    pthread_mutex_lock(&w->lock);
    uint64_t gen = w->notify_gen;
    while (!atomic_load(&t->is_stopping) && (!is_notify || w->notify_gen == gen)) {
        int64_t left = deadline_ms - now_ms(w);
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(left / 1000);
        ts.tv_nsec += (long)(left % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
    }
    pthread_mutex_unlock(&w->lock);
}

static bool is_permanent(int status)
{
    return status >= 400 && status < 500 && status != 408 && status != 429;
}

enum outcome { DELIVERED, DEAD, STOPPED };

/* Delivers row to t until it is accepted, dead-lettered, or the target stops. */
static enum outcome deliver(struct target *t, const struct sto_outbox_row *row)
{
    bus_webhooks *w = t->w;
    char delivery[48];
    snprintf(delivery, sizeof(delivery), "%lld", (long long)row->seq);
    int64_t first_failure_ms = 0, delay = w->backoff_min_ms;
    int64_t permanent = 0, attempts = 0;
    for (;;) {
        set_state(t, "delivering");
        struct bus_webhook_result r;
        int rc = post(w, &t->row, t->key, row->type, delivery, row->payload, &t->is_stopping, &r);
        if (rc == HORUS_ESTOPPED || atomic_load(&t->is_stopping))
            return STOPPED;
        attempts++;
        int64_t now = now_ms(w);
        pthread_mutex_lock(&w->lock);
        t->st.last_attempt_ms = now;
        t->st.last_status = r.status;
        snprintf(t->st.last_error, sizeof(t->st.last_error), "%s", r.error);
        if (rc == 0) {
            t->st.failures = 0;
            t->st.last_success_ms = now;
            t->st.next_retry_ms = 0;
            t->st.delivered++;
            t->st.state = "idle";
        } else {
            t->st.failures++;
        }
        pthread_mutex_unlock(&w->lock);
        if (rc == 0) {
            metrics_counter_inc(t->m_delivered);
            return DELIVERED;
        }
        metrics_counter_inc(t->m_failed);
        if (!first_failure_ms)
            first_failure_ms = now;
        if (is_permanent(r.status))
            permanent++;
        int64_t max_attempts = t->row.max_attempts > 0 ? t->row.max_attempts : 5;
        if (permanent >= max_attempts || now - first_failure_ms >= w->retry_for_ms) {
            struct sto_dead_letter d = {.seq = row->seq,
                                        .kind = row->kind,
                                        .type = row->type,
                                        .camera_id = row->camera_id,
                                        .payload = row->payload,
                                        .attempts = attempts,
                                        .last_error = r.error};
            int drc = sto_dead_letter_add(w->db, t->row.id, &d);
            if (drc == 0) {
                log_warn_kv(LOG_KV({"webhook", t->row.id}, {"camera", row->camera_id}),
                            "message %s moved to the dead letters after %lld attempts: %s",
                            delivery, (long long)attempts, r.error);
                metrics_counter_inc(t->m_dead);
                pthread_mutex_lock(&w->lock);
                t->st.dead_lettered++;
                pthread_mutex_unlock(&w->lock);
                return DEAD;
            }
            log_warn_kv(LOG_KV({"webhook", t->row.id}), "dead letter %s: %s", delivery,
                        horus_strerror(drc)); /* retried with the message */
        }
        if (attempts == max_attempts)
            log_warn_limited("webhook_failing", LOG_KV({"webhook", t->row.id}),
                             "webhook '%s' failing: %lld attempts at message %s: %s", t->row.id,
                             (long long)attempts, delivery, r.error);
        pthread_mutex_lock(&w->lock);
        t->st.next_retry_ms = now + delay;
        t->st.state = t->st.failures >= max_attempts ? "failing" : "retrying";
        pthread_mutex_unlock(&w->lock);
        wait_until(t, now + delay, false);
        if (atomic_load(&t->is_stopping))
            return STOPPED;
        delay = delay * 2 > w->backoff_max_ms ? w->backoff_max_ms : delay * 2;
    }
}

static void set_cursor_seen(struct target *t, int64_t seq)
{
    pthread_mutex_lock(&t->w->lock);
    t->st.cursor = seq;
    pthread_mutex_unlock(&t->w->lock);
}

static void set_cursor(struct target *t, int64_t seq)
{
    char consumer[16 + STO_WEBHOOK_ID_MAX];
    snprintf(consumer, sizeof(consumer), "webhook:%s", t->row.id);
    int rc = sto_outbox_cursor_set_held(t->w->db, consumer, seq, t->w->node_id);
    if (rc < 0)
        log_warn_kv(LOG_KV({"webhook", t->row.id}), "save the outbox cursor: %s",
                    horus_strerror(rc));
    set_cursor_seen(t, seq);
}

static void *target_main(void *arg)
{
    struct target *t = arg;
    bus_webhooks *w = t->w;
    pthread_mutex_lock(&w->lock);
    int64_t cursor = t->st.cursor; /* opened by target_start */
    pthread_mutex_unlock(&w->lock);
    while (!atomic_load(&t->is_stopping)) {
        pthread_mutex_lock(&w->lock);
        uint64_t gen = w->notify_gen;
        pthread_mutex_unlock(&w->lock);
        /* Another node of the database delivers this target: stand by (0071). */
        enum bus_outbox_hold hold = bus_outbox_lease_hold(&t->lease);
        int64_t seq;
        if (hold != BUS_OUTBOX_HELD && sto_outbox_cursor_get(w->db, t->lease.consumer, &seq) == 0) {
            cursor = seq; /* where the holder left it */
            set_cursor_seen(t, seq);
        }
        if (hold == BUS_OUTBOX_ELSEWHERE) {
            wait_until(t, now_ms(w) + POLL_MS, true);
            continue;
        }
        struct sto_outbox_row *rows = NULL;
        size_t n = 0;
        int rc = sto_outbox_read(w->db, cursor, READ_BATCH, &rows, &n);
        if (rc < 0)
            log_warn_limited("webhook_read", LOG_KV({"webhook", t->row.id}), "read the outbox: %s",
                             horus_strerror(rc));
        int64_t skipped_to = cursor;
        for (size_t i = 0; i < n && !atomic_load(&t->is_stopping); i++) {
            if (!passes(t, &rows[i])) {
                skipped_to = cursor = rows[i].seq;
                continue;
            }
            enum outcome o = deliver(t, &rows[i]);
            if (o == STOPPED)
                break;
            cursor = rows[i].seq;
            if (o == DELIVERED)
                set_cursor(t, cursor);
            else /* the dead letter moved the cursor in its transaction */
                set_cursor_seen(t, cursor);
            skipped_to = cursor;
        }
        if (skipped_to != t->st.cursor && !atomic_load(&t->is_stopping))
            set_cursor(t, skipped_to);
        sto_outbox_rows_free(rows, n);
        if (n == READ_BATCH)
            continue;
        pthread_mutex_lock(&w->lock);
        bool is_new = w->notify_gen != gen;
        pthread_mutex_unlock(&w->lock);
        if (!is_new)
            wait_until(t, now_ms(w) + POLL_MS, true);
    }
    return NULL;
}

/* ---- the set of targets ---- */

static json_t *list_of(const char *text)
{
    json_t *j = json_loads(text ? text : "[]", 0, NULL);
    if (!json_is_array(j)) {
        json_decref(j);
        j = json_array();
    }
    return j;
}

static void target_free(struct target *t)
{
    if (!t)
        return;
    sto_webhook_release(&t->row);
    if (t->key) {
        explicit_bzero(t->key, strlen(t->key));
        free(t->key);
    }
    json_decref(t->cameras);
    json_decref(t->labels);
    json_decref(t->types);
    free(t);
}

/* Signals t to stop and joins it (w->lock not held). */
static void target_stop(bus_webhooks *w, struct target *t)
{
    atomic_store(&t->is_stopping, true);
    pthread_mutex_lock(&w->lock);
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (t->is_started) {
        pthread_join(t->thread, NULL);
        bus_outbox_lease_release(&t->lease); /* another node takes it over at once */
    }
    t->is_started = false;
}

/* A target for row (stolen on success), its thread started. */
static int target_start(bus_webhooks *w, struct sto_webhook *row, struct target **out)
{
    struct target *t = horus_calloc(1, sizeof(*t));
    t->w = w;
    int rc = sto_webhook_secret_open(w->db, row, &t->key);
    if (rc < 0) {
        /* Limited: with other nodes the targets are re-read every few seconds (0071). */
        log_error_limited("webhook key", LOG_KV({"webhook", row->id}),
                          "the key of webhook '%s' does not open (%s): it is not delivered to; "
                          "every node needs the same secrets.key",
                          row->id, horus_strerror(rc));
        free(t);
        return rc;
    }
    t->row = *row;
    memset(row, 0, sizeof(*row));
    /* The cursor first, on this thread: what is appended once the caller returns is delivered. */
    char consumer[16 + STO_WEBHOOK_ID_MAX];
    snprintf(consumer, sizeof(consumer), "webhook:%s", t->row.id);
    rc = sto_outbox_cursor_open(w->db, consumer, &t->st.cursor);
    bus_outbox_lease_init(&t->lease, w->db, consumer, w->node_id, w->node_ttl_ms, w->clock);
    if (rc < 0) {
        log_error_kv(LOG_KV({"webhook", t->row.id}), "open the outbox cursor of webhook '%s': %s",
                     t->row.id, horus_strerror(rc));
        target_free(t);
        return rc;
    }
    t->cameras = list_of(t->row.cameras);
    t->labels = list_of(t->row.labels);
    t->types = list_of(t->row.types);
    t->st.state = "idle";
    if (w->f_delivered) {
        t->m_delivered = metrics_series_get(w->f_delivered, t->row.id);
        t->m_failed = metrics_series_get(w->f_failed, t->row.id);
        t->m_dead = metrics_series_get(w->f_dead, t->row.id);
    }
    char name[16];
    snprintf(name, sizeof(name), "hook-%u", w->next_thread++ % 1000);
    rc = horus_thread_start(&t->thread, name, target_main, t);
    if (rc < 0) {
        target_free(t);
        return rc;
    }
    t->is_started = true;
    *out = t;
    return 0;
}

/* Whether a running target still matches its row (else it restarts). */
static bool same_row(const struct sto_webhook *a, const struct sto_webhook *b)
{
    return a->updated_at_ms == b->updated_at_ms && strcmp(a->url, b->url) == 0 &&
           strcmp(a->secret, b->secret) == 0 && a->enabled == b->enabled;
}

static int sync_locked(bus_webhooks *w);

int bus_webhooks_sync(bus_webhooks *w)
{
    pthread_mutex_lock(&w->sync_lock);
    int rc = sync_locked(w);
    pthread_mutex_unlock(&w->sync_lock);
    return rc;
}

static int sync_locked(bus_webhooks *w)
{
    struct sto_webhook *rows = NULL;
    size_t n = 0;
    int rc = sto_webhook_list(w->db, NULL, &rows, &n);
    if (rc < 0)
        return rc;
    /* Take the targets out, keep those that still match, stop the rest outside the lock. */
    pthread_mutex_lock(&w->lock);
    if (!w->is_started) {
        pthread_mutex_unlock(&w->lock);
        sto_webhook_list_free(rows, n);
        return 0;
    }
    struct target *old = w->targets, *kept = NULL, *gone = NULL;
    w->targets = NULL;
    pthread_mutex_unlock(&w->lock);
    while (old) {
        struct target *t = old;
        old = old->next;
        bool keep = false;
        for (size_t i = 0; i < n && !keep; i++)
            keep = rows[i].id && strcmp(rows[i].id, t->row.id) == 0 && rows[i].enabled &&
                   same_row(&rows[i], &t->row);
        if (keep) {
            t->next = kept;
            kept = t;
        } else {
            t->next = gone;
            gone = t;
        }
    }
    while (gone) {
        struct target *t = gone;
        gone = gone->next;
        target_stop(w, t);
        target_free(t);
    }
    bool any_enabled = false;
    for (size_t i = 0; i < n; i++)
        any_enabled = any_enabled || rows[i].enabled;
    if (any_enabled) /* before the new cursors open at the head */
        sto_outbox_set_wanted(w->db, true);
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].enabled)
            continue;
        bool running = false;
        for (struct target *t = kept; t && !running; t = t->next)
            running = strcmp(t->row.id, rows[i].id) == 0;
        struct target *t = NULL;
        if (!running && target_start(w, &rows[i], &t) == 0) {
            t->next = kept;
            kept = t;
        }
    }
    sto_webhook_list_free(rows, n);
    pthread_mutex_lock(&w->lock);
    w->targets = kept;
    pthread_mutex_unlock(&w->lock);
    sto_outbox_set_wanted(w->db, w->is_outbox_wanted || kept != NULL);
    return 0;
}

/* ---- lifecycle ---- */

int bus_webhooks_new(const struct bus_webhooks_options *o, bus_webhooks **out)
{
    *out = NULL;
    if (!o->db)
        return -EINVAL;
    bus_webhooks *w = horus_calloc(1, sizeof(*w));
    w->db = o->db;
    w->metrics = o->metrics;
    w->clock = o->clock ? o->clock : clock_system();
    w->backoff_min_ms = o->backoff_min_ms > 0 ? o->backoff_min_ms : 1000;
    w->backoff_max_ms = o->backoff_max_ms > 0 ? o->backoff_max_ms : 60000;
    if (w->backoff_max_ms < w->backoff_min_ms)
        w->backoff_max_ms = w->backoff_min_ms;
    w->retry_for_ms = o->retry_for_ms > 0 ? o->retry_for_ms : DEAD_LIMIT_RETRY_FOR_MS;
    w->is_outbox_wanted = o->is_outbox_wanted;
    w->node_id = o->node_id && o->node_id[0] ? horus_strdup(o->node_id) : NULL;
    w->node_ttl_ms = o->node_ttl_ms;
    sto_outbox_set_wanted(w->db, w->is_outbox_wanted);
    pthread_mutex_init(&w->sync_lock, NULL);
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (w->metrics) {
        w->f_delivered = metrics_family_add(
            w->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                               .name = "horus_webhook_delivered_total",
                                               .help = "Messages a webhook target accepted (2xx)",
                                               .labels = "webhook"});
        w->f_failed = metrics_family_add(
            w->metrics,
            &(struct metrics_desc){.type = METRICS_COUNTER,
                                   .name = "horus_webhook_failed_attempts_total",
                                   .help = "Deliveries to a webhook target that failed (no "
                                           "answer, or not 2xx); each is retried",
                                   .labels = "webhook"});
        w->f_dead = metrics_family_add(
            w->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                               .name = "horus_webhook_dead_letters_total",
                                               .help = "Messages a webhook target gave up on, "
                                                       "kept as dead letters",
                                               .labels = "webhook"});
    }
    *out = w;
    return 0;
}

int bus_webhooks_start(bus_webhooks *w)
{
    pthread_mutex_lock(&w->sync_lock);
    pthread_mutex_lock(&w->lock);
    w->is_started = true;
    pthread_mutex_unlock(&w->lock);
    int rc = sync_locked(w);
    pthread_mutex_unlock(&w->sync_lock);
    return rc;
}

void bus_webhooks_stop(bus_webhooks *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->sync_lock);
    pthread_mutex_lock(&w->lock);
    w->is_started = false;
    struct target *list = w->targets;
    w->targets = NULL;
    pthread_mutex_unlock(&w->lock);
    while (list) {
        struct target *t = list;
        list = list->next;
        target_stop(w, t);
        target_free(t);
    }
    pthread_mutex_unlock(&w->sync_lock);
}

void bus_webhooks_free(bus_webhooks *w)
{
    if (!w)
        return;
    bus_webhooks_stop(w);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->sync_lock);
    free(w->node_id);
    free(w);
}

void bus_webhooks_notify(bus_webhooks *w)
{
    pthread_mutex_lock(&w->lock);
    w->notify_gen++;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int bus_webhooks_status(bus_webhooks *w, const char *id, struct bus_webhook_status *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&w->lock);
    int rc = -ENOENT;
    for (struct target *t = w->targets; t; t = t->next) {
        if (strcmp(t->row.id, id) == 0) {
            *out = t->st;
            out->is_running = true;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}
