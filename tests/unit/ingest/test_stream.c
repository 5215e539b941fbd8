/*
 * Tests for src/ingest/stream.c without a camera: a port where nothing
 * listens fails at once, which is enough to check the failure path, the
 * breaker wiring, the status accessor and the metrics. (Streaming itself is
 * covered by tests/integration/test_ingest.py against horus-camsim.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ingest_int.h"
#include "stream_int.h"

#include "err.h"

#include <errno.h>
#include <stdio.h>

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int calls;

static void stream_cb(media_sink *sink, media_stream *st)
{
    calls++;
}

static void packet_cb(media_sink *sink, media_packet *pkt)
{
    calls++;
}

static void gap_cb(media_sink *sink, const char *reason)
{
    calls++;
}

static const struct media_sink_ops ops = {stream_cb, packet_cb, gap_cb};

/* A sink that counts each kind of call. */
static int n_packets, n_gaps;

static void count_packet(media_sink *sink, media_packet *pkt)
{
    n_packets++;
}

static void count_gap(media_sink *sink, const char *reason)
{
    n_gaps++;
}

static const struct media_sink_ops counting_ops = {stream_cb, count_packet, count_gap};

/* A loopback port that nothing listens on right now. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void wait_finished(ing_stream *s, struct ing_stream_status *st)
{
    for (int i = 0; i < 1000; i++) { /* refused connects finish in milliseconds */
        ing_stream_status_get(s, st);
        if (st->is_finished)
            return;
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    fail_msg("stream did not finish");
}

static void test_refused_camera_opens_the_breaker_and_reports_why(void **state)
{
    metrics_registry *reg = metrics_registry_new();
    media_sink sink = {&ops};
    char url[128];
    snprintf(url, sizeof(url), "rtsp://admin:topsecret@127.0.0.1:%d/cam1", closed_port());
    struct ing_breaker_policy policy = {.tiers = {{2, 0}}, .ntiers = 1, .open_ms = 0};
    ing_stream *s = NULL;
    assert_int_equal(ing_stream_new(&(struct ing_stream_options){.camera = "door",
                                                                 .url = url,
                                                                 .max_connects = 3,
                                                                 .policy = &policy,
                                                                 .metrics = reg,
                                                                 .sink = &sink},
                                    &s),
                     0);
    assert_int_equal(ing_stream_start(s), 0);
    struct ing_stream_status st;
    wait_finished(s, &st);
    assert_false(st.is_up);
    assert_int_equal(st.reason, ING_REASON_UNREACHABLE);
    assert_int_equal(st.breaker, ING_BREAKER_OPEN);
    assert_non_null(strstr(st.last_error, "unreachable"));
    assert_null(strstr(st.last_error, "topsecret"));
    assert_int_equal(st.reconnects, 2);
    assert_int_equal(calls, 0); /* never connected: no stream, packet or gap */

    char *text = metrics_render(reg, NULL);
    assert_non_null(strstr(text, "horus_camera_breaker_state{camera=\"door\",state=\"open\"} 1"));
    assert_non_null(strstr(text, "horus_camera_breaker_state{camera=\"door\",state=\"closed\"} 0"));
    assert_non_null(strstr(text, "horus_ingest_reconnects_total{camera=\"door\"} 2"));
    assert_non_null(strstr(text, "horus_camera_up{camera=\"door\"} 0"));
    free(text);
    ing_stream_free(s);
    metrics_registry_free(reg);
    assert_int_equal(media_live_streams(), 0);
}

/*
 * Issue 16: a camera sending 10x faster than real time. What the timeline
 * rejects (rule 6) never reaches the sink; each run of rejections is one
 * gap for the sink (the recorder resumes at a keyframe), every rejected
 * packet is counted with its reason, and the runs are logged once.
 */
