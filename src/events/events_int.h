/*
 * Private to src/events: the outbox payload of an event change (outbox.c)
 * and the feed of external detections (external.c) with its way into the
 * engine (events.c).
 */
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

/*
 * The feed of posted detections (external.c; docs/design/0051): the
 * inbox and the "evt-x" thread, owned by the engine. Lifecycle as
 * docs/conventions.md §6; is_enabled mirrors events.enabled.
 */
struct evt_ext;
struct evt_ext *evt_ext_new(evt_engine *e, sto_db *db, metrics_registry *reg,
                            const horus_clock *clock);
int evt_ext_start(struct evt_ext *x, bool is_enabled);
/* Feeds what is queued, then joins evt-x; pushes after it are refused. */
void evt_ext_stop(struct evt_ext *x);
void evt_ext_free(struct evt_ext *x);
/* Opens or closes the inbox (events.enabled reloaded). Thread: main. */
void evt_ext_set_open(struct evt_ext *x, bool is_enabled);
/* A new reference to the inbox. */
evt_inbox *evt_ext_inbox(struct evt_ext *x);

/* A report of posted detections into camera r->camera_id's external lifecycle. Thread: evt-x. */
void evt_engine_external_report(evt_engine *e, const struct det_report *r);
/* Whether events.enabled is on now. Thread: any. */
bool evt_engine_is_enabled(evt_engine *e);

#endif
