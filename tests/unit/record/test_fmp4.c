/*
 * Tests for src/record/fmp4.c: files written from real libx264/libx265/AAC
 * access units must read back through libavformat with the exact
 * timestamps, flags and sizes that went in, and init + any one part must
 * play on its own (LL-HLS parts, byte-range playback).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "fmp4_int.h"
#include "media_gen.h"
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static int setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/horus-fmp4-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(rec_live_segments(), 0);
    assert_int_equal(media_live_packets(), 0);
    assert_int_equal(media_live_streams(), 0);
    return 0;
}

/* Writes a and b (may be NULL) into one closed segment. */
static void record_clips(const struct gen_clip *a, const struct gen_clip *b,
                         struct rec_segment_info *info)
{
    media_stream *streams[2] = {a->stream, b ? b->stream : NULL};
    rec_segment *seg;
    assert_int_equal(rec_segment_open(tmpdir, 1767225600000000, streams, b ? 2 : 1, NULL, &seg), 0);
    size_t n;
    media_packet **all = gen_interleave(a, b, &n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rec_segment_push(seg, all[i]), 0);
    free(all);
    assert_int_equal(rec_segment_close(seg, info), 0);
}

/* The demuxed video must equal the input packet for packet. */
static void assert_video_matches(const struct gen_read *r, int s, const struct gen_clip *v)
{
    assert_int_equal(r->n[s], v->n);
    for (size_t i = 0; i < v->n; i++) {
        assert_int_equal(r->dts[s][i], v->pkts[i]->dts);
        assert_int_equal(r->pts[s][i], v->pkts[i]->pts);
        assert_int_equal(r->key[s][i], v->pkts[i]->is_keyframe);
    }
    assert_true(r->dts_monotonic);
    /* Total duration within one frame of the input. */
    int64_t in_end = v->pkts[v->n - 1]->dts + 3600;
    assert_true(llabs(r->end_dts[s] - in_end) <= 3600);
}

static void test_h264_with_bframes_and_aac_read_back_exactly(void **state)
{
    struct gen_clip v, a;
    assert_int_equal(gen_video("libx264", 160, 120, 75, 2, &v), 0);
    assert_int_equal(gen_aac(3.0, &a), 0);
    bool has_reorder = false;
    for (size_t i = 0; i < v.n; i++) {
        assert_true(v.pkts[i]->pts >= v.pkts[i]->dts);
        has_reorder |= v.pkts[i]->pts > v.pkts[i]->dts;
    }
    assert_true(has_reorder); /* the encoder really made B-frames */

    struct rec_segment_info info;
    record_clips(&v, &a, &info);
    struct gen_read r;
    assert_int_equal(gen_read_file(info.path, &r), 0);
    assert_int_equal(r.nb_streams, 2);
    assert_int_equal(r.codec[0], AV_CODEC_ID_H264);
    assert_int_equal(r.codec[1], AV_CODEC_ID_AAC);
    assert_int_equal(r.width[0], 160);
    assert_int_equal(r.height[0], 120);
    assert_video_matches(&r, 0, &v);
    assert_int_equal(r.n[1], a.n);
    for (size_t i = 0; i < a.n; i++)
        assert_int_equal(r.dts[1][i], a.pkts[i]->dts);
    assert_string_equal(info.video_codec, v.stream->codec_string);
    assert_string_equal(info.audio_codec, "mp4a.40.2");
    assert_int_equal(info.width, 160);
    gen_read_release(&r);
    rec_segment_info_release(&info);
    gen_clip_release(&v);
    gen_clip_release(&a);
}

static void test_h265_is_written_as_hvc1_and_reads_back(void **state)
{
    struct gen_clip v;
    if (gen_video("libx265", 160, 96, 50, 0, &v) < 0)
        skip();
    struct rec_segment_info info;
    record_clips(&v, NULL, &info);
    struct gen_read r;
    assert_int_equal(gen_read_file(info.path, &r), 0);
    assert_int_equal(r.nb_streams, 1);
    assert_int_equal(r.codec[0], AV_CODEC_ID_HEVC);
    assert_int_equal(r.width[0], 160);
    assert_int_equal(r.height[0], 96);
    assert_video_matches(&r, 0, &v);

    FILE *f = fopen(info.path, "rb");
    uint8_t *buf = malloc(info.size_bytes);
    assert_int_equal(fread(buf, 1, info.size_bytes, f), info.size_bytes);
    fclose(f);
    assert_non_null(memmem(buf, info.size_bytes, "hvc1", 4));
    assert_null(memmem(buf, info.size_bytes, "hev1", 4));
    struct rec_scan scan;
    assert_int_equal(rec_fmp4_scan(buf, info.size_bytes, &scan), 0);
    assert_int_equal(scan.tracks[0].codec, MEDIA_CODEC_H265);
    assert_memory_equal(scan.tracks[0].codec_string, "hvc1.1.", 7);
    rec_scan_release(&scan);
    free(buf);
    gen_read_release(&r);
    rec_segment_info_release(&info);
    gen_clip_release(&v);
}

