/*
 * DESIGN: one thread, "rtsp-srv", runs an epoll loop over the listening
 * socket, a wake-up eventfd (stop), every client connection and the relay
 * reader of every playing session. Sockets are non-blocking; a
 * connection's bytes wait in its own output buffer, written as the socket
 * takes them. Media is pulled from the relay only while that buffer is
 * under half of restream.rtsp.max_buffer: a slow client's relay queue
 * fills and skips to the next keyframe (the relay counts it) instead of
 * the buffer growing, and a client that takes no byte for stall_timeout
 * is cut off. Nothing here can delay ingest, the recorder or another
 * client. A connection closed while handling a batch of events is freed
 * after the batch (a later event of the batch may still point at it).
 * The session list the API reads is guarded by srv->lock.
 */
#include "server_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "net.h"
#include "thread.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_MODULE "restream"

#define DEF_SESSION_TIMEOUT_MS 60000
#define DEF_MAX_CLIENTS 64
#define DEF_MAX_BUFFER ((size_t)4 << 20)
#define DEF_STALL_TIMEOUT_MS 10000
#define TICK_MS 1000
#define EVENTS_MAX 64
#define SNDBUF_MAX (256 * 1024)
#define UDP_SNDBUF (2 * 1024 * 1024)

int64_t rs_now_ns(const struct restream_server *s)
{
    return clock_monotonic_ns(s->opt.clock);
}

static void refused(struct restream_server *s, const char *reason)
{
    if (s->f_refused)
        metrics_counter_inc(metrics_series_get(s->f_refused, reason));
}

static int epoll_set(struct restream_server *s, int op, int fd, uint32_t events, struct rs_watch *w)
{
    struct epoll_event ev = {.events = events, .data.ptr = w};
    return epoll_ctl(s->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static void update_out_watch(struct rs_conn *c)
{
    bool want = c->out_len > 0;
    if (want == c->is_out_watched || c->is_dead)
        return;
    c->is_out_watched = want;
    epoll_set(c->srv, EPOLL_CTL_MOD, c->fd, EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0),
              &c->w_sock);
}

void rs_conn_watch_reader(struct rs_conn *c, bool on)
{
    if (!c->reader || on == c->is_reader_watched || c->is_dead)
        return;
    int fd = relay_reader_fd(c->reader);
    epoll_set(c->srv, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, EPOLLIN, &c->w_reader);
    c->is_reader_watched = on;
}

void rs_conn_count(struct rs_conn *c, size_t n)
{
    pthread_mutex_lock(&c->srv->lock);
    c->info.bytes += n;
    pthread_mutex_unlock(&c->srv->lock);
    if (c->m_bytes)
        metrics_counter_add(c->m_bytes, (double)n);
}

/* A UDP socket bound beside the listening address, connected to the client's port. */
static int udp_socket(struct rs_conn *c, int port, uint16_t *bound)
{
    int fd = socket(c->peer.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int sndbuf = UDP_SNDBUF; /* room for a GOP's burst at PLAY; the rest is the network's */
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    struct sockaddr_storage local;
    socklen_t ll = sizeof(local);
    struct sockaddr_storage to = c->peer;
    if (to.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)port);
    /* The local address of the RTSP connection: the interface the client reached. */
    int rc = getsockname(c->fd, (struct sockaddr *)&local, &ll) < 0 ? -errno : 0;
    if (rc == 0) {
        if (local.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&local)->sin6_port = 0;
        else
            ((struct sockaddr_in *)&local)->sin_port = 0;
        if (bind(fd, (struct sockaddr *)&local, ll) < 0 ||
            connect(fd, (struct sockaddr *)&to, c->peer_len) < 0)
            rc = -errno;
    }
    if (rc == 0) {
        ll = sizeof(local);
        getsockname(fd, (struct sockaddr *)&local, &ll);
        *bound = ntohs(local.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&local)->sin6_port
                                                   : ((struct sockaddr_in *)&local)->sin_port);
        return fd;
    }
    close(fd);
    return rc;
}

