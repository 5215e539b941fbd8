/*
 * Tests for src/api/storage_forecast.c: the bytes a day a camera records
 * (a 24 h window, shorter for a young camera, ending at the last indexed
 * segment while one is open) and the days of footage it keeps, limited by
 * retention_days, max_bytes or its share of the disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "storage_forecast_int.h"

#include <string.h>

#define HOUR_US (INT64_C(3600) * 1000000)
#define NOW (INT64_C(1772582400000000) + 0) /* 2026-03-04T00:00:00Z */
#define GB UINT64_C(1000000000)

static void assert_near(double got, double want)
{
    double d = got - want;
    if (d < -want * 1e-9 - 1e-9 || d > want * 1e-9 + 1e-9)
        fail_msg("got %.6f, want %.6f", got, want);
}

static void test_a_camera_older_than_a_day_is_measured_over_the_last_24_hours(void **state)
{
    double bpd = 0;
    /* 48 h of footage; the last 24 h hold 12 GB. */
    assert_true(api_bytes_per_day(12 * GB, NOW - 48 * HOUR_US, NOW, false, NOW, &bpd));
    assert_near(bpd, 12e9);
}

static void test_a_young_camera_is_measured_since_its_first_recording(void **state)
{
    double bpd = 0;
    /* 6 h old, 3 GB: 12 GB a day. */
    assert_true(api_bytes_per_day(3 * GB, NOW - 6 * HOUR_US, NOW, false, NOW, &bpd));
    assert_near(bpd, 12e9);
}

static void test_a_recording_camera_is_measured_to_its_last_indexed_segment(void **state)
{
    double bpd = 0;
    /* The open minute is not indexed: 2 GB over 4 h ending a minute ago. */
    int64_t first = NOW - 4 * HOUR_US - 60000000, last = NOW - 60000000;
    assert_true(api_bytes_per_day(2 * GB, first, last, true, NOW, &bpd));
    assert_near(bpd, 12e9);
    /* Stopped: the window runs to now, so the rate falls. */
    assert_true(api_bytes_per_day(2 * GB, first, last, false, NOW, &bpd));
    assert_true(bpd < 12e9);
}

static void test_no_recordings_or_less_than_a_second_has_no_rate(void **state)
{
    double bpd = 42;
    assert_false(api_bytes_per_day(0, 0, 0, false, NOW, &bpd));
    assert_false(api_bytes_per_day(1000, NOW - 500000, NOW, false, NOW, &bpd));
    assert_true(bpd == 42);
    /* Nothing in the last day of an old camera: a rate of 0, known. */
    assert_true(api_bytes_per_day(0, NOW - 72 * HOUR_US, NOW - 30 * HOUR_US, false, NOW, &bpd));
    assert_near(bpd, 0);
}

static void test_retention_days_limits_when_disk_and_cap_allow_more(void **state)
{
    struct api_forecast_in in = {.bytes = 10 * GB,
                                 .bytes_per_day = 1e9,
                                 .retention_days = 14,
                                 .max_bytes = 0,
                                 .free_share_bytes = 100 * GB};
    struct api_forecast f = api_forecast_days(&in);
    assert_near(f.days, 14);
    assert_string_equal(api_limit_name(f.limited_by), "retention_days");
}

static void test_max_bytes_limits_when_it_fills_first(void **state)
{
    struct api_forecast_in in = {.bytes = 5 * GB,
                                 .bytes_per_day = 2e9,
                                 .retention_days = 30,
                                 .max_bytes = 10 * GB,
                                 .free_share_bytes = 100 * GB};
    struct api_forecast f = api_forecast_days(&in);
    assert_near(f.days, 5);
    assert_string_equal(api_limit_name(f.limited_by), "max_bytes");
}

static void test_the_disk_limits_when_its_share_fills_first(void **state)
{
    /* (20 GB free share + 10 GB held) / 3 GB a day = 10 days < 30 and < 50 GB / 3 GB. */
    struct api_forecast_in in = {.bytes = 10 * GB,
                                 .bytes_per_day = 3e9,
                                 .retention_days = 30,
                                 .max_bytes = 50 * GB,
                                 .free_share_bytes = 20 * GB};
    struct api_forecast f = api_forecast_days(&in);
    assert_near(f.days, 10);
    assert_string_equal(api_limit_name(f.limited_by), "disk");
}

static void test_a_camera_recording_nothing_keeps_its_retention(void **state)
{
    struct api_forecast_in in = {.bytes = 10 * GB,
                                 .bytes_per_day = 0,
                                 .retention_days = 7,
                                 .max_bytes = 1,
                                 .free_share_bytes = 0};
    struct api_forecast f = api_forecast_days(&in);
    assert_near(f.days, 7);
    assert_string_equal(api_limit_name(f.limited_by), "retention_days");
}

static void test_free_space_is_shared_by_rate_above_the_watermark(void **state)
{
    assert_int_equal(api_free_share(90 * GB, 1e9, 3e9), 30 * GB);
    assert_int_equal(api_free_share(90 * GB, 3e9, 3e9), 90 * GB);
    assert_int_equal(api_free_share(90 * GB, 0, 3e9), 0);
    assert_int_equal(api_free_share(90 * GB, 1e9, 0), 0);
    /* 5 % of 1 TB kept free: of 80 GB free, 30 GB is above the watermark. */
    assert_int_equal(api_free_above_watermark(80 * GB, 1000 * GB, 500), 30 * GB);
    assert_int_equal(api_free_above_watermark(40 * GB, 1000 * GB, 500), 0);
    assert_int_equal(api_free_above_watermark(40 * GB, 1000 * GB, 0), 40 * GB);
    /* No overflow near the top of uint64_t. */
    assert_int_equal(api_free_above_watermark(UINT64_MAX, UINT64_MAX, 10000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_camera_older_than_a_day_is_measured_over_the_last_24_hours),
        cmocka_unit_test(test_a_young_camera_is_measured_since_its_first_recording),
        cmocka_unit_test(test_a_recording_camera_is_measured_to_its_last_indexed_segment),
        cmocka_unit_test(test_no_recordings_or_less_than_a_second_has_no_rate),
        cmocka_unit_test(test_retention_days_limits_when_disk_and_cap_allow_more),
        cmocka_unit_test(test_max_bytes_limits_when_it_fills_first),
        cmocka_unit_test(test_the_disk_limits_when_its_share_fills_first),
        cmocka_unit_test(test_a_camera_recording_nothing_keeps_its_retention),
        cmocka_unit_test(test_free_space_is_shared_by_rate_above_the_watermark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
