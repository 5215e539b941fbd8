/*
 * Tests for src/record/segment.c (and the scanner it recovers with): the
 * temporary name and rename, crash recovery of a torn .part, ENOSPC and
 * short writes injected through --wrap=pwritev, the index blob, sha256,
 * parts cut on keyframes, and the parts published to a part sink.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "fmp4_int.h"
#include "media_bitstream.h"
#include "media_gen.h"
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- pwritev fault injection ---- */

ssize_t __real_pwritev(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off);

static int fail_calls; /* calls left to fail */
static bool short_first; /* a failing run starts with a short write */

ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
    if (fail_calls > 0) {
        fail_calls--;
        if (short_first) {
            short_first = false;
            return __real_pwritev(fd, iov, 1, off) > 0 ? (ssize_t)(iov[0].iov_len / 2 + 1) : -1;
        }
        errno = ENOSPC;
        return -1;
    }
    return __real_pwritev(fd, iov, n, off);
}

static char tmpdir[64];
static const int64_t start_us =
    1767225600250000; /* 2026-01-01T00:00:00.250Z: the name has whole seconds */
static struct gen_clip video, audio;

static int setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/horus-seg-XXXXXX");
    fail_calls = 0;
    short_first = false;
    if (!mkdtemp(tmpdir) || gen_video("libx264", 160, 120, 75, 2, &video) < 0)
        return -1;
    return gen_aac(3.0, &audio);
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    assert_int_equal(system(cmd), 0);
    gen_clip_release(&video);
    gen_clip_release(&audio);
    assert_int_equal(rec_live_segments(), 0);
    assert_int_equal(media_live_packets(), 0);
    assert_int_equal(media_live_streams(), 0);
    assert_int_equal(media_live_parts(), 0);
    assert_int_equal(media_live_inits(), 0);
    return 0;
}

static rec_segment *open_av(void)
{
    media_stream *s[2] = {video.stream, audio.stream};
    rec_segment *seg;
    assert_int_equal(rec_segment_open(tmpdir, start_us, s, 2, NULL, &seg), 0);
    return seg;
}

