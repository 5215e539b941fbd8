/*
 * Tests for src/storage/copy.c (sto_copy, `horus migrate`): a SQLite index
 * with rows of every value kind (64-bit integers, doubles, NULL, text,
 * blobs with NUL bytes) and a foreign-key child copied whole into an empty
 * PostgreSQL database; a destination that is not empty or not PostgreSQL
 * is refused with nothing written. The copy needs the PostgreSQL row of
 * sto_fixture: the SQLite run (unit.storage.copy) checks the refusal of a
 * SQLite destination, the PostgreSQL twin (pg.storage.copy) the rest.
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

static sto_db *open_url(const char *url, const char *dir, bool start)
{
    struct sto_database_config cfg = {.url = (char *)url,
                                      .busy_timeout_ms = 5000,
                                      .batch_max = 64,
                                      .queue_max = 1024,
                                      .readers = 2};
    struct sto_open_options o = {.db = &cfg, .data_dir = dir};
    sto_db *db = NULL;
    char *err = NULL;
    if (sto_open(&o, &db, &err) < 0)
        fail_msg("open %s: %s", url, err ? err : "?");
    if (start)
        assert_int_equal(sto_start(db), 0);
    return db;
}

/* A SQLite source in the fixture's directory with rows the copy must keep exactly. */
static sto_db *filled_source(struct sto_fixture *f, int recordings)
{
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s/source.db", f->dir);
    sto_db *src = open_url(url, f->dir, true);
    assert_int_equal(
        sto_write(src,
                  "INSERT INTO cameras(id, name, url, enabled, record_enabled,"
                  " segment_seconds, retention_days, max_bytes, provisioned,"
                  " created_at_ms, updated_at_ms) VALUES ('c1', 'Front ✓', 'rtsp://h/',"
                  " 1, 1, 60, 14, 9223372036854775807, 0, 1, 2)",
                  NULL, 0),
        0);
    assert_int_equal(
        sto_write(src, "INSERT INTO camera_groups(camera_id, group_name) VALUES ('c1', 'lobby')",
                  NULL, 0),
        0);
    static const uint8_t blob[] = {0, 1, 0, 255, 'x', 0};
    for (int i = 0; i < recordings; i++) {
        sto_value p[] = {STO_INT_V(INT64_C(1700000000000000) + i * 2000000),
                         STO_INT_V(INT64_C(1700000000000000) + i * 2000000 + 2000000),
                         STO_BLOB_V(blob, sizeof(blob))};
        assert_int_equal(sto_write(src,
                                   "INSERT INTO recordings(camera_id, stream, start_us, end_us,"
                                   " path, bytes, codec, fragments) VALUES ('c1', 'main', $1, $2,"
                                   " 'p', 1, 'h264', $3)",
                                   p, 3),
                         0);
    }
    sto_value d[] = {STO_REAL_V(0.1 + 0.2), STO_REAL_V(1e-300)};
    assert_int_equal(sto_write(src,
                               "INSERT INTO detections(id, camera_id, time_us, label, score, x0,"
                               " y0, x1, y1, received_us, source) VALUES (7, 'c1', 5, 'person', $1,"
                               " $2, 0, 1, 1, 6, 'test')",
                               d, 2),
                     0);
    return src;
}

static int keep_row(const sto_value *cols, size_t n, void *arg)
{
    sto_value *out = arg;
    for (size_t i = 0; i < n && i < 4; i++) {
        out[i] = cols[i];
        if (cols[i].type == STO_TEXT || cols[i].type == STO_BLOB) {
            char *copy = malloc(cols[i].len + 1);
            memcpy(copy, cols[i].type == STO_TEXT ? (const void *)cols[i].s : cols[i].blob,
                   cols[i].len);
            copy[cols[i].len] = 0;
            out[i].s = copy;
            out[i].blob = copy;
        }
    }
    return 0;
}

static void progress(const char *table, uint64_t rows, void *arg)
{
    if (strcmp(table, "recordings") == 0)
        *(uint64_t *)arg = rows;
}

static void test_a_sqlite_index_is_copied_whole_into_postgres(void **state)
{
    struct sto_fixture *f = *state;
    if (!f->schema[0]) {
        /* SQLite run: a SQLite destination is refused. */
        sto_db *src = filled_source(f, 1);
        char url[600];
        sto_fixture_another_url(f, "dst", url, sizeof(url));
        sto_db *dst = open_url(url, f->dir, false);
        char *err = NULL;
        assert_int_equal(sto_copy(src, dst, NULL, NULL, &err), HORUS_ECONFIG);
        assert_non_null(strstr(err, "PostgreSQL"));
        free(err);
        sto_close(dst);
        sto_close(src);
        return;
    }
    /* More recordings than one multi-row INSERT takes (1000 values / 12 columns). */
    sto_db *src = filled_source(f, 300);
    char url[600];
    sto_fixture_another_url(f, "dst", url, sizeof(url));
    sto_db *dst = open_url(url, f->dir, false);
    char *err = NULL;
    uint64_t copied = 0;
    if (sto_copy(src, dst, progress, &copied, &err) != 0)
        fail_msg("copy: %s", err ? err : "?");
    assert_true(copied == 300);
    sto_value v[4] = {0};
    assert_int_equal(sto_read(dst, "SELECT max_bytes, name FROM cameras", NULL, 0, keep_row, v), 0);
    assert_true(v[0].type == STO_INT && v[0].i == INT64_MAX);
    assert_string_equal(v[1].s, "Front ✓");
    free((void *)v[1].s);
    assert_int_equal(sto_read(dst, "SELECT fragments, COUNT(*) OVER () FROM recordings LIMIT 1",
                              NULL, 0, keep_row, v),
                     0);
    assert_int_equal(v[0].type, STO_BLOB);
    assert_int_equal(v[0].len, 6);
    assert_memory_equal(v[0].blob, "\0\1\0\377x\0", 6);
    assert_true(v[1].i == 300);
    free((void *)v[0].blob);
    assert_int_equal(sto_read(dst, "SELECT score, x0 FROM detections", NULL, 0, keep_row, v), 0);
    assert_true(v[0].type == STO_REAL && v[0].d == 0.1 + 0.2);
    assert_true(v[1].type == STO_REAL && v[1].d == 1e-300);
    assert_int_equal(sto_read(dst, "SELECT group_name FROM camera_groups", NULL, 0, keep_row, v),
                     0);
    assert_string_equal(v[0].s, "lobby");
    free((void *)v[0].s);
    /* A second copy into the now filled database is refused and changes nothing. */
    assert_int_equal(sto_copy(src, dst, NULL, NULL, &err), -EEXIST);
    assert_non_null(strstr(err, "not empty"));
    free(err);
    sto_close(dst);
    sto_close(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_sqlite_index_is_copied_whole_into_postgres,
                                        sto_fixture_setup, sto_fixture_teardown),
    };
    return cmocka_run_group_tests_name("storage.copy", tests, NULL, NULL);
}
