/*
 * Tests for src/base/clock_parse.c: RFC 3339 and Unix-millisecond inputs,
 * offsets, fractions, calendar bounds, and what is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"

#include <errno.h>
#include <stdio.h>

static int64_t parse_ok(const char *s)
{
    int64_t t = -42;
    if (clock_parse_time_ms(s, &t) != 0)
        fail_msg("'%s' was refused", s);
    return t;
}

static void test_rfc3339_utc_with_and_without_fractions(void **state)
{
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("2026-03-04T10:15:02.123Z"), 1772619302123);
    assert_int_equal(parse_ok("2026-03-04T10:15:02.1Z"), 1772619302100);
    assert_int_equal(parse_ok("2026-03-04T10:15:02.123999999Z"), 1772619302123);
    assert_int_equal(parse_ok("2026-03-04t10:15:02z"), 1772619302000);
    assert_int_equal(parse_ok("2026-03-04 10:15:02Z"), 1772619302000);
}

static void test_offsets_are_applied(void **state)
{
    assert_int_equal(parse_ok("2026-03-04T12:15:02.123+02:00"), 1772619302123);
    assert_int_equal(parse_ok("2026-03-04T05:45:02.123-04:30"), 1772619302123);
    assert_int_equal(parse_ok("2026-03-04T10:15:02.123+00:00"), 1772619302123);
}

static void test_leap_days_and_the_formatter_agree(void **state)
{
    char buf[32];
    int64_t t = parse_ok("2024-02-29T23:59:59.999Z");
    clock_format_rfc3339_ms(t, buf, sizeof(buf));
    assert_string_equal(buf, "2024-02-29T23:59:59.999Z");
    t = parse_ok("2000-12-31T00:00:00Z");
    clock_format_rfc3339_ms(t, buf, sizeof(buf));
    assert_string_equal(buf, "2000-12-31T00:00:00.000Z");
    assert_int_equal(parse_ok("1969-12-31T23:59:59.500Z"), -500);
}

static void test_unix_milliseconds_are_accepted(void **state)
{
    assert_int_equal(parse_ok("0"), 0);
    assert_int_equal(parse_ok("1772619302123"), 1772619302123);
    assert_int_equal(parse_ok("-1000"), -1000);
}

static void test_malformed_times_are_einval(void **state)
{
    static const char *const bad[] = {
        "",
        "-",
        "12a",
        "1.5",
        "99999999999999999999999",
        "2026-03-04",
        "2026-03-04T10:15:02",
        "2026-03-04T10:15Z",
        "2026-13-04T10:15:02Z",
        "2026-02-29T10:15:02Z",
        "2026-04-31T10:15:02Z",
        "2026-03-04T24:00:00Z",
        "2026-03-04T10:60:00Z",
        "2026-03-04T10:15:02.Z",
        "2026-03-04T10:15:02+0200",
        "2026-03-04T10:15:02Z ",
        "2026-03-04X10:15:02Z",
        "0000-01-01T00:00:00Z",
        "now",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t t = 7;
        if (clock_parse_time_ms(bad[i], &t) != -EINVAL)
            fail_msg("'%s' was accepted as %lld", bad[i], (long long)t);
        assert_int_equal(t, 7);
    }
    int64_t t;
    assert_int_equal(clock_parse_time_ms(NULL, &t), -EINVAL);
}

static void test_unix_milliseconds_at_the_ends_of_int64_are_exact_or_refused(void **state)
{
    int64_t t = -42;
    assert_true(parse_ok("9223372036854775807") == INT64_MAX);
    assert_true(parse_ok("-9223372036854775808") == INT64_MIN);
    assert_true(parse_ok("-9000000000000000") == INT64_C(-9000000000000000));
    assert_true(parse_ok("0009223372036854775807") == INT64_MAX);
    assert_int_equal(clock_parse_time_ms("9223372036854775808", &t), -EINVAL);
    assert_int_equal(clock_parse_time_ms("-9223372036854775809", &t), -EINVAL);
    assert_int_equal(clock_parse_time_ms("99999999999999999999", &t), -EINVAL);
    assert_int_equal(clock_parse_time_ms("18446744073709551616", &t), -EINVAL);
    assert_int_equal(clock_parse_time_ms("-", &t), -EINVAL);
    assert_int_equal(clock_parse_time_ms("--1", &t), -EINVAL);
    assert_true(t == -42);
}

static void test_rfc3339_extremes_stay_in_range(void **state)
{
    /* Four-digit years bound the result to well within int64 microseconds. */
    assert_true(parse_ok("9999-12-31T23:59:59.999-23:59") == INT64_C(253402300799999) + 86340000);
    assert_true(parse_ok("0001-01-01T00:00:00+23:59") == INT64_C(-62135596800000) - 86340000);
    assert_true(parse_ok("9999-12-31T23:59:60Z") == INT64_C(253402300800000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_utc_with_and_without_fractions),
        cmocka_unit_test(test_offsets_are_applied),
        cmocka_unit_test(test_leap_days_and_the_formatter_agree),
        cmocka_unit_test(test_unix_milliseconds_are_accepted),
        cmocka_unit_test(test_malformed_times_are_einval),
        cmocka_unit_test(test_unix_milliseconds_at_the_ends_of_int64_are_exact_or_refused),
        cmocka_unit_test(test_rfc3339_extremes_stay_in_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
