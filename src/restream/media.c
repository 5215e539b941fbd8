/*
 * DESIGN: relay events into RTP on the client's connection. Video packets
 * are length-prefixed NAL units whose parameter sets travel out of band;
 * each keyframe is preceded by the stream's VPS/SPS/PPS (from its
 * avcC/hvcC record) in the same access unit, so a client that ignores the
 * SDP's sprop parameters, or joins after a parameter change, decodes at
 * once. AUDs are dropped, and so are NAL types the payload format reserves. AAC goes as AAC-hbr,
 * G.711 as the camera sent it.
 * The RTP timestamp is the packet's presentation time in the stream's timescale (the SDP's clock)
 * plus the track's random offset; sender reports map the last unit's RTP
 * time to its capture time (wall_us), so a client can place the picture
 * and its sound on the camera's clock. The pump stops at half of
 * max_buffer and stops watching the reader; server.c watches it again
 * once the socket took the bytes. A UDP track's packets go as datagrams
 * to the client's ports; a full socket drops them. Thread: rtsp-srv.
 */
#include "server_int.h"
#include "bytes.h"

#include "log.h"
#include "media_bitstream.h"

#include <string.h>
#include <sys/socket.h>

#define LOG_MODULE "restream"

static void video_unit(struct rs_track *k, const media_packet *p)
{
    enum media_codec codec = p->stream->codec;
    bool is_h265 = codec == MEDIA_CODEC_H265;
    if (p->is_keyframe) {
        size_t i = 0;
        const uint8_t *nal;
        size_t len;
        while (media_config_ps_next(codec, p->stream->extradata, p->stream->extradata_size, &i,
                                    &nal, &len))
            rtp_packer_nal(&k->pk, is_h265, nal, len);
    }
    size_t pos = 0;
    while (p->size - pos >= 4) {
        size_t len = horus_be32(p->data + pos);
        pos += 4;
        if (len > p->size - pos)
            break; /* a malformed packet: what came before still goes */
        const uint8_t *nal = p->data + pos;
        pos += len;
        int type = len ? media_nal_type(codec, nal, len) : -1;
        if (len && !media_nal_is_aud(codec, type) && !media_nal_is_rtp_reserved(codec, type))
            rtp_packer_nal(&k->pk, is_h265, nal, len);
    }
}

/*
 * Sends interleaved frames (buf, len) as datagrams, one per frame without
 * its 4-byte header. A full socket drops them: UDP's own back-pressure.
 */
static void udp_send(struct rs_conn *c, int fd, const uint8_t *buf, size_t len)
{
    size_t sent = 0;
    for (size_t pos = 0; pos + RTSP_INTERLEAVED_HEADER <= len;) {
        size_t n = rtsp_interleaved_len(buf + pos, len - pos);
        if (n == 0 || n > len - pos)
            break;
        ssize_t w = send(fd, buf + pos + RTSP_INTERLEAVED_HEADER, n - RTSP_INTERLEAVED_HEADER,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0)
            sent += (size_t)w;
        pos += n;
    }
    if (sent)
        rs_conn_count(c, sent);
}

static void send_packet(struct rs_conn *c, media_packet *p)
{
    bool is_video = p->stream->kind == MEDIA_KIND_VIDEO;
    struct rs_track *k = &c->tracks[is_video ? RS_TRACK_VIDEO : RS_TRACK_AUDIO];
    if (!k->is_setup)
        return;
    if (c->is_waiting_key && c->tracks[RS_TRACK_VIDEO].is_setup) {
        /* Nothing before the first picture: sound would start before anything to see. */
        if (!is_video || !p->is_keyframe)
            return;
        c->is_waiting_key = false;
    }
    uint32_t ts = k->ts_offset + (uint32_t)p->pts;
    rtp_packer_begin(&k->pk, ts);
    if (is_video)
        video_unit(k, p);
    else if (p->stream->codec == MEDIA_CODEC_AAC)
        rtp_packer_aac_hbr(&k->pk, p->data, p->size);
    else if (media_codec_is_g711(p->stream->codec) && p->size <= RS_G711_MAX)
        memcpy(rtp_packer_packet(&k->pk, p->size), p->data, p->size); /* RFC 3551 4.5.14 */
    rtp_packer_end(&k->pk);
    if (k->pk.len == 0)
        return;
    k->has_sent = true;
    k->last_ts = ts;
    k->last_wall_us = p->wall_us;
    k->last_mono_ns = rs_now_ns(c->srv);
    if (k->is_udp)
        udp_send(c, k->udp_fd[0], k->pk.buf, k->pk.len);
    else
        rs_conn_send(c, k->pk.buf, k->pk.len);
    int64_t delay = k->last_mono_ns - p->arrival_ns;
    if (c->srv->m_delay && p->arrival_ns >= c->reader_ns && delay >= 0 &&
        delay < INT64_C(60000000000))
        metrics_histogram_observe(c->srv->m_delay, (double)delay / 1e9);
}

void rs_media_pump(struct rs_conn *c)
{
    size_t high = c->srv->opt.max_buffer_bytes / 2;
    while (!c->is_dead && c->reader) {
        if (c->out_len >= high) {
            rs_conn_watch_reader(c, false); /* server.c resumes once the socket took bytes */
            return;
        }
        struct relay_event ev;
        if (relay_reader_next(c->reader, &ev) == 0)
            return;
        switch (ev.kind) {
        case RELAY_EV_PACKET:
            send_packet(c, ev.packet);
            break;
        case RELAY_EV_GAP:
            c->is_waiting_key = true;
            break;
        case RELAY_EV_END:
            /* The camera stopped or changed: the client is told by the end of the connection. */
            c->is_closing = true;
            rs_conn_watch_reader(c, false);
            if (c->out_len == 0)
                rs_conn_close(c, "the camera's stream ended");
            break;
        default:
            break;
        }
        relay_event_release(&ev);
        if (c->is_closing)
            return;
    }
}

void rs_media_tick(struct rs_conn *c, int64_t now_ns)
{
    for (int i = 0; i < RS_TRACKS && !c->is_dead; i++) {
        struct rs_track *k = &c->tracks[i];
        if (!k->has_sent || now_ns - k->last_sr_ns < RS_SR_INTERVAL_NS)
            continue;
        k->last_sr_ns = now_ns;
        int64_t since_ns = now_ns - k->last_mono_ns;
        struct rtcp_sr sr = {
            .ssrc = k->pk.ssrc,
            .ntp = rtcp_ntp_from_unix_ns(k->last_wall_us * 1000 + since_ns),
            .rtp_timestamp = k->last_ts + (uint32_t)(since_ns * k->clock_hz / 1000000000),
            .packets = k->pk.packets_sent,
            .octets = k->pk.octets_sent,
        };
        uint8_t buf[RTSP_INTERLEAVED_HEADER + 128];
        size_t n = rtcp_sr_sdes_write(buf + RTSP_INTERLEAVED_HEADER, &sr, "horus");
        rtsp_interleaved_write(buf, (uint8_t)(k->channel + 1), n);
        if (k->is_udp)
            udp_send(c, k->udp_fd[1], buf, RTSP_INTERLEAVED_HEADER + n);
        else
            rs_conn_send(c, buf, RTSP_INTERLEAVED_HEADER + n);
    }
}
