/*
 * HTTP server on libmicrohttpd: epoll with a thread pool, a router with
 * path templates ("/api/v1/cameras/{id}"), JSON helpers, one hook that maps
 * internal error codes to HTTP statuses, a request-duration histogram per
 * route template and an access log.
 *
 * A handler is called once per request, after the whole body has arrived,
 * on one of the pool threads (Thread: http-N). It must reply exactly once
 * with one of the http_reply_* functions, or return a negative code, in
 * which case the server replies with http_reply_error(req, rc, NULL). A
 * handler that returns without replying gets a 500 and an error line.
 * Handlers must not block for long: a request whose answer comes later
 * (an LL-HLS blocking reload, a probe run by a worker) is deferred with
 * http_request_defer, which frees the thread until another thread replies.
 *
 * The server itself answers, through the error mapper: -ENOENT "no route
 * for GET /x" (404), HORUS_EMETHOD with an Allow header (405), -EINVAL for
 * a path the router rejects (400), HORUS_ETOOBIG for a body over
 * max_body_bytes (413; a declared Content-Length is refused before the body
 * is read and the connection is closed), -EINVAL with the connection
 * closed for ambiguous body framing (Content-Length with
 * Transfer-Encoding, or either header repeated: request smuggling,
 * docs/design/0017). Requests libmicrohttpd rejects
 * itself (malformed request line, headers over about 16 KiB, bad chunking)
 * get its own short HTML replies and close the connection.
 *
 * Connections are bounded in number, overall and per client address, and
 * in how long they may take to send request headers (see
 * http_server_options); requests on the few connections kept past the
 * limit for health checks get 503 "unavailable" with Retry-After: 1.
 */
#ifndef HORUS_HTTP_H
#define HORUS_HTTP_H

#include "metrics.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct http_server http_server;
typedef struct http_request http_request;
typedef struct http_router http_router;

typedef int (*http_handler_cb)(http_request *req, void *arg);

/* ---- router (no sockets; unit-testable) ---- */

#define HTTP_MAX_PARAMS 8
#define HTTP_MAX_PATH 2048 /* bytes of path (no query) the router accepts */

/*
 * Which rate-limit budget a route's requests draw from (http_limit.h).
 * Routes are HTTP_LIMIT_API unless http_router_set_limit_class says
 * otherwise; requests that match no route count as API requests.
 */
enum http_limit_class {
    HTTP_LIMIT_API, /* the per-address API budget (and the per-principal one) */
    HTTP_LIMIT_MEDIA, /* the per-address media budget: playlists, parts, recorded files */
    HTTP_LIMIT_EXEMPT, /* never limited (health checks) */
};
#define HTTP_LIMIT_NCLASSES 2 /* classes with a budget */

/*
 * The result of http_router_match. Strings are borrowed from the router
 * (valid while it lives) or stored in the match itself, so a match needs no
 * heap and may live on the stack.
 */
struct http_route_match {
    http_handler_cb handler;
    void *arg;
    const char *tmpl; /* borrowed from the router: the metric and log label */
    const char *method; /* the route's method, borrowed: "GET" when HEAD is served by GET */
    size_t index; /* the route's position, as in http_router_route_at */
    enum http_limit_class limit_class; /* the route's, from http_router_set_limit_class */
    bool media_lane; /* served on a media listener too (http_router_set_media_lane) */
    unsigned nparams;
    struct {
        const char *name; /* borrowed from the router */
        char *value; /* owned by the match (points into storage); percent-decoded */
    } params[HTTP_MAX_PARAMS];
    char allow[64]; /* on HORUS_EMETHOD: "GET, HEAD, POST" for the Allow header */
    /* Media types the route takes as a body, borrowed from the router; NULL = application/json. */
    const char *body_types;
    size_t
        max_body_bytes; /* the route's body limit (http_router_set_body_limit); 0 = the server's */
    /* private */
    char storage[HTTP_MAX_PATH + HTTP_MAX_PARAMS];
};

/* Returns a new, empty router. */
http_router *http_router_new(void);
void http_router_free(http_router *r);

