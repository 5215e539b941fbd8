/*
 * libFuzzer driver for the text the MQTT adapter reads back from disk for
 * Home Assistant (src/bus/mqtt_ha.c, src/bus/mqtt_discovery.c): the saved
 * list of announced topics (bus_ha_load, from the settings table) and a
 * camera's analytics document (bus_discovery_labels, from the cameras
 * table). Checks: a load either refuses or takes text whose dump loads back
 * to the same dump; labels are 1..BUS_DISCOVERY_LABELS_MAX non-empty names
 * that fit, never "motion", and no two with the same entity id.
 */
#include "mqtt_discovery_int.h"
#include "mqtt_ha_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_load(const uint8_t *data, size_t size)
{
    bus_ha *h = bus_ha_new();
    int rc = bus_ha_load(h, (const char *)data, size);
    if (rc != 0 && rc != -EINVAL)
        __builtin_trap();
    char *text = bus_ha_dump(h);
    bus_ha *again = bus_ha_new();
    if (!text || bus_ha_load(again, text, strlen(text)) != 0)
        __builtin_trap();
    char *text2 = bus_ha_dump(again);
    if (!text2 || strcmp(text, text2) != 0)
        __builtin_trap();
    free(text);
    free(text2);
    bus_ha_free(again);
    bus_ha_free(h);
}

static void check_labels(const uint8_t *data, size_t size)
{
    char *doc = malloc(size + 1);
    memcpy(doc, data, size);
    doc[size] = '\0';
    char out[BUS_DISCOVERY_LABELS_MAX][BUS_DISCOVERY_LABEL_MAX];
    size_t n = bus_discovery_labels(doc, out);
    if (n < 1 || n > BUS_DISCOVERY_LABELS_MAX)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        size_t len = strnlen(out[i], BUS_DISCOVERY_LABEL_MAX);
        if (len == 0 || len >= BUS_DISCOVERY_LABEL_MAX || strcmp(out[i], "motion") == 0)
            __builtin_trap();
        char a[BUS_DISCOVERY_LABEL_MAX], b[BUS_DISCOVERY_LABEL_MAX];
        bus_discovery_id(out[i], a, sizeof(a));
        for (size_t k = 0; k < i; k++) {
            bus_discovery_id(out[k], b, sizeof(b));
            if (strcmp(a, b) == 0)
                __builtin_trap();
        }
    }
    free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_load(data, size);
    check_labels(data, size);
    return 0;
}
