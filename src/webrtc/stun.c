/*
 * DESIGN: STUN for the ICE-lite agent (docs/design/0055). The parser
 * walks attributes strictly inside the datagram and remembers where
 * MESSAGE-INTEGRITY sits, because its HMAC covers the message up to that
 * attribute with the header's length rewritten to end just after it
 * (RFC 8489 §14.5); FINGERPRINT likewise covers the message before it,
 * with the length including it (§14.7). The builder writes attributes in
 * the order the RFC wants: the plain ones, then MESSAGE-INTEGRITY, then
 * FINGERPRINT. Pure; Thread: any.
 */
#include "stun_int.h"
#include "bytes.h"

#include "err.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define ATTR_USERNAME 0x0006
#define ATTR_MESSAGE_INTEGRITY 0x0008
#define ATTR_ERROR_CODE 0x0009
#define ATTR_XOR_MAPPED_ADDRESS 0x0020
#define ATTR_PRIORITY 0x0024
#define ATTR_USE_CANDIDATE 0x0025
#define ATTR_FINGERPRINT 0x8028
#define ATTR_ICE_CONTROLLED 0x8029
#define ATTR_ICE_CONTROLLING 0x802A
#define FINGERPRINT_XOR 0x5354554eu

enum webrtc_demux webrtc_demux_classify(const uint8_t *buf, size_t len)
{
    if (len == 0)
        return WEBRTC_DEMUX_OTHER;
    uint8_t b = buf[0];
    if (b <= 3)
        return WEBRTC_DEMUX_STUN;
    if (b >= 20 && b <= 63)
        return WEBRTC_DEMUX_DTLS;
    if (b >= 128 && b <= 191)
        return WEBRTC_DEMUX_RTP;
    return WEBRTC_DEMUX_OTHER;
}

/* CRC of the message's first n bytes with the header length set to total - 20. */
static uint32_t fingerprint_of(const uint8_t *buf, size_t n, size_t total)
{
    uint8_t head[WEBRTC_STUN_HEADER_BYTES];
    memcpy(head, buf, sizeof(head));
    horus_put_be16(head + 2, (uint16_t)(total - WEBRTC_STUN_HEADER_BYTES));
    /* CRC-32 is a running computation: the patched header, then the rest. */
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= i < sizeof(head) ? head[i] : buf[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc ^ FINGERPRINT_XOR;
}

/* HMAC-SHA1 of the message's first n bytes with the header length set to n + 24 - 20. */
static void integrity_of(const uint8_t *buf, size_t n, const char *key, size_t key_len,
                         uint8_t mac[20])
{
    uint8_t head[WEBRTC_STUN_HEADER_BYTES];
    memcpy(head, buf, sizeof(head));
    horus_put_be16(head + 2, (uint16_t)(n + 24 - WEBRTC_STUN_HEADER_BYTES));
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA1", 0),
                           OSSL_PARAM_construct_end()};
    size_t out_len = 0;
    bool ok = ctx && EVP_MAC_init(ctx, (const unsigned char *)key, key_len, params) &&
              EVP_MAC_update(ctx, head, sizeof(head)) &&
              EVP_MAC_update(ctx, buf + sizeof(head), n - sizeof(head)) &&
              EVP_MAC_final(ctx, mac, &out_len, 20) && out_len == 20;
    if (!ok)
        memset(mac, 0, 20); /* never equal to a real MAC by chance: the check fails */
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
}

int webrtc_stun_parse(const uint8_t *buf, size_t len, struct webrtc_stun_msg *out)
{
    memset(out, 0, sizeof(*out));
    if (len < WEBRTC_STUN_HEADER_BYTES || (buf[0] & 0xc0) != 0 ||
        horus_be32(buf + 4) != WEBRTC_STUN_MAGIC)
        return HORUS_EPARSE;
    size_t body = horus_be16(buf + 2);
    if (body % 4 != 0 || body != len - WEBRTC_STUN_HEADER_BYTES)
        return HORUS_EPARSE;
    out->type = horus_be16(buf);
    memcpy(out->txid, buf + 8, 12);
    size_t pos = WEBRTC_STUN_HEADER_BYTES;
    while (pos < len) {
        if (len - pos < 4)
            return HORUS_EPARSE;
        uint16_t type = horus_be16(buf + pos);
        size_t alen = horus_be16(buf + pos + 2);
        size_t padded = (alen + 3) & ~(size_t)3;
        if (padded > len - pos - 4)
            return HORUS_EPARSE;
        const uint8_t *v = buf + pos + 4;
        if (out->has_fingerprint)
            return HORUS_EPARSE; /* nothing after FINGERPRINT */
        if (out->has_integrity && type != ATTR_FINGERPRINT)
            return HORUS_EPARSE; /* only FINGERPRINT after MESSAGE-INTEGRITY */
        switch (type) {
        case ATTR_USERNAME:
            if (alen > 513)
                return HORUS_EPARSE;
            out->username = (const char *)v;
            out->username_len = alen;
            break;
        case ATTR_MESSAGE_INTEGRITY:
            if (alen != 20)
                return HORUS_EPARSE;
            out->has_integrity = true;
            out->integrity_at = pos;
            break;
        case ATTR_FINGERPRINT:
            if (alen != 4 || pos + 8 != len || fingerprint_of(buf, pos, len) != horus_be32(v))
                return HORUS_EPARSE;
            out->has_fingerprint = true;
            break;
        case ATTR_PRIORITY:
            if (alen != 4)
                return HORUS_EPARSE;
            out->has_priority = true;
            out->priority = horus_be32(v);
            break;
        case ATTR_USE_CANDIDATE:
            if (alen != 0)
                return HORUS_EPARSE;
            out->use_candidate = true;
            break;
        case ATTR_ICE_CONTROLLED:
        case ATTR_ICE_CONTROLLING:
            if (alen != 8)
                return HORUS_EPARSE;
            *(type == ATTR_ICE_CONTROLLING ? &out->has_ice_controlling : &out->has_ice_controlled) =
                true;
            out->tie_breaker = ((uint64_t)horus_be32(v) << 32) | horus_be32(v + 4);
            break;
        case ATTR_ERROR_CODE:
            if (alen < 4)
                return HORUS_EPARSE;
            out->error_code = (uint16_t)((v[2] & 7) * 100 + (v[3] % 100));
            break;
        default:
            break; /* comprehension-optional or unknown: ignored, as a lite agent may */
        }
        pos += 4 + padded;
    }
    return 0;
}