int rs_track_udp_open(struct rs_conn *c, struct rs_track *k, int rtp, int rtcp)
{
    rs_track_udp_close(c, k);
    int a = udp_socket(c, rtp, &k->server_port[0]);
    if (a < 0)
        return a;
    int b = udp_socket(c, rtcp, &k->server_port[1]);
    if (b < 0) {
        close(a);
        return b;
    }
    k->udp_fd[0] = a;
    k->udp_fd[1] = b;
    k->is_udp = true;
    k->w_rtcp = (struct rs_watch){RS_W_RTCP, c};
    epoll_set(c->srv, EPOLL_CTL_ADD, b, EPOLLIN, &k->w_rtcp);
    return 0;
}

void rs_track_udp_close(struct rs_conn *c, struct rs_track *k)
{
    if (!k->is_udp)
        return;
    epoll_ctl(c->srv->epfd, EPOLL_CTL_DEL, k->udp_fd[1], NULL);
    close(k->udp_fd[0]);
    close(k->udp_fd[1]);
    k->udp_fd[0] = k->udp_fd[1] = -1;
    k->is_udp = false;
}

/* The client's RTCP (receiver reports) on a UDP track: read and taken as a sign of life. */
static void rtcp_readable(struct rs_conn *c)
{
    uint8_t buf[1500];
    for (int i = 0; i < RS_TRACKS; i++) {
        struct rs_track *k = &c->tracks[i];
        while (k->is_udp && recv(k->udp_fd[1], buf, sizeof(buf), MSG_DONTWAIT) >= 0)
            c->last_activity_ns = rs_now_ns(c->srv);
    }
}

/* Writes what the socket takes. */
static void conn_flush(struct rs_conn *c)
{
    struct restream_server *s = c->srv;
    size_t done = 0;
    while (done < c->out_len) {
        ssize_t n = send(c->fd, c->out + done, c->out_len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        rs_conn_close(c, n == 0 ? "connection closed" : "write failed");
        return;
    }
    if (done > 0) {
        memmove(c->out, c->out + done, c->out_len - done);
        c->out_len -= done;
        c->last_progress_ns = rs_now_ns(s);
        rs_conn_count(c, done);
    }
    if (c->out_len == 0) {
        c->last_progress_ns = rs_now_ns(s);
        if (c->is_closing) {
            rs_conn_close(c, "session ended");
            return;
        }
    }
    update_out_watch(c);
    /* Room again: take media from the relay (the pump stops itself at half). */
    if (c->reader && c->out_len < s->opt.max_buffer_bytes / 4)
        rs_conn_watch_reader(c, true);
}

void rs_conn_send(struct rs_conn *c, const void *data, size_t n)
{
    if (c->is_dead)
        return;
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 16384;
        while (cap < c->out_len + n)
            cap *= 2;
        c->out = horus_realloc(c->out, cap);
        c->out_cap = cap;
    }
    if (c->out_len == 0)
        c->last_progress_ns = rs_now_ns(c->srv);
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    conn_flush(c);
}

void rs_conn_close(struct rs_conn *c, const char *why)
{
    if (c->is_dead)
        return;
    struct restream_server *s = c->srv;
    if (c->has_target)
        log_info_kv(LOG_KV({"camera", c->target.camera}, {"stream", c->target.stream},
                           {"client", c->info.client}),
                    "re-stream session ended: %s", why);
    rs_conn_watch_reader(c, false);
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->is_dead = true;
    pthread_mutex_lock(&s->lock);
    struct rs_conn **pp = &s->conns;
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    s->nconns--;
    c->next = s->dead;
    s->dead = c;
    pthread_mutex_unlock(&s->lock);
    rs_session_end(c);
}

static void conn_free(struct rs_conn *c)
{
    free(c->out);
    free(c);
}

