/*
 * DESIGN: pacing of a frame's RTP packets (--write packet only). A frame
 * is stamped once when the source produces it, so every client sees the
 * same schedule: a start time (arrival plus a uniform 0..jitter_ms delay,
 * but never before the previous frame's start, so frames never reorder)
 * and, with --pacing spread, a window of half the video frame interval
 * over which its packets are spaced evenly, like an encoder's slices
 * leaving through a NIC shaper. The server loop sends a client's head
 * packet only once it is due and sleeps until the next due time.
 * Frames queued from the GOP cache keep their old stamps and go at once.
 * Thread: server only.
 */
#include "pacing.h"

#define INTERVAL_MIN_NS 1000000 /* 1 ms */
#define INTERVAL_MAX_NS 200000000 /* 200 ms */
#define INTERVAL_DEFAULT_NS 40000000 /* 25 fps until two video frames were seen */

void cs_pacer_init(cs_pacer *p, bool is_spread, int jitter_ms, uint64_t seed)
{
    *p = (cs_pacer){.is_spread = is_spread,
                    .jitter_ms = jitter_ms,
                    .interval_ns = INTERVAL_DEFAULT_NS,
                    .rng = seed | 1};
}

static uint64_t next_random(cs_pacer *p)
{
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    return p->rng;
}

static uint32_t count_packets(const cs_frame *f)
{
    uint32_t n = 0;
    for (size_t pos = 0; pos + 4 <= f->size; n++)
        pos += 4 + (((size_t)f->data[pos + 2] << 8) | f->data[pos + 3]);
    return n;
}

void cs_pacer_stamp(cs_pacer *p, cs_frame *frame, int64_t now_ns)
{
    if (!p->is_spread && p->jitter_ms == 0)
        return;
    if (frame->track == CS_TRACK_VIDEO) {
        int64_t gap = now_ns - p->last_video_ns;
        if (p->last_video_ns && gap >= INTERVAL_MIN_NS && gap <= INTERVAL_MAX_NS)
            p->interval_ns = gap;
        p->last_video_ns = now_ns;
    }
    int64_t due = now_ns;
    if (p->jitter_ms > 0)
        due += (int64_t)(next_random(p) % ((uint64_t)p->jitter_ms * 1000000 + 1));
    if (due < p->last_due_ns)
        due = p->last_due_ns;
    p->last_due_ns = due;
    frame->due_ns = due;
    frame->packets = count_packets(frame);
    frame->spread_ns = p->is_spread ? p->interval_ns / 2 : 0;
}

int64_t cs_pacer_due(const cs_frame *frame, uint32_t index)
{
    if (frame->due_ns == 0 || frame->packets == 0)
        return frame->due_ns;
    return frame->due_ns + frame->spread_ns * (int64_t)index / (int64_t)frame->packets;
}
