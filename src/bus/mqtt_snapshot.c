/*
 * DESIGN: Frigate's <prefix>/<camera>/<label>/snapshot (docs/design/0045):
 * the JPEG of an event's best view (with its box, as the events module
 * draws it), retained, published when an event message that says
 * has_snapshot is delivered. This file only decides from the message where
 * the picture is and where it goes (also <prefix>/<camera>/snapshot, the
 * newest of any label, which Home Assistant's camera entity shows); names
 * are checked before they become a path (an event id is digits, '-' and hex; a camera id
 * [a-z0-9_-]). Pure. Thread: the bus thread.
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
                     struct bus_snapshot *out)
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
        int np =
            snprintf(out->path, sizeof(out->path), "%s/snapshots/%s/%s.jpg", data_dir, camera, id);
        int nt =
            snprintf(out->topic, sizeof(out->topic), "%s/%s/%s/snapshot", prefix, camera, safe);
        int nc = snprintf(out->camera_topic, sizeof(out->camera_topic), "%s/%s/snapshot", prefix,
                          camera);
        snprintf(out->camera, sizeof(out->camera), "%s", camera);
        is_wanted = np > 0 && (size_t)np < sizeof(out->path) && nt > 0 &&
                    (size_t)nt < sizeof(out->topic) && nc > 0 &&
                    (size_t)nc < sizeof(out->camera_topic);
    }
    json_decref(doc);
    return is_wanted;
}
