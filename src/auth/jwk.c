/*
 * DESIGN: JWK Set parsing (jwk.h). Each JWK becomes an EVP_PKEY built from
 * its public parameters with OSSL_PARAM (RSA n/e, EC crv/x/y, OKP Ed25519
 * x) and the mask of algorithms its type allows; the mask, not the token,
 * decides how a signature is checked. EC points are checked to lie on their
 * curve (EVP_PKEY_public_check) so that an invalid-curve key never enters a
 * set. A set is immutable after parsing; an atomic counter shares it.
 * Thread: any.
 */
#include "jwk.h"

#include "auth_err_int.h"
#include "auth_token.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "auth"

/* Largest decoded JWK member: an 8192-bit RSA modulus. */
#define JWK_PARAM_MAX 1024

struct jwk {
    char kid[AUTH_JWK_KID_MAX + 1];
    unsigned algs;
    EVP_PKEY *pkey; /* owned */
};

struct auth_jwk_set {
    atomic_int refs;
    size_t count;
    struct jwk keys[AUTH_JWKS_MAX_KEYS];
};

static const struct {
    const char *name;
    unsigned bit;
} ALGS[] = {
    {"RS256", AUTH_JWT_RS256}, {"RS384", AUTH_JWT_RS384}, {"RS512", AUTH_JWT_RS512},
    {"PS256", AUTH_JWT_PS256}, {"PS384", AUTH_JWT_PS384}, {"PS512", AUTH_JWT_PS512},
    {"ES256", AUTH_JWT_ES256}, {"ES384", AUTH_JWT_ES384}, {"ES512", AUTH_JWT_ES512},
    {"EdDSA", AUTH_JWT_EDDSA},
};

unsigned auth_jwt_alg_from_name(const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < sizeof(ALGS) / sizeof(ALGS[0]); i++)
        if (strcmp(name, ALGS[i].name) == 0)
            return ALGS[i].bit;
    return 0;
}

const char *auth_jwt_alg_name(unsigned alg)
{
    for (size_t i = 0; i < sizeof(ALGS) / sizeof(ALGS[0]); i++)
        if (alg == ALGS[i].bit)
            return ALGS[i].name;
    return "?";
}

/* Decodes the base64url string member name of jwk into out; returns its length or -EINVAL. */
static int member_bytes(const json_t *jwk, const char *name, uint8_t *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    if (!s || !*s)
        return -EINVAL;
    int n = auth_b64url_decode(s, strlen(s), out, cap);
    return n < 0 ? -EINVAL : n;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static const char *rsa_key(const json_t *jwk, EVP_PKEY **out)
{
    uint8_t n[JWK_PARAM_MAX], e[16];
    int nn = member_bytes(jwk, "n", n, sizeof(n));
    int ne = member_bytes(jwk, "e", e, sizeof(e));
    if (nn < 0 || ne <= 0)
        return "RSA key without valid 'n' and 'e'";
    size_t lead = 0;
    while (lead < (size_t)nn && n[lead] == 0)
        lead++;
    if (((size_t)nn - lead) * 8 < 2048)
        return "RSA key shorter than 2048 bits";
    BIGNUM *bn = BN_bin2bn(n, nn, NULL);
    BIGNUM *be = BN_bin2bn(e, ne, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    const char *why = NULL;
    if (!bn || !be || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        !(*out = pkey_fromdata("RSA", bld)))
        why = "RSA key rejected by OpenSSL";
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return why;
}

static const char *ec_key(const json_t *jwk, unsigned *algs, EVP_PKEY **out)
{
    static const struct {
        const char *crv, *group;
        size_t size;
        unsigned alg;
    } CURVES[] = {
        {"P-256", "prime256v1", 32, AUTH_JWT_ES256},
        {"P-384", "secp384r1", 48, AUTH_JWT_ES384},
        {"P-521", "secp521r1", 66, AUTH_JWT_ES512},
    };
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    size_t c = 0;
    while (c < 3 && !(crv && strcmp(crv, CURVES[c].crv) == 0))
        c++;
    if (c == 3)
        return "EC key on an unsupported curve";
    uint8_t point[1 + 2 * 66];
    point[0] = 0x04; /* uncompressed */
    int nx = member_bytes(jwk, "x", point + 1, 66);
    int ny = member_bytes(jwk, "y", point + 1 + CURVES[c].size, 66);
    if (nx != (int)CURVES[c].size || ny != (int)CURVES[c].size)
        return "EC key whose 'x' or 'y' is not the curve's size";
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    const char *why = NULL;
    if (!bld ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, CURVES[c].group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                          1 + 2 * CURVES[c].size) ||
        !(*out = pkey_fromdata("EC", bld))) {
        why = "EC key rejected by OpenSSL";
    } else {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
        if (!ctx || EVP_PKEY_public_check(ctx) != 1) {
            why = "EC point not on its curve";
            EVP_PKEY_free(*out);
            *out = NULL;
        }
        EVP_PKEY_CTX_free(ctx);
    }
    OSSL_PARAM_BLD_free(bld);
    *algs = CURVES[c].alg;
    return why;
}

static const char *okp_key(const json_t *jwk, EVP_PKEY **out)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv"));
    if (!crv || strcmp(crv, "Ed25519") != 0)
        return "OKP key on an unsupported curve";
    uint8_t x[64];
    if (member_bytes(jwk, "x", x, sizeof(x)) != 32)
        return "Ed25519 key whose 'x' is not 32 bytes";
    *out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
    return *out ? NULL : "Ed25519 key rejected by OpenSSL";
}

