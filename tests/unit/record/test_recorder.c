/*
 * Tests for src/record/recorder.c: where segments are cut (the first
 * keyframe at or after segment_seconds, the shorter staggered first
 * segment), what a full queue and a gap do (the segment closes where the
 * hole is and recording resumes at the next keyframe), a codec or
 * parameter change, audio that starts late or comes alone, and the index
 * rows handed to storage.
 *
 * Everything is real except time: real H.264/H.265 packets (media_gen.h),
 * real segment files in a temporary directory read back with libavformat,
 * and real storage. The recorder's clock is the fake one, advanced by each
 * frame's duration; nothing sleeps: rec_recorder_sync waits until the
 * recorder thread handled what was queued.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fmp4_int.h"
#include "media_gen.h"
#include "recorder.h"
#include "sto_fixture.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WALL0_US INT64_C(1767225600000000) /* 2026-01-01T00:00:00Z */
#define FPS 25

/* One GOP each: a keyframe, then 24 P-frames (no B-frames, so pts == dts). */
static struct gen_clip h264, h264_big, h265;
static struct gen_clip aac; /* 1 s of 48 kHz AAC, 1024 samples a packet */

struct fixture {
    struct sto_fixture *sto;
    metrics_registry *metrics;
    clock_fake clock;
    rec_recorder *r;
    bool is_started;
};

/* A camera's packet source: loops a clip (whole GOPs) with its own timestamps. */
struct feeder {
    struct fixture *f;
    rec_camera *cam;
    const struct gen_clip *clip;
    int64_t frame_90k; /* frame duration; 3600 = 25 fps */
    size_t frame; /* frames fed so far (the clip index is frame % clip->n) */
    int64_t dts; /* of the next frame */
};

