/*
 * Tests for src/detect/track.c (with track_kalman.c and hungarian.c) on
 * synthetic trajectories sampled at 5 fps: crossing paths, occlusion, the
 * two association stages, loss and removal by time, stationary objects,
 * best views, capacity and flushing. Time is an argument, so every test
 * is exact. Real video: test_track_video.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mem.h"
#include "track.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000LL
#define FRAME_US (200 * MS) /* 5 fps */

static const char *const NAMES[] = {"person", "bicycle", "car"};

static det_tracker *make(const struct det_tracker_options *o)
{
    struct det_tracker_options opt = o ? *o : (struct det_tracker_options){0};
    if (!opt.label_names) {
        opt.label_names = NAMES;
        opt.label_count = 3;
    }
    det_tracker *t = NULL;
    char *err = NULL;
    assert_int_equal(det_tracker_new(&opt, &t, &err), 0);
    assert_null(err);
    return t;
}

static struct det_track out[8192];

static size_t step(det_tracker *t, const struct det_box *d, size_t n, int64_t us)
{
    size_t no = 99;
    assert_int_equal(det_tracker_update(t, d, n, us, out, HORUS_ARRAY_LEN(out), &no), 0);
    for (size_t i = 0; i < no; i++) {
        assert_true(out[i].id != 0);
        assert_true(out[i].box.x0 >= 0 && out[i].box.x0 <= out[i].box.x1 && out[i].box.x1 <= 1);
        assert_true(out[i].box.y0 >= 0 && out[i].box.y0 <= out[i].box.y1 && out[i].box.y1 <= 1);
        assert_int_equal(out[i].zones, 0);
    }
    return no;
}

/* A box of width w and height h centred on (cx, cy). */
static struct det_box box(float cx, float cy, float w, float h, float score, int label)
{
    return (struct det_box){cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, label};
}

static const struct det_track *find(size_t n, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (out[i].id == id)
            return &out[i];
    return NULL;
}

static void test_bad_options_are_refused_naming_the_field(void **state)
{
    (void)state;
    det_tracker *t = (det_tracker *)1;
    char *err = NULL;
    struct det_tracker_options o = {.lost_seconds = -1};
    assert_int_equal(det_tracker_new(&o, &t, &err), -EINVAL);
    assert_null(t);
    assert_string_equal(err, "lost_seconds: must be in (0, 3600]");
    free(err);
    o = (struct det_tracker_options){.high_score = 0.3f, .low_score = 0.4f};
    assert_int_equal(det_tracker_new(&o, &t, &err), -EINVAL);
    assert_string_equal(err, "low_score: must be in (0, high_score]");
    free(err);
    o = (struct det_tracker_options){.max_tracks = 5000};
    assert_int_equal(det_tracker_new(&o, &t, &err), -EINVAL);
    assert_string_equal(err, "max_tracks: must be 1..4096");
    free(err);
    o = (struct det_tracker_options){.match_iou = NAN};
    assert_int_equal(det_tracker_new(&o, &t, &err), -EINVAL);
    assert_string_equal(err, "match_iou: must be in (0, 1]");
    free(err);
    assert_int_equal(det_tracker_new(NULL, &t, &err), 0);
    assert_int_equal(det_tracker_report_max(t), 128);
    assert_int_equal(det_tracker_next_id(t), 1);
    det_tracker_free(t);
    det_tracker_free(NULL);
}

static void test_a_sure_object_is_new_at_once_then_active(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    struct det_box d = box(0.5f, 0.5f, 0.1f, 0.3f, 0.9f, 0);
    int64_t t0 = 1700000000000000LL;
    assert_int_equal(step(t, &d, 1, t0), 1);
    assert_int_equal(out[0].state, DET_TRACK_NEW);
    assert_int_equal(out[0].id, 1);
    assert_string_equal(out[0].label_name, "person");
    assert_int_equal(out[0].first_seen_us, t0);
    assert_true(out[0].is_best);
    assert_float_equal(out[0].score, 0.9f, 1e-6);
    assert_float_equal(out[0].box.x0, d.x0, 1e-6);
    d.x0 += 0.01f;
    d.x1 += 0.01f;
    d.score = 0.7f;
    assert_int_equal(step(t, &d, 1, t0 + FRAME_US), 1);
    assert_int_equal(out[0].state, DET_TRACK_ACTIVE);
    assert_int_equal(out[0].id, 1);
    assert_int_equal(out[0].first_seen_us, t0);
    assert_float_equal(out[0].score, 0.7f, 1e-6);
    assert_float_equal(out[0].box.x0, d.x0, 1e-6); /* the detection's box, not the filter's */
    det_tracker_free(t);
}

