/*
 * Tests for src/proto/rtsp/rtp.c: interleaved framing, RTP headers with
 * CSRCs, extension and padding, RTCP sender reports and NTP time, read
 * and written; receiver reports byte by byte, and the receiver statistics
 * that fill them (wraps, loss, jitter, LSR/DLSR).
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

static void test_receiver_report_bytes_are_rfc_3550(void **state)
{
    struct rtcp_report_block b = {.ssrc = 0x11223344,
                                  .fraction_lost = 64,
                                  .cumulative_lost = -2,
                                  .highest_seq = 0x00010005,
                                  .jitter = 300,
                                  .lsr = 0xaabbccdd,
                                  .dlsr = 0x00018000};
    uint8_t out[RTCP_RR_COMPOUND_SIZE];
    memset(out, 0xee, sizeof(out));
    rtcp_rr_write(out, 0x01020304, &b);
    static const uint8_t want[RTCP_RR_COMPOUND_SIZE] = {
        0x81, 201,  0,    7,    1,   2,    3,    4, /* RR, RC 1, length 7, our SSRC */
        0x11, 0x22, 0x33, 0x44, 64,  0xff, 0xff, 0xfe, /* source, fraction, lost -2 */
        0,    1,    0,    5,    0,   0,    1,    0x2c, /* highest seq, jitter 300 */
        0xaa, 0xbb, 0xcc, 0xdd, 0,   1,    0x80, 0, /* LSR, DLSR 1.5 s */
        0x81, 202,  0,    3,    1,   2,    3,    4, /* SDES, one chunk, our SSRC */
        1,    5,    'h',  'o',  'r', 'u',  's',  0, /* CNAME "horus", end */
    };
    assert_memory_equal(out, want, sizeof(want));
    struct rtcp_rr rr;
    assert_int_equal(rtcp_rr_find(out, sizeof(out), &rr), 0);
    assert_int_equal(rr.ssrc, 0x01020304);
    assert_int_equal(rr.nblocks, 1);
    assert_int_equal(rr.block.ssrc, b.ssrc);
    assert_int_equal(rr.block.fraction_lost, 64);
    assert_int_equal(rr.block.cumulative_lost, -2);
    assert_int_equal(rr.block.highest_seq, b.highest_seq);
    assert_int_equal(rr.block.jitter, 300);
    assert_int_equal(rr.block.lsr, b.lsr);
    assert_int_equal(rr.block.dlsr, b.dlsr);
    /* An SR alone has no RR; a truncated block count is refused. */
    struct rtcp_sr sr = {.ssrc = 9};
    uint8_t srb[RTCP_SR_SIZE];
    rtcp_sr_write(srb, &sr);
    assert_int_equal(rtcp_rr_find(srb, sizeof(srb), &rr), -ENOENT);
    out[0] = 0x82; /* two blocks in a packet that holds one */
    assert_int_equal(rtcp_rr_find(out, sizeof(out), &rr), HORUS_EPARSE);
    assert_int_equal(rtcp_rr_find((const uint8_t *)"garbage!", 8, &rr), HORUS_EPARSE);
}

static void test_receiver_statistics_count_wraps_loss_and_jitter(void **state)
{
    struct rtp_rx_stats st;
    memset(&st, 0, sizeof(st));
    struct rtcp_report_block b;
    assert_false(rtp_rx_stats_report(&st, 0, &b));
    /* 65530 .. 65535, 0 .. 9: a wrap, 16 packets, every one on time (jitter 0). */
    uint16_t seq = 65530;
    for (int i = 0; i < 16; i++, seq++)
        rtp_rx_stats_packet(&st, 7, seq, 1000u + 3000u * (uint32_t)i, 50000 + 3000 * i);
    assert_true(rtp_rx_stats_report(&st, 0, &b));
    assert_int_equal(b.ssrc, 7);
    assert_int_equal(b.highest_seq, 0x10009);
    assert_int_equal(b.cumulative_lost, 0);
    assert_int_equal(b.fraction_lost, 0);
    assert_int_equal(b.jitter, 0);
    assert_int_equal(b.lsr, 0);
    assert_int_equal(b.dlsr, 0);
    /* Then 4 lost of the next 8 (every other one), each arriving 160 units late or early. */
    for (int i = 0; i < 8; i += 2) {
        uint32_t ts = 1000u + 3000u * (uint32_t)(16 + i);
        rtp_rx_stats_packet(&st, 7, (uint16_t)(10 + i), ts,
                            50000 + 3000 * (16 + i) + (i % 4 ? 160 : 0));
    }
    rtp_rx_stats_sr(&st, 0x0000123456789abcull, 1000000);
    assert_true(rtp_rx_stats_report(&st, 1250000, &b));
    assert_int_equal(b.highest_seq, 0x10010);
    assert_int_equal(b.cumulative_lost, 3); /* 10 .. 16 expected, 12 received after the 10th */
    assert_int_equal(b.fraction_lost, 3 * 256 / 7);
    assert_true(b.jitter > 0 && b.jitter < 160);
    assert_int_equal(b.lsr, 0x12345678);
    assert_int_equal(b.dlsr, 65536 / 4); /* 0.25 s */
    /* A new SSRC starts over. */
    rtp_rx_stats_packet(&st, 8, 100, 0, 0);
    assert_true(rtp_rx_stats_report(&st, 0, &b));
    assert_int_equal(b.ssrc, 8);
    assert_int_equal(b.highest_seq, 100);
    assert_int_equal(b.cumulative_lost, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interleaved_frames_need_all_their_bytes),
        cmocka_unit_test(test_rtp_header_skips_csrcs_extension_and_padding),
        cmocka_unit_test(test_sender_report_maps_rtp_time_to_unix_time),
        cmocka_unit_test(test_what_is_written_parses_back),
        cmocka_unit_test(test_ntp_time_round_trips),
        cmocka_unit_test(test_receiver_report_bytes_are_rfc_3550),
        cmocka_unit_test(test_receiver_statistics_count_wraps_loss_and_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
