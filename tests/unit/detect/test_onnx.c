/*
 * Tests for src/detect/object/onnx.c with the real runtime, the real model
 * (NanoDet-g converted by tools/modelconv) and real pictures: frames of
 * Debian opencv-doc's vtest.avi (768x576 pedestrians), with person boxes
 * labelled by hand (see VTEST_PEOPLE_*). Bad models fail at open with sentences
 * that name the file and the output.
 *
 * Skips only when the build has no ONNX Runtime; after scripts/setup it
 * always has one, and a missing model or video is then a failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "detect.h"
#include "err.h"
#include "onnx.h"
#include "vtest_support.h"

#ifdef HORUS_HAVE_ONNXRUNTIME
#include "vframes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static void test_people_in_vtest_are_found_with_tight_boxes(void **state)
{
    struct vtest_frames *fr = *state;
    struct det_detector *d = vtest_nanodet_open(416, 1);
    assert_string_equal(det_detector_name(d), "onnx");
    assert_int_equal(d->input_width, 416);
    assert_int_equal(d->label_count, 80);
    int found, spurious;
    vtest_people(d, &fr->f[0], VTEST_PEOPLE_100, 7, &found, &spurious);
    print_message("frame 100: %d of 7 people found, %d spurious person boxes\n", found, spurious);
    assert_true(found >= 6); /* all but the one behind the sign */
    assert_int_equal(spurious, 0);
    vtest_people(d, &fr->f[1], VTEST_PEOPLE_300, 6, &found, &spurious);
    print_message("frame 300: %d of 6 people found, %d spurious person boxes\n", found, spurious);
    assert_int_equal(found, 6);
    assert_int_equal(spurious, 0);
    det_detector_close(d);
}

static void test_the_320_model_with_two_threads_finds_most_people(void **state)
{
    struct vtest_frames *fr = *state;
    struct det_detector *d = vtest_nanodet_open(320, 2);
    int found, spurious;
    vtest_people(d, &fr->f[1], VTEST_PEOPLE_300, 6, &found, &spurious);
    print_message("320, frame 300: %d of 6 people found, %d spurious\n", found, spurious);
    assert_true(found >= 4);
    assert_true(spurious <= 1);
    det_detector_close(d);
}

static void test_frames_of_any_size_and_one_pixel_are_accepted(void **state)
{
    struct det_detector *d = vtest_nanodet_open(320, 1);
    vtest_any_size_is_accepted(d, *state);
    det_detector_close(d);
}

static int open_error(const char *model, const char *labels, int size, char **err)
{
    struct det_onnx_options o = {.model_path = model, .labels_path = labels, .input_size = size};
    struct det_detector *d = NULL;
    int rc = det_onnx_open(&o, &d, err);
    assert_null(d);
    assert_non_null(*err);
    return rc;
}

/* device: cpu runs on the CPU; auto falls back to it without CUDA; cuda either runs on
   CUDA (an ONNX Runtime with the provider, and a GPU) or fails at open saying why. */
static void test_the_device_is_chosen_at_open(void **state)
{
    (void)state;
    struct det_onnx_options o = {.model_path = VTEST_MODELS "nanodet-320.onnx",
                                 .labels_path = VTEST_MODELS "coco.labels"};
    struct det_detector *d = NULL;
    char *err = NULL;
    o.device = "cpu";
    assert_int_equal(det_onnx_open(&o, &d, &err), 0);
    assert_string_equal(det_onnx_device(d), "cpu");
    det_detector_close(d);
    o.device = "auto";
    assert_int_equal(det_onnx_open(&o, &d, &err), 0);
    const char *got = det_onnx_device(d);
    assert_true(strcmp(got, "cpu") == 0 || strcmp(got, "cuda") == 0);
    det_detector_close(d);
    o.device = "cuda";
    int rc = det_onnx_open(&o, &d, &err);
    if (rc == 0) {
        assert_string_equal(det_onnx_device(d), "cuda");
        det_detector_close(d);
    } else {
        assert_int_equal(rc, HORUS_ECONFIG);
        assert_non_null(strstr(err, "device cuda: "));
        free(err);
        err = NULL;
    }
    o.device = "tpu";
    assert_int_equal(det_onnx_open(&o, &d, &err), -EINVAL);
    assert_string_equal(err, "device: must be cpu, cuda or auto");
    free(err);
}

static void test_missing_corrupt_and_mismatched_models_fail_at_open(void **state)
{
    (void)state;
    char *err = NULL;
    assert_int_equal(open_error("/nonexistent/m.onnx", VTEST_MODELS "coco.labels", 0, &err),
                     -ENOENT);
    assert_string_equal(err, "model '/nonexistent/m.onnx': No such file or directory");
    free(err);

    char bad[] = "/tmp/horus-test-onnx-XXXXXX";
    int fd = mkstemp(bad);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not a model", 11), 11);
    close(fd);
    assert_int_equal(open_error(bad, VTEST_MODELS "coco.labels", 0, &err), HORUS_EPARSE);
    assert_non_null(strstr(err, "': load: "));
    free(err);

    /* 81 labels: no output has 81 columns, so the scores cannot be found */
    fd = open(bad, O_WRONLY | O_TRUNC);
    for (int i = 0; i < 81; i++)
        assert_int_equal(write(fd, "x\n", 2), 2);
    close(fd);
    assert_int_equal(open_error(VTEST_MODELS "nanodet-416.onnx", bad, 0, &err), HORUS_ECONFIG);
    assert_non_null(strstr(err, "output 'Identity' has shape [1,2704,80], expected [1,N,81]"));
    free(err);
    unlink(bad);

    assert_int_equal(
        open_error(VTEST_MODELS "nanodet-416.onnx", VTEST_MODELS "coco.labels", 320, &err),
        HORUS_ECONFIG);
    assert_non_null(strstr(err, "input has shape [1,3,416,416], not the configured size 320"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_people_in_vtest_are_found_with_tight_boxes),
        cmocka_unit_test(test_the_320_model_with_two_threads_finds_most_people),
        cmocka_unit_test(test_frames_of_any_size_and_one_pixel_are_accepted),
        cmocka_unit_test(test_missing_corrupt_and_mismatched_models_fail_at_open),
        cmocka_unit_test(test_the_device_is_chosen_at_open),
    };
    return cmocka_run_group_tests(tests, vtest_setup_frames, vtest_teardown_frames);
}

#else

int main(void)
{
    return vtest_main_without_onnx();
}

#endif
