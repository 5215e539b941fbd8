/*
 * Tests for src/ingest/url.c: the camera URL check the API and horus.yaml
 * use, which must accept what the native client parses and refuse, with a
 * reason, what it cannot.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ingest.h"

#include <errno.h>
#include <string.h>

static void expect_ok(const char *url)
{
    char why[128] = "unchanged";
    if (ing_url_check(url, why, sizeof(why)) != 0)
        fail_msg("'%s' refused: %s", url, why);
    assert_string_equal(why, "");
}

static void expect_refused(const char *url, const char *reason)
{
    char why[128] = "";
    assert_int_equal(ing_url_check(url, why, sizeof(why)), -EINVAL);
    if (!strstr(why, reason))
        fail_msg("'%s': reason '%s' lacks '%s'", url, why, reason);
}

static void test_urls_the_client_uses_pass(void **state)
{
    expect_ok("rtsp://h/");
    expect_ok("rtsp://h");
    expect_ok("rtsp://192.0.2.10/s1");
    expect_ok("rtsp://camera-1.local:8554/live/ch1?x=1&y=2");
    expect_ok("rtsps://cam.example:322/stream");
    expect_ok("rtsp://admin:hunter22@192.0.2.10/s1");
    expect_ok("rtsp://admin:***@192.0.2.10/s1"); /* a masked URL sent back */
    expect_ok("rtsp://ad%40min:p%3Ass@w@10.0.0.5:1/x"); /* '@' in the password */
    expect_ok("rtsp://viewer:${GATE_PASS}@192.0.2.20/live");
    expect_ok("rtsp://[2001:db8::1]:554/s");
    expect_ok("rtsp://[::1]/s");
    expect_ok("rtsp://127.0.0.1:65535/");
}

static void test_unparsable_urls_are_refused_with_a_reason(void **state)
{
    expect_refused(NULL, "is empty");
    expect_refused("", "is empty");
    expect_refused("http://h/", "must start with rtsp:// or rtsps://");
    expect_refused("ftp://x", "must start with rtsp://");
    expect_refused("rtsp:/h/", "must start with rtsp://");
    expect_refused("rtsp://", "has no host");
    expect_refused("rtsp:///path", "has no host");
    expect_refused("rtsp://user:pw@/path", "has no host");
    expect_refused("rtsp://:554/", "has no host");
    expect_refused("rtsp://[]/", "has no host");
    expect_refused("rtsp://[::1/", "closing ']'");
    expect_refused("rtsp://[::1]x/", "':port'");
    expect_refused("rtsp://h:0/", "port must be a number 1..65535");
    expect_refused("rtsp://h:65536/", "port must be");
    expect_refused("rtsp://h:99999999999999999999999/", "port must be");
    expect_refused("rtsp://h:/", "port must be");
    expect_refused("rtsp://h:-1/", "port must be");
    expect_refused("rtsp://h:80a/", "port must be");
    expect_refused("rtsp://h/a b", "spaces or control characters");
    expect_refused("rtsp://h/\r\nX: y", "spaces or control characters");
    expect_refused("rtsp://h\t/", "spaces or control characters");
    expect_refused("rtsp://u%zz:p@h/", "cannot be parsed");
}

static void test_reasons_never_quote_the_password(void **state)
{
    char why[128];
    assert_int_equal(ing_url_check("rtsp://admin:s3cret@h:0/", why, sizeof(why)), -EINVAL);
    assert_null(strstr(why, "s3cret"));
    assert_int_equal(ing_url_check("rtsp://admin:s3cret%zz@h/", why, sizeof(why)), -EINVAL);
    assert_null(strstr(why, "s3cret"));
}

static void test_length_is_bounded_and_why_may_be_null(void **state)
{
    char url[ING_URL_MAX + 16];
    memcpy(url, "rtsp://h/", 9);
    memset(url + 9, 'a', sizeof(url) - 10);
    url[ING_URL_MAX + 1] = '\0';
    expect_refused(url, "longer than 1000 characters");
    assert_int_equal(ing_url_check("nope", NULL, 0), -EINVAL);
    assert_int_equal(ing_url_check("rtsp://h/", NULL, 0), 0);
    char tiny[4];
    assert_int_equal(ing_url_check("nope", tiny, sizeof(tiny)), -EINVAL);
    assert_int_equal(strlen(tiny), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls_the_client_uses_pass),
        cmocka_unit_test(test_unparsable_urls_are_refused_with_a_reason),
        cmocka_unit_test(test_reasons_never_quote_the_password),
        cmocka_unit_test(test_length_is_bounded_and_why_may_be_null),
    };
    return cmocka_run_group_tests_name("ingest.url", tests, NULL, NULL);
}
