/*
 * Tests for src/detect/slot.c: the sampler's bounded packet slot (drops
 * when full, waits for a keyframe, takes from the newest keyframe), the
 * budget's weighted pick under overload, and sampling instants.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "slot.h"

#include <stdlib.h>
#include <string.h>

static media_stream *stream;

static int setup(void **state)
{
    (void)state;
    stream = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    media_stream_unref(stream);
    return 0;
}

/* A packet whose pts says which it is; refcount 1 (the caller's). */
static media_packet *pkt(int64_t pts, bool key)
{
    media_packet *p = media_packet_new(stream, 4);
    p->pts = p->dts = pts;
    p->is_keyframe = key;
    return p;
}

/* Pushes a packet and drops the caller's reference, as ingest does. */
static void push(struct det_slot *s, int64_t pts, bool key, int64_t now)
{
    media_packet *p = pkt(pts, key);
    det_slot_push(s, p, now);
    media_packet_unref(p);
}

static void test_packets_wait_for_the_first_keyframe_then_queue_in_order(void **state)
{
    (void)state;
    long live = media_live_packets();
    struct det_slot s;
    det_slot_init(&s, 8, false);
    push(&s, 1, false, 100);
    push(&s, 2, false, 110);
    assert_int_equal(s.count, 0);
    assert_int_equal(s.skipped[DET_SKIP_KEYFRAME_WAIT], 2);
    push(&s, 3, true, 120);
    push(&s, 4, false, 130);
    push(&s, 5, false, 140);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.oldest_ns, 120);
    media_packet *out[DET_SLOT_MAX];
    size_t n = det_slot_take(&s, out);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i]->pts, (int64_t)(3 + i));
        media_packet_unref(out[i]);
    }
    assert_int_equal(s.count, 0);
    assert_int_equal(s.oldest_ns, 0);
    assert_int_equal(media_live_packets(), live);
}

static void test_a_full_slot_drops_then_waits_for_the_next_keyframe(void **state)
{
    (void)state;
    long live = media_live_packets();
    struct det_slot s;
    det_slot_init(&s, 3, false);
    push(&s, 1, true, 1);
    push(&s, 2, false, 2);
    push(&s, 3, false, 3);
    push(&s, 4, false, 4); /* full */
    push(&s, 5, false, 5); /* no hole for the decoder: waits */
    assert_int_equal(s.skipped[DET_SKIP_QUEUE_FULL], 1);
    assert_int_equal(s.skipped[DET_SKIP_KEYFRAME_WAIT], 1);
    media_packet *out[DET_SLOT_MAX];
    size_t n = det_slot_take(&s, out);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        media_packet_unref(out[i]);
    push(&s, 6, false, 6); /* room now, but still after a hole */
    assert_int_equal(s.count, 0);
    assert_int_equal(s.skipped[DET_SKIP_KEYFRAME_WAIT], 2);
    push(&s, 7, true, 7);
    push(&s, 8, false, 8);
    assert_int_equal(s.count, 2);
    det_slot_clear(&s);
    assert_int_equal(media_live_packets(), live);
}

static void test_take_starts_at_the_newest_keyframe(void **state)
{
    (void)state;
    long live = media_live_packets();
    struct det_slot s;
    det_slot_init(&s, 16, false);
    push(&s, 1, true, 1);
    push(&s, 2, false, 2);
    push(&s, 3, true, 3);
    push(&s, 4, false, 4);
    push(&s, 5, true, 5);
    push(&s, 6, false, 6);
    media_packet *out[DET_SLOT_MAX];
    size_t n = det_slot_take(&s, out);
    assert_int_equal(n, 2);
    assert_int_equal(s.superseded, 4);
    assert_int_equal(out[0]->pts, 5);
    assert_true(out[0]->is_keyframe);
    assert_int_equal(out[1]->pts, 6);
    media_packet_unref(out[0]);
    media_packet_unref(out[1]);
    assert_int_equal(media_live_packets(), live);
}

static void test_keyframes_only_ignores_other_frames_without_counting(void **state)
{
    (void)state;
    struct det_slot s;
    det_slot_init(&s, 4, true);
    push(&s, 1, false, 1);
    push(&s, 2, true, 2);
    push(&s, 3, false, 3);
    push(&s, 4, true, 4);
    assert_int_equal(s.count, 2);
    for (int i = 0; i < DET_SKIP_COUNT; i++)
        assert_int_equal(s.skipped[i], 0);
    media_packet *out[DET_SLOT_MAX];
    size_t n = det_slot_take(&s, out);
    assert_int_equal(n, 1); /* the newest keyframe alone */
    assert_int_equal(out[0]->pts, 4);
    media_packet_unref(out[0]);
}

static void test_a_reset_drops_the_queue_and_waits_for_a_keyframe(void **state)
{
    (void)state;
    long live = media_live_packets();
    struct det_slot s;
    det_slot_init(&s, 4, false);
    push(&s, 1, true, 1);
    push(&s, 2, false, 2);
    det_slot_reset(&s);
    assert_int_equal(s.count, 0);
    assert_int_equal(media_live_packets(), live);
    push(&s, 3, false, 3);
    assert_int_equal(s.count, 0);
    push(&s, 4, true, 4);
    assert_int_equal(s.count, 1);
    det_slot_clear(&s);
}

