/*
 * DESIGN: the life of a TCP connection on the server: the struct http_conn
 * made when libmicrohttpd accepts it and freed when it closes (both
 * notifications run on the connection's pool thread, http-N), the client
 * address for logs, the gauge of open connections, and the limits that
 * keep the server answering under many slow or idle clients
 * (docs/design/0015):
 *
 *   - Every open connection is in one list, oldest first, under the
 *     limits' lock, with its client address and whether it is waiting for
 *     a request's headers (since when) or busy with a request. That last
 *     one is an atomic its own thread stores without the lock, so the
 *     request path takes no lock; an eviction claims it by
 *     compare-exchange.
 *   - Accept policy (http_conn_accept, MHD's accept callback): at
 *     max_connections_per_ip for the client's address, or at
 *     max_connections overall, the oldest connection that is still waiting
 *     for headers (of that address, or of anyone) is shut down to make
 *     room. Only when every connection is busy is the new one refused;
 *     past max_connections, HTTP_HEADROOM_CONNECTIONS more are accepted
 *     for the health paths only (http.c answers others 503). Busy
 *     connections (a handler running, a deferred LL-HLS reload, a long
 *     download, a body being uploaded) are never shut down by this.
 *   - Header timeout: libmicrohttpd's idle timeout restarts on every byte,
 *     so a client that drips one byte every few seconds would hold its
 *     connection forever. The reaper thread (http-reap) shuts down every
 *     connection that has waited longer than header_timeout_s for the
 *     headers of its first request, or idle_timeout_s for a later one.
 *
 * Shutting down is shutdown(2) on MHD's socket, which makes MHD's own
 * thread see the end of the stream and close the connection as usual. It
 * is done under the lock: MHD calls the closed notification, which takes
 * the lock to unlink the connection, before it closes the socket, so the
 * descriptor cannot have been reused. shutdown(2) does not block; it is the
 * one system call made under the lock, and nothing logs under it.
 */
#include "http.h"
#include "http_int.h"

#include "clock.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define LOG_MODULE "http"

#define REAP_INTERVAL_MS 250

enum drop_reason {
    DROP_PER_IP, /* refused: every connection of the address is busy */
    DROP_LIMIT, /* refused: every connection is busy, headroom used */
    DROP_EVICTED, /* a waiting connection shut down to make room */
    DROP_HEADER_TIMEOUT, /* no complete request headers in time */
    NDROP,
};

static const char *const drop_names[NDROP] = {"per_ip_limit", "limit", "evicted", "header_timeout"};

struct http_limits {
    pthread_mutex_t lock; /* guards everything below and the list fields of each http_conn */
    pthread_cond_t wake;
    pthread_t reaper;
    bool is_reaper_running;
    bool is_stopping;
    struct http_conn *head, *tail; /* open connections, oldest first */
    unsigned nconns;
    unsigned nevicted; /* of nconns: shut down, not closed yet */
    unsigned npending; /* admitted by the accept policy, not yet in the list */
    metrics_series *dropped[NDROP]; /* NULL without metrics */
};

static _Thread_local bool is_thread_named;

/*
 * MHD calls the accept policy and then the started notification for the
 * same connection on the same thread, one after the other: the admission
 * travels between them here. Counting it as pending meanwhile keeps two
 * pool threads accepting at once from both taking the last slot.
 */
static _Thread_local bool has_admission;
static _Thread_local bool is_admitted_as_headroom;

static int64_t now_ns(void)
{
    return clock_monotonic_ns(clock_system());
}

/* ---- limits ---- */

static void peer_key(const struct sockaddr *sa, socklen_t len,
                     unsigned char key[HTTP_PEER_KEY_BYTES])
{
    memset(key, 0, HTTP_PEER_KEY_BYTES);
    if (sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa && sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        key[0] = 6;
        memcpy(key + 1, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    }
}

/* The peer key as a struct http_addr, IPv4-mapped IPv6 as IPv4 (as http_addr_parse does). */
static void peer_addr(const unsigned char key[HTTP_PEER_KEY_BYTES], struct http_addr *a)
{
    static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(a, 0, sizeof(*a));
    if (key[0] == 4) {
        a->family = 4;
        memcpy(a->bytes, key + 1, 4);
    } else if (key[0] == 6 && memcmp(key + 1, v4_mapped, sizeof(v4_mapped)) == 0) {
        a->family = 4;
        memcpy(a->bytes, key + 13, 4);
    } else if (key[0] == 6) {
        a->family = 6;
        memcpy(a->bytes, key + 1, 16);
    }
}

static void peer_text(const struct sockaddr *sa, char *buf, size_t size)
{
    const char *ok = NULL;
    if (sa && sa->sa_family == AF_INET)
        ok = inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                       (socklen_t)size);
    else if (sa && sa->sa_family == AF_INET6)
        ok = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                       (socklen_t)size);
    if (!ok)
        snprintf(buf, size, "unknown");
}

