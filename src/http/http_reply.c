/*
 * DESIGN: what a handler sees of its request (accessors, the JSON body)
 * and the ways it answers (http_reply_*). Every reply goes through
 * reply_queue, which adds the headers the handler set, the CORS headers,
 * X-Content-Type-Options: nosniff and Content-Type, and queues the MHD
 * response on the connection's thread.
 * Error replies render through the router's error mapper, so the status,
 * the code and Retry-After come from one table (api/errors.c).
 */
#include "http.h"
#include "http_int.h"

#include "err.h"
#include "log.h"
#include "mask.h"
#include "mem.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG_MODULE "http"

#define ERROR_MESSAGE_MAX 1024

/* Length of the valid UTF-8 sequence at s, or 0 (the rules jansson enforces). */
static size_t utf8_seq_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return n;
}

/* Replaces every byte that is not part of valid UTF-8 with '?', in place. */
static void utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = utf8_seq_len(p);
        if (n == 0) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

/* Returns s when it is ASCII, else a sanitized (possibly cut) copy in buf. */
const char *http_utf8_safe(const char *s, char *buf, size_t size)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80) {
            snprintf(buf, size, "%s", s);
            utf8_sanitize(buf);
            return buf;
        }
    }
    return s;
}

const char *http_request_method(const http_request *req)
{
    return req->method;
}

const char *http_request_path(const http_request *req)
{
    return req->path;
}

const char *http_request_route(const http_request *req)
{
    return req->route_rc == 0 ? req->match.tmpl : NULL;
}

const char *http_request_param(const http_request *req, const char *name)
{
    for (unsigned i = 0; i < req->match.nparams; i++)
        if (strcmp(req->match.params[i].name, name) == 0)
            return req->match.params[i].value;
    return NULL;
}

const char *http_request_query(const http_request *req, const char *name)
{
    const char *value = NULL;
    size_t value_len = 0;
    if (MHD_lookup_connection_value_n(req->conn->mhd, MHD_GET_ARGUMENT_KIND, name, strlen(name),
                                      &value, &value_len) != MHD_YES)
        return NULL;
    return value ? value : "";
}

struct query_all {
    const char *name;
    const char **out;
    size_t max;
    size_t n;
};

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct query_all *q = cls;
    if (key && strcmp(key, q->name) == 0) {
        if (q->n < q->max)
            q->out[q->n] = value ? value : "";
        q->n++;
    }
    return MHD_YES;
}

size_t http_request_query_all(const http_request *req, const char *name, const char **out,
                              size_t max)
{
    struct query_all q = {.name = name, .out = out, .max = max};
    MHD_get_connection_values(req->conn->mhd, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    return q.n;
}

struct query_encode {
    const char *skip;
    char *out;
    size_t cap, n;
    bool is_full;
};

/* Appends s percent-encoded (RFC 3986 unreserved characters kept) to q. */
static void encode_into(struct query_encode *q, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool is_plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        size_t need = is_plain ? 1 : 3;
        if (q->n + need >= q->cap) {
            q->is_full = true;
            return;
        }
        if (is_plain) {
            q->out[q->n++] = (char)c;
        } else {
            q->out[q->n++] = '%';
            q->out[q->n++] = hex[c >> 4];
            q->out[q->n++] = hex[c & 15];
        }
    }
}

static enum MHD_Result encode_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    struct query_encode *q = cls;
    if (q->skip && strcmp(key, q->skip) == 0)
        return MHD_YES;
    if (q->n && q->n + 1 < q->cap)
        q->out[q->n++] = '&';
    encode_into(q, key);
    if (value) {
        if (q->n + 1 < q->cap)
            q->out[q->n++] = '=';
        encode_into(q, value);
    }
    return q->is_full ? MHD_NO : MHD_YES;
}

int http_request_query_encode(const http_request *req, const char *skip, char *out, size_t cap)
{
    if (!cap)
        return -ENOSPC;
    struct query_encode q = {.skip = skip, .out = out, .cap = cap};
    MHD_get_connection_values(req->conn->mhd, MHD_GET_ARGUMENT_KIND, encode_query, &q);
    out[q.n < cap ? q.n : cap - 1] = '\0';
    return q.is_full ? -ENOSPC : (int)q.n;
}

const char *http_request_header(const http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn->mhd, MHD_HEADER_KIND, name);
}

const char *http_request_body(const http_request *req, size_t *len)
{
    if (len)
        *len = req->body_len;
    return req->body ? req->body : "";
}

bool http_request_is_tls(const http_request *req)
{
    return req->conn->srv->tls != NULL;
}

const char *http_request_remote(const http_request *req)
{
    return req->client_text ? req->client_text : http_conn_remote(req->conn);
}

const struct http_addr *http_request_client_addr(const http_request *req)
{
    return req->client_text ? &req->client : &req->conn->peer_addr;
}

const char *http_request_peer(const http_request *req)
{
    return http_conn_remote(req->conn);
}

struct http_deferred **http_request_deferred_slot(http_request *req)
{
    return &req->deferred;
}

struct MHD_Connection *http_request_mhd(const http_request *req)
{
    return req->conn->mhd;
}

struct http_defer_reg *http_request_defer_reg(const http_request *req)
{
    return req->conn->srv->defer;
}

struct http_stream_reg *http_request_stream_reg(const http_request *req)
{
    return req->conn->srv->streams;
}

bool http_request_is_replied(const http_request *req)
{
    return req->is_replied;
}

