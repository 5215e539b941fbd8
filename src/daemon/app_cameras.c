/*
 * DESIGN: the camera supervisor. The database is the source of truth for
 * cameras (API and YAML provisioning both write there); once a second the
 * main thread compares it with what runs and starts, restarts or stops
 * each camera's pipeline, so an API change applies within about a second
 * and never disturbs the other cameras.
 *
 * A camera's pipeline is one ingest per stream: "main" always, "sub" when
 * the camera has a sub_url. Each feeds the recorder's sink for that camera
 * stream, so both are recorded (the sub stream is small, and the same
 * writer produces the parts live view serves). A camera restarts when
 * anything its pipeline was built from changes: URLs, enabled, recording,
 * segment length.
 *
 * Stopping: every ingest to stop is asked first and joined after, so N
 * removals cost one interruption delay, not N; then the recorder closes
 * and indexes the camera's open segment.
 *
 * Thread: main.
 */
#include "app.h"

#include "err.h"
#include "ingest.h"
#include "log.h"
#include "mem.h"
#include "recorder.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "cameras"

enum { STREAM_MAIN, STREAM_SUB, STREAM_COUNT };
static const char *const stream_names[STREAM_COUNT] = {"main", "sub"};

struct pipeline {
    ing_stream *ingest; /* NULL when the stream is absent or could not start */
    rec_camera *rec; /* NULL when recording is off */
};

struct running {
    struct running *next;
    char *id;
    char *fingerprint; /* what the pipeline was built from */
    struct pipeline streams[STREAM_COUNT];
    bool is_enabled;
    bool is_seen; /* still wanted in this pass */
};

struct status_entry {
    char *id; /* owned */
    struct api_camera_status st;
};

struct app_cameras {
    sto_db *db;
    struct ing_stream_options ingest; /* the `ingest:` section's part of every stream's options */
    struct ing_breaker_policy policy;
    rec_recorder *recorder;
    live_hub *live; /* live: borrowed, may be NULL (app_live.c) */
    metrics_registry *metrics;
    struct running *list; /* main thread only */
    /* What HTTP threads read: rebuilt by app_cameras_refresh_status. */
    pthread_mutex_t status_lock;
    struct status_entry *status;
    size_t nstatus;
};

app_cameras *app_cameras_new(sto_db *db, rec_recorder *recorder, metrics_registry *metrics)
{
    app_cameras *s = horus_calloc(1, sizeof(*s));
    pthread_mutex_init(&s->status_lock, NULL);
    s->db = db;
    s->recorder = recorder;
    s->metrics = metrics;
    s->policy = ing_breaker_policy_default;
    return s;
}

void app_cameras_configure(app_cameras *s, const struct ing_config *c)
{
    char why[160];
    if (ing_config_policy(c, &s->policy, why, sizeof(why), NULL) < 0)
        HORUS_BUG("unvalidated ingest config: %s", why);
    ing_config_stream_options(c, &s->ingest);
}

static char *fingerprint(const struct sto_camera *c)
{
    return horus_asprintf("%s|%s|%d|%d|%lld", c->url, c->sub_url ? c->sub_url : "", c->enabled,
                          c->record_enabled, (long long)c->segment_seconds);
}

/* A sink that drops everything: ingest with recording off still reports health. */
static void null_stream(media_sink *s, media_stream *st)
{
}
static void null_packet(media_sink *s, media_packet *p)
{
}
static void null_gap(media_sink *s, const char *reason)
{
}
static const struct media_sink_ops null_ops = {null_stream, null_packet, null_gap};
static media_sink null_sink = {&null_ops};

