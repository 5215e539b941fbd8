/*
 * DESIGN: ICE-TCP, the passive side (RFC 6544; docs/design/0076). One
 * listening socket in the `webrtc` thread's epoll; each accepted
 * connection carries RFC 4571 frames that are demultiplexed exactly as the
 * UDP datagrams are (RFC 7983's first byte). A connection is unbound until
 * its first frame, a STUN Binding request, passes a session's
 * MESSAGE-INTEGRITY (session.c binds it); anything else first, or nothing
 * within the bind deadline, closes it. Unbound connections are capped. A
 * bound connection belongs to its session until either ends; it is the
 * session's media path while the latest nomination was made on it. Output
 * never blocks: a frame that does not go out at once is queued whole, and
 * a frame that does not fit in the bounded queue is dropped whole and
 * counted, so the stream's framing stays intact. Thread: webrtc only.
 */
#include "server_int.h"
#include "stun_int.h"

#include "log.h"
#include "mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#define LOG_MODULE "webrtc"

#define ACCEPTS_PER_WAKE 64
#define READS_PER_WAKE 16 /* one busy connection cannot starve the others */

/* Why a connection closed: the metric's label, and the phrase logged. */
static const char *close_phrase(const char *reason)
{
    static const struct {
        const char *reason, *phrase;
    } t[] = {
        {"not_authenticated", "its first frame was not a Binding request that passed integrity"},
        {"bind_timeout", "no checked Binding request in time"},
        {"too_many_unbound", "too many connections not yet bound"},
        {"too_many_per_session", "its session has bound the most connections it may"},
        {"bad_frame", "a frame that is not STUN, DTLS or SRTP/SRTCP"},
        {"peer_closed", "the viewer closed it"},
        {"error", "a socket error"},
        {"session_ended", "its session ended"},
        {"server_stopped", "the server stops"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(t[i].reason, reason) == 0)
            return t[i].phrase;
    return reason;
}

static void count_closed(webrtc_server *s, const char *reason)
{
    if (s->m_tcp_closed)
        metrics_counter_inc(metrics_series_get(s->m_tcp_closed, reason));
}

static unsigned count_conns(const webrtc_server *s)
{
    unsigned n = 0;
    for (const struct wtcp_conn *c = s->conns; c; c = c->next)
        n++;
    return n;
}

void wtcp_metrics(webrtc_server *s, metrics_registry *m)
{
    s->m_tcp_conns = metrics_series_get(metrics_family_add(
        m, &(struct metrics_desc){METRICS_GAUGE, "horus_webrtc_tcp_connections",
                                  "ICE-TCP connections open on webrtc.tcp_listen, bound to a "
                                  "session or not yet",
                                  NULL, NULL, 0, NULL, NULL}));
    s->m_tcp_closed = metrics_family_add(
        m, &(struct metrics_desc){METRICS_COUNTER, "horus_webrtc_tcp_closed_total",
                                  "ICE-TCP connections closed, by reason", "reason", NULL, 0, NULL,
                                  NULL});
    s->m_tcp_dropped = metrics_series_get(metrics_family_add(
        m, &(struct metrics_desc){METRICS_COUNTER, "horus_webrtc_tcp_dropped_frames_total",
                                  "Frames not written to an ICE-TCP viewer whose output queue "
                                  "was full (dropped whole; the framing stays intact)",
                                  NULL, NULL, 0, NULL, NULL}));
}

static void publish_count(webrtc_server *s)
{
    if (s->m_tcp_conns)
        metrics_gauge_set(s->m_tcp_conns, count_conns(s));
}

static void close_conn(webrtc_server *s, struct wtcp_conn *c, const char *reason)
{
    for (struct wtcp_conn **p = &s->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    int64_t ms = (wrtc_mono_ns() - c->accepted_ns) / 1000000;
    if (c->sess) {
        struct wsession *w = c->sess;
        w->n_tcp--;
        if (w->tcp == c) { /* the media path is gone: the next checked request binds one */
            w->tcp = NULL;
            w->bound = false;
        }
        char in[24], out[24], dropped[24];
        snprintf(in, sizeof(in), "%llu", (unsigned long long)c->frames_in);
        snprintf(out, sizeof(out), "%llu", (unsigned long long)c->frames_out);
        snprintf(dropped, sizeof(dropped), "%llu", (unsigned long long)c->dropped);
        log_info_kv(LOG_KV({"camera", w->camera}, {"session", w->id}, {"peer", c->peer_text},
                           {"frames_in", in}, {"frames_out", out}, {"dropped", dropped}),
                    "webrtc tcp connection closed after %lld ms: %s", (long long)ms,
                    close_phrase(reason));
    } else {
        s->tcp_unbound--;
        log_info_limited("tcp refused", LOG_KV({"transport", "tcp"}, {"peer", c->peer_text}),
                         "webrtc tcp connection closed unbound after %lld ms: %s", (long long)ms,
                         close_phrase(reason));
    }
    count_closed(s, reason);
    free(c->out);
    free(c);
    publish_count(s);
}

static void set_out(webrtc_server *s, struct wtcp_conn *c, bool on)
{
    if (c->want_out == on)
        return;
    c->want_out = on;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0),
                             .data.ptr = &c->tag};
    epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Room for need more bytes at the queue's end; false when the queue cannot take them. */
static bool out_room(struct wtcp_conn *c, size_t need)
{
    if (c->out_len + need > WEBRTC_TCP_OUT_BYTES)
        return false;
    if (!c->out)
        c->out = horus_malloc(WEBRTC_TCP_OUT_BYTES);
    if (c->out_off + c->out_len + need > WEBRTC_TCP_OUT_BYTES) {
        memmove(c->out, c->out + c->out_off, c->out_len);
        c->out_off = 0;
    }
    return true;
}

static void out_put(struct wtcp_conn *c, const uint8_t *p, size_t n)
{
    memcpy(c->out + c->out_off + c->out_len, p, n);
    c->out_len += n;
}

static void drop_frame(webrtc_server *s, struct wtcp_conn *c)
{
    c->dropped++;
    wrtc_count(s->m_tcp_dropped);
}

void wtcp_send(webrtc_server *s, struct wtcp_conn *c, const uint8_t *buf, size_t len)
{
    if (len > WEBRTC_TCP_FRAME_MAX) {
        drop_frame(s, c);
        return;
    }
    uint8_t hdr[2];
    webrtc_tcp_frame_header(hdr, len);
    if (c->out_len > 0) { /* behind already: whole frames queue after the rest, or drop */
        if (!out_room(c, 2 + len)) {
            drop_frame(s, c);
            return;
        }
        out_put(c, hdr, 2);
        out_put(c, buf, len);
        c->frames_out++;
        return;
    }
    struct iovec iov[2] = {{hdr, 2}, {(void *)buf, len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            /* broken: epoll reports it (EPOLLERR/EPOLLHUP) and the connection closes there */
            drop_frame(s, c);
            return;
        }
        n = 0;
    }
    c->frames_out++;
    size_t sent = (size_t)n;
    if (sent == 2 + len)
        return;
    /* The rest of a frame begun must follow: it always fits an empty queue. */
    out_room(c, 2 + len - sent);
    if (sent < 2)
        out_put(c, hdr + sent, 2 - sent);
    size_t from = sent > 2 ? sent - 2 : 0;
    out_put(c, buf + from, len - from);
    set_out(s, c, true);
}

/* Writes what is queued; false when the connection is broken. */
static bool flush(webrtc_server *s, struct wtcp_conn *c)
{
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c->out_off += (size_t)n;
        c->out_len -= (size_t)n;
    }
    c->out_off = 0;
    set_out(s, c, false);
    return true;
}

