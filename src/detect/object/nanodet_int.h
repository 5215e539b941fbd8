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
#include <stdint.h>

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

/* Levels (strides) a NanoDet model may have: two outputs each. */
#define DET_NANODET_MAX_LEVELS 5

/* One of a model's outputs as its runtime declares it. */
struct det_nanodet_output {
    const char *name; /* borrowed */
    size_t ndims;
    int64_t dims[8]; /* -1: dynamic */
};

/* A level: which outputs hold its scores and distances. */
struct det_nanodet_head {
    int scores_output, dist_output; /* indices into the outputs */
    int cells, stride;
};

/*
 * Checks a model's outputs against what det_nanodet_decode understands and
 * pairs them into levels: per level a scores output [1,N,labels] and a
 * distances output [1,N,4*bins] of the same N, N the cells of a stride
 * 8..128 grid over input_w x input_h, the same bins everywhere. Fills
 * heads (DET_NANODET_MAX_LEVELS), *nheads and *bins and returns 0, or
 * returns HORUS_ECONFIG with *errmsg (new) naming the output and its shape:
 * "output 'y' has shape [1,676,81], expected [1,N,80] (scores) or ...".
 * Shared by every backend that runs NanoDet (onnx.c, opencv.cpp).
 */
int det_nanodet_layout(const struct det_nanodet_output *outs, size_t n, int input_w, int input_h,
                       int labels, struct det_nanodet_head *heads, int *nheads, int *bins,
                       char **errmsg);

/* "[1,3,416,416]" into buf. */
void det_nanodet_format_shape(char *buf, size_t size, const int64_t *dims, size_t n);

/*
 * The model's input, letterboxed (letterbox.c): the frame scaled into
 * width x height keeping its aspect ratio (bilinear), centred, the border
 * at NanoDet's mean colour, as planar B, G, R normalised with NanoDet's
 * mean and standard deviation: what every NanoDet backend feeds its model.
 */
struct det_nanodet_input {
    int width, height; /* the model's input */
    float *planes; /* owned; 3 x height x width: B, G, R */
    int *xi; /* owned; per input column: left source pixel */
    float *xw; /* owned; per input column: weight of the right pixel */
};

/* Allocates in's buffers for a width x height input. */
void det_nanodet_input_init(struct det_nanodet_input *in, int width, int height);

/* Frees in's buffers; a zeroed in does nothing. */
void det_nanodet_input_free(struct det_nanodet_input *in);

/*
 * Letterboxes frame f into in->planes normalised as (v - mean) / std per
 * channel, mean and std in the model's channel order, planes B, G, R when
 * is_bgr, else R, G, B; says where the frame went in *lb. The onnx backend
 * uses it with each head's normalisation (heads_int.h).
 */
void det_input_letterbox(struct det_nanodet_input *in, const struct det_frame *f,
                         const float mean[3], const float std[3], int is_bgr,
                         struct det_letterbox *lb);

/* Letterboxes frame f into in->planes and says where it went in *lb. */
void det_nanodet_letterbox(struct det_nanodet_input *in, const struct det_frame *f,
                           struct det_letterbox *lb);

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
