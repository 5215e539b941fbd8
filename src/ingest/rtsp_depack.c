/*
 * DESIGN: RTP payloads to access units, written straight into the
 * media_packet the sink will get (media/media.h layout: 4-byte big-endian
 * length-prefixed NAL units, or one raw AAC frame). Each payload byte is
 * copied exactly once, from the receive buffer into the packet; there is
 * no per-NAL allocation.
 *
 * Video (H.264 RFC 6184: single NAL, STAP-A, FU-A; H.265 RFC 7798: single
 * NAL, AP, FU): an access unit is every packet with one RTP timestamp; it
 * ends on the marker bit or when the timestamp changes. The packet is
 * allocated at its first written NAL unit with room for the last unit of
 * its kind (keyframe or not) plus a quarter, grown by realloc if needed
 * and trimmed when done. Parameter sets never go into the packet: each
 * updates the owner's ing_param_sets, and a change is reported through
 * params_cb before the first slice that follows (so the owner can make a
 * new media_stream, a new epoch, for the unit that uses it). AUDs are
 * dropped. Keyframe = an IDR (H.264) or IRAP (H.265) slice.
 *
 * Loss: a sequence-number gap marks the unit in progress and the unit the
 * packet belongs to as damaged; damaged units are dropped, and video then
 * waits for the next keyframe (its references are gone). Every drop is
 * counted. TCP does not reorder, so a packet from the past is discarded.
 *
 * AAC (RFC 3640 AAC-hbr/lbr): the AU headers give each frame's size; the
 * index fields are read but frames are taken as consecutive (no
 * interleaving), each frame_samples ticks after the previous. A frame
 * larger than one packet is gathered across packets of one timestamp.
 * MP4A-LATM (RFC 6416) goes to rtsp_latm.c.
 *
 * Thread: the owner's only.
 */
#include "rtsp_int.h"

#include <stdlib.h>
#include <string.h>

#define HINT_MIN 4096

void ing_depack_init(struct ing_depack *d, enum media_codec codec, struct ing_param_sets *ps,
                     ing_depack_au_cb au_cb, ing_depack_params_cb params_cb, void *arg)
{
    memset(d, 0, sizeof(*d));
    d->codec = codec;
    d->ps = ps;
    d->au_cb = au_cb;
    d->params_cb = params_cb;
    d->arg = arg;
    d->frame_samples = 1024;
    d->size_length = 13;
    d->index_length = d->index_delta_length = 3;
    d->hint_key = 256 * 1024;
    d->hint_delta = 32 * 1024;
    d->wait_keyframe = codec == MEDIA_CODEC_H264 || codec == MEDIA_CODEC_H265;
}

void ing_depack_release(struct ing_depack *d)
{
    media_packet_unref(d->au);
    d->au = NULL;
    d->au_len = d->au_cap = 0;
    free(d->latm_buf);
    d->latm_buf = NULL;
    d->latm_len = d->latm_cap = 0;
    d->latm_in = false;
    d->latm_skip = false;
}

void ing_depack_reset(struct ing_depack *d)
{
    ing_depack_release(d);
    d->has_seq = false;
    d->in_au = false;
    d->in_fu = false;
    d->aac_need = 0;
    d->wait_keyframe = d->codec == MEDIA_CODEC_H264 || d->codec == MEDIA_CODEC_H265;
}

static bool is_video(const struct ing_depack *d)
{
    return d->codec == MEDIA_CODEC_H264 || d->codec == MEDIA_CODEC_H265;
}

static void params_flush(struct ing_depack *d)
{
    if (!d->ps_changed)
        return;
    d->ps_changed = false;
    if (d->params_cb)
        d->params_cb(d->arg);
}

/* ---- the access unit in progress ---- */

static void au_begin(struct ing_depack *d, uint32_t ts)
{
    d->in_au = true;
    d->au_ts = ts;
    d->au_len = 0;
    d->au_is_key = d->au_is_damaged = d->au_has_unit = false;
    d->in_fu = false;
}

static void au_drop(struct ing_depack *d)
{
    /* The packet is ours alone: keep it for the next unit rather than free it. */
    d->au_len = 0;
}

/*
 * Returns where need more bytes go, growing the packet, or NULL when there
 * is no stream to attach it to yet (the unit is then dropped).
 */
