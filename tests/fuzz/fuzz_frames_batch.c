/*
 * libFuzzer driver for frames_batch_parse (src/frames/batch.c), the reader
 * of the frame batch container (docs/frames.md). Checks what a consumer
 * relies on: an accepted body's frames lie inside it, in order, without
 * gaps, up to its end, with sane sizes; a refused one always says why; and
 * writing the accepted frames back gives a body that parses to the same
 * frames.
 */
#include "frames_batch.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct frames_batch_item items[FRAMES_BATCH_MAX], again[FRAMES_BATCH_MAX];
    char camera[72], camera2[72], why[200] = "";
    size_t n = 0, n2 = 0;
    if (frames_batch_parse(data, size, camera, sizeof(camera), items, FRAMES_BATCH_MAX, &n, why,
                           sizeof(why)) != 0) {
        if (!why[0] || n != 0)
            __builtin_trap();
        return 0;
    }
    if (n == 0 || n > FRAMES_BATCH_MAX || !camera[0])
        __builtin_trap();
    const uint8_t *end = data + size;
    const uint8_t *at = items[0].jpeg;
    for (size_t i = 0; i < n; i++) {
        if (items[i].jpeg != at || items[i].len == 0 || items[i].jpeg + items[i].len > end ||
            items[i].info.width < 1 || items[i].info.height < 1 || items[i].info.quality < 1 ||
            items[i].info.quality > 100 || items[i].info.seq < 1)
            __builtin_trap();
        at += items[i].len;
    }
    if (at != end)
        __builtin_trap();
    uint8_t *buf = NULL;
    size_t len = 0;
    if (frames_batch_write(camera, items, n, &buf, &len) != 0)
        __builtin_trap();
    if (frames_batch_parse(buf, len, camera2, sizeof(camera2), again, FRAMES_BATCH_MAX, &n2, why,
                           sizeof(why)) != 0 ||
        n2 != n || strcmp(camera, camera2) != 0)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        const struct frames_frame_info *a = &again[i].info, *b = &items[i].info;
        if (a->seq != b->seq || a->capture_us != b->capture_us || a->width != b->width ||
            a->height != b->height || a->is_keyframe != b->is_keyframe ||
            a->quality != b->quality || again[i].len != items[i].len ||
            memcmp(again[i].jpeg, items[i].jpeg, items[i].len) != 0)
            __builtin_trap();
    }
    free(buf);
    return 0;
}
