/*
 * Tests for src/webrtc/stun.c against RFC 5769's test vectors (a request
 * with PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY and
 * FINGERPRINT; an IPv4 response with XOR-MAPPED-ADDRESS), responses built
 * and read back, every malformed shape refused, and the RFC 7983
 * demultiplexer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "stun_int.h"
#include "bytes.h"

#include "err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static const char rfc_password[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* RFC 5769 §2.1 (SOFTWARE "STUN test client") */
static const uint8_t rfc_request[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 §2.2 */
static const uint8_t rfc_response_v4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
    0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
    0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

static void test_the_rfc_request_parses_with_integrity_and_fingerprint(void **state)
{
    struct webrtc_stun_msg m;
    assert_int_equal(webrtc_stun_parse(rfc_request, sizeof(rfc_request), &m), 0);
    assert_int_equal(m.type, WEBRTC_STUN_BINDING_REQUEST);
    assert_memory_equal(m.txid, rfc_request + 8, 12);
    assert_int_equal(m.username_len, 9);
    assert_memory_equal(m.username, "evtj:h6vY", 9);
    assert_true(m.has_priority);
    assert_int_equal(m.priority, 0x6e0001ff);
    assert_true(m.has_ice_controlled);
    assert_int_equal(m.tie_breaker, 0x932ff9b151263b36ull);
    assert_false(m.use_candidate);
    assert_true(m.has_integrity);
    assert_true(m.has_fingerprint);
    assert_int_equal(
        webrtc_stun_check_integrity(rfc_request, &m, rfc_password, strlen(rfc_password)), 0);
    assert_int_equal(webrtc_stun_check_integrity(rfc_request, &m, "VOkJxbRl1RmTxUk/WvJxBT", 22),
                     -EACCES);
}

static void test_the_rfc_response_checks_against_the_password(void **state)
{
    struct webrtc_stun_msg m;
    assert_int_equal(webrtc_stun_parse(rfc_response_v4, sizeof(rfc_response_v4), &m), 0);
    assert_int_equal(m.type, WEBRTC_STUN_BINDING_SUCCESS);
    assert_int_equal(
        webrtc_stun_check_integrity(rfc_response_v4, &m, rfc_password, strlen(rfc_password)), 0);
}

static void test_a_built_response_matches_the_rfc_address_bytes(void **state)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(32853)};
    inet_pton(AF_INET, "192.0.2.1", &sa.sin_addr);
    uint8_t out[128];
    struct webrtc_stun_build_options opt = {
        .type = WEBRTC_STUN_BINDING_SUCCESS,
        .txid = rfc_request + 8,
        .mapped = (const struct sockaddr *)&sa,
        .integrity_key = rfc_password,
        .integrity_key_len = strlen(rfc_password),
        .fingerprint = true,
    };
    int n = webrtc_stun_build(&opt, out, sizeof(out));
    assert_int_equal(n, 20 + 12 + 24 + 8);
    /* the XOR-MAPPED-ADDRESS attribute is the RFC response's, byte for byte */
    assert_memory_equal(out + 20, rfc_response_v4 + 36, 12);
    struct webrtc_stun_msg m;
    assert_int_equal(webrtc_stun_parse(out, (size_t)n, &m), 0);
    assert_true(m.has_fingerprint);
    assert_int_equal(webrtc_stun_check_integrity(out, &m, rfc_password, strlen(rfc_password)), 0);
    /* the fingerprint covers the bytes: one bit flipped anywhere is refused */
    out[30] ^= 1;
    assert_int_equal(webrtc_stun_parse(out, (size_t)n, &m), HORUS_EPARSE);
    assert_int_equal(webrtc_stun_build(&opt, out, 40), -ENOSPC);
}

static void test_a_request_built_like_a_browser_reads_back(void **state)
{
    static const uint8_t txid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_port = htons(5000)};
    inet_pton(AF_INET6, "2001:db8::1", &sa6.sin6_addr);
    uint8_t out[256];
    struct webrtc_stun_build_options opt = {
        .type = WEBRTC_STUN_BINDING_REQUEST,
        .txid = txid,
        .username = "srv1:brw1",
        .priority = 1845501695,
        .use_candidate = true,
        .ice_controlling = true,
        .tie_breaker = 0x0102030405060708ull,
        .integrity_key = "serverpasswordserverpw",
        .integrity_key_len = 22,
        .fingerprint = true,
    };
    int n = webrtc_stun_build(&opt, out, sizeof(out));
    assert_true(n > 0);
    struct webrtc_stun_msg m;
    assert_int_equal(webrtc_stun_parse(out, (size_t)n, &m), 0);
    assert_int_equal(m.username_len, 9);
    assert_true(m.use_candidate);
    assert_true(m.has_ice_controlling);
    assert_int_equal(m.tie_breaker, 0x0102030405060708ull);
    assert_int_equal(webrtc_stun_check_integrity(out, &m, "serverpasswordserverpw", 22), 0);

    /* IPv6: the address is XORed with the cookie and the transaction id */
    opt = (struct webrtc_stun_build_options){
        .type = WEBRTC_STUN_BINDING_SUCCESS, .txid = txid, .mapped = (struct sockaddr *)&sa6};
    n = webrtc_stun_build(&opt, out, sizeof(out));
    assert_int_equal(n, 20 + 24);
    assert_int_equal(out[25], 0x02);
    assert_int_equal(out[28], 0x20 ^ 0x21);
    assert_int_equal(out[43], 0x01 ^ 12);
}

