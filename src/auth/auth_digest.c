/*
 * DESIGN: RTSP Digest secrets (auth_digest.h, docs/design/0077). The HA1
 * is a password equivalent for Digest: it is computed only where the
 * password is in hand (set, verified, a key made), sealed by storage, and
 * wiped from memory after use. The lookup gives the same answers for a
 * name that does not exist and one that is disabled or revoked, so the
 * re-stream's refusal tells nothing more than Basic's would.
 */
#include "auth_digest.h"

#include "auth_api_key.h"
#include "auth_user.h"
#include "err.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static atomic_bool kept;

void auth_digest_keep(bool is_kept)
{
    atomic_store(&kept, is_kept);
}

bool auth_digest_is_kept(void)
{
    return atomic_load(&kept);
}

int auth_digest_ha1(const char *name, const char *realm, const char *password, char out[33])
{
    char text[1024];
    int n = snprintf(text, sizeof(text), "%s:%s:%s", name, realm, password);
    if (n < 0 || (size_t)n >= sizeof(text)) {
        OPENSSL_cleanse(text, sizeof(text));
        return -ENOSPC;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int ok = EVP_Digest(text, (size_t)n, md, &len, EVP_md5(), NULL);
    OPENSSL_cleanse(text, sizeof(text));
    if (!ok || len != 16)
        return -EIO;
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

static void keep(sto_db *db, enum sto_digest_owner kind, const char *owner, const char *name,
                 const char *password)
{
    char ha1[33];
    if (auth_digest_ha1(name, AUTH_DIGEST_REALM, password, ha1) == 0)
        (void)sto_rtsp_digest_set(db, kind, owner, ha1);
    OPENSSL_cleanse(ha1, sizeof(ha1));
}

void auth_digest_note_password(sto_db *db, const char *user, const char *password, bool is_set)
{
    if (!user || !password)
        return;
    if (!auth_digest_is_kept()) {
        /* A process that keeps none (the command line) must not leave the old password's. */
        if (is_set)
            (void)sto_rtsp_digest_set(db, STO_DIGEST_USER, user, NULL);
        return;
    }
    if (!is_set) {
        char ha1[33];
        int rc = sto_rtsp_digest_get(db, STO_DIGEST_USER, user, ha1);
        OPENSSL_cleanse(ha1, sizeof(ha1));
        if (rc != -ENODATA)
            return; /* kept already (a new password writes it), or the user is gone */
    }
    keep(db, STO_DIGEST_USER, user, user, password);
}

void auth_digest_note_key(sto_db *db, const char *id, const char *key)
{
    if (!auth_digest_is_kept())
        return;
    char name[4 + AUTH_API_KEY_ID_LEN];
    snprintf(name, sizeof(name), "hk_%s", id);
    keep(db, STO_DIGEST_API_KEY, id, name, key);
}

/* "hk_" and 16 lower-case hex digits: an API key's Digest name. */
static bool key_name(const char *name, char id[AUTH_API_KEY_ID_LEN + 1])
{
    if (strncmp(name, "hk_", 3) != 0 || strlen(name) != 3 + AUTH_API_KEY_ID_LEN)
        return false;
    for (size_t i = 0; i < AUTH_API_KEY_ID_LEN; i++) {
        char c = name[3 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    memcpy(id, name + 3, AUTH_API_KEY_ID_LEN + 1);
    return true;
}

int auth_digest_lookup(sto_db *db, const char *name, int64_t now_ms, char ha1[33],
                       struct auth_principal **out)
{
    *out = NULL;
    ha1[0] = '\0';
    char id[AUTH_API_KEY_ID_LEN + 1];
    bool is_key = key_name(name, id);
    if (!is_key && !auth_user_name_is_valid(name))
        return HORUS_EAUTH;
    struct auth_principal *p = NULL;
    int rc = is_key ? auth_api_key_principal(db, id, now_ms, &p)
                    : auth_user_principal_for_password(db, name, &p);
    if (rc < 0)
        return rc;
    rc = sto_rtsp_digest_get(db, is_key ? STO_DIGEST_API_KEY : STO_DIGEST_USER, is_key ? id : name,
                             ha1);
    if (rc == -ENOENT)
        rc = HORUS_EAUTH; /* deleted meanwhile */
    if (rc < 0) {
        OPENSSL_cleanse(ha1, 33);
        auth_principal_free(p);
        return rc;
    }
    *out = p;
    return 0;
}
