/*
 * DESIGN: the analysis pool (docs/design/0036). detect.threads workers
 * (det-N) share every analysed camera; each worker owns its detector
 * (detectors are not thread-safe) and analyses one camera at a time, and
 * a camera is analysed by one worker at a time, so reports of a camera
 * arrive in frame order (report.h).
 *
 * The budget: a camera is ready when its next sampling time (1/fps after
 * the last pick) has come and its sampler holds packets. A free worker
 * picks among the ready cameras by stride scheduling weighted by priority
 * (det_sched_pick: low 1, normal 2, high 4). Under overload every camera
 * waits longer than its interval; the sampler then takes only the newest
 * frame and counts the sampling instants it missed, for which a frame was
 * there, as "busy", so low
 * priority cameras, picked less often, are sampled less, in the metrics
 * and in their status.
 *
 * A detector that cannot open is no reason to stop the daemon: the pool
 * keeps the sentence naming the detector and the file, every camera the
 * analysis would cover shows it in its status ("error"), and nothing is
 * sampled, so recording costs nothing more.
 */
#include "analysis.h"
#include "hybrid.h"
#include "stages_int.h"
#include "sampler.h"

#include "clock.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "detect"

#define MAX_OBSERVERS 8
#define MAX_BOXES 256
#define RECENT 16 /* analysis times kept for the fps in the status */

struct cam {
    struct cam *next;
    char *id;
    char stream[8];
    det_sampler *sampler; /* NULL when the pool has no detector: status only */
    struct det_camera_options opt;
    /* Under a->lock. */
    bool is_busy;
    int64_t next_due_ns;
    double pass; /* the budget's (det_sched_pick) */
    int64_t interval_us; /* 1/fps when picked: the busy worker's copy of opt.fps */
    uint64_t frames;
    int64_t recent_ns[RECENT];
    unsigned nrecent, next_recent;
    double inference_ms; /* moving average */
    char last_error[300];
    uint64_t published[DET_SKIP_COUNT]; /* skips already added to the metric */
    metrics_series *m_frames, *m_skipped[DET_SKIP_COUNT];
    metrics_series **m_labels; /* per label index, made on first use (worker, under lock) */
    int nlabels;
    bool is_detect_error_logged;
    struct det_stages *stages; /* the worker's: motion, tracker, zones (stages.c) */
    uint64_t stages_gen; /* the analytics_gen they were made from */
    bool is_stages_error_logged;
    enum det_hybrid_served served_by; /* hybrid: who served the last frame analysed */
};

struct override {
    struct override *next;
    char *id;
    struct det_camera_options opt;
    bool has_opt; /* opt set (det_analysis_camera_set, or a document that is not empty) */
    char *analytics; /* the camera's analytics document text, "" = defaults */
    uint64_t analytics_gen; /* bumped when it changes */
};

struct worker {
    det_analysis *a;
    pthread_t thread;
    bool is_started;
    struct det_detector *detector;
    struct det_sched_entry *entries;
    struct cam **cams;
    size_t cap;
};

struct det_analysis {
    /* The configuration (owned copies). */
    bool enabled;
    unsigned threads;
    double fps;
    struct det_spec spec; /* strings owned; .fallback = &fallback */
    struct det_spec fallback; /* strings owned; used when spec.type is hybrid */
    float min_score;
    enum det_stream_choice stream;
    enum det_decode decode;
    char **cameras;
    size_t ncameras;
    struct det_stage_hooks hooks;
    metrics_registry *metrics;
    metrics_family *f_frames, *f_skipped, *f_detections;
    metrics_series *m_inference;
    struct det_observer *observers[MAX_OBSERVERS];
    size_t nobservers;

    pthread_mutex_t lock;
    pthread_cond_t cond; /* a camera stopped being busy; the pool stops */
    struct cam *cams;
    struct override *overrides;
    struct worker *workers;
    double vtime; /* the budget's virtual time (det_sched_pick) */
    uint64_t tracker_seq; /* each camera's tracker numbers from (seq << 32) + 1 */
    bool is_stopping;
    char error[300]; /* why nothing is analysed ("" = fine); set at start */
    bool is_hybrid; /* every worker's detector opened and is a hybrid; set at start */
    char **labels; /* the detector's labels, copied at start; NULL: any */
    int nlabels;
};

