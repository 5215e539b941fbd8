/*
 * Tests for src/proto/rtsp/message.c: RTSP framing of requests and replies
 * in place, header lookup, Session, Transport and comma lists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtsp_proto.h"

#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int parse(const char *text, struct rtsp_msg *m)
{
    return rtsp_msg_parse((const uint8_t *)text, strlen(text), 4096, m);
}

static struct rtsp_span S(const char *s) {
    return rtsp_span_of(s);
}

static void
test_a_request_is_framed_in_place(void **state)
{
    static const char req[] = "SETUP rtsp://h/cam1/trackID=0 RTSP/1.0\r\n"
                              "CSeq: 3\r\n"
                              "transport:  RTP/AVP/TCP;interleaved=0-1 \r\n"
                              "Content-Length: 4\r\n"
                              "\r\n"
                              "abcdOPTIONS";
    struct rtsp_msg m;
    int n = parse(req, &m);
    assert_int_equal(n, (int)strlen(req) - 7);
    assert_true(m.is_request);
    assert_true(rtsp_span_eq(m.method, "SETUP"));
    assert_true(rtsp_span_eq(m.uri, "rtsp://h/cam1/trackID=0"));
    assert_int_equal(m.cseq, 3);
    assert_int_equal(m.nheaders, 3);
    struct rtsp_span t = rtsp_msg_header(&m, "Transport");
    assert_true(rtsp_span_eq(t, "RTP/AVP/TCP;interleaved=0-1"));
    assert_true(t.p > req && t.p < req + sizeof(req)); /* points into the input */
    assert_null(rtsp_msg_header(&m, "Session").p);
    assert_int_equal(m.body_len, 4);
    assert_memory_equal(m.body, "abcd", 4);
}

static void test_a_reply_with_folded_headers_keeps_the_fold_in_the_span(void **state)
{
    static const char reply[] = "RTSP/1.0 401 Unauthorized\n"
                                "X-Long: first\n"
                                "  second\n"
                                "CSeq: 12\n"
                                "\n";
    struct rtsp_msg m;
    assert_int_equal(parse(reply, &m), (int)strlen(reply));
    assert_false(m.is_request);
    assert_int_equal(m.status, 401);
    assert_int_equal(m.cseq, 12);
    assert_true(rtsp_span_eq(rtsp_msg_header(&m, "x-long"), "first\n  second"));
}

static void test_incomplete_messages_wait_and_strangers_are_refused_early(void **state)
{
    struct rtsp_msg m;
    assert_int_equal(parse("", &m), 0);
    assert_int_equal(parse("OPT", &m), 0);
    assert_int_equal(parse("OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n", &m), 0);
    assert_int_equal(parse("RTSP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nabc", &m), 0);
    assert_int_equal(parse("HELLO\r\n\r\n", &m), HORUS_EPARSE);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\n", &m), HORUS_EPARSE);
    assert_int_equal(parse("\x16\x03\x01\x02", &m), HORUS_EPARSE);
}

static void test_malformed_messages_are_refused(void **state)
{
    struct rtsp_msg m;
    const char *bad[] = {
        "OPTIONS * RTSP/2.0\r\n\r\n", /* version */
        "OPTIONS  * RTSP/1.0\r\n\r\n", /* empty URI */
        "OPTIONS * RTSP/1.0 x\r\n\r\n", /* trailing junk */
        "OPTIONS *\x01 RTSP/1.0\r\n\r\n", /* control in the URI */
        "RTSP/1.0 2x0 OK\r\n\r\n", /* status */
        "OPTIONS * RTSP/1.0\r\n folded first\r\n\r\n", /* nothing to fold into */
        "OPTIONS * RTSP/1.0\r\nno colon\r\n\r\n",
        "OPTIONS * RTSP/1.0\r\n: empty name\r\n\r\n",
        "OPTIONS * RTSP/1.0\r\nContent-Length: -1\r\n\r\n",
        "OPTIONS * RTSP/1.0\r\nContent-Length: 99999999999\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(bad[i], &m), HORUS_EPARSE);
    static const char nul[] = "OPTIONS * RTSP/1.0\r\nX: a\0b\r\n\r\n";
    assert_int_equal(rtsp_msg_parse((const uint8_t *)nul, sizeof(nul) - 1, 4096, &m), HORUS_EPARSE);
    /* A CSeq that is no number is -1, the caller decides. */
    assert_true(parse("OPTIONS * RTSP/1.0\r\nCSeq: x1\r\n\r\n", &m) > 0);
    assert_int_equal(m.cseq, -1);
}

static void test_limits_are_too_big(void **state)
{
    struct rtsp_msg m;
    assert_int_equal(parse("OPTIONS * RTSP/1.0\r\nContent-Length: 4097\r\n\r\n", &m),
                     HORUS_ETOOBIG);
    static char big[RTSP_HEAD_MAX + 16];
    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, "OPTIONS * RTSP/1.0\r\nX: ", 23);
    assert_int_equal(parse(big, &m), HORUS_ETOOBIG);
    char many[RTSP_HEADERS_MAX * 8 + 64];
    size_t n = (size_t)snprintf(many, sizeof(many), "OPTIONS * RTSP/1.0\r\n");
    for (int i = 0; i <= RTSP_HEADERS_MAX; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "X: %d\r\n", i % 10);
    snprintf(many + n, sizeof(many) - n, "\r\n");
    assert_int_equal(parse(many, &m), HORUS_ETOOBIG);
}

