/*
 * DESIGN: the identity repository: users, browser sessions and API keys
 * (docs/design/0016-identity.md). Secrets never reach these tables in
 * clear: users hold an argon2id encoded hash, sessions and API keys the
 * SHA-256 hex of their random token, so a copy of horus.db opens nothing.
 * Reads run on a reader connection, writes go through the writer thread;
 * activity stamps (a session's last_seen, a key's last_used) are queued
 * without waiting so that a request never waits for a commit.
 * Thread: any (the waiting writes: any but the writer).
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/*
 * Where each column of a row kind lands, in SELECT order (the kind's arg;
 * min_cols is their count). Text columns are owned strings (SECRET ones
 * are wiped before they are freed); BOOL columns are stored as != 0.
 */
enum col_kind { COL_TEXT, COL_SECRET, COL_INT, COL_BOOL };

struct col {
    enum col_kind kind;
    size_t off;
};

static void decode(const struct sto_list_kind *k, const sto_value *c, size_t ncols, void *out)
{
    (void)ncols;
    const struct col *cols = k->arg;
    for (size_t i = 0; i < k->min_cols; i++) {
        char *field = (char *)out + cols[i].off;
        switch (cols[i].kind) {
        case COL_TEXT:
        case COL_SECRET:
            *(char **)field = sto_col_text(&c[i]);
            break;
        case COL_INT:
            *(int64_t *)field = sto_col_int(&c[i]);
            break;
        case COL_BOOL:
            *(bool *)field = sto_col_int(&c[i]) != 0;
            break;
        }
    }
}

/* Frees item's strings (wiping SECRET ones) and zeroes it; item may be NULL. */
static void release(const struct sto_list_kind *k, void *item)
{
    if (!item)
        return;
    const struct col *cols = k->arg;
    for (size_t i = 0; i < k->min_cols; i++) {
        if (cols[i].kind != COL_TEXT && cols[i].kind != COL_SECRET)
            continue;
        char *str = *(char **)((char *)item + cols[i].off);
        if (str && cols[i].kind == COL_SECRET)
            memset(str, 0, strlen(str));
        free(str);
    }
    memset(item, 0, k->size);
}

static int64_t now_ms(sto_db *db)
{
    return clock_realtime_ms(sto_db_clock(db));
}

/* ---- users ---- */

#define USER_COLUMNS                                                                               \
    "name, password_hash, role, cameras, tenant, disabled, must_change_password,"                  \
    " created_at_ms, updated_at_ms"

/* In USER_COLUMNS order. */
static const struct col USER_COLS[] = {
    {COL_TEXT, offsetof(struct sto_user, name)},
    {COL_SECRET, offsetof(struct sto_user, password_hash)},
    {COL_TEXT, offsetof(struct sto_user, role)},
    {COL_TEXT, offsetof(struct sto_user, cameras)},
    {COL_TEXT, offsetof(struct sto_user, tenant)},
    {COL_BOOL, offsetof(struct sto_user, disabled)},
    {COL_BOOL, offsetof(struct sto_user, must_change_password)},
    {COL_INT, offsetof(struct sto_user, created_at_ms)},
    {COL_INT, offsetof(struct sto_user, updated_at_ms)},
};
static const struct sto_list_kind USERS = {sizeof(struct sto_user), HORUS_ARRAY_LEN(USER_COLS),
                                           decode, release, USER_COLS};

void sto_user_release(struct sto_user *u)
{
    release(&USERS, u);
}

void sto_user_list_free(struct sto_user *list, size_t n)
{
    sto_list_free(&USERS, list, n);
}

struct sto_user_input sto_user_input_of(const struct sto_user *u)
{
    return (struct sto_user_input){
        .name = u->name,
        .password_hash = u->password_hash,
        .role = u->role,
        .cameras = u->cameras,
        .tenant = u->tenant,
        .disabled = u->disabled,
        .must_change_password = u->must_change_password,
    };
}

int sto_user_get(sto_db *db, const char *name, struct sto_user *out)
{
    sto_value p[] = {STO_TEXT_V(name)};
    return sto_read_one(db, "SELECT " USER_COLUMNS " FROM users WHERE name = $1", p, 1, &USERS,
                        out);
}

