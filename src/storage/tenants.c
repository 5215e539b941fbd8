/*
 * DESIGN: the tenants repository (docs/design/0024-tenants.md). A tenant
 * row holds a name and two quotas; what belongs to a tenant is marked by
 * the tenant column of cameras, users, API keys, exports and audit
 * entries, so a tenant's usage is a few counts and sums over those tables,
 * computed when asked (GET /api/v1/tenants/{id}) rather than kept in
 * counters that could drift.
 * Thread: any (the waiting writes: any but the writer).
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define TENANT_COLUMNS "id, name, max_cameras, max_storage_bytes, created_at_ms, updated_at_ms"
#define TENANT_NCOLS 6

void sto_tenant_release(struct sto_tenant *t)
{
    if (!t)
        return;
    free(t->id);
    free(t->name);
    memset(t, 0, sizeof(*t));
}

void sto_tenant_list_free(struct sto_tenant *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        sto_tenant_release(&list[i]);
    free(list);
}

static void tenant_decode(const struct sto_list_kind *kind, const sto_value *c, size_t n,
                          void *item)
{
    (void)kind;
    (void)n;
    struct sto_tenant *t = item;
    t->id = sto_col_text(&c[0]);
    t->name = sto_col_text(&c[1]);
    t->max_cameras = (uint64_t)sto_col_int(&c[2]);
    t->max_storage_bytes = (uint64_t)sto_col_int(&c[3]);
    t->created_at_ms = sto_col_int(&c[4]);
    t->updated_at_ms = sto_col_int(&c[5]);
}

static void tenant_release(const struct sto_list_kind *kind, void *item)
{
    (void)kind;
    sto_tenant_release(item);
}

static const struct sto_list_kind TENANT_LIST = {.size = sizeof(struct sto_tenant),
                                                 .min_cols = TENANT_NCOLS,
                                                 .decode = tenant_decode,
                                                 .release = tenant_release};

static int run_list(sto_db *db, const char *sql, const sto_value *p, size_t np,
                    struct sto_tenant **out, size_t *n)
{
    return sto_read_list(db, sql, p, np, &TENANT_LIST, (void **)out, n);
}

int sto_tenant_get(sto_db *db, const char *id, struct sto_tenant *out)
{
    sto_value p[] = {STO_TEXT_V(id)};
    return sto_read_one(db, "SELECT " TENANT_COLUMNS " FROM tenants WHERE id = $1", p, 1,
                        &TENANT_LIST, out);
}

int sto_tenant_list(sto_db *db, struct sto_tenant **out, size_t *n)
{
    return run_list(db, "SELECT " TENANT_COLUMNS " FROM tenants ORDER BY id", NULL, 0, out, n);
}

static int64_t now_ms(sto_db *db)
{
    return clock_realtime_ms(sto_db_clock(db));
}

int sto_tenant_insert(sto_db *db, const struct sto_tenant_input *t)
{
    int64_t now = now_ms(db);
    sto_value p[] = {STO_TEXT_V(t->id),
                     STO_TEXT_V(t->name ? t->name : ""),
                     STO_INT_V((int64_t)t->max_cameras),
                     STO_INT_V((int64_t)t->max_storage_bytes),
                     STO_INT_V(now),
                     STO_INT_V(now)};
    return sto_write_access(
        db, "INSERT INTO tenants (" TENANT_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6)", p,
        TENANT_NCOLS);
}

int sto_tenant_update(sto_db *db, const struct sto_tenant_input *t)
{
    struct sto_tenant cur;
    int rc = sto_tenant_get(db, t->id, &cur);
    if (rc < 0)
        return rc;
    sto_tenant_release(&cur);
    sto_value p[] = {STO_TEXT_V(t->id), STO_TEXT_V(t->name ? t->name : ""),
                     STO_INT_V((int64_t)t->max_cameras), STO_INT_V((int64_t)t->max_storage_bytes),
                     STO_INT_V(now_ms(db))};
    return sto_write_access(
        db,
        "UPDATE tenants SET name = $2, max_cameras = $3, max_storage_bytes = $4,"
        " updated_at_ms = $5 WHERE id = $1",
        p, 5);
}

int sto_tenant_delete(sto_db *db, const char *id)
{
    struct sto_tenant cur;
    int rc = sto_tenant_get(db, id, &cur);
    if (rc < 0)
        return rc;
    sto_tenant_release(&cur);
    /* The owners are checked in the delete itself, on the writer: none can appear in between. */
    sto_value p[] = {STO_TEXT_V(id)};
    rc = sto_write_access(
        db,
        "DELETE FROM tenants WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM cameras WHERE"
        " tenant = $1) AND NOT EXISTS (SELECT 1 FROM users WHERE tenant = $1) AND NOT"
        " EXISTS (SELECT 1 FROM api_keys WHERE tenant = $1 AND revoked_at_ms = 0)",
        p, 1);
    if (rc < 0)
        return rc;
    rc = sto_tenant_get(db, id, &cur);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0) {
        sto_tenant_release(&cur);
        return -EBUSY;
    }
    return rc;
}

static int u64_row(const sto_value *cols, size_t n, void *arg)
{
    if (n < 1)
        return HORUS_EDB;
    int64_t v = sto_col_int(&cols[0]);
    *(uint64_t *)arg = v > 0 ? (uint64_t)v : 0;
    return 0;
}

int sto_tenant_usage_get(sto_db *db, const char *id, struct sto_tenant_usage *out)
{
    memset(out, 0, sizeof(*out));
    sto_value p[] = {STO_TEXT_V(id)};
    static const struct {
        const char *sql;
        size_t off;
    } queries[] = {
        {"SELECT COUNT(*) FROM cameras WHERE tenant = $1",
         offsetof(struct sto_tenant_usage, cameras)},
        {"SELECT COUNT(*) FROM users WHERE tenant = $1", offsetof(struct sto_tenant_usage, users)},
        {"SELECT COUNT(*) FROM api_keys WHERE tenant = $1 AND revoked_at_ms = 0",
         offsetof(struct sto_tenant_usage, api_keys)},
        /* CAST: PostgreSQL sums BIGINT into NUMERIC (storage_backend.h, Aggregates). */
        {"SELECT CAST(COALESCE(SUM(r.bytes), 0) AS BIGINT) FROM recordings r JOIN cameras c ON"
         " c.id = r.camera_id WHERE c.tenant = $1",
         offsetof(struct sto_tenant_usage, recording_bytes)},
        /* As sto_exports_usage: done exports by size, queued and running by their sources. */
        {"SELECT CAST(COALESCE(SUM(CASE WHEN e.state = 'done' THEN e.size_bytes ELSE"
         " (SELECT COALESCE(SUM(r.bytes), 0) FROM recordings r WHERE r.camera_id = e.camera_id"
         " AND r.stream = e.stream AND r.end_us > e.start_us AND r.start_us < e.end_us) END), 0)"
         " AS BIGINT) FROM exports e WHERE e.tenant = $1 AND e.state IN ('queued', 'running',"
         " 'done')",
         offsetof(struct sto_tenant_usage, export_bytes)},
    };
    for (size_t i = 0; i < HORUS_ARRAY_LEN(queries); i++) {
        int rc = sto_read(db, queries[i].sql, p, 1, u64_row, (char *)out + queries[i].off);
        if (rc < 0)
            return rc;
    }
    return 0;
}
