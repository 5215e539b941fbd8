/*
 * Tests for src/http/http_range.c: the Range header parser and its policy
 * (one range 206, several ignored, malformed refused, past the end 416),
 * entity-tag list comparison for If-None-Match and If-Range, and
 * IMF-fixdate formatting and parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http.h"

#include <string.h>

static void expect_partial(const char *h, uint64_t size, uint64_t first, uint64_t last)
{
    uint64_t a = 77, b = 77;
    enum http_range_kind k = http_range_parse(h, size, &a, &b);
    if (k != HTTP_RANGE_PARTIAL)
        fail_msg("'%s' on %llu bytes: kind %d, expected partial", h, (unsigned long long)size, k);
    assert_int_equal(a, first);
    assert_int_equal(b, last);
}

static void expect_kind(const char *h, uint64_t size, enum http_range_kind want)
{
    uint64_t a = 77, b = 77;
    enum http_range_kind k = http_range_parse(h, size, &a, &b);
    if (k != want)
        fail_msg("'%s' on %llu bytes: kind %d, expected %d", h ? h : "(null)",
                 (unsigned long long)size, k, want);
    /* Positions are only written for a partial reply. */
    assert_int_equal(a, 77);
    assert_int_equal(b, 77);
}

static void test_one_range_of_each_form_is_partial(void **state)
{
    expect_partial("bytes=0-99", 1000, 0, 99);
    expect_partial("bytes=100-", 1000, 100, 999);
    expect_partial("bytes=-100", 1000, 900, 999);
    expect_partial("bytes=999-999", 1000, 999, 999);
    expect_partial("bytes=0-0", 1, 0, 0);
}

static void test_ranges_past_the_end_are_clipped_to_the_size(void **state)
{
    expect_partial("bytes=0-5000", 1000, 0, 999);
    expect_partial("bytes=-5000", 1000, 0, 999);
    expect_partial("bytes=10-99999999999999999999999999", 1000, 10, 999);
}

static void test_unit_case_and_whitespace_are_tolerated(void **state)
{
    expect_partial("BYTES=1-2", 10, 1, 2);
    expect_partial("Bytes = 1-2 ", 10, 1, 2);
    expect_partial(" bytes=\t3-", 10, 3, 9);
    expect_partial("bytes=,1-2,", 10, 1, 2);
}

static void test_ranges_starting_past_the_end_are_unsatisfiable(void **state)
{
    expect_kind("bytes=1000-", 1000, HTTP_RANGE_UNSATISFIABLE);
    expect_kind("bytes=1000-2000", 1000, HTTP_RANGE_UNSATISFIABLE);
    expect_kind("bytes=99999999999999999999999-", 1000, HTTP_RANGE_UNSATISFIABLE);
    expect_kind("bytes=-0", 1000, HTTP_RANGE_UNSATISFIABLE);
    expect_kind("bytes=0-", 0, HTTP_RANGE_UNSATISFIABLE);
    expect_kind("bytes=-5", 0, HTTP_RANGE_UNSATISFIABLE);
}

static void test_several_ranges_and_other_units_serve_the_whole_file(void **state)
{
    expect_kind(NULL, 1000, HTTP_RANGE_FULL);
    expect_kind("bytes=0-1,5-6", 1000, HTTP_RANGE_FULL);
    expect_kind("bytes=0-1, -5", 1000, HTTP_RANGE_FULL);
    expect_kind("items=0-1", 1000, HTTP_RANGE_FULL);
    expect_kind("bytesx=0-1", 1000, HTTP_RANGE_FULL);
    expect_kind("", 1000, HTTP_RANGE_FULL);
}

