/*
 * DESIGN: detection rows (docs/design/0046-detections-ingest.md). A batch
 * posted to POST /api/v1/detections is one computed write on the writer
 * thread: it takes the largest id, then inserts every row with one
 * statement text (the backend keeps it prepared) inside the write's
 * savepoint, so the batch is stored whole or not at all and shares its
 * transaction, and its fsync, with every other write queued beside it
 * (group commit). The caller hears the outcome from done_cb after the
 * COMMIT. While a bus or a webhook reads the outbox, each row also
 * appends its message there in the same savepoint (kind "detection"), so
 * a stored detection is published at least once and a refused batch
 * publishes nothing. Reads page newest first on (time_us, id); the
 * retention job deletes the oldest rows in bounded batches.
 */
#include "storage_int.h"

#include "clock.h"
#include "err.h"
#include "mem.h"

#include <jansson.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DET_COLUMNS                                                                                \
    "d.id, d.camera_id, d.time_us, d.label, d.score, d.x0, d.y0, d.x1, d.y1, d.track_id,"          \
    " d.attributes, d.received_us, d.source, COALESCE((SELECT c.tenant FROM cameras c WHERE"       \
    " c.id = d.camera_id), '')"
#define DET_NCOLS 14

#define DET_INSERT_COLUMNS 13
#define DET_INSERT_HEAD                                                                            \
    "INSERT INTO detections(id, camera_id, time_us, label, score, x0, y0, x1, y1, track_id,"       \
    " attributes, received_us, source) VALUES "

/*
 * Rows per INSERT: a batch goes in statements of 64 rows, then of the
 * powers of two below for the rest (50 rows: 32 + 16 + 2), so a database
 * round trip carries many rows (PostgreSQL: one statement per row cost a
 * round trip each, 7,000 rows/s) while the statement texts stay seven
 * (both backends keep them prepared).
 */
static const size_t det_chunks[] = {64, 32, 16, 8, 4, 2, 1};

/* Writes the INSERT of rows rows into buf (64 rows: about 4.5 KB). */
static void det_insert_sql(char *buf, size_t size, size_t rows)
{
    size_t len = (size_t)snprintf(buf, size, "%s", DET_INSERT_HEAD);
    for (size_t r = 0; r < rows && len < size; r++) {
        len += (size_t)snprintf(buf + len, size - len, "%s(", r ? ", " : "");
        for (size_t c = 0; c < DET_INSERT_COLUMNS && len < size; c++)
            len += (size_t)snprintf(buf + len, size - len, "%s$%zu", c ? ", " : "",
                                    r * DET_INSERT_COLUMNS + c + 1);
        if (len < size)
            len += (size_t)snprintf(buf + len, size - len, ")");
    }
}

/* A queued batch: its rows and every string they point to, copied. */
struct insert_op {
    struct sto_detection_input *rows; /* owned; strings point into arena */
    size_t n;
    char *source; /* owned */
    int64_t received_us;
    char *arena; /* owned */
    sto_done_cb done_cb;
    void *arg;
    sto_db *db; /* to tell the outbox watcher after the commit */
    bool has_outbox; /* a bus or webhook reads the outbox: each row also appends a message */
    char *key; /* owned: the Idempotency-Key, or NULL */
    char *body_hash; /* owned, with key */
    int64_t key_since_us;
    struct sto_detection_key_result *res; /* the caller's, with key */
};

static void insert_op_free(struct insert_op *op)
{
    free(op->rows);
    free(op->source);
    free(op->arena);
    free(op->key);
    free(op->body_hash);
    free(op);
}

static int max_id_row(const sto_value *c, size_t n, void *arg)
{
    *(int64_t *)arg = n > 0 ? sto_col_int(&c[0]) : 0;
    return 0;
}

/*
 * Appends row r (numbered id) to the outbox inside the batch's savepoint:
 * {"type":"detection","id","camera","time","label","score","box",
 * "track_id","attributes"}, routed as kind "detection" (docs/design/0045).
 */
static int outbox_append(const struct sto_backend *be, sto_conn *conn, const struct insert_op *op,
                         const struct sto_detection_input *r, int64_t id)
{
    char when[40];
    clock_format_rfc3339_ms(r->time_us / 1000, when, sizeof(when));
    json_t *attrs = json_loads(r->attributes ? r->attributes : "{}", 0, NULL);
    json_t *j =
        json_pack("{s:s, s:I, s:s, s:s, s:s, s:f, s:[f, f, f, f], s:o, s:o}", "type", "detection",
                  "id", (json_int_t)id, "camera", r->camera_id, "time", when, "label", r->label,
                  "score", r->score, "box", r->x0, r->y0, r->x1, r->y1, "track_id",
                  r->track_id && r->track_id[0] ? json_string(r->track_id) : json_null(),
                  "attributes", attrs ? attrs : json_object());
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return -ENOMEM;
    sto_value params[5];
    struct sto_stmt st = sto_outbox_stmt(
        &(struct sto_outbox_input){
            .kind = "detection", .type = "detection", .camera_id = r->camera_id, .payload = text},
        op->received_us, params);
    int rc = be->query(conn, st.sql, st.params, st.nparams, NULL, NULL, NULL);
    free(text);
    return rc;
}