struct frame_ctx {
    webrtc_server *s;
    struct wtcp_conn *c;
    int64_t now_ns;
};

static int on_frame(void *arg, uint8_t *buf, size_t len)
{
    struct frame_ctx *x = arg;
    struct wtcp_conn *c = x->c;
    c->frames_in++;
    if (len == 0) /* RFC 4571 allows it; it carries nothing */
        return 0;
    enum webrtc_demux kind = webrtc_demux_classify(buf, len);
    if (kind == WEBRTC_DEMUX_STUN) {
        wsession_on_stun(x->s, buf, len, (const struct sockaddr *)&c->peer, c->peer_len, c,
                         x->now_ns);
        if (!c->sess && !c->close_why)
            c->close_why = "not_authenticated";
        return c->close_why ? 1 : 0;
    }
    if (!c->sess) {
        c->close_why = "not_authenticated";
        return 1;
    }
    if (kind == WEBRTC_DEMUX_OTHER) {
        c->close_why = "bad_frame";
        return 1;
    }
    const char *why = wsession_on_datagram(c->sess, buf, len, x->now_ns);
    if (why) {
        c->drop_session = why;
        return 1;
    }
    return 0;
}

/* Reads what the connection has; closes it (or drops its session) when it must. */
static void on_readable(webrtc_server *s, struct wtcp_conn *c, int64_t now_ns)
{
    struct frame_ctx x = {s, c, now_ns};
    for (int i = 0; i < READS_PER_WAKE; i++) {
        size_t cap;
        uint8_t *dst = webrtc_tcp_framer_space(&c->in, &cap);
        ssize_t n = recv(c->fd, dst, cap, MSG_DONTWAIT);
        if (n == 0) {
            close_conn(s, c, "peer_closed");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            close_conn(s, c, "error");
            return;
        }
        if (webrtc_tcp_framer_commit(&c->in, (size_t)n, on_frame, &x) == 0)
            continue;
        if (c->drop_session) /* closes c too: it is the session's */
            webrtc_server_drop(s, c->sess, c->drop_session);
        else
            close_conn(s, c, c->close_why);
        return;
    }
}

