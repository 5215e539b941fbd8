/*
 * DESIGN: the bus core (bus.h; docs/design/0045-bus-and-outbox.md).
 *
 * One thread per configured bus ("bus-<name>") owns its adapter
 * (bus_client.h) and its cursor in the outbox. Its loop: connect when not
 * connected (behind the shared circuit breaker, with a doubling, capped,
 * jittered backoff; a refused login or certificate is BUS_FAILED and waits
 * the longest), read up to batch_max rows after the cursor, publish them,
 * move the cursor to the last row of the acknowledged prefix (through the
 * writer), and on any failure close the connection and retry from the
 * first unacknowledged row. Delivery is therefore at least once and in
 * seq order (so in order per camera); a row is never skipped except when
 * the outbox's retention dropped it first, which shows as a gap in the
 * seqs and is counted as dropped{reason="expired"}.
 *
 * Waking: bus_notify, which the daemon's outbox watcher calls (storage
 * calls it after a commit that appended rows; the same watcher wakes the
 * webhooks), bumps a generation under the core's lock and signals;
 * an idle thread also wakes each second to refresh its backlog (the safety
 * net against a lost signal). bus_notify_frames (the frame hub) wakes the
 * threads to publish frames only: a thread that found the outbox empty
 * does not read it again for a frame before that second is up. Every minute, connected or not, each
 * thread trims the outbox.
 *
 * Lock order: the core's lock, then a link's health lock; neither is held
 * across I/O, storage or an adapter call.
 */
#include "bus_int.h"
#include "outbox_lease.h"

#include "breaker.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define LOG_MODULE "bus"

#define CONNECT_TIMEOUT_MS 5000
#define POLL_MS 1000
#define TRIM_INTERVAL_MS 60000 /* or half the retention when that is shorter */
#define SUBJECT_MAX 256
#define REFUSED_BACKOFF_MIN_MS 10000 /* credentials do not fix themselves quickly */

/* The adapters this build has, in the order their threads start. */
static const struct {
    const char *name;
    bus_adapter_make_fn make;
} adapters[] = {
    {"mqtt", bus_mqtt_make},
    {"nats", bus_nats_make},
    {"amqp", bus_amqp_make},
};

struct link {
    struct bus *b;
    const struct bus_client_ops *ops;
    void *self; /* owned: the adapter */
    char name[16]; /* "mqtt": the cursor's consumer, the metrics' label */
    pthread_t thread;
    bool is_running;
    int64_t cursor; /* bus thread only after start */
    struct horus_breaker breaker; /* bus thread only */
    uint64_t rng; /* jitter; bus thread only */
    struct bus_outbox_lease lease; /* which node delivers; bus thread only after start */
    bool is_delivering; /* what the adapter was last told (set_delivering); bus thread only */

    pthread_mutex_t lock; /* guards the health fields below */
    enum bus_state state;
    char error[256]; /* the last failure, never a secret (adapters promise it) */
    int64_t connected_since_ms; /* wall clock; 0 while not connected */
    int64_t backlog; /* rows after the cursor, refreshed by the thread */
    uint64_t published;

    metrics_series *m_published, *m_expired, *m_depth, *m_connected;
};

struct bus {
    sto_db *db;
    struct bus_config config; /* the numbers only: adapters copied their strings */
    const horus_clock *clock;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* new outbox rows, or stopping */
    uint64_t generation; /* bumped by each wake-up */
    uint64_t rows_generation; /* bumped by bus_notify only: new outbox rows */
    bool is_stopping;
    struct link *links; /* owned */
    size_t nlinks;
    frames_hub *frames; /* borrowed, may be NULL: best-effort frames (docs/design/0050) */
    char *node_id; /* owned; NULL = alone: no outbox leases (docs/design/0071) */
    int64_t node_ttl_ms;
};

static const char *state_name(enum bus_state s)
{
    switch (s) {
    case BUS_CONNECTING:
        return "connecting";
    case BUS_CONNECTED:
        return "connected";
    case BUS_FAILED:
        return "failed";
    default:
        return "disconnected";
    }
}

static int64_t mono_ms(void)
{
    return clock_monotonic_ns(clock_system()) / 1000000;
}

