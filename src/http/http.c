/*
 * DESIGN: the HTTP server on libmicrohttpd (MHD) 0.9.75, run with epoll on
 * an internal thread pool. Each pool thread accepts and serves its own
 * connections, so every callback for one connection runs on one thread
 * (named http-N on its first connection) and per-connection state needs no
 * lock. Nothing on the request path takes a lock of ours: routing reads a
 * router frozen before start, metrics are atomics on series pointers cached
 * per route, the error mapper is an atomic pointer in the
 * server's router (each server maps errors its own way).
 *
 * Request life cycle, one struct http_conn per TCP connection with one
 * embedded http_request reused across keep-alive requests (no malloc per
 * request unless the body outgrows the kept buffer or a handler adds
 * headers):
 *   1. URI log callback: MHD hands us the raw request target before it
 *      percent-decodes it in place. We copy the path (up to '?'), start the
 *      clock and make the request MHD's per-request context.
 *   2. First access-handler call (headers read): route, pick the metrics
 *      slot, refuse a Content-Length over the limit with 413 at once (MHD
 *      then closes the connection, which is what we want for a big
 *      upload). Nothing else is queued here: MHD 0.9.75 marks any request
 *      answered in its first call as "discard the rest" and closes the
 *      connection after the reply, which would kill keep-alive.
 *   3. Calls with upload data: append to the body. A chunked body that
 *      passes the limit is drained without being stored (MHD cannot queue
 *      a reply mid-upload); past a further DRAIN_MAX_BYTES we close.
 *   4. The call with *upload_data_size == 0 after the first: dispatch the
 *      handler (or reply 404/405/400/413) and queue the reply. Keep-alive
 *      survives because the whole request has been read.
 *   4b. A handler may defer instead (http_defer.c): the connection is
 *      suspended after the handler returns and the access handler runs
 *      again on resume, which queues the reply another thread stored.
 *   5. Completed callback (also on client abort and shutdown): observe the
 *      duration histogram, count the status, write the access-log line,
 *      reset the request for the next one on this connection.
 * The connection-closed notification frees the http_conn. How many
 * connections may be open, per client address and in all, and how long one
 * may take to send its request headers, is decided in http_conn.c (an
 * accept policy and the http-reap thread; docs/design/0015); the first
 * access-handler call marks a connection busy, the completed callback
 * marks it waiting again.
 *
 * Paths stay percent-encoded for routing and logging; the router decodes
 * only parameter values. Query values are decoded by MHD ('+' is a space).
 *
 * Metrics and the access log (step 5) are written by http_stats.c.
 */
#include "http.h"
#include "http_int.h"

#include "clock.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_MODULE "http"

#define DEFAULT_MAX_BODY_BYTES (1024 * 1024)
#define DEFAULT_IDLE_TIMEOUT_S 30
#define DEFAULT_MAX_CONNECTIONS 1024
#define DEFAULT_HEADER_TIMEOUT_S 10
#define MAX_THREADS 64
#define CONN_MEMORY_BYTES (16 * 1024) /* MHD's per-connection pool: bounds request headers */
#define BODY_KEEP_BYTES (64 * 1024) /* larger body buffers are freed between requests */
#define DRAIN_MAX_BYTES (1024 * 1024) /* chunked body past the limit read and dropped */
#define MHD_LOG_BURST 10 /* libmicrohttpd lines per window before suppressing */
#define MHD_LOG_WINDOW_S 10

/* ---- small helpers ---- */

static int64_t now_ns(void)
{
    return clock_monotonic_ns(clock_system());
}

/* ---- requests ---- */

static void free_reply_headers(http_request *req)
{
    for (unsigned i = 0; i < req->nheaders; i++) {
        free(req->headers[i].name);
        free(req->headers[i].value);
    }
    req->nheaders = 0;
}

static void free_principal(http_request *req)
{
    if (req->principal && req->principal_free)
        req->principal_free(req->principal);
    req->principal = NULL;
    req->principal_free = NULL;
}

