/*
 * DESIGN: detections posted by external workers into the events engine
 * (events.h, docs/design/0051-external-detections-events.md).
 *
 * The inbox is a bounded queue of chunks (struct evt_dets) that the API
 * fills from the storage writer's done callbacks, after the commit: a push
 * never blocks, a full queue drops its oldest chunk and counts its
 * detections (horus_detections_dropped_total{reason="queue"}). The inbox
 * is refcounted because a commit may finish after the engine stopped; a
 * push after the stop is refused quietly.
 *
 * "evt-x" takes chunks in order and feeds each detection to its camera's
 * evt_ext_cam (external_cam.c), whose reports go to the engine's external
 * lifecycle of that camera (evt_engine_external_report, under the engine's
 * lock, like the analysis' reports). A camera's analytics document is read
 * from storage when the camera is first seen and again at most every
 * DOC_REFRESH_NS while detections come; a document with "enabled": false
 * feeds nothing. The frames gathered are reported once the queue is empty
 * (a frame's detections may span chunks). Between chunks (every TICK_MS at
 * most) time moves on: a camera whose newest detection is older than
 * IDLE_NS of wall time gets an empty frame at its newest time plus the
 * wall time since, so its tracks end lost_us after their last detection
 * even when the worker went quiet.
 *
 * The per-camera states live only on evt-x; the engine's lock is taken by
 * the report callback and the events.enabled check alone.
 */
#include "events_int.h"
#include "external_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "thread.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "events"

#define INBOX_CHUNKS 256 /* chunks queued at most: 65,536 detections */
#define POP_MAX 16
#define TICK_MS 200
#define IDLE_NS (500 * INT64_C(1000000)) /* a camera this quiet has its time moved on */
#define DOC_REFRESH_NS (5 * INT64_C(1000000000))
#define LOST_US (2 * 1000000LL) /* the tracker's lost_seconds default (track.h) */

struct evt_dets *evt_dets_new(size_t n)
{
    if (n > EVT_DETS_CHUNK)
        HORUS_BUG("a chunk of %zu detections", n);
    struct evt_dets *d = horus_calloc(1, sizeof(*d) + n * sizeof(d->items[0]));
    d->n = n;
    return d;
}

void evt_dets_free(struct evt_dets *d)
{
    free(d);
}

static void dets_free_cb(void *item)
{
    evt_dets_free(item);
}

struct evt_inbox {
    _Atomic int refs;
    _Atomic bool is_open; /* evt-x runs and events.enabled */
    horus_queue *queue; /* owned */
    metrics_series *m_dropped; /* reason="queue"; may be NULL */
};

static evt_inbox *inbox_new(metrics_series *m_dropped)
{
    evt_inbox *in = horus_calloc(1, sizeof(*in));
    atomic_init(&in->refs, 1);
    in->queue = queue_new(INBOX_CHUNKS);
    in->m_dropped = m_dropped;
    return in;
}

void evt_inbox_unref(evt_inbox *in)
{
    if (!in || atomic_fetch_sub(&in->refs, 1) != 1)
        return;
    queue_free(in->queue, dets_free_cb);
    free(in);
}

bool evt_inbox_is_open(const evt_inbox *in)
{
    return in && atomic_load(&in->is_open);
}

void evt_inbox_push(evt_inbox *in, struct evt_dets *d)
{
    void *old = NULL;
    if (queue_push_drop_oldest(in->queue, d, &old) < 0) {
        evt_dets_free(d); /* stopped */
        return;
    }
    if (old) {
        if (in->m_dropped)
            metrics_counter_add(in->m_dropped, (double)((struct evt_dets *)old)->n);
        evt_dets_free(old);
    }
}

/* ---- evt-x ---- */

struct cam_entry {
    char id[sizeof(((struct evt_detection *)0)->camera_id)];
    evt_ext_cam *cam; /* owned */
    bool is_enabled; /* the analytics document's "enabled" */
    bool is_known; /* the camera exists (last read) */
    char *doc_text; /* owned: the document as last read */
    int64_t doc_read_ns; /* monotonic, when it was read */
    int64_t newest_us; /* the camera's newest detection fed ... */
    int64_t newest_at_ns; /* ... and when (monotonic) */
};