static void start_stream(app_cameras *s, struct running *run, const struct sto_camera *c, int which,
                         const char *url)
{
    struct pipeline *p = &run->streams[which];
    if (c->record_enabled)
        p->rec = rec_recorder_add(s->recorder, c->id, stream_names[which], c->segment_seconds);
    app_live_attach(s->live, p->rec, c->id, stream_names[which]); /* live: recorder parts -> hub */
    struct ing_stream_options o = s->ingest;
    o.camera = c->id;
    o.stream = stream_names[which];
    o.url = url;
    o.policy = &s->policy;
    o.metrics = s->metrics;
    o.sink = p->rec ? rec_camera_sink(p->rec) : &null_sink;
    p->ingest = NULL;
    int rc = ing_stream_new(&o, &p->ingest);
    if (rc == 0)
        rc = ing_stream_start(p->ingest);
    if (rc < 0) {
        log_error_kv(LOG_KV({"camera", c->id}, {"stream", stream_names[which]}), "start ingest: %s",
                     horus_strerror(rc));
        ing_stream_free(p->ingest);
        p->ingest = NULL;
    }
}

static void start_camera(app_cameras *s, const struct sto_camera *c)
{
    struct running *run = horus_calloc(1, sizeof(*run));
    run->id = horus_strdup(c->id);
    run->fingerprint = fingerprint(c);
    run->is_seen = true;
    run->is_enabled = c->enabled;
    run->next = s->list;
    s->list = run;
    if (!c->enabled) {
        log_info_kv(LOG_KV({"camera", c->id}), "camera disabled");
        return;
    }
    start_stream(s, run, c, STREAM_MAIN, c->url);
    if (c->sub_url && c->sub_url[0])
        start_stream(s, run, c, STREAM_SUB, c->sub_url);
}

/* Stops and frees every pipeline for which pred(run) is true. */
static void stop_where(app_cameras *s, bool (*pred)(const struct running *))
{
    for (struct running *r = s->list; r; r = r->next)
        for (int i = 0; i < STREAM_COUNT && pred(r); i++)
            if (r->streams[i].ingest)
                ing_stream_stop(r->streams[i].ingest);
    struct running **p = &s->list;
    while (*p) {
        struct running *r = *p;
        if (!pred(r)) {
            p = &r->next;
            continue;
        }
        *p = r->next;
        for (int i = 0; i < STREAM_COUNT; i++) {
            struct pipeline *pl = &r->streams[i];
            ing_stream_free(pl->ingest); /* joins: the sink is no longer called after this */
            if (pl->rec)
                app_live_detach(s->live, r->id,
                                stream_names[i]); /* live: drop parts, answer viewers */
            if (pl->rec)
                rec_recorder_remove(s->recorder, pl->rec);
        }
        log_info_kv(LOG_KV({"camera", r->id}), "camera stopped");
        free(r->id);
        free(r->fingerprint);
        free(r);
    }
}

static bool is_unseen(const struct running *r)
{
    return !r->is_seen;
}

static bool is_any(const struct running *r)
{
    return true;
}

void app_cameras_set_live(app_cameras *s, live_hub *live)
{
    s->live = live; /* live */
}

void app_cameras_sync(app_cameras *s)
{
    for (struct running *r = s->list; r; r = r->next)
        r->is_seen = false;
    char *after = NULL;
    bool has_more = true;
    struct sto_camera *to_start = NULL;
    size_t nstart = 0, cap = 0;
    while (has_more) {
        struct sto_camera *cams;
        size_t n;
        int rc = sto_camera_list(s->db, after, 500, &cams, &n, &has_more);
        if (rc < 0) {
            /* Keep everything running as it is rather than stop on a read error. */
            log_warn("read cameras: %s; keeping the running set", horus_strerror(rc));
            for (struct running *r = s->list; r; r = r->next)
                r->is_seen = true;
            free(after);
            sto_camera_list_free(to_start, nstart);
            return;
        }
        free(after);
        after = n ? horus_strdup(cams[n - 1].id) : NULL;
        for (size_t i = 0; i < n; i++) {
            struct running *run = NULL;
            for (struct running *r = s->list; r && !run; r = r->next)
                if (strcmp(r->id, cams[i].id) == 0)
                    run = r;
            char *fp = fingerprint(&cams[i]);
            bool is_same = run && strcmp(run->fingerprint, fp) == 0;
            free(fp);
            if (is_same) {
                run->is_seen = true;
                continue;
            }
            /* New or changed: (re)start after stopping the old pipeline. */
            if (nstart == cap) {
                cap = cap ? cap * 2 : 16;
                to_start = horus_realloc(to_start, cap * sizeof(*to_start));
            }
            to_start[nstart++] = cams[i];
            memset(&cams[i], 0, sizeof(cams[i]));
        }
        sto_camera_list_free(cams, n);
        has_more = has_more && after;
    }
    free(after);
    stop_where(s, is_unseen);
    for (size_t i = 0; i < nstart; i++)
        start_camera(s, &to_start[i]);
    sto_camera_list_free(to_start, nstart);
}