static void test_a_less_sure_object_needs_a_second_hit(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    struct det_box d = box(0.3f, 0.5f, 0.1f, 0.3f, 0.6f, 0);
    assert_int_equal(step(t, &d, 1, 0), 0); /* a candidate: not reported */
    assert_int_equal(step(t, NULL, 0, FRAME_US), 0); /* missed: it vanishes */
    assert_int_equal(step(t, &d, 1, 2 * FRAME_US), 0);
    assert_int_equal(step(t, &d, 1, 3 * FRAME_US), 1);
    assert_int_equal(out[0].state, DET_TRACK_NEW);
    assert_int_equal(out[0].id, 1); /* the vanished candidate took no id */
    assert_int_equal(out[0].first_seen_us, 3 * FRAME_US);
    det_tracker_free(t);
}

/* Two people walk towards each other along nearly the same line, overlap
   fully for a frame, and go on: each keeps its id, because the prediction
   carries each on its way (the last positions alone would swap them). */
static void test_two_objects_crossing_paths_keep_their_ids(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    uint64_t a = 0, b = 0;
    for (int f = 0; f <= 20; f++) {
        float xa = 0.1f + 0.04f * (float)f, xb = 0.9f - 0.04f * (float)f;
        struct det_box d[2] = {box(xa, 0.50f, 0.08f, 0.30f, 0.9f, 0),
                               box(xb, 0.52f, 0.08f, 0.28f, 0.85f, 0)};
        size_t n = step(t, d, 2, f * FRAME_US);
        assert_int_equal(n, 2);
        if (f == 0) {
            a = out[0].id;
            b = out[1].id;
            assert_true(a != b);
            continue;
        }
        const struct det_track *ta = find(n, a), *tb = find(n, b);
        assert_non_null(ta);
        assert_non_null(tb);
        assert_int_equal(ta->state, DET_TRACK_ACTIVE);
        assert_float_equal((ta->box.x0 + ta->box.x1) / 2, xa, 1e-4);
        assert_float_equal((tb->box.x0 + tb->box.x1) / 2, xb, 1e-4);
    }
    det_tracker_free(t);
}

/* The same with the detections listed in the other order, and a frame in
   the middle where only one box is seen (the front person hides the other):
   the hidden one is lost for a frame, then found again with its id. */
static void test_crossing_with_one_hidden_at_the_crossing(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    uint64_t a = 0, b = 0;
    for (int f = 0; f <= 20; f++) {
        float xa = 0.1f + 0.04f * (float)f, xb = 0.9f - 0.04f * (float)f;
        struct det_box d[2] = {box(xb, 0.52f, 0.08f, 0.28f, 0.85f, 0),
                               box(xa, 0.50f, 0.08f, 0.30f, 0.9f, 0)};
        size_t nd = f == 10 ? 1 : 2; /* at the crossing only b is seen */
        size_t n = step(t, d, nd, f * FRAME_US);
        if (f == 0) {
            b = out[0].id;
            a = out[1].id;
            continue;
        }
        const struct det_track *ta = find(n, a), *tb = find(n, b);
        assert_non_null(ta);
        assert_non_null(tb);
        assert_int_equal(ta->state, f == 10 ? DET_TRACK_LOST : DET_TRACK_ACTIVE);
        if (f != 10)
            assert_float_equal((ta->box.x0 + ta->box.x1) / 2, xa, 1e-4);
        assert_float_equal((tb->box.x0 + tb->box.x1) / 2, xb, 1e-4);
    }
    det_tracker_free(t);
}

/* A person walks behind a pillar for one second (5 frames unseen): the
   track is LOST with a predicted box that moves on, then ACTIVE again with
   the same id when the person comes out where the prediction says. */
