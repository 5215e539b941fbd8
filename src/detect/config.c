/*
 * DESIGN: the `detect:` section's schema table (docs/conventions.md §7:
 * each module owns its table; docs/design/0036). Every key needs a
 * restart: the workers, their detectors and the cameras' samplers are
 * made at start. The default model and labels are the ones the build
 * converted (HORUS_DEPS_DIR) and the repository's COCO labels; installed
 * copies replace them later.
 */
#include "analysis.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifndef HORUS_DETECT_MODEL_DEFAULT
#define HORUS_DETECT_MODEL_DEFAULT "models/nanodet-320.onnx"
#endif
#ifndef HORUS_DETECT_LABELS_DEFAULT
#define HORUS_DETECT_LABELS_DEFAULT "coco.labels"
#endif

static const char *const stream_names[] = {"auto", "sub", "main",
                                           NULL}; /* enum det_stream_choice */
static const char *const decode_names[] = {"all", "keyframes", NULL}; /* enum det_decode */

/* The backends det_detector_open knows (a build may lack one: it says so at start). */
static int validate_type(const void *value, char *err, size_t size)
{
    const char *t = *(char *const *)value;
    if (t && (strcmp(t, "onnx") == 0 || strcmp(t, "opencv") == 0 || strcmp(t, "remote") == 0 ||
              strcmp(t, "hybrid") == 0))
        return 0;
    snprintf(err, size, "must be onnx, opencv, remote or hybrid");
    return -EINVAL;
}

/* A fallback is local or remote, never itself a hybrid. */
static int validate_fallback_type(const void *value, char *err, size_t size)
{
    const char *t = *(char *const *)value;
    if (t && (strcmp(t, "onnx") == 0 || strcmp(t, "opencv") == 0 || strcmp(t, "remote") == 0))
        return 0;
    snprintf(err, size, "must be onnx, opencv or remote");
    return -EINVAL;
}

/* "" (no provider) or an http(s) URL; det_remote_open checks the rest. */
static int validate_url(const void *value, char *err, size_t size)
{
    const char *u = *(char *const *)value;
    if (!u || !u[0] || strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0)
        return 0;
    snprintf(err, size, "must be an http:// or https:// URL");
    return -EINVAL;
}

/* The execution providers of the onnx backend (object/onnx.h). */
static int validate_device(const void *value, char *err, size_t size)
{
    const char *d = *(const char *const *)value;
    if (d && (strcmp(d, "cpu") == 0 || strcmp(d, "cuda") == 0 || strcmp(d, "auto") == 0))
        return 0;
    snprintf(err, size, "must be cpu, cuda or auto");
    return -EINVAL;
}

/* The heads object/heads_select.c knows (det_head_parse). */
static int validate_head(const void *value, char *err, size_t size)
{
    static const char *const heads[] = {"auto", "nanodet", "centernet", "yolov5", "yolov8", "ssd"};
    const char *h = *(char *const *)value;
    for (size_t i = 0; h && i < sizeof(heads) / sizeof(heads[0]); i++)
        if (strcmp(h, heads[i]) == 0)
            return 0;
    snprintf(err, size, "must be auto, nanodet, centernet, yolov5, yolov8 or ssd");
    return -EINVAL;
}

#define DETECTOR_OFF(f)                                                                            \
    (offsetof(struct det_config, detector.f) - offsetof(struct det_config, detector))
#define FALLBACK_OFF(f) offsetof(struct det_fallback_config, f)

/* The fallback's table: a detector of any backend but hybrid. */
static const cfg_field fallback_fields[] = {
    {.name = "type",
     .type = CFG_STRING,
     .offset = FALLBACK_OFF(type),
     .def = "onnx",
     .validate_cb = validate_fallback_type,
     .help = "Fallback backend: onnx, opencv or remote"},
    {.name = "model",
     .type = CFG_STRING,
     .offset = FALLBACK_OFF(model),
     .def = HORUS_DETECT_MODEL_DEFAULT,
     .help = "Model file (onnx, opencv)"},
    {.name = "labels",
     .type = CFG_STRING,
     .offset = FALLBACK_OFF(labels),
     .def = HORUS_DETECT_LABELS_DEFAULT,
     .help = "Labels file"},
    {.name = "input_size",
     .type = CFG_INT,
     .offset = FALLBACK_OFF(input_size),
     .def = "0",
     .min = 0,
     .max = 4096,
     .help = "The model's input size in pixels; 0 = what the model declares"},
    {.name = "threads",
     .type = CFG_INT,
     .offset = FALLBACK_OFF(threads),
     .def = "1",
     .min = 1,
     .max = 64,
     .help = "Inference threads"},
    {.name = "url",
     .type = CFG_STRING,
     .offset = FALLBACK_OFF(url),
     .def = "",
     .validate_cb = validate_url,
     .help = "remote: the provider's base URL"},
    {.name = "api_key",
     .type = CFG_STRING,
     .offset = FALLBACK_OFF(api_key),
     .def = "",
     .is_secret = true,
     .help = "remote: bearer key (${ENV} or file:PATH)"},
    {.name = "timeout_ms",
     .type = CFG_INT,
     .offset = FALLBACK_OFF(timeout_ms),
     .def = "5000",
     .min = 1,
     .max = 600000,
     .help = "remote: whole request timeout"},
    {0},
};

