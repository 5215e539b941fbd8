/*
 * DESIGN: Cross-Origin Resource Sharing for the API and media replies, so
 * that a web UI or player on another origin (hls.js on a dashboard) can
 * read playlists, JSON and byte ranges. The allowed origins come from
 * server.cors_origins: "*" allows any origin without credentials;
 * otherwise the request's Origin is echoed when listed, with "Vary:
 * Origin" on every reply so that shared caches keep per-origin copies.
 * Preflights (OPTIONS + Origin + Access-Control-Request-Method) are
 * answered here for any path that has routes, before routing would call
 * them 405. The list is immutable after start (a [restart] key), so no
 * lock is needed. Thread: http-N (decorate, preflight), main (new, free).
 */
#include "http_int.h"

#include "mem.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREFLIGHT_MAX_AGE_S "600"
#define EXPOSED_HEADERS "Content-Range, Accept-Ranges, Content-Length, ETag, Location"
#define DEFAULT_ALLOWED_HEADERS                                                                    \
    "Range, If-None-Match, If-Modified-Since, If-Range, Content-Type, Authorization"

struct http_cors {
    bool is_any;
    size_t n;
    char **origins; /* owned */
};

bool http_cors_origin_is_valid(const char *s)
{
    if (!s)
        return false;
    if (strcmp(s, "*") == 0)
        return true;
    const char *host;
    if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    else
        return false;
    /* host[:port], no path, no userinfo, no trailing slash: an origin is compared byte for byte. */
    if (!*host || strlen(host) > 253 + 6)
        return false;
    for (const char *p = host; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                  c == ':' || c == '[' || c == ']';
        if (!ok)
            return false;
    }
    return true;
}

http_cors *http_cors_new(const char *const *origins, size_t n)
{
    if (n == 0)
        return NULL;
    http_cors *c = horus_calloc(1, sizeof(*c));
    c->origins = horus_calloc(n, sizeof(*c->origins));
    for (size_t i = 0; i < n; i++) {
        if (strcmp(origins[i], "*") == 0)
            c->is_any = true;
        c->origins[c->n++] = horus_strdup(origins[i]);
    }
    return c;
}

void http_cors_free(http_cors *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->origins[i]);
    free(c->origins);
    free(c);
}

static bool is_allowed(const http_cors *c, const char *origin)
{
    if (!origin || !*origin)
        return false;
    if (c->is_any)
        return true;
    for (size_t i = 0; i < c->n; i++)
        if (strcasecmp(c->origins[i], origin) == 0)
            return true;
    return false;
}

static void add_origin(const http_cors *c, struct MHD_Response *resp, const char *origin)
{
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", c->is_any ? "*" : origin);
}

void http_cors_decorate(const http_cors *c, http_request *req, struct MHD_Response *resp)
{
    if (!c)
        return;
    if (!c->is_any)
        MHD_add_response_header(resp, "Vary", "Origin");
    const char *origin = http_request_header(req, "Origin");
    if (!is_allowed(c, origin))
        return;
    add_origin(c, resp, origin);
    MHD_add_response_header(resp, "Access-Control-Expose-Headers", EXPOSED_HEADERS);
}

/* Whether s is a plain comma-separated list of header names (safe to echo back). */
static bool is_token_list(const char *s)
{
    if (strlen(s) > 512)
        return false;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == ',' || ch == ' ';
        if (!ok)
            return false;
    }
    return true;
}

bool http_cors_preflight(const http_cors *c, http_request *req, const char *allow)
{
    if (!c || strcmp(http_request_method(req), "OPTIONS") != 0)
        return false;
    const char *origin = http_request_header(req, "Origin");
    const char *method = http_request_header(req, "Access-Control-Request-Method");
    if (!method || !is_allowed(c, origin))
        return false;
    const char *headers = http_request_header(req, "Access-Control-Request-Headers");
    /* Content-Type is set by the reply; the rest go through the reply's header list. */
    http_reply_header(req, "Access-Control-Allow-Methods", allow && *allow ? allow : "GET, HEAD");
    http_reply_header(req, "Access-Control-Allow-Headers",
                      headers && *headers && is_token_list(headers) ? headers
                                                                    : DEFAULT_ALLOWED_HEADERS);
    http_reply_header(req, "Access-Control-Max-Age", PREFLIGHT_MAX_AGE_S);
    http_reply(req, 204, NULL, NULL, 0);
    return true;
}