/*
 * Adds method + tmpl. tmpl starts with '/' and has no empty segments and no
 * trailing slash ("/" alone is the root). Segments in braces ("{id}") match
 * one non-empty path segment; other segments match byte for byte against
 * the raw (still percent-encoded) path. Strings are copied.
 * Returns 0, -EEXIST for a duplicate method + template shape (parameter
 * names do not count), -EINVAL for a malformed method or template (empty or
 * "."/".." segments, '%', '?', '#', stray braces, more than HTTP_MAX_PARAMS
 * parameters, a parameter name twice). Thread: setup only, before the
 * router is shared.
 */
int http_router_add(http_router *r, const char *method, const char *tmpl, http_handler_cb cb,
                    void *arg);

/*
 * Adds a catch-all route: tmpl is one parameter at the root ("/{path}").
 * It is matched last, by paths that no template of any method matches
 * and that lie under no reserved prefix (http_router_reserve), with the
 * whole path after its first '/' as the parameter, percent-decoded ("%2F"
 * gives '/'); a decoded "." or ".." segment makes the match -EINVAL. HEAD
 * falls back to GET; another method gets HORUS_EMETHOD with its Allow
 * list. It is listed by http_router_route_at like any route (the gate and
 * the OpenAPI document see it). Returns 0, -EEXIST for a second catch-all
 * of the method, -EINVAL for another template shape. Thread: setup only.
 * (The web UI: every path that is not the API's is a page of the app.)
 */
int http_router_add_catch_all(http_router *r, const char *method, const char *tmpl,
                              http_handler_cb cb, void *arg);

/*
 * Reserves a prefix ("/api": the path itself and everything under
 * "/api/") that catch-all routes never answer: there, an unknown path
 * stays -ENOENT. prefix starts with '/' and does not end with one.
 * Returns 0 or -EINVAL. Thread: setup only.
 */
int http_router_reserve(http_router *r, const char *prefix);

/*
 * Sets the rate-limit class of every route (any method) registered with
 * exactly the template tmpl. Returns 0, or -ENOENT when no route has it.
 * Thread: setup only, like http_router_add.
 */
int http_router_set_limit_class(http_router *r, const char *tmpl, enum http_limit_class cls);

/*
 * Marks every route (any method) with exactly the template tmpl as one a
 * media listener serves (http_server_options.media_only): live and
 * recorded video, WHEP, health checks. Returns 0, or -ENOENT when no route
 * has it. Thread: setup only.
 */
int http_router_set_media_lane(http_router *r, const char *tmpl);

/*
 * Matches method and the raw path (no query string). Literal segments win
 * over parameters; when a literal branch does not lead to a route the
 * parameter branch is tried. A trailing slash or an empty segment is part of
 * the path: "/api/v1/cameras/" does not match "/api/v1/cameras". HEAD falls
 * back to the GET route of the same template.
 * Returns 0 and fills m (parameter values percent-decoded); -ENOENT when no
 * template matches the path; HORUS_EMETHOD when templates match the path
 * but none has the method (m->allow lists the methods, GET implying HEAD);
 * -EINVAL for a path that is empty, does not start with '/', is longer than
 * HTTP_MAX_PATH, has a "." or ".." segment, or whose matched parameter has
 * an invalid escape, "%00", or decodes to "." or "..". Release m with
 * http_route_match_release in every case. Thread: any (the router is
 * read-only here).
 */
int http_router_match(const http_router *r, const char *method, const char *path,
                      struct http_route_match *m);
void http_route_match_release(struct http_route_match *m);

/*
 * Sets the media types a route takes as a request body, a comma-separated
 * list ("application/json, application/octet-stream"), copied; NULL or ""
 * restores the default, application/json only. State-changing requests
 * with a body of another type get 415 (docs/design/0017). Returns 0 or
 * -ENOENT when no route has this method and template. Thread: setup only.
 */
int http_router_set_body_types(http_router *r, const char *method, const char *tmpl,
                               const char *types);

/*
 * Sets the largest body the route method + tmpl takes, in place of the
 * server's max_body_bytes (larger or smaller: an image upload needs more
 * than a JSON document); 0 restores the server's. Returns 0 or -ENOENT
 * when no route has this method and template. Thread: setup only.
 */
int http_router_set_body_limit(http_router *r, const char *method, const char *tmpl,
                               size_t max_body_bytes);

