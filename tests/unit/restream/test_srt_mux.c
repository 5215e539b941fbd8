/*
 * Tests for src/restream/srt_mux.c: real H.264 (libx264) and AAC (the
 * native encoder) from tests/unit/record/media_gen.h go through the
 * MPEG-TS muxer in 1316-byte SRT messages and come back out of
 * libavformat's MPEG-TS demuxer with every picture from the first
 * keyframe on and the sound; and the SRT stream id parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "srt_int.h"

#include "err.h"
#include "record/media_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sink {
    FILE *f;
    size_t chunks, bytes;
    bool bad_size;
    int fail_after; /* > 0: the nth chunk fails with -EAGAIN */
};

static int out(void *arg, const uint8_t *buf, size_t len)
{
    struct sink *s = arg;
    if (s->fail_after > 0 && ++s->chunks >= (size_t)s->fail_after)
        return -EAGAIN;
    if (s->fail_after == 0)
        s->chunks++;
    if (len == 0 || len > RS_SRT_CHUNK || len % 188 != 0)
        s->bad_size = true;
    s->bytes += len;
    fwrite(buf, 1, len, s->f);
    return 0;
}

static void test_h264_and_aac_come_back_out_of_mpeg_ts(void **state)
{
    (void)state;
    struct gen_clip v, a;
    assert_int_equal(gen_video("libx264", 160, 120, 50, 0, &v), 0);
    assert_int_equal(gen_aac(2.0, &a), 0);
    char path[] = "/tmp/horus-srt-mux-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    struct sink s = {.f = fdopen(fd, "wb")};
    rs_ts_mux *m = NULL;
    char err[128];
    assert_int_equal(rs_ts_mux_new(v.stream, a.stream, out, &s, &m, err, sizeof(err)), 0);
    size_t n;
    media_packet **all = gen_interleave(&a, &v, &n);
    /* Sound before the first picture is not written: a caller starts on a keyframe. */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rs_ts_mux_write(m, all[i]), 0);
    rs_ts_mux_free(m);
    fclose(s.f);
    assert_false(s.bad_size);
    assert_true(s.chunks > 10);
    struct gen_read r;
    assert_int_equal(gen_read_file(path, &r), 0);
    assert_int_equal(r.nb_streams, 2);
    int vi = r.codec[0] == AV_CODEC_ID_H264 ? 0 : 1;
    assert_int_equal(r.codec[vi], AV_CODEC_ID_H264);
    assert_int_equal(r.codec[1 - vi], AV_CODEC_ID_AAC);
    assert_int_equal(r.width[vi], 160);
    assert_int_equal(r.n[vi], 50); /* every picture */
    assert_true(r.key[vi][0]);
    assert_true(r.n[1 - vi] > 80); /* about 94 AAC frames in 2 s */
    gen_read_release(&r);
    free(all);
    unlink(path);
    gen_clip_release(&v);
    gen_clip_release(&a);
}

static void test_nothing_is_written_before_a_keyframe_and_a_full_caller_is_told(void **state)
{
    (void)state;
    struct gen_clip v;
    assert_int_equal(gen_video("libx264", 160, 120, 10, 0, &v), 0);
    struct sink s = {.f = fopen("/dev/null", "wb")};
    rs_ts_mux *m = NULL;
    char err[128];
    assert_int_equal(rs_ts_mux_new(v.stream, NULL, out, &s, &m, err, sizeof(err)), 0);
    for (size_t i = 1; i < v.n; i++) /* the keyframe left out */
        if (!v.pkts[i]->is_keyframe)
            assert_int_equal(rs_ts_mux_write(m, v.pkts[i]), 0);
    assert_int_equal(s.bytes, 0);
    rs_ts_mux_free(m);
    /* A caller whose buffer is full: the error comes back to the server, which moves on. */
    s = (struct sink){.f = s.f, .fail_after = 3};
    assert_int_equal(rs_ts_mux_new(v.stream, NULL, out, &s, &m, err, sizeof(err)), 0);
    int rc = 0;
    for (size_t i = 0; i < v.n && rc == 0; i++)
        rc = rs_ts_mux_write(m, v.pkts[i]);
    assert_int_equal(rc, -EAGAIN);
    rs_ts_mux_free(m);
    fclose(s.f);
    /* Audio is not a picture track. */
    struct gen_clip a;
    assert_int_equal(gen_aac(0.1, &a), 0);
    assert_int_equal(rs_ts_mux_new(a.stream, NULL, out, &s, &m, err, sizeof(err)), HORUS_ECODEC);
    assert_null(m);
    assert_string_equal(err, "the camera's video is not H.264 or H.265");
    gen_clip_release(&a);
    gen_clip_release(&v);
}

static void test_stream_ids(void **state)
{
    (void)state;
    struct rs_target t;
    const char *why = NULL;
    assert_int_equal(rs_srt_streamid_parse("#!::r=door/sub,s=hk_abc,m=request", &t, &why), 0);
    assert_string_equal(t.camera, "door");
    assert_string_equal(t.stream, "sub");
    assert_true(t.has_token);
    assert_string_equal(t.token, "hk_abc");
    assert_int_equal(rs_srt_streamid_parse("#!::s=tok.x-y,r=yard", &t, &why), 0);
    assert_string_equal(t.camera, "yard");
    assert_string_equal(t.stream, "main");
    assert_string_equal(t.token, "tok.x-y");
    assert_int_equal(rs_srt_streamid_parse("%23%21%3A%3Ar%3Dgate%2Fsub%2Cs%3Dhk_q", &t, &why), 0);
    assert_string_equal(t.camera, "gate"); /* URL-encoded, as some callers send it */
    assert_string_equal(t.stream, "sub");
    assert_string_equal(t.token, "hk_q");
    assert_int_equal(rs_srt_streamid_parse("gate/main", &t, &why), 0);
    assert_string_equal(t.camera, "gate");
    assert_false(t.has_token);
    static const struct {
        const char *sid, *why;
    } bad[] = {
        {"", "stream id names no camera"},
        {"#!::s=hk_x", "stream id names no camera"},
        {"#!::r=Door", "stream id names no camera"},
        {"#!::r=door/third", "stream id: the stream after the camera must be main or sub"},
        {"#!::r=door,m=publish", "stream id: only m=request is served (Horus sends, it takes "
                                 "nothing)"},
        {"#!::r", "stream id: a key without '=' (expected #!::r=CAMERA,s=KEY)"},
        {"#!::r=,s=x", "stream id: r= names no camera"},
        {"#!::r=door,s=", "stream id: s= is empty or too long"},
        {"..", "stream id names no camera"},
        {"door%00", "stream id is too long or holds a NUL"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (rs_srt_streamid_parse(bad[i].sid, &t, &why) != -EINVAL)
            fail_msg("'%s' was accepted", bad[i].sid);
        assert_non_null(why);
        if (strcmp(why, bad[i].why) != 0)
            fail_msg("'%s': %s", bad[i].sid, why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h264_and_aac_come_back_out_of_mpeg_ts),
        cmocka_unit_test(test_nothing_is_written_before_a_keyframe_and_a_full_caller_is_told),
        cmocka_unit_test(test_stream_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
