/* Tests for src/storage/recordings.c: insert, ranges, retention queries, usage, delete. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage.h"
#include "sto_fixture.h"
#include "storage_int.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int failures;

static void count_failure(int rc, void *arg)
{
    if (rc < 0)
        atomic_fetch_add(&failures, 1);
}

#define MIN_US (60 * INT64_C(1000000))

/* Inserts a 60 s segment of cam starting at minute m, size bytes, pinned until pin_us. */
static void add(struct sto_fixture *f, const char *cam, int m, uint64_t bytes, int64_t pin_us)
{
    static const uint8_t blob[] = {1, 40, 2, 10, 20, 30};
    char path[64];
    snprintf(path, sizeof(path), "recordings/%s/main/2026-01-01/00-%02d-00.mp4", cam, m);
    struct sto_recording_input r = {.camera_id = cam,
                                    .stream = "main",
                                    .start_us = m * MIN_US,
                                    .end_us = (m + 1) * MIN_US,
                                    .path = path,
                                    .bytes = bytes,
                                    .codec = "avc1.64001f",
                                    .width = 1920,
                                    .height = 1080,
                                    .sha256 = "ab",
                                    .fragments = blob,
                                    .fragments_size = sizeof(blob),
                                    .pinned_until_us = pin_us};
    assert_int_equal(sto_recording_insert_async(f->db, &r, count_failure, NULL), 0);
}

static void barrier(struct sto_fixture *f)
{
    /* A synchronous write queues behind every earlier one. */
    assert_int_equal(sto_setting_put(f->db, "barrier", "1"), 0);
    assert_int_equal(atomic_load(&failures), 0);
}

static void test_range_returns_overlapping_segments_with_their_index_blob(void **state)
{
    struct sto_fixture *f = *state;
    for (int m = 0; m < 5; m++)
        add(f, "a", m, 1000, 0);
    add(f, "b", 2, 1000, 0);
    barrier(f);
    struct sto_recording *list;
    size_t n;
    /* 1:30 .. 3:30 overlaps minutes 1, 2 and 3. */
    assert_int_equal(sto_recordings_range(f->db, "a", "main", 90 * INT64_C(1000000),
                                          210 * INT64_C(1000000), 100, &list, &n),
                     0);
    assert_int_equal(n, 3);
    assert_true(list[0].start_us == MIN_US);
    assert_int_equal(list[2].fragments_size, 6);
    assert_int_equal(list[2].fragments[2], 2);
    assert_string_equal(list[1].codec, "avc1.64001f");
    sto_recording_list_free(list, n);
}

static void test_oldest_skips_pinned_rows_and_filters_by_camera(void **state)
{
    struct sto_fixture *f = *state;
    int64_t now = 100 * MIN_US;
    add(f, "a", 0, 10, now + MIN_US); /* pinned past now */
    add(f, "a", 1, 10, 0);
    add(f, "b", 2, 10, now - 1); /* pin expired */
    add(f, "a", 3, 10, 0);
    barrier(f);
    struct sto_recording *list;
    size_t n;
    assert_int_equal(sto_recordings_oldest(f->db, NULL, INT64_MAX, now, 10, &list, &n), 0);
    assert_int_equal(n, 3);
    assert_true(list[0].start_us == 1 * MIN_US);
    assert_string_equal(list[1].camera_id, "b");
    sto_recording_list_free(list, n);
    assert_int_equal(sto_recordings_oldest(f->db, "a", 3 * MIN_US, now, 10, &list, &n), 0);
    assert_int_equal(n, 1); /* minute 3 ends at 4 min, not before 3 min */
    sto_recording_list_free(list, n);
}

