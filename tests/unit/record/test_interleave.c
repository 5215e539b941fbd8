/*
 * Tests the recorder's interleaver: packets leave in decode-time order
 * across tracks, a packet waits only for a track that could still deliver
 * something earlier, and a stalled or absent track holds nothing back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "interleave_int.h"

#include <stdlib.h>

static media_stream *video, *audio;

static int setup(void **state)
{
    video = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    audio = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, 48000, NULL, 0);
    return 0;
}

static int teardown(void **state)
{
    media_stream_unref(video);
    media_stream_unref(audio);
    assert_int_equal(media_live_packets(), 0);
    return 0;
}

/* Pushes a packet of s at ms milliseconds. */
static void push(struct rec_interleave *il, media_stream *s, int64_t ms)
{
    media_packet *p = media_packet_new(s, 1);
    p->dts = p->pts = ms * s->timescale / 1000;
    rec_interleave_push(il, p);
    media_packet_unref(p);
}

/* Pops one packet: its time in ms and its kind ('v' or 'a'), or -1 when none may leave. */
static int64_t pop(struct rec_interleave *il, bool is_draining, char *kind)
{
    media_packet *p = rec_interleave_pop(il, is_draining);
    if (!p)
        return -1;
    int64_t ms = rec_interleave_time_us(p) / 1000;
    *kind = p->stream->kind == MEDIA_KIND_VIDEO ? 'v' : 'a';
    media_packet_unref(p);
    return ms;
}

static void test_one_track_is_never_held(void **state)
{
    struct rec_interleave il = {0};
    char k;
    for (int i = 0; i < 5; i++) {
        push(&il, video, i * 40);
        assert_int_equal(pop(&il, false, &k), i * 40);
        assert_int_equal(k, 'v');
        assert_int_equal(pop(&il, false, &k), -1);
    }
    rec_interleave_release(&il);
}

static void test_early_audio_waits_for_the_picture_before_it(void **state)
{
    struct rec_interleave il = {0};
    char k;
    push(&il, video, 0);
    assert_int_equal(pop(&il, false, &k), 0);
    /* Audio up to 100 ms arrives before the pictures at 40 and 80 ms. */
    push(&il, audio, 20);
    assert_int_equal(pop(&il, false, &k), -1); /* video may still bring 20 ms or earlier */
    push(&il, audio, 60);
    push(&il, audio, 100);
    push(&il, video, 40);
    assert_int_equal(pop(&il, false, &k), 20);
    assert_int_equal(k, 'a');
    assert_int_equal(pop(&il, false, &k), 40);
    assert_int_equal(k, 'v');
    assert_int_equal(pop(&il, false, &k), -1);
    push(&il, video, 80);
    assert_int_equal(pop(&il, false, &k), 60);
    assert_int_equal(pop(&il, false, &k), 80);
    assert_int_equal(k, 'v');
    assert_int_equal(pop(&il, false, &k), -1); /* audio at 100 waits for the next picture */
    /* Draining lets out everything, in time order. */
    push(&il, video, 120);
    push(&il, audio, 110);
    assert_int_equal(pop(&il, true, &k), 100);
    assert_int_equal(pop(&il, true, &k), 110);
    assert_int_equal(pop(&il, true, &k), 120);
    assert_int_equal(pop(&il, true, &k), -1);
    rec_interleave_release(&il);
}

static void test_ties_let_video_out_first(void **state)
{
    struct rec_interleave il = {0};
    char k;
    push(&il, audio, 0);
    push(&il, video, 0);
    assert_int_equal(pop(&il, false, &k), 0);
    assert_int_equal(k, 'v');
    assert_int_equal(pop(&il, false, &k), 0);
    assert_int_equal(k, 'a');
    rec_interleave_release(&il);
}

static void test_a_stalled_track_holds_back_at_most_the_stall_span(void **state)
{
    struct rec_interleave il = {0};
    char k;
    push(&il, audio, 0);
    push(&il, video, 0);
    assert_int_equal(pop(&il, false, &k), 0);
    assert_int_equal(pop(&il, false, &k), 0);
    /* The audio stops: video waits until it is REC_ILV_STALL_US past the last audio. */
    int64_t stall_ms = REC_ILV_STALL_US / 1000;
    for (int64_t ms = 40; ms <= stall_ms; ms += 40)
        push(&il, video, ms);
    assert_int_equal(pop(&il, false, &k), -1);
    push(&il, video, stall_ms + 40);
    size_t n = 0;
    while (pop(&il, false, &k) >= 0)
        n++;
    assert_int_equal(n, (size_t)(stall_ms / 40 + 1));
    rec_interleave_release(&il);
}

static void test_a_reset_forgets_a_track_that_may_not_come_back(void **state)
{
    struct rec_interleave il = {0};
    char k;
    push(&il, audio, 0);
    assert_int_equal(pop(&il, false, &k), 0);
    rec_interleave_reset(&il);
    push(&il, video, 40);
    assert_int_equal(pop(&il, false, &k), 40);
    rec_interleave_release(&il);
}

static void test_the_queue_is_bounded(void **state)
{
    struct rec_interleave il = {0};
    char k;
    push(&il, video, 0);
    assert_int_equal(pop(&il, false, &k), 0);
    /* Audio stamped in microsecond steps stays far inside the stall span. */
    media_stream *fast = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, 1000000, NULL, 0);
    for (int i = 1; i <= REC_ILV_MAX + 10; i++) {
        media_packet *p = media_packet_new(fast, 1);
        p->dts = p->pts = i;
        rec_interleave_push(&il, p);
        media_packet_unref(p);
        media_packet *out;
        while ((out = rec_interleave_pop(&il, false)) != NULL)
            media_packet_unref(out);
        assert_true(il.len < REC_ILV_MAX);
    }
    assert_int_equal(il.len, REC_ILV_MAX - 1);
    rec_interleave_release(&il); /* drops what is held */
    media_stream_unref(fast);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_track_is_never_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_early_audio_waits_for_the_picture_before_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ties_let_video_out_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_stalled_track_holds_back_at_most_the_stall_span,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_reset_forgets_a_track_that_may_not_come_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_the_queue_is_bounded, setup, teardown),
    };
    return cmocka_run_group_tests_name("record.interleave", tests, NULL, NULL);
}