static int group_setup(void **state)
{
    if (gen_video("libx264", 160, 120, FPS, 0, &h264) < 0 ||
        gen_video("libx264", 320, 240, FPS, 0, &h264_big) < 0 ||
        gen_video("libx265", 160, 120, FPS, 0, &h265) < 0 || gen_aac(1.0, &aac) < 0)
        return -1;
    /* The tests count on exactly one keyframe, the first packet, per clip. */
    const struct gen_clip *clips[] = {&h264, &h264_big, &h265};
    for (size_t c = 0; c < 3; c++) {
        if (clips[c]->n != FPS)
            return -1;
        for (size_t i = 0; i < clips[c]->n; i++)
            if (clips[c]->pkts[i]->is_keyframe != (i == 0))
                return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    gen_clip_release(&h264);
    gen_clip_release(&h264_big);
    gen_clip_release(&h265);
    gen_clip_release(&aac);
    return 0;
}

static rec_recorder *recorder_new(struct fixture *f, size_t queue_max)
{
    struct rec_recorder_options o = {
        .db = f->sto->db,
        .data_dir = f->sto->dir,
        .camera_queue_max = queue_max,
        .metrics = f->metrics,
        .clock = &f->clock.base,
    };
    return rec_recorder_new(&o);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    void *sto;
    sto_fixture_setup(&sto);
    f->sto = sto;
    f->metrics = metrics_registry_new();
    clock_fake_init(&f->clock, WALL0_US / 1000);
    f->r = recorder_new(f, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    rec_recorder_free(f->r);
    void *sto = f->sto;
    sto_fixture_teardown(&sto);
    metrics_registry_free(f->metrics);
    free(f);
    assert_int_equal(rec_live_segments(), 0);
    assert_int_equal(media_live_packets(), (long)(h264.n + h264_big.n + h265.n + aac.n));
    return 0;
}

static void start(struct fixture *f)
{
    assert_int_equal(rec_recorder_start(f->r), 0);
    f->is_started = true;
}

static struct feeder feeder_new(struct fixture *f, const char *camera, int64_t segment_seconds,
                                const struct gen_clip *clip, int64_t frame_90k)
{
    return (struct feeder){
        .f = f,
        .cam = rec_recorder_add(f->r, camera, "main", segment_seconds),
        .clip = clip,
        .frame_90k = frame_90k,
    };
}

/* Switches to another clip; the next frame fed is that clip's keyframe. */
static void feeder_switch(struct feeder *fd, const struct gen_clip *clip)
{
    assert_int_equal(fd->frame % FPS, 0);
    fd->clip = clip;
}

/* Pushes the next n frames into the camera's sink, as ingest would, without a sync. */
static void feed_nosync(struct feeder *fd, size_t n)
{
    media_sink *sink = rec_camera_sink(fd->cam);
    for (size_t k = 0; k < n; k++) {
        const media_packet *src = fd->clip->pkts[fd->frame % fd->clip->n];
        media_packet *p = media_packet_new(fd->clip->stream, src->size);
        memcpy(p->data, src->data, src->size);
        p->dts = p->pts = fd->dts;
        p->duration = fd->frame_90k;
        p->wall_us = WALL0_US + fd->dts * 100 / 9;
        p->is_keyframe = src->is_keyframe;
        clock_fake_advance_ms(&fd->f->clock, fd->frame_90k / 90);
        p->arrival_ns = clock_monotonic_ns(&fd->f->clock.base);
        sink->ops->packet_cb(sink, p);
        media_packet_unref(p);
        fd->dts += fd->frame_90k;
        fd->frame++;
    }
}

/*
 * Feeds n frames in chunks small enough for a small queue, waiting for the
 * recorder after each chunk, so that no packet is dropped unless a test
 * drops it on purpose.
 */
static void feed(struct feeder *fd, size_t n)
{
    while (n) {
        size_t k = n < 4 ? n : 4;
        feed_nosync(fd, k);
        rec_recorder_sync(fd->f->r);
        n -= k;
    }
}

/* Seconds in 90 kHz and microseconds, for readable expectations. */
#define S_90K(s) ((int64_t)((s)*90000))
#define S_US(s) ((int64_t)((s)*1000000))

/* The index rows of camera/main once everything fed is closed and committed. */
struct rows {
    struct sto_recording *v;
    size_t n;
};

static struct rows rows_of(struct fixture *f, const char *camera)
{
    /* A synchronous write queues behind the recorder's rows: they are committed after it. */
    assert_int_equal(sto_setting_put(f->sto->db, "test.sync", camera), 0);
    struct rows rows = {0};
    assert_int_equal(
        sto_recordings_range(f->sto->db, camera, "main", 0, INT64_MAX, 100, &rows.v, &rows.n), 0);
    return rows;
}

static void rows_free(struct rows *rows)
{
    sto_recording_list_free(rows->v, rows->n);
}

/* Closes c's open segment (it is indexed on the recorder thread) and waits for it. */
static void finish(struct feeder *fd)
{
    rec_recorder_remove(fd->f->r, fd->cam);
    fd->cam = NULL;
    rec_recorder_sync(fd->f->r);
}

/*
 * Checks that a row describes its file (bytes, sha256, codec, size) and
 * reads the file back: *frames and *keyframes of its video, every sample
 * of which must be in decode order, the first one a keyframe. frame_90k is
 * the duration of every frame fed.
 */
static void check_row(struct fixture *f, const struct sto_recording *row, enum AVCodecID codec,
                      int width, int64_t frame_90k, size_t *frames, size_t *keyframes)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", f->sto->dir, row->path);
    assert_true(row->path[0] != '/'); /* relative to the data directory */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, row->bytes);
    assert_int_equal(row->width, width);
    assert_true(row->fragments_size > 0);

    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t *buf = malloc((size_t)st.st_size);
    assert_int_equal(fread(buf, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
    fclose(fp);
    struct rec_sha256 sha;
    uint8_t d[32];
    char hex[65];
    rec_sha256_init(&sha);
    rec_sha256_update(&sha, buf, (size_t)st.st_size);
    rec_sha256_final(&sha, d);
    rec_sha256_hex(d, hex);
    assert_string_equal(hex, row->sha256);
    free(buf);

    struct gen_read rd;
    assert_int_equal(gen_read_file(path, &rd), 0);
    assert_int_equal(rd.nb_streams, 1);
    assert_int_equal(rd.codec[0], codec);
    assert_int_equal(rd.width[0], width);
    assert_true(rd.dts_monotonic);
    assert_true(rd.n[0] > 0);
    assert_true(rd.key[0][0]);
    *frames = rd.n[0];
    *keyframes = 0;
    for (size_t i = 0; i < rd.n[0]; i++)
        *keyframes += rd.key[0][i];
    /* The row's span is the file's: start + the track's duration. */
    int64_t dur_90k = rd.dts[0][rd.n[0] - 1] + frame_90k - rd.dts[0][0];
    assert_int_equal(row->end_us - row->start_us, dur_90k * 100 / 9);
    gen_read_release(&rd);
    if (codec == AV_CODEC_ID_H264)
        assert_non_null(strstr(row->codec, "avc1."));
    else
        assert_non_null(strstr(row->codec, "hvc1."));
}

/* check_row for an H.264 160x120 file; returns its frame count. */
static size_t check_h264_row(struct fixture *f, const struct sto_recording *row, int64_t frame_90k,
                             size_t *keyframes)
{
    size_t frames;
    check_row(f, row, AV_CODEC_ID_H264, 160, frame_90k, &frames, keyframes);
    return frames;
}

/* ---- rotation ---- */

/*
 * gop_s-second GOPs, segment_seconds 2: every segment after the first
 * (staggered) one lasts want_s, and every file starts on a keyframe.
 */
static void check_rotation(struct fixture *f, const char *camera, int64_t frame_90k, double want_s,
                           size_t want_keyframes)
{
    struct feeder fd = feeder_new(f, camera, 2, &h264, frame_90k);
    size_t frames_fed = (size_t)(S_90K(4 * want_s + 0.5) / frame_90k);
    feed(&fd, frames_fed);
    finish(&fd);
    struct rows rows = rows_of(f, camera);
    assert_true(rows.n >= 4);
    size_t frames = 0, kf;
    for (size_t i = 0; i < rows.n; i++) {
        frames += check_h264_row(f, &rows.v[i], frame_90k, &kf);
        if (i > 0 && i + 1 < rows.n) {
            assert_int_equal(rows.v[i].end_us - rows.v[i].start_us, S_US(want_s));
            assert_int_equal(kf, want_keyframes);
        }
    }
    assert_int_equal(frames, frames_fed); /* nothing lost or doubled at the cuts */
    rows_free(&rows);
}

static void test_rotation_at_the_first_keyframe_at_or_after_segment_seconds(void **state)
{
    struct fixture *f = *state;
    start(f);
    /* 1 s GOPs: the keyframe at 1 s is too early; the one at 2 s is the cut. */
    check_rotation(f, "one", 3600, 2.0, 2);
    /*
     * 1.5 s GOPs (60 ms frames): 1.5 s is too early, and at 2 s there is no
     * keyframe (frames 33 and 34 are P-frames): the cut waits for 3 s.
     */
    check_rotation(f, "two", 5400, 3.0, 2);
}

static void test_a_keyframe_a_few_ms_short_of_the_length_still_cuts(void **state)
{
    struct fixture *f = *state;
    start(f);
    /*
     * segment_seconds 2, and every keyframe due at a cut comes 4 ms late:
     * the next one is then 4 ms short of 2 s after it. Files of 2 s, not 3 s.
     */
    struct feeder fd = feeder_new(f, "jitter", 2, &h264, 3600);
    for (int i = 0; i < 10 * FPS; i++) {
        bool is_late = i && i % (2 * FPS) == 0;
        fd.dts += is_late ? 360 : 0;
        feed(&fd, 1);
        fd.dts -= is_late ? 360 : 0;
    }
    finish(&fd);
    struct rows rows = rows_of(f, "jitter");
    assert_true(rows.n >= 4);
    for (size_t i = 1; i + 1 < rows.n; i++) {
        int64_t len = rows.v[i].end_us - rows.v[i].start_us;
        if (llabs(len - S_US(2)) > S_US(0.01))
            fail_msg("%s lasts %lld us", rows.v[i].path, (long long)len);
    }
    rows_free(&rows);
}

static void test_first_segment_is_staggered_per_camera(void **state)
{
    struct fixture *f = *state;
    start(f);
    /*
     * segment_seconds 10 with 1 s GOPs: each camera's first segment lasts
     * 50-100% of that (rounded up to a keyframe), different per camera so
     * that cameras added together do not rotate together; later segments
     * are full length. (The names are chosen to differ: cam-a's first
     * segment lasts 7 s, cam-c's 6 s.)
     */
    int64_t first[2];
    const char *names[2] = {"cam-a", "cam-c"};
    for (int c = 0; c < 2; c++) {
        struct feeder fd = feeder_new(f, names[c], 10, &h264, 3600);
        feed(&fd, 30 * FPS);
        finish(&fd);
        struct rows rows = rows_of(f, names[c]);
        assert_true(rows.n >= 3);
        first[c] = rows.v[0].end_us - rows.v[0].start_us;
        assert_true(first[c] >= S_US(5) && first[c] < S_US(10));
        assert_int_equal(first[c] % S_US(1), 0); /* cut on a keyframe */
        assert_int_equal(rows.v[1].end_us - rows.v[1].start_us, S_US(10));
        rows_free(&rows);
    }
    assert_int_not_equal(first[0], first[1]);
}

/* ---- drops and gaps ---- */

/* camera's horus_record_dropped_packets_total{reason}, read from the rendered registry. */
static double dropped_count_why(struct fixture *f, const char *camera, const char *reason)
{
    char want[160];
    snprintf(want, sizeof(want),
             "horus_record_dropped_packets_total{camera=\"%s\",stream=\"main\",reason=\"%s\"} ",
             camera, reason);
    size_t len;
    char *text = metrics_render(f->metrics, &len);
    const char *at = strstr(text, want);
    double v = at ? strtod(at + strlen(want), NULL) : -1;
    free(text);
    return v;
}

static double dropped_count(struct fixture *f, const char *camera)
{
    return dropped_count_why(f, camera, "queue_full");
}

static void test_full_queue_drops_and_resumes_at_the_next_keyframe(void **state)
{
    struct fixture *f = *state;
    rec_recorder_free(f->r);
    f->r = recorder_new(f, 8);
    /* Not started yet: the queue fills like behind a stalled disk. */
    struct feeder fd = feeder_new(f, "cam", 60, &h264, 3600);
    feed_nosync(&fd, 8); /* the keyframe and frames 1-7 are queued */
    feed_nosync(&fd, 3); /* frames 8-10 find the queue full */
    assert_true(dropped_count(f, "cam") == 3);
    start(f);
    rec_recorder_sync(f->r);
    /* Frames 11-24 follow the hole: they would make a broken GOP. */
    feed(&fd, FPS - 11);
    /* A segment with frames 0-7 closed where the hole is; nothing after it was written. */
    struct rows rows = rows_of(f, "cam");
    assert_int_equal(rows.n, 1);
    size_t kf;
    assert_int_equal(check_h264_row(f, &rows.v[0], 3600, &kf), 8);
    assert_int_equal(rows.v[0].end_us, WALL0_US + S_US(8.0 / FPS));
    rows_free(&rows);
    assert_int_equal(rec_recorder_recording_since(f->r, "cam", "main", &(int64_t){0}), -ENOENT);
    /* Recording resumes at the keyframe at 1 s. */
    feed(&fd, 2 * FPS);
    finish(&fd);
    rows = rows_of(f, "cam");
    assert_int_equal(rows.n, 2);
    assert_int_equal(rows.v[1].start_us, WALL0_US + S_US(1));
    assert_int_equal(check_h264_row(f, &rows.v[1], 3600, &kf), 2 * FPS);
    rows_free(&rows);
    assert_true(dropped_count(f, "cam") == 3);
}

/*
 * Issue 16: one camera's flood used to fill the queue every camera shared,
 * so the others' packets were refused too. Each camera now has its own
 * quota: the flooding one drops its own packets, the calm one none.
 */
static void test_a_flooding_camera_fills_and_drops_only_its_own_queue(void **state)
{
    struct fixture *f = *state;
    rec_recorder_free(f->r);
    f->r = recorder_new(f, 8);
    /* Not started: nothing drains, as behind a recorder the flood keeps busy. */
    struct feeder flood = feeder_new(f, "flood", 60, &h264, 3600);
    struct feeder calm = feeder_new(f, "calm", 60, &h264, 3600);
    feed_nosync(&flood, 20);
    feed_nosync(&calm, 8);
    assert_true(dropped_count(f, "flood") == 12);
    assert_true(dropped_count(f, "calm") == 0);
    assert_true(dropped_count_why(f, "calm", "stopping") == 0);
    start(f);
    rec_recorder_sync(f->r);
    feed(&calm, 2 * FPS - 8);
    finish(&flood);
    finish(&calm);
    struct rows rows = rows_of(f, "calm");
    assert_int_equal(rows.n, 1);
    size_t kf;
    assert_int_equal(check_h264_row(f, &rows.v[0], 3600, &kf), 2 * FPS);
    rows_free(&rows);
    rows = rows_of(f, "flood");
    assert_int_equal(rows.n, 1);
    assert_int_equal(check_h264_row(f, &rows.v[0], 3600, &kf), 8);
    rows_free(&rows);
}

/*
 * Cameras are spread over several workers, each camera handled by one
 * worker at a time: with four workers and eight cameras fed in bursts
 * without waiting, every camera's packets are still recorded in order.
 */
static void test_many_cameras_on_many_workers_keep_their_packet_order(void **state)
{
    struct fixture *f = *state;
    rec_recorder_free(f->r);
    f->r = rec_recorder_new(&(struct rec_recorder_options){
        .db = f->sto->db,
        .data_dir = f->sto->dir,
        .threads = 4,
        .metrics = f->metrics,
        .clock = &f->clock.base,
    });
    start(f);
    char names[8][8];
    struct feeder fd[8];
    for (int c = 0; c < 8; c++) {
        snprintf(names[c], sizeof(names[c]), "m%d", c);
        fd[c] = feeder_new(f, names[c], 2, &h264, 3600);
    }
    for (int i = 0; i < 6 * FPS; i += 25) {
        for (int c = 0; c < 8; c++)
            feed_nosync(&fd[c], 25);
        rec_recorder_sync(f->r);
    }
    for (int c = 0; c < 8; c++)
        finish(&fd[c]);
    for (int c = 0; c < 8; c++) {
        struct rows rows = rows_of(f, names[c]);
        assert_true(rows.n >= 2);
        size_t frames = 0, kf;
        for (size_t i = 0; i < rows.n; i++) {
            frames += check_h264_row(f, &rows.v[i], 3600, &kf);
            if (i > 0)
                assert_int_equal(rows.v[i].start_us, rows.v[i - 1].end_us);
        }
        assert_int_equal(frames, 6 * FPS);
        assert_true(dropped_count(f, names[c]) == 0);
        rows_free(&rows);
    }
}

static void test_gap_closes_the_segment_and_resumes_at_the_next_keyframe(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct feeder fd = feeder_new(f, "cam", 60, &h264, 3600);
    feed(&fd, FPS + 10); /* 1.4 s */
    media_packet *kf_pkt;
    assert_int_equal(rec_recorder_latest_keyframe(f->r, "cam", "main", &kf_pkt), 0);
    media_packet_unref(kf_pkt);
    media_sink *sink = rec_camera_sink(fd.cam);
    sink->ops->gap_cb(sink, "test");
    /* A camera that stopped sending has no "now" to show. */
    assert_int_equal(rec_recorder_latest_keyframe(f->r, "cam", "main", &kf_pkt), -EAGAIN);
    feed(&fd, FPS - 10); /* P-frames after the gap: not recorded */
    feed(&fd, FPS); /* from the keyframe at 2 s */
    finish(&fd);
    struct rows rows = rows_of(f, "cam");
    assert_int_equal(rows.n, 2);
    size_t kf;
    assert_int_equal(check_h264_row(f, &rows.v[0], 3600, &kf), FPS + 10);
    assert_int_equal(rows.v[0].end_us, WALL0_US + S_US(1.4));
    assert_int_equal(check_h264_row(f, &rows.v[1], 3600, &kf), FPS);
    assert_int_equal(rows.v[1].start_us, WALL0_US + S_US(2));
    rows_free(&rows);
}

/*
 * A reconnect's first keyframe can map to a wall time before the end of
 * the segment the previous connection wrote (a GOP burst at connect).
 * The new segment starts where the previous one ended instead, its file
 * and row keep the same length; a keyframe 2 s or more too early is not
 * recorded, so the index never runs far ahead of the wall clock.
 */
static void test_a_segment_never_starts_before_the_previous_one_ended(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct feeder fd = feeder_new(f, "cam", 60, &h264, 3600);
    media_sink *sink = rec_camera_sink(fd.cam);
    feed(&fd, 2 * FPS); /* 0 - 2 s */
    sink->ops->gap_cb(sink, "reconnect");
    fd.dts -= 12 * 3600; /* the next keyframe maps to 1.52 s */
    feed(&fd, FPS);
    sink->ops->gap_cb(sink, "reconnect");
    fd.dts -= S_90K(3); /* keyframes at 0, 1 s (skipped) and 2 s */
    feed(&fd, 3 * FPS);
    finish(&fd);
    struct rows rows = rows_of(f, "cam");
    assert_int_equal(rows.n, 3);
    size_t kf;
    assert_int_equal(check_h264_row(f, &rows.v[0], 3600, &kf), 2 * FPS);
    assert_int_equal(rows.v[0].end_us, WALL0_US + S_US(2));
    assert_int_equal(check_h264_row(f, &rows.v[1], 3600, &kf), FPS);
    assert_int_equal(rows.v[1].start_us, WALL0_US + S_US(2));
    assert_int_equal(rows.v[1].end_us, WALL0_US + S_US(3));
    assert_int_equal(check_h264_row(f, &rows.v[2], 3600, &kf), FPS);
    assert_int_equal(rows.v[2].start_us, WALL0_US + S_US(3));
    assert_int_equal(rows.v[2].end_us, WALL0_US + S_US(4));
    rows_free(&rows);
}

/* ---- stream changes ---- */

static void test_codec_and_parameter_changes_start_a_new_segment(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct feeder fd = feeder_new(f, "cam", 60, &h264, 3600);
    feed(&fd, 2 * FPS);
    feeder_switch(&fd, &h265); /* codec change */
    feed(&fd, FPS);
    feeder_switch(&fd, &h264_big); /* same codec, other size and parameter sets */
    feed(&fd, FPS);
    feeder_switch(&fd, &h264); /* back */
    feed(&fd, FPS);
    finish(&fd);
    struct rows rows = rows_of(f, "cam");
    assert_int_equal(rows.n, 4);
    static const struct {
        enum AVCodecID codec;
        int width;
        size_t frames;
        double start_s;
    } want[4] = {
        {AV_CODEC_ID_H264, 160, 2 * FPS, 0},
        {AV_CODEC_ID_HEVC, 160, FPS, 2},
        {AV_CODEC_ID_H264, 320, FPS, 3},
        {AV_CODEC_ID_H264, 160, FPS, 4},
    };
    for (size_t i = 0; i < 4; i++) {
        size_t frames, kf;
        check_row(f, &rows.v[i], want[i].codec, want[i].width, 3600, &frames, &kf);
        assert_int_equal(frames, want[i].frames);
        assert_int_equal(rows.v[i].start_us, WALL0_US + S_US(want[i].start_s));
    }
    rows_free(&rows);
}

/* ---- audio ---- */

/* An AAC source looping the clip: packet k has dts k * 1024 at 48 kHz. */
struct audio_feeder {
    media_sink *sink;
    size_t k;
};

/* Pushes the audio packets that start before until_us (on the video's time line). */
static void feed_audio_until_us(struct audio_feeder *a, int64_t until_us)
{
    for (;; a->k++) {
        int64_t dts = (int64_t)a->k * 1024;
        int64_t us = dts * 1000000 / 48000;
        if (us >= until_us)
            break;
        const media_packet *src = aac.pkts[a->k % aac.n];
        media_packet *p = media_packet_new(aac.stream, src->size);
        memcpy(p->data, src->data, src->size);
        p->dts = p->pts = dts;
        p->duration = 1024;
        p->wall_us = WALL0_US + us;
        p->is_keyframe = true;
        a->sink->ops->packet_cb(a->sink, p);
        media_packet_unref(p);
    }
}

/* Pushes the audio packets that start before the video feeder's next frame. */
static void feed_audio_until(struct audio_feeder *a, const struct feeder *video)
{
    feed_audio_until_us(a, video->dts * 100 / 9);
}

/* The codecs libavformat finds in a row's file. */
static int row_streams(struct fixture *f, const struct sto_recording *row, enum AVCodecID *codecs)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", f->sto->dir, row->path);
    struct gen_read rd;
    assert_int_equal(gen_read_file(path, &rd), 0);
    for (int i = 0; i < rd.nb_streams; i++)
        codecs[i] = rd.codec[i];
    int n = rd.nb_streams;
    gen_read_release(&rd);
    return n;
}

static void test_audio_that_starts_after_the_video_joins_the_next_segment(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct feeder v = feeder_new(f, "cam", 2, &h264, 3600);
    struct audio_feeder a = {.sink = rec_camera_sink(v.cam)};
    /* The first video keyframe opens a segment before any audio arrived. */
    for (int i = 0; i < 8 * FPS; i++) {
        feed(&v, 1);
        feed_audio_until(&a, &v);
    }
    finish(&v);
    struct rows rows = rows_of(f, "cam");
    assert_true(rows.n >= 3);
    enum AVCodecID codecs[4];
    assert_int_equal(row_streams(f, &rows.v[0], codecs), 1);
    assert_int_equal(codecs[0], AV_CODEC_ID_H264);
    assert_null(strstr(rows.v[0].codec, "mp4a"));
    for (size_t i = 1; i < rows.n; i++) {
        assert_int_equal(row_streams(f, &rows.v[i], codecs), 2);
        assert_non_null(strstr(rows.v[i].codec, "avc1."));
        assert_non_null(strstr(rows.v[i].codec, ",mp4a.40.2"));
        assert_int_equal(rows.v[i].start_us, rows.v[i - 1].end_us);
    }
    rows_free(&rows);
}

/*
 * Audio handed over lead_us ahead of the video of the same instant (or
 * behind it, lead_us < 0), as two UDP sockets or a picture completed by
 * its last packet deliver it: every whole file still holds the audio of
 * its own span, starting with its keyframe and ending with its last
 * picture, to within one AAC frame.
 */
static void check_audio_stays_with_its_video(struct fixture *f, const char *camera, int64_t lead_us)
{
    struct feeder v = feeder_new(f, camera, 1, &h264, 3600);
    struct audio_feeder a = {.sink = rec_camera_sink(v.cam)};
    for (int i = 0; i < 6 * FPS; i++) {
        int64_t next_us = (v.dts + v.frame_90k) * 100 / 9;
        if (lead_us > 0)
            feed_audio_until_us(&a, next_us + lead_us);
        feed_nosync(&v, 1);
        if (lead_us <= 0)
            feed_audio_until_us(&a, next_us + lead_us);
        if (i % 4 == 3)
            rec_recorder_sync(f->r);
    }
    finish(&v);
    struct rows rows = rows_of(f, camera);
    assert_true(rows.n >= 4);
    const double aac_s = 1024.0 / 48000;
    for (size_t i = 1; i + 1 < rows.n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", f->sto->dir, rows.v[i].path);
        struct gen_read rd;
        assert_int_equal(gen_read_file(path, &rd), 0);
        assert_int_equal(rd.nb_streams, 2);
        assert_int_equal(rd.codec[1], AV_CODEC_ID_AAC);
        double v0 = rd.dts[0][0] / 90000.0, v1 = rd.end_dts[0] / 90000.0;
        double a0 = rd.dts[1][0] / 48000.0, a1 = rd.end_dts[1] / 48000.0;
        if (a0 - v0 < 0 || a0 - v0 >= aac_s || fabs(a1 - v1) >= aac_s)
            fail_msg("%s, lead %lld us: audio %.3f-%.3f s, video %.3f-%.3f s", rows.v[i].path,
                     (long long)lead_us, a0, a1, v0, v1);
        gen_read_release(&rd);
    }
    rows_free(&rows);
}

static void test_audio_handed_over_early_or_late_stays_with_its_video(void **state)
{
    struct fixture *f = *state;
    start(f);
    check_audio_stays_with_its_video(f, "early", 90000);
    check_audio_stays_with_its_video(f, "late", -90000);
    check_audio_stays_with_its_video(f, "inorder", 0);
}

static void test_audio_only_stream_is_recorded_after_three_seconds_without_video(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct feeder clock_only = {.f = f, .frame_90k = 3600}; /* paces the audio, feeds nothing */
    rec_camera *cam = rec_recorder_add(f->r, "mic", "main", 60);
    struct audio_feeder a = {.sink = rec_camera_sink(cam)};
    for (int i = 0; i < 5 * FPS; i++) {
        clock_only.dts += clock_only.frame_90k;
        feed_audio_until(&a, &clock_only);
        if (i % 4 == 3)
            rec_recorder_sync(f->r);
    }
    rec_recorder_remove(f->r, cam);
    rec_recorder_sync(f->r);
    struct rows rows = rows_of(f, "mic");
    assert_int_equal(rows.n, 1);
    /* Video gets 3 s to show up; then the audio alone is recorded. */
    assert_true(rows.v[0].start_us >= WALL0_US + S_US(3));
    assert_true(rows.v[0].start_us < WALL0_US + S_US(3.1));
    assert_string_equal(rows.v[0].codec, "mp4a.40.2");
    assert_int_equal(rows.v[0].width, 0);
    enum AVCodecID codecs[4];
    assert_int_equal(row_streams(f, &rows.v[0], codecs), 1);
    assert_int_equal(codecs[0], AV_CODEC_ID_AAC);
    rows_free(&rows);
}

/* ---- index rows ---- */

static void test_index_rows_are_contiguous_across_rotation(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct feeder a = feeder_new(f, "a", 2, &h264, 3600);
    struct feeder b = feeder_new(f, "b", 3, &h264, 3600);
    /* Two cameras interleaved, as ingest threads would push them. */
    for (int i = 0; i < 10 * FPS; i += 5) {
        feed(&a, 5);
        feed(&b, 5);
    }
    /* The open segment is not indexed yet, but the timeline knows it. */
    int64_t since = 0;
    assert_int_equal(rec_recorder_recording_since(f->r, "a", "main", &since), 0);
    assert_true(since > WALL0_US);
    finish(&a);
    finish(&b);
    const char *names[2] = {"a", "b"};
    for (int c = 0; c < 2; c++) {
        struct rows rows = rows_of(f, names[c]);
        assert_true(rows.n >= 4);
        assert_int_equal(rows.v[0].start_us, WALL0_US);
        size_t frames = 0, kf;
        for (size_t i = 0; i < rows.n; i++) {
            frames += check_h264_row(f, &rows.v[i], 3600, &kf);
            assert_string_equal(rows.v[i].camera_id, names[c]);
            assert_string_equal(rows.v[i].stream, "main");
            assert_int_equal(rows.v[i].height, 120);
            /* Each file under recordings/<camera>/<stream>/ and named by its start. */
            char prefix[64];
            snprintf(prefix, sizeof(prefix), "recordings/%s/main/", names[c]);
            assert_int_equal(strncmp(rows.v[i].path, prefix, strlen(prefix)), 0);
            if (i > 0)
                assert_int_equal(rows.v[i].start_us, rows.v[i - 1].end_us);
        }
        assert_int_equal(rows.v[rows.n - 1].end_us, WALL0_US + S_US(10));
        assert_int_equal(frames, 10 * FPS);
        rows_free(&rows);
    }
}

/* Files under dir (recursively) whose name ends with suffix. */
static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[PATH_MAX];
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        struct stat st;
        size_t len = strlen(e->d_name), slen = strlen(suffix);
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_files(sub, suffix);
        else if (len >= slen && strcmp(e->d_name + len - slen, suffix) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/*
 * Fencing (docs/design/0066): a stream recorded under a lease that another
 * node took over 3 s into the recording keeps the rows of segments that
 * ended by then; the later ones are refused and their files set aside as
 * .mp4.fenced, out of the index and of start-up recovery.
 */
static void test_rows_after_the_lease_moved_are_refused_and_their_files_set_aside(void **state)
{
    struct fixture *f = *state;
    int64_t wall0_ms = WALL0_US / 1000, token = 0;
    assert_int_equal(
        sto_camera_lease_claim(f->sto->db, "fl", "east", wall0_ms - 10000, wall0_ms - 5000, &token),
        0);
    assert_int_equal(
        sto_camera_lease_claim(f->sto->db, "fl", "west", wall0_ms + 3000, wall0_ms + 18000, NULL),
        0);
    start(f);
    struct feeder fd = feeder_new(f, "fl", 2, &h264, 3600);
    rec_camera_set_lease(fd.cam, "east", token, 0);
    feed(&fd, 8 * FPS);
    finish(&fd);
    struct rows rows = rows_of(f, "fl");
    assert_true(rows.n >= 1);
    for (size_t i = 0; i < rows.n; i++)
        assert_true(rows.v[i].end_us <= WALL0_US + S_US(3));
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/recordings/fl", f->sto->dir);
    size_t fenced = count_files(dir, ".mp4.fenced");
    assert_true(fenced >= 2); /* 3 s .. 8 s in 2 s segments */
    assert_int_equal(count_files(dir, ".mp4"), rows.n); /* only the indexed ones */
    rows_free(&rows);
}

/*
 * Fencing's local side (docs/design/0066): packets stamped after the lease
 * deadline close the open segment and are dropped, counted by reason; a
 * deadline moved later lets recording resume at the next keyframe.
 */
static void test_packets_past_the_lease_deadline_are_not_recorded(void **state)
{
    struct fixture *f = *state;
    start(f);
    rec_recorder_set_lease_deadline(f->r, WALL0_US / 1000 + 3000);
    struct feeder fd = feeder_new(f, "dl", 2, &h264, 3600);
    feed(&fd, 6 * FPS);
    struct rows rows = rows_of(f, "dl");
    assert_true(rows.n >= 1);
    assert_int_equal(rows.v[rows.n - 1].end_us, WALL0_US + S_US(3)); /* ends by the deadline */
    rows_free(&rows);
    assert_true(dropped_count_why(f, "dl", "lease_expired") >= 2 * FPS);
    /* Renewed: the next keyframe (at 6 s) opens a segment again. */
    rec_recorder_set_lease_deadline(f->r, 0);
    feed(&fd, 2 * FPS);
    finish(&fd);
    rows = rows_of(f, "dl");
    assert_int_equal(rows.v[rows.n - 1].start_us, WALL0_US + S_US(6));
    assert_int_equal(rows.v[rows.n - 1].end_us, WALL0_US + S_US(8));
    rows_free(&rows);
}

/*
 * A lease taken over from a node that stopped renewing (docs/design/0066):
 * the camera's buffered GOP from before that node's lease ran out is not
 * recorded; the first segment starts at the first keyframe at or after it.
 */
static void test_no_segment_starts_before_the_previous_holders_lease_ran_out(void **state)
{
    struct fixture *f = *state;
    start(f);
    int64_t since_ms = WALL0_US / 1000 + 2500, token = 0;
    assert_int_equal(
        sto_camera_lease_claim(f->sto->db, "ls", "west", since_ms, since_ms + 15000, &token), 0);
    struct feeder fd = feeder_new(f, "ls", 2, &h264, 3600);
    rec_camera_set_lease(fd.cam, "west", token, since_ms);
    feed(&fd, 6 * FPS);
    finish(&fd);
    struct rows rows = rows_of(f, "ls");
    assert_true(rows.n >= 1);
    assert_int_equal(rows.v[0].start_us, WALL0_US + S_US(3));
    assert_int_equal(rows.v[rows.n - 1].end_us, WALL0_US + S_US(6));
    rows_free(&rows);
}

/* The 4 bytes at off of the file at data-dir-relative path rel. */
static void read_at(struct fixture *f, const char *rel, uint64_t off, char out[4])
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", f->sto->dir, rel);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, (long)off, SEEK_SET), 0);
    assert_int_equal(fread(out, 1, 4, fp), 4);
    fclose(fp);
}

/* A reader that copies camera "p"'s pending segments until told to stop. */
struct pending_reader {
    rec_recorder *r;
    atomic_bool stop;
    size_t copies; /* pending segments copied */
    bool is_bad; /* a copy was not a consistent prefix */
};

static void *pending_reader_main(void *arg)
{
    struct pending_reader *pr = arg;
    while (!atomic_load(&pr->stop)) {
        struct rec_pending_segment p[REC_PENDING_MAX];
        size_t n = 0;
        if (rec_recorder_pending(pr->r, "p", "main", p, &n) < 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 1; k < p[i].nparts; k++)
                if (p[i].parts[k].offset != p[i].parts[k - 1].offset + p[i].parts[k - 1].size_bytes)
                    pr->is_bad = true;
            pr->copies++;
            rec_pending_segment_release(&p[i]);
        }
    }
    return NULL;
}

