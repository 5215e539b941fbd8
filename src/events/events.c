/*
 * DESIGN: the events engine (events.h; docs/design/0040-events.md).
 *
 * The observer side runs on the analysis threads and never blocks: under
 * the engine's lock (held for a lookup and the pure lifecycle step, no
 * I/O) a camera's evt_life turns the report into changes, and each change
 * is copied into a message (with a reference to the frame when it asks
 * for a snapshot) and pushed into a bounded queue; a full queue drops the
 * change and counts it (horus_events_dropped_total).
 *
 * The worker "evt-w" takes messages in order and, for each: writes the
 * snapshot files when asked, writes the row and its recording pins
 * (sto_event_put, waiting for the commit: the worker is the one thread
 * that may wait here), and publishes the change to the feed. Once an hour
 * (and at start) it deletes expired events with their snapshots; their
 * pins expire by themselves at the same time (until_us).
 *
 * Posted events (evt_engine_post) run the same write on the caller's
 * thread, so the reply can carry the stored row. Posted detections come
 * through external.c's thread evt-x as reports of a camera's second,
 * "external" lifecycle (docs/design/0051).
 *
 * Lock order: engine lock only; the queue's own lock nests inside it.
 */
#include "events.h"
#include "counters.h"
#include "events_int.h"
#include "snapshot_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "thread.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define LOG_MODULE "events"

#define RETENTION_INTERVAL_US (3600LL * 1000000)
#define RETENTION_BATCH 500
#define EVENT_JSON_MAX 8192

static const char *const pin_streams[] = {"main", "sub"};

struct msg {
    enum evt_change_kind kind;
    struct evt_state ev;
    struct det_image *image; /* owned ref: the best view to snapshot, or NULL */
};

struct camera_life {
    char id[EVT_NAME_MAX + 8];
    bool is_external; /* fed by posted detections (external.c), not the analysis */
    evt_life *life; /* owned */
};

struct evt_engine {
    struct det_observer observer; /* first: observer callbacks cast back */
    sto_db *db;
    char *data_dir; /* owned */
    evt_feed *feed;
    const horus_clock *clock;
    pthread_mutex_t lock; /* guards config, cameras */
    struct evt_config config;
    struct evt_life_config life_config;
    struct camera_life *cameras; /* owned */
    size_t ncameras, cap;
    uint32_t salt;
    horus_queue *queue; /* owned */
    pthread_t thread;
    bool is_running;
    _Atomic uint64_t dropped, dropped_logged;
    metrics_series *m_dropped, *m_written, *m_failed, *m_snapshots;
    evt_counters *counters; /* owned: tripwire crossings since start */
    bool has_outbox; /* each change also appends an outbox message (a bus is configured) */
    struct evt_ext *ext; /* owned: posted detections' feed and evt-x */
};

/* Counts on s; NULL (no metrics registry) counts nothing. */
static void count(metrics_series *s)
{
    if (s)
        metrics_counter_inc(s);
}

/* ---- JSON ---- */

static json_t *time_json(int64_t us)
{
    char buf[32];
    if (us <= 0)
        return json_null();
    clock_format_rfc3339_ms(us / 1000, buf, sizeof(buf));
    return json_string(buf);
}

/* Scores are float32 in the pipeline: 0.55f would print as 0.550000011920929. */
static double round4(double v)
{
    return round(v * 10000) / 10000;
}

