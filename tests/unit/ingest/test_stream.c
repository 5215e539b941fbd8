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
    assert_true(n_packets >= 450 && n_packets <= 550 + 50);
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
        cmocka_unit_test(test_start_rejects_missing_options_and_stop_is_prompt),
        cmocka_unit_test(test_media_ahead_of_the_wall_clock_is_dropped_counted_and_a_gap),
        cmocka_unit_test(test_reason_codes_and_classification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
