/*
 * Tests for src/ingest/rtsp_msg.c: URLs, RTSP replies and the headers a
 * session uses, and authentication (the Digest vector is RFC 2617's own).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtsp_int.h"

#include "err.h"

#include <errno.h>
#include <string.h>

static int parse(const char *text, struct ing_rtsp_msg *m)
{
    return ing_rtsp_msg_parse((const uint8_t *)text, strlen(text), m);
}

static void test_url_parses_credentials_host_port_and_strips_them_from_requests(void **state)
{
    struct ing_rtsp_url u;
    assert_int_equal(ing_rtsp_url_parse("rtsp://ad%40min:p%3Ass@w@10.0.0.5:8554/live/ch1?x=1", &u),
                     0);
    assert_true(u.has_credentials);
    assert_string_equal(u.user, "ad@min");
    assert_string_equal(u.password, "p:ss@w");
    assert_string_equal(u.host, "10.0.0.5");
    assert_int_equal(u.port, 8554);
    assert_string_equal(u.request_url, "rtsp://10.0.0.5:8554/live/ch1?x=1");

    assert_int_equal(ing_rtsp_url_parse("RTSP://[::1]/cam", &u), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 554);
    assert_false(u.has_credentials);
    assert_string_equal(u.request_url, "RTSP://[::1]/cam");

    assert_int_equal(ing_rtsp_url_parse("rtsp://cam.local", &u), 0);
    assert_string_equal(u.request_url, "rtsp://cam.local");
}

static void test_bad_urls_are_rejected(void **state)
{
    struct ing_rtsp_url u;
    const char *bad[] = {"http://x/",          "rtsp://",          "rtsp://host:0/",
                         "rtsp://host:99999/", "rtsp://host:12a/", "rtsp://[::1/",
                         "rtsp://u:%zz@h/",    "rtsp://h/a b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ing_rtsp_url_parse(bad[i], &u), HORUS_EPARSE);
}

static void test_controls_resolve_against_the_base(void **state)
{
    char out[ING_RTSP_URL_MAX];
    assert_int_equal(ing_rtsp_url_resolve("rtsp://h/cam1/", "trackID=0", out, sizeof(out)), 0);
    assert_string_equal(out, "rtsp://h/cam1/trackID=0");
    assert_int_equal(ing_rtsp_url_resolve("rtsp://h/cam1", "trackID=0", out, sizeof(out)), 0);
    assert_string_equal(out, "rtsp://h/cam1/trackID=0");
    assert_int_equal(ing_rtsp_url_resolve("rtsp://h/cam1/", "*", out, sizeof(out)), 0);
    assert_string_equal(out, "rtsp://h/cam1/");
    assert_int_equal(ing_rtsp_url_resolve("rtsp://h/a", "rtsp://other/b", out, sizeof(out)), 0);
    assert_string_equal(out, "rtsp://other/b");
    assert_int_equal(ing_rtsp_url_resolve("rtsp://h/a", "x", out, 8), -ENOSPC);
}

static void test_reply_with_folded_any_case_headers_and_a_body_is_parsed(void **state)
{
    static const char reply[] = "RTSP/1.0 200 OK\r\n"
                                "cseq: 3\r\n"
                                "X-Long: first\r\n"
                                "  second\r\n"
                                "\tthird\r\n"
                                "content-LENGTH: 5\r\n"
                                "\r\n"
                                "v=0\r\nRTSP/1.0 200 OK\r\n";
    struct ing_rtsp_msg m;
    int n = parse(reply, &m);
    assert_int_equal(n, (int)strlen(reply) - (int)strlen("RTSP/1.0 200 OK\r\n"));
    assert_false(m.is_request);
    assert_int_equal(m.status, 200);
    assert_int_equal(m.cseq, 3);
    assert_string_equal(ing_rtsp_msg_header(&m, "X-LONG"), "first second third");
    assert_int_equal(m.body_len, 5);
    assert_memory_equal(m.body, "v=0\r\n", 5);
    assert_null(ing_rtsp_msg_header(&m, "Session"));
}

static void test_incomplete_replies_wait_for_more_bytes(void **state)
{
    struct ing_rtsp_msg m;
    assert_int_equal(parse("RTS", &m), 0);
    assert_int_equal(parse("RTSP/1.0 200 OK\r\nCSeq: 1\r\n", &m), 0);
    assert_int_equal(parse("RTSP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc", &m), 0);
    /* Bare LF line ends are accepted too. */
    static const char lf[] = "RTSP/1.0 404 Not Found\nCSeq: 2\n\n";
    assert_int_equal(parse(lf, &m), (int)strlen(lf));
    assert_int_equal(m.status, 404);
}

