/*
 * Private to src/http/http*.c: the hooks between the server (http.c),
 * deferred replies (http_defer.c), file serving (http_file.c) and CORS
 * (http_cors.c), without exposing libmicrohttpd in http.h. Nothing
 * outside src/http includes this (the build cannot see it from there).
 */
#ifndef HORUS_HTTP_INT_H
#define HORUS_HTTP_INT_H

#include "http.h"

#include <microhttpd.h>

struct http_defer_reg;

/* ---- provided by http.c ---- */

/* The request's deferred handle slot (NULL when not deferred). */
struct http_deferred **http_request_deferred_slot(http_request *req);
struct MHD_Connection *http_request_mhd(const http_request *req);
struct http_defer_reg *http_request_defer_reg(const http_request *req);
bool http_request_is_replied(const http_request *req);

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

/* ---- CORS (http_cors.c) ---- */

typedef struct http_cors http_cors;

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

#endif
