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

/* One network of server.trusted_proxies or server.rate_limit.exempt. */
static int validate_network(const void *value, char *err, size_t err_size)
{
    const char *s = *(const char *const *)value;
    struct http_cidr c;
    if (s && http_cidr_parse(s, &c) == 0)
        return 0;
    snprintf(err, err_size, "'%.100s' is not an IP address or network", s ? s : "");
    return -EINVAL;
}

static const cfg_field rate_limit_fields[] = {
    {.name = "api_per_minute",
     .type = CFG_INT,
     .offset = offsetof(struct api_rate_limit_config, api_per_minute),
     .def = "100",
     .min = 0,
     .max = 1000000000,
     .help = "API requests a minute per client address (token bucket); 0 = no limit"},
    {.name = "api_burst",
     .type = CFG_INT,
     .offset = offsetof(struct api_rate_limit_config, api_burst),
     .def = "50",
     .min = 1,
     .max = 1000000000,
     .help = "API requests a client address may make at once after a pause"},
    {.name = "media_per_minute",
     .type = CFG_INT,
     .offset = offsetof(struct api_rate_limit_config, media_per_minute),
     .def = "12000",
     .min = 0,
     .max = 1000000000,
     .help = "Media requests (live playlists, parts, init, segments, recorded files, export "
             "files) a minute per client address; 0 = no limit"},
    {.name = "media_burst",
     .type = CFG_INT,
     .offset = offsetof(struct api_rate_limit_config, media_burst),
     .def = "1000",
     .min = 1,
     .max = 1000000000,
     .help = "Media requests a client address may make at once after a pause"},
    {.name = "principal_per_minute",
     .type = CFG_INT,
     .offset = offsetof(struct api_rate_limit_config, principal_per_minute),
     .def = "600",
     .min = 0,
     .max = 1000000000,
     .help = "API requests a minute per signed-in user or API key; 0 = no limit"},
    {.name = "principal_burst",
     .type = CFG_INT,
     .offset = offsetof(struct api_rate_limit_config, principal_burst),
     .def = "100",
     .min = 1,
     .max = 1000000000,
     .help = "API requests a user or API key may make at once after a pause"},
    {.name = "max_clients",
     .type = CFG_INT,
     .offset = offsetof(struct api_rate_limit_config, max_clients),
     .def = "16384",
     .min = 64,
     .max = 16777216,
     .help = "Buckets kept for addresses (and as many for principals); past it the least "
             "recently used quiet one is forgotten"},
    {.name = "exempt",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct api_rate_limit_config, exempt),
     .count_offset = offsetof(struct api_rate_limit_config, nexempt),
     .max = 256,
     .validate_cb = validate_network,
     .pattern_help = "an address or network such as \"10.0.0.0/8\" or \"::1\"",
     .help = "Client networks never rate limited"},
    {.name = "login_failures",
     .type = CFG_INT,
     .offset = offsetof(struct api_rate_limit_config, login_failures),
     .def = "5",
     .min = 1,
     .max = 1000,
     .help = "Failed logins per user name or client address before each further attempt "
             "waits (1 s, doubling)"},
    {.name = "login_window",
     .type = CFG_DURATION,
     .offset = offsetof(struct api_rate_limit_config, login_window_ms),
     .def = "15m",
     .min = 1000,
     .max = 86400000,
     .help = "Failed logins older than this no longer count"},
    {.name = "login_max_delay",
     .type = CFG_DURATION,
     .offset = offsetof(struct api_rate_limit_config, login_max_delay_ms),
     .def = "15m",
     .min = 1000,
     .max = 86400000,
     .help = "Longest wait imposed between failed logins"},
    {0},
};

static const cfg_field tls_fields[] = {
    {.name = "cert",
     .type = CFG_STRING,
     .offset = offsetof(struct api_tls_config, cert),
     .def = "",
     .help = "PEM file with the server certificate (then intermediates); with key, Horus "
             "serves HTTPS only (TLS 1.2 and 1.3) and re-reads both files on SIGHUP"},
    {.name = "key",
     .type = CFG_STRING,
     .offset = offsetof(struct api_tls_config, key),
     .def = "",
     .help = "PEM file with the certificate's private key (keep it 0600)"},
    {0},
};
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
    {.name = "media_listen",
     .type = CFG_STRING,
     .offset = offsetof(struct api_server_config, media_listen),
     .def = "",
     .help = "HOST:PORT of a second listener for video only (live, playback, exports' files, "
             "WHEP, health checks), with its own threads and connection limit, so that a crowd "
             "of viewers never slows the API; \"\" = none"},
    {.name = "media_threads",
     .type = CFG_INT,
     .offset = offsetof(struct api_server_config, media_threads),
     .def = "0",
     .min = 0,
     .max = 256,
     .help = "Worker threads of the media listener; 0 = one per CPU"},
    {.name = "media_max_connections",
     .type = CFG_INT,
     .offset = offsetof(struct api_server_config, media_max_connections),
     .def = "1024",
     .min = 16,
     .max = 100000,
     .help = "Open connections of the media listener, handled as max_connections"},
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
    {.name = "trusted_proxies",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct api_server_config, trusted_proxies),
     .count_offset = offsetof(struct api_server_config, ntrusted_proxies),
     .max = 256,
     .validate_cb = validate_network,
     .pattern_help = "an address or network such as \"10.0.0.0/8\" or \"::1\"",
     .help = "Reverse proxies whose X-Forwarded-For names the client (rate limits, logs)"},
    {.name = "rate_limit",
     .type = CFG_SECTION,
     .offset = offsetof(struct api_server_config, rate_limit),
     .sub = rate_limit_fields,
     .help = "Request and login rate limits per client address and principal"},
    {.name = "tls",
     .type = CFG_SECTION,
     .offset = offsetof(struct api_server_config, tls),
     .sub = tls_fields,
     .help = "HTTPS: certificate and key"},
    {.name = "hostnames",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct api_server_config, hostnames),
     .count_offset = offsetof(struct api_server_config, nhostnames),
     .max = 64,
     .validate_cb = validate_hostname,
     .pattern_help = "a host name, \"*.example.com\" or an IP address",
     .help = "Names the Host header may carry besides localhost, this machine's name, the "
             "listen and public_url hosts and local addresses; others get 421 (DNS rebinding)"},
    {.name = "web_dir",
     .type = CFG_STRING,
     .offset = offsetof(struct api_server_config, web_dir),
     .def = "",
     .help = "Serve the web UI from this directory (a Vite build, for development) instead of "
             "the one built into the binary; the HORUS_WEB_DIR environment variable overrides "
             "it"},
    {0},
};
