/*
 * Tests for src/detect/detect.c: labels files (strict lines, clear errors)
 * and per-label non-maximum suppression.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "detect.h"
#include "err.h"
#include "hybrid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_labels_are_one_per_line_with_crlf_and_blanks_trimmed(void **state)
{
    (void)state;
    static const char text[] = "person\r\ntraffic light  \nteddy bear";
    char **labels = NULL, *err = NULL;
    int n = 0;
    assert_int_equal(det_labels_parse(text, strlen(text), &labels, &n, &err), 0);
    assert_null(err);
    assert_int_equal(n, 3);
    assert_string_equal(labels[0], "person");
    assert_string_equal(labels[1], "traffic light");
    assert_string_equal(labels[2], "teddy bear");
    det_labels_free(labels, n);
}

static void expect_parse_error(const char *text, size_t len, const char *message)
{
    char **labels = (char **)1, *err = NULL;
    int n = 7;
    assert_int_equal(det_labels_parse(text, len, &labels, &n, &err), HORUS_EPARSE);
    assert_null(labels);
    assert_int_equal(n, 0);
    assert_non_null(err);
    assert_string_equal(err, message);
    free(err);
}

static void test_bad_labels_files_are_refused_naming_the_line(void **state)
{
    (void)state;
    expect_parse_error("person\n\ncar\n", 12, "line 2: empty label");
    expect_parse_error("person\ncar\x01\n", 11, "line 2: control character 0x01");
    expect_parse_error("", 0, "no labels");
    char big[80];
    memset(big, 'a', sizeof(big));
    expect_parse_error(big, sizeof(big), "line 1: label longer than 63 bytes");
    expect_parse_error("a\0b", 3, "line 1: control character 0x00");
}

static void test_too_many_labels_are_refused(void **state)
{
    (void)state;
    size_t len = (DET_LABELS_MAX + 1) * 2;
    char *text = malloc(len);
    for (size_t i = 0; i < len; i += 2) {
        text[i] = 'x';
        text[i + 1] = '\n';
    }
    expect_parse_error(text, len, "more than 4096 labels");
    free(text);
}

static void test_a_missing_labels_file_names_the_path(void **state)
{
    (void)state;
    char **labels = NULL, *err = NULL;
    int n = 0;
    assert_int_equal(det_labels_load("/nonexistent/coco.labels", &labels, &n, &err), -ENOENT);
    assert_non_null(strstr(err, "labels '/nonexistent/coco.labels': "));
    free(err);
}

static void test_nms_keeps_the_best_of_overlapping_boxes_per_label(void **state)
{
    (void)state;
    struct det_box b[] = {
        {0.10f, 0.10f, 0.30f, 0.50f, 0.60f, 0}, /* overlaps the 0.9 person: dropped */
        {0.11f, 0.10f, 0.31f, 0.50f, 0.90f, 0},
        {0.11f, 0.10f, 0.31f, 0.50f, 0.70f, 2}, /* same place, other label: kept */
        {0.60f, 0.10f, 0.80f, 0.50f, 0.50f, 0}, /* elsewhere: kept */
        {0.20f, 0.10f, 0.40f, 0.50f, 0.80f, 0}, /* IoU with the 0.9 one is 0.38: kept */
    };
    size_t n = det_nms(b, 5, 0.5f);
    assert_int_equal(n, 4);
    assert_float_equal(b[0].score, 0.90f, 1e-6);
    assert_float_equal(b[1].score, 0.80f, 1e-6);
    assert_float_equal(b[2].score, 0.70f, 1e-6);
    assert_int_equal(b[2].label, 2);
    assert_float_equal(b[3].score, 0.50f, 1e-6);
    assert_int_equal(det_nms(b, 0, 0.5f), 0);
}

static void test_iou_of_disjoint_touching_and_equal_boxes(void **state)
{
    (void)state;
    struct det_box a = {0, 0, 0.5f, 0.5f, 1, 0}, b = {0.5f, 0, 1, 0.5f, 1, 0};
    struct det_box empty = {0.2f, 0.2f, 0.2f, 0.4f, 1, 0};
    assert_float_equal(det_iou(&a, &b), 0, 1e-9);
    assert_float_equal(det_iou(&a, &a), 1, 1e-6);
    assert_float_equal(det_iou(&a, &empty), 0, 1e-9);
    struct det_box c = {0.25f, 0, 0.75f, 0.5f, 1, 0};
    assert_float_equal(det_iou(&a, &c), 1.0f / 3.0f, 1e-6);
}

static void test_the_factory_refuses_an_unknown_type_naming_it(void **state)
{
    (void)state;
    struct det_spec spec = {.type = "tpu", .model = "m.onnx", .labels = "l.txt"};
    struct det_detector *d = (struct det_detector *)1;
    char *err = NULL;
    assert_int_equal(det_detector_open(&spec, &d, &err), -ENOTSUP);
    assert_null(d);
    assert_non_null(err);
    assert_non_null(strstr(err, "detector 'tpu'"));
    free(err);
}

