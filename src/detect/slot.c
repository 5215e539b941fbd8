/*
 * DESIGN: the packet slot and the budget's pick (slot.h). Both are plain
 * data so the unit tests drive drops, keyframe waits and overload exactly.
 */
#include "slot.h"

#include <string.h>

const char *const det_skip_names[DET_SKIP_COUNT] = {"busy", "queue_full", "decode_error",
                                                    "keyframe_wait"};

void det_slot_init(struct det_slot *s, size_t cap, bool keyframes_only)
{
    memset(s, 0, sizeof(*s));
    s->cap = cap < 1 ? 1 : cap > DET_SLOT_MAX ? DET_SLOT_MAX : cap;
    s->is_keyframes_only = keyframes_only;
    s->is_waiting_key = true;
}

void det_slot_clear(struct det_slot *s)
{
    while (s->count) {
        media_packet_unref(s->q[s->head]);
        s->q[s->head] = NULL;
        s->head = (s->head + 1) % DET_SLOT_MAX;
        s->count--;
    }
    s->head = 0;
    s->oldest_ns = 0;
}

void det_slot_reset(struct det_slot *s)
{
    det_slot_clear(s);
    s->is_waiting_key = true;
}

void det_slot_push(struct det_slot *s, media_packet *p, int64_t now_ns)
{
    if (s->is_keyframes_only && !p->is_keyframe)
        return;
    if (s->is_waiting_key && !p->is_keyframe) {
        s->skipped[DET_SKIP_KEYFRAME_WAIT]++;
        return;
    }
    if (s->count == s->cap) {
        /* The decoder must not see a hole: drop until the next keyframe. */
        s->skipped[DET_SKIP_QUEUE_FULL]++;
        s->is_waiting_key = true;
        return;
    }
    s->is_waiting_key = false;
    if (!s->count)
        s->oldest_ns = now_ns;
    s->q[(s->head + s->count) % DET_SLOT_MAX] = media_packet_ref(p);
    s->count++;
}

size_t det_slot_take(struct det_slot *s, media_packet **out)
{
    size_t from = 0;
    for (size_t i = s->count; i-- > 1;)
        if (s->q[(s->head + i) % DET_SLOT_MAX]->is_keyframe) {
            from = i;
            break;
        }
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++) {
        size_t k = (s->head + i) % DET_SLOT_MAX;
        if (i < from)
            media_packet_unref(s->q[k]);
        else
            out[n++] = s->q[k];
        s->q[k] = NULL;
    }
    s->superseded = from;
    s->head = 0;
    s->count = 0;
    s->oldest_ns = 0;
    return n;
}

int det_sched_pick(struct det_sched_entry *e, size_t n, double *vtime)
{
    int best = -1;
    double best_pass = 0;
    for (size_t i = 0; i < n; i++) {
        if (!e[i].is_ready)
            continue;
        double pass = e[i].pass > *vtime ? e[i].pass : *vtime;
        /* Ties (passes clamped to vtime) go to the heavier weight, then the first. */
        if (best < 0 || pass < best_pass || (pass == best_pass && e[i].weight > e[best].weight)) {
            best_pass = pass;
            best = (int)i;
        }
    }
    if (best < 0)
        return -1;
    *vtime = best_pass;
    e[best].pass = best_pass + 1.0 / (e[best].weight > 0 ? e[best].weight : 1);
    return best;
}

uint64_t det_sample_due(int64_t *grid_us, int64_t pts_us, int64_t interval_us)
{
    if (*grid_us < 0 || pts_us < *grid_us - (interval_us > 0 ? interval_us : 0)) {
        *grid_us = pts_us;
        return 1;
    }
    if (interval_us <= 0) {
        if (pts_us <= *grid_us)
            return 0;
        *grid_us = pts_us;
        return 1;
    }
    int64_t d = pts_us + interval_us / 4 - *grid_us;
    if (d < interval_us)
        return 0;
    uint64_t n = (uint64_t)(d / interval_us);
    *grid_us += (int64_t)n * interval_us;
    return n;
}

uint64_t det_sample_busy(uint64_t due, uint64_t superseded)
{
    uint64_t missed = due > 1 ? due - 1 : 0;
    return missed < superseded ? missed : superseded;
}
