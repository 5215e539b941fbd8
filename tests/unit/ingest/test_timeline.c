/* Tests for src/ingest/timeline.c: the rules in its DESIGN comment, one by one. */
#include <stdarg.h>
#include <stdlib.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ingest_int.h"

#define T0_US 1767225600000000LL /* 2026-01-01T00:00:00Z */
#define FRAME 3600 /* 25 fps at 90 kHz */
#define FRAME_US 40000

static struct ing_timestamps video(struct ing_timeline *tl, int64_t raw, int64_t arrival_us)
{
    return ing_timeline_map(tl, raw, arrival_us, true);
}

static void test_first_packet_is_zero_and_anchored_at_arrival(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    struct ing_timestamps a = video(&tl, 123456789, T0_US);
    assert_int_equal(a.dts, 0);
    assert_int_equal(a.pts, 0);
    assert_int_equal(a.wall_us, T0_US);
    struct ing_timestamps b = video(&tl, 123456789 + FRAME, T0_US + FRAME_US);
    assert_int_equal(b.dts, FRAME);
    assert_int_equal(b.wall_us, T0_US + FRAME_US);
}

static void test_missing_timestamp_on_first_packet_then_real_ones(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    struct ing_timestamps a = video(&tl, ING_TS_NONE, T0_US);
    assert_int_equal(a.dts, 0);
    struct ing_timestamps b = video(&tl, 5000, T0_US + FRAME_US);
    assert_true(b.dts > a.dts);
    struct ing_timestamps c = video(&tl, 5000 + FRAME, T0_US + 2 * FRAME_US);
    assert_int_equal(c.dts - b.dts, FRAME);
}

static void test_rtp_timestamps_wrap_at_32_bits_without_a_jump(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    int64_t raw = 0xffffffffLL - FRAME; /* one frame before the wrap */
    int64_t last = -1;
    for (int i = 0; i < 5; i++) {
        struct ing_timestamps t =
            video(&tl, (raw + (int64_t)i * FRAME) & 0xffffffff, T0_US + i * FRAME_US);
        assert_int_equal(t.dts, (int64_t)i * FRAME);
        assert_true(t.dts > last);
        last = t.dts;
    }
    assert_int_equal(tl.discontinuities, 0);
}

static void test_bframe_dts_is_derived_monotonic_and_not_after_pts(void **state)
{
    /* Decode order I0 P3 B1 B2 P6 B4 B5 ..., in frames. */
    static const int order[] = {0, 3, 1, 2, 6, 4, 5, 9, 7, 8, 12, 10, 11, 15, 13, 14};
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    int64_t last_dts = INT64_MIN;
    struct ing_timestamps t = {0};
    for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        t = video(&tl, 1000 + (int64_t)order[i] * FRAME, T0_US + (int64_t)i * FRAME_US);
        assert_true(t.dts > last_dts);
        assert_true(t.pts >= t.dts);
        last_dts = t.dts;
    }
    assert_int_equal(tl.reorder, 1); /* at most one earlier frame presents later */
    assert_true(tl.repaired > 0); /* learned late, undeclared and not held: nudged */
    /* Once the reordering is learned, pts are untouched and dts advances by one frame. */
    assert_int_equal(t.pts, 14 * FRAME);
    struct ing_timestamps u = video(&tl, 1000 + 18 * FRAME, T0_US + 16 * FRAME_US);
    assert_int_equal(u.pts, 18 * FRAME);
    assert_int_equal(u.dts - t.dts, FRAME);
}

/* ---- rule 7: the reorder depth is known before a session's first frame ---- */

/* Decode order I0 P3 B1 B2 P6 B4 B5 ... (camsim --bframes without pyramid), in frames. */
static const int IPBB[] = {0, 3, 1, 2, 6, 4, 5, 9, 7, 8, 12, 10, 11, 15, 13, 14};
/* With b-pyramid: I0 P4 B2 b1 b3 P8 B6 b5 b7 ... */
static const int PYRAMID[] = {0, 4, 2, 1, 3, 8, 6, 5, 7, 12, 10, 9, 11, 16, 14, 13, 15};

