/*
 * DESIGN: the single database writer thread ("sto-w"). All writes from
 * every thread funnel through one bounded queue; the writer takes as many as
 * are waiting (up to batch_max) and commits them in one transaction, which
 * turns thousands of small inserts per second into a few fsyncs. Each write
 * runs inside its own SAVEPOINT, so a constraint violation in one of them
 * rolls back only that write and is reported to its own callback; the rest
 * of the batch commits. If the COMMIT itself fails (disk full, I/O error)
 * every write of the batch gets that error.
 *
 * Producers never block: a full queue refuses the write (-EAGAIN) and the
 * refusal is counted, so a stalled disk cannot stall ingest.
 *
 * Retries: a write queued as retried (index rows of closed segments) that
 * fails for a transient reason (the database locked by another process,
 * a full disk, an I/O error) is not finished: it goes on a retry list,
 * owned by this thread, and runs again after a backoff of 0.2 s doubling
 * to 5 s, ahead of newer writes, until it commits. The list is bounded by
 * the queue's capacity; past it, and when the writer stops (after one last
 * attempt), the write ends with its error and the caller's own durable
 * copy (the index journal) takes over. Other writes keep failing fast: the
 * API answers their HORUS_EDBBUSY with 503.
 *
 * Health: about once a second the thread asks the backend whether its
 * files are still the ones it opened (a deleted WAL, sqlite.c), and it
 * remembers whether writes are failing; sto_db_health reads both.
 *
 * Invariant: done callbacks run on this thread after the outcome is final,
 * and are called exactly once per accepted write, also during shutdown
 * (writes queued on a writer that was never started get HORUS_ESTOPPED
 * from sto_writer_free, on its caller's thread).
 *
 * Computed writes (sto_writer_push_fn): an op may carry a function instead
 * of statements; it runs here, inside the op's savepoint, with the writer's
 * connection, so it can read what the transaction has written so far (the
 * audit chain takes its previous hash from it). After each transaction
 * the tx-end hook (sto_writer_on_tx_end) learns whether it committed, so
 * state kept beside the database follows the commit, not the attempt.
 *
 * Lifecycle: sto_writer_new allocates (writes may queue), sto_writer_start
 * starts the thread, sto_writer_stop drains and joins, sto_writer_free frees.
 */
#include "storage_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "queue.h"
#include "thread.h"

#include <errno.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "storage"

/* One statement of a write, its SQL and parameters copied into the op's allocation. */
struct write_stmt {
    char *sql;
    sto_value *params;
    size_t nparams;
};

struct write_op {
    sto_write_fn fn; /* a computed write: runs instead of stmts (nstmts is 0) */
    size_t nstmts;
    struct write_stmt *stmts; /* owned (points into the same allocation) */
    sto_done_cb done_cb;
    void *arg;
    int rc;
    int guard_rc; /* not 0: stmts[0] is a guard, and no row back fails the op with this */
    bool is_retried; /* transient failures go on the retry list */
    unsigned attempts;
    int64_t due_ns; /* monotonic: when a retried op runs again */
};

#define RETRY_FIRST_NS (200 * 1000 * 1000LL)
#define RETRY_MAX_NS (5 * 1000 * 1000 * 1000LL)
#define CHECK_INTERVAL_NS (1000 * 1000 * 1000LL)

static size_t stmt_bytes(const struct sto_stmt *st)
{
    size_t bytes = st->nparams * sizeof(sto_value) + strlen(st->sql) + 1;
    for (size_t i = 0; i < st->nparams; i++)
        if (st->params[i].type == STO_TEXT || st->params[i].type == STO_BLOB)
            bytes += st->params[i].len + 1;
    return bytes;
}

