/*
 * DESIGN: the WebRTC sender's RTP and RTCP (docs/design/0055, 0078). H.264
 * and H.265 access units arrive as length-prefixed NAL units with the parameter
 * sets out of band (media.h); a browser that joins mid-stream or loses a
 * keyframe needs SPS and PPS in band, so they go before each keyframe as
 * single NAL unit packets with the keyframe's timestamp. NAL units larger
 * than the payload budget are cut into FU-A fragments (RFC 6184 5.8); H.265
 * the same way (RFC 7798: VPS, SPS and PPS before a keyframe, FU of type 49
 * with the NAL's F, LayerId and TID in its payload header).
 * The RTCP parser only looks at what the sender acts on: PLI and FIR
 * (send a keyframe), generic NACK (resend from history, later) and the
 * receiver report's loss. Pure; Thread: any.
 */
#include "rtp_out_int.h"
#include "bytes.h"
#include "media_bitstream.h"

#include "err.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

#define NAL_AUD 9
#define NAL_FILLER 12
#define NAL_FU_A 28
#define NAL_H265_AUD 35
#define NAL_H265_FD 38
#define NAL_H265_FU 49

uint64_t webrtc_ntp_of_us(int64_t unix_us)
{
    uint64_t sec = (uint64_t)(unix_us / 1000000) + 2208988800ull; /* 1900 → 1970 */
    uint64_t frac = ((uint64_t)(unix_us % 1000000) << 32) / 1000000ull;
    return (sec << 32) | frac;
}

struct au_ctx {
    struct webrtc_rtp_sender *s;
    uint32_t ts;
    bool ext_pending; /* the unit's abs-capture-time is still to be sent */
    uint64_t capture_ntp; /* the unit's wall clock, NTP UQ32.32 */
    webrtc_rtp_emit_cb emit;
    void *arg;
    bool h265; /* RFC 7798 (2-byte NAL headers, FU type 49), else RFC 6184 */
    uint8_t pkt[WEBRTC_RTP_MAX_PACKET];
};

static int send_one(struct au_ctx *c, const uint8_t *head, size_t head_len, const uint8_t *body,
                    size_t body_len, bool marker)
{
    uint8_t *p = c->pkt;
    bool ext =
        c->ext_pending && head_len + body_len <= WEBRTC_RTP_MAX_PAYLOAD - WEBRTC_RTP_EXT_ROOM;
    p[0] = ext ? 0x90 : 0x80;
    p[1] = (uint8_t)((marker ? 0x80 : 0) | (c->s->pt & 0x7f));
    horus_put_be16(p + 2, c->s->seq);
    horus_put_be32(p + 4, c->ts);
    horus_put_be32(p + 8, c->s->ssrc);
    size_t at = 12;
    if (ext) { /* RFC 8285: 0xBEDE, 3 words; one element of 8 bytes; padding */
        p[12] = 0xbe;
        p[13] = 0xde;
        horus_put_be16(p + 14, 3);
        p[16] = (uint8_t)(c->s->abs_capture_id << 4 | 7);
        horus_put_be32(p + 17, (uint32_t)(c->capture_ntp >> 32));
        horus_put_be32(p + 21, (uint32_t)c->capture_ntp);
        memset(p + 25, 0, 3);
        at += WEBRTC_RTP_EXT_ROOM;
        c->ext_pending = false;
    }
    if (head_len)
        memcpy(p + at, head, head_len);
    memcpy(p + at + head_len, body, body_len);
    c->s->seq++;
    c->s->packets++;
    c->s->octets += head_len + body_len;
    c->s->last_ts = c->ts;
    return c->emit(c->arg, p, at + head_len + body_len);
}

/* Cuts a NAL unit too large for one packet into FU-A (H.264) or FU (H.265) fragments. */
static int send_fragments(struct au_ctx *c, const uint8_t *nal, size_t len, bool last)
{
    uint8_t h[3] = {0};
    size_t hl, pos; /* the NAL header travels in the FU's own headers */
    if (c->h265) { /* RFC 7798 4.4.3: payload header of type 49 (F, LayerId, TID kept), FU header */
        h[0] = (uint8_t)((nal[0] & 0x81) | (NAL_H265_FU << 1));
        h[1] = nal[1];
        h[2] = (uint8_t)((nal[0] >> 1) & 0x3f);
        hl = 3;
        pos = 2;
    } else { /* RFC 6184 5.8: FU indicator (F, NRI, type 28), FU header */
        h[0] = (uint8_t)((nal[0] & 0xe0) | NAL_FU_A);
        h[1] = (uint8_t)(nal[0] & 0x1f);
        hl = 2;
        pos = 1;
    }
    const size_t first = pos;
    const size_t chunk =
        WEBRTC_RTP_MAX_PAYLOAD - hl - (c->s->abs_capture_id ? WEBRTC_RTP_EXT_ROOM : 0);
    while (pos < len) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        uint8_t fh[3] = {h[0], h[1], h[2]};
        if (pos == first)
            fh[hl - 1] |= 0x80; /* start */
        if (pos + n == len)
            fh[hl - 1] |= 0x40; /* end */
        int rc = send_one(c, fh, hl, nal + pos, n, last && pos + n == len);
        if (rc < 0)
            return rc;
        pos += n;
    }
    return 0;
}

