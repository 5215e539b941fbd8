/*
 * Tests for src/cfg/cfg_value.c through the public loader: the syntax of
 * every scalar type, its bounds and their messages, defaults going through
 * the same parser, and the printed form of sizes and durations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cfg.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct v_conf {
    int64_t i;
    bool b;
    int e;
    uint64_t size;
    int64_t dur_ms;
    double d;
    char *s;
    int64_t bounded;
    uint64_t bounded_size;
    int64_t bounded_ms;
    double bounded_d;
};

static const char *const colors[] = {"red", "green", "blue", NULL};

static const cfg_field fields[] = {
    {.name = "i", .type = CFG_INT, .offset = offsetof(struct v_conf, i)},
    {.name = "b", .type = CFG_BOOL, .offset = offsetof(struct v_conf, b)},
    {.name = "e", .type = CFG_ENUM, .offset = offsetof(struct v_conf, e), .enum_names = colors},
    {.name = "size", .type = CFG_BYTES, .offset = offsetof(struct v_conf, size)},
    {.name = "dur", .type = CFG_DURATION, .offset = offsetof(struct v_conf, dur_ms)},
    {.name = "d", .type = CFG_DOUBLE, .offset = offsetof(struct v_conf, d)},
    {.name = "s", .type = CFG_STRING, .offset = offsetof(struct v_conf, s)},
    {.name = "bounded",
     .type = CFG_INT,
     .offset = offsetof(struct v_conf, bounded),
     .min = -5,
     .max = 5},
    {.name = "bounded_size",
     .type = CFG_BYTES,
     .offset = offsetof(struct v_conf, bounded_size),
     .min = 1 << 20,
     .max = 1099511627776.0},
    {.name = "bounded_ms",
     .type = CFG_DURATION,
     .offset = offsetof(struct v_conf, bounded_ms),
     .min = 1000,
     .max = 86400000},
    {.name = "bounded_d",
     .type = CFG_DOUBLE,
     .offset = offsetof(struct v_conf, bounded_d),
     .min = 0.5,
     .max = 1.5},
    {0},
};

static const cfg_schema schema = {.fields = fields, .size = sizeof(struct v_conf)};

/* The same fields, each with a default. */
static const cfg_field default_fields[] = {
    {.name = "i", .type = CFG_INT, .offset = offsetof(struct v_conf, i), .def = "-42"},
    {.name = "b", .type = CFG_BOOL, .offset = offsetof(struct v_conf, b), .def = "yes"},
    {.name = "e",
     .type = CFG_ENUM,
     .offset = offsetof(struct v_conf, e),
     .enum_names = colors,
     .def = "blue"},
    {.name = "size", .type = CFG_BYTES, .offset = offsetof(struct v_conf, size), .def = "10MB"},
    {.name = "dur", .type = CFG_DURATION, .offset = offsetof(struct v_conf, dur_ms), .def = "2h"},
    {.name = "d", .type = CFG_DOUBLE, .offset = offsetof(struct v_conf, d), .def = "0.25"},
    {.name = "s", .type = CFG_STRING, .offset = offsetof(struct v_conf, s), .def = "hello"},
    {0},
};

static const cfg_schema default_schema = {.fields = default_fields, .size = sizeof(struct v_conf)};

static const cfg_field bad_default_fields[] = {
    {.name = "port",
     .type = CFG_INT,
     .offset = offsetof(struct v_conf, i),
     .def = "80",
     .min = 1024,
     .max = 65535},
    {.name = "dur", .type = CFG_DURATION, .offset = offsetof(struct v_conf, dur_ms), .def = "soon"},
    {0},
};

static const cfg_schema bad_default_schema = {.fields = bad_default_fields,
                                              .size = sizeof(struct v_conf)};

static cfg_errors errs;
static cfg_snapshot *snap;

static int setup(void **state)
{
    cfg_errors_init(&errs, NULL);
    snap = NULL;
    return 0;
}

static int teardown(void **state)
{
    cfg_snapshot_unref(snap);
    cfg_errors_release(&errs);
    assert_int_equal(cfg_snapshot_live_count(), 0);
    return 0;
}