static void test_a_one_second_occlusion_keeps_the_id(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    uint64_t id = 0;
    float last_lost_x = 0;
    for (int f = 0; f <= 25; f++) {
        float x = 0.1f + 0.03f * (float)f;
        struct det_box d = box(x, 0.5f, 0.08f, 0.3f, 0.9f, 0);
        bool hidden = f >= 10 && f < 15;
        size_t n = step(t, &d, hidden ? 0 : 1, f * FRAME_US);
        assert_int_equal(n, 1);
        if (f == 0)
            id = out[0].id;
        assert_int_equal(out[0].id, id);
        if (hidden) {
            assert_int_equal(out[0].state, DET_TRACK_LOST);
            assert_float_equal(out[0].score, 0, 0);
            float cx = (out[0].box.x0 + out[0].box.x1) / 2;
            assert_true(cx > last_lost_x); /* the prediction walks on */
            assert_float_equal(cx, x, 0.02f);
            last_lost_x = cx;
        } else if (f > 0) {
            assert_int_equal(out[0].state, DET_TRACK_ACTIVE);
        }
    }
    det_tracker_free(t);
}

static void test_a_weak_detection_continues_a_track_but_never_starts_one(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    struct det_box d[2] = {box(0.3f, 0.5f, 0.1f, 0.3f, 0.9f, 0),
                           box(0.8f, 0.5f, 0.1f, 0.3f, 0.3f, 0)}; /* weak, alone */
    assert_int_equal(step(t, d, 2, 0), 1);
    uint64_t id = out[0].id;
    for (int f = 1; f < 20; f++) {
        d[0].score = 0.3f; /* half hidden: the detector is unsure */
        assert_int_equal(step(t, d, 2, f * FRAME_US), 1);
        assert_int_equal(out[0].id, id);
        assert_int_equal(out[0].state, DET_TRACK_ACTIVE);
        assert_float_equal(out[0].score, 0.3f, 1e-6);
    }
    /* under low_score it is ignored: the track is lost */
    d[0].score = 0.05f;
    assert_int_equal(step(t, d, 1, 20 * FRAME_US), 1);
    assert_int_equal(out[0].state, DET_TRACK_LOST);
    /* a lost track is not continued by a weak box (only sure ones find it) */
    d[0].score = 0.3f;
    assert_int_equal(step(t, d, 1, 21 * FRAME_US), 1);
    assert_int_equal(out[0].state, DET_TRACK_LOST);
    d[0].score = 0.6f;
    assert_int_equal(step(t, d, 1, 22 * FRAME_US), 1);
    assert_int_equal(out[0].state, DET_TRACK_ACTIVE);
    assert_int_equal(out[0].id, id);
    det_tracker_free(t);
}

static void test_a_weak_detection_far_from_the_track_does_not_continue_it(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    struct det_box d = box(0.3f, 0.5f, 0.1f, 0.3f, 0.9f, 0);
    step(t, &d, 1, 0);
    /* IoU about 0.33: enough for a sure box (0.2), not for a weak one (0.5) */
    struct det_box w = box(0.35f, 0.5f, 0.1f, 0.3f, 0.3f, 0);
    assert_int_equal(step(t, &w, 1, FRAME_US), 1);
    assert_int_equal(out[0].state, DET_TRACK_LOST);
    det_tracker_free(t);
}

static void test_a_lost_track_is_removed_after_lost_seconds(void **state)
{
    (void)state;
    struct det_tracker_options o = {.lost_seconds = 1.5};
    det_tracker *t = make(&o);
    struct det_box d = box(0.5f, 0.5f, 0.1f, 0.3f, 0.9f, 0);
    step(t, &d, 1, 0);
    uint64_t id = out[0].id;
    /* irregular sampling: time, not frames, decides */
    const int64_t at[] = {300 * MS, 400 * MS, 1100 * MS, 1500 * MS};
    for (size_t i = 0; i < HORUS_ARRAY_LEN(at); i++) {
        assert_int_equal(step(t, NULL, 0, at[i]), 1);
        assert_int_equal(out[0].state, DET_TRACK_LOST);
    }
    assert_int_equal(step(t, NULL, 0, 1501 * MS), 1);
    assert_int_equal(out[0].state, DET_TRACK_REMOVED);
    assert_int_equal(out[0].id, id);
    assert_false(out[0].is_best);
    assert_int_equal(step(t, NULL, 0, 1700 * MS), 0);
    /* the same place later is a new object with a new id */
    assert_int_equal(step(t, &d, 1, 1900 * MS), 1);
    assert_int_equal(out[0].state, DET_TRACK_NEW);
    assert_true(out[0].id > id);
    det_tracker_free(t);
}

