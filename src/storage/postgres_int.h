/*
 * The PostgreSQL backend's parsers of bytes it did not write (postgres.c),
 * private to src/storage; public here for unit tests and the fuzz driver
 * (tests/fuzz/fuzz_storage_pg.c).
 */
#ifndef HORUS_STORAGE_POSTGRES_INT_H
#define HORUS_STORAGE_POSTGRES_INT_H

#include "storage_backend.h"

#include <libpq-fe.h>
#include <stddef.h>

/*
 * Decodes the text-form cell (row, col) of res by its column's type OID
 * into *v (borrowing res's text; a bytea cell is decoded into a new buffer
 * stored in *owned, freed by the caller after use, else *owned is NULL).
 * Returns 0, or HORUS_EDB for a cell its type does not explain (an integer
 * that overflows, a float with a tail, bytea not in hex form).
 */
int sto_pg_cell_value(const PGresult *res, int row, int col, sto_value *v, void **owned);

/*
 * A schema script with SQLite's type words INTEGER and REAL widened to
 * BIGINT and DOUBLE PRECISION outside quotes and comments. New string.
 */
char *sto_pg_widen_types(const char *sql);

/*
 * Counts the $N placeholders of sql outside quotes and comments: the
 * highest N into *max_param, how many different N into *distinct.
 */
void sto_pg_count_params(const char *sql, size_t *max_param, size_t *distinct);

#endif
