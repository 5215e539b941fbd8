/*
 * DESIGN: the binary framing a camera sends after PLAY, pure logic:
 * RTSP-interleaved frames (RFC 2326 10.12), RTP headers (RFC 3550 5.1,
 * with CSRCs, header extension and padding) and the sender report of a
 * compound RTCP packet (RFC 3550 6.4.1), whose NTP/RTP pair maps the RTP
 * clock to wall-clock time. Everything points into the caller's buffer;
 * nothing is copied. Thread: any (no state).
 */
#include "rtsp_int.h"

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

int ing_interleaved_parse(const uint8_t *buf, size_t len, uint8_t *channel, const uint8_t **data,
                          size_t *data_len)
{
    if (len == 0)
        return 0;
    if (buf[0] != '$')
        return HORUS_EPARSE;
    if (len < 4)
        return 0;
    size_t n = rd16(buf + 2);
    if (len < 4 + n)
        return 0;
    *channel = buf[1];
    *data = buf + 4;
    *data_len = n;
    return (int)(4 + n);
}

int ing_rtp_parse(const uint8_t *buf, size_t len, struct ing_rtp *out)
{
    if (len < 12 || (buf[0] >> 6) != 2)
        return HORUS_EPARSE;
    size_t end = len;
    if (buf[0] & 0x20) { /* padding: the last byte counts it */
        uint8_t pad = buf[len - 1];
        if (pad == 0 || pad > len - 12)
            return HORUS_EPARSE;
        end -= pad;
    }
    size_t pos = 12 + 4 * (size_t)(buf[0] & 0x0f);
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

int ing_rtcp_sr_find(const uint8_t *buf, size_t len, struct ing_rtcp_sr *out)
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
            if (n < 28)
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

int64_t ing_rtcp_sr_unix_us(const struct ing_rtcp_sr *sr, uint32_t rtp_timestamp,
                            uint32_t clock_rate)
{
    int64_t secs = (int64_t)(sr->ntp >> 32) - (int64_t)NTP_UNIX_OFFSET_S;
    int64_t frac_us = (int64_t)(((sr->ntp & 0xffffffffull) * 1000000ull) >> 32);
    int64_t base_us = secs * 1000000 + frac_us;
    if (clock_rate == 0)
        return base_us;
    /* The signed 32-bit distance: the report may be a little before or after the packet. */
    int64_t ticks = (int32_t)(rtp_timestamp - sr->rtp_timestamp);
    return base_us + ticks * 1000000 / (int64_t)clock_rate;
}