static void test_usage_sums_bytes_and_delete_removes_rows_atomically(void **state)
{
    struct sto_fixture *f = *state;
    add(f, "a", 0, 100, 0);
    add(f, "a", 1, 200, 0);
    add(f, "b", 0, 1000, 0);
    barrier(f);
    uint64_t bytes, count;
    assert_int_equal(sto_recordings_usage(f->db, "a", &bytes, &count), 0);
    assert_true(bytes == 300 && count == 2);
    assert_int_equal(sto_recordings_usage(f->db, NULL, &bytes, &count), 0);
    assert_true(bytes == 1300 && count == 3);
    struct sto_recording *list;
    size_t n;
    assert_int_equal(sto_recordings_oldest(f->db, "a", INT64_MAX, 0, 10, &list, &n), 0);
    assert_int_equal(sto_recordings_delete(f->db, list, n), 0);
    sto_recording_list_free(list, n);
    assert_int_equal(sto_recordings_usage(f->db, "a", &bytes, &count), 0);
    assert_true(bytes == 0 && count == 0);
}

static void test_reinserting_the_same_segment_replaces_it(void **state)
{
    struct sto_fixture *f = *state;
    add(f, "a", 0, 100, 0);
    add(f, "a", 0, 150, 0);
    barrier(f);
    uint64_t bytes, count;
    assert_int_equal(sto_recordings_usage(f->db, "a", &bytes, &count), 0);
    assert_true(bytes == 150 && count == 1);
}

/* Inserts a segment of cam at start_us with its own path (keep: a recovery's insert). */
static void add_file(struct sto_fixture *f, const char *path, int64_t start_us, uint64_t bytes,
                     bool keep)
{
    struct sto_recording_input r = {.camera_id = "a",
                                    .stream = "main",
                                    .start_us = start_us,
                                    .end_us = start_us + MIN_US,
                                    .path = path,
                                    .bytes = bytes,
                                    .codec = "avc1.64001f",
                                    .keep_existing = keep};
    assert_int_equal(sto_recording_insert_async(f->db, &r, count_failure, NULL), 0);
}

static void test_two_files_with_one_start_both_stay_indexed(void **state)
{
    struct sto_fixture *f = *state;
    add_file(f, "x.mp4", MIN_US, 100, false);
    add_file(f, "next.mp4", 2 * MIN_US, 100, false);
    /* A second file at the same instant, closed live and found by recovery: never re-points. */
    add_file(f, "y.mp4", MIN_US, 200, false);
    add_file(f, "z.mp4", MIN_US, 300, true);
    /* Their replays find their own rows, nudged or not, and add nothing. */
    add_file(f, "y.mp4", MIN_US, 250, false);
    add_file(f, "z.mp4", MIN_US, 300, true);
    add_file(f, "x.mp4", MIN_US, 150, false);
    barrier(f);
    struct sto_recording *list;
    size_t n;
    assert_int_equal(sto_recordings_range(f->db, "a", "main", 0, 10 * MIN_US, 100, &list, &n), 0);
    assert_int_equal(n, 4);
    const char *paths[] = {"x.mp4", "y.mp4", "z.mp4", "next.mp4"};
    const int64_t starts[] = {MIN_US, MIN_US + 1, MIN_US + 2, 2 * MIN_US};
    const uint64_t sizes[] = {150, 250, 300, 100};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(list[i].path, paths[i]);
        assert_true(list[i].start_us == starts[i]);
        assert_true(list[i].bytes == sizes[i]);
    }
    sto_recording_list_free(list, n);
}

struct visit {
    int rows;
    int stop_at; /* 0 = never */
    char last_path[64];
};

static int count_rows(void *arg, const struct sto_recording *row)
{
    struct visit *v = arg;
    /* Typed rows, without blobs, in path order. */
    assert_string_equal(row->stream, "main");
    assert_string_equal(row->codec, "avc1.64001f");
    assert_string_equal(row->sha256, "ab");
    assert_true(row->end_us - row->start_us == MIN_US);
    assert_true(row->bytes == 1);
    assert_null(row->fragments);
    assert_true(strcmp(v->last_path, row->path) < 0);
    snprintf(v->last_path, sizeof(v->last_path), "%s", row->path);
    return ++v->rows == v->stop_at ? 42 : 0;
}