/* Loads "key: text" and returns the data, or NULL after a failure. */
static const struct v_conf *load_value(const char *key, const char *text)
{
    char yaml[256];
    snprintf(yaml, sizeof(yaml), "%s: %s\n", key, text);
    cfg_snapshot_unref(snap);
    snap = NULL;
    cfg_errors_release(&errs);
    if (cfg_load_string(&schema, "v.yaml", yaml, strlen(yaml), &snap, &errs) < 0)
        return NULL;
    return cfg_snapshot_data(snap);
}

/* Loads "key: text", expects failure with the one message "v.yaml:1:COL: key: reason". */
static void assert_value_error(const char *key, const char *text, const char *reason)
{
    assert_null(load_value(key, text));
    char want[256];
    snprintf(want, sizeof(want), "v.yaml:1:%zu: %s: %s", strlen(key) + 3, key, reason);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0], want);
}

static void test_integers_parse_with_optional_sign(void **state)
{
    assert_int_equal(load_value("i", "42")->i, 42);
    assert_int_equal(load_value("i", "-7")->i, -7);
    assert_int_equal(load_value("i", "+3")->i, 3);
    assert_int_equal(load_value("i", "007")->i, 7);
    assert_int_equal(load_value("i", "9223372036854775807")->i, INT64_MAX);
    assert_int_equal(load_value("i", "-9223372036854775808")->i, INT64_MIN);
}

static void test_integer_errors_echo_the_text(void **state)
{
    assert_value_error("i", "1.5", "expected an integer, got '1.5'");
    assert_value_error("i", "0x10", "expected an integer, got '0x10'");
    assert_value_error("i", "\"\"", "expected an integer, got ''");
    assert_value_error("i", "\" 1\"", "expected an integer, got ' 1'");
    assert_value_error("i", "9223372036854775808",
                       "integer out of range, got '9223372036854775808'");
}

static void test_integer_bounds_are_inclusive(void **state)
{
    assert_int_equal(load_value("bounded", "-5")->bounded, -5);
    assert_int_equal(load_value("bounded", "5")->bounded, 5);
    assert_value_error("bounded", "6", "must be -5..5, got 6");
}

static void test_bools_accept_true_false_yes_no_on_off_in_any_case(void **state)
{
    const char *yes[] = {"true", "True", "YES", "yes", "on", "On"};
    const char *no[] = {"false", "FALSE", "no", "No", "off", "OFF"};
    for (size_t i = 0; i < 6; i++) {
        assert_true(load_value("b", yes[i])->b);
        assert_false(load_value("b", no[i])->b);
    }
    assert_value_error("b", "1", "expected true or false (or yes/no, on/off), got '1'");
}

static void test_enums_match_names_in_any_case_and_list_them_on_error(void **state)
{
    assert_int_equal(load_value("e", "green")->e, 1);
    assert_int_equal(load_value("e", "BLUE")->e, 2);
    assert_value_error("e", "purple", "must be one of red, green, blue, got 'purple'");
}

static void test_sizes_take_decimal_and_binary_units(void **state)
{
    assert_int_equal(load_value("size", "4096")->size, 4096);
    assert_int_equal(load_value("size", "10B")->size, 10);
    assert_int_equal(load_value("size", "10MB")->size, 10000000);
    assert_int_equal(load_value("size", "2kB")->size, 2000);
    assert_int_equal(load_value("size", "3 KiB")->size, 3072);
    assert_int_equal(load_value("size", "500GiB")->size, 500ull << 30);
    assert_int_equal(load_value("size", "1.5GiB")->size, 3ull << 29);
    assert_int_equal(load_value("size", "2TB")->size, 2000000000000ull);
    assert_int_equal(load_value("size", "4tib")->size, 4ull << 40);
    assert_int_equal(load_value("size", "0.5")->size, 0);
}

static void test_size_errors_show_the_accepted_forms(void **state)
{
    assert_value_error("size", "10XB", "expected a size such as 500GiB, 10MB or 4096, got '10XB'");
    assert_value_error("size", "GiB", "expected a size such as 500GiB, 10MB or 4096, got 'GiB'");
    assert_value_error("size", "-1", "expected a size such as 500GiB, 10MB or 4096, got '-1'");
    assert_value_error("size", "9000000TiB", "size too large, got '9000000TiB'");
    assert_value_error("size", "99999999999999999999",
                       "size too large, got '99999999999999999999'");
    assert_value_error(
        "size", "99999999999999999999XB",
        "expected a size such as 500GiB, 10MB or 4096, got '99999999999999999999XB'");
}