static void request_begin(http_request *req, const char *uri)
{
    free_reply_headers(req); /* none unless a previous request was never completed */
    free_principal(req);
    req->state = REQ_HEADERS;
    req->start_ns = now_ns();
    req->method = NULL;
    req->route_rc = -ENOENT;
    req->stats = NULL;
    req->is_replied = false;
    req->status = 0;
    req->bytes = 0;
    req->body_len = 0;
    req->drained = 0;
    req->match.tmpl = NULL;
    req->match.nparams = 0;
    req->deferred = NULL;
    req->client_text = NULL;
    size_t n = strcspn(uri, "?");
    req->is_path_too_long = n > HTTP_MAX_PATH;
    if (n > HTTP_MAX_PATH)
        n = HTTP_MAX_PATH;
    memcpy(req->path, uri, n);
    req->path[n] = '\0';
}

void http_request_set_principal(http_request *req, void *principal, void (*free_cb)(void *))
{
    free_principal(req);
    req->principal = principal;
    req->principal_free = free_cb;
}

void *http_request_principal(const http_request *req)
{
    return req->principal;
}

void http_request_reset(http_request *req)
{
    free_reply_headers(req);
    free_principal(req);
    if (req->body_cap > BODY_KEEP_BYTES) {
        free(req->body);
        req->body = NULL;
        req->body_cap = 0;
    }
    req->body_len = 0;
    http_route_match_release(&req->match);
    req->state = REQ_IDLE;
    req->method = NULL;
}

/* ---- MHD callbacks (Thread: http-N) ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mhd)
{
    struct http_conn *c = http_conn_of(mhd);
    if (!c)
        return NULL;
    request_begin(&c->req, uri);
    return &c->req;
}

static bool is_headroom_path(const http_server *s, const char *path)
{
    for (const char *const *p = s->headroom_paths; p && *p; p++)
        if (strcmp(*p, path) == 0)
            return true;
    return false;
}

struct framing {
    unsigned content_length; /* Content-Length headers seen */
    unsigned transfer_encoding; /* Transfer-Encoding headers seen */
};

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    (void)value;
    struct framing *f = cls;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        f->content_length++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        f->transfer_encoding++;
    return MHD_YES;
}

/*
 * Why the body's framing is ambiguous, or NULL when it is not. A front
 * proxy and MHD could each pick a different header to find the end of the
 * body, and the bytes one of them takes for body the other reads as the
 * next request (request smuggling): refuse both headers together and any
 * repeated Content-Length, even with equal values (docs/design/0017).
 */
static const char *ambiguous_framing(struct MHD_Connection *mhd)
{
    struct framing f = {0};
    MHD_get_connection_values(mhd, MHD_HEADER_KIND, count_framing, &f);
    if (f.content_length > 0 && f.transfer_encoding > 0)
        return "both Content-Length and Transfer-Encoding";
    if (f.content_length > 1)
        return "more than one Content-Length header";
    if (f.transfer_encoding > 1)
        return "more than one Transfer-Encoding header";
    return NULL;
}

/* Whether the request announces a body (a Content-Length over 0, or chunked). */
static bool has_body(struct MHD_Connection *mhd)
{
    const char *cl =
        MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return true;
    return cl && strspn(cl, "0") != strlen(cl);
}

/*
 * Host, Origin and Content-Type (http_guard.c). Returns 1 to go on, or the
 * result of the refusal it queued (0 or a negative code): answered in the
 * first call, so MHD closes the connection without reading the body.
 */