int webrtc_stun_check_integrity(const uint8_t *buf, const struct webrtc_stun_msg *msg,
                                const char *key, size_t key_len)
{
    if (!msg->has_integrity)
        return -ENOENT;
    uint8_t mac[20];
    integrity_of(buf, msg->integrity_at, key, key_len, mac);
    /* constant time: the MAC is compared with an attacker's guess */
    uint8_t diff = 0;
    for (int i = 0; i < 20; i++)
        diff |= (uint8_t)(mac[i] ^ buf[msg->integrity_at + 4 + (size_t)i]);
    return diff == 0 ? 0 : -EACCES;
}

/* Appends an attribute header and value (padded with zeros); false when it does not fit. */
static bool put_attr(uint8_t *out, size_t cap, size_t *pos, uint16_t type, const void *v,
                     size_t len)
{
    size_t padded = (len + 3) & ~(size_t)3;
    if (len > 0xffff || cap - *pos < 4 + padded)
        return false;
    horus_put_be16(out + *pos, type);
    horus_put_be16(out + *pos + 2, (uint16_t)len);
    if (len)
        memcpy(out + *pos + 4, v, len);
    memset(out + *pos + 4 + len, 0, padded - len);
    *pos += 4 + padded;
    return true;
}

static int put_xor_address(uint8_t *out, size_t cap, size_t *pos, const struct sockaddr *sa)
{
    uint8_t v[20] = {0};
    size_t len;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        v[1] = 0x01;
        horus_put_be16(v + 2, (uint16_t)(ntohs(in->sin_port) ^ (WEBRTC_STUN_MAGIC >> 16)));
        horus_put_be32(v + 4, ntohl(in->sin_addr.s_addr) ^ WEBRTC_STUN_MAGIC);
        len = 8;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        v[1] = 0x02;
        horus_put_be16(v + 2, (uint16_t)(ntohs(in6->sin6_port) ^ (WEBRTC_STUN_MAGIC >> 16)));
        uint8_t mask[16];
        horus_put_be32(mask, WEBRTC_STUN_MAGIC);
        memcpy(mask + 4, out + 8, 12); /* the transaction id */
        for (int i = 0; i < 16; i++)
            v[4 + i] = in6->sin6_addr.s6_addr[i] ^ mask[i];
        len = 20;
    } else {
        return -EINVAL;
    }
    return put_attr(out, cap, pos, ATTR_XOR_MAPPED_ADDRESS, v, len) ? 0 : -ENOSPC;
}

int webrtc_stun_build(const struct webrtc_stun_build_options *opt, uint8_t *out, size_t cap)
{
    if (cap < WEBRTC_STUN_HEADER_BYTES)
        return -ENOSPC;
    horus_put_be16(out, opt->type);
    horus_put_be16(out + 2, 0);
    horus_put_be32(out + 4, WEBRTC_STUN_MAGIC);
    memcpy(out + 8, opt->txid, 12);
    size_t pos = WEBRTC_STUN_HEADER_BYTES;
    bool ok = true;
    if (opt->username)
        ok = put_attr(out, cap, &pos, ATTR_USERNAME, opt->username, strlen(opt->username));
    if (ok && opt->priority) {
        uint8_t v[4];
        horus_put_be32(v, opt->priority);
        ok = put_attr(out, cap, &pos, ATTR_PRIORITY, v, 4);
    }
    if (ok && opt->use_candidate)
        ok = put_attr(out, cap, &pos, ATTR_USE_CANDIDATE, NULL, 0);
    if (ok && opt->ice_controlling) {
        uint8_t v[8];
        horus_put_be32(v, (uint32_t)(opt->tie_breaker >> 32));
        horus_put_be32(v + 4, (uint32_t)opt->tie_breaker);
        ok = put_attr(out, cap, &pos, ATTR_ICE_CONTROLLING, v, 8);
    }
    if (ok && opt->mapped) {
        int rc = put_xor_address(out, cap, &pos, opt->mapped);
        if (rc != 0)
            return rc;
    }
    if (ok && opt->integrity_key) {
        uint8_t mac[20];
        integrity_of(out, pos, opt->integrity_key, opt->integrity_key_len, mac);
        ok = put_attr(out, cap, &pos, ATTR_MESSAGE_INTEGRITY, mac, 20);
    }
    if (ok && opt->fingerprint) {
        uint8_t v[4];
        ok = cap - pos >= 8;
        if (ok) {
            horus_put_be32(v, fingerprint_of(out, pos, pos + 8));
            ok = put_attr(out, cap, &pos, ATTR_FINGERPRINT, v, 4);
        }
    }
    if (!ok)
        return -ENOSPC;
    horus_put_be16(out + 2, (uint16_t)(pos - WEBRTC_STUN_HEADER_BYTES));
    return (int)pos;
}