static void test_malformed_byte_ranges_are_invalid(void **state)
{
    static const char *const bad[] = {
        "bytes=",      "bytes=,",     "bytes=abc",  "bytes=5-1", "bytes=1-2-3",
        "bytes=--1",   "bytes=0-1;",  "bytes 0-1",  "bytes=-",   "bytes=-x",
        "bytes=0-1,x", "bytes=1 - 2", "bytes=+1-2", "bytes",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_kind(bad[i], 1000, HTTP_RANGE_INVALID);
}

static void test_if_none_match_uses_weak_comparison(void **state)
{
    assert_true(http_etag_list_match("\"abc\"", "\"abc\"", false));
    assert_true(http_etag_list_match("\"abc\"", "abc", false));
    assert_true(http_etag_list_match("W/\"abc\"", "\"abc\"", false));
    assert_true(http_etag_list_match("\"x\", W/\"y\" ,\"abc\"", "\"abc\"", false));
    assert_true(http_etag_list_match(" * ", "\"abc\"", false));
    assert_false(http_etag_list_match("\"abcd\"", "\"abc\"", false));
    assert_false(http_etag_list_match("\"ab\"", "\"abc\"", false));
    assert_false(http_etag_list_match("abc", "\"abc\"", false));
    assert_false(http_etag_list_match("\"abc", "\"abc\"", false));
    assert_false(http_etag_list_match("*, \"abc\"", "\"abc\"", false));
    assert_false(http_etag_list_match("", "\"abc\"", false));
    assert_false(http_etag_list_match(NULL, "\"abc\"", false));
}

static void test_if_range_uses_strong_comparison(void **state)
{
    assert_true(http_etag_list_match("\"abc\"", "\"abc\"", true));
    assert_false(http_etag_list_match("W/\"abc\"", "\"abc\"", true));
}

static void test_http_dates_round_trip(void **state)
{
    char buf[40];
    http_date_format(784111777, buf, sizeof(buf));
    assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    http_date_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
    http_date_format(1709251199, buf, sizeof(buf)); /* the last second of a leap day */
    assert_string_equal(buf, "Thu, 29 Feb 2024 23:59:59 GMT");
    int64_t t = 0;
    assert_int_equal(http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
    assert_int_equal(t, 784111777);
    assert_int_equal(http_date_parse("Thu, 29 Feb 2024 23:59:59 GMT", &t), 0);
    assert_int_equal(t, 1709251199);
}

static void test_obsolete_and_broken_dates_are_refused(void **state)
{
    int64_t t = 5;
    assert_int_equal(http_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", &t), -1);
    assert_int_equal(http_date_parse("Sun Nov  6 08:49:37 1994", &t), -1);
    assert_int_equal(http_date_parse("Sun, 06 Nov 1994 08:49:37 UTC", &t), -1);
    assert_int_equal(http_date_parse("Sun, 06 Foo 1994 08:49:37 GMT", &t), -1);
    assert_int_equal(http_date_parse("Sun, 36 Nov 1994 08:49:37 GMT", &t), -1);
    assert_int_equal(http_date_parse("Sun, 06 Nov 1994 24:49:37 GMT", &t), -1);
    assert_int_equal(http_date_parse("Thu, 31 Nov 1994 08:49:37 GMT", &t),
                     -1); /* found by fuzzing */
    assert_int_equal(http_date_parse("Wed, 29 Feb 2023 08:49:37 GMT", &t), -1);
    assert_int_equal(http_date_parse("", &t), -1);
    assert_int_equal(http_date_parse(NULL, &t), -1);
    assert_int_equal(t, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_range_of_each_form_is_partial),
        cmocka_unit_test(test_ranges_past_the_end_are_clipped_to_the_size),
        cmocka_unit_test(test_unit_case_and_whitespace_are_tolerated),
        cmocka_unit_test(test_ranges_starting_past_the_end_are_unsatisfiable),
        cmocka_unit_test(test_several_ranges_and_other_units_serve_the_whole_file),
        cmocka_unit_test(test_malformed_byte_ranges_are_invalid),
        cmocka_unit_test(test_if_none_match_uses_weak_comparison),
        cmocka_unit_test(test_if_range_uses_strong_comparison),
        cmocka_unit_test(test_http_dates_round_trip),
        cmocka_unit_test(test_obsolete_and_broken_dates_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