/*
 * What stream.c does at a session's start: hold what the timeline asks for
 * (all frames arrive at arrival[i]), prime it, then map in arrival order.
 */
static void map_session(struct ing_timeline *tl, const int *order, unsigned n, int64_t base,
                        const int64_t *arrival, struct ing_timestamps *out)
{
    unsigned hold = ing_timeline_hold_frames(tl);
    assert_true(hold <= n);
    int64_t raw[ING_HOLD_MAX];
    for (unsigned i = 0; i < hold; i++)
        raw[i] = (base + (int64_t)order[i] * FRAME) & 0xffffffff;
    if (hold)
        ing_timeline_prime(tl, raw, hold);
    for (unsigned i = 0; i < n; i++)
        out[i] = video(tl, (base + (int64_t)order[i] * FRAME) & 0xffffffff, arrival[i]);
}

/* True presentation order and one frame per sample: pts - first = order * FRAME, dts step FRAME. */
static void assert_ordered(const struct ing_timestamps *t, const int *order, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        assert_false(t[i].is_rejected);
        assert_int_equal(t[i].pts - t[0].pts, (int64_t)order[i] * FRAME);
        assert_true(t[i].pts >= t[i].dts);
        if (i > 0) {
            assert_int_equal(t[i].dts - t[i - 1].dts, FRAME); /* no 1-tick samples */
            assert_true(t[i].wall_us >= t[i - 1].wall_us);
        }
    }
}

static void test_declared_depth_orders_bframes_from_the_first_frame(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    ing_timeline_set_reorder(&tl, 1);
    assert_int_equal(ing_timeline_hold_frames(&tl), 4); /* k + 3: enough to measure a frame */
    enum { N = sizeof(IPBB) / sizeof(IPBB[0]) };
    int64_t arrival[N];
    for (unsigned i = 0; i < N; i++)
        arrival[i] = T0_US + (int64_t)i * FRAME_US;
    struct ing_timestamps t[N];
    map_session(&tl, IPBB, N, 1000, arrival, t);
    /* Issue 14: was pts 0, 10800, 10801, 10802 */
    assert_int_equal(t[0].dts, 0);
    assert_int_equal(t[0].pts, FRAME);
    assert_int_equal(t[1].pts, 4 * FRAME);
    assert_int_equal(t[2].pts, 2 * FRAME);
    assert_int_equal(t[3].pts, 3 * FRAME);
    assert_ordered(t, IPBB, N);
    assert_int_equal(tl.repaired, 0);
    /* The first frame is presented at its arrival. */
    assert_int_equal(t[0].wall_us + FRAME_US, T0_US);
}

static void test_undeclared_pyramid_is_learned_by_the_hold(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, 3000); /* the default duration is wrong: 30 fps */
    assert_int_equal(ing_timeline_hold_frames(&tl), ING_HOLD_MAX);
    enum { N = sizeof(PYRAMID) / sizeof(PYRAMID[0]) };
    int64_t arrival[N];
    for (unsigned i = 0; i < N; i++)
        arrival[i] = T0_US + (int64_t)i * FRAME_US;
    struct ing_timestamps t[N];
    map_session(&tl, PYRAMID, N, 0xffffffffLL - 5 * FRAME, arrival, t); /* wraps inside */
    assert_int_equal(tl.reorder, 2);
    assert_int_equal(tl.duration, FRAME);
    assert_int_equal(t[0].dts, 0);
    assert_ordered(t, PYRAMID, N);
    assert_int_equal(tl.discontinuities, 0);
    assert_int_equal(tl.repaired, 0);
}