json_t *evt_event_json(const struct sto_event *ev, int64_t pre_s, int64_t post_s)
{
    json_t *zones = json_loads(ev->zones && ev->zones[0] ? ev->zones : "[]", 0, NULL);
    json_t *box = ev->box && ev->box[0] ? json_loads(ev->box, 0, NULL) : NULL;
    json_t *details = json_loads(ev->details && ev->details[0] ? ev->details : "{}", 0, NULL);
    char snap[128], playback[512];
    snprintf(snap, sizeof(snap), "/api/v1/events/%s/snapshot.jpg", ev->id);
    int64_t end = ev->end_us > 0 ? ev->end_us : ev->updated_us;
    int64_t from = ev->start_us - pre_s * 1000000, to = end + post_s * 1000000;
    char from_s[32], to_s[32];
    clock_format_rfc3339_ms(from / 1000, from_s, sizeof(from_s));
    clock_format_rfc3339_ms(to / 1000, to_s, sizeof(to_s));
    snprintf(playback, sizeof(playback),
             "/api/v1/cameras/%s/playback.m3u8?stream=main&start=%s&end=%s", ev->camera_id, from_s,
             to_s);
    json_t *clip =
        json_pack("{s:s, s:o, s:o, s:s, s:{s:s, s:s, s:{s:s, s:s, s:s, s:s}}}", "playback_url",
                  playback, "start", time_json(from), "end", time_json(to), "clip_url", "",
                  "export", "method", "POST", "url", "/api/v1/exports", "body", "camera",
                  ev->camera_id, "stream", "main", "start", from_s, "end", to_s);
    char clip_url[128];
    snprintf(clip_url, sizeof(clip_url), "/api/v1/events/%s/clip.m3u8", ev->id);
    json_object_set_new(clip, "clip_url", json_string(clip_url));
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:o, s:f, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:s, s:o, s:o, s:o, "
        "s:o}",
        "id", ev->id, "camera", ev->camera_id, "label", ev->label, "sub_label",
        ev->sub_label && ev->sub_label[0] ? json_string(ev->sub_label) : json_null(), "score",
        round4(ev->score), "top_score", round4(ev->top_score), "start", time_json(ev->start_us),
        "end", time_json(ev->end_us), "updated", time_json(ev->updated_us), "zones",
        zones ? zones : json_array(), "box", box ? box : json_null(), "details",
        details ? details : json_object(), "has_snapshot", ev->has_snapshot, "source", ev->source,
        "created_at", time_json(ev->created_at_ms * 1000), "snapshot_url",
        ev->has_snapshot ? json_string(snap) : json_null(), "clip", clip, "retain_until",
        time_json(ev->pinned_until_us));
    if (ev->tenant && ev->tenant[0])
        json_object_set_new(j, "tenant", json_string(ev->tenant));
    return j;
}

static void state_zones_json(const struct evt_state *s, char *out, size_t size)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->nzones; i++)
        json_array_append_new(a, json_string(s->zones[i]));
    char *t = json_dumps(a, JSON_COMPACT);
    snprintf(out, size, "%s", t ? t : "[]");
    free(t);
    json_decref(a);
}

static void state_box_json(const struct evt_state *s, char *out, size_t size)
{
    if (!s->has_box) {
        out[0] = '\0';
        return;
    }
    snprintf(out, size, "[%.4f,%.4f,%.4f,%.4f]", (double)s->box.x0, (double)s->box.y0,
             (double)s->box.x1, (double)s->box.y1);
}

static void state_details_json(const struct evt_state *s, char *out, size_t size)
{
    json_t *crossings = json_array(), *loiters = json_array();
    for (size_t i = 0; i < s->nmarks; i++) {
        const struct evt_mark *m = &s->marks[i];
        if (m->is_loiter)
            json_array_append_new(loiters,
                                  json_pack("{s:s, s:o, s:o}", "zone", m->name, "since",
                                            time_json(m->since_us), "at", time_json(m->at_us)));
        else
            json_array_append_new(crossings,
                                  json_pack("{s:s, s:s, s:o}", "tripwire", m->name, "direction",
                                            m->direction > 0 ? "a_to_b" : "b_to_a", "at",
                                            time_json(m->at_us)));
    }
    json_t *d = json_object();
    if (json_array_size(crossings))
        json_object_set(d, "crossings", crossings);
    if (json_array_size(loiters))
        json_object_set(d, "loiters", loiters);
    json_decref(crossings);
    json_decref(loiters);
    char *t = json_dumps(d, JSON_COMPACT);
    snprintf(out, size, "%s", t ? t : "{}");
    free(t);
    json_decref(d);
}

/* ---- writing one change (evt-w, or the poster's thread) ---- */

