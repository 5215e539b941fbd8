/*
 * DESIGN: the per-stream 64-bit timeline, pure logic (rules also in
 * docs/design/0004-ingest-timeline-and-breaker.md).
 *
 *  1. Only the camera's presentation time is trusted, and only its low 32
 *     bits (the RTP timestamp). It is unwrapped by adding the signed 32-bit
 *     difference to the previous packet's, so RTP wraps and libav's own
 *     64-bit unwrapping both come out the same.
 *  2. The first timeline dts is 0. A new session (reconnect), or a jump
 *     inside one (backwards by more than 2 s, or forwards by more than 2 s
 *     beyond the wall-clock time that passed between the two arrivals, as
 *     when libav switches to RTCP-synchronized times), is a discontinuity:
 *     the next packet is placed after the last one by the wall-clock time
 *     that passed (at least one frame duration), so the timeline never
 *     goes backwards and stays near real time across reconnects. With a
 *     reorder depth k the first frame's pts sits k frame durations after
 *     its dts, so both clear everything delivered before.
 *  3. A packet without a timestamp (AV_NOPTS_VALUE, typically the first
 *     after a connect) is placed one frame duration after the previous.
 *  4. DTS is derived, never taken from libav: audio has dts == pts; video
 *     dts is the (k+1)-th largest pts among the recent frames, k being the
 *     reorder depth (0 without B-frames; rule 7 sets it at each session
 *     start, and a frame that proves it deeper raises it). The session's
 *     first k frames have no such pts yet: their dts counts back from the
 *     smallest pts seen by whole frame durations fixed at the session start
 *     (lead_duration). Only a camera that reorders deeper than it declared
 *     (and than the hold showed) gets a dts that would go backwards: it is
 *     bumped to last dts + 1 tick and a pts below its dts is raised to it
 *     (counted in `repaired`, as are repeated or backward audio stamps).
 *     Hence dts is strictly increasing and pts >= dts always.
 *  5. wall_us (UTC) is the wall time of dts: it is anchored so that the
 *     first packet of each session is presented (pts) at its arrival time,
 *     advances with dts and never goes backwards.
 *  6. Media may not run ahead of the wall clock (docs/design/0011). With a
 *     limit set (max_ahead_us), a wall_us ahead of the packet's arrival is
 *     pulled back by at most 1% of each step, so a camera clock that drifts
 *     fast (ppm) stays anchored; a packet that is still more than
 *     max_ahead_us ahead (a camera sending faster than real time, or
 *     stamping the future) is rejected, and so is every packet after it
 *     until the arrival time reaches the wall time of the last packet
 *     delivered. The first packet after that starts a new session (rule 2),
 *     anchored at its arrival. So no wall_us is ever more than max_ahead_us
 *     in the future, and a flooding camera's media is held to real time on
 *     average: it keeps at most max_ahead_us of each burst.
 *  7. The reorder depth is known before a session's first frame is mapped
 *     (docs/design/0029-bframes-first-gop.md): the SPS declares it (H.264
 *     VUI max_num_reorder_frames, 0 for profiles without B-frames; H.265
 *     sps_max_num_reorder_pics) through ing_timeline_set_reorder, and the
 *     owner holds the first frames of each session (k + 3 when declared,
 *     to measure the frame duration even when the first has no pts;
 *     ING_HOLD_MAX when not, bounded by ING_HOLD_US of arrival time) and
 *     primes the timeline with their raw pts: the depth is the most frames
 *     seen to arrive before one they follow in presentation, the frame
 *     duration their smallest pts step, and a first frame without pts
 *     (libav's first packet) is placed one frame before the smallest.
 *
 * Thread: the owner's only (no locks).
 */
#include "ingest_int.h"

#include <string.h>

void ing_timeline_init(struct ing_timeline *tl, uint32_t timescale, int64_t default_duration)
{
    memset(tl, 0, sizeof(*tl));
    tl->timescale = timescale ? timescale : 90000;
    tl->default_duration = default_duration > 0 ? default_duration : 1;
    tl->duration = tl->default_duration;
    tl->lead_duration = tl->duration;
    tl->reorder_hint = -1;
}

void ing_timeline_set_reorder(struct ing_timeline *tl, int k)
{
    tl->reorder_hint = k < 0 ? -1 : (k < ING_REORDER_MAX - 1 ? k : ING_REORDER_MAX - 1);
}

unsigned ing_timeline_hold_frames(const struct ing_timeline *tl)
{
    if (tl->in_session || tl->reorder_hint == 0)
        return 0;
    if (tl->reorder_hint < 0)
        return ING_HOLD_MAX;
    unsigned n = (unsigned)tl->reorder_hint + 3;
    return n < ING_HOLD_MAX ? n : ING_HOLD_MAX;
}

