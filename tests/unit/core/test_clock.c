/* Tests for src/core/clock.c: RFC 3339 formatting and the time-input parser. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"

#include <errno.h>
#include <stdint.h>

static void test_parse_accepts_unix_milliseconds(void **state)
{
    int64_t ms = 0;
    assert_int_equal(clock_parse_time_ms("1772619302123", &ms), 0);
    assert_int_equal(ms, INT64_C(1772619302123));
    assert_int_equal(clock_parse_time_ms("0", &ms), 0);
    assert_int_equal(ms, 0);
}

static void test_parse_accepts_rfc3339_with_fraction_and_offset(void **state)
{
    int64_t ms = 0;
    assert_int_equal(clock_parse_time_ms("2026-03-04T10:15:02.123Z", &ms), 0);
    assert_int_equal(ms, INT64_C(1772619302123));
    assert_int_equal(clock_parse_time_ms("2026-03-04T11:15:02.1234567+01:00", &ms), 0);
    assert_int_equal(ms, INT64_C(1772619302123));
    assert_int_equal(clock_parse_time_ms("2026-03-04t10:15:02z", &ms), 0);
    assert_int_equal(ms, INT64_C(1772619302000));
    assert_int_equal(clock_parse_time_ms("2024-02-29T00:00:00Z", &ms), 0);
    char buf[32];
    clock_format_rfc3339_ms(ms, buf, sizeof(buf));
    assert_string_equal(buf, "2024-02-29T00:00:00.000Z");
}

static void test_parse_rejects_malformed_times(void **state)
{
    static const char *const bad[] = {"",
                                      "yesterday",
                                      "12ab",
                                      "-5",
                                      "1234567890123456",
                                      "2026-03-04",
                                      "2026-03-04T10:15:02",
                                      "2026-13-04T10:15:02Z",
                                      "2026-02-30T10:15:02Z",
                                      "2025-02-29T10:15:02Z",
                                      "2026-03-04T24:00:00Z",
                                      "2026-03-04T10:15:02.Z",
                                      "2026-03-04T10:15:02Zjunk",
                                      "2026-03-04T10:15:02+0100"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 42;
        if (clock_parse_time_ms(bad[i], &ms) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(ms, 42);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts_unix_milliseconds),
        cmocka_unit_test(test_parse_accepts_rfc3339_with_fraction_and_offset),
        cmocka_unit_test(test_parse_rejects_malformed_times),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
