/*
 * Tests for src/proto/rtsp/rtp.c: interleaved framing, RTP headers with
 * CSRCs, extension and padding, RTCP sender reports and NTP time, read
 * and written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtsp_proto.h"

#include "err.h"

#include <errno.h>
#include <string.h>

static void test_interleaved_frames_need_all_their_bytes(void **state)
{
    static const uint8_t buf[] = {'$', 2, 0, 3, 0xaa, 0xbb, 0xcc, '$'};
    uint8_t ch;
    const uint8_t *data;
    size_t n;
    assert_int_equal(rtsp_interleaved_parse(buf, sizeof(buf), &ch, &data, &n), 7);
    assert_int_equal(ch, 2);
    assert_int_equal(n, 3);
    assert_ptr_equal(data, buf + 4);
    assert_int_equal(rtsp_interleaved_parse(buf, 6, &ch, &data, &n), 0);
    assert_int_equal(rtsp_interleaved_parse(buf, 3, &ch, &data, &n), 0);
    assert_int_equal(rtsp_interleaved_parse((const uint8_t *)"RTSP", 4, &ch, &data, &n),
                     HORUS_EPARSE);
}

static void test_rtp_header_skips_csrcs_extension_and_padding(void **state)
{
    uint8_t pkt[] = {
        0xb2, 0xe0, 0x12, 0x34, /* V2, padding, extension, 2 CSRCs; M, PT 96 */
        0x00, 0x01, 0x00, 0x02, /* timestamp 65538 */
        0xde, 0xad, 0xbe, 0xef, /* SSRC */
        1,    1,    1,    1,    2, 2, 2, 2, /* CSRCs */
        0xbe, 0xde, 0x00, 0x01, /* extension: one word */
        9,    9,    9,    9, /* */
        0x65, 0x88, /* payload */
        0,    0,    3, /* padding, count 3 */
    };
    struct rtp_packet r;
    assert_int_equal(rtp_packet_parse(pkt, sizeof(pkt), &r), 0);
    assert_true(r.marker);
    assert_int_equal(r.payload_type, 96);
    assert_int_equal(r.seq, 0x1234);
    assert_int_equal(r.timestamp, 65538);
    assert_int_equal(r.ssrc, 0xdeadbeef);
    assert_int_equal(r.payload_len, 2);
    assert_int_equal(r.payload[0], 0x65);

    pkt[sizeof(pkt) - 1] = 40; /* padding longer than the packet */
    assert_int_equal(rtp_packet_parse(pkt, sizeof(pkt), &r), HORUS_EPARSE);
    pkt[0] = 0x40; /* version 1 */
    assert_int_equal(rtp_packet_parse(pkt, sizeof(pkt), &r), HORUS_EPARSE);
    pkt[0] = 0x8f; /* 15 CSRCs: more than the packet */
    assert_int_equal(rtp_packet_parse(pkt, 20, &r), HORUS_EPARSE);
    assert_int_equal(rtp_packet_parse(pkt, 11, &r), HORUS_EPARSE);
}

static void test_sender_report_maps_rtp_time_to_unix_time(void **state)
{
    /* An RR first, then the SR: NTP 3913056000.5 = Unix 1704067200.5 (2024-01-01). */
    static const uint8_t pkt[] = {
        0x80, 201,  0,    1,    0,    0,    0,    7, /* RR, no blocks */
        0x80, 200,  0,    6,    0x11, 0x22, 0x33, 0x44, /* SR */
        0xe9, 0x3c, 0x7f, 0x00, 0x80, 0,    0,    0, /* NTP */
        0,    0,    0x03, 0xe8, /* RTP 1000 */
        0,    0,    0,    10,   0,    0,    1,    0, /* counts */
    };
    struct rtcp_sr sr;
    assert_int_equal(rtcp_sr_find(pkt, sizeof(pkt), &sr), 0);
    assert_int_equal(sr.ssrc, 0x11223344);
    assert_int_equal(sr.rtp_timestamp, 1000);
    assert_int_equal(sr.packets, 10);
    assert_int_equal(sr.octets, 256);
    int64_t at = rtcp_sr_unix_us(&sr, 1000, 90000);
    assert_int_equal(at, 1704067200500000LL);
    assert_int_equal(rtcp_sr_unix_us(&sr, 1000 + 90000, 90000), at + 1000000);
    assert_int_equal(rtcp_sr_unix_us(&sr, 1000 - 45000, 90000), at - 500000);
    /* Wraps: a timestamp just past 2^32 is 1 s after one just before it. */
    sr.rtp_timestamp = 0xffffffffu - 44999;
    assert_int_equal(rtcp_sr_unix_us(&sr, 45000, 90000) -
                         rtcp_sr_unix_us(&sr, sr.rtp_timestamp, 90000),
                     1000000);

    assert_int_equal(rtcp_sr_find(pkt, 8, &sr), -ENOENT);
    assert_int_equal(rtcp_sr_find(pkt, 12, &sr), HORUS_EPARSE);
    static const uint8_t short_sr[] = {0x80, 200, 0, 1, 0, 0, 0, 0};
    assert_int_equal(rtcp_sr_find(short_sr, sizeof(short_sr), &sr), HORUS_EPARSE);
}

