/*
 * DESIGN: SQLite checkpoints off the writer thread (docs/design/0052).
 *
 * With automatic checkpoints the commit that takes the WAL past 1,000
 * pages also copies those pages into the database file and fsyncs it, on
 * the writer thread: that commit takes tens of milliseconds, and every
 * write queued behind it waits (the detections ingest's p99 was that
 * wait). Here the writer only signals: its WAL hook wakes this thread,
 * which runs a PASSIVE checkpoint on its own connection. PASSIVE takes no
 * lock that a writer or reader waits on; SQLite restarts the WAL from its
 * start at the first commit after a checkpoint that copied everything.
 *
 * Bound: if the WAL still grows past WRITER_PAGES (this thread behind a
 * slow disk, a reader holding old pages), the writer checkpoints itself
 * after its commit as SQLite would have, so the WAL cannot grow unbounded.
 * Durability is unchanged: a commit is durable in the WAL (synchronous=
 * FULL); a checkpoint syncs the database file before it lets the WAL go.
 */
#include "sqlite_ckpt.h"

#include "mem.h"
#include "thread.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

/* SQLite's own automatic-checkpoint size, in pages. */
#define DUE_PAGES 1000
/* Past this the writer checkpoints itself after its commit. */
#define WRITER_PAGES (4 * DUE_PAGES)

struct sqlite_ckpt {
    sqlite3 *db; /* owned: this thread's connection */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool is_due; /* the writer asked for a checkpoint */
    bool is_stopping;
};

/* After each commit of the writer connection, on its thread. */
static int on_wal_commit(void *arg, sqlite3 *writer, const char *schema, int pages)
{
    sqlite_ckpt *k = arg;
    if (pages >= WRITER_PAGES) {
        (void)sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        return SQLITE_OK;
    }
    if (pages >= DUE_PAGES) {
        pthread_mutex_lock(&k->lock);
        if (!k->is_due) {
            k->is_due = true;
            pthread_cond_signal(&k->wake);
        }
        pthread_mutex_unlock(&k->lock);
    }
    return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
    sqlite_ckpt *k = arg;
    pthread_mutex_lock(&k->lock);
    for (;;) {
        while (!k->is_due && !k->is_stopping)
            pthread_cond_wait(&k->wake, &k->lock);
        if (k->is_stopping)
            break;
        k->is_due = false;
        pthread_mutex_unlock(&k->lock);
        /* A failure (another checkpoint running, an I/O error) waits for the next request. */
        (void)sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&k->lock);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

sqlite_ckpt *sqlite_ckpt_start(sqlite3 *writer, const char *file)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(file, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close_v2(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 1000);
    sqlite_ckpt *k = horus_calloc(1, sizeof(*k));
    k->db = db;
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->wake, NULL);
    if (horus_thread_start(&k->thread, "sto-ckpt", ckpt_main, k) < 0) {
        pthread_cond_destroy(&k->wake);
        pthread_mutex_destroy(&k->lock);
        sqlite3_close_v2(db);
        free(k);
        return NULL;
    }
    sqlite3_wal_hook(writer, on_wal_commit, k);
    return k;
}

void sqlite_ckpt_stop(sqlite_ckpt *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->lock);
    k->is_stopping = true;
    pthread_cond_signal(&k->wake);
    pthread_mutex_unlock(&k->lock);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->wake);
    pthread_mutex_destroy(&k->lock);
    sqlite3_close_v2(k->db);
    free(k);
}
