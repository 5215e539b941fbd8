/*
 * DESIGN: one WebRTC peer, on the `webrtc` thread (docs/design/0055).
 * ICE-lite: a Binding request whose USERNAME starts with our ufrag and
 * whose MESSAGE-INTEGRITY checks with our password is answered and
 * refreshes consent; it binds the sender's address when it nominates
 * (USE-CANDIDATE) or when nothing is bound yet. The sender is a UDP
 * address or an ICE-TCP connection (tcp.c), which the first checked
 * request binds to the session for good. DTLS and SRTCP are accepted from
 * the bound address or the session's connections only (server.c and tcp.c
 * route them). When DTLS
 * finishes, SRTP is keyed and a relay reader opened: it starts at the
 * latest keyframe in memory. A PLI or FIR, a gap or a skip makes the
 * session wait for the next keyframe; a NACK is answered from the last
 * WEBRTC_RTP_HISTORY packets sent. A session whose answer has Opus holds
 * its stream's shared transcoder (audio.c) from the handshake on.
 * Thread: webrtc only.
 */
#include "server_int.h"
#include "stun_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#define LOG_MODULE "webrtc"

void wsession_send(webrtc_server *s, const struct wsession *w, const uint8_t *buf, size_t len)
{
    if (!w->bound)
        return;
    if (w->tcp) {
        wtcp_send(s, w->tcp, buf, len);
        return;
    }
    if (sendto(s->fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&w->peer, w->peer_len) < 0)
        wrtc_count(s->m_dropped_send);
}

static struct wsession *by_ufrag(webrtc_server *s, const char *user, size_t len,
                                 const char **remote, size_t *remote_len)
{
    const char *colon = memchr(user, ':', len);
    if (!colon)
        return NULL;
    size_t ours = (size_t)(colon - user);
    for (struct wsession *w = s->sessions; w; w = w->next)
        if (strlen(w->ufrag) == ours && memcmp(w->ufrag, user, ours) == 0) {
            *remote = colon + 1;
            *remote_len = len - ours - 1;
            return w;
        }
    return NULL;
}

void wsession_on_stun(webrtc_server *s, const uint8_t *buf, size_t len, const struct sockaddr *from,
                      socklen_t from_len, struct wtcp_conn *conn, int64_t now_ns)
{
    struct webrtc_stun_msg m;
    const char *remote = NULL;
    size_t remote_len = 0;
    struct wsession *w = NULL;
    if (webrtc_stun_parse(buf, len, &m) == 0 && m.type == WEBRTC_STUN_BINDING_REQUEST && m.username)
        w = by_ufrag(s, m.username, m.username_len, &remote, &remote_len);
    /* No answer to what we cannot authenticate: an error reply would let a
     * stranger probe for live ufrags. */
    if (!w || remote_len != strlen(w->remote_ufrag) ||
        memcmp(remote, w->remote_ufrag, remote_len) != 0 ||
        webrtc_stun_check_integrity(buf, &m, w->pwd, strlen(w->pwd)) != 0) {
        wrtc_count(s->m_dropped_stun);
        return;
    }
    if (conn && conn->sess && conn->sess != w) { /* one connection, one session */
        wrtc_count(s->m_dropped_stun);
        conn->close_why = "bad_frame";
        return;
    }
    if (conn && !conn->sess && w->n_tcp >= WEBRTC_TCP_PER_SESSION) {
        conn->close_why = "too_many_per_session";
        return;
    }
    if (conn && !conn->sess) { /* an ICE-TCP connection is bound by its first checked request */
        conn->sess = w;
        w->n_tcp++;
        s->tcp_unbound--;
    }
    w->consent_ns = now_ns;
    if (!conn) {
        memcpy(&w->udp_checked, from, from_len);
        w->has_udp_checked = true;
    }
    if (m.use_candidate || !w->bound) {
        memcpy(&w->peer, from, from_len);
        w->peer_len = from_len;
        w->bound = true;
        w->tcp = conn;
    }
    uint8_t out[128];
    struct webrtc_stun_build_options opt = {
        .type = WEBRTC_STUN_BINDING_SUCCESS,
        .txid = m.txid,
        .mapped = from,
        .integrity_key = w->pwd,
        .integrity_key_len = strlen(w->pwd),
        .fingerprint = true,
    };
    int n = webrtc_stun_build(&opt, out, sizeof(out));
    if (n > 0 && conn)
        wtcp_send(s, conn, out, (size_t)n);
    else if (n > 0 && sendto(s->fd, out, (size_t)n, MSG_DONTWAIT, from, from_len) < 0)
        wrtc_count(s->m_dropped_send);
}