/* Pushes interleaved packets [0, upto) (all when upto is 0). */
static void push_all(rec_segment *seg, size_t upto)
{
    size_t n;
    media_packet **all = gen_interleave(&video, &audio, &n);
    for (size_t i = 0; i < (upto ? upto : n); i++)
        assert_int_equal(rec_segment_push(seg, all[i]), 0);
    free(all);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *buf = malloc(*len + 1);
    assert_int_equal(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

static void assert_index_matches_file(const struct rec_segment_info *info)
{
    size_t len;
    uint8_t *buf = slurp(info->path, &len);
    assert_int_equal(len, info->size_bytes);
    struct rec_scan scan;
    assert_int_equal(rec_fmp4_scan(buf, len, &scan), 0);
    assert_int_equal(scan.valid_size, len);
    struct sto_part *parts;
    size_t n;
    assert_int_equal(sto_index_decode(info->index, info->index_size, &parts, &n), 0);
    assert_int_equal(n, scan.n_parts);
    assert_int_equal(n, info->n_parts);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(parts[i].offset, scan.parts[i].offset);
        assert_int_equal(parts[i].size_bytes, scan.parts[i].size_bytes);
        assert_int_equal(parts[i].start_90k, scan.parts[i].start_90k);
        assert_int_equal(parts[i].duration_90k, scan.parts[i].duration_90k);
        assert_int_equal(parts[i].is_keyframe, scan.parts[i].is_keyframe);
    }
    struct rec_sha256 c;
    uint8_t d[32];
    char hex[65];
    rec_sha256_init(&c);
    rec_sha256_update(&c, buf, len);
    rec_sha256_final(&c, d);
    rec_sha256_hex(d, hex);
    assert_string_equal(hex, info->sha256_hex);
    free(parts);
    rec_scan_release(&scan);
    free(buf);
}

static void test_segment_is_a_dated_part_file_until_close_renames_it(void **state)
{
    rec_segment *seg = open_av();
    char want[160];
    snprintf(want, sizeof(want), "%s/2026-01-01/00-00-00.mp4.part", tmpdir);
    assert_string_equal(rec_segment_path(seg), want);
    assert_int_equal(access(want, F_OK), 0);
    push_all(seg, 0);
    struct rec_segment_info info;
    assert_int_equal(rec_segment_close(seg, &info), 0);
    want[strlen(want) - 5] = '\0';
    assert_string_equal(info.path, want);
    assert_int_equal(access(info.path, F_OK), 0);
    strcat(want, ".part");
    assert_int_equal(access(want, F_OK), -1);
    assert_int_equal(info.start_wall_us, start_us);
    assert_true(llabs(info.duration_90k - 3 * 90000) <= 3600);
    assert_int_equal(info.end_wall_us, start_us + info.duration_90k * 100 / 9);
    assert_string_equal(info.video_codec, video.stream->codec_string);
    assert_index_matches_file(&info);
    printf("index: %zu parts, %zu bytes, %.1f bytes/part, %zu file bytes\n", info.n_parts,
           info.index_size, (double)info.index_size / (double)info.n_parts,
           (size_t)info.size_bytes);

    /* A second segment in the same second gets a suffix instead of clobbering. */
    rec_segment *again = open_av();
    assert_non_null(strstr(rec_segment_path(again), "00-00-00-1.mp4.part"));
    struct rec_segment_info empty;
    assert_int_equal(rec_segment_close(again, &empty), -ENODATA);

    /* One keyframe of unknown duration (the camera left right after it) is not a recording. */
    rec_segment *one = open_av();
    char one_path[200];
    snprintf(one_path, sizeof(one_path), "%s", rec_segment_path(one));
    media_packet *k = media_packet_new(video.pkts[0]->stream, video.pkts[0]->size);
    memcpy(k->data, video.pkts[0]->data, k->size);
    k->dts = video.pkts[0]->dts;
    k->pts = video.pkts[0]->pts;
    k->wall_us = video.pkts[0]->wall_us;
    k->is_keyframe = true;
    k->duration = 0;
    assert_int_equal(rec_segment_push(one, k), 0);
    media_packet_unref(k);
    assert_int_equal(rec_segment_close(one, &empty), -ENODATA);
    assert_int_equal(access(one_path, F_OK), -1);
    rec_segment_info_release(&info);
}

static void test_segment_starts_only_on_a_primary_keyframe(void **state)
{
    rec_segment *seg = open_av();
    assert_int_equal(rec_segment_push(seg, audio.pkts[0]), -EAGAIN);
    size_t k = 1;
    while (video.pkts[k]->is_keyframe)
        k++;
    assert_int_equal(rec_segment_push(seg, video.pkts[k]), -EAGAIN);
    assert_int_equal(rec_segment_push(seg, video.pkts[0]), 0);
    media_stream *other = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    media_packet *stray = media_packet_new(other, 4);
    assert_int_equal(rec_segment_push(seg, stray), -EINVAL);
    media_packet_unref(stray);
    media_stream_unref(other);
    rec_segment_abandon(seg);
}

static void test_torn_part_file_is_recovered_with_every_complete_part(void **state)
{
    rec_segment *seg = open_av();
    size_t n;
    free(gen_interleave(&video, &audio, &n));
    push_all(seg, n * 2 / 3);
    char part[160];
    snprintf(part, sizeof(part), "%s", rec_segment_path(seg));
    rec_segment_abandon(seg); /* kill -9: the part in progress never reached the file */

    size_t len;
    uint8_t *buf = slurp(part, &len);
    struct rec_scan before;
    assert_int_equal(rec_fmp4_scan(buf, len, &before), 0);
    assert_int_equal(before.valid_size, len);
    assert_true(before.n_parts >= 8);
    /* Tear a write: half of a copy of the last part lands after the file. */
    const struct sto_part *last = &before.parts[before.n_parts - 1];
    FILE *f = fopen(part, "ab");
    fwrite(buf + last->offset, 1, last->size_bytes / 2, f);
    fclose(f);

    struct rec_segment_info info;
    assert_int_equal(rec_segment_recover(part, &info), 0);
    assert_int_equal(info.n_parts, before.n_parts);
    assert_int_equal(info.size_bytes, len);
    assert_int_equal(info.start_wall_us, start_us);
    assert_string_equal(info.video_codec, video.stream->codec_string);
    assert_string_equal(info.audio_codec, "mp4a.40.2");
    assert_int_equal(info.width, 160);
    assert_int_equal(access(part, F_OK), -1);
    assert_index_matches_file(&info);
    struct gen_read r;
    assert_int_equal(gen_read_file(info.path, &r), 0);
    assert_int_equal(r.nb_streams, 2);
    assert_true(r.n[0] > 0 && r.dts_monotonic);
    for (size_t i = 0; i < r.n[0]; i++)
        assert_int_equal(r.pts[0][i], video.pkts[i]->pts);
    gen_read_release(&r);
    rec_segment_info_release(&info);
    rec_scan_release(&before);
    free(buf);

    /* Nothing playable: an init segment cut short is refused. */
    snprintf(part, sizeof(part), "%s/junk.mp4.part", tmpdir);
    f = fopen(part, "wb");
    fwrite("\0\0\0\x20"
           "ftypiso6",
           1, 12, f);
    fclose(f);
    assert_int_equal(rec_segment_recover(part, &info), HORUS_EPARSE);
    assert_int_equal(rec_segment_recover("/nonexistent.mp4", &info), -EINVAL);
}

static void test_enospc_and_short_writes_truncate_back_and_recording_goes_on(void **state)
{
    rec_segment *seg = open_av();
    size_t n;
    media_packet **all = gen_interleave(&video, &audio, &n);
    struct stat st;
    int failures = 0;
    off_t size_before = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == n / 3) {
            fail_calls = 2; /* a short write, then ENOSPC on the retry */
            short_first = true;
            assert_int_equal(stat(rec_segment_path(seg), &st), 0);
            size_before = st.st_size;
        }
        int rc = rec_segment_push(seg, all[i]);
        if (rc < 0) {
            assert_int_equal(rc, -ENOSPC);
            failures++;
            /* The torn part was cut away: the file ends at the last complete part. */
            assert_int_equal(stat(rec_segment_path(seg), &st), 0);
            assert_int_equal(st.st_size, size_before);
        }
    }
    assert_int_equal(failures, 1);
    free(all);
    struct rec_segment_info info;
    assert_int_equal(rec_segment_close(seg, &info), 0);
    assert_index_matches_file(&info);
    struct gen_read r;
    assert_int_equal(gen_read_file(info.path, &r), 0);
    assert_true(r.n[0] < video.n && r.n[0] > video.n / 2); /* one part lost, the rest kept */
    assert_true(r.dts_monotonic);
    gen_read_release(&r);
    rec_segment_info_release(&info);

    /* A failing init write leaves no file behind. */
    fail_calls = 1;
    media_stream *s[1] = {video.stream};
    rec_segment *bad;
    assert_int_equal(rec_segment_open(tmpdir, start_us + 5000000, s, 1, NULL, &bad), -ENOSPC);
    char path[160];
    snprintf(path, sizeof(path), "%s/2026-01-01/00-00-05.mp4.part", tmpdir);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_part_duration_option_sets_part_size(void **state)
{
    media_stream *s[1] = {video.stream};
    rec_segment *seg;
    struct rec_segment_options opt = {.part_duration_ms = 1000};
    assert_int_equal(rec_segment_open(tmpdir, start_us, s, 1, &opt, &seg), 0);
    for (size_t i = 0; i < video.n; i++)
        assert_int_equal(rec_segment_push(seg, video.pkts[i]), 0);
    assert_true(llabs(rec_segment_duration_90k(seg) - 3 * 90000) <= 3600);
    struct rec_segment_info info;
    assert_int_equal(rec_segment_close(seg, &info), 0);
    assert_int_equal(info.n_parts, 3);
    struct sto_part *parts;
    size_t n;
    assert_int_equal(sto_index_decode(info.index, info.index_size, &parts, &n), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(parts[i].duration_90k, 90000);
        assert_int_equal(parts[i].start_90k, (int64_t)i * 90000);
        assert_true(parts[i].is_keyframe); /* GOP of 25 frames = 1 s */
    }
    free(parts);
    rec_segment_info_release(&info);
}

