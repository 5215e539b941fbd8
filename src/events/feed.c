/*
 * TEMPORARY: the ring-less stand-in for the sse engineer's feed (feed.h):
 * it numbers messages and drops them. Replaced when the branches merge.
 */
#include "feed.h"

#include "mem.h"

#include <stdatomic.h>
#include <stdlib.h>

struct evt_feed {
    _Atomic uint64_t seq;
};

evt_feed *evt_feed_new(size_t ring)
{
    (void)ring;
    return horus_calloc(1, sizeof(struct evt_feed));
}

uint64_t evt_feed_publish(evt_feed *f, const char *type, const char *camera_id, const char *json)
{
    (void)type;
    (void)camera_id;
    (void)json;
    return atomic_fetch_add(&f->seq, 1) + 1;
}

void evt_feed_free(evt_feed *f)
{
    free(f);
}
