/*
 * DESIGN: the outbox (docs/design/0045-bus-and-outbox.md). Rows are
 * appended on the writer thread ("sto-w"), either alone
 * (sto_outbox_append) or as one more statement of a repository's batch
 * (sto_outbox_stmt: an event row and its messages commit together). The
 * seq of a new row is computed inside the INSERT as one more than the
 * largest seq in the outbox or in any cursor: writes are serial on the
 * writer, so seqs grow by one per append, and since a cursor never passes
 * the head, a seq is not reused even after every row was trimmed (the
 * database makes no ids: storage_backend.h).
 *
 * Consumers read after their cursor from any thread and move it through
 * the writer. Trim deletes what every cursor passed and what is older
 * than the retention, remembering the largest seq it dropped in the
 * reserved cursor "" (not a consumer: it holds no rows back).
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SEQ_NEXT                                                                                   \
    "(SELECT COALESCE(MAX(s), 0) + 1 FROM (SELECT MAX(seq) AS s FROM outbox UNION ALL"             \
    " SELECT MAX(seq) AS s FROM outbox_cursors) AS t)"

static void row_decode(const struct sto_list_kind *kind, const sto_value *c, size_t n, void *item)
{
    (void)kind;
    (void)n;
    struct sto_outbox_row *r = item;
    r->seq = sto_col_int(&c[0]);
    r->kind = sto_col_text(&c[1]);
    r->type = sto_col_text(&c[2]);
    r->camera_id = sto_col_text(&c[3]);
    r->payload = sto_col_text(&c[4]);
    r->created_us = sto_col_int(&c[5]);
}

static void row_release(const struct sto_list_kind *kind, void *item)
{
    (void)kind;
    struct sto_outbox_row *r = item;
    free(r->kind);
    free(r->type);
    free(r->camera_id);
    free(r->payload);
}

static const struct sto_list_kind row_kind = {
    .size = sizeof(struct sto_outbox_row),
    .min_cols = 6,
    .decode = row_decode,
    .release = row_release,
};

void sto_outbox_rows_free(struct sto_outbox_row *rows, size_t n)
{
    sto_list_free(&row_kind, rows, n);
}

static bool input_is_valid(const struct sto_outbox_input *m)
{
    return m && m->kind && m->kind[0] && m->type && m->camera_id && m->payload;
}

struct sto_stmt sto_outbox_stmt(const struct sto_outbox_input *m, int64_t created_us,
                                sto_value params[5])
{
    params[0] = STO_TEXT_V(m->kind);
    params[1] = STO_TEXT_V(m->type);
    params[2] = STO_TEXT_V(m->camera_id);
    params[3] = STO_TEXT_V(m->payload);
    params[4] = STO_INT_V(created_us);
    return (struct sto_stmt){
        "INSERT INTO outbox(seq, kind, type, camera_id, payload, created_us) VALUES (" SEQ_NEXT
        ", $1, $2, $3, $4, $5)",
        params, 5};
}

int sto_outbox_append(sto_db *db, const struct sto_outbox_input *m)
{
    if (!input_is_valid(m))
        return -EINVAL;
    sto_value p[5];
    struct sto_stmt st = sto_outbox_stmt(m, clock_realtime_ms(sto_db_clock(db)) * 1000, p);
    int rc = sto_write_batch(db, &st, 1);
    if (rc == 0)
        sto_outbox_notify(db);
    return rc;
}

int sto_outbox_read(sto_db *db, int64_t after_seq, size_t limit, struct sto_outbox_row **out,
                    size_t *n)
{
    sto_value p[] = {STO_INT_V(after_seq), STO_INT_V((int64_t)limit)};
    return sto_read_list(db,
                         "SELECT seq, kind, type, camera_id, payload, created_us FROM outbox"
                         " WHERE seq > $1 ORDER BY seq LIMIT $2",
                         p, 2, &row_kind, (void **)out, n);
}

static int int_row(const sto_value *c, size_t n, void *arg)
{
    *(int64_t *)arg = n > 0 ? sto_col_int(&c[0]) : 0;
    return 0;
}

int sto_outbox_head(sto_db *db, int64_t *seq)
{
    *seq = 0;
    return sto_read(db,
                    "SELECT COALESCE(MAX(s), 0) FROM (SELECT MAX(seq) AS s FROM outbox"
                    " UNION ALL SELECT MAX(seq) AS s FROM outbox_cursors) AS t",
                    NULL, 0, int_row, seq);
}

int sto_outbox_count_after(sto_db *db, int64_t after_seq, int64_t *n)
{
    *n = 0;
    sto_value p[] = {STO_INT_V(after_seq)};
    return sto_read(db, "SELECT COUNT(*) FROM outbox WHERE seq > $1", p, 1, int_row, n);
}

struct cursor_arg {
    int64_t seq;
    bool is_found;
};

static int cursor_row(const sto_value *c, size_t n, void *arg)
{
    struct cursor_arg *a = arg;
    if (n > 0) {
        a->seq = sto_col_int(&c[0]);
        a->is_found = true;
    }
    return 0;
}

int sto_outbox_cursor_get(sto_db *db, const char *consumer, int64_t *seq)
{
    struct cursor_arg a = {0};
    sto_value p[] = {STO_TEXT_V(consumer)};
    int rc =
        sto_read(db, "SELECT seq FROM outbox_cursors WHERE consumer = $1", p, 1, cursor_row, &a);
    if (rc < 0)
        return rc;
    if (!a.is_found)
        return -ENOENT;
    *seq = a.seq;
    return 0;
}

int sto_outbox_cursor_set(sto_db *db, const char *consumer, int64_t seq)
{
    if (!consumer || !consumer[0] || seq < 0)
        return -EINVAL;
    sto_value p[] = {STO_TEXT_V(consumer), STO_INT_V(seq),
                     STO_INT_V(clock_realtime_ms(sto_db_clock(db)))};
    return sto_write(db,
                     "INSERT INTO outbox_cursors(consumer, seq, updated_ms) VALUES ($1, $2, $3)"
                     " ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq,"
                     " updated_ms = excluded.updated_ms",
                     p, 3);
}

int sto_outbox_cursor_set_held(sto_db *db, const char *consumer, int64_t seq, const char *node)
{
    if (!node)
        return sto_outbox_cursor_set(db, consumer, seq);
    if (!consumer || !consumer[0] || seq < 0)
        return -EINVAL;
    sto_value p[] = {STO_TEXT_V(consumer), STO_INT_V(seq),
                     STO_INT_V(clock_realtime_ms(sto_db_clock(db))), STO_TEXT_V(node)};
    return sto_write(db,
                     "UPDATE outbox_cursors SET seq = $2, updated_ms = $3 WHERE consumer = $1"
                     " AND (holder = $4 OR holder = '')",
                     p, 4);
}

static int holder_row(const sto_value *c, size_t n, void *arg)
{
    if (n < 1)
        return HORUS_EDB;
    *(char **)arg = sto_col_text(&c[0]);
    return 1;
}

int sto_outbox_consumer_claim(sto_db *db, const char *consumer, const char *node, int64_t now_ms,
                              int64_t until_ms)
{
    sto_value p[] = {STO_TEXT_V(consumer), STO_TEXT_V(node), STO_INT_V(until_ms),
                     STO_INT_V(now_ms)};
    int rc = sto_write(db,
                       "UPDATE outbox_cursors SET holder = $2, holder_until_ms = $3"
                       " WHERE consumer = $1 AND (holder = $2 OR holder = ''"
                       " OR holder_until_ms < $4)",
                       p, 4);
    if (rc < 0)
        return rc;
    char *holder = NULL;
    rc = sto_read(db, "SELECT holder FROM outbox_cursors WHERE consumer = $1", p, 1, holder_row,
                  &holder);
    if (rc >= 0)
        rc = !holder ? -ENOENT : strcmp(holder, node) == 0 ? 0 : -EBUSY;
    free(holder);
    return rc;
}

int sto_outbox_consumer_release(sto_db *db, const char *consumer, const char *node)
{
    sto_value p[] = {STO_TEXT_V(consumer), STO_TEXT_V(node)};
    return sto_write(db,
                     "UPDATE outbox_cursors SET holder = '', holder_until_ms = 0"
                     " WHERE consumer = $1 AND holder = $2",
                     p, 2);
}

int sto_outbox_cursor_open(sto_db *db, const char *consumer, int64_t *seq)
{
    int rc = sto_outbox_cursor_get(db, consumer, seq);
    if (rc != -ENOENT)
        return rc;
    /* Rows appended after this read get a larger seq: the new consumer delivers them. */
    rc = sto_outbox_head(db, seq);
    if (rc == 0)
        rc = sto_outbox_cursor_set(db, consumer, *seq);
    return rc;
}