static void test_the_budget_picks_the_smallest_pass_and_none_when_idle(void **state)
{
    (void)state;
    double vtime = 0;
    struct det_sched_entry e[3] = {{false, 1, 0}, {false, 2, 0}, {false, 4, 0}};
    assert_int_equal(det_sched_pick(e, 3, &vtime), -1);
    e[0].is_ready = e[2].is_ready = true;
    assert_int_equal(det_sched_pick(e, 3, &vtime), 2); /* tie: the heavier */
    assert_float_equal(e[2].pass, 0.25, 1e-9);
    assert_int_equal(det_sched_pick(e, 3, &vtime), 0); /* pass 0 < 0.25 */
    assert_float_equal(e[0].pass, 1.0, 1e-9);
    assert_int_equal(det_sched_pick(e, 3, &vtime), 2); /* 0.25 < 1 */
    assert_int_equal(det_sched_pick(e, 3, &vtime), 2); /* 0.5 < 1 */
    /* A camera idle for long comes back at the virtual time, with no burst. */
    e[1].is_ready = true;
    e[0].is_ready = e[2].is_ready = false;
    e[1].pass = -100;
    vtime = 5;
    assert_int_equal(det_sched_pick(e, 3, &vtime), 1);
    assert_float_equal(e[1].pass, 5.5, 1e-9);
}

/*
 * Overload: three cameras at 5 fps (low, normal, high priority) and one
 * worker that needs 100 ms a frame, so 10 frames/s for 15 wanted; a camera
 * is due again 200 ms after its pick. High gets its full 5 fps, the other 5
 * are shared 1:2: low is sampled least, but sampled.
 */
static void test_under_overload_low_priority_cameras_are_sampled_less(void **state)
{
    (void)state;
    const int64_t ms = 1000000, interval = 200 * ms, work = 100 * ms;
    int64_t next_due[3] = {0, 0, 0};
    struct det_sched_entry e[3] = {{false, 1, 0}, {false, 2, 0}, {false, 4, 0}};
    double vtime = 0;
    unsigned picks[3] = {0, 0, 0};
    for (int64_t now = 0; now < 60000 * ms; now += work) {
        for (int i = 0; i < 3; i++)
            e[i].is_ready = now >= next_due[i];
        int i = det_sched_pick(e, 3, &vtime);
        assert_true(i >= 0); /* always someone due: overloaded */
        picks[i]++;
        next_due[i] = now + interval;
    }
    /* 600 picks in 60 s: high ~300 (5 fps), normal ~200, low ~100. */
    assert_int_equal(picks[0] + picks[1] + picks[2], 600);
    assert_in_range(picks[2], 280, 300);
    assert_in_range(picks[1], 170, 230);
    assert_in_range(picks[0], 80, 130);
}

static void test_sampling_instants_count_the_missed_ones_as_busy(void **state)
{
    (void)state;
    const int64_t iv = 200000; /* 5 fps */
    int64_t grid = -1;
    assert_int_equal(det_sample_due(&grid, 1000, iv), 1); /* the first frame anchors */
    assert_int_equal(grid, 1000);
    /* 25 fps: every fifth frame is due, exactly 5 a second. */
    unsigned due = 0;
    for (int64_t f = 1; f <= 125; f++)
        due += (unsigned)det_sample_due(&grid, 1000 + f * 40000, iv);
    assert_int_equal(due, 25);
    assert_int_equal(grid, 1000 + 5000000);
    /* Jitter: a quarter interval early is on time, and the grid stays put. */
    assert_int_equal(det_sample_due(&grid, 1000 + 5000000 + 140000, iv), 0);
    assert_int_equal(det_sample_due(&grid, 1000 + 5000000 + 150000, iv), 1);
    assert_int_equal(grid, 1000 + 5200000);
    /* Late: 1 s later is five instants, four of them missed. */
    assert_int_equal(det_sample_due(&grid, 1000 + 6200000, iv), 5);
    /* Time went back (a loop, a new epoch): re-anchored. */
    assert_int_equal(det_sample_due(&grid, 500, iv), 1);
    assert_int_equal(grid, 500);
    /* No interval: every newer frame. */
    assert_int_equal(det_sample_due(&grid, 600, 0), 1);
    assert_int_equal(det_sample_due(&grid, 600, 0), 0);
    /* Busy: missed instants for which a frame was dropped. */
    assert_int_equal(det_sample_busy(1, 5), 0); /* on time: the others were not due */
    assert_int_equal(det_sample_busy(3, 5), 2);
    assert_int_equal(det_sample_busy(13, 0), 0); /* keyframes only: nothing was there */
    assert_int_equal(det_sample_busy(13, 2), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packets_wait_for_the_first_keyframe_then_queue_in_order),
        cmocka_unit_test(test_a_full_slot_drops_then_waits_for_the_next_keyframe),
        cmocka_unit_test(test_take_starts_at_the_newest_keyframe),
        cmocka_unit_test(test_keyframes_only_ignores_other_frames_without_counting),
        cmocka_unit_test(test_a_reset_drops_the_queue_and_waits_for_a_keyframe),
        cmocka_unit_test(test_the_budget_picks_the_smallest_pass_and_none_when_idle),
        cmocka_unit_test(test_under_overload_low_priority_cameras_are_sampled_less),
        cmocka_unit_test(test_sampling_instants_count_the_missed_ones_as_busy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