static void test_media_ahead_of_the_wall_clock_is_dropped_counted_and_a_gap(void **state)
{
    metrics_registry *reg = metrics_registry_new();
    clock_fake clock;
    clock_fake_init(&clock, 1767225600000);
    media_sink sink = {&counting_ops};
    ing_stream *s = NULL;
    assert_int_equal(ing_stream_new(&(struct ing_stream_options){.camera = "door",
                                                                 .url = "rtsp://127.0.0.1:1/x",
                                                                 .max_ahead_ms = 2000,
                                                                 .clock = &clock.base,
                                                                 .metrics = reg,
                                                                 .sink = &sink},
                                    &s),
                     0);
    s->video.cur = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    n_packets = n_gaps = 0;
    int total = 250 * 20; /* 20 s of arrivals, 10 frames of 40 ms each 40 ms */
    for (int i = 0; i < total; i++) {
        media_packet *mp = media_packet_new(s->video.cur, 16);
        if (i % 10 == 0)
            clock_fake_advance_ms(&clock, 40);
        ing_stream_deliver(s, &s->video, mp, (int64_t)i * 3600);
        media_packet_unref(mp);
    }
    const struct ing_timeline *tl = &s->video.tl;
    assert_true(tl->rejected_runs >= 9 && tl->rejected_runs <= 11); /* one per ~2 s */
    assert_int_equal(n_gaps, (int)tl->rejected_runs);
    assert_int_equal(n_packets + (int)tl->rejected, total);
    /* About 20 s of the 200 s sent were kept: real time, plus one burst. */
    /*
     * ... and the first session's hold: a flood never stops looking like a
     * connect burst, so that session is dated back by what the hold kept
     * (rule 8, at most ING_HOLD_CAP frames) before rule 6 starts to bite.
     */
    assert_true(n_packets >= 450 && n_packets <= 550 + 50 + ING_HOLD_CAP);
    char want[160];
    snprintf(want, sizeof(want),
             "horus_ingest_rejected_packets_total{camera=\"door\",stream=\"main\","
             "reason=\"ahead_of_wall_clock\"} %llu",
             (unsigned long long)tl->rejected);
    char *text = metrics_render(reg, NULL);
    assert_non_null(strstr(text, want));
    free(text);
    ing_stream_free(s);
    metrics_registry_free(reg);
    assert_int_equal(media_live_streams(), 0);
}

/* A sink that keeps the pts and dts it was given. */
static int64_t got_pts[64], got_dts[64], got_wall[64];
static enum media_kind got_kind[64];
static int n_got;

static void keep_packet(media_sink *sink, media_packet *pkt)
{
    if (n_got < 64) {
        got_pts[n_got] = pkt->pts;
        got_dts[n_got] = pkt->dts;
        got_wall[n_got] = pkt->wall_us;
        got_kind[n_got] = pkt->stream->kind;
    }
    n_got++;
}

static const struct media_sink_ops keeping_ops = {stream_cb, keep_packet, count_gap};

static int ipbb_next;

static ing_stream *clocked_stream(clock_fake *clock, metrics_registry *reg, media_sink *sink)
{
    clock_fake_init(clock, 1767225600000);
    ing_stream *s = NULL;
    assert_int_equal(ing_stream_new(&(struct ing_stream_options){.camera = "door",
                                                                 .url = "rtsp://127.0.0.1:1/x",
                                                                 .clock = &clock->base,
                                                                 .metrics = reg,
                                                                 .sink = sink},
                                    &s),
                     0);
    s->video.cur = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    n_got = 0;
    ipbb_next = 0;
    return s;
}

/* Decode order I0 P3 B1 B2 P6 B4 B5 ..., 40 ms apart, going on from the last call. */
static void send_ipbb(ing_stream *s, clock_fake *clock, int n)
{
    static const int order[] = {0, 3, 1, 2, 6, 4, 5, 9, 7, 8, 12, 10, 11, 15, 13, 14, 18, 16, 17};
    for (int i = 0; i < n; i++) {
        media_packet *mp = media_packet_new(s->video.cur, 16);
        clock_fake_advance_ms(clock, 40);
        int j = ipbb_next++;
        ing_stream_deliver(s, &s->video, mp, 5000 + (int64_t)(order[j % 19] + j / 19 * 19) * 3600);
        media_packet_unref(mp);
    }
}

/*
 * Issue 14: a stream whose SPS does not declare its reordering is held at
 * the session's start (by reference), so the sink gets the true order from
 * the first frame; a session that ends while holding drops what it held.
 */
