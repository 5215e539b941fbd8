/*
 * One camera's frame source (docs/design/0050), private to src/frames: a
 * media_sink whose callbacks (the ingest thread, after the recorder) only
 * queue a packet reference in a bounded ring under a lock held for a few
 * instructions, and the decoding side a frm-N worker calls (libavcodec,
 * one thread).
 */
#ifndef HORUS_FRAMES_SOURCE_INT_H
#define HORUS_FRAMES_SOURCE_INT_H

#include "media.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct AVFrame;

#define FRAMES_SRC_RING 64 /* packets queued per camera: a few seconds of the sub stream */

typedef struct frames_src frames_src;

/* keyframes_only: queue only keyframes and decode each alone. */
frames_src *frames_src_new(const char *camera, bool is_keyframes_only);
media_sink *frames_src_sink(frames_src *s);

/* Whether the worker has anything to do (packets, or a new stream to open). Thread: any. */
bool frames_src_has_work(frames_src *s);

/* Packets dropped for a full ring since the last call (then zero). Thread: any. */
uint64_t frames_src_take_dropped(frames_src *s);

/*
 * A decoded frame: borrowed for the call; capture_us its wall-clock capture
 * time (the packet's, docs/design/0047); is_keyframe an intra picture.
 */
typedef void (*frames_frame_cb)(void *arg, const struct AVFrame *f, int64_t capture_us,
                                bool is_keyframe);

/*
 * Decodes what is queued, in order, and calls cb for each frame. Returns
 * the packets that could not be decoded (their reason, once per camera,
 * in err; "" when none). Thread: one worker at a time.
 */
uint64_t frames_src_decode(frames_src *s, frames_frame_cb cb, void *arg, char *err, size_t cap);

/* After the producer stopped calling the sink. NULL: nothing. */
void frames_src_free(frames_src *s);

#endif
