/*
 * DESIGN: Home Assistant MQTT discovery for Horus's cameras (docs/design/
 * 0045). For each camera, one device with: a camera entity showing the
 * latest event snapshot (<prefix>/<camera>/snapshot, JPEG bytes); the
 * sensor of open events and an occupancy binary sensor, both on
 * <prefix>/<camera>/all; a motion binary sensor on <prefix>/<camera>/motion
 * (ON/OFF); for each label the camera's analytics names (Frigate's "person
 * count" and "person occupancy"), a count sensor and an occupancy binary
 * sensor on <prefix>/<camera>/<label>; and when commands are on
 * (bus.mqtt.commands), a switch for each command
 * (<prefix>/<camera>/<command>/set, state on .../state). Without commands no
 * switch is announced: Home Assistant would show a control that does
 * nothing. Every entity is unavailable while <prefix>/available says
 * "offline". Payloads use only keys Home Assistant documents
 * (tests/integration/ha_discovery.schema.json checks them). Pure: builds
 * topics and payloads; the adapter publishes them retained (mqtt_ha.c keeps
 * what was announced). Thread: the bus thread.
 */
#include "mqtt_discovery_int.h"
#include "mqtt_command_int.h"
#include "mqtt_counts_int.h"

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

size_t bus_discovery_labels(const char *analytics,
                            char out[BUS_DISCOVERY_LABELS_MAX][BUS_DISCOVERY_LABEL_MAX])
{
    size_t n = 0;
    json_t *doc = analytics && analytics[0] ? json_loads(analytics, 0, NULL) : NULL;
    json_t *list = json_object_get(json_object_get(doc, "objects"), "labels");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *s = json_string_value(v);
        if (n == BUS_DISCOVERY_LABELS_MAX)
            break;
        if (!s || !s[0] || strlen(s) >= BUS_DISCOVERY_LABEL_MAX || strcmp(s, "motion") == 0)
            continue;
        char id[BUS_DISCOVERY_LABEL_MAX], other[BUS_DISCOVERY_LABEL_MAX];
        bus_discovery_id(s, id, sizeof(id));
        bool is_seen = false;
        for (size_t k = 0; k < n && !is_seen; k++) {
            bus_discovery_id(out[k], other, sizeof(other));
            is_seen = strcmp(id, other) == 0;
        }
        if (!is_seen)
            snprintf(out[n++], BUS_DISCOVERY_LABEL_MAX, "%s", s);
    }
    json_decref(doc);
    if (n == 0)
        snprintf(out[n++], BUS_DISCOVERY_LABEL_MAX, "person");
    return n;
}

/* What every entity of the camera's device shares; what names it (unique id, object id). */
static json_t *entity(const struct bus_discovery *d, const char *node, const char *what,
                      const char *name)
{
    char uid[256], device_id[200], avail[160];
    snprintf(uid, sizeof(uid), "%s_%s_%s", node, d->camera_id, what);
    snprintf(device_id, sizeof(device_id), "%s_%s", node, d->camera_id);
    snprintf(avail, sizeof(avail), "%s/available", d->topic_prefix);
    json_t *e =
        json_pack("{s:s, s:s, s:s, s:s, s:{s:[s], s:s, s:s, s:s, s:s}, s:{s:s, s:s}}", "unique_id",
                  uid, "availability_topic", avail, "payload_available", "online",
                  "payload_not_available", "offline", "device", "identifiers", device_id, "name",
                  d->camera_name && d->camera_name[0] ? d->camera_name : d->camera_id,
                  "manufacturer", "Horus", "model", "camera", "sw_version", horus_version(),
                  "origin", "name", "Horus", "sw_version", horus_version());
    /* null: the entity is the device's main feature and shows the device's name */
    json_object_set_new(e, "name", name ? json_string(name) : json_null());
    return e;
}

/* <prefix>/<camera>/<rest> into out. */
static void state_topic(const struct bus_discovery *d, const char *rest, char *out, size_t size)
{
    snprintf(out, size, "%s/%s/%s", d->topic_prefix, d->camera_id, rest);
}

