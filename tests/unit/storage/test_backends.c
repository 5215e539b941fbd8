/*
 * Backend conformance: the same calls, through the backend vtable and the
 * repositories, against every backend in sto_fixture_backends[]
 * (tests/unit/sto_fixture.h). A new backend passes these before its
 * repositories are trusted; see docs/design/0009-storage-backend.md for
 * the contract they check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage.h"
#include "storage_int.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sto_backend *backend_named(const char *name)
{
    for (size_t i = 0; sto_backends[i]; i++)
        if (strcmp(sto_backends[i]->name, name) == 0)
            return sto_backends[i];
    fail_msg("backend '%s' is in the test table but not in sto_backends[]", name);
    return NULL;
}

static void test_the_url_selects_the_backend_and_migrates(void **state)
{
    struct sto_fixture *f = *state;
    const struct sto_backend *be = backend_named(sto_fixture_current->name);
    assert_int_equal(be->api_version, STO_BACKEND_API_VERSION);
    char *target = be->url_target(f->url);
    assert_non_null(target);
    free(target);
    assert_null(be->url_target("mysql://h/db"));
    assert_true(sto_schema_version(f->db) >= 3);
    char why[64];
    assert_int_equal(sto_ping(f->db, why, sizeof(why)), 0);
}

/* ---- values and parameters ---- */

struct got {
    int rows;
    sto_value v[8];
    char text[8][32];
    uint8_t blob[16];
};

static int keep_row(const sto_value *cols, size_t n, void *arg)
{
    struct got *g = arg;
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        g->v[i] = cols[i];
        if (cols[i].type == STO_TEXT) {
            assert_int_equal(cols[i].s[cols[i].len], '\0');
            snprintf(g->text[i], sizeof(g->text[i]), "%s", cols[i].s);
        }
        if (cols[i].type == STO_BLOB && cols[i].len <= sizeof(g->blob))
            memcpy(g->blob, cols[i].blob, cols[i].len);
    }
    g->rows++;
    return 0;
}

static void test_values_come_back_typed_by_column(void **state)
{
    struct sto_fixture *f = *state;
    assert_int_equal(sto_write(f->db,
                               "CREATE TABLE t (i BIGINT, r REAL, s TEXT, b BYTEA, n TEXT,"
                               " e TEXT, z BYTEA)",
                               NULL, 0),
                     0);
    static const uint8_t blob[] = {0, 1, 0, 255, 7};
    sto_value p[] = {STO_INT_V(INT64_MIN),
                     STO_REAL_V(0.25),
                     STO_TEXT_V("d\xc3\xa9j\xc3\xa0 'vu'"),
                     STO_BLOB_V(blob, sizeof(blob)),
                     STO_NULL_V,
                     STO_TEXT_V(""),
                     STO_BLOB_V(blob, 0)};
    const char *ins = "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7)";
    assert_int_equal(sto_write(f->db, ins, p, 7), 0);
    struct got g = {0};
    assert_int_equal(sto_read(f->db, "SELECT i, r, s, b, n, e FROM t", NULL, 0, keep_row, &g), 0);
    assert_int_equal(g.rows, 1);
    assert_int_equal(g.v[0].type, STO_INT);
    assert_true(g.v[0].i == INT64_MIN);
    assert_int_equal(g.v[1].type, STO_REAL);
    assert_true(g.v[1].d == 0.25);
    assert_int_equal(g.v[2].type, STO_TEXT);
    assert_string_equal(g.text[2], "d\xc3\xa9j\xc3\xa0 'vu'");
    assert_int_equal(g.v[3].type, STO_BLOB);
    assert_int_equal(g.v[3].len, sizeof(blob));
    assert_memory_equal(g.blob, blob, sizeof(blob));
    assert_int_equal(g.v[4].type, STO_NULL);
    assert_int_equal(g.v[5].type, STO_TEXT);
    assert_int_equal(g.v[5].len, 0);
    /* Integers keep all 64 bits the other way too. */
    p[0] = STO_INT_V(INT64_MAX);
    assert_int_equal(sto_write(f->db, ins, p, 7), 0);
    sto_value q[] = {STO_INT_V(INT64_MAX)};
    g = (struct got){0};
    assert_int_equal(sto_read(f->db, "SELECT i FROM t WHERE i = $1", q, 1, keep_row, &g), 0);
    assert_int_equal(g.rows, 1);
    assert_true(g.v[0].i == INT64_MAX);
}