/* Copies st into *out using the memory at p; returns the first byte after it. */
static char *stmt_copy(const struct sto_stmt *st, struct write_stmt *out, char *p)
{
    out->params = (sto_value *)(void *)p;
    p += st->nparams * sizeof(sto_value);
    out->nparams = st->nparams;
    for (size_t i = 0; i < st->nparams; i++) {
        const sto_value *v = &st->params[i];
        out->params[i] = *v;
        if (v->type != STO_TEXT && v->type != STO_BLOB)
            continue;
        const void *src = v->type == STO_TEXT ? (const void *)v->s : v->blob;
        if (v->len)
            memcpy(p, src, v->len);
        p[v->len] = '\0';
        if (v->type == STO_TEXT)
            out->params[i].s = p;
        else
            out->params[i].blob = p;
        p += v->len + 1;
    }
    size_t sql_len = strlen(st->sql) + 1;
    memcpy(p, st->sql, sql_len);
    out->sql = p;
    return p + sql_len;
}

struct sto_writer {
    const struct sto_backend *be;
    sto_conn *conn; /* borrowed from sto_db */
    horus_queue *queue; /* owned; of struct write_op */
    size_t batch_max;
    pthread_t thread;
    bool is_started, is_stopped; /* owner's thread only */
    const horus_clock *clock;
    _Atomic int64_t heartbeat_ns;
    /* Health (sto_writer_health): written by the thread, read by any. */
    _Atomic int64_t batch_since_ns; /* when the running transaction began; 0 = none runs */
    _Atomic int fail_rc; /* of the last transaction's BEGIN or COMMIT; 0 = it committed */
    int64_t tx_ns; /* thread only: when the last transaction ended */
    metrics_series *m_ok, *m_failed, *m_refused, *m_commit, *m_batch;
    metrics_series *m_retried, *m_waiting, *m_degraded;
    sto_tx_end_cb tx_end_cb; /* set before start; called on this thread after each transaction */
    void *tx_end_arg;
    /* Writer thread only: */
    struct write_op **retry; /* owned: ops waiting for their next attempt, oldest first */
    size_t nretry, retry_max;
    bool is_draining; /* the queue closed: last attempts only */
    int64_t checked_ns;
    /* Health, written by the writer thread, read by any (sto_writer_health): */
    pthread_mutex_t health_lock; /* guards the three fields below; no I/O under it */
    int failing_rc; /* the error of the writes failing now; 0 when they commit */
    char failing_why[200]; /* the backend's sentence for it, when it gave one; "" otherwise */
    char *wal_problem; /* owned: set once the backend's check failed; NULL when fine */
};

static const double batch_buckets[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000};

/* One allocation holds the op, its statements, their SQL, parameters and bytes. */
static struct write_op *op_new(const struct sto_stmt *stmts, size_t n)
{
    size_t bytes = sizeof(struct write_op) + n * sizeof(struct write_stmt);
    for (size_t i = 0; i < n; i++)
        bytes += stmt_bytes(&stmts[i]) + _Alignof(sto_value);
    struct write_op *op = horus_calloc(1, bytes);
    op->nstmts = n;
    op->stmts = (struct write_stmt *)(op + 1);
    char *p = (char *)(op->stmts + n);
    for (size_t i = 0; i < n; i++) {
        uintptr_t a = (uintptr_t)p % _Alignof(sto_value);
        if (a)
            p += _Alignof(sto_value) - a;
        p = stmt_copy(&stmts[i], &op->stmts[i], p);
    }
    return op;
}

static void op_finish(struct write_op *op)
{
    if (op->done_cb)
        op->done_cb(op->rc, op->arg);
    free(op);
}

/* A write the thread never ran (the writer was never started): HORUS_ESTOPPED. */
static void op_abandon(void *item)
{
    struct write_op *op = item;
    op->rc = HORUS_ESTOPPED;
    op_finish(op);
}

/* Errors that may go away by themselves: a lock released, space freed, a disk back. */
static bool is_transient(int rc)
{
    return rc == HORUS_EDBBUSY || rc == -ENOSPC || rc == -EIO || rc == -EACCES || rc == -ENOMEM;
}