static void test_every_keyframe_starts_a_part(void **state)
{
    /* 350 ms parts over 1 s GOPs: without the keyframe rule parts would straddle 1 s and 2 s. */
    media_stream *s[1] = {video.stream};
    rec_segment *seg;
    struct rec_segment_options opt = {.part_duration_ms = 350};
    assert_int_equal(rec_segment_open(tmpdir, start_us, s, 1, &opt, &seg), 0);
    for (size_t i = 0; i < video.n; i++)
        assert_int_equal(rec_segment_push(seg, video.pkts[i]), 0);
    struct rec_segment_info info;
    assert_int_equal(rec_segment_close(seg, &info), 0);
    assert_index_matches_file(&info);
    struct sto_part *parts;
    size_t n;
    assert_int_equal(sto_index_decode(info.index, info.index_size, &parts, &n), 0);
    size_t keyframes = 0;
    for (size_t i = 0; i < n; i++) {
        /* Keyframe parts start exactly on each second; the others never cross one. */
        assert_int_equal(parts[i].is_keyframe, parts[i].start_90k % 90000 == 0);
        int64_t end = parts[i].start_90k + parts[i].duration_90k;
        assert_true(end / 90000 == parts[i].start_90k / 90000 || end % 90000 == 0);
        keyframes += parts[i].is_keyframe;
    }
    assert_int_equal(keyframes, 3);
    assert_int_equal(n, 9); /* 0-360-720-1000 ms, three times */
    free(parts);
    rec_segment_info_release(&info);
}

