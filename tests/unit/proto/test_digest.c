/*
 * Tests for src/proto/rtsp/digest.c: auth-params of challenges and
 * credentials, MD5 and hex, and the Digest response (RFC 2617's own
 * example, with and without qop).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtsp_proto.h"

#include "err.h"

#include <errno.h>
#include <string.h>

static void test_md5_and_hex_match_rfc_1321(void **state)
{
    char hex[33];
    rtsp_md5_hex("", 0, hex);
    assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
    rtsp_md5_hex("abc", 3, hex);
    assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
    static const uint8_t raw[] = {0x00, 0x0f, 0xa5, 0xff};
    char out[9];
    rtsp_hex_encode(raw, sizeof(raw), out);
    assert_string_equal(out, "000fa5ff");
}

static void test_a_challenge_parses_with_quotes_escapes_and_lists(void **state)
{
    struct rtsp_auth_params p;
    assert_int_equal(rtsp_auth_parse(rtsp_span_of("Digest realm=\"testrealm@host.com\", "
                                                  "qop=\"auth,auth-int\", stale=TRUE, "
                                                  "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
                                                  "opaque=\"5c\\\"cc\", bare, x=\"y, z\""),
                                     &p),
                     0);
    assert_true(rtsp_span_eq(p.scheme, "Digest"));
    assert_string_equal(p.realm, "testrealm@host.com");
    assert_string_equal(p.qop, "auth,auth-int");
    assert_true(rtsp_list_has(rtsp_span_of(p.qop), "auth"));
    assert_string_equal(p.stale, "TRUE");
    assert_true(p.has_nonce && p.has_opaque);
    assert_string_equal(p.opaque, "5c\"cc");
    assert_string_equal(p.username, "");
}

static void test_credentials_parse_and_bad_ones_fail(void **state)
{
    struct rtsp_auth_params p;
    assert_int_equal(rtsp_auth_parse(rtsp_span_of("Digest username=\"Mufasa\",uri=\"/dir\","
                                                  "nc=00000001, response=abc123"),
                                     &p),
                     0);
    assert_string_equal(p.username, "Mufasa");
    assert_string_equal(p.uri, "/dir");
    assert_string_equal(p.nc, "00000001");
    assert_string_equal(p.response, "abc123");
    assert_false(p.has_nonce);

    assert_int_equal(rtsp_auth_parse(rtsp_span_of("   "), &p), HORUS_EPARSE);
    assert_int_equal(rtsp_auth_parse(rtsp_span_of("Digest realm=\"open"), &p), HORUS_EPARSE);
    assert_true(rtsp_span_eq(p.scheme, "Digest")); /* known even when the rest fails */
    char big[RTSP_AUTH_FIELD_MAX + 32];
    memset(big, 'n', sizeof(big));
    memcpy(big, "Basic nonce=", 12);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(rtsp_auth_parse(rtsp_span_of(big), &p), HORUS_EPARSE);
    memcpy(big, "Basic other=", 12); /* long, but not kept */
    assert_int_equal(rtsp_auth_parse(rtsp_span_of(big), &p), 0);
}

static void test_digest_responses_match_rfc_2617(void **state)
{
    char ha1[33], response[33];
    assert_int_equal(rtsp_digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life", ha1), 0);
    assert_int_equal(rtsp_digest_response(ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "GET",
                                          "/dir/index.html", "auth", "00000001", "0a4f113b",
                                          response),
                     0);
    assert_string_equal(response, "6629fae49393a05397450978507c4ef1");
    /* Without qop (RFC 2069): MD5(HA1:nonce:HA2), nc and cnonce unused. */
    assert_int_equal(rtsp_digest_response(ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "GET",
                                          "/dir/index.html", NULL, "", "", response),
                     0);
    assert_string_equal(response, "670fd8c2df070c60b045671b8b24ff02");
    char huge[1100];
    memset(huge, 'u', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    assert_int_equal(rtsp_digest_ha1(huge, "r", "p", ha1), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_and_hex_match_rfc_1321),
        cmocka_unit_test(test_a_challenge_parses_with_quotes_escapes_and_lists),
        cmocka_unit_test(test_credentials_parse_and_bad_ones_fail),
        cmocka_unit_test(test_digest_responses_match_rfc_2617),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