static void test_reconnect_with_a_gop_burst_keeps_order_after_the_last_session(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    ing_timeline_set_reorder(&tl, 2);
    enum { N = sizeof(PYRAMID) / sizeof(PYRAMID[0]) };
    int64_t arrival[N];
    for (unsigned i = 0; i < N; i++)
        arrival[i] = T0_US + (int64_t)i * FRAME_US;
    struct ing_timestamps a[N], b[N];
    map_session(&tl, PYRAMID, N, 5, arrival, a);
    assert_ordered(a, PYRAMID, N);
    int64_t max_pts = 0;
    for (unsigned i = 0; i < N; i++)
        max_pts = a[i].pts > max_pts ? a[i].pts : max_pts;
    /* Reconnect 100 ms later: the server bursts its cached GOP, all in one instant. */
    ing_timeline_reset_session(&tl);
    for (unsigned i = 0; i < N; i++)
        arrival[i] = a[N - 1].wall_us + 100000;
    map_session(&tl, PYRAMID, N, 123456789, arrival, b);
    assert_ordered(b, PYRAMID, N);
    assert_true(b[0].dts > a[N - 1].dts);
    assert_true(b[0].pts > max_pts);
    for (unsigned i = 0; i < N; i++)
        assert_true(b[i].wall_us >= a[N - 1].wall_us);
}

static void test_a_first_keyframe_without_pts_is_placed_before_what_it_opens(void **state)
{
    /* libav gives a session's first packet no pts: N/A, 10800, 3600, 7200, 21600, ... */
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    ing_timeline_set_reorder(&tl, 1);
    enum { N = sizeof(IPBB) / sizeof(IPBB[0]) };
    int64_t raw[N];
    for (unsigned i = 0; i < N; i++)
        raw[i] = 7777 + (int64_t)IPBB[i] * FRAME;
    raw[0] = ING_TS_NONE;
    unsigned hold = ing_timeline_hold_frames(&tl);
    ing_timeline_prime(&tl, raw, hold);
    assert_int_equal(raw[0], 7777);
    struct ing_timestamps t[N];
    for (unsigned i = 0; i < N; i++)
        t[i] = video(&tl, raw[i], T0_US + (int64_t)i * FRAME_US);
    assert_ordered(t, IPBB, N);
    assert_int_equal(t[0].dts, 0);
}

static void test_hold_bounds_and_what_needs_little(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    ing_timeline_set_reorder(&tl, 0); /* Baseline, or declared 0: three, to see a burst */
    assert_int_equal(ing_timeline_hold_frames(&tl), 3);
    ing_timeline_set_reorder(&tl, 99); /* capped */
    assert_int_equal(ing_timeline_hold_frames(&tl), ING_HOLD_MAX);
    ing_timeline_set_reorder(&tl, -1);
    /* A jump of hours inside the held frames is not taken for reordering. */
    int64_t raw[4] = {1000, 1000 + FRAME, 1000 - 3600LL * 90000, 1000 + 2 * FRAME};
    ing_timeline_prime(&tl, raw, 4);
    assert_int_equal(tl.reorder, 0);
    struct ing_timestamps t = video(&tl, raw[0], T0_US);
    assert_int_equal(t.dts, 0);
    assert_int_equal(ing_timeline_hold_frames(&tl), 0); /* in session */
}

static void test_reconnect_continues_after_the_wall_time_that_passed(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    struct ing_timestamps a = {0};
    for (int i = 0; i < 10; i++)
        a = video(&tl, 777 + i * FRAME, T0_US + i * FRAME_US);
    ing_timeline_reset_session(&tl);
    /* The new session restarts its RTP clock somewhere else, 2 s later. */
    int64_t arrival = T0_US + 9 * FRAME_US + 2000000;
    struct ing_timestamps b = video(&tl, 4000000000LL, arrival);
    assert_int_equal(b.dts, a.dts + 2 * 90000);
    assert_int_equal(b.wall_us, arrival);
    struct ing_timestamps c = video(&tl, 4000000000LL + FRAME, arrival + FRAME_US);
    assert_int_equal(c.dts, b.dts + FRAME);
}

static void test_a_jump_inside_a_session_is_a_discontinuity_not_a_gap(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    struct ing_timestamps a = video(&tl, 0, T0_US);
    a = video(&tl, FRAME, T0_US + FRAME_US);
    /* 1 hour forward in RTP time, 40 ms of wall time. */
    struct ing_timestamps b = video(&tl, FRAME + 3600LL * 90000, T0_US + 2 * FRAME_US);
    assert_int_equal(b.dts, a.dts + FRAME);
    assert_int_equal(tl.discontinuities, 1);
    /* and 10 s backwards */
    struct ing_timestamps c = video(&tl, FRAME + 3590LL * 90000, T0_US + 3 * FRAME_US);
    assert_int_equal(c.dts, b.dts + FRAME);
    assert_int_equal(tl.discontinuities, 2);
}

