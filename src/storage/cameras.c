/*
 * DESIGN: camera rows. The database is the source of truth for cameras;
 * horus.yaml declares some of them and sto_cameras_provision makes the
 * provisioned set match the file in one transaction (the way Grafana
 * provisions dashboards). Reads go through the reader pool, writes through
 * the writer thread, so API handlers never block recording.
 *
 * Deleting a camera keeps its recordings and their index rows (footage is
 * never lost silently) but moves them, in the same transaction, to an
 * orphan id "<id>~<deleted ms>" (never a valid camera id) listed in
 * camera_orphans: a camera created later with the same id starts with an
 * empty timeline, and retention deletes the orphans after
 * storage.deleted_camera_grace unless a new camera adopts them
 * (sto_camera_adopt). Rows that arrive for a camera that no longer exists
 * (a segment closed after the delete, or rows from before migration 0004)
 * join the id's newest group (or a new one) when the id is created again
 * or when retention calls sto_orphans_collect.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAMERA_COLUMNS                                                                             \
    "id, name, url, sub_url, enabled, record_enabled, segment_seconds, retention_days,"            \
    " max_bytes, provisioned, created_at_ms, updated_at_ms, tenant, transport, client, "           \
    "tls_verify,"                                                                                  \
    " analytics, placement_node, placement_labels"
#define CAMERA_NCOLS 19

void sto_camera_release(struct sto_camera *c)
{
    if (!c)
        return;
    free(c->id);
    free(c->name);
    free(c->url);
    free(c->sub_url);
    free(c->tenant);
    free(c->transport);
    free(c->client);
    free(c->analytics);
    free(c->placement_node);
    free(c->placement_labels);
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
        .tenant = c->tenant,
        .transport = c->transport,
        .client = c->client,
        .tls_skip_verify = c->tls_skip_verify,
        .analytics = c->analytics,
        .placement_node = c->placement_node,
        .placement_labels = c->placement_labels,
    };
}

/* Decodes one row of CAMERA_COLUMNS, in that order (URLs as stored: camera_secrets.c). */
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
    out->tenant = sto_col_text(&c[12]);
    out->transport = sto_col_text(&c[13]);
    out->client = sto_col_text(&c[14]);
    out->tls_skip_verify = sto_col_int(&c[15]) == 0;
    out->analytics = sto_col_text(&c[16]);
    out->placement_node = sto_col_text(&c[17]);
    out->placement_labels = sto_col_text(&c[18]);
}

struct list_acc {
    struct sto_camera *items;
    size_t n, cap;
};