/*
 * The segment being written and the one closed last are lent to readers
 * (docs/design/0032): file, codec and the parts that are complete on disk,
 * contiguous with each other, and the closed one matches its index row.
 */
static void test_open_and_just_closed_segments_are_lent_to_readers(void **state)
{
    struct fixture *f = *state;
    start(f);
    struct rec_pending_segment p[REC_PENDING_MAX];
    size_t n = 9;
    assert_int_equal(rec_recorder_pending(f->r, "nope", "main", p, &n), -ENOENT);
    assert_int_equal(n, 0);
    struct feeder fd = feeder_new(f, "p", 4, &h264, 3600); /* first segment 2-4 s */
    /* An HTTP thread's view of it all along: always a consistent prefix (run under tsan). */
    struct pending_reader pr = {.r = f->r};
    pthread_t reader;
    assert_int_equal(pthread_create(&reader, NULL, pending_reader_main, &pr), 0);
    assert_int_equal(rec_recorder_pending(f->r, "p", "main", p, &n), 0);
    assert_int_equal(n, 0); /* nothing written yet */
    feed(&fd, (size_t)(1.5 * FPS));
    assert_int_equal(rec_recorder_pending(f->r, "p", "main", p, &n), 0);
    assert_int_equal(n, 1);
    assert_true(p[0].is_open);
    assert_int_equal(p[0].start_us, WALL0_US);
    assert_non_null(strstr(p[0].path, "recordings/p/main/"));
    assert_string_equal(p[0].path + strlen(p[0].path) - 9, ".mp4.part");
    assert_non_null(strstr(p[0].codec, "avc1."));
    assert_int_equal(p[0].width, 160);
    /* 1.5 s of 200 ms parts; the one in progress is not listed. */
    assert_true(p[0].nparts >= 6 && p[0].nparts <= 7);
    assert_true(p[0].parts[0].is_keyframe);
    assert_true(p[0].end_us <= WALL0_US + S_US(1.5));
    for (size_t i = 0; i < p[0].nparts; i++) {
        char box[4];
        read_at(f, p[0].path, p[0].parts[i].offset + 4, box);
        assert_memory_equal(box, "moof", 4); /* every listed part is on disk */
    }
    rec_pending_segment_release(&p[0]);

    feed(&fd, 6 * FPS); /* the first segment closed, the second is open */
    assert_int_equal(rec_recorder_pending(f->r, "p", "main", p, &n), 0);
    assert_int_equal(n, 2);
    assert_false(p[0].is_open);
    assert_true(p[1].is_open);
    assert_string_equal(p[0].path + strlen(p[0].path) - 4, ".mp4");
    assert_int_equal(p[0].start_us, WALL0_US);
    assert_int_equal(p[0].end_us, p[1].start_us); /* contiguous */
    assert_true(p[1].nparts > 0);
    struct rows rows = rows_of(f, "p");
    assert_true(rows.n >= 1);
    assert_int_equal(rows.v[rows.n - 1].start_us, p[0].start_us);
    assert_int_equal(rows.v[rows.n - 1].end_us, p[0].end_us);
    assert_string_equal(rows.v[rows.n - 1].path, p[0].path);
    assert_string_equal(rows.v[rows.n - 1].codec, p[0].codec);
    struct sto_part *parts;
    size_t np;
    assert_int_equal(sto_index_decode(rows.v[rows.n - 1].fragments,
                                      rows.v[rows.n - 1].fragments_size, &parts, &np),
                     0);
    assert_int_equal(np, p[0].nparts);
    assert_memory_equal(parts, p[0].parts, np * sizeof(*parts));
    free(parts);
    rows_free(&rows);
    for (size_t i = 0; i < n; i++)
        rec_pending_segment_release(&p[i]);
    feed(&fd, 10 * FPS); /* more rotations while the reader reads */
    atomic_store(&pr.stop, true);
    pthread_join(reader, NULL);
    assert_false(pr.is_bad);
    assert_true(pr.copies > 0);
    finish(&fd);
    assert_int_equal(rec_recorder_pending(f->r, "p", "main", p, &n), -ENOENT);
}

