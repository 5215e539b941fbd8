/*
 * Tests for src/detect/sampler.c with real H.264 (libx264 through
 * libavcodec, tests/unit/record/media_gen.h): frames come out RGB24 at most
 * 640 wide at the sampling rate, the luma plane is the decoder's, a
 * resolution change reopens the decoder, a worker that falls behind takes
 * the newest frame and counts the missed instants as busy, a full slot and
 * a gap wait for the next keyframe, and undecodable packets are counted,
 * never fatal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "record/media_gen.h"
#include "sampler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IV_5FPS 200000 /* us */

static void feed(det_sampler *s, const struct gen_clip *c, size_t from, size_t to)
{
    media_sink *k = det_sampler_sink(s);
    for (size_t i = from; i < to && i < c->n; i++)
        k->ops->packet_cb(k, c->pkts[i]);
}

static uint64_t skipped(det_sampler *s, enum det_skip why)
{
    uint64_t sk[DET_SKIP_COUNT];
    det_sampler_skips(s, sk);
    return sk[why];
}

/* Calls next once; returns the image (caller unrefs) or NULL. */
static struct det_image *next(det_sampler *s, struct det_luma *luma)
{
    struct det_image *img = NULL;
    char err[200];
    det_sampler_next(s, IV_5FPS, &img, luma, err, sizeof(err));
    return img;
}

static void test_frames_come_out_scaled_at_the_sampling_rate(void **state)
{
    (void)state;
    struct gen_clip c;
    if (gen_video("libx264", 1280, 720, 75, 2, &c) < 0)
        skip();
    det_sampler *s = det_sampler_new("cam", DET_DECODE_ALL);
    media_sink *k = det_sampler_sink(s);
    k->ops->stream_cb(k, c.stream);
    int made = 0;
    struct det_luma luma;
    /* 25 fps in batches of one packet, as a prompt worker sees them: 5 fps out. */
    for (size_t i = 0; i < c.n; i++) {
        feed(s, &c, i, i + 1);
        struct det_image *img = next(s, &luma);
        if (!img)
            continue;
        made++;
        assert_int_equal(img->width, 640);
        assert_int_equal(img->height, 360);
        assert_true(img->stride_bytes >= 640 * 3);
        assert_non_null(luma.y);
        assert_int_equal(luma.width, 1280);
        assert_int_equal(luma.height, 720);
        det_image_unref(img);
    }
    /* 75 frames = 3 s at 5 fps; the last two stay in the decoder (B-frame reordering). */
    assert_in_range(made, 14, 15);
    assert_int_equal(skipped(s, DET_SKIP_BUSY), 0);
    assert_int_equal(skipped(s, DET_SKIP_DECODE_ERROR), 0);
    det_sampler_free(s);
    gen_clip_release(&c);
}

static void test_a_new_resolution_reopens_the_decoder(void **state)
{
    (void)state;
    struct gen_clip a, b;
    if (gen_video("libx264", 640, 480, 30, 0, &a) < 0 ||
        gen_video("libx264", 320, 240, 30, 0, &b) < 0)
        skip();
    det_sampler *s = det_sampler_new("cam", DET_DECODE_ALL);
    media_sink *k = det_sampler_sink(s);
    struct det_luma luma;
    k->ops->stream_cb(k, a.stream);
    feed(s, &a, 0, 10);
    struct det_image *img = next(s, &luma);
    assert_non_null(img);
    assert_int_equal(img->width, 640);
    assert_int_equal(img->height, 480);
    det_image_unref(img);
    b.stream->epoch = a.stream->epoch + 1;
    k->ops->stream_cb(k, b.stream);
    feed(s, &b, 0, 10);
    img = next(s, &luma);
    assert_non_null(img);
    assert_int_equal(img->width, 320); /* never upscaled */
    assert_int_equal(img->height, 240);
    assert_int_equal(luma.width, 320);
    det_image_unref(img);
    assert_int_equal(skipped(s, DET_SKIP_DECODE_ERROR), 0);
    det_sampler_free(s);
    gen_clip_release(&a);
    gen_clip_release(&b);
}

static void test_a_late_worker_takes_the_newest_frame_and_counts_busy(void **state)
{
    (void)state;
    struct gen_clip c;
    if (gen_video("libx264", 320, 240, 60, 0, &c) < 0)
        skip();
    det_sampler *s = det_sampler_new("cam", DET_DECODE_ALL);
    media_sink *k = det_sampler_sink(s);
    struct det_luma luma;
    k->ops->stream_cb(k, c.stream);
    feed(s, &c, 0, 1);
    struct det_image *first = next(s, &luma);
    assert_non_null(first);
    /* 2.36 s of video arrive before the worker comes back: 11 instants, 10 missed. */
    feed(s, &c, 1, 60);
    struct det_image *img = next(s, &luma);
    assert_non_null(img);
    assert_true(img->utc_us >= first->utc_us);
    uint64_t busy = skipped(s, DET_SKIP_BUSY);
    assert_in_range(busy, 9, 11);
    det_image_unref(first);
    det_image_unref(img);
    det_sampler_free(s);
    gen_clip_release(&c);
}