static void test_foreach_visits_every_row(void **state)
{
    struct sto_fixture *f = *state;
    for (int m = 0; m < 7; m++)
        add(f, m % 2 ? "a" : "b", m, 1, 0);
    barrier(f);
    struct visit v = {0};
    assert_int_equal(sto_recordings_foreach(f->db, count_rows, &v), 0);
    assert_int_equal(v.rows, 7);
    /* A non-zero return stops the walk and is returned. */
    v = (struct visit){.stop_at = 3};
    assert_int_equal(sto_recordings_foreach(f->db, count_rows, &v), 42);
    assert_int_equal(v.rows, 3);
}

static void test_delete_one_row_by_key(void **state)
{
    struct sto_fixture *f = *state;
    add(f, "a", 0, 1, 0);
    add(f, "a", 1, 1, 0);
    barrier(f);
    assert_int_equal(sto_recording_delete(f->db, "a", "main", 1 * MIN_US), 0);
    /* Already gone: still 0. */
    assert_int_equal(sto_recording_delete(f->db, "a", "main", 1 * MIN_US), 0);
    uint64_t bytes, count;
    assert_int_equal(sto_recordings_usage(f->db, "a", &bytes, &count), 0);
    assert_true(count == 1);
    struct sto_recording r;
    assert_int_equal(sto_recording_get(f->db, "a", "main", 0, &r), 0);
    sto_recording_release(&r);
}

/* ---- seek, times and get: what playback reads ---- */

#define S(x) ((x)*INT64_C(1000000))

static void test_seek_starts_at_the_row_containing_from_and_stops_before_to(void **state)
{
    struct sto_fixture *f = *state;
    for (int m = 0; m < 10; m++)
        if (m != 5) /* a hole from 5:00 to 6:00 */
            add(f, "a", m, 1000, 0);
    add(f, "b", 3, 1000, 0);
    barrier(f);
    struct sto_recording *list;
    size_t n;
    /* 2:30 .. 4:10: minutes 2, 3 and 4, with their blobs. */
    assert_int_equal(sto_recordings_seek(f->db, "a", "main", S(150), S(250), 100, true, &list, &n),
                     0);
    assert_int_equal(n, 3);
    assert_true(list[0].start_us == S(120) && list[2].start_us == S(240));
    assert_int_equal(list[0].fragments_size, 6);
    sto_recording_list_free(list, n);
    /* From inside the hole: the row before it ended already, so 6:00 comes first. */
    assert_int_equal(sto_recordings_seek(f->db, "a", "main", S(310), S(480), 100, false, &list, &n),
                     0);
    assert_int_equal(n, 2);
    assert_true(list[0].start_us == S(360));
    assert_null(list[0].fragments);
    assert_string_equal(list[0].path, "recordings/a/main/2026-01-01/00-06-00.mp4");
    sto_recording_list_free(list, n);
    /* An exact start, the limit, and nothing at all. */
    assert_int_equal(sto_recordings_seek(f->db, "a", "main", S(60), S(600), 2, false, &list, &n),
                     0);
    assert_int_equal(n, 2);
    assert_true(list[0].start_us == S(60));
    sto_recording_list_free(list, n);
    assert_int_equal(sto_recordings_seek(f->db, "a", "main", S(900), S(960), 10, false, &list, &n),
                     0);
    assert_int_equal(n, 0);
    sto_recording_list_free(list, n);
    assert_int_equal(sto_recordings_seek(f->db, "a", "sub", S(0), S(960), 10, false, &list, &n), 0);
    assert_int_equal(n, 0);
    sto_recording_list_free(list, n);
}

struct times_acc {
    int64_t starts[16], ends[16];
    size_t n;
};

static int collect_times(int64_t start_us, int64_t end_us, void *arg)
{
    struct times_acc *t = arg;
    if (t->n == 16)
        return 7;
    t->starts[t->n] = start_us;
    t->ends[t->n++] = end_us;
    return 0;
}

