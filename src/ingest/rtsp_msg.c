/*
 * DESIGN: the text half of RTSP (RFC 2326) as a client needs it, pure
 * logic: URLs, replies, the headers that drive a session (CSeq, Session
 * with its timeout, Transport, Public, RTP-Info) and authentication (Basic,
 * Digest with MD5 and optional qop=auth, RFC 2617). The grammar both ends
 * share (framing, Session, Transport, auth-params, the Digest response) is
 * src/proto's; this file adds what only a client wants of it.
 *
 * A reply is framed in place once its head and body are both in the
 * buffer; the header lines are then copied into the message unfolded and
 * NUL-terminated (the header parsers here want C strings), the body stays
 * where it is. Replies are rare (the handshake, keep-alives), so the copy
 * is not on the packet path. Nothing here allocates.
 * Thread: any (no state).
 */
#include "rtsp_int.h"

#include "err.h"
#include "hex.h"

#include <libavutil/base64.h>

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

/* Copies n bytes of percent-encoded text into out, decoded. Returns 0 or HORUS_EPARSE. */
static int percent_decode(const char *in, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i];
        if (c == '%') {
            if (i + 2 >= n)
                return HORUS_EPARSE;
            int a = horus_hex_value(in[i + 1]), b = horus_hex_value(in[i + 2]);
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

/*
 * Copies value into text at *t, NUL-terminated, each line break of a folded
 * value and the white space after it turned into one space. Returns where
 * it starts, or NULL when text is full.
 */
static const char *unfold(struct rtsp_span value, char *text, size_t size, size_t *t)
{
    if (*t + value.len + 1 > size)
        return NULL;
    char *start = text + *t, *o = start;
    for (size_t i = 0; i < value.len; i++) {
        char c = value.p[i];
        bool is_break = c == '\n' || (c == '\r' && i + 1 < value.len && value.p[i + 1] == '\n');
        if (!is_break) {
            *o++ = c;
            continue;
        }
        if (c == '\r')
            i++;
        while (i + 1 < value.len && (value.p[i + 1] == ' ' || value.p[i + 1] == '\t'))
            i++;
        *o++ = ' ';
    }
    *o++ = '\0';
    *t = (size_t)(o - text);
    return start;
}

int ing_rtsp_msg_parse(const uint8_t *buf, size_t len, struct ing_rtsp_msg *out)
{
    int n = rtsp_msg_parse(buf, len, ING_RTSP_BODY_MAX, &out->raw);
    if (n <= 0)
        return n;
    const struct rtsp_msg *raw = &out->raw;
    out->is_request = raw->is_request;
    out->status = raw->status;
    out->method[0] = '\0';
    if (raw->is_request && rtsp_span_copy(raw->method, out->method, sizeof(out->method)) < 0)
        return HORUS_EPARSE;
    out->cseq = raw->cseq;
    out->body = raw->body;
    out->body_len = raw->body_len;
    out->nheaders = 0;
    size_t t = 0;
    for (unsigned i = 0; i < raw->nheaders; i++) {
        const char *name = unfold(raw->headers[i].name, out->text, sizeof(out->text), &t);
        const char *value =
            name ? unfold(raw->headers[i].value, out->text, sizeof(out->text), &t) : NULL;
        if (!value)
            return HORUS_ETOOBIG;
        out->headers[i].name = name;
        out->headers[i].value = value;
        out->nheaders++;
    }
    return n;
}

const char *ing_rtsp_msg_header(const struct ing_rtsp_msg *msg, const char *name)
{
    for (unsigned i = 0; i < msg->nheaders; i++)
        if (strcasecmp(msg->headers[i].name, name) == 0)
            return msg->headers[i].value;
    return NULL;
}

/* ---- header values ---- */

/* A decimal of at most max, white space around it allowed. Returns it, or -1. */
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
    struct rtsp_span sid;
    int rc = rtsp_session_parse(rtsp_span_of(value), &sid, timeout_s);
    if (rc < 0)
        return rc;
    return rtsp_span_copy(sid, id, size) < 0 ? HORUS_EPARSE : 0;
}

int ing_rtsp_transport_parse(const char *value, int *rtp_channel, int *rtcp_channel)
{
    struct rtsp_transport t;
    if (rtsp_transport_parse(rtsp_span_of(value), &t) < 0 || !t.is_tcp)
        return HORUS_EPARSE;
    if (!t.has_interleaved)
        return -ENOENT;
    *rtp_channel = t.channel_rtp;
    *rtcp_channel = t.channel_rtcp;
    return 0;
}

int ing_rtsp_transport_parse_udp(const char *value, int *server_rtp, int *server_rtcp)
{
    struct rtsp_transport t;
    if (rtsp_transport_parse(rtsp_span_of(value), &t) < 0 || t.is_tcp ||
        (!t.is_udp && !t.has_server_port))
        return HORUS_EPARSE;
    if (!t.has_server_port)
        return -ENOENT;
    *server_rtp = t.server_port_rtp;
    *server_rtcp = t.server_port_rtcp;
    return 0;
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

int ing_rtsp_challenge_parse(const char *value, struct ing_rtsp_challenge *out)
{
    memset(out, 0, sizeof(*out));
    struct rtsp_auth_params p;
    int rc = rtsp_auth_parse(rtsp_span_of(value), &p);
    if (rtsp_span_ieq(p.scheme, "Basic"))
        out->scheme = ING_RTSP_AUTH_BASIC;
    else if (rtsp_span_ieq(p.scheme, "Digest"))
        out->scheme = ING_RTSP_AUTH_DIGEST;
    else
        return p.scheme.len ? -ENOTSUP : HORUS_EPARSE;
    if (rc < 0)
        return rc;
    if (p.algorithm[0] && strcasecmp(p.algorithm, "MD5") != 0)
        return -ENOTSUP;
    if (!copy_whole(out->realm, sizeof(out->realm), p.realm) ||
        !copy_whole(out->nonce, sizeof(out->nonce), p.nonce) ||
        !copy_whole(out->opaque, sizeof(out->opaque), p.opaque))
        return HORUS_EPARSE;
    out->has_opaque = p.has_opaque;
    out->is_stale = strcasecmp(p.stale, "true") == 0;
    out->is_qop_auth = rtsp_list_has(rtsp_span_of(p.qop), "auth");
    if (out->scheme == ING_RTSP_AUTH_DIGEST && !p.has_nonce)
        return HORUS_EPARSE;
    return 0;
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
    char ha1[33], response[33], ncs[9];
    snprintf(ncs, sizeof(ncs), "%08x", nc);
    if (rtsp_digest_ha1(user, chal->realm, password, ha1) < 0 ||
        rtsp_digest_response(ha1, chal->nonce, method, uri, chal->is_qop_auth ? "auth" : NULL, ncs,
                             cnonce, response) < 0)
        return -ENOSPC;
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