static void test_first_frames_are_held_until_the_order_is_known(void **state)
{
    clock_fake clock;
    media_sink sink = {&keeping_ops};
    ing_stream *s = clocked_stream(&clock, NULL, &sink);
    send_ipbb(s, &clock, ING_HOLD_MAX - 1);
    assert_int_equal(n_got, 0); /* held */
    send_ipbb(s, &clock, 3);
    assert_int_equal(n_got, ING_HOLD_MAX + 2);
    static const int want[] = {0, 3, 1, 2, 6, 4, 5, 9, 7, 8};
    for (int i = 0; i < 10; i++) {
        assert_int_equal(got_pts[i] - got_pts[0], want[i] * 3600);
        assert_int_equal(got_dts[i], (int64_t)i * 3600);
    }
    assert_int_equal(s->video.tl.repaired, 0);
    /* A new session: held again; it ends before the order is known, nothing leaks. */
    ing_track_end_session(&s->video);
    s->video.cur = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    n_got = 0;
    send_ipbb(s, &clock, 5);
    assert_int_equal(n_got, 0);
    ing_track_end_session(&s->video);
    ing_stream_free(s);
    assert_int_equal(media_live_packets(), 0);
    assert_int_equal(media_live_streams(), 0);
}

/*
 * Issue 14, rule 8 of timeline.c: a camera sends the 23 frames since its
 * last keyframe (captured 919 ms before PLAY) within a few ms, then frames
 * on time, 3-7 ms after capture. Every frame's wall time is within a frame
 * of its capture (+ the least network delay); anchored at the burst's
 * arrival, as before rule 8, the session was 916 ms late throughout.
 */
static void test_a_connect_burst_is_dated_at_capture_not_arrival(void **state)
{
    clock_fake clock;
    media_sink sink = {&keeping_ops};
    ing_stream *s = clocked_stream(&clock, NULL, &sink);
    ing_timeline_set_reorder(&s->video.tl, 0);
    int64_t connect_ms = 1767225600000, now_ms = connect_ms;
    int64_t capture_ms = connect_ms - 919;
    for (int i = 0; i < 60; i++) {
        int64_t at = i < 23 ? connect_ms + i * 5 / 23 : capture_ms + i * 40 + 3 + (i % 3) * 2;
        clock_fake_advance_ms(&clock, at - now_ms);
        now_ms = at;
        media_packet *mp = media_packet_new(s->video.cur, 16);
        ing_stream_deliver(s, &s->video, mp, 1234 + (int64_t)i * 3600);
        media_packet_unref(mp);
    }
    assert_true(n_got >= 55 && n_got <= 60);
    for (int i = 0; i < n_got; i++) {
        int64_t truth_us = (capture_ms + i * 40 + 3) * 1000;
        assert_true(llabs(got_wall[i] - truth_us) < 40000);
        assert_true(i == 0 || got_wall[i] > got_wall[i - 1]);
    }
    ing_stream_free(s);
    assert_int_equal(media_live_packets(), 0);
}

/*
 * The recorder opens a segment at a video keyframe with the tracks it has
 * seen a packet of: when both tracks burst at connect, held audio goes out
 * before held video, both dated at capture.
 */
static void test_a_burst_of_video_and_audio_releases_audio_first(void **state)
{
    clock_fake clock;
    media_sink sink = {&keeping_ops};
    ing_stream *s = clocked_stream(&clock, NULL, &sink);
    ing_timeline_set_reorder(&s->video.tl, 0);
    s->audio.cur = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, 48000, NULL, 0);
    ing_timeline_init(&s->audio.tl, 48000, 1920);
    ing_timeline_set_reorder(&s->audio.tl, 0);
    /* 10 video frames and 10 audio frames of 40 ms, captured 400 ms before PLAY. */
    int64_t connect_ms = 1767225600000, now_ms = connect_ms, capture_ms = connect_ms - 399;
    for (int i = 0; i < 30; i++) {
        int64_t at = i < 10 ? connect_ms + i / 5 : capture_ms + i * 40 + 2;
        clock_fake_advance_ms(&clock, at - now_ms);
        now_ms = at;
        media_packet *v = media_packet_new(s->video.cur, 16);
        ing_stream_deliver(s, &s->video, v, 1234 + (int64_t)i * 3600);
        media_packet_unref(v);
        media_packet *a = media_packet_new(s->audio.cur, 16);
        ing_stream_deliver(s, &s->audio, a, 777 + (int64_t)i * 1920);
        media_packet_unref(a);
    }
    assert_true(n_got >= 50 && n_got <= 60);
    assert_int_equal(got_kind[0], MEDIA_KIND_AUDIO);
    for (int i = 0; i < n_got; i++) {
        /* Both tracks' timelines start at 0 with the frames captured at capture_ms. */
        int64_t media_us = got_kind[i] == MEDIA_KIND_VIDEO ? got_dts[i] * 1000000 / 90000
                                                           : got_dts[i] * 1000000 / 48000;
        int64_t truth_us = capture_ms * 1000 + media_us + 2000;
        assert_true(llabs(got_wall[i] - truth_us) < 40000);
    }
    ing_track_end_session(&s->video);
    ing_track_end_session(&s->audio);
    ing_stream_free(s);
    assert_int_equal(media_live_packets(), 0);
}

