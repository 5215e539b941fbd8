/*
 * Tests for src/webrtc/rtp_out.c's H.265 packetiser (RFC 7798): VPS, SPS
 * and PPS of the hvcC before a keyframe, small NAL units alone, large ones
 * in Fragmentation Units checked byte by byte (payload header type 49 with
 * F, LayerId and TID copied, FU header S/E bits and type, reassembly to the
 * NAL unit), AUD and filler dropped, marker on the unit's last packet, 90
 * kHz timestamps, and malformed units refused whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtp_collect.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

/* An hvcC record (ISO 14496-15 8.3.3.1): 22 bytes of profile and sizes, then three arrays. */
static const uint8_t hvcc[] = {
    1,    0x01, 0x60, 0,    0,    0,    0x90, 0,    0,    0,    0, 0,
    0x5d, 0xf0, 0,    0xfc, 0xfd, 0xf8, 0xf8, 0,    0,    0x0f, 3, /* numOfArrays */
    0xa0, 0x00, 0x01, 0x00, 0x04, 0x40, 0x01, 0x0c, 0x01, /* VPS (32) */
    0xa1, 0x00, 0x01, 0x00, 0x05, 0x42, 0x01, 0x01, 0x01, 0x60, /* SPS (33) */
    0xa2, 0x00, 0x01, 0x00, 0x03, 0x44, 0x01, 0xc1, /* PPS (34) */
};

/* An access unit of NAL units of the given sizes and 2-byte headers. */
static media_packet *au(media_stream *st, const size_t *sizes, const uint8_t (*hdr)[2], size_t n)
{
    return au_make(st, sizes, &hdr[0][0], 2, n);
}

static uint32_t rtp_ts(const uint8_t *r)
{
    return (uint32_t)r[4] << 24 | (uint32_t)r[5] << 16 | (uint32_t)r[6] << 8 | r[7];
}

static void test_a_keyframe_sends_vps_sps_pps_then_fragmentation_units(void **state)
{
    media_stream *st =
        media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H265, 90000, hvcc, sizeof(hvcc));
    const size_t sizes[] = {3, 20, 3000};
    /* AUD (35, dropped); prefix SEI (39); IDR_W_RADL (19) with F=0, LayerId 37, TID 2 */
    const uint8_t hdr[][2] = {{35 << 1, 0x01}, {39 << 1, 0x01}, {19 << 1 | 1, 0x05 << 3 | 2}};
    media_packet *p = au(st, sizes, hdr, 3);
    p->is_keyframe = true;
    p->pts = 9000;
    struct webrtc_rtp_sender s = {.pt = 96, .ssrc = 0x11223344, .seq = 65533, .ts_offset = 5};
    struct sent *out = calloc(1, sizeof(*out));
    assert_int_equal(webrtc_h265_packetize(&s, st, p, collect, out), 0);
    /* VPS, SPS, PPS, SEI, then the IDR's 2998 bytes after its header in 1197-byte pieces */
    assert_int_equal(out->n, 7);
    assert_int_equal(out->len[0], 12 + 4);
    assert_memory_equal(out->pkt[0] + 12, hvcc + 28, 4);
    assert_int_equal(out->len[1], 12 + 5);
    assert_memory_equal(out->pkt[1] + 12, hvcc + 37, 5);
    assert_int_equal(out->len[2], 12 + 3);
    assert_memory_equal(out->pkt[2] + 12, hvcc + 47, 3);
    assert_int_equal(out->len[3], 12 + 20);
    assert_memory_equal(out->pkt[3] + 12, p->data + 4 + 3 + 4, 20); /* the SEI alone, whole */
    const size_t fu_len[] = {1197, 1197, 604};
    uint8_t nal[3000];
    size_t got = 2;
    for (size_t i = 0; i < out->n; i++) {
        const uint8_t *r = out->pkt[i];
        assert_int_equal(r[0], 0x80);
        assert_int_equal(r[1] & 0x7f, 96);
        assert_int_equal((r[1] & 0x80) != 0, i == out->n - 1); /* marker on the last only */
        assert_int_equal((r[2] << 8) | r[3], (uint16_t)(65533 + i)); /* wraps */
        assert_int_equal(rtp_ts(r), 9005);
        assert_int_equal(r[8] << 24 | r[9] << 16 | r[10] << 8 | r[11], 0x11223344);
        if (i < 4)
            continue;
        /* payload header: F 0, type 49, LayerId 37 (high bit here, 5 bits next), TID 2 */
        assert_int_equal(r[12], 49 << 1 | 1);
        assert_int_equal(r[13], 0x05 << 3 | 2);
        /* FU header: S on the first, E on the last, the NAL's type 19 */
        uint8_t fu = (uint8_t)((i == 4 ? 0x80 : 0) | (i == 6 ? 0x40 : 0) | 19);
        assert_int_equal(r[14], fu);
        assert_int_equal(out->len[i], 12 + 3 + fu_len[i - 4]);
        memcpy(nal + got, r + 15, out->len[i] - 15);
        got += out->len[i] - 15;
    }
    /* the NAL header comes back from the payload header's F/LayerId/TID and the FU's type */
    nal[0] = (uint8_t)((out->pkt[4][12] & 0x81) | (out->pkt[4][14] & 0x3f) << 1);
    nal[1] = out->pkt[4][13];
    assert_int_equal(got, 3000);
    assert_memory_equal(nal, p->data + 4 + 3 + 4 + 20 + 4, 3000);
    assert_int_equal(s.seq, (uint16_t)(65533 + 7));
    assert_int_equal(s.packets, 7);
    media_packet_unref(p);
    media_stream_unref(st);
    free(out);
}

