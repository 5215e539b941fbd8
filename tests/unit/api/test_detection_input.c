/*
 * Tests for src/api/detection_input.c (docs/design/0046): both framings
 * parsed into rows, every field's check with the item index and field in
 * the message, several errors in one message, and the batch limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "detections_int.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define NOW_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */
#define NOW_US (NOW_MS * 1000)

static int parse(const char *body, bool is_ndjson, size_t max, struct api_det_batch *b, char *why,
                 size_t cap)
{
    return api_det_batch_parse(body, strlen(body), is_ndjson, max, NOW_US, b, why, cap);
}

/* Asserts body is refused with rc and a message containing want. */
static void refused(const char *body, bool is_ndjson, int rc, const char *want)
{
    struct api_det_batch b;
    char why[512];
    assert_int_equal(parse(body, is_ndjson, 10, &b, why, sizeof(why)), rc);
    if (!strstr(why, want))
        fail_msg("'%s' does not contain '%s'", why, want);
    assert_null(b.rows);
    assert_int_equal(b.n, 0);
}

static void test_an_array_is_parsed_into_rows(void **state)
{
    (void)state;
    struct api_det_batch b;
    char why[512];
    const char *body =
        "[{\"camera\":\"cam-a\",\"time\":1767225600000,\"label\":\"person\",\"score\":0.9,"
        "\"box\":[0.1,0.2,0.3,0.4],\"track_id\":42,\"attributes\":{\"c\":\"red\"}},"
        "{\"camera\":\"cam-b\",\"time\":\"2025-12-31T23:59:00.500Z\",\"label\":\"car\","
        "\"score\":0,\"box\":[0,0,1,1],\"track_id\":\"t-1\"}]";
    assert_int_equal(parse(body, false, 10, &b, why, sizeof(why)), 0);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.rows[0].camera_id, "cam-a");
    assert_int_equal(b.rows[0].time_us, NOW_US);
    assert_string_equal(b.rows[0].label, "person");
    assert_true(b.rows[0].score == 0.9 && b.rows[0].x0 == 0.1 && b.rows[0].y1 == 0.4);
    assert_string_equal(b.rows[0].track_id, "42");
    assert_string_equal(b.rows[0].attributes, "{\"c\":\"red\"}");
    assert_int_equal(b.rows[1].time_us, NOW_US - 59500000);
    assert_string_equal(b.rows[1].track_id, "t-1");
    assert_null(b.rows[1].attributes);
    api_det_batch_release(&b);
}

static void test_ndjson_skips_blank_lines_and_names_lines_that_do_not_parse(void **state)
{
    (void)state;
    struct api_det_batch b;
    char why[512];
    const char *body = "\n{\"camera\":\"a\",\"time\":1767225600000,\"label\":\"x\",\"score\":1,"
                       "\"box\":[0,0,0.5,0.5]}\r\n  \n"
                       "{\"camera\":\"b\",\"time\":1767225600000,\"label\":\"y\",\"score\":1,"
                       "\"box\":[0,0,0.5,0.5]}";
    assert_int_equal(parse(body, true, 10, &b, why, sizeof(why)), 0);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.rows[1].camera_id, "b");
    api_det_batch_release(&b);
    refused("{\"camera\":\"a\"}\n{nope\n", true, -EINVAL, "items[1]: not JSON (line 2");
}