int sto_user_list(sto_db *db, struct sto_user **out, size_t *n)
{
    return sto_read_list(db, "SELECT " USER_COLUMNS " FROM users ORDER BY name", NULL, 0, &USERS,
                         (void **)out, n);
}

static int count_cb(const sto_value *cols, size_t n, void *arg)
{
    if (n > 0)
        *(uint64_t *)arg = (uint64_t)sto_col_int(&cols[0]);
    return 1;
}

int sto_user_count(sto_db *db, const char *role, uint64_t *n)
{
    *n = 0;
    if (!role) {
        int rc = sto_read(db, "SELECT count(*) FROM users", NULL, 0, count_cb, n);
        return rc < 0 ? rc : 0;
    }
    sto_value p[] = {STO_TEXT_V(role)};
    int rc = sto_read(db, "SELECT count(*) FROM users WHERE role = $1 AND disabled = 0", p, 1,
                      count_cb, n);
    return rc < 0 ? rc : 0;
}

bool sto_user_is_last_admin(sto_db *db, const struct sto_user *u)
{
    if ((strcmp(u->role, "admin") != 0 && strcmp(u->role, "superadmin") != 0) || u->disabled)
        return false;
    uint64_t admins = 0, supers = 0;
    sto_user_count(db, "admin", &admins);
    sto_user_count(db, "superadmin", &supers);
    return admins + supers <= 1;
}

int sto_user_insert(sto_db *db, const struct sto_user_input *u)
{
    int64_t now = now_ms(db);
    sto_value p[] = {STO_TEXT_V(u->name),
                     STO_TEXT_V(u->password_hash),
                     STO_TEXT_V(u->role),
                     STO_TEXT_V(u->cameras ? u->cameras : "*"),
                     STO_TEXT_V(u->tenant ? u->tenant : ""),
                     STO_INT_V(u->disabled),
                     STO_INT_V(u->must_change_password),
                     STO_INT_V(now),
                     STO_INT_V(now)};
    return sto_write_access(db,
                            "INSERT INTO users (" USER_COLUMNS
                            ") VALUES ($1, $2, $3, $4, $5, $6, $7,"
                            " $8, $9)",
                            p, 9);
}

int sto_user_update(sto_db *db, const struct sto_user_input *u)
{
    sto_value p[] = {STO_TEXT_V(u->name),
                     STO_TEXT_V(u->password_hash),
                     STO_TEXT_V(u->role),
                     STO_TEXT_V(u->cameras ? u->cameras : "*"),
                     STO_TEXT_V(u->tenant ? u->tenant : ""),
                     STO_INT_V(u->disabled),
                     STO_INT_V(u->must_change_password),
                     STO_INT_V(now_ms(db))};
    sto_value pu[] = {STO_TEXT_V(u->name)};
    struct sto_stmt st[] = {
        {"UPDATE users SET password_hash = $2, role = $3, cameras = $4, tenant = $5,"
         " disabled = $6, must_change_password = $7, updated_at_ms = $8 WHERE name = $1",
         p, 8},
        {"DELETE FROM sessions WHERE user_name = $1", pu, 1},
    };
    return sto_write_batch_access(db, st, u->disabled ? 2 : 1);
}

int sto_user_delete(sto_db *db, const char *name)
{
    sto_value p[] = {STO_TEXT_V(name), STO_INT_V(now_ms(db))};
    /* Preferences leave with their owner: the user's own and those of the keys it loses. */
    struct sto_stmt st[] = {
        {"DELETE FROM sessions WHERE user_name = $1", p, 1},
        {"DELETE FROM preferences WHERE owner_kind = 'api_key' AND owner_id IN"
         " (SELECT id FROM api_keys WHERE owner = $1)",
         p, 1},
        {"UPDATE api_keys SET revoked_at_ms = $2 WHERE owner = $1 AND revoked_at_ms = 0", p, 2},
        {"DELETE FROM preferences WHERE owner_kind = 'user' AND owner_id = $1", p, 1},
        {"DELETE FROM users WHERE name = $1", p, 1},
    };
    return sto_write_batch_access(db, st, HORUS_ARRAY_LEN(st));
}

/* ---- sessions ---- */

#define SESSION_COLUMNS                                                                            \
    "id, token_sha256, csrf_token, user_name, remote, user_agent, created_at_ms, last_seen_ms,"    \
    " expires_at_ms, method"

