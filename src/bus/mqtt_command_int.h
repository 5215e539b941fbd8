/* Private to src/bus: the topics and payloads of MQTT commands (mqtt_command.c). */
#ifndef HORUS_BUS_MQTT_COMMAND_INT_H
#define HORUS_BUS_MQTT_COMMAND_INT_H

#include "bus.h"

#include <stdbool.h>
#include <stddef.h>

#define BUS_COMMAND_CAMERA_MAX 64 /* a camera id's longest (the API's rule) */
#define BUS_COMMAND_NAME_MAX 16

/* One command message taken apart. */
struct bus_command_msg {
    char camera[BUS_COMMAND_CAMERA_MAX + 1]; /* "" when the topic has none */
    /* "recordings", "detect", "motion", or "unknown": the metrics' bounded label */
    char name[BUS_COMMAND_NAME_MAX];
    enum bus_switch what;
    bool is_on;
};

/*
 * Takes apart a message on <prefix>/<camera>/<command>/set whose payload
 * is "ON" or "OFF" (exactly; Home Assistant's switch sends these). Returns
 * 0 with *out filled, or -EINVAL with the reason in why ("unknown command
 * 'snapshots'", "payload must be ON or OFF"); out->name and out->camera
 * are filled as far as the topic allowed, so a refusal can be counted and
 * logged. A camera must look like a camera id ([a-z0-9_-], 1..64). Pure;
 * fuzzed by fuzz_bus_command. Thread: any.
 */
int bus_command_parse(const char *prefix, const char *topic, const void *payload, size_t len,
                      struct bus_command_msg *out, char *why, size_t cap);

/* "recordings", "detect" or "motion": the topic level of a switch. */
const char *bus_command_name(enum bus_switch what);

#endif
