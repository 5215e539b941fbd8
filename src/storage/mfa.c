/*
 * DESIGN: the second-factor repository (docs/design/0023-mfa.md): each
 * user's TOTP secret in the stored form the auth module gives it, the
 * enrolled flag, the step of the last accepted code, and the SHA-256 of
 * each unused recovery code. Every check that must be atomic with its
 * write (a step used once, a recovery code burnt once, a confirmation that
 * happens once) is a computed write: it reads and writes on the writer
 * thread, which runs writes one at a time, so two logins racing with the
 * same code cannot both pass. Reads run on a reader connection.
 * Thread: any (the waiting writes: any but the writer).
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MFA_COLUMNS                                                                                \
    "m.user_name, m.secret, m.enrolled, m.last_step, m.created_at_ms, m.enrolled_at_ms,"           \
    " (SELECT count(*) FROM mfa_recovery_codes r WHERE r.user_name = m.user_name)"

void sto_mfa_release(struct sto_mfa *m)
{
    if (!m)
        return;
    if (m->secret)
        memset(m->secret, 0, strlen(m->secret));
    free(m->user_name);
    free(m->secret);
    memset(m, 0, sizeof(*m));
}

static int mfa_row_cb(const sto_value *c, size_t ncols, void *arg)
{
    (void)ncols;
    struct sto_mfa *m = arg;
    m->user_name = sto_col_text(&c[0]);
    m->secret = sto_col_text(&c[1]);
    m->is_enrolled = sto_col_int(&c[2]) != 0;
    m->last_step = sto_col_int(&c[3]);
    m->created_at_ms = sto_col_int(&c[4]);
    m->enrolled_at_ms = sto_col_int(&c[5]);
    m->recovery_left = (size_t)sto_col_int(&c[6]);
    return 1;
}

int sto_mfa_get(sto_db *db, const char *user, struct sto_mfa *out)
{
    memset(out, 0, sizeof(*out));
    sto_value p[] = {STO_TEXT_V(user)};
    int rc = sto_read(db, "SELECT " MFA_COLUMNS " FROM user_mfa m WHERE m.user_name = $1", p, 1,
                      mfa_row_cb, out);
    if (rc < 0)
        return rc;
    return out->user_name ? 0 : -ENOENT;
}

/* ---- computed writes, waited for ---- */

struct sync_op {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool is_done;
    int rc;
};

static void sync_done(int rc, void *arg)
{
    struct sync_op *s = arg;
    pthread_mutex_lock(&s->lock);
    s->rc = rc;
    s->is_done = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* What a computed write works on; fields borrowed from the waiting caller. */
struct mfa_op {
    const char *user;
    const char *secret;
    int64_t step;
    const char *const *hashes;
    size_t n;
    int64_t now_ms;
};

/*
 * sto_writer_push_fn passes one pointer to both the function and its done
 * callback; the callback needs the waiter, the function the operation, so
 * the waiter travels first in a pair.
 */
struct mfa_call {
    struct sync_op wait;
    struct mfa_op op;
    int (*fn)(const struct sto_backend *be, sto_conn *conn, const struct mfa_op *op);
};

static int call_run(const struct sto_backend *be, sto_conn *conn, void *arg)
{
    struct mfa_call *c = arg;
    return c->fn(be, conn, &c->op);
}

static int mfa_call(sto_db *db, const struct mfa_op *op,
                    int (*fn)(const struct sto_backend *, sto_conn *, const struct mfa_op *))
{
    struct mfa_call c = {
        .wait = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER},
        .op = *op,
        .fn = fn};
    int rc = sto_writer_push_fn(sto_db_writer(db), call_run, sync_done, &c, false);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&c.wait.lock);
    while (!c.wait.is_done)
        pthread_cond_wait(&c.wait.cond, &c.wait.lock);
    sto_access_changed(db); /* enrolment decides what a session may do */
    pthread_mutex_unlock(&c.wait.lock);
    pthread_cond_destroy(&c.wait.cond);
    pthread_mutex_destroy(&c.wait.lock);
    return c.wait.rc;
}

static int int_cb(const sto_value *c, size_t n, void *arg)
{
    if (n > 0)
        *(int64_t *)arg = sto_col_int(&c[0]);
    return 1;
}

