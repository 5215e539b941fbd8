/*
 * Tests for src/ingest/srclock.c (and ing_timeline_wall_of in timeline.c):
 * the camera's clock from RTCP sender reports against the timeline's own
 * mapping, as rtsp_stream.c feeds it: a camera 90 s ahead is reported as
 * such while every wall_us stays where arrival put it, samples are
 * smoothed, outliers counted and ignored until agreeing ones re-anchor,
 * and bad reports (another SSRC, NTP decades off, RTP far from the
 * stream's) are refused without touching the estimate.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ingest_int.h"

#define T0_US 1767225600000000LL /* 2026-01-01T00:00:00Z */
#define FRAME 3600 /* 25 fps at 90 kHz */
#define FRAME_US 40000
#define RAW0 1000000u /* the camera's first RTP timestamp */
#define NET_US 5000 /* every packet arrives 5 ms after capture */
#define SSRC 0x5eed

/* A sender report for the frame captured at capture_us, the camera's clock off by skew_us. */
static struct ing_sr_input report(const struct ing_timeline *tl, unsigned frame, int64_t skew_us,
                                  int64_t noise_us)
{
    int64_t capture_us = T0_US + (int64_t)frame * FRAME_US;
    uint32_t raw = RAW0 + frame * FRAME;
    struct ing_sr_input in = {
        .ssrc = SSRC,
        .has_stream_ssrc = true,
        .stream_ssrc = SSRC,
        .ntp_us = capture_us + skew_us + noise_us,
        .rtp_delta_us = 0,
        .arrival_us = capture_us + NET_US,
    };
    assert_true(ing_timeline_wall_of(tl, raw, &in.server_us, &in.media_us));
    return in;
}

static void test_a_camera_90_s_ahead_is_reported_and_wall_times_stay(void **state)
{
    struct ing_timeline with, without;
    ing_timeline_init(&with, 90000, FRAME);
    ing_timeline_init(&without, 90000, FRAME);
    int64_t probe, media;
    assert_false(ing_timeline_wall_of(&with, RAW0, &probe, &media)); /* no session yet */
    struct ing_srclock c;
    ing_srclock_reset(&c);
    const int64_t skew = 90 * INT64_C(1000000);
    for (unsigned i = 0; i < 25 * 60; i++) {
        int64_t arrival = T0_US + (int64_t)i * FRAME_US + NET_US;
        struct ing_timestamps a = ing_timeline_map(&with, RAW0 + i * FRAME, arrival, true);
        struct ing_timestamps b = ing_timeline_map(&without, RAW0 + i * FRAME, arrival, true);
        /* Sender reports change nothing the recorder sees: server time, from arrival. */
        assert_int_equal(a.wall_us, b.wall_us);
        assert_int_equal(a.dts, b.dts);
        assert_true(a.wall_us >= arrival - NET_US && a.wall_us <= arrival);
        if (i % 125 == 0) { /* one report every 5 s */
            struct ing_sr_input in = report(&with, i, skew, 0);
            assert_int_equal(ing_srclock_add(&c, &in), ING_SR_ACCEPTED);
        }
    }
    assert_true(c.has_offset);
    assert_int_equal(c.accepted, 12);
    /* 90 s, less the 5 ms by which the server's arrival-anchored clock dates capture late. */
    assert_int_equal(c.offset_us, skew - NET_US);
}

static void test_samples_are_smoothed(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    struct ing_srclock c;
    ing_srclock_reset(&c);
    static const int64_t noise[] = {0, 40000, -40000, 40000, -40000, 40000, -40000, 40000};
    for (unsigned i = 0; i < 8; i++) {
        ing_timeline_map(&tl, RAW0 + i * 125 * FRAME, T0_US + i * 125 * FRAME_US + NET_US, true);
        struct ing_sr_input in = report(&tl, i * 125, 0, noise[i]);
        int64_t before = c.offset_us;
        assert_int_equal(ing_srclock_add(&c, &in), ING_SR_ACCEPTED);
        if (i > 0) /* one eighth of the way to each sample */
            assert_int_equal(c.offset_us - before, (in.ntp_us - in.server_us - before) / 8);
    }
    assert_true(llabs(c.offset_us + NET_US) < 10000); /* the mean, within a quarter of the noise */
}

static void test_outliers_are_ignored_until_agreeing_ones_reanchor(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    ing_timeline_map(&tl, RAW0, T0_US + NET_US, true);
    struct ing_srclock c;
    ing_srclock_reset(&c);
    struct ing_sr_input in = report(&tl, 0, 0, 0);
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_ACCEPTED);
    int64_t est = c.offset_us;
    /* A single report 2 s off, then alternating ones: never a step, never followed. */
    in = report(&tl, 0, 2000000, 0);
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_OUTLIER);
    for (int i = 0; i < 6; i++) {
        in = report(&tl, 0, i % 2 ? 3000000 : -3000000, 0);
        assert_int_equal(ing_srclock_add(&c, &in), ING_SR_OUTLIER);
    }
    assert_int_equal(c.offset_us, est);
    in = report(&tl, 0, 10000, 0); /* back within bounds: accepted */
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_ACCEPTED);
    /* The camera's NTP stepped by a minute: three agreeing reports move the estimate there. */
    in = report(&tl, 0, 60000000, 0);
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_OUTLIER);
    in = report(&tl, 0, 60000000 + 20000, 0);
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_OUTLIER);
    in = report(&tl, 0, 60000000 - 20000, 0);
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_REANCHORED);
    assert_true(llabs(c.offset_us - (60000000 - NET_US)) < 1000);
    assert_int_equal(c.reanchors, 1);
    in = report(&tl, 0, 60000000, 0);
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_ACCEPTED);
}

