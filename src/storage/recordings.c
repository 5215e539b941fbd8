/*
 * DESIGN: the recordings index: one row per closed segment file, with the
 * recorder's compact per-part index in a blob (not one row per fragment:
 * at 250 cameras and 200 ms parts that would be 100 million rows a day).
 * Inserts go through the writer thread, where they batch with every other
 * camera's rows into one transaction.
 *
 * Retention reads candidates oldest first, deletes the files, then deletes
 * their rows in one transaction. A crash between the two leaves rows
 * without files; a crash between a segment's rename and its insert leaves
 * a file without a row. Start-up recovery and `horus check --repair`
 * reconcile both directions.
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REC_COLUMNS                                                                                \
    "camera_id, stream, start_us, end_us, path, bytes, codec, width, height, sha256,"              \
    " pinned_until_us"

void sto_recording_release(struct sto_recording *r)
{
    if (!r)
        return;
    free(r->camera_id);
    free(r->stream);
    free(r->path);
    free(r->codec);
    free(r->sha256);
    free(r->fragments);
    memset(r, 0, sizeof(*r));
}

void sto_recording_list_free(struct sto_recording *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        sto_recording_release(&list[i]);
    free(list);
}

int sto_recording_insert_async(sto_db *db, const struct sto_recording_input *r, sto_done_cb done_cb,
                               void *arg)
{
    sto_value p[] = {
        STO_TEXT_V(r->camera_id),
        STO_TEXT_V(r->stream),
        STO_INT_V(r->start_us),
        STO_INT_V(r->end_us),
        STO_TEXT_V(r->path),
        STO_INT_V((int64_t)r->bytes),
        STO_TEXT_V(r->codec ? r->codec : ""),
        STO_INT_V(r->width),
        STO_INT_V(r->height),
        STO_TEXT_V(r->sha256 ? r->sha256 : ""),
        STO_INT_V(r->pinned_until_us),
        r->fragments ? STO_BLOB_V(r->fragments, r->fragments_size) : STO_NULL_V,
        STO_TEXT_V(sto_db_node(db)),
    };
#define INSERT_ROW                                                                                 \
    "INSERT INTO recordings(" REC_COLUMNS ", fragments, node_id) VALUES ($1, $2, $3, $4, $5, $6,"  \
    " $7, $8, $9, $10, $11, $12, $13) ON CONFLICT(camera_id, stream, start_us) DO "
    /* The same file again (a replay, a re-close): updated, or kept with keep_existing. */
    const char *sql = r->keep_existing ? INSERT_ROW "NOTHING"
                                       : INSERT_ROW
                          "UPDATE SET end_us = excluded.end_us,"
                          " path = excluded.path, bytes = excluded.bytes,"
                          " codec = excluded.codec, width = excluded.width,"
                          " height = excluded.height, sha256 = excluded.sha256,"
                          " fragments = excluded.fragments WHERE recordings.path = excluded.path";
    /*
     * Another file already holds this start: the key is moved 1 µs past the
     * rows within NUDGE_US of it, so that both files stay indexed (horus
     * check reports the overlap) instead of one row re-pointed or dropped.
     * Skipped when the first statement stored the row, or a replay finds
     * its own earlier nudged row.
     */
