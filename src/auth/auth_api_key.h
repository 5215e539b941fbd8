/*
 * API keys: bearer tokens for programs (docs/design/0016-identity.md).
 * A key reads "hk_<id>_<secret>": id is 16 lowercase hex characters (the
 * row's primary key, so lookup is one read by id), secret 32 random bytes
 * in base64url. Only SHA-256(secret) is stored and compared in constant
 * time; the full key is shown once, when it is made.
 * Thread: any but the storage writer.
 */
#ifndef HORUS_AUTH_API_KEY_H
#define HORUS_AUTH_API_KEY_H

#include "auth.h"
#include "storage.h"

#include <stddef.h>
#include <stdint.h>

#define AUTH_API_KEY_ID_LEN 16
/* "hk_" + id + "_" + 43 characters of secret + NUL */
#define AUTH_API_KEY_MAX (3 + AUTH_API_KEY_ID_LEN + 1 + 43 + 1)
/* last_used is written at most this often per key. */
#define AUTH_API_KEY_TOUCH_MS 60000

/*
 * Splits token into its id (id_out: AUTH_API_KEY_ID_LEN + 1 bytes) and its
 * secret (borrowed from token). Returns 0, or -EINVAL when token is not a
 * well-formed Horus API key. Pure.
 */
int auth_api_key_parse(const char *token, char *id_out, const char **secret);

struct auth_api_key_options {
    const char *name; /* label, 1..128 printable characters */
    enum auth_role role;
    const char *cameras; /* grant text as auth_cameras_normalize takes it; NULL = "*" */
    const char *owner; /* creating user; NULL or "" for the command line */
    int64_t now_ms;
    int64_t expires_at_ms; /* 0 = never */
    const char *tenant; /* NULL or "" = none; the caller checks that it exists */
};

/*
 * Makes and stores a key. key_out (AUTH_API_KEY_MAX bytes) gets the full
 * key, id_out (AUTH_API_KEY_ID_LEN + 1) its id. Returns 0, -EINVAL with a
 * reason in why (bad name or grant), -EIO when the random generator fails,
 * or a storage error.
 */
int auth_api_key_create(sto_db *db, const struct auth_api_key_options *o, char *key_out,
                        char *id_out, char *why, size_t why_cap);

/*
 * Authenticates a bearer token that looks like an API key. Returns 0 and
 * a new principal (kind AUTH_KIND_API_KEY, the key's role and grant), or
 * HORUS_EAUTH for a malformed, unknown, wrong, revoked or expired key
 * (the caller cannot tell which: every one is "invalid credentials"), or a
 * storage error. Queues the last-use stamp when the stored one is older
 * than AUTH_API_KEY_TOUCH_MS.
 */
int auth_api_key_authenticate(sto_db *db, const char *token, int64_t now_ms,
                              struct auth_principal **out);
/*
 * The same; on success *valid_until_ms (when not NULL) gets the first
 * instant the answer may change without a write to the key: its expiry,
 * or when its next last-use stamp is due (the gate's cache, auth_cache.h).
 */
int auth_api_key_authenticate_until(sto_db *db, const char *token, int64_t now_ms,
                                    struct auth_principal **out, int64_t *valid_until_ms);

/*
 * The principal of the key whose id is id, as auth_api_key_authenticate
 * gives it but without its secret: for a credential checked another way
 * (an RTSP Digest response against the key's kept HA1). Returns 0 with
 * *out, HORUS_EAUTH (unknown, revoked, expired) or a storage error.
 */
int auth_api_key_principal(sto_db *db, const char *id, int64_t now_ms, struct auth_principal **out);

#endif
