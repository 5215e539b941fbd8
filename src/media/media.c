/*
 * DESIGN: refcounted media objects in one allocation each (header plus
 * payload), so a packet fanned out to the recorder, live view and analytics
 * costs one malloc and no copies. Live counters let tests assert that every
 * reference was dropped.
 */
#include "media.h"

#include "mem.h"

#include <stdlib.h>
#include <string.h>

static _Atomic long live_packets;
static _Atomic long live_streams;

media_stream *media_stream_new(enum media_kind kind, enum media_codec codec, uint32_t timescale,
                               const uint8_t *extradata, size_t extradata_size)
{
    media_stream *s = horus_calloc(1, sizeof(*s) + extradata_size);
    atomic_init(&s->refs, 1);
    s->kind = kind;
    s->codec = codec;
    s->timescale = timescale;
    s->extradata_size = extradata_size;
    if (extradata_size)
        memcpy(s->extradata, extradata, extradata_size);
    atomic_fetch_add(&live_streams, 1);
    return s;
}

media_stream *media_stream_ref(media_stream *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void media_stream_unref(media_stream *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    atomic_fetch_sub(&live_streams, 1);
    free(s);
}

bool media_stream_same_params(const media_stream *a, const media_stream *b)
{
    return a->kind == b->kind && a->codec == b->codec && a->timescale == b->timescale &&
           a->width == b->width && a->height == b->height && a->sample_rate == b->sample_rate &&
           a->channels == b->channels && a->extradata_size == b->extradata_size &&
           memcmp(a->extradata, b->extradata, a->extradata_size) == 0;
}

media_packet *media_packet_new(media_stream *stream, size_t size)
{
    media_packet *p = horus_malloc(sizeof(*p) + size);
    memset(p, 0, sizeof(*p));
    atomic_init(&p->refs, 1);
    p->stream = media_stream_ref(stream);
    p->size = size;
    atomic_fetch_add(&live_packets, 1);
    return p;
}

media_packet *media_packet_resize(media_packet *p, size_t size)
{
    horus_assert(atomic_load(&p->refs) == 1);
    p = horus_realloc(p, sizeof(*p) + size);
    p->size = size;
    return p;
}

media_packet *media_packet_ref(media_packet *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    return p;
}

void media_packet_unref(media_packet *p)
{
    if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    media_stream_unref(p->stream);
    atomic_fetch_sub(&live_packets, 1);
    free(p);
}

long media_live_packets(void)
{
    return atomic_load(&live_packets);
}

long media_live_streams(void)
{
    return atomic_load(&live_streams);
}
