/*
 * DESIGN: SHA-256 of segment files, computed while their parts are written
 * (no second read of the file). It wraps OpenSSL's libcrypto, whose
 * assembly (AVX2, or SHA-NI where the CPU has it) is about twice as fast as
 * portable C on the reference machine (208 vs 110 MB/s without SHA-NI);
 * at 4 Mbit/s per camera the hash is otherwise the recorder's largest cost.
 * Thread: any (state is the caller's).
 */
#include "fmp4_int.h"

#include "mem.h"

#include <openssl/evp.h>
#include <stdio.h>

void rec_sha256_init(struct rec_sha256 *c)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        HORUS_BUG("libcrypto cannot start a SHA-256 digest");
    c->ctx = ctx;
}

void rec_sha256_update(struct rec_sha256 *c, const void *data, size_t n)
{
    if (n && EVP_DigestUpdate(c->ctx, data, n) != 1)
        HORUS_BUG("libcrypto SHA-256 update failed");
}

void rec_sha256_final(struct rec_sha256 *c, uint8_t digest[32])
{
    unsigned len = 32;
    if (EVP_DigestFinal_ex(c->ctx, digest, &len) != 1 || len != 32)
        HORUS_BUG("libcrypto SHA-256 final failed");
    rec_sha256_release(c);
}

void rec_sha256_release(struct rec_sha256 *c)
{
    EVP_MD_CTX_free(c->ctx);
    c->ctx = NULL;
}

void rec_sha256_hex(const uint8_t digest[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[64] = '\0';
}
