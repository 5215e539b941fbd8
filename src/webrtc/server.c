/*
 * DESIGN: the WebRTC server (docs/design/0055): one UDP socket for every
 * peer, one thread `webrtc` with epoll over the socket, a command eventfd,
 * a 100 ms timerfd and the sessions' relay readers. API threads call
 * webrtc_server_offer/_delete, which do the pure work (SDP, answer, the
 * session's DTLS object) on the caller's thread and hand the session to
 * the thread through the command list; the set of known session ids (for
 * PATCH/DELETE and the session limit) is kept under the mutex beside it.
 * Datagrams are routed by RFC 7983's first byte: STUN by the USERNAME's
 * ufrag, everything else by the address a checked STUN request bound.
 * Lookups are linear over the sessions: fine for the hundreds one node
 * serves; a hash table when that changes. Lock: mu (leaf; no I/O under it).
 */
#include "server_int.h"
#include "sdp_int.h"
#include "stun_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "webrtc"

int64_t wrtc_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Splits "host:port", "[v6]:port" or ":port". */
static int split_listen(const char *listen, char *host, size_t hostcap, uint16_t *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return -EINVAL;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= hostcap)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p < 0 || p > 65535)
        return -EINVAL;
    *port = (uint16_t)p;
    return 0;
}

static void add_host(webrtc_server *s, const char *h)
{
    for (size_t i = 0; i < s->n_hosts; i++)
        if (strcmp(s->hosts[i], h) == 0)
            return;
    if (s->n_hosts < HORUS_ARRAY_LEN(s->hosts) && s->n_hosts < WEBRTC_SDP_MAX_HOSTS)
        s->hosts[s->n_hosts++] = horus_strdup(h);
}

/* The addresses a wildcard socket is reachable on: each up, non-loopback interface's. */
static void add_interface_hosts(webrtc_server *s)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
            if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
                continue;
            int fam = i->ifa_addr->sa_family;
            if (fam != AF_INET && !(fam == AF_INET6 && s->family == AF_INET6))
                continue;
            char buf[INET6_ADDRSTRLEN];
            const void *a = fam == AF_INET
                                ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
                                : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
            if (fam == AF_INET6 && IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)a))
                continue;
            if (inet_ntop(fam, a, buf, sizeof(buf)))
                add_host(s, buf);
        }
        freeifaddrs(ifs);
    }
    if (s->n_hosts == 0)
        add_host(s, "127.0.0.1");
}

/*
 * Binds the UDP socket (type SOCK_DGRAM, key "udp_listen") or the ICE-TCP
 * listening socket (SOCK_STREAM, "tcp_listen") into *fd and *port. The
 * first socket opened decides the announced hosts; both share them.
 */
static int open_socket(webrtc_server *s, const char *key, const char *addr, int type, int *fd,
                       uint16_t *port, char *err, size_t errsize)
{
    char host[256];
    if (split_listen(addr, host, sizeof(host), port) != 0) {
        snprintf(err, errsize, "webrtc.%s: '%s' is not host:port", key, addr);
        return -EINVAL;
    }
    bool wildcard = host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
    struct addrinfo hints = {.ai_socktype = type, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%u", (unsigned)*port);
    int g = getaddrinfo(host[0] ? host : "0.0.0.0", portstr, &hints, &ai);
    if (g != 0) {
        snprintf(err, errsize, "webrtc.%s: resolve '%s': %s", key, host, gai_strerror(g));
        return -EINVAL;
    }
    int rc = 0;
    *fd = socket(ai->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int big = 1 << 20, one = 1;
    bool ok = *fd >= 0;
    if (ok && type == SOCK_DGRAM)
        ok = setsockopt(*fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)) == 0 &&
             setsockopt(*fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big)) == 0;
    if (ok && type == SOCK_STREAM) /* a restart must not wait out TIME_WAIT */
        ok = setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0;
    ok = ok && bind(*fd, ai->ai_addr, ai->ai_addrlen) == 0;
    if (ok && type == SOCK_STREAM)
        ok = listen(*fd, 128) == 0;
    if (!ok) {
        rc = -errno;
        snprintf(err, errsize, "webrtc.%s: bind %s: %s", key, addr, strerror(errno));
    }
    bool first = s->n_hosts == 0;
    if (first)
        s->family = ai->ai_family;
    if (rc == 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        getsockname(*fd, (struct sockaddr *)&ss, &sl);
        *port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                              : ((struct sockaddr_in6 *)&ss)->sin6_port);
        if (!first) {
            /* the hosts are the first socket's */
        } else if (wildcard) {
            add_interface_hosts(s);
        } else {
            char buf[INET6_ADDRSTRLEN];
            const void *a = ai->ai_family == AF_INET
                                ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                                : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
            add_host(s, inet_ntop(ai->ai_family, a, buf, sizeof(buf)) ? buf : host);
        }
    }
    freeaddrinfo(ai);
    return rc;
}