static int list_row(const sto_value *cols, size_t n, void *arg)
{
    struct list_acc *acc = arg;
    if (n < CAMERA_NCOLS)
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

struct tenant_out {
    char *buf;
    size_t cap;
    bool found;
};

static int tenant_row(const sto_value *cols, size_t n, void *arg)
{
    struct tenant_out *t = arg;
    if (n < 1)
        return HORUS_EDB;
    size_t len = cols[0].type == STO_TEXT ? cols[0].len : 0;
    if (len >= t->cap)
        len = t->cap - 1;
    if (len)
        memcpy(t->buf, cols[0].s, len);
    t->buf[len] = '\0';
    t->found = true;
    return 0;
}

int sto_camera_tenant(sto_db *db, const char *id, char *out, size_t cap)
{
    if (cap == 0)
        return -EINVAL;
    out[0] = '\0';
    struct tenant_out t = {out, cap, false};
    sto_value p[] = {STO_TEXT_V(id)};
    int rc = sto_read(db, "SELECT tenant FROM cameras WHERE id = $1", p, 1, tenant_row, &t);
    if (rc == 0 && !t.found)
        rc = -ENOENT;
    return rc;
}

/* The sealed forms of a camera's URLs (camera_secrets.c), owned; NULL = stored as given. */
struct sealed_urls {
    char *url, *sub_url;
};

static void sealed_urls_release(struct sealed_urls *s)
{
    free(s->url);
    free(s->sub_url);
    s->url = s->sub_url = NULL;
}

/*
 * Parameters $1..$19 in the column order of CAMERA_COLUMNS (created and
 * updated now), the passwords sealed into sealed (which must outlive p);
 * prev, the stored row (may be NULL), keeps its sealed values for the same
 * URLs. Returns 0 or a seal error.
 */
static int camera_params(const sto_db *db, const struct sto_camera_input *c,
                         const struct sto_camera *prev, bool is_provisioned, int64_t now_ms,
                         sto_value p[CAMERA_NCOLS], struct sealed_urls *sealed)
{
    const sto_secret_box *box = sto_db_secrets(db);
    int rc = sto_camera_url_seal(box, c->id, "url", c->url ? c->url : "", prev ? prev->url : NULL,
                                 &sealed->url);
    if (rc == 0)
        rc = sto_camera_url_seal(box, c->id, "sub_url", c->sub_url ? c->sub_url : "",
                                 prev ? prev->sub_url : NULL, &sealed->sub_url);
    p[0] = STO_TEXT_V(c->id);
    p[1] = STO_TEXT_V(c->name ? c->name : "");
    p[2] = STO_TEXT_V(sealed->url ? sealed->url : c->url ? c->url : "");
    p[3] = STO_TEXT_V(sealed->sub_url ? sealed->sub_url : c->sub_url ? c->sub_url : "");
    p[4] = STO_INT_V(c->enabled);
    p[5] = STO_INT_V(c->record_enabled);
    p[6] = STO_INT_V(c->segment_seconds);
    p[7] = STO_INT_V(c->retention_days);
    p[8] = STO_INT_V((int64_t)c->max_bytes);
    p[9] = STO_INT_V(is_provisioned);
    p[10] = STO_INT_V(now_ms);
    p[11] = STO_INT_V(now_ms);
    p[12] = STO_TEXT_V(c->tenant ? c->tenant : "");
    p[13] = STO_TEXT_V(c->transport ? c->transport : "");
    p[14] = STO_TEXT_V(c->client ? c->client : "");
    p[15] = STO_INT_V(!c->tls_skip_verify);
    p[16] = STO_TEXT_V(c->analytics ? c->analytics : "");
    p[17] = STO_TEXT_V(c->placement_node ? c->placement_node : "");
    p[18] = STO_TEXT_V(c->placement_labels ? c->placement_labels : "");
    return rc;
}

/* The tenant is set by the insert only: an update or provisioning keeps the row's. */
static const char upsert_sql[] =
    "INSERT INTO cameras(" CAMERA_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
    " $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
    "url = "
    "excluded.url,"
    " sub_url = excluded.sub_url, enabled = excluded.enabled,"
    " record_enabled = excluded.record_enabled, segment_seconds = excluded.segment_seconds,"
    " retention_days = excluded.retention_days, max_bytes = excluded.max_bytes,"
    " provisioned = excluded.provisioned, updated_at_ms = excluded.updated_at_ms,"
    " transport = excluded.transport, client = excluded.client,"
    " tls_verify = excluded.tls_verify, analytics = excluded.analytics,"
    " placement_node = excluded.placement_node, placement_labels = excluded.placement_labels";

static int64_t now_ms(void)
{
    return clock_realtime_ms(clock_system());
}

/* Statements and parameters that move camera id's recordings to an orphan group. */
struct orphan_move {
    char orphan_id[96];
    char tenant[128]; /* the deleted camera's ("" for strays): adoption stays in its tenant */
    sto_value params[4]; /* $1 camera id, $2 orphan id, $3 deleted at (ms), $4 tenant */
};

#define ORPHAN_NSTMTS 3

/*
 * Fills st[0..ORPHAN_NSTMTS) with the statements moving id's recordings
 * and pins to the orphan group m->orphan_id (made when it does not exist,
 * deleted at now_ms), borrowing m (which must outlive them). Each
 * statement checks that no camera id exists at commit time, so a camera
 * created meanwhile keeps its rows.
 */
static void orphan_stmts(struct orphan_move *m, const char *id, int64_t now_ms, struct sto_stmt *st)
{
    m->params[0] = STO_TEXT_V(id);
    m->params[1] = STO_TEXT_V(m->orphan_id);
    m->params[2] = STO_INT_V(now_ms);
    m->params[3] = STO_TEXT_V(m->tenant);
    st[0] = (struct sto_stmt){
        "INSERT INTO camera_orphans(orphan_id, camera_id, deleted_at_ms, tenant) SELECT CAST($2 AS"
        " TEXT), CAST($1 AS TEXT), CAST($3 AS BIGINT), CAST($4 AS TEXT) WHERE EXISTS (SELECT 1"
        " FROM recordings WHERE camera_id = $1) AND NOT EXISTS (SELECT 1 FROM cameras WHERE id ="
        " $1) AND NOT EXISTS (SELECT 1 FROM camera_orphans WHERE orphan_id = $2)",
        m->params, 4};
    st[1] = (struct sto_stmt){"UPDATE recordings SET camera_id = $2 WHERE camera_id = $1 AND NOT"
                              " EXISTS (SELECT 1 FROM cameras WHERE id = $1)",
                              m->params, 2};
    st[2] = (struct sto_stmt){"UPDATE pins SET camera_id = $2 WHERE camera_id = $1 AND NOT"
                              " EXISTS (SELECT 1 FROM cameras WHERE id = $1)",
                              m->params, 2};
}

/* A new orphan group of camera id of tenant (NULL = ""), deleted at now_ms. */
static void orphan_new(struct orphan_move *m, const char *id, const char *tenant, int64_t now_ms)
{
    snprintf(m->orphan_id, sizeof(m->orphan_id), "%.64s~%lld", id, (long long)now_ms);
    snprintf(m->tenant, sizeof(m->tenant), "%s", tenant ? tenant : "");
}

static int orphan_id_row(const sto_value *c, size_t n, void *arg)
{
    struct orphan_move *m = arg;
    char *s = n > 0 ? sto_col_text(&c[0]) : NULL;
    if (s)
        snprintf(m->orphan_id, sizeof(m->orphan_id), "%s", s);
    free(s);
    return 0;
}

/*
 * Where stray rows of id go: the newest orphan group of id (they belong to
 * the camera deleted last: its open segment closed after the delete), or
 * a new one when id has none.
 */
static int orphan_for_strays(sto_db *db, struct orphan_move *m, const char *id, int64_t now_ms)
{
    orphan_new(m, id, NULL, now_ms);
    sto_value p[] = {STO_TEXT_V(id)};
    return sto_read(db,
                    "SELECT orphan_id FROM camera_orphans WHERE camera_id = $1 ORDER BY"
                    " deleted_at_ms DESC LIMIT 1",
                    p, 1, orphan_id_row, m);
}

int sto_camera_insert(sto_db *db, const struct sto_camera_input *c)
{
    sto_value p[CAMERA_NCOLS + 1];
    int64_t now = now_ms();
    struct sealed_urls sealed = {0};
    int rc = camera_params(db, c, NULL, false, now, p, &sealed);
    if (rc < 0) {
        sealed_urls_release(&sealed);
        return rc;
    }
    p[CAMERA_NCOLS] = STO_INT_V((int64_t)c->tenant_max_cameras);
    /*
     * Rows already carrying the id belong to a deleted camera (a segment
     * that closed after the delete): they become orphans first, so the new
     * camera starts empty.
     */
    struct orphan_move m;
    struct sto_stmt st[ORPHAN_NSTMTS + 1];
    rc = orphan_for_strays(db, &m, c->id, now);
    if (rc < 0) {
        sealed_urls_release(&sealed);
        return rc;
    }
    orphan_stmts(&m, c->id, now, st);
    /* The tenant's camera quota is counted in the insert itself, on the writer. */
    st[ORPHAN_NSTMTS] = (struct sto_stmt){
        "INSERT INTO cameras(" CAMERA_COLUMNS ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
        " $11, $12, $13, $14, $15, $16, $17, $18, $19 WHERE $20 = 0 OR EXISTS (SELECT 1 FROM"
        " cameras WHERE id = $1) OR (SELECT COUNT(*) FROM cameras WHERE tenant = $13) < $20",
        p, CAMERA_NCOLS + 1};
    rc = sto_write_batch_access(db, st, HORUS_ARRAY_LEN(st));
    sealed_urls_release(&sealed);
    if (rc < 0 || c->tenant_max_cameras == 0)
        return rc;
    char tenant[128];
    rc = sto_camera_tenant(db, c->id, tenant, sizeof(tenant));
    return rc == -ENOENT ? -EDQUOT : rc;
}

int sto_camera_update(sto_db *db, const struct sto_camera_input *c)
{
    struct sto_camera cur;
    int rc = sto_camera_get(db, c->id, &cur);
    if (rc < 0)
        return rc;
    sto_value p[CAMERA_NCOLS];
    struct sto_camera_input in = *c;
    in.tenant = cur.tenant; /* a camera never changes tenant */
    if (!in.analytics)
        in.analytics = cur.analytics; /* NULL keeps the row's */
    struct sealed_urls sealed = {0};
    rc = camera_params(db, &in, &cur, false, now_ms(), p, &sealed);
    if (rc == 0)
        rc = sto_write_access(db, upsert_sql, p, CAMERA_NCOLS);
    sealed_urls_release(&sealed);
    sto_camera_release(&cur);
    return rc;
}

int sto_camera_delete(sto_db *db, const char *id)
{
    struct sto_camera cur;
    int rc = sto_camera_get(db, id, &cur);
    if (rc < 0)
        return rc;
    sto_value p[] = {STO_TEXT_V(id)};
    struct orphan_move m;
    struct sto_stmt st[1 + ORPHAN_NSTMTS] = {{"DELETE FROM cameras WHERE id = $1", p, 1}};
    int64_t now = now_ms();
    orphan_new(&m, id, cur.tenant, now);
    sto_camera_release(&cur);
    orphan_stmts(&m, id, now, &st[1]);
    return sto_write_batch_access(db, st, HORUS_ARRAY_LEN(st));
}

/* Whether the stored URL (its password perhaps sealed) is want_url. */
static bool same_url(const sto_db *db, const char *id, const char *field, const char *have_url,
                     const char *want_url)
{
    char *plain = NULL;
    if (sto_camera_url_open(sto_db_secrets(db), id, field, have_url, &plain) < 0)
        return false; /* rewritten from the file under the current key */
    bool is_same = strcmp(plain ? plain : have_url, want_url ? want_url : "") == 0;
    if (plain)
        explicit_bzero(plain, strlen(plain));
    free(plain);
    return is_same;
}

/* Whether the stored row have already holds what provisioning want would write. */
static bool same_settings(const sto_db *db, const struct sto_camera *have,
                          const struct sto_camera_input *want)
{
    return strcmp(have->name, want->name ? want->name : "") == 0 &&
           same_url(db, have->id, "url", have->url, want->url) &&
           same_url(db, have->id, "sub_url", have->sub_url, want->sub_url) &&
           have->enabled == want->enabled && have->record_enabled == want->record_enabled &&
           have->segment_seconds == want->segment_seconds &&
           have->retention_days == want->retention_days && have->max_bytes == want->max_bytes &&
           strcmp(have->transport, want->transport ? want->transport : "") == 0 &&
           strcmp(have->client, want->client ? want->client : "") == 0 &&
           have->tls_skip_verify == want->tls_skip_verify &&
           strcmp(have->analytics, want->analytics ? want->analytics : "") == 0 &&
           strcmp(have->placement_node, want->placement_node ? want->placement_node : "") == 0 &&
           strcmp(have->placement_labels, want->placement_labels ? want->placement_labels : "") ==
               0 &&
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
    size_t max = (n + cur.n) * (1 + ORPHAN_NSTMTS);
    struct sto_stmt *st = horus_calloc(max ? max : 1, sizeof(*st));
    sto_value(*params)[CAMERA_NCOLS] = horus_calloc(max ? max : 1, sizeof(*params));
    struct orphan_move *moves = horus_calloc(n + cur.n ? n + cur.n : 1, sizeof(*moves));
    struct sealed_urls *sealed = horus_calloc(n ? n : 1, sizeof(*sealed));
    int64_t now = now_ms();
    for (size_t i = 0; i < n; i++) {
        const struct sto_camera_input *want = &cams[i];
        const struct sto_camera *have = NULL;
        for (size_t k = 0; k < cur.n; k++)
            if (strcmp(cur.items[k].id, want->id) == 0)
                have = &cur.items[k];
        if (have && same_settings(db, have, want))
            continue;
        have ? nchange++ : nadd++;
        if (!have) { /* a new id starts empty, as in sto_camera_insert */
            orphan_new(&moves[cur.n + nadd - 1], want->id, NULL, now);
            orphan_stmts(&moves[cur.n + nadd - 1], want->id, now, &st[nst]);
            nst += ORPHAN_NSTMTS;
        }
        rc = camera_params(db, want, have, true, now, params[nst], &sealed[i]);
        if (rc < 0)
            break;
        st[nst] = (struct sto_stmt){upsert_sql, params[nst], CAMERA_NCOLS};
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
        orphan_new(&moves[k], cur.items[k].id, cur.items[k].tenant, now);
        orphan_stmts(&moves[k], cur.items[k].id, now, &st[nst]);
        nst += ORPHAN_NSTMTS;
    }
    if (rc == 0 && nst)
        rc = sto_write_batch_access(db, st, nst);
    for (size_t i = 0; i < n; i++)
        sealed_urls_release(&sealed[i]);
    free(sealed);
    free(moves);
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

/* ---- orphaned recordings ---- */

void sto_orphan_list_free(struct sto_orphan *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) {
        free(list[i].orphan_id);
        free(list[i].camera_id);
        free(list[i].tenant);
    }
    free(list);
}

struct orphan_acc {
    struct sto_orphan *items;
    size_t n, cap;
};

static int orphan_row(const sto_value *c, size_t n, void *arg)
{
    struct orphan_acc *acc = arg;
    if (n < 8)
        return HORUS_EDB;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->items = horus_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    struct sto_orphan *o = &acc->items[acc->n++];
    o->orphan_id = sto_col_text(&c[0]);
    o->camera_id = sto_col_text(&c[1]);
    o->deleted_at_ms = sto_col_int(&c[2]);
    o->count = (uint64_t)sto_col_int(&c[3]);
    o->bytes = (uint64_t)sto_col_int(&c[4]);
    o->start_us = sto_col_int(&c[5]);
    o->end_us = sto_col_int(&c[6]);
    o->tenant = sto_col_text(&c[7]);
    return 0;
}

int sto_orphan_list(sto_db *db, size_t limit, struct sto_orphan **out, size_t *n)
{
    struct orphan_acc acc = {0};
    sto_value p[] = {STO_INT_V((int64_t)limit)};
    /* CAST: PostgreSQL sums BIGINT into NUMERIC (storage_backend.h, Aggregates). */
    int rc = sto_read(db,
                      "SELECT o.orphan_id, o.camera_id, o.deleted_at_ms, COUNT(r.start_us),"
                      " CAST(COALESCE(SUM(r.bytes), 0) AS BIGINT), COALESCE(MIN(r.start_us), 0),"
                      " COALESCE(MAX(r.end_us), 0), o.tenant FROM camera_orphans o LEFT JOIN"
                      " recordings r ON r.camera_id = o.orphan_id GROUP BY o.orphan_id,"
                      " o.camera_id, o.deleted_at_ms, o.tenant ORDER BY o.deleted_at_ms,"
                      " o.orphan_id LIMIT $1",
                      p, 1, orphan_row, &acc);
    if (rc < 0) {
        sto_orphan_list_free(acc.items, acc.n);
        return rc;
    }
    *out = acc.items;
    *n = acc.n;
    return 0;
}

int sto_orphan_delete_if_empty(sto_db *db, const char *orphan_id)
{
    sto_value p[] = {STO_TEXT_V(orphan_id)};
    return sto_write_access(
        db,
        "DELETE FROM camera_orphans WHERE orphan_id = $1 AND NOT EXISTS (SELECT 1"
        " FROM recordings WHERE camera_id = $1)",
        p, 1);
}

struct next_id {
    char *id; /* owned; NULL when no row follows */
    bool is_stray;
};

static int next_id_row(const sto_value *c, size_t n, void *arg)
{
    struct next_id *next = arg;
    if (n < 2)
        return HORUS_EDB;
    next->id = sto_col_text(&c[0]);
    next->is_stray = sto_col_int(&c[1]) == 0;
    return 0;
}

int sto_orphans_collect(sto_db *db, int64_t now_ms, size_t *moved)
{
    *moved = 0;
    char *after = horus_strdup("");
    int rc = 0;
    /*
     * One index seek per distinct camera id (the primary key starts with
     * it), not a scan of every row: ids are cameras and orphan groups.
     */
    while (rc == 0 && *moved < 100) {
        struct next_id next = {0};
        sto_value p[] = {STO_TEXT_V(after)};
        rc = sto_read(db,
                      "SELECT camera_id, (SELECT COUNT(*) FROM cameras WHERE id = r.camera_id) +"
                      " (SELECT COUNT(*) FROM camera_orphans WHERE orphan_id = r.camera_id) FROM"
                      " recordings r WHERE camera_id > $1 ORDER BY camera_id LIMIT 1",
                      p, 1, next_id_row, &next);
        if (rc < 0 || !next.id) {
            free(next.id);
            break;
        }
        free(after);
        after = next.id;
        if (!next.is_stray)
            continue;
        struct orphan_move m;
        struct sto_stmt st[ORPHAN_NSTMTS];
        rc = orphan_for_strays(db, &m, after, now_ms);
        if (rc < 0)
            break;
        orphan_stmts(&m, after, now_ms, st);
        rc = sto_write_batch_access(db, st, ORPHAN_NSTMTS);
        if (rc == 0)
            (*moved)++;
    }
    free(after);
    return rc;
}

struct count_arg {
    uint64_t n;
};

static int adopt_count_row(const sto_value *c, size_t n, void *arg)
{
    struct count_arg *a = arg;
    a->n = n > 0 ? (uint64_t)sto_col_int(&c[0]) : 0;
    return 0;
}

/* Adoption stays within the camera's tenant: another tenant's deleted camera is not its past. */
#define ADOPT_TENANT "COALESCE((SELECT c.tenant FROM cameras c WHERE c.id = $1), '')"

int sto_camera_adopt(sto_db *db, const char *id, uint64_t *adopted)
{
    struct count_arg count = {0};
    sto_value p[] = {STO_TEXT_V(id)};
    int rc = sto_read(db,
                      "SELECT COUNT(*) FROM recordings WHERE camera_id IN (SELECT orphan_id FROM"
                      " camera_orphans WHERE camera_id = $1 AND tenant = " ADOPT_TENANT ")",
                      p, 1, adopt_count_row, &count);
    if (rc < 0)
        return rc;
    struct sto_stmt st[] = {
        {"UPDATE recordings SET camera_id = $1 WHERE camera_id IN (SELECT orphan_id FROM"
         " camera_orphans WHERE camera_id = $1 AND tenant = " ADOPT_TENANT ")",
         p, 1},
        {"UPDATE pins SET camera_id = $1 WHERE camera_id IN (SELECT orphan_id FROM"
         " camera_orphans WHERE camera_id = $1 AND tenant = " ADOPT_TENANT ")",
         p, 1},
        {"DELETE FROM camera_orphans WHERE camera_id = $1 AND tenant = " ADOPT_TENANT, p, 1},
    };
    rc = sto_write_batch_access(db, st, HORUS_ARRAY_LEN(st));
    if (rc == 0 && adopted)
        *adopted = count.n;
    return rc;
}
