/*
 * Private to src/storage: the plumbing the repositories (cameras.c,
 * recordings.c, exports.c, settings.c) run their SQL through, the writer
 * thread and the embedded migrations. The backend contract itself is in
 * storage_backend.h. Nothing here is visible outside this folder, so no
 * other module can run SQL (the build.boundary_private_header test).
 */
#ifndef HORUS_STORAGE_INT_H
#define HORUS_STORAGE_INT_H

#include "storage.h"
#include "storage_backend.h"

#include <stdbool.h>

/* One statement and its parameters (borrowed during the call that takes it). */
struct sto_stmt {
    const char *sql;
    const sto_value *params;
    size_t nparams;
};

/*
 * Queues several statements that commit or fail together (one savepoint),
 * with the same queueing, copying and callback rules as sto_write_async.
 */
int sto_write_batch_async(sto_db *db, const struct sto_stmt *stmts, size_t nstmts,
                          sto_done_cb done_cb, void *arg);

/*
 * sto_write_batch_async for a write that must land: a transient failure
 * (HORUS_EDBBUSY, -ENOSPC, -EIO, -EACCES, -ENOMEM) puts it on the writer's
 * retry list (backoff 0.2 s doubling to 5 s) instead of ending it; done_cb
 * gets the outcome of the attempt that committed, or the last error when
 * the writer stops or its retry list is full. Thread: any.
 */
int sto_write_batch_retried_async(sto_db *db, const struct sto_stmt *stmts, size_t nstmts,
                                  sto_done_cb done_cb, void *arg);

/*
 * sto_write_batch_retried_async whose first statement is a guard: when it
 * returns no row, the write fails with guard_rc (its savepoint rolled
 * back, the other statements not run, no retry). The lease check before
 * an index row (recordings.c) is one, with HORUS_EFENCED.
 */
/* sto_set_node's id, "" when unset. Thread: any. */
const char *sto_db_node(const sto_db *db);

int sto_write_guarded_retried_async(sto_db *db, int guard_rc, const struct sto_stmt *stmts,
                                    size_t nstmts, sto_done_cb done_cb, void *arg);

/*
 * A computed write: runs on the writer thread, inside its own savepoint of
 * the batch's transaction, with the writer's connection (be->query on
 * conn), when its turn in the queue comes. Returns 0 or a negative code
 * (the savepoint is then rolled back and the code is the write's result).
 * arg is the one given with it, also passed to its done_cb.
 */
typedef int (*sto_write_fn)(const struct sto_backend *be, sto_conn *conn, void *arg);

/*
 * Called on the writer thread after each transaction that ran writes:
 * is_committed says whether its COMMIT succeeded (false also when BEGIN
 * failed). Runs before the done callbacks of the transaction's writes.
 */
typedef void (*sto_tx_end_cb)(bool is_committed, void *arg);

/* sto_write_batch_async and wait for the outcome. Thread: any but the writer. */
int sto_write_batch(sto_db *db, const struct sto_stmt *stmts, size_t nstmts);

/*
 * sto_read for a browsing read that may see data a moment old: served by the
 * read replica (database.read_url) while it is up and within read_max_lag,
 * else by the primary's readers exactly as sto_read. For the lists a person
 * looks at (playlists, timeline, searches, usage), never for a read a
 * decision is taken on (leases, the recorder, retention, exports, checks
 * before a write). Thread: any.
 */
int sto_read_replica(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
                     sto_row_cb row_cb, void *arg);

/*
 * Queues one write statement. params (and their text/blobs) are copied.
 * Writes run in FIFO order on the writer thread, batched into one
 * transaction; each write has its own savepoint, so one failing statement
 * fails only its own write. done_cb (may be NULL) gets the result.
 * Returns 0, -EAGAIN when the write queue is full (done_cb not called),
 * HORUS_ESTOPPED after close. Thread: any.
 */
int sto_write_async(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
                    sto_done_cb done_cb, void *arg);

/* sto_write_async and wait for the outcome. Thread: any but the writer. */
int sto_write(sto_db *db, const char *sql, const sto_value *params, size_t nparams);

/*
 * Runs a read-only query on a reader connection, calling row_cb per row.
 * Returns 0, the row callback's non-zero value, a backend error, or
 * HORUS_EUNAVAIL after close and when the connection was lost (the
 * backend's -EIO). Thread: any.
 */
int sto_read(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
             sto_row_cb row_cb, void *arg);

/* Calls the outbox watcher, if any (after a commit that appended rows). Thread: any. */
void sto_outbox_notify(sto_db *db);
/*
 * The statement that appends m with the next seq, for a repository's batch
 * (params: 5 values the caller keeps alive until the write returns).
 */
