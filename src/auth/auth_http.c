/*
 * DESIGN: the few header parsers identity needs. Each reads bytes straight
 * from the network, so each is bounded, rejects anything outside its
 * grammar rather than guessing, and is fuzzed (tests/fuzz/fuzz_auth_http.c).
 * Thread: any.
 */
#include "auth_http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_token68(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("-._~+/=", c) != NULL;
}

int auth_bearer_parse(const char *header, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    if (!header)
        return -ENOENT;
    if (strncasecmp(header, "Bearer", 6) != 0 || (header[6] != ' ' && header[6] != '\0'))
        return -ENOENT;
    const char *t = header + 6;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    if (n == 0 || n > AUTH_TOKEN_MAX || n + 1 > cap)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!is_token68(t[i]))
            return -EINVAL;
    memcpy(out, t, n + 1);
    return 0;
}

static bool is_cookie_octet(char c)
{
    unsigned char u = (unsigned char)c;
    return u == 0x21 || (u >= 0x23 && u <= 0x2b) || (u >= 0x2d && u <= 0x3a) ||
           (u >= 0x3c && u <= 0x5b) || (u >= 0x5d && u <= 0x7e);
}

int auth_cookie_get(const char *header, const char *name, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    if (!header || cap == 0)
        return -ENOENT;
    size_t nlen = strlen(name);
    bool found = false;
    const char *s = header;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ';')
            s++;
        size_t len = strcspn(s, ";");
        const char *eq = memchr(s, '=', len);
        if (eq && (size_t)(eq - s) == nlen && strncmp(s, name, nlen) == 0) {
            if (found)
                return -EINVAL; /* two values: which one the browser meant is unknowable */
            found = true;
            const char *v = eq + 1;
            size_t vlen = len - (size_t)(v - s);
            while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
                v++;
                vlen -= 2;
            }
            if (vlen + 1 > cap)
                return -EINVAL;
            for (size_t i = 0; i < vlen; i++)
                if (!is_cookie_octet(v[i]))
                    return -EINVAL;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
        }
        s += len;
    }
    return found ? 0 : -ENOENT;
}

/* The length of the "scheme://authority" prefix of url, or 0 when it has none. */
static size_t origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p || p == url)
        return 0;
    p += 3;
    size_t n = strcspn(p, "/?#");
    return n == 0 ? 0 : (size_t)(p - url) + n;
}

bool auth_origin_is_same(const char *origin, const char *host, const char *public_url)
{
    if (!origin)
        return false;
    size_t n = origin_len(origin);
    if (n == 0)
        return false;
    if (public_url && public_url[0]) {
        size_t m = origin_len(public_url);
        if (m == n && strncasecmp(origin, public_url, n) == 0)
            return true;
    }
    if (!host || !host[0] || strlen(host) > 255)
        return false;
    char want[300];
    for (int tls = 0; tls < 2; tls++) {
        int len = snprintf(want, sizeof(want), "%s://%s", tls ? "https" : "http", host);
        if ((size_t)len == n && strncasecmp(origin, want, n) == 0)
            return true;
    }
    return false;
}
