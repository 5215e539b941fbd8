/*
 * Private to src/http/http*.c: the hooks between the server (http.c),
 * deferred replies (http_defer.c), file serving (http_file.c) and CORS
 * (http_cors.c), without exposing libmicrohttpd in http.h. Nothing
 * outside src/http includes this (the build cannot see it from there).
 */
#ifndef HORUS_HTTP_INT_H
#define HORUS_HTTP_INT_H

#include "http.h"
#include "http_limit.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

struct http_defer_reg;
struct http_stream_reg;
typedef struct http_cors http_cors; /* http_cors.c */
typedef struct http_tls http_tls; /* http_tls.c */
typedef struct http_guard http_guard; /* http_guard.c */

/* ---- shared state (http.c, http_conn.c, http_reply.c) ---- */

#define NSTATS_CODES 24 /* stats_codes in http_stats.c */
#define NKNOWN_METHODS 7 /* known_methods in http_stats.c */
#define MAX_REPLY_HEADERS 16

struct http_stats {
    const char *route; /* label value; borrowed from the router or static */
    const char *method; /* label value; borrowed from the router or static */
    _Atomic(metrics_series *) duration;
    _Atomic(metrics_series *) codes[NSTATS_CODES];
};

enum req_state {
    REQ_IDLE, /* between requests */
    REQ_HEADERS, /* request line seen; handler not called yet */
    REQ_BODY, /* first handler call done; reading the body */
    REQ_DRAINING, /* body over the limit; reading and dropping it */
    REQ_DISPATCHED, /* reply queued (or failed to be) */
    REQ_DEFERRED, /* suspended until another thread replies (http_defer.c) */
};

struct reply_header {
    char *name; /* owned */
    char *value; /* owned */
};

struct http_request {
    struct http_conn *conn; /* borrowed: the owner */
    enum req_state state;
    const char *method; /* borrowed from MHD, valid for the request */
    int64_t start_ns;
    int route_rc; /* http_router_match's result */
    struct http_stats *stats;
    bool is_path_too_long;
    bool is_replied;
    unsigned status; /* 0 until a reply is queued */
    size_t bytes; /* body bytes of the reply */
    char *body; /* owned, NUL-terminated; kept between requests up to BODY_KEEP_BYTES */
    size_t body_len;
    size_t body_cap;
    size_t drained;
    unsigned nheaders;
    struct reply_header headers[MAX_REPLY_HEADERS];
    struct http_route_match match;
    struct http_deferred *deferred; /* set by http_request_defer; dropped on completion */
    void *principal; /* owned through principal_free: set by the router's gate */
    void (*principal_free)(void *);
    struct http_addr client; /* http_request_remote: set when the headers are in */
    const char *client_text; /* the conn's remote text, or client_buf */
    char client_buf[INET6_ADDRSTRLEN];
    char path[HTTP_MAX_PATH + 1];
};

/* A client address as the per-address limit compares it: family byte + address. */
#define HTTP_PEER_KEY_BYTES 17

struct http_conn {
    http_server *srv; /* borrowed */
    struct MHD_Connection *mhd; /* borrowed from MHD */
    char remote[INET6_ADDRSTRLEN];
    /* Connection limits (http_conn.c): guarded by the limits' lock unless atomic. */
    struct http_conn *prev, *next; /* in the list of open connections, oldest first */
    unsigned char peer[HTTP_PEER_KEY_BYTES];
    struct http_addr peer_addr; /* the peer's address (IPv4-mapped IPv6 as IPv4) */
    int fd; /* MHD's socket; open until the closed notification returns */
    /* > 0: waiting for a request's headers since then. Written without the lock by c's thread. */
    _Atomic int64_t waiting_since_ns;
    _Atomic bool is_kept_alive; /* has answered a request: waits up to the idle timeout */
    bool is_evicted; /* shut down by the limits; MHD is closing it */
    bool is_headroom; /* accepted past max_connections: health checks only */
    http_request req;
};