/* rc: the failure of the writes now (0: they commit); why: the backend's sentence, or NULL. */
static void set_failing(sto_writer *w, int rc, const char *why)
{
    pthread_mutex_lock(&w->health_lock);
    int old = w->failing_rc;
    w->failing_rc = rc;
    if (!rc)
        w->failing_why[0] = '\0';
    else if (why && why[0]) /* the latest sentence: a lost server, then a failed reconnect */
        snprintf(w->failing_why, sizeof(w->failing_why), "%s", why);
    char said[sizeof(w->failing_why)];
    memcpy(said, w->failing_why, sizeof(said));
    pthread_mutex_unlock(&w->health_lock);
    if (rc && !old)
        log_warn("database writes failing: %s; index rows wait and are retried",
                 said[0] ? said : horus_strerror(rc));
    else if (!rc && old)
        log_info("database writes succeed again; the rows that waited are committed");
}

/* Finishes op or, when it may succeed later, puts it on the retry list. */
static void op_settle(sto_writer *w, struct write_op *op, int64_t now)
{
    if (op->rc < 0 && op->is_retried && is_transient(op->rc) && !w->is_draining &&
        w->nretry < w->retry_max) {
        int64_t backoff = RETRY_FIRST_NS << (op->attempts < 5 ? op->attempts : 5);
        op->attempts++;
        op->due_ns = now + (backoff < RETRY_MAX_NS ? backoff : RETRY_MAX_NS);
        w->retry[w->nretry++] = op;
        metrics_counter_inc(w->m_retried);
        return;
    }
    metrics_counter_inc(op->rc == 0 ? w->m_ok : w->m_failed);
    op_finish(op);
}

/* Records a transaction's outcome for sto_writer_health. */
static void note_outcome(sto_writer *w, int rc)
{
    atomic_store(&w->fail_rc, rc < 0 ? rc : 0);
    atomic_store(&w->batch_since_ns, 0);
    w->tx_ns = clock_monotonic_ns(w->clock);
}

/*
 * An idle writer tries an empty write transaction (it takes the write lock
 * and commits nothing, so it costs no fsync) every PROBE_IDLE_NS, and each
 * second after a failure: health then sees another process holding the
 * lock even when nothing else writes, and recovers when the lock or the
 * disk comes back.
 */
#define PROBE_IDLE_NS (5 * INT64_C(1000000000))

static void probe_write(sto_writer *w)
{
    atomic_store(&w->batch_since_ns, clock_monotonic_ns(w->clock));
    char *why = NULL;
    int rc = w->be->tx(w->conn, STO_TX_BEGIN, &why);
    if (rc == 0) {
        rc = w->be->tx(w->conn, STO_TX_COMMIT, &why);
        if (rc < 0)
            w->be->tx(w->conn, STO_TX_ROLLBACK, NULL);
    }
    note_outcome(w, rc);
    set_failing(w, is_transient(rc) ? rc : 0, why);
    free(why);
}

/* A guard's row callback: counts the rows it returns. */
static int count_row(const sto_value *cols, size_t ncols, void *arg)
{
    (void)cols;
    (void)ncols;
    ++*(size_t *)arg;
    return 0;
}