/* Occurrences of needle in hay. */
static size_t count_in(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    size_t found = 0;
    for (size_t i = 0; m && i + m <= n; i++)
        found += memcmp(hay + i, needle, m) == 0;
    return found;
}

static void test_every_keyframe_carries_the_parameter_sets_in_band(void **state)
{
    /* SPS then PPS from the avcC, each with a 4-byte length, as the samples are written. */
    const media_stream *vs = video.stream;
    uint8_t want[512];
    size_t want_len = 0, index = 0, nal_len, nals = 0;
    const uint8_t *nal;
    while (media_config_ps_next(vs->codec, vs->extradata, vs->extradata_size, &index, &nal,
                                &nal_len)) {
        assert_true(want_len + 4 + nal_len <= sizeof(want));
        want[want_len++] = (uint8_t)(nal_len >> 24);
        want[want_len++] = (uint8_t)(nal_len >> 16);
        want[want_len++] = (uint8_t)(nal_len >> 8);
        want[want_len++] = (uint8_t)nal_len;
        memcpy(want + want_len, nal, nal_len);
        want_len += nal_len;
        nals++;
    }
    assert_int_equal(nals, 2);
    rec_segment *seg = open_av();
    push_all(seg, 0);
    struct rec_segment_info info;
    assert_int_equal(rec_segment_close(seg, &info), 0);
    assert_index_matches_file(&info); /* sizes, parts and sha256 count the added bytes */
    size_t len;
    uint8_t *buf = slurp(info.path, &len);
    /* Once per keyframe (3 GOPs), never in other pictures; the init's avcC has 2-byte lengths. */
    assert_int_equal(count_in(buf, len, want, want_len), 3);
    struct sto_part *parts;
    size_t n;
    assert_int_equal(sto_index_decode(info.index, info.index_size, &parts, &n), 0);
    for (size_t i = 0; i < n; i++) {
        /* The keyframe part's mdat opens with them: moof, then mdat's 8-byte header. */
        const uint8_t *part = buf + parts[i].offset;
        size_t moof =
            (size_t)part[0] << 24 | (size_t)part[1] << 16 | (size_t)part[2] << 8 | part[3];
        assert_int_equal(memcmp(part + moof + 4, "mdat", 4), 0);
        assert_int_equal(memcmp(part + moof + 8, want, want_len) == 0, parts[i].is_keyframe);
    }
    free(parts);
    free(buf);
    rec_segment_info_release(&info);
}

/* A part sink that keeps every part it is given. */
struct collect {
    media_part_sink sink;
    media_part *parts[256];
    size_t n;
};