static void test_session_ids_and_timeouts(void **state)
{
    struct rtsp_span id;
    int timeout;
    assert_int_equal(rtsp_session_parse(S("A1B2C3;timeout=30"), &id, &timeout), 0);
    assert_true(rtsp_span_eq(id, "A1B2C3"));
    assert_int_equal(timeout, 30);
    assert_int_equal(rtsp_session_parse(S(" 77 ; Timeout = 5"), &id, &timeout), 0);
    assert_true(rtsp_span_eq(id, "77"));
    assert_int_equal(timeout, 60); /* "Timeout " is not "timeout=" */
    assert_int_equal(rtsp_session_parse(S("77;timeout=0"), &id, &timeout), 0);
    assert_int_equal(timeout, 60);
    assert_int_equal(rtsp_session_parse(S(""), &id, &timeout), HORUS_EPARSE);
    assert_int_equal(rtsp_session_parse(S(" ;timeout=3"), &id, &timeout), HORUS_EPARSE);
    assert_int_equal(rtsp_session_parse(S("a\"b"), &id, &timeout), HORUS_EPARSE);
}

static void test_transport_takes_the_first_spec_it_serves(void **state)
{
    struct rtsp_transport t;
    assert_int_equal(rtsp_transport_parse(S("RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=1"), &t), 0);
    assert_true(t.is_tcp && t.has_interleaved);
    assert_int_equal(t.channel_rtp, 2);
    assert_int_equal(t.channel_rtcp, 3);
    assert_int_equal(rtsp_transport_parse(S("rtp/avp/tcp;interleaved=4"), &t), 0);
    assert_int_equal(t.channel_rtcp, 5);
    assert_int_equal(rtsp_transport_parse(S("RTP/AVP/TCP;unicast"), &t), 0);
    assert_true(t.is_tcp && !t.has_interleaved);

    assert_int_equal(
        rtsp_transport_parse(S("RTP/AVP;multicast, RTP/AVP/UDP;unicast;client_port=5000-5001"), &t),
        0);
    assert_true(t.is_udp && !t.is_tcp);
    assert_int_equal(t.client_port_rtp, 5000);
    assert_int_equal(t.client_port_rtcp, 5001);
    assert_int_equal(rtsp_transport_parse(S("RTP/AVP;unicast;client_port=65535"), &t),
                     HORUS_EPARSE); /* RTCP would be 65536 */
    /* A reply: the server's ports, with or without ours echoed. */
    assert_int_equal(
        rtsp_transport_parse(
            S("RTP/AVP;unicast;client_port=5000-5001;server_port=20000-20001;ssrc=1F"), &t),
        0);
    assert_true(t.is_udp && t.has_server_port);
    assert_int_equal(t.server_port_rtp, 20000);
    assert_int_equal(t.server_port_rtcp, 20001);
    assert_int_equal(rtsp_transport_parse(S("RTP/AVP/UDP;unicast;server_port=7000"), &t), 0);
    assert_true(!t.is_udp && !t.is_tcp && t.has_server_port);
    assert_int_equal(t.server_port_rtcp, 7001);
    assert_int_equal(rtsp_transport_parse(S("RTP/AVP;server_port=0-1"), &t), HORUS_EPARSE);
    assert_int_equal(rtsp_transport_parse(S("RAW/RAW/UDP;unicast, RTP/AVP;multicast"), &t), 0);
    assert_false(t.is_tcp || t.is_udp);
    assert_int_equal(rtsp_transport_parse(S("RTP/AVP/TCP;interleaved=x"), &t), HORUS_EPARSE);
    assert_int_equal(rtsp_transport_parse(S("RTP/AVP/TCP;interleaved=255"), &t), HORUS_EPARSE);
    assert_int_equal(rtsp_transport_parse(S("RTP/AVP/TCP;interleaved=1-256"), &t), HORUS_EPARSE);
}

static void test_lists_split_on_commas_outside_quotes(void **state)
{
    assert_true(rtsp_list_has(S("OPTIONS, DESCRIBE, get_parameter"), "GET_PARAMETER"));
    assert_false(rtsp_list_has(S("OPTIONS, DESCRIBE"), "GET_PARAMETER"));
    assert_false(rtsp_list_has(S(""), "x"));
    struct rtsp_span list = S(" a , \"b,c\",,d"), item;
    assert_true(rtsp_list_next(&list, &item) && rtsp_span_eq(item, "a"));
    assert_true(rtsp_list_next(&list, &item) && rtsp_span_eq(item, "\"b,c\""));
    assert_true(rtsp_list_next(&list, &item) && item.len == 0);
    assert_true(rtsp_list_next(&list, &item) && rtsp_span_eq(item, "d"));
    assert_false(rtsp_list_next(&list, &item));
}

static void test_spans_compare_and_copy(void **state)
{
    char out[4];
    assert_true(rtsp_span_ieq(S("Digest"), "DIGEST"));
    assert_false(rtsp_span_eq(S("Digest"), "DIGEST"));
    assert_false(rtsp_span_eq((struct rtsp_span){NULL, 0}, ""));
    assert_int_equal(rtsp_span_copy(S("abc"), out, sizeof(out)), 0);
    assert_string_equal(out, "abc");
    assert_int_equal(rtsp_span_copy(S("abcd"), out, sizeof(out)), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_request_is_framed_in_place),
        cmocka_unit_test(test_a_reply_with_folded_headers_keeps_the_fold_in_the_span),
        cmocka_unit_test(test_incomplete_messages_wait_and_strangers_are_refused_early),
        cmocka_unit_test(test_malformed_messages_are_refused),
        cmocka_unit_test(test_limits_are_too_big),
        cmocka_unit_test(test_session_ids_and_timeouts),
        cmocka_unit_test(test_transport_takes_the_first_spec_it_serves),
        cmocka_unit_test(test_lists_split_on_commas_outside_quotes),
        cmocka_unit_test(test_spans_compare_and_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