static void test_a_full_slot_and_a_gap_wait_for_the_next_keyframe(void **state)
{
    (void)state;
    struct gen_clip c;
    if (gen_video("libx264", 160, 120, 300, 0, &c) < 0)
        skip();
    det_sampler *s = det_sampler_new("cam", DET_DECODE_ALL);
    media_sink *k = det_sampler_sink(s);
    struct det_luma luma;
    k->ops->stream_cb(k, c.stream);
    feed(s, &c, 0, 140); /* 128 fit */
    assert_int_equal(skipped(s, DET_SKIP_QUEUE_FULL), 1);
    assert_int_equal(skipped(s, DET_SKIP_KEYFRAME_WAIT), 11);
    struct det_image *img = next(s, &luma);
    assert_non_null(img);
    det_image_unref(img);
    feed(s, &c, 140, 149); /* still waiting: the keyframe is packet 150 */
    assert_int_equal(skipped(s, DET_SKIP_KEYFRAME_WAIT), 20);
    feed(s, &c, 150, 160);
    img = next(s, &luma);
    assert_non_null(img);
    det_image_unref(img);
    k->ops->gap_cb(k, "stall");
    feed(s, &c, 160, 170);
    assert_int_equal(skipped(s, DET_SKIP_KEYFRAME_WAIT), 30);
    assert_int_equal(skipped(s, DET_SKIP_DECODE_ERROR), 0);
    det_sampler_free(s);
    gen_clip_release(&c);
}

static void test_undecodable_packets_are_counted_not_fatal(void **state)
{
    (void)state;
    struct gen_clip c;
    if (gen_video("libx264", 160, 120, 60, 0, &c) < 0)
        skip();
    det_sampler *s = det_sampler_new("cam", DET_DECODE_ALL);
    media_sink *k = det_sampler_sink(s);
    struct det_luma luma;
    /* A stream whose parameter sets are garbage: no decoder opens. */
    uint8_t junk[16] = {1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0xde, 0xad, 0xbe, 0xef};
    media_stream *bad = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, junk, 12);
    bad->epoch = 7;
    k->ops->stream_cb(k, bad);
    for (size_t i = 0; i < 25; i++) {
        media_packet *p = media_packet_new(bad, 64);
        memset(p->data, 0x5a, 64);
        p->pts = p->dts = (int64_t)i * 3600;
        p->is_keyframe = i == 0;
        k->ops->packet_cb(k, p);
        media_packet_unref(p);
    }
    char err[200];
    struct det_image *img = NULL;
    assert_false(det_sampler_next(s, IV_5FPS, &img, &luma, err, sizeof(err)));
    assert_null(img);
    assert_true(skipped(s, DET_SKIP_DECODE_ERROR) > 0);
    assert_true(err[0] != '\0');
    /* The camera's real stream comes back: decoding resumes. */
    k->ops->stream_cb(k, c.stream);
    feed(s, &c, 0, 5);
    img = next(s, &luma);
    assert_non_null(img);
    det_image_unref(img);
    media_stream_unref(bad);
    det_sampler_free(s);
    gen_clip_release(&c);
}

static void test_keyframes_only_decodes_one_frame_a_gop(void **state)
{
    (void)state;
    struct gen_clip c;
    if (gen_video("libx264", 320, 240, 100, 2, &c) < 0)
        skip();
    det_sampler *s = det_sampler_new("cam", DET_DECODE_KEYFRAMES);
    media_sink *k = det_sampler_sink(s);
    struct det_luma luma;
    k->ops->stream_cb(k, c.stream);
    int made = 0;
    for (size_t i = 0; i < c.n; i++) {
        feed(s, &c, i, i + 1);
        struct det_image *img = next(s, &luma);
        if (img)
            made++;
        det_image_unref(img);
    }
    assert_int_equal(made, 4); /* 100 frames, a keyframe every 25, B-frames or not */
    for (int i = 0; i < DET_SKIP_COUNT; i++)
        assert_int_equal(skipped(s, (enum det_skip)i), 0);
    det_sampler_free(s);
    gen_clip_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_come_out_scaled_at_the_sampling_rate),
        cmocka_unit_test(test_a_new_resolution_reopens_the_decoder),
        cmocka_unit_test(test_a_late_worker_takes_the_newest_frame_and_counts_busy),
        cmocka_unit_test(test_a_full_slot_and_a_gap_wait_for_the_next_keyframe),
        cmocka_unit_test(test_undecodable_packets_are_counted_not_fatal),
        cmocka_unit_test(test_keyframes_only_decodes_one_frame_a_gop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
