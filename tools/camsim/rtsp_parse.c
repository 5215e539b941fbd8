/*
 * DESIGN: the only code in horus-camsim that reads bytes from the network.
 * Each function takes a buffer and its length, never assumes a NUL, never
 * reads past len, and copies nothing but bounded fields into caller-owned
 * structs. Anything unexpected is HORUS_EPARSE; the server answers 400 and
 * closes. Thread: any (no state). Fuzzed by tools/camsim/fuzz.
 */
#include "rtsp_parse.h"

#include "err.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_token_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

static cs_span span_trim(cs_span s)
{
    while (s.len > 0 && is_space(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len > 0 && (is_space(s.p[s.len - 1]) || s.p[s.len - 1] == '\r')) {
        s.len--;
    }
    return s;
}

bool cs_span_eq(cs_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p != NULL && s.len == n && memcmp(s.p, lit, n) == 0;
}

static bool span_ieq(cs_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p != NULL && s.len == n && strncasecmp(s.p, lit, n) == 0;
}

static bool span_istarts(cs_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p != NULL && s.len >= n && strncasecmp(s.p, lit, n) == 0;
}

/* Parses a decimal in s into *out (no sign, at most 9 digits). */
static int span_to_long(cs_span s, long *out)
{
    if (s.len == 0 || s.len > 9)
        return HORUS_EPARSE;
    long v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return HORUS_EPARSE;
        v = v * 10 + (s.p[i] - '0');
    }
    *out = v;
    return 0;
}

/* Finds the end of the head: returns the offset just past the blank line, or 0. */
static size_t head_end(const char *buf, size_t len)
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

static int parse_request_line(cs_span line, cs_rtsp_request *req)
{
    const char *p = line.p;
    const char *end = line.p + line.len;
    const char *sp1 = memchr(p, ' ', line.len);
    if (!sp1 || sp1 == p || sp1 - p > 32)
        return HORUS_EPARSE;
    for (const char *q = p; q < sp1; q++) {
        if (!is_token_char(*q))
            return HORUS_EPARSE;
    }
    req->method = (cs_span){p, (size_t)(sp1 - p)};
    const char *u = sp1 + 1;
    const char *sp2 = memchr(u, ' ', (size_t)(end - u));
    if (!sp2 || sp2 == u)
        return HORUS_EPARSE;
    req->uri = (cs_span){u, (size_t)(sp2 - u)};
    for (size_t i = 0; i < req->uri.len; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c <= ' ' || c == 0x7f)
            return HORUS_EPARSE;
    }
    cs_span version = {sp2 + 1, (size_t)(end - sp2 - 1)};
    if (!cs_span_eq(version, "RTSP/1.0") && !cs_span_eq(version, "RTSP/1.1"))
        return HORUS_EPARSE;
    return 0;
}

static int parse_header_line(cs_span line, cs_rtsp_request *req)
{
    const char *colon = memchr(line.p, ':', line.len);
    if (!colon || colon == line.p)
        return HORUS_EPARSE;
    cs_span name = {line.p, (size_t)(colon - line.p)};
    for (size_t i = 0; i < name.len; i++) {
        if (!is_token_char(name.p[i]))
            return HORUS_EPARSE;
    }
    if (req->n_headers == CS_RTSP_MAX_HEADERS)
        return HORUS_ETOOBIG;
    cs_span value = {colon + 1, line.len - name.len - 1};
    req->headers[req->n_headers].name = name;
    req->headers[req->n_headers].value = span_trim(value);
    req->n_headers++;
    return 0;
}

int cs_rtsp_request_parse(const char *buf, size_t len, cs_rtsp_request *req)
{
    memset(req, 0, sizeof(*req));
    req->cseq = -1;
    size_t head_len = head_end(buf, len < CS_RTSP_MAX_HEAD_BYTES ? len : CS_RTSP_MAX_HEAD_BYTES);
    if (head_len == 0)
        return len >= CS_RTSP_MAX_HEAD_BYTES ? HORUS_ETOOBIG : 0;

    bool is_first = true;
    size_t pos = 0;
    while (pos < head_len) {
        const char *nl = memchr(buf + pos, '\n', head_len - pos);
        if (!nl)
            return HORUS_EPARSE; /* head_end guarantees a newline; defensive */
        cs_span line = {buf + pos, (size_t)(nl - (buf + pos))};
        pos = (size_t)(nl - buf) + 1;
        if (line.len > 0 && line.p[line.len - 1] == '\r')
            line.len--;
        if (line.len == 0)
            break; /* the blank line that ends the head */
        int rc = is_first ? parse_request_line(line, req) : parse_header_line(line, req);
        if (rc < 0)
            return rc;
        is_first = false;
    }
    if (is_first)
        return HORUS_EPARSE;

    cs_span cseq = cs_rtsp_request_header(req, "CSeq");
    if (cseq.p && span_to_long(cseq, &req->cseq) < 0)
        return HORUS_EPARSE;
    cs_span clen = cs_rtsp_request_header(req, "Content-Length");
    if (clen.p) {
        long n;
        if (span_to_long(clen, &n) < 0)
            return HORUS_EPARSE;
        if (n > CS_RTSP_MAX_BODY_BYTES)
            return HORUS_ETOOBIG;
        req->body_len = (size_t)n;
    }
    if (len - head_len < req->body_len)
        return 0;
    return (int)(head_len + req->body_len);
}

