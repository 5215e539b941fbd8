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

struct app_cameras {
    sto_db *db;
    rec_recorder *recorder;
    metrics_registry *metrics;
    struct running *list;
};

app_cameras *app_cameras_new(sto_db *db, rec_recorder *recorder, metrics_registry *metrics)
{
    app_cameras *s = horus_calloc(1, sizeof(*s));
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

void app_cameras_counts(app_cameras *s, unsigned *online, unsigned *failed)
{
    *online = *failed = 0;
    for (struct running *r = s->list; r; r = r->next) {
        if (!r->ingest)
            continue;
        struct ing_stream_status st;
        ing_stream_status_get(r->ingest, &st);
        if (st.is_up)
            (*online)++;
        else if (st.reason != ING_REASON_NONE)
            (*failed)++;
    }
}

void app_cameras_free(app_cameras *s)
{
    if (!s)
        return;
    stop_where(s, is_any);
    free(s);
}
