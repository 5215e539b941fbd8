/*
 * Tests for src/ingest/rtsp_sdp.c: descriptions as cameras (and camsim)
 * send them. The parameter sets are the real x264/x265 ones of
 * test_bitstream.c, base64-encoded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtsp_int.h"

#include "err.h"

#include <string.h>

static int parse(const char *text, const char *base, struct ing_sdp *out)
{
    return ing_sdp_parse(text, strlen(text), base, out);
}

static void test_h264_and_aac_with_relative_controls(void **state)
{
    static const char sdp[] =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\na=control:*\r\n"
        "m=video 0 RTP/AVP 96\r\n"
        "a=rtpmap:96 H264/90000\r\n"
        "a=fmtp:96 packetization-mode=1;profile-level-id=42c01e;"
        "sprop-parameter-sets=Z0LAHtoCgL/lwEQAAAMABAAAAwDKPFi6gA==,aM4PyA==\r\n"
        "a=control:trackID=0\r\n"
        "m=audio 0 RTP/AVP 97\r\n"
        "a=rtpmap:97 MPEG4-GENERIC/48000/2\r\n"
        "a=fmtp:97 streamtype=5; profile-level-id=1; mode=AAC-hbr; SizeLength=13; "
        "IndexLength=3; IndexDeltaLength=3; config=1190\r\n"
        "a=control:trackID=1\r\n";
    struct ing_sdp s;
    assert_int_equal(parse(sdp, "rtsp://h:554/cam1/", &s), 0);
    assert_string_equal(s.control, "rtsp://h:554/cam1/");
    assert_int_equal(s.nmedia, 2);
    const struct ing_sdp_media *v = &s.media[0], *a = &s.media[1];
    assert_int_equal(v->kind, MEDIA_KIND_VIDEO);
    assert_int_equal(v->codec, MEDIA_CODEC_H264);
    assert_int_equal(v->payload_type, 96);
    assert_int_equal(v->clock_rate, 90000);
    assert_true(v->has_profile_level_id);
    assert_int_equal(v->profile_level_id, 0x42c01e);
    assert_int_equal(v->packetization_mode, 1);
    assert_int_equal(v->ps.size[ING_PS_SPS], 25);
    assert_int_equal(v->ps.size[ING_PS_PPS], 4);
    assert_true(ing_param_sets_complete(&v->ps));
    assert_string_equal(v->control, "rtsp://h:554/cam1/trackID=0");
    assert_int_equal(a->kind, MEDIA_KIND_AUDIO);
    assert_int_equal(a->codec, MEDIA_CODEC_AAC);
    assert_int_equal(a->clock_rate, 48000);
    assert_int_equal(a->channels, 2);
    assert_int_equal(a->config_len, 2);
    assert_int_equal(a->config[0], 0x11);
    assert_int_equal(a->config[1], 0x90);
    assert_int_equal(a->size_length, 13);
    assert_int_equal(a->index_length, 3);
    assert_int_equal(a->index_delta_length, 3);
    assert_string_equal(a->control, "rtsp://h:554/cam1/trackID=1");
}

static void test_h265_sprops_absolute_controls_and_bare_lf(void **state)
{
    static const char sdp[] =
        "v=0\ns=x\nm=video 0 RTP/AVP 98 96\n"
        "a=rtpmap:96 H265/90000\n"
        "a=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA8lZQJ;"
        "sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA8oAoIDxZZWVKTC8BaAgAAAwACAAADAB4Q;sprop-pps=RAHAc8GJ\n"
        "a=control:rtsp://10.1.1.1/media/video1\n";
    struct ing_sdp s;
    assert_int_equal(parse(sdp, "rtsp://h/", &s), 0);
    assert_int_equal(s.nmedia, 1);
    assert_int_equal(s.media[0].codec, MEDIA_CODEC_H265);
    assert_true(ing_param_sets_complete(&s.media[0].ps));
    assert_string_equal(s.media[0].control, "rtsp://10.1.1.1/media/video1");
}

static void test_session_control_is_the_base_of_media_controls(void **state)
{
    static const char sdp[] = "v=0\r\na=control:rtsp://cam/live/\r\n"
                              "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                              "a=control:video\r\n"
                              "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
    struct ing_sdp s;
    assert_int_equal(parse(sdp, "rtsp://h/ignored/", &s), 0);
    assert_string_equal(s.control, "rtsp://cam/live/");
    assert_string_equal(s.media[0].control, "rtsp://cam/live/video");
    assert_string_equal(s.media[1].control, "rtsp://cam/live/"); /* no control: the base */
}