int http_request_json(http_request *req, json_t **out)
{
    *out = NULL;
    if (req->body_len == 0) {
        http_reply_error(req, HORUS_EPARSE, "request body is empty; expected a JSON object");
        return HORUS_EPARSE;
    }
    json_error_t err;
    json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        http_reply_error(req, HORUS_EPARSE, "invalid JSON at line %d column %d: %s", err.line,
                         err.column, err.text);
        return HORUS_EPARSE;
    }
    if (!json_is_object(j)) {
        static const char *const names[] = {"an object", "an array", "a string", "a number",
                                            "a number",  "true",     "false",    "null"};
        int type = json_typeof(j);
        http_reply_error(req, HORUS_EPARSE, "request body must be a JSON object, not %s",
                         type >= 0 && type < 8 ? names[type] : "that");
        json_decref(j);
        return HORUS_EPARSE;
    }
    *out = j;
    return 0;
}

/* ---- replies ---- */

void http_reply_header(http_request *req, const char *name, const char *value)
{
    if (req->is_replied || !name || !value)
        return;
    if (req->nheaders == MAX_REPLY_HEADERS) {
        log_warn("reply header '%s' dropped: more than %d on %s %s", name, MAX_REPLY_HEADERS,
                 req->method, req->path);
        return;
    }
    req->headers[req->nheaders].name = horus_strdup(name);
    req->headers[req->nheaders].value = horus_strdup(value);
    req->nheaders++;
}

static bool has_header(const http_request *req, const char *name)
{
    for (unsigned i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return true;
    return false;
}

/* Adds headers to resp and queues it. Consumes resp. */
static int reply_queue(http_request *req, unsigned status, const char *content_type,
                       struct MHD_Response *resp, size_t len)
{
    req->is_replied = true;
    if (!resp)
        return -EIO;
    for (unsigned i = 0; i < req->nheaders; i++) {
        if (content_type && strcasecmp(req->headers[i].name, "Content-Type") == 0)
            continue;
        if (MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value) != MHD_YES)
            log_warn("reply header '%s' rejected on %s %s", req->headers[i].name, req->method,
                     req->path);
    }
    http_cors_decorate(req->conn->srv->cors, req, resp);
    /* No reply is ever to be read as another type than it says (a JSON error as HTML). */
    if (!has_header(req, "X-Content-Type-Options"))
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (req->conn->srv->tls && !has_header(req, "Strict-Transport-Security"))
        MHD_add_response_header(resp, "Strict-Transport-Security", "max-age=31536000");
    if (content_type) {
        MHD_add_response_header(resp, "Content-Type", content_type);
        if (strncmp(content_type, "application/json", 16) == 0 && !has_header(req, "Cache-Control"))
            MHD_add_response_header(resp, "Cache-Control", "no-store");
    }
    enum MHD_Result ret = MHD_queue_response(req->conn->mhd, status, resp);
    MHD_destroy_response(resp);
    if (ret != MHD_YES)
        return -EIO;
    req->status = status;
    bool has_body =
        strcmp(req->method, "HEAD") != 0 && status >= 200 && status != 204 && status != 304;
    req->bytes = has_body ? len : 0;
    return 0;
}

int http_reply_mhd(http_request *req, unsigned status, const char *content_type,
                   struct MHD_Response *resp, uint64_t len)
{
    if (req->is_replied) {
        if (resp)
            MHD_destroy_response(resp);
        return -EALREADY;
    }
    return reply_queue(req, status, content_type, resp, (size_t)len);
}

int http_reply(http_request *req, unsigned status, const char *content_type, const void *body,
               size_t len)
{
    if (req->is_replied)
        return -EALREADY;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    return reply_queue(req, status, content_type, resp, len);
}

int http_reply_owned(http_request *req, unsigned status, const char *content_type, char *body,
                     size_t len)
{
    if (req->is_replied) {
        free(body);
        return -EALREADY;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if (!resp)
        free(body);
    return reply_queue(req, status, content_type, resp, len);
}

int http_reply_borrowed(http_request *req, unsigned status, const char *content_type,
                        const void *body, size_t len, void (*free_cb)(void *), void *free_arg)
{
    if (req->is_replied) {
        if (free_cb)
            free_cb(free_arg);
        return -EALREADY;
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
        len, (void *)(uintptr_t)body, free_cb, free_arg);
    if (!resp && free_cb)
        free_cb(free_arg);
    return reply_queue(req, status, content_type, resp, len);
}

int http_reply_json(http_request *req, unsigned status, json_t *json)
{
    char *text = json ? json_dumps(json, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(json);
    if (!text) {
        if (req->is_replied)
            return -EALREADY;
        log_error("reply to %s %s: JSON value could not be encoded", req->method, req->path);
        return http_reply_error(req, -EIO, "reply could not be encoded");
    }
    return http_reply_owned(req, status, "application/json", text, strlen(text));
}

int http_reply_error(http_request *req, int rc, const char *fmt, ...)
{
    if (req->is_replied)
        return -EALREADY;
    char raw[ERROR_MESSAGE_MAX], msg[ERROR_MESSAGE_MAX];
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
    } else {
        snprintf(raw, sizeof(raw), "%s", horus_strerror(rc));
    }
    /* Messages may quote what a client or a camera sent: no credential leaves in one. */
    horus_mask_text(raw, msg, sizeof(msg));
    utf8_sanitize(msg);
    struct http_error_map map = http_router_map_error(req->conn->srv->router, rc);
    if (map.retry_after_s > 0) {
        char secs[16];
        snprintf(secs, sizeof(secs), "%u", map.retry_after_s);
        http_reply_header(req, "Retry-After", secs);
    }
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", map.code, "message", msg);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(j);
    if (!text)
        text = horus_strdup("{\"error\":{\"code\":\"internal\",\"message\":\"\"}}");
    return http_reply_owned(req, map.status, "application/json", text, strlen(text));
}
