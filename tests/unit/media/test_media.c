/* Tests for src/media/media.c: refcounts and parameter comparison. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "media.h"
#include "media_part.h"

#include <string.h>

static void test_packets_hold_their_stream_until_the_last_unref(void **state)
{
    static const uint8_t avcc[] = {1, 0x64, 0, 0x1f};
    media_stream *s = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, avcc, 4);
    media_packet *p = media_packet_new(s, 100);
    media_stream_unref(s);
    assert_int_equal(media_live_streams(), 1);
    media_packet *q = media_packet_ref(p);
    media_packet_unref(p);
    assert_int_equal(media_live_packets(), 1);
    assert_int_equal(q->stream->extradata[1], 0x64);
    media_packet_unref(q);
    assert_int_equal(media_live_packets(), 0);
    assert_int_equal(media_live_streams(), 0);
    media_packet_unref(NULL);
    media_stream_unref(NULL);
}

static void test_same_params_compares_codec_size_and_extradata(void **state)
{
    static const uint8_t x[] = {1, 2, 3}, y[] = {1, 2, 4};
    media_stream *a = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, x, 3);
    media_stream *b = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, x, 3);
    media_stream *c = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, y, 3);
    assert_true(media_stream_same_params(a, b));
    assert_false(media_stream_same_params(a, c));
    b->width = 1920;
    assert_false(media_stream_same_params(a, b));
    media_stream_unref(a);
    media_stream_unref(b);
    media_stream_unref(c);
}

static void test_parts_hold_their_init_and_inits_their_streams(void **state)
{
    media_stream *a = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, 48000, NULL, 0);
    media_stream *v = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    media_stream *streams[2] = {a, v};
    media_init *i1 = media_init_new((const uint8_t *)"ftypmoov", 8, streams, 2);
    media_init *i2 = media_init_new((const uint8_t *)"ftypmoov", 8, streams, 1);
    media_init *i3 = media_init_new((const uint8_t *)"ftypmoox", 8, streams, 1);
    assert_int_equal(i1->primary, 1); /* the video track */
    assert_int_equal(i2->primary, 0);
    assert_true(media_init_same(i1, i2));
    assert_false(media_init_same(i1, i3));
    media_stream_unref(a);
    media_stream_unref(v);
    media_part *p = media_part_new(i1, 16);
    assert_int_equal(p->size, 16);
    assert_ptr_equal(p->init, i1);
    media_init_unref(i1);
    media_init_unref(i2);
    media_init_unref(i3);
    assert_int_equal(media_live_inits(), 1); /* the part still holds i1 */
    assert_int_equal(media_live_streams(), 2);
    media_part_unref(media_part_ref(p));
    media_part_unref(p);
    assert_int_equal(media_live_parts(), 0);
    assert_int_equal(media_live_inits(), 0);
    assert_int_equal(media_live_streams(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packets_hold_their_stream_until_the_last_unref),
        cmocka_unit_test(test_same_params_compares_codec_size_and_extradata),
        cmocka_unit_test(test_parts_hold_their_init_and_inits_their_streams),
    };
    return cmocka_run_group_tests_name("core.media", tests, NULL, NULL);
}