static int send_nal(struct au_ctx *c, const uint8_t *nal, size_t len, bool last)
{
    if (len <= WEBRTC_RTP_MAX_PAYLOAD)
        return send_one(c, NULL, 0, nal, len, last);
    return send_fragments(c, nal, len, last);
}

/* The NAL header's length, its type. */
static size_t nal_header_len(const struct au_ctx *c)
{
    return c->h265 ? 2 : 1;
}

static int nal_type(const struct au_ctx *c, const uint8_t *nal)
{
    return c->h265 ? (nal[0] >> 1) & 0x3f : nal[0] & 0x1f;
}

/*
 * Access unit delimiters and filler data (CBR padding) carry nothing a viewer
 * needs. Nor do the types the payload formats take for their own packets,
 * which a camera's stream should never hold: H.265's 48..63 (RFC 7798:
 * aggregation 48, fragmentation 49, PACI 50) and H.264's 24..31 (RFC 6184:
 * STAP, MTAP, FU-A/B); one sent alone would be read as such a packet.
 */
static bool is_sent(const struct au_ctx *c, const uint8_t *nal)
{
    int type = nal_type(c, nal);
    enum media_codec codec = c->h265 ? MEDIA_CODEC_H265 : MEDIA_CODEC_H264;
    if (media_nal_is_rtp_reserved(codec, type))
        return false;
    return c->h265 ? type != NAL_H265_AUD && type != NAL_H265_FD
                   : type != NAL_AUD && type != NAL_FILLER;
}

/* Sends the SPS and PPS of an avcC record (ISO 14496-15 5.3.3.1). */
static int send_avcc_sets(struct au_ctx *c, const uint8_t *x, size_t n)
{
    if (n < 7 || x[0] != 1)
        return 0; /* no usable record: the stream may carry them in band */
    size_t pos = 5;
    for (int list = 0; list < 2; list++) {
        if (pos >= n)
            return HORUS_EPARSE;
        unsigned count = list == 0 ? (x[pos] & 0x1f) : x[pos];
        pos++;
        for (unsigned i = 0; i < count; i++) {
            if (n - pos < 2)
                return HORUS_EPARSE;
            size_t len = ((size_t)x[pos] << 8) | x[pos + 1];
            pos += 2;
            if (len == 0 || len > n - pos || len > WEBRTC_RTP_MAX_PAYLOAD)
                return HORUS_EPARSE;
            int rc = send_one(c, NULL, 0, x + pos, len, false);
            if (rc < 0)
                return rc;
            pos += len;
        }
    }
    return 0;
}

