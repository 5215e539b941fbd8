/*
 * DESIGN: the RFC 4571 reassembler (docs/design/0076). The buffer holds
 * the header and payload of one frame at most (2 + 65535 bytes): frames
 * complete in the buffer are handed out, the partial one left is moved to
 * the front. Every read is inside buf[0, have).
 */
#include "tcp_frame_int.h"

#include <string.h>

void webrtc_tcp_framer_init(struct webrtc_tcp_framer *f)
{
    f->have = 0;
}

uint8_t *webrtc_tcp_framer_space(struct webrtc_tcp_framer *f, size_t *cap)
{
    *cap = sizeof(f->buf) - f->have;
    return f->buf + f->have;
}

int webrtc_tcp_framer_commit(struct webrtc_tcp_framer *f, size_t n, webrtc_tcp_frame_fn fn,
                             void *arg)
{
    if (n > sizeof(f->buf) - f->have)
        n = sizeof(f->buf) - f->have;
    f->have += n;
    size_t at = 0;
    while (f->have - at >= 2) {
        size_t len = ((size_t)f->buf[at] << 8) | f->buf[at + 1];
        if (f->have - at - 2 < len)
            break;
        int rc = fn(arg, f->buf + at + 2, len);
        if (rc != 0)
            return rc;
        at += 2 + len;
    }
    if (at > 0) {
        memmove(f->buf, f->buf + at, f->have - at);
        f->have -= at;
    }
    return 0;
}

int webrtc_tcp_framer_push(struct webrtc_tcp_framer *f, const uint8_t *data, size_t len,
                           webrtc_tcp_frame_fn fn, void *arg)
{
    while (len > 0) {
        size_t cap;
        uint8_t *dst = webrtc_tcp_framer_space(f, &cap);
        size_t n = len < cap ? len : cap;
        memcpy(dst, data, n);
        int rc = webrtc_tcp_framer_commit(f, n, fn, arg);
        if (rc != 0)
            return rc;
        data += n;
        len -= n;
    }
    return 0;
}
