/*
 * DESIGN: the SQLite backend. Every connection runs in WAL mode; the
 * writer's with synchronous=FULL, so that a commit is on the disk when the
 * writer reports it (the WAL is fsynced per transaction, and transactions
 * are batches: a few fsyncs a second at most). With NORMAL a power cut
 * took the last transactions' rows, whose segment files were intact; the
 * index journal acknowledges a row on its commit, so the commit must be
 * durable (docs/design/0012-index-journal.md). Readers set query_only so a bug in a
 * handler can never write behind the writer thread's back. Each
 * connection keeps its last STMT_CACHE_SLOTS prepared statements by SQL
 * text (reset and unbound after each use, so none holds a read
 * transaction): every authenticated request reads its credential, and
 * preparing that statement anew cost more than the rest of the check
 * (bench/auth).
 *
 * The SQLite side of the dialect (storage_backend.h) lives here: "$N"
 * bound by name so N means params[N-1], BEGIN IMMEDIATE so a write batch
 * takes the lock before its first statement instead of failing halfway
 * with SQLITE_BUSY on a lock upgrade, and "sqlite:PATH" URLs whose
 * directory the writer creates.
 */
#include "storage_backend.h"

#include "sqlite_ckpt.h"

#include "err.h"
#include "fs.h"
#include "mem.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Statements kept per connection: the repositories' queries are a few dozen fixed strings. */
#define STMT_CACHE_SLOTS 32

struct sto_conn {
    sqlite3 *db; /* owned */
    /* Writer only: the WAL file it opened, to notice one deleted or replaced under it. */
    char *wal_path; /* owned; NULL for readers */
    dev_t wal_dev;
    ino_t wal_ino;
    bool has_wal_id; /* wal_dev and wal_ino are set */
    bool is_wal_lost; /* detected: checkpointing after every commit */
    bool is_ckpt_short; /* the last such checkpoint left frames in the lost WAL */
    sqlite_ckpt *ckpt; /* writer only: checkpoints on their own thread; NULL = SQLite's own */
    /* Prepared statements kept for the next call with the same SQL text (stmt_take). */
    struct {
        const char *sql; /* borrowed from sqlite3_sql(st) */
        sqlite3_stmt *st; /* owned; NULL = empty */
        bool is_in_use; /* taken by a query still running (a nested one must not share it) */
        bool is_in_order; /* its parameters appear as $1, $2, ... (bind_params) */
    } cache[STMT_CACHE_SLOTS];
    unsigned cache_next; /* the slot the next new statement replaces */
};

static int sqlite_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return HORUS_EDBBUSY; /* not -EBUSY: that one is a 409 conflict */
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return -EACCES;
    case SQLITE_IOERR:
        return -EIO;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    default:
        return HORUS_EDB;
    }
}