void wtcp_on_event(webrtc_server *s, const struct ep_tag *t, uint32_t events, int64_t now_ns)
{
    struct wtcp_conn *c = s->conns;
    while (c && &c->tag != t)
        c = c->next;
    if (!c)
        return; /* closed earlier in this batch of events */
    if ((events & EPOLLOUT) && !flush(s, c)) {
        close_conn(s, c, "error");
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        on_readable(s, c, now_ns);
}

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    bool v4 = ss->ss_family == AF_INET;
    const void *a = v4 ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
                       : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
    unsigned port = ntohs(v4 ? ((const struct sockaddr_in *)ss)->sin_port
                             : ((const struct sockaddr_in6 *)ss)->sin6_port);
    inet_ntop(ss->ss_family, a, ip, sizeof(ip));
    snprintf(out, cap, v4 ? "%s:%u" : "[%s]:%u", ip, port);
}

void wtcp_on_accept(webrtc_server *s, int64_t now_ns)
{
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        int fd = accept4(s->tcp_fd, (struct sockaddr *)&from, &fl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (s->tcp_unbound >= s->tcp_max_unbound) {
            close(fd);
            count_closed(s, "too_many_unbound");
            log_warn_limited("tcp unbound cap", LOG_KV({"transport", "tcp"}),
                             "webrtc: a tcp connection refused: %u connections are not yet "
                             "bound to a session",
                             s->tcp_unbound);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* media: no batching */
        /* The kernel's share of a slow viewer's backlog stays small (it would grow to megabytes,
         * seconds of video, by autotuning), so that whole frames drop here instead. */
        int sndbuf = WEBRTC_TCP_SNDBUF;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        struct wtcp_conn *c = horus_calloc(1, sizeof(*c));
        c->fd = fd;
        c->tag = (struct ep_tag){.kind = EP_TCP, .obj = c};
        memcpy(&c->peer, &from, fl);
        c->peer_len = fl;
        peer_text(&from, c->peer_text, sizeof(c->peer_text));
        c->accepted_ns = now_ns;
        webrtc_tcp_framer_init(&c->in);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = &c->tag};
        if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            free(c);
            count_closed(s, "error");
            continue;
        }
        c->next = s->conns;
        s->conns = c;
        s->tcp_unbound++;
        publish_count(s);
    }
}

void wtcp_on_tick(webrtc_server *s, int64_t now_ns)
{
    struct wtcp_conn *c = s->conns;
    while (c) {
        struct wtcp_conn *next = c->next;
        if (!c->sess && now_ns - c->accepted_ns > s->tcp_bind_timeout_ns)
            close_conn(s, c, "bind_timeout");
        c = next;
    }
}

void wtcp_session_gone(webrtc_server *s, struct wsession *w)
{
    struct wtcp_conn *c = s->conns;
    while (c) {
        struct wtcp_conn *next = c->next;
        if (c->sess == w)
            close_conn(s, c, "session_ended");
        c = next;
    }
}

void wtcp_close_all(webrtc_server *s)
{
    while (s->conns)
        close_conn(s, s->conns, "server_stopped");
}