struct http_server {
    char *listen; /* owned */
    bool media_only; /* the media lane: routes marked media_lane only */
    bool owns_router; /* false: the router is another server's */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    unsigned threads;
    size_t max_body_bytes;
    unsigned idle_timeout_s;
    unsigned max_connections;
    unsigned max_connections_per_ip; /* 0 = no per-address limit */
    unsigned header_timeout_s;
    const char *const *headroom_paths; /* borrowed from the options; may be NULL */
    struct http_limits *limits; /* owned (http_conn.c), while running */
    bool is_access_log;
    struct http_cidr *trusted; /* owned: trusted_proxies */
    size_t ntrusted;
    http_limiter *limiter; /* borrowed; NULL = no rate limits */
    http_router *router; /* owned */
    http_cors *cors; /* owned; NULL = CORS off (http_cors.c) */
    http_tls *tls; /* owned; NULL = plain HTTP (http_tls.c) */
    http_guard *guard; /* owned: Host, Origin and media type checks (http_guard.c) */
    struct MHD_Daemon *daemon;
    struct http_defer_reg *defer; /* owned: suspended requests, while running */
    struct http_stream_reg *streams; /* owned: streamed replies, while running (http_stream.c) */
    unsigned port;
    _Atomic unsigned next_thread_id;

    metrics_family *f_duration; /* borrowed from the registry */
    metrics_family *f_requests;
    metrics_series *s_connections;
    metrics_family *f_dropped; /* horus_http_connections_dropped_total{reason} */
    struct http_stats *route_stats; /* owned: two per route (its method, HEAD on GET) */
    size_t nroute_stats;
    struct http_stats unmatched[NKNOWN_METHODS + 1];

    _Atomic bool is_starting; /* MHD lines are warnings while starting, debug after */
    _Atomic int64_t mhd_log_window_s;
    _Atomic unsigned mhd_log_count;
    _Atomic unsigned mhd_log_suppressed;
};

/* ---- provided by http.c ---- */

/* Ends a request: frees reply headers and the match, keeps a small body buffer. */
void http_request_reset(http_request *req);

/* The request's deferred handle slot (NULL when not deferred). */
struct http_deferred **http_request_deferred_slot(http_request *req);
struct MHD_Connection *http_request_mhd(const http_request *req);
struct http_defer_reg *http_request_defer_reg(const http_request *req);
/* The server's stream registry (NULL when not running). */
struct http_stream_reg *http_request_stream_reg(const http_request *req);
bool http_request_is_replied(const http_request *req);

/* ---- provided by http_stats.c ---- */

/* Registers the server's metric families and names the unmatched slots. */
void http_stats_register(http_server *s, metrics_registry *reg);
/* Builds the per-route slots; the router is frozen from here on. */
void http_stats_build_routes(http_server *s);
/* The slot of req's route and method, or NULL without metrics. */
struct http_stats *http_stats_for(http_server *s, const http_request *req);
/* Observes a completed request's duration and counts its status. */
void http_stats_record(http_server *s, struct http_stats *st, unsigned status, double seconds);
/* Writes req's access-log line (info level); toe says how it ended. */
void http_access_log(http_request *req, double seconds, enum MHD_RequestTerminationCode toe);

/* ---- provided by http_conn.c (Thread: http-N) ---- */

/* MHD_OPTION_NOTIFY_CONNECTION: makes the struct http_conn, frees it on close. */
void http_conn_notify(void *cls, struct MHD_Connection *mhd, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);

/* The struct http_conn of mhd, or NULL. */
struct http_conn *http_conn_of(struct MHD_Connection *mhd);

/* The TCP peer's address as text ("unknown" when MHD has none); cached in c. */
const char *http_conn_remote(struct http_conn *c);

/*
 * Sets req->client from the peer and, when the peer is a trusted proxy,
 * X-Forwarded-For (http_client_addr_resolve). Thread: the request's.
 */
void http_conn_resolve_client(http_request *req);

/*
 * Connections past max_connections accepted for health checks only: their
 * requests other than these paths get 503.
 */
#define HTTP_HEADROOM_CONNECTIONS 16

/*
 * Makes the connection table and starts the header-timeout reaper thread
 * ("http-reap"). Returns 0 or -errno. Thread: main, before MHD starts.
 */
int http_limits_start(http_server *s);

/* Stops the reaper (before MHD_stop_daemon). Thread: main. */
void http_limits_stop(http_server *s);