struct sto_stmt sto_outbox_stmt(const struct sto_outbox_input *m, int64_t created_us,
                                sto_value params[5]);

/* The clock given to sto_open (borrowed for the handle's life). */
const horus_clock *sto_db_clock(const sto_db *db);

/* The handle's backend, and its writer connection: for the opening thread before sto_start
 * only (copy.c, like the migrations), since the writer thread owns it after. */
const struct sto_backend *sto_db_backend(const sto_db *db);
sto_conn *sto_db_writer_conn(sto_db *db);

/* Column helpers for the repositories' row decoders. */
/* A new copy of a TEXT column ("" for NULL or another type). */
char *sto_col_text(const sto_value *v);
/* An INTEGER column (0 for NULL or another type). */
int64_t sto_col_int(const sto_value *v);

/*
 * One kind of row for sto_read_list: items of size bytes; a row with fewer
 * than min_cols columns is HORUS_EDB; decode fills a zeroed item from the
 * row's ncols columns (new strings); release frees what an item holds.
 * Both get the kind, so that one pair can serve several (arg: theirs).
 */
struct sto_list_kind {
    size_t size;
    size_t min_cols;
    void (*decode)(const struct sto_list_kind *kind, const sto_value *cols, size_t ncols,
                   void *item);
    void (*release)(const struct sto_list_kind *kind, void *item);
    const void *arg;
};
/*
 * Runs sto_read and collects its rows into *out, a new array of *n items
 * (free it with sto_list_free). On an error frees what was read, sets
 * *out NULL and *n 0, and returns it. Thread: any.
 */
int sto_read_list(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
                  const struct sto_list_kind *kind, void **out, size_t *n);
/* be->set_answer_timeout(c, ms) when the backend has it (storage.c). */
void sto_answer_within(const struct sto_backend *be, sto_conn *c, int64_t ms);

/* sto_read_list through sto_read_replica: for browsing lists only (see there). */
int sto_read_list_replica(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
                          const struct sto_list_kind *kind, void **out, size_t *n);
/* sto_read_list's first row into *out (kind->size bytes); -ENOENT when there is none. */
int sto_read_one(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
                 const struct sto_list_kind *kind, void *out);
/* Releases list[0..n) and frees list (NULL: nothing). */
void sto_list_free(const struct sto_list_kind *kind, void *list, size_t n);

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
/* Queues a write; is_retried: see sto_write_batch_retried_async. */
int sto_writer_push(sto_writer *w, const struct sto_stmt *stmts, size_t nstmts, sto_done_cb done_cb,
                    void *arg, bool is_retried);
/* sto_writer_push, retried, whose first statement is a guard (sto_write_guarded_retried_async). */
int sto_writer_push_guarded(sto_writer *w, int guard_rc, const struct sto_stmt *stmts,
                            size_t nstmts, sto_done_cb done_cb, void *arg);
/* Queues a computed write (sto_write_fn), with sto_writer_push's rules. */
int sto_writer_push_fn(sto_writer *w, sto_write_fn fn, sto_done_cb done_cb, void *arg,
                       bool is_retried);
/* Sets the tx-end hook (one per writer). Thread: the owner's, before sto_writer_start. */
void sto_writer_on_tx_end(sto_writer *w, sto_tx_end_cb cb, void *arg);
/* Monotonic ns of the writer loop's last turn. */
int64_t sto_writer_heartbeat_ns(sto_writer *w);
/* The writer's view for sto_db_health. Thread: any. */
void sto_writer_health(sto_writer *w, struct sto_db_health *out);

/* audit.c: the audit chain's head, kept beside the database by the writer thread. */
typedef struct sto_audit_chain sto_audit_chain;
/*
 * Reads the head (last id and hash) on the writer's connection, before
 * the writer starts. Returns 0 and a new *out, or a backend error.
 */
int sto_audit_chain_new(const struct sto_backend *be, sto_conn *conn, sto_audit_chain **out,
                        char **errmsg);
/* The writer's tx-end hook (sto_tx_end_cb): the head follows the commit. */
void sto_audit_chain_tx_end(bool is_committed, void *chain);
void sto_audit_chain_free(sto_audit_chain *c);
/* The chain of db (owned by it). */
sto_audit_chain *sto_db_audit_chain(sto_db *db);
/* The writer of db (owned by it). */
sto_writer *sto_db_writer(sto_db *db);

/*
 * Bumps sto_access_version: call after a write to users, sessions, API
 * keys, second factors, tenants or cameras has completed (committed or
 * failed), so that caches of credentials and camera tenants drop what
 * they hold (docs/design/0016-identity.md).
 */
void sto_access_changed(sto_db *db);
/* sto_write / sto_write_batch, then sto_access_changed. */
int sto_write_access(sto_db *db, const char *sql, const sto_value *params, size_t nparams);
int sto_write_batch_access(sto_db *db, const struct sto_stmt *stmts, size_t nstmts);