static uint8_t *au_reserve(struct ing_depack *d, size_t need)
{
    params_flush(d);
    if (!d->stream) {
        d->au_is_damaged = true;
        return NULL;
    }
    if (!d->au) {
        size_t hint = d->au_is_key ? d->hint_key : d->hint_delta;
        d->au_cap = need > hint ? need : hint;
        d->au = media_packet_new(d->stream, d->au_cap);
        d->au_len = 0;
    } else if (d->au_cap - d->au_len < need) {
        size_t cap = d->au_cap * 2;
        if (cap < d->au_len + need)
            cap = d->au_len + need;
        d->au = media_packet_resize(d->au, cap);
        d->au_cap = cap;
    }
    return d->au->data + d->au_len;
}

static void put32(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void au_finish(struct ing_depack *d)
{
    if (!d->in_au)
        return;
    d->in_au = false;
    if (d->in_fu) { /* the unit ended inside a fragmented NAL unit */
        d->in_fu = false;
        d->au_is_damaged = true;
    }
    params_flush(d);
    if (!d->au_has_unit && !d->au_is_damaged)
        return; /* nothing but parameter sets or AUDs */
    if (d->au_is_damaged || !d->au || (d->wait_keyframe && !d->au_is_key)) {
        d->dropped_units++;
        au_drop(d);
        return;
    }
    d->wait_keyframe = false;
    size_t len = d->au_len;
    size_t hint = len + len / 4 + 256;
    if (hint < HINT_MIN)
        hint = HINT_MIN;
    if (d->au_is_key)
        d->hint_key = hint;
    else
        d->hint_delta = hint;
    media_packet *au = d->au;
    d->au = NULL;
    d->au_len = d->au_cap = 0;
    if (au->size != len)
        au = media_packet_resize(au, len); /* trimming: glibc shrinks in place */
    if (au->stream != d->stream) {
        /* The parameters changed while the unit was gathered: it belongs to the new stream. */
        media_stream_unref(au->stream);
        au->stream = media_stream_ref(d->stream);
    }
    au->is_keyframe = d->au_is_key;
    d->au_cb(d->arg, au, d->au_ts);
}

/* ---- NAL units ---- */

static void bad_payload(struct ing_depack *d)
{
    d->bad_packets++;
    d->au_is_damaged = true;
}

/* One complete NAL unit (single-NAL packet or aggregation member). */
static void nal_whole(struct ing_depack *d, const uint8_t *p, size_t n)
{
    size_t hdr = d->codec == MEDIA_CODEC_H265 ? 2 : 1;
    if (n < hdr) {
        bad_payload(d);
        return;
    }
    int type = media_nal_type(d->codec, p, 1);
    int kind = media_nal_ps_kind(d->codec, type);
    if (kind >= 0) {
        struct ing_nal nal = {p, n};
        if (ing_param_sets_update(d->ps, (enum ing_ps_kind)kind, &nal))
            d->ps_changed = true;
        return;
    }
    if (media_nal_is_aud(d->codec, type))
        return;
    if (media_nal_is_keyframe(d->codec, type))
        d->au_is_key = true;
    uint8_t *out = au_reserve(d, 4 + n);
    if (!out)
        return;
    put32(out, n);
    memcpy(out + 4, p, n);
    d->au_len += 4 + n;
    d->au_has_unit = true;
}

/* Aggregation packets: 16-bit size, NAL unit, repeated (STAP-A; H.265 AP without DONL). */
static void nal_aggregate(struct ing_depack *d, const uint8_t *p, size_t n, size_t skip)
{
    size_t pos = skip;
    while (pos < n) {
        if (pos + 2 > n) {
            bad_payload(d);
            return;
        }
        size_t size = (size_t)p[pos] << 8 | p[pos + 1];
        pos += 2;
        if (size == 0 || pos + size > n) {
            bad_payload(d);
            return;
        }
        nal_whole(d, p + pos, size);
        pos += size;
    }
}

/* A fragment (FU-A / FU) of a NAL unit whose header is hdr[0..hlen). */
static void nal_fragment(struct ing_depack *d, bool is_start, bool is_end, const uint8_t *hdr,
                         size_t hlen, const uint8_t *p, size_t n)
{
    if (is_start) {
        if (d->in_fu) { /* the previous one never ended */
            d->au_is_damaged = true;
            if (!d->fu_to_ps)
                d->au_len = d->fu_start;
        }
        int type = media_nal_type(d->codec, hdr, 1);
        d->fu_type = type;
        d->fu_to_ps = media_nal_ps_kind(d->codec, type) >= 0 || media_nal_is_aud(d->codec, type);
        d->in_fu = true;
        if (d->fu_to_ps) {
            d->ps_overflow = hlen + n > sizeof(d->ps_buf);
            d->ps_len = 0;
            if (!d->ps_overflow) {
                memcpy(d->ps_buf, hdr, hlen);
                memcpy(d->ps_buf + hlen, p, n);
                d->ps_len = hlen + n;
            }
        } else {
            if (media_nal_is_keyframe(d->codec, type))
                d->au_is_key = true;
            uint8_t *out = au_reserve(d, 4 + hlen + n);
            if (!out) {
                d->in_fu = false;
                return;
            }
            d->fu_start = d->au_len;
            memcpy(out + 4, hdr, hlen);
            memcpy(out + 4 + hlen, p, n);
            d->au_len += 4 + hlen + n;
        }
    } else {
        if (!d->in_fu) { /* a middle or end without its start */
            d->au_is_damaged = true;
            return;
        }
        if (d->fu_to_ps) {
            if (d->ps_len + n > sizeof(d->ps_buf))
                d->ps_overflow = true;
            else {
                memcpy(d->ps_buf + d->ps_len, p, n);
                d->ps_len += n;
            }
        } else {
            uint8_t *out = au_reserve(d, n);
            if (!out) {
                d->in_fu = false;
                return;
            }
            memcpy(out, p, n);
            d->au_len += n;
        }
    }
    if (!is_end)
        return;
    d->in_fu = false;
    if (d->fu_to_ps) {
        int kind = media_nal_ps_kind(d->codec, d->fu_type);
        struct ing_nal nal = {d->ps_buf, d->ps_len};
        if (kind >= 0 && !d->ps_overflow &&
            ing_param_sets_update(d->ps, (enum ing_ps_kind)kind, &nal))
            d->ps_changed = true;
        return;
    }
    put32(d->au->data + d->fu_start, d->au_len - d->fu_start - 4);
    d->au_has_unit = true;
}

static void h264_payload(struct ing_depack *d, const uint8_t *p, size_t n)
{
    if (n < 1) {
        bad_payload(d);
        return;
    }
    int type = p[0] & 0x1f;
    if (type >= 1 && type <= 23) {
        nal_whole(d, p, n);
    } else if (type == 24) {
        nal_aggregate(d, p, n, 1);
    } else if (type == 28) {
        if (n < 2) {
            bad_payload(d);
            return;
        }
        uint8_t hdr = (uint8_t)((p[0] & 0xe0) | (p[1] & 0x1f));
        nal_fragment(d, p[1] & 0x80, p[1] & 0x40, &hdr, 1, p + 2, n - 2);
    } else {
        bad_payload(d); /* STAP-B, MTAP, FU-B: interleaved mode only */
    }
}

static void h265_payload(struct ing_depack *d, const uint8_t *p, size_t n)
{
    if (n < 2) {
        bad_payload(d);
        return;
    }
    int type = (p[0] >> 1) & 0x3f;
    if (type < 48) {
        nal_whole(d, p, n);
    } else if (type == 48) {
        nal_aggregate(d, p, n, 2);
    } else if (type == 49) {
        if (n < 3) {
            bad_payload(d);
            return;
        }
        uint8_t fu = p[2];
        uint8_t hdr[2] = {(uint8_t)((p[0] & 0x81) | ((fu & 0x3f) << 1)), p[1]};
        nal_fragment(d, fu & 0x80, fu & 0x40, hdr, 2, p + 3, n - 3);
    } else {
        bad_payload(d); /* PACI and reserved types */
    }
}

/* ---- AAC ---- */

static void aac_emit(struct ing_depack *d, const uint8_t *p, size_t n, uint32_t ts)
{
    if (!d->stream || n == 0) {
        d->dropped_units++;
        return;
    }
    media_packet *au = media_packet_new(d->stream, n);
    memcpy(au->data, p, n);
    au->is_keyframe = true;
    d->au_cb(d->arg, au, ts);
}

static void aac_fragment_drop(struct ing_depack *d)
{
    if (d->aac_need == 0)
        return;
    d->aac_need = 0;
    d->dropped_units++;
    au_drop(d);
}

static void aac_payload(struct ing_depack *d, const struct rtp_packet *rtp, bool is_loss)
{
    const uint8_t *p = rtp->payload;
    size_t n = rtp->payload_len;
    if (is_loss)
        aac_fragment_drop(d);
    if (n < 2) {
        d->bad_packets++;
        return;
    }
    size_t hdr_bits = (size_t)p[0] << 8 | p[1];
    size_t hdr_bytes = (hdr_bits + 7) / 8;
    if (2 + hdr_bytes > n) {
        d->bad_packets++;
        aac_fragment_drop(d);
        return;
    }
    const uint8_t *data = p + 2 + hdr_bytes;
    size_t data_len = n - 2 - hdr_bytes;
    unsigned size_bits = d->size_length;
    if (d->aac_need > 0) {
        if (rtp->timestamp != d->au_ts) {
            aac_fragment_drop(d);
        } else { /* the next piece of a fragmented frame */
            size_t take = data_len < d->aac_need ? data_len : d->aac_need;
            memcpy(d->au->data + d->au_len, data, take);
            d->au_len += take;
            d->aac_need -= take;
            if (d->aac_need == 0) {
                media_packet *au = d->au;
                d->au = NULL;
                d->au_len = d->au_cap = 0;
                au->is_keyframe = true;
                d->au_cb(d->arg, au, d->au_ts);
            } else if (rtp->marker) {
                aac_fragment_drop(d);
            }
            return;
        }
    }
    /* AU headers: size_length bits of size, then an index (delta) to skip. */
    size_t bit = 0, off = 0;
    unsigned i = 0;
    while (bit < hdr_bits) {
        unsigned idx_bits = i == 0 ? d->index_length : d->index_delta_length;
        if (size_bits == 0 || bit + size_bits + idx_bits > hdr_bits)
            break;
        size_t size = 0;
        for (unsigned b = 0; b < size_bits; b++, bit++)
            size = size << 1 | ((p[2 + bit / 8] >> (7 - bit % 8)) & 1);
        bit += idx_bits;
        uint32_t ts = rtp->timestamp + i * d->frame_samples;
        if (i == 0 && size > data_len && bit >= hdr_bits) {
            /* One frame bigger than this packet: gather it. */
            if (rtp->marker || !d->stream) {
                d->dropped_units++;
                return;
            }
            media_packet_unref(d->au);
            d->au = media_packet_new(d->stream, size);
            d->au_cap = size;
            memcpy(d->au->data, data, data_len);
            d->au_len = data_len;
            d->aac_need = size - data_len;
            d->au_ts = rtp->timestamp;
            return;
        }
        if (off + size > data_len) {
            d->bad_packets++;
            return;
        }
        aac_emit(d, data + off, size, ts);
        off += size;
        i++;
    }
}

void ing_depack_push(struct ing_depack *d, const struct rtp_packet *rtp)
{
    bool is_loss = false;
    if (d->has_seq && rtp->seq != d->next_seq) {
        uint16_t gap = (uint16_t)(rtp->seq - d->next_seq);
        if (gap >= 0x8000)
            return; /* from the past: a duplicate */
        d->lost_packets += gap;
        is_loss = true;
    }
    d->has_seq = true;
    d->next_seq = (uint16_t)(rtp->seq + 1);
    if (!is_video(d) && d->is_latm) {
        ing_depack_latm_push(d, rtp, is_loss);
        return;
    }
    if (media_codec_is_g711(d->codec)) { /* RFC 3551 4.5.14: the payload is the samples */
        aac_emit(d, rtp->payload, rtp->payload_len, rtp->timestamp);
        return;
    }
    if (!is_video(d)) {
        aac_payload(d, rtp, is_loss);
        return;
    }
    if (is_loss && d->in_au)
        d->au_is_damaged = true;
    if (d->in_au && rtp->timestamp != d->au_ts)
        au_finish(d);
    if (!d->in_au)
        au_begin(d, rtp->timestamp);
    if (is_loss) {
        d->au_is_damaged = true;
        d->wait_keyframe = true;
    }
    if (d->codec == MEDIA_CODEC_H265)
        h265_payload(d, rtp->payload, rtp->payload_len);
    else
        h264_payload(d, rtp->payload, rtp->payload_len);
    if (rtp->marker)
        au_finish(d);
}
