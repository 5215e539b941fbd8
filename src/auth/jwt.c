/*
 * DESIGN: compact JWS verification (jwt.h). The token is split and decoded
 * into bounded stack buffers; the header and claims are parsed by jansson
 * with duplicate members refused (a JSON parser that keeps the first "alg"
 * and one that keeps the last would otherwise disagree). The algorithm is a
 * bit that must be in the caller's allowed set AND in the key's own set
 * (jwk.c pins it to the key type), so "none", HMAC with a public key and an
 * ES256 signature checked with an RSA key cannot happen. Signatures go
 * through EVP_DigestVerify; ECDSA's fixed-size r||s becomes DER first.
 * Claims are checked after the signature, so that an unsigned token's
 * claims never influence anything. No state; Thread: any.
 */
#include "jwt.h"

#include "auth_token.h"

#include <errno.h>
#include <math.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Largest signature: RSA 8192 bits (1024 bytes). */
#define SIG_MAX 1024

const char *auth_jwt_reason_name(enum auth_jwt_reason reason)
{
    switch (reason) {
    case AUTH_JWT_OK:
        return "ok";
    case AUTH_JWT_MALFORMED:
        return "malformed";
    case AUTH_JWT_ALG_REFUSED:
        return "alg_refused";
    case AUTH_JWT_CRIT:
        return "crit";
    case AUTH_JWT_UNKNOWN_KID:
        return "unknown_kid";
    case AUTH_JWT_KEY_MISMATCH:
        return "key_mismatch";
    case AUTH_JWT_BAD_SIGNATURE:
        return "bad_signature";
    case AUTH_JWT_WRONG_ISSUER:
        return "wrong_issuer";
    case AUTH_JWT_WRONG_AUDIENCE:
        return "wrong_audience";
    case AUTH_JWT_EXPIRED:
        return "expired";
    case AUTH_JWT_NOT_YET_VALID:
        return "not_yet_valid";
    case AUTH_JWT_ISSUED_IN_FUTURE:
        return "issued_in_future";
    case AUTH_JWT_MISSING_CLAIM:
        return "missing_claim";
    }
    return "?";
}

static enum auth_jwt_reason fail(enum auth_jwt_reason r, char *why, size_t why_size,
                                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum auth_jwt_reason fail(enum auth_jwt_reason r, char *why, size_t why_size,
                                 const char *fmt, ...)
{
    if (why && why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return r;
}

void auth_jwt_release(struct auth_jwt *jwt)
{
    if (!jwt)
        return;
    json_decref(jwt->claims);
    memset(jwt, 0, sizeof(*jwt));
}

/* The three parts of a compact JWS, as spans into the token. */
struct parts {
    const char *p[3];
    size_t n[3];
};

static int split(const char *token, size_t len, struct parts *out)
{
    if (len == 0 || len > AUTH_JWT_MAX_BYTES)
        return -EINVAL;
    size_t part = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && token[i] != '.') {
            /* Only the base64url alphabet: no padding, spaces or NULs. */
            char c = token[i];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_'))
                return -EINVAL;
            continue;
        }
        if (part == 3)
            return -EINVAL;
        out->p[part] = token + start;
        out->n[part] = i - start;
        part++;
        start = i + 1;
    }
    return part == 3 && out->n[0] && out->n[1] && out->n[2] ? 0 : -EINVAL;
}

