/*
 * Tests for the CenterNet, YOLO and SSD decoders and head selection
 * (src/detect/object/{centernet,yolo,ssd,heads,heads_select}.c): boxes
 * encoded by hand in each layout decode back to themselves; peaks, scores,
 * non-finite values and shapes behave as heads_int.h says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "heads_int.h"

#include "err.h"

#include <errno.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-4

static void assert_box(const struct det_box *b, float x0, float y0, float x1, float y1, float score,
                       int label)
{
    assert_float_equal(b->x0, x0, EPS);
    assert_float_equal(b->y0, y0, EPS);
    assert_float_equal(b->x1, x1, EPS);
    assert_float_equal(b->y1, y1, EPS);
    assert_float_equal(b->score, score, EPS);
    assert_int_equal(b->label, label);
}

/* 4x3 grid, stride 8, 2 classes, NCHW and NHWC; ltrb sizes */
static void test_centernet_peaks_decode_ltrb_in_both_layouts(void **state)
{
    (void)state;
    for (int nhwc = 0; nhwc <= 1; nhwc++) {
        float hm[2 * 12] = {0}, sz[4 * 12] = {0};
#define HM(c, x, y) hm[nhwc ? ((y)*4 + (x)) * 2 + (c) : (c)*12 + (y)*4 + (x)]
#define SZ(c, x, y) sz[nhwc ? ((y)*4 + (x)) * 4 + (c) : (c)*12 + (y)*4 + (x)]
        HM(1, 2, 1) = 0.9f; /* a peak */
        HM(1, 1, 1) = 0.8f; /* its neighbour: not a peak */
        HM(0, 0, 0) = 0.6f; /* another class, alone: a peak */
        HM(0, 3, 2) = 0.2f; /* under min_score */
        SZ(0, 2, 1) = 4;
        SZ(1, 2, 1) = 2;
        SZ(2, 2, 1) = 6;
        SZ(3, 2, 1) = 3;
        SZ(2, 0, 0) = 5;
        SZ(3, 0, 0) = 5;
        struct det_centernet_out o = {hm, sz, NULL, 2, 4, 3, 4, nhwc, 8};
        struct det_box out[8];
        size_t n = det_centernet_decode(&o, 0.5f, out, 8);
        assert_int_equal(n, 2);
        assert_box(&out[0], 0, 0, 5, 5, 0.6f, 0);
        /* centre (16, 8): 16-4, 8-2, 16+6, 8+3 */
        assert_box(&out[1], 12, 6, 22, 11, 0.9f, 1);
#undef HM
#undef SZ
    }
}

static void test_centernet_wh_with_offsets_and_nan(void **state)
{
    (void)state;
    float hm[1 * 4] = {NAN, 0.7f, 0, 0}, wh[2 * 4] = {0}, off[2 * 4] = {0};
    /* NCHW 2x2 grid, stride 10: cell (1,0) w 2 h 1 cells, offset 0.5, 0.25 */
    wh[0 * 4 + 1] = 2;
    wh[1 * 4 + 1] = 1;
    off[0 * 4 + 1] = 0.5f;
    off[1 * 4 + 1] = 0.25f;
    struct det_centernet_out o = {hm, wh, off, 1, 2, 2, 2, 0, 10};
    struct det_box out[4];
    size_t n = det_centernet_decode(&o, 0.5f, out, 4);
    assert_int_equal(n, 1);
    /* centre (15, 2.5), 20 x 10 */
    assert_box(&out[0], 5, -2.5f, 25, 7.5f, 0.7f, 0);
    assert_int_equal(det_centernet_decode(&o, 0.5f, out, 0), 0);
}

static void test_yolov5_rows_with_objectness(void **state)
{
    (void)state;
    /* 3 candidates, 2 classes: cx cy w h obj c0 c1 */
    float d[3 * 7] = {
        50, 40, 20,  10, 0.9f, 0.1f, 0.8f, /* label 1, score 0.72 */
        10, 10, 4,   4,  0.3f, 1.0f, 0.0f, /* objectness too low */
        5,  5,  NAN, 2,  0.9f, 0.9f, 0.0f, /* not finite */
    };
    struct det_yolo_out o = {d, 3, 2, 1, 0};
    struct det_box out[3];
    size_t n = det_yolo_decode(&o, 0.5f, out, 3);
    assert_int_equal(n, 1);
    assert_box(&out[0], 40, 35, 60, 45, 0.72f, 1);
}