static int64_t now_us(const evt_engine *e)
{
    return clock_realtime_ms(e->clock) * 1000;
}

void evt_snapshot_path(const char *data_dir, const char *camera_id, const char *id, bool is_clean,
                       char *out, size_t size)
{
    snprintf(out, size, "%s/snapshots/%s/%s%s.jpg", data_dir, camera_id, id,
             is_clean ? "_clean" : "");
}

/* The row in as a borrowed sto_event (its strings point into in; nothing to release). */
static struct sto_event event_of_input(const struct sto_event_input *in)
{
    return (struct sto_event){
        .id = (char *)in->id,
        .camera_id = (char *)in->camera_id,
        .label = (char *)in->label,
        .sub_label = (char *)in->sub_label,
        .score = in->score,
        .top_score = in->top_score,
        .start_us = in->start_us,
        .end_us = in->end_us,
        .updated_us = in->updated_us,
        .zones = (char *)in->zones,
        .box = (char *)in->box,
        .details = (char *)in->details,
        .has_snapshot = in->has_snapshot,
        .source = (char *)in->source,
        .created_at_ms = in->created_at_ms,
        .pinned_until_us = in->pinned_until_us,
    };
}

/*
 * Writes s (row, pins and, when a bus listens, the outbox messages of types[0..ntypes) in the
 * same transaction), then publishes it as types[0]. Returns 0 or the storage error.
 */
static int write_change(evt_engine *e, const struct evt_state *s, const char *const *types,
                        size_t ntypes, const struct evt_config *cfg)
{
    const char *type = types[0];
    char zones[EVT_ZONES_MAX * (EVT_NAME_MAX + 4) + 8], box[96], details[4096];
    state_zones_json(s, zones, sizeof(zones));
    state_box_json(s, box, sizeof(box));
    state_details_json(s, details, sizeof(details));
    int64_t end = s->end_us > 0 ? s->end_us : s->updated_us;
    struct sto_event_input in = {
        .id = s->id,
        .camera_id = s->camera_id,
        .label = s->label,
        .sub_label = s->sub_label,
        .score = s->score,
        .top_score = s->top_score,
        .start_us = s->start_us,
        .end_us = s->end_us,
        .updated_us = s->updated_us,
        .zones = zones,
        .box = box,
        .details = details,
        .has_snapshot = s->has_snapshot,
        .source = s->source,
        .created_at_ms = clock_realtime_ms(e->clock),
        .pinned_until_us = s->start_us + cfg->retention_days * 86400LL * 1000000,
        .pin_start_us = s->start_us - cfg->pre_roll_seconds * 1000000,
        .pin_end_us = end + cfg->post_roll_seconds * 1000000,
        .streams = pin_streams,
        .nstreams = HORUS_ARRAY_LEN(pin_streams),
    };
    struct sto_outbox_input out[2];
    char *payloads[2] = {NULL, NULL};
    if (e->has_outbox || sto_outbox_is_wanted(e->db)) {
        /* Frigate's "before": the event as its previous change left it (the stored row). */
        struct sto_event prev;
        bool has_prev = strcmp(type, "new") != 0 && sto_event_get(e->db, s->id, &prev) == 0;
        struct sto_event after = event_of_input(&in);
        for (size_t i = 0; i < ntypes && i < HORUS_ARRAY_LEN(out); i++) {
            payloads[i] = evt_outbox_payload(types[i], has_prev ? &prev : NULL, &after,
                                             cfg->pre_roll_seconds, cfg->post_roll_seconds);
            out[in.noutbox++] =
                (struct sto_outbox_input){.kind = "event",
                                          .type = types[i],
                                          .camera_id = s->camera_id,
                                          .payload = payloads[i] ? payloads[i] : "{}"};
        }
        if (has_prev)
            sto_event_release(&prev);
        in.outbox = out;
    }
    int rc = sto_event_put(e->db, &in);
    free(payloads[0]);
    free(payloads[1]);
    if (rc < 0) {
        count(e->m_failed);
        log_warn_kv(LOG_KV({"camera", s->camera_id}, {"event", s->id}), "write event: %s",
                    horus_strerror(rc));
        return rc;
    }
    count(e->m_written);
    if (!e->feed)
        return 0;
    struct sto_event row;
    if (sto_event_get(e->db, s->id, &row) < 0)
        return 0;
    json_t *j = evt_event_json(&row, cfg->pre_roll_seconds, cfg->post_roll_seconds);
    char *text = json_dumps(j, JSON_COMPACT);
    if (text)
        evt_feed_publish(e->feed, type, s->camera_id, text);
    free(text);
    json_decref(j);
    sto_event_release(&row);
    return 0;
}