/* Fills k from one JWK; returns NULL or why the key is skipped. */
static const char *jwk_load(const json_t *jwk, struct jwk *k)
{
    if (!json_is_object(jwk))
        return "not an object";
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const json_t *use = json_object_get(jwk, "use");
    if (use && !(json_is_string(use) && strcmp(json_string_value(use), "sig") == 0))
        return "not a signature key";
    static const char *const PRIVATE[] = {"d", "p", "q", "dp", "dq", "qi", "k"};
    for (size_t i = 0; i < sizeof(PRIVATE) / sizeof(PRIVATE[0]); i++)
        if (json_object_get(jwk, PRIVATE[i]))
            return "holds private or symmetric key material";
    const json_t *kid = json_object_get(jwk, "kid");
    if (kid && (!json_is_string(kid) || strlen(json_string_value(kid)) > AUTH_JWK_KID_MAX))
        return "'kid' not a string of at most 128 characters";
    snprintf(k->kid, sizeof(k->kid), "%s", kid ? json_string_value(kid) : "");

    const char *why;
    if (kty && strcmp(kty, "RSA") == 0) {
        k->algs = AUTH_JWT_ALGS_RSA;
        why = rsa_key(jwk, &k->pkey);
    } else if (kty && strcmp(kty, "EC") == 0) {
        why = ec_key(jwk, &k->algs, &k->pkey);
    } else if (kty && strcmp(kty, "OKP") == 0) {
        k->algs = AUTH_JWT_EDDSA;
        why = okp_key(jwk, &k->pkey);
    } else {
        return "unsupported 'kty' (only RSA, EC and OKP public keys)";
    }
    if (why)
        return why;
    /* A JWK "alg" narrows the key to that one algorithm, which must fit its type. */
    const json_t *alg = json_object_get(jwk, "alg");
    if (alg) {
        unsigned bit = auth_jwt_alg_from_name(json_string_value(alg));
        if (!(bit & k->algs))
            return "'alg' does not fit the key type";
        k->algs = bit;
    }
    return NULL;
}

int auth_jwk_set_parse(const char *text, size_t len, auth_jwk_set **out, char *err, size_t err_size)
{
    if (len > AUTH_JWKS_MAX_BYTES) {
        auth_set_err(err, err_size, "JWK set of %zu bytes is over the %u-byte limit", len,
                     AUTH_JWKS_MAX_BYTES);
        return -E2BIG;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *keys = json_object_get(doc, "keys");
    int rc = 0;
    if (!json_is_array(keys)) {
        auth_set_err(err, err_size, "JWK set is not a JSON object with a 'keys' array");
        rc = -EINVAL;
    } else if (json_array_size(keys) > AUTH_JWKS_MAX_KEYS) {
        auth_set_err(err, err_size, "JWK set holds %zu keys, more than %d", json_array_size(keys),
                     AUTH_JWKS_MAX_KEYS);
        rc = -EINVAL;
    }
    if (rc < 0) {
        json_decref(doc);
        return rc;
    }
    auth_jwk_set *set = horus_calloc(1, sizeof(*set));
    atomic_init(&set->refs, 1);
    size_t i;
    json_t *jwk;
    json_array_foreach(keys, i, jwk)
    {
        struct jwk *k = &set->keys[set->count];
        const char *why = jwk_load(jwk, k);
        if (why) {
            EVP_PKEY_free(k->pkey);
            memset(k, 0, sizeof(*k));
            log_debug("jwk set: key %zu skipped: %s", i, why);
            continue;
        }
        set->count++;
    }
    json_decref(doc);
    *out = set;
    return 0;
}

auth_jwk_set *auth_jwk_set_ref(auth_jwk_set *set)
{
    atomic_fetch_add(&set->refs, 1);
    return set;
}

void auth_jwk_set_unref(auth_jwk_set *set)
{
    if (!set || atomic_fetch_sub(&set->refs, 1) != 1)
        return;
    for (size_t i = 0; i < set->count; i++)
        EVP_PKEY_free(set->keys[i].pkey);
    free(set);
}

size_t auth_jwk_set_count(const auth_jwk_set *set)
{
    return set ? set->count : 0;
}

bool auth_jwk_set_has_kid(const auth_jwk_set *set, const char *kid)
{
    for (size_t i = 0; set && kid && i < set->count; i++)
        if (strcmp(set->keys[i].kid, kid) == 0)
            return true;
    return false;
}

const char *auth_jwk_set_kid(const auth_jwk_set *set, size_t i)
{
    return set->keys[i].kid;
}

unsigned auth_jwk_set_algs(const auth_jwk_set *set, size_t i)
{
    return set->keys[i].algs;
}

void *auth_jwk_set_pkey(const auth_jwk_set *set, size_t i)
{
    return set->keys[i].pkey;
}
