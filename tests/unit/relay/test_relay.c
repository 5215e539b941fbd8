/*
 * Tests for src/relay/relay.c: a feed attached as the supervisor does,
 * packets pushed through its sink, readers that start at the latest
 * keyframe, skip forward when their queue is full (counted, the others
 * untouched), see gaps, track changes and the end of the feed, and are
 * woken through their eventfd or callback. The last test runs a producer
 * thread against reader threads on poll(2), one of which never reads:
 * under ThreadSanitizer it is the relay's thread test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define GOP 10 /* a keyframe every GOP video packets */

static media_stream *video_new(void)
{
    static const uint8_t avcc[] = {1, 0x64, 0, 0x1f, 0xff, 0xe0, 0};
    media_stream *s =
        media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, avcc, sizeof(avcc));
    s->width = 320;
    s->height = 240;
    return s;
}

static media_stream *audio_new(void)
{
    static const uint8_t asc[] = {0x14, 0x08};
    media_stream *s = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, 16000, asc, sizeof(asc));
    s->sample_rate = 16000;
    s->channels = 1;
    return s;
}

/* A hub with cam1's main feed attached and its video track started. */
static relay_hub *hub_with_video(media_sink **sink, media_stream **v)
{
    relay_hub *h;
    assert_int_equal(relay_hub_new(NULL, &h), 0);
    *sink = relay_hub_attach(h, "cam1", "main");
    *v = video_new();
    (*sink)->ops->stream_cb(*sink, *v);
    return h;
}

static void hub_done(relay_hub *h, media_stream *v)
{
    relay_hub_free(h);
    media_stream_unref(v);
}

/* Pushes video packet number i (dts = i * 3600; a keyframe every GOP). */
static void push_video(media_sink *sink, media_stream *st, int i)
{
    media_packet *p = media_packet_new(st, 100);
    memset(p->data, i & 0xff, p->size);
    p->dts = p->pts = (int64_t)i * 3600;
    p->is_keyframe = i % GOP == 0;
    sink->ops->packet_cb(sink, p);
    media_packet_unref(p);
}

static void push_audio(media_sink *sink, media_stream *st, int i)
{
    media_packet *p = media_packet_new(st, 20);
    p->dts = p->pts = (int64_t)i * 1024;
    p->is_keyframe = true;
    sink->ops->packet_cb(sink, p);
    media_packet_unref(p);
}

/* Takes the next event, asserting there is one of that kind. */
static struct relay_event take(relay_reader *r, enum relay_event_kind kind)
{
    struct relay_event ev;
    assert_int_equal(relay_reader_next(r, &ev), 1);
    assert_int_equal(ev.kind, kind);
    return ev;
}

/* Takes a video packet and returns its index (dts / 3600). */
static int take_video(relay_reader *r)
{
    struct relay_event ev = take(r, RELAY_EV_PACKET);
    assert_int_equal(ev.packet->stream->kind, MEDIA_KIND_VIDEO);
    int i = (int)(ev.packet->dts / 3600);
    relay_event_release(&ev);
    return i;
}

static void take_stream(relay_reader *r, enum media_kind kind)
{
    struct relay_event ev = take(r, RELAY_EV_STREAM);
    assert_int_equal(ev.stream->kind, kind);
    relay_event_release(&ev);
}

static void assert_empty(relay_reader *r)
{
    struct relay_event ev;
    assert_int_equal(relay_reader_next(r, &ev), 0);
    assert_int_equal(ev.kind, RELAY_EV_NONE);
}

static bool fd_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

static void test_a_new_reader_starts_at_the_latest_keyframe(void **state)
{
    (void)state;
    relay_hub *h;
    assert_int_equal(relay_hub_new(NULL, &h), 0);
    media_sink *sink = relay_hub_attach(h, "cam1", "main");
    media_stream *v = video_new(), *a = audio_new();
    sink->ops->stream_cb(sink, v);
    sink->ops->stream_cb(sink, a);
    for (int i = 0; i < 25; i++) {
        push_video(sink, v, i);
        push_audio(sink, a, i);
    }
    relay_reader *r;
    assert_int_equal(relay_hub_open(h, "cam1", "main", NULL, &r), 0);
    assert_true(fd_readable(relay_reader_fd(r)));
    take_stream(r, MEDIA_KIND_VIDEO);
    take_stream(r, MEDIA_KIND_AUDIO);
    /* Packets 20..24 with their audio: the GOP since the keyframe at 20. */
    for (int i = 20; i < 25; i++) {
        assert_int_equal(take_video(r), i);
        struct relay_event ev = take(r, RELAY_EV_PACKET);
        assert_int_equal(ev.packet->stream->kind, MEDIA_KIND_AUDIO);
        relay_event_release(&ev);
    }
    assert_empty(r);
    assert_false(fd_readable(relay_reader_fd(r)));
    /* Live packets follow, and wake the reader. */
    push_video(sink, v, 25);
    assert_true(fd_readable(relay_reader_fd(r)));
    assert_int_equal(take_video(r), 25);
    assert_empty(r);

    struct relay_reader_stats st;
    relay_reader_stats(r, &st);
    assert_int_equal(st.packets, 11);
    assert_int_equal(st.skips, 0);
    relay_reader_close(r);
    relay_hub_detach(h, "cam1", "main");
    hub_done(h, v);
    media_stream_unref(a);
    assert_int_equal(media_live_packets(), 0);
}