static const char *type_of(enum evt_change_kind k)
{
    return k == EVT_CHANGE_OPEN ? "new" : k == EVT_CHANGE_UPDATE ? "update" : "end";
}

static void handle(evt_engine *e, struct msg *m, const struct evt_config *cfg)
{
    if (m->image && cfg->snapshots) {
        char boxed[PATH_MAX], clean[PATH_MAX], text[96];
        evt_snapshot_path(e->data_dir, m->ev.camera_id, m->ev.id, false, boxed, sizeof(boxed));
        evt_snapshot_path(e->data_dir, m->ev.camera_id, m->ev.id, true, clean, sizeof(clean));
        snprintf(text, sizeof(text), "%s %d%%", m->ev.label, (int)(m->ev.score * 100 + 0.5f));
        int rc = evt_snapshot_write(m->image, (int)cfg->snapshot_width,
                                    m->ev.has_box ? &m->ev.box : NULL, text, boxed, clean);
        if (rc < 0) {
            log_warn_kv(LOG_KV({"camera", m->ev.camera_id}, {"event", m->ev.id}),
                        "write snapshot: %s", horus_strerror(rc));
            /* An earlier snapshot of the event may exist: keep has_snapshot only if so. */
            m->ev.has_snapshot = access(clean, F_OK) == 0;
        } else {
            count(e->m_snapshots);
        }
    } else if (m->ev.has_snapshot) {
        /* No picture this time (or snapshots are off): say what the disk holds. */
        char clean[PATH_MAX];
        evt_snapshot_path(e->data_dir, m->ev.camera_id, m->ev.id, true, clean, sizeof(clean));
        m->ev.has_snapshot = access(clean, F_OK) == 0;
    }
    const char *type = type_of(m->kind);
    write_change(e, &m->ev, &type, 1, cfg);
}

static void msg_free(void *item)
{
    struct msg *m = item;
    if (!m)
        return;
    det_image_unref(m->image);
    free(m);
}

static void remove_snapshots(evt_engine *e, const char *camera_id, const char *id)
{
    char path[PATH_MAX];
    evt_snapshot_path(e->data_dir, camera_id, id, false, path, sizeof(path));
    unlink(path);
    evt_snapshot_path(e->data_dir, camera_id, id, true, path, sizeof(path));
    unlink(path);
}

int evt_engine_retention_run(evt_engine *e, size_t *n)
{
    *n = 0;
    for (;;) {
        struct sto_event *list;
        size_t k;
        int rc = sto_events_expired(e->db, now_us(e), RETENTION_BATCH, &list, &k);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < k; i++) {
            remove_snapshots(e, list[i].camera_id, list[i].id);
            if (sto_event_delete(e->db, list[i].id) == 0)
                (*n)++;
        }
        sto_event_list_free(list, k);
        if (k < RETENTION_BATCH)
            return 0;
    }
}

static struct evt_config config_copy(evt_engine *e)
{
    pthread_mutex_lock(&e->lock);
    struct evt_config c = e->config;
    pthread_mutex_unlock(&e->lock);
    return c;
}