/*
 * Whether content_type (a Content-Type header, parameters allowed) is one
 * of the comma-separated types (NULL = "application/json"); case-insensitive.
 */
bool http_media_type_is_accepted(const char *types, const char *content_type);

/* Iterates registered routes in order (OpenAPI coverage tests). Returns false past the end. */
bool http_router_route_at(const http_router *r, size_t i, const char **method, const char **tmpl);

/* ---- client addresses (http_addr.c; pure, unit-tested and fuzzed) ---- */

/* An IP address in binary: IPv4-mapped IPv6 addresses are stored as IPv4. */
struct http_addr {
    uint8_t family; /* 4 or 6; 0 = none (unknown) */
    uint8_t bytes[16]; /* network order; IPv4 uses the first 4 */
};

/* A network: the addresses whose first prefix_bits bits equal addr's. */
struct http_cidr {
    struct http_addr addr; /* bits past the prefix are zero */
    uint8_t prefix_bits; /* 0..32 for IPv4, 0..128 for IPv6 */
};

/* Hops of X-Forwarded-For examined, right to left, before giving up. */
#define HTTP_XFF_MAX_HOPS 32

/*
 * Parses an IPv4 ("192.0.2.1") or IPv6 ("2001:db8::1") literal of len
 * bytes, nothing around it. Returns 0 or -EINVAL. Pure; Thread: any.
 */
int http_addr_parse(const char *s, size_t len, struct http_addr *out);

/* Writes a as text ("192.0.2.1", "::1"; "unknown" for family 0) into buf (>= 46 bytes). */
void http_addr_format(const struct http_addr *a, char *buf, size_t size);

/*
 * Parses "ADDR/BITS" or a bare address (a host: /32 or /128). Host bits
 * past the prefix are cleared. Returns 0 or -EINVAL. Pure; Thread: any.
 */
int http_cidr_parse(const char *s, struct http_cidr *out);

/* Whether a lies in any of the n networks of list. Pure; Thread: any. */
bool http_cidr_list_match(const struct http_cidr *list, size_t n, const struct http_addr *a);

/*
 * The client address of a request that came from peer, given its
 * X-Forwarded-For header lines (nvalues, in the order received; may be 0).
 * When peer is not in trusted, the header is ignored and the answer is
 * peer. Otherwise the hops are read right to left (across the lines) and
 * the answer is the first hop that is not itself in trusted. A hop is an
 * address with optional spaces around it, an IPv4 "ADDR:PORT", or
 * "[IPV6]" / "[IPV6]:PORT". An unparsable hop, or more than
 * HTTP_XFF_MAX_HOPS hops, ends the walk at the last trusted address seen
 * (the proxy that passed the bad value on); a chain of only trusted hops
 * gives its left-most one. Pure; Thread: any.
 */
struct http_addr http_client_addr_resolve(const struct http_addr *peer, const char *const *values,
                                          size_t nvalues, const struct http_cidr *trusted,
                                          size_t ntrusted);

/* ---- errors ---- */

struct http_error_map {
    unsigned status; /* 404 */
    const char *code; /* "not_found"; static storage */
    unsigned retry_after_s; /* > 0: the reply says Retry-After (a condition that passes) */
};

/*
 * Sets the function that maps internal codes to HTTP statuses for the
 * replies of requests routed by r (api/errors.c); NULL restores the
 * default. Before it is set every error maps to 500 "internal". map_cb
 * must be fast and thread-safe. Thread: any, normally main before the
 * server starts.
 */
void http_router_set_error_mapper(http_router *r, struct http_error_map (*map_cb)(int rc));

/*
 * What r's mapper says for rc; 500 "internal" without a mapper or when it
 * answers a status outside 100..599. Thread: any.
 */
struct http_error_map http_router_map_error(const http_router *r, int rc);

/* ---- the gate: who may call a route ---- */

/*
 * Runs after routing and before the handler of every matched request
 * (route_index as in http_router_route_at), with the body read. It decides
 * whether the request may proceed: 0 runs the handler; otherwise the gate
 * has replied itself (401, 403, 404) or returns a negative code the server
 * replies with through the error mapper, and the handler is not called.
 * It may attach the caller's identity with http_request_set_principal.
 * Must be fast and thread-safe. Thread: http-N.
 */
