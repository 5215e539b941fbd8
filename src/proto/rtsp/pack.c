/*
 * DESIGN: the sending side of RTP, shared by the camera simulator and the
 * daemon's re-stream server. One access unit at a time is packetised into
 * the packer's buffer: RTP packets, each already wrapped in the 4-byte
 * RTSP interleaved header, back to back, so a sender hands the whole unit
 * to one write. H.264 NAL units go whole or as FU-A (RFC 6184 5.8), H.265
 * whole or as FU (RFC 7798 4.4.3), AAC as RFC 3640 AAC-hbr with one
 * AU-header; payloads never pass rtp_packer.max_payload bytes, and the
 * last packet of a unit carries the marker. The buffer grows to the
 * largest unit and is reused. Sender reports with a CNAME are rtp.c's.
 * Thread: one per packer.
 */
#include "rtsp_proto.h"

#include "mem.h"

#include <stdlib.h>
#include <string.h>

void rtp_packer_init(struct rtp_packer *pk, uint8_t payload_type, uint8_t channel, uint32_t ssrc,
                     uint16_t first_seq)
{
    memset(pk, 0, sizeof(*pk));
    pk->payload_type = payload_type;
    pk->channel = channel;
    pk->ssrc = ssrc;
    pk->next_seq = first_seq;
    pk->max_payload = RTP_PACK_MAX_PAYLOAD;
    pk->last_header = SIZE_MAX;
}

void rtp_packer_release(struct rtp_packer *pk)
{
    free(pk->buf);
    pk->buf = NULL;
    pk->cap = 0;
    pk->len = 0;
}

void rtp_packer_begin(struct rtp_packer *pk, uint32_t timestamp)
{
    pk->len = 0;
    pk->last_header = SIZE_MAX;
    pk->timestamp = timestamp;
}

static void reserve(struct rtp_packer *pk, size_t need)
{
    if (need <= pk->cap)
        return;
    size_t cap = pk->cap ? pk->cap : 64 * 1024;
    while (cap < need)
        cap *= 2;
    pk->buf = horus_realloc(pk->buf, cap);
    pk->cap = cap;
}

uint8_t *rtp_packer_packet(struct rtp_packer *pk, size_t payload_len)
{
    size_t pkt_len = RTP_HEADER_SIZE + payload_len;
    reserve(pk, pk->len + RTSP_INTERLEAVED_HEADER + pkt_len);
    uint8_t *p = pk->buf + pk->len;
    rtsp_interleaved_write(p, pk->channel, pkt_len);
    struct rtp_packet hdr = {
        .payload_type = pk->payload_type,
        .seq = pk->next_seq,
        .timestamp = pk->timestamp,
        .ssrc = pk->ssrc,
    };
    rtp_header_write(p + RTSP_INTERLEAVED_HEADER, &hdr);
    pk->last_header = pk->len + RTSP_INTERLEAVED_HEADER;
    pk->len += RTSP_INTERLEAVED_HEADER + pkt_len;
    pk->next_seq++;
    pk->packets_sent++;
    pk->octets_sent += (uint32_t)payload_len;
    return p + RTSP_INTERLEAVED_HEADER + RTP_HEADER_SIZE;
}

void rtp_packer_nal(struct rtp_packer *pk, bool is_h265, const uint8_t *nal, size_t len)
{
    size_t hdr_len = is_h265 ? 2 : 1;
    if (len < hdr_len)
        return;
    if (len <= pk->max_payload) {
        memcpy(rtp_packer_packet(pk, len), nal, len);
        return;
    }
    size_t fu_len = hdr_len + 1;
    int type = is_h265 ? (nal[0] >> 1) & 0x3f : nal[0] & 0x1f;
    const uint8_t *p = nal + hdr_len;
    size_t left = len - hdr_len;
    bool is_first = true;
    while (left > 0) {
        size_t room = pk->max_payload - fu_len;
        size_t chunk = left < room ? left : room;
        uint8_t *out = rtp_packer_packet(pk, fu_len + chunk);
        uint8_t se = (uint8_t)((is_first ? 0x80 : 0) | (chunk == left ? 0x40 : 0));
        if (is_h265) {
            out[0] = (uint8_t)((nal[0] & 0x81) | (49 << 1));
            out[1] = nal[1];
            out[2] = (uint8_t)(se | type);
        } else {
            out[0] = (uint8_t)((nal[0] & 0xe0) | 28);
            out[1] = (uint8_t)(se | type);
        }
        memcpy(out + fu_len, p, chunk);
        p += chunk;
        left -= chunk;
        is_first = false;
    }
}

void rtp_packer_aac_hbr(struct rtp_packer *pk, const uint8_t *au, size_t len)
{
    size_t size = len > 8191 ? 8191 : len; /* the AU-header's 13-bit size */
    uint8_t *out = rtp_packer_packet(pk, 4 + size);
    out[0] = 0;
    out[1] = 16; /* AU-headers-length in bits: one 16-bit header */
    out[2] = (uint8_t)(size >> 5);
    out[3] = (uint8_t)((size & 0x1f) << 3);
    memcpy(out + 4, au, size);
}

void rtp_packer_end(struct rtp_packer *pk)
{
    if (pk->last_header != SIZE_MAX)
        pk->buf[pk->last_header + 1] |= 0x80;
}
