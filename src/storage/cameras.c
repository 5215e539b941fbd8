/*
 * DESIGN: camera rows. The database is the source of truth for cameras;
 * horus.yaml declares some of them and sto_cameras_provision makes the
 * provisioned set match the file in one transaction (the way Grafana
 * provisions dashboards). Reads go through the reader pool, writes through
 * the writer thread, so API handlers never block recording.
 *
 * Deleting a camera keeps its recordings and their index rows: footage is
 * never lost silently, and retention removes it on its normal schedule.
 *
 * Existence checks before update/delete run on a reader: a concurrent
 * delete between the check and the write makes the write a no-op, which is
 * the same outcome the caller would see a moment later.
 *
 * Reads fill owned struct sto_camera rows; writes take struct
 * sto_camera_input, whose strings are borrowed, so no caller builds a row
 * out of const strings. The provisioned flag is not an input: it says who
 * owns the row, and only sto_cameras_provision sets it.
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CAMERA_COLUMNS                                                                             \
    "id, name, url, sub_url, enabled, record_enabled, segment_seconds, retention_days,"            \
    " max_bytes, provisioned, created_at_ms, updated_at_ms"

void sto_camera_release(struct sto_camera *c)
{
    if (!c)
        return;
    free(c->id);
    free(c->name);
    free(c->url);
    free(c->sub_url);
    memset(c, 0, sizeof(*c));
}

void sto_camera_list_free(struct sto_camera *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        sto_camera_release(&list[i]);
    free(list);
}

struct sto_camera_input sto_camera_input_of(const struct sto_camera *c)
{
    return (struct sto_camera_input){
        .id = c->id,
        .name = c->name,
        .url = c->url,
        .sub_url = c->sub_url,
        .enabled = c->enabled,
        .record_enabled = c->record_enabled,
        .segment_seconds = c->segment_seconds,
        .retention_days = c->retention_days,
        .max_bytes = c->max_bytes,
    };
}

/* Decodes one row of CAMERA_COLUMNS, in that order. */
static void row_to_camera(const sto_value *c, struct sto_camera *out)
{
    out->id = sto_col_text(&c[0]);
    out->name = sto_col_text(&c[1]);
    out->url = sto_col_text(&c[2]);
    out->sub_url = sto_col_text(&c[3]);
    out->enabled = sto_col_int(&c[4]) != 0;
    out->record_enabled = sto_col_int(&c[5]) != 0;
    out->segment_seconds = sto_col_int(&c[6]);
    out->retention_days = sto_col_int(&c[7]);
    out->max_bytes = (uint64_t)sto_col_int(&c[8]);
    out->provisioned = sto_col_int(&c[9]) != 0;
    out->created_at_ms = sto_col_int(&c[10]);
    out->updated_at_ms = sto_col_int(&c[11]);
}

struct list_acc {
    struct sto_camera *items;
    size_t n, cap;
};

static int list_row(const sto_value *cols, size_t n, void *arg)
{
    struct list_acc *acc = arg;
    if (n < 12)
        return HORUS_EDB;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->items = horus_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    memset(&acc->items[acc->n], 0, sizeof(acc->items[0]));
    row_to_camera(cols, &acc->items[acc->n++]);
    return 0;
}

int sto_camera_get(sto_db *db, const char *id, struct sto_camera *out)
{
    memset(out, 0, sizeof(*out));
    struct list_acc acc = {0};
    sto_value p[] = {STO_TEXT_V(id)};
    int rc =
        sto_read(db, "SELECT " CAMERA_COLUMNS " FROM cameras WHERE id = $1", p, 1, list_row, &acc);
    if (rc == 0 && acc.n == 0)
        rc = -ENOENT;
    if (rc == 0) {
        *out = acc.items[0];
        acc.n = 1;
        free(acc.items);
        return 0;
    }
    sto_camera_list_free(acc.items, acc.n);
    return rc;
}

int sto_camera_list(sto_db *db, const char *after_id, size_t limit, struct sto_camera **out,
                    size_t *n, bool *has_more)
{
    struct list_acc acc = {0};
    /* One extra row tells whether another page follows. */
    sto_value p[] = {STO_TEXT_V(after_id ? after_id : ""), STO_INT_V((int64_t)limit + 1)};
    int rc =
        sto_read(db, "SELECT " CAMERA_COLUMNS " FROM cameras WHERE id > $1 ORDER BY id LIMIT $2", p,
                 2, list_row, &acc);
    if (rc < 0) {
        sto_camera_list_free(acc.items, acc.n);
        return rc;
    }
    *has_more = acc.n > limit;
    if (*has_more) {
        sto_camera_release(&acc.items[limit]);
        acc.n = limit;
    }
    *out = acc.items;
    *n = acc.n;
    return 0;
}

static int count_row(const sto_value *cols, size_t n, void *arg)
{
    *(uint64_t *)arg = n > 0 ? (uint64_t)sto_col_int(&cols[0]) : 0;
    return 0;
}

int sto_camera_count(sto_db *db, uint64_t *n)
{
    *n = 0;
    return sto_read(db, "SELECT COUNT(*) FROM cameras", NULL, 0, count_row, n);
}