static void test_times_reports_the_same_rows_without_copies(void **state)
{
    struct sto_fixture *f = *state;
    for (int m = 0; m < 30; m++)
        add(f, "a", m, 1000, 0);
    barrier(f);
    struct times_acc t = {0};
    assert_int_equal(sto_recordings_times(f->db, "a", "main", S(90), S(200), collect_times, &t), 0);
    assert_int_equal(t.n, 3);
    assert_true(t.starts[0] == S(60) && t.ends[2] == S(240));
    /* A callback's non-zero return stops the scan and is returned. */
    t.n = 0;
    assert_int_equal(sto_recordings_times(f->db, "a", "main", 0, S(1800), collect_times, &t), 7);
}

static void test_get_finds_one_row_by_its_key(void **state)
{
    struct sto_fixture *f = *state;
    add(f, "a", 7, 1234, 0);
    barrier(f);
    struct sto_recording r;
    assert_int_equal(sto_recording_get(f->db, "a", "main", S(420), &r), 0);
    assert_int_equal(r.bytes, 1234);
    assert_int_equal(r.fragments_size, 6);
    assert_string_equal(r.sha256, "ab");
    sto_recording_release(&r);
    assert_int_equal(sto_recording_get(f->db, "a", "main", S(421), &r), -ENOENT);
    assert_int_equal(sto_recording_get(f->db, "a", "sub", S(420), &r), -ENOENT);
}

static int collect_plan(const sto_value *c, size_t n, void *arg)
{
    char *plan = arg;
    if (n >= 4 && c[3].type == STO_TEXT) {
        strncat(plan, c[3].s, 4095 - strlen(plan));
        strncat(plan, "\n", 4095 - strlen(plan));
    }
    return 0;
}

static void test_seek_uses_only_the_primary_key(void **state)
{
    struct sto_fixture *f = *state;
    for (int m = 0; m < 50; m++)
        add(f, "a", m, 1000, 0);
    barrier(f);
    char sql[2048];
    if (f->schema[0]) {
        /* PostgreSQL: with scans and sorts priced out, the plan must still need neither (50
         * rows would make a sequential scan cheaper, so it is not asked which it prefers). */
        snprintf(sql, sizeof(sql),
                 "SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off;"
                 " PREPARE q(text, text, bigint, bigint) AS %s;"
                 " EXPLAIN (COSTS OFF) EXECUTE q('a', 'main', %lld, %lld)",
                 sto_recordings_times_sql, (long long)S(600), (long long)S(700));
        char plan[4096];
        sto_fixture_psql_read(f, sql, plan, sizeof(plan));
        const char *scan = strstr(plan, "Index");
        if (!scan || !strstr(scan + 1, "Index") || !strstr(plan, "recordings_pkey") ||
            strstr(plan, "Seq Scan") || strstr(plan, "Sort"))
            fail_msg("unexpected plan:\n%s", plan);
        return;
    }
    snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", sto_recordings_times_sql);
    sto_value p[] = {STO_TEXT_V("a"), STO_TEXT_V("main"), STO_INT_V(S(600)), STO_INT_V(S(700))};
    char plan[4096] = "";
    assert_int_equal(sto_read(f->db, sql, p, 4, collect_plan, plan), 0);
    /* Two searches on the key, both bounded by start_us; no scan, no sort. */
    const char *want_outer = "USING INDEX sqlite_autoindex_recordings_1 (camera_id=? AND "
                             "stream=? AND start_us>? AND start_us<?)";
    const char *want_inner = "USING COVERING INDEX sqlite_autoindex_recordings_1 (camera_id=? AND "
                             "stream=? AND start_us<?)";
    if (!strstr(plan, want_outer) || !strstr(plan, want_inner) || strstr(plan, "SCAN") ||
        strstr(plan, "TEMP B-TREE"))
        fail_msg("unexpected plan:\n%s", plan);
}

