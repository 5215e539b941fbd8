/*
 * DESIGN: the text half of RTSP (RFC 2326) as a client needs it, pure
 * logic: URLs, replies (status line, headers with folding and any case,
 * Content-Length bodies), the headers that drive a session (CSeq, Session
 * with its timeout, Transport, Public, RTP-Info) and authentication (Basic,
 * Digest with MD5 and optional qop=auth, RFC 2617).
 *
 * A reply is parsed in one go once its head and body are both in the
 * buffer: the head is copied into the message with header lines unfolded
 * and NUL-terminated, the body stays where it is. Nothing here allocates.
 * Thread: any (no state).
 */
#include "rtsp_int.h"

#include "err.h"

#include <libavutil/base64.h>
#include <libavutil/md5.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Copies src into dst when it fits whole. Returns false (dst untouched) when not. */
static bool copy_whole(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* ---- URLs ---- */

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies n bytes of percent-encoded text into out, decoded. Returns 0 or HORUS_EPARSE. */
static int percent_decode(const char *in, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i];
        if (c == '%') {
            if (i + 2 >= n)
                return HORUS_EPARSE;
            int a = hex_value((unsigned char)in[i + 1]), b = hex_value((unsigned char)in[i + 2]);
            if (a < 0 || b < 0)
                return HORUS_EPARSE;
            c = a * 16 + b;
            i += 2;
        }
        if (c == 0 || o + 1 >= size)
            return HORUS_EPARSE;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

int ing_rtsp_url_parse(const char *url, struct ing_rtsp_url *out)
{
    memset(out, 0, sizeof(*out));
    size_t skip;
    if (strncasecmp(url, "rtsp://", 7) == 0) {
        skip = 7;
    } else if (strncasecmp(url, "rtsps://", 8) == 0) {
        skip = 8;
        out->is_rtsps = true;
    } else {
        return HORUS_EPARSE;
    }
    const char *auth = url + skip;
    size_t alen = strcspn(auth, "/?#");
    /* The last '@' ends the user info: passwords may hold '@' unencoded. */
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@')
            at = auth + i;
    const char *host = auth;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        size_t ulen = colon ? (size_t)(colon - auth) : (size_t)(at - auth);
        if (percent_decode(auth, ulen, out->user, sizeof(out->user)) < 0)
            return HORUS_EPARSE;
        if (colon && percent_decode(colon + 1, (size_t)(at - colon - 1), out->password,
                                    sizeof(out->password)) < 0)
            return HORUS_EPARSE;
        out->has_credentials = true;
        host = at + 1;
    }
    size_t hlen = (size_t)(auth + alen - host);
    const char *port = NULL;
    if (hlen > 0 && host[0] == '[') {
        const char *close = memchr(host, ']', hlen);
        if (!close || close == host + 1)
            return HORUS_EPARSE;
        if ((size_t)(close - host - 1) >= sizeof(out->host))
            return HORUS_EPARSE;
        memcpy(out->host, host + 1, (size_t)(close - host - 1));
        if (close + 1 < host + hlen) {
            if (close[1] != ':')
                return HORUS_EPARSE;
            port = close + 2;
        }
    } else {
        const char *colon = memchr(host, ':', hlen);
        size_t n = colon ? (size_t)(colon - host) : hlen;
        if (n == 0 || n >= sizeof(out->host))
            return HORUS_EPARSE;
        memcpy(out->host, host, n);
        if (colon)
            port = colon + 1;
    }
    out->port = out->is_rtsps ? 322 : 554;
    if (port) {
        const char *end = auth + alen;
        if (port == end)
            return HORUS_EPARSE;
        long p = 0;
        for (const char *c = port; c < end; c++) {
            if (*c < '0' || *c > '9')
                return HORUS_EPARSE;
            p = p * 10 + (*c - '0');
            if (p > 65535)
                return HORUS_EPARSE;
        }
        if (p == 0)
            return HORUS_EPARSE;
        out->port = (int)p;
    }
    for (const char *c = out->host; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '/' || *c == '@')
            return HORUS_EPARSE;
    int n = snprintf(out->request_url, sizeof(out->request_url), "%.*s%.*s%s", (int)skip, url,
                     (int)hlen, host, auth + alen);
    if (n < 0 || (size_t)n >= sizeof(out->request_url))
        return HORUS_EPARSE;
    for (char *c = out->request_url; *c; c++)
        if ((unsigned char)*c <= ' ')
            return HORUS_EPARSE; /* would break the request line */
    return 0;
}

