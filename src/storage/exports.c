/*
 * DESIGN: export job rows. The playback module's worker owns the jobs while
 * they are queued or running (state and progress live in memory then) and
 * writes a row at each state change: created (queued), started (running)
 * and finished (done, failed or cancelled, with size, sha256 and the error
 * sentence). Writes go through the writer thread like every other write,
 * so an export never blocks recording's index rows for long: a job writes
 * three rows in its life.
 *
 * Ids sort by creation time (hex milliseconds first), so "newest first"
 * pages by id with a plain index and a stable cursor.
 *
 * Pins: a job pins its range (pins row "export:<id>") from its insert
 * until it is deleted or ends failed or cancelled, in the same
 * transactions, so the watermark deletes the exported range last.
 *
 * A new job is written from struct sto_export_input and every later change
 * from struct sto_export_status (the mutable fields only), both of borrowed
 * strings; reads fill owned struct sto_export rows.
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_COLUMNS                                                                             \
    "id, camera_id, stream, start_us, end_us, state, progress, size_bytes, duration_us, sha256,"   \
    " error, created_at_ms, started_at_ms, finished_at_ms, tenant"
#define EXPORT_NCOLS 15

static const char *const state_names[] = {"queued", "running", "done", "failed", "cancelled"};

const char *sto_export_state_name(enum sto_export_state s)
{
    return (unsigned)s < HORUS_ARRAY_LEN(state_names) ? state_names[s] : "failed";
}

static enum sto_export_state state_of(const sto_value *v)
{
    for (size_t i = 0; v->type == STO_TEXT && i < HORUS_ARRAY_LEN(state_names); i++)
        if (v->len == strlen(state_names[i]) && memcmp(v->s, state_names[i], v->len) == 0)
            return (enum sto_export_state)i;
    return STO_EXPORT_FAILED;
}

void sto_export_release(struct sto_export *e)
{
    if (!e)
        return;
    free(e->id);
    free(e->camera_id);
    free(e->stream);
    free(e->sha256);
    free(e->error);
    free(e->tenant);
    memset(e, 0, sizeof(*e));
}

void sto_export_list_free(struct sto_export *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        sto_export_release(&list[i]);
    free(list);
}

struct sto_export_status sto_export_status_of(const struct sto_export *e)
{
    return (struct sto_export_status){
        .id = e->id,
        .state = e->state,
        .progress = e->progress,
        .size_bytes = e->size_bytes,
        .duration_us = e->duration_us,
        .sha256 = e->sha256,
        .error = e->error,
        .started_at_ms = e->started_at_ms,
        .finished_at_ms = e->finished_at_ms,
    };
}

/* Decodes one row of EXPORT_COLUMNS, in that order. */
static void row_to_export(const sto_value *c, struct sto_export *e)
{
    e->id = sto_col_text(&c[0]);
    e->camera_id = sto_col_text(&c[1]);
    e->stream = sto_col_text(&c[2]);
    e->start_us = sto_col_int(&c[3]);
    e->end_us = sto_col_int(&c[4]);
    e->state = state_of(&c[5]);
    e->progress = c[6].type == STO_REAL ? c[6].d : (double)sto_col_int(&c[6]);
    e->size_bytes = (uint64_t)sto_col_int(&c[7]);
    e->duration_us = sto_col_int(&c[8]);
    e->sha256 = sto_col_text(&c[9]);
    e->error = sto_col_text(&c[10]);
    e->created_at_ms = sto_col_int(&c[11]);
    e->started_at_ms = sto_col_int(&c[12]);
    e->finished_at_ms = sto_col_int(&c[13]);
    e->tenant = sto_col_text(&c[14]);
}

struct export_acc {
    struct sto_export *items;
    size_t n, cap;
};

static int export_row(const sto_value *c, size_t n, void *arg)
{
    struct export_acc *acc = arg;
    if (n < EXPORT_NCOLS)
        return HORUS_EDB;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->items = horus_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    struct sto_export *e = &acc->items[acc->n++];
    memset(e, 0, sizeof(*e));
    row_to_export(c, e);
    return 0;
}

static int run_list(sto_db *db, const char *sql, const sto_value *p, size_t np,
                    struct sto_export **out, size_t *n)
{
    struct export_acc acc = {0};
    int rc = sto_read(db, sql, p, np, export_row, &acc);
    if (rc < 0) {
        sto_export_list_free(acc.items, acc.n);
        return rc;
    }
    *out = acc.items;
    *n = acc.n;
    return 0;
}

/* The pin id of export id into buf. */
static void pin_id_of(const char *id, char *buf, size_t size)
{
    snprintf(buf, size, "export:%s", id);
}