static void test_what_is_not_rtsp_is_refused_early(void **state)
{
    struct ing_rtsp_msg m;
    assert_int_equal(parse("HTTP/1.0 400 Bad request\r\n\r\n", &m), HORUS_EPARSE);
    assert_int_equal(parse("\x16\x03\x01", &m), HORUS_EPARSE);
    assert_int_equal(parse("RTSP/1.0 2x0 OK\r\n\r\n", &m), HORUS_EPARSE);
    assert_int_equal(parse("RTSP/1.0 200 OK\r\nno colon here\r\n\r\n", &m), HORUS_EPARSE);
    assert_int_equal(parse("RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n", &m), HORUS_EPARSE);
    assert_int_equal(parse("RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n", &m),
                     HORUS_ETOOBIG);
    static char big[ING_RTSP_HEAD_MAX + 10];
    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, "RTSP/1.0 200 OK\r\nX: ", 20);
    assert_int_equal(parse(big, &m), HORUS_ETOOBIG);
}

static void test_requests_from_the_server_are_recognised(void **state)
{
    struct ing_rtsp_msg m;
    assert_true(parse("GET_PARAMETER rtsp://h/ RTSP/1.0\r\nCSeq: 9\r\n\r\n", &m) > 0);
    assert_true(m.is_request);
    assert_string_equal(m.method, "GET_PARAMETER");
    assert_int_equal(m.cseq, 9);
}

static void test_session_transport_public_and_rtp_info_headers(void **state)
{
    char id[64];
    int timeout;
    assert_int_equal(ing_rtsp_session_parse("A1B2C3;timeout=30", id, sizeof(id), &timeout), 0);
    assert_string_equal(id, "A1B2C3");
    assert_int_equal(timeout, 30);
    assert_int_equal(ing_rtsp_session_parse(" 77 ", id, sizeof(id), &timeout), 0);
    assert_string_equal(id, "77");
    assert_int_equal(timeout, 60);
    assert_int_equal(ing_rtsp_session_parse("", id, sizeof(id), &timeout), HORUS_EPARSE);

    int rtp = -1, rtcp = -1;
    assert_int_equal(
        ing_rtsp_transport_parse("RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=1234", &rtp, &rtcp), 0);
    assert_int_equal(rtp, 2);
    assert_int_equal(rtcp, 3);
    assert_int_equal(ing_rtsp_transport_parse("rtp/avp/tcp;unicast", &rtp, &rtcp), -ENOENT);
    assert_int_equal(ing_rtsp_transport_parse("RTP/AVP;unicast;client_port=5000-5001", &rtp, &rtcp),
                     HORUS_EPARSE);
    assert_int_equal(ing_rtsp_transport_parse("RTP/AVP/TCP;interleaved=x", &rtp, &rtcp),
                     HORUS_EPARSE);
    assert_int_equal(
        ing_rtsp_transport_parse_udp("RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971",
                                     &rtp, &rtcp),
        0);
    assert_int_equal(rtp, 6970);
    assert_int_equal(rtcp, 6971);
    assert_int_equal(
        ing_rtsp_transport_parse_udp("RTP/AVP;unicast;client_port=5000-5001", &rtp, &rtcp),
        -ENOENT);
    assert_int_equal(ing_rtsp_transport_parse_udp("RTP/AVP/TCP;interleaved=0-1", &rtp, &rtcp),
                     HORUS_EPARSE);
    assert_int_equal(ing_rtsp_transport_parse_udp("RTP/AVP;multicast;port=5000-5001", &rtp, &rtcp),
                     HORUS_EPARSE);

    assert_true(rtsp_list_has(rtsp_span_of("OPTIONS, DESCRIBE, get_parameter"), "GET_PARAMETER"));
    assert_false(rtsp_list_has(rtsp_span_of("OPTIONS, DESCRIBE"), "GET_PARAMETER"));

    struct ing_rtsp_rtp_info info[4];
    unsigned n = ing_rtsp_rtp_info_parse(
        "url=rtsp://h/cam1/trackID=0;seq=17;rtptime=4000000000, url=rtsp://h/cam1/trackID=1;"
        "seq=65535",
        info, 4);
    assert_int_equal(n, 2);
    assert_string_equal(info[0].url, "rtsp://h/cam1/trackID=0");
    assert_true(info[0].has_seq && info[0].has_rtptime);
    assert_int_equal(info[0].seq, 17);
    assert_int_equal(info[0].rtptime, 4000000000u);
    assert_int_equal(info[1].seq, 65535);
    assert_false(info[1].has_rtptime);
}

