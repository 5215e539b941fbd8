/*
 * The adaptive controller of one camera's frames (docs/design/0050),
 * private to src/frames and its unit tests. Pure: no threads, no clock
 * (time is each call's argument), no I/O.
 *
 * Steps from 0 (what the configuration asks) to FRAMES_ADAPT_STEPS - 1:
 * quality is lowered first, then the size, then the rate. Under pressure
 * (a bus queue dropped a message, a queue more than three quarters full,
 * or the bytes per second over the budget) the controller goes one step
 * down at most once a second; after FRAMES_ADAPT_CLEAR_S clear seconds in
 * a row (no drop, queues at most a quarter full, bytes at most 70% of the
 * budget) it comes one step back up, and the count starts over.
 */
#ifndef HORUS_FRAMES_ADAPT_INT_H
#define HORUS_FRAMES_ADAPT_INT_H

#include <stdbool.h>
#include <stdint.h>

#define FRAMES_ADAPT_STEPS 7
#define FRAMES_ADAPT_CLEAR_S 5
#define FRAMES_ADAPT_MIN_QUALITY 10
#define FRAMES_ADAPT_MIN_WIDTH 160

/* What one step does to the configured quality, width and rate, in percent. */
struct frames_adapt_level {
    int quality_pct, width_pct, fps_pct;
};

struct frames_adapt {
    int step; /* 0 = as configured */
    int clear_s; /* clear windows in a row */
    int64_t last_change_ms; /* INT64_MIN: never */
};

/* One second's observations. */
struct frames_adapt_input {
    uint64_t dropped; /* messages dropped from the camera's bus queues in the window */
    double fill; /* the fullest of its bus queues now, 0..1 */
    double bytes_per_s; /* encoded bytes the camera produced per second in the window */
    double budget; /* bytes per second; 0 = none */
};

void frames_adapt_init(struct frames_adapt *a);

/*
 * Takes one window's input at now_ms; returns the change of step: +1
 * (lower quality, size or rate), -1 (one step back up) or 0.
 */
int frames_adapt_update(struct frames_adapt *a, const struct frames_adapt_input *in,
                        int64_t now_ms);

/* The level of step (0..FRAMES_ADAPT_STEPS - 1). */
struct frames_adapt_level frames_adapt_level_of(int step);

/*
 * The settings of step from the configured ones: quality 1..100 (not
 * below FRAMES_ADAPT_MIN_QUALITY unless configured lower), a width of at
 * least FRAMES_ADAPT_MIN_WIDTH (unless configured lower), fps > 0.
 */
void frames_adapt_apply(int step, int quality, int max_width, double fps, int *quality_out,
                        int *width_out, double *fps_out);

/* mjpeg's quantiser for a JPEG quality: 100 -> 2 (best) .. 1 -> 31. */
int frames_quality_to_qscale(int quality);

#endif