static void test_what_is_written_parses_back(void **state)
{
    uint8_t buf[RTSP_INTERLEAVED_HEADER + RTP_HEADER_SIZE + 2];
    rtsp_interleaved_write(buf, 6, RTP_HEADER_SIZE + 2);
    struct rtp_packet in = {
        .payload_type = 97, .marker = true, .seq = 65535, .timestamp = 0x89abcdef, .ssrc = 7};
    rtp_header_write(buf + RTSP_INTERLEAVED_HEADER, &in);
    buf[sizeof(buf) - 2] = 0x41;
    buf[sizeof(buf) - 1] = 0x42;
    assert_int_equal(rtsp_interleaved_len(buf, 3), 0);
    assert_int_equal(rtsp_interleaved_len(buf, 4), sizeof(buf));
    uint8_t ch;
    const uint8_t *data;
    size_t n;
    assert_int_equal(rtsp_interleaved_parse(buf, sizeof(buf), &ch, &data, &n), (int)sizeof(buf));
    assert_int_equal(ch, 6);
    struct rtp_packet out;
    assert_int_equal(rtp_packet_parse(data, n, &out), 0);
    assert_true(out.marker);
    assert_int_equal(out.payload_type, 97);
    assert_int_equal(out.seq, 65535);
    assert_int_equal(out.timestamp, 0x89abcdef);
    assert_int_equal(out.ssrc, 7);
    assert_int_equal(out.payload_len, 2);
    assert_int_equal(out.payload[0], 0x41);

    struct rtcp_sr sr = {.ssrc = 0x01020304,
                         .ntp = rtcp_ntp_from_unix_ns(1704067200500000000LL),
                         .rtp_timestamp = 1000,
                         .packets = 10,
                         .octets = 256};
    uint8_t rtcp[RTCP_SR_SIZE];
    rtcp_sr_write(rtcp, &sr);
    struct rtcp_sr back;
    assert_int_equal(rtcp_sr_find(rtcp, sizeof(rtcp), &back), 0);
    assert_int_equal(back.ssrc, sr.ssrc);
    assert_int_equal(back.ntp, sr.ntp);
    assert_int_equal(back.ntp >> 32, 3913056000u);
    assert_int_equal(back.packets, 10);
    assert_int_equal(back.octets, 256);
    assert_int_equal(rtcp_sr_unix_us(&back, 1000, 90000), 1704067200500000LL);
}

static void test_ntp_time_round_trips(void **state)
{
    assert_int_equal(rtcp_ntp_from_unix_ns(0), 2208988800ull << 32);
    assert_int_equal(rtcp_ntp_to_unix_us(2208988800ull << 32), 0);
    int64_t ns = 1767225600123456000LL; /* 2026-01-01T00:00:00.123456Z */
    int64_t us = rtcp_ntp_to_unix_us(rtcp_ntp_from_unix_ns(ns));
    assert_true(us >= ns / 1000 - 1 && us <= ns / 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interleaved_frames_need_all_their_bytes),
        cmocka_unit_test(test_rtp_header_skips_csrcs_extension_and_padding),
        cmocka_unit_test(test_sender_report_maps_rtp_time_to_unix_time),
        cmocka_unit_test(test_what_is_written_parses_back),
        cmocka_unit_test(test_ntp_time_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