/*
 * Shuts c's socket down when it is still waiting since since; MHD closes it
 * on its thread. Returns false when c's headers came in meanwhile (its
 * thread cleared waiting_since_ns without the lock). Called with the lock held.
 */
static bool evict_locked(struct http_limits *l, struct http_conn *c, int64_t since)
{
    if (!atomic_compare_exchange_strong(&c->waiting_since_ns, &since, 0))
        return false;
    c->is_evicted = true;
    l->nevicted++;
    shutdown(c->fd, SHUT_RDWR);
    return true;
}

/*
 * Shuts down the connection waiting longest for headers, of key's address
 * (NULL: anyone's). Returns false when none is waiting.
 */
static bool evict_oldest_locked(struct http_limits *l, const unsigned char *key)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        struct http_conn *best = NULL;
        int64_t best_since = 0;
        for (struct http_conn *c = l->head; c; c = c->next) {
            int64_t since = atomic_load(&c->waiting_since_ns);
            if (c->is_evicted || !since)
                continue;
            if (key && memcmp(c->peer, key, HTTP_PEER_KEY_BYTES) != 0)
                continue;
            if (!best || since < best_since) {
                best = c;
                best_since = since;
            }
        }
        if (!best)
            return false;
        if (evict_locked(l, best, best_since))
            return true;
    }
    return false;
}

static unsigned count_peer_locked(struct http_limits *l, const unsigned char *key)
{
    unsigned n = 0;
    for (struct http_conn *c = l->head; c; c = c->next)
        if (!c->is_evicted && memcmp(c->peer, key, HTTP_PEER_KEY_BYTES) == 0)
            n++;
    return n;
}

static void count_drops(struct http_limits *l, enum drop_reason why, unsigned n)
{
    if (n && l->dropped[why])
        metrics_counter_add(l->dropped[why], (double)n);
}

enum MHD_Result http_conn_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    http_server *s = cls;
    struct http_limits *l = s->limits;
    if (!l)
        return MHD_YES;
    unsigned char key[HTTP_PEER_KEY_BYTES];
    peer_key(addr, addrlen, key);
    int refused = -1;
    unsigned evicted = 0, busy = 0;
    pthread_mutex_lock(&l->lock);
    if (has_admission) {
        /* The previous admission on this thread never started (MHD failed to set it up). */
        l->npending--;
        has_admission = false;
    }
    if (s->max_connections_per_ip) {
        busy = count_peer_locked(l, key);
        if (busy >= s->max_connections_per_ip) {
            if (evict_oldest_locked(l, key)) {
                evicted++;
            } else {
                refused = DROP_PER_IP;
            }
        }
    }
    unsigned live = l->nconns + l->npending - l->nevicted;
    bool is_headroom = false;
    if (refused < 0 && live >= s->max_connections) {
        if (evict_oldest_locked(l, NULL)) {
            evicted++;
        } else if (live >= s->max_connections + HTTP_HEADROOM_CONNECTIONS) {
            refused = DROP_LIMIT;
        } else {
            is_headroom = true;
        }
    }
    if (refused < 0) {
        l->npending++;
        has_admission = true;
        is_admitted_as_headroom = is_headroom;
    }
    pthread_mutex_unlock(&l->lock);

    count_drops(l, DROP_EVICTED, evicted);
    if (evicted)
        log_info_limited("connection evicted", LOG_KV({"reason", "evicted"}),
                         "closed a connection still waiting for request headers to make room "
                         "for a new one (limits: %u per address, %u in all)",
                         s->max_connections_per_ip, s->max_connections);
    if (refused < 0)
        return MHD_YES;
    count_drops(l, (enum drop_reason)refused, 1);
    char text[INET6_ADDRSTRLEN];
    peer_text(addr, text, sizeof(text));
    if (refused == DROP_PER_IP)
        log_warn_limited("connection refused", LOG_KV({"reason", "per_ip_limit"}, {"remote", text}),
                         "refused a connection from %s: its %u connections are all busy "
                         "(server.max_connections_per_ip)",
                         text, busy);
    else
        log_warn_limited("connection refused", LOG_KV({"reason", "limit"}, {"remote", text}),
                         "refused a connection from %s: all %u connections are busy "
                         "(server.max_connections)",
                         text, live);
    return MHD_NO;
}

