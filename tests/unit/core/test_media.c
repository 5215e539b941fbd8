/* Tests for src/core/media.c: refcounts and parameter comparison. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "media.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packets_hold_their_stream_until_the_last_unref),
        cmocka_unit_test(test_same_params_compares_codec_size_and_extradata),
    };
    return cmocka_run_group_tests_name("core.media", tests, NULL, NULL);
}