void ing_timeline_prime(struct ing_timeline *tl, int64_t *raw_pts, unsigned n)
{
    /*
     * Relative to the first timestamped frame, unwrapped as rule 1 does;
     * beyond 2 s is a jump, not reordering.
     */
    int64_t rel[ING_HOLD_MAX];
    unsigned m = 0, first = 0;
    while (first < n && raw_pts[first] == ING_TS_NONE)
        first++;
    int64_t limit = 2 * (int64_t)tl->timescale, min = 0;
    for (unsigned i = first; i < n && m < ING_HOLD_MAX; i++) {
        if (raw_pts[i] == ING_TS_NONE)
            continue;
        int64_t d = (int32_t)((uint32_t)raw_pts[i] - (uint32_t)raw_pts[first]);
        if (d < -limit || d > limit)
            continue;
        rel[m++] = d;
        min = d < min ? d : min;
    }
    unsigned k = tl->reorder_hint > 0 ? (unsigned)tl->reorder_hint : 0;
    int64_t step = INT64_MAX;
    for (unsigned i = 0; i < m; i++) {
        unsigned later = 0;
        for (unsigned j = 0; j < i; j++) {
            later += rel[j] > rel[i];
            int64_t d = rel[j] > rel[i] ? rel[j] - rel[i] : rel[i] - rel[j];
            if (d > 0 && d < step)
                step = d;
        }
        if (later > k)
            k = later;
    }
    tl->reorder = k < ING_REORDER_MAX - 1 ? k : ING_REORDER_MAX - 1;
    if (step <= tl->timescale)
        tl->duration = step;
    /* A keyframe without pts (libav's first packet): one frame before what it opens. */
    if (m > 0 && first > 0 && first < n && raw_pts[0] == ING_TS_NONE)
        raw_pts[0] = (int64_t)(uint32_t)(raw_pts[first] + min - tl->duration);
    tl->is_primed = true;
}

void ing_timeline_reset_session(struct ing_timeline *tl)
{
    tl->in_session = false;
    tl->nrecent = 0;
    tl->recent_pos = 0;
}

static int64_t ticks_from_us(const struct ing_timeline *tl, int64_t us)
{
    return us / 1000 * (int64_t)tl->timescale / 1000;
}

/* Where the first packet after a discontinuity goes (rule 2), k its reorder depth. */
static int64_t timeline_resume_pts(const struct ing_timeline *tl, int64_t arrival_us, unsigned k)
{
    int64_t lead = (int64_t)k * tl->lead_duration;
    if (!tl->has_output)
        return lead;
    int64_t last = tl->max_pts > tl->last_dts + lead ? tl->max_pts : tl->last_dts + lead;
    int64_t elapsed = ticks_from_us(tl, arrival_us - tl->last_arrival_us);
    return last + (elapsed > tl->duration ? elapsed : tl->duration);
}

/* Rule 7 at a session's start: the depth declared or primed, the duration to count back by. */
static void timeline_start_video_session(struct ing_timeline *tl)
{
    if (!tl->is_primed && tl->reorder_hint >= 0)
        tl->reorder = (unsigned)tl->reorder_hint;
    tl->is_primed = false;
    tl->lead_duration = tl->duration;
}

static void timeline_note_duration(struct ing_timeline *tl, int64_t pts)
{
    int64_t best = INT64_MAX;
    for (unsigned i = 0; i < tl->nrecent; i++) {
        int64_t d = pts - tl->recent_pts[i];
        if (d > 0 && d < best)
            best = d;
    }
    if (best <= tl->timescale)
        tl->duration = best;
}

/* Rule 4 for video: returns the candidate dts of pts and records pts. */
static int64_t timeline_video_dts(struct ing_timeline *tl, int64_t pts)
{
    unsigned later = 0;
    for (unsigned i = 0; i < tl->nrecent; i++)
        later += tl->recent_pts[i] > pts;
    if (later > tl->reorder)
        tl->reorder = later < ING_REORDER_MAX - 1 ? later : ING_REORDER_MAX - 1;
    timeline_note_duration(tl, pts);
    tl->recent_pts[tl->recent_pos] = pts;
    tl->recent_pos = (tl->recent_pos + 1) % ING_REORDER_MAX;
    if (tl->nrecent < ING_REORDER_MAX)
        tl->nrecent++;

    unsigned k = tl->reorder;
    if (tl->nrecent <= k) {
        int64_t min = INT64_MAX;
        for (unsigned i = 0; i < tl->nrecent; i++)
            if (tl->recent_pts[i] < min)
                min = tl->recent_pts[i];
        return min - (int64_t)(k + 1 - tl->nrecent) * tl->lead_duration;
    }
    /* The (k+1)-th largest: count, for each value, how many are larger. */
    int64_t best = INT64_MIN;
    for (unsigned i = 0; i < tl->nrecent; i++) {
        unsigned larger = 0;
        for (unsigned j = 0; j < tl->nrecent; j++)
            larger += tl->recent_pts[j] > tl->recent_pts[i];
        if (larger <= k && (best == INT64_MIN || tl->recent_pts[i] < best))
            best = tl->recent_pts[i];
    }
    return best;
}

