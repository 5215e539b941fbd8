/*
 * --pacing spread and --jitter: when each RTP packet of a frame may leave
 * under --write packet. See pacing.c.
 */
#ifndef HORUS_CAMSIM_PACING_H
#define HORUS_CAMSIM_PACING_H

#include "rtp.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct cs_pacer {
    bool is_spread; /* spread a frame's packets over half the frame interval */
    int jitter_ms; /* each frame starts 0..jitter_ms late */
    int64_t last_due_ns; /* the latest frame's start: frames never overtake */
    int64_t last_video_ns; /* arrival of the previous video frame */
    int64_t interval_ns; /* the video frame interval seen last */
    uint64_t rng; /* xorshift64 state */
} cs_pacer;

/* Sets up p from the options; seed makes the jitter differ between runs. */
void cs_pacer_init(cs_pacer *p, bool is_spread, int jitter_ms, uint64_t seed);

/* Stamps a new media frame that arrived at now_ns with its start time and spread window. */
void cs_pacer_stamp(cs_pacer *p, cs_frame *frame, int64_t now_ns);

/* When packet index (0-based) of frame may be sent; 0 for frames never stamped. */
int64_t cs_pacer_due(const cs_frame *frame, uint32_t index);

#endif