static void test_malformed_messages_are_refused(void **state)
{
    uint8_t b[sizeof(rfc_request)];
    struct webrtc_stun_msg m;
    for (size_t cut = 0; cut < sizeof(b); cut++) /* every truncation */
        assert_int_equal(webrtc_stun_parse(rfc_request, cut, &m), HORUS_EPARSE);

    memcpy(b, rfc_request, sizeof(b));
    b[4] = 0; /* magic cookie */
    assert_int_equal(webrtc_stun_parse(b, sizeof(b), &m), HORUS_EPARSE);

    memcpy(b, rfc_request, sizeof(b));
    b[23] = 0x40; /* SOFTWARE longer than the message */
    assert_int_equal(webrtc_stun_parse(b, sizeof(b), &m), HORUS_EPARSE);

    memcpy(b, rfc_request, sizeof(b));
    b[sizeof(b) - 1] ^= 0xff; /* wrong fingerprint */
    assert_int_equal(webrtc_stun_parse(b, sizeof(b), &m), HORUS_EPARSE);

    memcpy(b, rfc_request, sizeof(b));
    b[0] = 0x80; /* the top two bits must be zero */
    assert_int_equal(webrtc_stun_parse(b, sizeof(b), &m), HORUS_EPARSE);

    /* an attribute after MESSAGE-INTEGRITY other than FINGERPRINT */
    memcpy(b, rfc_request, sizeof(b));
    b[sizeof(b) - 8] = 0x00;
    b[sizeof(b) - 7] = 0x24; /* PRIORITY where FINGERPRINT was */
    assert_int_equal(webrtc_stun_parse(b, sizeof(b), &m), HORUS_EPARSE);

    /* the integrity fails when the username is changed, fingerprint apart */
    memcpy(b, rfc_request, sizeof(b) - 8);
    b[3] -= 8; /* drop FINGERPRINT */
    assert_int_equal(webrtc_stun_parse(b, sizeof(b) - 8, &m), 0);
    assert_int_equal(webrtc_stun_check_integrity(b, &m, rfc_password, strlen(rfc_password)), 0);
    b[64] = 'E';
    assert_int_equal(webrtc_stun_parse(b, sizeof(b) - 8, &m), 0);
    assert_int_equal(webrtc_stun_check_integrity(b, &m, rfc_password, strlen(rfc_password)),
                     -EACCES);
}

static void test_the_first_byte_demultiplexes_the_socket(void **state)
{
    const uint8_t stun = 0x01, dtls = 22, rtp = 0x80, rtcp = 0x81, other = 70;
    assert_int_equal(webrtc_demux_classify(&stun, 1), WEBRTC_DEMUX_STUN);
    assert_int_equal(webrtc_demux_classify(&dtls, 1), WEBRTC_DEMUX_DTLS);
    assert_int_equal(webrtc_demux_classify(&rtp, 1), WEBRTC_DEMUX_RTP);
    assert_int_equal(webrtc_demux_classify(&rtcp, 1), WEBRTC_DEMUX_RTP);
    assert_int_equal(webrtc_demux_classify(&other, 1), WEBRTC_DEMUX_OTHER);
    assert_int_equal(webrtc_demux_classify(&stun, 0), WEBRTC_DEMUX_OTHER);
    assert_int_equal(horus_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_rfc_request_parses_with_integrity_and_fingerprint),
        cmocka_unit_test(test_the_rfc_response_checks_against_the_password),
        cmocka_unit_test(test_a_built_response_matches_the_rfc_address_bytes),
        cmocka_unit_test(test_a_request_built_like_a_browser_reads_back),
        cmocka_unit_test(test_malformed_messages_are_refused),
        cmocka_unit_test(test_the_first_byte_demultiplexes_the_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
