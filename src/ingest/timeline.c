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
 *     (counted in `repaired`). An audio packet stamped at or before the
 *     last one delivered in the same session (a repeat, or the clock
 *     moved back by less than rule 2's jump, as when libav switches to
 *     RTCP-synchronised times) would repeat sound already delivered:
 *     it comes back is_overlap and is not delivered (counted in
 *     `overlapped`), so the audio stays where its clock puts it and a
 *     file never holds more audio than its span. Hence dts is strictly
 *     increasing and pts >= dts always.
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
 *  8. A connect-time burst does not make the clock late
 *     (docs/design/0047-connect-burst-clock.md). Many cameras send the GOP
 *     they cached since their last keyframe within milliseconds of PLAY:
 *     anchored at its arrival (rule 5), the whole session would be dated
 *     up to a GOP late. So every track (audio too) holds a session's first
 *     packets (at least k + 3 video frames, or 3 audio packets) for as long
 *     as they come faster than real time: arrival minus decode time (whole
 *     frame steps in arrival order) still fell by more than half a step at
 *     one of the last two (ing_timeline_hold_more; at most ING_HOLD_CAP
 *     packets and ING_HOLD_US; the owner lets held audio out before held
 *     video). Then ing_timeline_measure_burst takes the
 *     lower envelope of arrival minus rule 4's dts over what was held (the
 *     least delayed packet: on time), and rule 5's anchor moves earlier by
 *     the first packet's distance above it. Without a burst that distance
 *     is the first packet's jitter (a few ms); wall_us still never goes
 *     backwards, so a reconnect burst that repeats what the last session
 *     delivered holds at the last wall time until it catches up. The
 *     packets after the burst feed two statistics for the camera status:
 *     the smoothed lag of arrival behind the wall time given, and the RFC
 *     3550 interarrival jitter.
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
    if (tl->in_session)
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

/* For the small spans of rule 8 (seconds): exact enough, no overflow. */
static int64_t us_from_ticks(const struct ing_timeline *tl, int64_t ticks)
{
    return ticks * 1000000 / (int64_t)tl->timescale;
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

/*
 * Rule 4's dts for the newest of the n >= 1 pts in window (any order): the
 * (k+1)-th largest, or, for a session's first k frames, the smallest
 * counted back by whole frame durations (lead).
 */
static int64_t dts_of_window(const int64_t *window, unsigned n, unsigned k, int64_t lead)
{
    if (n <= k) {
        int64_t min = INT64_MAX;
        for (unsigned i = 0; i < n; i++)
            if (window[i] < min)
                min = window[i];
        return min - (int64_t)(k + 1 - n) * lead;
    }
    /* The (k+1)-th largest: count, for each value, how many are larger. */
    int64_t best = INT64_MIN;
    for (unsigned i = 0; i < n; i++) {
        unsigned larger = 0;
        for (unsigned j = 0; j < n; j++)
            larger += window[j] > window[i];
        if (larger <= k && (best == INT64_MIN || window[i] < best))
            best = window[i];
    }
    return best;
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

    return dts_of_window(tl->recent_pts, tl->nrecent, tl->reorder, tl->lead_duration);
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

/*
 * Rule 8's statistics of on-time packets (not the burst): the smoothed lag
 * of arrival behind the presentation's wall time, and the RFC 3550
 * interarrival jitter (|change of arrival - change of media time|, 1/16).
 */
static void timeline_note_clock(struct ing_timeline *tl, int64_t arrival_us, int64_t dts,
                                int64_t wall, bool starts_session, bool is_video)
{
    if (tl->stats_skip) {
        tl->stats_skip--;
        return;
    }
    int64_t lead = is_video ? us_from_ticks(tl, (int64_t)tl->reorder * tl->lead_duration) : 0;
    int64_t lag = arrival_us - wall - lead;
    if (!tl->has_clock_stats) {
        tl->lag_us = lag;
        tl->has_clock_stats = true;
    } else {
        tl->lag_us += (lag - tl->lag_us) / 16;
    }
    if (starts_session || !tl->has_output)
        return;
    int64_t d = (arrival_us - tl->last_arrival_us) - us_from_ticks(tl, dts - tl->last_dts);
    tl->jitter_us += ((d < 0 ? -d : d) - tl->jitter_us) / 16;
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
    } else if (tl->has_output && !starts_session && pts <= tl->last_pts) {
        tl->overlapped++;
        return (struct ing_timestamps){.is_overlap = true};
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
        /* Anchored so this packet is presented at its arrival (rule 5), less a burst (rule 8). */
        tl->anchor_wall_us = arrival_us - (pts - dts) * 1000000 / tl->timescale - tl->burst_lead_us;
        tl->anchor_pts = dts;
        tl->last_burst_us = tl->burst_lead_us;
        tl->burst_lead_us = 0;
    }
    int64_t wall = tl->anchor_wall_us + (dts - tl->anchor_pts) * 1000 / tl->timescale * 1000 +
                   (dts - tl->anchor_pts) * 1000 % tl->timescale * 1000 / tl->timescale;
    if (tl->has_output && wall < tl->last_wall_us)
        wall = tl->last_wall_us;
    if (!timeline_pull_back(tl, &wall, arrival_us))
        return (struct ing_timestamps){.is_rejected = true};

    timeline_note_clock(tl, arrival_us, dts, wall, starts_session, is_video);
    tl->has_output = true;
    tl->last_dts = dts;
    tl->last_pts = pts;
    if (pts > tl->max_pts)
        tl->max_pts = pts;
    tl->last_wall_us = wall;
    tl->last_arrival_us = arrival_us;
    return (struct ing_timestamps){.dts = dts, .pts = pts, .wall_us = wall};
}

/*
 * Rule 8: the held packets' timestamps unwrapped (rule 1) relative to the
 * first that has one; has[i] false for none, and from a jump on (rule 2's
 * test between neighbours: a burst spans more than 2 s of media in no
 * time). Returns how many have one.
 */
static unsigned held_relative(const struct ing_timeline *tl, const int64_t *raw_pts,
                              const int64_t *arrival_us, unsigned n, int64_t *rel, bool *has)
{
    unsigned m = 0;
    bool jumped = false;
    int64_t limit = 2 * (int64_t)tl->timescale;
    unsigned prev = 0;
    for (unsigned i = 0; i < n; i++) {
        has[i] = false;
        if (jumped || raw_pts[i] == ING_TS_NONE)
            continue;
        if (m == 0) {
            rel[i] = 0;
        } else {
            int64_t d = (int32_t)((uint32_t)raw_pts[i] - (uint32_t)raw_pts[prev]);
            int64_t elapsed = ticks_from_us(tl, arrival_us[i] - arrival_us[prev]);
            if (d < -limit || d > (elapsed > 0 ? elapsed : 0) + limit) {
                jumped = true;
                continue;
            }
            rel[i] = rel[prev] + d;
        }
        has[i] = true;
        prev = i;
        m++;
    }
    return m;
}

bool ing_timeline_hold_more(const struct ing_timeline *tl, const int64_t *raw_pts,
                            const int64_t *arrival_us, unsigned n)
{
    if (tl->in_session || n >= ING_HOLD_CAP)
        return false;
    if (n < ing_timeline_hold_frames(tl))
        return true;
    int64_t rel[ING_HOLD_CAP];
    bool has[ING_HOLD_CAP];
    unsigned m = held_relative(tl, raw_pts, arrival_us, n, rel, has);
    if (m < 3)
        return true; /* too few to tell yet (bounded by the owner's ING_HOLD_US) */
    /*
     * The frame step: the smallest pts difference among neighbours (B-frames
     * arrive out of order, never by more than ING_REORDER_MAX).
     */
    int64_t step = INT64_MAX;
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = i > ING_REORDER_MAX ? i - ING_REORDER_MAX : 0; j < i && has[i]; j++) {
            int64_t d = has[j] ? (rel[i] > rel[j] ? rel[i] - rel[j] : rel[j] - rel[i]) : 0;
            if (d > 0 && d < step)
                step = d;
        }
    if (step > (int64_t)tl->timescale)
        step = tl->duration;
    /*
     * Arrival minus decode time, counted in steps in arrival (decode) order:
     * flat for packets on time, falling by about a step per packet in a
     * burst. The burst is over when neither of the last two lowered the
     * envelope of those before by more than half a step.
     */
    int64_t margin = us_from_ticks(tl, step) / 2;
    if (margin < ING_BURST_MARGIN_US)
        margin = ING_BURST_MARGIN_US;
    int64_t envelope = INT64_MAX;
    unsigned seen = 0, lowered_at = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!has[i])
            continue;
        int64_t off = arrival_us[i] - us_from_ticks(tl, (int64_t)seen * step);
        if (seen > 0 && off < envelope - margin)
            lowered_at = seen;
        envelope = off < envelope ? off : envelope;
        seen++;
    }
    return lowered_at + 2 >= seen;
}

