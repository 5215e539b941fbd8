/*
 * Tests for src/webrtc/rtp_out.c: H.264 access units packetised per RFC
 * 6184 (parameter sets before keyframes, FU-A fragments that reassemble
 * to the NAL unit, marker on the last packet, 90 kHz timestamps, sequence
 * numbers that wrap), malformed units refused whole, sender reports byte
 * by byte, and PLI/FIR/NACK/RR feedback read for our SSRC only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtp_collect.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t avcc[] = {
    1,    0x64, 0x00, 0x1f, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x1f, /* SPS */
    0x01, 0x00, 0x03, 0x68, 0xee, 0x3c, /* PPS */
};

/* An access unit of NAL units of the given sizes and types (type in the first byte). */
static media_packet *au(media_stream *st, const size_t *sizes, const uint8_t *types, size_t n)
{
    return au_make(st, sizes, types, 1, n);
}

static void test_a_keyframe_sends_parameter_sets_then_fu_a_fragments(void **state)
{
    media_stream *st =
        media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, avcc, sizeof(avcc));
    const size_t sizes[] = {2, 3000};
    const uint8_t types[] = {0x09, 0x65}; /* AUD (dropped), IDR */
    media_packet *p = au(st, sizes, types, 2);
    p->is_keyframe = true;
    p->pts = 9000;
    struct webrtc_rtp_sender s = {.pt = 102, .ssrc = 0x11223344, .seq = 65534, .ts_offset = 5};
    struct sent *out = calloc(1, sizeof(*out));
    assert_int_equal(webrtc_h264_packetize(&s, st, p, collect, out), 0);
    /* SPS, PPS, then 2999 bytes after the NAL header in 1198-byte fragments: 3 */
    assert_int_equal(out->n, 5);
    assert_int_equal(out->len[0], 12 + 4);
    assert_memory_equal(out->pkt[0] + 12, avcc + 8, 4);
    assert_memory_equal(out->pkt[1] + 12, avcc + 15, 3);
    uint8_t nal[3000];
    size_t got = 1;
    nal[0] = 0;
    for (size_t i = 0; i < out->n; i++) {
        const uint8_t *r = out->pkt[i];
        assert_int_equal(r[0], 0x80);
        assert_int_equal(r[1] & 0x7f, 102);
        assert_int_equal((r[1] & 0x80) != 0, i == out->n - 1); /* marker on the last only */
        assert_int_equal((r[2] << 8) | r[3], (uint16_t)(65534 + i)); /* wraps */
        assert_int_equal((r[4] << 24) | (r[5] << 16) | (r[6] << 8) | r[7], 9005);
        assert_int_equal(r[11], 0x44);
        if (i < 2)
            continue;
        assert_int_equal(r[12], 0x60 | 28); /* FU indicator: IDR's NRI, type 28 */
        assert_int_equal(r[13] & 0x1f, 5);
        assert_int_equal((r[13] & 0x80) != 0, i == 2); /* start */
        assert_int_equal((r[13] & 0x40) != 0, i == 4); /* end */
        if (i == 2)
            nal[0] = (uint8_t)((r[12] & 0xe0) | (r[13] & 0x1f));
        memcpy(nal + got, r + 14, out->len[i] - 14);
        got += out->len[i] - 14;
    }
    assert_int_equal(got, 3000);
    assert_memory_equal(nal, p->data + 4 + 2 + 4, 3000); /* reassembles to the NAL unit */
    assert_int_equal(s.seq, (uint16_t)(65534 + 5));
    assert_int_equal(s.packets, 5);
    media_packet_unref(p);
    media_stream_unref(st);
    free(out);
}

static void test_small_nal_units_go_alone_with_a_90khz_timestamp(void **state)
{
    media_stream *st =
        media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 1000, avcc, sizeof(avcc));
    const size_t sizes[] = {10, 1200, 300, 40, 50};
    /* SEI, non-IDR slice of exactly the budget, filler data, and a STAP-A (24) and FU-A (28)
     * a stream should never hold (a viewer would read them as RFC 6184's packets): those three
     * are dropped, so the marker moves back to the slice. */
    const uint8_t types[] = {0x06, 0x41, 0x0c, 0x18, 0x1c};
    media_packet *p = au(st, sizes, types, 5);
    p->pts = 2000; /* 2 s in a 1 kHz timescale */
    struct webrtc_rtp_sender s = {.pt = 96, .ssrc = 1};
    struct sent *out = calloc(1, sizeof(*out));
    assert_int_equal(webrtc_h264_packetize(&s, st, p, collect, out), 0);
    assert_int_equal(out->n, 2);
    assert_int_equal(out->len[1], 12 + 1200);
    assert_int_equal(out->pkt[0][1], 96);
    assert_int_equal(out->pkt[1][1], 0x80 | 96);
    assert_int_equal(s.last_ts, 180000);
    assert_int_equal(out->pkt[1][12], 0x41);
    media_packet_unref(p);
    media_stream_unref(st);
    free(out);
}