static const char *on_handshake_done(struct wsession *w)
{
    webrtc_server *s = w->srv;
    uint8_t keys[WEBRTC_SRTP_KEYS_BYTES];
    int rc = webrtc_dtls_srtp_keys(w->dtls, keys);
    if (rc == 0)
        rc = webrtc_srtp_new(keys, &w->srtp);
    memset(keys, 0, sizeof(keys));
    if (rc != 0)
        return "SRTP could not be keyed";
    struct relay_reader_options ro = {0};
    rc = relay_hub_open(s->relay, w->camera, w->stream, &ro, &w->reader);
    w->reader_ns = wrtc_mono_ns();
    if (rc != 0)
        return rc == -ENOENT ? "the camera stream is gone" : "the relay reader could not open";
    w->reader_tag = (struct ep_tag){.kind = EP_READER, .obj = w};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &w->reader_tag};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, relay_reader_fd(w->reader), &ev) != 0)
        return "epoll refused the relay reader";
    w->need_keyframe = true;
    webrtc_rtp_history_init(&w->history);
    if (w->wants_audio && !(w->audio_feed = waudio_get(s, w->camera, w->stream)))
        log_warn_kv(LOG_KV({"camera", w->camera}, {"session", w->id}),
                    "webrtc: the camera's sound could not be opened; picture only");
    webrtc_server_publish(s, w);
    log_info_kv(LOG_KV({"camera", w->camera}, {"stream", w->stream}, {"session", w->id}),
                "webrtc viewer connected");
    return NULL;
}

static void on_rtcp(struct wsession *w, uint8_t *buf, size_t len, int64_t now_ns)
{
    if (!w->srtp || webrtc_srtp_unprotect_rtcp(w->srtp, buf, &len) != 0) {
        wrtc_count(w->srv->m_dropped_stun);
        return;
    }
    struct webrtc_rtcp_feedback fb;
    webrtc_rtcp_parse(buf, len, w->rtp.ssrc, &fb);
    for (size_t i = 0; i < fb.n_nacks; i++) {
        size_t n;
        const uint8_t *old = webrtc_rtp_history_get(&w->history, fb.nacks[i], &n);
        uint8_t out[WEBRTC_RTP_MAX_PACKET + WEBRTC_SRTP_TRAILER];
        if (!old)
            continue; /* too old: the viewer's PLI will follow */
        memcpy(out, old, n);
        if (webrtc_srtp_protect(w->srtp, out, &n) == 0) {
            wsession_send(w->srv, w, out, n);
            w->retransmits++;
            wrtc_count(w->srv->m_retransmits);
        }
    }
    if (fb.has_rrtr) {
        w->rrtr_at_ns = now_ns;
        w->rrtr_ssrc = fb.rrtr_ssrc;
        w->rrtr_lrr = fb.rrtr_lrr;
    }
    if (fb.wants_keyframe && !w->need_keyframe) {
        w->need_keyframe = true;
        w->keyframe_requests++;
        wrtc_count(w->srv->m_keyframe_requests);
    }
}

const char *wsession_on_datagram(struct wsession *w, uint8_t *buf, size_t len, int64_t now_ns)
{
    switch (webrtc_demux_classify(buf, len)) {
    case WEBRTC_DEMUX_DTLS: {
        int rc = webrtc_dtls_input(w->dtls, buf, len);
        if (rc == 1)
            return on_handshake_done(w);
        if (rc == HORUS_EAUTH)
            return "the DTLS certificate does not match the offer's fingerprint";
        if (rc == -EPIPE)
            return "the viewer closed DTLS";
        if (rc < 0)
            return "the DTLS handshake failed";
        return NULL;
    }
    case WEBRTC_DEMUX_RTP:
        /* RTCP packet types 192..223 (RFC 5761 4); we receive no RTP */
        if (len >= 2 && buf[1] >= 192 && buf[1] <= 223)
            on_rtcp(w, buf, len, now_ns);
        return NULL;
    default:
        wrtc_count(w->srv->m_dropped_unknown);
        return NULL;
    }
}

static int emit_rtp(void *arg, const uint8_t *pkt, size_t len)
{
    struct wsession *w = arg;
    uint8_t buf[WEBRTC_RTP_MAX_PACKET + WEBRTC_SRTP_TRAILER];
    webrtc_rtp_history_put(&w->history, pkt, len);
    memcpy(buf, pkt, len);
    if (webrtc_srtp_protect(w->srtp, buf, &len) != 0)
        return -EIO;
    wsession_send(w->srv, w, buf, len);
    return 0;
}