/* The query behind sto_recordings_times (its WHERE is sto_recordings_seek's); tests EXPLAIN it. */
extern const char sto_recordings_times_sql[];

/* ---- camera secrets (camera_secrets.c) ---- */

/* ---- secrets at rest: census and re-sealing (secrets.c) ---- */

/* Re-seal writes gathered for one transaction: "UPDATE ... $1 key, $2 fresh, $3 old". */
struct sto_reseal {
    struct sto_reseal_item {
        const char *sql; /* static */
        char *key, *fresh, *old; /* owned */
    } * items;
    size_t n, cap;
};
/* Adds one write; key and old are copied, fresh (the new sealed value) is stolen. */
void sto_reseal_add(struct sto_reseal *r, const char *sql, const char *key, char *fresh,
                    const char *old);
void sto_reseal_free(struct sto_reseal *r);
/* Counts the value s[0..len) in c: sealed (with its key id) or plain. */
void sto_secret_census_add_sealed(struct sto_secret_census *c, const char *s, size_t len);
/* The camera URL passwords (camera_secrets.c) and TOTP secrets (mfa_secrets.c) into c. */
int sto_camera_secrets_census_add(sto_db *db, struct sto_secret_census *c);
int sto_mfa_secrets_census_add(sto_db *db, struct sto_secret_census *c);
/*
 * Adds a write for each value not under box's primary key to batch.
 * Returns 0, or -ENOKEY / -EBADMSG / a read error with why naming the row.
 */
int sto_camera_secrets_collect(sto_db *db, const sto_secret_box *box, struct sto_reseal *batch,
                               char *why, size_t why_size);
int sto_mfa_secrets_collect(sto_db *db, const sto_secret_box *box, struct sto_reseal *batch,
                            char *why, size_t why_size);
int sto_rtsp_digests_census_add(sto_db *db, struct sto_secret_census *c);
int sto_rtsp_digests_collect(sto_db *db, const sto_secret_box *box, struct sto_reseal *batch,
                             char *why, size_t why_size);
int sto_webhook_secrets_census_add(sto_db *db, struct sto_secret_census *c);
int sto_webhook_secrets_collect(sto_db *db, const sto_secret_box *box, struct sto_reseal *batch,
                                char *why, size_t why_size);

/*
 * A text secret sealed by box with aad (additional data binding it to its
 * row), or plain_prefix and the text when box is NULL; and opened back
 * (the prefixed form in clear; -EINVAL for a form this build did not
 * write, -EBADMSG for a value that does not open with this aad or key,
 * -ENOKEY without the box). out is new. Thread: any.
 */
int sto_text_seal(const sto_secret_box *box, const char *aad, const char *plain_prefix,
                  const char *plain, char **out);
int sto_text_open(const sto_secret_box *box, const char *aad, const char *plain_prefix,
                  const char *stored, char **out);

/*
 * A column of secrets keyed by a text column (user_mfa.secret by user,
 * webhooks.secret by id), each sealed with additional data made from its
 * key; a value that starts with plain_prefix is in clear, "" is none.
 * select_sql reads (key, secret); update_sql writes $2 over $3 at key $1.
 * owner and what name a value in messages: "<owner> '<key>' <what>".
 */
struct sto_keyed_secrets {
    const char *select_sql, *update_sql, *plain_prefix, *owner, *what;
    int (*open)(const sto_secret_box *box, const char *key, const char *stored, char **out);
    int (*seal)(const sto_secret_box *box, const char *key, const char *plain, char **out);
};
/* Counts k's values into c. Thread: any. */
int sto_keyed_secrets_census_add(sto_db *db, const struct sto_keyed_secrets *k,
                                 struct sto_secret_census *c);
/* As sto_camera_secrets_collect, for k's values. */
int sto_keyed_secrets_collect(sto_db *db, const sto_secret_box *box,
                              const struct sto_keyed_secrets *k, struct sto_reseal *batch,
                              char *why, size_t why_size);

/*
 * url's password sealed (seal) or opened (open) for camera id's field
 * ("url", "sub_url") into a new string *out; *out NULL when nothing
 * changes (no password; seal: no box, or already sealed and opening here;
 * open: not sealed). seal keeps prev (the stored value, may be NULL) when
 * it opens to url. Returns 0, or sto_secret_open's error (-ENOKEY also for
 * open without a box). Thread: any.
 */
int sto_camera_url_seal(const sto_secret_box *box, const char *id, const char *field,
                        const char *url, const char *prev, char **out);
int sto_camera_url_open(const sto_secret_box *box, const char *id, const char *field,
                        const char *url, char **out);

#endif
