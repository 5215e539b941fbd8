/*
 * DESIGN: the WebRTC sender's RTP and RTCP (docs/design/0055). H.264
 * access units arrive as length-prefixed NAL units with the parameter
 * sets out of band (media.h); a browser that joins mid-stream or loses a
 * keyframe needs SPS and PPS in band, so they go before each keyframe as
 * single NAL unit packets with the keyframe's timestamp. NAL units larger
 * than the payload budget are cut into FU-A fragments (RFC 6184 5.8).
 * The RTCP parser only looks at what the sender acts on: PLI and FIR
 * (send a keyframe), generic NACK (resend from history, later) and the
 * receiver report's loss. Pure; Thread: any.
 */
#include "rtp_out_int.h"
#include "bytes.h"

#include "err.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

#define NAL_AUD 9
#define NAL_FILLER 12
#define NAL_FU_A 28

struct au_ctx {
    struct webrtc_rtp_sender *s;
    uint32_t ts;
    webrtc_rtp_emit_cb emit;
    void *arg;
    uint8_t pkt[WEBRTC_RTP_MAX_PACKET];
};

static int send_one(struct au_ctx *c, const uint8_t *head, size_t head_len, const uint8_t *body,
                    size_t body_len, bool marker)
{
    uint8_t *p = c->pkt;
    p[0] = 0x80;
    p[1] = (uint8_t)((marker ? 0x80 : 0) | (c->s->pt & 0x7f));
    horus_put_be16(p + 2, c->s->seq);
    horus_put_be32(p + 4, c->ts);
    horus_put_be32(p + 8, c->s->ssrc);
    if (head_len)
        memcpy(p + 12, head, head_len);
    memcpy(p + 12 + head_len, body, body_len);
    c->s->seq++;
    c->s->packets++;
    c->s->octets += head_len + body_len;
    c->s->last_ts = c->ts;
    return c->emit(c->arg, p, 12 + head_len + body_len);
}

static int send_nal(struct au_ctx *c, const uint8_t *nal, size_t len, bool last)
{
    if (len <= WEBRTC_RTP_MAX_PAYLOAD)
        return send_one(c, NULL, 0, nal, len, last);
    uint8_t fu[2] = {(uint8_t)((nal[0] & 0xe0) | NAL_FU_A), (uint8_t)(nal[0] & 0x1f)};
    size_t pos = 1; /* the NAL header travels in the FU indicator and header */
    const size_t chunk = WEBRTC_RTP_MAX_PAYLOAD - 2;
    while (pos < len) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        uint8_t h[2] = {fu[0], fu[1]};
        if (pos == 1)
            h[1] |= 0x80; /* start */
        if (pos + n == len)
            h[1] |= 0x40; /* end */
        int rc = send_one(c, h, 2, nal + pos, n, last && pos + n == len);
        if (rc < 0)
            return rc;
        pos += n;
    }
    return 0;
}

/* Access unit delimiters and filler data (CBR padding) carry nothing a viewer needs. */
static bool is_sent(uint8_t nal_header)
{
    int type = nal_header & 0x1f;
    return type != NAL_AUD && type != NAL_FILLER;
}

/* Sends the SPS and PPS of an avcC record (ISO 14496-15 5.3.3.1). */
static int send_parameter_sets(struct au_ctx *c, const uint8_t *x, size_t n)
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

int webrtc_h264_packetize(struct webrtc_rtp_sender *s, const media_stream *st,
                          const media_packet *p, webrtc_rtp_emit_cb emit, void *arg)
{
    struct au_ctx c = {.s = s, .emit = emit, .arg = arg};
    uint32_t scale = st->timescale ? st->timescale : 90000;
    int64_t ts90 = scale == 90000 ? p->pts : (int64_t)((__int128)p->pts * 90000 / scale);
    c.ts = (uint32_t)((uint64_t)ts90 + s->ts_offset);
    /* Check the whole unit and find its last NAL first: nothing of a bad unit
     * is sent, and the last NAL's last packet carries the marker. */
    size_t last_at = SIZE_MAX;
    for (size_t pos = 0; pos < p->size;) {
        if (p->size - pos < 4)
            return HORUS_EPARSE;
        size_t len = horus_be32(p->data + pos);
        if (len == 0 || len > p->size - pos - 4)
            return HORUS_EPARSE;
        if (is_sent(p->data[pos + 4]))
            last_at = pos;
        pos += 4 + len;
    }
    int rc = 0;
    if (p->is_keyframe)
        rc = send_parameter_sets(&c, st->extradata, st->extradata_size);
    for (size_t pos = 0; rc == 0 && pos < p->size && last_at != SIZE_MAX;) {
        size_t len = horus_be32(p->data + pos);
        const uint8_t *nal = p->data + pos + 4;
        if (is_sent(nal[0]))
            rc = send_nal(&c, nal, len, pos == last_at);
        pos += 4 + len;
    }
    return rc;
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
