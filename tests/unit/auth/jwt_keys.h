/*
 * Test helpers shared by the auth unit tests that need signed JWTs: keys
 * generated with OpenSSL at run time, their public JWKs, and a signer for
 * every algorithm (and for the attacks: any alg name, HMAC with any bytes).
 * Header-only so that each test executable stays one file plus this.
 */
#ifndef HORUS_TEST_JWT_KEYS_H
#define HORUS_TEST_JWT_KEYS_H

#include "auth_token.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline EVP_PKEY *tk_rsa(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
}

static inline EVP_PKEY *tk_ec(const char *curve)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
}

static inline char *tk_b64(const void *p, size_t n)
{
    char *s = malloc(AUTH_B64URL_LEN(n) + 1);
    auth_b64url_encode(p, n, s, AUTH_B64URL_LEN(n) + 1);
    return s;
}

static inline char *tk_bn_b64(EVP_PKEY *k, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    EVP_PKEY_get_bn_param(k, param, &bn);
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    unsigned char buf[1024];
    BN_bn2binpad(bn, buf, (int)n);
    BN_free(bn);
    return tk_b64(buf, n);
}

/* The public JWK of k as a new JSON object, with kid (NULL: none). */
static inline json_t *tk_jwk(EVP_PKEY *k, const char *kid)
{
    json_t *j = json_object();
    if (EVP_PKEY_is_a(k, "RSA")) {
        json_object_set_new(j, "kty", json_string("RSA"));
        char *n = tk_bn_b64(k, OSSL_PKEY_PARAM_RSA_N, 0),
             *e = tk_bn_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);
        json_object_set_new(j, "n", json_string(n));
        json_object_set_new(j, "e", json_string(e));
        free(n);
        free(e);
    } else {
        char group[32];
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL);
        size_t size = strcmp(group, "prime256v1") == 0  ? 32
                      : strcmp(group, "secp384r1") == 0 ? 48
                                                        : 66;
        json_object_set_new(j, "kty", json_string("EC"));
        json_object_set_new(j, "crv",
                            json_string(size == 32   ? "P-256"
                                        : size == 48 ? "P-384"
                                                     : "P-521"));
        char *x = tk_bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, size);
        char *y = tk_bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, size);
        json_object_set_new(j, "x", json_string(x));
        json_object_set_new(j, "y", json_string(y));
        free(x);
        free(y);
    }
    if (kid)
        json_object_set_new(j, "kid", json_string(kid));
    return j;
}

/* {"keys": [...]} as a new string; steals the JWKs (NULL-terminated). */
static inline char *tk_jwks(json_t *const *jwks)
{
    json_t *arr = json_array();
    for (size_t i = 0; jwks[i]; i++)
        json_array_append_new(arr, jwks[i]);
    json_t *doc = json_pack("{s:o}", "keys", arr);
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return s;
}

static inline const EVP_MD *tk_md(const char *alg)
{
    const char *bits = alg + 2;
    return strcmp(bits, "384") == 0   ? EVP_sha384()
           : strcmp(bits, "512") == 0 ? EVP_sha512()
                                      : EVP_sha256();
}

/*
 * A compact JWS: header {"alg": alg, "kid": kid (when not NULL)} plus the
 * members of extra_header (may be NULL), claims as given (borrowed), signed
 * with key as alg says (RS*, PS*, ES*); with hmac_key instead, HS256 over
 * hmac_len bytes. A new string.
 */
static inline char *tk_sign_full(const char *alg, const char *kid, json_t *extra_header,
                                 json_t *claims, EVP_PKEY *key, const void *hmac_key,
                                 size_t hmac_len)
{
    json_t *hdr = json_pack("{s:s, s:s}", "alg", alg, "typ", "JWT");
    if (kid)
        json_object_set_new(hdr, "kid", json_string(kid));
    if (extra_header)
        json_object_update(hdr, extra_header);
    char *h = json_dumps(hdr, JSON_COMPACT), *c = json_dumps(claims, JSON_COMPACT);
    char *hb = tk_b64(h, strlen(h)), *cb = tk_b64(c, strlen(c));
    size_t in_len = strlen(hb) + 1 + strlen(cb);
    char *input = malloc(in_len + 1);
    snprintf(input, in_len + 1, "%s.%s", hb, cb);
    unsigned char sig[1024];
    size_t sig_len = sizeof(sig);
    if (hmac_key) {
        unsigned int n = 0;
        HMAC(EVP_sha256(), hmac_key, (int)hmac_len, (const unsigned char *)input, in_len, sig, &n);
        sig_len = n;
    } else if (key) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        EVP_DigestSignInit(ctx, &pctx, tk_md(alg), NULL, key);
        if (alg[0] == 'P') {
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
        }
        EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input, in_len);
        EVP_MD_CTX_free(ctx);
        if (alg[0] == 'E') { /* DER -> r||s */
            size_t half = strcmp(alg, "ES256") == 0 ? 32 : strcmp(alg, "ES384") == 0 ? 48 : 66;
            const unsigned char *p = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
            BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)half);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + half, (int)half);
            ECDSA_SIG_free(es);
            sig_len = 2 * half;
        }
    } else {
        memcpy(sig, "x", 1);
        sig_len = 1;
    }
    char *sb = tk_b64(sig, sig_len);
    size_t total = in_len + 1 + strlen(sb) + 1;
    char *tok = malloc(total);
    snprintf(tok, total, "%s.%s", input, sb);
    free(h);
    free(c);
    free(hb);
    free(cb);
    free(input);
    free(sb);
    json_decref(hdr);
    return tok;
}

static inline char *tk_sign(const char *alg, const char *kid, json_t *claims, EVP_PKEY *key)
{
    return tk_sign_full(alg, kid, NULL, claims, key, NULL, 0);
}

/* The PEM text of k's public key (what an alg-confusion attacker uses as HMAC key). */
static inline char *tk_public_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, k);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *s = strndup(data, (size_t)n);
    BIO_free(b);
    return s;
}

#endif