static void status_free(struct status_entry *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i].id);
    free(list);
}

static const char *state_of(const struct ing_stream_status *is)
{
    if (is->is_up)
        return "streaming";
    return is->reason != ING_REASON_NONE ? "failed" : "connecting";
}

void app_cameras_refresh_status(app_cameras *s, unsigned *online, unsigned *failed)
{
    *online = *failed = 0;
    size_t n = 0;
    for (struct running *r = s->list; r; r = r->next)
        n++;
    struct status_entry *fresh = horus_calloc(n ? n : 1, sizeof(*fresh));
    size_t i = 0;
    for (struct running *r = s->list; r; r = r->next, i++) {
        struct api_camera_status *st = &fresh[i].st;
        fresh[i].id = horus_strdup(r->id);
        st->is_recording = r->streams[STREAM_MAIN].rec != NULL;
        if (!r->is_enabled) {
            snprintf(st->state, sizeof(st->state), "disabled");
            snprintf(st->breaker, sizeof(st->breaker), "closed");
            continue;
        }
        if (r->streams[STREAM_SUB].ingest) {
            struct ing_stream_status sub;
            ing_stream_status_get(r->streams[STREAM_SUB].ingest, &sub);
            snprintf(st->sub_state, sizeof(st->sub_state), "%s", state_of(&sub));
        }
        if (!r->streams[STREAM_MAIN].ingest) {
            /* The thread could not start (logged); retried when the camera changes. */
            snprintf(st->state, sizeof(st->state), "failed");
            snprintf(st->breaker, sizeof(st->breaker), "closed");
            snprintf(st->last_error, sizeof(st->last_error), "ingest could not start");
            (*failed)++;
            continue;
        }
        struct ing_stream_status is;
        ing_stream_status_get(r->streams[STREAM_MAIN].ingest, &is);
        snprintf(st->breaker, sizeof(st->breaker), "%s", ing_breaker_state_name(is.breaker));
        snprintf(st->last_error, sizeof(st->last_error), "%s", is.last_error);
        st->next_retry_unix_ms = is.is_up ? 0 : is.next_retry_unix_ms;
        st->reconnects = is.reconnects;
        const char *state = state_of(&is);
        if (strcmp(state, "streaming") == 0)
            (*online)++;
        else if (strcmp(state, "failed") == 0)
            (*failed)++;
        snprintf(st->state, sizeof(st->state), "%s", state);
    }
    pthread_mutex_lock(&s->status_lock);
    struct status_entry *old = s->status;
    size_t nold = s->nstatus;
    s->status = fresh;
    s->nstatus = n;
    pthread_mutex_unlock(&s->status_lock);
    status_free(old, nold);
}

bool app_cameras_status(void *arg, const char *id, struct api_camera_status *out)
{
    app_cameras *s = arg;
    bool is_found = false;
    pthread_mutex_lock(&s->status_lock);
    for (size_t i = 0; i < s->nstatus && !is_found; i++) {
        if (strcmp(s->status[i].id, id) == 0) {
            *out = s->status[i].st;
            is_found = true;
        }
    }
    pthread_mutex_unlock(&s->status_lock);
    return is_found;
}

void app_cameras_free(app_cameras *s)
{
    if (!s)
        return;
    stop_where(s, is_any);
    status_free(s->status, s->nstatus);
    pthread_mutex_destroy(&s->status_lock);
    free(s);
}
