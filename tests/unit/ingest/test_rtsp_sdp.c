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
                              "m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
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
        cmocka_unit_test(test_garbage_is_not_a_description),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
