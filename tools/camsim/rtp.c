/*
 * DESIGN: packetise once, send many. Each access unit becomes one cs_frame:
 * its RTP packets, each already wrapped in the 4-byte RTSP interleaved
 * header for the default channel, back to back in one allocation. The
 * server hands the same frame to every client (refcount), so the per-client
 * cost of a frame is one iovec in a sendmsg. Sequence numbers and SSRC are
 * per track and shared by all clients; each client learns where it joins
 * from RTP-Info. Packetising (src/proto's packer) writes into its reusable buffer, then
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
    rtp_packer_init(&rtp->pk, track == CS_TRACK_VIDEO ? 96 : 97, (uint8_t)(track * 2), random_u32(),
                    (uint16_t)random_u32());
    rtp->ts_offset = random_u32();
    rtp->clock_hz = clock_hz;
}

void cs_rtp_release(cs_rtp *rtp)
{
    rtp_packer_release(&rtp->pk);
}

uint32_t cs_rtp_timestamp(const cs_rtp *rtp, int64_t pts)
{
    return rtp->ts_offset + (uint32_t)pts;
}

static void packetize_video(cs_rtp *rtp, const cs_au *au)
{
    enum cs_codec codec = rtp->codec;
    size_t pos = 0;
    const uint8_t *nal;
    size_t len;
    enum media_codec mc = cs_media_codec(codec);
    while (media_annexb_next(au->data, au->size, &pos, &nal, &len)) {
        if (len < (codec == CS_CODEC_H264 ? 1u : 2u))
            continue;
        if (media_nal_is_aud(mc, media_nal_type(mc, nal, len)))
            continue;
        rtp_packer_nal(&rtp->pk, codec == CS_CODEC_H265, nal, len);
    }
}

/* RFC 6416 MP4A-LATM: one AudioMuxElement per frame, split over packets when large. */
static void packetize_latm(cs_rtp *rtp, const cs_au *au)
{
    uint8_t *el = horus_malloc(au->size + CS_LATM_OVERHEAD(au->size));
    size_t n = cs_latm_element(rtp->audio_payload == CS_AUDIO_LATM_INBAND, rtp->audio_config,
                               rtp->audio_config_len, au->data, au->size, el);
    for (size_t pos = 0; pos < n;) {
        size_t chunk = n - pos < CS_RTP_MAX_PAYLOAD ? n - pos : CS_RTP_MAX_PAYLOAD;
        memcpy(rtp_packer_packet(&rtp->pk, chunk), el + pos, chunk);
        pos += chunk;
    }
    free(el);
}

cs_frame *cs_rtp_packetize(cs_rtp *rtp, const cs_au *au, int64_t pts, int64_t now_ns)
{
    uint32_t ts = cs_rtp_timestamp(rtp, pts);
    rtp_packer_begin(&rtp->pk, ts);
    uint16_t first_seq = rtp->pk.next_seq;
    if (rtp->track == CS_TRACK_VIDEO)
        packetize_video(rtp, au);
    else if (rtp->audio_payload == CS_AUDIO_HBR)
        rtp_packer_aac_hbr(&rtp->pk, au->data, au->size);
    else if (rtp->audio_payload == CS_AUDIO_PCMU || rtp->audio_payload == CS_AUDIO_PCMA)
        memcpy(rtp_packer_packet(&rtp->pk, au->size), au->data, au->size); /* RFC 3551 4.5.14 */
    else
        packetize_latm(rtp, au);
    rtp_packer_end(&rtp->pk); /* marker: last packet of the access unit */
    cs_frame *f = cs_frame_new(CS_FRAME_RTP, rtp->track, rtp->pk.len);
    if (rtp->pk.len)
        memcpy(f->data, rtp->pk.buf, rtp->pk.len);
    f->is_keyframe = au->is_keyframe;
    f->first_seq = first_seq;
    f->rtp_ts = ts;
    f->pts = pts;
    rtp->has_sent = true;
    rtp->last_ts = ts;
    rtp->last_mono_ns = now_ns;
    return f;
}

cs_frame *cs_rtp_sender_report(cs_rtp *rtp, int64_t now_ns, int64_t wall_ns)
{
    if (!rtp->has_sent)
        return NULL;
    static const char cname[] = "horus-camsim";
    size_t size = rtcp_sr_sdes_size(cname);
    cs_frame *f = cs_frame_new(CS_FRAME_RTCP, rtp->track, RTSP_INTERLEAVED_HEADER + size);
    rtsp_interleaved_write(f->data, (uint8_t)(rtp->pk.channel + 1), size);
    int64_t since_ns = now_ns - rtp->last_mono_ns;
    struct rtcp_sr sr = {
        .ssrc = rtp->pk.ssrc,
        .ntp = rtcp_ntp_from_unix_ns(wall_ns),
        .rtp_timestamp = rtp->last_ts + (uint32_t)(since_ns * rtp->clock_hz / 1000000000),
        .packets = rtp->pk.packets_sent,
        .octets = rtp->pk.octets_sent,
    };
    rtcp_sr_sdes_write(f->data + RTSP_INTERLEAVED_HEADER, &sr, cname);
    return f;
}
