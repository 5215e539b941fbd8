/* Private to src/bus: Frigate's per-camera object counts for MQTT (mqtt_counts.c). */
#ifndef HORUS_BUS_MQTT_COUNTS_INT_H
#define HORUS_BUS_MQTT_COUNTS_INT_H

#include <stddef.h>

#define BUS_COUNT_NAME_MAX 80

typedef struct bus_counts bus_counts;

/* One count to publish on <prefix>/<camera>/<label> (label "all": every label). */
struct bus_count {
    char camera[BUS_COUNT_NAME_MAX]; /* topic-safe */
    char label[BUS_COUNT_NAME_MAX]; /* topic-safe */
    int count;
};

bus_counts *bus_counts_new(void);
void bus_counts_free(bus_counts *c);

/*
 * Applies one event message ({"type", "after": {"id", "camera", "label"}})
 * and writes the counts it changed into out[0..2): the label's and the
 * camera's "all". Returns how many (0: no change, or not an event message).
 */
size_t bus_counts_apply(bus_counts *c, const char *payload, size_t len, struct bus_count *out);

/* How many events are open on camera (its topic-safe id), all labels. */
int bus_counts_open(const bus_counts *c, const char *camera);

/* How many events of label (as given; made topic-safe here) are open on camera. */
int bus_counts_of(const bus_counts *c, const char *camera, const char *label);

/* s with the characters that would change a topic's meaning ('/', '+', '#', controls) as
 * '_', into out (cut to size). */
void bus_counts_topic_safe(char *out, size_t size, const char *s);

#endif
