/*
 * The "onnx" detector backend: an ONNX model run by ONNX Runtime's C API on
 * the CPU, with NanoDet's, CenterNet's, YOLO's or SSD's outputs decoded
 * (heads_int.h, docs/design/0044-model-heads.md).
 */
#ifndef HORUS_DETECT_ONNX_H
#define HORUS_DETECT_ONNX_H

#include "detect.h"

struct det_onnx_options {
    const char *model_path; /* an .onnx file; borrowed during the call */
    const char *labels_path; /* a labels file (detect.h), one line per class */
    int input_size; /* 0: the model's own; else must equal the model's input */
    int threads; /* intra-op threads, 1..64; 0 = 1 */
    const char *head; /* NULL, "auto", "nanodet", "centernet", "yolov5", "yolov8", "ssd"
                         (object/heads_int.h, docs/design/0044-model-heads.md) */
    /* Execution provider: NULL/"" or "cpu"; "cuda" fails the open, naming why, when ONNX
       Runtime lacks the CUDA provider or finds no GPU; "auto" tries CUDA, else the CPU
       (logged once). */
    const char *device;
};

/* The provider d runs on: "cpu" or "cuda" ("" for a detector of another backend). */
const char *det_onnx_device(const struct det_detector *d);

/*
 * Loads the model and its labels and checks that the model has one float
 * input [1,3,H,W] and outputs a decoder understands: opt->head's, or with
 * auto the first of CenterNet, YOLO and SSD whose shapes fit (heads_int.h),
 * else NanoDet's: per level, a scores output [1,N,labels] and a distances
 * output [1,N,4*bins] with N matching a stride of 8..128. Returns 0 and *out (new;
 * det_detector_close), or -ENOENT (missing file), HORUS_EPARSE (corrupt model or labels),
 * HORUS_ECONFIG (outputs or sizes the decoder does not expect), -EINVAL
 * (bad options); *errmsg (new) then says why, naming the file and the
 * output: "model 'm.onnx': output 'y' has shape [1,676,81], expected
 * [1,N,80] or [1,N,4*bins]". Thread: any.
 */
int det_onnx_open(const struct det_onnx_options *opt, struct det_detector **out, char **errmsg);

/* The ONNX Runtime version string ("1.29.0"). Thread: any. */
const char *det_onnx_runtime_version(void);

#endif
