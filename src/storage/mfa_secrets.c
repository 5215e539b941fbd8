/*
 * DESIGN: TOTP secrets at rest (docs/design/0023, 0019). user_mfa.secret
 * holds the base32 text of a user's TOTP secret sealed by the database's
 * secret box (secret_box.h), the additional data binding it to its user:
 *   hsb1.<key id>.<nonce>.<ciphertext of the base32 text>.<tag>
 * with aad "user_mfa <user name>", so a sealed secret copied to another
 * user's row does not open. Rows written before ("b32:" and the base32 in
 * clear) are still read, and sealed at start and on rotation by
 * sto_secrets_seal (secrets.c) through sto_mfa_secrets_collect below.
 * The base32 text (not the raw bytes) is what is sealed so that storage
 * can seal an old row without decoding it; auth (auth_mfa.c) turns bytes
 * into base32 and back and calls only this seal/open pair.
 *
 * Thread: any (pure functions; the collector reads on a reader).
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAIN_PREFIX "b32:"

static char *mfa_aad(const char *user)
{
    return horus_asprintf("user_mfa %s", user);
}

int sto_mfa_secret_seal(const sto_secret_box *box, const char *user, const char *b32, char **out)
{
    *out = NULL;
    if (!user || !user[0] || !b32 || !b32[0])
        return -EINVAL;
    char *aad = mfa_aad(user);
    int rc = sto_text_seal(box, aad, PLAIN_PREFIX, b32, out);
    free(aad);
    return rc;
}

int sto_mfa_secret_open(const sto_secret_box *box, const char *user, const char *stored, char **b32)
{
    *b32 = NULL;
    if (!user || !stored)
        return -EINVAL;
    char *aad = mfa_aad(user);
    int rc = sto_text_open(box, aad, PLAIN_PREFIX, stored, b32);
    free(aad);
    return rc;
}

/* ---- census and re-sealing (secrets.c) ---- */

static const struct sto_keyed_secrets mfa_rows = {
    .select_sql = "SELECT user_name, secret FROM user_mfa ORDER BY user_name",
    .update_sql = "UPDATE user_mfa SET secret = $2 WHERE user_name = $1 AND secret = $3",
    .plain_prefix = PLAIN_PREFIX,
    .owner = "user",
    .what = "TOTP secret",
    .open = sto_mfa_secret_open,
    .seal = sto_mfa_secret_seal,
};

int sto_mfa_secrets_census_add(sto_db *db, struct sto_secret_census *census)
{
    return sto_keyed_secrets_census_add(db, &mfa_rows, census);
}

int sto_mfa_secrets_collect(sto_db *db, const sto_secret_box *box, struct sto_reseal *batch,
                            char *why, size_t why_size)
{
    return sto_keyed_secrets_collect(db, box, &mfa_rows, batch, why, why_size);
}