/* Writer thread: user's enrolled flag and last step, or -ENOENT without a row. */
static int state_on_writer(const struct sto_backend *be, sto_conn *conn, const char *user,
                           bool *enrolled, int64_t *last_step)
{
    int64_t e = -1, s = -1;
    sto_value p[] = {STO_TEXT_V(user)};
    int rc = be->query(conn, "SELECT enrolled FROM user_mfa WHERE user_name = $1", p, 1, int_cb, &e,
                       NULL);
    if (rc >= 0 && e >= 0)
        rc = be->query(conn, "SELECT last_step FROM user_mfa WHERE user_name = $1", p, 1, int_cb,
                       &s, NULL);
    if (rc < 0)
        return rc;
    if (e < 0)
        return -ENOENT;
    *enrolled = e != 0;
    *last_step = s;
    return 0;
}

static int begin_run(const struct sto_backend *be, sto_conn *conn, const struct mfa_op *op)
{
    sto_value pu[] = {STO_TEXT_V(op->user)};
    int64_t users = 0;
    int rc =
        be->query(conn, "SELECT count(*) FROM users WHERE name = $1", pu, 1, int_cb, &users, NULL);
    if (rc < 0)
        return rc;
    if (users == 0)
        return -ENOENT;
    bool enrolled = false;
    int64_t last = -1;
    rc = state_on_writer(be, conn, op->user, &enrolled, &last);
    if (rc == 0 && enrolled)
        return -EEXIST;
    if (rc < 0 && rc != -ENOENT)
        return rc;
    rc = be->query(conn, "DELETE FROM user_mfa WHERE user_name = $1", pu, 1, NULL, NULL, NULL);
    sto_value p[] = {STO_TEXT_V(op->user), STO_TEXT_V(op->secret), STO_INT_V(op->now_ms)};
    if (rc == 0)
        rc = be->query(conn,
                       "INSERT INTO user_mfa (user_name, secret, enrolled, last_step,"
                       " created_at_ms, enrolled_at_ms) VALUES ($1, $2, 0, -1, $3, 0)",
                       p, 3, NULL, NULL, NULL);
    return rc;
}

int sto_mfa_begin(sto_db *db, const char *user, const char *secret, int64_t now_ms)
{
    struct mfa_op op = {.user = user, .secret = secret, .now_ms = now_ms};
    return mfa_call(db, &op, begin_run);
}

/* Writer thread: replaces user's recovery codes with op->hashes. */
static int replace_codes(const struct sto_backend *be, sto_conn *conn, const struct mfa_op *op)
{
    sto_value pu[] = {STO_TEXT_V(op->user)};
    int rc = be->query(conn, "DELETE FROM mfa_recovery_codes WHERE user_name = $1", pu, 1, NULL,
                       NULL, NULL);
    for (size_t i = 0; rc == 0 && i < op->n; i++) {
        sto_value p[] = {STO_TEXT_V(op->user), STO_TEXT_V(op->hashes[i])};
        rc = be->query(conn,
                       "INSERT INTO mfa_recovery_codes (user_name, code_sha256) VALUES ($1, $2)", p,
                       2, NULL, NULL, NULL);
    }
    return rc;
}

static int confirm_run(const struct sto_backend *be, sto_conn *conn, const struct mfa_op *op)
{
    bool enrolled = false;
    int64_t last = -1;
    int rc = state_on_writer(be, conn, op->user, &enrolled, &last);
    if (rc < 0)
        return rc;
    if (enrolled)
        return -EEXIST;
    sto_value p[] = {STO_TEXT_V(op->user), STO_INT_V(op->step), STO_INT_V(op->now_ms)};
    rc = be->query(conn,
                   "UPDATE user_mfa SET enrolled = 1, last_step = $2, enrolled_at_ms = $3"
                   " WHERE user_name = $1",
                   p, 3, NULL, NULL, NULL);
    return rc == 0 ? replace_codes(be, conn, op) : rc;
}

int sto_mfa_confirm(sto_db *db, const char *user, int64_t step, const char *const *hashes, size_t n,
                    int64_t now_ms)
{
    struct mfa_op op = {.user = user, .step = step, .hashes = hashes, .n = n, .now_ms = now_ms};
    return mfa_call(db, &op, confirm_run);
}

static int use_step_run(const struct sto_backend *be, sto_conn *conn, const struct mfa_op *op)
{
    bool enrolled = false;
    int64_t last = -1;
    int rc = state_on_writer(be, conn, op->user, &enrolled, &last);
    if (rc < 0)
        return rc;
    if (!enrolled)
        return -ENOENT;
    if (last >= op->step)
        return -EALREADY;
    sto_value p[] = {STO_TEXT_V(op->user), STO_INT_V(op->step)};
    return be->query(conn, "UPDATE user_mfa SET last_step = $2 WHERE user_name = $1", p, 2, NULL,
                     NULL, NULL);
}