static void test_units_at_the_budget_go_alone_one_above_is_fragmented(void **state)
{
    media_stream *st =
        media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H265, 1000, hvcc, sizeof(hvcc));
    const size_t sizes[] = {WEBRTC_RTP_MAX_PAYLOAD, WEBRTC_RTP_MAX_PAYLOAD + 1, 50};
    /* two TRAIL_R slices (1), then filler data (38, dropped: the marker moves back) */
    const uint8_t hdr[][2] = {{0x02, 0x01}, {0x02, 0x01}, {38 << 1, 0x01}};
    media_packet *p = au(st, sizes, hdr, 3);
    p->pts = 2000; /* 2 s in a 1 kHz timescale */
    struct webrtc_rtp_sender s = {.pt = 98, .ssrc = 1};
    struct sent *out = calloc(1, sizeof(*out));
    assert_int_equal(webrtc_h265_packetize(&s, st, p, collect, out), 0);
    /* no parameter sets (not a keyframe); 1200 alone; 1199 after the header: 1197 + 2 */
    assert_int_equal(out->n, 3);
    assert_int_equal(out->len[0], 12 + WEBRTC_RTP_MAX_PAYLOAD);
    assert_memory_equal(out->pkt[0] + 12, p->data + 4, WEBRTC_RTP_MAX_PAYLOAD);
    const uint8_t first[] = {49 << 1, 0x01, 0x80 | 1};
    const uint8_t last[] = {49 << 1, 0x01, 0x40 | 1};
    assert_memory_equal(out->pkt[1] + 12, first, 3);
    assert_memory_equal(out->pkt[2] + 12, last, 3);
    assert_int_equal(out->len[1], WEBRTC_RTP_MAX_PACKET);
    assert_int_equal(out->len[2], 12 + 3 + 2);
    const uint8_t *second = p->data + 4 + WEBRTC_RTP_MAX_PAYLOAD + 4;
    assert_memory_equal(out->pkt[2] + 15, second + WEBRTC_RTP_MAX_PAYLOAD - 1, 2);
    assert_int_equal(out->pkt[0][1], 98);
    assert_int_equal(out->pkt[1][1], 98);
    assert_int_equal(out->pkt[2][1], 0x80 | 98);
    for (size_t i = 0; i < out->n; i++)
        assert_int_equal(rtp_ts(out->pkt[i]), 180000);
    media_packet_unref(p);
    media_stream_unref(st);
    free(out);
}

static void test_a_fragment_leaves_room_for_abs_capture_time(void **state)
{
    media_stream *st = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H265, 90000, NULL, 0);
    const size_t sizes[] = {2500};
    const uint8_t hdr[][2] = {{0x02, 0x01}};
    media_packet *p = au(st, sizes, hdr, 1);
    p->is_keyframe = true; /* no hvcC: nothing sent before it */
    p->wall_us = 1700000000000000;
    struct webrtc_rtp_sender s = {.pt = 96, .ssrc = 1, .abs_capture_id = 3};
    struct sent *out = calloc(1, sizeof(*out));
    assert_int_equal(webrtc_h265_packetize(&s, st, p, collect, out), 0);
    /* 2498 bytes in pieces of 1200 - 3 - 16 = 1181: 3 fragments, the first with the extension */
    assert_int_equal(out->n, 3);
    assert_int_equal(out->pkt[0][0], 0x90);
    assert_int_equal(out->len[0], 12 + WEBRTC_RTP_EXT_ROOM + 3 + 1181);
    assert_int_equal(out->pkt[0][12 + WEBRTC_RTP_EXT_ROOM + 2], 0x80 | 1);
    assert_int_equal(out->pkt[1][0], 0x80);
    assert_int_equal(out->len[2], 12 + 3 + 2498 - 2 * 1181);
    media_packet_unref(p);
    media_stream_unref(st);
    free(out);
}

static void test_a_unit_with_a_short_nal_sends_nothing(void **state)
{
    media_stream *st =
        media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H265, 90000, hvcc, sizeof(hvcc));
    const size_t sizes[] = {30, 1};
    const uint8_t hdr[][2] = {{0x02, 0x01}, {0x02, 0x01}};
    media_packet *p = au(st, sizes, hdr, 2);
    p->is_keyframe = true;
    struct webrtc_rtp_sender s = {.pt = 96, .ssrc = 1};
    struct sent *out = calloc(1, sizeof(*out));
    assert_int_equal(webrtc_h265_packetize(&s, st, p, collect, out), HORUS_EPARSE);
    assert_int_equal(out->n, 0);
    assert_int_equal(s.seq, 0);
    media_packet_unref(p);
    media_stream_unref(st);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_keyframe_sends_vps_sps_pps_then_fragmentation_units),
        cmocka_unit_test(test_units_at_the_budget_go_alone_one_above_is_fragmented),
        cmocka_unit_test(test_a_fragment_leaves_room_for_abs_capture_time),
        cmocka_unit_test(test_a_unit_with_a_short_nal_sends_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