static void accept_all(struct restream_server *s)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_warn_limited("accept", NULL, "accept an RTSP client: %s", strerror(errno));
            return;
        }
        if (s->nconns >= s->opt.max_clients) {
            static const char busy[] = "RTSP/1.0 503 Service Unavailable\r\n\r\n";
            ssize_t n = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)n;
            close(fd);
            refused(s, "max_clients");
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        /*
         * The kernel's share of a client's backlog is bounded too, or a client
         * that never reads could park megabytes there before the stall shows.
         */
        size_t sndbuf =
            s->opt.max_buffer_bytes / 2 < SNDBUF_MAX ? s->opt.max_buffer_bytes / 2 : SNDBUF_MAX;
        int v = (int)sndbuf;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
        struct rs_conn *c = horus_calloc(1, sizeof(*c));
        c->srv = s;
        c->fd = fd;
        c->w_sock = (struct rs_watch){RS_W_CONN, c};
        c->w_reader = (struct rs_watch){RS_W_READER, c};
        c->last_activity_ns = c->last_progress_ns = rs_now_ns(s);
        memcpy(&c->peer, &ss, sl);
        c->peer_len = sl;
        char host[INET6_ADDRSTRLEN] = "?", port[8] = "0";
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
        snprintf(c->info.client, sizeof(c->info.client),
                 ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
        snprintf(c->info.transport, sizeof(c->info.transport), "tcp");
        if (epoll_set(s, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLRDHUP, &c->w_sock) < 0) {
            close(fd);
            free(c);
            continue;
        }
        pthread_mutex_lock(&s->lock);
        c->next = s->conns;
        s->conns = c;
        s->nconns++;
        pthread_mutex_unlock(&s->lock);
    }
}

/* Handles what the client sent: requests, and interleaved RTCP (receiver reports). */
static void conn_consume(struct rs_conn *c)
{
    size_t pos = 0;
    while (pos < c->in_len && !c->is_dead) {
        const uint8_t *p = c->in + pos;
        size_t left = c->in_len - pos;
        if (p[0] == '$') {
            size_t n = rtsp_interleaved_len(p, left);
            if (n == 0 || n > left)
                break;
            c->last_activity_ns = rs_now_ns(c->srv); /* RTCP keeps the session alive */
            pos += n;
            continue;
        }
        struct rtsp_msg m;
        int rc = rtsp_request_parse(p, left, RS_BODY_MAX, &m);
        if (rc == 0) {
            if (left == sizeof(c->in)) {
                rc = HORUS_ETOOBIG;
            } else {
                break;
            }
        }
        if (rc < 0) {
            static const char bad[] = "RTSP/1.0 400 Bad Request\r\nConnection: close\r\n\r\n";
            c->is_closing = true;
            rs_conn_send(c, bad, sizeof(bad) - 1);
            refused(c->srv, "bad_request");
            pos = c->in_len;
            break;
        }
        c->last_activity_ns = rs_now_ns(c->srv);
        rs_session_request(c, &m);
        pos += (size_t)rc;
    }
    if (c->is_dead)
        return;
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
}

