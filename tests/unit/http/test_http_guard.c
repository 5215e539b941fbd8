/*
 * Tests for src/http/http_guard.c: which Host headers name this server,
 * which Origins may change things, and the media types a route takes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "http.h"
#include "http_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static void test_hosts_are_checked_by_name_and_address_with_the_port_ignored(void **state)
{
    (void)state;
    const char *const names[] = {"nvr.home.arpa", "*.cams.example", "[fd00::5]"};
    struct http_server_options opt = {.listen = "nvr.lan:8080",
                                      .hostnames = names,
                                      .nhostnames = 3,
                                      .public_url = "https://Public.Example.com:8443/x"};
    http_guard *g = http_guard_new(&opt);
    static const char *const ok[] = {
        "localhost",      "localhost:80",       "LocalHost.",
        "a.localhost",    "127.0.0.1",          "127.1.2.3:9",
        "[::1]",          "[::1]:8080",         "nvr.lan",
        "nvr.lan:1",      "nvr.home.arpa",      "NVR.HOME.ARPA.",
        "x.cams.example", "a.b.cams.example",   "public.example.com",
        "[fd00::5]:1",    "[::ffff:127.0.0.1]", NULL,
    };
    for (const char *const *h = ok; *h; h++)
        if (!http_guard_host_is_allowed(g, *h))
            fail_msg("host '%s' refused", *h);
    static const char *const bad[] = {
        "evil.example",
        "cams.example",
        "xcams.example",
        "localhost.evil",
        "nvr.lan.evil",
        "0.0.0.0",
        "192.0.2.77",
        "[2001:db8::1]",
        "::1",
        "host:0",
        "host:65536",
        "host:x",
        "",
        ":80",
        "[::1",
        "a b",
        "127.0.0.1.nip.io",
        "[::1]x",
        NULL,
    };
    for (const char *const *h = bad; *h; h++)
        if (http_guard_host_is_allowed(g, *h))
            fail_msg("host '%s' allowed", *h);
    assert_true(http_guard_host_is_allowed(g, NULL)); /* HTTP/1.0 */
    char me[256];
    if (gethostname(me, sizeof(me)) == 0 && me[0])
        assert_true(http_guard_host_is_allowed(g, me));
    http_guard_free(g);
}

static void test_origins_must_be_this_server_public_url_or_a_listed_cors_origin(void **state)
{
    (void)state;
    const char *const cors[] = {"*", "https://ui.example.com"};
    struct http_server_options opt = {.listen = "127.0.0.1:8080",
                                      .cors_origins = cors,
                                      .ncors_origins = 2,
                                      .public_url = "https://nvr.example.com/horus"};
    http_guard *g = http_guard_new(&opt);
    assert_true(http_guard_origin_is_allowed(g, "http://127.0.0.1:8080", "127.0.0.1:8080"));
    assert_true(http_guard_origin_is_allowed(g, "http://nvr.lan", "nvr.lan"));
    assert_true(http_guard_origin_is_allowed(g, "https://nvr.lan", "nvr.lan"));
    assert_true(http_guard_origin_is_allowed(g, "http://NVR.lan:80", "nvr.lan"));
    assert_true(http_guard_origin_is_allowed(g, "https://nvr.example.com", "127.0.0.1:8080"));
    assert_true(http_guard_origin_is_allowed(g, "https://nvr.example.com:443", "127.0.0.1:8080"));
    assert_true(http_guard_origin_is_allowed(g, "https://ui.example.com", "127.0.0.1:8080"));
    assert_false(http_guard_origin_is_allowed(g, "http://127.0.0.1:8081", "127.0.0.1:8080"));
    assert_false(http_guard_origin_is_allowed(g, "https://nvr.lan", "nvr.lan:80"));
    assert_false(http_guard_origin_is_allowed(g, "http://nvr.example.com", "127.0.0.1:8080"));
    assert_false(http_guard_origin_is_allowed(g, "https://evil.example", "127.0.0.1:8080"));
    assert_false(http_guard_origin_is_allowed(g, "null", "127.0.0.1:8080"));
    assert_false(http_guard_origin_is_allowed(g, "*", "127.0.0.1:8080"));
    assert_false(http_guard_origin_is_allowed(g, "http://u@127.0.0.1:8080", "127.0.0.1:8080"));
    assert_false(http_guard_origin_is_allowed(g, "http://127.0.0.1:8080/", "127.0.0.1:8080"));
    assert_false(http_guard_origin_is_allowed(g, "ftp://127.0.0.1:8080", "127.0.0.1:8080"));
    assert_false(http_guard_origin_is_allowed(g, "http://127.0.0.1:8080", NULL));
    http_guard_free(g);
}

