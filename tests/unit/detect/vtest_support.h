/*
 * Test helper shared by the detect tests that run real video (test_onnx,
 * test_motion, test_track_video, test_accuracy): where vtest.avi and the
 * converted NanoDet models are, the hand-labelled people of frames 100 and
 * 300, opening a model (a failure fails the test: after scripts/setup the
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

#include <stdio.h>
#include <stdlib.h>
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
