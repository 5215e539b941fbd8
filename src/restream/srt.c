/*
 * DESIGN: the SRT re-stream (docs/design/0060). One listening SRT socket
 * (live mode, the configured latency, AES when a passphrase is set) and
 * one thread, "srt-srv", waiting in srt_epoll on the listener, the
 * callers' sockets (errors only: callers send nothing Horus reads) and
 * each caller's relay reader eventfd. A caller names what it wants in its
 * stream id (rs_srt_streamid_parse) with a credential: an API key or a
 * live media token. The handshake itself is refused (SRT's listen
 * callback, SRT_REJX_* reasons the caller sees) when the stream id does
 * not parse, the credential is wrong or the camera is not the caller's;
 * a wrong passphrase is refused by libsrt, whose complaint is logged.
 * Each caller gets MPEG-TS from the relay's packets (srt_mux.c), starting
 * at the latest keyframe in memory; a caller whose send buffer is full is
 * moved on to the next keyframe, never holding the others.
 */
#include "server_int.h"
#include "srt_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <srt/access_control.h>
#include <srt/srt.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOG_MODULE "restream"

#define SRT_DEF_LATENCY_MS 120
#define SRT_DEF_MAX_CLIENTS 64
#define SRT_STREAMID_MAX 512

struct rs_srt_conn {
    struct rs_srt_conn *next;
    struct rs_srt *srt; /* borrowed */
    SRTSOCKET sock;
    relay_reader *reader;
    int reader_fd;
    rs_ts_mux *mux; /* NULL until the first packet after the tracks are known */
    media_stream *video, *audio; /* the feed's tracks (references) */
    struct rs_target target;
    struct auth_principal *principal;
    uint64_t skips;
    uint64_t sent; /* bytes sent; copied into info once a batch, not per message */
    struct restream_session_info info; /* under srv->lock */
};

struct rs_srt {
    struct restream_server *srv;
    SRTSOCKET lsn;
    int eid;
    int wake_fd;
    uint16_t port;
    pthread_t thread;
    bool is_started;
    char passphrase[80];
    int latency_ms;
    unsigned max_clients;
    struct rs_srt_conn *conns; /* under srv->lock for the list; the rest srt-srv's */
    unsigned nconns;
    _Atomic unsigned pending; /* handshakes accepted by the callback, not yet srt_accept'ed */
    metrics_series *m_sessions;
    metrics_family *f_refused;
};

static int g_srt_users; /* srt_startup/srt_cleanup pairs, main thread only */

/* libsrt's own complaints (a wrong passphrase among them), once a minute each. */
static void srt_log(void *opaque, int level, const char *file, int line, const char *area,
                    const char *message)
{
    (void)opaque;
    (void)file;
    (void)line;
    (void)area;
    if (level <= LOG_ERR)
        log_warn_limited("srt_lib", LOG_KV({"from", "libsrt"}), "srt: %s", message);
}

static void addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)sa;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%u", ip, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%u", ip, port);
    } else {
        snprintf(out, cap, "?");
    }
}

static void count_refused(struct rs_srt *t, const char *reason)
{
    if (t->f_refused)
        metrics_counter_inc(metrics_series_get(t->f_refused, reason));
}

/* SRT's access-control reason for an RTSP-like status from rs_access_credential. */
static int reject_reason(int status)
{
    switch (status) {
    case 401:
        return SRT_REJX_UNAUTHORIZED;
    case 403:
        return SRT_REJX_FORBIDDEN;
    case 404:
        return SRT_REJX_NOTFOUND;
    default:
        return SRT_REJX_DOWN; /* the database: try later */
    }
}