struct evt_ext {
    evt_engine *engine; /* borrowed: the owner */
    sto_db *db;
    const horus_clock *clock;
    evt_inbox *inbox; /* a reference */
    pthread_t thread;
    bool is_running;
    struct cam_entry *cams; /* evt-x only while running */
    size_t ncams, cap;
    struct evt_ext_counts counts, counted; /* evt-x: totals, and what the metrics have */
    metrics_series *m_fed, *m_out_of_order, *m_limit;
};

static void on_report(void *arg, const struct det_report *r)
{
    struct evt_ext *x = arg;
    evt_engine_external_report(x->engine, r);
}

/* Reads the camera's analytics document when due; remakes its state when it changed. */
static void doc_refresh(struct evt_ext *x, struct cam_entry *c, int64_t now_ns)
{
    if (c->cam && now_ns - c->doc_read_ns < DOC_REFRESH_NS)
        return;
    c->doc_read_ns = now_ns;
    struct sto_camera row;
    int rc = sto_camera_get(x->db, c->id, &row);
    if (rc == -ENOENT) {
        c->is_known = false; /* deleted since the commit: nothing to feed */
        if (c->cam)
            evt_ext_cam_flush(c->cam, on_report, x);
        return;
    }
    if (rc < 0) {
        log_warn_kv(LOG_KV({"camera", c->id}), "external detections: read the camera: %s",
                    horus_strerror(rc));
        return; /* keep what we have; read again later */
    }
    c->is_known = true;
    const char *text = row.analytics ? row.analytics : "";
    if (c->cam && c->doc_text && strcmp(c->doc_text, text) == 0) {
        sto_camera_release(&row);
        return;
    }
    struct det_analytics *doc = NULL;
    char *why = NULL;
    if (det_analytics_parse(text, strlen(text), NULL, 0, &doc, &why) < 0) {
        log_warn_kv(LOG_KV({"camera", c->id}),
                    "external detections: the analytics document: %s; using the defaults",
                    why ? why : "invalid");
        free(why);
        why = NULL;
        doc = NULL;
    }
    c->is_enabled = !doc || doc->enabled;
    rc = c->cam ? evt_ext_cam_set_doc(c->cam, doc, on_report, x, &why)
                : evt_ext_cam_new(c->id, doc, LOST_US, &c->cam, &why);
    if (rc < 0) {
        log_warn_kv(LOG_KV({"camera", c->id}), "external detections: %s", why ? why : "invalid");
        c->is_enabled = false;
    }
    free(why);
    free(c->doc_text);
    c->doc_text = horus_strdup(text);
    sto_camera_release(&row);
}

static struct cam_entry *cam_of(struct evt_ext *x, const char *id, int64_t now_ns)
{
    struct cam_entry *c = NULL;
    for (size_t i = 0; i < x->ncams && !c; i++)
        if (strcmp(x->cams[i].id, id) == 0)
            c = &x->cams[i];
    if (!c) {
        if (x->ncams == x->cap) {
            x->cap = x->cap ? x->cap * 2 : 8;
            x->cams = horus_realloc(x->cams, x->cap * sizeof(*x->cams));
        }
        c = &x->cams[x->ncams++];
        memset(c, 0, sizeof(*c));
        snprintf(c->id, sizeof(c->id), "%s", id);
    }
    doc_refresh(x, c, now_ns);
    return c->cam && c->is_known && c->is_enabled ? c : NULL;
}

static void feed_chunk(struct evt_ext *x, const struct evt_dets *d, int64_t now_ns)
{
    struct cam_entry *c = NULL;
    for (size_t i = 0; i < d->n; i++) {
        const struct evt_detection *det = &d->items[i];
        if (!c || strcmp(c->id, det->camera_id) != 0)
            c = cam_of(x, det->camera_id, now_ns);
        if (!c)
            continue;
        evt_ext_cam_add(c->cam, det, on_report, x, &x->counts);
        int64_t newest = evt_ext_cam_newest_us(c->cam);
        if (newest != c->newest_us) {
            c->newest_us = newest;
            c->newest_at_ns = now_ns;
        }
    }
}

/*
 * Quiet cameras' time moved on; with nothing queued (is_idle), the frames
 * gathered are reported too (a busy inbox may still hold more of them).
 */