static void test_a_slow_reader_skips_to_the_next_keyframe_alone(void **state)
{
    (void)state;
    metrics_registry *m = metrics_registry_new();
    relay_hub *h;
    assert_int_equal(relay_hub_new(&(struct relay_hub_options){.metrics = m}, &h), 0);
    media_sink *sink = relay_hub_attach(h, "cam1", "main");
    media_stream *v = video_new();
    sink->ops->stream_cb(sink, v);
    relay_reader *slow, *fast;
    assert_int_equal(relay_hub_open(h, "cam1", "main",
                                    &(struct relay_reader_options){.queue_max_packets = 8}, &slow),
                     0);
    assert_int_equal(relay_hub_open(h, "cam1", "main", NULL, &fast), 0);
    take_stream(slow, MEDIA_KIND_VIDEO);
    take_stream(fast, MEDIA_KIND_VIDEO);
    /* 0..7 fit; 8 overflows: the queue is emptied, 9 is not given, 10 resumes. */
    for (int i = 0; i < 13; i++)
        push_video(sink, v, i);
    take_stream(slow, MEDIA_KIND_VIDEO); /* the tracks again before the keyframe */
    for (int i = 10; i < 13; i++)
        assert_int_equal(take_video(slow), i);
    assert_empty(slow);
    for (int i = 0; i < 13; i++)
        assert_int_equal(take_video(fast), i);
    assert_empty(fast);

    struct relay_reader_stats st;
    relay_reader_stats(slow, &st);
    assert_int_equal(st.skips, 1);
    assert_int_equal(st.skipped_packets, 10); /* 0..7 dropped from the queue, 8 and 9 */
    assert_int_equal(st.packets, 3);
    relay_reader_stats(fast, &st);
    assert_int_equal(st.skips, 0);
    assert_int_equal(st.packets, 13);
    size_t len;
    char *text = metrics_render(m, &len);
    assert_non_null(strstr(text, "horus_relay_skips_total{camera=\"cam1\",stream=\"main\"} 1"));
    assert_non_null(strstr(text, "horus_relay_readers{camera=\"cam1\",stream=\"main\"} 2"));
    free(text);

    relay_reader_close(slow);
    relay_reader_close(fast);
    relay_hub_free(h); /* still attached: the hub frees the feed */
    media_stream_unref(v);
    metrics_registry_free(m);
    assert_int_equal(media_live_packets(), 0);
}

static void test_a_byte_bound_also_makes_a_skip(void **state)
{
    (void)state;
    media_sink *sink;
    media_stream *v;
    relay_hub *h = hub_with_video(&sink, &v);
    relay_reader *r;
    assert_int_equal(relay_hub_open(h, "cam1", "main",
                                    &(struct relay_reader_options){.queue_max_bytes = 250}, &r),
                     0);
    for (int i = 0; i < 3; i++) /* 100 bytes each: the third passes 250 */
        push_video(sink, v, i);
    struct relay_reader_stats st;
    relay_reader_stats(r, &st);
    assert_int_equal(st.skips, 1);
    relay_reader_close(r);
    hub_done(h, v);
}

