/*
 * DESIGN: the live events feed (docs/design/0042).
 *
 * A fixed ring of the last `cap` messages under one mutex, and a list of
 * subscribers. publish copies the message in (evicting the oldest), then
 * hands it to every subscriber under the same lock, so that a subscriber
 * sees messages in id order and a resume (replay of the ring, then live
 * messages) can neither miss nor repeat one. Subscribers only copy into
 * their own bounded buffers (http_stream_write), so the lock is held for
 * memcpy's, never for I/O: publishing never waits for a client.
 *
 * Ids: max(wall clock in us, previous + 1). A Last-Event-ID is known when
 * it is in the ring or is `evicted`, the last id pushed out of it (after
 * which everything is still kept); any other id (older than the ring, from
 * before a restart, never issued, from the future) gets a reset, since
 * messages the client should have seen may be gone.
 */
#include "feed.h"

#include "log.h"
#include "mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "events"
#define DEFAULT_RING 1024

struct feed_msg {
    uint64_t id; /* 0 = empty slot */
    char type[EVT_FEED_TYPE_MAX];
    char camera_id[EVT_FEED_ID_MAX];
    char tenant[EVT_FEED_TENANT_MAX];
    char *json; /* owned */
    size_t json_len;
};

struct evt_feed_sub {
    evt_feed_deliver_cb cb;
    void *arg;
    struct evt_feed_sub *prev, *next;
};

struct evt_feed {
    pthread_mutex_t lock;
    const horus_clock *clock; /* borrowed */
    struct feed_msg *ring; /* owned: cap slots */
    size_t cap;
    size_t head; /* the oldest message's slot */
    size_t n; /* messages kept */
    uint64_t last_id; /* newest issued; 0 = none */
    uint64_t evicted; /* the last id pushed out; 0 = none */
    evt_feed_tenant_cb tenant_cb;
    void *tenant_arg;
    struct evt_feed_sub *subs;
    size_t nsubs;
};

evt_feed *evt_feed_new_clock(size_t ring, const horus_clock *c)
{
    evt_feed *f = horus_calloc(1, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    f->clock = c ? c : clock_system();
    f->cap = ring ? ring : DEFAULT_RING;
    f->ring = horus_calloc(f->cap, sizeof(*f->ring));
    return f;
}

evt_feed *evt_feed_new(size_t ring)
{
    return evt_feed_new_clock(ring, NULL);
}

void evt_feed_free(evt_feed *f)
{
    if (!f)
        return;
    if (f->subs)
        log_error("events feed freed with %zu subscribers", f->nsubs);
    for (size_t i = 0; i < f->cap; i++)
        free(f->ring[i].json);
    free(f->ring);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void evt_feed_set_tenant_cb(evt_feed *f, evt_feed_tenant_cb cb, void *arg)
{
    pthread_mutex_lock(&f->lock);
    f->tenant_cb = cb;
    f->tenant_arg = arg;
    pthread_mutex_unlock(&f->lock);
}

static struct evt_feed_msg view(const struct feed_msg *m)
{
    return (struct evt_feed_msg){.id = m->id,
                                 .type = m->type,
                                 .camera_id = m->camera_id,
                                 .tenant = m->tenant,
                                 .json = m->json,
                                 .json_len = m->json_len};
}

uint64_t evt_feed_publish(evt_feed *f, const char *type, const char *camera_id, const char *json)
{
    if (!f || !type || !camera_id || !json || strlen(type) >= EVT_FEED_TYPE_MAX ||
        strlen(camera_id) >= EVT_FEED_ID_MAX)
        return 0;
    char tenant[EVT_FEED_TENANT_MAX] = "";
    pthread_mutex_lock(&f->lock);
    evt_feed_tenant_cb tcb = f->tenant_cb;
    void *targ = f->tenant_arg;
    pthread_mutex_unlock(&f->lock);
    if (tcb && tcb(camera_id, tenant, sizeof(tenant), targ) < 0)
        snprintf(tenant, sizeof(tenant), "?");
    size_t len = strlen(json);
    char *copy = horus_malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        copy[i] = json[i] == '\n' || json[i] == '\r' ? ' ' : json[i];
    copy[len] = '\0';

    pthread_mutex_lock(&f->lock);
    uint64_t now_us = (uint64_t)clock_realtime_ms(f->clock) * 1000u;
    uint64_t id = now_us > f->last_id ? now_us : f->last_id + 1;
    f->last_id = id;
    struct feed_msg *slot;
    if (f->n == f->cap) {
        slot = &f->ring[f->head];
        f->evicted = slot->id;
        free(slot->json);
        f->head = (f->head + 1) % f->cap;
    } else {
        slot = &f->ring[(f->head + f->n) % f->cap];
        f->n++;
    }
    slot->id = id;
    snprintf(slot->type, sizeof(slot->type), "%s", type);
    snprintf(slot->camera_id, sizeof(slot->camera_id), "%s", camera_id);
    snprintf(slot->tenant, sizeof(slot->tenant), "%s", tenant);
    slot->json = copy;
    slot->json_len = len;
    struct evt_feed_msg m = view(slot);
    for (struct evt_feed_sub *s = f->subs; s; s = s->next)
        s->cb(&m, s->arg);
    pthread_mutex_unlock(&f->lock);
    return id;
}

/* The ring position of id, or -1. Lock held. */
static long find_locked(const evt_feed *f, uint64_t id)
{
    size_t lo = 0, hi = f->n; /* ids increase along the ring: binary search */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t v = f->ring[(f->head + mid) % f->cap].id;
        if (v == id)
            return (long)mid;
        if (v < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

evt_feed_sub *evt_feed_subscribe(evt_feed *f, bool has_last, uint64_t last_id,
                                 evt_feed_deliver_cb cb, void *arg)
{
    evt_feed_sub *s = horus_calloc(1, sizeof(*s));
    s->cb = cb;
    s->arg = arg;
    pthread_mutex_lock(&f->lock);
    if (has_last) {
        long at = -1;
        bool is_known = false;
        if (last_id && last_id == f->evicted) {
            at = -1; /* everything after it is kept: replay the whole ring */
            is_known = true;
        } else if (last_id) {
            at = find_locked(f, last_id);
            is_known = at >= 0;
        }
        if (is_known) {
            for (size_t i = (size_t)(at + 1); i < f->n; i++) {
                struct evt_feed_msg m = view(&f->ring[(f->head + i) % f->cap]);
                cb(&m, arg);
            }
        } else {
            struct evt_feed_msg m = {.id = f->last_id,
                                     .type = "reset",
                                     .camera_id = "",
                                     .tenant = "",
                                     .json = "{}",
                                     .json_len = 2};
            cb(&m, arg);
        }
    }
    s->next = f->subs;
    if (f->subs)
        f->subs->prev = s;
    f->subs = s;
    f->nsubs++;
    pthread_mutex_unlock(&f->lock);
    return s;
}

void evt_feed_unsubscribe(evt_feed *f, evt_feed_sub *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&f->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        f->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    f->nsubs--;
    pthread_mutex_unlock(&f->lock);
    free(s);
}

size_t evt_feed_subscribers(evt_feed *f)
{
    pthread_mutex_lock(&f->lock);
    size_t n = f->nsubs;
    pthread_mutex_unlock(&f->lock);
    return n;
}

uint64_t evt_feed_last_id(evt_feed *f)
{
    pthread_mutex_lock(&f->lock);
    uint64_t id = f->last_id;
    pthread_mutex_unlock(&f->lock);
    return id;
}