/* Wakes the threads; has_rows: for new outbox rows (else for frames only). */
static void wake_for(struct bus *b, bool has_rows)
{
    pthread_mutex_lock(&b->lock);
    b->generation++;
    b->rows_generation += has_rows;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
}

static void wake(void *arg)
{
    wake_for(arg, true);
}

static uint64_t rows_generation(struct bus *b)
{
    pthread_mutex_lock(&b->lock);
    uint64_t g = b->rows_generation;
    pthread_mutex_unlock(&b->lock);
    return g;
}

/*
 * Waits until ms passed, the generation moved past *gen (when wake_on_rows)
 * or the core stops. Returns false when stopping.
 */
static bool wait_for(struct bus *b, int64_t ms, uint64_t *gen, bool wake_on_rows)
{
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&b->lock);
    while (!b->is_stopping && !(wake_on_rows && b->generation != *gen))
        if (pthread_cond_timedwait(&b->cond, &b->lock, &dl) == ETIMEDOUT)
            break;
    *gen = b->generation;
    bool is_running = !b->is_stopping;
    pthread_mutex_unlock(&b->lock);
    return is_running;
}

static void health_set(struct link *l, enum bus_state s, const char *error)
{
    pthread_mutex_lock(&l->lock);
    l->state = s;
    if (error)
        snprintf(l->error, sizeof(l->error), "%s", error);
    if (s == BUS_CONNECTED && !l->connected_since_ms)
        l->connected_since_ms = clock_realtime_ms(l->b->clock);
    if (s != BUS_CONNECTED)
        l->connected_since_ms = 0;
    pthread_mutex_unlock(&l->lock);
    if (l->m_connected)
        metrics_gauge_set(l->m_connected, s == BUS_CONNECTED ? 1 : 0);
}

static void backlog_refresh(struct link *l)
{
    int64_t n = 0;
    if (sto_outbox_count_after(l->b->db, l->cursor, &n) < 0)
        return;
    pthread_mutex_lock(&l->lock);
    l->backlog = n;
    pthread_mutex_unlock(&l->lock);
    if (l->m_depth)
        metrics_gauge_set(l->m_depth, (double)n);
}

/* A delay around d: uniformly in [d/2, d] so that many clients do not retry in step. */
static int64_t jitter(struct link *l, int64_t d)
{
    l->rng ^= l->rng << 13;
    l->rng ^= l->rng >> 7;
    l->rng ^= l->rng << 17;
    return d / 2 + (int64_t)(l->rng % (uint64_t)(d / 2 + 1));
}

/* Waits out a backoff of about *delay, refreshing the backlog; doubles *delay. */
static bool back_off(struct link *l, int64_t *delay, bool is_refused)
{
    struct bus *b = l->b;
    int64_t d = *delay;
    if (is_refused && d < REFUSED_BACKOFF_MIN_MS)
        d = REFUSED_BACKOFF_MIN_MS < b->config.backoff_max_ms ? REFUSED_BACKOFF_MIN_MS
                                                              : b->config.backoff_max_ms;
    int64_t until = mono_ms() + jitter(l, d);
    *delay = *delay * 2 < b->config.backoff_max_ms ? *delay * 2 : b->config.backoff_max_ms;
    uint64_t gen = 0;
    for (int64_t now = mono_ms(); now < until; now = mono_ms()) {
        if (!wait_for(b, until - now < POLL_MS ? until - now : POLL_MS, &gen, false))
            return false;
        backlog_refresh(l);
    }
    return true;
}

static void trim(struct bus *b)
{
    struct sto_outbox_trim t;
    int64_t older = (clock_realtime_ms(b->clock) - b->config.outbox_retention_ms) * 1000;
    int rc = sto_outbox_trim(b->db, older, &t);
    if (rc < 0)
        log_warn_limited("outbox trim", NULL, "trim the outbox: %s", horus_strerror(rc));
    else if (t.expired)
        log_warn("outbox: dropped %zu messages older than bus.outbox_retention that a bus had "
                 "not delivered",
                 t.expired);
}