static void test_init_plus_any_single_part_demuxes_alone(void **state)
{
    struct gen_clip v, a;
    assert_int_equal(gen_video("libx264", 160, 120, 75, 2, &v), 0);
    assert_int_equal(gen_aac(3.0, &a), 0);
    struct rec_segment_info info;
    record_clips(&v, &a, &info);
    struct sto_part *parts;
    size_t n;
    assert_int_equal(sto_index_decode(info.index, info.index_size, &parts, &n), 0);
    assert_int_equal(n, info.n_parts);
    assert_true(n >= 14); /* ~3 s of 200 ms parts */

    FILE *f = fopen(info.path, "rb");
    uint8_t *buf = malloc(info.size_bytes);
    assert_int_equal(fread(buf, 1, info.size_bytes, f), info.size_bytes);
    fclose(f);
    char path[128];
    snprintf(path, sizeof(path), "%s/one.mp4", tmpdir);
    size_t video_total = 0, audio_total = 0;
    for (size_t k = 0; k < n; k++) {
        FILE *o = fopen(path, "wb");
        fwrite(buf, 1, parts[0].offset, o);
        fwrite(buf + parts[k].offset, 1, parts[k].size_bytes, o);
        fclose(o);
        struct gen_read r;
        assert_int_equal(gen_read_file(path, &r), 0);
        assert_true(r.n[0] > 0);
        assert_int_equal(r.dts[0][0], v.pkts[0]->dts + parts[k].start_90k);
        assert_int_equal(r.key[0][0], parts[k].is_keyframe);
        assert_int_equal(r.end_dts[0] - r.dts[0][0], parts[k].duration_90k);
        video_total += r.n[0];
        audio_total += r.n[1];
        gen_read_release(&r);
    }
    assert_int_equal(video_total, v.n);
    assert_int_equal(audio_total, a.n);
    assert_true(parts[0].is_keyframe);
    free(parts);
    free(buf);
    rec_segment_info_release(&info);
    gen_clip_release(&v);
    gen_clip_release(&a);
}

static void test_init_segment_starts_with_cmaf_ftyp_and_scans_back(void **state)
{
    static const uint8_t avcc[] = {1,    0x64, 0,    0x1f, 0xff, 0xe1, 0,    4,   0x67,
                                   0x64, 0,    0x1f, 1,    0,    2,    0x68, 0xee};
    static const uint8_t asc[] = {0x11, 0x90};
    media_stream *s[2] = {
        media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, avcc, sizeof(avcc)),
        media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, 48000, asc, sizeof(asc)),
    };
    s[0]->width = 1920;
    s[0]->height = 1080;
    s[1]->sample_rate = 48000;
    s[1]->channels = 2;
    struct fmp4_buf b = {0};
    assert_int_equal(fmp4_init_write(&b, s, 2, 1763800000123456), 0);
    assert_memory_equal(b.data + 4, "ftypiso6", 8);
    assert_non_null(memmem(b.data, b.len, "cmfc", 4));
    struct rec_scan scan;
    assert_int_equal(rec_fmp4_scan(b.data, b.len, &scan), 0);
    assert_int_equal(scan.init_size, b.len);
    assert_int_equal(scan.n_parts, 0);
    assert_int_equal(scan.n_tracks, 2);
    assert_int_equal(scan.tracks[0].width, 1920);
    assert_int_equal(scan.tracks[0].height, 1080);
    assert_string_equal(scan.tracks[0].codec_string, "avc1.64001f");
    assert_string_equal(scan.tracks[1].codec_string, "mp4a.40.2");
    assert_int_equal(scan.tracks[1].sample_rate, 48000);
    assert_int_equal(scan.tracks[1].timescale, 48000);
    assert_int_equal(scan.start_wall_us, 1763800000123456); /* moov/udta/hrst */
    rec_scan_release(&scan);

    /* A stream without extradata cannot be described. */
    media_stream *bad = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    b.len = 0;
    assert_int_equal(fmp4_init_write(&b, &bad, 1, 0), HORUS_ECODEC);
    fmp4_buf_release(&b);
    media_stream_unref(bad);
    media_stream_unref(s[0]);
    media_stream_unref(s[1]);
}