/* The handshake: parse the stream id and check the credential before the caller is in. */
static int on_listen(void *opaque, SRTSOCKET ns, int hsversion, const struct sockaddr *peer,
                     const char *streamid)
{
    (void)hsversion;
    struct rs_srt *t = opaque;
    char client[64];
    addr_text(peer, client, sizeof(client));
    struct rs_target tg;
    const char *why = NULL;
    if (rs_srt_streamid_parse(streamid ? streamid : "", &tg, &why) < 0) {
        log_info_kv(LOG_KV({"client", client}), "srt caller refused: %s", why);
        count_refused(t, "bad_streamid");
        srt_setrejectreason(ns, SRT_REJX_BAD_REQUEST);
        return -1;
    }
    pthread_mutex_lock(&t->srv->lock);
    bool full = t->nconns + atomic_load(&t->pending) >= t->max_clients;
    pthread_mutex_unlock(&t->srv->lock);
    if (full) {
        log_info_kv(LOG_KV({"client", client}), "srt caller refused: %u callers already",
                    t->max_clients);
        count_refused(t, "max_clients");
        srt_setrejectreason(ns, SRT_REJX_OVERLOAD);
        return -1;
    }
    struct auth_principal *p = NULL;
    int status = rs_access_credential(t->srv, client, &tg, &p);
    auth_principal_free(p);
    if (status != 0) {
        log_info_kv(LOG_KV({"client", client}, {"camera", tg.camera}), "srt caller refused: %s",
                    status == 401   ? "no valid API key or live token (s= in the stream id)"
                    : status == 404 ? "no such camera for this credential"
                    : status == 403 ? "the credential may not view video"
                                    : "the database is not available");
        count_refused(t, status == 401 ? "unauthorized" : status == 404 ? "not_found" : "other");
        srt_setrejectreason(ns, reject_reason(status));
        return -1;
    }
    atomic_fetch_add(&t->pending, 1);
    return 0;
}

static void conn_free(struct rs_srt *t, struct rs_srt_conn *c)
{
    if (c->reader) {
        srt_epoll_remove_ssock(t->eid, c->reader_fd);
        relay_reader_close(c->reader);
    }
    srt_epoll_remove_usock(t->eid, c->sock);
    srt_close(c->sock);
    rs_ts_mux_free(c->mux);
    media_stream_unref(c->video);
    media_stream_unref(c->audio);
    auth_principal_free(c->principal);
    free(c);
}

static void conn_end(struct rs_srt *t, struct rs_srt_conn *c, const char *why)
{
    pthread_mutex_lock(&t->srv->lock);
    for (struct rs_srt_conn **p = &t->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            t->nconns--;
            break;
        }
    unsigned n = t->nconns;
    pthread_mutex_unlock(&t->srv->lock);
    if (t->m_sessions)
        metrics_gauge_set(t->m_sessions, n);
    log_info_kv(LOG_KV({"client", c->info.client}, {"camera", c->target.camera},
                       {"stream", c->target.stream}),
                "srt session ended: %s", why);
    conn_free(t, c);
}

/* The view in the audit log, once per caller, as an RTSP session's (protocol "srt"). */
static void audit_view(struct rs_srt *t, const struct rs_srt_conn *c)
{
    auth_audit_log *log = t->srv->opt.audit;
    if (!log)
        return;
    struct auth_audit_actor actor = auth_audit_actor_of(c->principal, c->info.client);
    json_t *d = json_pack("{s:s, s:s}", "stream", c->target.stream, "protocol", "srt");
    auth_audit(log, &actor, AUTH_AUDIT_LIVE_STARTED, AUTH_AUDIT_OK, "camera", c->target.camera, d);
    json_decref(d);
}

