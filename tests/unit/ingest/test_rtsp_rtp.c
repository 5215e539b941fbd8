/*
 * Tests for src/ingest/rtsp_rtp.c: interleaved framing, RTP headers with
 * CSRCs, extension and padding, and RTCP sender reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtsp_int.h"

#include "err.h"

#include <errno.h>
#include <string.h>

static void test_interleaved_frames_need_all_their_bytes(void **state)
{
    static const uint8_t buf[] = {'$', 2, 0, 3, 0xaa, 0xbb, 0xcc, '$'};
    uint8_t ch;
    const uint8_t *data;
    size_t n;
    assert_int_equal(ing_interleaved_parse(buf, sizeof(buf), &ch, &data, &n), 7);
    assert_int_equal(ch, 2);
    assert_int_equal(n, 3);
    assert_ptr_equal(data, buf + 4);
    assert_int_equal(ing_interleaved_parse(buf, 6, &ch, &data, &n), 0);
    assert_int_equal(ing_interleaved_parse(buf, 3, &ch, &data, &n), 0);
    assert_int_equal(ing_interleaved_parse((const uint8_t *)"RTSP", 4, &ch, &data, &n),
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
    struct ing_rtp r;
    assert_int_equal(ing_rtp_parse(pkt, sizeof(pkt), &r), 0);
    assert_true(r.marker);
    assert_int_equal(r.payload_type, 96);
    assert_int_equal(r.seq, 0x1234);
    assert_int_equal(r.timestamp, 65538);
    assert_int_equal(r.ssrc, 0xdeadbeef);
    assert_int_equal(r.payload_len, 2);
    assert_int_equal(r.payload[0], 0x65);

    pkt[sizeof(pkt) - 1] = 40; /* padding longer than the packet */
    assert_int_equal(ing_rtp_parse(pkt, sizeof(pkt), &r), HORUS_EPARSE);
    pkt[0] = 0x40; /* version 1 */
    assert_int_equal(ing_rtp_parse(pkt, sizeof(pkt), &r), HORUS_EPARSE);
    pkt[0] = 0x8f; /* 15 CSRCs: more than the packet */
    assert_int_equal(ing_rtp_parse(pkt, 20, &r), HORUS_EPARSE);
    assert_int_equal(ing_rtp_parse(pkt, 11, &r), HORUS_EPARSE);
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
    struct ing_rtcp_sr sr;
    assert_int_equal(ing_rtcp_sr_find(pkt, sizeof(pkt), &sr), 0);
    assert_int_equal(sr.ssrc, 0x11223344);
    assert_int_equal(sr.rtp_timestamp, 1000);
    assert_int_equal(sr.packets, 10);
    assert_int_equal(sr.octets, 256);
    int64_t at = ing_rtcp_sr_unix_us(&sr, 1000, 90000);
    assert_int_equal(at, 1704067200500000LL);
    assert_int_equal(ing_rtcp_sr_unix_us(&sr, 1000 + 90000, 90000), at + 1000000);
    assert_int_equal(ing_rtcp_sr_unix_us(&sr, 1000 - 45000, 90000), at - 500000);
    /* Wraps: a timestamp just past 2^32 is 1 s after one just before it. */
    sr.rtp_timestamp = 0xffffffffu - 44999;
    assert_int_equal(ing_rtcp_sr_unix_us(&sr, 45000, 90000) -
                         ing_rtcp_sr_unix_us(&sr, sr.rtp_timestamp, 90000),
                     1000000);

    assert_int_equal(ing_rtcp_sr_find(pkt, 8, &sr), -ENOENT);
    assert_int_equal(ing_rtcp_sr_find(pkt, 12, &sr), HORUS_EPARSE);
    static const uint8_t short_sr[] = {0x80, 200, 0, 1, 0, 0, 0, 0};
    assert_int_equal(ing_rtcp_sr_find(short_sr, sizeof(short_sr), &sr), HORUS_EPARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interleaved_frames_need_all_their_bytes),
        cmocka_unit_test(test_rtp_header_skips_csrcs_extension_and_padding),
        cmocka_unit_test(test_sender_report_maps_rtp_time_to_unix_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
