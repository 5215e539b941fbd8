/*
 * DESIGN: the checks every request passes before its handler, against
 * pages in a browser that try to use Horus behind its operator's back
 * (docs/design/0017 §2, §3):
 *   - Host: a DNS-rebinding page reaches 127.0.0.1 under its own name, so
 *     a request whose Host names neither this server nor a loopback or
 *     local address gets 421. Allowed: server.hostnames, the host of
 *     server.public_url and of the listen address, "localhost" and
 *     "*.localhost", this machine's name (and NAME.local), and any IP
 *     literal that is a loopback address or one of the machine's
 *     interface addresses (asked of getifaddrs when a literal is not
 *     already known, so addresses that come later are accepted too).
 *   - Origin, on POST/PUT/PATCH/DELETE: a browser sends it on every
 *     cross-origin state-changing request. It must name this server (the
 *     request's own Host and port), the origin of server.public_url, or an
 *     origin listed in server.cors_origins ("*" does not count: it opens
 *     reading, never writing). Anything else, "null" included, gets 403.
 *   - Content-Type, on POST/PUT/PATCH/DELETE with a body: one of the
 *     route's body types (application/json unless the route says
 *     otherwise), else 415. A form or text/plain POST, which a page may
 *     send without a preflight, never reaches a handler.
 * The guard is built once with the server and read-only afterwards: no
 * lock. Thread: http-N (checks), main (new, free).
 */
#include "http_int.h"

#include "err.h"
#include "mem.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_NAME 253

struct http_guard {
    char **names; /* owned, lower case; "*.x" matches any name ending in ".x" */
    size_t nnames;
    struct in_addr *v4; /* owned: literals known at start (listen, interfaces) */
    size_t nv4;
    struct in6_addr *v6; /* owned */
    size_t nv6;
    char *public_scheme; /* owned; NULL without server.public_url */
    char *public_host; /* owned, lower case */
    unsigned public_port; /* effective: explicit or the scheme's default */
    char **origins; /* owned: explicit server.cors_origins entries ("*" left out) */
    size_t norigins;
};

/* ---- names ---- */

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

bool http_hostname_is_valid(const char *s)
{
    if (!s || !*s)
        return false;
    if (strncmp(s, "*.", 2) == 0)
        s += 2;
    size_t n = strlen(s);
    if (n == 0 || n > MAX_NAME)
        return false;
    if (s[0] == '[') {
        struct in6_addr a;
        char buf[64];
        if (s[n - 1] != ']' || n - 2 >= sizeof(buf))
            return false;
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = '\0';
        return inet_pton(AF_INET6, buf, &a) == 1;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, s, &a6) == 1)
        return true;
    for (size_t i = 0; i < n; i++)
        if (!is_name_char(s[i]))
            return false;
    return s[0] != '.' && s[0] != '-';
}

static char *lower_dup(const char *s, size_t n)
{
    char *d = horus_strndup(s, n);
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

static void add_name(http_guard *g, const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '.')
        n--; /* "localhost." is "localhost" */
    if (n == 0 || n > MAX_NAME)
        return;
    if (s[0] == '[' && n > 2 && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    g->names = horus_realloc(g->names, (g->nnames + 1) * sizeof(*g->names));
    g->names[g->nnames++] = lower_dup(s, n);
}

static void add_v4(http_guard *g, const struct in_addr *a)
{
    g->v4 = horus_realloc(g->v4, (g->nv4 + 1) * sizeof(*g->v4));
    g->v4[g->nv4++] = *a;
}

static void add_v6(http_guard *g, const struct in6_addr *a)
{
    g->v6 = horus_realloc(g->v6, (g->nv6 + 1) * sizeof(*g->v6));
    g->v6[g->nv6++] = *a;
}

/* Splits "host[:port]" or "[v6][:port]": host without brackets, *port 0 when absent. */
static bool split_host_port(const char *s, size_t len, const char **host, size_t *hlen,
                            unsigned *port)
{
    const char *end = s + len;
    const char *colon;
    *port = 0;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return false;
        *host = s + 1;
        *hlen = (size_t)(close - s - 1);
        colon = close + 1 < end ? close + 1 : NULL;
        if (colon && *colon != ':')
            return false;
    } else {
        colon = memchr(s, ':', len);
        *host = s;
        *hlen = colon ? (size_t)(colon - s) : len;
        if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
            return false; /* an IPv6 literal needs brackets */
    }
    if (colon) {
        const char *p = colon + 1;
        if (p == end || end - p > 5)
            return false;
        unsigned v = 0;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9')
                return false;
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (v == 0 || v > 65535)
            return false;
        *port = v;
    }
    return *hlen > 0 && *hlen <= MAX_NAME;
}