static void test_a_malformed_unit_sends_nothing(void **state)
{
    media_stream *st =
        media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, avcc, sizeof(avcc));
    const size_t sizes[] = {10, 20};
    const uint8_t types[] = {0x65, 0x65};
    media_packet *p = au(st, sizes, types, 2);
    p->is_keyframe = true;
    p->data[14 + 3] = 21; /* second NAL's length runs past the unit */
    struct webrtc_rtp_sender s = {.pt = 96};
    struct sent *out = calloc(1, sizeof(*out));
    assert_int_equal(webrtc_h264_packetize(&s, st, p, collect, out), HORUS_EPARSE);
    assert_int_equal(out->n, 0);
    p->size = 2; /* shorter than a length prefix */
    assert_int_equal(webrtc_h264_packetize(&s, st, p, collect, out), HORUS_EPARSE);
    assert_int_equal(out->n, 0);
    media_packet_unref(p);
    media_stream_unref(st);
    free(out);
}

static void test_a_sender_report_carries_counts_and_cname(void **state)
{
    struct webrtc_rtp_sender s = {.ssrc = 0xaabbccdd, .packets = 7, .octets = 900};
    uint8_t b[64];
    assert_int_equal(webrtc_rtcp_sr_build(&s, 0x0102030405060708ull, 0x11111111, b, sizeof(b)), 44);
    static const uint8_t want[44] = {
        0x80, 200,  0,    6,    0xaa, 0xbb, 0xcc, 0xdd, 1,   2,   3,   4,   5,    6,    7,
        8,    0x11, 0x11, 0x11, 0x11, 0,    0,    0,    7,   0,   0,   3,   0x84, 0x81, 202,
        0,    3,    0xaa, 0xbb, 0xcc, 0xdd, 1,    5,    'h', 'o', 'r', 'u', 's',  0,
    };
    assert_memory_equal(b, want, 44);
    assert_int_equal(webrtc_rtcp_sr_build(&s, 0, 0, b, 40), 0);
}

static void test_a_sender_report_maps_timestamps_to_the_frames_wall_clock(void **state)
{
    /* A B-frame unit: wall_us is its decode time's, its timestamp its presentation's. */
    media_stream *st =
        media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, avcc, sizeof(avcc));
    const size_t sizes[] = {100};
    const uint8_t types[] = {0x01};
    media_packet *p = au(st, sizes, types, 1);
    p->dts = 9000;
    p->pts = 18000; /* 0.1 s later than the decode time */
    p->wall_us = 1700000000000000;
    struct webrtc_rtp_sender s = {.pt = 96, .ts_offset = 1000};
    struct sent *out = calloc(1, sizeof(*out));
    assert_int_equal(webrtc_h264_packetize(&s, st, p, collect, out), 0);
    assert_int_equal(s.last_ts, 19000);
    assert_true(s.last_wall_us == 1700000000100000);
    /* Half a second after the frame's wall clock: 45000 ticks on, and the NTP of then. */
    uint64_t ntp;
    uint32_t ts;
    webrtc_sr_clock(&s, 1700000000600000, &ntp, &ts);
    assert_int_equal(ts, 19000 + 45000);
    assert_int_equal(ntp >> 32, 1700000000ull + 2208988800ull);
    assert_int_equal((uint32_t)ntp, 0x99999999u); /* 0.6 s in 1/2^32 s, rounded down */
    /* A clock that stepped back: the timestamp goes back too (modulo 2^32). */
    webrtc_sr_clock(&s, 1700000000000000, &ntp, &ts);
    assert_int_equal(ts, (uint32_t)(19000 - 9000));
    /* No wall clock yet: the latest timestamp is now. */
    struct webrtc_rtp_sender bare = {.last_ts = 77};
    webrtc_sr_clock(&bare, 1700000000600000, &ntp, &ts);
    assert_int_equal(ts, 77);
    media_packet_unref(p);
    media_stream_unref(st);
    free(out);
}

