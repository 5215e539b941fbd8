/*
 * Tests for src/detect/object/nanodet.c: a hand-made level decodes to the
 * box the GFL distribution describes, mapped back through the letterbox;
 * low scores, non-finite values and empty boxes are skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "nanodet_int.h"

#include <math.h>
#include <string.h>

#define BINS 4

/* logits putting (almost) all weight on bin k */
static void peak(float *logits, int k)
{
    for (int b = 0; b < BINS; b++)
        logits[b] = b == k ? 30.0f : 0.0f;
}

static void test_a_cell_decodes_to_its_distances_through_the_letterbox(void **state)
{
    (void)state;
    /* a 64x32 input, stride 16: a 4x2 grid; the frame is 128x32 pixels
       letterboxed at scale 0.5 with no padding... use a 128x64 frame: scale 0.5 */
    float scores[8 * 2] = {0}, dist[8 * 4 * BINS];
    memset(dist, 0, sizeof(dist));
    scores[5 * 2 + 1] = 0.9f; /* cell 5 = row 1, col 1; label 1 */
    float *d = dist + 5 * 4 * BINS;
    peak(d, 1); /* left: 1 stride */
    peak(d + BINS, 0); /* top: 0 */
    peak(d + 2 * BINS, 2); /* right: 2 strides */
    peak(d + 3 * BINS, 1); /* bottom: 1 stride */
    struct det_nanodet_level lv = {scores, dist, 8, 16};
    struct det_letterbox lb = {64, 32, 128, 64, 0.5f, 0, 0};
    struct det_box out[8];
    size_t n = det_nanodet_decode(&lv, 1, 2, BINS, &lb, 0.5f, out, 8);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].label, 1);
    assert_float_equal(out[0].score, 0.9f, 1e-6);
    /* centre (24, 24) in input pixels; box x 8..56, y 24..40 -> y clipped at 32 */
    assert_float_equal(out[0].x0, 8.0f / 64, 1e-4);
    assert_float_equal(out[0].x1, 56.0f / 64, 1e-4);
    assert_float_equal(out[0].y0, 24.0f / 32, 1e-4);
    assert_float_equal(out[0].y1, 1.0f, 1e-6);
}

static void test_low_scores_and_non_finite_values_are_skipped(void **state)
{
    (void)state;
    float scores[8] = {0.2f, NAN, 0.9f, 0.9f, INFINITY, 0.9f, 0, 0};
    float dist[8 * 4 * BINS];
    for (int i = 0; i < 8 * 4 * BINS; i++)
        dist[i] = 0;
    dist[2 * 4 * BINS] = NAN; /* cell 2: a NaN distance */
    /* the other cells: uniform logits, 1.5 strides on each side */
    struct det_nanodet_level lv = {scores, dist, 8, 16};
    struct det_letterbox lb = {64, 32, 64, 32, 1, 0, 0};
    struct det_box out[8];
    size_t n = det_nanodet_decode(&lv, 1, 1, BINS, &lb, 0.5f, out, 8);
    assert_int_equal(n, 2); /* cells 3 and 5 */
    for (size_t i = 0; i < n; i++)
        assert_true(out[i].x1 > out[i].x0 && out[i].y1 > out[i].y0);
    assert_int_equal(det_nanodet_decode(&lv, 1, 1, BINS, &lb, 0.5f, out, 1), 1);
}

static void test_strides_are_found_from_cell_counts(void **state)
{
    (void)state;
    assert_int_equal(det_nanodet_stride(416, 416, 2704), 8);
    assert_int_equal(det_nanodet_stride(416, 416, 169), 32);
    assert_int_equal(det_nanodet_stride(320, 320, 400), 16);
    assert_int_equal(det_nanodet_stride(416, 416, 2705), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_cell_decodes_to_its_distances_through_the_letterbox),
        cmocka_unit_test(test_low_scores_and_non_finite_values_are_skipped),
        cmocka_unit_test(test_strides_are_found_from_cell_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
