/*
 * DESIGN: Home Assistant MQTT discovery for Horus's cameras (docs/design/
 * 0045). For each camera, two entities on one device: a sensor with the
 * number of open events (<prefix>/<camera>/all) and an occupancy binary
 * sensor on the same topic, both unavailable while <prefix>/available says
 * "offline"; when commands are on (bus.mqtt.commands), a switch for each
 * command (<prefix>/<camera>/<command>/set, state on .../state). Without
 * commands no switch is announced: Home Assistant would show a control
 * that does nothing. Payloads use only keys Home Assistant documents for MQTT
 * sensors and binary sensors (tests/integration/ha_discovery.schema.json
 * checks them). Pure: builds topics and payloads; the adapter publishes
 * them retained at each connect. Thread: the bus thread.
 */
#include "mqtt_discovery_int.h"
#include "mqtt_command_int.h"

#include "version.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bus_discovery_id(const char *s, char *out, size_t size)
{
    size_t k = 0;
    for (; s && s[k] && k + 1 < size; k++) {
        char c = s[k];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        out[k] = ok ? c : '_';
    }
    out[k] = '\0';
    if (k == 0)
        snprintf(out, size, "horus");
}

static json_t *entity(const struct bus_discovery *d, const char *node, const char *what,
                      const char *name)
{
    char uid[256], device_id[200], state[256], avail[160];
    snprintf(uid, sizeof(uid), "%s_%s_%s", node, d->camera_id, what);
    snprintf(device_id, sizeof(device_id), "%s_%s", node, d->camera_id);
    snprintf(state, sizeof(state), "%s/%s/all", d->topic_prefix, d->camera_id);
    snprintf(avail, sizeof(avail), "%s/available", d->topic_prefix);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:[s], s:s, s:s, s:s, s:s}, s:{s:s, s:s}}",
                     "name", name, "unique_id", uid, "state_topic", state, "availability_topic",
                     avail, "payload_available", "online", "payload_not_available", "offline",
                     "device", "identifiers", device_id, "name",
                     d->camera_name && d->camera_name[0] ? d->camera_name : d->camera_id,
                     "manufacturer", "Horus", "model", "camera", "sw_version", horus_version(),
                     "origin", "name", "Horus", "sw_version", horus_version());
}

void bus_discovery_camera(const struct bus_discovery *d, bus_discovery_emit_fn emit, void *arg)
{
    char node[64], topic[512];
    bus_discovery_id(d->client_id, node, sizeof(node));

    json_t *s = entity(d, node, "objects", "Objects");
    json_object_set_new(s, "state_class", json_string("measurement"));
    json_object_set_new(s, "icon", json_string("mdi:motion-sensor"));
    char *text = json_dumps(s, JSON_COMPACT);
    snprintf(topic, sizeof(topic), "%s/sensor/%s/%s_objects/config", d->discovery_prefix, node,
             d->camera_id);
    if (text)
        emit(topic, text, arg);
    free(text);
    json_decref(s);

    json_t *b = entity(d, node, "occupancy", "Occupancy");
    json_object_set_new(b, "device_class", json_string("occupancy"));
    json_object_set_new(b, "value_template",
                        json_string("{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}"));
    json_object_set_new(b, "payload_on", json_string("ON"));
    json_object_set_new(b, "payload_off", json_string("OFF"));
    text = json_dumps(b, JSON_COMPACT);
    snprintf(topic, sizeof(topic), "%s/binary_sensor/%s/%s_occupancy/config", d->discovery_prefix,
             node, d->camera_id);
    if (text)
        emit(topic, text, arg);
    free(text);
    json_decref(b);

    static const char *const titles[] = {"Recordings", "Detect", "Motion"};
    static const char *const icons[] = {"mdi:record-rec", "mdi:motion-sensor", "mdi:walk"};
    for (int w = BUS_SWITCH_RECORDINGS; d->has_commands && w <= BUS_SWITCH_MOTION; w++) {
        const char *what = bus_command_name((enum bus_switch)w);
        json_t *sw = entity(d, node, what, titles[w]);
        char t[256];
        snprintf(t, sizeof(t), "%s/%s/%s/set", d->topic_prefix, d->camera_id, what);
        json_object_set_new(sw, "command_topic", json_string(t));
        snprintf(t, sizeof(t), "%s/%s/%s/state", d->topic_prefix, d->camera_id, what);
        json_object_set_new(sw, "state_topic", json_string(t));
        json_object_set_new(sw, "payload_on", json_string("ON"));
        json_object_set_new(sw, "payload_off", json_string("OFF"));
        json_object_set_new(sw, "optimistic", json_false()); /* the state topic acknowledges */
        json_object_set_new(sw, "icon", json_string(icons[w]));
        text = json_dumps(sw, JSON_COMPACT);
        snprintf(topic, sizeof(topic), "%s/switch/%s/%s_%s/config", d->discovery_prefix, node,
                 d->camera_id, what);
        if (text)
            emit(topic, text, arg);
        free(text);
        json_decref(sw);
    }
}
