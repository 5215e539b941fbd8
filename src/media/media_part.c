/*
 * DESIGN: refcounted init segments and parts, each one allocation (header
 * plus bytes), so a part is copied once when the writer builds it and then
 * shared by reference between the live hub and every HTTP reply serving
 * it. Live counters let tests assert that every reference was dropped.
 */
#include "media_part.h"

#include "mem.h"

#include <stdlib.h>
#include <string.h>

static _Atomic long live_inits;
static _Atomic long live_parts;

media_init *media_init_new(const uint8_t *data, size_t size, media_stream *const *streams,
                           size_t n_streams)
{
    horus_assert(n_streams >= 1 && n_streams <= MEDIA_INIT_MAX_STREAMS);
    media_init *i = horus_calloc(1, sizeof(*i) + size);
    atomic_init(&i->refs, 1);
    i->n_streams = n_streams;
    i->primary = 0;
    for (size_t k = n_streams; k-- > 0;) {
        i->streams[k] = media_stream_ref(streams[k]);
        if (streams[k]->kind == MEDIA_KIND_VIDEO)
            i->primary = k;
    }
    i->size = size;
    if (size)
        memcpy(i->data, data, size);
    atomic_fetch_add(&live_inits, 1);
    return i;
}

media_init *media_init_ref(media_init *i)
{
    atomic_fetch_add_explicit(&i->refs, 1, memory_order_relaxed);
    return i;
}

void media_init_unref(media_init *i)
{
    if (!i || atomic_fetch_sub_explicit(&i->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t k = 0; k < i->n_streams; k++)
        media_stream_unref(i->streams[k]);
    atomic_fetch_sub(&live_inits, 1);
    free(i);
}

bool media_init_same(const media_init *a, const media_init *b)
{
    return a == b || (a->size == b->size && memcmp(a->data, b->data, a->size) == 0);
}

media_part *media_part_new(media_init *init, size_t size)
{
    media_part *p = horus_malloc(sizeof(*p) + size);
    memset(p, 0, sizeof(*p));
    atomic_init(&p->refs, 1);
    p->init = media_init_ref(init);
    p->size = size;
    atomic_fetch_add(&live_parts, 1);
    return p;
}

media_part *media_part_ref(media_part *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void media_part_unref(media_part *p)
{
    if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    media_init_unref(p->init);
    atomic_fetch_sub(&live_parts, 1);
    free(p);
}

long media_live_inits(void)
{
    return atomic_load(&live_inits);
}

long media_live_parts(void)
{
    return atomic_load(&live_parts);
}
