/*
 * TEMPORARY (events branch): the live event feed's API as the sse engineer
 * defines it (issue 11), with a ring-less implementation in feed.c that
 * only counts what it is given. The sse branch's feed.h/feed.c replace
 * these two files when the branches merge; the events module calls
 * nothing else.
 */
#ifndef HORUS_EVT_FEED_H
#define HORUS_EVT_FEED_H

#include <stddef.h>
#include <stdint.h>

typedef struct evt_feed evt_feed;

/* A feed keeping the last ring messages for late subscribers. Aborts on OOM. */
evt_feed *evt_feed_new(size_t ring);

/*
 * Publishes one message: type "new", "update" or "end", the event's camera
 * and the event object as JSON (all borrowed for the call). Returns the
 * message's sequence number (1, 2, ...). Thread: any.
 */
uint64_t evt_feed_publish(evt_feed *f, const char *type, const char *camera_id, const char *json);

/* NULL does nothing. */
void evt_feed_free(evt_feed *f);

#endif