static void collect_part(media_part_sink *sink, media_part *p)
{
    struct collect *c = (struct collect *)sink;
    assert_true(c->n < 256);
    c->parts[c->n++] = media_part_ref(p);
}

static const struct media_part_sink_ops collect_ops = {.part_cb = collect_part};

static void collect_release(struct collect *c)
{
    for (size_t i = 0; i < c->n; i++)
        media_part_unref(c->parts[i]);
    c->n = 0;
}

static void test_parts_are_published_with_the_file_bytes_and_init(void **state)
{
    struct collect col = {.sink = {&collect_ops}};
    media_stream *s[2] = {video.stream, audio.stream};
    rec_segment *seg;
    struct rec_segment_options opt = {.part_sink = &col.sink};
    assert_int_equal(rec_segment_open(tmpdir, start_us, s, 2, &opt, &seg), 0);
    push_all(seg, 0);
    struct rec_segment_info info;
    assert_int_equal(rec_segment_close(seg, &info), 0);
    assert_int_equal(col.n, info.n_parts);
    size_t len;
    uint8_t *file = slurp(info.path, &len);
    /* init + every published part, in order, is exactly the file. */
    const media_init *init = col.parts[0]->init;
    assert_int_equal(init->n_streams, 2);
    assert_ptr_equal(init->streams[0], video.stream);
    assert_int_equal(init->primary, 0);
    assert_memory_equal(file, init->data, init->size);
    size_t off = init->size;
    int64_t expect_dts = video.pkts[0]->dts;
    for (size_t i = 0; i < col.n; i++) {
        const media_part *p = col.parts[i];
        assert_ptr_equal(p->init, init);
        assert_true(off + p->size <= len);
        assert_memory_equal(file + off, p->data, p->size);
        off += p->size;
        assert_int_equal(p->timescale, 90000);
        assert_int_equal(p->dts, expect_dts); /* continuous: each starts where the last ended */
        expect_dts += p->duration;
        assert_int_equal(p->is_independent, (p->dts - video.pkts[0]->dts) % 90000 == 0);
        for (size_t k = 0; k < video.n; k++)
            if (video.pkts[k]->dts == p->dts)
                assert_int_equal(p->wall_us, video.pkts[k]->wall_us);
    }
    assert_int_equal(off, len);
    assert_true(col.parts[0]->is_independent);
    free(file);
    rec_segment_info_release(&info);
    collect_release(&col);
    assert_int_equal(media_live_parts(), 0);
    assert_int_equal(media_live_inits(), 0);
}

static void test_a_part_the_disk_refused_is_still_published(void **state)
{
    struct collect col = {.sink = {&collect_ops}};
    media_stream *s[1] = {video.stream};
    rec_segment *seg;
    struct rec_segment_options opt = {.part_sink = &col.sink};
    assert_int_equal(rec_segment_open(tmpdir, start_us, s, 1, &opt, &seg), 0);
    int failures = 0;
    for (size_t i = 0; i < video.n; i++) {
        if (i == video.n / 2)
            fail_calls = 1;
        failures += rec_segment_push(seg, video.pkts[i]) == -ENOSPC;
    }
    assert_int_equal(failures, 1);
    struct rec_segment_info info;
    assert_int_equal(rec_segment_close(seg, &info), 0);
    assert_int_equal(col.n, info.n_parts + 1); /* live got the part the file lost */
    int64_t dts = col.parts[0]->dts;
    for (size_t i = 0; i < col.n; i++) {
        assert_int_equal(col.parts[i]->dts, dts);
        dts += col.parts[i]->duration;
    }
    rec_segment_info_release(&info);
    collect_release(&col);
}

int main(void)
{
    av_log_set_level(AV_LOG_FATAL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_segment_is_a_dated_part_file_until_close_renames_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_starts_only_on_a_primary_keyframe, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_torn_part_file_is_recovered_with_every_complete_part,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_enospc_and_short_writes_truncate_back_and_recording_goes_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_part_duration_option_sets_part_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_keyframe_starts_a_part, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_keyframe_carries_the_parameter_sets_in_band,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_parts_are_published_with_the_file_bytes_and_init,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_part_the_disk_refused_is_still_published, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("record.segment", tests, NULL, NULL);
}
