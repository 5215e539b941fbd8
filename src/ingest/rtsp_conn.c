/*
 * DESIGN: one RTSP session as a state machine fed with bytes, so the
 * handshake can be tested against canned exchanges and driven by any I/O.
 *
 *   OPTIONS -> DESCRIBE -> SETUP (each track, RTP/AVP/TCP interleaved,
 *   or RTP/AVP unicast on the owner's UDP ports) -> PLAY -> PLAYING
 *   (interleaved RTP/RTCP or the owner's datagrams, keep-alives, TEARDOWN)
 *
 * A 401 is answered once with credentials from the URL (Digest preferred
 * to Basic when both are offered; a stale nonce may be retried once more);
 * a second 401 or one without credentials fails as auth_failed. Replies map
 * to the reasons of enum ing_reason: 401/403 auth_failed, 404 not_found,
 * 461 (no TCP transport) and a description without H.264/H.265/AAC
 * unsupported, anything that is not RTSP or another error status not_rtsp,
 * an EOF before any answer unreachable, an EOF while playing closed.
 * OPTIONS failing with anything but 401/403 is not fatal: DESCRIBE decides.
 * A 461 says "the camera refuses RTP over TCP", not "unsupported codec",
 * and sets is_tcp_refused (transport auto then falls back to UDP).
 *
 * Bytes in: complete replies and interleaved frames are consumed from the
 * caller's buffer; RTP/RTCP payloads are passed to packet_cb in place.
 * Requests out: appended to c->out, which the owner drains. No timers, no
 * I/O, no allocation. Thread: the owner's only.
 */
#include "rtsp_int.h"

#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define USER_AGENT "horus"

static void send_phase(struct ing_rtsp_conn *c);

int ing_rtsp_conn_init(struct ing_rtsp_conn *c, const char *url,
                       const struct ing_rtsp_conn_cbs *cbs, void *arg)
{
    memset(c, 0, sizeof(*c));
    c->cbs = cbs;
    c->arg = arg;
    c->timeout_s = 60;
    c->media_index[0] = c->media_index[1] = -1;
    c->channel[0] = c->channel[1] = -1;
    c->rtcp_channel[0] = c->rtcp_channel[1] = -1;
    for (int t = 0; t < ING_RTSP_TRACKS; t++)
        c->client_port[t] = c->server_port[t][0] = c->server_port[t][1] = -1;
    int rc = ing_rtsp_url_parse(url, &c->url);
    if (rc < 0)
        return rc;
    snprintf(c->base, sizeof(c->base), "%s", c->url.request_url);
    uint8_t raw[8] = {0};
    if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) != sizeof(raw)) {
        uintptr_t v = (uintptr_t)c;
        memcpy(raw, &v, sizeof(v) < sizeof(raw) ? sizeof(v) : sizeof(raw));
    }
    for (int i = 0; i < 8; i++)
        snprintf(c->cnonce + 2 * i, 3, "%02x", raw[i]);
    c->phase = ING_RTSP_OPTIONS;
    send_phase(c);
    return 0;
}

void ing_rtsp_conn_fail(struct ing_rtsp_conn *c, enum ing_reason reason, const char *text)
{
    if (c->phase == ING_RTSP_FAILED)
        return;
    c->phase = ING_RTSP_FAILED;
    c->reason = reason;
    snprintf(c->error, sizeof(c->error), "%s", text);
}