static void test_formats_we_do_not_take_are_listed_without_a_codec(void **state)
{
    static const char sdp[] = "v=0\r\n"
                              "m=video 0 RTP/AVP 26\r\n" /* MJPEG, static type */
                              "m=audio 0 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n"
                              "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/16000\r\n"
                              "a=fmtp:97 mode=AAC-hbr;config=1408\r\n" /* no sizeLength */
                              "m=application 0 RTP/AVP 107\r\na=rtpmap:107 MPEG4-GENERIC/90000\r\n"
                              "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                              "a=fmtp:96 packetization-mode=2\r\n";
    struct ing_sdp s;
    assert_int_equal(parse(sdp, "rtsp://h/", &s), 0);
    assert_int_equal(s.nmedia, 5);
    for (unsigned i = 0; i < s.nmedia; i++)
        assert_int_equal(s.media[i].codec, MEDIA_CODEC_NONE);
}

static void test_g711_is_taken_by_name_or_by_its_static_payload_type(void **state)
{
    static const char sdp[] = "v=0\r\n"
                              "m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
                              "m=audio 0 RTP/AVP 8\r\n" /* RFC 3551: no rtpmap needed */
                              "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 pcma/8000/1\r\n";
    struct ing_sdp s;
    assert_int_equal(parse(sdp, "rtsp://h/", &s), 0);
    assert_int_equal(s.nmedia, 3);
    assert_int_equal(s.media[0].codec, MEDIA_CODEC_PCMU);
    assert_int_equal(s.media[0].payload_type, 0);
    assert_int_equal(s.media[0].clock_rate, 8000);
    assert_int_equal(s.media[1].codec, MEDIA_CODEC_PCMA);
    assert_int_equal(s.media[1].payload_type, 8);
    assert_int_equal(s.media[1].clock_rate, 8000);
    assert_string_equal(s.media[1].encoding, "PCMA/8000");
    assert_int_equal(s.media[2].codec, MEDIA_CODEC_PCMA);
    assert_int_equal(s.media[2].payload_type, 97);
    for (unsigned i = 0; i < s.nmedia; i++)
        assert_null(s.media[i].refusal);
}

static void test_mp4a_latm_config_becomes_the_audio_specific_config(void **state)
{
    /* As ffmpeg's and GStreamer's LATM payloaders write it (44.1 kHz stereo AAC-LC). */
    static const char sdp[] = "v=0\r\n"
                              "m=audio 0 RTP/AVP 97\r\n"
                              "a=rtpmap:97 MP4A-LATM/44100/2\r\n"
                              "a=fmtp:97 profile-level-id=41;cpresent=0;config=400024203fc0\r\n"
                              "a=control:trackID=1\r\n"
                              "m=audio 0 RTP/AVP 98\r\n"
                              "a=rtpmap:98 MP4A-LATM/90000/1\r\n"
                              "a=fmtp:98 cpresent=0; config=410024203fe08ad0\r\n";
    struct ing_sdp s;
    assert_int_equal(parse(sdp, "rtsp://h/", &s), 0);
    assert_int_equal(s.nmedia, 2);
    const struct ing_sdp_media *a = &s.media[0];
    assert_int_equal(a->codec, MEDIA_CODEC_AAC);
    assert_true(a->is_latm);
    assert_int_equal(a->clock_rate, 44100);
    assert_int_equal(a->channels, 2);
    assert_int_equal(a->config_len, 2);
    assert_int_equal(a->config[0], 0x12);
    assert_int_equal(a->config[1], 0x10);
    assert_int_equal(a->latm_subframes, 1);
    assert_int_equal(a->latm_other_bits, 0);
    assert_int_equal(a->frame_ticks, 1024);
    assert_null(a->refusal);
    /* Two subframes, 8 bits of other data, a CRC; a 90 kHz clock. */
    const struct ing_sdp_media *b = &s.media[1];
    assert_int_equal(b->codec, MEDIA_CODEC_AAC);
    assert_int_equal(b->latm_subframes, 2);
    assert_int_equal(b->latm_other_bits, 8);
    assert_int_equal(b->frame_ticks, 2090); /* 1024 samples of 44.1 kHz at 90 kHz */
}