static void conn_readable(struct rs_conn *c)
{
    for (;;) {
        if (c->in_len == sizeof(c->in)) {
            conn_consume(c);
            if (c->is_dead || c->in_len == sizeof(c->in))
                return;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
        if (n > 0) {
            c->in_len += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        rs_conn_close(c, n == 0 ? "client closed the connection" : "read failed");
        return;
    }
    conn_consume(c);
}

/* Once a second: timeouts, stalls, sender reports, skip counts. */
static void tick(struct restream_server *s)
{
    int64_t now = rs_now_ns(s);
    int64_t timeout_ns = s->opt.session_timeout_ms * 1000000;
    int64_t stall_ns = s->opt.stall_timeout_ms * 1000000;
    for (struct rs_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (now - c->last_activity_ns > timeout_ns) {
            rs_conn_close(c, "session timed out");
            continue;
        }
        if (c->out_len > 0 && now - c->last_progress_ns > stall_ns) {
            refused(s, "stalled");
            rs_conn_close(c, "client stopped reading");
            continue;
        }
        if (c->reader) {
            rs_media_tick(c, now);
            struct relay_reader_stats st;
            relay_reader_stats(c->reader, &st);
            if (st.skips > c->skips_counted) {
                if (c->m_skips)
                    metrics_counter_add(c->m_skips, (double)(st.skips - c->skips_counted));
                c->skips_counted = st.skips;
            }
        }
    }
}

static void free_dead(struct restream_server *s)
{
    pthread_mutex_lock(&s->lock);
    struct rs_conn *d = s->dead;
    s->dead = NULL;
    pthread_mutex_unlock(&s->lock);
    while (d) {
        struct rs_conn *next = d->next;
        conn_free(d);
        d = next;
    }
}

static void *server_main(void *arg)
{
    struct restream_server *s = arg;
    struct epoll_event evs[EVENTS_MAX];
    int64_t next_tick = rs_now_ns(s) + TICK_MS * INT64_C(1000000);
    while (!atomic_load(&s->is_stopping)) {
        int64_t wait_ms = (next_tick - rs_now_ns(s)) / 1000000;
        int n = epoll_wait(s->epfd, evs, EVENTS_MAX, wait_ms < 0 ? 0 : (int)wait_ms + 1);
        if (n < 0 && errno != EINTR) {
            log_error("re-stream server: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct rs_watch *w = evs[i].data.ptr;
            if (w->kind == RS_W_LISTEN) {
                accept_all(s);
            } else if (w->kind == RS_W_WAKE) {
                continue;
            } else if (w->c->is_dead) {
                continue;
            } else if (w->kind == RS_W_READER) {
                rs_media_pump(w->c);
            } else if (w->kind == RS_W_RTCP) {
                rtcp_readable(w->c);
            } else {
                if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    conn_readable(w->c);
                if (!w->c->is_dead && (evs[i].events & EPOLLOUT))
                    conn_flush(w->c);
            }
        }
        if (rs_now_ns(s) >= next_tick) {
            tick(s);
            next_tick = rs_now_ns(s) + TICK_MS * INT64_C(1000000);
        }
        free_dead(s);
    }
    while (s->conns)
        rs_conn_close(s->conns, "server stopping");
    free_dead(s);
    return NULL;
}

static int listen_open(struct restream_server *s)
{
    char host[RS_HOST_MAX];
    int port;
    if (rs_listen_parse(s->listen, host, sizeof(host), &port) < 0)
        return -EINVAL;
    return horus_tcp_listen(host, port, 64, &s->listen_fd, &s->port);
}

static void register_metrics(struct restream_server *s)
{
    metrics_registry *m = s->opt.metrics;
    if (!m)
        return;
    s->f_sessions = metrics_family_add(m, &(struct metrics_desc){
                                              .type = METRICS_GAUGE,
                                              .name = "horus_restream_sessions",
                                              .help = "RTSP re-stream sessions playing the camera",
                                              .labels = "camera",
                                          });
    s->f_bytes = metrics_family_add(m, &(struct metrics_desc){
                                           .type = METRICS_COUNTER,
                                           .name = "horus_restream_sent_bytes_total",
                                           .help = "Bytes sent to RTSP re-stream clients of the "
                                                   "camera (RTP, RTCP and replies)",
                                           .labels = "camera",
                                       });
    s->f_skips = metrics_family_add(m, &(struct metrics_desc){
                                           .type = METRICS_COUNTER,
                                           .name = "horus_restream_skips_total",
                                           .help = "Times an RTSP re-stream client of the camera "
                                                   "fell behind and skipped to the next keyframe",
                                           .labels = "camera",
                                       });
    s->m_delay = metrics_series_get(metrics_family_add(
        m, &(struct metrics_desc){
               .type = METRICS_HISTOGRAM,
               .name = "horus_restream_packet_delay_seconds",
               .help = "From an access unit's arrival at ingest to its RTP packets handed to an "
                       "RTSP re-stream client's socket (the kept GOP at a start left out)",
               .buckets = metrics_latency_buckets,
               .nbuckets = metrics_latency_nbuckets,
           }));
    s->f_refused = metrics_family_add(
        m, &(struct metrics_desc){
               .type = METRICS_COUNTER,
               .name = "horus_restream_refused_total",
               .help = "RTSP re-stream connections or requests refused or cut off, by reason",
               .labels = "reason",
           });
}

int restream_server_new(const struct restream_options *o, restream_server **out)
{
    struct restream_server *s = horus_calloc(1, sizeof(*s));
    s->opt = *o;
    if (!s->opt.session_timeout_ms)
        s->opt.session_timeout_ms = DEF_SESSION_TIMEOUT_MS;
    if (!s->opt.max_clients)
        s->opt.max_clients = DEF_MAX_CLIENTS;
    if (!s->opt.max_buffer_bytes)
        s->opt.max_buffer_bytes = DEF_MAX_BUFFER;
    if (!s->opt.stall_timeout_ms)
        s->opt.stall_timeout_ms = DEF_STALL_TIMEOUT_MS;
    if (!s->opt.clock)
        s->opt.clock = clock_system();
    s->listen = horus_strdup(o->listen ? o->listen : "");
    s->opt.listen = s->listen;
    s->listen_fd = s->epfd = s->wake_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    s->cache = auth_cache_new(1024, 60000);
    if (RAND_bytes(s->nonce_key, sizeof(s->nonce_key)) != 1) {
        if (o->err)
            snprintf(o->err, o->errsize, "no random bytes for the Digest nonces");
        restream_server_free(s);
        return -EIO;
    }
    bool has_rtsp = s->listen[0] != '\0';
    int rc = has_rtsp ? listen_open(s) : 0;
    if (rc < 0 && o->err)
        snprintf(o->err, o->errsize, "restream.rtsp.listen '%s': %s", s->listen,
                 horus_strerror(rc));
    if (rc == 0) {
        s->epfd = epoll_create1(EPOLL_CLOEXEC);
        s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (s->epfd < 0 || s->wake_fd < 0)
            rc = -errno;
    }
    if (rc == 0) {
        s->w_listen = (struct rs_watch){RS_W_LISTEN, NULL};
        s->w_wake = (struct rs_watch){RS_W_WAKE, NULL};
        rc = has_rtsp ? epoll_set(s, EPOLL_CTL_ADD, s->listen_fd, EPOLLIN, &s->w_listen) : 0;
        if (rc == 0)
            rc = epoll_set(s, EPOLL_CTL_ADD, s->wake_fd, EPOLLIN, &s->w_wake);
    }
    if (rc == 0 && o->srt_listen && o->srt_listen[0]) {
        char why[200] = "";
        rc = rs_srt_new(s, &s->srt, why, sizeof(why));
        if (rc < 0 && o->err)
            snprintf(o->err, o->errsize, "restream.srt.listen '%s': %s", o->srt_listen, why);
    }
    if (rc < 0) {
        restream_server_free(s);
        return rc;
    }
    register_metrics(s);
    *out = s;
    return 0;
}

int restream_server_start(restream_server *s)
{
    int rc = horus_thread_start(&s->thread, "rtsp-srv", server_main, s);
    if (rc == 0) {
        s->is_started = true;
        if (s->listen[0])
            log_info_kv(LOG_KV({"listen", s->listen}), "RTSP re-stream server listening on port %u",
                        (unsigned)s->port);
    }
    if (rc == 0 && s->srt)
        rc = rs_srt_start(s->srt);
    return rc;
}

void restream_server_stop(restream_server *s)
{
    if (!s || !s->is_started)
        return;
    atomic_store(&s->is_stopping, true);
    uint64_t one = 1;
    ssize_t n = write(s->wake_fd, &one, sizeof(one));
    (void)n;
    pthread_join(s->thread, NULL);
    rs_srt_stop(s->srt);
    s->is_started = false;
}

void restream_server_free(restream_server *s)
{
    if (!s)
        return;
    restream_server_stop(s);
    rs_srt_free(s->srt);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    auth_cache_free(s->cache);
    pthread_mutex_destroy(&s->lock);
    free(s->listen);
    free(s);
}

uint16_t restream_server_port(const restream_server *s)
{
    return s->port;
}

uint16_t restream_server_srt_port(const restream_server *s)
{
    return rs_srt_port(s->srt);
}

size_t restream_server_sessions(restream_server *s, struct restream_session_info **out)
{
    pthread_mutex_lock(&s->lock);
    size_t n = 0;
    for (struct rs_conn *c = s->conns; c; c = c->next)
        n += c->has_target;
    size_t nsrt = rs_srt_count(s->srt);
    struct restream_session_info *v = horus_calloc(n + nsrt ? n + nsrt : 1, sizeof(*v));
    size_t i = 0;
    for (struct rs_conn *c = s->conns; c && i < n; c = c->next) {
        if (!c->has_target)
            continue;
        v[i] = c->info;
        if (c->reader) {
            struct relay_reader_stats st;
            relay_reader_stats(c->reader, &st);
            v[i].skips = st.skips;
        }
        i++;
    }
    i += rs_srt_sessions(s->srt, v + i, nsrt);
    pthread_mutex_unlock(&s->lock);
    *out = v;
    return i;
}