static void *worker_main(void *arg)
{
    evt_engine *e = arg;
    int64_t next_retention = 0;
    for (;;) {
        void *items[32];
        int n = queue_pop_batch(e->queue, items, HORUS_ARRAY_LEN(items), 1000);
        if (n == HORUS_ESTOPPED)
            break;
        struct evt_config cfg = config_copy(e);
        for (int i = 0; i < n; i++) {
            handle(e, items[i], &cfg);
            msg_free(items[i]);
        }
        uint64_t dropped = atomic_load(&e->dropped);
        if (dropped != atomic_load(&e->dropped_logged)) {
            atomic_store(&e->dropped_logged, dropped);
            log_warn("event changes dropped (queue full): %llu in all",
                     (unsigned long long)dropped);
        }
        int64_t now = now_us(e);
        if (now >= next_retention) {
            next_retention = now + RETENTION_INTERVAL_US;
            size_t deleted = 0;
            int rc = evt_engine_retention_run(e, &deleted);
            if (rc < 0)
                log_warn("delete expired events: %s", horus_strerror(rc));
            else if (deleted)
                log_info("deleted %zu expired events and their snapshots", deleted);
        }
    }
    return NULL;
}

/* ---- the observer (analysis threads) ---- */

struct push_ctx {
    evt_engine *e;
    const struct det_report *r;
};

/* Queues one change; called under the engine lock (no I/O, no logging). */
static void on_change(void *arg, const struct evt_change *c)
{
    struct push_ctx *p = arg;
    struct msg *m = horus_malloc(sizeof(*m));
    m->kind = c->kind;
    m->ev = *c->event;
    m->image = c->wants_snapshot && p->r && p->r->image ? det_image_ref(p->r->image) : NULL;
    if (!p->e->queue || queue_push(p->e->queue, m) < 0) {
        msg_free(m);
        atomic_fetch_add(&p->e->dropped, 1);
        count(p->e->m_dropped);
    }
}

/*
 * The camera's lifecycle of analysis reports, or (is_external) of posted
 * detections: their track ids are separate spaces, so each has its own.
 */
static evt_life *life_of(evt_engine *e, const char *camera_id, bool is_external)
{
    for (size_t i = 0; i < e->ncameras; i++)
        if (e->cameras[i].is_external == is_external && strcmp(e->cameras[i].id, camera_id) == 0)
            return e->cameras[i].life;
    if (e->ncameras == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->cameras = horus_realloc(e->cameras, e->cap * sizeof(*e->cameras));
    }
    struct camera_life *c = &e->cameras[e->ncameras++];
    snprintf(c->id, sizeof(c->id), "%s", camera_id);
    c->is_external = is_external;
    c->life = evt_life_new(&e->life_config, camera_id, is_external ? ~e->salt : e->salt);
    if (is_external)
        evt_life_set_source(c->life, "external");
    return c->life;
}

/* Tripwire counters, then the camera's lifecycle (is_external: of posted detections). */
static void observe(evt_engine *e, const struct det_report *r, bool is_external)
{
    if (!r || !r->camera_id)
        return;
    for (size_t i = 0; i < r->crossing_count; i++) {
        const struct det_crossing *x = &r->crossings[i];
        const char *label = "?";
        for (size_t k = 0; k < r->track_count; k++)
            if (r->tracks[k].id == x->track_id && r->tracks[k].label_name)
                label = r->tracks[k].label_name;
        if (x->tripwire >= 0 && (size_t)x->tripwire < r->tripwire_count)
            evt_counters_add(e->counters, r->camera_id, r->tripwire_names[x->tripwire], label,
                             x->direction);
    }
    struct push_ctx p = {.e = e, .r = r};
    pthread_mutex_lock(&e->lock);
    if (e->config.enabled && e->is_running)
        evt_life_report(life_of(e, r->camera_id, is_external), r, on_change, &p);
    pthread_mutex_unlock(&e->lock);
}

static void report_cb(struct det_observer *o, const struct det_report *r)
{
    observe((evt_engine *)o, r, false);
}

void evt_engine_external_report(evt_engine *e, const struct det_report *r)
{
    observe(e, r, true);
}

bool evt_engine_is_enabled(evt_engine *e)
{
    pthread_mutex_lock(&e->lock);
    bool is_enabled = e->config.enabled && e->is_running;
    pthread_mutex_unlock(&e->lock);
    return is_enabled;
}

