/*
 * DESIGN: the text half of RTSP (RFC 2326) that a client and a server
 * share, parsed in place. A message is framed once its head (start line,
 * headers, blank line) and Content-Length body are both in the buffer; the
 * result is spans into that buffer, so nothing is copied or allocated and
 * the caller decides what to keep. One grammar serves both ends: replies
 * for the native client (src/ingest), requests for the camera simulator
 * (tools/camsim) and for the client when a server asks something. A peer
 * that speaks something else is refused from its first bytes, before a
 * whole head arrives (or never does).
 *
 * Header values the session needs (Session, Transport, comma lists) are
 * parsed from spans too; the client's own extras (RTP-Info, URLs) stay in
 * src/ingest. Thread: any (no state).
 */
#include "rtsp_proto.h"

#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- spans ---- */

struct rtsp_span rtsp_span_of(const char *s)
{
    return (struct rtsp_span){s, s ? strlen(s) : 0};
}

bool rtsp_span_eq(struct rtsp_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.len == n && memcmp(s.p, lit, n) == 0;
}

bool rtsp_span_ieq(struct rtsp_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.len == n && strncasecmp(s.p, lit, n) == 0;
}

int rtsp_span_copy(struct rtsp_span s, char *out, size_t size)
{
    if (s.len >= size)
        return -ENOSPC;
    if (s.len)
        memcpy(out, s.p, s.len);
    out[s.len] = '\0';
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static struct rtsp_span span_trim(struct rtsp_span s)
{
    while (s.len > 0 && is_space(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && (is_space(s.p[s.len - 1]) || s.p[s.len - 1] == '\r'))
        s.len--;
    return s;
}

static bool span_istarts(struct rtsp_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p && s.len >= n && strncasecmp(s.p, lit, n) == 0;
}

/* Splits s at the first sep: *head gets the part before, s the rest. False when s is empty. */
static bool span_split(struct rtsp_span *s, char sep, struct rtsp_span *head)
{
    if (!s->p || s->len == 0)
        return false;
    const char *at = memchr(s->p, sep, s->len);
    if (!at) {
        *head = *s;
        s->p += s->len;
        s->len = 0;
        return true;
    }
    *head = (struct rtsp_span){s->p, (size_t)(at - s->p)};
    s->len -= head->len + 1;
    s->p = at + 1;
    return true;
}

/* A decimal of digits only, at most max. Returns it, or -1. */
static long span_to_ulong(struct rtsp_span s, long max)
{
    if (!s.p || s.len == 0)
        return -1;
    long v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (s.p[i] - '0');
        if (v > max)
            return -1;
    }
    return v;
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

/* A cheap look at the first bytes: "RTSP/" or a method token and a space. */
static bool looks_like_rtsp(const uint8_t *buf, size_t len)
{
    static const char proto[] = "RTSP/";
    size_t n = len < 5 ? len : 5;
    if (memcmp(buf, proto, n) == 0)
        return true;
    size_t i = 0;
    while (i < len && i < 33 && is_token_char((char)buf[i]))
        i++;
    if (i == len)
        return i < 33;
    return i > 0 && i < 33 && buf[i] == ' ';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Parses the start line (without its line end). Returns 0 or HORUS_EPARSE. */
static int start_line_parse(struct rtsp_span line, struct rtsp_msg *out)
{
    const char *p = line.p, *end = line.p + line.len;
    if (line.len >= 5 && memcmp(p, "RTSP/", 5) == 0) {
        const char *sp = memchr(p, ' ', line.len);
        if (!sp || end - sp < 4 || !is_digit(sp[1]) || !is_digit(sp[2]) || !is_digit(sp[3]) ||
            (end - sp > 4 && sp[4] != ' '))
            return HORUS_EPARSE;
        out->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
        return out->status >= 100 ? 0 : HORUS_EPARSE;
    }
    const char *sp1 = memchr(p, ' ', line.len);
    if (!sp1 || sp1 == p || sp1 - p > 32)
        return HORUS_EPARSE;
    for (const char *q = p; q < sp1; q++)
        if (!is_token_char(*q))
            return HORUS_EPARSE;
    const char *u = sp1 + 1;
    const char *sp2 = memchr(u, ' ', (size_t)(end - u));
    if (!sp2 || sp2 == u)
        return HORUS_EPARSE;
    for (const char *q = u; q < sp2; q++)
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return HORUS_EPARSE;
    struct rtsp_span version = {sp2 + 1, (size_t)(end - sp2 - 1)};
    if (!rtsp_span_eq(version, "RTSP/1.0") && !rtsp_span_eq(version, "RTSP/1.1"))
        return HORUS_EPARSE;
    out->is_request = true;
    out->method = (struct rtsp_span){p, (size_t)(sp1 - p)};
    out->uri = (struct rtsp_span){u, (size_t)(sp2 - u)};
    return 0;
}

int rtsp_msg_parse(const uint8_t *buf, size_t len, size_t body_max, struct rtsp_msg *out)
{
    if (len == 0)
        return 0;
    if (!looks_like_rtsp(buf, len))
        return HORUS_EPARSE;
    size_t end = head_end(buf, len < RTSP_HEAD_MAX ? len : RTSP_HEAD_MAX);
    if (end == 0)
        return len >= RTSP_HEAD_MAX ? HORUS_ETOOBIG : 0;
    out->is_request = false;
    out->status = 0;
    out->method = out->uri = (struct rtsp_span){NULL, 0};
    out->cseq = -1;
    out->nheaders = 0;
    out->body = NULL;
    out->body_len = 0;

    const char *text = (const char *)buf;
    size_t pos = 0;
    bool is_first = true;
    struct rtsp_header *last = NULL;
    while (pos < end) {
        const char *nl = memchr(text + pos, '\n', end - pos);
        struct rtsp_span line = {text + pos, (size_t)(nl - (text + pos))};
        pos = (size_t)(nl - text) + 1;
        if (line.len > 0 && line.p[line.len - 1] == '\r')
            line.len--;
        if (line.len == 0)
            break; /* the blank line */
        if (memchr(line.p, '\0', line.len))
            return HORUS_EPARSE;
        if (is_first) {
            is_first = false;
            if (start_line_parse(line, out) < 0)
                return HORUS_EPARSE;
            continue;
        }
        if (is_space(line.p[0])) {
            /* Folded: the previous value goes on to the end of this line. */
            if (!last)
                return HORUS_EPARSE;
            last->value.len = (size_t)(line.p + line.len - last->value.p);
            continue;
        }
        const char *colon = memchr(line.p, ':', line.len);
        if (!colon || colon == line.p)
            return HORUS_EPARSE;
        if (out->nheaders == RTSP_HEADERS_MAX)
            return HORUS_ETOOBIG;
        last = &out->headers[out->nheaders++];
        last->name = span_trim((struct rtsp_span){line.p, (size_t)(colon - line.p)});
        last->value = (struct rtsp_span){colon + 1, (size_t)(line.p + line.len - colon - 1)};
    }
    if (is_first)
        return HORUS_EPARSE;
    /* Values were left untrimmed so folding could extend them; trim now. */
    for (unsigned i = 0; i < out->nheaders; i++)
        out->headers[i].value = span_trim(out->headers[i].value);

    out->cseq = span_to_ulong(rtsp_msg_header(out, "CSeq"), 2147483647L);
    struct rtsp_span clen = rtsp_msg_header(out, "Content-Length");
    long body = 0;
    if (clen.p) {
        body = span_to_ulong(clen, 2147483647L);
        if (body < 0)
            return HORUS_EPARSE;
        if ((size_t)body > body_max)
            return HORUS_ETOOBIG;
    }
    if (len - end < (size_t)body)
        return 0;
    out->body = buf + end;
    out->body_len = (size_t)body;
    return (int)(end + (size_t)body);
}

struct rtsp_span rtsp_msg_header(const struct rtsp_msg *msg, const char *name)
{
    for (unsigned i = 0; i < msg->nheaders; i++)
        if (rtsp_span_ieq(msg->headers[i].name, name))
            return msg->headers[i].value;
    return (struct rtsp_span){NULL, 0};
}

/* ---- header values ---- */

int rtsp_session_parse(struct rtsp_span value, struct rtsp_span *id, int *timeout_s)
{
    *timeout_s = 60;
    struct rtsp_span rest = value, item;
    if (!span_split(&rest, ';', &item))
        return HORUS_EPARSE;
    item = span_trim(item);
    if (item.len == 0)
        return HORUS_EPARSE;
    for (size_t i = 0; i < item.len; i++)
        if ((unsigned char)item.p[i] <= ' ' || item.p[i] == '"' || item.p[i] == 0x7f)
            return HORUS_EPARSE;
    *id = item;
    while (span_split(&rest, ';', &item)) {
        item = span_trim(item);
        if (span_istarts(item, "timeout=")) {
            long t = span_to_ulong(span_trim((struct rtsp_span){item.p + 8, item.len - 8}), 86400);
            if (t > 0)
                *timeout_s = (int)t;
        }
    }
    return 0;
}

/* Parses "a[-b]" (b defaults to a + 1) within lo_min..max into *a and *b. */
static int parse_pair(struct rtsp_span v, long lo_min, long max, int *a, int *b)
{
    struct rtsp_span first = v, second = {NULL, 0};
    const char *dash = memchr(v.p, '-', v.len);
    if (dash) {
        first = (struct rtsp_span){v.p, (size_t)(dash - v.p)};
        second = (struct rtsp_span){dash + 1, v.len - first.len - 1};
    }
    long lo = span_to_ulong(span_trim(first), max);
    if (lo < lo_min)
        return HORUS_EPARSE;
    long hi = lo + 1;
    if (second.p) {
        hi = span_to_ulong(span_trim(second), max);
        if (hi < lo_min)
            return HORUS_EPARSE;
    }
    if (hi > max)
        return HORUS_EPARSE;
    *a = (int)lo;
    *b = (int)hi;
    return 0;
}

/* The parameters of one spec. Returns 1 when it is one we take, 0 when not, or HORUS_EPARSE. */
static int transport_spec_parse(struct rtsp_span proto, struct rtsp_span params,
                                struct rtsp_transport *t)
{
    bool is_tcp = rtsp_span_ieq(proto, "RTP/AVP/TCP");
    if (!is_tcp && !rtsp_span_ieq(proto, "RTP/AVP") && !rtsp_span_ieq(proto, "RTP/AVP/UDP"))
        return 0;
    memset(t, 0, sizeof(*t));
    bool is_multicast = false, has_ports = false;
    struct rtsp_span param;
    while (span_split(&params, ';', &param)) {
        param = span_trim(param);
        if (is_tcp && span_istarts(param, "interleaved=")) {
            struct rtsp_span v = {param.p + 12, param.len - 12};
            if (parse_pair(v, 0, 255, &t->channel_rtp, &t->channel_rtcp) < 0)
                return HORUS_EPARSE;
            t->has_interleaved = true;
        } else if (!is_tcp && span_istarts(param, "client_port=")) {
            struct rtsp_span v = {param.p + 12, param.len - 12};
            if (parse_pair(v, 1, 65535, &t->client_port_rtp, &t->client_port_rtcp) < 0)
                return HORUS_EPARSE;
            has_ports = true;
        } else if (!is_tcp && span_istarts(param, "server_port=")) {
            struct rtsp_span v = {param.p + 12, param.len - 12};
            if (parse_pair(v, 1, 65535, &t->server_port_rtp, &t->server_port_rtcp) < 0)
                return HORUS_EPARSE;
            t->has_server_port = true;
        } else if (rtsp_span_ieq(param, "multicast")) {
            is_multicast = true;
        }
    }
    if (is_tcp) {
        t->is_tcp = true;
        return 1;
    }
    if (is_multicast || (!has_ports && !t->has_server_port))
        return 0;
    t->is_udp = has_ports;
    return 1;
}

int rtsp_transport_parse(struct rtsp_span value, struct rtsp_transport *out)
{
    memset(out, 0, sizeof(*out));
    struct rtsp_span rest = value, spec;
    while (span_split(&rest, ',', &spec)) {
        struct rtsp_span params = span_trim(spec), proto;
        if (!span_split(&params, ';', &proto))
            continue;
        struct rtsp_transport t;
        int rc = transport_spec_parse(span_trim(proto), params, &t);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *out = t;
            return 0;
        }
    }
    return 0;
}

bool rtsp_list_next(struct rtsp_span *list, struct rtsp_span *item)
{
    if (!list->p || list->len == 0)
        return false;
    bool in_quote = false;
    size_t i = 0;
    for (; i < list->len && (in_quote || list->p[i] != ','); i++)
        if (list->p[i] == '"')
            in_quote = !in_quote;
    *item = span_trim((struct rtsp_span){list->p, i});
    size_t skip = i < list->len ? i + 1 : i;
    list->p += skip;
    list->len -= skip;
    return true;
}

bool rtsp_list_has(struct rtsp_span list, const char *item)
{
    struct rtsp_span it;
    while (rtsp_list_next(&list, &it))
        if (rtsp_span_ieq(it, item))
            return true;
    return false;
}

int rtsp_request_parse(const uint8_t *buf, size_t len, size_t body_max, struct rtsp_msg *out)
{
    int rc = rtsp_msg_parse(buf, len, body_max, out);
    if (rc <= 0)
        return rc;
    if (!out->is_request)
        return HORUS_EPARSE;
    if (out->cseq < 0 && rtsp_msg_header(out, "CSeq").p)
        return HORUS_EPARSE;
    return rc;
}

void rtsp_reply_start(struct rtsp_reply *r, int code, const char *reason, long cseq)
{
    r->len = 0;
    r->head[0] = '\0';
    rtsp_reply_add(r, "RTSP/1.0 %d %s\r\n", code, reason);
    if (cseq >= 0)
        rtsp_reply_add(r, "CSeq: %ld\r\n", cseq);
}

void rtsp_reply_add(struct rtsp_reply *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->head + r->len, sizeof(r->head) - r->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->len += (size_t)n < sizeof(r->head) - r->len ? (size_t)n : sizeof(r->head) - r->len - 1;
}
