/*
 * Tests for src/detect/object/opencv.cpp with the real OpenCV DNN, the real
 * NanoDet models and real pictures (vtest.avi frames 100 and 300, the people
 * labelled by hand in test_onnx.c): the people are found, and the boxes are
 * the onnx backend's (same letterbox, same decoder: IoU >= 0.9 for most).
 * Bad models fail at open naming the file and the output. Also the ONNX
 * input-shape reader (onnx_proto.c) on the real model and on broken bytes.
 *
 * Skips only when the build has no OpenCV dnn; after scripts/setup it always
 * has one, and a missing model or video is then a failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "detect.h"
#include "err.h"

#ifdef HORUS_HAVE_OPENCV
#include "onnx_proto_int.h"
#include "opencv.h"
#include "vframes.h"
#include "vtest_support.h"
#ifdef HORUS_HAVE_ONNXRUNTIME
#include "onnx.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODELS VTEST_MODELS

static struct det_detector *open_model(int size, int threads)
{
    char path[512];
    snprintf(path, sizeof(path), MODELS "nanodet-%d.onnx", size);
    struct det_opencv_options o = {
        .model_path = path, .labels_path = MODELS "coco.labels", .threads = threads};
    struct det_detector *d = NULL;
    char *err = NULL;
    int rc = det_opencv_open(&o, &d, &err);
    if (rc)
        print_error("open: %s\n", err);
    assert_int_equal(rc, 0);
    assert_null(err);
    return d;
}

static size_t run(struct det_detector *d, const struct vframe *f, struct det_box *boxes, size_t cap)
{
    struct det_frame fr = {f->rgb, f->width, f->height, f->width * 3};
    struct det_run_options opt = {.min_score = 0.4f};
    size_t n = 0;
    char *err = NULL;
    assert_int_equal(det_detector_run(d, &fr, &opt, boxes, cap, &n, &err), 0);
    assert_null(err);
    return n;
}

static void test_people_in_vtest_are_found_with_tight_boxes(void **state)
{
    struct vtest_frames *fr = *state;
    struct det_detector *d = open_model(416, 1);
    assert_string_equal(det_detector_name(d), "opencv");
    assert_int_equal(d->input_width, 416);
    assert_int_equal(d->input_height, 416);
    assert_int_equal(d->label_count, 80);
    int found, spurious;
    vtest_people(d, &fr->f[0], VTEST_PEOPLE_100, 7, &found, &spurious);
    print_message("frame 100: %d of 7 people found, %d spurious person boxes\n", found, spurious);
    assert_true(found >= 6);
    assert_int_equal(spurious, 0);
    vtest_people(d, &fr->f[1], VTEST_PEOPLE_300, 6, &found, &spurious);
    print_message("frame 300: %d of 6 people found, %d spurious person boxes\n", found, spurious);
    assert_int_equal(found, 6);
    assert_int_equal(spurious, 0);
    det_detector_close(d);
}

#ifdef HORUS_HAVE_ONNXRUNTIME
/*
 * Same model, same letterbox, same decoder: the onnx backend's boxes. One
 * OpenCV thread: with more, Debian's OpenCV runs layers on TBB workers,
 * whose hand-offs ThreadSanitizer cannot see (reports in libopencv_dnn,
 * then a crawl), and the tsan preset runs this test too.
 */
