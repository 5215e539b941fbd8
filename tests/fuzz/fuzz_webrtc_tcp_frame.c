/*
 * libFuzzer driver for the ICE-TCP RFC 4571 reassembler
 * (src/webrtc/tcp_frame.c), the first thing every byte on the TCP port
 * meets. The input's first byte picks how the rest is cut into reads
 * (one byte at a time up to large pieces, varying), and the frames handed
 * out must be exactly those a plain reading of the whole stream finds, in
 * order, each inside its bounds, with the partial tail kept and room left
 * to read into.
 */
#include "tcp_frame_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct check {
    const uint8_t *stream; /* the whole stream */
    size_t size;
    size_t at; /* where the next frame's header must be */
    size_t frames;
};

static int on_frame(void *arg, uint8_t *frame, size_t len)
{
    struct check *c = arg;
    if (len > WEBRTC_TCP_FRAME_MAX || c->at + 2 + len > c->size)
        __builtin_trap();
    size_t want = ((size_t)c->stream[c->at] << 8) | c->stream[c->at + 1];
    if (want != len || memcmp(frame, c->stream + c->at + 2, len) != 0)
        __builtin_trap();
    if (len > 0)
        frame[0] ^= 0xff; /* handlers may change a frame in place */
    c->at += 2 + len;
    c->frames++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static struct webrtc_tcp_framer f; /* 64 KiB: not on the stack */
    webrtc_tcp_framer_init(&f);
    uint8_t mode = data[0];
    const uint8_t *stream = data + 1;
    size_t n = size - 1;
    struct check c = {.stream = stream, .size = n};
    size_t fed = 0, step = 1 + (mode & 0x3f);
    while (fed < n) {
        size_t k = n - fed < step ? n - fed : step;
        if (mode & 0x80) { /* through the reader's path: space, then commit */
            size_t cap;
            uint8_t *dst = webrtc_tcp_framer_space(&f, &cap);
            if (cap == 0)
                __builtin_trap();
            k = k < cap ? k : cap;
            memcpy(dst, stream + fed, k);
            webrtc_tcp_framer_commit(&f, k, on_frame, &c);
        } else {
            webrtc_tcp_framer_push(&f, stream + fed, k, on_frame, &c);
        }
        fed += k;
        if (mode & 0x40)
            step = step * 3 % 1000 + 1; /* vary the cut */
    }
    /* What is left is the one partial frame after the last whole one. */
    if (c.at > n || f.have != n - c.at)
        __builtin_trap();
    if (f.have >= 2) {
        size_t want = ((size_t)stream[c.at] << 8) | stream[c.at + 1];
        if (f.have >= 2 + want)
            __builtin_trap();
    }
    return 0;
}
