/*
 * Tests for src/frames/hub.c and source.c: real H.264 (libx264,
 * tests/unit/record/media_gen.h) pushed by a producer thread into the sink
 * the hub attaches, as the supervisor's tee does, comes out on a bus's
 * queue as JPEG messages: keyframes only (one message per keyframe, dated
 * by the packets' wall clock), or every frame at the configured rate in
 * batch containers; a queue nobody takes from keeps the newest messages
 * and counts the rest; messages lost with a connection are counted too.
 * Under ThreadSanitizer this is the hub's thread test (ingest thread,
 * worker, bus thread).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "record/media_gen.h"
#include "frames.h"
#include "frames_batch.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define W 320
#define H 240
#define FRAMES 100 /* 4 s at 25 fps: keyframes at 0, 25, 50, 75 */
#define T0_US INT64_C(1764720000000000)

static struct gen_clip clip;

/* The hub's notify: counts wake-ups so the test waits on a condition, not a sleep. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int notified;

static void on_notify(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    notified++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
}

/* Waits up to 10 s for another notify after *seen; false on timeout. */
static bool wait_notify(int *seen)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    pthread_mutex_lock(&lock);
    while (notified == *seen)
        if (pthread_cond_timedwait(&cond, &lock, &dl) != 0)
            break;
    bool ok = notified != *seen;
    *seen = notified;
    pthread_mutex_unlock(&lock);
    return ok;
}

struct producer {
    media_sink *sink;
    int pace_us;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    p->sink->ops->stream_cb(p->sink, clip.stream);
    for (size_t i = 0; i < clip.n; i++) {
        p->sink->ops->packet_cb(p->sink, clip.pkts[i]);
        if (p->pace_us) {
            struct timespec t = {0, (long)p->pace_us * 1000};
            nanosleep(&t, NULL);
        }
    }
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    if (gen_video("libx264", W, H, FRAMES, 0, &clip) < 0)
        return -1;
    for (size_t i = 0; i < clip.n; i++)
        clip.pkts[i]->wall_us = T0_US + (clip.pkts[i]->dts - clip.pkts[0]->dts) * 1000000 / 90000;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gen_clip_release(&clip);
    return 0;
}

static const char *header(const struct frames_msg *m, const char *name)
{
    for (size_t i = 0; i < m->nheaders; i++)
        if (strcmp(m->headers[i].name, name) == 0)
            return m->headers[i].value;
    return NULL;
}

static double metric(metrics_registry *r, const char *sample)
{
    size_t len;
    char *text = metrics_render(r, &len);
    const char *at = strstr(text, sample);
    double v = at ? strtod(at + strlen(sample), NULL) : -1;
    free(text);
    return v;
}

struct run {
    frames_hub *hub;
    metrics_registry *metrics;
    struct frames_camera_config cam[2]; /* "cam", and "idle", never attached */
    struct frames_config config;
};

static void start(struct run *r, int source, double fps, int64_t batch, int64_t queue)
{
    static char *buses[] = {"nats"};
    r->cam[0] = (struct frames_camera_config){.id = "cam",
                                              .enabled = true,
                                              .fps = fps,
                                              .source = source,
                                              .max_width = 160,
                                              .quality = 80,
                                              .batch = batch,
                                              .buses = buses,
                                              .nbuses = 1};
    r->cam[1] = r->cam[0];
    r->cam[1].id = "idle";
    r->config =
        (struct frames_config){.threads = 1, .queue = queue, .cameras = r->cam, .ncameras = 2};
    r->metrics = metrics_registry_new();
    static const char *const names[] = {"mqtt", "nats"};
    r->hub = frames_hub_new(&(struct frames_options){.config = &r->config,
                                                     .buses = names,
                                                     .nbuses = 2,
                                                     .metrics = r->metrics,
                                                     .notify = on_notify});
    assert_true(frames_hub_is_active(r->hub));
    assert_int_equal(frames_hub_start(r->hub), 0);
    assert_null(frames_hub_stream_for(r->hub, "other", false));
    assert_string_equal(frames_hub_stream_for(r->hub, "cam", false), "main");
}

static void produce_all(struct run *r, int pace_us)
{
    struct producer p = {.sink = frames_hub_attach(r->hub, "cam"), .pace_us = pace_us};
    assert_non_null(p.sink);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, produce, &p), 0);
    pthread_join(t, NULL);
}

static void stop(struct run *r)
{
    frames_hub_detach(r->hub, "cam");
    frames_hub_free(r->hub);
    metrics_registry_free(r->metrics);
}

static void test_keyframes_become_one_jpeg_message_each_dated_by_the_packet(void **state)
{
    (void)state;
    struct run r;
    int seen = notified;
    start(&r, FRAMES_SOURCE_KEYFRAMES, 30, 1, 16);
    produce_all(&r, 0);
    struct frames_msg *got[16];
    size_t n = 0;
    while (n < 4 && wait_notify(&seen))
        n += frames_hub_take(r.hub, "nats", got + n, 16 - n);
    assert_int_equal(n, 4);
    assert_int_equal(frames_hub_take(r.hub, "mqtt", got + n, 1), 0); /* not one of its buses */
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(got[i]->content_type, "image/jpeg");
        assert_true(got[i]->len > 100 && got[i]->body[0] == 0xff && got[i]->body[1] == 0xd8);
        assert_string_equal(header(got[i], "horus-camera"), "cam");
        assert_string_equal(header(got[i], "horus-schema"), "horus.frame/1");
        assert_string_equal(header(got[i], "horus-keyframe"), "true");
        assert_string_equal(header(got[i], "horus-width"), "160");
        assert_string_equal(header(got[i], "horus-height"), "120");
        assert_int_equal(atoll(header(got[i], "horus-sequence")), (long long)i + 1);
        /* Keyframes every 25 frames at 25 fps: one a second from T0. */
        assert_int_equal(atoll(header(got[i], "horus-capture-us")), T0_US + (int64_t)i * 1000000);
    }
    assert_string_equal(header(got[0], "horus-capture-time"), "2025-12-03T00:00:00.000Z");
    frames_hub_done(r.hub, "nats", got, n, n);
    assert_true(metric(r.metrics, "horus_frames_published_total{camera=\"cam\",bus=\"nats\"} ") ==
                4);
    assert_true(metric(r.metrics, "horus_frames_encoded_total{camera=\"cam\"} ") == 4);
    stop(&r);
}

