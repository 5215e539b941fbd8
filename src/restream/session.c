/*
 * DESIGN: the RTSP methods of a re-stream session, one connection = one
 * session (RFC 2326): OPTIONS; DESCRIBE (the SDP built from the relay's
 * current tracks: parameter sets out of the avcC/hvcC record, AAC config);
 * SETUP of trackID=0/1 over TCP interleaved or RTP/UDP unicast to the
 * client's own address (a multicast-only offer gets 461);
 * PLAY (opens the relay reader: the client starts at the latest keyframe
 * at once); TEARDOWN; GET_PARAMETER and SET_PARAMETER as keep-alives.
 * Every request that names a camera goes through access.c first. The
 * session's view is audited once, at its first PLAY. Thread: rtsp-srv.
 */
#include "server_int.h"

#include "err.h"
#include "log.h"
#include "media_bitstream.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define LOG_MODULE "restream"

#define PUBLIC_METHODS "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER, SET_PARAMETER"

/* The payload type of an audio track: RFC 3551's static ones for G.711, else 97 (AAC). */
static int audio_pt(const media_stream *st)
{
    return st->codec == MEDIA_CODEC_PCMU ? 0 : st->codec == MEDIA_CODEC_PCMA ? 8 : 97;
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 454:
        return "Session Not Found";
    case 455:
        return "Method Not Valid in This State";
    case 459:
        return "Aggregate Operation Not Allowed";
    case 461:
        return "Unsupported Transport";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

static void reply_start(struct rtsp_reply *r, const struct rtsp_msg *m, int status)
{
    rtsp_reply_start(r, status, reason_of(status), m->cseq);
    rtsp_reply_add(r, "Server: horus\r\n");
}

/* Ends the head (with a body of body_len bytes) and sends both. */
static void reply_send(struct rs_conn *c, struct rtsp_reply *r, const char *body, size_t body_len)
{
    if (body)
        rtsp_reply_add(r, "Content-Length: %zu\r\n", body_len);
    rtsp_reply_add(r, "\r\n");
    rs_conn_send(c, r->head, r->len);
    if (body && body_len)
        rs_conn_send(c, body, body_len);
}

static void reply_status(struct rs_conn *c, const struct rtsp_msg *m, int status)
{
    struct rtsp_reply r;
    reply_start(&r, m, status);
    if (status == 405)
        rtsp_reply_add(&r, "Allow: %s\r\n", PUBLIC_METHODS);
    reply_send(c, &r, NULL, 0);
}

/* The answer of access.c's refusals. */
static void reply_refusal(struct rs_conn *c, const struct rtsp_msg *m, int status, bool challenge,
                          unsigned retry_s)
{
    struct rtsp_reply r;
    reply_start(&r, m, status);
    if (challenge && c->srv->opt.digest) {
        /* Digest first: clients take the strongest scheme offered. */
        char nonce[RS_NONCE_LEN + 1];
        rs_access_nonce(c->srv, nonce);
        rtsp_reply_add(&r,
                       "WWW-Authenticate: Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5, "
                       "qop=\"auth\"%s\r\n",
                       RS_REALM, nonce, c->is_nonce_stale ? ", stale=TRUE" : "");
    }
    if (challenge)
        rtsp_reply_add(&r, "WWW-Authenticate: Basic realm=\"%s\"\r\n", RS_REALM);
    if (retry_s)
        rtsp_reply_add(&r, "Retry-After: %u\r\n", retry_s);
    reply_send(c, &r, NULL, 0);
}

/* Parses the URI and checks access; answers and returns false when refused. */
static bool target_of(struct rs_conn *c, const struct rtsp_msg *m, struct rs_target *t)
{
    if (rs_target_parse(m->uri, t) < 0) {
        reply_status(c, m, 404);
        return false;
    }
    if (c->has_target &&
        (strcmp(t->camera, c->target.camera) != 0 || strcmp(t->stream, c->target.stream) != 0)) {
        reply_status(c, m, 459); /* one camera stream per session */
        return false;
    }
    bool challenge = false;
    unsigned retry_s = 0;
    int status = rs_access_check(c, m, t, &challenge, &retry_s);
    if (status != 0) {
        reply_refusal(c, m, status, challenge, retry_s);
        return false;
    }
    if (!c->has_target) {
        pthread_mutex_lock(&c->srv->lock);
        c->target = *t;
        memset(c->target.token, 0, sizeof(c->target.token)); /* kept nowhere */
        c->has_target = true;
        snprintf(c->info.camera, sizeof(c->info.camera), "%s", t->camera);
        snprintf(c->info.stream, sizeof(c->info.stream), "%s", t->stream);
        snprintf(c->info.user, sizeof(c->info.user), "%s",
                 c->principal->user[0] ? c->principal->user : c->principal->name);
        c->info.started_unix_ms = clock_realtime_ms(c->srv->opt.clock);
        pthread_mutex_unlock(&c->srv->lock);
    }
    return true;
}

/* The SDP of the stream's current tracks, or NULL (with *status) when it has none. */
static char *sdp_new(struct rs_conn *c, const struct rs_target *t, int *status)
{
    struct relay_tracks tr;
    int rc = relay_hub_tracks(c->srv->opt.relay, t->camera, t->stream, &tr);
    if (rc < 0) {
        *status = rc == -EAGAIN ? 503 : 404;
        return NULL;
    }
    struct rtsp_sdp_video v = {.payload_type = 96, .control = "trackID=0"};
    const uint8_t *ps[MEDIA_PS_COUNT] = {0};
    size_t ps_len[MEDIA_PS_COUNT] = {0};
    if (tr.video) {
        enum media_codec codec = tr.video->codec;
        size_t i = 0;
        const uint8_t *nal;
        size_t len;
        while (media_config_ps_next(codec, tr.video->extradata, tr.video->extradata_size, &i, &nal,
                                    &len)) {
            int kind = media_nal_ps_kind(codec, media_nal_type(codec, nal, len));
            if (kind >= 0 && !ps[kind]) {
                ps[kind] = nal;
                ps_len[kind] = len;
            }
        }
        v.is_h265 = codec == MEDIA_CODEC_H265;
        v.vps = ps[MEDIA_PS_VPS];
        v.vps_len = ps_len[MEDIA_PS_VPS];
        v.sps = ps[MEDIA_PS_SPS];
        v.sps_len = ps_len[MEDIA_PS_SPS];
        v.pps = ps[MEDIA_PS_PPS];
        v.pps_len = ps_len[MEDIA_PS_PPS];
        v.width = (int)tr.video->width;
        v.height = (int)tr.video->height;
    }
    char *audio = NULL;
    if (tr.audio && tr.audio->codec == MEDIA_CODEC_AAC)
        audio = rtsp_sdp_aac_hbr_new(
            (int)tr.audio->timescale, tr.audio->channels ? (int)tr.audio->channels : 1,
            tr.audio->extradata, tr.audio->extradata_size, 97, "trackID=1");
    else if (tr.audio && media_codec_is_g711(tr.audio->codec)) /* as the camera sent it */
        audio = horus_asprintf("m=audio 0 RTP/AVP %d\r\na=rtpmap:%d %s/%u\r\n"
                               "a=control:trackID=1\r\n",
                               audio_pt(tr.audio), audio_pt(tr.audio),
                               tr.audio->codec == MEDIA_CODEC_PCMU ? "PCMU" : "PCMA",
                               tr.audio->timescale);
    char *sdp = rtsp_sdp_new(&(struct rtsp_sdp_desc){
        .name = "horus", .video = tr.video ? &v : NULL, .audio_section = audio});
    free(audio);
    relay_tracks_release(&tr);
    return sdp;
}

/*
 * The request URI up to its query and without userinfo (a client may put
 * its credentials there), for Content-Base and RTP-Info.
 */
static void base_url(const struct rtsp_msg *m, char *out, size_t cap)
{
    const char *p = m->uri.p, *end = m->uri.p + m->uri.len;
    const char *q = memchr(p, '?', m->uri.len);
    if (q)
        end = q;
    while (end > p && end[-1] == '/')
        end--;
    size_t len = 0;
    const char *scheme = NULL;
    for (const char *s = p; s + 3 <= end; s++) {
        if (s[0] == ':' && s[1] == '/' && s[2] == '/') {
            scheme = s + 3;
            break;
        }
        if (s[0] == '/')
            break;
    }
    const char *at = NULL;
    for (const char *s = scheme; s && s < end && *s != '/'; s++)
        if (*s == '@')
            at = s;
    size_t head = at ? (size_t)(scheme - p) : 0;
    const char *rest = at ? at + 1 : p;
    len = head + (size_t)(end - rest);
    if (len >= cap) {
        out[0] = '\0';
        return;
    }
    memcpy(out, p, head);
    memcpy(out + head, rest, (size_t)(end - rest));
    out[len] = '\0';
}

static void on_describe(struct rs_conn *c, const struct rtsp_msg *m)
{
    struct rs_target t;
    if (!target_of(c, m, &t))
        return;
    int status = 0;
    char *sdp = sdp_new(c, &t, &status);
    if (!sdp) {
        reply_status(c, m, status);
        return;
    }
    char base[512];
    base_url(m, base, sizeof(base));
    struct rtsp_reply r;
    reply_start(&r, m, 200);
    rtsp_reply_add(&r, "Content-Base: %s/\r\nContent-Type: application/sdp\r\n", base);
    reply_send(c, &r, sdp, strlen(sdp));
    free(sdp);
}

static uint32_t random_u32(void)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != sizeof(v))
        v = (uint32_t)(uintptr_t)&v * 2654435761u; /* never in practice */
    return v;
}

