/*
 * Tests for src/http/http_addr.c: address and network parsing, network
 * membership, and the X-Forwarded-For reading against hostile values
 * (spaces, ports, bracketed IPv6, garbage, spoofed hops, many hops).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct http_addr addr(const char *s)
{
    struct http_addr a;
    if (http_addr_parse(s, strlen(s), &a) != 0)
        fail_msg("'%s' does not parse", s);
    return a;
}

static const char *text(const struct http_addr *a)
{
    static char buf[64];
    http_addr_format(a, buf, sizeof(buf));
    return buf;
}

static void test_addresses_parse_and_format_back(void **state)
{
    (void)state;
    struct http_addr a = addr("192.0.2.1");
    assert_int_equal(a.family, 4);
    assert_string_equal(text(&a), "192.0.2.1");
    a = addr("2001:DB8::1");
    assert_int_equal(a.family, 6);
    assert_string_equal(text(&a), "2001:db8::1");
    /* IPv4-mapped IPv6 is the IPv4 address, so both spellings share one bucket. */
    a = addr("::ffff:192.0.2.1");
    assert_int_equal(a.family, 4);
    assert_string_equal(text(&a), "192.0.2.1");
    struct http_addr none = {0};
    assert_string_equal(text(&none), "unknown");
}

static void test_malformed_addresses_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"",          "1.2.3",    "1.2.3.4.5",    "256.1.1.1", "01.2.3.4x",
                         " 1.2.3.4",  "1.2.3.4 ", "fe80::1%eth0", "::g",       "1:2:3:4:5:6:7:8:9",
                         "localhost", "[::1]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_addr a = {.family = 9};
        if (http_addr_parse(bad[i], strlen(bad[i]), &a) != -EINVAL)
            fail_msg("'%s' parsed", bad[i]);
        assert_int_equal(a.family, 9);
    }
    char nul[] = "1.2.3.4\0"
                 "5";
    struct http_addr a;
    assert_int_equal(http_addr_parse(nul, sizeof(nul) - 1, &a), -EINVAL);
    char longer[200];
    memset(longer, '1', sizeof(longer));
    assert_int_equal(http_addr_parse(longer, sizeof(longer), &a), -EINVAL);
}

static void test_networks_match_their_prefix_only(void **state)
{
    (void)state;
    struct http_cidr c[3];
    assert_int_equal(http_cidr_parse("10.1.2.3/8", &c[0]), 0);
    assert_int_equal(c[0].prefix_bits, 8);
    assert_string_equal(text(&c[0].addr), "10.0.0.0"); /* host bits cleared */
    assert_int_equal(http_cidr_parse("2001:db8::/33", &c[1]), 0);
    assert_int_equal(http_cidr_parse("192.0.2.7", &c[2]), 0);
    assert_int_equal(c[2].prefix_bits, 32);

    struct http_addr in[] = {addr("10.255.0.1"), addr("2001:db8:7fff::1"), addr("192.0.2.7"),
                             addr("::ffff:10.0.0.1")};
    for (size_t i = 0; i < 4; i++)
        assert_true(http_cidr_list_match(c, 3, &in[i]));
    struct http_addr out[] = {addr("11.0.0.1"), addr("2001:db8:8000::1"), addr("192.0.2.8"),
                              addr("::a00:1")};
    for (size_t i = 0; i < 4; i++)
        assert_false(http_cidr_list_match(c, 3, &out[i]));
    struct http_addr none = {0};
    assert_false(http_cidr_list_match(c, 3, &none));

    struct http_cidr all;
    assert_int_equal(http_cidr_parse("0.0.0.0/0", &all), 0);
    assert_true(http_cidr_list_match(&all, 1, &in[0]));
    assert_false(http_cidr_list_match(&all, 1, &in[1])); /* families never mix */
}

static void test_malformed_networks_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {"10.0.0.0/33", "::/129", "10.0.0.0/",     "10.0.0.0/-1", "10.0.0.0/+8",
                         "10.0.0.0/8x", "/8",     "10.0.0.0/0008", "x/8",         "10.0.0.0/8/8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_cidr c;
        if (http_cidr_parse(bad[i], &c) != -EINVAL)
            fail_msg("'%s' parsed", bad[i]);
    }
    struct http_cidr c;
    assert_int_equal(http_cidr_parse(NULL, &c), -EINVAL);
}

/* Resolves values (joined as separate header lines) from peer with the trusted list. */
static const char *resolve(const char *peer, const char *const *values, size_t n,
                           const char *const *trusted, size_t ntrusted)
{
    struct http_cidr t[8];
    for (size_t i = 0; i < ntrusted; i++)
        assert_int_equal(http_cidr_parse(trusted[i], &t[i]), 0);
    struct http_addr p = addr(peer);
    struct http_addr c = http_client_addr_resolve(&p, values, n, t, ntrusted);
    return text(&c);
}

static const char *const proxies[] = {"127.0.0.1", "10.0.0.0/8", "fd00::/8"};

static const char *one(const char *peer, const char *xff)
{
    return resolve(peer, &xff, 1, proxies, 3);
}