static void test_size_bounds_print_in_binary_units(void **state)
{
    assert_int_equal(load_value("bounded_size", "1MiB")->bounded_size, 1 << 20);
    assert_value_error("bounded_size", "512KiB", "must be 1MiB..1TiB, got 512KiB");
    assert_value_error("bounded_size", "2TiB", "must be 1MiB..1TiB, got 2TiB");
}

static void test_durations_take_units_and_bare_seconds(void **state)
{
    assert_int_equal(load_value("dur", "250ms")->dur_ms, 250);
    assert_int_equal(load_value("dur", "10s")->dur_ms, 10000);
    assert_int_equal(load_value("dur", "5m")->dur_ms, 300000);
    assert_int_equal(load_value("dur", "2h")->dur_ms, 7200000);
    assert_int_equal(load_value("dur", "14d")->dur_ms, 14 * 86400000ll);
    assert_int_equal(load_value("dur", "30")->dur_ms, 30000);
    assert_int_equal(load_value("dur", "1.5h")->dur_ms, 5400000);
    assert_int_equal(load_value("dur", "0.25")->dur_ms, 250);
    assert_int_equal(load_value("dur", "10 S")->dur_ms, 10000);
}

static void test_duration_errors_show_the_accepted_forms(void **state)
{
    const char *bad[] = {"-1s", "10w", "s", "1h30m", ".", "1e3"};
    for (size_t i = 0; i < 6; i++) {
        char reason[160];
        snprintf(reason, sizeof(reason),
                 "expected a duration such as 250ms, 10s, 5m, 2h, 14d or a number of seconds, "
                 "got '%s'",
                 bad[i]);
        assert_value_error("dur", bad[i], reason);
    }
    assert_value_error("dur", "999999999999999d", "duration too long, got '999999999999999d'");
}

static void test_duration_bounds_print_as_durations(void **state)
{
    assert_value_error("bounded_ms", "500ms", "must be 1s..1d, got 500ms");
    assert_value_error("bounded_ms", "25h", "must be 1s..1d, got 25h");
}

static void test_doubles_parse_finite_decimal_numbers(void **state)
{
    assert_true(load_value("d", "2.5")->d == 2.5);
    assert_true(load_value("d", "-1e3")->d == -1000.0);
    assert_true(load_value("d", "7")->d == 7.0);
    assert_value_error("d", "nan", "expected a number, got 'nan'");
    assert_value_error("d", "inf", "expected a number, got 'inf'");
    assert_value_error("d", "0x10", "expected a number, got '0x10'");
    assert_value_error("d", "1e999", "expected a number, got '1e999'");
    assert_value_error("d", "1.2.3", "expected a number, got '1.2.3'");
    assert_value_error("bounded_d", "2", "must be 0.5..1.5, got 2");
}

static void test_strings_keep_yaml_escapes_and_reject_nul(void **state)
{
    assert_string_equal(load_value("s", "\"tab\\there\"")->s, "tab\there");
    assert_string_equal(load_value("s", "yes")->s, "yes");
    assert_string_equal(load_value("s", "'0123'")->s, "0123");
    assert_value_error("s", "\"a\\0b\"", "contains a NUL byte");
}

static void test_long_or_binary_values_are_shortened_in_messages(void **state)
{
    assert_value_error("i", "\"1234567890123456789012345678901234567890abc\"",
                       "expected an integer, got '1234567890123456789012345678901234567890...'");
    assert_value_error("i", "\"a\\tb\"", "expected an integer, got 'a?b'");
}

static void test_defaults_go_through_the_same_parser(void **state)
{
    assert_int_equal(cfg_load_defaults(&default_schema, &snap, &errs), 0);
    const struct v_conf *c = cfg_snapshot_data(snap);
    assert_int_equal(c->i, -42);
    assert_true(c->b);
    assert_int_equal(c->e, 2);
    assert_int_equal(c->size, 10000000);
    assert_int_equal(c->dur_ms, 7200000);
    assert_true(c->d == 0.25);
    assert_string_equal(c->s, "hello");
}

