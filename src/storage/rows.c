/*
 * Row lists of the repositories (sto_read_list, storage_int.h): a growing
 * array of decoded items filled by sto_read's (or sto_read_replica's) row
 * callback.
 * Thread: any (the caller's; no state of its own).
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct list_acc {
    const struct sto_list_kind *kind;
    char *items;
    size_t n, cap;
};

static int list_row(const sto_value *cols, size_t ncols, void *arg)
{
    struct list_acc *acc = arg;
    const struct sto_list_kind *kind = acc->kind;
    if (ncols < kind->min_cols)
        return HORUS_EDB;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 8;
        acc->items = horus_realloc(acc->items, acc->cap * kind->size);
    }
    void *item = acc->items + acc->n * kind->size;
    memset(item, 0, kind->size);
    kind->decode(kind, cols, ncols, item);
    acc->n++;
    return 0;
}

void sto_list_free(const struct sto_list_kind *kind, void *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        kind->release(kind, (char *)list + i * kind->size);
    free(list);
}

static int read_list(sto_db *db, bool from_replica, const char *sql, const sto_value *params,
                     size_t nparams, const struct sto_list_kind *kind, void **out, size_t *n)
{
    struct list_acc acc = {.kind = kind};
    int rc = from_replica ? sto_read_replica(db, sql, params, nparams, list_row, &acc)
                          : sto_read(db, sql, params, nparams, list_row, &acc);
    if (rc < 0) {
        sto_list_free(kind, acc.items, acc.n);
        *out = NULL;
        *n = 0;
        return rc;
    }
    *out = acc.items;
    *n = acc.n;
    return 0;
}

int sto_read_list(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
                  const struct sto_list_kind *kind, void **out, size_t *n)
{
    return read_list(db, false, sql, params, nparams, kind, out, n);
}

int sto_read_list_replica(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
                          const struct sto_list_kind *kind, void **out, size_t *n)
{
    return read_list(db, true, sql, params, nparams, kind, out, n);
}

int sto_read_one(sto_db *db, const char *sql, const sto_value *params, size_t nparams,
                 const struct sto_list_kind *kind, void *out)
{
    memset(out, 0, kind->size);
    void *list;
    size_t n;
    int rc = sto_read_list(db, sql, params, nparams, kind, &list, &n);
    if (rc < 0)
        return rc;
    if (n == 0) {
        free(list);
        return -ENOENT;
    }
    memcpy(out, list, kind->size);
    for (size_t i = 1; i < n; i++)
        kind->release(kind, (char *)list + i * kind->size);
    free(list);
    return 0;
}