static void test_forwarded_for_is_ignored_from_untrusted_peers(void **state)
{
    (void)state;
    assert_string_equal(one("192.0.2.9", "203.0.113.5"), "192.0.2.9");
    const char *xff = "203.0.113.5";
    assert_string_equal(resolve("127.0.0.1", &xff, 1, NULL, 0), "127.0.0.1");
    assert_string_equal(resolve("127.0.0.1", NULL, 0, proxies, 3), "127.0.0.1");
}

static void test_the_right_most_untrusted_hop_is_the_client(void **state)
{
    (void)state;
    assert_string_equal(one("127.0.0.1", "203.0.113.5"), "203.0.113.5");
    /* A client that writes its own header cannot choose its address. */
    assert_string_equal(one("127.0.0.1", "198.51.100.1, 203.0.113.5"), "203.0.113.5");
    assert_string_equal(one("127.0.0.1", "198.51.100.1, 203.0.113.5, 10.9.9.9, 10.1.1.1"),
                        "203.0.113.5");
    /* Only trusted hops: the left-most of them. */
    assert_string_equal(one("127.0.0.1", "10.2.2.2, 10.1.1.1"), "10.2.2.2");
    /* Several header lines read as one list, in order. */
    const char *lines[] = {"198.51.100.1", "203.0.113.5, 10.0.0.1", "10.0.0.2"};
    assert_string_equal(resolve("127.0.0.1", lines, 3, proxies, 3), "203.0.113.5");
    assert_string_equal(one("fd00::1", "2001:db8::5"), "2001:db8::5");
}

static void test_spaces_ports_and_brackets_are_understood(void **state)
{
    (void)state;
    assert_string_equal(one("127.0.0.1", " \t203.0.113.5 \t"), "203.0.113.5");
    assert_string_equal(one("127.0.0.1", "203.0.113.5:4711"), "203.0.113.5");
    assert_string_equal(one("127.0.0.1", "[2001:db8::5]"), "2001:db8::5");
    assert_string_equal(one("127.0.0.1", "[2001:db8::5]:443"), "2001:db8::5");
    assert_string_equal(one("127.0.0.1", "2001:db8::5"), "2001:db8::5");
    assert_string_equal(one("127.0.0.1", "203.0.113.5,,  ,"), "203.0.113.5");
    assert_string_equal(one("127.0.0.1", "::ffff:203.0.113.5"), "203.0.113.5");
}

static void test_garbage_stops_at_the_proxy_that_passed_it(void **state)
{
    (void)state;
    const char *garbage[] = {
        "unknown",           "_hidden",
        "203.0.113.5:",      "203.0.113.5:99999",
        "203.0.113.5:80:80", "[2001:db8::5",
        "[2001:db8::5]x",    "[203.0.113.5]",
        "[2001:db8::5]:",    "\"203.0.113.5\"",
        "203.0.113.5;x=1",   "fe80::1%25eth0",
        "2001:db8::5:",      "203.0.113.5 198.51.100.1",
        "\x01\x02",
    };
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        const char *got = one("127.0.0.1", garbage[i]);
        if (strcmp(got, "127.0.0.1") != 0)
            fail_msg("'%s' gave %s", garbage[i], got);
    }
    /* Behind two trusted hops, the walk ends at the last trusted one. */
    assert_string_equal(one("127.0.0.1", "203.0.113.5, junk, 10.0.0.7"), "10.0.0.7");
    /* Garbage left of the client is never reached. */
    assert_string_equal(one("127.0.0.1", "junk, 203.0.113.5"), "203.0.113.5");
}

static void test_long_chains_of_hops_are_cut_off(void **state)
{
    (void)state;
    char xff[4096] = "203.0.113.5";
    for (int i = 0; i < HTTP_XFF_MAX_HOPS - 1; i++) {
        char hop[32];
        snprintf(hop, sizeof(hop), ", 10.0.0.%d", i + 1);
        strcat(xff, hop);
    }
    /* HTTP_XFF_MAX_HOPS hops: the client is the last one examined. */
    assert_string_equal(one("127.0.0.1", xff), "203.0.113.5");
    char more[sizeof(xff) + 16];
    snprintf(more, sizeof(more), "%s, 10.0.0.200", xff);
    /* One more: the walk stops at the last trusted hop it examined. */
    assert_string_equal(one("127.0.0.1", more), "10.0.0.1");
    /* Many empty elements cost nothing and count as no hop. */
    char commas[3000];
    memset(commas, ',', sizeof(commas) - 20);
    strcpy(commas + sizeof(commas) - 20, "203.0.113.5");
    assert_string_equal(one("127.0.0.1", commas), "203.0.113.5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses_parse_and_format_back),
        cmocka_unit_test(test_malformed_addresses_are_refused),
        cmocka_unit_test(test_networks_match_their_prefix_only),
        cmocka_unit_test(test_malformed_networks_are_refused),
        cmocka_unit_test(test_forwarded_for_is_ignored_from_untrusted_peers),
        cmocka_unit_test(test_the_right_most_untrusted_hop_is_the_client),
        cmocka_unit_test(test_spaces_ports_and_brackets_are_understood),
        cmocka_unit_test(test_garbage_stops_at_the_proxy_that_passed_it),
        cmocka_unit_test(test_long_chains_of_hops_are_cut_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
