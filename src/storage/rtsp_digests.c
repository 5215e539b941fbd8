/*
 * DESIGN: RTSP Digest secrets at rest (docs/design/0077). The re-stream's
 * Digest authentication needs HA1 = MD5(name:realm:password) of each
 * principal, which the slow password hashes cannot give, so auth keeps it
 * beside them while restream.rtsp.digest is on: users.rtsp_digest (set
 * when a password is set or verified) and api_keys.rtsp_digest (set when
 * a key is made). Each is sealed by the secret box with additional data
 * naming its row ("rtsp_digest user <name>", "rtsp_digest key <id>"), so
 * a value copied to another row does not open; without a box the form is
 * "ha1:" and the hex in clear, which sto_secrets_seal seals like the
 * other secrets (secrets.c). sto_rtsp_digests_clear drops them all when
 * Digest is off, so nothing weaker than the password hashes stays.
 *
 * Thread: any but the writer (reads on a reader, writes waited for).
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAIN_PREFIX "ha1:"

static int seal_as(const sto_secret_box *box, const char *kind, const char *owner, const char *ha1,
                   char **out)
{
    *out = NULL;
    if (!owner || !owner[0] || !ha1 || !ha1[0])
        return -EINVAL;
    char *aad = horus_asprintf("rtsp_digest %s %s", kind, owner);
    int rc = sto_text_seal(box, aad, PLAIN_PREFIX, ha1, out);
    free(aad);
    return rc;
}

static int open_as(const sto_secret_box *box, const char *kind, const char *owner,
                   const char *stored, char **ha1)
{
    *ha1 = NULL;
    if (!owner || !stored)
        return -EINVAL;
    char *aad = horus_asprintf("rtsp_digest %s %s", kind, owner);
    int rc = sto_text_open(box, aad, PLAIN_PREFIX, stored, ha1);
    free(aad);
    return rc;
}

static int user_seal(const sto_secret_box *box, const char *user, const char *ha1, char **out)
{
    return seal_as(box, "user", user, ha1, out);
}

static int user_open(const sto_secret_box *box, const char *user, const char *stored, char **ha1)
{
    return open_as(box, "user", user, stored, ha1);
}

static int key_seal(const sto_secret_box *box, const char *id, const char *ha1, char **out)
{
    return seal_as(box, "key", id, ha1, out);
}

static int key_open(const sto_secret_box *box, const char *id, const char *stored, char **ha1)
{
    return open_as(box, "key", id, stored, ha1);
}

static const struct {
    const char *table, *key;
    int (*seal)(const sto_secret_box *, const char *, const char *, char **);
    int (*open)(const sto_secret_box *, const char *, const char *, char **);
} KINDS[] = {
    [STO_DIGEST_USER] = {"users", "name", user_seal, user_open},
    [STO_DIGEST_API_KEY] = {"api_keys", "id", key_seal, key_open},
};

int sto_rtsp_digest_set(sto_db *db, enum sto_digest_owner kind, const char *owner, const char *ha1)
{
    char *sealed = NULL;
    if (ha1) {
        int rc = KINDS[kind].seal(sto_db_secrets(db), owner, ha1, &sealed);
        if (rc < 0)
            return rc;
    }
    char sql[96];
    snprintf(sql, sizeof(sql), "UPDATE %s SET rtsp_digest = $2 WHERE %s = $1", KINDS[kind].table,
             KINDS[kind].key);
    sto_value p[] = {STO_TEXT_V(owner), sealed ? STO_TEXT_V(sealed) : STO_NULL_V};
    int rc = sto_write(db, sql, p, 2);
    if (sealed) {
        explicit_bzero(sealed, strlen(sealed));
        free(sealed);
    }
    return rc;
}

static int text_row(const sto_value *c, size_t n, void *arg)
{
    char **out = arg;
    if (n < 1)
        return HORUS_EDB;
    free(*out);
    *out = sto_col_text(&c[0]);
    if (!*out)
        *out = horus_strdup(""); /* the row exists, without a digest */
    return 0;
}

int sto_rtsp_digest_get(sto_db *db, enum sto_digest_owner kind, const char *owner, char ha1[33])
{
    ha1[0] = '\0';
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT rtsp_digest FROM %s WHERE %s = $1", KINDS[kind].table,
             KINDS[kind].key);
    sto_value p[] = {STO_TEXT_V(owner)};
    char *stored = NULL;
    int rc = sto_read(db, sql, p, 1, text_row, &stored);
    if (rc == 0 && !stored)
        rc = -ENOENT;
    else if (rc == 0 && !stored[0])
        rc = -ENODATA;
    char *plain = NULL;
    if (rc == 0)
        rc = KINDS[kind].open(sto_db_secrets(db), owner, stored, &plain);
    if (rc == 0 && strlen(plain) != 32)
        rc = -EINVAL;
    if (rc == 0)
        memcpy(ha1, plain, 33);
    if (plain) {
        explicit_bzero(plain, strlen(plain));
        free(plain);
    }
    free(stored);
    return rc;
}

int sto_rtsp_digests_clear(sto_db *db)
{
    struct sto_stmt stmts[] = {
        {.sql = "UPDATE users SET rtsp_digest = NULL WHERE rtsp_digest IS NOT NULL"},
        {.sql = "UPDATE api_keys SET rtsp_digest = NULL WHERE rtsp_digest IS NOT NULL"},
    };
    return sto_write_batch(db, stmts, 2);
}

/* ---- census and re-sealing (secrets.c) ---- */

static const struct sto_keyed_secrets user_rows = {
    .select_sql = "SELECT name, rtsp_digest FROM users WHERE rtsp_digest IS NOT NULL ORDER BY name",
    .update_sql = "UPDATE users SET rtsp_digest = $2 WHERE name = $1 AND rtsp_digest = $3",
    .plain_prefix = PLAIN_PREFIX,
    .owner = "user",
    .what = "RTSP Digest secret",
    .open = user_open,
    .seal = user_seal,
};

static const struct sto_keyed_secrets key_rows = {
    .select_sql = "SELECT id, rtsp_digest FROM api_keys WHERE rtsp_digest IS NOT NULL ORDER BY id",
    .update_sql = "UPDATE api_keys SET rtsp_digest = $2 WHERE id = $1 AND rtsp_digest = $3",
    .plain_prefix = PLAIN_PREFIX,
    .owner = "API key",
    .what = "RTSP Digest secret",
    .open = key_open,
    .seal = key_seal,
};

int sto_rtsp_digests_census_add(sto_db *db, struct sto_secret_census *census)
{
    int rc = sto_keyed_secrets_census_add(db, &user_rows, census);
    return rc < 0 ? rc : sto_keyed_secrets_census_add(db, &key_rows, census);
}

int sto_rtsp_digests_collect(sto_db *db, const sto_secret_box *box, struct sto_reseal *batch,
                             char *why, size_t why_size)
{
    int rc = sto_keyed_secrets_collect(db, box, &user_rows, batch, why, why_size);
    return rc < 0 ? rc : sto_keyed_secrets_collect(db, box, &key_rows, batch, why, why_size);
}