/* Frees the table (after MHD_stop_daemon: no connection is left). Thread: main. */
void http_limits_free(http_server *s);

/*
 * MHD_AcceptPolicyCallback: applies max_connections_per_ip and
 * max_connections to a connection MHD has just accepted. At a limit the
 * oldest connection of that address (or of anyone) that is still waiting
 * for request headers is shut down to make room; when there is none the
 * new one is refused, except for HTTP_HEADROOM_CONNECTIONS kept for
 * health checks. Thread: http-N.
 */
enum MHD_Result http_conn_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);

/* The request's headers are in: c is busy, not waiting. Thread: c's. */
void http_conn_request_started(struct http_conn *c);

/* The request is over: c waits for the next one (keep-alive). Thread: c's. */
void http_conn_request_done(struct http_conn *c);

/* ---- provided by http_reply.c ---- */

/* Returns s when it is ASCII, else a copy in buf with invalid UTF-8 replaced by '?'. */
const char *http_utf8_safe(const char *s, char *buf, size_t size);

/* ---- provided by http_watch.c ---- */

/*
 * The watcher of suspended connections (hang-ups) with its thread, shared
 * by http_defer.c and http_stream.c. Embedded in their registries.
 */
struct http_watch {
    int epfd;
    int evfd; /* wakes the thread; its epoll id is 0, so owners' ids count from 1 */
    pthread_t thread;
    bool has_thread;
    atomic_bool is_quitting;
    /* Thread: the watcher's. Before each wait: timed work; returns ms to sleep, -1 = until woken.
     */
    int (*tick)(void *arg);
    /* Thread: the watcher's. The socket added with id hung up (or half-closed). */
    void (*hangup)(void *arg, uint64_t id);
    void *arg;
};

/* Opens the epoll set and starts the thread called name. 0 or -errno; then call http_watch_stop. */
int http_watch_start(struct http_watch *w, const char *name, int (*tick)(void *arg),
                     void (*hangup)(void *arg, uint64_t id), void *arg);
/* Makes the thread call tick again soon. Thread: any. */
void http_watch_wake(struct http_watch *w);
/* Joins the thread and closes the descriptors. Thread: main. */
void http_watch_stop(struct http_watch *w);
/* Suspends mhd and watches fd (if >= 0) for a hang-up reported as id. Thread: mhd's. */
void http_watch_suspend(struct http_watch *w, struct MHD_Connection *mhd, int fd, uint64_t id);
/* Stops watching fd (if >= 0), without resuming. Thread: any. */
void http_watch_unwatch(struct http_watch *w, int fd);
/* Stops watching fd and resumes mhd, which must be suspended. Thread: any. */
void http_watch_resume(struct http_watch *w, struct MHD_Connection *mhd, int fd);
/* The connection's socket, or -1. */
int http_watch_conn_fd(struct MHD_Connection *mhd);

/* ---- provided by http_defer.c ---- */

/*
 * Creates the registry of suspended requests and its watcher thread
 * ("http-defer": client hang-ups and deadlines). Returns 0 or -errno.
 * Thread: main, at server start.
 */
int http_defer_reg_new(struct http_defer_reg **out);

/*
 * Answers every waiting deferred request with 503 (its owner's end_cb is
 * told HTTP_DEFER_SERVER_STOP) and refuses new ones, so that no connection
 * is suspended when MHD stops. Thread: main, before MHD_stop_daemon.
 */
void http_defer_reg_stop(struct http_defer_reg *reg);

/* Joins the watcher and frees reg; after MHD_stop_daemon. NULL is a no-op. */
void http_defer_reg_free(struct http_defer_reg *reg);

/*
 * After the handler of a deferred request returned rc: suspends the
 * connection until the owner replies (returns true), or applies a reply
 * that already arrived / answers rc < 0 at once (returns false).
 * Thread: the connection's.
 */
bool http_defer_after_handler(http_request *req, int rc);

/*
 * The access handler ran again for a resumed request: queues the owner's
 * reply. Returns false when there is nothing to send (the client is gone):
 * the connection is then closed. Thread: the connection's.
 */
bool http_defer_resumed(http_request *req);

/* The request completed (or was aborted): drops the connection's hold. */
void http_defer_completed(http_request *req);

/* ---- provided by http_stream.c ---- */

