/*
 * JWT verification (RFC 7519) of compact JWS tokens (RFC 7515) against a
 * JWK Set (jwk.h): the IdP's access tokens for programs and the ID tokens
 * of the OIDC login. Pure functions: no I/O, no clock of their own (the
 * caller passes the time), no logging.
 *
 * The rules, in the order they are checked:
 *  - at most AUTH_JWT_MAX_BYTES, three base64url parts without padding,
 *    header and claims JSON objects without duplicate members, at most
 *    AUTH_JWT_MAX_HEADER_MEMBERS and AUTH_JWT_MAX_CLAIMS members;
 *  - "alg" must be an asymmetric algorithm the caller allows ("none" and
 *    HS* never are), "crit" is refused (no extension is understood);
 *  - the key: the one with the token's "kid", or without "kid" each key of
 *    the set; the key's own algorithms (pinned to its type) must include
 *    the token's "alg", otherwise the key is not used;
 *  - the signature, with OpenSSL EVP (ECDSA r||s converted to DER);
 *  - "iss" equals the expected issuer, "aud" (string or array) holds the
 *    expected audience, "exp" is required and not past, "nbf" (when
 *    present) not in the future and "iat" (required when asked) not in the
 *    future, each with the caller's leeway.
 * Thread: any.
 */
#ifndef HORUS_AUTH_JWT_H
#define HORUS_AUTH_JWT_H

#include "jwk.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_JWT_MAX_BYTES (16u * 1024)
#define AUTH_JWT_MAX_HEADER_MEMBERS 16
#define AUTH_JWT_MAX_CLAIMS 128
#define AUTH_JWT_MAX_AUDIENCES 32

/* Why a token was refused; the log says it, the HTTP reply says only 401. */
enum auth_jwt_reason {
    AUTH_JWT_OK = 0,
    AUTH_JWT_MALFORMED, /* size, parts, base64url, JSON, member counts */
    AUTH_JWT_ALG_REFUSED, /* none, HS*, unknown, or not allowed by the configuration */
    AUTH_JWT_CRIT, /* a "crit" header */
    AUTH_JWT_UNKNOWN_KID, /* no key in the set has the token's kid */
    AUTH_JWT_KEY_MISMATCH, /* the key exists but its type does not allow the alg */
    AUTH_JWT_BAD_SIGNATURE,
    AUTH_JWT_WRONG_ISSUER,
    AUTH_JWT_WRONG_AUDIENCE,
    AUTH_JWT_EXPIRED,
    AUTH_JWT_NOT_YET_VALID, /* nbf in the future */
    AUTH_JWT_ISSUED_IN_FUTURE, /* iat in the future */
    AUTH_JWT_MISSING_CLAIM, /* exp, or iat when required, or a claim of the wrong type */
};

/* A short constant name of a reason ("expired"), for logs and metrics labels. */
const char *auth_jwt_reason_name(enum auth_jwt_reason reason);

/* What a valid token must say. Strings are borrowed for the call. */
struct auth_jwt_expect {
    const char *issuer; /* required: "iss" must equal it */
    const char *audience; /* required: "aud" must be or contain it */
    unsigned allowed_algs; /* AUTH_JWT_* bits; 0 allows none */
    int64_t now_s; /* Unix seconds */
    int64_t leeway_s; /* clock skew allowed on exp, nbf and iat */
    bool require_iat; /* ID tokens must carry "iat" */
};

/* A verified token, for the caller. */
struct auth_jwt {
    json_t *claims; /* owned: the claims object */
    unsigned alg; /* the AUTH_JWT_* bit it was signed with */
    char kid[AUTH_JWK_KID_MAX + 1]; /* the header's kid, "" when none */
    char typ[32]; /* the header's typ ("JWT", "at+jwt"), "" when none or longer */
};

/* Releases what a successful auth_jwt_verify stored (claims); safe on a zeroed struct. */
void auth_jwt_release(struct auth_jwt *jwt);

/*
 * Verifies token (len bytes, not necessarily NUL terminated) against keys
 * and expect. On success fills *out (release it with auth_jwt_release) and
 * returns AUTH_JWT_OK; otherwise returns the reason, leaves *out zeroed and
 * writes a sentence naming the problem into why (why_size bytes, may be 0)
 * that never contains the token or its signature.
 */
enum auth_jwt_reason auth_jwt_verify(const char *token, size_t len, const auth_jwk_set *keys,
                                     const struct auth_jwt_expect *expect, struct auth_jwt *out,
                                     char *why, size_t why_size);

/*
 * The header's kid of a token (what the JWKS cache needs before it picks a
 * key set), copied into kid (AUTH_JWK_KID_MAX + 1 bytes, "" when absent).
 * Returns 0, or -EINVAL when the header is malformed or kid too long.
 */
int auth_jwt_peek_kid(const char *token, size_t len, char kid[AUTH_JWK_KID_MAX + 1]);

#endif
