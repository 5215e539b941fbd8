/*
 * Private to src/core/http*.c: what the file-serving and CORS parts need
 * from the server in http.c without exposing libmicrohttpd in http.h.
 */
#ifndef HORUS_HTTP_INT_H
#define HORUS_HTTP_INT_H

#include "http.h"

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