/* Decodes one base64url part holding a JSON object with at most max members. */
static json_t *decode_object(const char *p, size_t n, size_t max)
{
    uint8_t buf[AUTH_JWT_MAX_BYTES];
    int len = auth_b64url_decode(p, n, buf, sizeof(buf));
    if (len <= 0)
        return NULL;
    json_t *obj = json_loadb((const char *)buf, (size_t)len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(obj) || json_object_size(obj) > max) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

int auth_jwt_peek_kid(const char *token, size_t len, char kid[AUTH_JWK_KID_MAX + 1])
{
    struct parts parts;
    kid[0] = '\0';
    if (split(token, len, &parts) < 0)
        return -EINVAL;
    json_t *hdr = decode_object(parts.p[0], parts.n[0], AUTH_JWT_MAX_HEADER_MEMBERS);
    if (!hdr)
        return -EINVAL;
    int rc = 0;
    const json_t *k = json_object_get(hdr, "kid");
    if (k && (!json_is_string(k) || strlen(json_string_value(k)) > AUTH_JWK_KID_MAX))
        rc = -EINVAL;
    else if (k)
        snprintf(kid, AUTH_JWK_KID_MAX + 1, "%s", json_string_value(k));
    json_decref(hdr);
    return rc;
}

static const EVP_MD *alg_md(unsigned alg)
{
    if (alg & (AUTH_JWT_RS256 | AUTH_JWT_PS256 | AUTH_JWT_ES256))
        return EVP_sha256();
    if (alg & (AUTH_JWT_RS384 | AUTH_JWT_PS384 | AUTH_JWT_ES384))
        return EVP_sha384();
    if (alg & (AUTH_JWT_RS512 | AUTH_JWT_PS512 | AUTH_JWT_ES512))
        return EVP_sha512();
    return NULL; /* EdDSA hashes internally */
}

/* JOSE's r||s (two numbers of half the length each) as a DER ECDSA-Sig-Value. */
static int ecdsa_to_der(unsigned alg, const uint8_t *sig, size_t n, uint8_t *der, size_t cap)
{
    size_t half = alg == AUTH_JWT_ES256 ? 32 : alg == AUTH_JWT_ES384 ? 48 : 66;
    if (n != 2 * half)
        return -EINVAL;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
    BIGNUM *ss = BN_bin2bn(sig + half, (int)half, NULL);
    int len = -EINVAL;
    if (s && r && ss && ECDSA_SIG_set0(s, r, ss) == 1) {
        r = ss = NULL; /* owned by s now */
        if (i2d_ECDSA_SIG(s, NULL) <= (int)cap) {
            uint8_t *p = der;
            len = i2d_ECDSA_SIG(s, &p);
        }
    }
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    return len > 0 ? len : -EINVAL;
}

static bool signature_ok(EVP_PKEY *pkey, unsigned alg, const char *input, size_t input_len,
                         const uint8_t *sig, size_t sig_len)
{
    uint8_t der[2 * 66 + 16];
    if (alg & (AUTH_JWT_ES256 | AUTH_JWT_ES384 | AUTH_JWT_ES512)) {
        int n = ecdsa_to_der(alg, sig, sig_len, der, sizeof(der));
        if (n < 0)
            return false;
        sig = der;
        sig_len = (size_t)n;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, alg_md(alg), NULL, pkey) == 1;
    if (ok && (alg & (AUTH_JWT_PS256 | AUTH_JWT_PS384 | AUTH_JWT_PS512)))
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    ok = ok && EVP_DigestVerify(ctx, sig, sig_len, (const uint8_t *)input, input_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* A NumericDate claim: absent (1), present and valid (0), or of the wrong type (-1). */
static int numeric_date(const json_t *claims, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(claims, name);
    if (!v)
        return 1;
    if (!json_is_number(v))
        return -1;
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > 253402300799.0) /* year 9999 */
        return -1;
    *out = (int64_t)d;
    return 0;
}

static bool audience_has(const json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud) || json_array_size(aud) > AUTH_JWT_MAX_AUDIENCES)
        return false;
    size_t i;
    const json_t *a;
    json_array_foreach(aud, i, a)
    {
        if (json_is_string(a) && strcmp(json_string_value(a), want) == 0)
            return true;
    }
    return false;
}

static enum auth_jwt_reason check_claims(const json_t *c, const struct auth_jwt_expect *e,
                                         char *why, size_t why_size)
{
    const char *iss = json_string_value(json_object_get(c, "iss"));
    if (!e->issuer || !iss || strcmp(iss, e->issuer) != 0)
        return fail(AUTH_JWT_WRONG_ISSUER, why, why_size, "token issuer '%.200s' is not '%.200s'",
                    iss ? iss : "(none)", e->issuer ? e->issuer : "(unset)");
    if (!e->audience || !audience_has(json_object_get(c, "aud"), e->audience))
        return fail(AUTH_JWT_WRONG_AUDIENCE, why, why_size,
                    "token audience does not include '%.200s'",
                    e->audience ? e->audience : "(unset)");
    int64_t exp = 0, nbf = 0, iat = 0;
    int has = numeric_date(c, "exp", &exp);
    if (has != 0)
        return fail(AUTH_JWT_MISSING_CLAIM, why, why_size, "token 'exp' is %s",
                    has > 0 ? "missing" : "not a date");
    if (e->now_s > exp + e->leeway_s)
        return fail(AUTH_JWT_EXPIRED, why, why_size, "token expired %lld s ago",
                    (long long)(e->now_s - exp));
    has = numeric_date(c, "nbf", &nbf);
    if (has < 0)
        return fail(AUTH_JWT_MISSING_CLAIM, why, why_size, "token 'nbf' is not a date");
    if (has == 0 && nbf > e->now_s + e->leeway_s)
        return fail(AUTH_JWT_NOT_YET_VALID, why, why_size, "token not valid for another %lld s",
                    (long long)(nbf - e->now_s));
    has = numeric_date(c, "iat", &iat);
    if (has < 0 || (has > 0 && e->require_iat))
        return fail(AUTH_JWT_MISSING_CLAIM, why, why_size, "token 'iat' is %s",
                    has > 0 ? "missing" : "not a date");
    if (has == 0 && iat > e->now_s + e->leeway_s)
        return fail(AUTH_JWT_ISSUED_IN_FUTURE, why, why_size, "token issued %lld s in the future",
                    (long long)(iat - e->now_s));
    return AUTH_JWT_OK;
}

