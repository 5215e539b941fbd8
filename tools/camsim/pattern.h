/*
 * The generated test picture and test tone.
 */
#ifndef HORUS_CAMSIM_PATTERN_H
#define HORUS_CAMSIM_PATTERN_H

#include <stdint.h>

typedef struct cs_pattern cs_pattern;

/* Returns a new pattern for even width x height (YUV 4:2:0). */
cs_pattern *cs_pattern_new(int width, int height, int fps);
void cs_pattern_free(cs_pattern *pat);

/*
 * Draws picture number frame_index into the three planes: colour bars, a
 * grey ramp, a ball that bounces by frame number, and wall_ns as a UTC
 * clock with milliseconds ("2026-03-04 10:15:02.123").
 */
void cs_pattern_draw(const cs_pattern *pat, int64_t frame_index, int64_t wall_ns,
                     uint8_t *const planes[3], const int strides[3]);

/*
 * Fills n mono samples: a 1 kHz beep during the first 100 ms of every wall
 * clock second, silence otherwise. wall_ns is the time of the first sample.
 */
void cs_pattern_tone(float *out, int n, int rate_hz, int64_t wall_ns);

#endif