static void set_err(char **errmsg, sqlite3 *db, const char *what)
{
    if (errmsg && !*errmsg)
        *errmsg = horus_asprintf("%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

static void sqlite_close(sto_conn *c)
{
    if (!c)
        return;
    sqlite_ckpt_stop(c->ckpt); /* first: the writer, closing last, checkpoints what is left */
    for (size_t i = 0; i < STMT_CACHE_SLOTS; i++)
        sqlite3_finalize(c->cache[i].st);
    sqlite3_close_v2(c->db);
    free(c->wal_path);
    free(c);
}

static char *sqlite_url_target(const char *url)
{
    return strncmp(url, "sqlite:", 7) == 0 && url[7] ? horus_strdup(url + 7) : NULL;
}

static int sqlite_open(const char *target, bool is_writer, int64_t busy_timeout_ms, sto_conn **out,
                       char **errmsg)
{
    if (is_writer) {
        int rc = fs_mkdirs_for(target);
        if (rc < 0) {
            *errmsg = horus_asprintf("create directory for '%s': %s", target, horus_strerror(rc));
            return rc;
        }
    }
    sto_conn *c = horus_calloc(1, sizeof(*c));
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (is_writer ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(target, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        *errmsg = horus_asprintf("open database '%s': %s", target,
                                 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        rc = sqlite_rc(rc);
        goto fail;
    }
    sqlite3_busy_timeout(c->db, (int)busy_timeout_ms);
    sqlite3_extended_result_codes(c->db, 1);
    const char *pragmas = is_writer ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                                      "PRAGMA foreign_keys=ON;"
                                    : "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                                      "PRAGMA query_only=1;";
    char *msg = NULL;
    rc = sqlite3_exec(c->db, pragmas, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        *errmsg = horus_asprintf("configure database '%s': %s", target, msg ? msg : "?");
        sqlite3_free(msg);
        rc = sqlite_rc(rc);
        goto fail;
    }
    if (is_writer) {
        const char *file = sqlite3_db_filename(c->db, "main");
        if (file && file[0]) {
            c->wal_path = horus_asprintf("%s-wal", file);
            struct stat st;
            if (stat(c->wal_path, &st) == 0) {
                c->wal_dev = st.st_dev;
                c->wal_ino = st.st_ino;
                c->has_wal_id = true;
            }
            c->ckpt = sqlite_ckpt_start(c->db, file);
        }
    }
    *out = c;
    return 0;
fail:
    sqlite_close(c);
    return rc;
}

static int sqlite_exec_script(sto_conn *c, const char *sql, char **errmsg)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if (errmsg && !*errmsg)
            *errmsg = horus_strdup(msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return sqlite_rc(rc);
    }
    return 0;
}

/*
 * Whether st's parameters are numbered as they appear ($1 is the first,
 * $2 the second, ...), so that SQLite's index of "$N" is N. Costs a name
 * lookup per parameter; cached statements remember the answer.
 */
static bool params_in_order(sqlite3_stmt *st)
{
    int n = sqlite3_bind_parameter_count(st);
    for (int i = 1; i <= n; i++) {
        const char *name = sqlite3_bind_parameter_name(st, i);
        char want[24];
        snprintf(want, sizeof(want), "$%d", i);
        if (!name || strcmp(name, want) != 0)
            return false;
    }
    return true;
}

/*
 * SQLite numbers "$N" parameters in order of first appearance, not by N, so
 * "... $2 ... $1" would bind backwards. Binding by name gives $N the
 * PostgreSQL meaning: params[N-1]. A statement whose parameters appear in
 * order (is_in_order) binds by position: a name lookup scans every name,
 * which made a 64-row INSERT of 832 parameters cost 350,000 compares.
 */
static int bind_params(sqlite3_stmt *st, bool is_in_order, const sto_value *params, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char name[24];
        int idx = (int)i + 1;
        if (!is_in_order) {
            snprintf(name, sizeof(name), "$%zu", i + 1);
            idx = sqlite3_bind_parameter_index(st, name);
        }
        if (idx == 0)
            return -EINVAL;
        int rc;
        switch (params[i].type) {
        case STO_NULL:
            rc = sqlite3_bind_null(st, idx);
            break;
        case STO_INT:
            rc = sqlite3_bind_int64(st, idx, params[i].i);
            break;
        case STO_REAL:
            rc = sqlite3_bind_double(st, idx, params[i].d);
            break;
        case STO_TEXT:
            rc = sqlite3_bind_text(st, idx, params[i].s, (int)params[i].len, SQLITE_STATIC);
            break;
        case STO_BLOB:
            rc = sqlite3_bind_blob(st, idx, params[i].blob, (int)params[i].len, SQLITE_STATIC);
            break;
        default:
            return -EINVAL;
        }
        if (rc != SQLITE_OK)
            return sqlite_rc(rc);
    }
    return 0;
}

static void column_value(sqlite3_stmt *st, int i, sto_value *v)
{
    memset(v, 0, sizeof(*v));
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        v->type = STO_INT;
        v->i = sqlite3_column_int64(st, i);
        break;
    case SQLITE_FLOAT:
        v->type = STO_REAL;
        v->d = sqlite3_column_double(st, i);
        break;
    case SQLITE_TEXT:
        v->type = STO_TEXT;
        v->s = (const char *)sqlite3_column_text(st, i);
        v->len = (size_t)sqlite3_column_bytes(st, i);
        break;
    case SQLITE_BLOB:
        v->type = STO_BLOB;
        v->blob = sqlite3_column_blob(st, i);
        v->len = (size_t)sqlite3_column_bytes(st, i);
        break;
    default:
        v->type = STO_NULL;
    }
}

#define STO_MAX_COLUMNS 64

/*
 * A prepared statement for sql: the cached one when this connection ran
 * the same text before and it is free, else a new one, cached in place of
 * the oldest unless that one is in use (then *slot is -1: not cached).
 * Returns SQLITE_OK or the prepare error.
 */
static int stmt_take(sto_conn *c, const char *sql, sqlite3_stmt **out, int *slot, bool *is_in_order)
{
    for (int i = 0; i < STMT_CACHE_SLOTS && c->cache[i].st; i++) {
        if (!c->cache[i].is_in_use && strcmp(c->cache[i].sql, sql) == 0) {
            c->cache[i].is_in_use = true;
            *out = c->cache[i].st;
            *slot = i;
            *is_in_order = c->cache[i].is_in_order;
            return SQLITE_OK;
        }
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    if (!st) /* only whitespace or a comment */
        return SQLITE_MISUSE;
    *out = st;
    *slot = -1;
    *is_in_order = params_in_order(st);
    int i = (int)(c->cache_next % STMT_CACHE_SLOTS);
    if (c->cache[i].is_in_use)
        return SQLITE_OK;
    c->cache_next++;
    sqlite3_finalize(c->cache[i].st);
    c->cache[i].st = st;
    c->cache[i].sql = sqlite3_sql(st);
    c->cache[i].is_in_use = true;
    c->cache[i].is_in_order = *is_in_order;
    *slot = i;
    return SQLITE_OK;
}

/* Ends a use: a cached statement is reset (its read transaction ends) and unbound. */
static void stmt_give(sto_conn *c, sqlite3_stmt *st, int slot)
{
    if (slot < 0) {
        sqlite3_finalize(st);
        return;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    c->cache[slot].is_in_use = false;
}

static int sqlite_query(sto_conn *c, const char *sql, const sto_value *params, size_t nparams,
                        sto_row_cb row_cb, void *arg, char **errmsg)
{
    sqlite3_stmt *st = NULL;
    int slot;
    bool is_in_order = false;
    int rc = stmt_take(c, sql, &st, &slot, &is_in_order);
    if (rc != SQLITE_OK) {
        set_err(errmsg, c->db, "prepare");
        return sqlite_rc(rc);
    }
    if ((size_t)sqlite3_bind_parameter_count(st) != nparams) {
        if (errmsg && !*errmsg)
            *errmsg = horus_asprintf("statement wants %d parameters, got %zu",
                                     sqlite3_bind_parameter_count(st), nparams);
        stmt_give(c, st, slot);
        return -EINVAL;
    }
    int out = bind_params(st, is_in_order, params, nparams);
    while (out == 0) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            set_err(errmsg, c->db, "step");
            out = sqlite_rc(rc);
            break;
        }
        if (!row_cb)
            continue;
        sto_value cols[STO_MAX_COLUMNS];
        int n = sqlite3_column_count(st);
        if (n > STO_MAX_COLUMNS)
            n = STO_MAX_COLUMNS;
        for (int i = 0; i < n; i++)
            column_value(st, i, &cols[i]);
        out = row_cb(cols, (size_t)n, arg);
    }
    stmt_give(c, st, slot);
    return out;
}

static int sqlite_tx(sto_conn *c, enum sto_tx step, char **errmsg)
{
    static const char *const sql[] = {
        [STO_TX_BEGIN] = "BEGIN IMMEDIATE", [STO_TX_COMMIT] = "COMMIT",
        [STO_TX_ROLLBACK] = "ROLLBACK",     [STO_TX_SAVEPOINT] = "SAVEPOINT w",
        [STO_TX_RELEASE] = "RELEASE w",     [STO_TX_ROLLBACK_TO] = "ROLLBACK TO w",
    };
    if ((unsigned)step >= HORUS_ARRAY_LEN(sql))
        return -EINVAL;
    return sqlite_exec_script(c, sql[step], errmsg);
}

/*
 * After each commit once the WAL is lost, on the writer's thread, with the
 * write lock already released: copy every frame into the main file. FULL,
 * not PASSIVE (SQLite's automatic checkpoint): a reader still on an older
 * snapshot would leave the newest frames in the unlinked WAL, and a crash
 * then would lose that commit; FULL waits for such readers (the busy
 * timeout). If it still falls short, the next commit or check tries again.
 */
static int on_commit_wal_lost(void *arg, sqlite3 *db, const char *schema, int pages)
{
    sto_conn *c = arg;
    (void)pages;
    int log = -1, done = -1;
    int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_FULL, &log, &done);
    c->is_ckpt_short = rc != SQLITE_OK || done < log;
    return SQLITE_OK;
}