static int guard(http_request *req, const char *method)
{
    http_server *s = req->conn->srv;
    struct MHD_Connection *mhd = req->conn->mhd;
    const char *host = MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!http_guard_host_is_allowed(s->guard, host)) {
        req->state = REQ_DISPATCHED;
        return http_reply_error(req, HORUS_EMISDIRECTED,
                                "Host '%.100s' is not a name of this server; list it in "
                                "server.hostnames to serve it",
                                host);
    }
    if (!http_method_is_state_changing(method))
        return 1;
    const char *origin = MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, "Origin");
    if (origin && !http_guard_origin_is_allowed(s->guard, origin, host)) {
        req->state = REQ_DISPATCHED;
        return http_reply_error(req, -EACCES,
                                "Origin '%.100s' is not this server's origin nor listed in "
                                "server.cors_origins; a page of another origin may not change "
                                "anything here",
                                origin);
    }
    if (req->route_rc == 0 && has_body(mhd)) {
        const char *type =
            MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!http_media_type_is_accepted(req->match.body_types, type)) {
            req->state = REQ_DISPATCHED;
            const char *want = req->match.body_types ? req->match.body_types : "application/json";
            if (!type)
                return http_reply_error(req, HORUS_EMEDIATYPE,
                                        "request body needs Content-Type: %s", want);
            return http_reply_error(req, HORUS_EMEDIATYPE,
                                    "Content-Type '%.100s' is not accepted here; send %s", type,
                                    want);
        }
    }
    return 1;
}

/*
 * Routes the request and answers what can be answered before the body: a
 * body over the limit, ambiguous body framing, a request on a headroom
 * connection, and what the guard refuses (a foreign Host or Origin, a body
 * that is not JSON).
 */
/* The body limit of req: its route's, else the server's. */
static size_t body_limit(const http_request *req)
{
    if (req->route_rc == 0 && req->match.max_body_bytes)
        return req->match.max_body_bytes;
    return req->conn->srv->max_body_bytes;
}

static enum MHD_Result request_headers(http_request *req, const char *method)
{
    http_server *s = req->conn->srv;
    req->method = method;
    req->state = REQ_BODY;
    if (req->is_path_too_long)
        req->route_rc = -EINVAL;
    else
        req->route_rc = http_router_match(s->router, method, req->path, &req->match);
    req->stats = http_stats_for(s, req);
    http_conn_request_started(req->conn);
    http_conn_resolve_client(req);
    if (req->conn->is_headroom && !is_headroom_path(s, req->path)) {
        /* Answered in the first call: MHD closes the connection after the reply. */
        req->state = REQ_DISPATCHED;
        http_reply_header(req, "Retry-After", "1");
        int rc = http_reply_error(req, HORUS_EUNAVAIL,
                                  "the server is at its limit of %u connections; retry later",
                                  s->max_connections);
        return rc == 0 ? MHD_YES : MHD_NO;
    }

    const char *framing = ambiguous_framing(req->conn->mhd);
    if (framing) {
        /* Answered in the first call: MHD closes the connection, the body is never read. */
        req->state = REQ_DISPATCHED;
        http_reply_header(req, "Connection", "close");
        int rc = http_reply_error(req, -EINVAL, "request has %s; refused", framing);
        return rc == 0 ? MHD_YES : MHD_NO;
    }

    int guarded = guard(req, method);
    if (guarded != 1)
        return guarded == 0 ? MHD_YES : MHD_NO;

    const char *cl = MHD_lookup_connection_value(req->conn->mhd, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno == 0 && end != cl && n > body_limit(req)) {
            /* Answering now makes MHD close the connection instead of reading the body. */
            req->state = REQ_DISPATCHED;
            int rc = http_reply_error(req, HORUS_ETOOBIG,
                                      "request body of %llu bytes is over the "
                                      "limit of %zu bytes",
                                      n, body_limit(req));
            return rc == 0 ? MHD_YES : MHD_NO;
        }
        if (errno == 0 && end != cl && n + 1 > req->body_cap) {
            req->body = horus_realloc(req->body, (size_t)n + 1);
            req->body_cap = (size_t)n + 1;
        }
    }
    return MHD_YES;
}

