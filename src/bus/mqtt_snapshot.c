/*
 * DESIGN: Frigate's <prefix>/<camera>/<label>/snapshot (docs/design/0045):
 * the JPEG of an event's best view (with its box, as the events module
 * draws it), retained, published when an event message that says
 * has_snapshot is delivered. This file only decides from the message where
 * the picture is and where it goes; names are checked before they become a
 * path (an event id is digits, '-' and hex; a camera id [a-z0-9_-]).
 * Pure. Thread: the bus thread.
 */
#include "mqtt_snapshot_int.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static bool is_name(const char *s, const char *extra)
{
    if (!s || !s[0] || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr(extra, *s)))
            return false;
    return true;
}

bool bus_snapshot_of(const char *payload, size_t len, const char *data_dir, const char *prefix,
                     char *path, size_t path_cap, char *topic, size_t topic_cap)
{
    json_t *doc = json_loadb(payload, len, 0, NULL);
    json_t *after = json_object_get(doc, "after");
    const char *id = json_string_value(json_object_get(after, "id"));
    const char *camera = json_string_value(json_object_get(after, "camera"));
    const char *label = json_string_value(json_object_get(after, "label"));
    bool is_wanted = json_is_true(json_object_get(after, "has_snapshot")) && label && label[0] &&
                     strlen(label) < 64 && is_name(id, "-") && is_name(camera, "_-");
    if (is_wanted) {
        char safe[64];
        size_t k = 0;
        for (; label[k] && k + 1 < sizeof(safe); k++) {
            unsigned char c = (unsigned char)label[k];
            safe[k] = c < ' ' || c == '/' || c == '+' || c == '#' || c == 0x7f ? '_' : (char)c;
        }
        safe[k] = '\0';
        int np = snprintf(path, path_cap, "%s/snapshots/%s/%s.jpg", data_dir, camera, id);
        int nt = snprintf(topic, topic_cap, "%s/%s/%s/snapshot", prefix, camera, safe);
        is_wanted = np > 0 && (size_t)np < path_cap && nt > 0 && (size_t)nt < topic_cap;
    }
    json_decref(doc);
    return is_wanted;
}