static void test_a_replayed_row_keeps_the_existing_one_and_latest_finds_the_newest(void **state)
{
    struct sto_fixture *f = *state;
    add(f, "a", 0, 100, 0);
    add(f, "a", 2, 100, 0);
    add(f, "a", 1, 100, 0);
    barrier(f);
    const char *path = "recordings/a/main/2026-01-01/00-00-00.mp4";
    struct sto_recording_input r = {.camera_id = "a",
                                    .stream = "main",
                                    .start_us = 0,
                                    .end_us = MIN_US,
                                    .path = path,
                                    .bytes = 150,
                                    .keep_existing = true};
    assert_int_equal(sto_recording_insert_async(f->db, &r, count_failure, NULL), 0);
    barrier(f);
    uint64_t bytes, count;
    assert_int_equal(sto_recordings_usage(f->db, "a", &bytes, &count), 0);
    assert_true(bytes == 300 && count == 3);
    int64_t latest = 0;
    assert_int_equal(sto_recording_latest(f->db, "a", "main", &latest), 0);
    assert_true(latest == 2 * MIN_US);
    assert_int_equal(sto_recording_latest(f->db, "b", "main", &latest), -ENOENT);
}

static void test_a_row_refused_by_a_locked_database_is_retried_until_it_commits(void **state)
{
    struct sto_fixture *f = *state;
    char path[128], url[160];
    snprintf(path, sizeof(path), "%s/retry.db", f->dir);
    snprintf(url, sizeof(url), "sqlite:%s", path);
    struct sto_database_config cfg = {
        .url = url, .busy_timeout_ms = 100, .batch_max = 64, .queue_max = 64, .readers = 1};
    sto_db *db;
    char *err = NULL;
    assert_int_equal(
        sto_open(&(struct sto_open_options){.db = &cfg, .data_dir = f->dir}, &db, &err), 0);
    assert_int_equal(sto_start(db), 0);
    /* Another process takes the write lock. */
    sqlite3 *other;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);

    struct sto_fixture_outcome o = STO_FIXTURE_OUTCOME_INIT;
    struct sto_recording_input r = {.camera_id = "a",
                                    .stream = "main",
                                    .start_us = 5,
                                    .end_us = 10,
                                    .path = "recordings/a/main/x.mp4",
                                    .bytes = 1};
    assert_int_equal(sto_recording_insert_async(db, &r, sto_fixture_outcome_cb, &o), 0);
    /* An ordinary write queued behind it fails fast (the API's 503)... */
    assert_int_equal(sto_setting_put(db, "k", "v"), HORUS_EDBBUSY);
    /* ...while the row waits for its retry, and health says why. */
    pthread_mutex_lock(&o.lock);
    assert_false(o.is_done);
    pthread_mutex_unlock(&o.lock);
    struct sto_db_health h;
    sto_db_health(db, &h);
    assert_false(h.is_ok);
    assert_string_equal(h.reason, "busy");
    assert_non_null(strstr(h.detail, "index writes failing"));

    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(sto_fixture_outcome_wait(&o), 0);
    struct sto_recording got;
    assert_int_equal(sto_recording_get(db, "a", "main", 5, &got), 0);
    sto_recording_release(&got);
    sto_db_health(db, &h);
    assert_true(h.is_ok);
    sto_close(db);
}

static void test_a_retried_row_ends_with_its_error_when_the_writer_stops(void **state)
{
    struct sto_fixture *f = *state;
    char path[128], url[160];
    snprintf(path, sizeof(path), "%s/stop.db", f->dir);
    snprintf(url, sizeof(url), "sqlite:%s", path);
    struct sto_database_config cfg = {
        .url = url, .busy_timeout_ms = 50, .batch_max = 64, .queue_max = 64, .readers = 1};
    sto_db *db;
    char *err = NULL;
    assert_int_equal(
        sto_open(&(struct sto_open_options){.db = &cfg, .data_dir = f->dir}, &db, &err), 0);
    assert_int_equal(sto_start(db), 0);
    sqlite3 *other;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    struct sto_fixture_outcome o = STO_FIXTURE_OUTCOME_INIT;
    struct sto_recording_input r = {.camera_id = "a",
                                    .stream = "main",
                                    .start_us = 5,
                                    .end_us = 10,
                                    .path = "recordings/a/main/x.mp4",
                                    .bytes = 1};
    assert_int_equal(sto_recording_insert_async(db, &r, sto_fixture_outcome_cb, &o), 0);
    assert_int_equal(sto_setting_put(db, "k", "v"), HORUS_EDBBUSY);
    sto_stop(db); /* one last attempt, then the row's error: its journal entry stays */
    assert_true(o.is_done);
    assert_int_equal(o.rc, HORUS_EDBBUSY);
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    sto_close(db);
}

