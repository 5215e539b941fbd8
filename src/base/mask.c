/*
 * DESIGN: see mask.h. One pass over the input, writing into a bounded
 * output: every secret is replaced by "***" as it is met, so truncation
 * can only cut text that is safe to show. No allocation, no lock, no
 * locale: called for every log line and every URL the API returns.
 * Thread: any.
 *
 * A URL's userinfo ends at the last '@' after "://" (in text, the last one
 * before white space). RFC 3986 ends the authority at the first '/', '?' or
 * '#', but passwords typed into camera URLs carry those characters
 * unencoded and clients disagree on where such a URL's host starts; ending
 * at the last '@' hides the password whatever the reading, at the price of
 * hiding a path or query that holds an '@' (docs/design/0017 §5).
 */
#include "mask.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define MASK "***"
#define MAX_SHOWN_USER 32 /* longer user names may be tokens: hidden */
#define MIN_JWT_BYTES 16
#define MIN_BASIC_BYTES 8

struct out {
    char *buf;
    size_t size;
    size_t used;
};

static void put(struct out *o, const char *s, size_t n)
{
    size_t room = o->size - 1 - o->used;
    if (n > room)
        n = room;
    memcpy(o->buf + o->used, s, n);
    o->used += n;
    o->buf[o->used] = '\0';
}

static void put_mask(struct out *o)
{
    put(o, MASK, sizeof(MASK) - 1);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_b64url(char c)
{
    return is_alnum(c) || c == '-' || c == '_';
}

/* ---- names ---- */

static const char *const secret_names[] = {
    "password",     "passwd",        "pass",          "pwd",
    "pw",           "secret",        "token",         "t",
    "key",          "apikey",        "api_key",       "api-key",
    "auth",         "authorization", "signature",     "sig",
    "access_token", "refresh_token", "id_token",      "session",
    "sessionid",    "sid",           "jwt",           "credential",
    "credentials",  "private_key",   "client_secret", "x-api-key",
    NULL,
};

static const char *const secret_suffixes[] = {
    "password", "passwd", "secret",    "token",      "_key",
    "-key",     "apikey", "signature", "credential", NULL,
};

/* Names whose "name: value" form in text hides the next word (kept short: "key:" is common). */
static const char *const colon_names[] = {
    "password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "authorization", NULL,
};

/* s[0..n) without leading and trailing punctuation ("\"password" -> "password"). */
static const char *trim_name(const char *s, size_t *n)
{
    while (*n > 0 && !is_b64url(*s)) {
        s++;
        (*n)--;
    }
    while (*n > 0 && !is_b64url(s[*n - 1]))
        (*n)--;
    return s;
}

static bool in_list(const char *const *list, const char *s, size_t n)
{
    for (const char *const *w = list; *w; w++)
        if (strlen(*w) == n && strncasecmp(*w, s, n) == 0)
            return true;
    return false;
}

static bool is_secret_name(const char *s, size_t n)
{
    s = trim_name(s, &n);
    if (n == 0)
        return false;
    if (in_list(secret_names, s, n))
        return true;
    for (const char *const *w = secret_suffixes; *w; w++) {
        size_t k = strlen(*w);
        if (n > k && strncasecmp(s + n - k, *w, k) == 0)
            return true;
    }
    return false;
}

/* ---- pieces ---- */

/* Length of the JSON Web Token at s ("eyJ" + three base64url parts), or 0. */
static size_t jwt_len(const char *s, size_t n)
{
    if (n < 3 || memcmp(s, "eyJ", 3) != 0)
        return 0;
    size_t i = 0, dots = 0;
    while (i < n && (is_b64url(s[i]) || s[i] == '.')) {
        dots += s[i] == '.';
        i++;
    }
    return dots >= 2 && i >= MIN_JWT_BYTES ? i : 0;
}

/* Copies s[0..n), masking JSON Web Tokens. */
static void put_text(struct out *o, const char *s, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != 'e' || (i > 0 && is_b64url(s[i - 1])))
            continue;
        size_t len = jwt_len(s + i, n - i);
        if (!len)
            continue;
        put(o, s + from, i - from);
        put_mask(o);
        from = i + len;
        i = from - 1;
    }
    put(o, s + from, n - from);
}

static bool is_param_sep(char c)
{
    return c == '&' || c == ';' || c == '#' || c == '?';
}