static void test_a_gap_is_told_and_the_reader_resumes_at_a_keyframe(void **state)
{
    (void)state;
    media_sink *sink;
    media_stream *v;
    relay_hub *h = hub_with_video(&sink, &v);
    push_video(sink, v, 0);
    relay_reader *r;
    assert_int_equal(relay_hub_open(h, "cam1", "main", NULL, &r), 0);
    take_stream(r, MEDIA_KIND_VIDEO);
    assert_int_equal(take_video(r), 0);
    sink->ops->gap_cb(sink, "camera disconnected");
    /* A reconnect: the new epoch's stream, a P-frame that decodes to nothing, a keyframe. */
    media_stream *v2 = video_new();
    sink->ops->stream_cb(sink, v2);
    push_video(sink, v2, 31);
    push_video(sink, v2, 40);
    struct relay_event ev = take(r, RELAY_EV_GAP);
    assert_string_equal(ev.reason, "camera disconnected");
    take_stream(r, MEDIA_KIND_VIDEO);
    assert_int_equal(take_video(r), 40);
    assert_empty(r);
    struct relay_reader_stats st;
    relay_reader_stats(r, &st);
    assert_int_equal(st.skips, 0); /* not the reader's fault */
    relay_reader_close(r);
    hub_done(h, v);
    media_stream_unref(v2);
}

static void test_the_end_of_a_feed_is_told_and_opens_fail(void **state)
{
    (void)state;
    relay_hub *h;
    assert_int_equal(relay_hub_new(NULL, &h), 0);
    relay_reader *r;
    assert_int_equal(relay_hub_open(h, "cam1", "main", NULL, &r), -ENOENT);
    struct relay_tracks t;
    assert_int_equal(relay_hub_tracks(h, "cam1", "main", &t), -ENOENT);
    media_sink *sink = relay_hub_attach(h, "cam1", "main");
    assert_int_equal(relay_hub_tracks(h, "cam1", "main", &t), -EAGAIN);
    media_stream *v = video_new();
    sink->ops->stream_cb(sink, v);
    assert_int_equal(relay_hub_tracks(h, "cam1", "main", &t), 0);
    assert_ptr_equal(t.video, v);
    assert_null(t.audio);
    relay_tracks_release(&t);
    assert_int_equal(relay_hub_open(h, "cam1", "main", NULL, &r), 0);
    assert_int_equal(relay_hub_open(h, "cam1", "sub", NULL, &(relay_reader *){NULL}), -ENOENT);
    push_video(sink, v, 0);
    relay_hub_detach(h, "cam1", "main");
    /* What was queued is still read, then the end. */
    take_stream(r, MEDIA_KIND_VIDEO);
    assert_int_equal(take_video(r), 0);
    struct relay_event ev = take(r, RELAY_EV_END);
    relay_event_release(&ev);
    assert_empty(r);
    relay_reader *r2;
    assert_int_equal(relay_hub_open(h, "cam1", "main", NULL, &r2), -ENOENT);
    relay_reader_close(r); /* after the detach: the reader held the feed */
    hub_done(h, v);
    assert_int_equal(media_live_packets(), 0);
}

static void test_attaching_again_ends_the_old_feed(void **state)
{
    (void)state;
    relay_hub *h;
    assert_int_equal(relay_hub_new(NULL, &h), 0);
    relay_hub_attach(h, "cam1", "main");
    relay_reader *r;
    assert_int_equal(relay_hub_open(h, "cam1", "main", NULL, &r), 0);
    media_sink *sink = relay_hub_attach(h, "cam1", "main");
    struct relay_event ev = take(r, RELAY_EV_END);
    relay_event_release(&ev);
    relay_reader_close(r);
    media_stream *v = video_new();
    sink->ops->stream_cb(sink, v);
    assert_int_equal(relay_hub_open(h, "cam1", "main", NULL, &r), 0);
    take_stream(r, MEDIA_KIND_VIDEO);
    relay_reader_close(r);
    hub_done(h, v);
}

static int woken;
static void on_wake(void *arg)
{
    (void)arg;
    woken++;
}

static void test_a_callback_reader_is_woken_once_per_empty_queue(void **state)
{
    (void)state;
    media_sink *sink;
    media_stream *v;
    relay_hub *h = hub_with_video(&sink, &v);
    relay_reader *r;
    woken = 0;
    assert_int_equal(
        relay_hub_open(h, "cam1", "main", &(struct relay_reader_options){.wake = on_wake}, &r), 0);
    assert_int_equal(relay_reader_fd(r), -1);
    assert_int_equal(woken, 1); /* its track */
    push_video(sink, v, 0);
    push_video(sink, v, 1);
    assert_int_equal(woken, 1);
    take_stream(r, MEDIA_KIND_VIDEO);
    take_video(r);
    take_video(r);
    assert_empty(r);
    push_video(sink, v, 2);
    assert_int_equal(woken, 2);
    relay_reader_close(r);
    hub_done(h, v);
}