/* Tries to connect once. Returns 1 when connected, 0 after a backoff, -1 when stopping. */
static int connect_link(struct link *l, int64_t *delay)
{
    char why[256] = "";
    if (!horus_breaker_allow(&l->breaker, mono_ms()))
        return back_off(l, delay, false) ? 0 : -1;
    health_set(l, BUS_CONNECTING, NULL);
    int rc = l->ops->connect(l->self, CONNECT_TIMEOUT_MS, why, sizeof(why));
    if (rc == 0) {
        horus_breaker_success(&l->breaker);
        *delay = l->b->config.backoff_min_ms;
        health_set(l, BUS_CONNECTED, "");
        log_info_kv(LOG_KV({"bus", l->name}), "connected");
        return 1;
    }
    horus_breaker_failure(&l->breaker, mono_ms(), rc == -ETIMEDOUT);
    bool is_refused = rc == -EACCES;
    health_set(l, is_refused ? BUS_FAILED : BUS_DISCONNECTED, why[0] ? why : horus_strerror(rc));
    log_warn_limited(is_refused ? "refused" : "connect", LOG_KV({"bus", l->name}), "%s",
                     why[0] ? why : horus_strerror(rc));
    return back_off(l, delay, is_refused) ? 0 : -1;
}

/* Publishes rows[0..n); moves the cursor by the acknowledged prefix. Returns 0 or the failure. */
static int publish_rows(struct link *l, const struct sto_outbox_row *rows, size_t n)
{
    struct bus *b = l->b;
    struct bus_msg *msgs = horus_calloc(n, sizeof(*msgs));
    char(*subjects)[SUBJECT_MAX] = horus_calloc(n, SUBJECT_MAX);
    for (size_t i = 0; i < n; i++) {
        if (l->ops->subject)
            l->ops->subject(l->self, rows[i].kind, rows[i].camera_id, subjects[i], SUBJECT_MAX);
        else
            snprintf(subjects[i], SUBJECT_MAX, "horus.%ss.%s", rows[i].kind, rows[i].camera_id);
        msgs[i] = (struct bus_msg){.subject = subjects[i],
                                   .body = rows[i].payload,
                                   .len = strlen(rows[i].payload),
                                   .content_type = "application/json",
                                   .is_reliable = true};
    }
    size_t acked = 0;
    char why[256] = "";
    int rc = l->ops->publish(l->self, msgs, n, (int)b->config.publish_timeout_ms, &acked, why,
                             sizeof(why));
    if (acked > n)
        acked = n;
    if (acked > 0) {
        int64_t to = rows[acked - 1].seq;
        int src = sto_outbox_cursor_set_held(b->db, l->name, to, b->node_id);
        if (src < 0) /* delivered again after a restart: at least once still holds */
            log_warn_limited("cursor", LOG_KV({"bus", l->name}), "save cursor: %s",
                             horus_strerror(src));
        l->cursor = to;
        pthread_mutex_lock(&l->lock);
        l->published += acked;
        pthread_mutex_unlock(&l->lock);
        if (l->m_published)
            metrics_counter_add(l->m_published, (double)acked);
    }
    if (rc == 0 && acked < n)
        rc = -EIO;
    if (rc < 0) {
        health_set(l, BUS_DISCONNECTED, why[0] ? why : horus_strerror(rc));
        log_warn_limited("publish", LOG_KV({"bus", l->name}), "%s; reconnecting",
                         why[0] ? why : horus_strerror(rc));
    }
    free(subjects);
    free(msgs);
    return rc;
}

