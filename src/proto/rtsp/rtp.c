/*
 * DESIGN: the binary framing of a playing RTSP session, both directions:
 * RTSP-interleaved frames (RFC 2326 10.12), RTP fixed headers (RFC 3550
 * 5.1, with CSRCs, header extension and padding on the way in), RTCP
 * sender reports (RFC 3550 6.4.1), whose NTP/RTP pair maps the RTP clock to
 * wall-clock time, and receiver reports (6.4.2) with the receiver's
 * statistics of one source that fill them (sequence numbers and wraps,
 * loss, interarrival jitter: A.1, A.3, A.8; the last SR for LSR/DLSR). Parsers point into the
 * caller's buffer and writers fill the caller's bytes: nothing is copied or allocated, since this
 * runs once per packet on the client's hot path. Thread: any (no state).
 */
#include "rtsp_proto.h"
#include "bytes.h"

#include "err.h"

#include <errno.h>
#include <string.h>

#define NTP_UNIX_OFFSET_S 2208988800ull

/* ---- interleaved framing ---- */

size_t rtsp_interleaved_len(const uint8_t *buf, size_t len)
{
    if (len < RTSP_INTERLEAVED_HEADER)
        return 0;
    return RTSP_INTERLEAVED_HEADER + horus_be16(buf + 2);
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
        size_t words = horus_be16(buf + pos + 2);
        pos += 4 + 4 * words;
        if (pos > end)
            return HORUS_EPARSE;
    }
    out->marker = (buf[1] & 0x80) != 0;
    out->payload_type = buf[1] & 0x7f;
    out->seq = horus_be16(buf + 2);
    out->timestamp = horus_be32(buf + 4);
    out->ssrc = horus_be32(buf + 8);
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
    horus_put_be32(out + 4, pkt->timestamp);
    horus_put_be32(out + 8, pkt->ssrc);
}

/* ---- RTCP ---- */

/*
 * The first packet of type pt in the compound RTCP packet buf[0..len):
 * *at and *n its start and length. -ENOENT when the compound is well
 * formed and has none, HORUS_EPARSE when a header is not version 2 or a
 * length runs past the end.
 */
static int rtcp_packet_find(const uint8_t *buf, size_t len, uint8_t pt, const uint8_t **at,
                            size_t *n)
{
    size_t pos = 0;
    while (pos + 4 <= len) {
        const uint8_t *p = buf + pos;
        if ((p[0] >> 6) != 2)
            return HORUS_EPARSE;
        size_t size = 4 * ((size_t)horus_be16(p + 2) + 1);
        if (pos + size > len)
            return HORUS_EPARSE;
        if (p[1] == pt) {
            *at = p;
            *n = size;
            return 0;
        }
        pos += size;
    }
    return pos == len ? -ENOENT : HORUS_EPARSE;
}

int rtcp_sr_find(const uint8_t *buf, size_t len, struct rtcp_sr *out)
{
    const uint8_t *p;
    size_t n;
    int rc = rtcp_packet_find(buf, len, 200, &p, &n);
    if (rc < 0)
        return rc;
    if (n < RTCP_SR_SIZE)
        return HORUS_EPARSE;
    out->ssrc = horus_be32(p + 4);
    out->ntp = (uint64_t)horus_be32(p + 8) << 32 | horus_be32(p + 12);
    out->rtp_timestamp = horus_be32(p + 16);
    out->packets = horus_be32(p + 20);
    out->octets = horus_be32(p + 24);
    return 0;
}

