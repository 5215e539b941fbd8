/* Private to src/supervisor and its unit tests. */
#ifndef HORUS_SUPERVISOR_SUP_INT_H
#define HORUS_SUPERVISOR_SUP_INT_H

#include "storage.h"

#include <stdbool.h>
#include <stdint.h>

/*
 * What a camera's pipeline is built from (URLs, enabled, recording,
 * segment length) as a new string: when it differs from the running
 * pipeline's, sync restarts the camera. Other fields (name, retention)
 * change nothing that runs. Thread: any.
 */
char *sup_camera_fingerprint(const struct sto_camera *c);

/*
 * A stream's frame and byte rates over its last few status passes: a
 * ring of (monotonic time, video frames, bytes) samples of ingest's
 * cumulative counters, one a pass (about a second). Plain data, main
 * thread only.
 */
#define SUP_RATE_SAMPLES 6 /* 5 intervals: ~5 s at the 1 s tick */
struct sup_rate {
    int64_t t_ns[SUP_RATE_SAMPLES];
    uint64_t frames[SUP_RATE_SAMPLES];
    uint64_t bytes[SUP_RATE_SAMPLES];
    unsigned n; /* samples held, <= SUP_RATE_SAMPLES */
    unsigned next; /* where the next sample goes */
};

/* Forgets every sample (the stream went down, or restarted). */
void sup_rate_reset(struct sup_rate *r);
/*
 * Adds a sample. Counters that went back (a new ingest with fresh counts)
 * or a clock that did not advance start the window over. Thread: main.
 */
void sup_rate_add(struct sup_rate *r, int64_t now_ns, uint64_t frames, uint64_t bytes);
/*
 * Frames per second and bits per second between the oldest and newest
 * sample. Returns false (nothing written) until the samples span at least
 * half a second.
 */
bool sup_rate_get(const struct sup_rate *r, double *fps, double *bits_per_s);

#endif