static void test_latm_configurations_we_cannot_record_are_named(void **state)
{
    static const struct {
        const char *fmtp, *why;
    } cases[] = {
        {"cpresent=1", "cpresent=1"},
        {"config=400024203fc0", "cpresent=1"}, /* RFC 6416: cpresent defaults to 1 */
        {"cpresent=0", "no config"},
        {"cpresent=0;config=401024203fc0", "programs or layers"},
        {"cpresent=0;config=c00024203fc0", "audioMuxVersion 1"},
        {"cpresent=0;config=000024203fc0", "allStreamsSameTimeFraming"},
        {"cpresent=0;config=400023003fc0", "channelConfiguration 0"},
        {"cpresent=0;config=40008311fe00", "object type"},
        {"cpresent=0;config=4000242040", "frameLengthType"},
        {"cpresent=0;config=4000", "cannot be parsed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char sdp[256];
        snprintf(sdp, sizeof(sdp),
                 "v=0\r\nm=audio 0 RTP/AVP 96\r\na=rtpmap:96 MP4A-LATM/48000/2\r\n"
                 "a=fmtp:96 %s\r\n",
                 cases[i].fmtp);
        struct ing_sdp s;
        assert_int_equal(parse(sdp, "rtsp://h/", &s), 0);
        assert_int_equal(s.media[0].codec, MEDIA_CODEC_NONE);
        assert_string_equal(s.media[0].encoding, "MP4A-LATM/48000/2");
        assert_non_null(s.media[0].refusal);
        if (!strstr(s.media[0].refusal, cases[i].why))
            fail_msg("%s: '%s' does not say '%s'", cases[i].fmtp, s.media[0].refusal, cases[i].why);
    }
}

static void test_latm_config_parse_walks_explicit_sbr(void **state)
{
    /* HE-AAC with explicit SBR: AOT 5, 24 kHz core, 48 kHz extension, then AOT 2. */
    static const uint8_t cfg[] = {0x40, 0x00, 0x56, 0x23, 0x10, 0x1f, 0xe0};
    struct ing_latm_config c;
    const char *why = NULL;
    assert_int_equal(ing_latm_config_parse(cfg, sizeof(cfg), &c, &why), 0);
    assert_null(why);
    assert_int_equal(c.sample_rate, 24000);
    assert_int_equal(c.asc_len, 4); /* 25 bits */
    static const uint8_t asc[] = {0x2b, 0x11, 0x88, 0x00};
    assert_memory_equal(c.asc, asc, sizeof(asc));
    assert_int_equal(c.subframes, 1);
    /* libavcodec's ASC with the 0x2b7 sync extension (SBR absent), as camsim sends it. */
    static const uint8_t sync[] = {0x40, 0x00, 0x23, 0x10, 0xad, 0xca, 0x1f, 0xe0};
    assert_int_equal(ing_latm_config_parse(sync, sizeof(sync), &c, &why), 0);
    assert_int_equal(c.sample_rate, 48000);
    static const uint8_t asc_sync[] = {0x11, 0x88, 0x56, 0xe5, 0x00};
    assert_int_equal(c.asc_len, sizeof(asc_sync));
    assert_memory_equal(c.asc, asc_sync, sizeof(asc_sync));
    /* The same ASC copied as whole bytes, padding and all (GStreamer's rtpmp4apay). */
    static const uint8_t padded[] = {0x40, 0x00, 0x23, 0x10, 0xad, 0xca, 0x00, 0x3f, 0xc0};
    assert_int_equal(ing_latm_config_parse(padded, sizeof(padded), &c, &why), 0);
    assert_int_equal(c.asc_len, sizeof(asc_sync));
    assert_memory_equal(c.asc, asc_sync, sizeof(asc_sync));
    /* GStreamer's rtpmp4apay as sent (config=40002310): the ASC's padding, then no tail. */
    static const uint8_t gst[] = {0x40, 0x00, 0x23, 0x10};
    assert_int_equal(ing_latm_config_parse(gst, sizeof(gst), &c, &why), 0);
    assert_int_equal(c.sample_rate, 48000);
    static const uint8_t asc_gst[] = {0x11, 0x88};
    assert_int_equal(c.asc_len, sizeof(asc_gst));
    assert_memory_equal(c.asc, asc_gst, sizeof(asc_gst));
    assert_int_equal(c.other_bits, 0);
    /* Bits after the ASC that are not a tail's zeros are not read as a missing tail. */
    static const uint8_t junk[] = {0x40, 0x00, 0x23, 0x10, 0x80};
    assert_true(ing_latm_config_parse(junk, sizeof(junk), &c, &why) < 0);
    /* Every truncation inside the ASC is refused, none reads past the end; one that ends
     * where the ASC does reads like GStreamer's (no tail), and one byte of a tail that is
     * not zero is refused. */
    for (size_t n = 0; n < sizeof(cfg) - 1; n++) {
        int rc = ing_latm_config_parse(cfg, n, &c, &why);
        if (n == 5)
            assert_true(rc == 0 && c.sample_rate == 24000 && c.asc_len == 4);
        else
            assert_true(rc < 0);
    }
}

static void test_unknown_payloads_are_named(void **state)
{
    static const char sdp[] = "v=0\r\n"
                              "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                              "m=audio 0 RTP/AVP 9\r\n"
                              "m=audio 0 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
                              "m=audio 0 RTP/AVP 100\r\na=rtpmap:100 X-W\x01"
                              "EIRD/8000\r\n";
    struct ing_sdp s;
    assert_int_equal(parse(sdp, "rtsp://h/", &s), 0);
    assert_int_equal(s.nmedia, 4);
    assert_null(s.media[0].refusal);
    assert_string_equal(s.media[1].encoding, "payload type 9");
    assert_non_null(s.media[1].refusal);
    assert_string_equal(s.media[2].encoding, "G729/8000");
    assert_non_null(s.media[2].refusal);
    assert_string_equal(s.media[3].encoding, "X-W?EIRD/8000"); /* safe to log */
}

static void test_garbage_is_not_a_description(void **state)
{
    struct ing_sdp s;
    assert_int_equal(parse("hello world", "rtsp://h/", &s), HORUS_EPARSE);
    assert_int_equal(parse("", "rtsp://h/", &s), HORUS_EPARSE);
    char huge[1200] = "v=0\r\na=control:rtsp://h/";
    memset(huge + strlen(huge), 'x', 1100);
    huge[sizeof(huge) - 1] = '\0';
    assert_int_equal(parse(huge, "rtsp://h/", &s), HORUS_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h264_and_aac_with_relative_controls),
        cmocka_unit_test(test_h265_sprops_absolute_controls_and_bare_lf),
        cmocka_unit_test(test_session_control_is_the_base_of_media_controls),
        cmocka_unit_test(test_formats_we_do_not_take_are_listed_without_a_codec),
        cmocka_unit_test(test_g711_is_taken_by_name_or_by_its_static_payload_type),
        cmocka_unit_test(test_mp4a_latm_config_becomes_the_audio_specific_config),
        cmocka_unit_test(test_latm_configurations_we_cannot_record_are_named),
        cmocka_unit_test(test_latm_config_parse_walks_explicit_sbr),
        cmocka_unit_test(test_unknown_payloads_are_named),
        cmocka_unit_test(test_garbage_is_not_a_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
