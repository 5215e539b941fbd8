/*
 * Tests for src/ingest/bitstream.c. The parameter sets are real ones from
 * libx264/libx265; the expected avcC/hvcC records are what FFmpeg's MP4
 * muxer wrote for the same streams (hvcC with array_completeness set, as
 * ingest strips in-band parameter sets).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ingest_int.h"

#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* libx264 ultrafast, 640x360 (cropped from 368), Constrained Baseline 3.0 */
static const char BASE_SPS[] = "6742c01eda0280bfe5c044000003000400000300ca3c58ba80";
static const char BASE_PPS[] = "68ce0fc8";
static const char BASE_AVCC[] = "0142c01effe100196742c01eda0280bfe5c044000003000400000300ca3c58ba80"
                                "01000468ce0fc8";
/* libx264 High 4.0, 1920x1080 (cropped from 1088) */
static const char HIGH_SPS[] = "67640028acd940780227e5c044000003000400000300c83c60c658";
static const char HIGH_PPS[] = "68ebe3cb22c0";
static const char HIGH_AVCC[] = "01640028ffe1001b67640028acd940780227e5c044000003000400000300c83c"
                                "60c65801000668ebe3cb22c0fdf8f800";
/* libx265 ultrafast, Main, 320x240 */
static const char HEVC_VPS[] = "40010c01ffff01600000030090000003000003003c959409";
static const char HEVC_SPS[] = "42010101600000030090000003000003003ca00a080f16595952930bc05a0200"
                               "00030002000003001e10";
static const char HEVC_PPS[] = "4401c073c189";
static const char HEVC_HVCC[] =
    "0101600000009000000000003cf000fcfdf8f800000f03a00001001840010c01ffff0160000003009000000300"
    "0003003c959409a10001002a42010101600000030090000003000003003ca00a080f16595952930bc05a020000"
    "030002000003001e10a2000100064401c073c189";

static void load_sets(struct ing_param_sets *ps, enum media_codec codec, const char *vps,
                      const char *sps, const char *pps)
{
    uint8_t buf[ING_PS_MAX_SIZE];
    memset(ps, 0, sizeof(*ps));
    ps->codec = codec;
    const char *hex[ING_PS_COUNT] = {vps, sps, pps};
    for (int k = 0; k < ING_PS_COUNT; k++) {
        if (!hex[k])
            continue;
        struct ing_nal nal = {buf, unhex(hex[k], buf)};
        assert_int_equal(media_nal_ps_kind(codec, media_nal_type(codec, nal.data, nal.size)), k);
        assert_true(ing_param_sets_update(ps, k, &nal));
        assert_false(ing_param_sets_update(ps, k, &nal)); /* same bytes: no change */
    }
}

static void check_video(enum media_codec codec, const char *vps, const char *sps_hex,
                        const char *pps, const char *record_hex, uint32_t w, uint32_t h,
                        const char *codec_string)
{
    struct ing_param_sets ps;
    load_sets(&ps, codec, vps, sps_hex, pps);
    assert_true(ing_param_sets_complete(&ps));
    struct ing_sps_info info;
    struct ing_nal sps = {ps.data[ING_PS_SPS], ps.size[ING_PS_SPS]};
    assert_int_equal(ing_sps_parse(codec, &sps, &info), 0);
    assert_int_equal(info.width, w);
    assert_int_equal(info.height, h);
    char str[32];
    assert_int_equal(ing_codec_string_video(codec, &info, str, sizeof(str)), 0);
    assert_string_equal(str, codec_string);
    uint8_t rec[2048], want[2048];
    size_t want_n = unhex(record_hex, want);
    int n = ing_decoder_config_build(&ps, &info, rec, sizeof(rec));
    assert_int_equal(n, (int)want_n);
    assert_memory_equal(rec, want, want_n);
    assert_int_equal(ing_decoder_config_build(&ps, &info, rec, 10), -ENOSPC);
}

static void test_h264_baseline_sps_gives_cropped_size_avcc_and_codec_string(void **state)
{
    check_video(MEDIA_CODEC_H264, NULL, BASE_SPS, BASE_PPS, BASE_AVCC, 640, 360, "avc1.42c01e");
}

static void test_h264_high_sps_gives_1080p_and_the_avcc_extension(void **state)
{
    check_video(MEDIA_CODEC_H264, NULL, HIGH_SPS, HIGH_PPS, HIGH_AVCC, 1920, 1080, "avc1.640028");
}

static void test_h265_main_sps_gives_size_hvcc_and_codec_string(void **state)
{
    check_video(MEDIA_CODEC_H265, HEVC_VPS, HEVC_SPS, HEVC_PPS, HEVC_HVCC, 320, 240,
                "hvc1.1.6.L60.90");
}