/*
 * The request path takes no lock: these two only store atomics. An
 * eviction that races with them loses (evict_locked's compare-exchange), or
 * wins just before the headers were read, as if it had come a moment earlier.
 */
void http_conn_request_started(struct http_conn *c)
{
    atomic_store(&c->waiting_since_ns, 0);
}

void http_conn_request_done(struct http_conn *c)
{
    /* Harmless on an evicted connection: the scans skip those. */
    atomic_store(&c->is_kept_alive, true);
    atomic_store(&c->waiting_since_ns, now_ns());
}

static void limits_add(http_server *s, struct http_conn *c)
{
    struct http_limits *l = s->limits;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->mhd, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    peer_key(sa,
             sa && sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                             : sizeof(struct sockaddr_in),
             c->peer);
    peer_addr(c->peer, &c->peer_addr);
    ci = MHD_get_connection_info(c->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
    c->fd = ci ? ci->connect_fd : -1;
    int64_t now = now_ns();
    if (!l || c->fd < 0)
        return;
    pthread_mutex_lock(&l->lock);
    atomic_store(&c->waiting_since_ns, now);
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    if (has_admission) {
        l->npending--;
        has_admission = false;
        c->is_headroom = is_admitted_as_headroom;
    } else {
        c->is_headroom = l->nconns - l->nevicted >= s->max_connections;
    }
    l->nconns++;
    pthread_mutex_unlock(&l->lock);
}

static void limits_remove(http_server *s, struct http_conn *c)
{
    struct http_limits *l = s->limits;
    if (!l || c->fd < 0)
        return;
    pthread_mutex_lock(&l->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    l->nconns--;
    if (c->is_evicted)
        l->nevicted--;
    pthread_mutex_unlock(&l->lock);
}

/* Shuts down the connections that waited too long for request headers. */
static unsigned reap_locked(http_server *s, struct http_limits *l, int64_t now)
{
    unsigned n = 0;
    int64_t header_ns = (int64_t)s->header_timeout_s * 1000000000;
    int64_t idle_ns = (int64_t)s->idle_timeout_s * 1000000000;
    for (struct http_conn *c = l->head; c; c = c->next) {
        int64_t since = atomic_load(&c->waiting_since_ns);
        if (c->is_evicted || !since)
            continue;
        bool is_kept_alive = atomic_load(&c->is_kept_alive);
        if (now - since >= (is_kept_alive ? idle_ns : header_ns) && evict_locked(l, c, since))
            n++;
    }
    return n;
}

static void *reaper_main(void *arg)
{
    http_server *s = arg;
    struct http_limits *l = s->limits;
    pthread_mutex_lock(&l->lock);
    while (!l->is_stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += REAP_INTERVAL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&l->wake, &l->lock, &until);
        if (l->is_stopping)
            break;
        unsigned n = reap_locked(s, l, now_ns());
        if (n == 0)
            continue;
        pthread_mutex_unlock(&l->lock);
        count_drops(l, DROP_HEADER_TIMEOUT, n);
        log_info_limited("header timeout", LOG_KV({"reason", "header_timeout"}),
                         "closed %u connections that sent no complete request headers in time "
                         "(server.header_timeout %u s, server.idle_timeout %u s)",
                         n, s->header_timeout_s, s->idle_timeout_s);
        pthread_mutex_lock(&l->lock);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

int http_limits_start(http_server *s)
{
    struct http_limits *l = horus_calloc(1, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->wake, &ca);
    pthread_condattr_destroy(&ca);
    for (int i = 0; i < NDROP && s->f_dropped; i++)
        l->dropped[i] = metrics_series_get(s->f_dropped, drop_names[i]);
    s->limits = l;
    int rc = horus_thread_start(&l->reaper, "http-reap", reaper_main, s);
    if (rc < 0) {
        http_limits_free(s);
        return rc;
    }
    l->is_reaper_running = true;
    return 0;
}

void http_limits_stop(http_server *s)
{
    struct http_limits *l = s ? s->limits : NULL;
    if (!l || !l->is_reaper_running)
        return;
    pthread_mutex_lock(&l->lock);
    l->is_stopping = true;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->reaper, NULL);
    l->is_reaper_running = false;
}

void http_limits_free(http_server *s)
{
    struct http_limits *l = s ? s->limits : NULL;
    if (!l)
        return;
    http_limits_stop(s);
    pthread_cond_destroy(&l->wake);
    pthread_mutex_destroy(&l->lock);
    free(l);
    s->limits = NULL;
}

/* ---- connections ---- */

static void conn_free(struct http_conn *c)
{
    if (!c)
        return;
    http_request_reset(&c->req);
    free(c->req.body);
    free(c);
}

const char *http_conn_remote(struct http_conn *c)
{
    if (c->remote[0])
        return c->remote;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c->mhd, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const char *ok = NULL;
    if (sa && sa->sa_family == AF_INET)
        ok = inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                       c->remote, sizeof(c->remote));
    else if (sa && sa->sa_family == AF_INET6)
        ok = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                       c->remote, sizeof(c->remote));
    if (!ok)
        snprintf(c->remote, sizeof(c->remote), "unknown");
    return c->remote;
}

