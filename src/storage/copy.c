/*
 * DESIGN: copying a whole index into a new PostgreSQL database (`horus
 * migrate`; docs/design/0062). Both handles are opened by sto_open, so
 * both carry every migration; the destination must be empty. Its catalog
 * says which tables and columns exist and which tables other tables point
 * at (foreign keys), so parents are copied before children and a table a
 * later migration adds is copied without a change here. Rows are read on
 * a reader of the source and written on the destination's writer
 * connection, on the calling thread, before sto_start (as migrations are),
 * in multi-row INSERTs of up to COPY_MAX_PARAMS values, all in one
 * transaction: the destination ends with every row or with none. Each
 * table's count is then compared on both sides inside that transaction.
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_MAX_TABLES 128
#define COPY_MAX_COLUMNS 64
#define COPY_MAX_PARAMS 1000 /* below the backend's 1024 placeholders */
#define COPY_NAME_MAX 64

struct names {
    char (*v)[COPY_NAME_MAX];
    size_t n, cap;
};

/* Catalog names are used as SQL identifiers: only lower-case words are taken. */
static bool is_plain_name(const char *s, size_t len)
{
    if (len == 0 || len >= COPY_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static int names_add(struct names *n, const sto_value *v)
{
    if (v->type != STO_TEXT || !is_plain_name(v->s, v->len))
        return HORUS_EDB;
    if (n->n == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 16;
        n->v = horus_realloc(n->v, n->cap * sizeof(*n->v));
    }
    memcpy(n->v[n->n], v->s, v->len + 1);
    n->n++;
    return 0;
}

static int name_row(const sto_value *cols, size_t ncols, void *arg)
{
    int rc = 0;
    for (size_t i = 0; i < ncols && rc == 0; i++)
        rc = names_add(arg, &cols[i]);
    return rc;
}

static int count_row(const sto_value *cols, size_t ncols, void *arg)
{
    if (ncols < 1 || cols[0].type != STO_INT)
        return HORUS_EDB;
    *(int64_t *)arg = cols[0].i;
    return 0;
}

static size_t name_index(const struct names *n, const char *s)
{
    for (size_t i = 0; i < n->n; i++)
        if (strcmp(n->v[i], s) == 0)
            return i;
    return SIZE_MAX;
}

/*
 * Orders tables so that each comes after the tables its foreign keys point
 * at (fk holds child, parent pairs). Returns 0 or HORUS_EDB for a cycle.
 */
static int order_tables(const struct names *tables, const struct names *fk, size_t *order)
{
    bool placed[COPY_MAX_TABLES] = {0};
    size_t done = 0;
    while (done < tables->n) {
        size_t before = done;
        for (size_t t = 0; t < tables->n; t++) {
            if (placed[t])
                continue;
            bool ready = true;
            for (size_t k = 0; k + 1 < fk->n && ready; k += 2) {
                size_t parent = name_index(tables, fk->v[k + 1]);
                if (strcmp(fk->v[k], tables->v[t]) == 0 && parent != t && parent != SIZE_MAX &&
                    !placed[parent])
                    ready = false;
            }
            if (ready) {
                placed[t] = true;
                order[done++] = t;
            }
        }
        if (done == before)
            return HORUS_EDB;
    }
    return 0;
}

/* The rows of one multi-row INSERT being gathered: values deep-copied from the source. */
struct batch {
    const struct sto_backend *be;
    sto_conn *conn;
    const char *table;
    const struct names *cols;
    size_t rows_max;
    size_t rows;
    sto_value vals[COPY_MAX_PARAMS];
    void *owned[COPY_MAX_PARAMS];
    uint64_t copied;
    char **errmsg;
};

static void batch_clear(struct batch *b)
{
    for (size_t i = 0; i < b->rows * b->cols->n; i++) {
        free(b->owned[i]);
        b->owned[i] = NULL;
    }
    b->rows = 0;
}

static int batch_flush(struct batch *b)
{
    if (b->rows == 0)
        return 0;
    size_t ncols = b->cols->n;
    size_t cap = 64 + strlen(b->table) + ncols * (COPY_NAME_MAX + 2) + b->rows * ncols * 8;
    char *sql = horus_malloc(cap);
    size_t len = (size_t)snprintf(sql, cap, "INSERT INTO %s (", b->table);
    for (size_t c = 0; c < ncols; c++)
        len += (size_t)snprintf(sql + len, cap - len, "%s%s", c ? ", " : "", b->cols->v[c]);
    len += (size_t)snprintf(sql + len, cap - len, ") VALUES ");
    for (size_t r = 0; r < b->rows; r++) {
        len += (size_t)snprintf(sql + len, cap - len, "%s(", r ? ", " : "");
        for (size_t c = 0; c < ncols; c++)
            len +=
                (size_t)snprintf(sql + len, cap - len, "%s$%zu", c ? ", " : "", r * ncols + c + 1);
        len += (size_t)snprintf(sql + len, cap - len, ")");
    }
    int rc = b->be->query(b->conn, sql, b->vals, b->rows * ncols, NULL, NULL, b->errmsg);
    free(sql);
    if (rc == 0)
        b->copied += b->rows;
    batch_clear(b);
    return rc;
}

static int copy_row(const sto_value *cols, size_t ncols, void *arg)
{
    struct batch *b = arg;
    if (ncols != b->cols->n)
        return HORUS_EDB;
    for (size_t c = 0; c < ncols; c++) {
        size_t i = b->rows * ncols + c;
        b->vals[i] = cols[c];
        if (cols[c].type == STO_TEXT || cols[c].type == STO_BLOB) {
            char *copy = horus_malloc(cols[c].len + 1);
            memcpy(copy, cols[c].type == STO_TEXT ? (const void *)cols[c].s : cols[c].blob,
                   cols[c].len);
            copy[cols[c].len] = '\0';
            b->owned[i] = copy;
            if (cols[c].type == STO_TEXT)
                b->vals[i].s = copy;
            else
                b->vals[i].blob = copy;
        }
    }
    b->rows++;
    return b->rows == b->rows_max ? batch_flush(b) : 0;
}

/* Reads one catalog query of `to` into names (every column of every row). */
static int catalog(sto_db *to, const char *sql, const sto_value *p, size_t np, struct names *out)
{
    return sto_read(to, sql, p, np, name_row, out);
}

static int copy_table(sto_db *from, const struct sto_backend *be, sto_conn *conn, const char *table,
                      const struct names *cols, uint64_t *copied, char **errmsg)
{
    if (cols->n == 0 || cols->n > COPY_MAX_COLUMNS)
        return HORUS_EDB;
    struct batch *b = horus_calloc(1, sizeof(*b));
    b->be = be;
    b->conn = conn;
    b->table = table;
    b->cols = cols;
    b->rows_max = COPY_MAX_PARAMS / cols->n;
    b->errmsg = errmsg;
    size_t cap = 32 + cols->n * (COPY_NAME_MAX + 2) + strlen(table);
    char *sql = horus_malloc(cap);
    size_t len = (size_t)snprintf(sql, cap, "SELECT ");
    for (size_t c = 0; c < cols->n; c++)
        len += (size_t)snprintf(sql + len, cap - len, "%s%s", c ? ", " : "", cols->v[c]);
    snprintf(sql + len, cap - len, " FROM %s", table);
    int rc = sto_read(from, sql, NULL, 0, copy_row, b);
    if (rc == 0)
        rc = batch_flush(b);
    batch_clear(b);
    *copied = b->copied;
    free(sql);
    free(b);
    return rc;
}

int sto_copy(sto_db *from, sto_db *to, sto_copy_progress_fn progress, void *arg, char **errmsg)
{
    if (strcmp(sto_backend_name(to), "postgres") != 0) {
        *errmsg = horus_strdup("the destination must be a PostgreSQL database (postgres://...)");
        return HORUS_ECONFIG;
    }
    if (sto_schema_version(from) != sto_schema_version(to)) {
        *errmsg = horus_asprintf("schema versions differ: %d here, %d there",
                                 sto_schema_version(from), sto_schema_version(to));
        return HORUS_EDB;
    }
    struct names tables = {0}, fk = {0};
    int rc = catalog(to,
                     "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND"
                     " tablename <> 'schema_migrations' ORDER BY tablename",
                     NULL, 0, &tables);
    if (rc == 0)
        rc = catalog(to,
                     "SELECT CAST(conrelid::regclass AS TEXT), CAST(confrelid::regclass AS TEXT)"
                     " FROM pg_constraint WHERE contype = 'f' AND connamespace ="
                     " CAST(current_schema() AS regnamespace)",
                     NULL, 0, &fk);
    size_t order[COPY_MAX_TABLES];
    if (rc == 0 && tables.n > COPY_MAX_TABLES)
        rc = HORUS_EDB;
    if (rc == 0 && (rc = order_tables(&tables, &fk, order)) < 0)
        *errmsg = horus_strdup("the destination's foreign keys form a cycle");
    if (rc < 0 && !*errmsg)
        *errmsg = horus_asprintf("read the destination's catalog: %s", horus_strerror(rc));
    /* The destination holds nothing yet: a second run, or a database in use, is refused. */
    for (size_t i = 0; rc == 0 && i < tables.n; i++) {
        char sql[COPY_NAME_MAX + 32];
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", tables.v[i]);
        int64_t n = -1;
        rc = sto_read(to, sql, NULL, 0, count_row, &n);
        if (rc == 0 && n != 0) {
            *errmsg = horus_asprintf("the destination is not empty: table %s has %lld rows",
                                     tables.v[i], (long long)n);
            rc = -EEXIST;
        }
    }
    const struct sto_backend *be = sto_db_backend(to);
    sto_conn *conn = sto_db_writer_conn(to);
    bool in_tx = false;
    if (rc == 0 && (rc = be->tx(conn, STO_TX_BEGIN, errmsg)) == 0)
        in_tx = true;
    for (size_t k = 0; rc == 0 && k < tables.n; k++) {
        const char *t = tables.v[order[k]];
        struct names cols = {0};
        sto_value p[] = {STO_TEXT_V(t)};
        rc = catalog(to,
                     "SELECT column_name FROM information_schema.columns WHERE table_schema ="
                     " current_schema() AND table_name = $1 ORDER BY ordinal_position",
                     p, 1, &cols);
        uint64_t copied = 0;
        if (rc == 0)
            rc = copy_table(from, be, conn, t, &cols, &copied, errmsg);
        int64_t here = -1, there = -1;
        char sql[COPY_NAME_MAX + 32];
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", t);
        if (rc == 0)
            rc = sto_read(from, sql, NULL, 0, count_row, &here);
        if (rc == 0)
            rc = be->query(conn, sql, NULL, 0, count_row, &there, errmsg);
        if (rc == 0 && (here != there || (uint64_t)there != copied)) {
            *errmsg = horus_asprintf("table %s: %lld rows here, %llu copied, %lld there", t,
                                     (long long)here, (unsigned long long)copied, (long long)there);
            rc = HORUS_EDB;
        }
        if (rc < 0 && !*errmsg)
            *errmsg = horus_asprintf("copy table %s: %s", t, horus_strerror(rc));
        else if (rc < 0 && strncmp(*errmsg, "table ", 6) != 0) {
            char *why = horus_asprintf("copy table %s: %s", t, *errmsg);
            free(*errmsg);
            *errmsg = why;
        }
        if (rc == 0 && progress)
            progress(t, copied, arg);
        free(cols.v);
    }
    if (in_tx) {
        if (rc == 0)
            rc = be->tx(conn, STO_TX_COMMIT, errmsg);
        if (rc < 0)
            be->tx(conn, STO_TX_ROLLBACK, NULL);
    }
    free(tables.v);
    free(fk.v);
    return rc;
}