static bool timeline_is_jump(const struct ing_timeline *tl, int64_t delta, int64_t arrival_us)
{
    int64_t limit = 2 * (int64_t)tl->timescale;
    int64_t elapsed = ticks_from_us(tl, arrival_us - tl->last_arrival_us);
    if (elapsed < 0)
        elapsed = 0;
    return delta < -limit || delta > elapsed + limit;
}

/*
 * Rule 6, before mapping: true while rejecting. A packet that arrives once
 * the wall clock caught up ends the run and starts a new session.
 */
static bool timeline_still_rejecting(struct ing_timeline *tl, int64_t arrival_us)
{
    if (!tl->is_rejecting)
        return false;
    if (arrival_us < tl->last_wall_us) {
        tl->rejected++;
        return true;
    }
    tl->is_rejecting = false;
    ing_timeline_reset_session(tl);
    return false;
}

/* Rule 6, after mapping: the slew; returns false when wall is still too far ahead. */
static bool timeline_pull_back(struct ing_timeline *tl, int64_t *wall, int64_t arrival_us)
{
    if (!tl->max_ahead_us)
        return true;
    int64_t ahead = *wall - arrival_us;
    if (ahead > 0 && tl->has_output && *wall > tl->last_wall_us) {
        int64_t pull = (*wall - tl->last_wall_us) / 100;
        if (pull > ahead)
            pull = ahead;
        tl->anchor_wall_us -= pull;
        *wall -= pull;
        ahead -= pull;
    }
    if (ahead <= tl->max_ahead_us)
        return true;
    tl->is_rejecting = true;
    tl->rejected++;
    tl->rejected_runs++;
    return false;
}

struct ing_timestamps ing_timeline_map(struct ing_timeline *tl, int64_t raw_pts, int64_t arrival_us,
                                       bool is_video)
{
    if (timeline_still_rejecting(tl, arrival_us))
        return (struct ing_timestamps){.is_rejected = true};
    int64_t pts;
    bool starts_session = false;
    if (raw_pts == ING_TS_NONE) {
        pts = tl->has_output ? tl->last_pts + tl->duration : 0;
        if (!tl->in_session)
            starts_session = true;
    } else {
        int64_t raw32 = (int64_t)(uint32_t)raw_pts;
        int64_t delta = (int32_t)((uint32_t)raw_pts - (uint32_t)tl->last_raw_pts);
        if (tl->in_session && timeline_is_jump(tl, delta, arrival_us)) {
            tl->discontinuities++;
            ing_timeline_reset_session(tl);
        }
        if (!tl->in_session) {
            if (is_video)
                timeline_start_video_session(tl);
            pts = timeline_resume_pts(tl, arrival_us, is_video ? tl->reorder : 0);
            tl->unwrapped_pts = raw32;
            tl->offset = pts - raw32;
            tl->in_session = true;
            starts_session = true;
        } else {
            tl->unwrapped_pts += delta;
            pts = tl->unwrapped_pts + tl->offset;
        }
        tl->last_raw_pts = raw_pts;
    }

    int64_t dts;
    if (is_video) {
        dts = timeline_video_dts(tl, pts);
    } else {
        if (tl->has_output && pts > tl->last_pts && pts - tl->last_pts <= tl->timescale)
            tl->duration = pts - tl->last_pts;
        dts = pts;
    }
    if (tl->has_output && dts <= tl->last_dts) {
        dts = tl->last_dts + 1;
        tl->repaired++;
    }
    if (pts < dts)
        pts = dts;

    if (starts_session || !tl->has_output) {
        /* Anchored so this packet is presented at its arrival (rule 5). */
        tl->anchor_wall_us = arrival_us - (pts - dts) * 1000000 / tl->timescale;
        tl->anchor_pts = dts;
    }
    int64_t wall = tl->anchor_wall_us + (dts - tl->anchor_pts) * 1000 / tl->timescale * 1000 +
                   (dts - tl->anchor_pts) * 1000 % tl->timescale * 1000 / tl->timescale;
    if (tl->has_output && wall < tl->last_wall_us)
        wall = tl->last_wall_us;
    if (!timeline_pull_back(tl, &wall, arrival_us))
        return (struct ing_timestamps){.is_rejected = true};

    tl->has_output = true;
    tl->last_dts = dts;
    tl->last_pts = pts;
    if (pts > tl->max_pts)
        tl->max_pts = pts;
    tl->last_wall_us = wall;
    tl->last_arrival_us = arrival_us;
    return (struct ing_timestamps){.dts = dts, .pts = pts, .wall_us = wall};
}