static void test_a_track_with_no_frames_for_long_ends_at_the_next_frame(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    struct det_box d = box(0.5f, 0.5f, 0.1f, 0.3f, 0.9f, 0);
    step(t, &d, 1, 0);
    uint64_t id = out[0].id;
    /* no frames for a minute (the sampler paused): the old track ends and
       the same box is someone new */
    assert_int_equal(step(t, &d, 1, 60000 * MS), 2);
    assert_int_equal(out[0].state, DET_TRACK_REMOVED);
    assert_int_equal(out[0].id, id);
    assert_int_equal(out[1].state, DET_TRACK_NEW);
    assert_true(out[1].id != id);
    det_tracker_free(t);
}

static void test_a_lost_track_that_leaves_the_frame_ends_at_once(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    int f = 0;
    for (; f < 10; f++) {
        struct det_box d = box(0.6f + 0.04f * (float)f, 0.5f, 0.08f, 0.3f, 0.9f, 0);
        step(t, &d, 1, f * FRAME_US);
    }
    /* at x 0.96 and going right: predicted out of the frame within 0.4 s */
    size_t n;
    int lost = 0;
    while ((n = step(t, NULL, 0, f * FRAME_US)) == 1 && out[0].state == DET_TRACK_LOST) {
        lost++;
        f++;
    }
    assert_int_equal(n, 1);
    assert_int_equal(out[0].state, DET_TRACK_REMOVED);
    assert_true(lost >= 1 && lost <= 3);
    det_tracker_free(t);
}

static void test_stationary_sets_after_stationary_seconds_and_clears_on_moving(void **state)
{
    (void)state;
    struct det_tracker_options o = {.stationary_seconds = 5};
    det_tracker *t = make(&o);
    int f = 0;
    /* a parked car with detector jitter of about 1% of its size */
    for (; f <= 40; f++) {
        float jx = (float)((f * 7) % 5 - 2) * 0.001f, jy = (float)((f * 3) % 5 - 2) * 0.0008f;
        struct det_box d = box(0.5f + jx, 0.6f + jy, 0.2f, 0.1f, 0.8f, 2);
        assert_int_equal(step(t, &d, 1, f * FRAME_US), 1);
        assert_string_equal(out[0].label_name, "car");
        /* settled at frame 0; stationary from 5 s = frame 25 on */
        if (f < 25)
            assert_false(out[0].is_stationary);
        else
            assert_true(out[0].is_stationary);
    }
    /* lost for a moment (a van passes in front): still stationary */
    assert_int_equal(step(t, NULL, 0, f++ * FRAME_US), 1);
    assert_int_equal(out[0].state, DET_TRACK_LOST);
    assert_true(out[0].is_stationary);
    /* it drives off: no longer stationary within a few frames */
    int moving_since = f, cleared = -1;
    for (int k = 1; k <= 10; k++, f++) {
        struct det_box d = box(0.5f + 0.02f * (float)k, 0.6f, 0.2f, 0.1f, 0.8f, 2);
        step(t, &d, 1, f * FRAME_US);
        assert_int_equal(out[0].state, DET_TRACK_ACTIVE);
        if (cleared < 0 && !out[0].is_stationary)
            cleared = f;
    }
    assert_true(cleared >= moving_since && cleared <= moving_since + 4);
    det_tracker_free(t);
}

static void test_a_walking_person_is_never_stationary(void **state)
{
    (void)state;
    struct det_tracker_options o = {.stationary_seconds = 2};
    det_tracker *t = make(&o);
    for (int f = 0; f < 60; f++) { /* slow: 1% of the frame per second */
        struct det_box d = box(0.2f + 0.002f * (float)f, 0.5f, 0.05f, 0.2f, 0.9f, 0);
        step(t, &d, 1, f * FRAME_US);
        assert_false(out[0].is_stationary);
    }
    det_tracker_free(t);
}

