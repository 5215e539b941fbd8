/*
 * DESIGN: packetise once, send many. Each access unit becomes one cs_frame:
 * its RTP packets, each already wrapped in the 4-byte RTSP interleaved
 * header for the default channel, back to back in one allocation. The
 * server hands the same frame to every client (refcount), so the per-client
 * cost of a frame is one iovec in a sendmsg. Sequence numbers and SSRC are
 * per track and shared by all clients; each client learns where it joins
 * from RTP-Info. Packetising writes into a reusable scratch buffer, then
 * copies the exact bytes into the frame. Thread: server only.
 */
#include "rtp.h"
#include "latm.h"

#include "mem.h"
#include "nal.h"
#include "rtsp_proto.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

cs_frame *cs_frame_new(int kind, int track, size_t size)
{
    cs_frame *f = horus_malloc(sizeof(*f) + size);
    memset(f, 0, sizeof(*f));
    f->refs = 1;
    f->kind = kind;
    f->track = track;
    f->size = size;
    return f;
}

cs_frame *cs_frame_ref(cs_frame *frame)
{
    frame->refs++;
    return frame;
}

void cs_frame_unref(cs_frame *frame)
{
    if (frame && --frame->refs == 0)
        free(frame);
}

cs_frame *cs_frame_new_rechanneled(const cs_frame *frame, uint8_t channel)
{
    cs_frame *copy = cs_frame_new(frame->kind, frame->track, frame->size);
    copy->is_keyframe = frame->is_keyframe;
    copy->first_seq = frame->first_seq;
    copy->rtp_ts = frame->rtp_ts;
    copy->pts = frame->pts;
    copy->due_ns = frame->due_ns;
    copy->spread_ns = frame->spread_ns;
    copy->packets = frame->packets;
    memcpy(copy->data, frame->data, frame->size);
    size_t pos = 0;
    while (pos + RTSP_INTERLEAVED_HEADER <= copy->size) {
        copy->data[pos + 1] = channel;
        pos += rtsp_interleaved_len(copy->data + pos, copy->size - pos);
    }
    return copy;
}

static uint32_t random_u32(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != sizeof(v))
        v = (uint32_t)cs_now_ns() * 2654435761u;
    return v;
}

void cs_rtp_init(cs_rtp *rtp, int track, enum cs_codec codec, int clock_hz)
{
    memset(rtp, 0, sizeof(*rtp));
    rtp->track = track;
    rtp->codec = codec;
    rtp->payload_type = track == CS_TRACK_VIDEO ? 96 : 97;
    rtp->channel = (uint8_t)(track * 2);
    rtp->ssrc = random_u32();
    rtp->ts_offset = random_u32();
    rtp->next_seq = (uint16_t)random_u32();
    rtp->clock_hz = clock_hz;
}

void cs_rtp_release(cs_rtp *rtp)
{
    free(rtp->scratch);
    rtp->scratch = NULL;
    rtp->scratch_cap = 0;
}

uint32_t cs_rtp_timestamp(const cs_rtp *rtp, int64_t pts)
{
    return rtp->ts_offset + (uint32_t)pts;
}

/* Packet assembly in the scratch buffer. */
typedef struct rtp_writer {
    cs_rtp *rtp;
    size_t len;
    size_t last_header; /* offset of the last RTP header, for the marker bit */
    uint32_t ts;
} rtp_writer;

static void scratch_reserve(cs_rtp *rtp, size_t need)
{
    if (need <= rtp->scratch_cap)
        return;
    size_t cap = rtp->scratch_cap ? rtp->scratch_cap : 64 * 1024;
    while (cap < need)
        cap *= 2;
    rtp->scratch = horus_realloc(rtp->scratch, cap);
    rtp->scratch_cap = cap;
}