static void test_every_frame_at_the_rate_in_batches(void **state)
{
    (void)state;
    struct run r;
    int seen = notified;
    start(&r, FRAMES_SOURCE_MAIN, 5, 4, 16);
    produce_all(&r, 5000);
    /* 4 s of video at 5 fps: 20 frames, 5 batches of 4. */
    struct frames_msg *got[16];
    size_t n = 0;
    while (n < 5 && wait_notify(&seen))
        n += frames_hub_take(r.hub, "nats", got + n, 16 - n);
    assert_int_equal(n, 5);
    int64_t seq = 0, last_us = 0;
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(got[i]->content_type, FRAMES_BATCH_CONTENT_TYPE);
        assert_string_equal(header(got[i], "horus-frames"), "4");
        struct frames_batch_item items[8];
        size_t k;
        char camera[72], why[160];
        assert_int_equal(frames_batch_parse(got[i]->body, got[i]->len, camera, sizeof(camera),
                                            items, 8, &k, why, sizeof(why)),
                         0);
        assert_int_equal(k, 4);
        assert_string_equal(camera, "cam");
        for (size_t j = 0; j < k; j++) {
            assert_int_equal(items[j].info.seq, ++seq);
            assert_true(items[j].jpeg[0] == 0xff && items[j].jpeg[1] == 0xd8);
            assert_int_equal(items[j].info.width, 160);
            if (last_us)
                assert_int_equal(items[j].info.capture_us - last_us, 200000);
            last_us = items[j].info.capture_us;
        }
    }
    /* The connection broke after the first two: the rest count as lost. */
    frames_hub_done(r.hub, "nats", got, n, 2);
    assert_true(
        metric(r.metrics, "horus_frames_dropped_total{camera=\"cam\",reason=\"publish\"} ") == 3);
    assert_true(metric(r.metrics,
                       "horus_frames_dropped_total{camera=\"cam\",reason=\"packet_queue\"} ") == 0);
    stop(&r);
}

static void test_a_full_queue_keeps_the_newest_and_counts_the_rest(void **state)
{
    (void)state;
    struct run r;
    int seen = notified;
    start(&r, FRAMES_SOURCE_KEYFRAMES, 30, 1, 2);
    produce_all(&r, 0);
    for (int i = 0; i < 4 && wait_notify(&seen);)
        i = (int)metric(r.metrics, "horus_frames_encoded_total{camera=\"cam\"} ");
    assert_true(metric(r.metrics, "horus_frames_encoded_total{camera=\"cam\"} ") == 4);
    assert_true(metric(r.metrics,
                       "horus_frames_dropped_total{camera=\"cam\",reason=\"frame_queue\"} ") == 2);
    struct frames_msg *got[4];
    size_t n = frames_hub_take(r.hub, "nats", got, 4);
    assert_int_equal(n, 2);
    assert_string_equal(header(got[0], "horus-sequence"), "3");
    assert_string_equal(header(got[1], "horus-sequence"), "4");
    frames_hub_done(r.hub, "nats", got, n, n);
    stop(&r);
}

static void test_a_keyframe_a_few_ms_early_is_not_skipped(void **state)
{
    (void)state;
    struct run r;
    int seen = notified;
    /* One a second, keyframes one a second, dated 5 ms early now and then (jitter). */
    start(&r, FRAMES_SOURCE_KEYFRAMES, 1, 1, 16);
    for (size_t i = 0; i < clip.n; i++)
        if (clip.pkts[i]->is_keyframe && (i / 25) % 2 == 1)
            clip.pkts[i]->wall_us -= 5000;
    produce_all(&r, 0);
    struct frames_msg *got[16];
    size_t n = 0;
    while (n < 4 && wait_notify(&seen))
        n += frames_hub_take(r.hub, "nats", got + n, 16 - n);
    for (size_t i = 0; i < clip.n; i++) /* the worker is done with them: 4 taken or 10 s */
        if (clip.pkts[i]->is_keyframe && (i / 25) % 2 == 1)
            clip.pkts[i]->wall_us += 5000;
    assert_int_equal(n, 4);
    assert_int_equal(atoll(header(got[1], "horus-capture-us")), T0_US + 995000);
    frames_hub_done(r.hub, "nats", got, n, n);
    stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyframes_become_one_jpeg_message_each_dated_by_the_packet),
        cmocka_unit_test(test_every_frame_at_the_rate_in_batches),
        cmocka_unit_test(test_a_full_queue_keeps_the_newest_and_counts_the_rest),
        cmocka_unit_test(test_a_keyframe_a_few_ms_early_is_not_skipped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
