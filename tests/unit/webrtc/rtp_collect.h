/*
 * Test helper for tests/unit/webrtc's packetiser tests (H.264 and H.265):
 * the packets a packetiser hands out, collected in order, and access units
 * of length-prefixed NAL units built from sizes and header bytes.
 * Header-only so each test stays one file.
 */
#ifndef HORUS_TEST_RTP_COLLECT_H
#define HORUS_TEST_RTP_COLLECT_H

#include "rtp_out_int.h"

#include <string.h>

struct sent {
    size_t n;
    uint8_t pkt[16][WEBRTC_RTP_MAX_PACKET];
    size_t len[16];
};

/* The packetiser's callback: copies each packet into the struct sent at arg. */
static int collect(void *arg, const uint8_t *pkt, size_t len)
{
    struct sent *s = arg;
    assert_true(s->n < 16);
    assert_true(len <= WEBRTC_RTP_MAX_PACKET);
    memcpy(s->pkt[s->n], pkt, len);
    s->len[s->n++] = len;
    return 0;
}

/*
 * An access unit of n NAL units of the given sizes, each behind its 4-byte
 * length: NAL unit i starts with headers[i * header_len ..] (header_len
 * bytes: 1 for H.264, 2 for H.265), the rest of it k * 7 + i at byte k.
 */
static media_packet *au_make(media_stream *st, const size_t *sizes, const uint8_t *headers,
                             size_t header_len, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += 4 + sizes[i];
    media_packet *p = media_packet_new(st, total);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        p->data[pos] = (uint8_t)(sizes[i] >> 24);
        p->data[pos + 1] = (uint8_t)(sizes[i] >> 16);
        p->data[pos + 2] = (uint8_t)(sizes[i] >> 8);
        p->data[pos + 3] = (uint8_t)sizes[i];
        for (size_t k = 0; k < sizes[i]; k++)
            p->data[pos + 4 + k] =
                k < header_len ? headers[i * header_len + k] : (uint8_t)(k * 7 + i);
        pos += 4 + sizes[i];
    }
    return p;
}

#endif