static void test_best_view_flags_only_real_improvements(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    struct {
        float h, score;
        bool edge, best;
    } seq[] = {
        {0.20f, 0.90f, false, true}, /* NEW is always the best so far */
        {0.20f, 0.90f, false, false}, /* same */
        {0.21f, 0.90f, false, false}, /* +10%: under best_gain */
        {0.22f, 0.90f, false, true}, /* +21% */
        {0.22f, 0.60f, false, false}, /* less sure */
        {0.30f, 0.90f, true, false}, /* bigger but cut by the frame's edge */
        {0.30f, 0.90f, false, true}, /* the same, whole */
        {0.30f, 0.90f, false, false},
    };
    for (size_t i = 0; i < HORUS_ARRAY_LEN(seq); i++) {
        /* feet on the ground at 0.9 (or cut by the bottom edge), growing up */
        float y1 = seq[i].edge ? 1.0f : 0.9f, h = seq[i].h;
        struct det_box d = {0.5f - h / 4, y1 - h, 0.5f + h / 4, y1, seq[i].score, 0};
        assert_int_equal(step(t, &d, 1, (int64_t)i * FRAME_US), 1);
        assert_int_equal(out[0].state, i ? DET_TRACK_ACTIVE : DET_TRACK_NEW);
        assert_int_equal(out[0].is_best, seq[i].best);
    }
    /* never on a frame without a match */
    assert_int_equal(step(t, NULL, 0, 20 * FRAME_US), 1);
    assert_false(out[0].is_best);
    det_tracker_free(t);
}

static void test_tracks_only_match_detections_of_their_label(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    struct det_box p = box(0.5f, 0.5f, 0.1f, 0.3f, 0.9f, 0);
    step(t, &p, 1, 0);
    uint64_t person = out[0].id;
    struct det_box b = p;
    b.label = 1; /* a bicycle exactly where the person was */
    assert_int_equal(step(t, &b, 1, FRAME_US), 2);
    assert_int_equal(find(2, person)->state, DET_TRACK_LOST);
    assert_int_equal(out[1].state, DET_TRACK_NEW);
    assert_string_equal(out[1].label_name, "bicycle");
    /* labels without a name read "?" */
    b.label = 7;
    b.x0 = 0.0f;
    b.x1 = 0.1f;
    size_t n = step(t, &b, 1, 2 * FRAME_US);
    assert_string_equal(out[n - 1].label_name, "?");
    det_tracker_free(t);
}