int ing_rtsp_url_resolve(const char *base, const char *control, char *out, size_t size)
{
    int n;
    if (strncasecmp(control, "rtsp://", 7) == 0 || strncasecmp(control, "rtsps://", 8) == 0)
        n = snprintf(out, size, "%s", control);
    else if (control[0] == '\0' || strcmp(control, "*") == 0)
        n = snprintf(out, size, "%s", base);
    else {
        size_t blen = strlen(base);
        bool has_slash = blen > 0 && base[blen - 1] == '/';
        n = snprintf(out, size, "%s%s%s", base, has_slash ? "" : "/",
                     control[0] == '/' && has_slash ? control + 1 : control);
    }
    return n >= 0 && (size_t)n < size ? 0 : -ENOSPC;
}

/* ---- messages ---- */

/* Where the head ends (after the blank line), or 0 when not in buf[0..len). */
static size_t head_end(const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (buf[i + 1] == '\n')
            return i + 2;
        if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/*
 * A cheap early look at the first bytes, so that a peer speaking something
 * else is recognised before a whole head arrives (or never does).
 */
static bool looks_like_rtsp(const uint8_t *buf, size_t len)
{
    static const char proto[] = "RTSP/";
    size_t n = len < 5 ? len : 5;
    if (memcmp(buf, proto, n) == 0)
        return true;
    /* A request from the server: an upper-case method, a space. */
    size_t i = 0;
    while (i < len && i < 32 && ((buf[i] >= 'A' && buf[i] <= 'Z') || buf[i] == '_'))
        i++;
    if (i == len)
        return i < 32;
    return i > 0 && buf[i] == ' ';
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Parses the first line (NUL-terminated, no CR). Returns 0 or HORUS_EPARSE. */
static int first_line_parse(char *line, struct ing_rtsp_msg *out)
{
    if (strncmp(line, "RTSP/", 5) == 0) {
        char *sp = strchr(line, ' ');
        if (!sp || !isdigit((unsigned char)sp[1]) || !isdigit((unsigned char)sp[2]) ||
            !isdigit((unsigned char)sp[3]) || (sp[4] != ' ' && sp[4] != '\0'))
            return HORUS_EPARSE;
        out->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
        return out->status >= 100 ? 0 : HORUS_EPARSE;
    }
    char *sp = strchr(line, ' ');
    char *last = strrchr(line, ' ');
    if (!sp || sp == line || (size_t)(sp - line) >= sizeof(out->method) || last == sp ||
        strncmp(last + 1, "RTSP/", 5) != 0)
        return HORUS_EPARSE;
    out->is_request = true;
    memcpy(out->method, line, (size_t)(sp - line));
    out->method[sp - line] = '\0';
    return 0;
}

static long parse_ulong(const char *s, long max)
{
    if (!s)
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!isdigit((unsigned char)*s))
        return -1;
    long v = 0;
    for (; isdigit((unsigned char)*s); s++) {
        v = v * 10 + (*s - '0');
        if (v > max)
            return -1;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    return *s ? -1 : v;
}

int ing_rtsp_msg_parse(const uint8_t *buf, size_t len, struct ing_rtsp_msg *out)
{
    if (len == 0)
        return 0;
    if (!looks_like_rtsp(buf, len))
        return HORUS_EPARSE;
    size_t limit = len < ING_RTSP_HEAD_MAX ? len : ING_RTSP_HEAD_MAX;
    size_t end = head_end(buf, limit);
    if (end == 0)
        return len >= ING_RTSP_HEAD_MAX ? HORUS_ETOOBIG : 0;
    out->is_request = false;
    out->status = 0;
    out->method[0] = '\0';
    out->nheaders = 0;
    out->cseq = -1;
    out->body = NULL;
    out->body_len = 0;

    /* Copy the head, one line at a time, folding continuation lines. */
    char *text = out->text;
    size_t t = 0;
    size_t pos = 0;
    bool is_first = true;
    char *value_of_last = NULL;
    while (pos < end) {
        size_t eol = pos;
        while (eol < end && buf[eol] != '\n')
            eol++;
        size_t n = eol - pos;
        if (n > 0 && buf[pos + n - 1] == '\r')
            n--;
        const char *line = (const char *)buf + pos;
        pos = eol + 1;
        if (n == 0)
            break; /* the blank line */
        if (memchr(line, '\0', n))
            return HORUS_EPARSE;
        if (!is_first && (line[0] == ' ' || line[0] == '\t')) {
            if (!value_of_last)
                return HORUS_EPARSE;
            /* Folded: the previous value goes on after one space. */
            if (t == 0 || t + n + 1 >= sizeof(out->text))
                return HORUS_ETOOBIG;
            t--; /* over the previous NUL */
            text[t++] = ' ';
            while (n > 0 && (*line == ' ' || *line == '\t')) {
                line++;
                n--;
            }
            memcpy(text + t, line, n);
            t += n;
            text[t++] = '\0';
            continue;
        }
        if (t + n + 1 >= sizeof(out->text))
            return HORUS_ETOOBIG;
        char *copy = text + t;
        memcpy(copy, line, n);
        copy[n] = '\0';
        t += n + 1;
        if (is_first) {
            is_first = false;
            if (first_line_parse(copy, out) < 0)
                return HORUS_EPARSE;
            continue;
        }
        char *colon = strchr(copy, ':');
        if (!colon || colon == copy)
            return HORUS_EPARSE;
        if (out->nheaders == ING_RTSP_HEADERS_MAX)
            return HORUS_ETOOBIG;
        *colon = '\0';
        out->headers[out->nheaders].name = trim(copy);
        out->headers[out->nheaders].value = value_of_last = colon + 1;
        out->nheaders++;
    }
    if (is_first)
        return HORUS_EPARSE;
    /* Values were stored untrimmed so folding could extend them; trim now. */
    for (unsigned i = 0; i < out->nheaders; i++)
        out->headers[i].value = trim((char *)out->headers[i].value);

    const char *cseq = ing_rtsp_msg_header(out, "CSeq");
    out->cseq = parse_ulong(cseq, 2147483647L);
    const char *clen = ing_rtsp_msg_header(out, "Content-Length");
    long body = 0;
    if (clen) {
        body = parse_ulong(clen, 2147483647L);
        if (body < 0)
            return HORUS_EPARSE;
        if (body > ING_RTSP_BODY_MAX)
            return HORUS_ETOOBIG;
    }
    if (len - end < (size_t)body)
        return 0;
    out->body = buf + end;
    out->body_len = (size_t)body;
    return (int)(end + (size_t)body);
}

const char *ing_rtsp_msg_header(const struct ing_rtsp_msg *msg, const char *name)
{
    for (unsigned i = 0; i < msg->nheaders; i++)
        if (strcasecmp(msg->headers[i].name, name) == 0)
            return msg->headers[i].value;
    return NULL;
}

/* ---- header values ---- */

/*
 * Splits "a;b=c;d" style parameters: returns the next item of s delimited
 * by sep (quoted strings protect separators), trimmed, in item (size bytes).
 * Returns the position after it, or NULL at the end.
 */
static const char *next_item(const char *s, char sep, char *item, size_t size)
{
    while (*s == ' ' || *s == '\t' || *s == sep)
        s++;
    if (!*s)
        return NULL;
    size_t n = 0;
    bool in_quote = false;
    for (; *s && (in_quote || *s != sep); s++) {
        if (*s == '"')
            in_quote = !in_quote;
        if (n + 1 < size)
            item[n++] = *s;
    }
    while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
        n--;
    item[n] = '\0';
    return s;
}

int ing_rtsp_session_parse(const char *value, char *id, size_t size, int *timeout_s)
{
    char item[256];
    const char *p = next_item(value, ';', item, sizeof(item));
    *timeout_s = 60;
    if (!p || !item[0] || strlen(item) >= size)
        return HORUS_EPARSE;
    for (const char *c = item; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '"')
            return HORUS_EPARSE;
    snprintf(id, size, "%s", item);
    while ((p = next_item(p, ';', item, sizeof(item)))) {
        if (strncasecmp(item, "timeout=", 8) == 0) {
            long t = parse_ulong(item + 8, 86400);
            if (t > 0)
                *timeout_s = (int)t;
        }
    }
    return 0;
}

int ing_rtsp_transport_parse(const char *value, int *rtp_channel, int *rtcp_channel)
{
    char first[512];
    next_item(value, ',', first, sizeof(first));
    char item[256];
    const char *p = next_item(first, ';', item, sizeof(item));
    if (!p || strcasecmp(item, "RTP/AVP/TCP") != 0)
        return HORUS_EPARSE;
    while ((p = next_item(p, ';', item, sizeof(item)))) {
        if (strncasecmp(item, "interleaved=", 12) != 0)
            continue;
        char *end;
        long a = strtol(item + 12, &end, 10);
        long b = a + 1;
        if (end == item + 12 || a < 0 || a > 255)
            return HORUS_EPARSE;
        if (*end == '-') {
            const char *q = end + 1;
            b = strtol(q, &end, 10);
            if (end == q || b < 0 || b > 255)
                return HORUS_EPARSE;
        }
        if (*end)
            return HORUS_EPARSE;
        *rtp_channel = (int)a;
        *rtcp_channel = (int)b;
        return 0;
    }
    return -ENOENT;
}

bool ing_rtsp_public_has(const char *value, const char *method)
{
    char item[64];
    const char *p = value;
    while ((p = next_item(p, ',', item, sizeof(item))))
        if (strcasecmp(item, method) == 0)
            return true;
    return false;
}

unsigned ing_rtsp_rtp_info_parse(const char *value, struct ing_rtsp_rtp_info *out, unsigned max)
{
    unsigned n = 0;
    char entry[ING_RTSP_URL_MAX + 64];
    const char *p = value;
    while (n < max && (p = next_item(p, ',', entry, sizeof(entry)))) {
        struct ing_rtsp_rtp_info *e = &out[n];
        memset(e, 0, sizeof(*e));
        char item[ING_RTSP_URL_MAX + 8];
        const char *q = entry;
        while ((q = next_item(q, ';', item, sizeof(item)))) {
            if (strncasecmp(item, "url=", 4) == 0) {
                copy_whole(e->url, sizeof(e->url), item + 4);
            } else if (strncasecmp(item, "seq=", 4) == 0) {
                long v = parse_ulong(item + 4, 65535);
                if (v >= 0) {
                    e->seq = (uint16_t)v;
                    e->has_seq = true;
                }
            } else if (strncasecmp(item, "rtptime=", 8) == 0) {
                long v = parse_ulong(item + 8, 4294967295L);
                if (v >= 0) {
                    e->rtptime = (uint32_t)v;
                    e->has_rtptime = true;
                }
            }
        }
        if (e->url[0] || e->has_seq || e->has_rtptime)
            n++;
    }
    return n;
}

/* ---- authentication ---- */

/* Copies the value of a "key=value" or key="value" item, unquoted, into out. */
static void param_value(const char *v, char *out, size_t size)
{
    size_t n = 0;
    if (*v == '"') {
        v++;
        for (; *v && *v != '"'; v++) {
            if (*v == '\\' && v[1])
                v++;
            if (n + 1 < size)
                out[n++] = *v;
        }
    } else {
        for (; *v && *v != ' ' && *v != '\t'; v++)
            if (n + 1 < size)
                out[n++] = *v;
    }
    out[n] = '\0';
}

int ing_rtsp_challenge_parse(const char *value, struct ing_rtsp_challenge *out)
{
    memset(out, 0, sizeof(*out));
    while (*value == ' ' || *value == '\t')
        value++;
    size_t slen = strcspn(value, " \t");
    if (slen == 5 && strncasecmp(value, "Basic", 5) == 0)
        out->scheme = ING_RTSP_AUTH_BASIC;
    else if (slen == 6 && strncasecmp(value, "Digest", 6) == 0)
        out->scheme = ING_RTSP_AUTH_DIGEST;
    else
        return slen ? -ENOTSUP : HORUS_EPARSE;
    char item[512];
    const char *p = value + slen;
    bool has_nonce = false;
    while ((p = next_item(p, ',', item, sizeof(item)))) {
        char *eq = strchr(item, '=');
        if (!eq)
            continue;
        *eq = '\0';
        char *key = trim(item);
        char *val = eq + 1;
        while (*val == ' ' || *val == '\t')
            val++;
        char v[256];
        param_value(val, v, sizeof(v));
        if (strcasecmp(key, "realm") == 0) {
            if (!copy_whole(out->realm, sizeof(out->realm), v))
                return HORUS_EPARSE;
        } else if (strcasecmp(key, "nonce") == 0) {
            if (!copy_whole(out->nonce, sizeof(out->nonce), v))
                return HORUS_EPARSE;
            has_nonce = true;
        } else if (strcasecmp(key, "opaque") == 0) {
            if (!copy_whole(out->opaque, sizeof(out->opaque), v))
                return HORUS_EPARSE;
            out->has_opaque = true;
        } else if (strcasecmp(key, "algorithm") == 0) {
            if (strcasecmp(v, "MD5") != 0)
                return -ENOTSUP;
        } else if (strcasecmp(key, "stale") == 0) {
            out->is_stale = strcasecmp(v, "true") == 0;
        } else if (strcasecmp(key, "qop") == 0) {
            char q[64];
            const char *r = v;
            while ((r = next_item(r, ',', q, sizeof(q))))
                if (strcasecmp(q, "auth") == 0)
                    out->is_qop_auth = true;
        }
    }
    if (out->scheme == ING_RTSP_AUTH_DIGEST && !has_nonce)
        return HORUS_EPARSE;
    return 0;
}

static void md5_hex(const char *text, char out[33])
{
    uint8_t digest[16];
    av_md5_sum(digest, (const uint8_t *)text, strlen(text));
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

int ing_rtsp_authorization(const struct ing_rtsp_challenge *chal, const char *user,
                           const char *password, const char *method, const char *uri, unsigned nc,
                           const char *cnonce, char *out, size_t size)
{
    int n;
    if (chal->scheme == ING_RTSP_AUTH_BASIC) {
        char plain[260];
        n = snprintf(plain, sizeof(plain), "%s:%s", user, password);
        if (n < 0 || (size_t)n >= sizeof(plain))
            return -ENOSPC;
        char b64[AV_BASE64_SIZE(sizeof(plain))];
        av_base64_encode(b64, sizeof(b64), (const uint8_t *)plain, n);
        n = snprintf(out, size, "Basic %s", b64);
        return n >= 0 && (size_t)n < size ? 0 : -ENOSPC;
    }
    char a1[520], ha1[33], a2[ING_RTSP_URL_MAX + 40], ha2[33], kd[512], response[33];
    snprintf(a1, sizeof(a1), "%s:%s:%s", user, chal->realm, password);
    md5_hex(a1, ha1);
    snprintf(a2, sizeof(a2), "%s:%s", method, uri);
    md5_hex(a2, ha2);
    char ncs[9];
    snprintf(ncs, sizeof(ncs), "%08x", nc);
    if (chal->is_qop_auth)
        snprintf(kd, sizeof(kd), "%s:%s:%s:%s:auth:%s", ha1, chal->nonce, ncs, cnonce, ha2);
    else
        snprintf(kd, sizeof(kd), "%s:%s:%s", ha1, chal->nonce, ha2);
    md5_hex(kd, response);
    n = snprintf(out, size,
                 "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
                 "response=\"%s\"",
                 user, chal->realm, chal->nonce, uri, response);
    if (n >= 0 && (size_t)n < size && chal->has_opaque)
        n += snprintf(out + n, size - (size_t)n, ", opaque=\"%s\"", chal->opaque);
    if (n >= 0 && (size_t)n < size && chal->is_qop_auth)
        n += snprintf(out + n, size - (size_t)n, ", qop=auth, nc=%s, cnonce=\"%s\"", ncs, cnonce);
    return n >= 0 && (size_t)n < size ? 0 : -ENOSPC;
}
