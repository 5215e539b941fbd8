/*
 * The SQLite writer's checkpointer (private to sqlite.c): WAL checkpoints
 * on a thread and connection of their own ("sto-ckpt"), so the writer's
 * commits never pay for copying the WAL into the database file.
 */
#ifndef HORUS_STORAGE_SQLITE_CKPT_H
#define HORUS_STORAGE_SQLITE_CKPT_H

#include <sqlite3.h>

typedef struct sqlite_ckpt sqlite_ckpt;

/*
 * Opens a connection of its own to file, starts its thread, and hands the
 * writer connection's checkpoints to it (a WAL hook on writer replaces the
 * automatic checkpoint). NULL when it cannot (writer then keeps SQLite's
 * automatic checkpoint). Thread: the writer connection's opener.
 */
sqlite_ckpt *sqlite_ckpt_start(sqlite3 *writer, const char *file);

/* Stops the thread and closes its connection; before closing writer. NULL: nothing. */
void sqlite_ckpt_stop(sqlite_ckpt *k);

#endif
