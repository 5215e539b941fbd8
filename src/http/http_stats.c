/*
 * DESIGN: what each HTTP request leaves behind (http.c's step 5): its
 * duration and status in the route's metrics series, and its access-log
 * line. Route label = template, or "unmatched" for anything the router did
 * not resolve (404, 405, bad path), with the method folded into a fixed set
 * so that label values stay bounded. Series pointers are created on first
 * use and cached in per-route slots (atomics, benign races: the registry
 * returns the same pointer to every caller). The access log formats numbers
 * with digit loops, not snprintf: it runs for every request.
 *
 * Thread: http-N (http_stats_register and _build_routes: the caller of
 * http_server_new / _start, before any request).
 */
#include "http.h"
#include "http_int.h"

#include "log.h"
#include "mem.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Status codes with a cached counter per route; others go through the registry. */
static const unsigned short stats_codes[] = {200, 201, 202, 204, 206, 301, 302, 304,
                                             400, 401, 403, 404, 405, 409, 413, 415,
                                             416, 422, 429, 500, 502, 503, 504, 507};
_Static_assert(sizeof(stats_codes) / sizeof(stats_codes[0]) == NSTATS_CODES, "stats_codes");

/* The "method" label of requests that matched no route; anything else is "other". */
static const char *const known_methods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                            "PATCH", "DELETE", "OPTIONS"};
_Static_assert(sizeof(known_methods) / sizeof(known_methods[0]) == NKNOWN_METHODS, "known_methods");

static const char *method_label(const char *method)
{
    for (size_t i = 0; i < NKNOWN_METHODS; i++)
        if (strcmp(method, known_methods[i]) == 0)
            return known_methods[i];
    return "other";
}

void http_stats_register(http_server *s, metrics_registry *reg)
{
    s->f_duration = metrics_family_add(
        reg, &(struct metrics_desc){
                 .type = METRICS_HISTOGRAM,
                 .name = "horus_http_request_duration_seconds",
                 .help = "HTTP request time from request line to reply sent, by route template",
                 .labels = "route,method",
                 .buckets = metrics_latency_buckets,
                 .nbuckets = metrics_latency_nbuckets,
             });
    s->f_requests = metrics_family_add(reg, &(struct metrics_desc){
                                                .type = METRICS_COUNTER,
                                                .name = "horus_http_requests_total",
                                                .help = "HTTP requests answered, by route template",
                                                .labels = "route,method,code",
                                            });
    /* The media lane's connections have limits of their own: counted apart. */
    metrics_family *conns = metrics_family_add(
        reg, &(struct metrics_desc){
                 .type = METRICS_GAUGE,
                 .name = s->media_only ? "horus_http_media_connections" : "horus_http_connections",
                 .help = s->media_only ? "Open HTTP connections of the media listener"
                                       : "Open HTTP connections",
             });
    s->s_connections = metrics_series_get(conns);
    s->f_dropped = metrics_family_add(
        reg, &(struct metrics_desc){
                 .type = METRICS_COUNTER,
                 .name = s->media_only ? "horus_http_media_connections_dropped_total"
                                       : "horus_http_connections_dropped_total",
                 .help = "HTTP connections closed or refused by the connection limits, by reason "
                         "(per_ip_limit, limit, evicted, header_timeout)",
                 .labels = "reason",
             });
    for (size_t i = 0; i < NKNOWN_METHODS + 1; i++) {
        s->unmatched[i].route = "unmatched";
        s->unmatched[i].method = i < NKNOWN_METHODS ? known_methods[i] : "other";
    }
}

void http_stats_build_routes(http_server *s)
{
    free(s->route_stats);
    s->route_stats = NULL;
    s->nroute_stats = 0;
    if (!s->f_duration)
        return;
    size_t n = 0;
    while (http_router_route_at(s->router, n, NULL, NULL))
        n++;
    s->route_stats = horus_calloc(n * 2 + 1, sizeof(*s->route_stats));
    for (size_t i = 0; i < n; i++) {
        const char *method, *tmpl;
        http_router_route_at(s->router, i, &method, &tmpl);
        s->route_stats[i * 2].route = tmpl;
        s->route_stats[i * 2].method = method;
        s->route_stats[i * 2 + 1].route = tmpl;
        s->route_stats[i * 2 + 1].method = "HEAD";
    }
    s->nroute_stats = n;
}

