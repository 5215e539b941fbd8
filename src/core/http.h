/*
 * HTTP server on libmicrohttpd: epoll with a thread pool, a router with
 * path templates ("/api/v1/cameras/{id}"), JSON helpers, one hook that maps
 * internal error codes to HTTP statuses, a request-duration histogram per
 * route template and an access log.
 *
 * A handler is called once per request, after the whole body has arrived,
 * on one of the pool threads (Thread: http-N). It must reply exactly once
 * with one of the http_reply_* functions, or return a negative code, in
 * which case the server replies with http_reply_error(req, rc, NULL).
 * Handlers must not block for long: slow work will be suspended and
 * resumed (LL-HLS, SSE) in a later extension of this interface.
 */
#ifndef HORUS_HTTP_H
#define HORUS_HTTP_H

#include "metrics.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct http_server http_server;
typedef struct http_request http_request;
typedef struct http_router http_router;

typedef int (*http_handler_cb)(http_request *req, void *arg);

/* ---- router (no sockets; unit-testable) ---- */

#define HTTP_MAX_PARAMS 8

struct http_route_match {
    http_handler_cb handler;
    void *arg;
    const char *tmpl; /* borrowed from the router: the metric and log label */
    unsigned nparams;
    struct {
        const char *name; /* borrowed from the router */
        char *value;      /* owned by the match; percent-decoded */
    } params[HTTP_MAX_PARAMS];
    char allow[64]; /* on HORUS_EMETHOD: "GET, POST" for the Allow header */
};

http_router *http_router_new(void);
void http_router_free(http_router *r);

/*
 * Adds method + tmpl. Segments in braces ("{id}") match one non-empty path
 * segment; literal segments win over parameters. Returns 0, -EEXIST for a
 * duplicate, -EINVAL for a malformed template.
 */
int http_router_add(http_router *r, const char *method, const char *tmpl, http_handler_cb cb,
                    void *arg);

/*
 * Matches method and path (no query string). Returns 0 and fills m; -ENOENT
 * when no template matches the path; HORUS_EMETHOD when the path matches but
 * not the method (m->allow lists the methods). Release m with
 * http_route_match_release in every case.
 */
int http_router_match(const http_router *r, const char *method, const char *path,
                      struct http_route_match *m);
void http_route_match_release(struct http_route_match *m);

/* Iterates registered routes in order (OpenAPI coverage tests). Returns false past the end. */
bool http_router_route_at(const http_router *r, size_t i, const char **method, const char **tmpl);

/* ---- errors ---- */

struct http_error_map {
    unsigned status; /* 404 */
    const char *code; /* "not_found" */
};

/*
 * Installs the single function that maps internal codes to HTTP statuses
 * (api/errors.c). Before it is set every error maps to 500 "internal".
 */
void http_set_error_mapper(struct http_error_map (*map_cb)(int rc));

/* ---- server ---- */

struct http_server_options {
    const char *listen;      /* "HOST:PORT", "[::1]:PORT"; port 0 picks a free one */
    unsigned threads;        /* pool size; 0 = number of CPUs */
    size_t max_body_bytes;   /* larger bodies get 413; 0 = 1 MiB */
    unsigned idle_timeout_s; /* keep-alive idle timeout; 0 = 30 */
    bool access_log;         /* one info line per request, module "access" */
    metrics_registry *metrics; /* borrowed; NULL disables metrics */
};

/* Creates a server (not yet listening). Returns 0 or -EINVAL with *out untouched. */
int http_server_new(const struct http_server_options *opt, http_server **out);

/* The router requests go through; add routes before http_server_start. Borrowed. */
http_router *http_server_router(http_server *s);

/* Binds and starts the pool. Returns 0, -EADDRINUSE, -EACCES, -EINVAL... */
int http_server_start(http_server *s);

/* The bound port (after start), useful when listen asked for port 0. */
unsigned http_server_port(const http_server *s);

/* Stops accepting, waits for in-flight handlers, joins the pool. Idempotent. */
void http_server_stop(http_server *s);
void http_server_free(http_server *s);

/* ---- request accessors (borrowed until the handler returns) ---- */

const char *http_request_method(const http_request *req);
const char *http_request_path(const http_request *req);
const char *http_request_route(const http_request *req); /* the template */
const char *http_request_param(const http_request *req, const char *name);
const char *http_request_query(const http_request *req, const char *name);
const char *http_request_header(const http_request *req, const char *name);
const char *http_request_body(const http_request *req, size_t *len);

/*
 * Parses the body as a JSON object into a new reference. On failure replies
 * 400 with the parser's line:column and reason and returns HORUS_EPARSE, so
 * the handler just returns.
 */
int http_request_json(http_request *req, json_t **out);

/* ---- replies ---- */

/* Copies body. Returns 0 or a negative code if the reply could not be queued. */
int http_reply(http_request *req, unsigned status, const char *content_type, const void *body,
               size_t len);
/* Takes ownership of body (freed with free()). */
int http_reply_owned(http_request *req, unsigned status, const char *content_type, char *body,
                     size_t len);
/* Steals the reference to json. */
int http_reply_json(http_request *req, unsigned status, json_t *json);
/*
 * Replies {"error": {"code", "message"}} with the status from the error
 * mapper. fmt NULL uses horus_strerror(rc).
 */
int http_reply_error(http_request *req, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a header to the reply being built; call before http_reply*. */
void http_reply_header(http_request *req, const char *name, const char *value);

#endif