static void test_placeholders_bind_by_number_and_must_all_be_given(void **state)
{
    struct sto_fixture *f = *state;
    sto_value p[] = {STO_TEXT_V("one"), STO_TEXT_V("two"), STO_INT_V(3)};
    struct got g = {0};
    assert_int_equal(sto_read(f->db, "SELECT $2, $1, $2", p, 2, keep_row, &g), 0);
    assert_string_equal(g.text[0], "two");
    assert_string_equal(g.text[1], "one");
    assert_string_equal(g.text[2], "two");
    g = (struct got){0};
    assert_int_equal(sto_read(f->db, "SELECT $1", p, 3, keep_row, &g), -EINVAL);
    assert_int_equal(g.rows, 0);
    assert_int_equal(sto_read(f->db, "SELECT $1, $2", p, 1, keep_row, &g), -EINVAL);
    /* LIMIT takes a parameter. */
    sto_value lim[] = {STO_INT_V(0)};
    assert_int_equal(sto_read(f->db, "SELECT 1 LIMIT $1", lim, 1, keep_row, &g), 0);
    assert_int_equal(g.rows, 0);
}

static void test_errors_map_to_the_same_codes(void **state)
{
    struct sto_fixture *f = *state;
    sto_value k[] = {STO_TEXT_V("k")};
    const char *ins = "INSERT INTO settings(key, value, updated_at_ms) VALUES ($1, 'v', 0)";
    assert_int_equal(sto_write(f->db, ins, k, 1), 0);
    assert_int_equal(sto_write(f->db, ins, k, 1), -EEXIST);
    assert_int_equal(sto_write(f->db,
                               "INSERT INTO settings(key, value, updated_at_ms)"
                               " VALUES ('n', NULL, 0)",
                               NULL, 0),
                     -EEXIST);
    assert_int_equal(sto_write(f->db, "INSERT INTO nosuch VALUES (1)", NULL, 0), HORUS_EDB);
    struct got g = {0};
    assert_int_equal(sto_read(f->db, "SELEKT 1", NULL, 0, keep_row, &g), HORUS_EDB);
    /* Readers refuse writes. */
    assert_true(sto_read(f->db, "DELETE FROM settings", NULL, 0, NULL, NULL) < 0);
    char *v = NULL;
    assert_int_equal(sto_setting_get(f->db, "k", &v), 0);
    free(v);
}

static int count_cb(const sto_value *cols, size_t n, void *arg)
{
    *(int64_t *)arg = cols[0].i;
    return 0;
}

static int64_t count_on(const struct sto_backend *be, sto_conn *c, const char *sql)
{
    int64_t n = -1;
    assert_int_equal(be->query(c, sql, NULL, 0, count_cb, &n, NULL), 0);
    return n;
}