static void *link_main(void *arg)
{
    struct link *l = arg;
    struct bus *b = l->b;
    bool is_connected = false;
    int64_t delay = b->config.backoff_min_ms, last_trim = 0;
    int64_t trim_every = b->config.outbox_retention_ms / 2 < TRIM_INTERVAL_MS
                             ? b->config.outbox_retention_ms / 2
                             : TRIM_INTERVAL_MS;
    uint64_t gen = 0;
    pthread_mutex_lock(&b->lock);
    gen = b->generation;
    pthread_mutex_unlock(&b->lock);
    /*
     * The outbox as last read: drained at read_ms with rows_generation
     * read_gen. A wake-up for frames alone then does not read it again
     * (a query per frame and bus) before POLL_MS has passed.
     */
    bool is_drained = false;
    uint64_t read_gen = 0;
    int64_t read_ms = 0;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        bool is_stopping = b->is_stopping;
        pthread_mutex_unlock(&b->lock);
        if (is_stopping)
            break;
        /* Busy, idle or disconnected: a bus down for weeks must not let the outbox grow. */
        if (mono_ms() - last_trim >= trim_every) {
            last_trim = mono_ms();
            trim(b);
        }
        if (!is_connected) {
            backlog_refresh(l);
            int c = connect_link(l, &delay);
            if (c < 0)
                break;
            is_connected = c > 0;
            continue;
        }
        if (b->frames) {
            /* Frames first: they are fresh or worthless, and never wait for acknowledgements. */
            char why[256] = "";
            int frc = bus_frames_pump(b->frames, l->name, l->ops, l->self,
                                      (int)b->config.publish_timeout_ms, why, sizeof(why));
            if (frc < 0) {
                health_set(l, BUS_DISCONNECTED, why[0] ? why : horus_strerror(frc));
                log_warn_limited("publish", LOG_KV({"bus", l->name}), "frames: %s; reconnecting",
                                 why[0] ? why : horus_strerror(frc));
                l->ops->close(l->self);
                is_connected = false;
                continue;
            }
        }
        /* Another node of the database delivers this bus's messages: frames only here. */
        enum bus_outbox_hold hold = bus_outbox_lease_hold(&l->lease);
        if (hold != BUS_OUTBOX_HELD) {
            int64_t seq; /* where the holder left the cursor: the backlog, or the start */
            if (sto_outbox_cursor_get(b->db, l->name, &seq) == 0)
                l->cursor = seq;
        }
        if (l->ops->set_delivering && (hold != BUS_OUTBOX_ELSEWHERE) != l->is_delivering) {
            l->is_delivering = hold != BUS_OUTBOX_ELSEWHERE;
            if (l->ops->set_delivering(l->self, l->is_delivering) > 0) {
                log_info_kv(LOG_KV({"bus", l->name}), "connecting again as the %s node",
                            l->is_delivering ? "delivering" : "standby");
                l->ops->close(l->self);
                is_connected = false;
                continue;
            }
        }
        if (hold == BUS_OUTBOX_ELSEWHERE) {
            backlog_refresh(l);
            wait_for(b, POLL_MS, &gen, true);
            continue;
        }
        int64_t since = mono_ms() - read_ms;
        if (is_drained && since < POLL_MS && rows_generation(b) == read_gen) {
            wait_for(b, POLL_MS - since, &gen, true); /* woken for frames: no new rows */
            continue;
        }
        read_gen = rows_generation(b);
        read_ms = mono_ms();
        struct sto_outbox_row *rows = NULL;
        size_t n = 0;
        int rc = sto_outbox_read(b->db, l->cursor, (size_t)b->config.batch_max, &rows, &n);
        is_drained = rc == 0 && n == 0;
        if (rc < 0) {
            log_warn_limited("read", LOG_KV({"bus", l->name}), "read the outbox: %s",
                             horus_strerror(rc));
            wait_for(b, POLL_MS, &gen, false);
            continue;
        }
        if (n > 0 && rows[0].seq > l->cursor + 1) {
            int64_t lost = rows[0].seq - l->cursor - 1;
            if (l->m_expired)
                metrics_counter_add(l->m_expired, (double)lost);
            log_warn_kv(LOG_KV({"bus", l->name}),
                        "%lld messages were dropped by bus.outbox_retention before delivery",
                        (long long)lost);
            l->cursor = rows[0].seq - 1;
        }
        if (n > 0) {
            rc = publish_rows(l, rows, n);
            sto_outbox_rows_free(rows, n);
            backlog_refresh(l);
            if (rc < 0) {
                l->ops->close(l->self);
                is_connected = false;
                horus_breaker_failure(&l->breaker, mono_ms(), rc == -ETIMEDOUT);
                if (!back_off(l, &delay, false))
                    break;
            }
            continue;
        }
        sto_outbox_rows_free(rows, n);
        char why[256] = "";
        if (l->ops->idle && (rc = l->ops->idle(l->self, 0, why, sizeof(why))) < 0) {
            health_set(l, BUS_DISCONNECTED, why[0] ? why : horus_strerror(rc));
            log_warn_limited("idle", LOG_KV({"bus", l->name}), "%s; reconnecting",
                             why[0] ? why : horus_strerror(rc));
            l->ops->close(l->self);
            is_connected = false;
            continue;
        }
        backlog_refresh(l);
        wait_for(b, POLL_MS, &gen, true);
    }
    /* The connection stays for bus_free: the adapter's free says goodbye (MQTT: "offline"). */
    health_set(l, BUS_DISCONNECTED, "stopped");
    return NULL;
}