static void test_each_field_is_checked_and_named(void **state)
{
    (void)state;
#define ITEM(fields) "[{\"camera\":\"a\",\"label\":\"x\",\"score\":1," fields "}]"
    refused(ITEM("\"time\":1767225600000,\"box\":[0.5,0,0.4,1]"), false, -EINVAL,
            "items[0].box: x1 must be > x0");
    refused(ITEM("\"time\":1767225600000,\"box\":[0,0.5,1,0.5]"), false, -EINVAL,
            "items[0].box: y1 must be > y0");
    refused(ITEM("\"time\":1767225600000,\"box\":[0,0,1,1.01]"), false, -EINVAL,
            "items[0].box: y1 must be a number 0..1");
    refused(ITEM("\"time\":1767225600000,\"box\":[0,0,1]"), false, -EINVAL,
            "items[0].box: must be [x0, y0, x1, y1]");
    refused(ITEM("\"time\":1767225960000,\"box\":[0,0,1,1]"), false, -EINVAL,
            "items[0].time: more than 5 minutes in the future");
    refused(ITEM("\"time\":1764000000000,\"box\":[0,0,1,1]"), false, -EINVAL,
            "items[0].time: more than 30 days in the past");
    refused(ITEM("\"time\":\"yesterday\",\"box\":[0,0,1,1]"), false, -EINVAL,
            "items[0].time: must be an RFC 3339 time");
    refused(ITEM("\"time\":1767225600000,\"box\":[0,0,1,1],\"track_id\":[1]"), false, -EINVAL,
            "items[0].track_id");
    refused(ITEM("\"time\":1767225600000,\"box\":[0,0,1,1],\"attributes\":\"x\""), false, -EINVAL,
            "items[0].attributes: must be a JSON object");
    refused(ITEM("\"time\":1767225600000,\"box\":[0,0,1,1],\"zone\":\"x\""), false, -EINVAL,
            "items[0].zone: unknown field");
    refused(ITEM("\"box\":[0,0,1,1]"), false, -EINVAL, "items[0].time: is required");
    refused("[{\"camera\":\"a\",\"time\":1767225600000,\"label\":\"\",\"score\":1,"
            "\"box\":[0,0,1,1]}]",
            false, -EINVAL, "items[0].label: must be 1..63 characters");
    refused("[{\"camera\":\"a\",\"time\":1767225600000,\"label\":\"x\",\"score\":1.5,"
            "\"box\":[0,0,1,1]}]",
            false, -EINVAL, "items[0].score: must be a number 0..1");
    refused("[1]", false, -EINVAL, "items[0]: must be an object");
    refused("{}", false, -EINVAL, "body: must be a JSON array");
    refused("[", false, -EINVAL, "body: not JSON at line 1");
    refused("[]", false, -EINVAL, "items: the batch is empty");
#undef ITEM
}

static void test_the_first_errors_are_listed_and_the_rest_counted(void **state)
{
    (void)state;
    char body[2048] = "[";
    for (int i = 0; i < 8; i++)
        strcat(body, i ? ",{\"camera\":\"a\"}" : "{\"camera\":\"a\"}");
    strcat(body, "]");
    refused(body, false, -EINVAL, "items[0].time: is required; items[0].label: is required");
    /* 8 items with 4 missing fields each: 5 listed, 27 counted. */
    refused(body, false, -EINVAL, "(and 27 more)");
}

static void test_more_items_than_the_limit_are_too_big_in_either_framing(void **state)
{
    (void)state;
    char body[4096] = "[";
    char lines[4096] = "";
    for (int i = 0; i < 11; i++) {
        strcat(body, i ? ",{}" : "{}");
        strcat(lines, "{}\n");
    }
    strcat(body, "]");
    refused(body, false, HORUS_ETOOBIG, "at most 10 detections (detections.max_items)");
    refused(lines, true, HORUS_ETOOBIG, "at most 10 detections");
}

static void test_an_idempotency_key_is_1_to_128_printable_ascii(void **state)
{
    (void)state;
    char why[160];
    assert_int_equal(api_det_idem_key_check("batch-7f3a:2026-12-03 ~!", why, sizeof(why)), 0);
    char longest[API_DET_IDEM_KEY_MAX + 2];
    memset(longest, 'k', API_DET_IDEM_KEY_MAX);
    longest[API_DET_IDEM_KEY_MAX] = '\0';
    assert_int_equal(api_det_idem_key_check(longest, why, sizeof(why)), 0);
    longest[API_DET_IDEM_KEY_MAX] = 'k';
    longest[API_DET_IDEM_KEY_MAX + 1] = '\0';
    assert_int_equal(api_det_idem_key_check(longest, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "Idempotency-Key: must be 1..128 characters, got 129");
    assert_int_equal(api_det_idem_key_check("", why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "Idempotency-Key: must be 1..128 characters, got 0");
    assert_int_equal(api_det_idem_key_check("ab\tc", why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "Idempotency-Key: character 3 is not printable ASCII (0x20..0x7e)");
    assert_int_equal(api_det_idem_key_check("caf\xc3\xa9", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "character 4"));
    assert_int_equal(api_det_idem_key_check("a\x7f", why, sizeof(why)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_array_is_parsed_into_rows),
        cmocka_unit_test(test_ndjson_skips_blank_lines_and_names_lines_that_do_not_parse),
        cmocka_unit_test(test_each_field_is_checked_and_named),
        cmocka_unit_test(test_the_first_errors_are_listed_and_the_rest_counted),
        cmocka_unit_test(test_more_items_than_the_limit_are_too_big_in_either_framing),
        cmocka_unit_test(test_an_idempotency_key_is_1_to_128_printable_ascii),
    };
    return cmocka_run_group_tests_name("api.detection_input", tests, NULL, NULL);
}
