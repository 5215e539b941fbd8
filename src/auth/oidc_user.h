/*
 * What single sign-on needs from the identity store and the gate
 * (docs/design/0022-oidc-and-jwt.md): the Horus user of an OIDC identity,
 * found or made and kept in step with the IdP's role and camera mapping,
 * and the principal of an IdP access token, with a bounded cache of
 * verified tokens so that a JWT costs one signature check per token, not
 * one per request.
 */
#ifndef HORUS_AUTH_OIDC_USER_H
#define HORUS_AUTH_OIDC_USER_H

#include "auth.h"
#include "oidc.h"
#include "storage.h"

#include <stddef.h>
#include <stdint.h>

/*
 * The camera grant of id in its stored form ("*", or camera ids sorted,
 * separated by commas) into out (cap >= AUTH_GRANT_TEXT_MAX). Returns 0,
 * or -EINVAL with why when a claimed value is not a camera id or the claim
 * grants no camera at all (a principal that could see nothing). Pure.
 */
int auth_oidc_identity_grant(const struct auth_oidc_identity *id, char *out, size_t cap, char *why,
                             size_t why_cap);

/*
 * The user an SSO login signs in as: id->username. An existing user gets
 * the role and camera grant of the mapping (the IdP decides them); an
 * unknown one is created with them when id->create_user (with a random
 * password nobody knows: it signs in by SSO only until an admin sets
 * one). Returns 0 and a new principal of the user (kind
 * AUTH_KIND_SESSION, id ""), or -EACCES with why (a name Horus does not
 * accept, a disabled user, an unknown user while create_users is off),
 * -EINVAL with why (camera claims that are not camera ids, or none), or a storage
 * error. Thread: any but the storage writer.
 */
int auth_oidc_user_sync(sto_db *db, const struct auth_oidc_identity *id,
                        struct auth_principal **out, char *why, size_t why_cap);

/*
 * The principal of a verified access token's identity: kind AUTH_KIND_JWT,
 * id the subject (cut to fit), name the user name, no Horus user behind
 * it, role and grant from the mapping. Returns 0 and a new principal, or
 * -EINVAL with why (camera claims that are not camera ids, or none).
 * Thread: any.
 */
int auth_oidc_token_principal(const struct auth_oidc_identity *id, struct auth_principal **out,
                              char *why, size_t why_cap);

/*
 * Verified bearer tokens by SHA-256, until their expiry: a fixed number of
 * slots (a token whose slot another one takes is verified again), one
 * mutex, no I/O under it. Thread: any.
 */
typedef struct auth_token_cache auth_token_cache;

/* A cache of slots entries (rounded up to a power of two, at least 16). */
auth_token_cache *auth_token_cache_new(size_t slots);
void auth_token_cache_free(auth_token_cache *c);

/*
 * A new copy of the principal cached for token (len bytes) while now_s is
 * before its expiry, else NULL (an expired entry is dropped).
 */
struct auth_principal *auth_token_cache_get(auth_token_cache *c, const char *token, size_t len,
                                            int64_t now_s);

/* Remembers a copy of p for token until expires_at_s (Unix seconds). */
void auth_token_cache_put(auth_token_cache *c, const char *token, size_t len,
                          const struct auth_principal *p, int64_t expires_at_s);

/* Entries now held and lookups answered from the cache, for tests and metrics. */
size_t auth_token_cache_count(auth_token_cache *c);
uint64_t auth_token_cache_hits(auth_token_cache *c);

#endif
