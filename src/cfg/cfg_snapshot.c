/*
 * DESIGN: configuration snapshots once loaded (cfg.c builds them): their
 * lifetime (a refcount; the last reference frees the arena that holds
 * every string, list and key path, and a count of live snapshots lets
 * tests see that none leaks), the lookups cross-field checks and restart
 * diffs use (a field's position by address, a secret's masked form), and
 * the holder through which readers share the current snapshot while a
 * reload swaps it. Snapshots are immutable after the load; the only shared
 * mutable state is the refcount and the holder's pointer under its mutex.
 * Thread: any.
 */
#include "cfg_int.h"

#include "mem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_size_t live_snapshots;

void cfg_snapshot_destroy(cfg_snapshot *s)
{
    if (!s)
        return;
    free(s->secrets);
    free(s->masked);
    free(s->pos);
    cfg_arena_release(&s->arena);
    free(s);
    atomic_fetch_sub(&live_snapshots, 1);
}

cfg_snapshot *cfg_snapshot_new_empty(const cfg_schema *schema, const char *path)
{
    cfg_snapshot *s = horus_calloc(1, sizeof(*s));
    atomic_init(&s->refs, 1);
    s->schema = schema;
    cfg_arena_init(&s->arena);
    s->data = cfg_arena_alloc(&s->arena, schema->size);
    s->path = path ? cfg_arena_strndup(&s->arena, path, strlen(path)) : NULL;
    atomic_fetch_add(&live_snapshots, 1);
    return s;
}

int cfg_pos_compare(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const cfg_pos *)a)->addr;
    uintptr_t y = (uintptr_t)((const cfg_pos *)b)->addr;
    return (x > y) - (x < y);
}

const cfg_pos *cfg_snapshot_pos(const cfg_snapshot *s, const void *addr)
{
    if (!s || !s->pos)
        return NULL;
    cfg_pos key = {.addr = addr};
    return bsearch(&key, s->pos, s->n_pos, sizeof(*s->pos), cfg_pos_compare);
}

int cfg_masked_compare(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const cfg_masked *)a)->value;
    uintptr_t y = (uintptr_t)((const cfg_masked *)b)->value;
    return (x > y) - (x < y);
}

const char *cfg_snapshot_masked(const cfg_snapshot *s, const char *value)
{
    if (!s->masked)
        return NULL;
    cfg_masked key = {.value = value};
    const cfg_masked *m =
        bsearch(&key, s->masked, s->n_masked, sizeof(*s->masked), cfg_masked_compare);
    return m ? m->masked : NULL;
}

cfg_snapshot *cfg_snapshot_ref(cfg_snapshot *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void cfg_snapshot_unref(cfg_snapshot *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        cfg_snapshot_destroy(s);
}

size_t cfg_snapshot_live_count(void)
{
    return atomic_load(&live_snapshots);
}

const void *cfg_snapshot_data(const cfg_snapshot *s)
{
    return s->data;
}

const cfg_schema *cfg_snapshot_schema(const cfg_snapshot *s)
{
    return s->schema;
}

const char *cfg_snapshot_path(const cfg_snapshot *s)
{
    return s->path;
}

const char *const *cfg_snapshot_secrets(const cfg_snapshot *s, unsigned *n)
{
    static const char *const none[] = {NULL};
    if (n)
        *n = s->n_secrets;
    return s->secrets ? (const char *const *)s->secrets : none;
}

/* ---- holder ---- */

struct cfg_holder {
    pthread_mutex_t lock;
    cfg_snapshot *current; /* owned reference */
};

cfg_holder *cfg_holder_new(cfg_snapshot *initial)
{
    cfg_holder *h = horus_calloc(1, sizeof(*h));
    pthread_mutex_init(&h->lock, NULL);
    h->current = initial;
    return h;
}

void cfg_holder_free(cfg_holder *h)
{
    if (!h)
        return;
    cfg_snapshot_unref(h->current);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

cfg_snapshot *cfg_holder_get(cfg_holder *h)
{
    pthread_mutex_lock(&h->lock);
    cfg_snapshot *s = cfg_snapshot_ref(h->current);
    pthread_mutex_unlock(&h->lock);
    return s;
}

void cfg_holder_swap(cfg_holder *h, cfg_snapshot *new_snap)
{
    pthread_mutex_lock(&h->lock);
    cfg_snapshot *old = h->current;
    h->current = new_snap;
    pthread_mutex_unlock(&h->lock);
    /* The last reference may free a large arena: not under the lock. */
    cfg_snapshot_unref(old);
}