static void test_transaction_steps_behave_alike(void **state)
{
    struct sto_fixture *f = *state;
    const struct sto_backend *be = backend_named(sto_fixture_current->name);
    /* A second database beside the fixture's, driven through the vtable alone. */
    char url[600];
    sto_fixture_another_url(f, "tx", url, sizeof(url));
    char *target = be->url_target(url);
    assert_non_null(target);
    sto_conn *w = NULL, *r = NULL;
    char *err = NULL;
    assert_int_equal(be->open(target, true, 5000, &w, &err), 0);
    assert_int_equal(be->exec_script(w, "CREATE TABLE t (k TEXT PRIMARY KEY)", &err), 0);
    assert_int_equal(be->open(target, false, 5000, &r, &err), 0);
    sto_value a[] = {STO_TEXT_V("a")}, b[] = {STO_TEXT_V("b")}, c[] = {STO_TEXT_V("c")};
    const char *ins = "INSERT INTO t VALUES ($1)";
    assert_int_equal(be->tx(w, STO_TX_BEGIN, &err), 0);
    assert_int_equal(be->query(w, ins, a, 1, NULL, NULL, &err), 0);
    /* Not visible to a reader before the commit. */
    assert_int_equal(count_on(be, r, "SELECT COUNT(*) FROM t"), 0);
    assert_int_equal(be->tx(w, STO_TX_SAVEPOINT, &err), 0);
    assert_int_equal(be->query(w, ins, b, 1, NULL, NULL, &err), 0);
    assert_int_equal(be->tx(w, STO_TX_ROLLBACK_TO, &err), 0);
    assert_int_equal(be->tx(w, STO_TX_RELEASE, &err), 0);
    assert_int_equal(be->tx(w, STO_TX_SAVEPOINT, &err), 0);
    assert_int_equal(be->query(w, ins, c, 1, NULL, NULL, &err), 0);
    /* A failing statement inside a savepoint: the savepoint undoes it alone. */
    assert_int_equal(be->query(w, ins, c, 1, NULL, NULL, &err), -EEXIST);
    free(err);
    err = NULL;
    assert_int_equal(be->tx(w, STO_TX_ROLLBACK_TO, &err), 0);
    assert_int_equal(be->tx(w, STO_TX_RELEASE, &err), 0);
    assert_int_equal(be->tx(w, STO_TX_COMMIT, &err), 0);
    assert_int_equal(count_on(be, r, "SELECT COUNT(*) FROM t"), 1);
    assert_int_equal(count_on(be, r, "SELECT COUNT(*) FROM t WHERE k = 'a'"), 1);
    assert_int_equal(be->tx(w, STO_TX_BEGIN, &err), 0);
    assert_int_equal(be->query(w, ins, b, 1, NULL, NULL, &err), 0);
    assert_int_equal(be->tx(w, STO_TX_ROLLBACK, &err), 0);
    assert_int_equal(count_on(be, w, "SELECT COUNT(*) FROM t"), 1);
    /* A reader connection refuses writes. */
    assert_true(be->query(r, ins, b, 1, NULL, NULL, &err) < 0);
    free(err);
    be->close(r);
    be->close(w);
    be->close(NULL);
    free(target);
}

/* ---- the repositories, one short life of each entity ---- */

