/*
 * DESIGN: the code in horus-camsim that reads bytes from the network, on
 * top of src/proto's RTSP grammar: requests only, the simulator's body
 * limit, and a CSeq that is a number (the reply must echo it). Each
 * function takes a buffer and its length, never assumes a NUL and never
 * reads past len. Anything unexpected is HORUS_EPARSE; the server answers
 * 400 and closes. Thread: any (no state). Fuzzed by tools/camsim/fuzz.
 */
#include "rtsp_parse.h"

#include "err.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

int cs_rtsp_request_parse(const char *buf, size_t len, struct rtsp_msg *req)
{
    return rtsp_request_parse((const uint8_t *)buf, len, CS_RTSP_MAX_BODY_BYTES, req);
}

static bool span_istarts(struct rtsp_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.p != NULL && s.len >= n && strncasecmp(s.p, lit, n) == 0;
}

int cs_path_parse(struct rtsp_span uri, int max_cam, int *cam, int *track)
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
    struct rtsp_span control = {p + 1, (size_t)(end - p - 1)};
    if (control.len == 0)
        return 0;
    if (rtsp_span_eq(control, "trackID=0"))
        *track = 0;
    else if (rtsp_span_eq(control, "trackID=1"))
        *track = 1;
    else
        return -ENOENT;
    return 0;
}