static char *dup_or_empty(const char *s)
{
    return horus_strdup(s ? s : "");
}

det_analysis *det_analysis_new(const struct det_analysis_options *o)
{
    det_analysis *a = horus_calloc(1, sizeof(*a));
    const struct det_config *c = o->config;
    a->enabled = c->enabled;
    a->threads = c->threads > 0 ? (unsigned)c->threads : 1;
    a->fps = c->fps > 0 ? c->fps : 5;
    a->spec.type = dup_or_empty(c->detector.type);
    a->spec.model = dup_or_empty(c->detector.model);
    a->spec.labels = dup_or_empty(c->detector.labels);
    a->spec.head = dup_or_empty(c->detector.head);
    a->spec.device = dup_or_empty(c->detector.device);
    a->spec.input_size = (int)c->detector.input_size;
    a->spec.threads = (int)c->detector.threads;
    a->spec.url = dup_or_empty(c->detector.url);
    a->spec.api_key = dup_or_empty(c->detector.api_key);
    a->spec.timeout_ms = (int)c->detector.timeout_ms;
    a->spec.failures_to_open = (int)c->detector.failures_to_open;
    a->spec.cooldown_ms = (int)c->detector.cooldown_ms;
    const struct det_fallback_config *fb = &c->detector.fallback;
    a->fallback = (struct det_spec){.type = dup_or_empty(fb->type),
                                    .model = dup_or_empty(fb->model),
                                    .labels = dup_or_empty(fb->labels),
                                    .input_size = (int)fb->input_size,
                                    .threads = (int)fb->threads,
                                    .url = dup_or_empty(fb->url),
                                    .api_key = dup_or_empty(fb->api_key),
                                    .timeout_ms = (int)fb->timeout_ms};
    a->spec.fallback = &a->fallback;
    a->min_score = (float)c->detector.min_score;
    a->stream = (enum det_stream_choice)c->stream;
    a->decode = (enum det_decode)c->decode;
    a->ncameras = c->ncameras;
    a->cameras = horus_calloc(c->ncameras + 1, sizeof(char *));
    for (size_t i = 0; i < c->ncameras; i++)
        a->cameras[i] = horus_strdup(c->cameras[i]);
    if (o->hooks)
        a->hooks = *o->hooks;
    a->metrics = o->metrics;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->cond, NULL);
    if (a->metrics) {
        a->f_frames = metrics_family_add(
            a->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                               .name = "horus_detect_frames_total",
                                               .help = "Frames analysed by the object detector",
                                               .labels = "camera"});
        a->f_skipped = metrics_family_add(
            a->metrics,
            &(struct metrics_desc){.type = METRICS_COUNTER,
                                   .name = "horus_detect_skipped_frames_total",
                                   .help = "Frames not analysed: busy (a newer frame was taken), "
                                           "queue_full, decode_error, keyframe_wait",
                                   .labels = "camera,reason"});
        a->f_detections = metrics_family_add(
            a->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                               .name = "horus_detect_detections_total",
                                               .help = "Objects detected, per label",
                                               .labels = "camera,label"});
        static const double buckets[] = {0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};
        a->m_inference = metrics_series_get(metrics_family_add(
            a->metrics, &(struct metrics_desc){.type = METRICS_HISTOGRAM,
                                               .name = "horus_detect_inference_seconds",
                                               .help = "Time the detector took per frame",
                                               .buckets = buckets,
                                               .nbuckets = HORUS_ARRAY_LEN(buckets)}));
    }
    return a;
}

void det_analysis_observe(det_analysis *a, struct det_observer *o)
{
    if (a->nobservers < MAX_OBSERVERS)
        a->observers[a->nobservers++] = o;
    else
        HORUS_BUG("more than %d analysis observers", MAX_OBSERVERS);
}

static struct override *override_find(det_analysis *a, const char *id)
{
    for (struct override *o = a->overrides; o; o = o->next)
        if (strcmp(o->id, id) == 0)
            return o;
    return NULL;
}

static const struct det_camera_options *override_of(det_analysis *a, const char *id)
{
    struct override *o = override_find(a, id);
    return o && o->has_opt ? &o->opt : NULL;
}

