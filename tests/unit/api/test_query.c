/*
 * Tests for src/api/query.c: times bounded to years 1..9999, ranges whose
 * span is computed with checked arithmetic before the limit applies
 * (issue #16: ?start=-9000000000000000&end=9000000000000000), integers,
 * UTC offsets and recorded file names at and past their edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "playback.h"
#include "query_int.h"

#include <errno.h>
#include <string.h>

/* 2026-03-04T00:00:00Z */
#define NOW INT64_C(1772582400000000)
#define HOUR (INT64_C(3600) * 1000000)

static char why[256];

static int range(enum api_range_kind kind, const char *start, const char *end, int64_t *s,
                 int64_t *e)
{
    why[0] = '\0';
    return api_range_parse(kind, start, end, NOW, s, e, why, sizeof(why));
}

static void assert_refused(int rc, const char *field_prefix)
{
    assert_int_equal(rc, -EINVAL);
    if (strncmp(why, field_prefix, strlen(field_prefix)) != 0)
        fail_msg("reason '%s' does not start with '%s'", why, field_prefix);
}

static void test_the_issue_range_is_refused_naming_a_field(void **state)
{
    int64_t s = 1, e = 2;
    for (int k = 0; k < 2; k++) {
        assert_refused(range(k, "-9000000000000000", "9000000000000000", &s, &e), "end: ");
        assert_refused(range(k, "-9223372036854775808", "9223372036854775807", &s, &e), "end: ");
        assert_refused(range(k, "0", "9223372036854775807", &s, &e), "end: ");
        assert_refused(range(k, "-9223372036854775808", "0", &s, &e), "start: ");
        assert_refused(range(k, "9223372036854775", "9223372036854775807", &s, &e), "end: ");
    }
    assert_true(s == 1 && e == 2);
}

static void test_times_outside_years_1_to_9999_are_refused(void **state)
{
    int64_t us = 7;
    assert_int_equal(api_time_parse_us("ts", "253402300799999", &us, why, sizeof(why)), 0);
    assert_true(us == INT64_C(253402300799999) * 1000);
    assert_int_equal(api_time_parse_us("ts", "-62135596800000", &us, why, sizeof(why)), 0);
    assert_true(us == INT64_C(-62135596800000) * 1000);
    us = 7;
    assert_int_equal(api_time_parse_us("ts", "253402300800000", &us, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "ts: must be between"));
    assert_int_equal(api_time_parse_us("ts", "-62135596800001", &us, why, sizeof(why)), -EINVAL);
    assert_int_equal(api_time_parse_us("ts", "9223372036854775807", &us, why, sizeof(why)),
                     -EINVAL);
    assert_int_equal(
        api_time_parse_us("ts", "9999-12-31T23:59:59.999-01:00", &us, why, sizeof(why)), -EINVAL);
    assert_int_equal(api_time_parse_us("ts", "yesterday", &us, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "ts: 'yesterday' is not an RFC 3339 time"));
    assert_true(us == 7);
}

static void test_timeline_defaults_and_limits(void **state)
{
    int64_t s, e;
    assert_int_equal(range(API_RANGE_TIMELINE, NULL, NULL, &s, &e), 0);
    assert_true(e == NOW && s == NOW - 24 * HOUR);
    /* The earliest end: a day back leaves year 1 but is counted exactly, not wrapped. */
    assert_int_equal(range(API_RANGE_TIMELINE, NULL, "-62135596800000", &s, &e), 0);
    assert_true(e == INT64_C(-62135596800000000) && e - s == 24 * HOUR);
    assert_int_equal(range(API_RANGE_TIMELINE, "1772582400000", "1780531200000", &s, &e), 0);
    assert_true(e - s == PB_TIMELINE_MAX_US);
    assert_refused(range(API_RANGE_TIMELINE, "1772582400000", "1780531200001", &s, &e),
                   "end: the range is longer than the 92-day limit");
    assert_refused(range(API_RANGE_TIMELINE, "1772582400000", "1772582400000", &s, &e),
                   "end: must be after start");
    assert_refused(range(API_RANGE_TIMELINE, "x", NULL, &s, &e), "start: ");
    assert_refused(range(API_RANGE_TIMELINE, NULL, "x", &s, &e), "end: ");
}