static void test_audio_dts_equals_pts_and_never_goes_back(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 48000, 1024);
    struct ing_timestamps a = ing_timeline_map(&tl, 100, T0_US, false);
    struct ing_timestamps b = ing_timeline_map(&tl, 100 + 1024, T0_US + 21333, false);
    assert_int_equal(b.dts, 1024);
    assert_int_equal(b.pts, b.dts);
    assert_int_equal(b.wall_us, T0_US + 21333);
    /* A stamp at or before the last one would repeat sound: not delivered. */
    assert_true(ing_timeline_map(&tl, 100 + 1000, T0_US + 42666, false).is_overlap);
    assert_true(ing_timeline_map(&tl, 100 + 1024, T0_US + 42700, false).is_overlap);
    struct ing_timestamps c = ing_timeline_map(&tl, 100 + 1030, T0_US + 42800, false);
    assert_false(c.is_overlap);
    assert_int_equal(c.dts, 1030);
    assert_true(c.wall_us >= b.wall_us);
    assert_int_equal(tl.overlapped, 2);
    assert_int_equal(tl.repaired, 0);
    (void)a;
}

/*
 * libav moving a stream to RTCP-synchronised times shifts its audio back
 * by a few frames, far less than a jump (rule 2): the frames that repeat
 * time already delivered are dropped, the next lands where its clock says,
 * so the audio delivered over a stretch exceeds it by less than a frame.
 */
static void test_audio_moved_back_a_little_drops_the_overlap_and_keeps_its_clock(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 48000, 1024);
    int64_t raw = 5000, arrival = T0_US;
    unsigned delivered = 0;
    int64_t first = -1, last = -1;
    for (int i = 0; i < 200; i++) {
        if (i == 100)
            raw -= 3 * 1024 + 300; /* the resync: 70 ms back */
        struct ing_timestamps t = ing_timeline_map(&tl, raw, arrival, false);
        if (!t.is_overlap) {
            assert_true(t.dts > last);
            if (first < 0)
                first = t.dts;
            last = t.dts;
            delivered++;
        }
        raw += 1024;
        arrival += 21333;
    }
    assert_int_equal(tl.overlapped, 3);
    assert_int_equal(tl.discontinuities, 0);
    /* less than a frame more sound than the stretch: the first after the resync overlaps
     * its predecessor by 300 ticks; the three that repeated whole frames are gone */
    assert_int_equal((int64_t)delivered * 1024 - (last + 1024 - first), 300);
    assert_int_equal(last, 199 * 1024 - 3 * 1024 - 300);
}

/* ---- rule 6: media may not run ahead of the wall clock ---- */

#define MAX_AHEAD_US 5000000

/*
 * Issue 16: a camera sending 10x faster than real time. Each burst keeps at
 * most max_ahead of media, then packets are rejected until the wall clock
 * reached the last one delivered; the next starts a session anchored at its
 * arrival. No wall time is ever further ahead than max_ahead, and over a
 * minute the media kept is about a minute: the camera is held to real time.
 */
