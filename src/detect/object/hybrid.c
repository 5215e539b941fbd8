/*
 * DESIGN: the "hybrid" detector (hybrid.h). The breaker logic is pure
 * (breaker.c); this file adds the clock, the two detectors, the label
 * mapping of the fallback and a mutex so that status and metrics may read
 * the state from other threads while the detector's user runs it. The
 * mutex is never held across a detector run (a remote run may take
 * seconds): only around breaker decisions and counters.
 */
#include "hybrid.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct det_hybrid {
    struct det_detector base; /* first; labels are a copy of the primary's */
    struct det_detector *primary, *fallback; /* owned */
    int *fallback_map; /* owned: fallback label -> primary label, -1 = dropped */
    int64_t (*now_ms_cb)(void *arg);
    void *clock_arg;
    pthread_mutex_t lock; /* guards breaker and state */
    struct horus_breaker breaker;
    struct det_hybrid_state state;
};

static int64_t mono_ms(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void hybrid_close(struct det_detector *d)
{
    struct det_hybrid *h = (struct det_hybrid *)d;
    det_detector_close(h->primary);
    det_detector_close(h->fallback);
    free(h->fallback_map);
    det_labels_free(d->labels, d->label_count);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

static void sync_state(struct det_hybrid *h)
{
    h->state.breaker = h->breaker.state;
    h->state.consecutive_failures = h->breaker.consecutive_failures;
    h->state.cooldown_ms = h->breaker.cooldown_now_ms;
    h->state.opens = h->breaker.opens;
}

static int hybrid_run(struct det_detector *d, const struct det_frame *frame,
                      const struct det_run_options *opt, struct det_box *out, size_t cap, size_t *n,
                      char **errmsg)
{
    struct det_hybrid *h = (struct det_hybrid *)d;
    char *perr = NULL, *ferr = NULL;
    pthread_mutex_lock(&h->lock);
    bool try_primary = horus_breaker_allow(&h->breaker, h->now_ms_cb(h->clock_arg));
    sync_state(h);
    pthread_mutex_unlock(&h->lock);
    if (try_primary) {
        int rc = det_detector_run(h->primary, frame, opt, out, cap, n, &perr);
        pthread_mutex_lock(&h->lock);
        if (rc == 0) {
            horus_breaker_success(&h->breaker);
            h->state.primary_runs++;
            h->state.last_served = DET_HYBRID_PRIMARY;
        } else {
            horus_breaker_failure(&h->breaker, h->now_ms_cb(h->clock_arg), rc == -ETIMEDOUT);
            h->state.primary_failures++;
            snprintf(h->state.last_error, sizeof(h->state.last_error), "%s",
                     perr ? perr : horus_strerror(rc));
        }
        sync_state(h);
        pthread_mutex_unlock(&h->lock);
        if (rc == 0)
            return 0;
    }
    int rc = det_detector_run(h->fallback, frame, opt, out, cap, n, &ferr);
    if (rc == 0) {
        size_t kept = 0;
        for (size_t i = 0; i < *n; i++) {
            int l = out[i].label;
            if (l < 0 || l >= h->fallback->label_count || h->fallback_map[l] < 0)
                continue;
            out[kept] = out[i];
            out[kept++].label = h->fallback_map[l];
        }
        *n = kept;
    }
    pthread_mutex_lock(&h->lock);
    if (rc == 0) {
        h->state.fallback_runs++;
        h->state.last_served = DET_HYBRID_FALLBACK;
    } else {
        h->state.last_served = DET_HYBRID_NONE;
    }
    pthread_mutex_unlock(&h->lock);
    if (rc && errmsg)
        *errmsg = horus_asprintf("hybrid: fallback %s: %s (primary: %s)",
                                 det_detector_name(h->fallback), ferr ? ferr : horus_strerror(rc),
                                 perr ? perr : "not tried, breaker open");
    free(perr);
    free(ferr);
    return rc;
}

static const struct det_detector_ops hybrid_ops = {
    .name = "hybrid",
    .run = hybrid_run,
    .close = hybrid_close,
};

int det_hybrid_open(const struct det_hybrid_options *opt, struct det_detector **out, char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    if (!opt->primary || !opt->fallback) {
        det_detector_close(opt->primary);
        det_detector_close(opt->fallback);
        *errmsg = horus_strdup(opt->primary ? "fallback: required" : "primary: required");
        return -EINVAL;
    }
    struct det_hybrid *h = horus_calloc(1, sizeof(*h));
    h->base.ops = &hybrid_ops;
    h->primary = opt->primary;
    h->fallback = opt->fallback;
    h->base.input_width = h->primary->input_width;
    h->base.input_height = h->primary->input_height;
    h->base.label_count = h->primary->label_count;
    h->base.labels = horus_calloc((size_t)h->base.label_count + 1, sizeof(char *));
    for (int i = 0; i < h->base.label_count; i++)
        h->base.labels[i] = horus_strdup(h->primary->labels[i]);
    h->fallback_map = horus_calloc((size_t)h->fallback->label_count + 1, sizeof(int));
    for (int i = 0; i < h->fallback->label_count; i++) {
        h->fallback_map[i] = -1;
        for (int j = 0; j < h->base.label_count; j++)
            if (strcmp(h->fallback->labels[i], h->base.labels[j]) == 0) {
                h->fallback_map[i] = j;
                break;
            }
    }
    h->now_ms_cb = opt->now_ms_cb ? opt->now_ms_cb : mono_ms;
    h->clock_arg = opt->clock_arg;
    pthread_mutex_init(&h->lock, NULL);
    horus_breaker_init(&h->breaker, opt->failures_to_open, opt->cooldown_ms, opt->cooldown_max_ms);
    sync_state(h);
    *out = &h->base;
    return 0;
}

int det_hybrid_state(const struct det_detector *d, struct det_hybrid_state *out)
{
    if (!d || d->ops != &hybrid_ops)
        return -EINVAL;
    struct det_hybrid *h = (struct det_hybrid *)d;
    pthread_mutex_lock(&h->lock);
    *out = h->state;
    pthread_mutex_unlock(&h->lock);
    return 0;
}

const char *det_hybrid_served_name(enum det_hybrid_served s)
{
    switch (s) {
    case DET_HYBRID_PRIMARY:
        return "primary";
    case DET_HYBRID_FALLBACK:
        return "fallback";
    case DET_HYBRID_NONE:
        return "none";
    }
    return "?";
}