#define NUDGE_US "1000"
    static const char nudge[] =
        "INSERT INTO recordings(" REC_COLUMNS ", fragments, node_id) SELECT CAST($1 AS TEXT),"
        " CAST($2 AS TEXT), (SELECT MAX(start_us) + 1 FROM recordings WHERE camera_id = $1"
        " AND stream = $2 AND start_us >= $3 AND start_us < CAST($3 AS BIGINT) + " NUDGE_US "),"
        " CAST($4 AS BIGINT), CAST($5 AS TEXT), CAST($6 AS BIGINT), CAST($7 AS TEXT),"
        " CAST($8 AS INTEGER), CAST($9 AS INTEGER), CAST($10 AS TEXT), CAST($11 AS BIGINT), $12,"
        " CAST($13 AS TEXT)"
        " WHERE NOT EXISTS (SELECT 1 FROM recordings WHERE camera_id = $1 AND stream = $2"
        " AND start_us >= $3 AND start_us < CAST($3 AS BIGINT) + " NUDGE_US " AND path = $5)";
    /* The same file again at its nudged key: updated like the first statement does. */
    static const char renew[] =
        "UPDATE recordings SET end_us = $4, bytes = $6, codec = $7, width = $8, height = $9,"
        " sha256 = $10, fragments = $12, pinned_until_us = CASE WHEN pinned_until_us < $11"
        " THEN $11 ELSE pinned_until_us END WHERE camera_id = $1 AND stream = $2 AND start_us > $3"
        " AND start_us < CAST($3 AS BIGINT) + " NUDGE_US " AND path = $5";
    /*
     * Fencing (docs/design/0066): the row goes in while this node holds the
     * camera's lease with the token it recorded under, or when the segment
     * ended before the present holder took the lease (footage of this
     * node's own tenure, held back by an outage). The no-op UPDATE (not a
     * SELECT) locks the lease row in PostgreSQL until the batch commits, so
     * a claim by another node waits rather than slipping in between the
     * check and the insert; SQLite's write lock does the same.
     */
    static const char guard[] =
        "UPDATE camera_leases SET token = token WHERE camera_id = $1 AND ((node_id = $2"
        " AND token = $3) OR since_ms * 1000 >= $4) RETURNING token";
    sto_value g[] = {STO_TEXT_V(r->camera_id), STO_TEXT_V(r->lease_node ? r->lease_node : ""),
                     STO_INT_V(r->lease_token), STO_INT_V(r->end_us)};
    /* Retried while the database is locked or full: the row of a closed segment must land. */
    struct sto_stmt st[] = {{guard, g, HORUS_ARRAY_LEN(g)},
                            {sql, p, HORUS_ARRAY_LEN(p)},
                            {nudge, p, HORUS_ARRAY_LEN(p)},
                            {renew, p, HORUS_ARRAY_LEN(p) - 1}}; /* all but node_id ($13) */
    size_t n = r->keep_existing ? 3 : 4;
    if (r->lease_token)
        return sto_write_guarded_retried_async(db, HORUS_EFENCED, st, n, done_cb, arg);
    return sto_write_batch_retried_async(db, st + 1, n - 1, done_cb, arg);
}

static int latest_row(const sto_value *c, size_t n, void *arg)
{
    if (n < 1 || c[0].type != STO_INT)
        return 0;
    *(int64_t *)arg = c[0].i;
    return 1;
}

int sto_recording_latest(sto_db *db, const char *camera_id, const char *stream, int64_t *start_us)
{
    sto_value p[] = {STO_TEXT_V(camera_id), STO_TEXT_V(stream)};
    int rc = sto_read(db,
                      "SELECT start_us FROM recordings WHERE camera_id = $1 AND stream = $2"
                      " ORDER BY start_us DESC LIMIT 1",
                      p, 2, latest_row, start_us);
    return rc == 1 ? 0 : rc < 0 ? rc : -ENOENT;
}

/* Decodes one row of REC_COLUMNS (and fragments, when n > 11) into *r (new strings). */
static void row_to_recording(const sto_value *c, size_t n, struct sto_recording *r)
{
    memset(r, 0, sizeof(*r));
    r->camera_id = sto_col_text(&c[0]);
    r->stream = sto_col_text(&c[1]);
    r->start_us = sto_col_int(&c[2]);
    r->end_us = sto_col_int(&c[3]);
    r->path = sto_col_text(&c[4]);
    r->bytes = (uint64_t)sto_col_int(&c[5]);
    r->codec = sto_col_text(&c[6]);
    r->width = sto_col_int(&c[7]);
    r->height = sto_col_int(&c[8]);
    r->sha256 = sto_col_text(&c[9]);
    r->pinned_until_us = sto_col_int(&c[10]);
    if (n > 11 && c[11].type == STO_BLOB && c[11].len) {
        r->fragments = horus_malloc(c[11].len);
        memcpy(r->fragments, c[11].blob, c[11].len);
        r->fragments_size = c[11].len;
    }
}

static void rec_decode(const struct sto_list_kind *kind, const sto_value *c, size_t n, void *item)
{
    (void)kind;
    row_to_recording(c, n, item);
}

static void rec_release(const struct sto_list_kind *kind, void *item)
{
    (void)kind;
    sto_recording_release(item);
}

static const struct sto_list_kind REC_LIST = {.size = sizeof(struct sto_recording),
                                              .min_cols = 11,
                                              .decode = rec_decode,
                                              .release = rec_release};

static int run_list(sto_db *db, const char *sql, const sto_value *p, size_t np,
                    struct sto_recording **out, size_t *n)
{
    return sto_read_list(db, sql, p, np, &REC_LIST, (void **)out, n);
}

static int node_row(const sto_value *cols, size_t n, void *arg)
{
    if (n < 1)
        return HORUS_EDB;
    *(char **)arg = sto_col_text(&cols[0]);
    return 1;
}