static enum MHD_Result request_body(http_request *req, const char *data, size_t len)
{
    if (req->state == REQ_DRAINING || req->body_len + len > body_limit(req)) {
        req->state = REQ_DRAINING;
        req->drained += len;
        /* Endless chunked uploads are cut off rather than read forever. */
        return req->drained > DRAIN_MAX_BYTES ? MHD_NO : MHD_YES;
    }
    if (req->body_len + len + 1 > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 1024;
        while (cap < req->body_len + len + 1)
            cap *= 2;
        req->body = horus_realloc(req->body, cap);
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    req->body[req->body_len] = '\0';
    return MHD_YES;
}

/*
 * Takes the request's token from the limiter (docs/design/0020). Returns
 * true when it was refused and answered 429. Requests that matched no
 * route draw from the API budget, so scanning for paths costs the same.
 */
static bool rate_limited(http_request *req)
{
    http_server *s = req->conn->srv;
    if (!s->limiter)
        return false;
    enum http_limit_class cls = req->route_rc == 0 ? req->match.limit_class : HTTP_LIMIT_API;
    unsigned retry_s = 0;
    if (http_limiter_take_addr(s->limiter, &req->client, cls, &retry_s) == 0)
        return false;
    char v[16];
    snprintf(v, sizeof(v), "%u", retry_s);
    http_reply_header(req, "Retry-After", v);
    http_reply_error(req, HORUS_ELIMIT, "too many %s requests from %s; retry in %u s",
                     cls == HTTP_LIMIT_MEDIA ? "media" : "API", req->client_text, retry_s);
    return true;
}

/* Routes and runs the handler. Returns true when the request was deferred and suspended. */
static bool dispatch(http_request *req)
{
    http_server *s = req->conn->srv;
    if (req->state == REQ_DRAINING) {
        http_reply_error(req, HORUS_ETOOBIG, "request body is over the limit of %zu bytes",
                         body_limit(req));
        return false;
    }
    if (rate_limited(req))
        return false;
    if (req->route_rc == HORUS_EMETHOD && http_cors_preflight(s->cors, req, req->match.allow))
        return false;
    if (req->route_rc == 0 && s->media_only && !req->match.media_lane) {
        http_reply_error(req, -ENOENT,
                         "%s %s is not served here: this is the media listener "
                         "(server.media_listen); the API is on server.listen",
                         req->method, req->path);
        return false;
    }
    switch (req->route_rc) {
    case 0:
        break;
    case HORUS_EMETHOD:
        http_reply_header(req, "Allow", req->match.allow);
        http_reply_error(req, HORUS_EMETHOD, "method %s is not allowed on %s", req->method,
                         req->path);
        return false;
    case -ENOENT:
        http_reply_error(req, -ENOENT, "no route for %s %s", req->method, req->path);
        return false;
    default:
        if (req->is_path_too_long)
            http_reply_error(req, -EINVAL, "path is longer than %d bytes", HTTP_MAX_PATH);
        else
            http_reply_error(req, -EINVAL, "invalid path %s", req->path);
        return false;
    }
    int rc = http_router_gate(s->router, req, req->match.index);
    if (rc == 0)
        rc = req->match.handler(req, req->match.arg);
    if (req->deferred && !req->is_replied)
        return http_defer_after_handler(req, rc);
    if (req->is_replied)
        return false;
    if (rc < 0) {
        http_reply_error(req, rc, NULL);
        return false;
    }
    log_error("handler for %s %s returned without a reply", req->method, req->match.tmpl);
    http_reply_error(req, -EIO, "handler returned without a reply");
    return false;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *mhd, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
    http_request *req = *req_cls;
    if (!req) {
        /* The URI callback always runs first; this only guards against surprises. */
        struct http_conn *c = http_conn_of(mhd);
        if (!c)
            return MHD_NO;
        req = &c->req;
        request_begin(req, url);
        *req_cls = req;
    }
    switch (req->state) {
    case REQ_IDLE:
    case REQ_HEADERS:
        return request_headers(req, method);
    case REQ_BODY:
    case REQ_DRAINING:
        if (*upload_data_size > 0) {
            size_t n = *upload_data_size;
            *upload_data_size = 0;
            return request_body(req, upload_data, n);
        }
        if (dispatch(req)) {
            req->state = REQ_DEFERRED;
            return MHD_YES;
        }
        req->state = REQ_DISPATCHED;
        return req->status ? MHD_YES : MHD_NO;
    case REQ_DEFERRED:
        /* Resumed: queue the reply another thread stored, or close when the client left. */
        *upload_data_size = 0;
        req->state = REQ_DISPATCHED;
        return http_defer_resumed(req) && req->status ? MHD_YES : MHD_NO;
    case REQ_DISPATCHED:
        break;
    }
    *upload_data_size = 0;
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *mhd, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    http_server *s = cls;
    http_request *req = *req_cls;
    if (!req)
        return;
    *req_cls = NULL;
    /* Requests MHD refused before calling us (header too large) have no method: not ours. */
    if (req->method) {
        double seconds = (double)(now_ns() - req->start_ns) / 1e9;
        if (req->stats && req->status)
            http_stats_record(s, req->stats, req->status, seconds);
        if (s->is_access_log)
            http_access_log(req, seconds, toe);
    }
    http_defer_completed(req);
    http_request_reset(req);
    http_conn_request_done(req->conn);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server *s = cls;
    /*
     * libmicrohttpd 0.9.75 counts options before ours and so always claims
     * the logger "is not the first option"; the logger is first, so drop it.
     */
    if (strstr(fmt, "is not the first option"))
        return;
    /*
     * Once running, MHD reports mostly what clients did (malformed requests,
     * resets), so those lines are debug and rate-limited per server; our own
     * code logs real failures. While starting they explain a failed start.
     */
    enum log_level level = atomic_load(&s->is_starting) ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG;
    if (!log_enabled(level))
        return;
    int64_t now_s = now_ns() / 1000000000;
    int64_t window = atomic_load(&s->mhd_log_window_s);
    if (now_s - window >= MHD_LOG_WINDOW_S &&
        atomic_compare_exchange_strong(&s->mhd_log_window_s, &window, now_s)) {
        atomic_store(&s->mhd_log_count, 0);
        unsigned suppressed = atomic_exchange(&s->mhd_log_suppressed, 0);
        if (suppressed)
            log_at(level, NULL, "libmicrohttpd: %u messages suppressed", suppressed);
    }
    if (atomic_fetch_add(&s->mhd_log_count, 1) >= MHD_LOG_BURST) {
        atomic_fetch_add(&s->mhd_log_suppressed, 1);
        return;
    }
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    log_at(level, NULL, "libmicrohttpd: %s", buf);
}

/* ---- server ---- */

/* Splits "HOST:PORT" / "[V6]:PORT" and resolves HOST. Returns 0 or -EINVAL. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *port;
    bool is_bracketed = listen[0] == '[';
    if (is_bracketed) {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof(host))
            return -EINVAL;
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        if (strchr(host, ':'))
            return -EINVAL; /* IPv6 needs brackets */
        port = colon + 1;
    }
    if (!host[0] || !port[0] || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port))
        return -EINVAL;
    unsigned long p = strtoul(port, NULL, 10);
    if (p > 65535)
        return -EINVAL;

    struct addrinfo hints = {.ai_family = is_bracketed ? AF_INET6 : AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV | (is_bracketed ? AI_NUMERICHOST : 0)};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return -EINVAL;
    int rc = -EINVAL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
            ai->ai_addrlen <= sizeof(*ss)) {
            memset(ss, 0, sizeof(*ss));
            memcpy(ss, ai->ai_addr, ai->ai_addrlen);
            *len = ai->ai_addrlen;
            rc = 0;
            break;
        }
    }
    freeaddrinfo(res);
    return rc;
}