int sto_export_insert(sto_db *db, const struct sto_export_input *e)
{
    sto_value p[] = {
        STO_TEXT_V(e->id),
        STO_TEXT_V(e->camera_id),
        STO_TEXT_V(e->stream),
        STO_INT_V(e->start_us),
        STO_INT_V(e->end_us),
        STO_TEXT_V(sto_export_state_name(STO_EXPORT_QUEUED)),
        STO_REAL_V(0),
        STO_INT_V(0),
        STO_INT_V(0),
        STO_TEXT_V(""),
        STO_TEXT_V(""),
        STO_INT_V(e->created_at_ms),
        STO_INT_V(0),
        STO_INT_V(0),
        STO_TEXT_V(e->tenant ? e->tenant : ""),
    };
    char pin[96];
    pin_id_of(e->id, pin, sizeof(pin));
    sto_value pp[] = {STO_TEXT_V(pin),       STO_TEXT_V(e->camera_id),
                      STO_TEXT_V(e->stream), STO_INT_V(e->start_us),
                      STO_INT_V(e->end_us),  STO_INT_V(e->created_at_ms)};
    struct sto_stmt st[] = {
        {"INSERT INTO exports(" EXPORT_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
         " $10, $11, $12, $13, $14, $15)",
         p, HORUS_ARRAY_LEN(p)},
        {"INSERT INTO pins(id, camera_id, stream, start_us, end_us, reason, until_us,"
         " created_at_ms) VALUES ($1, $2, $3, $4, $5, 'export', 0, $6)",
         pp, HORUS_ARRAY_LEN(pp)},
    };
    return sto_write_batch(db, st, HORUS_ARRAY_LEN(st));
}

int sto_export_update(sto_db *db, const struct sto_export_status *e)
{
    sto_value p[] = {
        STO_TEXT_V(e->id),
        STO_TEXT_V(sto_export_state_name(e->state)),
        STO_REAL_V(e->progress),
        STO_INT_V((int64_t)e->size_bytes),
        STO_INT_V(e->duration_us),
        STO_TEXT_V(e->sha256 ? e->sha256 : ""),
        STO_TEXT_V(e->error ? e->error : ""),
        STO_INT_V(e->started_at_ms),
        STO_INT_V(e->finished_at_ms),
    };
    char pin[96];
    pin_id_of(e->id, pin, sizeof(pin));
    sto_value pp[] = {STO_TEXT_V(pin)};
    struct sto_stmt st[] = {
        {"UPDATE exports SET state = $2, progress = $3, size_bytes = $4, duration_us = $5,"
         " sha256 = $6, error = $7, started_at_ms = $8, finished_at_ms = $9 WHERE id = $1",
         p, HORUS_ARRAY_LEN(p)},
        {"DELETE FROM pins WHERE id = $1", pp, 1},
    };
    /* A failed or cancelled job has no file to protect: its pin goes with it. */
    bool drops_pin = e->state == STO_EXPORT_FAILED || e->state == STO_EXPORT_CANCELLED;
    return sto_write_batch(db, st, drops_pin ? 2 : 1);
}

int sto_export_get(sto_db *db, const char *id, struct sto_export *out)
{
    struct sto_export *list;
    size_t n;
    sto_value p[] = {STO_TEXT_V(id)};
    int rc = run_list(db, "SELECT " EXPORT_COLUMNS " FROM exports WHERE id = $1", p, 1, &list, &n);
    if (rc < 0)
        return rc;
    if (n == 0) {
        free(list);
        return -ENOENT;
    }
    *out = list[0];
    memset(&list[0], 0, sizeof(list[0]));
    sto_export_list_free(list, n);
    return 0;
}

int sto_export_list(sto_db *db, const char *after_id, size_t limit, struct sto_export **out,
                    size_t *n, bool *has_more)
{
    /* One extra row says whether another page follows. */
    sto_value p[] = {STO_INT_V((int64_t)limit + 1), STO_TEXT_V(after_id ? after_id : "")};
    int rc = after_id ? run_list(db,
                                 "SELECT " EXPORT_COLUMNS " FROM exports WHERE id < $2"
                                 " ORDER BY id DESC LIMIT $1",
                                 p, 2, out, n)
                      : run_list(db,
                                 "SELECT " EXPORT_COLUMNS " FROM exports ORDER BY id DESC"
                                 " LIMIT $1",
                                 p, 1, out, n);
    if (rc < 0)
        return rc;
    *has_more = *n > limit;
    if (*has_more) {
        sto_export_release(&(*out)[limit]);
        *n = limit;
    }
    return 0;
}