/* True when the request's Session header names this connection's session. */
static bool session_matches(const struct rs_conn *c, const struct rtsp_msg *m)
{
    struct rtsp_span id;
    int timeout;
    struct rtsp_span v = rtsp_msg_header(m, "Session");
    return c->session_id[0] && v.p && rtsp_session_parse(v, &id, &timeout) == 0 &&
           rtsp_span_eq(id, c->session_id);
}

static void on_setup(struct rs_conn *c, const struct rtsp_msg *m)
{
    struct rs_target t;
    if (!target_of(c, m, &t))
        return;
    if (rtsp_msg_header(m, "Session").p && !session_matches(c, m)) {
        reply_status(c, m, 454);
        return;
    }
    if (c->reader) {
        reply_status(c, m, 455); /* no new track while playing */
        return;
    }
    struct rtsp_transport tp;
    if (rtsp_transport_parse(rtsp_msg_header(m, "Transport"), &tp) < 0 ||
        (!tp.is_tcp && !tp.is_udp)) {
        reply_status(c, m, 461); /* multicast, or nothing we know */
        return;
    }
    struct relay_tracks tr;
    int rc = relay_hub_tracks(c->srv->opt.relay, t.camera, t.stream, &tr);
    int track = t.track == RS_TRACK_NONE ? RS_TRACK_VIDEO : t.track;
    media_stream *st = rc < 0 ? NULL : track == RS_TRACK_VIDEO ? tr.video : tr.audio;
    if (!st) {
        if (rc == 0)
            relay_tracks_release(&tr);
        reply_status(c, m, rc == -EAGAIN ? 503 : 404);
        return;
    }
    struct rs_track *k = &c->tracks[track];
    if (!k->is_setup) {
        rtp_packer_init(&k->pk, track == RS_TRACK_VIDEO ? 96 : (uint8_t)audio_pt(st), 0,
                        random_u32(), (uint16_t)random_u32());
        k->ts_offset = random_u32();
        k->is_setup = true;
    }
    k->clock_hz = st->timescale;
    relay_tracks_release(&tr);
    int ch = tp.has_interleaved ? tp.channel_rtp : 2 * track;
    k->channel = (uint8_t)ch;
    k->pk.channel = k->channel;
    if (tp.is_udp) {
        int rc2 = rs_track_udp_open(c, k, tp.client_port_rtp, tp.client_port_rtcp);
        if (rc2 < 0) {
            log_warn_kv(LOG_KV({"client", c->info.client}), "re-stream UDP ports: %s",
                        horus_strerror(rc2));
            reply_status(c, m, 500);
            return;
        }
    } else {
        rs_track_udp_close(c, k);
    }
    pthread_mutex_lock(&c->srv->lock);
    snprintf(c->info.transport, sizeof(c->info.transport), "%s", tp.is_udp ? "udp" : "tcp");
    pthread_mutex_unlock(&c->srv->lock);
    if (!c->session_id[0])
        snprintf(c->session_id, sizeof(c->session_id), "%08X%08X", random_u32(), random_u32());
    struct rtsp_reply r;
    reply_start(&r, m, 200);
    if (tp.is_udp)
        rtsp_reply_add(&r,
                       "Transport: RTP/AVP;unicast;client_port=%d-%d;server_port=%u-%u;"
                       "ssrc=%08X\r\n",
                       tp.client_port_rtp, tp.client_port_rtcp, (unsigned)k->server_port[0],
                       (unsigned)k->server_port[1], (unsigned)k->pk.ssrc);
    else
        rtsp_reply_add(&r, "Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d;ssrc=%08X\r\n", ch,
                       ch + 1, (unsigned)k->pk.ssrc);
    rtsp_reply_add(&r, "Session: %s;timeout=%lld\r\n", c->session_id,
                   (long long)(c->srv->opt.session_timeout_ms / 1000));
    reply_send(c, &r, NULL, 0);
}