typedef int (*http_gate_cb)(http_request *req, size_t route_index, void *arg);

/* Sets r's gate (NULL: none). Thread: any, normally main before the server starts. */
void http_router_set_gate(http_router *r, http_gate_cb gate, void *arg);

/*
 * Runs r's gate for req (0 without a gate). Returns 0 to go on, or the
 * gate's negative code (a positive one becomes HORUS_EAUTH). Thread: http-N.
 */
int http_router_gate(const http_router *r, http_request *req, size_t route_index);

/*
 * Attaches the authenticated caller to req (opaque to http: the auth
 * module's struct auth_principal), stealing it: free_cb(principal) runs
 * when the request ends (also a deferred one) or when another replaces it.
 * Thread: the handler's (the gate's).
 */
void http_request_set_principal(http_request *req, void *principal, void (*free_cb)(void *));
/* The principal the gate attached, borrowed until the request ends; NULL when none. */
void *http_request_principal(const http_request *req);

/* ---- server ---- */

struct http_server_options {
    const char *listen; /* "HOST:PORT", "[::1]:PORT"; port 0 picks a free one. Copied */
    /*
     * The media lane (docs/design/0059): with media_only, the server answers
     * only the routes marked by http_router_set_media_lane; any other
     * route gets 404 naming the lane. Its connections are counted in
     * horus_http_media_connections (and ..._dropped_total), apart from the
     * API listener's. router: another server's router to share (borrowed:
     * it must outlive this server), so that routes, gate and error mapper
     * are registered once; NULL = a router of its own.
     */
    bool media_only;
    http_router *router;
    unsigned threads; /* pool size; 0 = number of CPUs */
    size_t max_body_bytes; /* larger bodies get 413; 0 = 1 MiB */
    unsigned idle_timeout_s; /* keep-alive idle timeout; 0 = 30 */
    /*
     * Connection limits. At max_connections (0 = 1024) open connections,
     * or max_connections_per_ip (0 = none) from one client address, a new
     * connection closes the oldest one of them (the address's) that is
     * still waiting for request headers; when every one is busy, the new
     * one is closed at once. Past max_connections, 16 more connections are
     * kept for headroom_paths and get 503 for anything else. A connection
     * that has not sent complete request headers header_timeout_s (0 = 10)
     * after it opened, or idle_timeout_s after its previous request, is
     * closed, however slowly it keeps sending.
     */
    unsigned max_connections;
    unsigned max_connections_per_ip;
    unsigned header_timeout_s;
    /* Paths served on headroom connections ("/health"); NULL-terminated, borrowed; NULL = none. */
    const char *const *headroom_paths;
    bool access_log; /* one info line per request, module "access" */
    metrics_registry *metrics; /* borrowed; must outlive the server; NULL disables metrics */
    /*
     * CORS: origins allowed to read replies ("*" = any, without
     * credentials; else "scheme://host[:port]" compared exactly). Copied;
     * none = CORS off. Replies to an allowed Origin carry
     * Access-Control-Allow-Origin and Access-Control-Expose-Headers
     * (Content-Range, Accept-Ranges, Content-Length, ETag, Location); with
     * a list, every reply carries "Vary: Origin". Preflights (OPTIONS with
     * Origin and Access-Control-Request-Method) on any routed path get 204
     * with the path's methods, the requested headers and a 10 min max-age.
     */
    const char *const *cors_origins;
    size_t ncors_origins;
    /*
     * Proxies whose X-Forwarded-For is believed (http_request_remote):
     * networks as http_cidr_parse reads them; copied. None = the peer is
     * the client. An invalid entry fails http_server_new with -EINVAL.
     */
    const char *const *trusted_proxies;
    size_t ntrusted_proxies;
    /*
     * Rate limits (http_limit.h) taken for every request before its
     * handler; a refused request gets 429 with Retry-After. Borrowed: must
     * outlive the server. NULL = none.
     */
    struct http_limiter *limiter;
    /*
     * TLS: PEM files of the certificate chain (server first) and its
     * private key, both or neither (NULL or "" = plain HTTP). Read at
     * http_server_new and again by http_server_tls_reload. TLS 1.2 and 1.3
     * only; replies carry Strict-Transport-Security. Copied.
     */
    const char *tls_cert_file;
    const char *tls_key_file;
    /*
     * Host check against DNS rebinding (docs/design/0017): a request whose
     * Host header (port ignored) is none of hostnames, the host of
     * public_url or of listen, "localhost"/"*.localhost", this machine's
     * name (and NAME.local), a loopback address or an address of a local
     * interface gets 421 and its connection is closed. Entries are names,
     * "*.suffix" patterns or IP literals; copied. public_url
     * ("https://nvr.example.com[:port][/path]", NULL or "" for none) also
     * counts as this server's origin for the Origin check of
     * state-changing requests.
     */
    const char *const *hostnames;
    size_t nhostnames;
    const char *public_url;
};

