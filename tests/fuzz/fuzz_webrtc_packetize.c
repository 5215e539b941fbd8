/*
 * libFuzzer driver for the WebRTC video packetisers (src/webrtc/rtp_out.c):
 * the access units come from cameras, so any bytes. The first byte picks
 * H.264 or H.265 and keyframe or not, the second the length of the
 * avcC/hvcC record that follows; the rest is the access unit. Every packet
 * fits WEBRTC_RTP_MAX_PACKET, carries the sender's SSRC and one timestamp,
 * and none follows one with the marker; an H.265 packet of type 49 is a
 * Fragmentation Unit (never both start and end set), and none is of type 48
 * or 50 (the camera's unspecified NAL types are not sent).
 */
#include "rtp_out_int.h"

#include "err.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
    bool h265;
    size_t n;
    bool marked; /* a packet with the marker went: nothing may follow */
    uint32_t ts;
};

static int on_packet(void *arg, const uint8_t *pkt, size_t len)
{
    struct check *c = arg;
    if (len < 12 || len > WEBRTC_RTP_MAX_PACKET || c->marked)
        __builtin_trap();
    uint32_t ts = (uint32_t)pkt[4] << 24 | (uint32_t)pkt[5] << 16 | (uint32_t)pkt[6] << 8 | pkt[7];
    if ((c->n > 0 && ts != c->ts) || memcmp(pkt + 8, "\x04\x03\x02\x01", 4) != 0)
        __builtin_trap();
    c->ts = ts;
    c->marked = (pkt[1] & 0x80) != 0;
    size_t at = (pkt[0] & 0x10) ? 12 + WEBRTC_RTP_EXT_ROOM : 12;
    int type = len > at ? (pkt[at] >> 1) & 0x3f : -1;
    if (c->h265 && (type == 48 || type == 50 ||
                    (type == 49 && (len < at + 3 || (pkt[at + 2] & 0xc0) == 0xc0))))
        __builtin_trap();
    c->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    bool h265 = data[0] & 1;
    size_t x = data[1];
    if (x > size - 2)
        x = size - 2;
    size_t n = size - 2 - x;
    if (n == 0)
        return 0;
    media_stream *st = media_stream_new(
        MEDIA_KIND_VIDEO, h265 ? MEDIA_CODEC_H265 : MEDIA_CODEC_H264, 90000, data + 2, x);
    media_packet *p = media_packet_new(st, n);
    memcpy(p->data, data + 2 + x, n);
    p->is_keyframe = (data[0] & 2) != 0;
    p->pts = data[0];
    p->wall_us = (data[0] & 4) ? 1700000000000000 : 0;
    struct webrtc_rtp_sender s = {.pt = 96, .ssrc = 0x04030201, .abs_capture_id = data[0] >> 4};
    if (s.abs_capture_id > 14)
        s.abs_capture_id = 0;
    struct check c = {.h265 = h265};
    int rc = h265 ? webrtc_h265_packetize(&s, st, p, on_packet, &c)
                  : webrtc_h264_packetize(&s, st, p, on_packet, &c);
    if ((rc != 0 && rc != HORUS_EPARSE) || s.packets != c.n)
        __builtin_trap();
    media_packet_unref(p);
    media_stream_unref(st);
    return 0;
}
