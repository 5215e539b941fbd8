/*
 * DESIGN: the `frames:` section's schema table (docs/conventions.md §7;
 * docs/design/0050). Every key needs a restart: the hub, its workers and
 * the cameras' sinks are made at start. Cameras are named by id, so a
 * camera added through the API publishes frames once its id is listed
 * here.
 */
#include "frames.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const source_names[] = {"keyframes", "sub", "main", NULL};

static int validate_bus(const void *value, char *err, size_t size)
{
    const char *b = *(char *const *)value;
    if (b && (strcmp(b, "mqtt") == 0 || strcmp(b, "nats") == 0 || strcmp(b, "amqp") == 0))
        return 0;
    snprintf(err, size, "must be mqtt, nats or amqp");
    return -EINVAL;
}

bool frames_camera_wants_bus(const struct frames_camera_config *c, const char *bus)
{
    if (c->nbuses == 0)
        return strcmp(bus, "nats") == 0 || strcmp(bus, "amqp") == 0;
    for (size_t i = 0; i < c->nbuses; i++)
        if (strcmp(c->buses[i], bus) == 0)
            return true;
    return false;
}

#define CAM(f) offsetof(struct frames_camera_config, f)

static const cfg_field camera_fields[] = {
    {.name = "id",
     .type = CFG_STRING,
     .offset = CAM(id),
     .is_required = true,
     .validate_cb = cfg_validate_id,
     .help = "The camera's id (from cameras: or the API)"},
    {.name = "enabled",
     .type = CFG_BOOL,
     .offset = CAM(enabled),
     .def = "true",
     .help = "Publish this camera's frames"},
    {.name = "fps",
     .type = CFG_DOUBLE,
     .offset = CAM(fps),
     .def = "2",
     .min = 0.01,
     .max = 30,
     .help = "Frames per second at most (keyframes: at most one per GOP)"},
    {.name = "source",
     .type = CFG_ENUM,
     .offset = CAM(source),
     .def = "keyframes",
     .enum_names = source_names,
     .help = "keyframes: the main stream's keyframes, decoded alone (cheapest); sub: every "
             "frame of the sub stream (keyframes of main when the camera has none); main: every "
             "frame of the main stream (costly)"},
    {.name = "max_width",
     .type = CFG_INT,
     .offset = CAM(max_width),
     .def = "640",
     .min = 16,
     .max = 7680,
     .help = "Pictures wider than this are scaled down (aspect kept)"},
    {.name = "quality",
     .type = CFG_INT,
     .offset = CAM(quality),
     .def = "75",
     .min = 1,
     .max = 100,
     .help = "JPEG quality 1..100 (mjpeg quantiser 31..2)"},
    {.name = "batch",
     .type = CFG_INT,
     .offset = CAM(batch),
     .def = "1",
     .min = 1,
     .max = 64,
     .help = "Frames per message; 1: one image/jpeg per message, more: the batch container "
             "(docs/frames.md)"},
    {.name = "batch_ms",
     .type = CFG_DURATION,
     .offset = CAM(batch_ms),
     .def = "0",
     .min = 0,
     .max = 60000,
     .help = "A batch goes out when its first frame is this old, full or not; 0: only when full"},
    {.name = "buses",
     .type = CFG_STRING_LIST,
     .offset = CAM(buses),
     .count_offset = CAM(nbuses),
     .validate_cb = validate_bus,
     .help = "Buses to publish on (mqtt, nats, amqp); empty: nats and amqp"},
    {.name = "max_bytes_per_s",
     .type = CFG_BYTES,
     .offset = CAM(max_bytes_per_s),
     .def = "0",
     .help = "Bandwidth budget of the camera's frames in bytes per second: over it the quality, "
             "then the size, then the rate go down; 0: none"},
    {0},
};

const cfg_field frames_config_fields[] = {
    {.name = "threads",
     .type = CFG_INT,
     .offset = offsetof(struct frames_config, threads),
     .def = "1",
     .min = 1,
     .max = 64,
     .help = "Workers that decode, scale and encode frames (frm-N), shared by every camera"},
    {.name = "queue",
     .type = CFG_INT,
     .offset = offsetof(struct frames_config, queue),
     .def = "8",
     .min = 1,
     .max = 1024,
     .help = "Messages waiting per camera and bus; when full the oldest is dropped (counted)"},
    {.name = "cameras",
     .type = CFG_LIST,
     .offset = offsetof(struct frames_config, cameras),
     .count_offset = offsetof(struct frames_config, ncameras),
     .elem_size = sizeof(struct frames_camera_config),
     .sub = camera_fields,
     .help = "Cameras whose frames are published"},
    {0},
};