int webrtc_server_new(const struct webrtc_options *opt, webrtc_server **out, char *err,
                      size_t errsize)
{
    *out = NULL;
    webrtc_server *s = horus_calloc(1, sizeof(*s));
    s->fd = s->tcp_fd = s->epfd = s->cmdfd = s->timerfd = -1;
    s->relay = opt->relay;
    s->max_sessions = opt->max_sessions ? opt->max_sessions : 256;
    s->dtls_timeout_ns =
        (opt->dtls_timeout_ms > 0 ? opt->dtls_timeout_ms : WEBRTC_DTLS_TIMEOUT_MS) * 1000000;
    s->consent_timeout_ns =
        (opt->consent_timeout_ms > 0 ? opt->consent_timeout_ms : WEBRTC_CONSENT_TIMEOUT_MS) *
        1000000;
    s->tcp_bind_timeout_ns =
        (opt->tcp_bind_timeout_ms > 0 ? opt->tcp_bind_timeout_ms : WEBRTC_TCP_BIND_TIMEOUT_MS) *
        1000000;
    s->tcp_max_unbound = opt->tcp_max_unbound ? opt->tcp_max_unbound : WEBRTC_TCP_MAX_UNBOUND;
    for (size_t i = 0; i < opt->n_ice_servers && i < WEBRTC_MAX_ICE_SERVERS; i++)
        s->ice_servers[s->n_ice_servers++] = horus_strdup(opt->ice_servers[i]);
    s->turn_secret = horus_strdup(opt->turn_secret ? opt->turn_secret : "");
    s->turn_ttl_s = (opt->turn_ttl_ms > 0 ? opt->turn_ttl_ms : INT64_C(86400000)) / 1000;
    pthread_mutex_init(&s->mu, NULL);
    s->cmds_tail = &s->cmds;
    bool udp = opt->udp_listen && opt->udp_listen[0];
    bool tcp = opt->tcp_listen && opt->tcp_listen[0];
    int rc = 0;
    if (!udp && !tcp) {
        snprintf(err, errsize, "webrtc: neither udp_listen nor tcp_listen is set");
        rc = -EINVAL;
    }
    if (rc == 0 && udp)
        rc = open_socket(s, "udp_listen", opt->udp_listen, SOCK_DGRAM, &s->fd, &s->port, err,
                         errsize);
    if (rc == 0 && tcp)
        rc = open_socket(s, "tcp_listen", opt->tcp_listen, SOCK_STREAM, &s->tcp_fd, &s->tcp_port,
                         err, errsize);
    for (size_t i = 0; rc == 0 && i < opt->n_additional_hosts && i < WEBRTC_MAX_HOSTS; i++)
        add_host(s, opt->additional_hosts[i]);
    if (rc == 0)
        rc = webrtc_cert_new(&s->cert, err, errsize);
    if (rc == 0) {
        s->epfd = epoll_create1(EPOLL_CLOEXEC);
        s->cmdfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        s->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (s->epfd < 0 || s->cmdfd < 0 || s->timerfd < 0) {
            rc = -errno;
            snprintf(err, errsize, "webrtc: make the event loop: %s", strerror(errno));
        }
    }
    if (rc != 0) {
        webrtc_server_free(s);
        return rc;
    }
    s->tag_socket = (struct ep_tag){.kind = EP_SOCKET};
    s->tag_cmd = (struct ep_tag){.kind = EP_CMD};
    s->tag_timer = (struct ep_tag){.kind = EP_TIMER};
    s->tag_tcp = (struct ep_tag){.kind = EP_TCP_LISTEN};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->tag_socket};
    if (s->fd >= 0)
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->fd, &ev);
    ev.data.ptr = &s->tag_tcp;
    if (s->tcp_fd >= 0)
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->tcp_fd, &ev);
    ev.data.ptr = &s->tag_cmd;
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->cmdfd, &ev);
    ev.data.ptr = &s->tag_timer;
    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &ev);
    struct itimerspec its = {.it_interval = {0, 100000000}, .it_value = {0, 100000000}};
    timerfd_settime(s->timerfd, 0, &its, NULL);
    if (opt->metrics) {
        s->m_sessions = metrics_series_get(metrics_family_add(
            opt->metrics, &(struct metrics_desc){METRICS_GAUGE, "horus_webrtc_sessions",
                                                 "WebRTC (WHEP) sessions, connecting or playing",
                                                 NULL, NULL, 0, NULL, NULL}));
        metrics_family *d = metrics_family_add(
            opt->metrics,
            &(struct metrics_desc){METRICS_COUNTER, "horus_webrtc_dropped_datagrams_total",
                                   "Datagrams on the WebRTC port dropped, by reason", "reason",
                                   NULL, 0, NULL, NULL});
        s->m_dropped_unknown = metrics_series_get(d, "unknown_peer");
        s->m_dropped_stun = metrics_series_get(d, "not_authenticated");
        s->m_dropped_send = metrics_series_get(d, "send_failed");
        s->m_keyframe_requests = metrics_series_get(metrics_family_add(
            opt->metrics,
            &(struct metrics_desc){METRICS_COUNTER, "horus_webrtc_keyframe_requests_total",
                                   "PLI/FIR from viewers that made a session wait "
                                   "for the next keyframe",
                                   NULL, NULL, 0, NULL, NULL}));
        s->m_delay = metrics_series_get(metrics_family_add(
            opt->metrics, &(struct metrics_desc){
                              .type = METRICS_HISTOGRAM,
                              .name = "horus_webrtc_packet_delay_seconds",
                              .help = "From an access unit's arrival at ingest to its last RTP "
                                      "packet sent to a WebRTC viewer (the server's share of "
                                      "glass-to-glass latency; the kept GOP at a start left out)",
                              .buckets = metrics_latency_buckets,
                              .nbuckets = metrics_latency_nbuckets}));
        s->m_audio_feeds = metrics_series_get(metrics_family_add(
            opt->metrics,
            &(struct metrics_desc){METRICS_GAUGE, "horus_webrtc_audio_transcoders",
                                   "Camera streams whose AAC is being transcoded to Opus for "
                                   "WebRTC viewers (one each, however many listen)",
                                   NULL, NULL, 0, NULL, NULL}));
        s->m_retransmits = metrics_series_get(metrics_family_add(
            opt->metrics,
            &(struct metrics_desc){METRICS_COUNTER, "horus_webrtc_retransmits_total",
                                   "RTP packets sent again from a session's history on a NACK",
                                   NULL, NULL, 0, NULL, NULL}));
        wtcp_metrics(s, opt->metrics);
    }
    *out = s;
    return 0;
}