/* "http[s]://host[:port][/...]" into parts; false when it is not such a URL. */
static bool split_origin(const char *url, bool allow_path, char *scheme, size_t scheme_size,
                         const char **host, size_t *hlen, unsigned *port)
{
    const char *sep = strstr(url, "://");
    if (!sep || (size_t)(sep - url) >= scheme_size)
        return false;
    memcpy(scheme, url, (size_t)(sep - url));
    scheme[sep - url] = '\0';
    if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
        return false;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (!allow_path && auth[alen] != '\0')
        return false;
    if (memchr(auth, '@', alen))
        return false;
    if (!split_host_port(auth, alen, host, hlen, port))
        return false;
    if (*port == 0)
        *port = strcasecmp(scheme, "https") == 0 ? 443 : 80;
    return true;
}

/* ---- building ---- */

static void add_interfaces(http_guard *g)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        if (i->ifa_addr->sa_family == AF_INET)
            add_v4(g, &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr);
        else if (i->ifa_addr->sa_family == AF_INET6)
            add_v6(g, &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr);
    }
    freeifaddrs(ifs);
}

http_guard *http_guard_new(const struct http_server_options *opt)
{
    http_guard *g = horus_calloc(1, sizeof(*g));
    static const char *const always[] = {"localhost", "*.localhost", "localhost.localdomain"};
    for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
        add_name(g, always[i], strlen(always[i]));
    for (size_t i = 0; i < opt->nhostnames; i++)
        add_name(g, opt->hostnames[i], strlen(opt->hostnames[i]));

    char me[256];
    if (gethostname(me, sizeof(me) - 7) == 0 && me[0]) {
        me[sizeof(me) - 8] = '\0';
        add_name(g, me, strlen(me));
        if (!strchr(me, '.')) {
            strcat(me, ".local");
            add_name(g, me, strlen(me));
        }
    }

    const char *host;
    size_t hlen;
    unsigned port;
    /* A name, or an address (both match as text); "any address" is no name to be reached by. */
    if (opt->listen && split_host_port(opt->listen, strlen(opt->listen), &host, &hlen, &port) &&
        !(hlen == 7 && memcmp(host, "0.0.0.0", 7) == 0) &&
        !(hlen == 2 && memcmp(host, "::", 2) == 0))
        add_name(g, host, hlen);

    char scheme[8];
    if (opt->public_url && *opt->public_url &&
        split_origin(opt->public_url, true, scheme, sizeof(scheme), &host, &hlen, &port)) {
        add_name(g, host, hlen);
        g->public_scheme = lower_dup(scheme, strlen(scheme));
        g->public_host = lower_dup(host, hlen);
        g->public_port = port;
    }
    for (size_t i = 0; i < opt->ncors_origins; i++) {
        if (strcmp(opt->cors_origins[i], "*") == 0)
            continue;
        g->origins = horus_realloc(g->origins, (g->norigins + 1) * sizeof(*g->origins));
        g->origins[g->norigins++] = horus_strdup(opt->cors_origins[i]);
    }
    add_interfaces(g);
    return g;
}

void http_guard_free(http_guard *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nnames; i++)
        free(g->names[i]);
    for (size_t i = 0; i < g->norigins; i++)
        free(g->origins[i]);
    free(g->names);
    free(g->origins);
    free(g->v4);
    free(g->v6);
    free(g->public_scheme);
    free(g->public_host);
    free(g);
}