/* Emits e (consumed) as <dp>/<component>/<node>/<camera>_<what>/config. */
static void emit_entity(const struct bus_discovery *d, const char *node, const char *component,
                        const char *what, json_t *e, bus_discovery_emit_fn emit, void *arg)
{
    char topic[512];
    snprintf(topic, sizeof(topic), "%s/%s/%s/%s_%s/config", d->discovery_prefix, component, node,
             d->camera_id, what);
    char *text = json_dumps(e, JSON_COMPACT);
    if (text)
        emit(topic, text, arg);
    free(text);
    json_decref(e);
}

/* An occupancy binary sensor: ON while the count on its state topic is above 0. */
static json_t *occupancy(const struct bus_discovery *d, const char *node, const char *what,
                         const char *name, const char *topic)
{
    json_t *b = entity(d, node, what, name);
    json_object_set_new(b, "state_topic", json_string(topic));
    json_object_set_new(b, "device_class", json_string("occupancy"));
    json_object_set_new(b, "value_template",
                        json_string("{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}"));
    json_object_set_new(b, "payload_on", json_string("ON"));
    json_object_set_new(b, "payload_off", json_string("OFF"));
    return b;
}

/* A count sensor of open events on topic. */
static json_t *count(const struct bus_discovery *d, const char *node, const char *what,
                     const char *name, const char *topic, const char *icon)
{
    json_t *s = entity(d, node, what, name);
    json_object_set_new(s, "state_topic", json_string(topic));
    json_object_set_new(s, "state_class", json_string("measurement"));
    json_object_set_new(s, "icon", json_string(icon));
    return s;
}

static void label_entities(const struct bus_discovery *d, const char *node, const char *label,
                           bus_discovery_emit_fn emit, void *arg)
{
    char id[BUS_DISCOVERY_LABEL_MAX], safe[BUS_COUNT_NAME_MAX], topic[256], what[96],
        name[BUS_DISCOVERY_LABEL_MAX + 16];
    bus_discovery_id(label, id, sizeof(id));
    bus_counts_topic_safe(safe, sizeof(safe), label);
    state_topic(d, safe, topic, sizeof(topic));
    /* "person" -> "Person count": as Home Assistant users know it from Frigate */
    char title[BUS_DISCOVERY_LABEL_MAX];
    snprintf(title, sizeof(title), "%s", label);
    if (title[0] >= 'a' && title[0] <= 'z')
        title[0] = (char)(title[0] - 'a' + 'A');
    snprintf(what, sizeof(what), "%s_count", id);
    snprintf(name, sizeof(name), "%s count", title);
    emit_entity(d, node, "sensor", what, count(d, node, what, name, topic, "mdi:counter"), emit,
                arg);
    snprintf(what, sizeof(what), "%s_occupancy", id);
    snprintf(name, sizeof(name), "%s occupancy", title);
    emit_entity(d, node, "binary_sensor", what, occupancy(d, node, what, name, topic), emit, arg);
}

void bus_discovery_camera(const struct bus_discovery *d, bus_discovery_emit_fn emit, void *arg)
{
    char node[64], topic[256];
    bus_discovery_id(d->client_id, node, sizeof(node));

    /* The camera: the newest event snapshot of any label, raw JPEG bytes. */
    json_t *c = entity(d, node, "snapshot", NULL);
    state_topic(d, "snapshot", topic, sizeof(topic));
    json_object_set_new(c, "topic", json_string(topic));
    json_object_set_new(c, "icon", json_string("mdi:cctv"));
    emit_entity(d, node, "camera", "snapshot", c, emit, arg);

    state_topic(d, "all", topic, sizeof(topic));
    emit_entity(d, node, "sensor", "objects",
                count(d, node, "objects", "Objects", topic, "mdi:motion-sensor"), emit, arg);
    emit_entity(d, node, "binary_sensor", "occupancy",
                occupancy(d, node, "occupancy", "Occupancy", topic), emit, arg);

    json_t *m = entity(d, node, "motion_detected", "Motion");
    state_topic(d, "motion", topic, sizeof(topic));
    json_object_set_new(m, "state_topic", json_string(topic));
    json_object_set_new(m, "device_class", json_string("motion"));
    json_object_set_new(m, "payload_on", json_string("ON"));
    json_object_set_new(m, "payload_off", json_string("OFF"));
    emit_entity(d, node, "binary_sensor", "motion_detected", m, emit, arg);

    for (size_t i = 0; i < d->nlabels; i++)
        label_entities(d, node, d->labels[i], emit, arg);

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
        emit_entity(d, node, "switch", what, sw, emit, arg);
    }
}