/*
 * fmp4_rebase.c: a file recorded an hour into its session is served with
 * its first picture at the playlist's offset; audio keeps its place against
 * the picture; a single part moved alone lands where the whole file puts it.
 */
static void test_a_file_an_hour_into_its_session_is_rebased_to_the_offset(void **state)
{
    struct gen_clip v, a;
    assert_int_equal(gen_video("libx264", 160, 120, 50, 2, &v), 0);
    assert_int_equal(gen_aac(2.0, &a), 0);
    for (size_t i = 0; i < v.n; i++) {
        v.pkts[i]->dts += INT64_C(3600) * 90000;
        v.pkts[i]->pts += INT64_C(3600) * 90000;
    }
    for (size_t i = 0; i < a.n; i++) {
        a.pkts[i]->dts += INT64_C(3600) * 48000;
        a.pkts[i]->pts += INT64_C(3600) * 48000;
    }
    struct rec_segment_info info;
    record_clips(&v, &a, &info);
    FILE *f = fopen(info.path, "rb");
    uint8_t *buf = malloc(info.size_bytes);
    assert_int_equal(fread(buf, 1, info.size_bytes, f), info.size_bytes);
    fclose(f);
    struct sto_part *parts;
    size_t n;
    assert_int_equal(sto_index_decode(info.index, info.index_size, &parts, &n), 0);

    struct media_tfdt_shift rb;
    assert_int_equal(rec_rebase_prepare(buf, info.size_bytes, 250000, &rb), 0); /* 0.25 s */
    assert_int_equal(rb.n_tracks, 2);
    /* The init alone has no fragment to move; the whole file has one tfdt per track and part. */
    uint8_t *copy = malloc(info.size_bytes);
    memcpy(copy, buf, info.size_bytes);
    assert_int_equal(media_fmp4_shift_tfdt(copy, parts[0].offset, &rb), 0);
    assert_memory_equal(copy, buf, parts[0].offset);
    size_t moved = media_fmp4_shift_tfdt(copy, info.size_bytes, &rb);
    assert_true(moved >= n && moved <= 2 * n);

    char path[128];
    snprintf(path, sizeof(path), "%s/rebased.mp4", tmpdir);
    FILE *o = fopen(path, "wb");
    fwrite(copy, 1, info.size_bytes, o);
    fclose(o);
    struct gen_read r;
    assert_int_equal(gen_read_file(path, &r), 0);
    assert_int_equal(r.n[0], v.n);
    assert_int_equal(r.n[1], a.n);
    assert_int_equal(r.dts[0][0], 22500); /* 0.25 s at 90 kHz */
    int64_t audio_vs_video_us = (a.pkts[0]->dts - INT64_C(3600) * 48000) * 1000000 / 48000 -
                                (v.pkts[0]->dts - INT64_C(3600) * 90000) * 1000000 / 90000;
    assert_true(llabs(r.dts[1][0] * 1000000 / 48000 - (250000 + audio_vs_video_us)) <= 21);
    for (size_t i = 1; i < v.n; i++) /* sample durations untouched */
        assert_int_equal(r.dts[0][i] - r.dts[0][i - 1], v.pkts[i]->dts - v.pkts[i - 1]->dts);
    gen_read_release(&r);

    /* One part served alone (a playlist's byte range) gets the same times. */
    uint8_t *part = malloc(parts[n - 1].size_bytes);
    memcpy(part, buf + parts[n - 1].offset, parts[n - 1].size_bytes);
    assert_true(media_fmp4_shift_tfdt(part, parts[n - 1].size_bytes, &rb) >= 1);
    assert_memory_equal(part, copy + parts[n - 1].offset, parts[n - 1].size_bytes);
    /* Not fMP4: refused. */
    assert_int_equal(rec_rebase_prepare((const uint8_t *)"garbage!", 8, 0, &rb), HORUS_EPARSE);

    free(part);
    free(copy);
    free(parts);
    free(buf);
    rec_segment_info_release(&info);
    gen_clip_release(&v);
    gen_clip_release(&a);
}

int main(void)
{
    av_log_set_level(AV_LOG_FATAL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_h264_with_bframes_and_aac_read_back_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_h265_is_written_as_hvc1_and_reads_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_file_an_hour_into_its_session_is_rebased_to_the_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_plus_any_single_part_demuxes_alone, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_init_segment_starts_with_cmaf_ftyp_and_scans_back,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("record.fmp4", tests, NULL, NULL);
}