static void run_batch(sto_writer *w, struct write_op **ops, size_t n)
{
    int64_t t0 = clock_monotonic_ns(w->clock);
    atomic_store(&w->batch_since_ns, t0);
    char *msg = NULL, *why = NULL; /* why: the first failure's sentence */
    int rc = w->be->tx(w->conn, STO_TX_BEGIN, &why);
    for (size_t i = 0; i < n; i++) {
        if (rc < 0) {
            ops[i]->rc = rc;
            continue;
        }
        w->be->tx(w->conn, STO_TX_SAVEPOINT, NULL);
        ops[i]->rc = ops[i]->fn ? ops[i]->fn(w->be, w->conn, ops[i]->arg) : 0;
        for (size_t k = 0; k < ops[i]->nstmts && ops[i]->rc == 0; k++) {
            const struct write_stmt *st = &ops[i]->stmts[k];
            bool is_guard = k == 0 && ops[i]->guard_rc;
            size_t rows = 0;
            ops[i]->rc = w->be->query(w->conn, st->sql, st->params, st->nparams,
                                      is_guard ? count_row : NULL, &rows, &msg);
            if (ops[i]->rc == 0 && is_guard && rows == 0)
                ops[i]->rc = ops[i]->guard_rc;
            if (ops[i]->rc < 0 && msg)
                log_debug("write failed: %s", msg);
            if (is_transient(ops[i]->rc) && msg && !why)
                why = msg, msg = NULL;
            free(msg);
            msg = NULL;
        }
        if (ops[i]->rc < 0)
            w->be->tx(w->conn, STO_TX_ROLLBACK_TO, NULL);
        w->be->tx(w->conn, STO_TX_RELEASE, NULL);
    }
    if (rc == 0) {
        rc = w->be->tx(w->conn, STO_TX_COMMIT, &msg);
        if (rc < 0 && !why)
            why = msg, msg = NULL;
        free(msg);
        if (rc < 0) {
            w->be->tx(w->conn, STO_TX_ROLLBACK, NULL);
            for (size_t i = 0; i < n; i++)
                ops[i]->rc = rc;
        }
    }
    note_outcome(w, rc);
    if (w->tx_end_cb)
        w->tx_end_cb(rc == 0, w->tx_end_arg); /* before any done callback sees the outcome */
    int64_t now = clock_monotonic_ns(w->clock);
    metrics_histogram_observe(w->m_commit, (double)(now - t0) / 1e9);
    metrics_histogram_observe(w->m_batch, (double)n);
    /* A failing BEGIN or COMMIT fails every write: the database, not a statement, is the cause. */
    int failing = is_transient(rc) ? rc : 0;
    for (size_t i = 0; i < n && !failing; i++)
        if (is_transient(ops[i]->rc))
            failing = ops[i]->rc;
    set_failing(w, failing, why);
    free(why);
    for (size_t i = 0; i < n; i++)
        op_settle(w, ops[i], now);
    metrics_gauge_set(w->m_waiting, (double)w->nretry);
}

/* Moves the retried ops that are due (all of them when draining) into batch. */
static size_t take_due(sto_writer *w, void **batch, size_t max, int64_t now)
{
    size_t n = 0, kept = 0;
    for (size_t i = 0; i < w->nretry; i++) {
        if (n < max && (w->is_draining || w->retry[i]->due_ns <= now))
            batch[n++] = w->retry[i];
        else
            w->retry[kept++] = w->retry[i];
    }
    w->nretry = kept;
    return n;
}

/* How long the queue may be waited on: until the next retry is due, at most a second. */
static int wait_ms(const sto_writer *w, int64_t now)
{
    int64_t due = now + 1000 * 1000000LL;
    for (size_t i = 0; i < w->nretry; i++)
        if (w->retry[i]->due_ns < due)
            due = w->retry[i]->due_ns;
    return due <= now ? 0 : (int)((due - now + 999999) / 1000000);
}

static void check_backend(sto_writer *w, int64_t now)
{
    if (!w->be->check || now - w->checked_ns < CHECK_INTERVAL_NS)
        return;
    w->checked_ns = now;
    char *msg = NULL;
    if (w->be->check(w->conn, &msg) == 0)
        return;
    pthread_mutex_lock(&w->health_lock);
    bool is_new = !w->wal_problem;
    if (is_new)
        w->wal_problem = msg ? msg : horus_strdup("the database's files changed under it");
    pthread_mutex_unlock(&w->health_lock);
    if (is_new) {
        metrics_gauge_set(w->m_degraded, 1);
        log_error("%s", w->wal_problem); /* logged once; sto_db_health keeps saying it */
    } else {
        free(msg);
    }
}

static void *writer_main(void *arg)
{
    sto_writer *w = arg;
    void **batch = horus_calloc(w->batch_max, sizeof(void *));
    for (;;) {
        int64_t now = clock_monotonic_ns(w->clock);
        atomic_store(&w->heartbeat_ns, now);
        check_backend(w, now);
        size_t due = take_due(w, batch, w->batch_max, now);
        int n = 0;
        if (due < w->batch_max)
            n = queue_pop_batch(w->queue, batch + due, w->batch_max - due,
                                due ? 0 : wait_ms(w, now));
        if (n == HORUS_ESTOPPED && !w->is_draining) {
            w->is_draining = true; /* one last attempt for what waits on the retry list */
            due += take_due(w, batch + due, w->batch_max - due, now);
        }
        size_t total = due + (n > 0 ? (size_t)n : 0);
        if (total > 0)
            run_batch(w, (struct write_op **)batch, total);
        else if (n == HORUS_ESTOPPED && w->nretry == 0)
            break;
        else if (n == -ETIMEDOUT && w->nretry == 0 &&
                 (atomic_load(&w->fail_rc) != 0 ||
                  clock_monotonic_ns(w->clock) - w->tx_ns >= PROBE_IDLE_NS))
            probe_write(w);
    }
    free(batch);
    return NULL;
}