/* One caller per readiness of the listener (srt_epoll reports it again while more wait). */
static void on_accept(struct rs_srt *t)
{
    struct sockaddr_storage peer;
    int len = sizeof(peer);
    SRTSOCKET sock = srt_accept(t->lsn, (struct sockaddr *)&peer, &len);
    if (sock == SRT_INVALID_SOCK)
        return;
    if (atomic_load(&t->pending) > 0)
        atomic_fetch_sub(&t->pending, 1);
    struct rs_srt_conn *c = horus_calloc(1, sizeof(*c));
    c->srt = t;
    c->sock = sock;
    c->reader_fd = -1;
    addr_text((struct sockaddr *)&peer, c->info.client, sizeof(c->info.client));
    char sid[SRT_STREAMID_MAX + 1] = "";
    int sl = SRT_STREAMID_MAX;
    srt_getsockflag(sock, SRTO_STREAMID, sid, &sl);
    sid[sl >= 0 && sl <= SRT_STREAMID_MAX ? sl : 0] = '\0';
    const char *why = NULL;
    int status = rs_srt_streamid_parse(sid, &c->target, &why) < 0
                     ? 400
                     : rs_access_credential(t->srv, c->info.client, &c->target, &c->principal);
    int rc = status == 0 ? relay_hub_open(t->srv->opt.relay, c->target.camera, c->target.stream,
                                          &(struct relay_reader_options){0}, &c->reader)
                         : -EACCES;
    int in = SRT_EPOLL_IN, err = SRT_EPOLL_ERR;
    if (rc == 0) {
        c->reader_fd = relay_reader_fd(c->reader);
        if (srt_epoll_add_ssock(t->eid, c->reader_fd, &in) < 0 ||
            srt_epoll_add_usock(t->eid, sock, &err) < 0)
            rc = -EIO;
    }
    if (rc != 0) {
        log_info_kv(LOG_KV({"client", c->info.client}, {"camera", c->target.camera}),
                    "srt caller closed: %s",
                    rc == -ENOENT ? "the camera stream is not running" : "not authorised");
        if (rc == -ENOENT)
            count_refused(t, "not_streaming");
        conn_free(t, c);
        return;
    }
    snprintf(c->info.camera, sizeof(c->info.camera), "%s", c->target.camera);
    snprintf(c->info.stream, sizeof(c->info.stream), "%s", c->target.stream);
    snprintf(c->info.user, sizeof(c->info.user), "%s", c->principal->name);
    snprintf(c->info.transport, sizeof(c->info.transport), "srt");
    c->info.is_playing = true;
    c->info.started_unix_ms = clock_realtime_ms(t->srv->opt.clock);
    pthread_mutex_lock(&t->srv->lock);
    c->next = t->conns;
    t->conns = c;
    unsigned n = ++t->nconns;
    pthread_mutex_unlock(&t->srv->lock);
    if (t->m_sessions)
        metrics_gauge_set(t->m_sessions, n);
    log_info_kv(LOG_KV({"client", c->info.client}, {"camera", c->target.camera},
                       {"stream", c->target.stream}, {"user", c->info.user}),
                "srt caller connected");
    audit_view(t, c);
}

static int send_chunk(void *arg, const uint8_t *buf, size_t len)
{
    struct rs_srt_conn *c = arg;
    if (srt_sendmsg2(c->sock, (const char *)buf, (int)len, NULL) == SRT_ERROR)
        return srt_getlasterror(NULL) == SRT_EASYNCSND ? -EAGAIN : -EPIPE;
    c->sent += len;
    return 0;
}

/* A new or changed track; the muxer is remade (from the next keyframe) when it no longer fits. */
static void on_track(struct rs_srt_conn *c, media_stream *st)
{
    media_stream **slot = st->kind == MEDIA_KIND_VIDEO ? &c->video : &c->audio;
    media_stream_unref(*slot);
    *slot = media_stream_ref(st);
    if (c->mux && !rs_ts_mux_has(c->mux, st)) {
        rs_ts_mux_free(c->mux);
        c->mux = NULL;
    }
}

/* Returns why the session must end (a static phrase), or NULL. */
static const char *on_packet(struct rs_srt_conn *c, const media_packet *p)
{
    if (!c->mux) {
        if (!c->video || p->stream->kind != MEDIA_KIND_VIDEO || !p->is_keyframe)
            return NULL;
        char err[128];
        if (rs_ts_mux_new(c->video, c->audio, send_chunk, c, &c->mux, err, sizeof(err)) != 0) {
            log_warn_kv(LOG_KV({"camera", c->target.camera}), "srt: %s", err);
            return "the camera's video cannot go in MPEG-TS";
        }
    }
    int rc = rs_ts_mux_write(c->mux, p);
    if (rc == -EAGAIN) { /* the caller's send buffer is full: on to the next keyframe */
        rs_ts_mux_free(c->mux);
        c->mux = NULL;
        c->skips++;
        pthread_mutex_lock(&c->srt->srv->lock);
        c->info.skips = c->skips;
        pthread_mutex_unlock(&c->srt->srv->lock);
        return NULL;
    }
    return rc == -EPIPE ? "the caller went away" : NULL;
}

#define PUMP_BATCH 64

/* Moves up to PUMP_BATCH events of c's reader into its TS; why the session must end, or NULL. */
static const char *pump_batch(struct rs_srt_conn *c)
{
    for (int i = 0; i < PUMP_BATCH; i++) {
        struct relay_event ev;
        if (relay_reader_next(c->reader, &ev) == 0)
            return NULL;
        const char *why = NULL;
        if (ev.kind == RELAY_EV_STREAM)
            on_track(c, ev.stream);
        else if (ev.kind == RELAY_EV_PACKET)
            why = on_packet(c, ev.packet);
        else if (ev.kind == RELAY_EV_GAP && c->mux) { /* a new timeline: a new TS from a keyframe */
            rs_ts_mux_free(c->mux);
            c->mux = NULL;
        } else if (ev.kind == RELAY_EV_END)
            why = "the camera stream ended";
        relay_event_release(&ev);
        if (why)
            return why;
    }
    return NULL;
}