/* Whether s is a valid hostnames entry: a name, "*.name", or an IP literal ("[v6]" or bare). */
bool http_hostname_is_valid(const char *s);

/* Whether s is a valid cors_origins entry: "*" or "http[s]://host[:port]" in lower case. */
bool http_cors_origin_is_valid(const char *s);

/*
 * Creates a server (not yet listening) and registers its metric families.
 * HOST is an IPv4 or IPv6 literal, or a name resolved once here
 * ("localhost"). With TLS files, reads and checks them here. Returns 0,
 * or with *out untouched: -EINVAL (bad listen address; only one of the two
 * TLS files; a certificate or key that does not parse or match), -errno
 * reading a TLS file, or -ENOTSUP (libmicrohttpd without TLS); the log
 * names the file and the reason. Thread: main.
 */
int http_server_new(const struct http_server_options *opt, http_server **out);

/*
 * Re-reads the TLS certificate and key files (SIGHUP). Connections already
 * open keep the certificate they were made with; new ones get the new
 * pair. A file that is missing or unreadable, or a key that does not match
 * the certificate, is logged with its reason and the previous pair stays.
 * Returns 0, -EINVAL / -errno on such a failure, or -ENOENT when the
 * server has no TLS. Thread: main.
 */
int http_server_tls_reload(http_server *s);

/* Whether s serves TLS. Thread: any. */
bool http_server_is_tls(const http_server *s);

/* The router requests go through; add routes before http_server_start. Borrowed. */
http_router *http_server_router(http_server *s);

/*
 * Binds and starts the pool. Returns 0, -EADDRINUSE, -EACCES,
 * -EADDRNOTAVAIL, -EALREADY when started, or -EIO when libmicrohttpd fails
 * for another reason (its log says why). Thread: main.
 */
int http_server_start(http_server *s);

/* The bound port (after start), useful when listen asked for port 0; 0 before start. */
unsigned http_server_port(const http_server *s);

/*
 * Stops accepting, closes connections (in-flight handlers finish first),
 * joins the pool. Idempotent. Thread: main, never a handler.
 */
void http_server_stop(http_server *s);
/* Stops the server if needed and frees it. NULL is a no-op. */
void http_server_free(http_server *s);

/* ---- request accessors (borrowed until the handler returns; Thread: the handler's) ---- */

const char *http_request_method(const http_request *req);
/* The path as received: still percent-encoded, without the query string. */
const char *http_request_path(const http_request *req);
/* The matched template ("/api/v1/cameras/{id}"). */
const char *http_request_route(const http_request *req);
/* A path parameter, percent-decoded; NULL when the template has no such name. */
const char *http_request_param(const http_request *req, const char *name);
/*
 * A query parameter, decoded ('+' is a space); "" when present without a
 * value ("?flag"), NULL when absent. With repeated keys the first wins.
 */
const char *http_request_query(const http_request *req, const char *name);
/*
 * Every value of a repeated query parameter ("?camera=a&camera=b"), in
 * order, into out (borrowed like http_request_query's). Returns how many
 * there are, which may exceed max (only max are stored).
 */
size_t http_request_query_all(const http_request *req, const char *name, const char **out,
                              size_t max);
/*
 * The query string rebuilt from the decoded parameters (percent-encoded
 * again, in the order received, without the '?'), leaving out every
 * parameter named skip (NULL: none), into out. Returns its length, or
 * -ENOSPC when it does not fit in cap. For a redirect that keeps the
 * request's parameters.
 */
