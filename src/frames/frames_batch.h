/*
 * The batch container of frame messages (docs/frames.md, version 1): a
 * message that carries more than one JPEG is one line of JSON, the index,
 * then a newline, then the JPEGs back to back:
 *
 *   {"schema":"horus.frames.batch/1","camera":"door","frames":[
 *     {"seq":7,"capture_us":...,"capture_time":"...Z","width":640,"height":360,
 *      "keyframe":true,"quality":75,"offset":0,"length":31337}, ...]}\n
 *   <JPEG 0><JPEG 1>...
 *
 * offset and length locate each JPEG in the bytes after the newline; the
 * frames follow each other with no gap and nothing trails the last.
 * Content type FRAMES_BATCH_CONTENT_TYPE. Pure; thread: any.
 */
#ifndef HORUS_FRAMES_BATCH_H
#define HORUS_FRAMES_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAMES_BATCH_SCHEMA "horus.frames.batch/1"
#define FRAMES_BATCH_CONTENT_TYPE "application/vnd.horus.frames-batch.v1"
#define FRAMES_SINGLE_SCHEMA "horus.frame/1" /* a single JPEG's "horus-schema" header */
#define FRAMES_BATCH_INDEX_MAX 65536 /* bytes of the index line a parser reads at most */
#define FRAMES_BATCH_MAX 64 /* frames in one message */

/* What a frame message says of one frame. */
struct frames_frame_info {
    int64_t seq; /* per camera, from 1, never reused while the daemon runs */
    int64_t capture_us; /* capture time, UTC microseconds (the camera clock, docs/design/0047) */
    int width, height;
    bool is_keyframe;
    int quality; /* JPEG quality 1..100 it was encoded at */
};

struct frames_batch_item {
    struct frames_frame_info info;
    const uint8_t *jpeg; /* borrowed */
    size_t len;
};

/*
 * Writes the container of items[0..n) (1..FRAMES_BATCH_MAX) of camera
 * into a new buffer (*out, free()) of *len bytes. Returns 0 or -EINVAL.
 */
int frames_batch_write(const char *camera, const struct frames_batch_item *items, size_t n,
                       uint8_t **out, size_t *len);

/*
 * Reads a container: camera (cap bytes) and up to cap_items items whose
 * jpeg pointers point into body. Returns 0 with *n set, or -EINVAL with a
 * reason in why (the field or the byte range at fault). Fuzzed by
 * fuzz_frames_batch.
 */
int frames_batch_parse(const uint8_t *body, size_t len, char *camera, size_t camera_cap,
                       struct frames_batch_item *items, size_t cap_items, size_t *n, char *why,
                       size_t why_cap);

#endif