sto_writer *sto_writer_new(const struct sto_backend *be, sto_conn *conn, size_t batch_max,
                           size_t queue_max, metrics_registry *metrics, const horus_clock *clock)
{
    sto_writer *w = horus_calloc(1, sizeof(*w));
    w->be = be;
    w->conn = conn;
    w->batch_max = batch_max;
    w->clock = clock;
    w->queue = queue_new(queue_max);
    w->retry_max = queue_max ? queue_max : 1;
    w->retry = horus_calloc(w->retry_max, sizeof(*w->retry));
    pthread_mutex_init(&w->health_lock, NULL);
    atomic_store(&w->heartbeat_ns, clock_monotonic_ns(clock));
    metrics_family *writes = metrics_family_add(
        metrics,
        &(struct metrics_desc){.type = METRICS_COUNTER,
                               .name = "horus_db_writes_total",
                               .help = "Database writes by outcome (refused = write queue full)",
                               .labels = "result"});
    w->m_ok = metrics_series_get(writes, "ok");
    w->m_failed = metrics_series_get(writes, "failed");
    w->m_refused = metrics_series_get(writes, "refused");
    w->m_commit = metrics_series_get(metrics_family_add(
        metrics, &(struct metrics_desc){.type = METRICS_HISTOGRAM,
                                        .name = "horus_db_commit_seconds",
                                        .help = "Time to run and commit one batch of writes",
                                        .buckets = metrics_latency_buckets,
                                        .nbuckets = metrics_latency_nbuckets}));
    w->m_batch = metrics_series_get(metrics_family_add(
        metrics, &(struct metrics_desc){.type = METRICS_HISTOGRAM,
                                        .name = "horus_db_batch_writes",
                                        .help = "Writes committed per transaction",
                                        .buckets = batch_buckets,
                                        .nbuckets = HORUS_ARRAY_LEN(batch_buckets)}));
    w->m_retried = metrics_series_get(metrics_family_add(
        metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                        .name = "horus_db_write_retries_total",
                                        .help = "Failed attempts of writes that are retried "
                                                "(index rows while the database is locked or "
                                                "full)"}));
    w->m_waiting = metrics_series_get(metrics_family_add(
        metrics, &(struct metrics_desc){.type = METRICS_GAUGE,
                                        .name = "horus_db_writes_waiting_retry",
                                        .help = "Writes waiting for their next attempt"}));
    w->m_degraded = metrics_series_get(metrics_family_add(
        metrics, &(struct metrics_desc){.type = METRICS_GAUGE,
                                        .name = "horus_db_wal_lost",
                                        .help = "1 once the database's WAL file was deleted or "
                                                "replaced under the running daemon"}));
    return w;
}

int sto_writer_start(sto_writer *w)
{
    if (w->is_started || w->is_stopped)
        return w->is_started ? 0 : HORUS_ESTOPPED;
    atomic_store(&w->heartbeat_ns, clock_monotonic_ns(w->clock));
    int rc = horus_thread_start(&w->thread, "sto-w", writer_main, w);
    if (rc == 0)
        w->is_started = true;
    return rc;
}

bool sto_writer_is_started(const sto_writer *w)
{
    return w->is_started;
}

void sto_writer_stop(sto_writer *w)
{
    if (!w || w->is_stopped)
        return;
    w->is_stopped = true;
    queue_close(w->queue); /* refuses new writes; the thread runs what is queued */
    if (w->is_started)
        pthread_join(w->thread, NULL);
    w->is_started = false;
}