/* Creates the stream registry and its watcher ("http-stream"). 0 or -errno. Thread: main. */
int http_stream_reg_new(struct http_stream_reg **out);
/*
 * Refuses new streams, ends every open one (HTTP_STREAM_SERVER_STOP) so
 * that no connection stays suspended, and waits a while for them to
 * complete. Thread: main, before MHD_stop_daemon.
 */
void http_stream_reg_stop(struct http_stream_reg *reg);
/* Joins the watcher and frees reg; after MHD_stop_daemon. NULL is a no-op. */
void http_stream_reg_free(struct http_stream_reg *reg);
#include <stdint.h>

struct MHD_Response;

/*
 * Queues resp as the reply (headers from http_reply_header, Content-Type,
 * CORS headers added). Consumes resp, also on failure; NULL resp counts as
 * a failure. len is the body length for the access log and HEAD handling.
 * Returns 0, -EALREADY when already replied (resp destroyed), or -EIO.
 * Thread: the handler's.
 */
int http_reply_mhd(http_request *req, unsigned status, const char *content_type,
                   struct MHD_Response *resp, uint64_t len);

/* ---- request guard (http_guard.c; docs/design/0017) ---- */

/* The allowed names, addresses and origins of a server's options. Thread: main. */
http_guard *http_guard_new(const struct http_server_options *opt);
void http_guard_free(http_guard *g);

/*
 * Whether a Host header names this server: a listed name, a loopback or
 * local interface address (port ignored). NULL (no Host) is allowed.
 */
bool http_guard_host_is_allowed(const http_guard *g, const char *host_header);

/*
 * Whether origin may change things here: same host and port as
 * host_header, the origin of server.public_url, or a listed CORS origin.
 */
bool http_guard_origin_is_allowed(const http_guard *g, const char *origin, const char *host_header);

/* POST, PUT, PATCH, DELETE. */
bool http_method_is_state_changing(const char *method);

/* ---- CORS (http_cors.c) ---- */

/* Copies the origins ("*" or "scheme://host[:port]"). n 0 returns NULL (CORS off). */
http_cors *http_cors_new(const char *const *origins, size_t n);
void http_cors_free(http_cors *c);

/*
 * Adds Access-Control-Allow-Origin (+ Vary: Origin, Expose-Headers) to
 * resp when req's Origin is allowed. c may be NULL (nothing added).
 */
void http_cors_decorate(const http_cors *c, http_request *req, struct MHD_Response *resp);

/*
 * Answers a CORS preflight (OPTIONS with Origin and
 * Access-Control-Request-Method on a path whose routes are listed in allow)
 * with 204 and returns true; returns false, replying nothing, when req is
 * not an allowed preflight. c may be NULL.
 */
bool http_cors_preflight(const http_cors *c, http_request *req, const char *allow);

/* ---- TLS (http_tls.c) ---- */

/* The GnuTLS priority string: TLS 1.3 and 1.2 only, 1.3 preferred. */
extern const char *const http_tls_priorities;

/*
 * Reads and validates the PEM pair (key matches the first certificate).
 * Returns 0, -ENOTSUP when libmicrohttpd lacks TLS, or -errno / -EINVAL
 * (the log names the file and the reason). Thread: main.
 */
int http_tls_new(const char *cert_path, const char *key_path, http_tls **out);
void http_tls_free(http_tls *t);

/* Re-reads both files; a bad pair is logged and the old one stays. Returns 0 or as _new. */
int http_tls_reload(http_tls *t);

/*
 * Makes t the certificate http_tls_retrieve hands out (one TLS server per
 * process: GnuTLS's callback has no user argument). Returns 0 or -EBUSY.
 */
int http_tls_activate(http_tls *t);
void http_tls_deactivate(http_tls *t);

/* MHD_OPTION_HTTPS_CERT_CALLBACK2 (gnutls_certificate_retrieve_function3). Thread: http-N. */
int http_tls_retrieve(gnutls_session_t session, const struct gnutls_cert_retr_st *info,
                      gnutls_pcert_st **certs, unsigned int *ncerts, gnutls_ocsp_data_st **ocsp,
                      unsigned int *nocsp, gnutls_privkey_t *key, unsigned int *flags);

#endif
