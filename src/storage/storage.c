/*
 * DESIGN: the storage handle. sto_open asks each backend of sto_backends[]
 * in turn whether database.url is its own (storage_backend.h), applies
 * migrations on the writer's connection before any other thread can touch
 * the database, and opens a small pool of reader connections; sto_start
 * then starts the writer thread (the lifecycle rule: opening starts no
 * thread). Readers are borrowed from the pool per query (mutex +
 * condition variable); with WAL they never wait for the writer.
 *
 * Migrations: storage/migrations/NNNN_name.sql are embedded in the binary.
 * schema_migrations records each applied version; each migration and its
 * row commit in one transaction, so a crash mid-migration leaves the
 * previous version intact. A database newer than the binary is refused
 * rather than silently misread.
 *
 * Lock order: pool_lock only; no I/O while it is held.
 */
#include "storage_int.h"

#include "replica.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define STO_MAX_READERS 64

struct sto_db {
    const struct sto_backend *be;
    char *target; /* owned: file path or conninfo */
    sto_conn *writer_conn; /* owned */
    sto_writer *writer; /* owned */
    sto_audit_chain *audit; /* owned: the audit chain's head (audit.c) */
    metrics_registry *own_metrics; /* owned when the caller gave none */
    const horus_clock *clock;
    int schema_version;

    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;
    sto_conn *readers[STO_MAX_READERS]; /* owned; NULL while lent out */
    size_t nreaders;
    bool is_closing;
    _Atomic uint64_t access_version; /* bumped after each write that changes who may see what */
    const sto_secret_box *secrets; /* borrowed; NULL = camera URLs stored as given */
    const struct sto_outbox_watcher *_Atomic outbox_watcher; /* borrowed; NULL: none */
    atomic_bool is_outbox_wanted; /* a bus or a webhook consumes the outbox */
    sto_replica *replica; /* owned; NULL without database.read_url */
    char node[72]; /* sto_set_node: this process's node id; "" = unknown (all rows are its) */
};

void sto_set_node(sto_db *db, const char *node_id)
{
    snprintf(db->node, sizeof(db->node), "%s", node_id ? node_id : "");
}

const char *sto_db_node(const sto_db *db)
{
    return db->node;
}

void sto_outbox_set_wanted(sto_db *db, bool is_wanted)
{
    atomic_store(&db->is_outbox_wanted, is_wanted);
}

bool sto_outbox_is_wanted(sto_db *db)
{
    return atomic_load(&db->is_outbox_wanted);
}

void sto_outbox_watch(sto_db *db, const struct sto_outbox_watcher *w)
{
    atomic_store_explicit(&db->outbox_watcher, w, memory_order_release);
}

void sto_outbox_notify(sto_db *db)
{
    const struct sto_outbox_watcher *w =
        atomic_load_explicit(&db->outbox_watcher, memory_order_acquire);
    if (w && w->fn)
        w->fn(w->arg);
}

void sto_set_secret_box(sto_db *db, const sto_secret_box *box)
{
    db->secrets = box;
}

const sto_secret_box *sto_db_secrets(const sto_db *db)
{
    return db->secrets;
}

/* The backends of this build, asked in order; adding one means adding it here. */
const struct sto_backend *const sto_backends[] = {
    &sto_sqlite_backend,
    &sto_postgres_backend,
    NULL,
};

/* Chooses the backend and target for url. Returns 0 or HORUS_ECONFIG with *errmsg. */
static int resolve_url(const char *url, const char *data_dir, const struct sto_backend **be,
                       char **target, char **errmsg)
{
    char *dflt = NULL;
    if (!url || !url[0])
        url = dflt = horus_asprintf("sqlite:%s/horus.db", data_dir ? data_dir : ".");
    for (size_t i = 0; sto_backends[i] && !*target; i++) {
        horus_assert(sto_backends[i]->api_version == STO_BACKEND_API_VERSION);
        *target = sto_backends[i]->url_target(url);
        *be = sto_backends[i];
    }
    free(dflt);
    if (*target)
        return 0;
    *be = NULL;
    *errmsg = horus_strdup("database.url: must be 'sqlite:PATH' or 'postgres://[user[:password]@]"
                           "host[:port]/database'");
    return HORUS_ECONFIG;
}

static int max_version_cb(const sto_value *cols, size_t n, void *arg)
{
    *(int *)arg = n > 0 && cols[0].type == STO_INT ? (int)cols[0].i : 0;
    return 0;
}