/* ---- checks ---- */

static bool name_listed(const http_guard *g, const char *name, size_t n)
{
    for (size_t i = 0; i < g->nnames; i++) {
        const char *w = g->names[i];
        size_t k = strlen(w);
        if (k == n && strncasecmp(w, name, n) == 0)
            return true;
        /* "*.example.com" matches "a.example.com", not "example.com". */
        if (w[0] == '*' && w[1] == '.' && n > k - 1 &&
            strncasecmp(name + n - (k - 1), w + 1, k - 1) == 0)
            return true;
    }
    return false;
}

static bool v4_is_local(const http_guard *g, const struct in_addr *a, bool refresh)
{
    if ((ntohl(a->s_addr) >> 24) == 127)
        return true;
    for (size_t i = 0; i < g->nv4; i++)
        if (g->v4[i].s_addr == a->s_addr)
            return true;
    if (!refresh)
        return false;
    /* An address that came after start (DHCP, a new interface): ask the kernel again. */
    bool found = false;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return false;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next)
        found =
            i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
            ((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr.s_addr == a->s_addr;
    freeifaddrs(ifs);
    return found;
}

static bool v6_is_local(const http_guard *g, const struct in6_addr *a)
{
    if (IN6_IS_ADDR_LOOPBACK(a))
        return true;
    if (IN6_IS_ADDR_V4MAPPED(a)) {
        struct in_addr v4;
        memcpy(&v4, &a->s6_addr[12], 4);
        return v4_is_local(g, &v4, true);
    }
    for (size_t i = 0; i < g->nv6; i++)
        if (memcmp(&g->v6[i], a, sizeof(*a)) == 0)
            return true;
    bool found = false;
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) < 0)
        return false;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next)
        found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 &&
                memcmp(&((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr, a,
                       sizeof(*a)) == 0;
    freeifaddrs(ifs);
    return found;
}

bool http_guard_host_is_allowed(const http_guard *g, const char *host_header)
{
    if (!host_header)
        return true; /* HTTP/1.0 without Host: no browser sends that */
    const char *host;
    size_t n;
    unsigned port;
    if (!split_host_port(host_header, strlen(host_header), &host, &n, &port))
        return false;
    if (n > 0 && host[n - 1] == '.')
        n--;
    if (n == 0)
        return false;
    if (name_listed(g, host, n))
        return true;
    char lit[64];
    if (n >= sizeof(lit))
        return false;
    memcpy(lit, host, n);
    lit[n] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    if (host_header[0] != '[' && inet_pton(AF_INET, lit, &a4) == 1)
        return v4_is_local(g, &a4, true);
    if (host_header[0] == '[' && inet_pton(AF_INET6, lit, &a6) == 1)
        return v6_is_local(g, &a6);
    return false;
}

bool http_guard_origin_is_allowed(const http_guard *g, const char *origin, const char *host_header)
{
    char scheme[8];
    const char *host;
    size_t n;
    unsigned port;
    if (!split_origin(origin, false, scheme, sizeof(scheme), &host, &n, &port))
        return false; /* "null", garbage */
    /* Same origin: the host and port the request was sent to. */
    const char *rh;
    size_t rn;
    unsigned rport;
    if (host_header && split_host_port(host_header, strlen(host_header), &rh, &rn, &rport)) {
        if (rport == 0)
            rport = strcasecmp(scheme, "https") == 0 ? 443 : 80;
        if (rn == n && strncasecmp(rh, host, n) == 0 && rport == port)
            return true;
    }
    if (g->public_host && strcasecmp(scheme, g->public_scheme) == 0 &&
        strlen(g->public_host) == n && strncasecmp(g->public_host, host, n) == 0 &&
        port == g->public_port)
        return true;
    for (size_t i = 0; i < g->norigins; i++)
        if (strcasecmp(g->origins[i], origin) == 0)
            return true;
    return false;
}

bool http_method_is_state_changing(const char *method)
{
    return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
           strcmp(method, "PATCH") == 0 || strcmp(method, "DELETE") == 0;
}