evt_inbox *evt_engine_inbox(evt_engine *e)
{
    return evt_ext_inbox(e->ext);
}

static void camera_stopped_cb(struct det_observer *o, const char *camera_id)
{
    evt_engine *e = (evt_engine *)o;
    struct push_ctx p = {.e = e};
    pthread_mutex_lock(&e->lock);
    for (size_t i = 0; i < e->ncameras; i++)
        if (!e->cameras[i].is_external && strcmp(e->cameras[i].id, camera_id) == 0)
            evt_life_stop(e->cameras[i].life, on_change, &p);
    pthread_mutex_unlock(&e->lock);
}

static const struct det_observer_ops observer_ops = {
    .report_cb = report_cb,
    .camera_stopped_cb = camera_stopped_cb,
};

struct det_observer *evt_engine_observer(evt_engine *e)
{
    return &e->observer;
}

json_t *evt_engine_counters(evt_engine *e, const char *camera_id)
{
    return evt_counters_json(e->counters, camera_id);
}

/* ---- lifecycle ---- */

int evt_engine_new(const struct evt_options *opt, evt_engine **out)
{
    if (!opt->db || !opt->data_dir || !opt->config)
        return -EINVAL;
    evt_engine *e = horus_calloc(1, sizeof(*e));
    e->observer.ops = &observer_ops;
    e->db = opt->db;
    e->data_dir = horus_strdup(opt->data_dir);
    e->feed = opt->feed;
    e->clock = opt->clock ? opt->clock : clock_system();
    e->has_outbox = opt->has_outbox;
    e->config = *opt->config;
    evt_config_life(&e->config, &e->life_config);
    pthread_mutex_init(&e->lock, NULL);
    if (getrandom(&e->salt, sizeof(e->salt), 0) != sizeof(e->salt))
        e->salt = (uint32_t)clock_realtime_ms(e->clock) ^ (uint32_t)getpid();
    metrics_registry *reg = opt->metrics;
    e->counters = evt_counters_new(reg, clock_realtime_ms(e->clock) * 1000);
    if (reg) {
        e->m_dropped = metrics_series_get(metrics_family_add(
            reg, &(struct metrics_desc){.type = METRICS_COUNTER,
                                        .name = "horus_events_dropped_total",
                                        .help = "Event changes dropped because the events "
                                                "queue was full"}));
        metrics_family *w =
            metrics_family_add(reg, &(struct metrics_desc){.type = METRICS_COUNTER,
                                                           .name = "horus_events_writes_total",
                                                           .help = "Event rows written, by result",
                                                           .labels = "result"});
        e->m_written = metrics_series_get(w, "ok");
        e->m_failed = metrics_series_get(w, "failed");
        e->m_snapshots = metrics_series_get(
            metrics_family_add(reg, &(struct metrics_desc){.type = METRICS_COUNTER,
                                                           .name = "horus_events_snapshots_total",
                                                           .help = "Event snapshots written"}));
    }
    e->ext = evt_ext_new(e, e->db, reg, e->clock);
    *out = e;
    return 0;
}

/*
 * With a bus, each event a crash left open ends with its "end" message in the
 * outbox, like any other end (at its last update, as sto_events_end_open does
 * for the rest). Returns how many.
 */