/*
 * The server's share of the latency: from the moment ingest had the access
 * unit's last byte to the moment its last RTP packet left. Units that came
 * before the reader opened are the kept GOP, sent late on purpose: left out.
 */
static void observe_delay(struct wsession *w, const media_packet *p)
{
    if (!w->srv->m_delay || p->arrival_ns < w->reader_ns)
        return;
    int64_t d = wrtc_mono_ns() - p->arrival_ns;
    if (d >= 0 && d < INT64_C(60000000000))
        metrics_histogram_observe(w->srv->m_delay, (double)d / 1e9);
}

#define READER_BATCH 64 /* events per wake-up: one slow camera cannot starve the socket */

const char *wsession_on_reader(struct wsession *w)
{
    for (int i = 0; i < READER_BATCH; i++) {
        struct relay_event ev;
        if (relay_reader_next(w->reader, &ev) == 0)
            return NULL;
        const char *why = NULL;
        switch (ev.kind) {
        case RELAY_EV_STREAM:
            if (ev.stream->kind == MEDIA_KIND_VIDEO && ev.stream->codec != w->codec)
                why = w->codec == MEDIA_CODEC_H265 ? "the camera's video is no longer H.265"
                                                   : "the camera's video is no longer H.264";
            break;
        case RELAY_EV_PACKET: {
            media_packet *p = ev.packet;
            if (p->stream->kind != MEDIA_KIND_VIDEO || p->stream->codec != w->codec)
                break;
            if (w->need_keyframe && !p->is_keyframe)
                break;
            w->need_keyframe = false;
            int rc = w->codec == MEDIA_CODEC_H265
                         ? webrtc_h265_packetize(&w->rtp, p->stream, p, emit_rtp, w)
                         : webrtc_h264_packetize(&w->rtp, p->stream, p, emit_rtp, w);
            if (rc == HORUS_EPARSE)
                log_warn_limited("bad_unit", LOG_KV({"camera", w->camera}),
                                 "webrtc: skipped a malformed access unit");
            observe_delay(w, p);
            break;
        }
        case RELAY_EV_GAP:
            w->need_keyframe = true;
            break;
        case RELAY_EV_END:
            why = "the camera stream ended";
            break;
        default:
            break;
        }
        relay_event_release(&ev);
        if (why)
            return why;
    }
    return NULL;
}

static int64_t wall_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *wsession_on_tick(struct wsession *w, int64_t now_ns)
{
    if (!webrtc_dtls_done(w->dtls)) {
        if (now_ns - w->created_ns > w->srv->dtls_timeout_ns)
            return "no DTLS handshake in time";
        webrtc_dtls_tick(w->dtls);
        return NULL;
    }
    if (now_ns - w->consent_ns > w->srv->consent_timeout_ns)
        return "no STUN consent (RFC 7675 consent freshness)";
    if (w->srtp && w->rtp.packets > 0 && now_ns - w->last_sr_ns >= WEBRTC_SR_INTERVAL_NS) {
        w->last_sr_ns = now_ns;
        webrtc_server_publish(w->srv, w);
        uint8_t buf[96 + WEBRTC_SRTP_TRAILER];
        uint64_t ntp;
        uint32_t rtp_ts;
        webrtc_sr_clock(&w->rtp, wall_now_us(), &ntp, &rtp_ts);
        size_t n = webrtc_rtcp_sr_build(&w->rtp, ntp, rtp_ts, buf, 64);
        if (n > 0 && w->rrtr_at_ns > 0)
            n += webrtc_rtcp_dlrr_build(&w->rtp, w->rrtr_ssrc, w->rrtr_lrr, now_ns - w->rrtr_at_ns,
                                        buf + n, 96 - n);
        if (n > 0 && webrtc_srtp_protect_rtcp(w->srtp, buf, &n) == 0)
            wsession_send(w->srv, w, buf, n);
        waudio_send_report(w, wall_now_us());
    }
    return NULL;
}

void wsession_free(struct wsession *w)
{
    if (!w)
        return;
    if (w->reader) {
        epoll_ctl(w->srv->epfd, EPOLL_CTL_DEL, relay_reader_fd(w->reader), NULL);
        relay_reader_close(w->reader);
    }
    waudio_put(w->audio_feed);
    if (w->dtls)
        webrtc_dtls_close(w->dtls);
    webrtc_dtls_free(w->dtls);
    webrtc_srtp_free(w->srtp);
    webrtc_rtp_history_release(&w->history);
    memset(w->pwd, 0, sizeof(w->pwd));
    free(w);
}