static void test_invalid_defaults_are_reported_without_position(void **state)
{
    assert_int_equal(cfg_load_defaults(&bad_default_schema, &snap, &errs), HORUS_ECONFIG);
    assert_null(snap);
    assert_int_equal(errs.count, 2);
    assert_string_equal(errs.items[0], "<defaults>: port: must be 1024..65535, got 80");
    assert_string_equal(errs.items[1],
                        "<defaults>: dur: expected a duration such as 250ms, 10s, 5m, 2h, 14d or "
                        "a number of seconds, got 'soon'");
}

static void test_json_prints_sizes_as_integers_and_durations_that_parse_back(void **state)
{
    const char *cases[][2] = {
        {"0", "0s"},     {"250ms", "250ms"}, {"90", "90s"},        {"120", "2m"},
        {"1.5h", "90m"}, {"48h", "2d"},      {"1001ms", "1001ms"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        load_value("dur", cases[i][0]);
        json_t *j = cfg_snapshot_to_json(snap);
        const char *printed = json_string_value(json_object_get(j, "dur"));
        assert_string_equal(printed, cases[i][1]);
        int64_t want = ((const struct v_conf *)cfg_snapshot_data(snap))->dur_ms;
        assert_int_equal(load_value("dur", printed)->dur_ms, want);
        json_decref(j);
    }
    load_value("size", "1.5GiB");
    json_t *j = cfg_snapshot_to_json(snap);
    assert_int_equal(json_integer_value(json_object_get(j, "size")), 3ll << 29);
    assert_string_equal(json_string_value(json_object_get(j, "e")), "red");
    assert_true(json_is_null(json_object_get(j, "s")));
    json_decref(j);
}

static void test_ids_are_1_to_64_of_lowercase_digits_underscore_dash(void **state)
{
    (void)state;
    char err[128];
    const char *ok[] = {"a", "cam-1_b",
                        "0123456789012345678901234567890123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(cfg_validate_id(&ok[i], err, sizeof(err)), 0);
    const char *too_long = "01234567890123456789012345678901234567890123456789012345678901234";
    const char *empty = "", *none = NULL, *upper = "Cam", *slash = "a/b";
    assert_int_equal(cfg_validate_id(&too_long, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "must be 1..64 characters of [a-z0-9_-]");
    assert_int_equal(cfg_validate_id(&empty, err, sizeof(err)), -EINVAL);
    assert_int_equal(cfg_validate_id(&none, err, sizeof(err)), -EINVAL);
    assert_int_equal(cfg_validate_id(&upper, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "'C' is not allowed; use [a-z0-9_-]");
    assert_int_equal(cfg_validate_id(&slash, err, sizeof(err)), -EINVAL);
    assert_string_equal(err, "'/' is not allowed; use [a-z0-9_-]");
    /* cfg_is_id looks at s[0..n) only, up to its max. */
    assert_true(cfg_is_id("cam/rest", 3, CFG_ID_MAX));
    assert_false(cfg_is_id("cam/rest", 4, CFG_ID_MAX));
    assert_false(cfg_is_id("sub", 0, 16));
    assert_true(cfg_is_id("sub", 3, 3));
    assert_false(cfg_is_id("main", 4, 3));
    assert_false(cfg_is_id(NULL, 1, 16));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_ids_are_1_to_64_of_lowercase_digits_underscore_dash),
        T(test_integers_parse_with_optional_sign),
        T(test_integer_errors_echo_the_text),
        T(test_integer_bounds_are_inclusive),
        T(test_bools_accept_true_false_yes_no_on_off_in_any_case),
        T(test_enums_match_names_in_any_case_and_list_them_on_error),
        T(test_sizes_take_decimal_and_binary_units),
        T(test_size_errors_show_the_accepted_forms),
        T(test_size_bounds_print_in_binary_units),
        T(test_durations_take_units_and_bare_seconds),
        T(test_duration_errors_show_the_accepted_forms),
        T(test_duration_bounds_print_as_durations),
        T(test_doubles_parse_finite_decimal_numbers),
        T(test_strings_keep_yaml_escapes_and_reject_nul),
        T(test_long_or_binary_values_are_shortened_in_messages),
        T(test_defaults_go_through_the_same_parser),
        T(test_invalid_defaults_are_reported_without_position),
        T(test_json_prints_sizes_as_integers_and_durations_that_parse_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
