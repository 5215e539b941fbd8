/*
 * DESIGN: API keys (docs/design/0016-identity.md). The id in the key makes
 * the lookup a primary-key read, and the secret is compared as SHA-256
 * hex in constant time, so neither the database nor the timing tells an
 * attacker more than "invalid". Every failure is the same HORUS_EAUTH.
 * Last use is stamped through the writer without waiting, at most once a
 * minute per key, so that a busy client does not turn reads into writes.
 * Thread: any but the storage writer.
 */
#include "auth_api_key.h"

#include "auth_digest.h"
#include "auth_token.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SECRET_BYTES 32

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_b64url(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int auth_api_key_parse(const char *token, char *id_out, const char **secret)
{
    id_out[0] = '\0';
    if (!token || strncmp(token, "hk_", 3) != 0)
        return -EINVAL;
    const char *id = token + 3;
    for (size_t i = 0; i < AUTH_API_KEY_ID_LEN; i++)
        if (!is_hex(id[i]))
            return -EINVAL;
    if (id[AUTH_API_KEY_ID_LEN] != '_')
        return -EINVAL;
    const char *s = id + AUTH_API_KEY_ID_LEN + 1;
    size_t n = strlen(s);
    if (n != AUTH_B64URL_LEN(SECRET_BYTES))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!is_b64url(s[i]))
            return -EINVAL;
    memcpy(id_out, id, AUTH_API_KEY_ID_LEN);
    id_out[AUTH_API_KEY_ID_LEN] = '\0';
    *secret = s;
    return 0;
}

static int check_name(const char *name, char *why, size_t why_cap)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 128) {
        snprintf(why, why_cap, "name: must be 1..128 characters");
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
            snprintf(why, why_cap, "name: must not hold control characters");
            return -EINVAL;
        }
    return 0;
}

int auth_api_key_create(sto_db *db, const struct auth_api_key_options *o, char *key_out,
                        char *id_out, char *why, size_t why_cap)
{
    key_out[0] = '\0';
    id_out[0] = '\0';
    int rc = check_name(o->name, why, why_cap);
    if (rc < 0)
        return rc;
    char cameras[AUTH_GRANT_TEXT_MAX];
    if (auth_role_grant_check(o->role, o->cameras, cameras, sizeof(cameras), why, why_cap) < 0)
        return -EINVAL;
    uint8_t idb[AUTH_API_KEY_ID_LEN / 2];
    if (auth_random_bytes(idb, sizeof(idb)) < 0)
        return -EIO;
    for (size_t i = 0; i < sizeof(idb); i++)
        snprintf(id_out + 2 * i, 3, "%02x", idb[i]);
    char secret[AUTH_B64URL_LEN(SECRET_BYTES) + 1];
    if (auth_random_token(SECRET_BYTES, secret, sizeof(secret)) < 0)
        return -EIO;
    char hash[AUTH_SHA256_HEX_LEN];
    auth_sha256_hex(secret, strlen(secret), hash);
    struct sto_api_key row = {
        .id = id_out,
        .name = (char *)o->name,
        .secret_sha256 = hash,
        .role = (char *)auth_role_name(o->role),
        .cameras = cameras,
        .owner = (char *)(o->owner ? o->owner : ""),
        .tenant = (char *)(o->tenant ? o->tenant : ""),
        .created_at_ms = o->now_ms,
        .expires_at_ms = o->expires_at_ms,
    };
    rc = sto_api_key_insert(db, &row);
    if (rc == 0) {
        char key[AUTH_API_KEY_MAX];
        snprintf(key, sizeof(key), "hk_%s_%s", id_out, secret);
        auth_digest_note_key(db, id_out, key);
        memset(key, 0, sizeof(key));
    }
    if (rc == 0)
        snprintf(key_out, AUTH_API_KEY_MAX, "hk_%s_%s", id_out, secret);
    memset(secret, 0, sizeof(secret));
    return rc;
}

int auth_api_key_authenticate(sto_db *db, const char *token, int64_t now_ms,
                              struct auth_principal **out)
{
    return auth_api_key_authenticate_until(db, token, now_ms, out, NULL);
}

/*
 * The principal of key row k when it may be used at now_ms (not revoked,
 * not expired, a known role), else NULL; stamps its last use when due.
 */
static struct auth_principal *key_principal(sto_db *db, const struct sto_api_key *k, int64_t now_ms)
{
    enum auth_role role;
    if (k->revoked_at_ms != 0 || (k->expires_at_ms != 0 && now_ms >= k->expires_at_ms) ||
        auth_role_parse(k->role, &role) < 0)
        return NULL;
    struct auth_principal *p = auth_principal_new(AUTH_KIND_API_KEY, k->id, k->name, role);
    snprintf(p->user, sizeof(p->user), "%s", k->owner);
    snprintf(p->tenant, sizeof(p->tenant), "%s", k->tenant);
    if (auth_principal_set_cameras(p, k->cameras) < 0) {
        auth_principal_free(p);
        return NULL;
    }
    if (now_ms - k->last_used_ms >= AUTH_API_KEY_TOUCH_MS)
        (void)sto_api_key_touch_async(db, k->id, now_ms); /* a full queue skips one stamp */
    return p;
}

/* The row of key id: 0, HORUS_EAUTH when there is none, or a storage error. */
static int key_get(sto_db *db, const char *id, struct sto_api_key *k)
{
    int rc = sto_api_key_get(db, id, k);
    return rc == -ENOENT ? HORUS_EAUTH : rc;
}

int auth_api_key_authenticate_until(sto_db *db, const char *token, int64_t now_ms,
                                    struct auth_principal **out, int64_t *valid_until_ms)
{
    *out = NULL;
    char id[AUTH_API_KEY_ID_LEN + 1];
    const char *secret;
    if (auth_api_key_parse(token, id, &secret) < 0)
        return HORUS_EAUTH;
    struct sto_api_key k;
    int rc = key_get(db, id, &k);
    if (rc < 0)
        return rc;
    char hash[AUTH_SHA256_HEX_LEN];
    auth_sha256_hex(secret, strlen(secret), hash);
    struct auth_principal *p =
        auth_streq_ct(hash, k.secret_sha256) ? key_principal(db, &k, now_ms) : NULL;
    if (p && valid_until_ms) {
        /* Until it expires, and until its next last-use stamp is due. */
        int64_t stamp = now_ms - k.last_used_ms >= AUTH_API_KEY_TOUCH_MS
                            ? now_ms + AUTH_API_KEY_TOUCH_MS
                            : k.last_used_ms + AUTH_API_KEY_TOUCH_MS;
        *valid_until_ms = k.expires_at_ms && k.expires_at_ms < stamp ? k.expires_at_ms : stamp;
    }
    sto_api_key_release(&k);
    if (!p)
        return HORUS_EAUTH;
    *out = p;
    return 0;
}

int auth_api_key_principal(sto_db *db, const char *id, int64_t now_ms, struct auth_principal **out)
{
    *out = NULL;
    struct sto_api_key k;
    int rc = key_get(db, id, &k);
    if (rc < 0)
        return rc;
    *out = key_principal(db, &k, now_ms);
    sto_api_key_release(&k);
    if (!*out)
        return HORUS_EAUTH;
    return 0;
}