/* Parameters $1..$12 in the column order of CAMERA_COLUMNS (created and updated now). */
static void camera_params(const struct sto_camera_input *c, bool is_provisioned, int64_t now_ms,
                          sto_value p[12])
{
    p[0] = STO_TEXT_V(c->id);
    p[1] = STO_TEXT_V(c->name ? c->name : "");
    p[2] = STO_TEXT_V(c->url ? c->url : "");
    p[3] = STO_TEXT_V(c->sub_url ? c->sub_url : "");
    p[4] = STO_INT_V(c->enabled);
    p[5] = STO_INT_V(c->record_enabled);
    p[6] = STO_INT_V(c->segment_seconds);
    p[7] = STO_INT_V(c->retention_days);
    p[8] = STO_INT_V((int64_t)c->max_bytes);
    p[9] = STO_INT_V(is_provisioned);
    p[10] = STO_INT_V(now_ms);
    p[11] = STO_INT_V(now_ms);
}

static const char upsert_sql[] =
    "INSERT INTO cameras(" CAMERA_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
    " $12) ON CONFLICT(id) DO UPDATE SET name = excluded.name, url = excluded.url,"
    " sub_url = excluded.sub_url, enabled = excluded.enabled,"
    " record_enabled = excluded.record_enabled, segment_seconds = excluded.segment_seconds,"
    " retention_days = excluded.retention_days, max_bytes = excluded.max_bytes,"
    " provisioned = excluded.provisioned, updated_at_ms = excluded.updated_at_ms";

static int64_t now_ms(void)
{
    return clock_realtime_ms(clock_system());
}

int sto_camera_insert(sto_db *db, const struct sto_camera_input *c)
{
    sto_value p[12];
    camera_params(c, false, now_ms(), p);
    return sto_write(db,
                     "INSERT INTO cameras(" CAMERA_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6,"
                     " $7, $8, $9, $10, $11, $12)",
                     p, 12);
}

int sto_camera_update(sto_db *db, const struct sto_camera_input *c)
{
    struct sto_camera cur;
    int rc = sto_camera_get(db, c->id, &cur);
    if (rc < 0)
        return rc;
    sto_camera_release(&cur);
    sto_value p[12];
    camera_params(c, false, now_ms(), p);
    return sto_write(db, upsert_sql, p, 12);
}

int sto_camera_delete(sto_db *db, const char *id)
{
    struct sto_camera cur;
    int rc = sto_camera_get(db, id, &cur);
    if (rc < 0)
        return rc;
    sto_camera_release(&cur);
    sto_value p[] = {STO_TEXT_V(id)};
    return sto_write(db, "DELETE FROM cameras WHERE id = $1", p, 1);
}

/* Whether the stored row have already holds what provisioning want would write. */
static bool same_settings(const struct sto_camera *have, const struct sto_camera_input *want)
{
    return strcmp(have->name, want->name ? want->name : "") == 0 &&
           strcmp(have->url, want->url ? want->url : "") == 0 &&
           strcmp(have->sub_url, want->sub_url ? want->sub_url : "") == 0 &&
           have->enabled == want->enabled && have->record_enabled == want->record_enabled &&
           have->segment_seconds == want->segment_seconds &&
           have->retention_days == want->retention_days && have->max_bytes == want->max_bytes &&
           have->provisioned;
}

int sto_cameras_provision(sto_db *db, const struct sto_camera_input *cams, size_t n, size_t *added,
                          size_t *changed, size_t *removed)
{
    struct list_acc cur = {0};
    int rc =
        sto_read(db, "SELECT " CAMERA_COLUMNS " FROM cameras ORDER BY id", NULL, 0, list_row, &cur);
    if (rc < 0) {
        sto_camera_list_free(cur.items, cur.n);
        return rc;
    }
    size_t nadd = 0, nchange = 0, nremove = 0, nst = 0;
    size_t max = n + cur.n;
    struct sto_stmt *st = horus_calloc(max ? max : 1, sizeof(*st));
    sto_value(*params)[12] = horus_calloc(max ? max : 1, sizeof(*params));
    int64_t now = now_ms();
    for (size_t i = 0; i < n; i++) {
        const struct sto_camera_input *want = &cams[i];
        const struct sto_camera *have = NULL;
        for (size_t k = 0; k < cur.n; k++)
            if (strcmp(cur.items[k].id, want->id) == 0)
                have = &cur.items[k];
        if (have && same_settings(have, want))
            continue;
        have ? nchange++ : nadd++;
        camera_params(want, true, now, params[nst]);
        st[nst] = (struct sto_stmt){upsert_sql, params[nst], 12};
        nst++;
    }
    for (size_t k = 0; k < cur.n; k++) {
        if (!cur.items[k].provisioned)
            continue;
        bool is_listed = false;
        for (size_t i = 0; i < n && !is_listed; i++)
            is_listed = strcmp(cams[i].id, cur.items[k].id) == 0;
        if (is_listed)
            continue;
        nremove++;
        params[nst][0] = STO_TEXT_V(cur.items[k].id);
        st[nst] = (struct sto_stmt){"DELETE FROM cameras WHERE id = $1", params[nst], 1};
        nst++;
    }
    rc = nst ? sto_write_batch(db, st, nst) : 0;
    free(st);
    free(params);
    sto_camera_list_free(cur.items, cur.n);
    if (rc == 0) {
        if (added)
            *added = nadd;
        if (changed)
            *changed = nchange;
        if (removed)
            *removed = nremove;
    }
    return rc;
}
