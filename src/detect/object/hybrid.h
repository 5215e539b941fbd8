/*
 * The "hybrid" detector backend: a primary (a remote GPU node, typically)
 * and a fallback (the local CPU model) behind a circuit breaker
 * (breaker.h). While the breaker is closed the primary serves and a frame
 * it fails is served by the fallback; while open the fallback serves
 * alone; after the cool-down one frame probes the primary again.
 */
#ifndef HORUS_DETECT_HYBRID_H
#define HORUS_DETECT_HYBRID_H

#include "breaker.h"
#include "detect.h"

#include <stdint.h>

struct det_hybrid_options {
    struct det_detector *primary; /* stolen (also on failure) */
    struct det_detector *fallback; /* stolen (also on failure) */
    int failures_to_open; /* consecutive failures that open the breaker; 0 = 3 */
    int64_t cooldown_ms; /* first cool-down; 0 = 5000 */
    int64_t cooldown_max_ms; /* the cool-down doubles up to this; 0 = 60000 */
    /* Monotonic milliseconds; NULL = CLOCK_MONOTONIC (tests inject time). */
    int64_t (*now_ms_cb)(void *arg);
    void *clock_arg;
};

/*
 * Makes a hybrid of two detectors. Its labels are the primary's; the
 * fallback's boxes are mapped to them by name, and fallback labels the
 * primary does not have are dropped. Returns 0 and *out (new), or -EINVAL
 * (a detector missing) with *errmsg (new). Thread: any.
 * Run returns the primary's result, else the fallback's; it fails only when
 * the fallback fails too (the message names both causes).
 */
int det_hybrid_open(const struct det_hybrid_options *opt, struct det_detector **out, char **errmsg);

enum det_hybrid_served {
    DET_HYBRID_NONE, /* nothing ran yet, or both failed */
    DET_HYBRID_PRIMARY,
    DET_HYBRID_FALLBACK,
};

struct det_hybrid_state {
    enum horus_breaker_state breaker;
    enum det_hybrid_served last_served; /* who served the last run */
    int consecutive_failures;
    int64_t cooldown_ms; /* the current cool-down */
    uint64_t primary_runs, fallback_runs; /* frames each served */
    uint64_t primary_failures, opens;
    char last_error[256]; /* the primary's last failure ("" = none) */
};

/*
 * Copies d's state (status, metrics) into *out. Returns 0, or -EINVAL when
 * d is not a hybrid. Thread: any (a mutex guards the state).
 */
int det_hybrid_state(const struct det_detector *d, struct det_hybrid_state *out);

const char *det_hybrid_served_name(enum det_hybrid_served s);

#endif
