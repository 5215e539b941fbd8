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
    if (!box) {
        *out = horus_asprintf(PLAIN_PREFIX "%s", b32);
        return 0;
    }
    char *aad = mfa_aad(user);
    int rc = sto_secret_seal(box, b32, strlen(b32), aad, out);
    free(aad);
    return rc;
}

int sto_mfa_secret_open(const sto_secret_box *box, const char *user, const char *stored, char **b32)
{
    *b32 = NULL;
    if (!user || !stored)
        return -EINVAL;
    size_t pre = strlen(PLAIN_PREFIX);
    if (strncmp(stored, PLAIN_PREFIX, pre) == 0) {
        *b32 = horus_strdup(stored + pre);
        return 0;
    }
    if (!sto_secret_is_sealed(stored))
        return -EINVAL;
    if (!box)
        return -ENOKEY;
    char *aad = mfa_aad(user);
    size_t len = 0;
    int rc = sto_secret_open(box, stored, aad, b32, &len);
    free(aad);
    if (rc == HORUS_EPARSE)
        rc = -EINVAL;
    if (rc == 0 && strlen(*b32) != len) { /* a NUL inside: no base32 text */
        explicit_bzero(*b32, len);
        free(*b32);
        *b32 = NULL;
        rc = -EINVAL;
    }
    return rc;
}

/* ---- census and re-sealing, on raw rows ---- */

struct raw_mfa {
    char *user, *secret; /* owned */
};

struct raw_acc {
    struct raw_mfa *items;
    size_t n, cap;
};

static int raw_row(const sto_value *c, size_t n, void *arg)
{
    struct raw_acc *acc = arg;
    if (n < 2)
        return HORUS_EDB;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->items = horus_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    struct raw_mfa *r = &acc->items[acc->n++];
    r->user = sto_col_text(&c[0]);
    r->secret = sto_col_text(&c[1]);
    return 0;
}

static void raw_free(struct raw_acc *acc)
{
    for (size_t i = 0; i < acc->n; i++) {
        free(acc->items[i].user);
        if (acc->items[i].secret)
            explicit_bzero(acc->items[i].secret, strlen(acc->items[i].secret));
        free(acc->items[i].secret);
    }
    free(acc->items);
}

static int raw_read(sto_db *db, struct raw_acc *acc)
{
    return sto_read(db, "SELECT user_name, secret FROM user_mfa ORDER BY user_name", NULL, 0,
                    raw_row, acc);
}

int sto_mfa_secrets_census_add(sto_db *db, struct sto_secret_census *census)
{
    struct raw_acc acc = {0};
    int rc = raw_read(db, &acc);
    for (size_t i = 0; rc == 0 && i < acc.n; i++) {
        const char *s = acc.items[i].secret ? acc.items[i].secret : "";
        if (strncmp(s, PLAIN_PREFIX, strlen(PLAIN_PREFIX)) == 0)
            census->plain++;
        else
            sto_secret_census_add_sealed(census, s, strlen(s));
    }
    raw_free(&acc);
    return rc;
}

int sto_mfa_secrets_collect(sto_db *db, const sto_secret_box *box, struct sto_reseal *batch,
                            char *why, size_t why_size)
{
    struct raw_acc acc = {0};
    int rc = raw_read(db, &acc);
    for (size_t i = 0; rc == 0 && i < acc.n; i++) {
        const struct raw_mfa *r = &acc.items[i];
        const char *s = r->secret ? r->secret : "";
        struct sto_secret_parts parts;
        bool is_sealed = sto_secret_parse(s, strlen(s), &parts) == 0;
        if (is_sealed && strcmp(parts.key_id, sto_secret_box_key_id(box)) == 0)
            continue; /* already under the primary key */
        if (!is_sealed && strncmp(s, PLAIN_PREFIX, strlen(PLAIN_PREFIX)) != 0)
            continue; /* a form this build does not know: left as is (its logins fail) */
        char *b32 = NULL, *fresh = NULL;
        rc = sto_mfa_secret_open(box, r->user, s, &b32);
        if (rc < 0) {
            snprintf(why, why_size, "user '%s' TOTP secret: sealed under key id %s: %s", r->user,
                     parts.key_id,
                     rc == -ENOKEY ? "no such key" : "does not open (tampered, or another key)");
            break;
        }
        rc = sto_mfa_secret_seal(box, r->user, b32, &fresh);
        explicit_bzero(b32, strlen(b32));
        free(b32);
        if (rc < 0) {
            snprintf(why, why_size, "user '%s' TOTP secret: seal: %s", r->user, horus_strerror(rc));
            break;
        }
        sto_reseal_add(batch,
                       "UPDATE user_mfa SET secret = $2 WHERE user_name = $1 AND secret = $3",
                       r->user, fresh, s);
    }
    raw_free(&acc);
    return rc;
}