static void test_hostname_entries_are_validated(void **state)
{
    (void)state;
    assert_true(http_hostname_is_valid("nvr.example.com"));
    assert_true(http_hostname_is_valid("*.example.com"));
    assert_true(http_hostname_is_valid("192.0.2.5"));
    assert_true(http_hostname_is_valid("[2001:db8::1]"));
    assert_true(http_hostname_is_valid("2001:db8::1"));
    assert_false(http_hostname_is_valid(""));
    assert_false(http_hostname_is_valid("*."));
    assert_false(http_hostname_is_valid("a b"));
    assert_false(http_hostname_is_valid("http://x"));
    assert_false(http_hostname_is_valid("x:80"));
    assert_false(http_hostname_is_valid("[zz]"));
    assert_false(http_hostname_is_valid(NULL));
}

static void test_media_types_match_without_parameters_or_case(void **state)
{
    (void)state;
    assert_true(http_media_type_is_accepted(NULL, "application/json"));
    assert_true(http_media_type_is_accepted(NULL, "Application/JSON; charset=utf-8"));
    assert_true(http_media_type_is_accepted(NULL, " application/json"));
    assert_false(http_media_type_is_accepted(NULL, "text/plain"));
    assert_false(http_media_type_is_accepted(NULL, "application/jsonx"));
    assert_false(http_media_type_is_accepted(NULL, "application/json+x"));
    assert_false(http_media_type_is_accepted(NULL, ""));
    assert_false(http_media_type_is_accepted(NULL, NULL));
    const char *types = "application/json, application/octet-stream";
    assert_true(http_media_type_is_accepted(types, "application/octet-stream"));
    assert_true(http_media_type_is_accepted(types, "application/json"));
    assert_false(http_media_type_is_accepted(types, "application/octet"));
}

static int noop(http_request *req, void *arg)
{
    (void)req;
    (void)arg;
    return 0;
}

static void test_a_route_can_declare_its_body_types(void **state)
{
    (void)state;
    http_router *r = http_router_new();
    assert_int_equal(http_router_add(r, "POST", "/a/{id}", noop, NULL), 0);
    assert_int_equal(http_router_add(r, "PUT", "/a/{id}", noop, NULL), 0);
    assert_int_equal(http_router_set_body_types(r, "POST", "/a/{id}", "image/jpeg"), 0);
    assert_int_equal(http_router_set_body_types(r, "GET", "/a/{id}", "image/jpeg"), -ENOENT);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "POST", "/a/1", &m), 0);
    assert_string_equal(m.body_types, "image/jpeg");
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "PUT", "/a/1", &m), 0);
    assert_null(m.body_types);
    http_route_match_release(&m);
    assert_int_equal(http_router_set_body_types(r, "POST", "/a/{id}", NULL), 0);
    assert_int_equal(http_router_match(r, "POST", "/a/1", &m), 0);
    assert_null(m.body_types);
    http_route_match_release(&m);
    assert_true(http_method_is_state_changing("DELETE"));
    assert_false(http_method_is_state_changing("GET"));
    assert_false(http_method_is_state_changing("OPTIONS"));
    http_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hosts_are_checked_by_name_and_address_with_the_port_ignored),
        cmocka_unit_test(test_origins_must_be_this_server_public_url_or_a_listed_cors_origin),
        cmocka_unit_test(test_hostname_entries_are_validated),
        cmocka_unit_test(test_media_types_match_without_parameters_or_case),
        cmocka_unit_test(test_a_route_can_declare_its_body_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
