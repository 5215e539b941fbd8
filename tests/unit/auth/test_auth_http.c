/* Tests src/auth/auth_http.c: the bearer, cookie and origin parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_bearer_tokens_are_taken_only_from_the_bearer_scheme(void **state)
{
    char out[AUTH_TOKEN_MAX + 1];
    assert_int_equal(auth_bearer_parse("Bearer abc.DEF-_~+/=", out, sizeof(out)), 0);
    assert_string_equal(out, "abc.DEF-_~+/=");
    assert_int_equal(auth_bearer_parse("bearer   x", out, sizeof(out)), 0);
    assert_string_equal(out, "x");
    assert_int_equal(auth_bearer_parse(NULL, out, sizeof(out)), -ENOENT);
    assert_int_equal(auth_bearer_parse("Basic YTpi", out, sizeof(out)), -ENOENT);
    assert_int_equal(auth_bearer_parse("Bearerx", out, sizeof(out)), -ENOENT);
    assert_int_equal(auth_bearer_parse("Bearer", out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_bearer_parse("Bearer a b", out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_bearer_parse("Bearer a\"", out, sizeof(out)), -EINVAL);
    char *huge = malloc(AUTH_TOKEN_MAX + 16);
    memcpy(huge, "Bearer ", 7);
    memset(huge + 7, 'a', AUTH_TOKEN_MAX + 1);
    huge[7 + AUTH_TOKEN_MAX + 1] = '\0';
    assert_int_equal(auth_bearer_parse(huge, out, sizeof(out)), -EINVAL);
    free(huge);
}

static void test_cookies_are_found_by_exact_name_once(void **state)
{
    char out[64];
    assert_int_equal(
        auth_cookie_get("a=1; horus_session=tok; b=2", "horus_session", out, sizeof(out)), 0);
    assert_string_equal(out, "tok");
    assert_int_equal(auth_cookie_get("horus_session=\"q\"", "horus_session", out, sizeof(out)), 0);
    assert_string_equal(out, "q");
    assert_int_equal(auth_cookie_get("xhorus_session=1", "horus_session", out, sizeof(out)),
                     -ENOENT);
    assert_int_equal(auth_cookie_get(NULL, "horus_session", out, sizeof(out)), -ENOENT);
    assert_int_equal(
        auth_cookie_get("horus_session=1; horus_session=2", "horus_session", out, sizeof(out)),
        -EINVAL);
    assert_int_equal(auth_cookie_get("horus_session=a\\b", "horus_session", out, sizeof(out)),
                     -EINVAL);
    assert_int_equal(auth_cookie_get("horus_session=0123456789", "horus_session", out, 8), -EINVAL);
}

static void test_same_origin_compares_scheme_host_and_port(void **state)
{
    assert_true(auth_origin_is_same("http://h:8080", "h:8080", NULL));
    assert_true(auth_origin_is_same("https://h:8080", "h:8080", ""));
    assert_true(auth_origin_is_same("http://h:8080/ui/page?x", "h:8080", NULL)); /* Referer */
    assert_false(auth_origin_is_same("http://h:8081", "h:8080", NULL));
    assert_false(auth_origin_is_same("http://h:8080.evil", "h:8080", NULL));
    assert_false(auth_origin_is_same("null", "h:8080", NULL));
    assert_false(auth_origin_is_same(NULL, "h:8080", NULL));
    assert_false(auth_origin_is_same("http://h:8080", NULL, NULL));
    assert_true(auth_origin_is_same("https://vms.example.com", "127.0.0.1:8080",
                                    "https://vms.example.com/"));
    assert_false(auth_origin_is_same("https://vms.example.com.evil", "127.0.0.1:8080",
                                     "https://vms.example.com/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer_tokens_are_taken_only_from_the_bearer_scheme),
        cmocka_unit_test(test_cookies_are_found_by_exact_name_once),
        cmocka_unit_test(test_same_origin_compares_scheme_host_and_port),
    };
    return cmocka_run_group_tests_name("auth.auth_http", tests, NULL, NULL);
}