void sto_writer_free(sto_writer *w)
{
    if (!w)
        return;
    sto_writer_stop(w);
    queue_free(w->queue, op_abandon);
    for (size_t i = 0; i < w->nretry; i++)
        op_abandon(w->retry[i]); /* only when the thread never ran its last attempts */
    free(w->retry);
    pthread_mutex_destroy(&w->health_lock);
    free(w->wal_problem);
    free(w);
}

/* Queues op (its fields set), counting a refusal; op is freed when not queued. */
static int op_push(sto_writer *w, struct write_op *op, sto_done_cb done_cb, void *arg,
                   bool is_retried)
{
    op->done_cb = done_cb;
    op->arg = arg;
    op->is_retried = is_retried;
    int rc = queue_push(w->queue, op);
    if (rc < 0) {
        if (rc == -EAGAIN)
            metrics_counter_inc(w->m_refused);
        free(op);
    }
    return rc;
}

int sto_writer_push(sto_writer *w, const struct sto_stmt *stmts, size_t nstmts, sto_done_cb done_cb,
                    void *arg, bool is_retried)
{
    return op_push(w, op_new(stmts, nstmts), done_cb, arg, is_retried);
}

int sto_writer_push_guarded(sto_writer *w, int guard_rc, const struct sto_stmt *stmts,
                            size_t nstmts, sto_done_cb done_cb, void *arg)
{
    struct write_op *op = op_new(stmts, nstmts);
    op->guard_rc = guard_rc;
    return op_push(w, op, done_cb, arg, true);
}

int sto_writer_push_fn(sto_writer *w, sto_write_fn fn, sto_done_cb done_cb, void *arg,
                       bool is_retried)
{
    struct write_op *op = op_new(NULL, 0);
    op->fn = fn;
    return op_push(w, op, done_cb, arg, is_retried);
}

void sto_writer_on_tx_end(sto_writer *w, sto_tx_end_cb cb, void *arg)
{
    w->tx_end_cb = cb;
    w->tx_end_arg = arg;
}

int64_t sto_writer_heartbeat_ns(sto_writer *w)
{
    return atomic_load(&w->heartbeat_ns);
}

/* A transaction waiting this long for the write lock makes the index "busy". */
#define HEALTH_WAIT_NS (5 * INT64_C(1000000000))

void sto_writer_health(sto_writer *w, struct sto_db_health *out)
{
    int64_t now = clock_monotonic_ns(w->clock);
    int64_t since = atomic_load(&w->batch_since_ns);
    int rc = atomic_load(&w->fail_rc);
    *out = (struct sto_db_health){.is_ok = true};
    pthread_mutex_lock(&w->health_lock);
    if (w->wal_problem) {
        out->is_ok = false; /* wins: committed rows depend on it */
        snprintf(out->reason, sizeof(out->reason), "wal_lost");
        snprintf(out->detail, sizeof(out->detail), "%s", w->wal_problem);
    }
    char why[sizeof(w->failing_why)];
    memcpy(why, w->failing_why, sizeof(why)); /* the sentence of failing_rc */
    int failing_rc = w->failing_rc;
    if (out->is_ok && !rc)
        rc = failing_rc; /* index rows waiting for their retry */
    pthread_mutex_unlock(&w->health_lock);
    if (out->is_ok && since && now - since > HEALTH_WAIT_NS) {
        out->is_ok = false;
        snprintf(out->reason, sizeof(out->reason), "busy");
        snprintf(out->detail, sizeof(out->detail),
                 "a write has waited %lld s for the database (locked by another process?)",
                 (long long)((now - since) / 1000000000));
    } else if (out->is_ok && rc < 0) {
        out->is_ok = false;
        snprintf(out->reason, sizeof(out->reason), "%s",
                 rc == HORUS_EDBBUSY ? "busy" : "write_failed");
        snprintf(out->detail, sizeof(out->detail), "index writes failing: %s; rows are retried",
                 rc == failing_rc && why[0] ? why : horus_strerror(rc));
    }
    if (out->is_ok)
        snprintf(out->reason, sizeof(out->reason), "ok");
}