/*
 * The supervisor may remove a camera from a recorder whose thread is not
 * running (a start that failed later, or a stop in progress). The removal
 * is then done on the caller's thread, once: it used to be queued for a
 * thread that never took it, and the camera was released twice at free.
 */
static void test_cameras_removed_before_start_or_after_stop_are_released_once(void **state)
{
    struct fixture *f = *state;
    rec_camera *a = rec_recorder_add(f->r, "a", "main", 2);
    rec_camera *b = rec_recorder_add(f->r, "b", "main", 2);
    media_packet *kf;
    rec_recorder_remove(f->r, a);
    assert_int_equal(rec_recorder_latest_keyframe(f->r, "a", "main", &kf), -ENOENT);
    assert_int_equal(rec_recorder_latest_keyframe(f->r, "b", "main", &kf), -EAGAIN);
    start(f);
    rec_recorder_stop(f->r);
    rec_recorder_remove(f->r, b);
    assert_int_equal(rec_recorder_latest_keyframe(f->r, "b", "main", &kf), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_rotation_at_the_first_keyframe_at_or_after_segment_seconds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_keyframe_a_few_ms_short_of_the_length_still_cuts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_segment_is_staggered_per_camera, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_drops_and_resumes_at_the_next_keyframe,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_flooding_camera_fills_and_drops_only_its_own_queue,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_cameras_on_many_workers_keep_their_packet_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_gap_closes_the_segment_and_resumes_at_the_next_keyframe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_segment_never_starts_before_the_previous_one_ended,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_codec_and_parameter_changes_start_a_new_segment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_audio_that_starts_after_the_video_joins_the_next_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_audio_handed_over_early_or_late_stays_with_its_video,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_audio_only_stream_is_recorded_after_three_seconds_without_video, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_cameras_removed_before_start_or_after_stop_are_released_once, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_rows_after_the_lease_moved_are_refused_and_their_files_set_aside, setup, teardown),
        cmocka_unit_test_setup_teardown(test_packets_past_the_lease_deadline_are_not_recorded,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_no_segment_starts_before_the_previous_holders_lease_ran_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_rows_are_contiguous_across_rotation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_open_and_just_closed_segments_are_lent_to_readers,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("record.recorder", tests, group_setup, group_teardown);
}
