/*
 * NanoDet output decoding, apart from any runtime so that it can be tested
 * and fuzzed alone (tests/fuzz/fuzz_detect_decode.c).
 *
 * NanoDet (GFL head) outputs per level of stride s, for the N = gw*gh cells
 * of a grid over the input (gw = ceil(input_w / s)):
 *   scores [N, classes]      already through a sigmoid (0..1)
 *   distances [N, 4*bins]    for left, top, right, bottom: logits over bins
 *                            0..bins-1; softmax, expectation, times s =
 *                            the side's distance from the cell centre
 *                            ((col + 0.5) * s, (row + 0.5) * s)
 */
#ifndef HORUS_DETECT_NANODET_INT_H
#define HORUS_DETECT_NANODET_INT_H

#include "detect.h"

#include <stddef.h>

struct det_nanodet_level {
    const float *scores; /* borrowed; [cells][classes] */
    const float *dist; /* borrowed; [cells][4 * bins] */
    int cells, stride;
};

/* How the frame was placed into the model's input (letterbox). */
struct det_letterbox {
    int input_w, input_h; /* the model's input */
    int frame_w, frame_h; /* the original frame */
    float scale; /* input pixels per frame pixel */
    float pad_x, pad_y; /* input pixels left of and above the frame */
};

/*
 * Appends to out (at most cap) one box per cell whose best class scores at
 * least min_score, with the best class as its label, in normalised frame
 * coordinates clipped to [0,1]; cells whose box is empty after clipping or
 * whose values are not finite are skipped. Returns the number written.
 * Checks nothing about the sizes: the caller matched them to the model.
 */
size_t det_nanodet_decode(const struct det_nanodet_level *levels, int nlevels, int classes,
                          int bins, const struct det_letterbox *lb, float min_score,
                          struct det_box *out, size_t cap);

/*
 * The stride of a level of `cells` cells for an input of w x h, trying
 * 8, 16, 32, 64 and 128: the one whose grid has that many cells; 0 if none.
 */
int det_nanodet_stride(int w, int h, int cells);

#endif