/* A camera that reorders although its SPS says it does not: still monotonic, counted, logged. */
static void test_deeper_reordering_than_declared_is_repaired_and_counted(void **state)
{
    metrics_registry *reg = metrics_registry_new();
    clock_fake clock;
    media_sink sink = {&keeping_ops};
    ing_stream *s = clocked_stream(&clock, reg, &sink);
    ing_timeline_set_reorder(&s->video.tl, 0);
    /* Declared 0: the hold (rule 8) sees three frames in order, then B-frames start. */
    for (int i = 3; i > 0; i--) {
        media_packet *mp = media_packet_new(s->video.cur, 16);
        clock_fake_advance_ms(&clock, 40);
        ing_stream_deliver(s, &s->video, mp, 5000 - (int64_t)i * 3600);
        media_packet_unref(mp);
    }
    assert_int_equal(n_got, 3);
    send_ipbb(s, &clock, 16);
    assert_int_equal(n_got, 19);
    for (int i = 1; i < 19; i++) {
        assert_true(got_dts[i] > got_dts[i - 1]);
        assert_true(got_pts[i] >= got_dts[i]);
    }
    uint64_t repaired = s->video.tl.repaired;
    assert_true(repaired > 0);
    char want[160];
    snprintf(want, sizeof(want),
             "horus_ingest_timestamps_repaired_total{camera=\"door\",stream=\"main\"} %llu",
             (unsigned long long)repaired);
    char *text = metrics_render(reg, NULL);
    assert_non_null(strstr(text, want));
    free(text);
    assert_true(s->video.is_repair_logged);
    ing_stream_free(s);
    metrics_registry_free(reg);
}

static void test_start_rejects_missing_options_and_stop_is_prompt(void **state)
{
    media_sink sink = {&ops};
    ing_stream *s = NULL;
    assert_int_equal(ing_stream_new(&(struct ing_stream_options){.camera = "x", .sink = &sink}, &s),
                     -EINVAL);
    /* A backoff of an hour must not delay stop. */
    struct ing_breaker_policy policy = {.tiers = {{100, 3600000}}, .ntiers = 1};
    char url[64];
    snprintf(url, sizeof(url), "rtsp://127.0.0.1:%d/", closed_port());
    assert_int_equal(ing_stream_new(
                         &(struct ing_stream_options){
                             .camera = "x", .url = url, .policy = &policy, .sink = &sink},
                         &s),
                     0);
    ing_stream_free(s); /* never started */
    assert_int_equal(ing_stream_new(
                         &(struct ing_stream_options){
                             .camera = "x", .url = url, .policy = &policy, .sink = &sink},
                         &s),
                     0);
    assert_int_equal(ing_stream_start(s), 0);
    ing_stream_free(s);
    ing_stream_free(NULL);
}

static void test_reason_codes_and_classification(void **state)
{
    assert_string_equal(ing_reason_code(ING_REASON_AUTH_FAILED), "auth_failed");
    assert_string_equal(ing_reason_code(ING_REASON_NOT_RTSP), "not_rtsp");
    assert_string_equal(ing_reason_text(ING_REASON_NOT_FOUND), "stream not found");
    assert_int_equal(ing_reason_from_error(-ECONNREFUSED, false, true), ING_REASON_UNREACHABLE);
    assert_int_equal(ing_reason_from_error(-ECONNREFUSED, true, true), ING_REASON_TIMEOUT);
    assert_int_equal(ing_reason_from_error(HORUS_ECODEC, false, true), ING_REASON_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_camera_opens_the_breaker_and_reports_why),
        cmocka_unit_test(test_first_frames_are_held_until_the_order_is_known),
        cmocka_unit_test(test_deeper_reordering_than_declared_is_repaired_and_counted),
        cmocka_unit_test(test_a_connect_burst_is_dated_at_capture_not_arrival),
        cmocka_unit_test(test_a_burst_of_video_and_audio_releases_audio_first),
        cmocka_unit_test(test_start_rejects_missing_options_and_stop_is_prompt),
        cmocka_unit_test(test_media_ahead_of_the_wall_clock_is_dropped_counted_and_a_gap),
        cmocka_unit_test(test_reason_codes_and_classification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