/* Copies "a=1&password=x#token=y" (after a '?'), masking secret-named values. */
static void put_params(struct out *o, const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        size_t end = i;
        while (end < n && !is_param_sep(s[end]))
            end++;
        const char *eq = memchr(s + i, '=', end - i);
        if (eq && is_secret_name(s + i, (size_t)(eq - (s + i)))) {
            put(o, s + i, (size_t)(eq + 1 - (s + i)));
            put_mask(o);
        } else {
            put_text(o, s + i, end - i);
        }
        if (end >= n)
            return;
        put(o, s + end, 1);
        i = end + 1;
    }
}

/* A user name shown before ":***": short, and made of characters names are made of. */
static bool is_plain_user(const char *s, size_t n)
{
    if (n == 0 || n > MAX_SHOWN_USER)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-' && s[i] != '~')
            return false;
    return true;
}

/* Masks one URL-like token s[0..n) (a value, or a word of text). */
static void put_token(struct out *o, const char *s, size_t n)
{
    const char *sep = NULL;
    for (size_t i = 0; i + 3 <= n && !sep; i++)
        if (memcmp(s + i, "://", 3) == 0)
            sep = s + i;
    size_t host = 0, copied = 0;
    if (sep) {
        size_t auth = (size_t)(sep - s) + 3;
        size_t at = n;
        for (size_t j = n; j > auth; j--)
            if (s[j - 1] == '@') {
                at = j - 1;
                break;
            }
        host = auth;
        if (at < n) {
            put_text(o, s, auth);
            const char *ui = s + auth;
            size_t ulen = at - auth;
            const char *colon = memchr(ui, ':', ulen);
            if (colon && colon + 1 < ui + ulen && is_plain_user(ui, (size_t)(colon - ui)))
                put(o, ui, (size_t)(colon - ui) + 1);
            put_mask(o);
            copied = at;
            host = at + 1;
        }
    } else if (!memchr(s, '?', n) && !memchr(s, '#', n) && memchr(s, '=', n)) {
        /* A word of text like "password=x" or "a=1&token=y". */
        put_params(o, s, n);
        return;
    }
    size_t q = host;
    while (q < n && s[q] != '?' && s[q] != '#')
        q++;
    put_text(o, s + copied, q - copied);
    if (q < n) {
        put(o, s + q, 1);
        put_params(o, s + q + 1, n - q - 1);
    }
}

/* ---- text ---- */

enum pending { HIDE_NONE, HIDE_NEXT, HIDE_NEXT_BASE64 };

static bool looks_base64(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += is_alnum(s[i]) || s[i] == '+' || s[i] == '/' || s[i] == '=';
    return k >= MIN_BASIC_BYTES && k + 2 >= n;
}

/* What a word of text says about the next one ("Bearer" hides it). */
static enum pending word_pending(const char *s, size_t n)
{
    bool has_colon = n > 0 && s[n - 1] == ':';
    const char *w = trim_name(s, &n);
    if (n == 6 && strncasecmp(w, "bearer", 6) == 0)
        return HIDE_NEXT;
    if (n == 5 && strncasecmp(w, "basic", 5) == 0)
        return HIDE_NEXT_BASE64;
    if (has_colon && in_list(colon_names, w, n))
        return HIDE_NEXT;
    return HIDE_NONE;
}

static bool start(struct out *o, char *buf, size_t size)
{
    *o = (struct out){.buf = buf, .size = size};
    if (!buf || size == 0)
        return false;
    buf[0] = '\0';
    return true;
}

char *horus_mask_text(const char *in, char *buf, size_t size)
{
    struct out o;
    if (!start(&o, buf, size) || !in)
        return buf;
    enum pending pending = HIDE_NONE;
    const char *p = in;
    while (*p) {
        size_t ws = 0;
        while (p[ws] && is_space(p[ws]))
            ws++;
        put(&o, p, ws);
        p += ws;
        size_t n = 0;
        while (p[n] && !is_space(p[n]))
            n++;
        if (n == 0)
            break;
        if (pending == HIDE_NEXT || (pending == HIDE_NEXT_BASE64 && looks_base64(p, n)))
            put_mask(&o);
        else
            put_token(&o, p, n);
        pending = word_pending(p, n);
        p += n;
    }
    return buf;
}

char *horus_mask_url(const char *in, char *buf, size_t size)
{
    struct out o;
    if (!start(&o, buf, size) || !in)
        return buf;
    if (!strstr(in, "://"))
        return horus_mask_text(in, buf, size);
    put_token(&o, in, strlen(in));
    return buf;
}