void rtcp_sr_write(uint8_t *out, const struct rtcp_sr *sr)
{
    out[0] = 0x80; /* version 2, no report blocks */
    out[1] = 200;
    out[2] = 0;
    out[3] = RTCP_SR_SIZE / 4 - 1;
    horus_put_be32(out + 4, sr->ssrc);
    horus_put_be32(out + 8, (uint32_t)(sr->ntp >> 32));
    horus_put_be32(out + 12, (uint32_t)sr->ntp);
    horus_put_be32(out + 16, sr->rtp_timestamp);
    horus_put_be32(out + 20, sr->packets);
    horus_put_be32(out + 24, sr->octets);
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

/* ---- RTCP receiver reports ---- */

#define RTCP_CNAME "horus"
#define SEQ_MAX_DROPOUT 3000 /* RFC 3550 A.1: a jump ahead this big is a restart */
#define SEQ_MAX_MISORDER 100 /* ... and one back this far is a late packet */

uint32_t rtcp_ntp_middle(uint64_t ntp)
{
    return (uint32_t)(ntp >> 16);
}

static size_t sdes_size(const char *cname)
{
    size_t n = strlen(cname);
    /* header 4, SSRC 4, CNAME item 2 + n, end 1, padded to 32 bits */
    return (4 + 4 + 2 + (n > 255 ? 255 : n) + 1 + 3) & ~(size_t)3;
}

/* SDES: one chunk, the SSRC with its CNAME, the end item, padded to 32 bits. */
static size_t sdes_write(uint8_t *p, uint32_t ssrc, const char *cname)
{
    size_t n = strlen(cname);
    if (n > 255)
        n = 255;
    size_t sdes = sdes_size(cname);
    memset(p, 0, sdes);
    p[0] = 0x81;
    p[1] = 202;
    p[3] = (uint8_t)(sdes / 4 - 1);
    horus_put_be32(p + 4, ssrc);
    p[8] = 1; /* CNAME */
    p[9] = (uint8_t)n;
    memcpy(p + 10, cname, n);
    return sdes;
}

size_t rtcp_sr_sdes_size(const char *cname)
{
    return RTCP_SR_SIZE + sdes_size(cname);
}

size_t rtcp_sr_sdes_write(uint8_t *out, const struct rtcp_sr *sr, const char *cname)
{
    rtcp_sr_write(out, sr);
    return RTCP_SR_SIZE + sdes_write(out + RTCP_SR_SIZE, sr->ssrc, cname);
}

void rtcp_rr_write(uint8_t *out, uint32_t ssrc, const struct rtcp_report_block *b)
{
    out[0] = 0x81; /* version 2, one report block */
    out[1] = 201;
    out[2] = 0;
    out[3] = RTCP_RR_SIZE / 4 - 1;
    horus_put_be32(out + 4, ssrc);
    horus_put_be32(out + 8, b->ssrc);
    int32_t lost = b->cumulative_lost;
    lost = lost > 0x7fffff ? 0x7fffff : lost < -0x800000 ? -0x800000 : lost;
    horus_put_be32(out + 12, (uint32_t)b->fraction_lost << 24 | ((uint32_t)lost & 0xffffff));
    horus_put_be32(out + 16, b->highest_seq);
    horus_put_be32(out + 20, b->jitter);
    horus_put_be32(out + 24, b->lsr);
    horus_put_be32(out + 28, b->dlsr);
    sdes_write(out + RTCP_RR_SIZE, ssrc, RTCP_CNAME);
}

int rtcp_rr_find(const uint8_t *buf, size_t len, struct rtcp_rr *out)
{
    const uint8_t *p;
    size_t n;
    int rc = rtcp_packet_find(buf, len, 201, &p, &n);
    if (rc < 0)
        return rc;
    unsigned count = p[0] & 0x1f;
    if (n < 8 + 24 * (size_t)count)
        return HORUS_EPARSE;
    memset(out, 0, sizeof(*out));
    out->ssrc = horus_be32(p + 4);
    out->nblocks = count;
    if (count > 0) {
        const uint8_t *b = p + 8;
        out->block.ssrc = horus_be32(b);
        out->block.fraction_lost = b[4];
        uint32_t lost = horus_be32(b + 4) & 0xffffff;
        out->block.cumulative_lost = (int32_t)(lost & 0x800000 ? lost | 0xff000000u : lost);
        out->block.highest_seq = horus_be32(b + 8);
        out->block.jitter = horus_be32(b + 12);
        out->block.lsr = horus_be32(b + 16);
        out->block.dlsr = horus_be32(b + 20);
    }
    return 0;
}

/* ---- a receiver's statistics of one source ---- */

static void rx_stats_start(struct rtp_rx_stats *st, uint32_t ssrc, uint16_t seq)
{
    memset(st, 0, sizeof(*st));
    st->has_seq = true;
    st->ssrc = ssrc;
    st->base_seq = seq;
    st->max_seq = seq;
}

void rtp_rx_stats_packet(struct rtp_rx_stats *st, uint32_t ssrc, uint16_t seq, uint32_t timestamp,
                         int64_t arrival_rtp)
{
    if (!st->has_seq || ssrc != st->ssrc) {
        rx_stats_start(st, ssrc, seq);
    } else {
        uint16_t ahead = (uint16_t)(seq - st->max_seq);
        if (ahead < SEQ_MAX_DROPOUT) {
            if (seq < st->max_seq)
                st->cycles += 1u << 16; /* wrapped */
            st->max_seq = seq;
        } else if (ahead <= 65536 - SEQ_MAX_MISORDER) {
            /* A jump no loss explains: the source restarted its numbering. */
            uint32_t lsr = st->lsr;
            int64_t lsr_at = st->lsr_at_us;
            rx_stats_start(st, ssrc, seq);
            st->lsr = lsr;
            st->lsr_at_us = lsr_at;
            st->received = 0;
        }
        /* else: a duplicate or a late packet, counted as received */
    }
    st->received++;
    /* A.8, on 32-bit RTP arithmetic: the clocks of both ends wrap alike. */
    uint32_t transit = (uint32_t)arrival_rtp - timestamp;
    if (st->has_transit) {
        int32_t d = (int32_t)(transit - (uint32_t)st->transit);
        uint32_t ad = d < 0 ? (uint32_t)(-(int64_t)d) : (uint32_t)d;
        st->jitter_q4 += ad - ((st->jitter_q4 + 8) >> 4);
    }
    st->transit = transit;
    st->has_transit = true;
}

void rtp_rx_stats_sr(struct rtp_rx_stats *st, uint64_t ntp, int64_t now_us)
{
    st->lsr = rtcp_ntp_middle(ntp);
    st->lsr_at_us = now_us;
}

bool rtp_rx_stats_report(struct rtp_rx_stats *st, int64_t now_us, struct rtcp_report_block *out)
{
    if (!st->has_seq)
        return false;
    uint64_t extended = (uint64_t)st->cycles + st->max_seq;
    uint64_t expected = extended - st->base_seq + 1;
    int64_t lost = (int64_t)expected - (int64_t)st->received;
    uint64_t expected_interval = expected - st->expected_prior;
    uint64_t received_interval = st->received - st->received_prior;
    st->expected_prior = expected;
    st->received_prior = st->received;
    int64_t lost_interval = (int64_t)expected_interval - (int64_t)received_interval;
    memset(out, 0, sizeof(*out));
    out->ssrc = st->ssrc;
    out->fraction_lost = expected_interval == 0 || lost_interval <= 0
                             ? 0
                             : (uint8_t)(lost_interval >= (int64_t)expected_interval
                                             ? 255
                                             : ((uint64_t)lost_interval << 8) / expected_interval);
    out->cumulative_lost = (int32_t)(lost > 0x7fffff    ? 0x7fffff
                                     : lost < -0x800000 ? -0x800000
                                                        : lost);
    out->highest_seq = (uint32_t)extended;
    out->jitter = st->jitter_q4 >> 4;
    if (st->lsr) {
        out->lsr = st->lsr;
        int64_t since = now_us - st->lsr_at_us;
        out->dlsr = since <= 0 ? 0 : (uint32_t)(since * 65536 / 1000000);
    }
    return true;
}
