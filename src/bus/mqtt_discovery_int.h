/* Private to src/bus: Home Assistant MQTT discovery messages (mqtt_discovery.c). */
#ifndef HORUS_BUS_MQTT_DISCOVERY_INT_H
#define HORUS_BUS_MQTT_DISCOVERY_INT_H

#include <stdbool.h>
#include <stddef.h>

/* One camera's discovery; strings borrowed for the call. */
struct bus_discovery {
    const char *discovery_prefix; /* "homeassistant" */
    const char *topic_prefix; /* bus.mqtt.topic_prefix */
    const char *client_id; /* the node id, made topic-safe */
    const char *camera_id; /* [a-z0-9_-] (the config and the API check it) */
    const char *camera_name; /* the device's name; "" or NULL: the id */
    bool has_commands; /* bus.mqtt.commands: a switch per command as well */
};

/* Receives one retained discovery message (both borrowed for the call). */
typedef void (*bus_discovery_emit_fn)(const char *topic, const char *payload, void *arg);

/*
 * Emits the config messages of d's entities: a sensor and a binary sensor,
 * and with has_commands three switches (recordings, detect, motion).
 */
void bus_discovery_camera(const struct bus_discovery *d, bus_discovery_emit_fn emit, void *arg);

/* s with every character outside [A-Za-z0-9_-] as '_' ("horus" when empty), into out. */
void bus_discovery_id(const char *s, char *out, size_t size);

#endif