static void test_capacity_limits_are_kept(void **state)
{
    (void)state;
    struct det_tracker_options o = {.max_tracks = 3, .lost_seconds = 0.5};
    det_tracker *t = make(&o);
    assert_int_equal(det_tracker_report_max(t), 6);
    struct det_box d[5];
    for (int i = 0; i < 5; i++)
        d[i] = box(0.1f + 0.2f * (float)i, 0.5f, 0.1f, 0.3f, 0.9f - 0.01f * (float)i, 0);
    size_t no = 99;
    assert_int_equal(det_tracker_update(t, d, 5, 0, out, 5, &no), -ENOSPC);
    assert_int_equal(no, 0);
    assert_int_equal(det_tracker_next_id(t), 1); /* nothing changed */
    assert_int_equal(step(t, d, 5, 0), 3); /* room for three */
    for (int i = 0; i < 3; i++)
        assert_float_equal(out[i].box.x0, d[i].x0, 1e-6); /* the first (best) ones */
    /* the first three leave, the other two come: while the three are
       lost the table is full and the newcomers are ignored... */
    assert_int_equal(step(t, d + 3, 2, 100 * MS), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(out[i].state, DET_TRACK_LOST);
    /* ...until the three end: removed first, then the new ones */
    assert_int_equal(step(t, d + 3, 2, 700 * MS), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(out[i].state, i < 3 ? DET_TRACK_REMOVED : DET_TRACK_NEW);
    assert_int_equal(out[4].id, 5);
    /* more detections than are ever considered: no overflow */
    static struct det_box many[1000];
    for (int i = 0; i < 1000; i++)
        many[i] = box(0.0005f + 0.001f * (float)i, 0.5f, 0.0008f, 0.1f, 0.9f, 0);
    assert_true(step(t, many, 1000, 800 * MS) <= 6);
    det_tracker_free(t);
}

static void test_flush_removes_every_track_and_numbering_goes_on(void **state)
{
    (void)state;
    struct det_tracker_options o = {.first_id = 41};
    det_tracker *t = make(&o);
    struct det_box d[3] = {box(0.2f, 0.5f, 0.1f, 0.3f, 0.9f, 0),
                           box(0.5f, 0.5f, 0.1f, 0.3f, 0.9f, 0),
                           box(0.8f, 0.5f, 0.1f, 0.3f, 0.6f, 0)}; /* a candidate */
    assert_int_equal(step(t, d, 3, 0), 2);
    assert_int_equal(out[0].id, 41);
    assert_int_equal(out[1].id, 42);
    assert_int_equal(step(t, d, 1, FRAME_US), 2); /* one lost */
    size_t n = 99;
    assert_int_equal(det_tracker_flush(t, out, 1, &n), -ENOSPC);
    assert_int_equal(det_tracker_flush(t, out, HORUS_ARRAY_LEN(out), &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].state, DET_TRACK_REMOVED);
    assert_int_equal(out[1].state, DET_TRACK_REMOVED);
    assert_float_equal(out[0].score, 0, 0);
    assert_int_equal(det_tracker_flush(t, out, HORUS_ARRAY_LEN(out), &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(step(t, d, 1, 2 * FRAME_US), 1);
    assert_int_equal(out[0].state, DET_TRACK_NEW);
    assert_int_equal(out[0].id, 43);
    det_tracker_free(t);
}

static void test_bad_boxes_and_time_going_back_are_survived(void **state)
{
    (void)state;
    det_tracker *t = make(NULL);
    struct det_box d[4] = {
        {NAN, 0.1f, 0.2f, 0.3f, 0.9f, 0},
        {0.5f, 0.5f, 0.4f, 0.6f, 0.9f, 0}, /* x1 < x0: empty */
        {-0.5f, 0.2f, 0.1f, 0.5f, 1.5f, 0}, /* clamped to [0,1] */
        {0.2f, 0.2f, 0.3f, 0.3f, INFINITY, 0},
    };
    assert_int_equal(step(t, d, 4, 1000 * MS), 1);
    assert_float_equal(out[0].box.x0, 0, 0);
    assert_float_equal(out[0].score, 1, 0);
    /* time going back counts as none passing */
    assert_int_equal(step(t, d + 2, 1, 500 * MS), 1);
    assert_int_equal(out[0].state, DET_TRACK_ACTIVE);
    det_tracker_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_options_are_refused_naming_the_field),
        cmocka_unit_test(test_a_sure_object_is_new_at_once_then_active),
        cmocka_unit_test(test_a_less_sure_object_needs_a_second_hit),
        cmocka_unit_test(test_two_objects_crossing_paths_keep_their_ids),
        cmocka_unit_test(test_crossing_with_one_hidden_at_the_crossing),
        cmocka_unit_test(test_a_one_second_occlusion_keeps_the_id),
        cmocka_unit_test(test_a_weak_detection_continues_a_track_but_never_starts_one),
        cmocka_unit_test(test_a_weak_detection_far_from_the_track_does_not_continue_it),
        cmocka_unit_test(test_a_lost_track_is_removed_after_lost_seconds),
        cmocka_unit_test(test_a_track_with_no_frames_for_long_ends_at_the_next_frame),
        cmocka_unit_test(test_a_lost_track_that_leaves_the_frame_ends_at_once),
        cmocka_unit_test(test_stationary_sets_after_stationary_seconds_and_clears_on_moving),
        cmocka_unit_test(test_a_walking_person_is_never_stationary),
        cmocka_unit_test(test_best_view_flags_only_real_improvements),
        cmocka_unit_test(test_tracks_only_match_detections_of_their_label),
        cmocka_unit_test(test_capacity_limits_are_kept),
        cmocka_unit_test(test_flush_removes_every_track_and_numbering_goes_on),
        cmocka_unit_test(test_bad_boxes_and_time_going_back_are_survived),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