/* The rows every cursor has passed (all of them when no consumer has a cursor). */
#define PASSED                                                                                     \
    "seq <= (SELECT COALESCE(MIN(seq), 9223372036854775807) FROM outbox_cursors"                   \
    " WHERE consumer <> '')"

int sto_outbox_trim(sto_db *db, int64_t older_than_us, struct sto_outbox_trim *out)
{
    *out = (struct sto_outbox_trim){0};
    /* The counts come from a reader just before: they may lag a concurrent append by a row. */
    int64_t n_passed = 0, n_expired = 0;
    sto_value p[] = {STO_INT_V(older_than_us)};
    int rc = sto_read(db, "SELECT COUNT(*) FROM outbox WHERE " PASSED, NULL, 0, int_row, &n_passed);
    if (rc == 0)
        rc = sto_read(db, "SELECT COUNT(*) FROM outbox WHERE created_us < $1 AND NOT (" PASSED ")",
                      p, 1, int_row, &n_expired);
    if (rc < 0 || (n_passed == 0 && n_expired == 0))
        return rc;
    /*
     * The reserved cursor "" (no consumer can be named so) keeps the largest seq retention
     * dropped, so the next append continues after it: a consumer then sees the gap and
     * counts what it lost, and a seq is never reused.
     */
    sto_value hp[] = {STO_INT_V(older_than_us), STO_INT_V(clock_realtime_ms(sto_db_clock(db)))};
    struct sto_stmt st[] = {
        {"DELETE FROM outbox WHERE " PASSED, NULL, 0},
        {"INSERT INTO outbox_cursors(consumer, seq, updated_ms) SELECT '', MAX(seq), $2"
         " FROM outbox WHERE created_us < $1 HAVING COUNT(*) > 0"
         " ON CONFLICT (consumer) DO UPDATE SET seq = CASE WHEN excluded.seq >"
         " outbox_cursors.seq THEN excluded.seq ELSE outbox_cursors.seq END,"
         " updated_ms = excluded.updated_ms",
         hp, 2},
        {"DELETE FROM outbox WHERE created_us < $1", p, 1},
    };
    rc = sto_write_batch(db, st, HORUS_ARRAY_LEN(st));
    if (rc == 0) {
        out->delivered = (size_t)n_passed;
        out->expired = (size_t)n_expired;
    }
    return rc;
}
