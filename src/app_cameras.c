/*
 * DESIGN: the camera supervisor. The database is the source of truth for
 * cameras (API and YAML provisioning both write there); once a second the
 * main thread compares it with what runs and starts, restarts or stops
 * each camera's pipeline, so an API change applies within about a second
 * and never disturbs the other cameras.
 *
 * A pipeline today is the main stream's ingest thread feeding the
 * recorder's sink for that camera. (Sub streams are read once live view
 * and analytics consume them.) A camera restarts when anything its
 * pipeline was built from changes: URL, enabled, recording, segment length.
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

struct running {
    struct running *next;
    char *id;
    char *fingerprint; /* what the pipeline was built from */
    ing_stream *ingest;
    rec_camera *rec; /* NULL when recording is off */
    bool is_seen; /* still wanted in this pass */
};

struct status_entry {
    char *id; /* owned */
    struct api_camera_status st;
};

struct app_cameras {
    sto_db *db;
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
    return s;
}

static char *fingerprint(const struct sto_camera *c)
{
    return horus_asprintf("%s|%d|%d|%lld", c->url, c->enabled, c->record_enabled,
                          (long long)c->segment_seconds);
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

static void start_camera(app_cameras *s, const struct sto_camera *c)
{
    struct running *run = horus_calloc(1, sizeof(*run));
    run->id = horus_strdup(c->id);
    run->fingerprint = fingerprint(c);
    run->is_seen = true;
    run->next = s->list;
    s->list = run;
    if (!c->enabled) {
        log_info_kv(LOG_KV({"camera", c->id}), "camera disabled");
        return;
    }
    if (c->record_enabled)
        run->rec = rec_recorder_add(s->recorder, c->id, "main", c->segment_seconds);
    app_live_attach(s->live, run->rec, c->id, "main"); /* live: recorder parts -> hub */
    struct ing_stream_options o = {
        .camera = c->id,
        .stream = "main",
        .url = c->url,
        .metrics = s->metrics,
        .sink = run->rec ? rec_camera_sink(run->rec) : &null_sink,
    };
    int rc = ing_stream_start(&o, &run->ingest);
    if (rc < 0) {
        log_error_kv(LOG_KV({"camera", c->id}), "start ingest: %s", horus_strerror(rc));
        run->ingest = NULL;
    }
}

/* Stops and frees every pipeline for which pred(run) is true. */
static void stop_where(app_cameras *s, bool (*pred)(const struct running *))
{
    for (struct running *r = s->list; r; r = r->next)
        if (pred(r) && r->ingest)
            ing_stream_stop(r->ingest);
    struct running **p = &s->list;
    while (*p) {
        struct running *r = *p;
        if (!pred(r)) {
            p = &r->next;
            continue;
        }
        *p = r->next;
        ing_stream_free(r->ingest); /* joins: the sink is no longer called after this */
        if (r->rec)
            app_live_detach(s->live, r->id, "main"); /* live: drop its parts, answer viewers */
        if (r->rec)
            rec_recorder_remove(s->recorder, r->rec);
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
        st->is_recording = r->rec != NULL;
        if (!r->ingest) {
            snprintf(st->state, sizeof(st->state), "disabled");
            snprintf(st->breaker, sizeof(st->breaker), "closed");
            continue;
        }
        struct ing_stream_status is;
        ing_stream_status_get(r->ingest, &is);
        snprintf(st->breaker, sizeof(st->breaker), "%s", ing_breaker_state_name(is.breaker));
        snprintf(st->last_error, sizeof(st->last_error), "%s", is.last_error);
        st->next_retry_unix_ms = is.is_up ? 0 : is.next_retry_unix_ms;
        st->reconnects = is.reconnects;
        const char *state = "connecting";
        if (is.is_up) {
            state = "streaming";
            (*online)++;
        } else if (is.reason != ING_REASON_NONE) {
            state = "failed";
            (*failed)++;
        }
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