int sto_export_select(sto_db *db, int state, int64_t before_ms, size_t limit,
                      struct sto_export **out, size_t *n)
{
    if (state >= 0) {
        sto_value p[] = {STO_TEXT_V(sto_export_state_name((enum sto_export_state)state)),
                         STO_INT_V((int64_t)limit)};
        return run_list(db,
                        "SELECT " EXPORT_COLUMNS " FROM exports WHERE state = $1 ORDER BY id"
                        " LIMIT $2",
                        p, 2, out, n);
    }
    sto_value p[] = {STO_INT_V(before_ms), STO_INT_V((int64_t)limit)};
    return run_list(db,
                    "SELECT " EXPORT_COLUMNS " FROM exports WHERE finished_at_ms > 0 AND"
                    " finished_at_ms < $1 AND state IN ('done', 'failed', 'cancelled')"
                    " ORDER BY finished_at_ms LIMIT $2",
                    p, 2, out, n);
}

int sto_export_delete(sto_db *db, const char *id)
{
    struct sto_export cur;
    int rc = sto_export_get(db, id, &cur);
    if (rc < 0)
        return rc;
    sto_export_release(&cur);
    char pin[96];
    pin_id_of(id, pin, sizeof(pin));
    sto_value p[] = {STO_TEXT_V(id)};
    sto_value pp[] = {STO_TEXT_V(pin)};
    struct sto_stmt st[] = {
        {"DELETE FROM exports WHERE id = $1", p, 1},
        {"DELETE FROM pins WHERE id = $1", pp, 1},
    };
    return sto_write_batch(db, st, HORUS_ARRAY_LEN(st));
}

static int bytes_row(const sto_value *c, size_t n, void *arg)
{
    uint64_t *bytes = arg;
    *bytes = n > 0 && c[0].type == STO_INT && c[0].i > 0 ? (uint64_t)c[0].i : 0;
    return 0;
}

int sto_exports_usage(sto_db *db, uint64_t *bytes)
{
    *bytes = 0;
    /* CAST: PostgreSQL sums BIGINT into NUMERIC (storage_backend.h, Aggregates). */
    return sto_read(db,
                    "SELECT CAST(COALESCE(SUM(CASE WHEN e.state = 'done' THEN e.size_bytes ELSE"
                    " (SELECT COALESCE(SUM(r.bytes), 0) FROM recordings r WHERE"
                    " r.camera_id = e.camera_id AND r.stream = e.stream AND r.end_us > e.start_us"
                    " AND r.start_us < e.end_us) END), 0) AS BIGINT) FROM exports e WHERE"
                    " e.state IN ('queued', 'running', 'done')",
                    NULL, 0, bytes_row, bytes);
}

/* ---- pins ---- */

void sto_pin_list_free(struct sto_pin *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) {
        free(list[i].id);
        free(list[i].camera_id);
        free(list[i].stream);
        free(list[i].reason);
        free(list[i].tenant);
    }
    free(list);
}

struct pin_acc {
    struct sto_pin *items;
    size_t n, cap;
};

static int pin_row(const sto_value *c, size_t n, void *arg)
{
    struct pin_acc *acc = arg;
    if (n < 9)
        return HORUS_EDB;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->items = horus_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    struct sto_pin *pin = &acc->items[acc->n++];
    pin->id = sto_col_text(&c[0]);
    pin->camera_id = sto_col_text(&c[1]);
    pin->stream = sto_col_text(&c[2]);
    pin->start_us = sto_col_int(&c[3]);
    pin->end_us = sto_col_int(&c[4]);
    pin->reason = sto_col_text(&c[5]);
    pin->until_us = sto_col_int(&c[6]);
    pin->created_at_ms = sto_col_int(&c[7]);
    pin->tenant = sto_col_text(&c[8]);
    return 0;
}

int sto_pin_list(sto_db *db, int64_t now_us, size_t limit, struct sto_pin **out, size_t *n)
{
    struct pin_acc acc = {0};
    sto_value p[] = {STO_INT_V(now_us), STO_INT_V((int64_t)limit)};
    int rc = sto_read(db,
                      "SELECT p.id, p.camera_id, p.stream, p.start_us, p.end_us, p.reason,"
                      " p.until_us, p.created_at_ms, COALESCE((SELECT c.tenant FROM cameras c"
                      " WHERE c.id = p.camera_id), (SELECT o.tenant FROM camera_orphans o WHERE"
                      " o.orphan_id = p.camera_id), '') FROM pins p WHERE p.until_us = 0 OR"
                      " p.until_us > $1 ORDER BY p.created_at_ms, p.id LIMIT $2",
                      p, 2, pin_row, &acc);
    if (rc < 0) {
        sto_pin_list_free(acc.items, acc.n);
        return rc;
    }
    *out = acc.items;
    *n = acc.n;
    return 0;
}
