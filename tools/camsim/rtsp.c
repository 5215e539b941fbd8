/*
 * DESIGN: what each RTSP method does, as an IP camera answers it
 * (RFC 2326). One session per TCP connection; each track goes over TCP
 * interleaved or RTP/UDP unicast, whichever the client's Transport header
 * offers first (multicast only gets 461 Unsupported Transport; so does UDP
 * with --tls). The
 * session lives as long as the RTSP connection: closing it (or TEARDOWN)
 * closes the UDP ports too. With
 * --auth every method but OPTIONS needs a Digest Authorization (401
 * otherwise). Replies are queued on the client like media frames, so a
 * reply to a keep-alive during PLAY goes out between two whole frames.
 * Thread: server only.
 */
#include "server_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define PUBLIC_METHODS                                                                             \
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER"
#define SESSION_TIMEOUT_S 60

typedef struct rtsp_reply reply;

static void reply_start(reply *r, const cs_client *c, long cseq, int code, const char *reason)
{
    rtsp_reply_start(r, code, reason, cseq);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    rtsp_reply_add(r, "Server: horus-camsim\r\nDate: %s\r\n", date);
    if (c->has_session)
        rtsp_reply_add(r, "Session: %s;timeout=%d\r\n", c->session, SESSION_TIMEOUT_S);
}

/* Ends the head, appends body (may be NULL) and queues the reply. */
static void reply_send(cs_server *srv, cs_client *c, reply *r, const char *body)
{
    size_t body_len = body ? strlen(body) : 0;
    if (body_len)
        rtsp_reply_add(r, "Content-Length: %zu\r\n", body_len);
    rtsp_reply_add(r, "\r\n");
    if (!body_len) {
        cs_client_send_text(srv, c, r->head, r->len);
        return;
    }
    char *all = horus_malloc(r->len + body_len);
    memcpy(all, r->head, r->len);
    memcpy(all + r->len, body, body_len);
    cs_client_send_text(srv, c, all, r->len + body_len);
    free(all);
}

static void reply_status(cs_server *srv, cs_client *c, const struct rtsp_msg *req, int code,
                         const char *reason)
{
    reply r;
    reply_start(&r, c, req ? req->cseq : -1, code, reason);
    reply_send(srv, c, &r, NULL);
}

void cs_rtsp_reply_bad_request(cs_server *srv, cs_client *c)
{
    reply_status(srv, c, NULL, 400, "Bad Request");
    c->is_closing = true;
}

static bool check_auth(cs_server *srv, cs_client *c, const struct rtsp_msg *req)
{
    if (!srv->opt->auth_user)
        return true;
    if (cs_auth_check(&srv->auth, req->method, rtsp_msg_header(req, "Authorization")))
        return true;
    reply r;
    reply_start(&r, c, req->cseq, 401, "Unauthorized");
    char challenge[256];
    cs_auth_challenge(&srv->auth, challenge, sizeof(challenge));
    rtsp_reply_add(&r, "%s", challenge);
    reply_send(srv, c, &r, NULL);
    return false;
}

/* Checks the Session header against the connection's session; replies 454 when wrong. */
static bool check_session(cs_server *srv, cs_client *c, const struct rtsp_msg *req)
{
    struct rtsp_span s = rtsp_msg_header(req, "Session");
    if (!s.p && c->has_session)
        return true; /* the connection is the session */
    if (!s.p) {
        reply_status(srv, c, req, 454, "Session Not Found");
        return false;
    }
    struct rtsp_span id;
    int timeout_s;
    if (c->has_session && rtsp_session_parse(s, &id, &timeout_s) == 0 &&
        rtsp_span_eq(id, c->session))
        return true;
    reply_status(srv, c, req, 454, "Session Not Found");
    return false;
}

static void on_options(cs_server *srv, cs_client *c, const struct rtsp_msg *req)
{
    reply r;
    reply_start(&r, c, req->cseq, 200, "OK");
    rtsp_reply_add(&r, "Public: %s\r\n", PUBLIC_METHODS);
    reply_send(srv, c, &r, NULL);
}

static void on_describe(cs_server *srv, cs_client *c, const struct rtsp_msg *req)
{
    int cam, track;
    if (cs_path_parse(req->uri, srv->opt->paths, &cam, &track) < 0 || track != CS_PATH_TRACK_NONE) {
        reply_status(srv, c, req, 404, "Not Found");
        return;
    }
    struct rtsp_span base = req->uri;
    const char *q = memchr(base.p, '?', base.len);
    if (q)
        base.len = (size_t)(q - base.p);
    bool has_slash = base.len > 0 && base.p[base.len - 1] == '/';
    reply r;
    reply_start(&r, c, req->cseq, 200, "OK");
    rtsp_reply_add(&r, "Content-Type: application/sdp\r\nContent-Base: %.*s%s\r\n", (int)base.len,
                   base.p, has_slash ? "" : "/");
    reply_send(srv, c, &r, srv->sdp);
}