static int apply_migrations(sto_db *db, char **errmsg)
{
    int rc = db->be->exec_script(db->writer_conn,
                                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                 " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                                 " applied_at_ms BIGINT NOT NULL)",
                                 errmsg);
    if (rc < 0)
        return rc;
    int current = 0;
    rc = db->be->query(db->writer_conn, "SELECT MAX(version) FROM schema_migrations", NULL, 0,
                       max_version_cb, &current, errmsg);
    if (rc < 0)
        return rc;
    int known = 0;
    for (const struct sto_migration *m = sto_migrations; m->version; m++)
        known = m->version;
    if (current > known) {
        *errmsg = horus_asprintf("database schema version %d is newer than this horus "
                                 "(knows up to %d); upgrade horus",
                                 current, known);
        return HORUS_EDB;
    }
    for (const struct sto_migration *m = sto_migrations; m->version; m++) {
        if (m->version <= current)
            continue;
        char *msg = NULL;
        rc = db->be->tx(db->writer_conn, STO_TX_BEGIN, &msg);
        if (rc == 0)
            rc = db->be->exec_script(db->writer_conn, m->sql, &msg);
        if (rc == 0) {
            sto_value p[] = {STO_INT_V(m->version), STO_TEXT_V(m->name),
                             STO_INT_V(clock_realtime_ms(db->clock))};
            rc = db->be->query(db->writer_conn,
                               "INSERT INTO schema_migrations(version, name, applied_at_ms)"
                               " VALUES ($1, $2, $3)",
                               p, 3, NULL, NULL, &msg);
        }
        if (rc == 0)
            rc = db->be->tx(db->writer_conn, STO_TX_COMMIT, &msg);
        if (rc < 0) {
            db->be->tx(db->writer_conn, STO_TX_ROLLBACK, NULL);
            *errmsg = horus_asprintf("migration %04d_%s: %s", m->version, m->name,
                                     msg ? msg : horus_strerror(rc));
            free(msg);
            return rc;
        }
        free(msg);
        current = m->version;
    }
    db->schema_version = current;
    return 0;
}

void sto_answer_within(const struct sto_backend *be, sto_conn *c, int64_t ms)
{
    if (be->set_answer_timeout)
        be->set_answer_timeout(c, ms);
}

/*
 * Sets up database.read_url's replica (connected on first use). Returns 0, or
 * HORUS_ECONFIG with *errmsg when the URL is not one this backend can read.
 */
static int open_replica(sto_db *db, const struct sto_open_options *opt, metrics_registry *metrics,
                        char **errmsg)
{
    const char *url = opt->db->read_url;
    if (!url || !url[0])
        return 0;
    char *target = db->be->url_target(url);
    if (!target || !db->be->replica_lag) {
        free(target);
        *errmsg = horus_asprintf("database.read_url: must be a postgres:// URL beside a "
                                 "postgres:// database.url (the %s backend has no replicas)",
                                 db->be->name);
        return HORUS_ECONFIG;
    }
    db->replica = sto_replica_new(&(struct sto_replica_options){
        .be = db->be,
        .target = target,
        .nconns = db->nreaders,
        .busy_timeout_ms = opt->db->busy_timeout_ms,
        .answer_timeout_ms = opt->db->answer_timeout_ms,
        .max_lag_ms = opt->db->read_max_lag_ms,
        .retry_ms = 5000,
        .metrics = metrics,
        .clock = db->clock,
    });
    free(target);
    return 0;
}

int sto_open(const struct sto_open_options *opt, sto_db **out, char **errmsg)
{
    *errmsg = NULL;
    sto_db *db = horus_calloc(1, sizeof(*db));
    pthread_mutex_init(&db->pool_lock, NULL);
    pthread_cond_init(&db->pool_cond, NULL);
    db->clock = opt->clock ? opt->clock : clock_system();
    metrics_registry *metrics = opt->metrics;
    if (!metrics)
        metrics = db->own_metrics = metrics_registry_new();

    int rc = resolve_url(opt->db->url, opt->data_dir, &db->be, &db->target, errmsg);
    if (rc < 0)
        goto fail;
    rc = db->be->open(db->target, true, opt->db->busy_timeout_ms, &db->writer_conn, errmsg);
    if (rc < 0)
        goto fail;
    sto_answer_within(db->be, db->writer_conn, opt->db->answer_timeout_ms);
    rc = apply_migrations(db, errmsg);
    if (rc < 0)
        goto fail;
    db->nreaders = (size_t)opt->db->readers;
    if (db->nreaders < 1 || db->nreaders > STO_MAX_READERS)
        db->nreaders = 4;
    for (size_t i = 0; i < db->nreaders; i++) {
        rc = db->be->open(db->target, false, opt->db->busy_timeout_ms, &db->readers[i], errmsg);
        if (rc < 0)
            goto fail;
        sto_answer_within(db->be, db->readers[i], opt->db->answer_timeout_ms);
    }
    rc = open_replica(db, opt, metrics, errmsg);
    if (rc < 0)
        goto fail;
    rc = sto_audit_chain_new(db->be, db->writer_conn, &db->audit, errmsg);
    if (rc < 0)
        goto fail;
    db->writer = sto_writer_new(db->be, db->writer_conn, (size_t)opt->db->batch_max,
                                (size_t)opt->db->queue_max, metrics, db->clock);
    sto_writer_on_tx_end(db->writer, sto_audit_chain_tx_end, db->audit);
    *out = db;
    return 0;
fail:
    sto_close(db);
    return rc;
}