static const cfg_field detector_fields[] = {
    {.name = "type",
     .type = CFG_STRING,
     .offset = DETECTOR_OFF(type),
     .def = "onnx",
     .validate_cb = validate_type,
     .help = "Detector backend: onnx (ONNX Runtime, CPU), opencv (OpenCV DNN, CPU), remote "
             "(a DeepStack-style provider at url) or hybrid (remote at url, fallback when it "
             "fails)"},
    {.name = "model",
     .type = CFG_STRING,
     .offset = DETECTOR_OFF(model),
     .def = HORUS_DETECT_MODEL_DEFAULT,
     .help = "Model file (.onnx); default the NanoDet-g 320 the build converted"},
    {.name = "labels",
     .type = CFG_STRING,
     .offset = DETECTOR_OFF(labels),
     .def = HORUS_DETECT_LABELS_DEFAULT,
     .help = "Labels file: one class name per line (COCO's 80 by default)"},
    {.name = "head",
     .type = CFG_STRING,
     .offset = DETECTOR_OFF(head),
     .def = "auto",
     .validate_cb = validate_head,
     .help = "The model's output head: auto (recognised from the outputs' shapes), nanodet, "
             "centernet, yolov5, yolov8 or ssd (docs/design/0044-model-heads.md)"},
    {.name = "device",
     .type = CFG_STRING,
     .offset = DETECTOR_OFF(device),
     .def = "auto",
     .validate_cb = validate_device,
     .help = "Where the onnx detector runs: cpu, cuda (the start fails naming why when ONNX "
             "Runtime has no CUDA provider or no GPU) or auto (CUDA when it can, else the CPU)"},
    {.name = "input_size",
     .type = CFG_INT,
     .offset = DETECTOR_OFF(input_size),
     .def = "0",
     .min = 0,
     .max = 4096,
     .help = "The model's input size in pixels; 0 = what the model declares"},
    {.name = "threads",
     .type = CFG_INT,
     .offset = DETECTOR_OFF(threads),
     .def = "1",
     .min = 1,
     .max = 64,
     .help = "Inference threads of each worker's detector"},
    {.name = "min_score",
     .type = CFG_DOUBLE,
     .offset = DETECTOR_OFF(min_score),
     .def = "0.35",
     .min = 0.01,
     .max = 1,
     .help = "Detections scoring under this are dropped"},
    {.name = "url",
     .type = CFG_STRING,
     .offset = DETECTOR_OFF(url),
     .def = "",
     .validate_cb = validate_url,
     .help = "remote, hybrid: the provider's base URL (POST URL/v1/vision/detection)"},
    {.name = "api_key",
     .type = CFG_STRING,
     .offset = DETECTOR_OFF(api_key),
     .def = "",
     .is_secret = true,
     .help = "remote, hybrid: bearer key sent to the provider (${ENV} or file:PATH)"},
    {.name = "timeout_ms",
     .type = CFG_INT,
     .offset = DETECTOR_OFF(timeout_ms),
     .def = "5000",
     .min = 1,
     .max = 600000,
     .help = "remote, hybrid: whole request timeout"},
    {.name = "failures_to_open",
     .type = CFG_INT,
     .offset = DETECTOR_OFF(failures_to_open),
     .def = "3",
     .min = 1,
     .max = 1000,
     .help = "hybrid: consecutive primary failures that open the breaker (one timeout does)"},
    {.name = "cooldown_ms",
     .type = CFG_INT,
     .offset = DETECTOR_OFF(cooldown_ms),
     .def = "5000",
     .min = 1,
     .max = 3600000,
     .help = "hybrid: first wait before probing the primary again (doubles up to 60 s)"},
    {.name = "fallback",
     .type = CFG_SECTION,
     .offset = DETECTOR_OFF(fallback),
     .sub = fallback_fields,
     .help = "hybrid: the detector serving while the primary fails or the breaker is open"},
    {0},
};

const cfg_field det_config_fields[] = {
    {.name = "enabled",
     .type = CFG_BOOL,
     .offset = offsetof(struct det_config, enabled),
     .def = "false",
     .help = "Run object detection on the cameras' video"},
    {.name = "threads",
     .type = CFG_INT,
     .offset = offsetof(struct det_config, threads),
     .def = "1",
     .min = 1,
     .max = 64,
     .help = "Analysis workers (det-N), each with its own detector, shared by every camera"},
    {.name = "fps",
     .type = CFG_DOUBLE,
     .offset = offsetof(struct det_config, fps),
     .def = "5",
     .min = 0.1,
     .max = 60,
     .help = "Frames analysed per second per camera, at most; under overload fewer, low "
             "priority cameras first (horus_detect_skipped_frames_total)"},
    {.name = "detector",
     .type = CFG_SECTION,
     .offset = offsetof(struct det_config, detector),
     .sub = detector_fields,
     .help = "The detector every worker loads"},
    {.name = "stream",
     .type = CFG_ENUM,
     .offset = offsetof(struct det_config, stream),
     .def = "sub",
     .enum_names = stream_names,
     .help = "Stream to analyse: sub or auto (the sub stream, the main one when a camera has none) "
             "or main"},
    {.name = "decode",
     .type = CFG_ENUM,
     .offset = offsetof(struct det_config, decode),
     .def = "all",
     .enum_names = decode_names,
     .help = "Decode keyframes only (cheapest, one frame per GOP) or all frames"},
    {.name = "cameras",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct det_config, cameras),
     .count_offset = offsetof(struct det_config, ncameras),
     .validate_cb = cfg_validate_id,
     .help = "Camera ids to analyse; empty = every camera"},
    {0},
};