static void test_each_unit_carries_its_wall_clock_as_abs_capture_time(void **state)
{
    media_stream *st =
        media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, avcc, sizeof(avcc));
    const size_t sizes[] = {3000};
    const uint8_t types[] = {0x41}; /* a P slice in FU-A fragments */
    media_packet *p = au(st, sizes, types, 1);
    p->wall_us = 1700000000500000; /* 0.5 s past a whole second */
    struct webrtc_rtp_sender s = {.pt = 96, .abs_capture_id = 13};
    struct sent *out = calloc(1, sizeof(*out));
    assert_int_equal(webrtc_h264_packetize(&s, st, p, collect, out), 0);
    /* Fragments leave room for the extension: 2999 bytes in chunks of 1182. */
    assert_int_equal(out->n, 3);
    const uint8_t *x = out->pkt[0];
    assert_int_equal(x[0], 0x90); /* X bit */
    static const uint8_t ext[16] = {0xbe, 0xde, 0, 3, 13 << 4 | 7, 0, 0, 0, 0, 0x80, 0, 0, 0};
    uint8_t want[16];
    memcpy(want, ext, 16);
    uint32_t sec = (uint32_t)(1700000000ull + 2208988800ull);
    want[5] = (uint8_t)(sec >> 24);
    want[6] = (uint8_t)(sec >> 16);
    want[7] = (uint8_t)(sec >> 8);
    want[8] = (uint8_t)sec;
    assert_memory_equal(x + 12, want, 16);
    assert_int_equal(x[28] & 0x1f, 28); /* the FU indicator follows the extension */
    assert_int_equal(out->len[0], 12 + 16 + 2 + 1182);
    for (size_t i = 1; i < out->n; i++) {
        assert_int_equal(out->pkt[i][0], 0x80); /* once per unit */
        assert_true(out->len[i] <= WEBRTC_RTP_MAX_PACKET);
    }
    /* A unit without a wall clock carries none. */
    p->wall_us = 0;
    out->n = 0;
    assert_int_equal(webrtc_h264_packetize(&s, st, p, collect, out), 0);
    assert_int_equal(out->pkt[0][0], 0x80);
    media_packet_unref(p);
    media_stream_unref(st);
    free(out);
}

static void test_receiver_reference_times_are_read_and_answered(void **state)
{
    const uint8_t xr[] = {
        0x80, 207, 0, 8, 0x01, 0x02, 0x03, 0x04, /* XR from 0x01020304 */
        5,    0,   0, 3, 9,    9,    9,    9,    0,    0,    0,    0,
        0,    0,   0, 0, /* a DLRR block: skipped */
        4,    0,   0, 2, 0xaa, 0xbb, 0xcc, 0xdd, 0x11, 0x22, 0x33, 0x44, /* RRTR */
    };
    struct webrtc_rtcp_feedback fb;
    assert_int_equal(webrtc_rtcp_parse(xr, sizeof(xr), 0x0a0b0c0d, &fb), 0);
    assert_true(fb.has_rrtr);
    assert_int_equal(fb.rrtr_ssrc, 0x01020304);
    assert_int_equal(fb.rrtr_lrr, 0xccdd1122);
    /* A block length past the packet ends the walk without reading past it. */
    uint8_t bad[sizeof(xr)];
    memcpy(bad, xr, sizeof(xr));
    bad[10] = 0xff;
    assert_int_equal(webrtc_rtcp_parse(bad, sizeof(bad), 0x0a0b0c0d, &fb), 0);
    assert_false(fb.has_rrtr);
    /* The answer: DLRR for that receiver, 1.5 s later in 1/65536 s. */
    struct webrtc_rtp_sender s = {.ssrc = 0xaabbccdd};
    uint8_t b[32];
    assert_int_equal(webrtc_rtcp_dlrr_build(&s, 0x01020304, 0xccdd1122, 1500000000, b, sizeof(b)),
                     24);
    static const uint8_t want[24] = {0x80, 207, 0, 5, 0xaa, 0xbb, 0xcc, 0xdd, 5, 0, 0,    3,
                                     1,    2,   3, 4, 0xcc, 0xdd, 0x11, 0x22, 0, 1, 0x80, 0};
    assert_memory_equal(b, want, 24);
    assert_int_equal(webrtc_rtcp_dlrr_build(&s, 1, 2, 3, b, 20), 0);
}