/* Appends the headers of a packet with payload_len bytes; returns where the payload goes. */
static uint8_t *packet_begin(rtp_writer *w, size_t payload_len)
{
    cs_rtp *rtp = w->rtp;
    size_t pkt_len = RTP_HEADER_SIZE + payload_len;
    scratch_reserve(rtp, w->len + RTSP_INTERLEAVED_HEADER + pkt_len);
    uint8_t *p = rtp->scratch + w->len;
    rtsp_interleaved_write(p, rtp->channel, pkt_len);
    struct rtp_packet hdr = {
        .payload_type = rtp->payload_type,
        .seq = rtp->next_seq,
        .timestamp = w->ts,
        .ssrc = rtp->ssrc,
    };
    rtp_header_write(p + RTSP_INTERLEAVED_HEADER, &hdr);
    w->last_header = w->len + RTSP_INTERLEAVED_HEADER;
    w->len += RTSP_INTERLEAVED_HEADER + pkt_len;
    rtp->next_seq++;
    rtp->packets_sent++;
    rtp->octets_sent += (uint32_t)payload_len;
    return p + RTSP_INTERLEAVED_HEADER + RTP_HEADER_SIZE;
}

/*
 * One NAL unit: a single-NAL packet when it fits, otherwise fragments.
 * H.264 FU-A (RFC 6184 5.8): indicator F|NRI|28, header S|E|type.
 * H.265 FU (RFC 7798 4.4.3): payload header with type 49, header S|E|type.
 */
static void packetize_nal(rtp_writer *w, enum cs_codec codec, const uint8_t *nal, size_t len)
{
    if (len <= CS_RTP_MAX_PAYLOAD) {
        memcpy(packet_begin(w, len), nal, len);
        return;
    }
    bool is_h264 = codec == CS_CODEC_H264;
    size_t hdr_len = is_h264 ? 1 : 2;
    size_t fu_len = hdr_len + 1;
    int type = media_nal_type(cs_media_codec(codec), nal, len);
    const uint8_t *p = nal + hdr_len;
    size_t left = len - hdr_len;
    bool is_first = true;
    while (left > 0) {
        size_t chunk = left < CS_RTP_MAX_PAYLOAD - fu_len ? left : CS_RTP_MAX_PAYLOAD - fu_len;
        uint8_t *out = packet_begin(w, fu_len + chunk);
        uint8_t se = (uint8_t)((is_first ? 0x80 : 0) | (chunk == left ? 0x40 : 0));
        if (is_h264) {
            out[0] = (uint8_t)((nal[0] & 0xe0) | 28);
            out[1] = (uint8_t)(se | type);
        } else {
            out[0] = (uint8_t)((nal[0] & 0x81) | (49 << 1));
            out[1] = nal[1];
            out[2] = (uint8_t)(se | type);
        }
        memcpy(out + fu_len, p, chunk);
        p += chunk;
        left -= chunk;
        is_first = false;
    }
}

static void packetize_video(rtp_writer *w, const cs_au *au)
{
    enum cs_codec codec = w->rtp->codec;
    size_t pos = 0;
    const uint8_t *nal;
    size_t len;
    enum media_codec mc = cs_media_codec(codec);
    while (media_annexb_next(au->data, au->size, &pos, &nal, &len)) {
        if (len < (codec == CS_CODEC_H264 ? 1u : 2u))
            continue;
        if (media_nal_is_aud(mc, media_nal_type(mc, nal, len)))
            continue;
        packetize_nal(w, codec, nal, len);
    }
}

/* RFC 3640 AAC-hbr: AU-headers-length 16, one AU-header (13-bit size, 3-bit index 0). */
static void packetize_aac(rtp_writer *w, const cs_au *au)
{
    size_t size = au->size > 8191 ? 8191 : au->size;
    uint8_t *out = packet_begin(w, 4 + size);
    out[0] = 0;
    out[1] = 16;
    out[2] = (uint8_t)(size >> 5);
    out[3] = (uint8_t)((size & 0x1f) << 3);
    memcpy(out + 4, au->data, size);
}