static void new_session_id(char out[17])
{
    uint8_t raw[8] = {0};
    if (getrandom(raw, sizeof(raw), 0) != sizeof(raw)) {
        uint64_t v = (uint64_t)cs_now_ns();
        memcpy(raw, &v, sizeof(raw));
    }
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02X", raw[i]);
}

static void session_start(cs_client *c, int cam)
{
    if (!c->has_session) {
        new_session_id(c->session);
        c->has_session = true;
        c->cam = cam;
    }
}

/* SETUP of a track over UDP unicast: a server port pair connected to the client's ports. */
static void setup_udp(cs_server *srv, cs_client *c, const struct rtsp_msg *req, int cam, int track,
                      const struct rtsp_transport *t)
{
    struct sockaddr_storage local, peer;
    cs_udp u;
    int rc = cs_client_addrs(c, &local, &peer);
    if (rc == 0)
        rc = cs_udp_open(&u, &local, &peer, t->client_port_rtp, t->client_port_rtcp,
                         &srv->next_udp_port);
    if (rc < 0) {
        fprintf(stderr, "horus-camsim: client %s: no UDP port pair: %s\n", c->peer,
                horus_strerror(rc));
        reply_status(srv, c, req, 500, "Internal Server Error");
        return;
    }
    session_start(c, cam);
    cs_udp_close(&c->udp[track]);
    c->udp[track] = u;
    if (srv->opt->fault == CS_FAULT_REORDER)
        c->udp[track].reorder_every = srv->opt->fault_s;
    if (srv->opt->fault == CS_FAULT_DUPLICATE)
        c->udp[track].duplicate_every = srv->opt->fault_s;
    c->is_udp[track] = true;
    c->is_setup[track] = true;
    reply r;
    reply_start(&r, c, req->cseq, 200, "OK");
    rtsp_reply_add(&r,
                   "Transport: RTP/AVP;unicast;client_port=%d-%d;server_port=%d-%d;ssrc=%08X;"
                   "mode=\"PLAY\"\r\n",
                   t->client_port_rtp, t->client_port_rtcp, u.server_port, u.server_port + 1,
                   (unsigned)srv->rtp[track].pk.ssrc);
    reply_send(srv, c, &r, NULL);
}

static void on_setup(cs_server *srv, cs_client *c, const struct rtsp_msg *req)
{
    int cam, track;
    if (cs_path_parse(req->uri, srv->opt->paths, &cam, &track) < 0 ||
        (track == CS_TRACK_AUDIO && !srv->info->has_audio) || (c->has_session && cam != c->cam)) {
        reply_status(srv, c, req, 404, "Not Found");
        return;
    }
    if (track == CS_PATH_TRACK_NONE)
        track = CS_TRACK_VIDEO;
    if (rtsp_msg_header(req, "Session").p && !check_session(srv, c, req))
        return;
    struct rtsp_transport t;
    struct rtsp_span value = rtsp_msg_header(req, "Transport");
    if (!value.p || rtsp_transport_parse(value, &t) < 0) {
        reply_status(srv, c, req, 400, "Bad Request");
        return;
    }
    /* Over TLS media stays on the connection: UDP would leave it in the clear. */
    if ((!t.is_tcp && !t.is_udp) || (srv->opt->fault == CS_FAULT_NOTCP && !t.is_udp) ||
        (srv->opt->tls_cert && t.is_udp)) {
        reply_status(srv, c, req, 461, "Unsupported Transport");
        return;
    }
    if (t.is_udp) {
        setup_udp(srv, c, req, cam, track, &t);
        return;
    }
    if (!t.has_interleaved) {
        t.channel_rtp = 2 * track;
        t.channel_rtcp = 2 * track + 1;
    }
    session_start(c, cam);
    c->is_setup[track] = true;
    c->is_udp[track] = false;
    cs_udp_close(&c->udp[track]);
    c->channel[track] = (uint8_t)t.channel_rtp;
    c->channel_rtcp[track] = (uint8_t)t.channel_rtcp;
    reply r;
    reply_start(&r, c, req->cseq, 200, "OK");
    rtsp_reply_add(&r,
                   "Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d;ssrc=%08X;mode=\"PLAY\"\r\n",
                   t.channel_rtp, t.channel_rtcp, (unsigned)srv->rtp[track].pk.ssrc);
    reply_send(srv, c, &r, NULL);
}