/* One wake-up of c's reader; the session list's byte count follows once per batch. */
static const char *pump(struct rs_srt_conn *c)
{
    const char *why = pump_batch(c);
    pthread_mutex_lock(&c->srt->srv->lock);
    c->info.bytes = c->sent;
    pthread_mutex_unlock(&c->srt->srv->lock);
    return why;
}

static void *srt_main(void *arg)
{
    struct rs_srt *t = arg;
    while (!atomic_load(&t->srv->is_stopping)) {
        SRTSOCKET rs[64];
        int rn = 64;
        SYSSOCKET ls[64];
        int lsn = 64;
        int n = srt_epoll_wait(t->eid, rs, &rn, NULL, NULL, 500, ls, &lsn, NULL, NULL);
        if (n < 0)
            continue; /* timeout */
        for (int i = 0; i < rn; i++) {
            if (rs[i] == t->lsn) {
                on_accept(t);
                continue;
            }
            struct rs_srt_conn *c = t->conns;
            while (c && c->sock != rs[i])
                c = c->next;
            SRT_SOCKSTATUS st = srt_getsockstate(rs[i]);
            if (c && (st == SRTS_BROKEN || st == SRTS_CLOSED || st == SRTS_NONEXIST))
                conn_end(t, c, "the caller closed the connection");
        }
        for (int i = 0; i < lsn; i++) {
            if (ls[i] == t->wake_fd) {
                uint64_t v;
                if (read(t->wake_fd, &v, sizeof(v)) < 0) {
                    /* drained by an earlier wake-up */
                }
                continue;
            }
            struct rs_srt_conn *c = t->conns;
            while (c && c->reader_fd != ls[i])
                c = c->next;
            const char *why = c ? pump(c) : NULL;
            if (why)
                conn_end(t, c, why);
        }
    }
    while (t->conns)
        conn_end(t, t->conns, "the server stops");
    return NULL;
}

/* "HOST:PORT" into a socket address. */
static int resolve(const char *listen, struct sockaddr_storage *ss, int *len)
{
    char host[RS_HOST_MAX];
    int port;
    if (rs_listen_parse(listen, host, sizeof(host), &port) < 0)
        return -EINVAL;
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    char ps[8];
    snprintf(ps, sizeof(ps), "%d", port);
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host[0] ? host : NULL, ps, &hints, &ai) != 0 || !ai)
        return -EINVAL;
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = (int)ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

