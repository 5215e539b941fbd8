/*
 * JSON Web Keys (RFC 7517/7518) for verifying signatures: a JWK Set parsed
 * into OpenSSL public keys, each with the signature algorithms its type
 * allows. The algorithm is pinned to the key, never taken from a token: an
 * RSA key verifies RS256/384/512 and PS256/384/512 only, an EC key the one
 * ES* of its curve, an Ed25519 key EdDSA; a JWK "alg" narrows that to one.
 * Symmetric keys ("kty": "oct") and private members are refused.
 *
 * A set is immutable once parsed and refcounted, because the JWKS cache
 * swaps in a new one while other threads still verify with the old one.
 * Thread: any.
 */
#ifndef HORUS_AUTH_JWK_H
#define HORUS_AUTH_JWK_H

#include <stdbool.h>
#include <stddef.h>

/* Signature algorithms, as bits so that a configuration can allow a set. */
enum auth_jwt_alg {
    AUTH_JWT_RS256 = 1u << 0,
    AUTH_JWT_RS384 = 1u << 1,
    AUTH_JWT_RS512 = 1u << 2,
    AUTH_JWT_PS256 = 1u << 3,
    AUTH_JWT_PS384 = 1u << 4,
    AUTH_JWT_PS512 = 1u << 5,
    AUTH_JWT_ES256 = 1u << 6,
    AUTH_JWT_ES384 = 1u << 7,
    AUTH_JWT_ES512 = 1u << 8,
    AUTH_JWT_EDDSA = 1u << 9,
};
#define AUTH_JWT_ALGS_RSA                                                                          \
    (AUTH_JWT_RS256 | AUTH_JWT_RS384 | AUTH_JWT_RS512 | AUTH_JWT_PS256 | AUTH_JWT_PS384 |          \
     AUTH_JWT_PS512)
#define AUTH_JWT_ALGS_ALL                                                                          \
    (AUTH_JWT_ALGS_RSA | AUTH_JWT_ES256 | AUTH_JWT_ES384 | AUTH_JWT_ES512 | AUTH_JWT_EDDSA)

/*
 * The bit of a JOSE algorithm name ("RS256"), or 0 for a name this code
 * never verifies ("none", "HS256", unknown ones).
 */
unsigned auth_jwt_alg_from_name(const char *name);
/* The JOSE name of one bit, or "?" when alg is not exactly one known bit. */
const char *auth_jwt_alg_name(unsigned alg);

/* Largest JWK Set accepted, in bytes and keys. */
#define AUTH_JWKS_MAX_BYTES (256u * 1024)
#define AUTH_JWKS_MAX_KEYS 32
/* Longest "kid" kept; longer ones make the key unusable (skipped). */
#define AUTH_JWK_KID_MAX 128

typedef struct auth_jwk_set auth_jwk_set;

/*
 * Parses a JWK Set document ({"keys": [...]}) of len bytes. Keys that are
 * not for signatures ("use" other than "sig"), of an unsupported type or
 * curve, RSA keys under 2048 bits, EC points not on their curve, or keys
 * with private members are skipped, each with its reason in the log at
 * debug level; the set may end up empty. Stores a new set (one reference)
 * in *out and returns 0, or returns -EINVAL (not JSON, no "keys" array,
 * more than AUTH_JWKS_MAX_KEYS keys) or -E2BIG (over AUTH_JWKS_MAX_BYTES)
 * after writing the reason into err (err_size bytes, may be 0).
 */
int auth_jwk_set_parse(const char *json, size_t len, auth_jwk_set **out, char *err,
                       size_t err_size);

/* One more reference to set. */
auth_jwk_set *auth_jwk_set_ref(auth_jwk_set *set);
/* Drops one reference; the last frees the keys. NULL does nothing. */
void auth_jwk_set_unref(auth_jwk_set *set);

/* Usable keys in the set. */
size_t auth_jwk_set_count(const auth_jwk_set *set);
/* True when a usable key has this kid. */
bool auth_jwk_set_has_kid(const auth_jwk_set *set, const char *kid);

/*
 * Key i (< count): its kid ("" when none; borrowed from the set), the
 * algorithms it may verify (AUTH_JWT_* bits) and its OpenSSL key as an
 * EVP_PKEY * (borrowed from the set; void * keeps OpenSSL out of this
 * header).
 */
const char *auth_jwk_set_kid(const auth_jwk_set *set, size_t i);
unsigned auth_jwk_set_algs(const auth_jwk_set *set, size_t i);
void *auth_jwk_set_pkey(const auth_jwk_set *set, size_t i);

#endif
