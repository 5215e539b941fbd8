/*
 * Tripwire counters: how many objects of each label crossed each camera's
 * tripwires, in each direction, since the daemon started (the events
 * engine adds the crossings of every report; docs/design/0040). Also the
 * metric horus_tripwire_crossings_total{camera,tripwire,label,direction}.
 * Thread: any (one lock).
 */
#ifndef HORUS_EVENTS_COUNTERS_H
#define HORUS_EVENTS_COUNTERS_H

#include <jansson.h>
#include <stdint.h>

#include "metrics.h"

typedef struct evt_counters evt_counters;

/* metrics may be NULL; clock values are UTC µs given by the caller. */
evt_counters *evt_counters_new(metrics_registry *metrics, int64_t since_us);
void evt_counters_free(evt_counters *c);

/* One crossing: direction +1 (side A to B) or -1 (B to A). */
void evt_counters_add(evt_counters *c, const char *camera_id, const char *tripwire,
                      const char *label, int direction);

/*
 * camera_id's counters as {"since": RFC 3339, "tripwires": [{"tripwire",
 * "label", "a_to_b", "b_to_a"}...]} sorted by tripwire then label (new
 * reference).
 */
json_t *evt_counters_json(evt_counters *c, const char *camera_id);

#endif
