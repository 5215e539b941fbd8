/*
 * Object detection: frames in, labelled boxes out, behind one interface.
 *
 * A detector (struct det_detector) is one model loaded by one backend: ONNX
 * Runtime (object/onnx.h), OpenCV DNN (object/opencv.h), a remote
 * DeepStack-style provider (object/remote.h) or a hybrid of two with a
 * circuit breaker (object/hybrid.h); det_detector_open builds any of them
 * from a struct det_spec. Frames are packed RGB24 of any size (what
 * libswscale hands the sampler as AV_PIX_FMT_RGB24); boxes come back in
 * normalised [0,1] frame coordinates so that they survive any scaling the
 * caller did. See docs/design/0035-object-detection-runtime.md.
 *
 * Thread rules: a detector is used by one thread at a time (run and close
 * must not overlap); different detectors run in parallel freely.
 */
#ifndef HORUS_DETECT_H
#define HORUS_DETECT_H

#include <stddef.h>
#include <stdint.h>

/* A packed RGB24 picture, borrowed for the duration of one run. */
struct det_frame {
    const uint8_t *rgb; /* width*3 bytes per row, rows stride_bytes apart */
    int width, height; /* pixels, 1..16384 each */
    int stride_bytes; /* >= width*3 */
};

/* One detection: a box in normalised frame coordinates (0,0 top left). */
struct det_box {
    float x0, y0, x1, y1; /* 0 <= x0 <= x1 <= 1, same for y */
    float score; /* 0..1 */
    int label; /* index into the detector's labels */
};

/* Per-run thresholds. */
struct det_run_options {
    float min_score; /* boxes under this score are dropped; 0 = 0.35 */
    float nms_iou; /* same-label boxes overlapping more than this are merged; 0 = 0.5 */
};

/* The table every detector backend fills (docs/conventions.md §2). */
struct det_detector;
struct det_detector_ops {
    const char *name; /* backend name, "onnx" */
    /*
     * Detects objects in frame. Writes at most cap boxes, best score first,
     * to out and their number to *n. Returns 0, -EINVAL for a bad frame, or
     * a negative code with *errmsg (new, may be NULL) saying why.
     */
    int (*run)(struct det_detector *d, const struct det_frame *frame,
               const struct det_run_options *opt, struct det_box *out, size_t cap, size_t *n,
               char **errmsg);
    /* Releases the detector and everything it holds. */
    void (*close)(struct det_detector *d);
};

/* The fields every backend shares; a backend's struct begins with this one. */
struct det_detector {
    const struct det_detector_ops *ops;
    char **labels; /* owned; labels[0..label_count) */
    int label_count;
    int input_width, input_height; /* the model's input, pixels */
};

/* Runs d on frame (see det_detector_ops.run). opt may be NULL. Thread: d's user. */
int det_detector_run(struct det_detector *d, const struct det_frame *frame,
                     const struct det_run_options *opt, struct det_box *out, size_t cap, size_t *n,
                     char **errmsg);

/* Closes d; NULL does nothing. Thread: d's user. */
void det_detector_close(struct det_detector *d);

/* The backend's name ("onnx"). */
const char *det_detector_name(const struct det_detector *d);

/* The name of label i (borrowed until close), or "?" when i is out of range. */
const char *det_detector_label(const struct det_detector *d, int label);

/*
 * Labels files: UTF-8 text, one label per line, line N naming class N-1;
 * "\r\n" endings and trailing blanks are accepted. Empty lines, control
 * characters, labels over DET_LABEL_MAX bytes and more than DET_LABELS_MAX
 * lines are refused.
 *
 * det_labels_parse parses len bytes of text into *labels (new array of new
 * strings, free with det_labels_free) and *count. Returns 0 or
 * HORUS_EPARSE with *errmsg (new) naming the line: "line 3: empty label".
 * det_labels_load reads a file first (-errno when it cannot) and prefixes
 * messages with "labels 'PATH': ".
 */
#define DET_LABEL_MAX 63
#define DET_LABELS_MAX 4096
int det_labels_parse(const char *text, size_t len, char ***labels, int *count, char **errmsg);
int det_labels_load(const char *path, char ***labels, int *count, char **errmsg);
void det_labels_free(char **labels, int count);

/*
 * Greedy non-maximum suppression per label: sorts boxes[0..n) by score
 * (best first) and removes every box whose IoU with a better box of the
 * same label exceeds iou. Returns the number kept (moved to the front).
 */
size_t det_nms(struct det_box *boxes, size_t n, float iou);

/* Intersection over union of two boxes, 0 when either is empty. */
float det_iou(const struct det_box *a, const struct det_box *b);

/*
 * What a detector is made from (the `detect.detector` table). type names the
 * backend:
 *   "onnx"   model + labels through ONNX Runtime (object/onnx.h)
 *   "opencv" the same model + labels through OpenCV DNN (object/opencv.h)
 *   "remote" a DeepStack-style provider at url (object/remote.h); labels
 *            names the provider's classes
 *   "hybrid" primary (NULL: this spec's url/api_key/timeout_ms/labels as a
 *            "remote") behind a circuit breaker, fallback serving when it
 *            fails or the breaker is open (object/hybrid.h)
 * Fields a type does not use are ignored.
 */
struct det_spec {
    const char *type; /* "onnx" (NULL or "" too), "opencv", "remote", "hybrid" */
    const char *model; /* model file (onnx, opencv) */
    const char *labels; /* labels file */
    const char *head; /* the model's head: NULL, "" or "auto" = recognised from its outputs;
                         nanodet, centernet, yolov5, yolov8, ssd (docs/design/0044) */
    int input_size; /* 0: the model's own */
    int threads; /* backend threads, 0 = 1 */
    const char *device; /* onnx: "cpu" (NULL, ""), "cuda" (refused when unavailable) or "auto"
                           (CUDA when ONNX Runtime has the provider and a GPU, else the CPU) */
    const char *url; /* remote: "http[s]://host[:port]" */
    const char *api_key; /* remote: bearer key; NULL or "" = none (a secret: never logged) */
    int timeout_ms; /* remote: whole request; 0 = 5000 */
    const struct det_spec *primary; /* hybrid: NULL = this spec as a remote */
    const struct det_spec *fallback; /* hybrid: required; not itself a hybrid */
    int failures_to_open; /* hybrid breaker: 0 = 3 */
    int cooldown_ms; /* hybrid breaker: first cool-down, 0 = 5000 */
};

/*
 * Opens a detector of spec->type. Returns 0 and *out (new; det_detector_close)
 * or a negative code with *errmsg (new) naming the detector type and the
 * field or file: "detector 'onnx': model '/x.onnx': No such file or
 * directory", "detector 'hybrid': fallback: detector 'opencv': ...". An
 * unknown type, or one this build lacks, is -ENOTSUP. Thread: any.
 */
int det_detector_open(const struct det_spec *spec, struct det_detector **out, char **errmsg);

#endif