int bus_new(const struct bus_options *o, bus **out, char *why, size_t cap)
{
    struct bus *b = horus_calloc(1, sizeof(*b));
    b->db = o->db;
    b->config = *o->config;
    /* The adapters keep their own copies of their sections. */
    b->config.mqtt = (struct bus_mqtt_config){0};
    b->config.nats = (struct bus_nats_config){0};
    b->config.amqp = (struct bus_amqp_config){0};
    if (b->config.backoff_max_ms < b->config.backoff_min_ms)
        b->config.backoff_max_ms = b->config.backoff_min_ms;
    b->clock = o->clock ? o->clock : clock_system();
    b->frames = o->frames;
    b->node_id = o->node_id && o->node_id[0] ? horus_strdup(o->node_id) : NULL;
    b->node_ttl_ms = o->node_ttl_ms;
    pthread_mutex_init(&b->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cond, &ca);
    pthread_condattr_destroy(&ca);
    b->links = horus_calloc(HORUS_ARRAY_LEN(adapters), sizeof(*b->links));
    metrics_family *fp = NULL, *fd = NULL, *fq = NULL, *fc = NULL;
    if (o->metrics) {
        fp = metrics_family_add(o->metrics,
                                &(struct metrics_desc){.type = METRICS_COUNTER,
                                                       .name = "horus_bus_published_total",
                                                       .help = "Outbox messages a broker "
                                                               "acknowledged, by bus",
                                                       .labels = "bus"});
        fd = metrics_family_add(o->metrics,
                                &(struct metrics_desc){.type = METRICS_COUNTER,
                                                       .name = "horus_bus_dropped_total",
                                                       .help = "Messages a bus never delivered, "
                                                               "by bus and reason",
                                                       .labels = "bus,reason"});
        fq = metrics_family_add(o->metrics,
                                &(struct metrics_desc){.type = METRICS_GAUGE,
                                                       .name = "horus_bus_queue_depth",
                                                       .help = "Outbox messages behind the "
                                                               "bus's cursor",
                                                       .labels = "bus"});
        fc = metrics_family_add(o->metrics,
                                &(struct metrics_desc){.type = METRICS_GAUGE,
                                                       .name = "horus_bus_connected",
                                                       .help = "1 while the bus is connected "
                                                               "to its broker",
                                                       .labels = "bus"});
    }
    struct bus_adapter_env env = {.db = o->db,
                                  .data_dir = o->data_dir ? o->data_dir : "",
                                  .metrics = o->metrics,
                                  .command = o->command,
                                  .command_arg = o->command_arg,
                                  .wake = wake,
                                  .wake_arg = b,
                                  .node_id = o->node_id && o->node_id[0] ? o->node_id : NULL};
    for (size_t i = 0; i < HORUS_ARRAY_LEN(adapters); i++) {
        struct link *l = &b->links[b->nlinks];
        int rc = adapters[i].make(o->config, &env, &l->ops, &l->self, why, cap);
        if (rc == -ENOENT)
            continue;
        if (rc < 0) {
            bus_free(b);
            return rc;
        }
        l->b = b;
        snprintf(l->name, sizeof(l->name), "%s", adapters[i].name);
        pthread_mutex_init(&l->lock, NULL);
        snprintf(l->error, sizeof(l->error), "not started");
        horus_breaker_init(&l->breaker, 3, o->config->backoff_min_ms, o->config->backoff_max_ms);
        if (getrandom(&l->rng, sizeof(l->rng), 0) != sizeof(l->rng) || l->rng == 0)
            l->rng = 0x9e3779b97f4a7c15ULL;
        if (fp) {
            l->m_published = metrics_series_get(fp, l->name);
            l->m_expired = metrics_series_get(fd, l->name, "expired");
            l->m_depth = metrics_series_get(fq, l->name);
            l->m_connected = metrics_series_get(fc, l->name);
        }
        b->nlinks++;
    }
    *out = b;
    return 0;
}