int http_server_new(const struct http_server_options *opt, http_server **out)
{
    if (!opt || !opt->listen)
        return -EINVAL;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int rc = parse_listen(opt->listen, &ss, &len);
    if (rc < 0)
        return rc;
    struct http_cidr *trusted = NULL;
    if (opt->ntrusted_proxies) {
        trusted = horus_calloc(opt->ntrusted_proxies, sizeof(*trusted));
        for (size_t i = 0; i < opt->ntrusted_proxies; i++) {
            if (http_cidr_parse(opt->trusted_proxies[i], &trusted[i]) < 0) {
                free(trusted);
                return -EINVAL;
            }
        }
    }
    http_server *s = horus_calloc(1, sizeof(*s));
    s->listen = horus_strdup(opt->listen);
    s->trusted = trusted;
    s->ntrusted = opt->ntrusted_proxies;
    s->limiter = opt->limiter;
    s->addr = ss;
    s->addr_len = len;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    s->threads = opt->threads ? opt->threads : (ncpu > 0 ? (unsigned)ncpu : 1);
    if (s->threads > MAX_THREADS)
        s->threads = MAX_THREADS;
    s->max_body_bytes = opt->max_body_bytes ? opt->max_body_bytes : DEFAULT_MAX_BODY_BYTES;
    s->idle_timeout_s = opt->idle_timeout_s ? opt->idle_timeout_s : DEFAULT_IDLE_TIMEOUT_S;
    s->max_connections = opt->max_connections ? opt->max_connections : DEFAULT_MAX_CONNECTIONS;
    s->max_connections_per_ip = opt->max_connections_per_ip;
    s->header_timeout_s = opt->header_timeout_s ? opt->header_timeout_s : DEFAULT_HEADER_TIMEOUT_S;
    s->headroom_paths = opt->headroom_paths;
    if (s->max_connections < s->threads)
        s->max_connections = s->threads; /* MHD splits the limit between pool threads */
    s->is_access_log = opt->access_log;
    s->media_only = opt->media_only;
    s->owns_router = opt->router == NULL;
    s->router = opt->router ? opt->router : http_router_new();
    s->cors = http_cors_new(opt->cors_origins, opt->ncors_origins);
    bool has_cert = opt->tls_cert_file && opt->tls_cert_file[0];
    bool has_key = opt->tls_key_file && opt->tls_key_file[0];
    if (has_cert != has_key) {
        log_error("TLS needs both a certificate and a key file; %s is missing",
                  has_cert ? "the key" : "the certificate");
        http_server_free(s);
        return -EINVAL;
    }
    if (has_cert) {
        rc = http_tls_new(opt->tls_cert_file, opt->tls_key_file, &s->tls);
        if (rc < 0) {
            http_server_free(s);
            return rc;
        }
    }
    s->guard = http_guard_new(opt);
    if (opt->metrics)
        http_stats_register(s, opt->metrics);
    *out = s;
    return 0;
}