/* In SESSION_COLUMNS order. */
static const struct col SESSION_COLS[] = {
    {COL_TEXT, offsetof(struct sto_session, id)},
    {COL_TEXT, offsetof(struct sto_session, token_sha256)},
    {COL_TEXT, offsetof(struct sto_session, csrf_token)},
    {COL_TEXT, offsetof(struct sto_session, user_name)},
    {COL_TEXT, offsetof(struct sto_session, remote)},
    {COL_TEXT, offsetof(struct sto_session, user_agent)},
    {COL_INT, offsetof(struct sto_session, created_at_ms)},
    {COL_INT, offsetof(struct sto_session, last_seen_ms)},
    {COL_INT, offsetof(struct sto_session, expires_at_ms)},
    {COL_TEXT, offsetof(struct sto_session, method)},
};
static const struct sto_list_kind SESSIONS = {
    sizeof(struct sto_session), HORUS_ARRAY_LEN(SESSION_COLS), decode, release, SESSION_COLS};

void sto_session_release(struct sto_session *s)
{
    release(&SESSIONS, s);
}

void sto_session_list_free(struct sto_session *list, size_t n)
{
    sto_list_free(&SESSIONS, list, n);
}

int sto_session_insert(sto_db *db, const struct sto_session *s)
{
    sto_value p[] = {STO_TEXT_V(s->id),
                     STO_TEXT_V(s->token_sha256),
                     STO_TEXT_V(s->csrf_token),
                     STO_TEXT_V(s->user_name),
                     STO_TEXT_V(s->remote ? s->remote : ""),
                     STO_TEXT_V(s->user_agent ? s->user_agent : ""),
                     STO_INT_V(s->created_at_ms),
                     STO_INT_V(s->last_seen_ms),
                     STO_INT_V(s->expires_at_ms),
                     STO_TEXT_V(s->method ? s->method : STO_SESSION_PASSWORD)};
    return sto_write_access(db,
                            "INSERT INTO sessions (" SESSION_COLUMNS ") VALUES ($1, $2, $3, $4, $5,"
                            " $6, $7, $8, $9, $10)",
                            p, 10);
}

int sto_session_find(sto_db *db, const char *token_sha256, struct sto_session *out)
{
    sto_value p[] = {STO_TEXT_V(token_sha256)};
    return sto_read_one(db, "SELECT " SESSION_COLUMNS " FROM sessions WHERE token_sha256 = $1", p,
                        1, &SESSIONS, out);
}

int sto_session_get(sto_db *db, const char *id, struct sto_session *out)
{
    sto_value p[] = {STO_TEXT_V(id)};
    return sto_read_one(db, "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = $1", p, 1,
                        &SESSIONS, out);
}

int sto_session_list(sto_db *db, const char *user, struct sto_session **out, size_t *n)
{
    if (!user)
        return sto_read_list(db,
                             "SELECT " SESSION_COLUMNS " FROM sessions ORDER BY created_at_ms DESC",
                             NULL, 0, &SESSIONS, (void **)out, n);
    sto_value p[] = {STO_TEXT_V(user)};
    return sto_read_list(db,
                         "SELECT " SESSION_COLUMNS " FROM sessions WHERE user_name = $1"
                         " ORDER BY created_at_ms DESC",
                         p, 1, &SESSIONS, (void **)out, n);
}

int sto_session_touch_async(sto_db *db, const char *id, int64_t now)
{
    sto_value p[] = {STO_TEXT_V(id), STO_INT_V(now)};
    return sto_write_async(db, "UPDATE sessions SET last_seen_ms = $2 WHERE id = $1", p, 2, NULL,
                           NULL);
}

int sto_session_delete(sto_db *db, const char *id)
{
    sto_value p[] = {STO_TEXT_V(id)};
    return sto_write_access(db, "DELETE FROM sessions WHERE id = $1", p, 1);
}

int sto_session_delete_user(sto_db *db, const char *user)
{
    sto_value p[] = {STO_TEXT_V(user)};
    return sto_write_access(db, "DELETE FROM sessions WHERE user_name = $1", p, 1);
}

