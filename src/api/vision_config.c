/*
 * The `vision:` section of horus.yaml: the detection this node serves to
 * others on POST /v1/vision/detection (docs/design/0041).
 */
#include "api.h"

#include <stddef.h>

const cfg_field api_vision_fields[] = {
    {.name = "serve",
     .type = CFG_BOOL,
     .offset = offsetof(struct api_vision_config, serve),
     .def = "false",
     .help = "Serve object detection on POST /v1/vision/detection (the DeepStack / "
             "CodeProject.AI API) to operators and API keys"},
    {.name = "model",
     .type = CFG_STRING,
     .offset = offsetof(struct api_vision_config, model),
     .def = "",
     .help = "ONNX model file (NanoDet) the served detectors load; required with serve"},
    {.name = "labels",
     .type = CFG_STRING,
     .offset = offsetof(struct api_vision_config, labels),
     .def = "",
     .help = "Labels file of the model, one class per line; required with serve"},
    {.name = "input_size",
     .type = CFG_INT,
     .offset = offsetof(struct api_vision_config, input_size),
     .def = "0",
     .min = 0,
     .max = 4096,
     .help = "Model input size in pixels; 0 = the model's own"},
    {.name = "threads",
     .type = CFG_INT,
     .offset = offsetof(struct api_vision_config, threads),
     .def = "1",
     .min = 1,
     .max = 64,
     .help = "Detectors in the serving pool: requests detected at once (one CPU thread each)"},
    {.name = "max_body",
     .type = CFG_BYTES,
     .offset = offsetof(struct api_vision_config, max_body_bytes),
     .def = "10MiB",
     .min = 1024,
     .max = 104857600,
     .help = "Largest upload the detection route takes; larger ones get 413"},
    {.name = "min_confidence",
     .type = CFG_DOUBLE,
     .offset = offsetof(struct api_vision_config, min_confidence),
     .def = "0.4",
     .min = 0.01,
     .max = 1,
     .help = "Score threshold when a request names no min_confidence"},
    {0},
};