#ifdef HORUS_HAVE_ONNXRUNTIME
static void test_the_factory_names_the_detector_and_a_missing_model(void **state)
{
    (void)state;
    struct det_spec spec = {.type = "onnx", .model = "/nonexistent/m.onnx", .labels = "l.txt"};
    struct det_detector *d = NULL;
    char *err = NULL;
    assert_true(det_detector_open(&spec, &d, &err) < 0);
    assert_null(d);
    assert_non_null(err);
    assert_non_null(strstr(err, "detector 'onnx'"));
    assert_non_null(strstr(err, "/nonexistent/m.onnx"));
    free(err);
}
#endif

/* A labels file for the remote specs (no model needed: nothing is sent at open). */
static char labels_path[64];

static void write_labels(void)
{
    snprintf(labels_path, sizeof(labels_path), "/tmp/horus-test-factory-XXXXXX");
    int fd = mkstemp(labels_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "person\ncar\n", 11), 11);
    close(fd);
}

static void test_the_factory_builds_remote_and_hybrid_from_a_spec(void **state)
{
    (void)state;
    write_labels();
    struct det_spec fallback = {
        .type = "remote", .url = "http://127.0.0.1:9", .labels = labels_path};
    struct det_spec spec = {.type = "hybrid",
                            .url = "http://127.0.0.1:9",
                            .api_key = "k",
                            .labels = labels_path,
                            .timeout_ms = 100,
                            .fallback = &fallback,
                            .failures_to_open = 2,
                            .cooldown_ms = 1000};
    struct det_detector *d = NULL;
    char *err = NULL;
    assert_int_equal(det_detector_open(&spec, &d, &err), 0);
    assert_null(err);
    assert_string_equal(det_detector_name(d), "hybrid");
    assert_int_equal(d->label_count, 2);
    struct det_hybrid_state hs;
    assert_int_equal(det_hybrid_state(d, &hs), 0);
    assert_int_equal(hs.breaker, HORUS_BREAKER_CLOSED);
    det_detector_close(d);

    spec.type = "remote";
    assert_int_equal(det_detector_open(&spec, &d, &err), 0);
    assert_string_equal(det_detector_name(d), "remote");
    assert_int_equal(det_hybrid_state(d, &hs), -EINVAL); /* not a hybrid */
    det_detector_close(d);
    unlink(labels_path);
}

/* Each failure names the detector type and the field or part that is wrong. */
static void test_the_factory_names_the_field_a_spec_gets_wrong(void **state)
{
    (void)state;
    write_labels();
    struct det_detector *d = NULL;
    char *err = NULL;
    struct det_spec spec = {.type = "remote", .labels = labels_path};
    assert_int_equal(det_detector_open(&spec, &d, &err), -EINVAL);
    assert_string_equal(err, "detector 'remote': url: required");
    free(err);

    spec = (struct det_spec){.type = "hybrid", .url = "http://127.0.0.1:9", .labels = labels_path};
    assert_int_equal(det_detector_open(&spec, &d, &err), -EINVAL);
    assert_non_null(strstr(err, "detector 'hybrid': fallback: required"));
    free(err);

    struct det_spec inner = {.type = "hybrid"};
    spec.fallback = &inner;
    assert_int_equal(det_detector_open(&spec, &d, &err), -EINVAL);
    assert_string_equal(err, "detector 'hybrid': fallback: cannot itself be a hybrid");
    free(err);

    struct det_spec local = {
        .type = "opencv", .model = "/nonexistent/m.onnx", .labels = labels_path};
    spec.fallback = &local;
    assert_true(det_detector_open(&spec, &d, &err) < 0);
    assert_null(d);
    /* the missing file, or a build without OpenCV: both named under the fallback */
    assert_non_null(strstr(err, "detector 'hybrid': fallback: detector 'opencv': "));
    free(err);

    spec.url = "ftp://x";
    assert_true(det_detector_open(&spec, &d, &err) < 0);
    assert_non_null(strstr(err, "detector 'hybrid': primary: detector 'remote': "));
    free(err);
    assert_null(d);
    unlink(labels_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_are_one_per_line_with_crlf_and_blanks_trimmed),
        cmocka_unit_test(test_bad_labels_files_are_refused_naming_the_line),
        cmocka_unit_test(test_too_many_labels_are_refused),
        cmocka_unit_test(test_a_missing_labels_file_names_the_path),
        cmocka_unit_test(test_nms_keeps_the_best_of_overlapping_boxes_per_label),
        cmocka_unit_test(test_iou_of_disjoint_touching_and_equal_boxes),
        cmocka_unit_test(test_the_factory_refuses_an_unknown_type_naming_it),
        cmocka_unit_test(test_the_factory_builds_remote_and_hybrid_from_a_spec),
        cmocka_unit_test(test_the_factory_names_the_field_a_spec_gets_wrong),
#ifdef HORUS_HAVE_ONNXRUNTIME
        cmocka_unit_test(test_the_factory_names_the_detector_and_a_missing_model),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
