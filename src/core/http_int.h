/* Private to src/core/http*.c: what reply helpers outside http.c need. */
#ifndef HORUS_HTTP_INT_H
#define HORUS_HTTP_INT_H

#include "http.h"

#include <microhttpd.h>

/*
 * Adds the reply headers set with http_reply_header and Content-Type to
 * resp and queues it with status; len is the body size for the access log
 * and metrics. Consumes resp (NULL gives -EIO). Returns 0, -EALREADY or -EIO.
 */
int http_reply_response(http_request *req, unsigned status, const char *content_type,
                        struct MHD_Response *resp, uint64_t len);

#endif
