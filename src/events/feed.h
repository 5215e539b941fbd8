/*
 * The live events feed (docs/design/0042): a ring of the last N messages
 * ("new", "update", "end" of an event) that Server-Sent Events clients
 * follow, and resume from with Last-Event-ID after a reconnect.
 *
 * Ids are strictly increasing integers that do not repeat across restarts:
 * each is max(wall clock in microseconds, previous + 1), so an id a client
 * kept from before a restart is older than every id issued after it.
 *
 * Publishing never blocks on subscribers: each subscriber's callback runs
 * under the feed's lock and must only copy the message into a bounded
 * buffer of its own (an http_stream). Thread: any.
 */
#ifndef HORUS_EVT_FEED_H
#define HORUS_EVT_FEED_H

#include "clock.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct evt_feed evt_feed;
typedef struct evt_feed_sub evt_feed_sub;

/* ring: how many messages are kept (0 = 1024). NULL only when out of memory (aborts). */
evt_feed *evt_feed_new(size_t ring);
/* As evt_feed_new with ids from c's wall clock (tests: clock_fake); NULL = the system clock. */
evt_feed *evt_feed_new_clock(size_t ring, const horus_clock *c);
/* Frees f; every subscriber must have unsubscribed. NULL is a no-op. */
void evt_feed_free(evt_feed *f);

/*
 * Publishes one message and returns its id (0 when an argument is NULL or
 * type or camera_id is too long: nothing is published). type: "new",
 * "update" or "end"; json: one JSON value (newlines are turned into spaces
 * so that it fits one SSE data line). Copied. Subscribers whose filter
 * takes it get it before this returns. The camera's tenant comes from the
 * tenant resolver (evt_feed_set_tenant_cb), called before the lock.
 */
uint64_t evt_feed_publish(evt_feed *f, const char *type, const char *camera_id, const char *json);

/*
 * Where a message's camera belongs: fills out (cap bytes, "" = no tenant)
 * and returns 0, or a negative code (the message then carries tenant
 * "?", which only a superadmin sees). May read a cache or the database;
 * runs on the publisher's thread without the feed's lock. Set once, before
 * the first publish (the API does, at start).
 */
typedef int (*evt_feed_tenant_cb)(const char *camera_id, char *out, size_t cap, void *arg);
void evt_feed_set_tenant_cb(evt_feed *f, evt_feed_tenant_cb cb, void *arg);

#define EVT_FEED_TYPE_MAX 16
#define EVT_FEED_ID_MAX 72
#define EVT_FEED_TENANT_MAX 64

/* A message as subscribers see it; borrowed for the callback's duration. */
struct evt_feed_msg {
    uint64_t id; /* 0 on a reset before anything was published */
    const char *type; /* "new" | "update" | "end" | "reset" */
    const char *camera_id; /* "" on a reset */
    const char *tenant; /* "" = none; "?" = unknown */
    const char *json; /* one line; "{}" on a reset */
    size_t json_len;
};

/*
 * Called for each message, in id order, under the feed's lock: it must not
 * block, publish, or (un)subscribe. A reset message tells the client to
 * reload from the REST list: messages it should have had are gone.
 */
typedef void (*evt_feed_deliver_cb)(const struct evt_feed_msg *m, void *arg);

/*
 * Subscribes cb. With has_last, resumes after last_id: when last_id is in
 * the ring (or is the last message evicted from it), every later message
 * still kept is delivered first; otherwise (older than the ring, from
 * before a restart, never issued, from the future) one reset message
 * carrying the newest id. Without has_last only later messages come.
 * Returns a new subscription. Thread: any.
 */
evt_feed_sub *evt_feed_subscribe(evt_feed *f, bool has_last, uint64_t last_id,
                                 evt_feed_deliver_cb cb, void *arg);

/* Ends s: once this returns cb is never called again. NULL is a no-op. Thread: any. */
void evt_feed_unsubscribe(evt_feed *f, evt_feed_sub *s);

/* How many subscribers are attached. Thread: any. */
size_t evt_feed_subscribers(evt_feed *f);

/* The newest id issued (0 = none yet). Thread: any. */
uint64_t evt_feed_last_id(evt_feed *f);

#endif
