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
#include <stdlib.h>
#include <string.h>

/* A growing array of rows of one kind, filled by a row callback. */
struct rows {
    void *items;
    size_t n;
    size_t cap;
    size_t size; /* bytes per item */
    void (*decode)(const sto_value *cols, void *out);
};

static int rows_cb(const sto_value *cols, size_t ncols, void *arg)
{
    (void)ncols;
    struct rows *r = arg;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->items = horus_realloc(r->items, r->cap * r->size);
    }
    void *item = (char *)r->items + r->n * r->size;
    memset(item, 0, r->size);
    r->decode(cols, item);
    r->n++;
    return 0;
}

/* Decodes the first row only into arg (an item); returns 1 to stop. */
struct one {
    void *out;
    bool found;
    void (*decode)(const sto_value *cols, void *out);
};

static int one_cb(const sto_value *cols, size_t ncols, void *arg)
{
    (void)ncols;
    struct one *o = arg;
    o->decode(cols, o->out);
    o->found = true;
    return 1;
}

static int read_one(sto_db *db, const char *sql, const sto_value *p, size_t np,
                    void (*decode)(const sto_value *, void *), void *out)
{
    struct one o = {.out = out, .decode = decode};
    int rc = sto_read(db, sql, p, np, one_cb, &o);
    if (rc < 0)
        return rc;
    return o.found ? 0 : -ENOENT;
}

static int read_rows(sto_db *db, const char *sql, const sto_value *p, size_t np,
                     void (*decode)(const sto_value *, void *), size_t size, void **out, size_t *n)
{
    struct rows r = {.size = size, .decode = decode};
    int rc = sto_read(db, sql, p, np, rows_cb, &r);
    *out = r.items;
    *n = r.n;
    return rc < 0 ? rc : 0;
}

static int64_t now_ms(sto_db *db)
{
    return clock_realtime_ms(sto_db_clock(db));
}

/* ---- users ---- */

#define USER_COLUMNS                                                                               \
    "name, password_hash, role, cameras, tenant, disabled, must_change_password,"                  \
    " created_at_ms, updated_at_ms"

static void decode_user(const sto_value *c, void *out)
{
    struct sto_user *u = out;
    u->name = sto_col_text(&c[0]);
    u->password_hash = sto_col_text(&c[1]);
    u->role = sto_col_text(&c[2]);
    u->cameras = sto_col_text(&c[3]);
    u->tenant = sto_col_text(&c[4]);
    u->disabled = sto_col_int(&c[5]) != 0;
    u->must_change_password = sto_col_int(&c[6]) != 0;
    u->created_at_ms = sto_col_int(&c[7]);
    u->updated_at_ms = sto_col_int(&c[8]);
}

void sto_user_release(struct sto_user *u)
{
    if (!u)
        return;
    if (u->password_hash)
        memset(u->password_hash, 0, strlen(u->password_hash));
    free(u->name);
    free(u->password_hash);
    free(u->role);
    free(u->cameras);
    free(u->tenant);
    memset(u, 0, sizeof(*u));
}

void sto_user_list_free(struct sto_user *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        sto_user_release(&list[i]);
    free(list);
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
    memset(out, 0, sizeof(*out));
    sto_value p[] = {STO_TEXT_V(name)};
    return read_one(db, "SELECT " USER_COLUMNS " FROM users WHERE name = $1", p, 1, decode_user,
                    out);
}

int sto_user_list(sto_db *db, struct sto_user **out, size_t *n)
{
    return read_rows(db, "SELECT " USER_COLUMNS " FROM users ORDER BY name", NULL, 0, decode_user,
                     sizeof(struct sto_user), (void **)out, n);
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
    struct sto_stmt st[] = {
        {"DELETE FROM sessions WHERE user_name = $1", p, 1},
        {"UPDATE api_keys SET revoked_at_ms = $2 WHERE owner = $1 AND revoked_at_ms = 0", p, 2},
        {"DELETE FROM users WHERE name = $1", p, 1},
    };
    return sto_write_batch_access(db, st, 3);
}

/* ---- sessions ---- */

#define SESSION_COLUMNS                                                                            \
    "id, token_sha256, csrf_token, user_name, remote, user_agent, created_at_ms, last_seen_ms,"    \
    " expires_at_ms, method"