cs_span cs_rtsp_request_header(const cs_rtsp_request *req, const char *name)
{
    for (int i = 0; i < req->n_headers; i++) {
        if (span_ieq(req->headers[i].name, name))
            return req->headers[i].value;
    }
    return (cs_span){NULL, 0};
}

size_t cs_rtsp_interleaved_len(const char *buf, size_t len)
{
    if (len < 4)
        return 0;
    return 4 + (((size_t)(unsigned char)buf[2] << 8) | (unsigned char)buf[3]);
}

/* Splits s at the first sep: *head gets the part before, s the rest. */
static bool span_split(cs_span *s, char sep, cs_span *head)
{
    if (s->len == 0 || !s->p)
        return false;
    const char *at = memchr(s->p, sep, s->len);
    if (!at) {
        *head = *s;
        s->p += s->len;
        s->len = 0;
        return true;
    }
    *head = (cs_span){s->p, (size_t)(at - s->p)};
    s->len -= head->len + 1;
    s->p = at + 1;
    return true;
}

static int parse_channels(cs_span v, cs_transport *t)
{
    cs_span a = v;
    cs_span b = {NULL, 0};
    const char *dash = memchr(v.p, '-', v.len);
    if (dash) {
        a = (cs_span){v.p, (size_t)(dash - v.p)};
        b = (cs_span){dash + 1, v.len - a.len - 1};
    }
    long lo, hi;
    if (span_to_long(span_trim(a), &lo) < 0 || lo > 255)
        return HORUS_EPARSE;
    hi = lo + 1;
    if (b.p && (span_to_long(span_trim(b), &hi) < 0 || hi > 255))
        return HORUS_EPARSE;
    if (lo == 255 && !b.p)
        return HORUS_EPARSE;
    t->has_interleaved = true;
    t->channel_rtp = (int)lo;
    t->channel_rtcp = (int)hi;
    return 0;
}

/* Parses client_port=a[-b] (b defaults to a + 1). */
static int parse_client_ports(cs_span v, cs_transport *t)
{
    cs_span a = v;
    cs_span b = {NULL, 0};
    const char *dash = memchr(v.p, '-', v.len);
    if (dash) {
        a = (cs_span){v.p, (size_t)(dash - v.p)};
        b = (cs_span){dash + 1, v.len - a.len - 1};
    }
    long lo, hi;
    if (span_to_long(span_trim(a), &lo) < 0 || lo < 1 || lo > 65535)
        return HORUS_EPARSE;
    hi = lo + 1;
    if (b.p && (span_to_long(span_trim(b), &hi) < 0 || hi < 1 || hi > 65535))
        return HORUS_EPARSE;
    if (hi > 65535)
        return HORUS_EPARSE;
    t->client_port_rtp = (int)lo;
    t->client_port_rtcp = (int)hi;
    return 0;
}

/* Parses the parameters of one spec. Returns 1 when it is servable, 0 when not, or HORUS_EPARSE. */
static int parse_spec(cs_span proto, cs_span params, cs_transport *t)
{
    bool is_tcp = span_ieq(proto, "RTP/AVP/TCP");
    if (!is_tcp && !span_ieq(proto, "RTP/AVP") && !span_ieq(proto, "RTP/AVP/UDP"))
        return 0;
    memset(t, 0, sizeof(*t));
    bool is_multicast = false;
    bool has_ports = false;
    cs_span param;
    while (span_split(&params, ';', &param)) {
        param = span_trim(param);
        if (is_tcp && span_istarts(param, "interleaved=")) {
            cs_span v = {param.p + 12, param.len - 12};
            if (parse_channels(v, t) < 0)
                return HORUS_EPARSE;
        } else if (!is_tcp && span_istarts(param, "client_port=")) {
            cs_span v = {param.p + 12, param.len - 12};
            if (parse_client_ports(v, t) < 0)
                return HORUS_EPARSE;
            has_ports = true;
        } else if (span_ieq(param, "multicast")) {
            is_multicast = true;
        }
    }
    if (is_tcp) {
        t->is_tcp = true;
        return 1;
    }
    if (is_multicast || !has_ports)
        return 0;
    t->is_udp = true;
    return 1;
}