static void test_feedback_for_our_ssrc_asks_keyframes_and_resends(void **state)
{
    const uint8_t rr_pli_nack_fir[] = {
        /* RR from 0x01, one block about 0x0a0b0c0d, fraction lost 64 */
        0x81, 201, 0, 7, 0, 0, 0, 1, 0x0a, 0x0b, 0x0c, 0x0d, 64, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0,
        /* PLI about another SSRC: ignored */
        0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 9,
        /* NACK pid 100, blp 0b101: 100, 101, 103 */
        0x81, 205, 0, 3, 0, 0, 0, 1, 0x0a, 0x0b, 0x0c, 0x0d, 0, 100, 0, 5};
    struct webrtc_rtcp_feedback fb;
    assert_int_equal(webrtc_rtcp_parse(rr_pli_nack_fir, sizeof(rr_pli_nack_fir), 0x0a0b0c0d, &fb),
                     0);
    assert_false(fb.wants_keyframe);
    assert_true(fb.has_rr);
    assert_int_equal(fb.fraction_lost, 64);
    assert_int_equal(fb.n_nacks, 3);
    assert_int_equal(fb.nacks[0], 100);
    assert_int_equal(fb.nacks[1], 101);
    assert_int_equal(fb.nacks[2], 103);

    const uint8_t pli[] = {0x81, 206, 0, 2, 0, 0, 0, 1, 0x0a, 0x0b, 0x0c, 0x0d};
    assert_int_equal(webrtc_rtcp_parse(pli, sizeof(pli), 0x0a0b0c0d, &fb), 0);
    assert_true(fb.wants_keyframe);
    const uint8_t fir[] = {0x84, 206, 0,    4,    0,    0,    0, 1, 0, 0,
                           0,    0,   0x0a, 0x0b, 0x0c, 0x0d, 1, 0, 0, 0};
    assert_int_equal(webrtc_rtcp_parse(fir, sizeof(fir), 0x0a0b0c0d, &fb), 0);
    assert_true(fb.wants_keyframe);
    /* lengths that run past the datagram, a wrong version */
    assert_int_equal(webrtc_rtcp_parse(pli, sizeof(pli) - 1, 0x0a0b0c0d, &fb), HORUS_EPARSE);
    const uint8_t v1[] = {0x41, 206, 0, 0};
    assert_int_equal(webrtc_rtcp_parse(v1, sizeof(v1), 1, &fb), HORUS_EPARSE);
}

static void test_the_history_answers_recent_sequence_numbers_across_the_wrap(void **state)
{
    struct webrtc_rtp_history h;
    webrtc_rtp_history_init(&h);
    uint8_t pkt[40] = {0x80, 96};
    size_t len;
    assert_null(webrtc_rtp_history_get(&h, 5, &len));
    for (unsigned i = 0; i < 300; i++) {
        uint16_t seq = (uint16_t)(65400 + i); /* wraps after 136 packets */
        pkt[2] = (uint8_t)(seq >> 8);
        pkt[3] = (uint8_t)seq;
        pkt[12] = (uint8_t)i;
        webrtc_rtp_history_put(&h, pkt, 13 + i % 20);
    }
    /* the newest WEBRTC_RTP_HISTORY are there, byte for byte */
    for (unsigned i = 300 - WEBRTC_RTP_HISTORY; i < 300; i++) {
        const uint8_t *got = webrtc_rtp_history_get(&h, (uint16_t)(65400 + i), &len);
        assert_non_null(got);
        assert_int_equal(len, 13 + i % 20);
        assert_int_equal(got[12], (uint8_t)i);
    }
    /* older ones were replaced */
    assert_null(webrtc_rtp_history_get(&h, (uint16_t)(65400 + 300 - WEBRTC_RTP_HISTORY - 1), &len));
    assert_null(webrtc_rtp_history_get(&h, 65400, &len));
    webrtc_rtp_history_put(&h, pkt, 8); /* shorter than a header: ignored */
    webrtc_rtp_history_release(&h);
    assert_null(webrtc_rtp_history_get(&h, (uint16_t)(65400 + 299), &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_keyframe_sends_parameter_sets_then_fu_a_fragments),
        cmocka_unit_test(test_small_nal_units_go_alone_with_a_90khz_timestamp),
        cmocka_unit_test(test_a_malformed_unit_sends_nothing),
        cmocka_unit_test(test_a_sender_report_carries_counts_and_cname),
        cmocka_unit_test(test_a_sender_report_maps_timestamps_to_the_frames_wall_clock),
        cmocka_unit_test(test_each_unit_carries_its_wall_clock_as_abs_capture_time),
        cmocka_unit_test(test_receiver_reference_times_are_read_and_answered),
        cmocka_unit_test(test_feedback_for_our_ssrc_asks_keyframes_and_resends),
        cmocka_unit_test(test_the_history_answers_recent_sequence_numbers_across_the_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
