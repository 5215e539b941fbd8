/*
 * Big-endian (network order) integers read from and written to byte
 * buffers, and the CRC-32 that STUN fingerprints and the index journal's
 * records carry. For every parser and writer of wire and disk formats (RTP,
 * RTCP, STUN, the index journal). Thread: any (pure).
 */
#ifndef HORUS_BYTES_H
#define HORUS_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t horus_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t horus_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void horus_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void horus_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* CRC-32 of ISO-HDLC / IEEE 802.3 (zlib's, reflected 0xEDB88320): "123456789" is 0xCBF43926. */
uint32_t horus_crc32(const uint8_t *p, size_t n);

#endif