int rs_srt_new(struct restream_server *s, struct rs_srt **out, char *err, size_t errsize)
{
    const struct restream_options *o = &s->opt;
    *out = NULL;
    size_t pl = o->srt_passphrase ? strlen(o->srt_passphrase) : 0;
    if (pl != 0 && (pl < 10 || pl > 79)) {
        snprintf(err, errsize, "the passphrase must be 10 to 79 characters");
        return -EINVAL;
    }
    struct sockaddr_storage ss;
    int sslen;
    if (resolve(o->srt_listen, &ss, &sslen) < 0) {
        snprintf(err, errsize, "not a HOST:PORT address");
        return -EINVAL;
    }
    if (g_srt_users++ == 0) {
        srt_startup();
        srt_setloglevel(LOG_ERR);
        srt_setloghandler(NULL, srt_log);
    }
    struct rs_srt *t = horus_calloc(1, sizeof(*t));
    t->srv = s;
    t->eid = -1;
    t->wake_fd = -1;
    t->latency_ms = o->srt_latency_ms > 0 ? (int)o->srt_latency_ms : SRT_DEF_LATENCY_MS;
    t->max_clients = o->srt_max_clients ? o->srt_max_clients : SRT_DEF_MAX_CLIENTS;
    snprintf(t->passphrase, sizeof(t->passphrase), "%s", pl ? o->srt_passphrase : "");
    t->lsn = srt_create_socket();
    bool no = false;
    int rc = t->lsn == SRT_INVALID_SOCK ? -EIO : 0;
    if (rc == 0 &&
        (srt_setsockflag(t->lsn, SRTO_LATENCY, &t->latency_ms, sizeof(t->latency_ms)) < 0 ||
         srt_setsockflag(t->lsn, SRTO_SNDSYN, &no, sizeof(no)) < 0 ||
         srt_setsockflag(t->lsn, SRTO_RCVSYN, &no, sizeof(no)) < 0 ||
         (pl && srt_setsockflag(t->lsn, SRTO_PASSPHRASE, t->passphrase, (int)pl) < 0)))
        rc = -EINVAL;
    if (rc == 0 && srt_bind(t->lsn, (struct sockaddr *)&ss, sslen) < 0) {
        snprintf(err, errsize, "bind: %s", srt_getlasterror_str());
        rc = -EADDRINUSE;
    }
    if (rc == 0 && (srt_listen_callback(t->lsn, on_listen, t) < 0 || srt_listen(t->lsn, 16) < 0)) {
        snprintf(err, errsize, "listen: %s", srt_getlasterror_str());
        rc = -EIO;
    }
    if (rc == 0) {
        t->eid = srt_epoll_create();
        t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        int in = SRT_EPOLL_IN;
        if (t->eid < 0 || t->wake_fd < 0 || srt_epoll_add_usock(t->eid, t->lsn, &in) < 0 ||
            srt_epoll_add_ssock(t->eid, t->wake_fd, &in) < 0)
            rc = -EIO;
    }
    if (rc == 0) {
        struct sockaddr_storage bound;
        int bl = sizeof(bound);
        if (srt_getsockname(t->lsn, (struct sockaddr *)&bound, &bl) == 0)
            t->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                        : ((struct sockaddr_in *)&bound)->sin_port);
    }
    if (rc < 0) {
        if (!err[0])
            snprintf(err, errsize, "%s", srt_getlasterror_str());
        rs_srt_free(t);
        return rc;
    }
    if (o->metrics) {
        t->m_sessions = metrics_series_get(metrics_family_add(
            o->metrics, &(struct metrics_desc){METRICS_GAUGE, "horus_restream_srt_sessions",
                                               "SRT callers receiving a camera stream", NULL, NULL,
                                               0, NULL, NULL}));
        t->f_refused = metrics_family_add(
            o->metrics, &(struct metrics_desc){METRICS_COUNTER, "horus_restream_srt_refused_total",
                                               "SRT callers refused, by reason", "reason", NULL, 0,
                                               NULL, NULL});
    }
    *out = t;
    return 0;
}

int rs_srt_start(struct rs_srt *t)
{
    int rc = horus_thread_start(&t->thread, "srt-srv", srt_main, t);
    if (rc == 0) {
        t->is_started = true;
        log_info("SRT re-stream listening on UDP port %u%s", (unsigned)t->port,
                 t->passphrase[0] ? " (AES, passphrase set)" : "");
    }
    return rc;
}

uint16_t rs_srt_port(const struct rs_srt *t)
{
    return t ? t->port : 0;
}

void rs_srt_stop(struct rs_srt *t)
{
    if (!t || !t->is_started)
        return;
    uint64_t one = 1;
    if (write(t->wake_fd, &one, sizeof(one)) < 0) {
        /* the counter is full: the thread wakes anyway */
    }
    pthread_join(t->thread, NULL);
    t->is_started = false;
}

void rs_srt_free(struct rs_srt *t)
{
    if (!t)
        return;
    rs_srt_stop(t);
    while (t->conns) {
        struct rs_srt_conn *c = t->conns;
        t->conns = c->next;
        conn_free(t, c);
    }
    if (t->eid >= 0)
        srt_epoll_release(t->eid);
    if (t->lsn != SRT_INVALID_SOCK)
        srt_close(t->lsn);
    if (t->wake_fd >= 0)
        close(t->wake_fd);
    memset(t->passphrase, 0, sizeof(t->passphrase));
    free(t);
    if (--g_srt_users == 0)
        srt_cleanup();
}

size_t rs_srt_sessions(struct rs_srt *t, struct restream_session_info *v, size_t cap)
{
    size_t i = 0;
    for (struct rs_srt_conn *c = t ? t->conns : NULL; c && i < cap; c = c->next)
        v[i++] = c->info;
    return i;
}

unsigned rs_srt_count(const struct rs_srt *t)
{
    return t ? t->nconns : 0;
}
