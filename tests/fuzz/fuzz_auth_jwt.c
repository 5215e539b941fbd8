/*
 * libFuzzer driver for the JWT and JWK parsers of src/auth (jwt.c, jwk.c):
 * the first byte picks the parser, the rest is its input. Mode 0 parses a
 * JWK Set and, when it holds keys, checks that every key has a type that
 * allows at least one algorithm; mode 1 verifies a token against a key set
 * made at start-up from keys generated here, whose private halves the
 * input cannot know, so a token that verifies is a bug (trap); mode 2
 * reads the header's kid. None may crash, leak or read out of bounds.
 */
#include "auth_token.h"
#include "jwt.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static auth_jwk_set *keys;

static void add_member(json_t *jwk, const char *name, EVP_PKEY *k, const char *param, size_t pad)
{
    BIGNUM *bn = NULL;
    EVP_PKEY_get_bn_param(k, param, &bn);
    unsigned char buf[512];
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    BN_bn2binpad(bn, buf, (int)n);
    BN_free(bn);
    char b64[800];
    auth_b64url_encode(buf, n, b64, sizeof(b64));
    json_object_set_new(jwk, name, json_string(b64));
}

/* An RSA and a P-256 key, generated once: the set every mode-1 token is checked against. */
static void make_keys(void)
{
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    json_t *r = json_pack("{s:s, s:s}", "kty", "RSA", "kid", "r1");
    add_member(r, "n", rsa, OSSL_PKEY_PARAM_RSA_N, 0);
    add_member(r, "e", rsa, OSSL_PKEY_PARAM_RSA_E, 0);
    json_t *e = json_pack("{s:s, s:s, s:s}", "kty", "EC", "crv", "P-256", "kid", "e1");
    add_member(e, "x", ec, OSSL_PKEY_PARAM_EC_PUB_X, 32);
    add_member(e, "y", ec, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    json_t *doc = json_pack("{s:[o, o]}", "keys", r, e);
    char *text = json_dumps(doc, JSON_COMPACT);
    if (auth_jwk_set_parse(text, strlen(text), &keys, NULL, 0) != 0 ||
        auth_jwk_set_count(keys) != 2)
        abort();
    free(text);
    json_decref(doc);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!keys)
        make_keys();
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 3;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (mode == 0) {
        auth_jwk_set *set = NULL;
        char err[160];
        if (auth_jwk_set_parse(text, len, &set, err, sizeof(err)) == 0) {
            for (size_t i = 0; i < auth_jwk_set_count(set); i++)
                if (!auth_jwk_set_algs(set, i) || !auth_jwk_set_pkey(set, i))
                    __builtin_trap();
            auth_jwk_set_unref(set);
        }
    } else if (mode == 1) {
        struct auth_jwt_expect e = {.issuer = "https://idp.example",
                                    .audience = "horus",
                                    .allowed_algs = AUTH_JWT_ALGS_ALL,
                                    .now_s = 1800000000,
                                    .leeway_s = 60};
        struct auth_jwt jwt;
        char why[256];
        if (auth_jwt_verify(text, len, keys, &e, &jwt, why, sizeof(why)) == AUTH_JWT_OK)
            __builtin_trap(); /* nobody outside this process holds the private keys */
        if (jwt.claims)
            __builtin_trap();
    } else {
        char kid[AUTH_JWK_KID_MAX + 1];
        if (auth_jwt_peek_kid(text, len, kid) == 0 && strlen(kid) > AUTH_JWK_KID_MAX)
            __builtin_trap();
    }
    return 0;
}