int sto_recording_node(sto_db *db, const char *camera_id, const char *stream, int64_t start_us,
                       char **node_id)
{
    *node_id = NULL;
    sto_value p[] = {STO_TEXT_V(camera_id), STO_TEXT_V(stream), STO_INT_V(start_us)};
    int rc = sto_read(db,
                      "SELECT node_id FROM recordings WHERE camera_id = $1 AND stream = $2 AND"
                      " start_us = $3",
                      p, 3, node_row, node_id);
    if (rc < 0) {
        free(*node_id);
        *node_id = NULL;
        return rc;
    }
    return *node_id ? 0 : -ENOENT;
}

int sto_recordings_range(sto_db *db, const char *camera_id, const char *stream, int64_t from_us,
                         int64_t to_us, size_t limit, struct sto_recording **out, size_t *n)
{
    sto_value p[] = {STO_TEXT_V(camera_id), STO_TEXT_V(stream), STO_INT_V(from_us),
                     STO_INT_V(to_us), STO_INT_V((int64_t)limit)};
    return run_list(db,
                    "SELECT " REC_COLUMNS ", fragments FROM recordings WHERE camera_id = $1 AND"
                    " stream = $2 AND end_us > $3 AND start_us < $4 ORDER BY start_us LIMIT $5",
                    p, 5, out, n);
}

/*
 * A row is pinned by an event (pinned_until_us) or by a pin of the pins
 * table that covers part of it; $2 is now.
 */
#define PIN_COVERS                                                                                 \
    "EXISTS (SELECT 1 FROM pins p WHERE p.camera_id = recordings.camera_id AND"                    \
    " p.stream = recordings.stream AND p.start_us < recordings.end_us AND"                         \
    " p.end_us > recordings.start_us AND (p.until_us = 0 OR p.until_us > $2))"

/*
 * Retention's and horus check's rows: those of this node's files and those
 * of no known node, or every row when the node is not known ($N = '').
 */
#define OWN_ROWS(n) " AND ($" #n " = '' OR node_id = $" #n " OR node_id = '')"

int sto_recordings_range_own(sto_db *db, const char *camera_id, const char *stream, int64_t from_us,
                             int64_t to_us, size_t limit, struct sto_recording **out, size_t *n)
{
    sto_value p[] = {STO_TEXT_V(camera_id), STO_TEXT_V(stream),        STO_INT_V(from_us),
                     STO_INT_V(to_us),      STO_INT_V((int64_t)limit), STO_TEXT_V(sto_db_node(db))};
    return run_list(
        db,
        "SELECT " REC_COLUMNS ", fragments FROM recordings WHERE camera_id = $1 AND"
        " stream = $2 AND end_us > $3 AND start_us < $4" OWN_ROWS(6) " ORDER BY start_us LIMIT $5",
        p, 6, out, n);
}

int sto_recordings_oldest(sto_db *db, const char *camera_id, int64_t before_us, int64_t now_us,
                          size_t limit, struct sto_recording **out, size_t *n)
{
    sto_value p[] = {STO_INT_V(before_us), STO_INT_V(now_us), STO_INT_V((int64_t)limit),
                     STO_TEXT_V(sto_db_node(db)), STO_TEXT_V(camera_id ? camera_id : "")};
    /* Only the camera query uses $5, so the other binds the first four. */
    if (camera_id)
        return run_list(db,
                        "SELECT " REC_COLUMNS " FROM recordings WHERE end_us < $1 AND"
                        " pinned_until_us <= $2 AND camera_id = $5" OWN_ROWS(
                            4) " AND NOT " PIN_COVERS " ORDER BY start_us LIMIT $3",
                        p, 5, out, n);
    return run_list(db,
                    "SELECT " REC_COLUMNS " FROM recordings WHERE end_us < $1 AND"
                    " pinned_until_us <= $2" OWN_ROWS(4) " AND NOT " PIN_COVERS
                                                         " ORDER BY start_us LIMIT $3",
                    p, 4, out, n);
}

int sto_recordings_oldest_pinned(sto_db *db, int64_t now_us, size_t limit,
                                 struct sto_recording **out, size_t *n)
{
    sto_value p[] = {STO_INT_V(INT64_MAX), STO_INT_V(now_us), STO_INT_V((int64_t)limit),
                     STO_TEXT_V(sto_db_node(db))};
    return run_list(db,
                    "SELECT " REC_COLUMNS " FROM recordings WHERE end_us < $1" OWN_ROWS(
                        4) " AND (pinned_until_us > $2 OR " PIN_COVERS
                           ") ORDER BY start_us LIMIT $3",
                    p, 4, out, n);
}

struct usage {
    uint64_t bytes, count;
};

