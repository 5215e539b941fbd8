/*
 * Tests for src/media/media_bitstream.c: Annex B start codes (3 and 4
 * bytes, trailing zeros, junk before the first code) and NAL unit types.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "media_bitstream.h"

static void test_start_codes_are_found_past_skipped_bytes(void **state)
{
    static const uint8_t buf[] = {9, 9, 9, 9, 9, 0, 0, 1, 0x65, 0, 0, 0, 1};
    assert_int_equal(media_annexb_find(buf, sizeof(buf), 0), 5);
    assert_int_equal(media_annexb_find(buf, sizeof(buf), 6), 10); /* the 4-byte code's last 3 */
    assert_int_equal(media_annexb_find(buf, sizeof(buf), 11), sizeof(buf));
    assert_int_equal(media_annexb_find(buf, 2, 0), 2);
}

static void test_units_come_without_start_codes_or_trailing_zeros(void **state)
{
    static const uint8_t au[] = {
        0xaa, /* junk before the first start code */
        0,    0, 0, 1,    0x09, 0xf0, /* AUD */
        0,    0, 0, 1,    0x67, 0x42, 0, /* SPS ending in a zero byte */
        0,    0, 1, /* an empty unit */
        0,    0, 1, 0x65, 0x88, 0x84, 0, 0, /* IDR, trailing zeros */
    };
    size_t pos = 0, len;
    const uint8_t *nal;
    assert_true(media_annexb_next(au, sizeof(au), &pos, &nal, &len));
    assert_int_equal(len, 2);
    assert_int_equal(media_nal_type(MEDIA_CODEC_H264, nal, len), 9);
    assert_true(media_nal_is_aud(MEDIA_CODEC_H264, 9));
    assert_true(media_annexb_next(au, sizeof(au), &pos, &nal, &len));
    assert_int_equal(len, 2); /* 0x67 0x42: the zero belongs to the next start code */
    assert_int_equal(
        media_nal_ps_kind(MEDIA_CODEC_H264, media_nal_type(MEDIA_CODEC_H264, nal, len)),
        MEDIA_PS_SPS);
    assert_true(media_annexb_next(au, sizeof(au), &pos, &nal, &len));
    assert_int_equal(len, 3);
    assert_true(
        media_nal_is_keyframe(MEDIA_CODEC_H264, media_nal_type(MEDIA_CODEC_H264, nal, len)));
    assert_false(media_annexb_next(au, sizeof(au), &pos, &nal, &len));
}

static void test_nal_types_per_codec(void **state)
{
    static const uint8_t h265_idr[] = {0x26, 0x01}; /* IDR_W_RADL (19) */
    static const uint8_t h265_vps[] = {0x40, 0x01};
    assert_int_equal(media_nal_type(MEDIA_CODEC_H265, h265_idr, 2), 19);
    assert_true(media_nal_is_keyframe(MEDIA_CODEC_H265, 19));
    assert_true(media_nal_is_keyframe(MEDIA_CODEC_H265, 21));
    assert_false(media_nal_is_keyframe(MEDIA_CODEC_H265, 1));
    assert_int_equal(
        media_nal_ps_kind(MEDIA_CODEC_H265, media_nal_type(MEDIA_CODEC_H265, h265_vps, 2)),
        MEDIA_PS_VPS);
    assert_int_equal(media_nal_ps_kind(MEDIA_CODEC_H265, 34), MEDIA_PS_PPS);
    assert_int_equal(media_nal_ps_kind(MEDIA_CODEC_H265, 1), -1);
    assert_int_equal(media_nal_ps_kind(MEDIA_CODEC_H264, 8), MEDIA_PS_PPS);
    assert_true(media_nal_is_aud(MEDIA_CODEC_H265, 35));
    /* The types RTP payload formats take for their own packets. */
    assert_true(media_nal_is_rtp_reserved(MEDIA_CODEC_H264, 24));
    assert_true(media_nal_is_rtp_reserved(MEDIA_CODEC_H264, 31));
    assert_false(media_nal_is_rtp_reserved(MEDIA_CODEC_H264, 23));
    assert_false(media_nal_is_rtp_reserved(MEDIA_CODEC_H264, 5));
    assert_true(media_nal_is_rtp_reserved(MEDIA_CODEC_H265, 48));
    assert_true(media_nal_is_rtp_reserved(MEDIA_CODEC_H265, 63));
    assert_false(media_nal_is_rtp_reserved(MEDIA_CODEC_H265, 47));
    assert_false(media_nal_is_keyframe(MEDIA_CODEC_H264, 1));
    assert_int_equal(media_nal_type(MEDIA_CODEC_H264, h265_idr, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_codes_are_found_past_skipped_bytes),
        cmocka_unit_test(test_units_come_without_start_codes_or_trailing_zeros),
        cmocka_unit_test(test_nal_types_per_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
