/*
 * One analysed camera stream's sampler (docs/design/0036), private to
 * src/detect: a media_sink whose callbacks (ingest threads) only queue
 * packet references in a bounded slot (slot.h), and the decoding side the
 * analysis worker calls: libavcodec with one thread, libswscale to RGB24.
 */
#ifndef HORUS_DETECT_SAMPLER_H
#define HORUS_DETECT_SAMPLER_H

#include "analysis.h"
#include "slot.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct det_sampler det_sampler;

/* Packets queued per camera stream: a few seconds of video at most. */
#define DET_SAMPLER_QUEUE 128
/* Analysis frames are at most this wide (aspect kept). */
#define DET_SAMPLER_MAX_WIDTH 640

/* Routes libav's messages to debug log lines (process-wide). Thread: main, before decoding. */
void det_sampler_log_install(void);

det_sampler *det_sampler_new(const char *camera_id, enum det_decode mode);
media_sink *det_sampler_sink(det_sampler *s);
/* Keyframes only or all frames, from the next keyframe on. Thread: any. */
void det_sampler_set_mode(det_sampler *s, enum det_decode mode);
/* Monotonic arrival of the oldest queued packet, 0 when none. Thread: any. */
int64_t det_sampler_ready_since(det_sampler *s);
/* Frames skipped so far, per reason (cumulative). Thread: any. */
void det_sampler_skips(det_sampler *s, uint64_t out[DET_SKIP_COUNT]);

/*
 * Decodes what is queued and, when the newest frame is due (one every
 * interval_us of media time), makes *img (new reference, RGB24, at most
 * DET_SAMPLER_MAX_WIDTH wide) and *luma (the decoder's Y plane, valid
 * until the next call). Returns true when it made a frame. Decode errors
 * are counted, logged once per camera with the reason in *err (a sentence
 * the caller copies; "" when none). Thread: one worker at a time.
 */
bool det_sampler_next(det_sampler *s, int64_t interval_us, struct det_image **img,
                      struct det_luma *luma, char *err, size_t err_size);

/* After the producer stopped calling the sink. NULL does nothing. */
void det_sampler_free(det_sampler *s);

#endif