int cs_transport_parse(cs_span value, cs_transport *out)
{
    memset(out, 0, sizeof(*out));
    cs_span rest = value;
    cs_span spec;
    while (span_split(&rest, ',', &spec)) {
        cs_span params = span_trim(spec);
        cs_span proto;
        if (!span_split(&params, ';', &proto))
            continue;
        cs_transport t;
        int rc = parse_spec(span_trim(proto), params, &t);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            *out = t;
            return 0;
        }
    }
    return 0;
}

static int copy_field(char *dst, cs_span v)
{
    if (v.len >= CS_DIGEST_FIELD_MAX)
        return HORUS_EPARSE;
    memcpy(dst, v.p, v.len);
    dst[v.len] = '\0';
    return 0;
}

static char *digest_field(cs_digest *d, cs_span key)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"username", offsetof(cs_digest, username)},
        {"realm", offsetof(cs_digest, realm)},
        {"nonce", offsetof(cs_digest, nonce)},
        {"uri", offsetof(cs_digest, uri)},
        {"response", offsetof(cs_digest, response)},
        {"qop", offsetof(cs_digest, qop)},
        {"nc", offsetof(cs_digest, nc)},
        {"cnonce", offsetof(cs_digest, cnonce)},
        {"algorithm", offsetof(cs_digest, algorithm)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (span_ieq(key, fields[i].name))
            return (char *)d + fields[i].offset;
    }
    return NULL;
}

int cs_digest_parse(cs_span value, cs_digest *out)
{
    memset(out, 0, sizeof(*out));
    cs_span s = span_trim(value);
    if (!span_istarts(s, "Digest") || (s.len > 6 && !is_space(s.p[6])))
        return HORUS_EAUTH;
    const char *p = s.p + 6;
    const char *end = s.p + s.len;
    for (;;) {
        while (p < end && (is_space(*p) || *p == ','))
            p++;
        if (p == end)
            break;
        const char *k = p;
        while (p < end && is_token_char(*p))
            p++;
        cs_span key = {k, (size_t)(p - k)};
        while (p < end && is_space(*p))
            p++;
        if (key.len == 0 || p == end || *p != '=')
            return HORUS_EPARSE;
        p++;
        while (p < end && is_space(*p))
            p++;
        cs_span val;
        if (p < end && *p == '"') {
            const char *v = ++p;
            while (p < end && *p != '"') {
                if (*p == '\\')
                    return HORUS_EPARSE; /* escapes never occur in the fields we check */
                p++;
            }
            if (p == end)
                return HORUS_EPARSE;
            val = (cs_span){v, (size_t)(p - v)};
            p++;
        } else {
            const char *v = p;
            while (p < end && *p != ',' && !is_space(*p))
                p++;
            val = (cs_span){v, (size_t)(p - v)};
        }
        char *dst = digest_field(out, key);
        if (dst && copy_field(dst, val) < 0)
            return HORUS_EPARSE;
    }
    return 0;
}

int cs_path_parse(cs_span uri, int max_cam, int *cam, int *track)
{
    const char *p = uri.p;
    const char *end = uri.p + uri.len;
    if (span_istarts(uri, "rtsp://") || span_istarts(uri, "rtsps://")) {
        p = memchr(uri.p, ':', uri.len) + 3;
        while (p < end && *p != '/')
            p++;
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    if (q)
        end = q;
    if (end - p < 5 || memcmp(p, "/cam", 4) != 0)
        return -ENOENT;
    p += 4;
    if (*p < '1' || *p > '9')
        return -ENOENT;
    long n = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        n = n * 10 + (*p - '0');
        if (n > max_cam)
            return -ENOENT;
        p++;
    }
    *cam = (int)n;
    *track = CS_PATH_TRACK_NONE;
    if (p == end)
        return 0;
    if (*p != '/')
        return -ENOENT;
    cs_span control = {p + 1, (size_t)(end - p - 1)};
    if (control.len == 0)
        return 0;
    if (cs_span_eq(control, "trackID=0"))
        *track = 0;
    else if (cs_span_eq(control, "trackID=1"))
        *track = 1;
    else
        return -ENOENT;
    return 0;
}