void ing_timeline_measure_burst(struct ing_timeline *tl, const int64_t *raw_pts,
                                const int64_t *arrival_us, unsigned n)
{
    tl->burst_lead_us = 0;
    tl->stats_skip = 0;
    int64_t rel[ING_HOLD_CAP];
    bool has[ING_HOLD_CAP];
    n = n < ING_HOLD_CAP ? n : ING_HOLD_CAP;
    if (held_relative(tl, raw_pts, arrival_us, n, rel, has) == 0)
        return;
    /*
     * Arrival minus decode time, with the dts rule 4 will give: constant for
     * packets on time (B-frames included), larger for each packet of a
     * burst by how long it waited at the camera. The lower envelope is the
     * least delayed packet; the first is anchored by its distance to it.
     */
    int64_t window[ING_REORDER_MAX];
    unsigned nwin = 0, pos = 0, at_min = 0;
    int64_t first = INT64_MIN, min = INT64_MAX;
    for (unsigned i = 0; i < n; i++) {
        if (!has[i])
            continue;
        window[pos] = rel[i];
        pos = (pos + 1) % ING_REORDER_MAX;
        nwin += nwin < ING_REORDER_MAX;
        int64_t dts = dts_of_window(window, nwin, tl->reorder, tl->duration);
        int64_t off = arrival_us[i] - us_from_ticks(tl, dts);
        if (first == INT64_MIN)
            first = off;
        if (off < min) {
            min = off;
            at_min = i;
        }
    }
    tl->burst_lead_us = first - min;
    tl->stats_skip = at_min;
}

bool ing_timeline_wall_of(const struct ing_timeline *tl, int64_t raw_pts, int64_t *wall_us,
                          int64_t *media_us)
{
    if (!tl->in_session || !tl->has_output)
        return false;
    int64_t delta = (int32_t)((uint32_t)raw_pts - (uint32_t)tl->last_raw_pts);
    int64_t x = tl->unwrapped_pts + delta + tl->offset;
    int64_t d = x - tl->anchor_pts;
    int64_t ts = tl->timescale;
    *wall_us = tl->anchor_wall_us + d * 1000 / ts * 1000 + d * 1000 % ts * 1000 / ts;
    *media_us = x / ts * 1000000 + x % ts * 1000000 / ts;
    return true;
}