struct key_row {
    bool is_found;
    bool is_same_body;
    int64_t stored;
    int64_t created_us;
};

static int key_row_read(const sto_value *c, size_t n, void *arg)
{
    struct key_row *k = arg;
    if (n < 3)
        return -EIO;
    k->is_found = true;
    k->is_same_body = sto_col_int(&c[0]) != 0;
    k->stored = sto_col_int(&c[1]);
    k->created_us = sto_col_int(&c[2]);
    return 0;
}

/*
 * Looks up op's key: returns 1 when the batch must not be stored (*op->res
 * says why), 0 when it must (an expired row is deleted first), or an error.
 */
static int key_check(const struct sto_backend *be, sto_conn *conn, struct insert_op *op)
{
    sto_value p[] = {STO_TEXT_V(op->source), STO_TEXT_V(op->key), STO_TEXT_V(op->body_hash)};
    struct key_row k = {0};
    int rc = be->query(conn,
                       "SELECT CASE WHEN body_hash = $3 THEN 1 ELSE 0 END, stored, created_us"
                       " FROM detection_keys WHERE source = $1 AND key = $2",
                       p, 3, key_row_read, &k, NULL);
    if (rc < 0 || !k.is_found)
        return rc;
    if (k.created_us < op->key_since_us)
        return be->query(conn, "DELETE FROM detection_keys WHERE source = $1 AND key = $2", p, 2,
                         NULL, NULL, NULL);
    op->res->outcome = k.is_same_body ? STO_DET_KEY_REPLAY : STO_DET_KEY_REUSED;
    op->res->stored = k.stored;
    return 1;
}

static int insert_run(const struct sto_backend *be, sto_conn *conn, void *arg)
{
    struct insert_op *op = arg;
    if (op->key) {
        op->res->outcome = STO_DET_KEY_NEW;
        int krc = key_check(be, conn, op);
        if (krc != 0)
            return krc < 0 ? krc : 0;
    }
    int64_t id = 0;
    int rc = be->query(conn, "SELECT COALESCE(MAX(id), 0) FROM detections", NULL, 0, max_id_row,
                       &id, NULL);
    sto_value src = STO_TEXT_V(op->source);
    int64_t first_id = id + 1;
    sto_value *p = horus_malloc(det_chunks[0] * DET_INSERT_COLUMNS * sizeof(*p));
    char *sql = horus_malloc(8192);
    for (size_t i = 0, k = 0; i < op->n && rc == 0; i += det_chunks[k]) {
        while (op->n - i < det_chunks[k])
            k++;
        for (size_t j = 0; j < det_chunks[k]; j++) {
            const struct sto_detection_input *r = &op->rows[i + j];
            sto_value *v = p + j * DET_INSERT_COLUMNS;
            v[0] = STO_INT_V(++id);
            v[1] = STO_TEXT_V(r->camera_id);
            v[2] = STO_INT_V(r->time_us);
            v[3] = STO_TEXT_V(r->label);
            v[4] = STO_REAL_V(r->score);
            v[5] = STO_REAL_V(r->x0);
            v[6] = STO_REAL_V(r->y0);
            v[7] = STO_REAL_V(r->x1);
            v[8] = STO_REAL_V(r->y1);
            v[9] = STO_TEXT_V(r->track_id ? r->track_id : "");
            v[10] = STO_TEXT_V(r->attributes ? r->attributes : "{}");
            v[11] = STO_INT_V(op->received_us);
            v[12] = src;
        }
        det_insert_sql(sql, 8192, det_chunks[k]);
        rc = be->query(conn, sql, p, det_chunks[k] * DET_INSERT_COLUMNS, NULL, NULL, NULL);
    }
    free(sql);
    free(p);
    /* The outbox's copies, in id order, after the rows they announce. */
    for (size_t i = 0; i < op->n && rc == 0 && op->has_outbox; i++)
        rc = outbox_append(be, conn, op, &op->rows[i], first_id + (int64_t)i);
    if (rc == 0 && op->key) {
        sto_value k[] = {STO_TEXT_V(op->source), STO_TEXT_V(op->key), STO_TEXT_V(op->body_hash),
                         STO_INT_V((int64_t)op->n), STO_INT_V(op->received_us)};
        rc = be->query(conn,
                       "INSERT INTO detection_keys(source, key, body_hash, stored, created_us)"
                       " VALUES ($1, $2, $3, $4, $5)",
                       k, HORUS_ARRAY_LEN(k), NULL, NULL, NULL);
    }
    return rc;
}