static int count_row_cb(void *arg, const struct sto_recording *row)
{
    (void)row;
    ++*(size_t *)arg;
    return 0;
}

/*
 * Several nodes (docs/design/0068): each row carries the node that holds
 * its file; retention's queries and horus check's walk see only their
 * node's rows and rows of no known node, every row when the node is unset.
 */
static void test_retention_and_check_see_only_their_own_nodes_rows(void **state)
{
    struct sto_fixture *f = *state;
    add(f, "a", 0, 100, 0); /* from before nodes: '' */
    barrier(f);
    sto_set_node(f->db, "east");
    add(f, "a", 1, 1000, 0);
    add(f, "a", 2, 1000, 0);
    barrier(f);
    sto_set_node(f->db, "west");
    add(f, "a", 3, 10000, 0);
    barrier(f);
    struct sto_recording *list;
    size_t n, visited = 0;
    uint64_t bytes, count;
    /* west: its row and the old one */
    assert_int_equal(sto_recordings_oldest(f->db, "a", INT64_MAX, 0, 10, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_true(list[0].start_us == 0 && list[1].start_us == 3 * MIN_US);
    sto_recording_list_free(list, n);
    assert_int_equal(sto_recordings_usage(f->db, "a", &bytes, &count), 0);
    assert_true(bytes == 10100 && count == 2);
    assert_int_equal(sto_recordings_foreach(f->db, count_row_cb, &visited), 0);
    assert_int_equal(visited, 2);
    /* east */
    sto_set_node(f->db, "east");
    assert_int_equal(sto_recordings_oldest(f->db, NULL, INT64_MAX, 0, 10, &list, &n), 0);
    assert_int_equal(n, 3);
    sto_recording_list_free(list, n);
    assert_int_equal(sto_recordings_oldest_pinned(f->db, 0, 10, &list, &n), 0);
    assert_int_equal(n, 0);
    sto_recording_list_free(list, n);
    assert_int_equal(sto_recordings_usage(f->db, NULL, &bytes, &count), 0);
    assert_true(bytes == 2100 && count == 3);
    /* unknown node: every row; and playback's reads are never scoped */
    sto_set_node(f->db, NULL);
    assert_int_equal(sto_recordings_usage(f->db, NULL, &bytes, &count), 0);
    assert_true(bytes == 12100 && count == 4);
    sto_set_node(f->db, "east");
    assert_int_equal(sto_recordings_range(f->db, "a", "main", 0, INT64_MAX, 10, &list, &n), 0);
    assert_int_equal(n, 4);
    sto_recording_list_free(list, n);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, sto_fixture_setup, sto_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_range_returns_overlapping_segments_with_their_index_blob),
        T(test_oldest_skips_pinned_rows_and_filters_by_camera),
        T(test_usage_sums_bytes_and_delete_removes_rows_atomically),
        T(test_reinserting_the_same_segment_replaces_it),
        T(test_two_files_with_one_start_both_stay_indexed),
        T(test_foreach_visits_every_row),
        T(test_delete_one_row_by_key),
        T(test_seek_starts_at_the_row_containing_from_and_stops_before_to),
        T(test_times_reports_the_same_rows_without_copies),
        T(test_get_finds_one_row_by_its_key),
        T(test_seek_uses_only_the_primary_key),
        T(test_a_replayed_row_keeps_the_existing_one_and_latest_finds_the_newest),
        T(test_a_row_refused_by_a_locked_database_is_retried_until_it_commits),
        T(test_a_retried_row_ends_with_its_error_when_the_writer_stops),
        T(test_retention_and_check_see_only_their_own_nodes_rows),
    };
    return cmocka_run_group_tests_name("storage.recordings", tests, NULL, NULL);
}