int sto_mfa_use_step(sto_db *db, const char *user, int64_t step)
{
    struct mfa_op op = {.user = user, .step = step};
    return mfa_call(db, &op, use_step_run);
}

struct hashes {
    char **items;
    size_t n, cap;
};

static int hash_row_cb(const sto_value *c, size_t ncols, void *arg)
{
    (void)ncols;
    struct hashes *h = arg;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 16;
        h->items = horus_realloc(h->items, h->cap * sizeof(*h->items));
    }
    h->items[h->n++] = sto_col_text(&c[0]);
    return 0;
}

int sto_mfa_recovery_hashes(sto_db *db, const char *user, char ***out, size_t *n)
{
    struct hashes h = {0};
    sto_value p[] = {STO_TEXT_V(user)};
    int rc = sto_read(db,
                      "SELECT code_sha256 FROM mfa_recovery_codes WHERE user_name = $1"
                      " ORDER BY code_sha256",
                      p, 1, hash_row_cb, &h);
    if (rc < 0) {
        sto_mfa_hashes_free(h.items, h.n);
        h = (struct hashes){0};
    }
    *out = h.items;
    *n = h.n;
    return rc < 0 ? rc : 0;
}

void sto_mfa_hashes_free(char **list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
}

static int recovery_use_run(const struct sto_backend *be, sto_conn *conn, const struct mfa_op *op)
{
    sto_value p[] = {STO_TEXT_V(op->user), STO_TEXT_V(op->secret)};
    int64_t found = 0;
    int rc = be->query(conn,
                       "SELECT count(*) FROM mfa_recovery_codes WHERE user_name = $1 AND"
                       " code_sha256 = $2",
                       p, 2, int_cb, &found, NULL);
    if (rc < 0)
        return rc;
    if (found == 0)
        return -ENOENT;
    return be->query(conn,
                     "DELETE FROM mfa_recovery_codes WHERE user_name = $1 AND code_sha256 = $2", p,
                     2, NULL, NULL, NULL);
}

int sto_mfa_recovery_use(sto_db *db, const char *user, const char *hash)
{
    struct mfa_op op = {.user = user, .secret = hash};
    return mfa_call(db, &op, recovery_use_run);
}

static int recovery_replace_run(const struct sto_backend *be, sto_conn *conn,
                                const struct mfa_op *op)
{
    bool enrolled = false;
    int64_t last = -1;
    int rc = state_on_writer(be, conn, op->user, &enrolled, &last);
    if (rc < 0)
        return rc;
    return enrolled ? replace_codes(be, conn, op) : -ENOENT;
}

int sto_mfa_recovery_replace(sto_db *db, const char *user, const char *const *hashes, size_t n)
{
    struct mfa_op op = {.user = user, .hashes = hashes, .n = n};
    return mfa_call(db, &op, recovery_replace_run);
}

static int delete_run(const struct sto_backend *be, sto_conn *conn, const struct mfa_op *op)
{
    bool enrolled = false;
    int64_t last = -1;
    int rc = state_on_writer(be, conn, op->user, &enrolled, &last);
    sto_value p[] = {STO_TEXT_V(op->user)};
    if (rc == 0)
        rc = be->query(conn, "DELETE FROM mfa_recovery_codes WHERE user_name = $1", p, 1, NULL,
                       NULL, NULL);
    if (rc == 0)
        rc = be->query(conn, "DELETE FROM user_mfa WHERE user_name = $1", p, 1, NULL, NULL, NULL);
    return rc;
}

int sto_mfa_delete(sto_db *db, const char *user)
{
    struct mfa_op op = {.user = user};
    return mfa_call(db, &op, delete_run);
}

static int count_cb(const sto_value *c, size_t n, void *arg)
{
    if (n > 0)
        *(uint64_t *)arg = (uint64_t)sto_col_int(&c[0]);
    return 1;
}

int sto_mfa_count_enrolled_admins(sto_db *db, uint64_t *n)
{
    *n = 0;
    int rc = sto_read(db,
                      "SELECT count(*) FROM user_mfa m JOIN users u ON u.name = m.user_name"
                      " WHERE m.enrolled = 1 AND u.disabled = 0 AND u.role IN ('admin',"
                      " 'superadmin')",
                      NULL, 0, count_cb, n);
    return rc < 0 ? rc : 0;
}
