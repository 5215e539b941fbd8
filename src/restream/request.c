/*
 * DESIGN: the bytes a re-stream client chooses, read without trust: the
 * listen address of the configuration and every request URI. Each parser
 * takes a buffer and its length, never assumes a NUL past it, never
 * allocates, and answers -ENOENT / -EINVAL rather than guessing; the
 * server answers 404 or 400. Request framing itself is src/proto's
 * (rtsp_request_parse). Thread: any (no state). Fuzzed by
 * tests/fuzz/fuzz_restream_request.c.
 */
#include "restream_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int rs_listen_parse(const char *s, char *host, size_t cap, int *port)
{
    const char *colon;
    const char *h = s;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return -EINVAL;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || memchr(s, ':', (size_t)(colon - s)))
            return -EINVAL; /* a bare IPv6 address needs brackets */
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= cap)
        return -EINVAL;
    const char *p = colon + 1;
    if (*p < '0' || *p > '9' || strlen(p) > 5)
        return -EINVAL;
    long n = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        n = n * 10 + (*p - '0');
    }
    if (n > 65535)
        return -EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)n;
    return 0;
}

static bool starts_icase(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && strncasecmp(p, lit, n) == 0;
}

/* "trackID=0" or "trackID=1" (the whole span): the track, else -1. */
static int control_track(const char *p, size_t n)
{
    if (n == 9 && memcmp(p, "trackID=", 8) == 0 && (p[8] == '0' || p[8] == '1'))
        return p[8] - '0';
    return -1;
}

/* Reads the query's parameters (p..end, after '?'): t= is the token; a "/trackID=N" tail is a
 * control. */
static int query_parse(const char *p, const char *end, struct rs_target *out, int *control)
{
    const char *slash = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '/')
            slash = q;
    if (slash) {
        *control = control_track(slash + 1, (size_t)(end - slash - 1));
        if (*control < 0)
            return -ENOENT;
        end = slash;
    }
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *item_end = amp ? amp : end;
        if (item_end - p >= 2 && p[0] == 't' && p[1] == '=') {
            size_t n = (size_t)(item_end - p - 2);
            if (n == 0 || n >= sizeof(out->token))
                return -ENOENT;
            for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)p[2 + i];
                if (c <= ' ' || c >= 0x7f)
                    return -ENOENT;
            }
            memcpy(out->token, p + 2, n);
            out->token[n] = '\0';
            out->has_token = true;
        }
        p = amp ? amp + 1 : end;
    }
    return 0;
}

int rs_target_parse(struct rtsp_span uri, struct rs_target *out)
{
    memset(out, 0, sizeof(*out));
    out->track = RS_TRACK_NONE;
    if (!uri.p || uri.len == 0)
        return -ENOENT;
    const char *p = uri.p, *end = uri.p + uri.len;
    size_t scheme = starts_icase(p, end, "rtsp://") ? 7 : starts_icase(p, end, "rtsps://") ? 8 : 0;
    if (scheme) {
        p += scheme;
        while (p < end && *p != '/' && *p != '?')
            p++;
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    const char *path_end = q ? q : end;
    int query_control = -1;
    if (q && query_parse(q + 1, end, out, &query_control) < 0)
        return -ENOENT;
    /* Up to three segments: camera, stream, control; empty ones (slashes) are skipped. */
    struct rtsp_span seg[3];
    size_t nseg = 0;
    while (p < path_end) {
        while (p < path_end && *p == '/')
            p++;
        if (p == path_end)
            break;
        const char *s = p;
        while (p < path_end && *p != '/')
            p++;
        if (nseg == 3)
            return -ENOENT;
        seg[nseg++] = (struct rtsp_span){s, (size_t)(p - s)};
    }
    if (nseg == 0 || !cfg_is_id(seg[0].p, seg[0].len, CFG_ID_MAX))
        return -ENOENT;
    memcpy(out->camera, seg[0].p, seg[0].len);
    out->camera[seg[0].len] = '\0';
    snprintf(out->stream, sizeof(out->stream), "main");
    size_t i = 1;
    if (i < nseg && (rtsp_span_eq(seg[i], "sub") || rtsp_span_eq(seg[i], "main"))) {
        memcpy(out->stream, seg[i].p, seg[i].len);
        out->stream[seg[i].len] = '\0';
        i++;
    }
    if (i < nseg) {
        out->track = control_track(seg[i].p, seg[i].len);
        if (out->track < 0 || ++i < nseg || query_control >= 0)
            return -ENOENT;
    } else if (query_control >= 0) {
        out->track = query_control;
    }
    return 0;
}