static void test_boxes_match_the_onnx_backend(void **state)
{
    struct vtest_frames *fr = *state;
    for (int size = 320; size <= 416; size += 96) {
        char path[512];
        snprintf(path, sizeof(path), MODELS "nanodet-%d.onnx", size);
        struct det_onnx_options o = {.model_path = path, .labels_path = MODELS "coco.labels"};
        struct det_detector *ort = NULL, *cv = open_model(size, 1);
        char *err = NULL;
        assert_int_equal(det_onnx_open(&o, &ort, &err), 0);
        for (int f = 0; f < 2; f++) {
            struct det_box a[100], b[100];
            size_t na = run(ort, &fr->f[f], a, 100), nb = run(cv, &fr->f[f], b, 100);
            int close = 0;
            for (size_t i = 0; i < na; i++) {
                float best = 0;
                for (size_t k = 0; k < nb; k++)
                    if (a[i].label == b[k].label && det_iou(&a[i], &b[k]) > best)
                        best = det_iou(&a[i], &b[k]);
                close += best >= 0.9f;
            }
            print_message("nanodet-%d frame %d: onnx %zu boxes, opencv %zu, %d within IoU 0.9\n",
                          size, f ? 300 : 100, na, nb, close);
            assert_true(na >= 5);
            assert_true(nb + 1 >= na && nb <= na + 1); /* a box at the threshold may differ */
            assert_true(close * 10 >= (int)na * 9); /* most boxes: 90 % */
        }
        det_detector_close(ort);
        det_detector_close(cv);
    }
}
#endif

static void test_frames_of_any_size_and_one_pixel_are_accepted(void **state)
{
    struct det_detector *d = open_model(320, 1);
    vtest_any_size_is_accepted(d, *state);
    det_detector_close(d);
}

static int open_error(const char *model, const char *labels, int size, char **err)
{
    struct det_opencv_options o = {.model_path = model, .labels_path = labels, .input_size = size};
    struct det_detector *d = NULL;
    int rc = det_opencv_open(&o, &d, err);
    assert_null(d);
    assert_non_null(*err);
    return rc;
}

static void test_missing_corrupt_and_mismatched_models_fail_at_open(void **state)
{
    (void)state;
    char *err = NULL;
    assert_int_equal(open_error("/nonexistent/m.onnx", MODELS "coco.labels", 0, &err), -ENOENT);
    assert_string_equal(err, "model '/nonexistent/m.onnx': No such file or directory");
    free(err);

    char bad[] = "/tmp/horus-test-opencv-XXXXXX";
    int fd = mkstemp(bad);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a model", 11), 11);
    close(fd);
    assert_int_equal(open_error(bad, MODELS "coco.labels", 0, &err), HORUS_EPARSE);
    assert_non_null(strstr(err, "': load: not an ONNX model"));
    free(err);

    /* 81 labels: no output has 81 columns, so the scores cannot be found */
    fd = open(bad, O_WRONLY | O_TRUNC);
    for (int i = 0; i < 81; i++)
        assert_int_equal(write(fd, "x\n", 2), 2);
    close(fd);
    assert_int_equal(open_error(MODELS "nanodet-416.onnx", bad, 0, &err), HORUS_ECONFIG);
    assert_non_null(strstr(err, "output 'Identity' has shape [1,2704,80], expected [1,N,81]"));
    assert_non_null(strstr(err, "nanodet-416.onnx"));
    free(err);
    unlink(bad);

    assert_int_equal(open_error(MODELS "nanodet-416.onnx", MODELS "coco.labels", 320, &err),
                     HORUS_ECONFIG);
    assert_non_null(strstr(err, "input has shape [1,3,416,416], not the configured size 320"));
    free(err);
    assert_int_equal(open_error(MODELS "nanodet-416.onnx", "/nonexistent/l", 0, &err), -ENOENT);
    assert_non_null(strstr(err, "labels '/nonexistent/l'"));
    free(err);
}