static void tick(struct evt_ext *x, int64_t now_ns, bool is_idle)
{
    for (size_t i = 0; i < x->ncams; i++) {
        struct cam_entry *c = &x->cams[i];
        if (!c->cam)
            continue;
        if (is_idle)
            evt_ext_cam_sync(c->cam, on_report, x);
        int64_t quiet = now_ns - c->newest_at_ns;
        if (c->newest_us > 0 && quiet >= IDLE_NS && evt_ext_cam_is_busy(c->cam))
            evt_ext_cam_advance(c->cam, c->newest_us + quiet / 1000, on_report, x);
    }
}

static void count_delta(metrics_series *s, uint64_t now, uint64_t *had)
{
    if (s && now != *had)
        metrics_counter_add(s, (double)(now - *had));
    *had = now;
}

static void *ext_main(void *arg)
{
    struct evt_ext *x = arg;
    for (;;) {
        void *items[POP_MAX];
        int n = queue_pop_batch(x->inbox->queue, items, POP_MAX, TICK_MS);
        if (n == HORUS_ESTOPPED)
            break;
        int64_t now_ns = clock_monotonic_ns(x->clock);
        for (int i = 0; i < n; i++) {
            if (evt_engine_is_enabled(x->engine))
                feed_chunk(x, items[i], now_ns);
            evt_dets_free(items[i]);
        }
        tick(x, now_ns, queue_len(x->inbox->queue) == 0);
        count_delta(x->m_fed, x->counts.fed, &x->counted.fed);
        count_delta(x->m_out_of_order, x->counts.out_of_order, &x->counted.out_of_order);
        count_delta(x->m_limit, x->counts.limit, &x->counted.limit);
    }
    /* What was queued before the stop went in; the engine ends the open events next. */
    for (size_t i = 0; i < x->ncams; i++)
        if (x->cams[i].cam)
            evt_ext_cam_sync(x->cams[i].cam, on_report, x);
    return NULL;
}

struct evt_ext *evt_ext_new(evt_engine *e, sto_db *db, metrics_registry *reg,
                            const horus_clock *clock)
{
    struct evt_ext *x = horus_calloc(1, sizeof(*x));
    x->engine = e;
    x->db = db;
    x->clock = clock;
    metrics_series *m_queue = NULL;
    if (reg) {
        metrics_family *f = metrics_family_add(
            reg, &(struct metrics_desc){.type = METRICS_COUNTER,
                                        .name = "horus_detections_dropped_total",
                                        .help = "Stored detections not fed to the events engine, "
                                                "by reason: queue (the engine fell behind), "
                                                "out_of_order (older than the camera's newest by "
                                                "more than 5 s), limit (a per-camera table full)",
                                        .labels = "reason"});
        m_queue = metrics_series_get(f, "queue");
        x->m_out_of_order = metrics_series_get(f, "out_of_order");
        x->m_limit = metrics_series_get(f, "limit");
        x->m_fed = metrics_series_get(metrics_family_add(
            reg, &(struct metrics_desc){.type = METRICS_COUNTER,
                                        .name = "horus_detections_fed_total",
                                        .help = "Stored detections fed to the events engine"}));
    }
    x->inbox = inbox_new(m_queue);
    return x;
}

evt_inbox *evt_ext_inbox(struct evt_ext *x)
{
    atomic_fetch_add(&x->inbox->refs, 1);
    return x->inbox;
}

void evt_ext_set_open(struct evt_ext *x, bool is_enabled)
{
    atomic_store(&x->inbox->is_open, x->is_running && is_enabled);
}

int evt_ext_start(struct evt_ext *x, bool is_enabled)
{
    int rc = horus_thread_start(&x->thread, "evt-x", ext_main, x);
    if (rc < 0)
        return rc;
    x->is_running = true;
    evt_ext_set_open(x, is_enabled);
    return 0;
}

void evt_ext_stop(struct evt_ext *x)
{
    if (!x || !x->is_running)
        return;
    atomic_store(&x->inbox->is_open, false);
    queue_close(x->inbox->queue); /* evt-x feeds what is queued, then ends */
    pthread_join(x->thread, NULL);
    x->is_running = false;
}

void evt_ext_free(struct evt_ext *x)
{
    if (!x)
        return;
    evt_ext_stop(x);
    for (size_t i = 0; i < x->ncams; i++) {
        evt_ext_cam_free(x->cams[i].cam);
        free(x->cams[i].doc_text);
    }
    free(x->cams);
    evt_inbox_unref(x->inbox);
    free(x);
}