int http_request_query_encode(const http_request *req, const char *skip, char *out, size_t cap);
/* A request header, name case-insensitive; NULL when absent. */
const char *http_request_header(const http_request *req, const char *name);
/* The body (NUL-terminated for convenience, "" when empty); *len gets its length. */
const char *http_request_body(const http_request *req, size_t *len);
/*
 * The client's IP address as text ("127.0.0.1", "::1"): the peer's, or,
 * when the peer is one of the server's trusted_proxies, the one
 * X-Forwarded-For names (http_client_addr_resolve). The one notion of
 * "client address" for limits, logs and audit.
 */
const char *http_request_remote(const http_request *req);
/* The same address in binary. */
const struct http_addr *http_request_client_addr(const http_request *req);
/* The TCP peer's address as text, whatever X-Forwarded-For says. */
const char *http_request_peer(const http_request *req);
/* Whether req came over TLS (cookies get the Secure attribute then). */
bool http_request_is_tls(const http_request *req);

/*
 * Parses the body as a JSON object into a new reference. The Content-Type
 * is not checked (curl -d sends form encoding). On failure (empty body,
 * syntax error, duplicate key, not an object) replies with
 * http_reply_error(HORUS_EPARSE) naming line:column and the reason, and
 * returns HORUS_EPARSE, so the handler just returns it.
 */
int http_request_json(http_request *req, json_t **out);

/* ---- replies ---- */

/*
 * Each returns 0, -EALREADY when the request already has a reply, or -EIO
 * when libmicrohttpd could not queue it (the connection is closed). HEAD
 * requests get the headers only. application/json replies carry
 * "Cache-Control: no-store" unless the handler set Cache-Control itself.
 */

/* Copies body. */
int http_reply(http_request *req, unsigned status, const char *content_type, const void *body,
               size_t len);
/* Steals body (freed with free()), also on failure. */
int http_reply_owned(http_request *req, unsigned status, const char *content_type, char *body,
                     size_t len);
/* Steals the reference to json, also on failure. */
int http_reply_json(http_request *req, unsigned status, json_t *json);
/*
 * Replies {"error": {"code", "message"}} with the status and code from the
 * error mapper. fmt NULL uses horus_strerror(rc). Messages are cut at 1 KiB;
 * bytes that are not UTF-8 become '?'.
 */