/* Sends the VPS, SPS and PPS of an hvcC record (ISO 14496-15 8.3.3.1), in its order. */
static int send_hvcc_sets(struct au_ctx *c, const uint8_t *x, size_t n)
{
    size_t index = 0;
    const uint8_t *nal;
    size_t len;
    while (media_config_ps_next(MEDIA_CODEC_H265, x, n, &index, &nal, &len)) {
        if (len < 2 || !is_sent(c, nal)) /* what a depacketiser would misread: not sent */
            continue;
        int rc = send_nal(c, nal, len, false);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int packetize(struct au_ctx *c, const media_stream *st, const media_packet *p)
{
    struct webrtc_rtp_sender *s = c->s;
    uint32_t scale = st->timescale ? st->timescale : 90000;
    int64_t ts90 = scale == 90000 ? p->pts : (int64_t)((__int128)p->pts * 90000 / scale);
    c->ts = (uint32_t)((uint64_t)ts90 + s->ts_offset);
    if (p->wall_us > 0) { /* wall_us is the decode time's; the timestamp is the presentation's */
        s->last_wall_us = p->wall_us + (int64_t)((__int128)(p->pts - p->dts) * 1000000 / scale);
        if (s->abs_capture_id) {
            c->ext_pending = true;
            c->capture_ntp = webrtc_ntp_of_us(s->last_wall_us);
        }
    }
    /* Check the whole unit and find its last NAL first: nothing of a bad unit
     * is sent, and the last NAL's last packet carries the marker. */
    size_t last_at = SIZE_MAX;
    for (size_t pos = 0; pos < p->size;) {
        if (p->size - pos < 4)
            return HORUS_EPARSE;
        size_t len = horus_be32(p->data + pos);
        if (len < nal_header_len(c) || len > p->size - pos - 4)
            return HORUS_EPARSE;
        if (is_sent(c, p->data + pos + 4))
            last_at = pos;
        pos += 4 + len;
    }
    int rc = 0;
    if (p->is_keyframe)
        rc = c->h265 ? send_hvcc_sets(c, st->extradata, st->extradata_size)
                     : send_avcc_sets(c, st->extradata, st->extradata_size);
    for (size_t pos = 0; rc == 0 && pos < p->size && last_at != SIZE_MAX;) {
        size_t len = horus_be32(p->data + pos);
        const uint8_t *nal = p->data + pos + 4;
        if (is_sent(c, nal))
            rc = send_nal(c, nal, len, pos == last_at);
        pos += 4 + len;
    }
    return rc;
}

int webrtc_h264_packetize(struct webrtc_rtp_sender *s, const media_stream *st,
                          const media_packet *p, webrtc_rtp_emit_cb emit, void *arg)
{
    struct au_ctx c = {.s = s, .emit = emit, .arg = arg};
    return packetize(&c, st, p);
}

int webrtc_h265_packetize(struct webrtc_rtp_sender *s, const media_stream *st,
                          const media_packet *p, webrtc_rtp_emit_cb emit, void *arg)
{
    struct au_ctx c = {.s = s, .emit = emit, .arg = arg, .h265 = true};
    return packetize(&c, st, p);
}

void webrtc_sr_clock(const struct webrtc_rtp_sender *s, int64_t now_wall_us, uint64_t *ntp,
                     uint32_t *rtp_ts)
{
    *ntp = webrtc_ntp_of_us(now_wall_us);
    int64_t ahead_us = s->last_wall_us > 0 ? now_wall_us - s->last_wall_us : 0;
    int64_t rate = s->clock_rate ? s->clock_rate : 90000;
    *rtp_ts = s->last_ts + (uint32_t)(int64_t)((__int128)ahead_us * rate / 1000000);
}

size_t webrtc_rtp_audio_build(struct webrtc_rtp_sender *s, const uint8_t *data, size_t size,
                              int64_t pts, int64_t wall_us, uint8_t *out, size_t cap)
{
    if (12 + size > cap || 12 + size > WEBRTC_RTP_MAX_PACKET)
        return 0;
    uint32_t ts = (uint32_t)pts + s->ts_offset;
    out[0] = 0x80;
    out[1] = (uint8_t)((s->packets == 0 ? 0x80 : 0) | (s->pt & 0x7f));
    horus_put_be16(out + 2, s->seq);
    horus_put_be32(out + 4, ts);
    horus_put_be32(out + 8, s->ssrc);
    memcpy(out + 12, data, size);
    s->seq++;
    s->packets++;
    s->octets += size;
    s->last_ts = ts;
    s->last_wall_us = wall_us;
    return 12 + size;
}

size_t webrtc_rtcp_sr_build(const struct webrtc_rtp_sender *s, uint64_t ntp, uint32_t rtp_ts,
                            uint8_t *out, size_t cap)
{
    if (cap < 44)
        return 0;
    out[0] = 0x80; /* V=2, no report blocks */
    out[1] = 200;
    horus_put_be16(out + 2, 6);
    horus_put_be32(out + 4, s->ssrc);
    horus_put_be32(out + 8, (uint32_t)(ntp >> 32));
    horus_put_be32(out + 12, (uint32_t)ntp);
    horus_put_be32(out + 16, rtp_ts);
    horus_put_be32(out + 20, (uint32_t)s->packets);
    horus_put_be32(out + 24, (uint32_t)s->octets);
    /* SDES: one chunk, CNAME "horus", END, padded to a word */
    uint8_t *d = out + 28;
    d[0] = 0x81;
    d[1] = 202;
    horus_put_be16(d + 2, 3);
    horus_put_be32(d + 4, s->ssrc);
    d[8] = 1; /* CNAME */
    d[9] = 5;
    memcpy(d + 10, "horus", 5);
    d[15] = 0; /* END */
    return 44;
}

size_t webrtc_rtcp_dlrr_build(const struct webrtc_rtp_sender *s, uint32_t ssrc, uint32_t lrr,
                              int64_t delay_ns, uint8_t *out, size_t cap)
{
    if (cap < 24)
        return 0;
    if (delay_ns < 0)
        delay_ns = 0;
    uint64_t dlrr = (uint64_t)delay_ns * 65536 / 1000000000; /* units of 1/65536 s */
    out[0] = 0x80;
    out[1] = 207; /* XR */
    horus_put_be16(out + 2, 5);
    horus_put_be32(out + 4, s->ssrc);
    out[8] = 5; /* DLRR */
    out[9] = 0;
    horus_put_be16(out + 10, 3); /* one sub-block */
    horus_put_be32(out + 12, ssrc);
    horus_put_be32(out + 16, lrr);
    horus_put_be32(out + 20, dlrr > UINT32_MAX ? UINT32_MAX : (uint32_t)dlrr);
    return 24;
}

int webrtc_rtcp_parse(const uint8_t *buf, size_t len, uint32_t media_ssrc,
                      struct webrtc_rtcp_feedback *out)
{
    memset(out, 0, sizeof(*out));
    size_t pos = 0;
    while (pos < len) {
        if (len - pos < 4 || (buf[pos] >> 6) != 2)
            return HORUS_EPARSE;
        unsigned fmt = buf[pos] & 0x1f;
        unsigned pt = buf[pos + 1];
        size_t plen = (((size_t)buf[pos + 2] << 8) | buf[pos + 3]) * 4 + 4;
        if (plen > len - pos)
            return HORUS_EPARSE;
        const uint8_t *b = buf + pos;
        if ((pt == 200 || pt == 201) && fmt > 0) { /* SR / RR with report blocks */
            size_t first = pt == 200 ? 28 : 8;
            for (unsigned i = 0; i < fmt && first + (i + 1) * 24 <= plen; i++) {
                const uint8_t *rb = b + first + i * 24;
                if (horus_be32(rb) == media_ssrc) {
                    out->has_rr = true;
                    out->fraction_lost = rb[4];
                }
            }
        } else if (pt == 207 && plen >= 8) { /* XR: look for a receiver reference time */
            for (size_t at = 8; at + 4 <= plen;) {
                size_t blen = ((size_t)horus_be16(b + at + 2) + 1) * 4;
                if (blen > plen - at)
                    break;
                if (b[at] == 4 && blen >= 12) {
                    out->has_rrtr = true;
                    out->rrtr_ssrc = horus_be32(b + 4);
                    out->rrtr_lrr = (horus_be32(b + at + 4) << 16) | (horus_be32(b + at + 8) >> 16);
                }
                at += blen;
            }
        } else if (pt == 206 && plen >= 12 && horus_be32(b + 8) == media_ssrc && fmt == 1) {
            out->wants_keyframe = true; /* PLI */
        } else if (pt == 206 && fmt == 4) {
            for (size_t at = 12; at + 8 <= plen; at += 8) /* FIR entries: SSRC, seq */
                if (horus_be32(b + at) == media_ssrc)
                    out->wants_keyframe = true;
        } else if (pt == 205 && fmt == 1 && plen >= 12 && horus_be32(b + 8) == media_ssrc) {
            for (size_t at = 12; at + 4 <= plen; at += 4) {
                uint16_t pid = (uint16_t)((b[at] << 8) | b[at + 1]);
                uint16_t blp = (uint16_t)((b[at + 2] << 8) | b[at + 3]);
                for (int k = -1; k < 16; k++) {
                    if (k >= 0 && !(blp & (1u << k)))
                        continue;
                    if (out->n_nacks < WEBRTC_RTCP_MAX_NACKS)
                        out->nacks[out->n_nacks++] = (uint16_t)(pid + k + 1);
                }
            }
        }
        pos += plen;
    }
    return 0;
}

void webrtc_rtp_history_init(struct webrtc_rtp_history *h)
{
    memset(h, 0, sizeof(*h));
    h->slots = horus_malloc((size_t)WEBRTC_RTP_HISTORY * WEBRTC_RTP_MAX_PACKET);
}

void webrtc_rtp_history_release(struct webrtc_rtp_history *h)
{
    free(h->slots);
    memset(h, 0, sizeof(*h));
}

void webrtc_rtp_history_put(struct webrtc_rtp_history *h, const uint8_t *pkt, size_t len)
{
    if (!h->slots || len < 12 || len > WEBRTC_RTP_MAX_PACKET)
        return;
    uint16_t seq = (uint16_t)((pkt[2] << 8) | pkt[3]);
    size_t i = seq % WEBRTC_RTP_HISTORY; /* consecutive numbers: the oldest goes first */
    memcpy(h->slots + i * WEBRTC_RTP_MAX_PACKET, pkt, len);
    h->seq[i] = seq;
    h->len[i] = (uint16_t)len;
}

const uint8_t *webrtc_rtp_history_get(const struct webrtc_rtp_history *h, uint16_t seq, size_t *len)
{
    size_t i = seq % WEBRTC_RTP_HISTORY;
    if (!h->slots || h->len[i] == 0 || h->seq[i] != seq)
        return NULL;
    *len = h->len[i];
    return h->slots + i * WEBRTC_RTP_MAX_PACKET;
}