static void test_challenges_parse_and_digest_matches_rfc_2617(void **state)
{
    struct ing_rtsp_challenge c;
    assert_int_equal(
        ing_rtsp_challenge_parse("Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
                                 "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
                                 "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
                                 &c),
        0);
    assert_int_equal(c.scheme, ING_RTSP_AUTH_DIGEST);
    assert_true(c.is_qop_auth && c.has_opaque);
    char out[1024];
    assert_int_equal(ing_rtsp_authorization(&c, "Mufasa", "Circle Of Life", "GET",
                                            "/dir/index.html", 1, "0a4f113b", out, sizeof(out)),
                     0);
    assert_non_null(strstr(out, "response=\"6629fae49393a05397450978507c4ef1\""));
    assert_non_null(strstr(out, "qop=auth, nc=00000001, cnonce=\"0a4f113b\""));
    assert_non_null(strstr(out, "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));

    assert_int_equal(ing_rtsp_challenge_parse("Basic realm=\"cam\"", &c), 0);
    assert_int_equal(c.scheme, ING_RTSP_AUTH_BASIC);
    assert_int_equal(ing_rtsp_authorization(&c, "Aladdin", "open sesame", "DESCRIBE", "rtsp://h/",
                                            0, "", out, sizeof(out)),
                     0);
    assert_string_equal(out, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");

    assert_int_equal(
        ing_rtsp_challenge_parse("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256", &c),
        -ENOTSUP);
    assert_int_equal(ing_rtsp_challenge_parse("Negotiate abc", &c), -ENOTSUP);
    assert_int_equal(ing_rtsp_challenge_parse("Digest realm=\"r\"", &c), HORUS_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parses_credentials_host_port_and_strips_them_from_requests),
        cmocka_unit_test(test_bad_urls_are_rejected),
        cmocka_unit_test(test_controls_resolve_against_the_base),
        cmocka_unit_test(test_reply_with_folded_any_case_headers_and_a_body_is_parsed),
        cmocka_unit_test(test_incomplete_replies_wait_for_more_bytes),
        cmocka_unit_test(test_what_is_not_rtsp_is_refused_early),
        cmocka_unit_test(test_requests_from_the_server_are_recognised),
        cmocka_unit_test(test_session_transport_public_and_rtp_info_headers),
        cmocka_unit_test(test_challenges_parse_and_digest_matches_rfc_2617),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
