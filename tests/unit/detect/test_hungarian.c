/*
 * Tests for src/detect/hungarian.c: the assignment is optimal (checked
 * against every partial assignment of random small matrices), respects the
 * cost limit, handles rectangles both ways and refuses non-finite costs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "hungarian_int.h"

#include <math.h>
#include <stdlib.h>

/* The least total over every partial assignment, exhaustively. */
static double best_total(const float *c, size_t rows, size_t cols, float limit, size_t row,
                         unsigned used)
{
    if (row == rows)
        return 0;
    double best = limit + best_total(c, rows, cols, limit, row + 1, used);
    for (size_t j = 0; j < cols; j++) {
        float v = c[row * cols + j];
        if (used & (1u << j) || !isfinite(v) || v > limit)
            continue;
        double t = v + best_total(c, rows, cols, limit, row + 1, used | (1u << j));
        if (t < best)
            best = t;
    }
    return best;
}

static double total_of(const float *c, size_t rows, size_t cols, float limit, const int *a)
{
    double t = 0;
    unsigned used = 0;
    for (size_t i = 0; i < rows; i++) {
        if (a[i] < 0) {
            t += limit;
            continue;
        }
        assert_true((size_t)a[i] < cols);
        assert_false(used & (1u << a[i])); /* columns are distinct */
        used |= 1u << a[i];
        assert_true(c[i * cols + a[i]] <= limit);
        t += c[i * cols + a[i]];
    }
    return t;
}

static void test_random_small_matrices_are_solved_optimally(void **state)
{
    (void)state;
    srand(11);
    for (int round = 0; round < 3000; round++) {
        size_t rows = (size_t)(rand() % 7), cols = (size_t)(rand() % 7);
        float c[49];
        for (size_t i = 0; i < rows * cols; i++)
            c[i] = rand() % 10 == 0 ? INFINITY : (float)(rand() % 1000) / 1000.0f;
        float limit = (float)(rand() % 1000) / 1000.0f;
        int a[7];
        size_t n = det_assign(c, rows, cols, limit, a);
        size_t counted = 0;
        for (size_t i = 0; i < rows; i++)
            counted += a[i] >= 0;
        assert_int_equal(n, counted);
        assert_true(fabs(total_of(c, rows, cols, limit, a) -
                         best_total(c, rows, cols, limit, 0, 0)) < 1e-4);
    }
}

static void test_the_greedy_choice_is_not_taken_when_it_costs_more(void **state)
{
    (void)state;
    /* greedy would give row 0 column 0 (0.1) and row 1 column 1 (0.9):
       1.0 in all; the optimum crosses them for 0.2 + 0.2 */
    const float c[] = {0.1f, 0.2f, 0.2f, 0.9f};
    int a[2];
    assert_int_equal(det_assign(c, 2, 2, 0.95f, a), 2);
    assert_int_equal(a[0], 1);
    assert_int_equal(a[1], 0);
    /* with a limit under 0.9 the crossing is still best */
    assert_int_equal(det_assign(c, 2, 2, 0.5f, a), 2);
    assert_int_equal(a[0], 1);
}

static void test_pairs_over_the_limit_stay_unassigned(void **state)
{
    (void)state;
    const float c[] = {0.9f, 0.3f, NAN, 0.95f, 0.8f, INFINITY};
    int a[2];
    assert_int_equal(det_assign(c, 2, 3, 0.5f, a), 1);
    assert_int_equal(a[0], 1);
    assert_int_equal(a[1], -1);
    /* more rows than columns */
    const float t[] = {0.4f, 0.1f, 0.2f};
    int b[3];
    assert_int_equal(det_assign(t, 3, 1, 0.5f, b), 1);
    assert_int_equal(b[0], -1);
    assert_int_equal(b[1], 0);
    assert_int_equal(b[2], -1);
    assert_int_equal(det_assign(t, 0, 1, 0.5f, b), 0);
    assert_int_equal(det_assign(t, 3, 0, 0.5f, b), 0);
    assert_int_equal(b[0], -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_small_matrices_are_solved_optimally),
        cmocka_unit_test(test_the_greedy_choice_is_not_taken_when_it_costs_more),
        cmocka_unit_test(test_pairs_over_the_limit_stay_unassigned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