static void test_a_flood_is_held_to_real_time_and_never_dated_ahead(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    tl.max_ahead_us = MAX_AHEAD_US;
    int64_t last_wall = 0, last_dts = -1, kept = 0, max_ahead = 0;
    unsigned runs = 0;
    bool was_rejected = false;
    for (int64_t i = 0; i < 60 * 250; i++) { /* 60 s of arrivals, 250 frames a second */
        int64_t arrival = T0_US + i * FRAME_US / 10;
        struct ing_timestamps t = video(&tl, 1000 + i * FRAME, arrival);
        if (t.is_rejected) {
            runs += !was_rejected;
            was_rejected = true;
            continue;
        }
        if (was_rejected)
            assert_int_equal(t.wall_us, arrival); /* a new session, anchored at its arrival */
        was_rejected = false;
        assert_true(t.wall_us >= last_wall);
        assert_true(t.dts > last_dts);
        if (t.wall_us - arrival > max_ahead)
            max_ahead = t.wall_us - arrival;
        last_wall = t.wall_us;
        last_dts = t.dts;
        kept++;
    }
    assert_true(max_ahead <= MAX_AHEAD_US);
    assert_true(max_ahead > MAX_AHEAD_US - 2 * FRAME_US);
    assert_true(runs >= 10 && runs <= 12); /* one burst every ~5 s */
    assert_int_equal(tl.rejected_runs, runs);
    assert_int_equal(tl.rejected, 60 * 250 - kept);
    /* Kept media: about the 60 s that passed, at most one burst more. */
    int64_t kept_us = kept * FRAME_US;
    assert_true(kept_us >= 55000000 && kept_us <= 60000000 + MAX_AHEAD_US + 500000);
}

/*
 * Camera clocks drift: one running 0.5% fast for an hour is never
 * rejected, and its wall time stays within a few frames of its arrival.
 */
static void test_a_camera_clock_that_runs_a_little_fast_is_pulled_back_not_rejected(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    tl.max_ahead_us = MAX_AHEAD_US;
    for (int64_t i = 0; i < 3600 * 25; i++) {
        int64_t arrival = T0_US + i * FRAME_US;
        struct ing_timestamps t = video(&tl, i * (FRAME + 18), arrival); /* +0.5% */
        assert_false(t.is_rejected);
        assert_true(t.wall_us - arrival <= 3 * FRAME_US);
    }
    assert_int_equal(tl.rejected, 0);
}

/* A server that sends the last GOP at once on PLAY is not a flood. */
static void test_a_gop_burst_at_the_start_is_not_rejected(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    tl.max_ahead_us = MAX_AHEAD_US;
    for (int64_t i = 0; i < 50; i++) { /* 2 s of frames within 50 ms, then real time */
        struct ing_timestamps t = video(&tl, i * FRAME, T0_US + i * 1000);
        assert_false(t.is_rejected);
    }
    for (int64_t i = 50; i < 500; i++)
        assert_false(video(&tl, i * FRAME, T0_US + (i - 50) * FRAME_US + 50000).is_rejected);
    assert_int_equal(tl.rejected, 0);
}

/* Without a limit (the default of a bare timeline) nothing is rejected. */
static void test_without_a_limit_nothing_is_rejected(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    struct ing_timestamps t = {0};
    for (int64_t i = 0; i < 2500; i++)
        t = video(&tl, i * FRAME, T0_US + i * FRAME_US / 10);
    assert_false(t.is_rejected);
    assert_true(t.wall_us - (T0_US + 2499 * FRAME_US / 10) > 80000000);
}
/* ---- rule 8: a connect-time GOP burst does not make the clock late ---- */

/*
 * What stream.c does, rules 7 and 8: hold while the timeline asks (and for
 * at most ING_HOLD_US), prime and measure the held packets, then map them
 * and the rest in arrival order. Returns how many were held.
 */
static unsigned map_with_hold(struct ing_timeline *tl, const int64_t *raw, const int64_t *arrival,
                              unsigned n, struct ing_timestamps *out)
{
    int64_t held[ING_HOLD_CAP];
    unsigned h = 0;
    if (ing_timeline_hold_frames(tl) > 0) {
        while (h < n && h < ING_HOLD_CAP && (h == 0 || arrival[h] - arrival[0] < ING_HOLD_US)) {
            held[h] = raw[h];
            h++;
            if (!ing_timeline_hold_more(tl, held, arrival, h))
                break;
        }
        ing_timeline_prime(tl, held, h);
        ing_timeline_measure_burst(tl, held, arrival, h);
    }
    for (unsigned i = 0; i < n; i++)
        out[i] = video(tl, i < h ? held[i] : raw[i], arrival[i]);
    return h;
}

