/*
 * Private to src/core/http*.c: the hooks between the server (http.c) and
 * deferred replies (http_defer.c). Nothing outside core includes this.
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

#endif
