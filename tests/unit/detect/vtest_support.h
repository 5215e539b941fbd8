/*
 * Test helper shared by the detect tests that run real video (test_onnx,
 * test_opencv, test_onnx_heads, test_motion, test_track_video,
 * test_accuracy): where vtest.avi and the converted NanoDet models are, the
 * hand-labelled people of frames 100 and 300 and the frames themselves, the
 * people a detector finds there, opening a model (a failure fails the test: after scripts/setup the
 * files are always there), and the one skipped test of a build without
 * ONNX Runtime. Header-only, like sto_fixture.h: each test is one file.
 */
#ifndef HORUS_TEST_VTEST_SUPPORT_H
#define HORUS_TEST_VTEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "detect.h"
#include "onnx.h"
#include "vframes.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define VTEST_MODELS HORUS_DEPS_DIR "/models/"
#define VTEST_PATH HORUS_DEPS_DIR "/data/vtest.avi"

struct vtest_person {
    int x0, y0, x1, y1; /* pixels of the 768x576 frame */
};

/* Counted by eye: seven people in frame 100, one of them half hidden behind
   the sign by the lamp post; six in frame 300. */
static const struct vtest_person VTEST_PEOPLE_100[] = {
    {222, 60, 238, 96},   {347, 197, 380, 272}, {377, 180, 408, 256}, {425, 180, 450, 257},
    {493, 148, 517, 219}, {517, 151, 540, 219}, {588, 153, 618, 236},
};
static const struct vtest_person VTEST_PEOPLE_300[] = {
    {185, 160, 218, 236}, {240, 158, 265, 222}, {297, 158, 324, 230},
    {312, 210, 346, 294}, {583, 160, 611, 236}, {617, 165, 644, 234},
};

/* Frames 100 and 300 of vtest.avi, decoded once per test group. */
struct vtest_frames {
    struct vframe f[2];
};

/* vframes_read's callback: copies frame 100 into f[0], any other into f[1]. */
static inline void vtest_keep_frame(const struct vframe *f, void *arg)
{
    struct vtest_frames *fr = arg;
    int slot = f->index == 100 ? 0 : 1;
    fr->f[slot] = *f;
    fr->f[slot].rgb = malloc((size_t)f->width * (size_t)f->height * 3);
    memcpy(fr->f[slot].rgb, f->rgb, (size_t)f->width * (size_t)f->height * 3);
}

/* A cmocka group setup: *state = the frames (vtest_teardown_frames frees them). */
static inline int vtest_setup_frames(void **state)
{
    if (access(VTEST_PATH, R_OK) != 0 || access(VTEST_MODELS "nanodet-416.onnx", R_OK) != 0) {
        print_error("%s or the models are missing: run scripts/deps-detect\n", VTEST_PATH);
        return -1;
    }
    struct vtest_frames *fr = calloc(1, sizeof(*fr));
    static const int want[] = {100, 300};
    char err[128];
    int rc = vframes_read(VTEST_PATH, want, 2, 0, vtest_keep_frame, fr, err, sizeof(err));
    if (rc < 0 || !fr->f[0].rgb || !fr->f[1].rgb) {
        print_error("decode %s: %s\n", VTEST_PATH, rc < 0 ? err : "frames missing");
        return -1;
    }
    *state = fr;
    return 0;
}

static inline int vtest_teardown_frames(void **state)
{
    struct vtest_frames *fr = *state;
    free(fr->f[0].rgb);
    free(fr->f[1].rgb);
    free(fr);
    return 0;
}

/* Runs d on frame f; counts the people found (IoU >= 0.5 with a labelled
   person, score >= 0.4) and the person boxes that match nobody; checks that
   every box is inside the frame and that scores come best first. */
static inline void vtest_people(struct det_detector *d, const struct vframe *f,
                                const struct vtest_person *truth, int ntruth, int *found,
                                int *spurious)
{
    struct det_frame fr = {f->rgb, f->width, f->height, f->width * 3};
    struct det_run_options opt = {.min_score = 0.4f};
    struct det_box boxes[100];
    size_t n = 0;
    char *err = NULL;
    assert_int_equal(det_detector_run(d, &fr, &opt, boxes, 100, &n, &err), 0);
    int matched[16] = {0};
    *found = *spurious = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(boxes[i].score >= 0.4f && boxes[i].score <= 1);
        assert_true(boxes[i].x0 >= 0 && boxes[i].x0 < boxes[i].x1 && boxes[i].x1 <= 1);
        assert_true(boxes[i].y0 >= 0 && boxes[i].y0 < boxes[i].y1 && boxes[i].y1 <= 1);
        if (i)
            assert_true(boxes[i].score <= boxes[i - 1].score);
        if (strcmp(det_detector_label(d, boxes[i].label), "person") != 0)
            continue;
        int hit = 0;
        for (int k = 0; k < ntruth; k++) {
            struct det_box t = {(float)truth[k].x0 / 768,
                                (float)truth[k].y0 / 576,
                                (float)truth[k].x1 / 768,
                                (float)truth[k].y1 / 576,
                                1,
                                0};
            if (det_iou(&t, &boxes[i]) >= 0.5f) {
                hit = 1;
                if (!matched[k]++)
                    (*found)++;
            }
        }
        if (!hit)
            (*spurious)++;
    }
}

/* Frames of any size are accepted: a 200x300 crop of frame 300 (padded left and right)
   finds something, a 1x1 frame runs, a stride shorter than a row is refused naming it. */
static inline void vtest_any_size_is_accepted(struct det_detector *d, const struct vtest_frames *fr)
{
    struct det_frame crop = {fr->f[1].rgb + (150 * 768 + 150) * 3, 200, 300, 768 * 3};
    struct det_box boxes[10];
    size_t n = 99;
    char *err = NULL;
    assert_int_equal(det_detector_run(d, &crop, NULL, boxes, 10, &n, &err), 0);
    assert_true(n >= 1);
    uint8_t px[3] = {1, 2, 3};
    struct det_frame one = {px, 1, 1, 3};
    assert_int_equal(det_detector_run(d, &one, NULL, boxes, 10, &n, &err), 0);
    struct det_frame bad = {px, 2, 1, 3};
    assert_int_equal(det_detector_run(d, &bad, NULL, boxes, 10, &n, &err), -EINVAL);
    assert_string_equal(err, "frame: bad size or stride");
    free(err);
}

/* Opens nanodet-<size>.onnx with COCO labels (threads 0: the default); fails the test if it cannot.
 */
static inline struct det_detector *vtest_nanodet_open(int size, int threads)
{
    char path[512];
    snprintf(path, sizeof(path), VTEST_MODELS "nanodet-%d.onnx", size);
    if (access(VTEST_PATH, R_OK) != 0 || access(path, R_OK) != 0)
        fail_msg("%s or %s is missing: run scripts/deps-detect", VTEST_PATH, path);
    struct det_onnx_options o = {
        .model_path = path, .labels_path = VTEST_MODELS "coco.labels", .threads = threads};
    struct det_detector *d = NULL;
    char *err = NULL;
    if (det_onnx_open(&o, &d, &err) != 0)
        fail_msg("open %s: %s", path, err ? err : "?");
    assert_null(err);
    return d;
}

/* The test a build without ONNX Runtime runs instead of the real ones. */
static inline void vtest_onnx_runtime_is_absent(void **state)
{
    (void)state;
    print_message("ONNX Runtime not found at configure time (scripts/deps-detect): skipped\n");
    skip();
}

/* The whole run of a test that has nothing else to run without ONNX Runtime. */
static inline int vtest_main_without_onnx(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vtest_onnx_runtime_is_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