void bus_notify(bus *b)
{
    wake_for(b, true);
}

void bus_notify_frames(bus *b)
{
    wake_for(b, false);
}

int bus_start(bus *b)
{
    if (b->nlinks == 0)
        return 0;
    for (size_t i = 0; i < b->nlinks; i++) {
        struct link *l = &b->links[i];
        int rc = sto_outbox_cursor_open(b->db, l->name, &l->cursor);
        bus_outbox_lease_init(&l->lease, b->db, l->name, b->node_id, b->node_ttl_ms, b->clock);
        /* Alone it always delivers; among nodes it waits to be told by the lease. */
        l->is_delivering = !b->node_id;
        if (l->ops->set_delivering)
            l->ops->set_delivering(l->self, l->is_delivering);
        if (rc < 0) {
            log_error_kv(LOG_KV({"bus", l->name}), "open the outbox cursor: %s",
                         horus_strerror(rc));
            bus_stop(b);
            return rc;
        }
    }
    for (size_t i = 0; i < b->nlinks; i++) {
        struct link *l = &b->links[i];
        char tname[16];
        snprintf(tname, sizeof(tname), "bus-%.11s", l->name);
        int rc = horus_thread_start(&l->thread, tname, link_main, l);
        if (rc < 0) {
            bus_stop(b);
            return rc;
        }
        l->is_running = true;
        log_info_kv(LOG_KV({"bus", l->name}), "delivering the outbox from seq %lld",
                    (long long)l->cursor);
    }
    return 0;
}

void bus_stop(bus *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    b->is_stopping = true;
    pthread_cond_broadcast(&b->cond);
    pthread_mutex_unlock(&b->lock);
    for (size_t i = 0; i < b->nlinks; i++) {
        if (b->links[i].is_running) {
            pthread_join(b->links[i].thread, NULL);
            bus_outbox_lease_release(&b->links[i].lease); /* another node takes over at once */
        }
        b->links[i].is_running = false;
    }
}

void bus_free(bus *b)
{
    if (!b)
        return;
    bus_stop(b);
    for (size_t i = 0; i < b->nlinks; i++) {
        b->links[i].ops->free(b->links[i].self);
        pthread_mutex_destroy(&b->links[i].lock);
    }
    free(b->links);
    free(b->node_id);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->cond);
    free(b);
}

void bus_health_text(bus *b, char *buf, size_t size)
{
    if (!b || b->nlinks == 0) {
        snprintf(buf, size, "{\"status\":\"disabled\"}");
        return;
    }
    json_t *j = json_object();
    bool is_ok = true;
    for (size_t i = 0; i < b->nlinks; i++) {
        struct link *l = &b->links[i];
        pthread_mutex_lock(&l->lock);
        char since[32] = "";
        if (l->connected_since_ms)
            clock_format_rfc3339_ms(l->connected_since_ms, since, sizeof(since));
        json_t *o =
            json_pack("{s:s, s:s?, s:s?, s:I, s:I}", "state", state_name(l->state), "error",
                      l->error[0] ? l->error : NULL, "connected_since", since[0] ? since : NULL,
                      "backlog", (json_int_t)l->backlog, "published", (json_int_t)l->published);
        is_ok = is_ok && l->state == BUS_CONNECTED;
        pthread_mutex_unlock(&l->lock);
        json_object_set_new(j, l->name, o);
    }
    json_object_set_new(j, "status", json_string(is_ok ? "ok" : "degraded"));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    snprintf(buf, size, "%s", text ? text : "{\"status\":\"degraded\"}");
    free(text);
}
