/*
 * DESIGN: the outbox messages of event changes (docs/design/0045). Each
 * change of an event becomes one outbox row written in the same
 * transaction as the event's row (sto_event_put), so a bus delivers every
 * committed change and never one that failed. The payload is what MQTT
 * publishes on <prefix>/events, shaped like Frigate's:
 * {"type": "new"|"update"|"end", "before": {...}, "after": {...}}, where
 * "after" is the event as the API shows it (evt_event_json) plus
 * Frigate's names for the same facts (start_time, end_time in epoch
 * seconds, current_zones, entered_zones, has_clip, ...), and "before" is
 * the event as the previous change left it (the stored row read before
 * the write; for "new", the event itself, as Frigate does). Pure: no
 * threads of its own; runs on the thread that writes the change.
 */
#include "events_int.h"

#include <math.h>
#include <stdlib.h>

static json_t *epoch_s(int64_t us)
{
    return us > 0 ? json_real(round((double)us / 1000.0) / 1000.0) : json_null();
}

/* ev as the API shows it, plus the names Frigate's consumers read. */
static json_t *event_doc(const struct sto_event *ev, int64_t pre_s, int64_t post_s)
{
    json_t *j = evt_event_json(ev, pre_s, post_s);
    json_object_set_new(j, "start_time", epoch_s(ev->start_us));
    json_object_set_new(j, "end_time", epoch_s(ev->end_us));
    json_object_set_new(j, "frame_time", epoch_s(ev->updated_us));
    json_t *zones = json_object_get(j, "zones");
    json_object_set_new(j, "current_zones", ev->end_us > 0 ? json_array() : json_copy(zones));
    json_object_set_new(j, "entered_zones", json_copy(zones));
    json_object_set_new(j, "has_clip", json_true());
    json_object_set_new(j, "false_positive", json_false());
    json_object_set_new(j, "stationary", json_false());
    return j;
}

char *evt_outbox_payload(const char *type, const struct sto_event *before,
                         const struct sto_event *after, int64_t pre_s, int64_t post_s)
{
    json_t *b = event_doc(before ? before : after, pre_s, post_s);
    json_t *a = event_doc(after, pre_s, post_s);
    json_t *doc = json_pack("{s:s, s:o, s:o}", "type", type, "before", b, "after", a);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(doc);
    return text;
}