static void test_h265_needs_a_vps_to_be_complete(void **state)
{
    struct ing_param_sets ps;
    load_sets(&ps, MEDIA_CODEC_H265, NULL, HEVC_SPS, HEVC_PPS);
    assert_false(ing_param_sets_complete(&ps));
    uint8_t rec[64];
    struct ing_sps_info info = {0};
    assert_int_equal(ing_decoder_config_build(&ps, &info, rec, sizeof(rec)), HORUS_EPARSE);
}

static void
test_annexb_splits_3_and_4_byte_start_codes_and_converts_to_length_prefixed(void **state)
{
    static const uint8_t au[] = {0, 0, 0, 1,    0x09, 0xf0, /* AUD */
                                 0, 0, 1, 0x67, 1,    2,    3, /* SPS */
                                 0, 0, 0, 1,    0x65, 0xaa, 0, 0, 3, 0, 0xbb};
    struct ing_nal nals[8];
    size_t n = ing_annexb_split(au, sizeof(au), nals, 8);
    assert_int_equal(n, 3);
    assert_int_equal(nals[0].size, 2);
    assert_int_equal(nals[1].size, 4);
    assert_int_equal(nals[2].size, 7); /* emulation prevention stays in the NAL unit */
    assert_int_equal(media_nal_type(MEDIA_CODEC_H264, nals[2].data, nals[2].size), 5);
    assert_true(media_nal_is_keyframe(MEDIA_CODEC_H264, 5));
    assert_false(media_nal_is_keyframe(MEDIA_CODEC_H264, 1));

    bool skip[3] = {true, true, false};
    uint8_t out[64];
    size_t len = ing_nals_to_length_prefixed(nals, skip, n, out);
    static const uint8_t want[] = {0, 0, 0, 7, 0x65, 0xaa, 0, 0, 3, 0, 0xbb};
    assert_int_equal(len, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
}

static void test_annexb_split_keeps_the_rest_in_the_last_slot_and_takes_raw_units(void **state)
{
    static const uint8_t au[] = {0, 0, 1, 0x41, 1, 0, 0, 1, 0x41, 2, 0, 0, 1, 0x41, 3};
    struct ing_nal nals[2];
    assert_int_equal(ing_annexb_split(au, sizeof(au), nals, 2), 2);
    assert_int_equal(nals[1].size, 7); /* 41 02 00 00 01 41 03 */
    static const uint8_t raw[] = {0x41, 9, 9};
    assert_int_equal(ing_annexb_split(raw, sizeof(raw), nals, 2), 1);
    assert_int_equal(nals[0].size, 3);
    assert_int_equal(ing_annexb_split(raw, 0, nals, 2), 0);
}

static void test_h265_nal_types_and_irap_keyframes(void **state)
{
    static const uint8_t idr[] = {0x26, 0x01}, trail[] = {0x02, 0x01};
    struct ing_nal a = {idr, 2}, b = {trail, 2};
    assert_int_equal(media_nal_type(MEDIA_CODEC_H265, a.data, a.size), 19);
    assert_true(media_nal_is_keyframe(MEDIA_CODEC_H265, 19));
    assert_false(
        media_nal_is_keyframe(MEDIA_CODEC_H265, media_nal_type(MEDIA_CODEC_H265, b.data, b.size)));
    assert_int_equal(media_nal_ps_kind(MEDIA_CODEC_H265, 32), ING_PS_VPS);
    assert_int_equal(media_nal_ps_kind(MEDIA_CODEC_H265, 1), -1);
}

static void test_aac_config_gives_object_type_rate_and_channels(void **state)
{
    static const uint8_t lc48_mono[] = {0x11, 0x88}, lc44_stereo[] = {0x12, 0x10};
    unsigned aot;
    uint32_t rate, ch;
    assert_int_equal(ing_aac_config_parse(lc48_mono, 2, &aot, &rate, &ch), 0);
    assert_int_equal(aot, 2);
    assert_int_equal(rate, 48000);
    assert_int_equal(ch, 1);
    assert_int_equal(ing_aac_config_parse(lc44_stereo, 2, &aot, &rate, &ch), 0);
    assert_int_equal(rate, 44100);
    assert_int_equal(ch, 2);
    assert_int_equal(ing_aac_config_parse(lc48_mono, 1, &aot, &rate, &ch), HORUS_EPARSE);
}

/* ffmpeg + libx264/libx265 ultrafast, 320x240 (issue 14: B-frames ordered from the first GOP). */
static const char B2_NALHRD_SPS[] = /* Main, 2 B-frames with pyramid, NAL HRD in the VUI */
    "674d400deca0a0fd80880000030008000003019301000927800249fc98600f142996";
static const char B1_SPS[] = "674d400df60a0fd808800000030080000019078a149c"; /* Main, 1 B-frame */
static const char CBASE_SPS[] = "6742c00dda0507ec0440000003004000000ca3c50aa8"; /* no B-frames */
static const char HEVC_B2_SPS[] = "42010101600000030090000003000003003ca00a080f16595912930bc05a"
                                  "020000030002000003003210";

/* The depth an SPS (hex, less its last cut bytes) declares; 127 when it no longer parses. */
static int8_t reorder_of(enum media_codec codec, const char *hex, size_t cut)
{
    uint8_t buf[ING_PS_MAX_SIZE];
    size_t n = unhex(hex, buf);
    struct ing_nal nal = {buf, cut < n ? n - cut : 0};
    struct ing_sps_info info;
    if (ing_sps_parse(codec, &nal, &info) < 0)
        return 127;
    return info.max_reorder;
}

static void test_sps_declares_the_reorder_depth(void **state)
{
    assert_int_equal(reorder_of(MEDIA_CODEC_H264, B2_NALHRD_SPS, 0), 2);
    assert_int_equal(reorder_of(MEDIA_CODEC_H264, B1_SPS, 0), 1);
    assert_int_equal(reorder_of(MEDIA_CODEC_H264, CBASE_SPS, 0), 0);
    assert_int_equal(reorder_of(MEDIA_CODEC_H264, BASE_SPS, 0), 0);
    assert_int_equal(reorder_of(MEDIA_CODEC_H265, HEVC_B2_SPS, 0), 2);
    assert_int_equal(reorder_of(MEDIA_CODEC_H265, HEVC_SPS, 0), 2); /* ultrafast: 3 B, pyramid */
}

/*
 * Cut anywhere: the SPS is unusable (its size is gone) or says the truth or
 * "unknown" (-1), never a wrong depth; a profile without B-frames says 0.
 */
static void check_cuts(enum media_codec codec, const char *hex, int8_t want, bool can_be_unknown)
{
    bool saw_unknown = false;
    for (size_t cut = 0; cut < strlen(hex) / 2; cut++) {
        int8_t k = reorder_of(codec, hex, cut);
        if (k == 127)
            continue;
        assert_true(k == want || (k == -1 && can_be_unknown));
        saw_unknown |= k == -1;
    }
    assert_true(saw_unknown == can_be_unknown);
}

static void test_a_cut_vui_makes_the_depth_unknown_not_the_sps_unusable(void **state)
{
    check_cuts(MEDIA_CODEC_H264, B1_SPS, 1, true);
    check_cuts(MEDIA_CODEC_H264, B2_NALHRD_SPS, 2, true);
    check_cuts(MEDIA_CODEC_H264, CBASE_SPS, 0, false);
    check_cuts(MEDIA_CODEC_H265, HEVC_B2_SPS, 2, true);
}

static void test_truncated_or_garbage_sps_is_rejected(void **state)
{
    uint8_t buf[64];
    size_t n = unhex(HIGH_SPS, buf);
    struct ing_sps_info info;
    for (size_t len = 0; len < 8; len++) {
        struct ing_nal nal = {buf, len};
        assert_int_equal(ing_sps_parse(MEDIA_CODEC_H264, &nal, &info), HORUS_EPARSE);
    }
    /* Exp-Golomb codes that never end must not read past the buffer. */
    static const uint8_t zeros[] = {0x67, 0x64, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 0};
    struct ing_nal bad = {zeros, sizeof(zeros)};
    assert_int_equal(ing_sps_parse(MEDIA_CODEC_H264, &bad, &info), HORUS_EPARSE);
    assert_int_equal(ing_sps_parse(MEDIA_CODEC_H265, &bad, &info), HORUS_EPARSE);
    (void)n;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h264_baseline_sps_gives_cropped_size_avcc_and_codec_string),
        cmocka_unit_test(test_h264_high_sps_gives_1080p_and_the_avcc_extension),
        cmocka_unit_test(test_h265_main_sps_gives_size_hvcc_and_codec_string),
        cmocka_unit_test(test_h265_needs_a_vps_to_be_complete),
        cmocka_unit_test(
            test_annexb_splits_3_and_4_byte_start_codes_and_converts_to_length_prefixed),
        cmocka_unit_test(test_annexb_split_keeps_the_rest_in_the_last_slot_and_takes_raw_units),
        cmocka_unit_test(test_h265_nal_types_and_irap_keyframes),
        cmocka_unit_test(test_aac_config_gives_object_type_rate_and_channels),
        cmocka_unit_test(test_truncated_or_garbage_sps_is_rejected),
        cmocka_unit_test(test_sps_declares_the_reorder_depth),
        cmocka_unit_test(test_a_cut_vui_makes_the_depth_unknown_not_the_sps_unusable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