int http_reply_error(http_request *req, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Replies with body borrowed: it must stay valid until free_cb(free_arg)
 * is called, exactly once, from any thread, also when this fails (a
 * refcounted buffer served without a copy). free_cb may be NULL.
 */
int http_reply_borrowed(http_request *req, unsigned status, const char *content_type,
                        const void *body, size_t len, void (*free_cb)(void *), void *free_arg);
/*
 * Adds a header to the reply being built (copied); call before http_reply*.
 * A Content-Type given here is overridden by the reply's. At most 16.
 */
void http_reply_header(http_request *req, const char *name, const char *value);

/* ---- deferred replies (suspended requests) ---- */

/*
 * A request whose reply comes later, from any thread. While it waits its
 * connection is suspended: no thread is held, and an "http-defer" watcher
 * notices the client hanging up and the deadline passing. Keep-alive
 * continues after the reply; the access log and the duration histogram
 * record the request when it completes (duration includes the wait).
 */
typedef struct http_deferred http_deferred;

/* Why a deferred request ended without its owner's reply. */
enum http_defer_end {
    HTTP_DEFER_CLIENT_GONE, /* the client closed the connection; nothing is sent */
    HTTP_DEFER_TIMEOUT, /* the deadline passed; the client got 503 "unavailable" */
    HTTP_DEFER_SERVER_STOP, /* the server is stopping; the client got 503 */
};

typedef void (*http_defer_end_cb)(http_deferred *d, enum http_defer_end why, void *arg);

/*
 * Detaches req from its handler, which then returns 0 without replying.
 * Headers added with http_reply_header before this call go out with the
 * reply. timeout_ms > 0 sets a deadline after which the server answers 503
 * itself; 0 waits until the owner replies or the client leaves.
 *
 * end_cb (may be NULL) is called at most once, when the request ends
 * without the owner's reply (enum http_defer_end says why), on the
 * http-defer thread or the thread calling http_server_stop, with no lock
 * of the server held; it may call http_deferred_* functions.
 *
 * Returns a new handle, which the owner gives back exactly once by calling
 * http_deferred_reply, _reply_borrowed, _reply_error or _release (also
 * after end_cb). A handler that defers and then returns a negative code
 * gets that error as the reply (give the handle back before returning).
 * Returns NULL, and the handler replies itself, when req
 * already has a reply, is already deferred, or the server is stopping.
 * Thread: the handler's.
 */
http_deferred *http_request_defer(http_request *req, unsigned timeout_ms, http_defer_end_cb end_cb,
                                  void *arg);

/*
 * Each queues the reply of d and resumes its connection, and gives the
 * handle back (d must not be used afterwards). Returns 0, or -ECANCELED
 * when the request already ended (client gone, deadline passed, server
 * stopping): nothing is sent. Thread: any.
 */
/* Copies body. */
int http_deferred_reply(http_deferred *d, unsigned status, const char *content_type,
                        const void *body, size_t len);
/* Body borrowed as in http_reply_borrowed: free_cb(free_arg) is called exactly once. */
int http_deferred_reply_borrowed(http_deferred *d, unsigned status, const char *content_type,
                                 const void *body, size_t len, void (*free_cb)(void *),
                                 void *free_arg);
/* As http_reply_error (status and code from the error mapper). */
int http_deferred_reply_error(http_deferred *d, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Gives d back without a reply. A request still waiting gets 500 "no
 * reply" (owners normally call this after end_cb). Thread: any.
 */
void http_deferred_release(http_deferred *d);
/*
 * Adds a header (copied) to d's coming reply; before the reply call, by
 * the owner. At most 16 in all. Thread: any (the owner's).
 */
void http_deferred_header(http_deferred *d, const char *name, const char *value);
/* ---- streamed replies (http_stream.c; docs/design/0042) ---- */

/*
 * A reply whose body is written over time by any thread (Server-Sent
 * Events): a chunked 200 that stays open. No thread waits for the client:
 * while nothing is buffered the connection is suspended, and an
 * "http-stream" watcher notices hang-ups and writes keep-alives. Each
 * stream buffers at most buffer_bytes; a write that does not fit cuts the
 * client off (HTTP_STREAM_OVERFLOW). Connection limits apply as to any
 * request. The reply carries Cache-Control: no-store.
 */
typedef struct http_stream http_stream;

/* Why a stream ended. */
enum http_stream_end {
    HTTP_STREAM_CLOSED, /* the owner closed it: the body ended cleanly */
    HTTP_STREAM_CLIENT_GONE, /* the client hung up (or the connection failed) */
    HTTP_STREAM_OVERFLOW, /* the client read too slowly: cut off */
    HTTP_STREAM_SERVER_STOP, /* the server is stopping: the body ended cleanly */
};

/*
 * Called once when the request is over (the client has what it will get),
 * with the reason of the first end, on the connection's thread or the
 * thread stopping the server, no lock of the server held. The owner then
 * gives its handle back with http_stream_release (it may do so here).
 */
typedef void (*http_stream_end_cb)(http_stream *st, enum http_stream_end why, void *arg);

struct http_stream_options {
    size_t buffer_bytes; /* bytes buffered for a slow client; 0 = 64 KiB */
    unsigned keepalive_ms; /* write keepalive after this long without a write; 0 = never */
    const char *keepalive; /* the keep-alive bytes (": ping\n\n"); copied */
    http_stream_end_cb end_cb; /* may be NULL */
    void *arg;
};

/*
 * Replies status with a body streamed through *out. Headers added with
 * http_reply_header go out with it. Returns 0 with a new handle, or
 * -EALREADY (already replied), -ESHUTDOWN (the server is stopping),
 * -ENOMEM, -EIO: *out NULL, end_cb never called. Thread: the handler's.
 */
int http_reply_stream(http_request *req, unsigned status, const char *content_type,
                      const struct http_stream_options *o, http_stream **out);

/*
 * Appends len bytes (copied) to the body; never blocks. Returns 0, -ENOBUFS
 * when they do not fit (the client is cut off: HTTP_STREAM_OVERFLOW), or
 * -EPIPE once the stream has ended. Thread: any.
 */
int http_stream_write(http_stream *st, const void *data, size_t len);

/* Ends the body once what is buffered has gone out. Thread: any. */
void http_stream_close(http_stream *st);

/* Closes st if still open and gives the owner's handle back (st is not used after). */
void http_stream_release(http_stream *st);

/* ---- files and byte ranges (http_file.c, http_range.c) ---- */

/* The outcome of http_range_parse. */
enum http_range_kind {
    HTTP_RANGE_FULL, /* no Range, another unit, or several ranges: send it all (200) */
    HTTP_RANGE_PARTIAL, /* one satisfiable range, [*first, *last] clipped to the size (206) */
    HTTP_RANGE_UNSATISFIABLE, /* one range past the end, "-0", or any range of 0 bytes (416) */
    HTTP_RANGE_INVALID, /* "bytes=" with a range set that does not parse, or last < first (416) */
};

/*
 * Parses a Range header value (RFC 9110 §14.1.2) against a representation
 * of size bytes: "bytes=a-b", "bytes=a-", "bytes=-n"; unit case-insensitive,
 * optional whitespace around list commas, positions saturating at
 * UINT64_MAX. Several ranges are ignored (HTTP_RANGE_FULL: no multipart
 * replies), as the RFC allows. header may be NULL. *first and *last are
 * written only for HTTP_RANGE_PARTIAL. Pure; Thread: any.
 */
enum http_range_kind http_range_parse(const char *header, uint64_t size, uint64_t *first,
                                      uint64_t *last);

/*
 * Whether an If-None-Match / If-Range value ("*", or a list of entity-tags)
 * names etag (given with or without its quotes). is_strong: the strong
 * comparison of If-Range (a W/ tag never matches); else the weak one of
 * If-None-Match. A malformed list does not match. Pure; Thread: any.
 */
bool http_etag_list_match(const char *header, const char *etag, bool is_strong);

/*
 * Replies 416 with Content-Range: bytes * /size and the JSON error envelope
 * {"error":{"code":"range_not_satisfiable","message":msg}}.
 */
int http_reply_unsatisfiable(http_request *req, uint64_t size, const char *msg);

/* Writes unix_s as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); buf >= 30 bytes. */
void http_date_format(int64_t unix_s, char *buf, size_t size);
/* Parses an IMF-fixdate (obsolete forms are invalid). Returns 0 or -1. */
int http_date_parse(const char *s, int64_t *unix_s);

struct http_file_options {
    const char *content_type; /* e.g. "video/mp4"; borrowed */
    /*
     * Strong validator without quotes (e.g. the file's sha256 hex), or NULL
     * to derive one from the file's inode, size and mtime. Borrowed.
     */
    const char *etag;
    const char *cache_control; /* NULL: none; e.g. "public, max-age=31536000, immutable" */
};

/*
 * Replies with the regular file open on fd, sent by sendfile(2) from the
 * server's threads without copying. Adds ETag, Last-Modified,
 * "Accept-Ranges: bytes" and Cache-Control, then evaluates, in this order:
 * If-None-Match (weak match) or else If-Modified-Since → 304 with no body;
 * for GET only, Range (http_range_parse) unless If-Range (strong ETag or
 * the exact Last-Modified date) does not match → 206 with Content-Range,
 * or 416 with "Content-Range: bytes * /SIZE" (no space) and a JSON error
 * {"error":{"code":"range_not_satisfiable","message":"Range: ..."}};
 * otherwise 200 with the whole file. HEAD gets the headers of the 200.
 * Headers added with http_reply_header before the call are sent too.
 *
 * Steals fd: it is closed when the reply has been sent or abandoned (a
 * client that disconnects mid-body frees everything at once), or before
 * returning when no body is sent or on failure. *body_bytes (may be NULL)
 * gets the body length queued (0 for 304/416/HEAD). Returns 0, -EALREADY,
 * -EIO as http_reply does, or -errno when fd cannot be fstat'ed / -EINVAL
 * when it is not a regular file (nothing replied then: the caller replies
 * with the error). Thread: the handler's.
 */
int http_reply_file(http_request *req, int fd, const struct http_file_options *opt,
                    uint64_t *body_bytes);

#endif