int sto_session_delete_expired(sto_db *db, int64_t idle_before_ms, int64_t now)
{
    sto_value p[] = {STO_INT_V(idle_before_ms), STO_INT_V(now)};
    return sto_write_access(
        db, "DELETE FROM sessions WHERE last_seen_ms < $1 OR expires_at_ms <= $2", p, 2);
}

/* ---- API keys ---- */

#define KEY_COLUMNS                                                                                \
    "id, name, secret_sha256, role, cameras, owner, tenant, created_at_ms, expires_at_ms,"         \
    " last_used_ms, revoked_at_ms"

/* In KEY_COLUMNS order. */
static const struct col KEY_COLS[] = {
    {COL_TEXT, offsetof(struct sto_api_key, id)},
    {COL_TEXT, offsetof(struct sto_api_key, name)},
    {COL_TEXT, offsetof(struct sto_api_key, secret_sha256)},
    {COL_TEXT, offsetof(struct sto_api_key, role)},
    {COL_TEXT, offsetof(struct sto_api_key, cameras)},
    {COL_TEXT, offsetof(struct sto_api_key, owner)},
    {COL_TEXT, offsetof(struct sto_api_key, tenant)},
    {COL_INT, offsetof(struct sto_api_key, created_at_ms)},
    {COL_INT, offsetof(struct sto_api_key, expires_at_ms)},
    {COL_INT, offsetof(struct sto_api_key, last_used_ms)},
    {COL_INT, offsetof(struct sto_api_key, revoked_at_ms)},
};
static const struct sto_list_kind KEYS = {sizeof(struct sto_api_key), HORUS_ARRAY_LEN(KEY_COLS),
                                          decode, release, KEY_COLS};

void sto_api_key_release(struct sto_api_key *k)
{
    release(&KEYS, k);
}

void sto_api_key_list_free(struct sto_api_key *list, size_t n)
{
    sto_list_free(&KEYS, list, n);
}

int sto_api_key_insert(sto_db *db, const struct sto_api_key *k)
{
    sto_value p[] = {STO_TEXT_V(k->id),
                     STO_TEXT_V(k->name),
                     STO_TEXT_V(k->secret_sha256),
                     STO_TEXT_V(k->role),
                     STO_TEXT_V(k->cameras ? k->cameras : "*"),
                     STO_TEXT_V(k->owner ? k->owner : ""),
                     STO_TEXT_V(k->tenant ? k->tenant : ""),
                     STO_INT_V(k->created_at_ms),
                     STO_INT_V(k->expires_at_ms),
                     STO_INT_V(0),
                     STO_INT_V(0)};
    return sto_write_access(db,
                            "INSERT INTO api_keys (" KEY_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6,"
                            " $7, $8, $9, $10, $11)",
                            p, 11);
}

int sto_api_key_get(sto_db *db, const char *id, struct sto_api_key *out)
{
    sto_value p[] = {STO_TEXT_V(id)};
    return sto_read_one(db, "SELECT " KEY_COLUMNS " FROM api_keys WHERE id = $1", p, 1, &KEYS, out);
}

int sto_api_key_list(sto_db *db, struct sto_api_key **out, size_t *n)
{
    return sto_read_list(db, "SELECT " KEY_COLUMNS " FROM api_keys ORDER BY created_at_ms, id",
                         NULL, 0, &KEYS, (void **)out, n);
}

int sto_api_key_revoke(sto_db *db, const char *id, int64_t now)
{
    struct sto_api_key k;
    int rc = sto_api_key_get(db, id, &k);
    if (rc < 0)
        return rc;
    sto_api_key_release(&k);
    sto_value p[] = {STO_TEXT_V(id), STO_INT_V(now)};
    /* A revoked key never signs in again: its preferences go with it. */
    struct sto_stmt st[] = {
        {"UPDATE api_keys SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms = 0", p, 2},
        {"DELETE FROM preferences WHERE owner_kind = 'api_key' AND owner_id = $1", p, 1},
    };
    return sto_write_batch_access(db, st, HORUS_ARRAY_LEN(st));
}

int sto_api_key_touch_async(sto_db *db, const char *id, int64_t now)
{
    sto_value p[] = {STO_TEXT_V(id), STO_INT_V(now)};
    return sto_write_async(db, "UPDATE api_keys SET last_used_ms = $2 WHERE id = $1", p, 2, NULL,
                           NULL);
}