struct http_stats *http_stats_for(http_server *s, const http_request *req)
{
    if (!s->f_duration)
        return NULL;
    if (req->route_rc == 0) {
        if (req->match.index >= s->nroute_stats)
            return NULL; /* a route added after start: no slot, no metrics */
        bool is_head_on_get = strcmp(req->method, req->match.method) != 0;
        return &s->route_stats[req->match.index * 2 + (is_head_on_get ? 1 : 0)];
    }
    const char *label = method_label(req->method);
    for (size_t i = 0; i < NKNOWN_METHODS; i++)
        if (label == known_methods[i])
            return &s->unmatched[i];
    return &s->unmatched[NKNOWN_METHODS];
}

static metrics_series *duration_series(http_server *s, struct http_stats *st)
{
    metrics_series *ser = atomic_load_explicit(&st->duration, memory_order_acquire);
    if (!ser) {
        ser = metrics_series_get(s->f_duration, st->route, st->method);
        atomic_store_explicit(&st->duration, ser, memory_order_release);
    }
    return ser;
}

static metrics_series *requests_series(http_server *s, struct http_stats *st, unsigned status)
{
    _Atomic(metrics_series *) *slot = NULL;
    for (size_t i = 0; i < NSTATS_CODES && !slot; i++)
        if (stats_codes[i] == status)
            slot = &st->codes[i];
    metrics_series *ser = slot ? atomic_load_explicit(slot, memory_order_acquire) : NULL;
    if (ser)
        return ser;
    char code[12];
    snprintf(code, sizeof(code), "%u", status);
    ser = metrics_series_get(s->f_requests, st->route, st->method, code);
    if (slot)
        atomic_store_explicit(slot, ser, memory_order_release);
    return ser;
}

void http_stats_record(http_server *s, struct http_stats *st, unsigned status, double seconds)
{
    metrics_histogram_observe(duration_series(s, st), seconds);
    metrics_counter_inc(requests_series(s, st, status));
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return NULL;
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read_error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client_abort";
    default:
        return "error";
    }
}

/* Writes v in decimal into buf (>= 21 bytes). Returns the length. */
static size_t fmt_u64(char *buf, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

/* Writes thousandths (>= 0) as "I.FFF" into buf (>= 26 bytes). */
static void fmt_fixed3(char *buf, int64_t thousandths)
{
    if (thousandths < 0)
        thousandths = 0;
    size_t n = fmt_u64(buf, (uint64_t)thousandths / 1000);
    int f = (int)((uint64_t)thousandths % 1000);
    buf[n++] = '.';
    buf[n++] = (char)('0' + f / 100);
    buf[n++] = (char)('0' + f / 10 % 10);
    buf[n++] = (char)('0' + f % 10);
    buf[n] = '\0';
}

void http_access_log(http_request *req, double seconds, enum MHD_RequestTerminationCode toe)
{
    if (!log_enabled(LOG_LEVEL_INFO))
        return;
    /* Plain digit loops, not snprintf: this runs for every request. */
    char status[12], bytes[24], duration[32];
    fmt_u64(status, req->status);
    fmt_u64(bytes, req->bytes);
    fmt_fixed3(duration, (int64_t)(seconds * 1e6)); /* microseconds as "ms.uuu" */
    const char *aborted = termination_name(toe);
    /* Method and path are raw bytes from the client; keep the log line valid UTF-8. */
    char method_buf[64], path_buf[HTTP_MAX_PATH + 1];
    const char *method = http_utf8_safe(req->method, method_buf, sizeof(method_buf));
    const char *path = http_utf8_safe(req->path, path_buf, sizeof(path_buf));
    log_field fields[9] = {
        {"method", method},        {"path", path},
        {"status", status},        {"bytes", bytes},
        {"duration_ms", duration}, {"remote", http_request_remote(req)},
    };
    size_t n = 6;
    const char *peer = http_conn_remote(req->conn);
    if (req->client_text && req->client_text != peer)
        fields[n++] = (log_field){"peer", peer}; /* the proxy that forwarded it */
    if (aborted)
        fields[n++] = (log_field){"error", aborted};
    fields[n] = (log_field){NULL, NULL};
    if (aborted)
        log_write(LOG_LEVEL_INFO, "access", fields, "request aborted: %s", aborted);
    else
        log_write(LOG_LEVEL_INFO, "access", fields, "request completed");
}
