/*
 * Tests for src/base/checked.h: sums, differences and products at and past
 * the edges of int64_t and uint64_t, and that a refused result leaves the
 * output alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "checked.h"

static void test_sums_that_fit_are_exact(void **state)
{
    (void)state;
    int64_t r = 0;
    assert_true(horus_add_i64(INT64_MAX - 1, 1, &r));
    assert_true(r == INT64_MAX);
    assert_true(horus_add_i64(INT64_MIN, INT64_MAX, &r));
    assert_true(r == -1);
    assert_true(horus_add_i64(-5, 3, &r));
    assert_true(r == -2);
}

static void test_sums_past_the_edges_are_refused_and_leave_the_output(void **state)
{
    (void)state;
    int64_t r = 42;
    assert_false(horus_add_i64(INT64_MAX, 1, &r));
    assert_false(horus_add_i64(INT64_MIN, -1, &r));
    assert_false(horus_add_i64(INT64_MAX / 2 + 1, INT64_MAX / 2 + 1, &r));
    assert_true(r == 42);
}

static void test_the_issue_range_difference_is_refused(void **state)
{
    (void)state;
    /* ?start=-9000000000000000&end=9000000000000000 (ms) in microseconds. */
    int64_t r = 42;
    assert_false(horus_sub_i64(INT64_C(9000000000000000000), INT64_C(-9000000000000000000), &r));
    assert_false(horus_sub_i64(0, INT64_MIN, &r));
    assert_false(horus_sub_i64(INT64_MIN, 1, &r));
    assert_true(r == 42);
    assert_true(horus_sub_i64(-1, INT64_MAX, &r));
    assert_true(r == INT64_MIN);
    assert_true(horus_sub_i64(INT64_MAX, INT64_MAX, &r));
    assert_true(r == 0);
}

static void test_products_past_the_edges_are_refused(void **state)
{
    (void)state;
    int64_t r = 42;
    assert_false(horus_mul_i64(INT64_MAX / 1000 + 1, 1000, &r));
    assert_false(horus_mul_i64(INT64_MIN / 1000 - 1, 1000, &r));
    assert_false(horus_mul_i64(INT64_MIN, -1, &r));
    assert_false(horus_mul_i64(INT64_C(1) << 32, INT64_C(1) << 31, &r));
    assert_true(r == 42);
    assert_true(horus_mul_i64(INT64_MAX / 1000, 1000, &r));
    assert_true(r == INT64_MAX / 1000 * 1000);
    assert_true(horus_mul_i64(INT64_MIN / 1000, 1000, &r));
    assert_true(r == INT64_MIN / 1000 * 1000);
    assert_true(horus_mul_i64(-3, 7, &r));
    assert_true(r == -21);
}

static void test_unsigned_sizes_that_wrap_are_refused(void **state)
{
    (void)state;
    uint64_t r = 42;
    assert_false(horus_add_u64(UINT64_MAX, 1, &r));
    assert_false(horus_mul_u64(UINT64_C(1) << 32, UINT64_C(1) << 32, &r));
    assert_true(r == 42);
    assert_true(horus_add_u64(UINT64_MAX - 1, 1, &r));
    assert_true(r == UINT64_MAX);
    assert_true(horus_mul_u64(UINT64_C(1) << 31, UINT64_C(1) << 32, &r));
    assert_true(r == UINT64_C(1) << 63);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sums_that_fit_are_exact),
        cmocka_unit_test(test_sums_past_the_edges_are_refused_and_leave_the_output),
        cmocka_unit_test(test_the_issue_range_difference_is_refused),
        cmocka_unit_test(test_products_past_the_edges_are_refused),
        cmocka_unit_test(test_unsigned_sizes_that_wrap_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
