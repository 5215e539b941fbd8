/* Private to src/bus: where an event message's snapshot is and goes (mqtt_snapshot.c). */
#ifndef HORUS_BUS_MQTT_SNAPSHOT_INT_H
#define HORUS_BUS_MQTT_SNAPSHOT_INT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether the event message payload[0..len) has a snapshot to publish: then
 * path is <data_dir>/snapshots/<camera>/<id>.jpg (the best view with its
 * box) and topic <prefix>/<camera>/<label>/snapshot (the label with topic
 * characters as '_'). False for anything else, or names unfit for a path.
 */
bool bus_snapshot_of(const char *payload, size_t len, const char *data_dir, const char *prefix,
                     char *path, size_t path_cap, char *topic, size_t topic_cap);

#endif
