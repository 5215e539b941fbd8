/*
 * Tests for src/playback/timeline.c: merging rows into spans with the
 * gap tolerance, gaps between spans only, clipping to the range, and the
 * per-day totals at UTC and at other offsets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "playback.h"

#include <errno.h>
#include <string.h>

#define S(x) ((int64_t)((x)*1000000.0))
#define DAY S(86400)
/* 2026-03-04T00:00:00Z */
#define T0 INT64_C(1772582400000000)

static void test_contiguous_and_nearly_contiguous_rows_make_one_span(void **state)
{
    struct pb_timeline t;
    pb_timeline_init(&t, T0, T0 + S(600), 0);
    pb_timeline_add(&t, T0 + S(10), T0 + S(70));
    pb_timeline_add(&t, T0 + S(70), T0 + S(130)); /* exact */
    pb_timeline_add(&t, T0 + S(130.1), T0 + S(190)); /* 100 ms hole: tolerated */
    pb_timeline_add(&t, T0 + S(185), T0 + S(200)); /* overlap */
    pb_timeline_finish(&t);
    assert_int_equal(t.nspans, 1);
    assert_int_equal(t.spans[0].start_us, T0 + S(10));
    assert_int_equal(t.spans[0].end_us, T0 + S(200));
    assert_int_equal(t.ngaps, 0);
    pb_timeline_release(&t);
}

static void test_holes_over_the_tolerance_are_gaps_between_spans(void **state)
{
    struct pb_timeline t;
    pb_timeline_init(&t, T0, T0 + S(600), 0);
    pb_timeline_add(&t, T0 + S(10), T0 + S(70));
    pb_timeline_add(&t, T0 + S(70.2), T0 + S(130)); /* 200 ms: a gap */
    pb_timeline_add(&t, T0 + S(300), T0 + S(360));
    pb_timeline_finish(&t);
    assert_int_equal(t.nspans, 3);
    assert_int_equal(t.ngaps, 2);
    assert_int_equal(t.gaps[0].start_us, T0 + S(70));
    assert_int_equal(t.gaps[0].end_us, T0 + S(70.2));
    assert_int_equal(t.gaps[1].start_us, T0 + S(130));
    assert_int_equal(t.gaps[1].end_us, T0 + S(300));
    /* Nothing before the first span or after the last one is called a gap. */
    assert_int_equal(t.spans[0].start_us, T0 + S(10));
    pb_timeline_release(&t);
}

static void test_rows_are_clipped_to_the_range(void **state)
{
    struct pb_timeline t;
    pb_timeline_init(&t, T0 + S(100), T0 + S(200), 0);
    pb_timeline_add(&t, T0 + S(40), T0 + S(120));
    pb_timeline_add(&t, T0 + S(120), T0 + S(180));
    pb_timeline_add(&t, T0 + S(190), T0 + S(260));
    pb_timeline_add(&t, T0 + S(260), T0 + S(300)); /* outside: dropped */
    pb_timeline_finish(&t);
    assert_int_equal(t.nspans, 2);
    assert_int_equal(t.spans[0].start_us, T0 + S(100));
    assert_int_equal(t.spans[0].end_us, T0 + S(180));
    assert_int_equal(t.spans[1].end_us, T0 + S(200));
    assert_int_equal(t.ndays, 1);
    assert_string_equal(t.days[0].date, "2026-03-04");
    assert_int_equal(t.days[0].recorded_us, S(90));
    pb_timeline_release(&t);
}

static void test_days_split_spans_at_midnight_and_list_empty_days(void **state)
{
    struct pb_timeline t;
    pb_timeline_init(&t, T0 - S(3600), T0 + 2 * DAY + S(60), 0);
    pb_timeline_add(&t, T0 - S(600), T0 + S(600)); /* across midnight */
    pb_timeline_add(&t, T0 + 2 * DAY, T0 + 2 * DAY + S(3600));
    pb_timeline_finish(&t);
    assert_int_equal(t.ndays, 4);
    assert_string_equal(t.days[0].date, "2026-03-03");
    assert_int_equal(t.days[0].recorded_us, S(600));
    assert_string_equal(t.days[1].date, "2026-03-04");
    assert_int_equal(t.days[1].start_us, T0);
    assert_int_equal(t.days[1].recorded_us, S(600));
    assert_string_equal(t.days[2].date, "2026-03-05");
    assert_int_equal(t.days[2].recorded_us, 0);
    assert_string_equal(t.days[3].date, "2026-03-06");
    assert_int_equal(t.days[3].recorded_us, S(60)); /* clipped at the range's end */
    pb_timeline_release(&t);
}

