/*
 * RFC 4571 framing for ICE-TCP (RFC 6544): on a TCP connection each STUN,
 * DTLS, SRTP or SRTCP packet is preceded by its length as two big-endian
 * bytes. The reassembler takes the stream in pieces of any size and hands
 * out whole frames; the output side writes the two-byte header. Pure: no
 * I/O, no clock. Design: docs/design/0076-ice-tcp.md.
 */
#ifndef HORUS_WEBRTC_TCP_FRAME_INT_H
#define HORUS_WEBRTC_TCP_FRAME_INT_H

#include <stddef.h>
#include <stdint.h>

#define WEBRTC_TCP_FRAME_MAX 65535 /* the largest frame the 16-bit length can say */

/* A connection's input: at most one partial frame is ever kept. */
struct webrtc_tcp_framer {
    size_t have; /* bytes in buf */
    uint8_t buf[2 + WEBRTC_TCP_FRAME_MAX];
};

/*
 * Called for each whole frame, in order; frame points into the framer (it
 * may be changed in place: SRTCP is unprotected there) and is valid until
 * the call returns. len may be 0 (an empty frame). Returning nonzero stops
 * the reassembly: that value is returned and the framer must not be used
 * again (the caller closes the connection).
 */
typedef int (*webrtc_tcp_frame_fn)(void *arg, uint8_t *frame, size_t len);

/* Empties the framer. */
void webrtc_tcp_framer_init(struct webrtc_tcp_framer *f);

/*
 * Where the next bytes of the stream may be written (recv into it), and
 * how many fit: never 0 between calls of _commit, since a partial frame
 * always leaves room for at least its last byte.
 */
uint8_t *webrtc_tcp_framer_space(struct webrtc_tcp_framer *f, size_t *cap);

/*
 * Takes n bytes written at webrtc_tcp_framer_space (n <= its cap) and
 * calls fn for each frame completed. Returns 0, or fn's nonzero value.
 */
int webrtc_tcp_framer_commit(struct webrtc_tcp_framer *f, size_t n, webrtc_tcp_frame_fn fn,
                             void *arg);

/* Copies len bytes of stream in (any length) and calls fn as _commit does. */
int webrtc_tcp_framer_push(struct webrtc_tcp_framer *f, const uint8_t *data, size_t len,
                           webrtc_tcp_frame_fn fn, void *arg);

/* The header of a frame of len bytes (len <= WEBRTC_TCP_FRAME_MAX). */
static inline void webrtc_tcp_frame_header(uint8_t hdr[2], size_t len)
{
    hdr[0] = (uint8_t)(len >> 8);
    hdr[1] = (uint8_t)len;
}

#endif