static void test_bad_reports_are_refused_without_touching_the_estimate(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 90000, FRAME);
    ing_timeline_map(&tl, RAW0, T0_US + NET_US, true);
    struct ing_srclock c;
    ing_srclock_reset(&c);
    struct ing_sr_input in = report(&tl, 0, 0, 0);
    in.ssrc = SSRC + 1;
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_SSRC);
    in = report(&tl, 0, 0, 0);
    in.ntp_us = 0; /* a camera that never set its clock: 1970 */
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_NTP_RANGE);
    in = report(&tl, 0, -30 * 365 * 86400 * INT64_C(1000000), 0); /* decades behind */
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_NTP_RANGE);
    in = report(&tl, 0, 0, 0);
    in.rtp_delta_us = 3600 * INT64_C(1000000); /* an RTP time an hour from the stream's */
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_RTP_RANGE);
    assert_false(c.has_offset);
    assert_int_equal(c.accepted, 0);
    /* A day off is still a clock (a wrong one, reported as such); the SSRC unknown is fine. */
    in = report(&tl, 0, 86400 * INT64_C(1000000) - 1000000, 0);
    in.has_stream_ssrc = false;
    in.ssrc = 42;
    assert_int_equal(ing_srclock_add(&c, &in), ING_SR_ACCEPTED);
    assert_string_equal(ing_sr_verdict_code(ING_SR_NTP_RANGE), "ntp_range");
    assert_string_equal(ing_sr_verdict_code(ING_SR_MALFORMED), "malformed");
}

static void test_wall_of_follows_the_mapping_across_a_wrap(void **state)
{
    struct ing_timeline tl;
    ing_timeline_init(&tl, 48000, 1024);
    uint32_t raw = 0xffffffffu - 2048;
    struct ing_timestamps a = ing_timeline_map(&tl, raw, T0_US, false);
    int64_t wall, media;
    assert_true(ing_timeline_wall_of(&tl, raw, &wall, &media));
    assert_int_equal(wall, a.wall_us);
    assert_int_equal(media, 0);
    /* 48000 ticks later, across the 32-bit wrap: one second later. */
    assert_true(ing_timeline_wall_of(&tl, (uint32_t)(raw + 48000), &wall, &media));
    assert_int_equal(wall, a.wall_us + 1000000);
    assert_int_equal(media, 1000000);
    assert_true(ing_timeline_wall_of(&tl, raw - 24000, &wall, &media));
    assert_int_equal(wall, a.wall_us - 500000);
    assert_int_equal(media, -500000);
    ing_timeline_reset_session(&tl);
    assert_false(ing_timeline_wall_of(&tl, raw, &wall, &media));
}

/*
 * A camera whose audio starts 600 ms before the first keyframe a client
 * gets: both timelines start at 0 with their first packet, so the
 * recording plays audio 600 ms after the picture it belongs to. The two
 * tracks' sender reports, on the camera's one clock, measure exactly that.
 */
static void test_both_tracks_reports_measure_the_av_offset(void **state)
{
    struct ing_timeline v, a;
    ing_timeline_init(&v, 90000, FRAME);
    ing_timeline_init(&a, 48000, 1024);
    const int64_t key_us = T0_US + 600000; /* the first keyframe's capture */
    const uint32_t araw0 = 777u; /* the audio RTP clock's own origin */
    for (unsigned i = 0; i < 250; i++) /* 10 s of video from the keyframe on */
        ing_timeline_map(&v, RAW0 + i * FRAME, key_us + (int64_t)i * FRAME_US + NET_US, true);
    for (unsigned i = 0; i < 480; i++) /* 10.24 s of audio from T0 on */
        ing_timeline_map(&a, araw0 + i * 1024, T0_US + (int64_t)i * 21333 + NET_US, false);
    struct ing_srclock cv, ca;
    ing_srclock_reset(&cv);
    ing_srclock_reset(&ca);
    const int64_t skew = 3 * INT64_C(1000000); /* the camera's clock too is off: it cancels */
    /* Reports for the instant T0 + 5 s on each track's own RTP clock. */
    struct ing_sr_input in = {
        .ssrc = SSRC, .ntp_us = T0_US + 5000000 + skew, .arrival_us = T0_US + 5000000};
    assert_true(ing_timeline_wall_of(&v, RAW0 + (5000000 - 600000) / FRAME_US * FRAME,
                                     &in.server_us, &in.media_us));
    assert_int_equal(ing_srclock_add(&cv, &in), ING_SR_ACCEPTED);
    assert_true(ing_timeline_wall_of(&a, araw0 + 5 * 48000, &in.server_us, &in.media_us));
    assert_int_equal(ing_srclock_add(&ca, &in), ING_SR_ACCEPTED);
    /* video's epoch minus audio's: how much later audio plays than its picture */
    assert_int_equal(cv.epoch_us - ca.epoch_us, 600000);
    /* Both see the camera 3 s ahead, less the 5 ms arrival dates capture late. */
    assert_int_equal(cv.offset_us, skew - NET_US);
    assert_int_equal(ca.offset_us, skew - NET_US);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_camera_90_s_ahead_is_reported_and_wall_times_stay),
        cmocka_unit_test(test_samples_are_smoothed),
        cmocka_unit_test(test_outliers_are_ignored_until_agreeing_ones_reanchor),
        cmocka_unit_test(test_bad_reports_are_refused_without_touching_the_estimate),
        cmocka_unit_test(test_wall_of_follows_the_mapping_across_a_wrap),
        cmocka_unit_test(test_both_tracks_reports_measure_the_av_offset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
