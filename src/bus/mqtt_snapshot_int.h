/* Private to src/bus: where an event message's snapshot is and goes (mqtt_snapshot.c). */
#ifndef HORUS_BUS_MQTT_SNAPSHOT_INT_H
#define HORUS_BUS_MQTT_SNAPSHOT_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* Where one event's snapshot is and the topics it is published on. */
struct bus_snapshot {
    char path[PATH_MAX]; /* <data_dir>/snapshots/<camera>/<id>.jpg: the best view with its box */
    char topic[256]; /* <prefix>/<camera>/<label>/snapshot (the label with topic chars as '_') */
    char camera_topic[256]; /* <prefix>/<camera>/snapshot: the camera's newest, any label */
    char camera[72]; /* the camera id ([a-z0-9_-], 1..64) */
};

/*
 * Whether the event message payload[0..len) has a snapshot to publish:
 * then *out says where it is and goes. False for anything else, or names
 * unfit for a path or a topic.
 */
bool bus_snapshot_of(const char *payload, size_t len, const char *data_dir, const char *prefix,
                     struct bus_snapshot *out);

#endif
