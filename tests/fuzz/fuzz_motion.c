/*
 * libFuzzer driver for the motion detector and the crop planner
 * (src/detect/motion.c, motion_crop.c) with sizes, options, masks, times
 * and pixels taken from the input: no plane size, mask shape or clock
 * jump may crash them or put a box outside the frame.
 * Layout: width-1, height-1, scale_height-1, threshold, dilate, mask point
 * count, then mask points (2 bytes each), then frames (one time step byte
 * and the pixels, repeated while bytes last), then motion boxes for the
 * planner from what remains.
 * Invariants: boxes lie in [0,1] with x0 < x1, y0 < y1, label -1 and a
 * score in (0,1]; no boxes on a suppressed frame; crops lie in the frame,
 * at most max_crops of them.
 */
#include "motion.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void check_box(const struct det_box *b)
{
    check(b->x0 >= 0 && b->x0 < b->x1 && b->x1 <= 1);
    check(b->y0 >= 0 && b->y0 < b->y1 && b->y1 <= 1);
    check(b->label == -1 && b->score > 0 && b->score <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    int w = data[0] % 64 + 1, h = data[1] % 64 + 1;
    struct det_motion_options o = {.scale_height = data[2] % 48 + 1,
                                   .threshold = data[3] % 254 + 1,
                                   .dilate = data[4] % 4 + 1};
    size_t npts = data[5] % 8;
    data += 6;
    size -= 6;
    struct det_motion *m = NULL;
    char *err = NULL;
    check(det_motion_new(&o, &m, &err) == 0);
    struct det_point pts[8];
    size_t k = 0;
    for (; k < npts && size >= 2; k++, data += 2, size -= 2)
        pts[k] = (struct det_point){(float)data[0] / 255.0f, (float)data[1] / 255.0f};
    struct det_motion_mask mask = {pts, k};
    int rc = det_motion_set_masks(m, &mask, k > 0 ? 1 : 0, &err);
    check(rc == 0 || (k > 0 && k < 3 && err != NULL));
    free(err);

    size_t plane = (size_t)w * (size_t)h;
    int64_t t = 0;
    struct det_box boxes[8];
    size_t nb = 0;
    while (size >= plane + 1) {
        t += (int64_t)((int8_t)data[0]) * 50000; /* may go back */
        struct det_motion_result res;
        check(det_motion_feed(m, data + 1, w, h, w, t, boxes, 8, &res) == 0);
        check(res.box_count <= 8 && res.box_count <= res.region_count);
        check(!res.is_suppressed || res.box_count == 0);
        for (size_t i = 0; i < res.box_count; i++)
            check_box(&boxes[i]);
        nb = res.box_count;
        data += plane + 1;
        size -= plane + 1;
    }
    det_motion_free(m);

    /* the planner: the last frame's boxes and boxes from what remains */
    for (; nb < 8 && size >= 4; nb++, data += 4, size -= 4) {
        float x0 = (float)data[0] / 255.0f, y0 = (float)data[1] / 255.0f;
        float x1 = x0 + (1.0f - x0) * (float)data[2] / 255.0f;
        float y1 = y0 + (1.0f - y0) * (float)data[3] / 255.0f;
        boxes[nb] = (struct det_box){x0, y0, x1, y1, 1, -1};
    }
    int fw = w * 30, fh = h * 17, iw = 32 + 16 * (w % 20), ih = 32 + 16 * (h % 20);
    struct det_crop_options co = {.max_crops = w % 5 + 1};
    struct det_crop crops[16];
    size_t nc = det_crop_plan(boxes, nb, fw, fh, iw, ih, &co, crops);
    check(nc <= (size_t)co.max_crops && (nb == 0) == (nc == 0));
    for (size_t i = 0; i < nc; i++) {
        const struct det_crop *c = &crops[i];
        check(c->x >= 0 && c->y >= 0 && c->width >= 1 && c->height >= 1);
        check(c->x + c->width <= fw && c->y + c->height <= fh);
    }
    return 0;
}
