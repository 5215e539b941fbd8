/*
 * libFuzzer driver for bus_command_parse (src/bus/mqtt_command.c), the
 * parser of MQTT command messages (topic and payload from any client of
 * the broker). The input is split at its first NUL into the topic and the
 * payload. Checks what the adapter relies on: an accepted message has a
 * camera id of [a-z0-9_-] (1..64), a known command whose name its topic
 * spells, and a payload that is exactly ON or OFF; a refused one always
 * says why and leaves a name fit for the metrics' bounded label.
 */
#include "mqtt_command_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t ntopic = nul ? (size_t)(nul - data) : size;
    char *topic = malloc(ntopic + 1);
    memcpy(topic, data, ntopic);
    topic[ntopic] = '\0';
    const uint8_t *payload = nul ? nul + 1 : data + size;
    size_t len = (size_t)(data + size - payload);
    struct bus_command_msg c;
    char why[200] = "";
    int rc = bus_command_parse("hz", topic, payload, len, &c, why, sizeof(why));
    bool is_label = strcmp(c.name, "recordings") == 0 || strcmp(c.name, "detect") == 0 ||
                    strcmp(c.name, "motion") == 0 || strcmp(c.name, "unknown") == 0;
    if (!is_label)
        __builtin_trap();
    if (rc != 0) {
        if (!why[0])
            __builtin_trap();
        free(topic);
        return 0;
    }
    size_t n = strlen(c.camera);
    if (n < 1 || n > BUS_COMMAND_CAMERA_MAX ||
        strspn(c.camera, "abcdefghijklmnopqrstuvwxyz"
                         "0123456789_-") != n)
        __builtin_trap();
    if (strcmp(c.name, bus_command_name(c.what)) != 0)
        __builtin_trap();
    char again[256];
    snprintf(again, sizeof(again), "hz/%s/%s/set", c.camera, c.name);
    if (strcmp(again, topic) != 0)
        __builtin_trap();
    if (!(c.is_on ? len == 2 && memcmp(payload, "ON", 2) == 0
                  : len == 3 && memcmp(payload, "OFF", 3) == 0))
        __builtin_trap();
    free(topic);
    return 0;
}