/* The audit entry of a view: once per session (api_audit_view's rule: once per viewing). */
static void audit_view(struct rs_conn *c)
{
    struct restream_server *s = c->srv;
    if (!s->opt.audit)
        return;
    struct auth_audit_actor actor = auth_audit_actor_of(c->principal, c->info.client);
    json_t *d = json_pack("{s:s, s:s, s:s}", "stream", c->target.stream, "protocol", "rtsp",
                          "transport", c->info.transport);
    auth_audit(s->opt.audit, &actor, AUTH_AUDIT_LIVE_STARTED, AUTH_AUDIT_OK, "camera",
               c->target.camera, d);
    json_decref(d);
}

/*
 * A UDP client starts at the camera's next keyframe: the kept GOP sent at
 * once (up to seconds of media in a burst) would overflow the client's
 * socket buffer and arrive with holes. The queue's packets are dropped.
 */
static void skip_queued(struct rs_conn *c)
{
    struct relay_event ev;
    while (relay_reader_next(c->reader, &ev) == 1)
        relay_event_release(&ev);
}

static void on_play(struct rs_conn *c, const struct rtsp_msg *m)
{
    struct rs_target t;
    if (!target_of(c, m, &t))
        return;
    if (!session_matches(c, m)) {
        reply_status(c, m, 454);
        return;
    }
    if (!c->tracks[RS_TRACK_VIDEO].is_setup && !c->tracks[RS_TRACK_AUDIO].is_setup) {
        reply_status(c, m, 455);
        return;
    }
    struct restream_server *s = c->srv;
    bool is_new = !c->reader;
    if (is_new) {
        relay_reader *rd = NULL;
        /*
         * The queue holds references to packets the relay shares, not copies:
         * room for a long GOP, so a new client starts at the kept keyframe.
         */
        struct relay_reader_options ro = {.queue_max_packets = 4096,
                                          .queue_max_bytes = (size_t)32 << 20};
        int rc = relay_hub_open(s->opt.relay, c->target.camera, c->target.stream, &ro, &rd);
        if (rc < 0) {
            reply_status(c, m, rc == -ENOENT ? 404 : 500);
            return;
        }
        c->reader_ns = rs_now_ns(s);
        pthread_mutex_lock(&s->lock);
        c->reader = rd;
        c->info.is_playing = true;
        pthread_mutex_unlock(&s->lock);
        c->is_waiting_key = true;
        /* Before the reply: what the client may see starts after it. */
        if (c->tracks[RS_TRACK_VIDEO].is_udp || c->tracks[RS_TRACK_AUDIO].is_udp)
            skip_queued(c);
    }
    char base[512];
    base_url(m, base, sizeof(base));
    struct rtsp_reply r;
    reply_start(&r, m, 200);
    rtsp_reply_add(&r, "Session: %s;timeout=%lld\r\nRange: npt=now-\r\nRTP-Info: ", c->session_id,
                   (long long)(s->opt.session_timeout_ms / 1000));
    bool first = true;
    for (int i = 0; i < RS_TRACKS; i++) {
        if (!c->tracks[i].is_setup)
            continue;
        rtsp_reply_add(&r, "%surl=%s/trackID=%d;seq=%u", first ? "" : ",", base, i,
                       (unsigned)c->tracks[i].pk.next_seq);
        first = false;
    }
    rtsp_reply_add(&r, "\r\n");
    reply_send(c, &r, NULL, 0);
    if (!is_new || c->is_dead)
        return;
    if (s->f_sessions) {
        metrics_gauge_add(metrics_series_get(s->f_sessions, c->target.camera), 1);
        c->is_counted = true;
        c->m_bytes = metrics_series_get(s->f_bytes, c->target.camera);
        c->m_skips = metrics_series_get(s->f_skips, c->target.camera);
    }
    log_info_kv(LOG_KV({"camera", c->target.camera}, {"stream", c->target.stream},
                       {"client", c->info.client}, {"user", c->info.user}),
                "re-stream session playing");
    audit_view(c);
    rs_conn_watch_reader(c, true);
    rs_media_pump(c); /* TCP: the GOP is already queued, the keyframe goes out now */
}

