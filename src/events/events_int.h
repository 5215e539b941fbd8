/* Private to src/events: the outbox payload of an event change (outbox.c). */
#ifndef HORUS_EVENTS_INT_H
#define HORUS_EVENTS_INT_H

#include "events.h"

/*
 * The outbox payload of a change of type ("new", "update", "end"): new
 * JSON text {"type", "before", "after"} (free() it); before NULL: the
 * event itself. Thread: any.
 */
char *evt_outbox_payload(const char *type, const struct sto_event *before,
                         const struct sto_event *after, int64_t pre_s, int64_t post_s);

#endif