int http_server_tls_reload(http_server *s)
{
    return s->tls ? http_tls_reload(s->tls) : -ENOENT;
}

bool http_server_is_tls(const http_server *s)
{
    return s->tls != NULL;
}

/* Whether the listen address is a loopback one (127.0.0.0/8, ::1). */
static bool is_loopback(const http_server *s)
{
    if (s->addr.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)&s->addr;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)(const void *)&s->addr;
    return IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
}

http_router *http_server_router(http_server *s)
{
    return s->router;
}

/*
 * Binds a throwaway socket the way MHD will, so that a busy or forbidden
 * address comes back as -errno; MHD itself only says "failed".
 */
static int probe_bind(const http_server *s)
{
    int fd = socket(s->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (s->addr.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    int rc = bind(fd, (const struct sockaddr *)&s->addr, s->addr_len) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int http_server_start(http_server *s)
{
    if (s->daemon)
        return -EALREADY;
    int rc = probe_bind(s);
    if (rc < 0) {
        log_error("listen on '%s': %s", s->listen, horus_strerror(rc));
        return rc;
    }
    http_stats_build_routes(s);
    rc = http_defer_reg_new(&s->defer);
    if (rc < 0) {
        log_error("start the deferred-request watcher: %s", horus_strerror(rc));
        return rc;
    }
    rc = http_stream_reg_new(&s->streams);
    if (rc < 0) {
        log_error("start the stream watcher: %s", horus_strerror(rc));
        http_defer_reg_free(s->defer);
        s->defer = NULL;
        return rc;
    }
    rc = http_limits_start(s);
    if (rc < 0) {
        log_error("start the connection reaper: %s", horus_strerror(rc));
        http_stream_reg_free(s->streams);
        s->streams = NULL;
        http_defer_reg_free(s->defer);
        s->defer = NULL;
        return rc;
    }
    /*
     * Our accept policy enforces the limits (http_conn.c); MHD's own limit,
     * split between the pool threads, is only the hard bound: it leaves room
     * for the headroom and for connections shut down but not yet closed.
     */
    unsigned hard_limit =
        s->max_connections + HTTP_HEADROOM_CONNECTIONS + s->max_connections / 4 + s->threads;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME;
    if (s->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    uint16_t port = ntohs(s->addr.ss_family == AF_INET6
                              ? ((const struct sockaddr_in6 *)(const void *)&s->addr)->sin6_port
                              : ((const struct sockaddr_in *)(const void *)&s->addr)->sin_port);
    /*
     * MHD warns about a pool of one, so the pool option is only passed for
     * two or more. TLS: the certificate comes from http_tls_retrieve at each
     * handshake (so SIGHUP can swap it), the protocols from the priorities.
     */
    if (s->tls) {
        flags |= MHD_USE_TLS;
        rc = http_tls_activate(s->tls);
        if (rc < 0) {
            log_error("listen on '%s': another TLS server runs in this process", s->listen);
            http_limits_free(s);
            http_stream_reg_free(s->streams);
            s->streams = NULL;
            http_defer_reg_free(s->defer);
            s->defer = NULL;
            return rc;
        }
    }
    struct MHD_OptionItem pool[4];
    size_t nopt = 0;
    if (s->threads > 1)
        pool[nopt++] =
            (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)s->threads, NULL};
    if (s->tls) {
        pool[nopt++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_CERT_CALLBACK2, 0, (void *)http_tls_retrieve};
        pool[nopt++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)http_tls_priorities};
    }
    pool[nopt] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    /* The logger goes first so that MHD's own messages about later options reach our log. */
    atomic_store(&s->is_starting, true);
    s->daemon = MHD_start_daemon(
        flags, port, http_conn_accept, s, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&s->addr, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)s->idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT, hard_limit,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY_BYTES, MHD_OPTION_NOTIFY_CONNECTION,
        http_conn_notify, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, s, MHD_OPTION_ARRAY, pool, MHD_OPTION_END);
    atomic_store(&s->is_starting, false);
    if (!s->daemon) {
        log_error("listen on '%s': libmicrohttpd failed to start", s->listen);
        http_tls_deactivate(s->tls);
        http_limits_free(s);
        http_stream_reg_free(s->streams);
        s->streams = NULL;
        http_defer_reg_free(s->defer);
        s->defer = NULL;
        return -EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : port;
    log_info("listening on %s port %u with %u threads (at most %u connections, %u per address, "
             "%u s for request headers)",
             s->listen, s->port, s->threads, s->max_connections, s->max_connections_per_ip,
             s->header_timeout_s);
    if (!s->tls && !is_loopback(s))
        log_warn("listening on %s WITHOUT TLS beyond loopback: passwords, session cookies and "
                 "video cross the network in clear; set server.tls.cert and server.tls.key, or "
                 "listen on 127.0.0.1 behind a TLS proxy",
                 s->listen);
    return 0;
}

unsigned http_server_port(const http_server *s)
{
    return s->port;
}

void http_server_stop(http_server *s)
{
    if (!s || !s->daemon)
        return;
    /* MHD must not find a suspended connection: end every stream, answer every deferred request. */
    http_stream_reg_stop(s->streams);
    http_defer_reg_stop(s->defer);
    http_limits_stop(s);
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    http_tls_deactivate(s->tls);
    http_limits_free(s);
    http_stream_reg_free(s->streams);
    s->streams = NULL;
    http_defer_reg_free(s->defer);
    s->defer = NULL;
    s->port = 0;
}

void http_server_free(http_server *s)
{
    if (!s)
        return;
    http_server_stop(s);
    if (s->owns_router)
        http_router_free(s->router);
    http_cors_free(s->cors);
    http_tls_free(s->tls);
    http_guard_free(s->guard);
    free(s->route_stats);
    free(s->trusted);
    free(s->listen);
    free(s);
}
