/*
 * Refcounted RGB24 pictures shared by the analysis pipeline and its
 * observers (report.h): one allocation holds the header and the pixels.
 */
#include "report.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "mem.h"

struct image_block {
    struct det_image pub;
    atomic_int refs;
    uint8_t pixels[];
};

struct det_image *det_image_new(int width, int height, int64_t utc_us, uint8_t **pixels,
                                int *stride_bytes)
{
    horus_assert(width > 0 && height > 0 && width <= 16384 && height <= 16384);
    size_t stride = ((size_t)width * 3 + 31) & ~(size_t)31;
    struct image_block *b = horus_malloc(sizeof(*b) + stride * (size_t)height);
    b->pub.rgb = b->pixels;
    b->pub.width = width;
    b->pub.height = height;
    b->pub.stride_bytes = (int)stride;
    b->pub.utc_us = utc_us;
    atomic_init(&b->refs, 1);
    *pixels = b->pixels;
    *stride_bytes = (int)stride;
    return &b->pub;
}

struct det_image *det_image_ref(struct det_image *img)
{
    struct image_block *b = (struct image_block *)img;
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return img;
}

void det_image_unref(struct det_image *img)
{
    if (!img)
        return;
    struct image_block *b = (struct image_block *)img;
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        free(b);
}

struct det_frame det_image_frame(const struct det_image *img)
{
    return (struct det_frame){.rgb = img->rgb,
                              .width = img->width,
                              .height = img->height,
                              .stride_bytes = img->stride_bytes};
}