static size_t end_open_with_messages(evt_engine *e)
{
    struct sto_event *list = NULL;
    size_t n = 0, ended = 0;
    if (!(e->has_outbox || sto_outbox_is_wanted(e->db)) ||
        sto_events_open_list(e->db, 10000, &list, &n) < 0)
        return 0;
    struct evt_config cfg = config_copy(e);
    for (size_t i = 0; i < n; i++) {
        const struct sto_event *ev = &list[i];
        struct sto_event after = *ev;
        after.end_us = ev->updated_us;
        char *payload =
            evt_outbox_payload("end", ev, &after, cfg.pre_roll_seconds, cfg.post_roll_seconds);
        struct sto_outbox_input m = {.kind = "event",
                                     .type = "end",
                                     .camera_id = ev->camera_id,
                                     .payload = payload ? payload : "{}"};
        struct sto_event_input in = {
            .id = ev->id,
            .camera_id = ev->camera_id,
            .label = ev->label,
            .sub_label = ev->sub_label,
            .score = ev->score,
            .top_score = ev->top_score,
            .start_us = ev->start_us,
            .end_us = after.end_us,
            .updated_us = ev->updated_us,
            .zones = ev->zones,
            .box = ev->box,
            .details = ev->details,
            .has_snapshot = ev->has_snapshot,
            .source = ev->source,
            .created_at_ms = ev->created_at_ms,
            .pinned_until_us = ev->pinned_until_us,
            .pin_start_us = ev->start_us - cfg.pre_roll_seconds * 1000000,
            .pin_end_us = after.end_us + cfg.post_roll_seconds * 1000000,
            .streams = pin_streams,
            .nstreams = HORUS_ARRAY_LEN(pin_streams),
            .outbox = &m,
            .noutbox = 1,
        };
        int rc = sto_event_put(e->db, &in);
        free(payload);
        if (rc < 0)
            log_warn_kv(LOG_KV({"camera", ev->camera_id}, {"event", ev->id}),
                        "end an event left open: %s", horus_strerror(rc));
        else
            ended++;
    }
    sto_event_list_free(list, n);
    return ended;
}

int evt_engine_start(evt_engine *e)
{
    if (e->is_running)
        return 0;
    size_t n = end_open_with_messages(e);
    if (n)
        log_info("ended %zu events left open by the last run at their last update, with their "
                 "bus messages",
                 n);
    n = 0;
    int rc = sto_events_end_open(e->db, &n);
    if (rc < 0) {
        log_error("end the events left open: %s", horus_strerror(rc));
        return rc;
    }
    if (n)
        log_info("ended %zu events left open by the last run at their last update", n);
    e->queue = queue_new((size_t)e->config.queue_max);
    rc = horus_thread_start(&e->thread, "evt-w", worker_main, e);
    if (rc < 0) {
        queue_free(e->queue, msg_free);
        e->queue = NULL;
        return rc;
    }
    pthread_mutex_lock(&e->lock);
    e->is_running = true;
    bool is_enabled = e->config.enabled;
    pthread_mutex_unlock(&e->lock);
    rc = evt_ext_start(e->ext, is_enabled);
    if (rc < 0) {
        evt_engine_stop(e);
        return rc;
    }
    return 0;
}

void evt_engine_stop(evt_engine *e)
{
    if (!e || !e->is_running)
        return;
    evt_ext_stop(e->ext); /* the posted detections queued are fed first */
    /* Open events end now (the analysis may still run; nothing new opens). */
    struct push_ctx p = {.e = e};
    pthread_mutex_lock(&e->lock);
    for (size_t i = 0; i < e->ncameras; i++)
        evt_life_stop(e->cameras[i].life, on_change, &p);
    e->is_running = false;
    pthread_mutex_unlock(&e->lock);
    queue_close(e->queue); /* the worker drains what is queued, then ends */
    pthread_join(e->thread, NULL);
    queue_free(e->queue, msg_free);
    e->queue = NULL;
}

void evt_engine_free(evt_engine *e)
{
    if (!e)
        return;
    evt_engine_stop(e);
    evt_ext_free(e->ext);
    for (size_t i = 0; i < e->ncameras; i++)
        evt_life_free(e->cameras[i].life);
    free(e->cameras);
    evt_counters_free(e->counters);
    pthread_mutex_destroy(&e->lock);
    free(e->data_dir);
    free(e);
}

void evt_engine_configure(evt_engine *e, const struct evt_config *c)
{
    pthread_mutex_lock(&e->lock);
    int64_t queue_max = e->config.queue_max;
    e->config = *c;
    e->config.queue_max = queue_max;
    evt_config_life(&e->config, &e->life_config);
    for (size_t i = 0; i < e->ncameras; i++)
        evt_life_configure(e->cameras[i].life, &e->life_config);
    bool is_enabled = e->config.enabled && e->is_running;
    pthread_mutex_unlock(&e->lock);
    evt_ext_set_open(e->ext, is_enabled);
}

