/*
 * DESIGN: RTP over UDP may arrive out of order or twice (a Wi-Fi camera,
 * two paths through a switch); the depacketiser takes a sequence gap for a
 * loss and drops the access unit. This small buffer, in front of it on the
 * UDP path only (TCP keeps order), puts a track's packets back in sequence
 * order (docs/design/0073):
 *
 * - the expected packet goes out at once, then every held one that follows
 *   it without a hole;
 * - a packet ahead of a hole is held (copied: the datagram lives in the
 *   loop's shared buffer) for at most hold_ns; when the oldest held packet
 *   has waited that long, or the buffer is full, the hole is a loss: the
 *   held packets go out in order and the depacketiser sees the gap;
 * - a packet behind what went out is a duplicate or too late: dropped and
 *   counted (the depacketiser would take it for a jump back);
 * - a jump further than the buffer either way (a camera that restarted its
 *   stream, a long outage) flushes what is held and starts over there.
 *
 * Pure: no I/O, no clock of its own, no allocation after init.
 * Thread: the stream's loop.
 */
#include "rtsp_int.h"

#include "mem.h"

#include <stdlib.h>
#include <string.h>

struct ing_reorder_slot {
    bool is_used;
    uint16_t seq;
    uint16_t len;
    int64_t at_ns; /* when it was held */
    uint8_t data[ING_REORDER_MTU];
};

void ing_reorder_init(struct ing_reorder *r, int64_t hold_ns)
{
    memset(r, 0, sizeof(*r));
    r->hold_ns = hold_ns;
    r->slots = horus_calloc(ING_REORDER_SLOTS, sizeof(*r->slots));
}

void ing_reorder_release(struct ing_reorder *r)
{
    free(r->slots);
    memset(r, 0, sizeof(*r)); /* what was held is gone with the session */
}

static uint16_t seq_of(const uint8_t *data)
{
    return (uint16_t)(data[2] << 8 | data[3]);
}

/* Sends out the held packet with sequence number seq, if any. Returns whether there was one. */
static bool emit_held(struct ing_reorder *r, uint16_t seq, ing_reorder_cb cb, void *arg)
{
    struct ing_reorder_slot *s = &r->slots[seq % ING_REORDER_SLOTS];
    if (!s->is_used || s->seq != seq)
        return false;
    s->is_used = false;
    r->held--;
    cb(arg, s->data, s->len);
    return true;
}

/* Sends out every held packet that follows the last one sent without a hole. */
static void drain(struct ing_reorder *r, ing_reorder_cb cb, void *arg)
{
    while (r->held && emit_held(r, r->next, cb, arg))
        r->next++;
}

/* Gives up on the hole at r->next: sends out the held packets up to the next hole. */
static void skip_hole(struct ing_reorder *r, ing_reorder_cb cb, void *arg)
{
    for (unsigned i = 1; r->held && i < ING_REORDER_SLOTS; i++) {
        uint16_t seq = (uint16_t)(r->next + i);
        if (emit_held(r, seq, cb, arg)) {
            r->next = (uint16_t)(seq + 1);
            drain(r, cb, arg);
            return;
        }
    }
}

/* Sends out everything held, in order (a jump past the buffer). */
static void flush_all(struct ing_reorder *r, ing_reorder_cb cb, void *arg)
{
    while (r->held)
        skip_hole(r, cb, arg);
}

void ing_reorder_push(struct ing_reorder *r, const uint8_t *data, size_t len, int64_t now_ns,
                      ing_reorder_cb cb, void *arg)
{
    if (len < 12 || !r->slots) {
        cb(arg, data, len); /* not RTP: the parser counts it */
        return;
    }
    uint16_t seq = seq_of(data);
    if (!r->has_next) {
        r->has_next = true;
        r->next = seq;
    }
    int d = (int16_t)(uint16_t)(seq - r->next);
    if (d < -(int)ING_REORDER_SLOTS || d >= (int)ING_REORDER_SLOTS) {
        flush_all(r, cb, arg); /* a new start: the camera's numbers jumped */
        r->next = seq;
        d = 0;
    }
    if (d < 0) {
        r->late++; /* a duplicate of, or later than, what went out */
        return;
    }
    if (d == 0) {
        cb(arg, data, len);
        r->next++;
        drain(r, cb, arg);
    } else {
        struct ing_reorder_slot *s = &r->slots[seq % ING_REORDER_SLOTS];
        if (s->is_used && s->seq == seq) {
            r->late++;
            return;
        }
        if (len > ING_REORDER_MTU) {
            cb(arg, data, len); /* cannot be held: out of order it goes */
            return;
        }
        s->is_used = true;
        s->seq = seq;
        s->len = (uint16_t)len;
        s->at_ns = now_ns;
        memcpy(s->data, data, len);
        r->held++;
        r->reordered++;
    }
    ing_reorder_expire(r, now_ns, cb, arg);
}

void ing_reorder_expire(struct ing_reorder *r, int64_t now_ns, ing_reorder_cb cb, void *arg)
{
    while (r->slots && r->held) {
        /* The oldest held packet is the first one after the hole. */
        const struct ing_reorder_slot *first = NULL;
        for (unsigned i = 1; i < ING_REORDER_SLOTS && !first; i++) {
            const struct ing_reorder_slot *s =
                &r->slots[(uint16_t)(r->next + i) % ING_REORDER_SLOTS];
            if (s->is_used && s->seq == (uint16_t)(r->next + i))
                first = s;
        }
        if (!first || (r->held < ING_REORDER_SLOTS - 1 && now_ns - first->at_ns < r->hold_ns))
            return;
        skip_hole(r, cb, arg);
    }
}