static void test_days_follow_the_utc_offset(void **state)
{
    struct pb_timeline t;
    /* At +02:00 local midnight of the 4th is 22:00Z on the 3rd. */
    pb_timeline_init(&t, T0 - S(7200), T0 + S(3600), 2 * 3600);
    pb_timeline_add(&t, T0 - S(7200), T0 + S(3600));
    pb_timeline_finish(&t);
    assert_int_equal(t.ndays, 1);
    assert_string_equal(t.days[0].date, "2026-03-04");
    assert_int_equal(t.days[0].start_us, T0 - S(7200));
    assert_int_equal(t.days[0].recorded_us, S(3 * 3600));
    pb_timeline_release(&t);
    pb_timeline_init(&t, T0, T0 + S(3600), -5 * 3600 - 1800);
    pb_timeline_finish(&t);
    assert_int_equal(t.ndays, 1);
    assert_string_equal(t.days[0].date, "2026-03-03");
    assert_int_equal(t.nspans, 0);
    pb_timeline_release(&t);
}

static void test_a_range_at_the_ends_of_time_lists_no_days_and_does_not_overflow(void **state)
{
    /* The range of issue #16 (?start=-9e15&end=9e15 ms): the API refuses it; the timeline
     * itself must neither wrap nor try to allocate billions of days. */
    struct pb_timeline t;
    pb_timeline_init(&t, INT64_C(-9000000000000000000), INT64_C(9000000000000000000), 14 * 3600);
    pb_timeline_add(&t, T0, T0 + S(60));
    pb_timeline_add(&t, T0 + S(60), INT64_MAX);
    pb_timeline_finish(&t);
    assert_int_equal(t.nspans, 1);
    assert_true(t.spans[0].end_us == INT64_C(9000000000000000000));
    assert_int_equal(t.ndays, 0);
    pb_timeline_release(&t);

    pb_timeline_init(&t, INT64_MIN, INT64_MAX, -14 * 3600);
    pb_timeline_add(&t, INT64_MIN, INT64_MIN + 1);
    pb_timeline_add(&t, INT64_MAX - 1, INT64_MAX);
    pb_timeline_finish(&t);
    assert_int_equal(t.nspans, 2);
    assert_int_equal(t.ndays, 0);
    pb_timeline_release(&t);
}

static void test_a_timeline_of_the_longest_range_lists_every_day(void **state)
{
    struct pb_timeline t;
    pb_timeline_init(&t, T0 + S(1), T0 + S(1) + PB_TIMELINE_MAX_US, 0);
    pb_timeline_finish(&t);
    assert_int_equal(t.ndays, PB_TIMELINE_MAX_US / DAY + 1);
    pb_timeline_release(&t);
}

static void test_days_before_1970_start_at_their_midnight(void **state)
{
    struct pb_timeline t;
    /* 1969-12-31T12:00:00Z .. 1970-01-01T12:00:00Z */
    pb_timeline_init(&t, -S(43200), S(43200), 0);
    pb_timeline_finish(&t);
    assert_int_equal(t.ndays, 2);
    assert_string_equal(t.days[0].date, "1969-12-31");
    assert_true(t.days[0].start_us == -DAY);
    assert_string_equal(t.days[1].date, "1970-01-01");
    pb_timeline_release(&t);
}

static void test_reading_a_range_that_overflows_or_is_too_long_is_refused(void **state)
{
    struct pb_timeline t;
    /* Refused before the database is touched, so no database is needed. */
    assert_int_equal(pb_timeline_read(NULL, "cam", "main", INT64_C(-9000000000000000000),
                                      INT64_C(9000000000000000000), 0, NULL, 0, &t),
                     -EINVAL);
    assert_int_equal(
        pb_timeline_read(NULL, "cam", "main", T0, T0 + PB_TIMELINE_MAX_US + 1, 0, NULL, 0, &t),
        -EINVAL);
    assert_int_equal(pb_timeline_read(NULL, "cam", "main", T0, T0, 0, NULL, 0, &t), -EINVAL);
    assert_int_equal(pb_timeline_read(NULL, "cam", "main", T0, T0 + DAY, 15 * 3600, NULL, 0, &t),
                     -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contiguous_and_nearly_contiguous_rows_make_one_span),
        cmocka_unit_test(test_holes_over_the_tolerance_are_gaps_between_spans),
        cmocka_unit_test(test_rows_are_clipped_to_the_range),
        cmocka_unit_test(test_days_split_spans_at_midnight_and_list_empty_days),
        cmocka_unit_test(test_days_follow_the_utc_offset),
        cmocka_unit_test(test_a_range_at_the_ends_of_time_lists_no_days_and_does_not_overflow),
        cmocka_unit_test(test_a_timeline_of_the_longest_range_lists_every_day),
        cmocka_unit_test(test_days_before_1970_start_at_their_midnight),
        cmocka_unit_test(test_reading_a_range_that_overflows_or_is_too_long_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
