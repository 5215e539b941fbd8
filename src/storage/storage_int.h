/*
 * Storage backend contract, private to src/storage. A backend implements
 * one connection's worth of operations; storage.c and writer.c own pooling,
 * threads, migrations and batching, so a new backend (PostgreSQL) only
 * fills this table.
 *
 * Ownership: open returns a new connection that close frees. Values passed
 * to row callbacks are borrowed for the duration of the call.
 * Thread: a connection is used by one thread at a time.
 */
#ifndef HORUS_STORAGE_INT_H
#define HORUS_STORAGE_INT_H

#include "storage.h"

#include <stdbool.h>

#define STO_BACKEND_API_VERSION 1

typedef struct sto_conn sto_conn;

struct sto_backend {
    int api_version;
    const char *name;
    /*
     * Opens a connection to target (a file path for SQLite, a conninfo for
     * PostgreSQL). is_writer selects the writer's settings. On failure
     * returns a negative code and a new message in *errmsg.
     */
    int (*open)(const char *target, bool is_writer, int64_t busy_timeout_ms, sto_conn **out,
                char **errmsg);
    void (*close)(sto_conn *c);
    /* Runs several ;-separated statements without parameters (migrations). */
    int (*exec_script)(sto_conn *c, const char *sql, char **errmsg);
    /* Runs one statement with parameters; row_cb may be NULL. */
    int (*query)(sto_conn *c, const char *sql, const sto_value *params, size_t nparams,
                 sto_row_cb row_cb, void *arg, char **errmsg);
};

extern const struct sto_backend sto_sqlite_backend;

/* Migrations embedded from storage/migrations/NNNN_name.sql, ascending, ended by version 0. */
struct sto_migration {
    int version;
    const char *name;
    const char *sql;
};
extern const struct sto_migration sto_migrations[];

/* writer.c: the "sto-w" thread, under the lifecycle rule (new, start, stop, free). */
typedef struct sto_writer sto_writer;
/* Allocates the writer and its queue (writes queue up); starts no thread. */
sto_writer *sto_writer_new(const struct sto_backend *be, sto_conn *conn, size_t batch_max,
                           size_t queue_max, metrics_registry *metrics, const horus_clock *clock);
/* Starts "sto-w". Returns 0, HORUS_ESTOPPED after stop, or -errno. */
int sto_writer_start(sto_writer *w);
bool sto_writer_is_started(const sto_writer *w);
/*
 * Refuses new writes, runs queued ones to completion and joins the thread
 * (a never-started writer's queued writes are dropped without a callback
 * by sto_writer_free). Does not close conn. A second call is a no-op.
 */
void sto_writer_stop(sto_writer *w);
/* Stops if needed and frees w. NULL is a no-op. */
void sto_writer_free(sto_writer *w);
int sto_writer_push(sto_writer *w, const struct sto_stmt *stmts, size_t nstmts, sto_done_cb done_cb,
                    void *arg);
/* Monotonic ns of the writer loop's last turn. */
int64_t sto_writer_heartbeat_ns(sto_writer *w);

/* The query behind sto_recordings_times (its WHERE is sto_recordings_seek's); tests EXPLAIN it. */
extern const char sto_recordings_times_sql[];

#endif
