/*
 * DESIGN: the binary framing of a playing RTSP session, both directions:
 * RTSP-interleaved frames (RFC 2326 10.12), RTP fixed headers (RFC 3550
 * 5.1, with CSRCs, header extension and padding on the way in) and RTCP
 * sender reports (RFC 3550 6.4.1), whose NTP/RTP pair maps the RTP clock to
 * wall-clock time. Parsers point into the caller's buffer and writers fill
 * the caller's bytes: nothing is copied or allocated, since this runs once
 * per packet on the client's hot path. Thread: any (no state).
 */
#include "rtsp_proto.h"

#include "err.h"

#include <errno.h>

#define NTP_UNIX_OFFSET_S 2208988800ull

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- interleaved framing ---- */

size_t rtsp_interleaved_len(const uint8_t *buf, size_t len)
{
    if (len < RTSP_INTERLEAVED_HEADER)
        return 0;
    return RTSP_INTERLEAVED_HEADER + rd16(buf + 2);
}

int rtsp_interleaved_parse(const uint8_t *buf, size_t len, uint8_t *channel, const uint8_t **data,
                           size_t *data_len)
{
    if (len == 0)
        return 0;
    if (buf[0] != '$')
        return HORUS_EPARSE;
    size_t n = rtsp_interleaved_len(buf, len);
    if (n == 0 || len < n)
        return 0;
    *channel = buf[1];
    *data = buf + RTSP_INTERLEAVED_HEADER;
    *data_len = n - RTSP_INTERLEAVED_HEADER;
    return (int)n;
}

void rtsp_interleaved_write(uint8_t *out, uint8_t channel, size_t data_len)
{
    out[0] = '$';
    out[1] = channel;
    out[2] = (uint8_t)(data_len >> 8);
    out[3] = (uint8_t)data_len;
}

/* ---- RTP ---- */

int rtp_packet_parse(const uint8_t *buf, size_t len, struct rtp_packet *out)
{
    if (len < RTP_HEADER_SIZE || (buf[0] >> 6) != 2)
        return HORUS_EPARSE;
    size_t end = len;
    if (buf[0] & 0x20) { /* padding: the last byte counts it */
        uint8_t pad = buf[len - 1];
        if (pad == 0 || pad > len - RTP_HEADER_SIZE)
            return HORUS_EPARSE;
        end -= pad;
    }
    size_t pos = RTP_HEADER_SIZE + 4 * (size_t)(buf[0] & 0x0f);
    if (pos > end)
        return HORUS_EPARSE;
    if (buf[0] & 0x10) { /* header extension: 16-bit profile, 16-bit length in words */
        if (pos + 4 > end)
            return HORUS_EPARSE;
        size_t words = rd16(buf + pos + 2);
        pos += 4 + 4 * words;
        if (pos > end)
            return HORUS_EPARSE;
    }
    out->marker = (buf[1] & 0x80) != 0;
    out->payload_type = buf[1] & 0x7f;
    out->seq = rd16(buf + 2);
    out->timestamp = rd32(buf + 4);
    out->ssrc = rd32(buf + 8);
    out->payload = buf + pos;
    out->payload_len = end - pos;
    return 0;
}

void rtp_header_write(uint8_t *out, const struct rtp_packet *pkt)
{
    out[0] = 0x80; /* version 2, no padding, no extension, no CSRC */
    out[1] = (uint8_t)((pkt->marker ? 0x80 : 0) | (pkt->payload_type & 0x7f));
    out[2] = (uint8_t)(pkt->seq >> 8);
    out[3] = (uint8_t)pkt->seq;
    wr32(out + 4, pkt->timestamp);
    wr32(out + 8, pkt->ssrc);
}

/* ---- RTCP ---- */

int rtcp_sr_find(const uint8_t *buf, size_t len, struct rtcp_sr *out)
{
    size_t pos = 0;
    while (pos + 4 <= len) {
        const uint8_t *p = buf + pos;
        if ((p[0] >> 6) != 2)
            return HORUS_EPARSE;
        size_t n = 4 * ((size_t)rd16(p + 2) + 1);
        if (pos + n > len)
            return HORUS_EPARSE;
        if (p[1] == 200) {
            if (n < RTCP_SR_SIZE)
                return HORUS_EPARSE;
            out->ssrc = rd32(p + 4);
            out->ntp = (uint64_t)rd32(p + 8) << 32 | rd32(p + 12);
            out->rtp_timestamp = rd32(p + 16);
            out->packets = rd32(p + 20);
            out->octets = rd32(p + 24);
            return 0;
        }
        pos += n;
    }
    return pos == len ? -ENOENT : HORUS_EPARSE;
}

void rtcp_sr_write(uint8_t *out, const struct rtcp_sr *sr)
{
    out[0] = 0x80; /* version 2, no report blocks */
    out[1] = 200;
    out[2] = 0;
    out[3] = RTCP_SR_SIZE / 4 - 1;
    wr32(out + 4, sr->ssrc);
    wr32(out + 8, (uint32_t)(sr->ntp >> 32));
    wr32(out + 12, (uint32_t)sr->ntp);
    wr32(out + 16, sr->rtp_timestamp);
    wr32(out + 20, sr->packets);
    wr32(out + 24, sr->octets);
}

uint64_t rtcp_ntp_from_unix_ns(int64_t unix_ns)
{
    uint64_t secs = (uint64_t)(unix_ns / 1000000000) + NTP_UNIX_OFFSET_S;
    uint64_t frac = ((uint64_t)(unix_ns % 1000000000) << 32) / 1000000000;
    return secs << 32 | frac;
}

int64_t rtcp_ntp_to_unix_us(uint64_t ntp)
{
    int64_t secs = (int64_t)(ntp >> 32) - (int64_t)NTP_UNIX_OFFSET_S;
    int64_t frac_us = (int64_t)(((ntp & 0xffffffffull) * 1000000ull) >> 32);
    return secs * 1000000 + frac_us;
}

int64_t rtcp_sr_unix_us(const struct rtcp_sr *sr, uint32_t rtp_timestamp, uint32_t clock_rate)
{
    int64_t base_us = rtcp_ntp_to_unix_us(sr->ntp);
    if (clock_rate == 0)
        return base_us;
    /* The signed 32-bit distance: the report may be a little before or after the packet. */
    int64_t ticks = (int32_t)(rtp_timestamp - sr->rtp_timestamp);
    return base_us + ticks * 1000000 / (int64_t)clock_rate;
}