static void test_an_audio_only_feed_starts_at_any_packet(void **state)
{
    (void)state;
    relay_hub *h;
    assert_int_equal(relay_hub_new(NULL, &h), 0);
    media_sink *sink = relay_hub_attach(h, "cam1", "main");
    media_stream *a = audio_new();
    sink->ops->stream_cb(sink, a);
    for (int i = 0; i < 5; i++)
        push_audio(sink, a, i);
    relay_reader *r;
    assert_int_equal(relay_hub_open(h, "cam1", "main", NULL, &r), 0);
    take_stream(r, MEDIA_KIND_AUDIO);
    struct relay_event ev = take(r, RELAY_EV_PACKET);
    assert_int_equal(ev.packet->dts, 4 * 1024);
    relay_event_release(&ev);
    assert_empty(r);
    relay_reader_close(r);
    relay_hub_free(h);
    media_stream_unref(a);
}

/* Threads: a producer, two readers on poll(2) and one that never reads. */
#define THREAD_PACKETS 3000

struct thr_reader {
    relay_reader *r;
    int got, last, out_of_order, keys_first_ok;
};

static void *reader_main(void *arg)
{
    struct thr_reader *t = arg;
    t->last = -1;
    t->keys_first_ok = 1;
    for (;;) {
        struct pollfd p = {.fd = relay_reader_fd(t->r), .events = POLLIN};
        if (poll(&p, 1, 10000) != 1)
            return NULL; /* the test fails on the count */
        struct relay_event ev;
        while (relay_reader_next(t->r, &ev) == 1) {
            if (ev.kind == RELAY_EV_END) {
                relay_event_release(&ev);
                return NULL;
            }
            if (ev.kind == RELAY_EV_PACKET) {
                int i = (int)(ev.packet->dts / 3600);
                if (t->last < 0 && !ev.packet->is_keyframe)
                    t->keys_first_ok = 0;
                if (i <= t->last)
                    t->out_of_order++;
                t->last = i;
                t->got++;
            }
            relay_event_release(&ev);
        }
    }
}

struct producer {
    media_sink *sink;
    media_stream *v;
};

static void *producer_main(void *arg)
{
    struct producer *p = arg;
    for (int i = 1; i < THREAD_PACKETS; i++) /* 0 is in the GOP the readers start from */
        push_video(p->sink, p->v, i);
    return NULL;
}

static void test_threads_readers_never_hold_back_the_producer(void **state)
{
    (void)state;
    media_sink *sink;
    media_stream *v;
    relay_hub *h = hub_with_video(&sink, &v);
    push_video(sink, v, 0);
    struct thr_reader rd[2] = {0};
    relay_reader *stuck;
    for (int i = 0; i < 2; i++)
        assert_int_equal(relay_hub_open(h, "cam1", "main",
                                        &(struct relay_reader_options){.queue_max_packets = 4096},
                                        &rd[i].r),
                         0);
    assert_int_equal(relay_hub_open(h, "cam1", "main",
                                    &(struct relay_reader_options){.queue_max_packets = 16},
                                    &stuck),
                     0);
    pthread_t th[2], pt;
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &rd[i]), 0);
    struct producer pr = {sink, v};
    assert_int_equal(pthread_create(&pt, NULL, producer_main, &pr), 0);
    pthread_join(pt, NULL);
    relay_hub_detach(h, "cam1", "main");
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(rd[i].got, THREAD_PACKETS);
        assert_int_equal(rd[i].out_of_order, 0);
        assert_true(rd[i].keys_first_ok);
        relay_reader_close(rd[i].r);
    }
    struct relay_reader_stats st;
    relay_reader_stats(stuck, &st);
    assert_true(st.skips > 0);
    relay_reader_close(stuck);
    hub_done(h, v);
    assert_int_equal(media_live_packets(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_new_reader_starts_at_the_latest_keyframe),
        cmocka_unit_test(test_a_slow_reader_skips_to_the_next_keyframe_alone),
        cmocka_unit_test(test_a_byte_bound_also_makes_a_skip),
        cmocka_unit_test(test_a_gap_is_told_and_the_reader_resumes_at_a_keyframe),
        cmocka_unit_test(test_the_end_of_a_feed_is_told_and_opens_fail),
        cmocka_unit_test(test_attaching_again_ends_the_old_feed),
        cmocka_unit_test(test_a_callback_reader_is_woken_once_per_empty_queue),
        cmocka_unit_test(test_an_audio_only_feed_starts_at_any_packet),
        cmocka_unit_test(test_threads_readers_never_hold_back_the_producer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