enum auth_jwt_reason auth_jwt_verify(const char *token, size_t len, const auth_jwk_set *keys,
                                     const struct auth_jwt_expect *expect, struct auth_jwt *out,
                                     char *why, size_t why_size)
{
    memset(out, 0, sizeof(*out));
    struct parts parts;
    if (len > AUTH_JWT_MAX_BYTES)
        return fail(AUTH_JWT_MALFORMED, why, why_size, "token of %zu bytes is over the %u limit",
                    len, AUTH_JWT_MAX_BYTES);
    if (split(token, len, &parts) < 0)
        return fail(AUTH_JWT_MALFORMED, why, why_size,
                    "token is not three base64url parts separated by dots");
    json_t *hdr = decode_object(parts.p[0], parts.n[0], AUTH_JWT_MAX_HEADER_MEMBERS);
    json_t *claims = NULL;
    enum auth_jwt_reason r = AUTH_JWT_OK;
    if (!hdr) {
        r = fail(AUTH_JWT_MALFORMED, why, why_size,
                 "token header is not a JSON object of at most %d members",
                 AUTH_JWT_MAX_HEADER_MEMBERS);
        goto out;
    }
    const char *alg_name = json_string_value(json_object_get(hdr, "alg"));
    unsigned alg = auth_jwt_alg_from_name(alg_name);
    if (!alg || !(alg & expect->allowed_algs)) {
        r = fail(AUTH_JWT_ALG_REFUSED, why, why_size, "token alg '%.20s' is not allowed",
                 alg_name ? alg_name : "(none)");
        goto out;
    }
    if (json_object_get(hdr, "crit")) {
        r = fail(AUTH_JWT_CRIT, why, why_size, "token header has 'crit', which is not supported");
        goto out;
    }
    const json_t *kidj = json_object_get(hdr, "kid");
    if (kidj && (!json_is_string(kidj) || strlen(json_string_value(kidj)) > AUTH_JWK_KID_MAX)) {
        r = fail(AUTH_JWT_MALFORMED, why, why_size, "token 'kid' is not a short string");
        goto out;
    }
    const char *kid = kidj ? json_string_value(kidj) : NULL;
    claims = decode_object(parts.p[1], parts.n[1], AUTH_JWT_MAX_CLAIMS);
    if (!claims) {
        r = fail(AUTH_JWT_MALFORMED, why, why_size,
                 "token claims are not a JSON object of at most %d members", AUTH_JWT_MAX_CLAIMS);
        goto out;
    }
    uint8_t sig[SIG_MAX];
    int sig_len = auth_b64url_decode(parts.p[2], parts.n[2], sig, sizeof(sig));
    if (sig_len <= 0) {
        r = fail(AUTH_JWT_MALFORMED, why, why_size, "token signature is not valid base64url");
        goto out;
    }

    size_t input_len = parts.n[0] + 1 + parts.n[1];
    bool kid_found = false, type_fits = false, verified = false;
    for (size_t i = 0; i < auth_jwk_set_count(keys) && !verified; i++) {
        if (kid && strcmp(auth_jwk_set_kid(keys, i), kid) != 0)
            continue;
        kid_found = true;
        if (!(auth_jwk_set_algs(keys, i) & alg))
            continue;
        type_fits = true;
        verified =
            signature_ok(auth_jwk_set_pkey(keys, i), alg, token, input_len, sig, (size_t)sig_len);
    }
    if (!kid_found) {
        r = fail(AUTH_JWT_UNKNOWN_KID, why, why_size, "no key with kid '%.128s'",
                 kid ? kid : "(none)");
        goto out;
    }
    if (!type_fits) {
        r = fail(AUTH_JWT_KEY_MISMATCH, why, why_size,
                 "token alg %s does not fit the type of key '%.128s'", auth_jwt_alg_name(alg),
                 kid ? kid : "(any)");
        goto out;
    }
    if (!verified) {
        r = fail(AUTH_JWT_BAD_SIGNATURE, why, why_size, "token signature (%s) does not verify",
                 auth_jwt_alg_name(alg));
        goto out;
    }
    r = check_claims(claims, expect, why, why_size);
    if (r == AUTH_JWT_OK) {
        out->claims = claims;
        claims = NULL;
        out->alg = alg;
        snprintf(out->kid, sizeof(out->kid), "%s", kid ? kid : "");
        const char *typ = json_string_value(json_object_get(hdr, "typ"));
        if (typ && strlen(typ) < sizeof(out->typ))
            snprintf(out->typ, sizeof(out->typ), "%s", typ);
    }
out:
    json_decref(hdr);
    json_decref(claims);
    return r;
}