static int usage_row(const sto_value *c, size_t n, void *arg)
{
    struct usage *u = arg;
    u->bytes = n > 0 && c[0].type == STO_INT ? (uint64_t)c[0].i : 0;
    u->count = n > 1 && c[1].type == STO_INT ? (uint64_t)c[1].i : 0;
    return 0;
}

int sto_recordings_usage(sto_db *db, const char *camera_id, uint64_t *bytes, uint64_t *count)
{
    struct usage u = {0};
    sto_value p[] = {STO_TEXT_V(sto_db_node(db)), STO_TEXT_V(camera_id ? camera_id : "")};
    /* CAST: PostgreSQL sums BIGINT into NUMERIC (storage_backend.h, Aggregates). */
    int rc = camera_id ? sto_read(db,
                                  "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT), COUNT(*)"
                                  " FROM recordings WHERE camera_id = $2" OWN_ROWS(1),
                                  p, 2, usage_row, &u)
                       : sto_read(db,
                                  "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT), COUNT(*)"
                                  " FROM recordings WHERE 1 = 1" OWN_ROWS(1),
                                  p, 1, usage_row, &u);
    if (rc == 0) {
        *bytes = u.bytes;
        *count = u.count;
    }
    return rc;
}

static void camera_usage_decode(const struct sto_list_kind *k, const sto_value *c, size_t ncols,
                                void *item)
{
    (void)k;
    (void)ncols;
    struct sto_camera_usage *u = item;
    u->camera_id = sto_col_text(&c[0]);
    u->bytes = (uint64_t)sto_col_int(&c[1]);
    u->segments = (uint64_t)sto_col_int(&c[2]);
    u->oldest_us = sto_col_int(&c[3]);
    u->newest_us = sto_col_int(&c[4]);
    u->recent_bytes = (uint64_t)sto_col_int(&c[5]);
}

static void camera_usage_release(const struct sto_list_kind *k, void *item)
{
    (void)k;
    free(((struct sto_camera_usage *)item)->camera_id);
}

static const struct sto_list_kind CAMERA_USAGE = {sizeof(struct sto_camera_usage), 6,
                                                  camera_usage_decode, camera_usage_release, NULL};

void sto_camera_usage_list_free(struct sto_camera_usage *list, size_t n)
{
    sto_list_free(&CAMERA_USAGE, list, n);
}

int sto_camera_usage_list(sto_db *db, int64_t since_us, struct sto_camera_usage **out, size_t *n)
{
    sto_value p[] = {STO_INT_V(since_us)};
    /* GROUP BY the primary key's first column: one pass in index order, no sort. */
    return sto_read_list_replica(
        db,
        "SELECT camera_id, CAST(COALESCE(SUM(bytes), 0) AS BIGINT), COUNT(*),"
        " COALESCE(MIN(start_us), 0), COALESCE(MAX(end_us), 0),"
        " CAST(COALESCE(SUM(CASE WHEN start_us >= $1 THEN bytes ELSE 0 END), 0) AS BIGINT)"
        " FROM recordings GROUP BY camera_id ORDER BY camera_id",
        p, 1, &CAMERA_USAGE, (void **)out, n);
}

int sto_recordings_range_bytes(sto_db *db, const char *camera_id, const char *stream,
                               int64_t from_us, int64_t to_us, uint64_t *bytes)
{
    struct usage u = {0};
    sto_value p[] = {STO_TEXT_V(camera_id), STO_TEXT_V(stream), STO_INT_V(from_us),
                     STO_INT_V(to_us)};
    int rc = sto_read(db,
                      "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT), COUNT(*) FROM recordings"
                      " WHERE camera_id = $1 AND stream = $2 AND end_us > $3 AND start_us < $4",
                      p, 4, usage_row, &u);
    if (rc == 0)
        *bytes = u.bytes;
    return rc;
}

int sto_recordings_delete(sto_db *db, const struct sto_recording *list, size_t n)
{
    if (n == 0)
        return 0;
    struct sto_stmt *st = horus_calloc(n, sizeof(*st));
    sto_value(*p)[3] = horus_calloc(n, sizeof(*p));
    for (size_t i = 0; i < n; i++) {
        p[i][0] = STO_TEXT_V(list[i].camera_id);
        p[i][1] = STO_TEXT_V(list[i].stream);
        p[i][2] = STO_INT_V(list[i].start_us);
        st[i] = (struct sto_stmt){
            "DELETE FROM recordings WHERE camera_id = $1 AND stream = $2 AND start_us = $3", p[i],
            3};
    }
    int rc = sto_write_batch(db, st, n);
    free(st);
    free(p);
    return rc;
}