static void test_playlist_defaults_and_limits(void **state)
{
    int64_t s, e;
    assert_refused(range(API_RANGE_PLAYLIST, NULL, NULL, &s, &e), "start: required");
    assert_refused(range(API_RANGE_PLAYLIST, "1772582400001", NULL, &s, &e),
                   "start: is in the future");
    /* A default end more than 24 h after start is cut at start + 24 h. */
    assert_int_equal(range(API_RANGE_PLAYLIST, "-62135596800000", NULL, &s, &e), 0);
    assert_true(e - s == PB_PLAYLIST_MAX_US);
    assert_int_equal(range(API_RANGE_PLAYLIST, "1772578800000", NULL, &s, &e), 0);
    assert_true(s == NOW - HOUR && e == NOW);
    assert_refused(range(API_RANGE_PLAYLIST, "1772496000000", "1772582400001", &s, &e),
                   "end: the range is longer than the 24 h limit");
    assert_refused(range(API_RANGE_PLAYLIST, "-62135596800000", "253402300799999", &s, &e),
                   "end: the range is longer");
    assert_refused(range(API_RANGE_PLAYLIST, "1772582400000", "1772496000000", &s, &e),
                   "end: must be after start");
}

static void test_integers_at_and_past_their_bounds(void **state)
{
    int64_t v = 5;
    assert_int_equal(
        api_int_parse("n", "9007199254740992", 0, INT64_C(1) << 53, &v, why, sizeof(why)), 0);
    assert_true(v == INT64_C(1) << 53);
    assert_int_equal(
        api_int_parse("n", "-9223372036854775808", INT64_MIN, INT64_MAX, &v, why, sizeof(why)), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(
        api_int_parse("n", "9223372036854775807", INT64_MIN, INT64_MAX, &v, why, sizeof(why)), 0);
    assert_true(v == INT64_MAX);
    v = 5;
    static const char *const bad[] = {"9007199254740993",
                                      "9223372036854775808",
                                      "99999999999999999999",
                                      "-1",
                                      "",
                                      "+1",
                                      " 1",
                                      "1 ",
                                      "0x10",
                                      "-0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            api_int_parse("_HLS_msn", bad[i], 0, INT64_C(1) << 53, &v, why, sizeof(why)), -EINVAL);
        assert_non_null(strstr(why, "_HLS_msn: must be an integer 0..9007199254740992"));
    }
    assert_int_equal(
        api_int_parse("n", "-9223372036854775809", INT64_MIN, INT64_MAX, &v, why, sizeof(why)),
        -EINVAL);
    assert_int_equal(api_int_parse("n", NULL, 0, 1, &v, why, sizeof(why)), -EINVAL);
    assert_true(v == 5);
}

static void test_utc_offsets(void **state)
{
    int tz = 1;
    assert_int_equal(api_tz_parse(NULL, &tz, why, sizeof(why)), 0);
    assert_int_equal(tz, 0);
    assert_int_equal(api_tz_parse("+14:00", &tz, why, sizeof(why)), 0);
    assert_int_equal(tz, 14 * 3600);
    assert_int_equal(api_tz_parse("-05:30", &tz, why, sizeof(why)), 0);
    assert_int_equal(tz, -(5 * 3600 + 1800));
    static const char *const bad[] = {"+14:01", "+15:00", "+1:000", "+-1:00", "+ 1:00",
                                      "02:00",  "+02-00", "+02:0x", "",       "+99:99"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(api_tz_parse(bad[i], &tz, why, sizeof(why)), -EINVAL);
        assert_non_null(strstr(why, "tz: "));
    }
}

static void test_recorded_file_names(void **state)
{
    int64_t us = 3;
    assert_int_equal(api_file_start_parse("1772582400000000.mp4", &us), 0);
    assert_true(us == NOW);
    assert_int_equal(api_file_start_parse("9223372036854775807.mp4", &us), 0);
    assert_true(us == INT64_MAX);
    us = 3;
    assert_int_equal(api_file_start_parse("9223372036854775808.mp4", &us), -EINVAL);
    assert_int_equal(api_file_start_parse("99999999999999999999.mp4", &us), -EINVAL);
    assert_int_equal(api_file_start_parse("-1.mp4", &us), -EINVAL);
    assert_int_equal(api_file_start_parse(".mp4", &us), -EINVAL);
    assert_int_equal(api_file_start_parse("12.ts", &us), -EINVAL);
    assert_true(us == 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_issue_range_is_refused_naming_a_field),
        cmocka_unit_test(test_times_outside_years_1_to_9999_are_refused),
        cmocka_unit_test(test_timeline_defaults_and_limits),
        cmocka_unit_test(test_playlist_defaults_and_limits),
        cmocka_unit_test(test_integers_at_and_past_their_bounds),
        cmocka_unit_test(test_utc_offsets),
        cmocka_unit_test(test_recorded_file_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
