/*
 * DESIGN: schema table for the `server:` section (docs/conventions.md §7).
 */
#include "api.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* One server.cors_origins item: "*" or a lower-case origin without a path. */
static int validate_origin(const void *value, char *err, size_t err_size)
{
    const char *s = *(const char *const *)value;
    if (http_cors_origin_is_valid(s))
        return 0;
    snprintf(err, err_size, "'%.100s' is not an origin", s ? s : "");
    return -EINVAL;
}

/* One server.hostnames item: a name, "*.name" or an IP literal. */
static int validate_hostname(const void *value, char *err, size_t err_size)
{
    const char *s = *(const char *const *)value;
    if (http_hostname_is_valid(s))
        return 0;
    snprintf(err, err_size, "'%.100s' is not a host name, *.name or IP address", s ? s : "");
    return -EINVAL;
}

/* server.public_url: empty, or http(s)://host[:port][/path] without user info. */
static int validate_public_url(const void *value, char *err, size_t err_size)
{
    const char *s = *(const char *const *)value;
    if (!s || !*s)
        return 0;
    const char *host = NULL;
    if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    size_t n = host ? strcspn(host, "/?#") : 0;
    if (!host || n == 0 || memchr(host, '@', n) || host[0] == ':') {
        snprintf(err, err_size, "must be http://HOST[:PORT][/PATH] or https://...");
        return -EINVAL;
    }
    return 0;
}

const cfg_field api_server_fields[] = {
    {.name = "listen",
     .type = CFG_STRING,
     .offset = offsetof(struct api_server_config, listen),
     .def = "127.0.0.1:8080",
     .help = "HOST:PORT to serve HTTP on; [::1]:PORT for IPv6"},
    {.name = "threads",
     .type = CFG_INT,
     .offset = offsetof(struct api_server_config, threads),
     .def = "0",
     .min = 0,
     .max = 256,
     .help = "HTTP worker threads; 0 = one per CPU"},
    {.name = "max_body",
     .type = CFG_BYTES,
     .offset = offsetof(struct api_server_config, max_body_bytes),
     .def = "1MiB",
     .min = 1024,
     .max = 1073741824,
     .help = "Largest accepted request body; larger ones get 413"},
    {.name = "idle_timeout",
     .type = CFG_DURATION,
     .offset = offsetof(struct api_server_config, idle_timeout_ms),
     .def = "30s",
     .min = 1000,
     .max = 3600000,
     .help = "Close keep-alive connections idle this long"},
    {.name = "header_timeout",
     .type = CFG_DURATION,
     .offset = offsetof(struct api_server_config, header_timeout_ms),
     .def = "10s",
     .min = 1000,
     .max = 3600000,
     .help = "Close connections that have not sent a complete request header this long after "
             "opening, however slowly they keep sending"},
    {.name = "max_connections",
     .type = CFG_INT,
     .offset = offsetof(struct api_server_config, max_connections),
     .def = "1024",
     .min = 16,
     .max = 100000,
     .help = "Open HTTP connections; past it a new one closes the oldest that is still waiting "
             "for request headers, or is refused when all are busy"},
    {.name = "max_connections_per_ip",
     .type = CFG_INT,
     .offset = offsetof(struct api_server_config, max_connections_per_ip),
     .def = "256",
     .min = 0,
     .max = 100000,
     .help = "Open HTTP connections from one client address, handled the same way; 0 = no "
             "limit (raise it behind a reverse proxy)"},
    {.name = "shutdown_timeout",
     .type = CFG_DURATION,
     .offset = offsetof(struct api_server_config, shutdown_timeout_ms),
     .def = "10s",
     .min = 100,
     .max = 600000,
     .is_reloadable = true,
     .help = "On SIGTERM, force exit if stopping takes longer than this"},
    {.name = "access_log",
     .type = CFG_BOOL,
     .offset = offsetof(struct api_server_config, access_log),
     .def = "true",
     .help = "Log one line per HTTP request (module 'access')"},
    {.name = "public_url",
     .type = CFG_STRING,
     .offset = offsetof(struct api_server_config, public_url),
     .def = "",
     .is_reloadable = true,
     .validate_cb = validate_public_url,
     .help = "URL users reach Horus at, when behind a proxy; its host is accepted in Host and "
             "its origin in Origin (read at start)"},
    {.name = "cors_origins",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct api_server_config, cors_origins),
     .count_offset = offsetof(struct api_server_config, ncors_origins),
     .max = 64,
     .validate_cb = validate_origin,
     .pattern_help = "\"*\" or an origin such as \"https://ui.example.com:8443\"",
     .help = "Origins whose pages may read API and media replies (CORS); \"*\" = any"},
    {.name = "hostnames",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct api_server_config, hostnames),
     .count_offset = offsetof(struct api_server_config, nhostnames),
     .max = 64,
     .validate_cb = validate_hostname,
     .pattern_help = "a host name, \"*.example.com\" or an IP address",
     .help = "Names the Host header may carry besides localhost, this machine's name, the "
             "listen and public_url hosts and local addresses; others get 421 (DNS rebinding)"},
    {0},
};
