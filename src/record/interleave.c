/*
 * DESIGN: decode-time order across a camera's tracks (interleave_int.h,
 * docs/design/0063-recorder-interleave.md).
 */
#include "interleave_int.h"

#include <stdlib.h>

#include "mem.h"

static struct rec_ilv_track *track_of(struct rec_interleave *il, const media_packet *pkt)
{
    return &il->tracks[pkt->stream->kind == MEDIA_KIND_VIDEO ? 0 : 1];
}

int64_t rec_interleave_time_us(const media_packet *pkt)
{
    int64_t ts = pkt->stream->timescale ? pkt->stream->timescale : 1;
    return pkt->dts / ts * 1000000 + pkt->dts % ts * 1000000 / ts;
}

void rec_interleave_push(struct rec_interleave *il, media_packet *pkt)
{
    struct rec_ilv_track *t = track_of(il, pkt);
    if (t->len == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        media_packet **q = horus_malloc(cap * sizeof(*q));
        for (size_t i = 0; i < t->len; i++)
            q[i] = t->q[(t->head + i) % t->cap];
        free(t->q);
        t->q = q;
        t->cap = cap;
        t->head = 0;
    }
    t->q[(t->head + t->len++) % t->cap] = media_packet_ref(pkt);
    t->last_us = rec_interleave_time_us(pkt);
    t->is_seen = true;
    il->len++;
}

/* True when another seen track may still deliver a packet earlier than at_us. */
static bool must_wait(const struct rec_interleave *il, size_t best, int64_t at_us)
{
    if (il->len >= REC_ILV_MAX)
        return false;
    int64_t newest = INT64_MIN;
    for (size_t i = 0; i < 2; i++)
        if (il->tracks[i].is_seen && il->tracks[i].last_us > newest)
            newest = il->tracks[i].last_us;
    for (size_t i = 0; i < 2; i++) {
        const struct rec_ilv_track *o = &il->tracks[i];
        if (i == best || !o->is_seen || o->last_us >= at_us)
            continue;
        if (newest - o->last_us <= REC_ILV_STALL_US)
            return true;
    }
    return false;
}

media_packet *rec_interleave_pop(struct rec_interleave *il, bool is_draining)
{
    size_t best = 2;
    int64_t best_us = 0;
    for (size_t i = 0; i < 2; i++) {
        const struct rec_ilv_track *t = &il->tracks[i];
        if (!t->len)
            continue;
        int64_t us = rec_interleave_time_us(t->q[t->head]);
        if (best == 2 || us < best_us) {
            best = i;
            best_us = us;
        }
    }
    if (best == 2 || (!is_draining && must_wait(il, best, best_us)))
        return NULL;
    struct rec_ilv_track *t = &il->tracks[best];
    media_packet *pkt = t->q[t->head];
    t->head = (t->head + 1) % t->cap;
    t->len--;
    il->len--;
    return pkt;
}

void rec_interleave_reset(struct rec_interleave *il)
{
    for (size_t i = 0; i < 2; i++)
        il->tracks[i].is_seen = false;
}

void rec_interleave_release(struct rec_interleave *il)
{
    for (size_t i = 0; i < 2; i++) {
        struct rec_ilv_track *t = &il->tracks[i];
        for (size_t k = 0; k < t->len; k++)
            media_packet_unref(t->q[(t->head + k) % t->cap]);
        free(t->q);
    }
    *il = (struct rec_interleave){0};
}