static void test_yolov8_channel_major_without_objectness(void **state)
{
    (void)state;
    /* [4+2][3]: columns are candidates */
    float d[6 * 3] = {
        100,  30,   0, /* cx */
        50,   30,   0, /* cy */
        40,   10,   0, /* w */
        20,   10,   0, /* h */
        0.2f, 0.9f, 0.1f, /* class 0 */
        0.6f, 0.3f, 0.1f, /* class 1 */
    };
    struct det_yolo_out o = {d, 3, 2, 0, 1};
    struct det_box out[3];
    size_t n = det_yolo_decode(&o, 0.5f, out, 3);
    assert_int_equal(n, 2);
    assert_box(&out[0], 80, 40, 120, 60, 0.6f, 1);
    assert_box(&out[1], 25, 25, 35, 35, 0.9f, 0);
}

static void test_ssd_raw_with_background_column(void **state)
{
    (void)state;
    float boxes[2 * 4] = {0.1f, 0.2f, 0.5f, 0.6f, 0, 0, 1, 1};
    /* background, label 0, label 1 */
    float scores[2 * 3] = {0.05f, 0.1f, 0.85f, 0.9f, 0.05f, 0.05f};
    struct det_ssd_raw o = {boxes, scores, 2, 3, 1};
    struct det_box out[2];
    size_t n = det_ssd_decode_raw(&o, 100, 200, 0.5f, out, 2);
    assert_int_equal(n, 1); /* the second row is background */
    assert_box(&out[0], 20, 20, 60, 100, 0.85f, 1);
}

static void test_ssd_post_count_and_class_range(void **state)
{
    (void)state;
    float boxes[3 * 4] = {0, 0, 0.5f, 0.5f, 0.5f, 0.5f, 1, 1, 0, 0, 1, 1};
    float classes[3] = {2, 7, 0};
    float scores[3] = {0.9f, 0.8f, 0.95f};
    struct det_ssd_post o = {boxes, classes, scores, 2, 3, 5, 0};
    struct det_box out[3];
    size_t n = det_ssd_decode_post(&o, 10, 10, 0.5f, out, 3);
    assert_int_equal(n, 1); /* row 2 past count; class 7 out of 5 labels */
    assert_box(&out[0], 0, 0, 5, 5, 0.9f, 2);
    o.count = NAN;
    assert_int_equal(det_ssd_decode_post(&o, 10, 10, 0.5f, out, 3), 2);
    o.count = -3;
    assert_int_equal(det_ssd_decode_post(&o, 10, 10, 0.5f, out, 3), 0);
}

static void test_to_frame_undoes_the_letterbox_and_drops_empty_boxes(void **state)
{
    (void)state;
    /* a 200x100 frame in a 100x100 input: scale 0.5, pad_y 25 */
    struct det_letterbox lb = {100, 100, 200, 100, 0.5f, 0, 25};
    struct det_box b[3] = {
        {10, 25, 50, 50, 1.5f, 3},
        {10, 0, 50, 20, 0.9f, 0}, /* all in the border */
        {NAN, 30, 40, 40, 0.9f, 0},
    };
    assert_int_equal(det_head_to_frame(b, 3, &lb), 1);
    assert_box(&b[0], 0.1f, 0, 0.5f, 0.5f, 1, 3);
}

static struct det_head_output out3(const char *name, int64_t a, int64_t b)
{
    return (struct det_head_output){name, {1, a, b}, 3};
}