/* Collects the X-Forwarded-For lines of a request, the last XFF_MAX_LINES of them. */
#define XFF_MAX_LINES 8

struct xff_lines {
    const char *v[XFF_MAX_LINES];
    size_t n;
};

static enum MHD_Result collect_xff(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct xff_lines *x = cls;
    if (!key || !value || strcasecmp(key, "X-Forwarded-For") != 0)
        return MHD_YES;
    if (x->n == XFF_MAX_LINES) {
        /* The right-most hops matter: keep the last lines. */
        memmove(x->v, x->v + 1, (XFF_MAX_LINES - 1) * sizeof(x->v[0]));
        x->n--;
    }
    x->v[x->n++] = value;
    return MHD_YES;
}

void http_conn_resolve_client(http_request *req)
{
    struct http_conn *c = req->conn;
    http_server *s = c->srv;
    req->client = c->peer_addr;
    req->client_text = NULL;
    if (s->ntrusted && http_cidr_list_match(s->trusted, s->ntrusted, &c->peer_addr)) {
        struct xff_lines x = {.n = 0};
        MHD_get_connection_values(c->mhd, MHD_HEADER_KIND, collect_xff, &x);
        req->client = http_client_addr_resolve(&c->peer_addr, x.v, x.n, s->trusted, s->ntrusted);
        if (memcmp(&req->client, &c->peer_addr, sizeof(req->client)) != 0) {
            http_addr_format(&req->client, req->client_buf, sizeof(req->client_buf));
            req->client_text = req->client_buf;
        }
    }
    if (!req->client_text)
        req->client_text = http_conn_remote(c);
}

static void name_thread(http_server *s)
{
    if (is_thread_named)
        return;
    char name[16];
    snprintf(name, sizeof(name), "http-%u", atomic_fetch_add(&s->next_thread_id, 1));
    horus_thread_set_name(name);
    is_thread_named = true;
}

void http_conn_notify(void *cls, struct MHD_Connection *mhd, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
    http_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        name_thread(s);
        struct http_conn *c = horus_calloc(1, sizeof(*c));
        c->srv = s;
        c->mhd = mhd;
        c->req.conn = c;
        limits_add(s, c);
        *socket_context = c;
        if (s->s_connections)
            metrics_gauge_add(s->s_connections, 1);
        return;
    }
    struct http_conn *c = *socket_context;
    if (c)
        limits_remove(s, c);
    conn_free(c);
    *socket_context = NULL;
    if (s->s_connections)
        metrics_gauge_add(s->s_connections, -1);
}

struct http_conn *http_conn_of(struct MHD_Connection *mhd)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}