/* RFC 6416 MP4A-LATM: one AudioMuxElement per frame, split over packets when large. */
static void packetize_latm(rtp_writer *w, const cs_au *au)
{
    cs_rtp *rtp = w->rtp;
    uint8_t *el = horus_malloc(au->size + CS_LATM_OVERHEAD(au->size));
    size_t n = cs_latm_element(rtp->audio_payload == CS_AUDIO_LATM_INBAND, rtp->audio_config,
                               rtp->audio_config_len, au->data, au->size, el);
    for (size_t pos = 0; pos < n;) {
        size_t chunk = n - pos < CS_RTP_MAX_PAYLOAD ? n - pos : CS_RTP_MAX_PAYLOAD;
        memcpy(packet_begin(w, chunk), el + pos, chunk);
        pos += chunk;
    }
    free(el);
}

cs_frame *cs_rtp_packetize(cs_rtp *rtp, const cs_au *au, int64_t pts, int64_t now_ns)
{
    rtp_writer w = {.rtp = rtp, .ts = cs_rtp_timestamp(rtp, pts), .last_header = SIZE_MAX};
    uint16_t first_seq = rtp->next_seq;
    if (rtp->track == CS_TRACK_VIDEO)
        packetize_video(&w, au);
    else if (rtp->audio_payload == CS_AUDIO_HBR)
        packetize_aac(&w, au);
    else
        packetize_latm(&w, au);
    if (w.last_header != SIZE_MAX)
        rtp->scratch[w.last_header + 1] |= 0x80; /* marker: last packet of the access unit */
    cs_frame *f = cs_frame_new(CS_FRAME_RTP, rtp->track, w.len);
    if (w.len)
        memcpy(f->data, rtp->scratch, w.len);
    f->is_keyframe = au->is_keyframe;
    f->first_seq = first_seq;
    f->rtp_ts = w.ts;
    f->pts = pts;
    rtp->has_sent = true;
    rtp->last_ts = w.ts;
    rtp->last_mono_ns = now_ns;
    return f;
}

cs_frame *cs_rtp_sender_report(cs_rtp *rtp, int64_t now_ns, int64_t wall_ns)
{
    if (!rtp->has_sent)
        return NULL;
    static const char cname[] = "horus-camsim";
    const size_t sdes_len = 24; /* header 4, SSRC 4, CNAME item 2 + 12, end 1, pad 1 */
    cs_frame *f =
        cs_frame_new(CS_FRAME_RTCP, rtp->track, RTSP_INTERLEAVED_HEADER + RTCP_SR_SIZE + sdes_len);
    uint8_t *p = f->data;
    rtsp_interleaved_write(p, (uint8_t)(rtp->channel + 1), RTCP_SR_SIZE + sdes_len);
    p += RTSP_INTERLEAVED_HEADER;

    int64_t since_ns = now_ns - rtp->last_mono_ns;
    struct rtcp_sr sr = {
        .ssrc = rtp->ssrc,
        .ntp = rtcp_ntp_from_unix_ns(wall_ns),
        .rtp_timestamp = rtp->last_ts + (uint32_t)(since_ns * rtp->clock_hz / 1000000000),
        .packets = rtp->packets_sent,
        .octets = rtp->octets_sent,
    };
    rtcp_sr_write(p, &sr);
    p += RTCP_SR_SIZE;

    memset(p, 0, sdes_len);
    p[0] = 0x81;
    p[1] = 202;
    p[3] = (uint8_t)(sdes_len / 4 - 1);
    p[4] = (uint8_t)(rtp->ssrc >> 24);
    p[5] = (uint8_t)(rtp->ssrc >> 16);
    p[6] = (uint8_t)(rtp->ssrc >> 8);
    p[7] = (uint8_t)rtp->ssrc;
    p[8] = 1; /* CNAME */
    p[9] = (uint8_t)(sizeof(cname) - 1);
    memcpy(p + 10, cname, sizeof(cname) - 1);
    return f;
}
