/*
 * Tests for src/restream/request.c: the request URIs re-stream clients
 * send (MediaMTX's rtsp://HOST:PORT/<camera>[/sub] convention, track
 * controls, ?t= tokens, and the control ffmpeg appends after a query) and
 * the listen address of the configuration; and media_config_ps_next, the
 * parameter sets the server sends before each keyframe.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "media_bitstream.h"
#include "restream_int.h"

#include <errno.h>
#include <string.h>

static int parse(const char *uri, struct rs_target *t)
{
    return rs_target_parse(rtsp_span_of(uri), t);
}

static void test_urls_name_a_camera_stream_and_track(void **state)
{
    (void)state;
    struct rs_target t;
    assert_int_equal(parse("rtsp://127.0.0.1:8554/cam1", &t), 0);
    assert_string_equal(t.camera, "cam1");
    assert_string_equal(t.stream, "main");
    assert_int_equal(t.track, RS_TRACK_NONE);
    assert_false(t.has_token);
    assert_int_equal(parse("RTSP://host/cam1/sub/", &t), 0);
    assert_string_equal(t.stream, "sub");
    assert_int_equal(parse("rtsp://host/cam1/sub/trackID=1", &t), 0);
    assert_string_equal(t.stream, "sub");
    assert_int_equal(t.track, 1);
    assert_int_equal(parse("/cam1/trackID=0", &t), 0);
    assert_string_equal(t.stream, "main");
    assert_int_equal(t.track, 0);
    assert_int_equal(parse("rtsp://[::1]:8554/front-door/main", &t), 0);
    assert_string_equal(t.camera, "front-door");
}

static void test_tokens_come_from_the_query_even_before_a_control(void **state)
{
    (void)state;
    struct rs_target t;
    assert_int_equal(parse("rtsp://h/cam1?t=abc.def_-", &t), 0);
    assert_true(t.has_token);
    assert_string_equal(t.token, "abc.def_-");
    assert_int_equal(parse("rtsp://h/cam1/sub?x=1&t=tok&y=2", &t), 0);
    assert_string_equal(t.token, "tok");
    /* ffmpeg appends the control to a Content-Base that kept the query */
    assert_int_equal(parse("rtsp://h/cam1?t=tok/trackID=1", &t), 0);
    assert_string_equal(t.token, "tok");
    assert_int_equal(t.track, 1);
    assert_int_equal(parse("rtsp://h/cam1?t=", &t), -ENOENT);
    assert_int_equal(parse("rtsp://h/cam1?t=a b", &t), -ENOENT);
    assert_int_equal(parse("rtsp://h/cam1?t=x/other", &t), -ENOENT);
    assert_int_equal(parse("rtsp://h/cam1/trackID=0?t=x/trackID=1", &t), -ENOENT);
}

static void test_other_paths_are_not_found(void **state)
{
    (void)state;
    struct rs_target t;
    assert_int_equal(parse("rtsp://h/", &t), -ENOENT);
    assert_int_equal(parse("rtsp://h", &t), -ENOENT);
    assert_int_equal(parse("*", &t), -ENOENT);
    assert_int_equal(parse("rtsp://h/cam 1", &t), -ENOENT);
    assert_int_equal(parse("rtsp://h/cam1/third", &t), -ENOENT);
    assert_int_equal(parse("rtsp://h/cam1/sub/trackID=2", &t), -ENOENT);
    assert_int_equal(parse("rtsp://h/cam1/sub/trackID=0/x", &t), -ENOENT);
    assert_int_equal(parse("rtsp://h/../etc", &t), -ENOENT);
    assert_int_equal(rs_target_parse((struct rtsp_span){0}, &t), -ENOENT);
}

static void test_listen_addresses(void **state)
{
    (void)state;
    char host[RS_HOST_MAX];
    int port;
    assert_int_equal(rs_listen_parse("127.0.0.1:8554", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8554);
    assert_int_equal(rs_listen_parse("[::1]:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(rs_listen_parse("::1:8554", host, sizeof(host), &port), -EINVAL);
    assert_int_equal(rs_listen_parse("host:65536", host, sizeof(host), &port), -EINVAL);
    assert_int_equal(rs_listen_parse("host:", host, sizeof(host), &port), -EINVAL);
    assert_int_equal(rs_listen_parse(":8554", host, sizeof(host), &port), -EINVAL);
    assert_int_equal(rs_listen_parse("host:85x", host, sizeof(host), &port), -EINVAL);
    assert_int_equal(rs_listen_parse("host", host, sizeof(host), &port), -EINVAL);
}

static void test_parameter_sets_of_avcc_and_hvcc_records(void **state)
{
    (void)state;
    static const uint8_t avcc[] = {1,    0x64, 0,    0x1f, 0xff, 0xe1, 0,    4,   0x67,
                                   0x64, 0,    0x1f, 1,    0,    2,    0x68, 0xee};
    size_t i = 0;
    const uint8_t *nal;
    size_t len;
    assert_true(media_config_ps_next(MEDIA_CODEC_H264, avcc, sizeof(avcc), &i, &nal, &len));
    assert_int_equal(len, 4);
    assert_int_equal(nal[0], 0x67);
    assert_true(media_config_ps_next(MEDIA_CODEC_H264, avcc, sizeof(avcc), &i, &nal, &len));
    assert_int_equal(len, 2);
    assert_int_equal(nal[0], 0x68);
    assert_false(media_config_ps_next(MEDIA_CODEC_H264, avcc, sizeof(avcc), &i, &nal, &len));
    /* Cut inside the PPS: the SPS still comes, then the end. */
    i = 0;
    assert_true(media_config_ps_next(MEDIA_CODEC_H264, avcc, sizeof(avcc) - 1, &i, &nal, &len));
    assert_false(media_config_ps_next(MEDIA_CODEC_H264, avcc, sizeof(avcc) - 1, &i, &nal, &len));

    uint8_t hvcc[23 + 3 + 2 + 3 + 3 + 2 + 2] = {1};
    size_t p = 22;
    hvcc[p++] = 2; /* arrays */
    hvcc[p++] = 32; /* VPS, one unit of 3 bytes */
    hvcc[p++] = 0;
    hvcc[p++] = 1;
    hvcc[p++] = 0;
    hvcc[p++] = 3;
    hvcc[p++] = 0x40;
    hvcc[p++] = 1;
    hvcc[p++] = 2;
    hvcc[p++] = 33; /* SPS, one unit of 2 bytes */
    hvcc[p++] = 0;
    hvcc[p++] = 1;
    hvcc[p++] = 0;
    hvcc[p++] = 2;
    hvcc[p++] = 0x42;
    hvcc[p++] = 1;
    i = 0;
    assert_true(media_config_ps_next(MEDIA_CODEC_H265, hvcc, p, &i, &nal, &len));
    assert_int_equal(nal[0], 0x40);
    assert_int_equal(len, 3);
    assert_true(media_config_ps_next(MEDIA_CODEC_H265, hvcc, p, &i, &nal, &len));
    assert_int_equal(nal[0], 0x42);
    assert_false(media_config_ps_next(MEDIA_CODEC_H265, hvcc, p, &i, &nal, &len));
    i = 0;
    assert_false(media_config_ps_next(MEDIA_CODEC_H265, hvcc, 10, &i, &nal, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls_name_a_camera_stream_and_track),
        cmocka_unit_test(test_tokens_come_from_the_query_even_before_a_control),
        cmocka_unit_test(test_other_paths_are_not_found),
        cmocka_unit_test(test_listen_addresses),
        cmocka_unit_test(test_parameter_sets_of_avcc_and_hvcc_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