/* Adds RTP-Info: the first packet of each set-up track in the cached GOP. */
static void add_rtp_info(cs_server *srv, cs_client *c, const struct rtsp_msg *req, reply *r)
{
    if (srv->is_gop_full || srv->gop_len == 0 || c->is_udp[CS_TRACK_VIDEO])
        return; /* the client waits for the next keyframe; its first packet is unknown */
    struct rtsp_span base = req->uri;
    while (base.len > 0 && base.p[base.len - 1] == '/')
        base.len--;
    bool is_first = true;
    for (int t = 0; t < CS_TRACK_COUNT; t++) {
        if (!c->is_setup[t])
            continue;
        const cs_frame *first = NULL;
        for (size_t i = 0; i < srv->gop_len && !first; i++) {
            if (srv->gop[i]->track == t && srv->gop[i]->kind == CS_FRAME_RTP)
                first = srv->gop[i];
        }
        uint16_t seq = first ? first->first_seq : srv->rtp[t].pk.next_seq;
        uint32_t ts;
        if (first)
            ts = first->rtp_ts;
        else /* no audio yet since the keyframe: map the keyframe's time to the audio clock */
            ts = cs_rtp_timestamp(&srv->rtp[t],
                                  srv->gop[0]->pts * srv->rtp[t].clock_hz / CS_VIDEO_CLOCK_HZ);
        rtsp_reply_add(r, "%s%.*s/trackID=%d;seq=%u;rtptime=%u",
                       is_first ? "RTP-Info: url=" : ",url=", (int)base.len, base.p, t,
                       (unsigned)seq, (unsigned)ts);
        is_first = false;
    }
    if (!is_first)
        rtsp_reply_add(r, "\r\n");
}

static void on_play(cs_server *srv, cs_client *c, const struct rtsp_msg *req)
{
    if (!check_session(srv, c, req))
        return;
    if (!c->is_setup[CS_TRACK_VIDEO] && !c->is_setup[CS_TRACK_AUDIO]) {
        reply_status(srv, c, req, 455, "Method Not Valid in This State");
        return;
    }
    reply r;
    reply_start(&r, c, req->cseq, 200, "OK");
    rtsp_reply_add(&r, "Range: npt=0.000-\r\n");
    if (!c->is_playing)
        add_rtp_info(srv, c, req, &r);
    reply_send(srv, c, &r, NULL);
    if (!c->is_playing) {
        cs_client_play(srv, c);
        if (srv->opt->is_verbose)
            fprintf(stderr, "horus-camsim: client %s playing cam%d\n", c->peer, c->cam);
    }
}

static void on_pause(cs_server *srv, cs_client *c, const struct rtsp_msg *req)
{
    if (!check_session(srv, c, req))
        return;
    cs_client_pause(srv, c);
    reply_status(srv, c, req, 200, "OK");
}

static void on_teardown(cs_server *srv, cs_client *c, const struct rtsp_msg *req)
{
    cs_client_pause(srv, c);
    reply_status(srv, c, req, 200, "OK");
    c->is_closing = true;
}

void cs_rtsp_handle(cs_server *srv, cs_client *c, const struct rtsp_msg *req)
{
    if (srv->opt->is_verbose)
        fprintf(stderr, "horus-camsim: client %s -> %.*s %.*s\n", c->peer, (int)req->method.len,
                req->method.p, (int)req->uri.len, req->uri.p);
    if (req->cseq < 0) {
        reply_status(srv, c, req, 400, "Bad Request");
        return;
    }
    if (rtsp_span_eq(req->method, "OPTIONS")) {
        on_options(srv, c, req);
        return;
    }
    if (!check_auth(srv, c, req))
        return;
    if (rtsp_span_eq(req->method, "DESCRIBE"))
        on_describe(srv, c, req);
    else if (rtsp_span_eq(req->method, "SETUP"))
        on_setup(srv, c, req);
    else if (rtsp_span_eq(req->method, "PLAY"))
        on_play(srv, c, req);
    else if (rtsp_span_eq(req->method, "PAUSE"))
        on_pause(srv, c, req);
    else if (rtsp_span_eq(req->method, "TEARDOWN"))
        on_teardown(srv, c, req);
    else if (rtsp_span_eq(req->method, "GET_PARAMETER") ||
             rtsp_span_eq(req->method, "SET_PARAMETER"))
        reply_status(srv, c, req, 200, "OK");
    else
        reply_status(srv, c, req, 501, "Not Implemented");
}