uint16_t webrtc_server_port(const webrtc_server *s)
{
    return s->port;
}

uint16_t webrtc_server_tcp_port(const webrtc_server *s)
{
    return s->tcp_port;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
    if (a->ss_family != b->sa_family)
        return false;
    if (b->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
}

static void forget(webrtc_server *s, const char *id)
{
    pthread_mutex_lock(&s->mu);
    for (struct known_session **k = &s->known; *k; k = &(*k)->next)
        if (strcmp((*k)->info.id, id) == 0) {
            struct known_session *dead = *k;
            *k = dead->next;
            free(dead);
            s->n_known--;
            break;
        }
    unsigned n = s->n_known;
    pthread_mutex_unlock(&s->mu);
    if (s->m_sessions)
        metrics_gauge_set(s->m_sessions, n);
}

void webrtc_server_drop(webrtc_server *s, struct wsession *w, const char *why)
{
    for (struct wsession **p = &s->sessions; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    log_info_kv(LOG_KV({"camera", w->camera}, {"stream", w->stream}, {"session", w->id}),
                "webrtc session ended: %s", why);
    wtcp_session_gone(s, w);
    forget(s, w->id);
    wsession_free(w);
}

static void on_socket(webrtc_server *s, int64_t now)
{
    uint8_t buf[2048];
    for (int i = 0; i < 256; i++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(s->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return;
        if (webrtc_demux_classify(buf, (size_t)n) == WEBRTC_DEMUX_STUN) {
            wsession_on_stun(s, buf, (size_t)n, (struct sockaddr *)&from, fl, NULL, now);
            continue;
        }
        struct wsession *w = s->sessions;
        const struct sockaddr *sa = (const struct sockaddr *)&from;
        while (w && !((w->bound && !w->tcp && same_addr(&w->peer, sa)) ||
                      (w->has_udp_checked && same_addr(&w->udp_checked, sa))))
            w = w->next;
        if (!w) {
            wrtc_count(s->m_dropped_unknown);
            continue;
        }
        const char *why = wsession_on_datagram(w, buf, (size_t)n, now);
        if (why)
            webrtc_server_drop(s, w, why);
    }
}

static void on_commands(webrtc_server *s, int64_t now)
{
    uint64_t v;
    if (read(s->cmdfd, &v, sizeof(v)) < 0) {
        /* nothing to read: another wake-up took it */
    }
    pthread_mutex_lock(&s->mu);
    struct wcmd *c = s->cmds;
    s->cmds = NULL;
    s->cmds_tail = &s->cmds;
    pthread_mutex_unlock(&s->mu);
    while (c) {
        struct wcmd *next = c->next;
        if (c->is_add) {
            c->sess->created_ns = c->sess->consent_ns = now;
            c->sess->next = s->sessions;
            s->sessions = c->sess;
        } else {
            struct wsession *w = s->sessions;
            while (w && strcmp(w->id, c->id) != 0)
                w = w->next;
            if (w)
                webrtc_server_drop(s, w, "deleted by the viewer (WHEP DELETE)");
        }
        free(c);
        c = next;
    }
}

static void on_timer(webrtc_server *s, int64_t now)
{
    uint64_t v;
    if (read(s->timerfd, &v, sizeof(v)) < 0) {
        /* spurious wake-up */
    }
    struct wsession *w = s->sessions;
    while (w) {
        struct wsession *next = w->next;
        const char *why = wsession_on_tick(w, now);
        if (why)
            webrtc_server_drop(s, w, why);
        w = next;
    }
    wtcp_on_tick(s, now);
}

static bool is_stopping(webrtc_server *s)
{
    pthread_mutex_lock(&s->mu);
    bool v = s->stopping;
    pthread_mutex_unlock(&s->mu);
    return v;
}

static void *run(void *arg)
{
    webrtc_server *s = arg;
    while (!is_stopping(s)) {
        struct epoll_event evs[32];
        int n = epoll_wait(s->epfd, evs, 32, -1);
        int64_t now = wrtc_mono_ns();
        for (int i = 0; i < n; i++) {
            /* Compared by address, never read: a reader's tag dies with its session,
             * which an earlier event of this batch may have dropped. */
            const struct ep_tag *t = evs[i].data.ptr;
            if (t == &s->tag_socket) {
                on_socket(s, now);
            } else if (t == &s->tag_cmd) {
                on_commands(s, now);
            } else if (t == &s->tag_timer) {
                on_timer(s, now);
            } else if (t == &s->tag_tcp) {
                wtcp_on_accept(s, now);
            } else {
                struct wsession *w = s->sessions;
                while (w && &w->reader_tag != t)
                    w = w->next;
                const char *why = w && w->reader ? wsession_on_reader(w) : NULL;
                if (why)
                    webrtc_server_drop(s, w, why);
                struct waudio *a = w ? NULL : s->audio;
                while (a && &a->tag != t)
                    a = a->next;
                if (a)
                    waudio_on_reader(a);
                else if (!w)
                    wtcp_on_event(s, t, evs[i].events, now);
            }
        }
    }
    on_commands(s, wrtc_mono_ns()); /* adopt what was queued, so that it is freed below */
    while (s->sessions)
        webrtc_server_drop(s, s->sessions, "the server stops");
    wtcp_close_all(s);
    return NULL;
}

int webrtc_server_start(webrtc_server *s)
{
    int rc = horus_thread_start(&s->thread, "webrtc", run, s);
    if (rc == 0) {
        s->running = true;
        if (s->fd >= 0)
            log_info("webrtc listening on UDP port %u", (unsigned)s->port);
        if (s->tcp_fd >= 0)
            log_info("webrtc listening on TCP port %u (ICE-TCP)", (unsigned)s->tcp_port);
    }
    return rc;
}

void webrtc_server_stop(webrtc_server *s)
{
    if (!s || !s->running)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    uint64_t one = 1;
    if (write(s->cmdfd, &one, sizeof(one)) < 0) {
        /* the counter is full: the thread is awake anyway */
    }
    pthread_join(s->thread, NULL);
    s->running = false;
}

void webrtc_server_free(webrtc_server *s)
{
    if (!s)
        return;
    webrtc_server_stop(s);
    /* commands never adopted (the thread never ran) */
    while (s->cmds) {
        struct wcmd *c = s->cmds;
        s->cmds = c->next;
        if (c->is_add)
            wsession_free(c->sess);
        free(c);
    }
    while (s->known) {
        struct known_session *k = s->known;
        s->known = k->next;
        free(k);
    }
    for (size_t i = 0; i < s->n_hosts; i++)
        free(s->hosts[i]);
    for (size_t i = 0; i < s->n_ice_servers; i++)
        free(s->ice_servers[i]);
    if (s->turn_secret) {
        OPENSSL_cleanse(s->turn_secret, strlen(s->turn_secret));
        free(s->turn_secret);
    }
    wtcp_close_all(s);
    webrtc_cert_free(s->cert);
    if (s->fd >= 0)
        close(s->fd);
    if (s->tcp_fd >= 0)
        close(s->tcp_fd);
    if (s->epfd >= 0)
        close(s->epfd);
    if (s->cmdfd >= 0)
        close(s->cmdfd);
    if (s->timerfd >= 0)
        close(s->timerfd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void push(webrtc_server *s, struct wcmd *c)
{
    *s->cmds_tail = c;
    s->cmds_tail = &c->next;
}

static void wake(webrtc_server *s)
{
    uint64_t one = 1;
    if (write(s->cmdfd, &one, sizeof(one)) < 0) {
        /* the counter is full: the thread is awake anyway */
    }
}

static void random_chars(char *out, size_t n)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t r[64];
    horus_assert(n <= sizeof(r));
    horus_assert(RAND_bytes(r, (int)n) == 1);
    for (size_t i = 0; i < n; i++)
        out[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
    out[n] = '\0';
}

static void dtls_send(void *arg, const uint8_t *buf, size_t len)
{
    struct wsession *w = arg;
    wsession_send(w->srv, w, buf, len);
}

/* The camera's H.264 profile_idc from its avcC, 0 when unknown. */
static uint8_t camera_profile(const media_stream *v)
{
    return v->extradata_size >= 4 && v->extradata[0] == 1 ? v->extradata[1] : 0;
}

/* The camera's H.265 general_profile_idc from its hvcC (ISO 14496-15 8.3.3.1), 0 when unknown. */
static int camera_h265_profile(const media_stream *v)
{
    return v->extradata_size >= 23 && v->extradata[0] == 1 ? v->extradata[1] & 0x1f : 0;
}

/*
 * The offer's format for the camera's video codec (an index in offer->h264 or
 * offer->h265), or -1 with err saying what the camera sends and what the offer had.
 */
static int choose_format(const struct webrtc_sdp_offer *offer, const media_stream *v,
                         const char *camera, const char *stream, char *err, size_t errsize)
{
    const char *name = v->codec == MEDIA_CODEC_H265 ? "H.265" : "H.264";
    int i = -1;
    if (v->codec == MEDIA_CODEC_H264)
        i = webrtc_sdp_h264_choose(offer, camera_profile(v));
    else if (v->codec == MEDIA_CODEC_H265)
        i = webrtc_sdp_h265_choose(offer, camera_h265_profile(v));
    else
        snprintf(err, errsize,
                 "camera '%s' stream '%s' is not H.264 or H.265; WebRTC serves those only", camera,
                 stream);
    if (i < 0 && (v->codec == MEDIA_CODEC_H264 || v->codec == MEDIA_CODEC_H265))
        snprintf(err, errsize,
                 "camera '%s' stream '%s' sends %s; the offer has no usable %s (it has %s)", camera,
                 stream, name, name, offer->video_codecs);
    return i;
}

bool webrtc_server_serves(webrtc_server *s, const char *camera, const char *stream)
{
    struct relay_tracks tracks = {0};
    if (!s || relay_hub_tracks(s->relay, camera, stream, &tracks) != 0)
        return false;
    bool ok = tracks.video && tracks.video->codec == MEDIA_CODEC_H264;
    relay_tracks_release(&tracks);
    return ok;
}

int webrtc_server_offer(webrtc_server *s, const char *camera, const char *stream, const char *sdp,
                        size_t len, struct webrtc_answer *out, char *err, size_t errsize)
{
    memset(out, 0, sizeof(*out));
    if (strlen(camera) >= sizeof(((struct wsession *)0)->camera) ||
        strlen(stream) >= sizeof(((struct wsession *)0)->stream))
        return -ENOENT;
    struct webrtc_sdp_offer *offer = horus_malloc(sizeof(*offer));
    struct wsession *w = NULL;
    int rc = webrtc_sdp_offer_parse(sdp, len, offer, err, errsize);
    struct relay_tracks tracks = {0};
    if (rc == 0) {
        rc = relay_hub_tracks(s->relay, camera, stream, &tracks);
        if (rc == 0 && !tracks.video)
            rc = -EAGAIN;
        if (rc == -ENOENT)
            snprintf(err, errsize, "camera '%s' has no stream '%s' streaming now", camera, stream);
        else if (rc == -EAGAIN)
            snprintf(err, errsize, "camera '%s' has no video yet on stream '%s'", camera, stream);
    }
    int format = rc == 0 ? choose_format(offer, tracks.video, camera, stream, err, errsize) : -1;
    if (rc == 0 && format < 0)
        rc = HORUS_ECODEC;
    bool h265 = rc == 0 && tracks.video->codec == MEDIA_CODEC_H265;
    bool reserved = false;
    if (rc == 0) {
        pthread_mutex_lock(&s->mu);
        /* Reserve the slot now: offers arrive on several threads at once, and a check
         * that let go of the lock before counting the session would let them all in. */
        bool full = s->n_known + s->n_pending >= s->max_sessions;
        if (!full)
            s->n_pending++;
        pthread_mutex_unlock(&s->mu);
        if (full) {
            snprintf(err, errsize, "webrtc: %u sessions already, the most this node serves",
                     s->max_sessions);
            rc = -EBUSY;
        }
        reserved = !full;
    }
    if (rc == 0) {
        w = horus_calloc(1, sizeof(*w));
        w->srv = s;
        strcpy(w->camera, camera);
        strcpy(w->stream, stream);
        strcpy(w->remote_ufrag, offer->ice_ufrag);
        random_chars(w->ufrag, 8);
        random_chars(w->pwd, 24);
        uint8_t r[32];
        horus_assert(RAND_bytes(r, sizeof(r)) == 1);
        for (int i = 0; i < 16; i++)
            sprintf(w->id + 2 * i, "%02x", r[i]);
        memcpy(&w->rtp.ssrc, r + 16, 4);
        memcpy(&w->rtp.seq, r + 20, 2);
        memcpy(&w->rtp.ts_offset, r + 22, 4);
        w->codec = h265 ? MEDIA_CODEC_H265 : MEDIA_CODEC_H264;
        w->rtp.pt = h265 ? offer->h265[format].pt : offer->h264[format].pt;
        w->rtp.abs_capture_id = offer->abs_capture_id;
        /* Sound when the viewer takes Opus and the camera sends AAC (transcoded, shared), or
         * the viewer takes the G.711 the camera sends (passed through). */
        enum media_codec ac = tracks.audio ? tracks.audio->codec : MEDIA_CODEC_NONE;
        bool is_opus = ac == MEDIA_CODEC_AAC && offer->opus_pt != 0;
        bool is_g711 = (ac == MEDIA_CODEC_PCMU && offer->has_pcmu) ||
                       (ac == MEDIA_CODEC_PCMA && offer->has_pcma);
        w->wants_audio = offer->audio_index >= 0 && (is_opus || is_g711);
        horus_assert(RAND_bytes(r, 10) == 1);
        memcpy(&w->audio.ssrc, r, 4);
        memcpy(&w->audio.seq, r + 4, 2);
        memcpy(&w->audio.ts_offset, r + 6, 4);
        w->audio.pt = is_g711 ? (ac == MEDIA_CODEC_PCMU ? 0 : 8) : offer->opus_pt;
        w->audio.clock_rate = is_g711 ? 8000 : WEBRTC_OPUS_RATE;
        if (webrtc_dtls_new(s->cert, offer->fingerprint_alg, offer->fingerprint,
                            offer->fingerprint_len, dtls_send, w, &w->dtls) != 0) {
            snprintf(err, errsize, "a=fingerprint: %zu bytes is not a %s digest",
                     offer->fingerprint_len, offer->fingerprint_alg);
            rc = HORUS_EPARSE;
        }
    }
    if (rc == 0) {
        struct webrtc_sdp_answer_options ao = {
            .ice_ufrag = w->ufrag,
            .ice_pwd = w->pwd,
            .fingerprint_sha256 = webrtc_cert_fingerprint(s->cert),
            .ssrc = w->rtp.ssrc,
            .session_id = ((uint64_t)w->rtp.ssrc << 16) | w->rtp.seq,
            .h264_index = h265 ? -1 : format,
            .h265 = h265,
            .h265_index = h265 ? format : -1,
            .n_hosts = s->n_hosts,
            .port = s->port,
            .tcp_port = s->tcp_port,
            .audio = w->wants_audio,
            .audio_pt = w->audio.pt,
            .audio_ssrc = w->audio.ssrc,
        };
        for (size_t i = 0; i < s->n_hosts; i++)
            ao.hosts[i] = s->hosts[i];
        rc = webrtc_sdp_answer_write(offer, &ao, &out->sdp, NULL);
    }
    if (rc == 0) {
        memcpy(out->session_id, w->id, sizeof(out->session_id));
        struct known_session *k = horus_calloc(1, sizeof(*k));
        strcpy(k->info.id, w->id);
        strcpy(k->info.camera, camera);
        strcpy(k->info.stream, stream);
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        k->info.started_unix_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        w->known = k;
        struct wcmd *c = horus_calloc(1, sizeof(*c));
        c->is_add = true;
        c->sess = w;
        pthread_mutex_lock(&s->mu);
        k->next = s->known;
        s->known = k;
        s->n_pending--;
        reserved = false;
        unsigned n = ++s->n_known;
        push(s, c);
        pthread_mutex_unlock(&s->mu);
        wake(s);
        if (s->m_sessions)
            metrics_gauge_set(s->m_sessions, n);
        log_info_kv(LOG_KV({"camera", camera}, {"stream", stream}, {"session", w->id}),
                    "webrtc session offered");
        w = NULL;
    }
    if (reserved) {
        pthread_mutex_lock(&s->mu);
        s->n_pending--;
        pthread_mutex_unlock(&s->mu);
    }
    wsession_free(w);
    relay_tracks_release(&tracks);
    free(offer);
    return rc;
}

bool webrtc_server_has_session(webrtc_server *s, const char *camera, const char *session_id)
{
    pthread_mutex_lock(&s->mu);
    bool found = false;
    for (struct known_session *k = s->known; k && !found; k = k->next)
        found = strcmp(k->info.id, session_id) == 0 && strcmp(k->info.camera, camera) == 0;
    pthread_mutex_unlock(&s->mu);
    return found;
}

int webrtc_server_delete(webrtc_server *s, const char *camera, const char *session_id)
{
    if (!webrtc_server_has_session(s, camera, session_id) || strlen(session_id) != 32)
        return -ENOENT;
    struct wcmd *c = horus_calloc(1, sizeof(*c));
    strcpy(c->id, session_id);
    pthread_mutex_lock(&s->mu);
    push(s, c);
    pthread_mutex_unlock(&s->mu);
    wake(s);
    return 0;
}

unsigned webrtc_server_sessions(webrtc_server *s)
{
    pthread_mutex_lock(&s->mu);
    unsigned n = s->n_known;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void webrtc_server_publish(webrtc_server *s, struct wsession *w)
{
    char peer[64] = "";
    if (w->bound) {
        char ip[INET6_ADDRSTRLEN] = "";
        const struct sockaddr *sa = (const struct sockaddr *)&w->peer;
        bool v4 = sa->sa_family == AF_INET;
        const void *a = v4 ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                           : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        unsigned port = ntohs(v4 ? ((const struct sockaddr_in *)sa)->sin_port
                                 : ((const struct sockaddr_in6 *)sa)->sin6_port);
        inet_ntop(sa->sa_family, a, ip, sizeof(ip));
        snprintf(peer, sizeof(peer), v4 ? "%s:%u" : "[%s]:%u", ip, port);
    }
    pthread_mutex_lock(&s->mu);
    struct webrtc_session_info *i = &w->known->info;
    memcpy(i->peer, peer, sizeof(peer));
    strcpy(i->transport, !w->bound ? "" : w->tcp ? "tcp" : "udp");
    i->is_playing = w->srtp != NULL;
    i->packets = w->rtp.packets;
    i->bytes = w->rtp.octets;
    i->has_audio = w->wants_audio;
    i->audio_packets = w->audio.packets;
    i->keyframe_requests = w->keyframe_requests;
    i->retransmits = w->retransmits;
    pthread_mutex_unlock(&s->mu);
}

size_t webrtc_server_list(webrtc_server *s, struct webrtc_session_info **out)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n_known;
    struct webrtc_session_info *v = n ? horus_calloc(n, sizeof(*v)) : NULL;
    size_t i = 0;
    for (struct known_session *k = s->known; k && i < n; k = k->next)
        v[i++] = k->info;
    pthread_mutex_unlock(&s->mu);
    *out = v;
    return i;
}