static void test_select_recognises_each_head_from_shapes(void **state)
{
    (void)state;
    struct det_head_plan p;
    char *err = NULL;
    struct det_head_output y5 = out3("output0", 25200, 85);
    assert_int_equal(det_head_select(DET_HEAD_AUTO, &y5, 1, 80, 640, 640, &p, &err), 0);
    assert_int_equal(p.head, DET_HEAD_YOLOV5);
    assert_int_equal(p.n, 25200);
    assert_false(p.channel_major);
    struct det_head_output y8 = out3("output0", 84, 8400);
    assert_int_equal(det_head_select(DET_HEAD_AUTO, &y8, 1, 80, 640, 640, &p, &err), 0);
    assert_int_equal(p.head, DET_HEAD_YOLOV8);
    assert_true(p.channel_major);
    assert_int_equal(p.n, 8400);
    /* CenterNet NHWC: the converted MobileNetV3 one */
    struct det_head_output cn[2] = {{"keypoints", {1, 128, 128, 80}, 4},
                                    {"wh", {1, 128, 128, 4}, 4}};
    assert_int_equal(det_head_select(DET_HEAD_AUTO, cn, 2, 80, 512, 512, &p, &err), 0);
    assert_int_equal(p.head, DET_HEAD_CENTERNET);
    assert_true(p.nhwc);
    assert_int_equal(p.role[0], 0);
    assert_int_equal(p.role[1], 1);
    assert_int_equal(p.size_channels, 4);
    assert_float_equal(p.stride, 4, 0);
    /* CenterNet NCHW with wh and reg, in any order */
    struct det_head_output cn3[3] = {
        {"reg", {1, 2, 96, 96}, 4}, {"hm", {1, 80, 96, 96}, 4}, {"wh", {1, 2, 96, 96}, 4}};
    assert_int_equal(det_head_select(DET_HEAD_AUTO, cn3, 3, 80, 384, 384, &p, &err), 0);
    assert_int_equal(p.head, DET_HEAD_CENTERNET);
    assert_false(p.nhwc);
    assert_int_equal(p.role[0], 1);
    assert_int_equal(p.role[1], 2);
    assert_int_equal(p.role[2], 0);
    /* SSD raw, background column */
    struct det_head_output sr[2] = {out3("scores", 1917, 91), out3("boxes", 1917, 4)};
    assert_int_equal(det_head_select(DET_HEAD_AUTO, sr, 2, 90, 300, 300, &p, &err), 0);
    assert_int_equal(p.head, DET_HEAD_SSD);
    assert_true(p.background);
    assert_int_equal(p.role[0], 1);
    /* SSD post-processed: names put scores before classes */
    struct det_head_output sp[4] = {{"detection_boxes", {1, 100, 4}, 3},
                                    {"detection_scores", {1, 100}, 2},
                                    {"detection_classes", {1, 100}, 2},
                                    {"num_detections", {1}, 1}};
    assert_int_equal(det_head_select(DET_HEAD_AUTO, sp, 4, 90, 300, 300, &p, &err), 0);
    assert_true(p.ssd_post);
    assert_int_equal(p.role[1], 2);
    assert_int_equal(p.role[2], 1);
    assert_int_equal(p.role[3], 3);
    /* NanoDet outputs: not another head */
    struct det_head_output nd[2] = {out3("cls", 1600, 80), out3("dis", 1600, 32)};
    assert_int_equal(det_head_select(DET_HEAD_AUTO, nd, 2, 80, 320, 320, &p, &err), 1);
    assert_null(err);
}

static void test_select_errors_name_the_output_and_the_expected_shape(void **state)
{
    (void)state;
    struct det_head_plan p;
    char *err = NULL;
    struct det_head_output y8 = out3("output0", 84, 8400);
    assert_int_equal(det_head_select(DET_HEAD_YOLOV5, &y8, 1, 80, 640, 640, &p, &err),
                     HORUS_ECONFIG);
    assert_string_equal(err, "output 'output0' has shape [1,84,8400], expected one output "
                             "[1,N,85] (YOLOv5: box, objectness, 80 labels)");
    free(err);
    err = NULL;
    /* a YOLOv8 of 80 classes with a 90-line labels file */
    assert_int_equal(det_head_select(DET_HEAD_YOLOV8, &y8, 1, 90, 640, 640, &p, &err),
                     HORUS_ECONFIG);
    assert_non_null(strstr(err, "expected one output [1,94,N]"));
    free(err);
    err = NULL;
    struct det_head_output cn[2] = {{"keypoints", {1, 100, 100, 80}, 4},
                                    {"wh", {1, 100, 100, 4}, 4}};
    assert_int_equal(det_head_select(DET_HEAD_CENTERNET, cn, 2, 80, 512, 512, &p, &err),
                     HORUS_ECONFIG);
    assert_non_null(strstr(err, "output 'keypoints' has shape [1,100,100,80], expected a grid"));
    free(err);
    err = NULL;
    struct det_head_output dyn = out3("y", -1, 85);
    assert_int_equal(det_head_select(DET_HEAD_AUTO, &dyn, 1, 80, 640, 640, &p, &err), 1);
    enum det_head h;
    assert_int_equal(det_head_parse("yolov8", &h), 0);
    assert_int_equal(h, DET_HEAD_YOLOV8);
    assert_int_equal(det_head_parse(NULL, &h), 0);
    assert_int_equal(h, DET_HEAD_AUTO);
    assert_int_equal(det_head_parse("yolo", &h), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_centernet_peaks_decode_ltrb_in_both_layouts),
        cmocka_unit_test(test_centernet_wh_with_offsets_and_nan),
        cmocka_unit_test(test_yolov5_rows_with_objectness),
        cmocka_unit_test(test_yolov8_channel_major_without_objectness),
        cmocka_unit_test(test_ssd_raw_with_background_column),
        cmocka_unit_test(test_ssd_post_count_and_class_range),
        cmocka_unit_test(test_to_frame_undoes_the_letterbox_and_drops_empty_boxes),
        cmocka_unit_test(test_select_recognises_each_head_from_shapes),
        cmocka_unit_test(test_select_errors_name_the_output_and_the_expected_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