/* camera id's override record, made empty when it has none. Under a->lock. */
static struct override *override_get(det_analysis *a, const char *id)
{
    struct override *ov = override_find(a, id);
    if (!ov) {
        ov = horus_calloc(1, sizeof(*ov));
        ov->id = horus_strdup(id);
        ov->analytics = horus_strdup("");
        ov->next = a->overrides;
        a->overrides = ov;
    }
    return ov;
}

/* The options of camera id before any override (detect.enabled, detect.cameras). Under a->lock. */
static struct det_camera_options global_options(det_analysis *a, const char *id)
{
    struct det_camera_options o = {.enabled = a->enabled && a->ncameras == 0,
                                   .fps = a->fps,
                                   .priority = DET_PRIORITY_NORMAL,
                                   .stream = a->stream,
                                   .decode = a->decode};
    for (size_t i = 0; i < a->ncameras && a->enabled; i++)
        if (strcmp(a->cameras[i], id) == 0)
            o.enabled = true;
    return o;
}

/* camera id's options: its own, else the global ones. Under a->lock. */
static struct det_camera_options options_of(det_analysis *a, const char *id)
{
    const struct det_camera_options *own = override_of(a, id);
    if (own)
        return *own;
    return global_options(a, id);
}

static struct cam *find(det_analysis *a, const char *id)
{
    for (struct cam *c = a->cams; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

void det_analysis_camera_set(det_analysis *a, const char *camera_id,
                             const struct det_camera_options *o)
{
    pthread_mutex_lock(&a->lock);
    struct override *ov = override_get(a, camera_id);
    ov->has_opt = true;
    ov->opt = *o;
    if (ov->opt.fps <= 0)
        ov->opt.fps = a->fps;
    /* fps, priority and decode apply now; enabled and stream at the camera's next start. */
    struct cam *c = find(a, camera_id);
    if (c) {
        c->opt.fps = ov->opt.fps;
        c->opt.priority = ov->opt.priority;
        c->opt.decode = ov->opt.decode;
        if (c->sampler)
            det_sampler_set_mode(c->sampler, ov->opt.decode);
    }
    pthread_mutex_unlock(&a->lock);
}

bool det_analysis_camera_analytics(det_analysis *a, const char *camera_id, const char *text)
{
    text = text ? text : "";
    pthread_mutex_lock(&a->lock);
    struct override *ov = override_find(a, camera_id);
    if (ov && strcmp(ov->analytics, text) == 0) {
        pthread_mutex_unlock(&a->lock);
        return false;
    }
    pthread_mutex_unlock(&a->lock);
    struct det_analytics *doc = NULL;
    char *why = NULL;
    char **labels = NULL;
    int nlabels = 0;
    det_analysis_labels(a, &labels, &nlabels);
    if (nlabels > 0 &&
        det_analytics_parse(text, strlen(text), (const char *const *)labels, (size_t)nlabels, &doc,
                            &why) < 0 &&
        det_analytics_parse(text, strlen(text), NULL, 0, &doc, NULL) == 0) {
        /* Valid but for a label (set in horus.yaml, or before the detector changed). */
        log_warn_kv(LOG_KV({"camera", camera_id}),
                    "analytics document: %s; that part of it can never match", why);
        free(why);
        why = NULL;
    }
    det_labels_free(labels, nlabels);
    if (!doc && det_analytics_parse(text, strlen(text), NULL, 0, &doc, &why) < 0) {
        /* The API and horus.yaml refuse such documents; one edited in the database is not. */
        log_warn_kv(LOG_KV({"camera", camera_id}), "analytics document: %s; using the defaults",
                    why ? why : "invalid");
        free(why);
        det_analytics_parse("", 0, NULL, 0, &doc, NULL);
    }
    pthread_mutex_lock(&a->lock);
    struct det_camera_options before = options_of(a, camera_id);
    ov = override_get(a, camera_id);
    free(ov->analytics);
    ov->analytics = horus_strdup(text);
    ov->analytics_gen++;
    struct det_camera_options o = global_options(a, camera_id);
    if (text[0]) {
        o.enabled = o.enabled && doc->enabled;
        o.fps = doc->fps;
        o.priority = doc->priority;
        if (doc->stream != DET_STREAM_AUTO)
            o.stream = doc->stream;
        o.decode = doc->decode;
        ov->has_opt = true;
    } else {
        ov->has_opt = false;
    }
    ov->opt = o;
    struct cam *c = find(a, camera_id);
    if (c) {
        c->opt.fps = o.fps;
        c->opt.priority = o.priority;
        c->opt.decode = o.decode;
        if (c->sampler)
            det_sampler_set_mode(c->sampler, o.decode);
    }
    pthread_mutex_unlock(&a->lock);
    det_analytics_free(doc);
    return before.enabled != o.enabled || before.stream != o.stream;
}

const char *det_analysis_stream_for(det_analysis *a, const char *camera_id, bool has_sub)
{
    pthread_mutex_lock(&a->lock);
    struct det_camera_options o = options_of(a, camera_id);
    pthread_mutex_unlock(&a->lock);
    if (!o.enabled)
        return NULL;
    return o.stream != DET_STREAM_MAIN && has_sub ? "sub" : "main";
}

media_sink *det_analysis_attach(det_analysis *a, const char *camera_id, const char *stream)
{
    pthread_mutex_lock(&a->lock);
    struct det_camera_options o = options_of(a, camera_id);
    if (!o.enabled || find(a, camera_id)) {
        pthread_mutex_unlock(&a->lock);
        return NULL;
    }
    struct cam *c = horus_calloc(1, sizeof(*c));
    c->id = horus_strdup(camera_id);
    snprintf(c->stream, sizeof(c->stream), "%s", stream);
    c->opt = o;
    if (!a->error[0] && a->workers)
        c->sampler = det_sampler_new(camera_id, o.decode);
    if (a->f_frames) {
        c->m_frames = metrics_series_get(a->f_frames, camera_id);
        for (int i = 0; i < DET_SKIP_COUNT; i++)
            c->m_skipped[i] = metrics_series_get(a->f_skipped, camera_id, det_skip_names[i]);
    }
    c->next = a->cams;
    a->cams = c;
    media_sink *sink = c->sampler ? det_sampler_sink(c->sampler) : NULL;
    pthread_mutex_unlock(&a->lock);
    if (sink)
        log_info_kv(LOG_KV({"camera", camera_id}, {"stream", stream}), "analysis started");
    return sink;
}

static void cam_free(struct cam *c)
{
    det_stages_free(c->stages);
    det_sampler_free(c->sampler);
    free(c->m_labels);
    free(c->id);
    free(c);
}

void det_analysis_detach(det_analysis *a, const char *camera_id)
{
    pthread_mutex_lock(&a->lock);
    struct cam **p = &a->cams;
    while (*p && strcmp((*p)->id, camera_id) != 0)
        p = &(*p)->next;
    struct cam *c = *p;
    if (!c) {
        pthread_mutex_unlock(&a->lock);
        return;
    }
    while (c->is_busy)
        pthread_cond_wait(&a->cond, &a->lock);
    *p = c->next;
    pthread_mutex_unlock(&a->lock);
    for (size_t i = 0; i < a->nobservers; i++)
        if (a->observers[i]->ops->camera_stopped_cb)
            a->observers[i]->ops->camera_stopped_cb(a->observers[i], camera_id);
    cam_free(c);
}

/* Adds the skips counted since the last call to the metric. Under a->lock. */
static void publish_skips(struct cam *c)
{
    if (!c->sampler)
        return;
    uint64_t now[DET_SKIP_COUNT];
    det_sampler_skips(c->sampler, now);
    for (int i = 0; i < DET_SKIP_COUNT; i++) {
        if (now[i] > c->published[i] && c->m_skipped[i])
            metrics_counter_add(c->m_skipped[i], (double)(now[i] - c->published[i]));
        c->published[i] = now[i];
    }
}

static int weight_of(enum det_priority p)
{
    return p == DET_PRIORITY_HIGH ? 4 : p == DET_PRIORITY_LOW ? 1 : 2;
}

static int64_t interval_ns(const struct cam *c)
{
    return (int64_t)(1e9 / (c->opt.fps > 0 ? c->opt.fps : 5));
}

/* The ready camera the budget picks, marked busy; NULL when none. Under a->lock. */
static struct cam *pick(det_analysis *a, struct worker *w, int64_t now)
{
    size_t n = 0;
    for (struct cam *c = a->cams; c; c = c->next) {
        if (n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 16;
            w->entries = horus_realloc(w->entries, w->cap * sizeof(*w->entries));
            w->cams = horus_realloc(w->cams, w->cap * sizeof(*w->cams));
        }
        bool is_ready = c->sampler && !c->is_busy && now >= c->next_due_ns &&
                        det_sampler_ready_since(c->sampler) != 0;
        w->entries[n] = (struct det_sched_entry){
            .is_ready = is_ready, .weight = weight_of(c->opt.priority), .pass = c->pass};
        w->cams[n++] = c;
    }
    int i = det_sched_pick(w->entries, n, &a->vtime);
    if (i < 0)
        return NULL;
    struct cam *c = w->cams[i];
    c->pass = w->entries[i].pass;
    c->is_busy = true;
    c->next_due_ns = now + interval_ns(c);
    c->interval_us = interval_ns(c) / 1000;
    return c;
}

static metrics_series *label_series(det_analysis *a, struct cam *c, struct det_detector *d,
                                    int label)
{
    if (!a->f_detections || label < 0 || label >= d->label_count)
        return NULL;
    if (!c->m_labels) {
        c->nlabels = d->label_count;
        c->m_labels = horus_calloc((size_t)c->nlabels, sizeof(*c->m_labels));
    }
    if (label >= c->nlabels)
        return NULL;
    if (!c->m_labels[label])
        c->m_labels[label] = metrics_series_get(a->f_detections, c->id, d->labels[label]);
    return c->m_labels[label];
}

/*
 * Remakes c's stages when its analytics document changed since they were
 * made (and at its first frame). Ids go on from the old tracker, or start
 * in a range of their own, so they are never reused for a camera. Outside
 * a->lock; c is busy (ours).
 */
static void refresh_stages(det_analysis *a, struct worker *w, struct cam *c)
{
    pthread_mutex_lock(&a->lock);
    struct override *ov = override_find(a, c->id);
    uint64_t gen = ov ? ov->analytics_gen : 0;
    if (c->stages_gen == gen && (c->stages || c->is_stages_error_logged)) {
        pthread_mutex_unlock(&a->lock);
        return;
    }
    char *text = horus_strdup(ov ? ov->analytics : "");
    uint64_t first =
        c->stages ? det_stages_next_track_id(c->stages) : ((++a->tracker_seq) << 32) + 1;
    pthread_mutex_unlock(&a->lock);
    struct det_analytics *doc = NULL;
    if (det_analytics_parse(text, strlen(text), NULL, 0, &doc, NULL) < 0)
        doc = NULL; /* logged by det_analysis_camera_analytics; the defaults */
    struct det_stages *st = NULL;
    char *why = NULL;
    if (det_stages_new(doc, w->detector, a->min_score, first, &st, &why) < 0) {
        log_warn_kv(LOG_KV({"camera", c->id}), "analysis stages: %s; whole frames, no tracking",
                    why ? why : "invalid");
        st = NULL;
    }
    free(why);
    det_analytics_free(doc);
    free(text);
    det_stages_free(c->stages);
    c->stages = st;
    c->stages_gen = gen;
    c->is_stages_error_logged = st == NULL;
}

/* Analyses c's newest due frame, if any. Outside a->lock; c is busy (ours). */
static void analyse(det_analysis *a, struct worker *w, struct cam *c)
{
    struct det_image *img;
    struct det_luma luma;
    char err[200];
    bool got = det_sampler_next(c->sampler, c->interval_us, &img, &luma, err, sizeof(err));
    if (!got) {
        pthread_mutex_lock(&a->lock);
        if (err[0])
            snprintf(c->last_error, sizeof(c->last_error), "decode: %.200s", err);
        /* No frame was due yet (arrival jitter): look again soon, not a whole interval later. */
        int64_t soon = clock_monotonic_ns(clock_system()) + c->interval_us * 1000 / 5;
        if (c->next_due_ns > soon)
            c->next_due_ns = soon;
        pthread_mutex_unlock(&a->lock);
        return;
    }
    refresh_stages(a, w, c);
    struct det_box boxes[MAX_BOXES], motion[64];
    size_t n = 0, nmotion = 0;
    bool is_still = false, is_suppressed = false;
    char *derr = NULL;
    int rc = 0;
    double secs = 0;
    int64_t t0 = clock_monotonic_ns(clock_system());
    if (c->stages && !a->hooks.motion_cb) {
        bool ran = false;
        rc = det_stages_detect(c->stages, w->detector, img, luma.y ? &luma : NULL, boxes, MAX_BOXES,
                               &n, motion, HORUS_ARRAY_LEN(motion), &nmotion, &is_suppressed, &ran,
                               &derr);
        is_still = !ran;
    } else {
        if (a->hooks.motion_cb && luma.y) {
            int mrc = a->hooks.motion_cb(a->hooks.arg, c->id, &luma, img->utc_us, motion,
                                         HORUS_ARRAY_LEN(motion), &nmotion);
            if (mrc < 0)
                nmotion = 0;
            else
                is_still = nmotion == 0;
        }
        if (!is_still) {
            struct det_frame frame = det_image_frame(img);
            struct det_run_options ro = {.min_score = a->min_score};
            rc = det_detector_run(w->detector, &frame, &ro, boxes, MAX_BOXES, &n, &derr);
        }
    }
    if (!is_still)
        secs = (double)(clock_monotonic_ns(clock_system()) - t0) / 1e9;
    int64_t done_ns = clock_monotonic_ns(clock_system());
    struct det_hybrid_state hs;
    bool served = !is_still && det_hybrid_state(w->detector, &hs) == 0;
    pthread_mutex_lock(&a->lock);
    if (served)
        c->served_by = hs.last_served;
    if (rc < 0) {
        snprintf(c->last_error, sizeof(c->last_error), "%s: %s", det_detector_name(w->detector),
                 derr ? derr : horus_strerror(rc));
        if (!c->is_detect_error_logged)
            log_warn_kv(LOG_KV({"camera", c->id}), "analysis: %s (logged once per camera)",
                        c->last_error);
        c->is_detect_error_logged = true;
        n = 0;
    } else {
        c->last_error[0] = '\0';
        if (!is_still) {
            double ms = secs * 1000;
            c->inference_ms = c->frames ? c->inference_ms * 0.8 + ms * 0.2 : ms;
        }
    }
    c->frames++;
    c->recent_ns[c->next_recent] = done_ns;
    c->next_recent = (c->next_recent + 1) % RECENT;
    if (c->nrecent < RECENT)
        c->nrecent++;
    metrics_series *per_label[MAX_BOXES];
    for (size_t i = 0; i < n; i++)
        per_label[i] = label_series(a, c, w->detector, boxes[i].label);
    pthread_mutex_unlock(&a->lock);
    free(derr);
    if (c->m_frames)
        metrics_counter_inc(c->m_frames);
    if (!is_still && rc == 0 && a->m_inference)
        metrics_histogram_observe(a->m_inference, secs);
    for (size_t i = 0; i < n; i++)
        if (per_label[i])
            metrics_counter_inc(per_label[i]);

    struct det_report r = {.camera_id = c->id,
                           .stream = c->stream,
                           .image = img,
                           .analysed_us = clock_realtime_ms(clock_system()) * 1000,
                           .detections = boxes,
                           .detection_count = n,
                           .motion = motion,
                           .motion_count = nmotion,
                           .motion_suppressed = is_suppressed};
    if (a->hooks.track_cb)
        a->hooks.track_cb(a->hooks.arg, c->id, &r);
    else if (c->stages)
        det_stages_track(c->stages, &r);
    for (size_t i = 0; i < a->nobservers; i++)
        a->observers[i]->ops->report_cb(a->observers[i], &r);
    det_image_unref(img);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    det_analysis *a = w->a;
    pthread_mutex_lock(&a->lock);
    while (!a->is_stopping) {
        int64_t now = clock_monotonic_ns(clock_system());
        struct cam *c = pick(a, w, now);
        if (!c) {
            /* Packets arrive without a signal (ingest must not wake us): poll finely. */
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_nsec += 10 * 1000000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&a->cond, &a->lock, &until);
            continue;
        }
        pthread_mutex_unlock(&a->lock);
        analyse(a, w, c);
        pthread_mutex_lock(&a->lock);
        publish_skips(c);
        c->is_busy = false;
        pthread_cond_broadcast(&a->cond);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

static void collect_breakers(metrics_family *f, void *arg);

/* A new copy of labels[0..n), NULL when n is 0. */
static char **labels_copy(char *const *labels, int n)
{
    if (n <= 0 || !labels)
        return NULL;
    char **out = horus_calloc((size_t)n, sizeof(*out));
    for (int i = 0; i < n; i++)
        out[i] = horus_strdup(labels[i] ? labels[i] : "");
    return out;
}

void det_analysis_labels(det_analysis *a, char ***labels, int *count)
{
    pthread_mutex_lock(&a->lock);
    *labels = labels_copy(a->labels, a->nlabels);
    *count = *labels ? a->nlabels : 0;
    pthread_mutex_unlock(&a->lock);
}

int det_analysis_start(det_analysis *a)
{
    if (!a->enabled) {
        /* Only a camera's own options can ask for analysis now: say why there is none. */
        snprintf(a->error, sizeof(a->error), "detect.enabled is false: no analysis workers run");
        return 0;
    }
    a->workers = horus_calloc(a->threads, sizeof(*a->workers));
    for (unsigned i = 0; i < a->threads; i++) {
        char *msg = NULL;
        a->workers[i].a = a;
        int rc = det_detector_open(&a->spec, &a->workers[i].detector, &msg);
        if (rc < 0) {
            pthread_mutex_lock(&a->lock);
            snprintf(a->error, sizeof(a->error), "%s", msg ? msg : horus_strerror(rc));
            pthread_mutex_unlock(&a->lock);
            log_error_kv(LOG_KV({"detector", a->spec.type}, {"model", a->spec.model}),
                         "object detection is off: %s; cameras record normally", a->error);
            free(msg);
            return 0;
        }
    }
    bool hybrid = det_hybrid_state(a->workers[0].detector, &(struct det_hybrid_state){0}) == 0;
    const struct det_detector *d0 = a->workers[0].detector;
    char **labels = labels_copy(d0->labels, d0->label_count);
    pthread_mutex_lock(&a->lock);
    a->labels = labels;
    a->nlabels = labels ? d0->label_count : 0;
    a->is_hybrid = hybrid;
    pthread_mutex_unlock(&a->lock);
    if (a->metrics && hybrid)
        metrics_family_add(a->metrics,
                           &(struct metrics_desc){.type = METRICS_GAUGE,
                                                  .name = "horus_detect_breaker_state",
                                                  .help = "The hybrid detector's circuit breaker "
                                                          "per worker: 0 closed (the primary "
                                                          "serves), 1 half-open (probing), 2 open "
                                                          "(the fallback serves)",
                                                  .labels = "worker",
                                                  .collect_cb = collect_breakers,
                                                  .collect_arg = a});
    det_sampler_log_install();
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&a->cond);
    pthread_cond_init(&a->cond, &ca);
    pthread_condattr_destroy(&ca);
    for (unsigned i = 0; i < a->threads; i++) {
        char name[16];
        snprintf(name, sizeof(name), "det-%u", i);
        int rc = horus_thread_start(&a->workers[i].thread, name, worker_main, &a->workers[i]);
        if (rc < 0)
            return rc;
        a->workers[i].is_started = true;
    }
    log_info_kv(LOG_KV({"detector", a->spec.type}, {"model", a->spec.model}),
                "object detection: %u worker(s), %.3g fps per camera", a->threads, a->fps);
    return 0;
}

/* How open a breaker is, for "the most open": closed < half-open < open. */
static int openness(enum horus_breaker_state s)
{
    return s == HORUS_BREAKER_OPEN ? 2 : s == HORUS_BREAKER_HALF_OPEN ? 1 : 0;
}

/* Fills out's breaker fields when the workers' detectors are hybrids. Under a->lock. */
static void breaker_status(det_analysis *a, const struct cam *c, struct det_camera_status *out)
{
    bool any = false;
    enum horus_breaker_state worst = HORUS_BREAKER_CLOSED;
    for (unsigned i = 0; a->is_hybrid && i < a->threads; i++) {
        struct det_hybrid_state hs;
        if (!a->workers[i].detector || det_hybrid_state(a->workers[i].detector, &hs) < 0)
            continue;
        if (!any || openness(hs.breaker) > openness(worst))
            worst = hs.breaker;
        any = true;
    }
    if (!any)
        return;
    snprintf(out->breaker, sizeof(out->breaker), "%s", horus_breaker_state_name(worst));
    snprintf(out->served_by, sizeof(out->served_by), "%s", det_hybrid_served_name(c->served_by));
}

/* horus_detect_breaker_state{worker}: 0 closed, 1 half-open, 2 open (hybrid detectors only). */
static void collect_breakers(metrics_family *f, void *arg)
{
    det_analysis *a = arg;
    for (unsigned i = 0; i < a->threads; i++) {
        struct det_hybrid_state hs;
        if (!a->workers[i].detector || det_hybrid_state(a->workers[i].detector, &hs) < 0)
            continue;
        char name[16];
        snprintf(name, sizeof(name), "det-%u", i);
        metrics_gauge_set(metrics_series_get(f, name), openness(hs.breaker));
    }
}

bool det_analysis_camera_status(det_analysis *a, const char *camera_id,
                                struct det_camera_status *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&a->lock);
    struct cam *c = find(a, camera_id);
    if (!c) {
        pthread_mutex_unlock(&a->lock);
        return false;
    }
    snprintf(out->stream, sizeof(out->stream), "%s", c->stream);
    out->frames = c->frames;
    out->inference_ms = c->inference_ms;
    int64_t now = clock_monotonic_ns(clock_system());
    if (c->nrecent >= 2) {
        unsigned newest = (c->next_recent + RECENT - 1) % RECENT;
        unsigned oldest = (c->next_recent + RECENT - c->nrecent) % RECENT;
        int64_t span = c->recent_ns[newest] - c->recent_ns[oldest];
        if (span > 0 && now - c->recent_ns[newest] < 5 * INT64_C(1000000000))
            out->fps = (double)(c->nrecent - 1) * 1e9 / (double)span;
    }
    if (c->sampler) {
        publish_skips(c); /* drops at ingest show even while no frame is analysed */
        for (int i = 0; i < DET_SKIP_COUNT; i++)
            out->skipped += c->published[i];
    }
    breaker_status(a, c, out);
    const char *err = a->error[0] ? a->error : c->last_error;
    snprintf(out->last_error, sizeof(out->last_error), "%s", err);
    const char *state = a->error[0] || !c->sampler ? "error"
                        : c->nrecent && now - c->recent_ns[(c->next_recent + RECENT - 1) % RECENT] <
                                            5 * INT64_C(1000000000)
                            ? "running"
                            : "waiting";
    snprintf(out->state, sizeof(out->state), "%s", state);
    pthread_mutex_unlock(&a->lock);
    return true;
}

void det_analysis_stop(det_analysis *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    a->is_stopping = true;
    pthread_cond_broadcast(&a->cond);
    pthread_mutex_unlock(&a->lock);
    for (unsigned i = 0; a->workers && i < a->threads; i++) {
        if (a->workers[i].is_started)
            pthread_join(a->workers[i].thread, NULL);
        a->workers[i].is_started = false;
    }
    while (a->cams) {
        char *id = horus_strdup(a->cams->id);
        det_analysis_detach(a, id);
        free(id);
    }
}

void det_analysis_free(det_analysis *a)
{
    if (!a)
        return;
    det_analysis_stop(a);
    for (unsigned i = 0; a->workers && i < a->threads; i++) {
        det_detector_close(a->workers[i].detector);
        free(a->workers[i].entries);
        free(a->workers[i].cams);
    }
    free(a->workers);
    det_labels_free(a->labels, a->nlabels);
    while (a->overrides) {
        struct override *o = a->overrides;
        a->overrides = o->next;
        free(o->analytics);
        free(o->id);
        free(o);
    }
    for (size_t i = 0; i < a->ncameras; i++)
        free(a->cameras[i]);
    free(a->cameras);
    free((char *)a->spec.type);
    free((char *)a->spec.model);
    free((char *)a->spec.labels);
    free((char *)a->spec.head);
    free((char *)a->spec.device);
    free((char *)a->spec.url);
    free((char *)a->spec.api_key);
    free((char *)a->fallback.type);
    free((char *)a->fallback.model);
    free((char *)a->fallback.labels);
    free((char *)a->fallback.url);
    free((char *)a->fallback.api_key);
    pthread_cond_destroy(&a->cond);
    pthread_mutex_destroy(&a->lock);
    free(a);
}