/*
 * SQLite keeps writing to the WAL file it opened even after the name is
 * unlinked or points to another file; a crash then loses every commit
 * since the last checkpoint (often the whole index). So compare the name
 * with what was opened, and once they differ, checkpoint everything into
 * the main file now (TRUNCATE: the frames are read through the open
 * descriptor) and after every commit (on_commit_wal_lost), which keeps
 * committed rows in the main file until a restart makes a new WAL.
 */
static int sqlite_check(sto_conn *c, char **errmsg)
{
    if (!c->wal_path)
        return 0;
    struct stat st;
    bool is_present = stat(c->wal_path, &st) == 0;
    if (!c->has_wal_id) {
        if (is_present) {
            c->wal_dev = st.st_dev;
            c->wal_ino = st.st_ino;
            c->has_wal_id = true;
        }
        return 0;
    }
    if (!c->is_wal_lost && is_present && st.st_dev == c->wal_dev && st.st_ino == c->wal_ino)
        return 0;
    if (!c->is_wal_lost) {
        c->is_wal_lost = true;
        /* Replaces the checkpointer's WAL hook (SQLite's automatic checkpoint is one too). */
        sqlite3_wal_hook(c->db, on_commit_wal_lost, c);
        int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        *errmsg = horus_asprintf("the database's WAL file '%s' was %s under the running daemon; "
                                 "committed rows were checkpointed into the database%s and every "
                                 "commit is checkpointed until horus restarts",
                                 c->wal_path, is_present ? "replaced" : "deleted",
                                 rc == SQLITE_OK ? "" : " (the first checkpoint failed)");
    } else {
        if (c->is_ckpt_short)
            (void)on_commit_wal_lost(c, c->db, NULL, 0);
        *errmsg = horus_asprintf("the database's WAL file '%s' was deleted or replaced under the "
                                 "running daemon; restart horus to make a new one",
                                 c->wal_path);
    }
    return HORUS_EDB;
}

const struct sto_backend sto_sqlite_backend = {
    .api_version = STO_BACKEND_API_VERSION,
    .name = "sqlite",
    .url_target = sqlite_url_target,
    .open = sqlite_open,
    .close = sqlite_close,
    .exec_script = sqlite_exec_script,
    .query = sqlite_query,
    .tx = sqlite_tx,
    .check = sqlite_check,
};