/*
 * A camera keeps its GOP since the last keyframe (here 23 frames, 880 ms)
 * and sends it within 5 ms of PLAY; then frames arrive on time, 3 ms after
 * capture with 0-4 ms of jitter. Frame i (in decode order) is captured at
 * capture_us + i frames; order gives its presentation position.
 */
enum { BURST = 23, LONG_BURST = 90, ONTIME = 60, NET_US = 3000 };

static void camera_with_burst(bool bframes, int64_t burst, int64_t base, int64_t capture_us,
                              int64_t connect_us, int64_t *raw, int64_t *arrival)
{
    for (int64_t i = 0; i < burst + ONTIME; i++) {
        /* I0 P3 B1 B2 P6 B4 B5 ... with B-frames */
        int64_t g = (i - 1) / 3, r = (i - 1) % 3;
        int64_t pos = !bframes || i == 0 ? i : r == 0 ? 3 * g + 3 : 3 * g + r;
        raw[i] = (base + pos * FRAME) & 0xffffffff;
        int64_t sent = capture_us + i * FRAME_US;
        if (i < burst)
            arrival[i] = connect_us + i * 5000 / burst;
        else
            arrival[i] = sent + NET_US + (i % 3) * 2000;
    }
}

static void test_a_connect_burst_does_not_make_the_clock_late(void **state)
{
    /*
     * Baseline (declared 0) and B-frames (declared 1, I P B B); a burst of
     * 0.92 s, and one of 3.6 s (more than rule 2's 2 s jump in no time).
     */
    enum { N = LONG_BURST + ONTIME };
    for (int c = 0; c < 4; c++) {
        int reorder = c % 2;
        int64_t burst = c < 2 ? BURST : LONG_BURST;
        struct ing_timeline tl;
        ing_timeline_init(&tl, 90000, FRAME);
        ing_timeline_set_reorder(&tl, reorder);
        int64_t raw[N], arrival[N];
        int64_t capture_us = T0_US - burst * FRAME_US + 1000; /* the keyframe's capture */
        camera_with_burst(reorder > 0, burst, 4242, capture_us, T0_US, raw, arrival);
        struct ing_timestamps t[N];
        unsigned n = (unsigned)(burst + ONTIME);
        unsigned held = map_with_hold(&tl, raw, arrival, n, t);
        assert_true(held > burst && held < burst + 4); /* the burst, and a frame or two more */
        /*
         * Each frame's wall time is its decode time on the camera's clock,
         * as if it had come on time: within one frame of (arrival - network
         * delay) for what came on time, of its capture for the burst. The
         * code before rule 8 put the keyframe at its arrival, 0.92 or 3.6 s
         * late.
         */
        int64_t lead = (int64_t)reorder * FRAME_US; /* pts is presented at arrival */
        for (unsigned i = 0; i < n; i++) {
            int64_t truth = capture_us + (int64_t)i * FRAME_US - lead;
            assert_false(t[i].is_rejected);
            assert_true(llabs(t[i].wall_us - truth) < FRAME_US);
            if (i > 0) {
                assert_true(t[i].wall_us >= t[i - 1].wall_us);
                assert_true(t[i].dts > t[i - 1].dts);
            }
        }
        assert_int_equal(tl.repaired, 0);
        assert_int_equal(tl.discontinuities, 0);
        /* The statistics: the burst measured, on-time packets a few ms late, little jitter. */
        assert_true(llabs(tl.last_burst_us - (T0_US - capture_us - NET_US)) < 2000);
        assert_true(tl.lag_us >= 0 && tl.lag_us < 10000);
        assert_true(tl.jitter_us > 0 && tl.jitter_us < 5000);
    }
}

/* A camera that sends on time from the start gets the same anchor as before (rule 5). */
static void test_without_a_burst_the_first_frame_is_presented_at_its_arrival(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    ing_timeline_set_reorder(&tl, 0);
    int64_t raw[10], arrival[10];
    for (unsigned i = 0; i < 10; i++) {
        raw[i] = 99 + (int64_t)i * FRAME;
        arrival[i] = T0_US + (int64_t)i * FRAME_US;
    }
    struct ing_timestamps t[10];
    assert_int_equal(map_with_hold(&tl, raw, arrival, 10, t), 3);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(t[i].wall_us, arrival[i]);
    assert_int_equal(tl.last_burst_us, 0);
    assert_int_equal(tl.jitter_us, 0);
}