/* The model's bytes, whole. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    uint8_t *buf = malloc(*len);
    assert_int_equal(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

static void test_the_input_shape_is_read_from_the_protobuf(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = slurp(MODELS "nanodet-320.onnx", &len);
    int64_t dims[8];
    size_t n;
    int type;
    const char *why = NULL;
    assert_int_equal(det_onnx_input_shape(buf, len, &type, dims, 8, &n, &why), 0);
    assert_int_equal(type, DET_ONNX_FLOAT);
    assert_int_equal(n, 4);
    assert_int_equal(dims[0], 1);
    assert_int_equal(dims[1], 3);
    assert_int_equal(dims[2], 320);
    assert_int_equal(dims[3], 320);
    /* too few dims allowed: refused, not overrun */
    assert_int_equal(det_onnx_input_shape(buf, len, &type, dims, 3, &n, &why), HORUS_EPARSE);
    assert_string_equal(why, "input: too many dimensions");
    /* every truncation is refused or read within the bytes (ASan watches) */
    for (size_t cut = 0; cut < 4096 && cut < len; cut += 7) {
        uint8_t *part = malloc(cut ? cut : 1);
        memcpy(part, buf, cut);
        (void)det_onnx_input_shape(part, cut, &type, dims, 8, &n, &why);
        free(part);
    }
    /* an older exporter's graph: the weight "w" listed as an input before "x" */
    static const uint8_t weight_first[] = {
        0x08, 0x08, 0x3a, 0x3a, 0x5a, 0x0f, 0x0a, 0x01, 0x77, 0x12, 0x0a, 0x0a, 0x08,
        0x08, 0x01, 0x12, 0x04, 0x0a, 0x02, 0x08, 0x10, 0x5a, 0x1d, 0x0a, 0x01, 0x78,
        0x12, 0x18, 0x0a, 0x16, 0x08, 0x01, 0x12, 0x12, 0x0a, 0x02, 0x08, 0x01, 0x0a,
        0x02, 0x08, 0x03, 0x0a, 0x03, 0x08, 0xc0, 0x02, 0x0a, 0x03, 0x08, 0xc0, 0x02,
        0x2a, 0x05, 0x42, 0x01, 0x77, 0x08, 0x10, 0x12, 0x01, 0x67};
    assert_int_equal(
        det_onnx_input_shape(weight_first, sizeof(weight_first), &type, dims, 8, &n, &why), 0);
    assert_int_equal(n, 4);
    assert_int_equal(dims[1], 3);
    assert_int_equal(dims[3], 320);
    /* symbolic dims (N, H, W) read as -1 */
    static const uint8_t dynamic[] = {0x3a, 0x21, 0x5a, 0x1f, 0x0a, 0x02, 0x69, 0x6e, 0x12,
                                      0x19, 0x0a, 0x17, 0x08, 0x01, 0x12, 0x13, 0x0a, 0x03,
                                      0x12, 0x01, 0x4e, 0x0a, 0x02, 0x08, 0x03, 0x0a, 0x03,
                                      0x12, 0x01, 0x48, 0x0a, 0x03, 0x12, 0x01, 0x57};
    assert_int_equal(det_onnx_input_shape(dynamic, sizeof(dynamic), &type, dims, 8, &n, &why), 0);
    assert_int_equal(n, 4);
    assert_true(dims[0] == -1 && dims[1] == 3 && dims[2] == -1 && dims[3] == -1);
    static const uint8_t group[] = {0x3b}; /* field 7, wire type 3: a group */
    assert_int_equal(det_onnx_input_shape(group, 1, &type, dims, 8, &n, &why), HORUS_EPARSE);
    assert_string_equal(why, "not an ONNX model (malformed protobuf)");
    static const uint8_t empty_graph[] = {0x3a, 0x00}; /* graph: {} */
    assert_int_equal(det_onnx_input_shape(empty_graph, 2, &type, dims, 8, &n, &why), HORUS_EPARSE);
    assert_string_equal(why, "graph: no input");
    free(buf);
}

int main(void)
{
    print_message("OpenCV %s\n", det_opencv_version());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_people_in_vtest_are_found_with_tight_boxes),
#ifdef HORUS_HAVE_ONNXRUNTIME
        cmocka_unit_test(test_boxes_match_the_onnx_backend),
#endif
        cmocka_unit_test(test_frames_of_any_size_and_one_pixel_are_accepted),
        cmocka_unit_test(test_missing_corrupt_and_mismatched_models_fail_at_open),
        cmocka_unit_test(test_the_input_shape_is_read_from_the_protobuf),
    };
    return cmocka_run_group_tests(tests, vtest_setup_frames, vtest_teardown_frames);
}

#else

static void test_opencv_is_absent(void **state)
{
    (void)state;
    print_message("OpenCV dnn not found at configure time (libopencv-dnn-dev): skipped\n");
    skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opencv_is_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