__attribute__((format(printf, 3, 4))) static void
conn_failf(struct ing_rtsp_conn *c, enum ing_reason reason, const char *fmt, ...)
{
    char text[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    ing_rtsp_conn_fail(c, reason, text);
}

/* ---- requests ---- */

/* Appends text to c->out. Returns false (nothing appended) when it does not fit. */
static bool out_append(struct ing_rtsp_conn *c, const char *text, size_t n)
{
    if (c->out_len + n > sizeof(c->out))
        return false;
    memcpy(c->out + c->out_len, text, n);
    c->out_len += n;
    return true;
}

/*
 * Queues METHOD url with the session's standard headers plus extra (ends
 * in CRLF or is ""). Returns the CSeq used, or 0 when it did not fit.
 */
static unsigned request(struct ing_rtsp_conn *c, const char *method, const char *url,
                        const char *extra)
{
    char req[3072];
    unsigned cseq = ++c->cseq;
    int n =
        snprintf(req, sizeof(req), "%s %s RTSP/1.0\r\nCSeq: %u\r\nUser-Agent: " USER_AGENT "\r\n",
                 method, url, cseq);
    if (c->has_auth) {
        char auth[1024];
        if (c->chal.is_qop_auth)
            c->nc++;
        if (ing_rtsp_authorization(&c->chal, c->url.user, c->url.password, method, url, c->nc,
                                   c->cnonce, auth, sizeof(auth)) == 0)
            n += snprintf(req + n, sizeof(req) - (size_t)n, "Authorization: %s\r\n", auth);
    }
    if (c->session[0] && n > 0 && (size_t)n < sizeof(req))
        n += snprintf(req + n, sizeof(req) - (size_t)n, "Session: %s\r\n", c->session);
    if (n > 0 && (size_t)n < sizeof(req))
        n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\r\n", extra);
    if (n < 0 || (size_t)n >= sizeof(req) || !out_append(c, req, (size_t)n))
        return 0;
    return cseq;
}

static const char *track_url(const struct ing_rtsp_conn *c, unsigned track)
{
    return c->sdp.media[c->media_index[track]].control;
}

/* Sends the request of the current phase (first time or after a 401). */
static void send_phase(struct ing_rtsp_conn *c)
{
    char extra[160];
    switch (c->phase) {
    case ING_RTSP_OPTIONS:
        c->pending_method = "OPTIONS";
        c->pending_cseq = request(c, "OPTIONS", c->url.request_url, "");
        break;
    case ING_RTSP_DESCRIBE:
        c->pending_method = "DESCRIBE";
        c->pending_cseq = request(c, "DESCRIBE", c->url.request_url, "Accept: application/sdp\r\n");
        break;
    case ING_RTSP_SETUP: {
        unsigned t = c->setup_track;
        if (c->is_udp && c->client_port[t] <= 0) {
            ing_rtsp_conn_fail(c, ING_REASON_OTHER, "no UDP port to receive the track on");
            return;
        }
        if (c->is_udp)
            snprintf(extra, sizeof(extra), "Transport: RTP/AVP;unicast;client_port=%d-%d\r\n",
                     c->client_port[t], c->client_port[t] + 1);
        else
            snprintf(extra, sizeof(extra), "Transport: RTP/AVP/TCP;unicast;interleaved=%u-%u\r\n",
                     2 * t, 2 * t + 1);
        c->pending_method = "SETUP";
        c->pending_cseq = request(c, "SETUP", track_url(c, t), extra);
        break;
    }
    case ING_RTSP_PLAY:
        c->pending_method = "PLAY";
        c->pending_cseq = request(c, "PLAY", c->sdp.control, "Range: npt=0.000-\r\n");
        break;
    default:
        return;
    }
    if (c->pending_cseq == 0)
        ing_rtsp_conn_fail(c, ING_REASON_OTHER, "request does not fit the output buffer");
}

void ing_rtsp_conn_keepalive(struct ing_rtsp_conn *c)
{
    if (c->phase != ING_RTSP_PLAYING)
        return;
    if (c->has_get_parameter)
        request(c, "GET_PARAMETER", c->sdp.control, "");
    else
        request(c, "OPTIONS", c->sdp.control, "");
}

void ing_rtsp_conn_teardown(struct ing_rtsp_conn *c)
{
    if (c->session[0])
        request(c, "TEARDOWN", c->sdp.control[0] ? c->sdp.control : c->url.request_url, "");
}

bool ing_rtsp_conn_send_frame(struct ing_rtsp_conn *c, const uint8_t *frame, size_t len)
{
    if (c->phase != ING_RTSP_PLAYING)
        return false;
    return out_append(c, (const char *)frame, len);
}

void ing_rtsp_conn_sent(struct ing_rtsp_conn *c, size_t n)
{
    if (n >= c->out_len) {
        c->out_len = 0;
        return;
    }
    memmove(c->out, c->out + n, c->out_len - n);
    c->out_len -= n;
}

/* ---- replies ---- */

static enum ing_reason reason_of_status(int status)
{
    if (status == 401 || status == 403)
        return ING_REASON_AUTH_FAILED;
    if (status == 404)
        return ING_REASON_NOT_FOUND;
    if (status == 461)
        return ING_REASON_UNSUPPORTED;
    return ING_REASON_NOT_RTSP;
}

/* Picks the best challenge of every WWW-Authenticate header. Returns true if one was found. */
static bool challenge_pick(struct ing_rtsp_conn *c, const struct ing_rtsp_msg *m)
{
    bool found = false;
    for (unsigned i = 0; i < m->nheaders; i++) {
        if (strcasecmp(m->headers[i].name, "WWW-Authenticate") != 0)
            continue;
        struct ing_rtsp_challenge ch;
        if (ing_rtsp_challenge_parse(m->headers[i].value, &ch) < 0)
            continue;
        if (!found || ch.scheme == ING_RTSP_AUTH_DIGEST) {
            c->chal = ch;
            found = true;
        }
    }
    return found;
}

static void on_unauthorized(struct ing_rtsp_conn *c, const struct ing_rtsp_msg *m)
{
    bool was_stale_retry = c->has_auth && c->is_auth_retry;
    struct ing_rtsp_challenge old = c->chal;
    bool has_chal = challenge_pick(c, m);
    if (!c->url.has_credentials) {
        conn_failf(c, ING_REASON_AUTH_FAILED, "authentication failed: %s needs credentials",
                   c->pending_method);
        return;
    }
    if (!has_chal) {
        conn_failf(c, ING_REASON_AUTH_FAILED,
                   "authentication failed: 401 from %s without a usable challenge",
                   c->pending_method);
        return;
    }
    /* One try with credentials; once more only when the server says the nonce went stale. */
    bool may_retry = !c->has_auth || (c->chal.is_stale && strcmp(old.nonce, c->chal.nonce) != 0 &&
                                      !was_stale_retry);
    if (!may_retry) {
        conn_failf(c, ING_REASON_AUTH_FAILED, "authentication failed: %s rejected the credentials",
                   c->pending_method);
        return;
    }
    c->is_auth_retry = c->has_auth;
    c->has_auth = true;
    c->nc = 0;
    send_phase(c);
}

static int choose_tracks(struct ing_rtsp_conn *c)
{
    for (unsigned i = 0; i < c->sdp.nmedia; i++) {
        const struct ing_sdp_media *md = &c->sdp.media[i];
        if (md->codec == MEDIA_CODEC_NONE)
            continue;
        if (md->kind == MEDIA_KIND_VIDEO && c->media_index[ING_RTSP_VIDEO] < 0)
            c->media_index[ING_RTSP_VIDEO] = (int)i;
        else if (md->kind == MEDIA_KIND_AUDIO && c->media_index[ING_RTSP_AUDIO] < 0)
            c->media_index[ING_RTSP_AUDIO] = (int)i;
    }
    if (c->media_index[0] < 0 && c->media_index[1] < 0) {
        conn_failf(c, ING_REASON_UNSUPPORTED,
                   "unsupported codec: no H.264/H.265 video or AAC audio in the description");
        return -1;
    }
    const struct ing_sdp_media *v =
        c->media_index[0] >= 0 ? &c->sdp.media[c->media_index[0]] : NULL;
    const struct ing_sdp_media *a =
        c->media_index[1] >= 0 ? &c->sdp.media[c->media_index[1]] : NULL;
    if (c->cbs->describe_cb && c->cbs->describe_cb(c->arg, v, a) < 0) {
        conn_failf(c, ING_REASON_UNSUPPORTED, "unsupported codec: the tracks cannot be used");
        return -1;
    }
    c->setup_track = c->media_index[0] >= 0 ? ING_RTSP_VIDEO : ING_RTSP_AUDIO;
    return 0;
}

static void on_describe(struct ing_rtsp_conn *c, const struct ing_rtsp_msg *m)
{
    const char *base = ing_rtsp_msg_header(m, "Content-Base");
    if (!base)
        base = ing_rtsp_msg_header(m, "Content-Location");
    if (base && strncasecmp(base, "rtsp", 4) == 0)
        snprintf(c->base, sizeof(c->base), "%s", base);
    if (ing_sdp_parse((const char *)m->body, m->body_len, c->base, &c->sdp) < 0) {
        conn_failf(c, ING_REASON_NOT_RTSP, "not RTSP: unreadable session description");
        return;
    }
    if (choose_tracks(c) < 0)
        return;
    c->phase = ING_RTSP_SETUP;
    send_phase(c);
}

static void on_setup(struct ing_rtsp_conn *c, const struct ing_rtsp_msg *m)
{
    unsigned t = c->setup_track;
    const char *session = ing_rtsp_msg_header(m, "Session");
    if (session) {
        if (ing_rtsp_session_parse(session, c->session, sizeof(c->session), &c->timeout_s) < 0) {
            conn_failf(c, ING_REASON_NOT_RTSP, "not RTSP: bad Session header in the SETUP reply");
            return;
        }
    } else if (!c->session[0]) {
        conn_failf(c, ING_REASON_NOT_RTSP, "not RTSP: SETUP reply without a Session");
        return;
    }
    const char *transport = ing_rtsp_msg_header(m, "Transport");
    if (c->is_udp) {
        int srtp = -1, srtcp = -1;
        if (!transport || ing_rtsp_transport_parse_udp(transport, &srtp, &srtcp) == HORUS_EPARSE) {
            conn_failf(c, ING_REASON_UNSUPPORTED,
                       "unsupported: the camera did not set up unicast RTP over UDP");
            return;
        }
        c->server_port[t][0] = srtp;
        c->server_port[t][1] = srtcp;
    }
    int rtp = (int)(2 * t), rtcp = rtp + 1;
    int rc = transport ? ing_rtsp_transport_parse(transport, &rtp, &rtcp) : -ENOENT;
    if (!c->is_udp && rc == HORUS_EPARSE) {
        conn_failf(c, ING_REASON_UNSUPPORTED,
                   "unsupported: the camera did not set up RTP over TCP");
        return;
    }
    if (!c->is_udp) {
        c->channel[t] = rtp;
        /* What comes in on the channel after RTP is RTCP, as every camera does; ours go there. */
        c->rtcp_channel[t] = rtcp >= 0 && rtcp <= 255 ? rtcp : rtp + 1;
    }
    if (t == ING_RTSP_VIDEO && c->media_index[ING_RTSP_AUDIO] >= 0) {
        c->setup_track = ING_RTSP_AUDIO;
        send_phase(c);
        return;
    }
    c->phase = ING_RTSP_PLAY;
    send_phase(c);
}

/* Does an RTP-Info url name the track's control URL (exactly, or as its tail)? */
static bool url_matches(const char *info_url, const char *control)
{
    size_t a = strlen(info_url), b = strlen(control);
    if (a == 0)
        return false;
    if (a <= b && strcmp(control + (b - a), info_url) == 0)
        return true;
    return b < a && strcmp(info_url + (a - b), control) == 0;
}

static void on_play(struct ing_rtsp_conn *c, const struct ing_rtsp_msg *m)
{
    struct ing_rtsp_rtp_info info[ING_RTSP_TRACKS];
    memset(info, 0, sizeof(info));
    const char *value = ing_rtsp_msg_header(m, "RTP-Info");
    if (value) {
        struct ing_rtsp_rtp_info entries[ING_RTSP_RTP_INFO_MAX];
        unsigned n = ing_rtsp_rtp_info_parse(value, entries, ING_RTSP_RTP_INFO_MAX);
        for (unsigned i = 0; i < n; i++)
            for (unsigned t = 0; t < ING_RTSP_TRACKS; t++)
                if (c->media_index[t] >= 0 && url_matches(entries[i].url, track_url(c, t)))
                    info[t] = entries[i];
    }
    c->phase = ING_RTSP_PLAYING;
    if (c->cbs->play_cb)
        c->cbs->play_cb(c->arg, info);
}

static void on_server_request(struct ing_rtsp_conn *c, const struct ing_rtsp_msg *m)
{
    char reply[128];
    bool is_ok = strcmp(m->method, "OPTIONS") == 0 || strcmp(m->method, "GET_PARAMETER") == 0 ||
                 strcmp(m->method, "SET_PARAMETER") == 0;
    int n = snprintf(reply, sizeof(reply), "RTSP/1.0 %s\r\nCSeq: %ld\r\n\r\n",
                     is_ok ? "200 OK" : "501 Not Implemented", m->cseq < 0 ? 0 : m->cseq);
    out_append(c, reply, (size_t)n);
}

static void on_message(struct ing_rtsp_conn *c, const struct ing_rtsp_msg *m)
{
    if (m->is_request) {
        on_server_request(c, m);
        return;
    }
    if (c->phase == ING_RTSP_PLAYING || m->cseq != (long)c->pending_cseq || c->pending_cseq == 0)
        return; /* keep-alive replies and strays */
    if (m->status == 401) {
        on_unauthorized(c, m);
        return;
    }
    if (m->status < 200 || m->status >= 300) {
        if (c->phase == ING_RTSP_OPTIONS && m->status != 403) {
            c->phase = ING_RTSP_DESCRIBE; /* some cameras refuse OPTIONS; DESCRIBE decides */
            send_phase(c);
            return;
        }
        if (m->status == 461) { /* the codec is fine: the server wants another transport */
            conn_failf(c, ING_REASON_UNSUPPORTED,
                       "the camera refuses RTP over %s: %s replied 461 Unsupported Transport",
                       c->is_udp ? "UDP" : "TCP", c->pending_method);
            c->is_tcp_refused = !c->is_udp;
        } else
            conn_failf(c, reason_of_status(m->status), "%s: %s replied %d",
                       ing_reason_text(reason_of_status(m->status)), c->pending_method, m->status);
        return;
    }
    switch (c->phase) {
    case ING_RTSP_OPTIONS: {
        const char *pub = ing_rtsp_msg_header(m, "Public");
        c->has_get_parameter = pub && rtsp_list_has(rtsp_span_of(pub), "GET_PARAMETER");
        c->phase = ING_RTSP_DESCRIBE;
        send_phase(c);
        break;
    }
    case ING_RTSP_DESCRIBE:
        on_describe(c, m);
        break;
    case ING_RTSP_SETUP:
        on_setup(c, m);
        break;
    case ING_RTSP_PLAY:
        on_play(c, m);
        break;
    default:
        break;
    }
}

static void on_frame(struct ing_rtsp_conn *c, uint8_t channel, const uint8_t *data, size_t len)
{
    for (unsigned t = 0; t < ING_RTSP_TRACKS; t++) {
        if (c->channel[t] < 0)
            continue;
        if (channel == c->channel[t] || channel == c->channel[t] + 1) {
            c->cbs->packet_cb(c->arg, (enum ing_rtsp_track)t, channel != c->channel[t], data, len);
            return;
        }
    }
}

long ing_rtsp_conn_input(struct ing_rtsp_conn *c, const uint8_t *buf, size_t len)
{
    if (len > 0)
        c->has_received = true;
    size_t pos = 0;
    while (pos < len && c->phase != ING_RTSP_FAILED) {
        if (buf[pos] == '$') {
            uint8_t channel;
            const uint8_t *data;
            size_t n;
            int used = rtsp_interleaved_parse(buf + pos, len - pos, &channel, &data, &n);
            if (used == 0)
                break;
            pos += (size_t)used;
            if (c->phase == ING_RTSP_PLAYING || c->phase == ING_RTSP_PLAY)
                on_frame(c, channel, data, n);
            continue;
        }
        int used = ing_rtsp_msg_parse(buf + pos, len - pos, &c->msg);
        if (used == 0)
            break;
        if (used < 0) {
            if (c->phase == ING_RTSP_PLAYING) {
                /* Garbage between frames: resynchronise on the next '$'. */
                const uint8_t *next = memchr(buf + pos + 1, '$', len - pos - 1);
                pos = next ? (size_t)(next - buf) : len;
                continue;
            }
            if (used == HORUS_ETOOBIG)
                conn_failf(c, ING_REASON_NOT_RTSP, "not RTSP: reply to %s over %d bytes",
                           c->pending_method ? c->pending_method : "request", ING_RTSP_BODY_MAX);
            else
                conn_failf(c, ING_REASON_NOT_RTSP, "not RTSP: unreadable reply to %s",
                           c->pending_method ? c->pending_method : "request");
            break;
        }
        pos += (size_t)used;
        on_message(c, &c->msg);
    }
    if (c->phase == ING_RTSP_FAILED)
        return HORUS_EPARSE;
    return (long)pos;
}

void ing_rtsp_conn_closed(struct ing_rtsp_conn *c, int rc)
{
    if (c->phase == ING_RTSP_FAILED)
        return;
    if (c->phase == ING_RTSP_PLAYING) {
        if (rc == 0)
            ing_rtsp_conn_fail(c, ING_REASON_CLOSED, "connection closed by the camera");
        else
            conn_failf(c, ING_REASON_CLOSED, "connection closed by the camera: %s",
                       horus_strerror(rc));
        return;
    }
    if (rc == 0 || rc == -ECONNRESET)
        ing_rtsp_conn_fail(c, ING_REASON_UNREACHABLE,
                           c->has_received ? "unreachable: connection closed during the handshake"
                                           : "unreachable: connection reset before any answer");
    else
        conn_failf(c, rc == -ETIMEDOUT ? ING_REASON_TIMEOUT : ING_REASON_UNREACHABLE, "%s: %s",
                   rc == -ETIMEDOUT ? "timeout" : "unreachable", horus_strerror(rc));
}
