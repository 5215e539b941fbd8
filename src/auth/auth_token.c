/* base64url, random tokens, SHA-256 hex and constant-time compares (auth_token.h). */
#include "auth_token.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <string.h>

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int auth_b64url_encode(const void *in, size_t n, char *out, size_t cap)
{
    size_t need = AUTH_B64URL_LEN(n);
    if (cap < need + 1) {
        if (cap)
            out[0] = '\0';
        return -ENOSPC;
    }
    const uint8_t *p = in;
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
        out[o++] = B64URL[v >> 6 & 63];
        out[o++] = B64URL[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = B64URL[v >> 18 & 63];
        out[o++] = B64URL[v >> 12 & 63];
        out[o++] = B64URL[v >> 6 & 63];
    }
    out[o] = '\0';
    return (int)o;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int auth_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -EINVAL;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > cap)
        return -ENOSPC;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return -EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* the unused low bits of the last character must be zero */
        return -EINVAL;
    return (int)o;
}

int auth_random_bytes(void *buf, size_t n)
{
    if (n > (size_t)INT32_MAX)
        return -EINVAL;
    return RAND_bytes(buf, (int)n) == 1 ? 0 : -EIO;
}

int auth_random_token(size_t nbytes, char *out, size_t cap)
{
    if (nbytes == 0 || nbytes > 64)
        return -EINVAL;
    if (cap < AUTH_B64URL_LEN(nbytes) + 1)
        return -ENOSPC;
    uint8_t raw[64];
    if (auth_random_bytes(raw, nbytes) != 0)
        return -EIO;
    int rc = auth_b64url_encode(raw, nbytes, out, cap);
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

void auth_sha256_hex(const void *in, size_t n, char out[AUTH_SHA256_HEX_LEN])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(in, n, md);
    for (size_t i = 0; i < sizeof(md); i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * sizeof(md)] = '\0';
}

bool auth_equal_ct(const void *a, const void *b, size_t n)
{
    return n == 0 || CRYPTO_memcmp(a, b, n) == 0;
}

bool auth_streq_ct(const char *a, const char *b)
{
    size_t la = strlen(a);
    size_t lb = strlen(b);
    /* Compare the shorter length's bytes so that the time depends on lengths only. */
    bool same = auth_equal_ct(a, b, la < lb ? la : lb);
    return same && la == lb;
}
