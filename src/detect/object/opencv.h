/*
 * The "opencv" detector backend: the same NanoDet ONNX models as the onnx
 * backend, run by OpenCV's DNN module on the CPU (docs/design/0043).
 * Built only when CMake finds OpenCV's dnn module (HORUS_HAVE_OPENCV).
 */
#ifndef HORUS_DETECT_OPENCV_H
#define HORUS_DETECT_OPENCV_H

#ifdef __cplusplus
extern "C" {
#endif

#include "detect.h"

struct det_opencv_options {
    const char *model_path; /* an .onnx file; borrowed during the call */
    const char *labels_path; /* a labels file (detect.h) */
    int input_size; /* 0: the model's own; else must equal the model's input */
    int threads; /* 1..64, 0 = 1; OpenCV's thread pool is process-wide: the most asked wins */
};

/*
 * Loads the model and its labels and checks, with one forward pass of a
 * blank input, that the model is a NanoDet the decoder understands (the
 * same check as det_onnx_open: nanodet_int.h's det_nanodet_layout).
 * Returns 0 and *out (new; det_detector_close), or -ENOENT (missing file),
 * HORUS_EPARSE (corrupt model or labels), HORUS_ECONFIG (outputs or sizes
 * the decoder does not expect), -EINVAL (bad options); *errmsg (new) then
 * names the file and the output. Thread: any.
 */
int det_opencv_open(const struct det_opencv_options *opt, struct det_detector **out, char **errmsg);

/* The OpenCV version string ("4.6.0"). Thread: any. */
const char *det_opencv_version(void);

#ifdef __cplusplus
}
#endif

#endif