/*
 * A reconnect: the new session's burst repeats frames the last one
 * delivered. Anchored at their capture, they would map before what was
 * delivered: wall_us holds at the last one (never backwards), and the
 * frames after the burst are on time again.
 */
static void test_a_reconnect_burst_never_maps_before_the_last_session(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    ing_timeline_set_reorder(&tl, 0);
    int64_t raw[BURST + ONTIME], arrival[BURST + ONTIME];
    int64_t capture_us = T0_US - BURST * FRAME_US + 1000;
    camera_with_burst(false, BURST, 4242, capture_us, T0_US, raw, arrival);
    struct ing_timestamps a[BURST + ONTIME], b[BURST + ONTIME];
    map_with_hold(&tl, raw, arrival, BURST + ONTIME, a);
    struct ing_timestamps last = a[BURST + ONTIME - 1];
    /*
     * Dropped; 480 ms later the camera bursts the GOP since its last
     * keyframe: 10 frames already delivered, 13 captured since.
     */
    ing_timeline_reset_session(&tl);
    int64_t kf = BURST + ONTIME - 10;
    int64_t kf_capture_us = capture_us + kf * FRAME_US;
    camera_with_burst(false, BURST, 4242 + kf * FRAME, kf_capture_us,
                      kf_capture_us + BURST * FRAME_US - 1000, raw, arrival);
    map_with_hold(&tl, raw, arrival, BURST + ONTIME, b);
    assert_true(b[0].dts > last.dts);
    assert_true(b[0].wall_us >= last.wall_us);
    for (unsigned i = 1; i < BURST + ONTIME; i++) {
        assert_true(b[i].dts > b[i - 1].dts);
        assert_true(b[i].wall_us >= b[i - 1].wall_us);
    }
    /* On time again after the burst (the burst is 23 frames here: 10 repeats, 13 new). */
    int64_t truth = capture_us + (kf + BURST + ONTIME - 1) * FRAME_US;
    assert_true(llabs(b[BURST + ONTIME - 1].wall_us - truth) < FRAME_US);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_packet_is_zero_and_anchored_at_arrival),
        cmocka_unit_test(test_missing_timestamp_on_first_packet_then_real_ones),
        cmocka_unit_test(test_rtp_timestamps_wrap_at_32_bits_without_a_jump),
        cmocka_unit_test(test_bframe_dts_is_derived_monotonic_and_not_after_pts),
        cmocka_unit_test(test_reconnect_continues_after_the_wall_time_that_passed),
        cmocka_unit_test(test_declared_depth_orders_bframes_from_the_first_frame),
        cmocka_unit_test(test_undeclared_pyramid_is_learned_by_the_hold),
        cmocka_unit_test(test_reconnect_with_a_gop_burst_keeps_order_after_the_last_session),
        cmocka_unit_test(test_a_first_keyframe_without_pts_is_placed_before_what_it_opens),
        cmocka_unit_test(test_hold_bounds_and_what_needs_little),
        cmocka_unit_test(test_a_flood_is_held_to_real_time_and_never_dated_ahead),
        cmocka_unit_test(test_a_camera_clock_that_runs_a_little_fast_is_pulled_back_not_rejected),
        cmocka_unit_test(test_a_gop_burst_at_the_start_is_not_rejected),
        cmocka_unit_test(test_without_a_limit_nothing_is_rejected),
        cmocka_unit_test(test_a_jump_inside_a_session_is_a_discontinuity_not_a_gap),
        cmocka_unit_test(test_audio_dts_equals_pts_and_never_goes_back),
        cmocka_unit_test(test_audio_moved_back_a_little_drops_the_overlap_and_keeps_its_clock),
        cmocka_unit_test(test_a_connect_burst_does_not_make_the_clock_late),
        cmocka_unit_test(test_without_a_burst_the_first_frame_is_presented_at_its_arrival),
        cmocka_unit_test(test_a_reconnect_burst_never_maps_before_the_last_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