int sto_recording_delete(sto_db *db, const char *camera_id, const char *stream, int64_t start_us)
{
    sto_value p[] = {STO_TEXT_V(camera_id), STO_TEXT_V(stream), STO_INT_V(start_us)};
    return sto_write(
        db, "DELETE FROM recordings WHERE camera_id = $1 AND stream = $2 AND start_us = $3", p, 3);
}

struct foreach_arg {
    sto_recording_cb cb;
    void *arg;
};

/* Hands one decoded row to the caller's callback; the row lives for the call only. */
static int foreach_row(const sto_value *c, size_t n, void *arg)
{
    struct foreach_arg *fa = arg;
    if (n < 11)
        return HORUS_EDB;
    struct sto_recording r;
    row_to_recording(c, n, &r);
    int rc = fa->cb(fa->arg, &r);
    sto_recording_release(&r);
    return rc;
}

int sto_recordings_foreach(sto_db *db, sto_recording_cb cb, void *arg)
{
    struct foreach_arg fa = {cb, arg};
    sto_value p[] = {STO_TEXT_V(sto_db_node(db))};
    return sto_read(
        db, "SELECT " REC_COLUMNS " FROM recordings WHERE 1 = 1" OWN_ROWS(1) " ORDER BY path", p, 1,
        foreach_row, &fa);
}

/*
 * Rows overlapping [$3, $4) through the primary key only: the subquery
 * seeks the last start at or before $3 (a reverse search on the key),
 * the outer query scans the key from there to $4. Both are bounded by
 * the answer, not by the history (see the EXPLAIN QUERY PLAN test).
 */
#define SEEK_WHERE                                                                                 \
    " FROM recordings WHERE camera_id = $1 AND stream = $2 AND start_us >= COALESCE((SELECT"       \
    " start_us FROM recordings WHERE camera_id = $1 AND stream = $2 AND start_us <= $3 ORDER BY"   \
    " start_us DESC LIMIT 1), $3) AND start_us < $4 AND end_us > $3 ORDER BY start_us"

int sto_recordings_seek(sto_db *db, const char *camera_id, const char *stream, int64_t from_us,
                        int64_t to_us, size_t limit, bool with_fragments,
                        struct sto_recording **out, size_t *n)
{
    sto_value p[] = {STO_TEXT_V(camera_id), STO_TEXT_V(stream), STO_INT_V(from_us),
                     STO_INT_V(to_us), STO_INT_V((int64_t)(limit > INT64_MAX ? INT64_MAX : limit))};
    /* Playback playlists: a browsing read (storage_int.h), the replica may answer. */
    if (with_fragments)
        return sto_read_list_replica(db, "SELECT " REC_COLUMNS ", fragments" SEEK_WHERE " LIMIT $5",
                                     p, 5, &REC_LIST, (void **)out, n);
    return sto_read_list_replica(db, "SELECT " REC_COLUMNS SEEK_WHERE " LIMIT $5", p, 5, &REC_LIST,
                                 (void **)out, n);
}

const char sto_recordings_times_sql[] = "SELECT start_us, end_us" SEEK_WHERE;

struct times_arg {
    int (*cb)(int64_t start_us, int64_t end_us, void *arg);
    void *arg;
};

static int times_row(const sto_value *c, size_t n, void *arg)
{
    struct times_arg *t = arg;
    if (n < 2 || c[0].type != STO_INT || c[1].type != STO_INT)
        return HORUS_EDB;
    return t->cb(c[0].i, c[1].i, t->arg);
}

int sto_recordings_times(sto_db *db, const char *camera_id, const char *stream, int64_t from_us,
                         int64_t to_us, int (*cb)(int64_t start_us, int64_t end_us, void *arg),
                         void *arg)
{
    sto_value p[] = {STO_TEXT_V(camera_id), STO_TEXT_V(stream), STO_INT_V(from_us),
                     STO_INT_V(to_us)};
    struct times_arg t = {cb, arg};
    return sto_read_replica(db, sto_recordings_times_sql, p, 4, times_row, &t); /* the timeline */
}

int sto_recording_get(sto_db *db, const char *camera_id, const char *stream, int64_t start_us,
                      struct sto_recording *out)
{
    sto_value p[] = {STO_TEXT_V(camera_id), STO_TEXT_V(stream), STO_INT_V(start_us)};
    return sto_read_one(db,
                        "SELECT " REC_COLUMNS ", fragments FROM recordings WHERE camera_id = $1 AND"
                        " stream = $2 AND start_us = $3",
                        p, 3, &REC_LIST, out);
}