static void decode_session(const sto_value *c, void *out)
{
    struct sto_session *s = out;
    s->id = sto_col_text(&c[0]);
    s->token_sha256 = sto_col_text(&c[1]);
    s->csrf_token = sto_col_text(&c[2]);
    s->user_name = sto_col_text(&c[3]);
    s->remote = sto_col_text(&c[4]);
    s->user_agent = sto_col_text(&c[5]);
    s->created_at_ms = sto_col_int(&c[6]);
    s->last_seen_ms = sto_col_int(&c[7]);
    s->expires_at_ms = sto_col_int(&c[8]);
    s->method = sto_col_text(&c[9]);
}

void sto_session_release(struct sto_session *s)
{
    if (!s)
        return;
    free(s->id);
    free(s->token_sha256);
    free(s->csrf_token);
    free(s->user_name);
    free(s->remote);
    free(s->user_agent);
    free(s->method);
    memset(s, 0, sizeof(*s));
}

void sto_session_list_free(struct sto_session *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        sto_session_release(&list[i]);
    free(list);
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
    memset(out, 0, sizeof(*out));
    sto_value p[] = {STO_TEXT_V(token_sha256)};
    return read_one(db, "SELECT " SESSION_COLUMNS " FROM sessions WHERE token_sha256 = $1", p, 1,
                    decode_session, out);
}

int sto_session_get(sto_db *db, const char *id, struct sto_session *out)
{
    memset(out, 0, sizeof(*out));
    sto_value p[] = {STO_TEXT_V(id)};
    return read_one(db, "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = $1", p, 1,
                    decode_session, out);
}

int sto_session_list(sto_db *db, const char *user, struct sto_session **out, size_t *n)
{
    if (!user)
        return read_rows(db, "SELECT " SESSION_COLUMNS " FROM sessions ORDER BY created_at_ms DESC",
                         NULL, 0, decode_session, sizeof(struct sto_session), (void **)out, n);
    sto_value p[] = {STO_TEXT_V(user)};
    return read_rows(db,
                     "SELECT " SESSION_COLUMNS " FROM sessions WHERE user_name = $1"
                     " ORDER BY created_at_ms DESC",
                     p, 1, decode_session, sizeof(struct sto_session), (void **)out, n);
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

static void decode_key(const sto_value *c, void *out)
{
    struct sto_api_key *k = out;
    k->id = sto_col_text(&c[0]);
    k->name = sto_col_text(&c[1]);
    k->secret_sha256 = sto_col_text(&c[2]);
    k->role = sto_col_text(&c[3]);
    k->cameras = sto_col_text(&c[4]);
    k->owner = sto_col_text(&c[5]);
    k->tenant = sto_col_text(&c[6]);
    k->created_at_ms = sto_col_int(&c[7]);
    k->expires_at_ms = sto_col_int(&c[8]);
    k->last_used_ms = sto_col_int(&c[9]);
    k->revoked_at_ms = sto_col_int(&c[10]);
}

void sto_api_key_release(struct sto_api_key *k)
{
    if (!k)
        return;
    free(k->id);
    free(k->name);
    free(k->secret_sha256);
    free(k->role);
    free(k->cameras);
    free(k->owner);
    free(k->tenant);
    memset(k, 0, sizeof(*k));
}

void sto_api_key_list_free(struct sto_api_key *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        sto_api_key_release(&list[i]);
    free(list);
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
    memset(out, 0, sizeof(*out));
    sto_value p[] = {STO_TEXT_V(id)};
    return read_one(db, "SELECT " KEY_COLUMNS " FROM api_keys WHERE id = $1", p, 1, decode_key,
                    out);
}

int sto_api_key_list(sto_db *db, struct sto_api_key **out, size_t *n)
{
    return read_rows(db, "SELECT " KEY_COLUMNS " FROM api_keys ORDER BY created_at_ms, id", NULL, 0,
                     decode_key, sizeof(struct sto_api_key), (void **)out, n);
}

int sto_api_key_revoke(sto_db *db, const char *id, int64_t now)
{
    struct sto_api_key k;
    int rc = sto_api_key_get(db, id, &k);
    if (rc < 0)
        return rc;
    sto_api_key_release(&k);
    sto_value p[] = {STO_TEXT_V(id), STO_INT_V(now)};
    return sto_write_access(db,
                            "UPDATE api_keys SET revoked_at_ms = $2 WHERE id = $1 AND"
                            " revoked_at_ms = 0",
                            p, 2);
}

int sto_api_key_touch_async(sto_db *db, const char *id, int64_t now)
{
    sto_value p[] = {STO_TEXT_V(id), STO_INT_V(now)};
    return sto_write_async(db, "UPDATE api_keys SET last_used_ms = $2 WHERE id = $1", p, 2, NULL,
                           NULL);
}
