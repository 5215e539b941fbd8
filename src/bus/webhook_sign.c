/*
 * DESIGN: see webhook_sign.h. One HMAC over the timestamp, a dot and the
 * body, fed in three updates so the body is never copied.
 */
#include "webhook_sign.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <string.h>

int bus_webhook_sign(const char *key, int64_t timestamp_s, const void *body, size_t len,
                     char out[BUS_WEBHOOK_SIG_LEN + 1])
{
    out[0] = '\0';
    if (!key || !key[0])
        return -EINVAL;
    char ts[24];
    int n = snprintf(ts, sizeof(ts), "%" PRId64 ".", timestamp_s);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    int ok = 0;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    if (ctx) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
            OSSL_PARAM_construct_end(),
        };
        size_t out_len = 0;
        ok = EVP_MAC_init(ctx, (const unsigned char *)key, strlen(key), params) &&
             EVP_MAC_update(ctx, (const unsigned char *)ts, (size_t)n) &&
             (len == 0 || EVP_MAC_update(ctx, body, len)) &&
             EVP_MAC_final(ctx, mac, &out_len, sizeof(mac));
        mac_len = (unsigned int)out_len;
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    if (!ok || mac_len != 32)
        return -EIO;
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "v1=", 3);
    for (unsigned int i = 0; i < mac_len; i++) {
        out[3 + 2 * i] = hex[mac[i] >> 4];
        out[3 + 2 * i + 1] = hex[mac[i] & 15];
    }
    out[BUS_WEBHOOK_SIG_LEN] = '\0';
    return 0;
}
