/* Private to src/bus: Home Assistant MQTT discovery messages (mqtt_discovery.c). */
#ifndef HORUS_BUS_MQTT_DISCOVERY_INT_H
#define HORUS_BUS_MQTT_DISCOVERY_INT_H

#include <stdbool.h>
#include <stddef.h>

#define BUS_DISCOVERY_LABELS_MAX 16 /* label entities announced per camera; more are left out */
#define BUS_DISCOVERY_LABEL_MAX 64 /* a label's longest, with the NUL */

/* One camera's discovery; strings borrowed for the call. */
struct bus_discovery {
    const char *discovery_prefix; /* "homeassistant" */
    const char *topic_prefix; /* bus.mqtt.topic_prefix */
    const char *client_id; /* the node id, made topic-safe */
    const char *camera_id; /* [a-z0-9_-] (the config and the API check it) */
    const char *camera_name; /* the device's name; "" or NULL: the id */
    bool has_commands; /* bus.mqtt.commands: a switch per command as well */
    /* the labels that get a count sensor and an occupancy binary sensor (bus_discovery_labels) */
    const char *const *labels;
    size_t nlabels;
};

/* Receives one retained discovery message (both borrowed for the call). */
typedef void (*bus_discovery_emit_fn)(const char *topic, const char *payload, void *arg);

/*
 * Emits the config messages of d's entities, each on
 * <discovery_prefix>/<component>/<node>/<object id>/config: the camera
 * (<prefix>/<camera>/snapshot), the sensor of open events and its occupancy
 * binary sensor (<prefix>/<camera>/all), the motion binary sensor
 * (<prefix>/<camera>/motion), a count sensor and an occupancy binary sensor
 * per label (<prefix>/<camera>/<label>), and with has_commands three
 * switches (recordings, detect, motion).
 */
void bus_discovery_camera(const struct bus_discovery *d, bus_discovery_emit_fn emit, void *arg);

/* s with every character outside [A-Za-z0-9_-] as '_' ("horus" when empty), into out. */
void bus_discovery_id(const char *s, char *out, size_t size);

/*
 * The labels a camera's analytics document (cameras.analytics, JSON text;
 * NULL or "" = the defaults) names in objects.labels, into
 * out[0..BUS_DISCOVERY_LABELS_MAX): in the document's order, without
 * "motion" (the motion sensor's), without one whose entity id
 * (bus_discovery_id) repeats an earlier one's, and none longer than
 * BUS_DISCOVERY_LABEL_MAX - 1. A document that names none (every label:
 * the detector's full list, 80 for COCO, too many entities) or that does
 * not parse gives "person", Frigate's default. Returns the count (>= 1).
 * Pure; fuzzed by fuzz_bus_ha.
 */
size_t bus_discovery_labels(const char *analytics,
                            char out[BUS_DISCOVERY_LABELS_MAX][BUS_DISCOVERY_LABEL_MAX]);

#endif