int sto_start(sto_db *db)
{
    return sto_writer_start(db->writer);
}

void sto_stop(sto_db *db)
{
    if (db)
        sto_writer_stop(db->writer);
}

void sto_close(sto_db *db)
{
    if (!db)
        return;
    sto_writer_free(db->writer);
    sto_audit_chain_free(db->audit);
    pthread_mutex_lock(&db->pool_lock);
    db->is_closing = true;
    pthread_mutex_unlock(&db->pool_lock);
    for (size_t i = 0; i < STO_MAX_READERS; i++)
        if (db->readers[i])
            db->be->close(db->readers[i]);
    sto_replica_free(db->replica);
    if (db->be && db->writer_conn)
        db->be->close(db->writer_conn);
    metrics_registry_free(db->own_metrics);
    pthread_cond_destroy(&db->pool_cond);
    pthread_mutex_destroy(&db->pool_lock);
    free(db->target);
    free(db);
}

const char *sto_backend_name(const sto_db *db)
{
    return db->be->name;
}

int sto_schema_version(const sto_db *db)
{
    return db->schema_version;
}

int sto_write_batch_async(sto_db *db, const struct sto_stmt *stmts, size_t nstmts,
                          sto_done_cb done_cb, void *arg)
{
    return sto_writer_push(db->writer, stmts, nstmts, done_cb, arg, false);
}

int sto_write_batch_retried_async(sto_db *db, const struct sto_stmt *stmts, size_t nstmts,
                                  sto_done_cb done_cb, void *arg)
{
    return sto_writer_push(db->writer, stmts, nstmts, done_cb, arg, true);
}

int sto_write_guarded_retried_async(sto_db *db, int guard_rc, const struct sto_stmt *stmts,
                                    size_t nstmts, sto_done_cb done_cb, void *arg)
{
    return sto_writer_push_guarded(db->writer, guard_rc, stmts, nstmts, done_cb, arg);
}

int sto_write_async(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
                    sto_done_cb done_cb, void *arg)
{
    struct sto_stmt st = {sql, params, nparams};
    return sto_writer_push(db->writer, &st, 1, done_cb, arg, false);
}

struct sync_wait {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool is_done;
    int rc;
};

static void sync_done(int rc, void *arg)
{
    struct sync_wait *sw = arg;
    pthread_mutex_lock(&sw->lock);
    sw->rc = rc;
    sw->is_done = true;
    pthread_cond_signal(&sw->cond);
    pthread_mutex_unlock(&sw->lock);
}

int sto_write(sto_db *db, const char *sql, const sto_value *params, size_t nparams)
{
    struct sto_stmt st = {sql, params, nparams};
    return sto_write_batch(db, &st, 1);
}

int sto_write_batch(sto_db *db, const struct sto_stmt *stmts, size_t nstmts)
{
    if (!sto_writer_is_started(db->writer))
        HORUS_BUG("synchronous write on a database without a writer: call sto_start first");
    struct sync_wait sw = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    int rc = sto_write_batch_async(db, stmts, nstmts, sync_done, &sw);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&sw.lock);
    while (!sw.is_done)
        pthread_cond_wait(&sw.cond, &sw.lock);
    pthread_mutex_unlock(&sw.lock);
    pthread_cond_destroy(&sw.cond);
    pthread_mutex_destroy(&sw.lock);
    return sw.rc;
}

uint64_t sto_access_version(sto_db *db)
{
    return atomic_load_explicit(&db->access_version, memory_order_acquire);
}