static void test_repositories_round_trip(void **state)
{
    struct sto_fixture *f = *state;
    /* settings */
    char *v = NULL;
    assert_int_equal(sto_setting_put(f->db, "node_id", "n1"), 0);
    assert_int_equal(sto_setting_get(f->db, "node_id", &v), 0);
    assert_string_equal(v, "n1");
    free(v);
    /* cameras */
    struct sto_camera_input cam = {.id = "c1",
                                   .url = "rtsp://h/1",
                                   .enabled = true,
                                   .record_enabled = true,
                                   .segment_seconds = 60,
                                   .retention_days = 14,
                                   .max_bytes = UINT64_C(1) << 40};
    assert_int_equal(sto_camera_insert(f->db, &cam), 0);
    struct sto_camera_input yaml[] = {cam};
    yaml[0].id = "c2";
    size_t add = 0, chg = 0, rem = 0;
    assert_int_equal(sto_cameras_provision(f->db, yaml, 1, &add, &chg, &rem), 0);
    assert_true(add == 1 && chg == 0 && rem == 0);
    struct sto_camera *cams;
    size_t n;
    bool more;
    assert_int_equal(sto_camera_list(f->db, NULL, 10, &cams, &n, &more), 0);
    assert_int_equal(n, 2);
    assert_false(more);
    assert_false(cams[0].provisioned);
    assert_true(cams[1].provisioned);
    assert_true(cams[0].max_bytes == UINT64_C(1) << 40);
    sto_camera_list_free(cams, n);
    uint64_t count;
    assert_int_equal(sto_camera_count(f->db, &count), 0);
    assert_int_equal(count, 2);
    /* recordings */
    static const uint8_t blob[] = {1, 0, 0};
    for (int i = 0; i < 3; i++) {
        char path[32];
        snprintf(path, sizeof(path), "recordings/c1/main/%d.mp4", i);
        struct sto_recording_input r = {.camera_id = "c1",
                                        .stream = "main",
                                        .start_us = i * INT64_C(1000000),
                                        .end_us = (i + 1) * INT64_C(1000000),
                                        .path = path,
                                        .bytes = 100,
                                        .codec = "avc1",
                                        .fragments = blob,
                                        .fragments_size = sizeof(blob)};
        assert_int_equal(sto_recording_insert_async(f->db, &r, NULL, NULL), 0);
    }
    assert_int_equal(sto_setting_put(f->db, "barrier", "1"), 0);
    uint64_t bytes = 0;
    assert_int_equal(sto_recordings_usage(f->db, "c1", &bytes, &count), 0);
    assert_true(bytes == 300 && count == 3);
    struct sto_recording *rows;
    assert_int_equal(
        sto_recordings_seek(f->db, "c1", "main", 1500000, 2500000, 10, true, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].start_us, 1000000);
    assert_int_equal(rows[0].fragments_size, sizeof(blob));
    sto_recording_list_free(rows, n);
    assert_int_equal(sto_recordings_oldest(f->db, NULL, INT64_MAX, 0, 1, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sto_recordings_delete(f->db, rows, n), 0);
    sto_recording_list_free(rows, n);
    assert_int_equal(sto_recording_delete(f->db, "c1", "main", 1000000), 0);
    assert_int_equal(sto_recordings_usage(f->db, NULL, &bytes, &count), 0);
    assert_true(bytes == 100 && count == 1);
    /* exports */
    struct sto_export_input ex = {
        .id = "0000000000010000000a", .camera_id = "c1", .stream = "main", .created_at_ms = 1};
    assert_int_equal(sto_export_insert(f->db, &ex), 0);
    struct sto_export_status st = {
        .id = ex.id, .state = STO_EXPORT_DONE, .progress = 1, .size_bytes = 9, .finished_at_ms = 5};
    assert_int_equal(sto_export_update(f->db, &st), 0);
    struct sto_export *exps;
    assert_int_equal(sto_export_select(f->db, -1, 10, 10, &exps, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(exps[0].state, STO_EXPORT_DONE);
    assert_true(exps[0].size_bytes == 9);
    sto_export_list_free(exps, n);
    assert_int_equal(sto_export_delete(f->db, ex.id), 0);
    assert_int_equal(sto_camera_delete(f->db, "c1"), 0);
}

/* The SQLite backend keeps prepared statements: a kept one must behave like a new one. */
static void test_a_statement_run_again_sees_new_rows_and_its_new_parameters(void **state)
{
    struct sto_fixture *f = *state;
    assert_int_equal(sto_write(f->db, "CREATE TABLE k (i BIGINT)", NULL, 0), 0);
    const char *count = "SELECT count(*) FROM k WHERE i >= $1";
    for (int64_t i = 0; i < 5; i++) {
        int64_t n = -1;
        sto_value p[] = {STO_INT_V(0)};
        assert_int_equal(sto_read(f->db, count, p, 1, count_cb, &n), 0);
        assert_true(n == i); /* no read transaction kept from the last call */
        sto_value w[] = {STO_INT_V(i)};
        assert_int_equal(sto_write(f->db, "INSERT INTO k VALUES ($1)", w, 1), 0);
    }
    int64_t n = -1;
    sto_value p[] = {STO_INT_V(3)};
    assert_int_equal(sto_read(f->db, count, p, 1, count_cb, &n), 0);
    assert_true(n == 2);
    /* More distinct texts than any cache keeps, twice: each still gives its own answer. */
    for (int round = 0; round < 2; round++) {
        for (int64_t lim = 0; lim < 70; lim++) {
            char sql[96];
            snprintf(sql, sizeof(sql), "SELECT count(*) FROM k WHERE i < %lld", (long long)lim);
            assert_int_equal(sto_read(f->db, sql, NULL, 0, count_cb, &n), 0);
            assert_true(n == (lim < 5 ? lim : 5));
        }
    }
    /* A wrong parameter count leaves the kept statement usable. */
    assert_int_equal(sto_read(f->db, count, NULL, 0, count_cb, &n), -EINVAL);
    assert_int_equal(sto_read(f->db, count, p, 1, count_cb, &n), 0);
    assert_true(n == 2);
}

struct nest {
    const struct sto_backend *be;
    sto_conn *c;
    int outer_rows, inner_total;
};

#define NEST_SQL "SELECT i FROM n ORDER BY i"

static int one_more(const sto_value *cols, size_t n, void *arg)
{
    (void)cols;
    (void)n;
    (*(int *)arg)++;
    return 0;
}

/* For each outer row: the same text again, and more distinct texts than a cache keeps. */
static int nest_row(const sto_value *cols, size_t n, void *arg)
{
    (void)cols;
    (void)n;
    struct nest *x = arg;
    x->outer_rows++;
    assert_int_equal(x->be->query(x->c, NEST_SQL, NULL, 0, one_more, &x->inner_total, NULL), 0);
    for (int i = 0; i < 40; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT count(*) + %d FROM n", i);
        assert_true(count_on(x->be, x->c, sql) == 3 + i);
    }
    return 0;
}

static void test_a_query_inside_a_row_callback_does_not_disturb_the_outer_one(void **state)
{
    struct sto_fixture *f = *state;
    const struct sto_backend *be = backend_named(sto_fixture_current->name);
    char url[600];
    sto_fixture_another_url(f, "nest", url, sizeof(url));
    char *target = be->url_target(url);
    sto_conn *c = NULL;
    char *err = NULL;
    assert_int_equal(be->open(target, true, 5000, &c, &err), 0);
    assert_int_equal(
        be->exec_script(c, "CREATE TABLE n (i BIGINT); INSERT INTO n VALUES (1), (2), (3)", &err),
        0);
    struct nest x = {.be = be, .c = c};
    /* The outer statement is the very text the callback runs again. */
    assert_int_equal(be->query(c, NEST_SQL, NULL, 0, nest_row, &x, &err), 0);
    assert_int_equal(x.outer_rows, 3);
    assert_int_equal(x.inner_total, 9);
    assert_true(count_on(be, c, "SELECT count(*) FROM n") == 3);
    be->close(c);
    free(target);
}

/*
 * Server backends: a connection the server ended (a restart, a failover, an
 * idle timeout) is opened again before the next statement outside a
 * transaction; inside one the statement fails as transient (-EIO), and the
 * ROLLBACK that follows reconnects.
 */
static void test_a_connection_the_server_ended_is_opened_again(void **state)
{
    struct sto_fixture *f = *state;
    if (!sto_fixture_current->is_server)
        skip();
    const struct sto_backend *be = backend_named(sto_fixture_current->name);
    char url[700], name[64];
    sto_fixture_another_url(f, "reset", url, sizeof(url));
    snprintf(name, sizeof(name), "%s_reset", f->schema);
    strncat(url, "&application_name=", sizeof(url) - strlen(url) - 1);
    strncat(url, name, sizeof(url) - strlen(url) - 1);
    char *target = be->url_target(url);
    sto_conn *c = NULL;
    char *err = NULL;
    assert_int_equal(be->open(target, true, 5000, &c, &err), 0);
    assert_int_equal(be->exec_script(c, "CREATE TABLE r (i BIGINT)", &err), 0);
    char kill[160];
    snprintf(kill, sizeof(kill),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '%s'",
             name);
    assert_int_equal(sto_fixture_psql(f->server, kill), 0);
    /* Outside a transaction: reset, then the statement runs. */
    assert_true(count_on(be, c, "SELECT count(*) FROM r") == 0);
    /* Inside one: transient failure, and the rollback reconnects. */
    assert_int_equal(be->tx(c, STO_TX_BEGIN, &err), 0);
    assert_int_equal(sto_fixture_psql(f->server, kill), 0);
    sto_value one[] = {STO_INT_V(1)};
    assert_int_equal(be->query(c, "INSERT INTO r VALUES ($1)", one, 1, NULL, NULL, &err), -EIO);
    assert_non_null(err);
    free(err);
    err = NULL;
    assert_int_equal(be->tx(c, STO_TX_ROLLBACK, &err), 0);
    assert_int_equal(be->tx(c, STO_TX_BEGIN, &err), 0);
    assert_int_equal(be->query(c, "INSERT INTO r VALUES ($1)", one, 1, NULL, NULL, &err), 0);
    assert_int_equal(be->tx(c, STO_TX_COMMIT, &err), 0);
    assert_true(count_on(be, c, "SELECT count(*) FROM r") == 1);
    be->close(c);
    free(target);
}

/* database.read_url: only a backend with replicas takes one; a primary is never behind. */
static void test_a_primary_reports_no_replica_lag(void **state)
{
    struct sto_fixture *f = *state;
    const struct sto_backend *be = backend_named(sto_fixture_current->name);
    if (!sto_fixture_current->is_server) {
        assert_null(be->replica_lag);
        return;
    }
    assert_non_null(be->replica_lag);
    char *target = be->url_target(f->url);
    sto_conn *r = NULL;
    char *err = NULL;
    assert_int_equal(be->open(target, false, 5000, &r, &err), 0);
    int64_t lag_ms = -5;
    assert_int_equal(be->replica_lag(r, &lag_ms, &err), 0);
    assert_int_equal(lag_ms, 0);
    be->close(r);
    free(target);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, sto_fixture_setup, sto_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_the_url_selects_the_backend_and_migrates),
        T(test_values_come_back_typed_by_column),
        T(test_placeholders_bind_by_number_and_must_all_be_given),
        T(test_errors_map_to_the_same_codes),
        T(test_transaction_steps_behave_alike),
        T(test_repositories_round_trip),
        T(test_a_statement_run_again_sees_new_rows_and_its_new_parameters),
        T(test_a_query_inside_a_row_callback_does_not_disturb_the_outer_one),
        T(test_a_connection_the_server_ended_is_opened_again),
        T(test_a_primary_reports_no_replica_lag),
    };
    int failed = 0;
    for (size_t i = 0; i < STO_FIXTURE_NBACKENDS; i++) {
        sto_fixture_current = &sto_fixture_backends[i];
        char server[256];
        /* Run by hand without a server: say so. CTest always gives one (tests/pg/pg-server). */
        if (sto_fixture_current->is_server && !sto_fixture_server_url(server, sizeof(server))) {
            if (getenv("HORUS_TEST_PG_URL_FILE"))
                fail_msg("HORUS_TEST_PG_URL_FILE=%s: no URL there (did the server start?)",
                         getenv("HORUS_TEST_PG_URL_FILE"));
            printf("[ SKIPPED  ] storage.backends.%s: no server (HORUS_TEST_PG_URL)\n",
                   sto_fixture_current->name);
            continue;
        }
        char name[64];
        snprintf(name, sizeof(name), "storage.backends.%s", sto_fixture_current->name);
        failed += cmocka_run_group_tests_name(name, tests, NULL, NULL);
    }
    return failed;
}