static void insert_done(int rc, void *arg)
{
    struct insert_op *op = arg;
    if (rc == 0 && op->has_outbox)
        sto_outbox_notify(op->db);
    if (op->done_cb)
        op->done_cb(rc, op->arg);
    insert_op_free(op);
}

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* Copies s into the arena at *p; returns the copy (NULL for NULL). */
static const char *arena_put(char **p, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*p, s, n);
    const char *out = *p;
    *p += n;
    return out;
}

int sto_detections_insert_async(sto_db *db, const struct sto_detection_input *rows, size_t n,
                                const char *source, int64_t received_us, sto_done_cb done_cb,
                                void *arg)
{
    return sto_detections_insert_keyed_async(db, rows, n, source, received_us, NULL, NULL, done_cb,
                                             arg);
}

int sto_detections_insert_keyed_async(sto_db *db, const struct sto_detection_input *rows, size_t n,
                                      const char *source, int64_t received_us,
                                      const struct sto_detection_key *key,
                                      struct sto_detection_key_result *res, sto_done_cb done_cb,
                                      void *arg)
{
    if (n == 0 || !source || (key && (!key->key || !key->body_hash || !res)))
        return -EINVAL;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].camera_id || !rows[i].label)
            return -EINVAL;
        bytes += str_size(rows[i].camera_id) + str_size(rows[i].label) +
                 str_size(rows[i].track_id) + str_size(rows[i].attributes);
    }
    struct insert_op *op = horus_calloc(1, sizeof(*op));
    op->rows = horus_malloc(n * sizeof(*op->rows));
    op->arena = horus_malloc(bytes ? bytes : 1);
    op->n = n;
    op->source = horus_strdup(source);
    op->received_us = received_us;
    op->done_cb = done_cb;
    op->arg = arg;
    op->db = db;
    op->has_outbox = sto_outbox_is_wanted(db);
    if (key) {
        op->key = horus_strdup(key->key);
        op->body_hash = horus_strdup(key->body_hash);
        op->key_since_us = key->since_us;
        op->res = res;
    }
    char *p = op->arena;
    for (size_t i = 0; i < n; i++) {
        op->rows[i] = rows[i];
        op->rows[i].camera_id = arena_put(&p, rows[i].camera_id);
        op->rows[i].label = arena_put(&p, rows[i].label);
        op->rows[i].track_id = arena_put(&p, rows[i].track_id);
        op->rows[i].attributes = arena_put(&p, rows[i].attributes);
    }
    int rc = sto_writer_push_fn(sto_db_writer(db), insert_run, insert_done, op, false);
    if (rc < 0)
        insert_op_free(op);
    return rc;
}

void sto_detection_release(struct sto_detection *d)
{
    if (!d)
        return;
    free(d->camera_id);
    free(d->label);
    free(d->track_id);
    free(d->attributes);
    free(d->source);
    free(d->tenant);
    memset(d, 0, sizeof(*d));
}

static double col_real(const sto_value *v)
{
    return v->type == STO_REAL ? v->d : (double)sto_col_int(v);
}

static void det_decode(const struct sto_list_kind *kind, const sto_value *c, size_t n, void *item)
{
    (void)kind;
    (void)n;
    struct sto_detection *d = item;
    d->id = sto_col_int(&c[0]);
    d->camera_id = sto_col_text(&c[1]);
    d->time_us = sto_col_int(&c[2]);
    d->label = sto_col_text(&c[3]);
    d->score = col_real(&c[4]);
    d->x0 = col_real(&c[5]);
    d->y0 = col_real(&c[6]);
    d->x1 = col_real(&c[7]);
    d->y1 = col_real(&c[8]);
    d->track_id = sto_col_text(&c[9]);
    d->attributes = sto_col_text(&c[10]);
    d->received_us = sto_col_int(&c[11]);
    d->source = sto_col_text(&c[12]);
    d->tenant = sto_col_text(&c[13]);
}

static void det_release_item(const struct sto_list_kind *kind, void *item)
{
    (void)kind;
    sto_detection_release(item);
}

static const struct sto_list_kind det_kind = {
    .size = sizeof(struct sto_detection),
    .min_cols = DET_NCOLS,
    .decode = det_decode,
    .release = det_release_item,
};