void sto_access_changed(sto_db *db)
{
    atomic_fetch_add_explicit(&db->access_version, 1, memory_order_acq_rel);
}

int sto_write_access(sto_db *db, const char *sql, const sto_value *params, size_t nparams)
{
    struct sto_stmt st = {sql, params, nparams};
    return sto_write_batch_access(db, &st, 1);
}

int sto_write_batch_access(sto_db *db, const struct sto_stmt *stmts, size_t nstmts)
{
    int rc = sto_write_batch(db, stmts, nstmts);
    sto_access_changed(db); /* after the commit: a read begun later sees the change */
    return rc;
}

/* Borrows a reader connection; returns its slot, or -1 when closing. */
static int reader_take(sto_db *db, sto_conn **conn)
{
    pthread_mutex_lock(&db->pool_lock);
    for (;;) {
        if (db->is_closing) {
            pthread_mutex_unlock(&db->pool_lock);
            return -1;
        }
        for (size_t i = 0; i < db->nreaders; i++) {
            if (db->readers[i]) {
                *conn = db->readers[i];
                db->readers[i] = NULL;
                pthread_mutex_unlock(&db->pool_lock);
                return (int)i;
            }
        }
        pthread_cond_wait(&db->pool_cond, &db->pool_lock);
    }
}

static void reader_give(sto_db *db, int slot, sto_conn *conn)
{
    pthread_mutex_lock(&db->pool_lock);
    db->readers[slot] = conn;
    pthread_mutex_unlock(&db->pool_lock);
    pthread_cond_signal(&db->pool_cond);
}

int sto_read(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
             sto_row_cb row_cb, void *arg)
{
    sto_conn *conn;
    int slot = reader_take(db, &conn);
    if (slot < 0)
        return HORUS_EUNAVAIL;
    char *msg = NULL;
    int rc = db->be->query(conn, sql, params, nparams, row_cb, arg, &msg);
    free(msg);
    reader_give(db, slot, conn);
    /* A connection lost (a server down, frozen or cut off): the database is unavailable, the
       request is not wrong; callers answer 503 rather than 500. */
    return rc == -EIO ? HORUS_EUNAVAIL : rc;
}

int sto_read_replica(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
                     sto_row_cb row_cb, void *arg)
{
    if (db->replica) {
        int rc = sto_replica_read(db->replica, sql, params, nparams, row_cb, arg);
        if (rc != STO_REPLICA_SKIPPED)
            return rc == -EIO ? HORUS_EUNAVAIL : rc; /* as sto_read says */
    }
    return sto_read(db, sql, params, nparams, row_cb, arg);
}

static int ignore_row(const sto_value *cols, size_t n, void *arg)
{
    return 0;
}

int sto_ping(sto_db *db, char *buf, size_t size)
{
    int rc = sto_read(db, "SELECT 1", NULL, 0, ignore_row, NULL);
    if (rc < 0) {
        snprintf(buf, size, "database query failed: %s", horus_strerror(rc));
        return HORUS_EUNAVAIL;
    }
    int64_t age_ns = clock_monotonic_ns(clock_system()) - sto_writer_heartbeat_ns(db->writer);
    if (age_ns > 5 * (int64_t)1000000000) {
        snprintf(buf, size, "database writer stuck for %lld ms", (long long)(age_ns / 1000000));
        return HORUS_EUNAVAIL;
    }
    snprintf(buf, size, "ok");
    return 0;
}

void sto_db_health(sto_db *db, struct sto_db_health *out)
{
    sto_writer_health(db->writer, out);
}

void sto_db_replica_health(sto_db *db, struct sto_replica_health *out)
{
    if (db->replica)
        sto_replica_state(db->replica, out);
    else
        memset(out, 0, sizeof(*out));
}

sto_audit_chain *sto_db_audit_chain(sto_db *db)
{
    return db->audit;
}

sto_writer *sto_db_writer(sto_db *db)
{
    return db->writer;
}

const struct sto_backend *sto_db_backend(const sto_db *db)
{
    return db->be;
}

sto_conn *sto_db_writer_conn(sto_db *db)
{
    return db->writer_conn;
}

const horus_clock *sto_db_clock(const sto_db *db)
{
    return db->clock;
}

char *sto_col_text(const sto_value *v)
{
    return horus_strndup(v->type == STO_TEXT ? v->s : "", v->type == STO_TEXT ? v->len : 0);
}

int64_t sto_col_int(const sto_value *v)
{
    return v->type == STO_INT ? v->i : 0;
}