void rs_session_request(struct rs_conn *c, const struct rtsp_msg *m)
{
    struct rtsp_span method = m->method;
    if (rtsp_span_eq(method, "OPTIONS")) {
        struct rtsp_reply r;
        reply_start(&r, m, 200);
        rtsp_reply_add(&r, "Public: %s\r\n", PUBLIC_METHODS);
        reply_send(c, &r, NULL, 0);
    } else if (rtsp_span_eq(method, "DESCRIBE")) {
        on_describe(c, m);
    } else if (rtsp_span_eq(method, "SETUP")) {
        on_setup(c, m);
    } else if (rtsp_span_eq(method, "PLAY")) {
        on_play(c, m);
    } else if (rtsp_span_eq(method, "TEARDOWN")) {
        reply_status(c, m, 200);
        c->is_closing = true;
        if (c->out_len == 0)
            rs_conn_close(c, "teardown");
    } else if (rtsp_span_eq(method, "GET_PARAMETER") || rtsp_span_eq(method, "SET_PARAMETER")) {
        if (c->session_id[0] && rtsp_msg_header(m, "Session").p && !session_matches(c, m))
            reply_status(c, m, 454);
        else
            reply_status(c, m, 200);
    } else {
        reply_status(c, m, 405);
    }
}

void rs_session_end(struct rs_conn *c)
{
    struct restream_server *s = c->srv;
    if (c->is_counted)
        metrics_gauge_add(metrics_series_get(s->f_sessions, c->target.camera), -1);
    c->is_counted = false;
    pthread_mutex_lock(&s->lock);
    relay_reader *rd = c->reader;
    c->reader = NULL;
    c->info.is_playing = false;
    pthread_mutex_unlock(&s->lock);
    relay_reader_close(rd);
    for (int i = 0; i < RS_TRACKS; i++) {
        rs_track_udp_close(c, &c->tracks[i]);
        if (c->tracks[i].is_setup)
            rtp_packer_release(&c->tracks[i].pk);
    }
    auth_principal_free(c->principal);
    c->principal = NULL;
}
