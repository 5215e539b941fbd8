/*
 * DESIGN: client addresses in binary, networks (CIDR) and the one reading
 * of X-Forwarded-For (docs/design/0020). Pure functions of their inputs,
 * no state, no allocation: Thread: any. Everything here parses bytes a
 * client sent, so fuzz_http_xff drives it.
 *
 * X-Forwarded-For is believed only as far as the proxies we trust wrote
 * it: each trusted proxy appends the address it received the request
 * from, so reading right to left, the first hop that is not a trusted
 * proxy is the client. Anything further left was written by the client
 * itself and is ignored. A hop that does not parse stops the walk at the
 * trusted proxy that passed it on: a broken or hostile value never turns
 * into an address nobody vouched for.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_TEXT_MAX 64 /* longer than any literal inet_pton accepts */

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int http_addr_parse(const char *s, size_t len, struct http_addr *out)
{
    char buf[ADDR_TEXT_MAX];
    if (!s || len == 0 || len >= sizeof(buf) || memchr(s, '\0', len))
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    struct http_addr a = {0};
    if (memchr(buf, ':', len)) {
        if (inet_pton(AF_INET6, buf, a.bytes) != 1)
            return -EINVAL;
        a.family = 6;
        if (memcmp(a.bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
            memmove(a.bytes, a.bytes + 12, 4);
            memset(a.bytes + 4, 0, 12);
            a.family = 4;
        }
    } else {
        if (inet_pton(AF_INET, buf, a.bytes) != 1)
            return -EINVAL;
        a.family = 4;
    }
    *out = a;
    return 0;
}

void http_addr_format(const struct http_addr *a, char *buf, size_t size)
{
    const char *ok = NULL;
    if (a && a->family == 4)
        ok = inet_ntop(AF_INET, a->bytes, buf, (socklen_t)size);
    else if (a && a->family == 6)
        ok = inet_ntop(AF_INET6, a->bytes, buf, (socklen_t)size);
    if (!ok)
        snprintf(buf, size, "unknown");
}

int http_cidr_parse(const char *s, struct http_cidr *out)
{
    if (!s)
        return -EINVAL;
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    struct http_cidr c = {0};
    if (http_addr_parse(s, len, &c.addr) < 0)
        return -EINVAL;
    unsigned max = c.addr.family == 4 ? 32 : 128;
    unsigned bits = max;
    if (slash) {
        const char *p = slash + 1;
        if (p[0] < '0' || p[0] > '9' || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p))
            return -EINVAL;
        bits = (unsigned)strtoul(p, NULL, 10);
        if (bits > max)
            return -EINVAL;
    }
    c.prefix_bits = (uint8_t)bits;
    for (unsigned i = 0; i < 16; i++) {
        unsigned first_bit = i * 8;
        if (first_bit >= bits)
            c.addr.bytes[i] = 0;
        else if (bits - first_bit < 8)
            c.addr.bytes[i] &= (uint8_t)(0xff << (8 - (bits - first_bit)));
    }
    *out = c;
    return 0;
}

static bool cidr_match(const struct http_cidr *c, const struct http_addr *a)
{
    if (c->addr.family != a->family)
        return false;
    unsigned full = c->prefix_bits / 8, rest = c->prefix_bits % 8;
    if (memcmp(c->addr.bytes, a->bytes, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a->bytes[full] & mask) == c->addr.bytes[full];
}

bool http_cidr_list_match(const struct http_cidr *list, size_t n, const struct http_addr *a)
{
    if (!a || a->family == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (cidr_match(&list[i], a))
            return true;
    return false;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* A port after an address: 1 to 5 digits, at most 65535. */
static bool is_port(const char *p, size_t len)
{
    if (len == 0 || len > 5)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    return v <= 65535;
}

/* One X-Forwarded-For hop, spaces already trimmed. Returns 0 or -EINVAL. */
static int parse_hop(const char *p, size_t len, struct http_addr *out)
{
    if (len > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', len);
        if (!close)
            return -EINVAL;
        size_t inner = (size_t)(close - p - 1);
        size_t after = len - inner - 2;
        if (after > 0 && (close[1] != ':' || !is_port(close + 2, after - 1)))
            return -EINVAL;
        if (!memchr(p + 1, ':', inner))
            return -EINVAL; /* brackets hold IPv6 only */
        return http_addr_parse(p + 1, inner, out);
    }
    const char *colon = memchr(p, ':', len);
    if (colon && !memchr(colon + 1, ':', len - (size_t)(colon - p) - 1)) {
        /* Exactly one colon: IPv4 with a port. */
        if (!is_port(colon + 1, len - (size_t)(colon - p) - 1))
            return -EINVAL;
        int rc = http_addr_parse(p, (size_t)(colon - p), out);
        return rc == 0 && out->family == 4 ? 0 : -EINVAL;
    }
    return http_addr_parse(p, len, out);
}

struct http_addr http_client_addr_resolve(const struct http_addr *peer, const char *const *values,
                                          size_t nvalues, const struct http_cidr *trusted,
                                          size_t ntrusted)
{
    struct http_addr client = *peer;
    if (ntrusted == 0 || !http_cidr_list_match(trusted, ntrusted, peer))
        return client;
    unsigned hops = 0;
    for (size_t v = nvalues; v-- > 0;) {
        const char *s = values[v];
        if (!s)
            continue;
        size_t end = strlen(s);
        for (;;) {
            /* The hop is s[start, end): after the last comma before end. */
            size_t start = end;
            while (start > 0 && s[start - 1] != ',')
                start--;
            size_t a = start, b = end;
            while (a < b && is_ows(s[a]))
                a++;
            while (b > a && is_ows(s[b - 1]))
                b--;
            if (a < b) {
                /* Empty list elements (",,") are allowed by the list syntax and skipped. */
                struct http_addr hop;
                if (++hops > HTTP_XFF_MAX_HOPS || parse_hop(s + a, b - a, &hop) < 0)
                    return client;
                client = hop;
                if (!http_cidr_list_match(trusted, ntrusted, &hop))
                    return client;
            }
            if (start == 0)
                break;
            end = start - 1;
        }
    }
    return client;
}