void sto_detection_list_free(struct sto_detection *list, size_t n)
{
    sto_list_free(&det_kind, list, n);
}

/* Appends s to buf at *len (buf is sized for every clause, so nothing is cut). */
static void append(char *buf, size_t size, size_t *len, const char *s)
{
    int w = snprintf(buf + *len, size - *len, "%s", s);
    if (w > 0)
        *len += (size_t)w < size - *len ? (size_t)w : size - *len - 1;
}

int sto_detection_list(sto_db *db, const struct sto_detection_filter *f, size_t limit,
                       struct sto_detection **out, size_t *n, bool *has_more)
{
    char sql[1024];
    size_t len = 0;
    sto_value p[8];
    size_t np = 0;
    char clause[160];
    append(sql, sizeof(sql), &len, "SELECT " DET_COLUMNS " FROM detections d WHERE 1 = 1");
#define BIND(fmt, value)                                                                           \
    do {                                                                                           \
        p[np++] = (value);                                                                         \
        snprintf(clause, sizeof(clause), fmt, np);                                                 \
        append(sql, sizeof(sql), &len, clause);                                                    \
    } while (0)
    if (f->camera_id)
        BIND(" AND d.camera_id = $%zu", STO_TEXT_V(f->camera_id));
    if (f->label)
        BIND(" AND d.label = $%zu", STO_TEXT_V(f->label));
    if (f->after_us)
        BIND(" AND d.time_us >= $%zu", STO_INT_V(f->after_us));
    if (f->before_us)
        BIND(" AND d.time_us < $%zu", STO_INT_V(f->before_us));
    if (f->has_cursor) {
        p[np++] = STO_INT_V(f->cursor_time_us);
        p[np++] = STO_INT_V(f->cursor_id);
        snprintf(clause, sizeof(clause),
                 " AND (d.time_us < $%zu OR (d.time_us = $%zu AND d.id < $%zu))", np - 1, np - 1,
                 np);
        append(sql, sizeof(sql), &len, clause);
    }
    BIND(" ORDER BY d.time_us DESC, d.id DESC LIMIT $%zu", STO_INT_V((int64_t)limit + 1));
#undef BIND
    int rc = sto_read_list_replica(db, sql, p, np, &det_kind, (void **)out, n);
    if (rc < 0)
        return rc;
    *has_more = *n > limit;
    if (*has_more) {
        sto_detection_release(&(*out)[limit]);
        *n = limit;
    }
    return 0;
}

/* A retention batch: the cutoff, the bound, and how many rows went. */
struct prune_op {
    int64_t before_us;
    int64_t keys_before_us;
    int64_t limit;
    size_t deleted;
    sto_detections_pruned_cb done_cb;
    void *arg;
};

static int count_deleted(const sto_value *c, size_t n, void *arg)
{
    (void)c;
    (void)n;
    ((struct prune_op *)arg)->deleted++;
    return 0;
}

static int prune_run(const struct sto_backend *be, sto_conn *conn, void *arg)
{
    struct prune_op *op = arg;
    sto_value p[] = {STO_INT_V(op->before_us), STO_INT_V(op->limit)};
    op->deleted = 0;
    sto_value kp[] = {STO_INT_V(op->keys_before_us)};
    int rc = be->query(conn, "DELETE FROM detection_keys WHERE created_us < $1", kp, 1, NULL, NULL,
                       NULL);
    if (rc < 0)
        return rc;
    return be->query(conn,
                     "DELETE FROM detections WHERE id IN (SELECT id FROM detections"
                     " WHERE time_us < $1 ORDER BY time_us LIMIT $2) RETURNING id",
                     p, 2, count_deleted, op, NULL);
}

static void prune_done(int rc, void *arg)
{
    struct prune_op *op = arg;
    if (op->done_cb)
        op->done_cb(rc, rc == 0 ? op->deleted : 0, op->arg);
    free(op);
}

int sto_detections_prune_async(sto_db *db, int64_t before_us, int64_t keys_before_us, size_t limit,
                               sto_detections_pruned_cb done_cb, void *arg)
{
    if (limit == 0)
        return -EINVAL;
    struct prune_op *op = horus_calloc(1, sizeof(*op));
    *op = (struct prune_op){.before_us = before_us,
                            .keys_before_us = keys_before_us,
                            .limit = (int64_t)limit,
                            .done_cb = done_cb,
                            .arg = arg};
    int rc = sto_writer_push_fn(sto_db_writer(db), prune_run, prune_done, op, false);
    if (rc < 0)
        free(op);
    return rc;
}
