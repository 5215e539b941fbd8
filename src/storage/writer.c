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
 * Invariant: done callbacks run on this thread after the outcome is final,
 * and are called exactly once per accepted write, also during shutdown
 * (writes queued on a writer that was never started get HORUS_ESTOPPED
 * from sto_writer_free, on its caller's thread).
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
    size_t nstmts;
    struct write_stmt *stmts; /* owned (points into the same allocation) */
    sto_done_cb done_cb;
    void *arg;
    int rc;
};

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
    _Atomic int64_t fail_since_ns; /* first failure of the current run of failures */
    int64_t tx_ns; /* thread only: when the last transaction ended */
    metrics_series *m_ok, *m_failed, *m_refused, *m_commit, *m_batch;
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

/* Records a transaction's outcome for sto_writer_health. */
static void note_outcome(sto_writer *w, int rc)
{
    if (rc < 0 && atomic_load(&w->fail_rc) == 0)
        atomic_store(&w->fail_since_ns, clock_monotonic_ns(w->clock));
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
    int rc = w->be->tx(w->conn, STO_TX_BEGIN, NULL);
    if (rc == 0) {
        rc = w->be->tx(w->conn, STO_TX_COMMIT, NULL);
        if (rc < 0)
            w->be->tx(w->conn, STO_TX_ROLLBACK, NULL);
    }
    note_outcome(w, rc);
}

static void run_batch(sto_writer *w, struct write_op **ops, size_t n)
{
    int64_t t0 = clock_monotonic_ns(w->clock);
    atomic_store(&w->batch_since_ns, t0);
    char *msg = NULL;
    int rc = w->be->tx(w->conn, STO_TX_BEGIN, &msg);
    free(msg);
    msg = NULL;
    for (size_t i = 0; i < n; i++) {
        if (rc < 0) {
            ops[i]->rc = rc;
            continue;
        }
        w->be->tx(w->conn, STO_TX_SAVEPOINT, NULL);
        ops[i]->rc = 0;
        for (size_t k = 0; k < ops[i]->nstmts && ops[i]->rc == 0; k++) {
            const struct write_stmt *st = &ops[i]->stmts[k];
            ops[i]->rc = w->be->query(w->conn, st->sql, st->params, st->nparams, NULL, NULL, &msg);
            if (ops[i]->rc < 0 && msg)
                log_debug("write failed: %s", msg);
            free(msg);
            msg = NULL;
        }
        if (ops[i]->rc < 0)
            w->be->tx(w->conn, STO_TX_ROLLBACK_TO, NULL);
        w->be->tx(w->conn, STO_TX_RELEASE, NULL);
    }
    if (rc == 0) {
        rc = w->be->tx(w->conn, STO_TX_COMMIT, &msg);
        free(msg);
        if (rc < 0) {
            w->be->tx(w->conn, STO_TX_ROLLBACK, NULL);
            for (size_t i = 0; i < n; i++)
                ops[i]->rc = rc;
        }
    }
    note_outcome(w, rc);
    metrics_histogram_observe(w->m_commit, (double)(clock_monotonic_ns(w->clock) - t0) / 1e9);
    metrics_histogram_observe(w->m_batch, (double)n);
    for (size_t i = 0; i < n; i++) {
        metrics_counter_inc(ops[i]->rc == 0 ? w->m_ok : w->m_failed);
        op_finish(ops[i]);
    }
}

static void *writer_main(void *arg)
{
    sto_writer *w = arg;
    void **batch = horus_calloc(w->batch_max, sizeof(void *));
    for (;;) {
        atomic_store(&w->heartbeat_ns, clock_monotonic_ns(w->clock));
        int n = queue_pop_batch(w->queue, batch, w->batch_max, 1000);
        if (n == HORUS_ESTOPPED)
            break;
        if (n > 0)
            run_batch(w, (struct write_op **)batch, (size_t)n);
        else if (n == -ETIMEDOUT && (atomic_load(&w->fail_rc) != 0 ||
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
    free(w);
}

int sto_writer_push(sto_writer *w, const struct sto_stmt *stmts, size_t nstmts, sto_done_cb done_cb,
                    void *arg)
{
    struct write_op *op = op_new(stmts, nstmts);
    op->done_cb = done_cb;
    op->arg = arg;
    int rc = queue_push(w->queue, op);
    if (rc < 0) {
        if (rc == -EAGAIN)
            metrics_counter_inc(w->m_refused);
        free(op);
    }
    return rc;
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
    if (since && now - since > HEALTH_WAIT_NS) {
        out->is_ok = false;
        snprintf(out->reason, sizeof(out->reason), "busy");
        snprintf(out->detail, sizeof(out->detail),
                 "a write has waited %lld s for the database (locked by another process?)",
                 (long long)((now - since) / 1000000000));
    } else if (rc < 0) {
        out->is_ok = false;
        snprintf(out->reason, sizeof(out->reason), "%s",
                 rc == HORUS_EDBBUSY ? "busy" : "write_failed");
        snprintf(out->detail, sizeof(out->detail), "index writes failing for %lld s: %s",
                 (long long)((now - atomic_load(&w->fail_since_ns)) / 1000000000),
                 horus_strerror(rc));
    }
    if (out->is_ok)
        snprintf(out->reason, sizeof(out->reason), "ok");
}