void evt_engine_roll(evt_engine *e, int64_t *pre_s, int64_t *post_s)
{
    pthread_mutex_lock(&e->lock);
    *pre_s = e->config.pre_roll_seconds;
    *post_s = e->config.post_roll_seconds;
    pthread_mutex_unlock(&e->lock);
}

/* ---- posted events and deletes (the API's threads) ---- */

int evt_engine_post(evt_engine *e, const struct evt_post *p, struct sto_event *out, char *why,
                    size_t cap)
{
    if (!evt_name_is_valid(p->label, EVT_NAME_MAX - 1)) {
        snprintf(why, cap, "label: must be 1..%d characters without control characters",
                 EVT_NAME_MAX - 1);
        return -EINVAL;
    }
    if (p->sub_label && p->sub_label[0] && !evt_name_is_valid(p->sub_label, EVT_NAME_MAX - 1)) {
        snprintf(why, cap, "sub_label: must be 1..%d characters without control characters",
                 EVT_NAME_MAX - 1);
        return -EINVAL;
    }
    if (!(p->score >= 0 && p->score <= 1)) {
        snprintf(why, cap, "score: must be 0..1");
        return -EINVAL;
    }
    if (p->end_us <= p->start_us) {
        snprintf(why, cap, "end: must be after start");
        return -EINVAL;
    }
    if (p->nzones > EVT_ZONES_MAX) {
        snprintf(why, cap, "zones: at most %d names", EVT_ZONES_MAX);
        return -EINVAL;
    }
    struct evt_state s = {.source = "api"};
    snprintf(s.camera_id, sizeof(s.camera_id), "%s", p->camera_id);
    snprintf(s.label, sizeof(s.label), "%s", p->label);
    snprintf(s.sub_label, sizeof(s.sub_label), "%s", p->sub_label ? p->sub_label : "");
    for (size_t i = 0; i < p->nzones; i++) {
        if (!evt_name_is_valid(p->zones[i], EVT_NAME_MAX - 1)) {
            snprintf(why, cap, "zones[%zu]: must be 1..%d characters", i, EVT_NAME_MAX - 1);
            return -EINVAL;
        }
        snprintf(s.zones[s.nzones++], EVT_NAME_MAX, "%s", p->zones[i]);
    }
    s.score = s.top_score = (float)p->score;
    s.start_us = p->start_us;
    s.end_us = p->end_us;
    s.updated_us = p->end_us;
    s.box = p->box;
    s.has_box = p->has_box;
    uint32_t r;
    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
        r = (uint32_t)now_us(e) ^ e->salt;
    evt_id_make(p->start_us, r, s.id);
    struct evt_config cfg = config_copy(e);
    /* The posted event is over already: its "end" follows its "new", on the buses too. */
    static const char *const types[] = {"new", "end"};
    int rc = write_change(e, &s, types, HORUS_ARRAY_LEN(types), &cfg);
    if (rc == 0 && e->feed) {
        /* The posted event is over already: its "end" follows its "new". */
        struct sto_event row;
        if (sto_event_get(e->db, s.id, &row) == 0) {
            json_t *j = evt_event_json(&row, cfg.pre_roll_seconds, cfg.post_roll_seconds);
            char *text = json_dumps(j, JSON_COMPACT);
            if (text)
                evt_feed_publish(e->feed, "end", s.camera_id, text);
            free(text);
            json_decref(j);
            sto_event_release(&row);
        }
    }
    if (rc < 0) {
        snprintf(why, cap, "write event: %s", horus_strerror(rc));
        return rc;
    }
    return sto_event_get(e->db, s.id, out);
}

int evt_engine_delete(evt_engine *e, const char *id)
{
    struct sto_event row;
    int rc = sto_event_get(e->db, id, &row);
    if (rc < 0)
        return rc;
    rc = sto_event_delete(e->db, id);
    if (rc == 0)
        remove_snapshots(e, row.camera_id, row.id);
    sto_event_release(&row);
    return rc;
}
