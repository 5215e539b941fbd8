/* Tests for src/storage: migrations, writer batching and savepoints, readers, settings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage.h"
#include "storage_int.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    struct sto_database_config cfg;
    sto_db *db;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/horus-sto-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->cfg = (struct sto_database_config){
        .url = "", .busy_timeout_ms = 5000, .batch_max = 64, .queue_max = 4096, .readers = 2};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sto_close(f->db);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int open_db(struct fixture *f, char **errmsg)
{
    struct sto_open_options o = {.db = &f->cfg, .data_dir = f->dir};
    int rc = sto_open(&o, &f->db, errmsg);
    if (rc == 0)
        rc = sto_start(f->db);
    return rc;
}

static void test_open_creates_file_and_applies_migrations(void **state)
{
    struct fixture *f = *state;
    char *err = NULL;
    assert_int_equal(open_db(f, &err), 0);
    assert_null(err);
    assert_string_equal(sto_backend_name(f->db), "sqlite");
    assert_true(sto_schema_version(f->db) >= 1);
    char path[128];
    snprintf(path, sizeof(path), "%s/horus.db", f->dir);
    assert_int_equal(access(path, F_OK), 0);
    char buf[64];
    assert_int_equal(sto_ping(f->db, buf, sizeof(buf)), 0);
}

static void test_reopening_keeps_data_and_does_not_reapply_migrations(void **state)
{
    struct fixture *f = *state;
    char *err = NULL;
    assert_int_equal(open_db(f, &err), 0);
    assert_int_equal(sto_setting_put(f->db, "node_id", "abc"), 0);
    int version = sto_schema_version(f->db);
    sto_close(f->db);
    f->db = NULL;
    assert_int_equal(open_db(f, &err), 0);
    assert_int_equal(sto_schema_version(f->db), version);
    char *v = NULL;
    assert_int_equal(sto_setting_get(f->db, "node_id", &v), 0);
    assert_string_equal(v, "abc");
    free(v);
}

static void test_settings_update_in_place_and_missing_key_is_enoent(void **state)
{
    struct fixture *f = *state;
    char *err = NULL;
    assert_int_equal(open_db(f, &err), 0);
    char *v = NULL;
    assert_int_equal(sto_setting_get(f->db, "nope", &v), -ENOENT);
    assert_null(v);
    assert_int_equal(sto_setting_put(f->db, "k", "1"), 0);
    assert_int_equal(sto_setting_put(f->db, "k", "2"), 0);
    assert_int_equal(sto_setting_get(f->db, "k", &v), 0);
    assert_string_equal(v, "2");
    free(v);
}

static atomic_int done_ok, done_failed;

static void count_done(int rc, void *arg)
{
    if (rc == 0)
        atomic_fetch_add(&done_ok, 1);
    else
        atomic_fetch_add(&done_failed, 1);
}

static int count_cb(const sto_value *cols, size_t n, void *arg)
{
    *(int64_t *)arg = cols[0].i;
    return 0;
}

static void test_a_failing_write_fails_alone_and_the_batch_commits(void **state)
{
    struct fixture *f = *state;
    char *err = NULL;
    assert_int_equal(open_db(f, &err), 0);
    atomic_store(&done_ok, 0);
    atomic_store(&done_failed, 0);
    const char *sql = "INSERT INTO settings(key, value, updated_at_ms) VALUES ($1, $2, 0)";
    for (int i = 0; i < 500; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        sto_value p[] = {STO_TEXT_V(key), STO_TEXT_V("v")};
        assert_int_equal(sto_write_async(f->db, sql, p, 2, count_done, NULL), 0);
        if (i == 250) {
            /* Duplicate primary key: must fail on its own. */
            sto_value dup[] = {STO_TEXT_V("k0"), STO_TEXT_V("dup")};
            assert_int_equal(sto_write_async(f->db, sql, dup, 2, count_done, NULL), 0);
        }
    }
    /* A synchronous write queues behind all of them, so it is a barrier. */
    sto_value p[] = {STO_TEXT_V("last"), STO_TEXT_V("v")};
    assert_int_equal(sto_write(f->db, sql, p, 2), 0);
    assert_int_equal(atomic_load(&done_ok), 500);
    assert_int_equal(atomic_load(&done_failed), 1);
    int64_t n = 0;
    assert_int_equal(sto_read(f->db, "SELECT COUNT(*) FROM settings", NULL, 0, count_cb, &n), 0);
    assert_int_equal(n, 501);
    char *v = NULL;
    assert_int_equal(sto_setting_get(f->db, "k0", &v), 0);
    assert_string_equal(v, "v");
    free(v);
}

static void test_a_constraint_violation_is_reported_as_eexist(void **state)
{
    struct fixture *f = *state;
    char *err = NULL;
    assert_int_equal(open_db(f, &err), 0);
    const char *sql = "INSERT INTO settings(key, value, updated_at_ms) VALUES ($1, 'x', 0)";
    sto_value p[] = {STO_TEXT_V("a")};
    assert_int_equal(sto_write(f->db, sql, p, 1), 0);
    assert_int_equal(sto_write(f->db, sql, p, 1), -EEXIST);
    assert_int_equal(sto_write(f->db, "INSERT INTO nosuch VALUES (1)", NULL, 0), HORUS_EDB);
    assert_int_equal(sto_write(f->db, sql, NULL, 0), -EINVAL);
}

static sem_t gate, entered;

static void block_writer(int rc, void *arg)
{
    sem_post(&entered);
    sem_wait(&gate);
}

static void test_full_write_queue_refuses_instead_of_blocking(void **state)
{
    struct fixture *f = *state;
    f->cfg.queue_max = 16;
    char *err = NULL;
    assert_int_equal(open_db(f, &err), 0);
    sem_init(&gate, 0, 0);
    sem_init(&entered, 0, 0);
    /* The first write's callback parks the writer thread, so the queue fills. */
    assert_int_equal(sto_write_async(f->db, "SELECT 1", NULL, 0, block_writer, NULL), 0);
    sem_wait(&entered);
    int refused = 0;
    for (int i = 0; i < 40; i++)
        if (sto_write_async(f->db, "SELECT 1", NULL, 0, NULL, NULL) == -EAGAIN)
            refused++;
    assert_int_equal(refused, 40 - 16);
    sem_post(&gate);
}

static void test_the_writer_runs_only_between_start_and_stop(void **state)
{
    struct fixture *f = *state;
    struct sto_open_options o = {.db = &f->cfg, .data_dir = f->dir};
    char *err = NULL;
    const char *sql = "INSERT INTO settings(key, value, updated_at_ms) VALUES ($1, 'x', 0)";
    sto_value p[] = {STO_TEXT_V("a")};
    /* Opened, never started: a queued write is answered once, by close, unwritten. */
    assert_int_equal(sto_open(&o, &f->db, &err), 0);
    atomic_store(&done_ok, 0);
    atomic_store(&done_failed, 0);
    assert_int_equal(sto_write_async(f->db, sql, p, 1, count_done, NULL), 0);
    sto_close(f->db);
    assert_int_equal(atomic_load(&done_ok), 0);
    assert_int_equal(atomic_load(&done_failed), 1);
    /* Started: queued writes run; stop drains them, then refuses new ones. */
    assert_int_equal(sto_open(&o, &f->db, &err), 0);
    assert_int_equal(sto_write_async(f->db, sql, p, 1, count_done, NULL), 0);
    assert_int_equal(sto_start(f->db), 0);
    sto_stop(f->db);
    sto_stop(f->db); /* a second stop is a no-op */
    assert_int_equal(atomic_load(&done_ok), 1);
    assert_int_equal(sto_write_async(f->db, sql, p, 1, count_done, NULL), HORUS_ESTOPPED);
    char *v = NULL;
    assert_int_equal(sto_setting_get(f->db, "a", &v), 0); /* reads still work */
    assert_string_equal(v, "x");
    free(v);
}

static void test_unreachable_postgres_and_unknown_urls_are_refused_with_a_reason(void **state)
{
    struct fixture *f = *state;
    char *err = NULL;
    /* Nothing listens on port 1: the sentence names the server, never the password. */
    f->cfg.url = "postgres://u:hunter2-secret@127.0.0.1:1/horus";
    assert_true(open_db(f, &err) < 0);
    assert_non_null(err);
    assert_non_null(strstr(err, "connect to PostgreSQL 127.0.0.1:1/horus as u"));
    assert_null(strstr(err, "hunter2"));
    free(err);
    err = NULL;
    f->cfg.url = "mysql://x";
    assert_int_equal(open_db(f, &err), HORUS_ECONFIG);
    assert_non_null(strstr(err, "database.url"));
    free(err);
    assert_null(f->db);
}

static void test_a_database_newer_than_the_binary_is_refused(void **state)
{
    struct fixture *f = *state;
    char *err = NULL;
    assert_int_equal(open_db(f, &err), 0);
    assert_int_equal(sto_write(f->db,
                               "INSERT INTO schema_migrations(version, name, applied_at_ms)"
                               " VALUES (9999, 'future', 0)",
                               NULL, 0),
                     0);
    sto_close(f->db);
    f->db = NULL;
    assert_int_equal(open_db(f, &err), HORUS_EDB);
    assert_non_null(strstr(err, "newer than this horus"));
    free(err);
}

static void test_explicit_sqlite_url_creates_parent_directories(void **state)
{
    struct fixture *f = *state;
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s/a/b/index.db", f->dir);
    f->cfg.url = url;
    char *err = NULL;
    assert_int_equal(open_db(f, &err), 0);
    char path[128];
    snprintf(path, sizeof(path), "%s/a/b/index.db", f->dir);
    assert_int_equal(access(path, F_OK), 0);
}

static int text_cb(const sto_value *cols, size_t n, void *arg)
{
    snprintf(arg, 32, "%s|%s", cols[0].s, cols[1].s);
    return 0;
}

static void test_numbered_parameters_bind_by_number_not_by_position(void **state)
{
    struct fixture *f = *state;
    char *err = NULL;
    assert_int_equal(open_db(f, &err), 0);
    sto_value p[] = {STO_TEXT_V("one"), STO_TEXT_V("two")};
    char out[32] = "";
    assert_int_equal(sto_read(f->db, "SELECT $2, $1", p, 2, text_cb, out), 0);
    assert_string_equal(out, "two|one");
}

/* Another connection holds the write lock: health says busy, then recovers by itself. */
static void test_health_reports_a_locked_database_and_recovers_by_itself(void **state)
{
    struct fixture *f = *state;
    f->cfg.busy_timeout_ms = 100;
    char *err = NULL;
    assert_int_equal(open_db(f, &err), 0);
    struct sto_db_health h;
    sto_db_health(f->db, &h);
    assert_true(h.is_ok);
    assert_string_equal(h.reason, "ok");
    char path[128];
    snprintf(path, sizeof(path), "%s/horus.db", f->dir);
    sto_conn *other = NULL;
    assert_int_equal(sto_sqlite_backend.open(path, true, 100, &other, &err), 0);
    assert_int_equal(sto_sqlite_backend.tx(other, STO_TX_BEGIN, NULL), 0);
    assert_true(sto_setting_put(f->db, "k", "1") < 0);
    sto_db_health(f->db, &h);
    assert_false(h.is_ok);
    assert_string_equal(h.reason, "busy");
    assert_non_null(strstr(h.detail, "index writes failing"));
    assert_int_equal(sto_sqlite_backend.tx(other, STO_TX_COMMIT, NULL), 0);
    sto_sqlite_backend.close(other);
    /* Nothing else writes: the idle writer's probe, each second after a failure, clears it. */
    for (int i = 0; i < 50 && !h.is_ok; i++) {
        usleep(100 * 1000);
        sto_db_health(f->db, &h);
    }
    assert_true(h.is_ok);
    assert_int_equal(sto_setting_put(f->db, "k", "2"), 0);
}

/* Whether a thread of this process is named name. */
static bool has_thread(const char *name)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "grep -qx '%s' /proc/%d/task/*/comm", name, (int)getpid());
    return system(cmd) == 0;
}

static long file_size(const char *dir, const char *name)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/*
 * The WAL is checkpointed by "sto-ckpt", not by the writer's commits: the
 * rows reach the database file while the daemon runs, and the WAL stays
 * far below what was written.
 */
static void test_checkpoints_run_on_their_own_thread_and_bound_the_wal(void **state)
{
    struct fixture *f = *state;
    char *err = NULL;
    assert_false(has_thread("sto-ckpt"));
    assert_int_equal(open_db(f, &err), 0);
    assert_true(has_thread("sto-ckpt"));
    static char value[8192];
    memset(value, 'v', sizeof(value) - 1);
    enum { ROWS = 4000 }; /* ~32 MB written, ~8,000 pages */
    for (int i = 0; i < ROWS; i++) {
        char key[32];
        snprintf(key, sizeof(key), "bulk-%d", i);
        sto_value p[] = {STO_TEXT_V(key), STO_TEXT_V(value)};
        int rc;
        while ((rc = sto_write_async(f->db,
                                     "INSERT INTO settings(key, value, updated_at_ms)"
                                     " VALUES ($1, $2, 0)",
                                     p, 2, NULL, NULL)) == -EAGAIN)
            usleep(1000);
        assert_int_equal(rc, 0);
    }
    assert_int_equal(sto_setting_put(f->db, "last", "1"), 0); /* after every queued write */
    long db_size = 0;
    for (int i = 0; i < 100 && (db_size = file_size(f->dir, "horus.db")) < 24L << 20; i++)
        usleep(50 * 1000);
    assert_true(db_size >= 24L << 20);
    assert_true(file_size(f->dir, "horus.db-wal") < 24L << 20); /* ~34 MB unchecked */
    sto_stop(f->db);
    sto_close(f->db);
    f->db = NULL;
    assert_false(has_thread("sto-ckpt"));
}

static int count_rows(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM t", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void *end_read_later(void *arg)
{
    usleep(200 * 1000);
    assert_int_equal(sqlite3_exec(arg, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    return NULL;
}

/*
 * Once the WAL is deleted under the writer, a commit is copied into the
 * main file before the writer goes on, even while a reader still holds an
 * older snapshot (a PASSIVE checkpoint would leave the commit in the
 * unlinked WAL, and a crash then would lose it): the main file alone,
 * copied away, holds every committed row.
 */
static void test_a_commit_after_the_wal_is_deleted_reaches_the_main_file(void **state)
{
    struct fixture *f = *state;
    char path[128], wal[160], copy[160], cmd[400];
    snprintf(path, sizeof(path), "%s/horus.db", f->dir);
    snprintf(wal, sizeof(wal), "%s-wal", path);
    snprintf(copy, sizeof(copy), "%s/copy.db", f->dir);
    sto_conn *w = NULL;
    char *err = NULL;
    assert_int_equal(sto_sqlite_backend.open(path, true, 2000, &w, &err), 0);
    assert_int_equal(sto_sqlite_backend.exec_script(
                         w, "CREATE TABLE t(v INTEGER); INSERT INTO t VALUES (1)", &err),
                     0);
    assert_int_equal(sto_sqlite_backend.check(w, &err), 0); /* notes the WAL it opened */
    sqlite3 *r = NULL; /* a reader opened before the deletion, like the daemon's */
    assert_int_equal(sqlite3_open(path, &r), SQLITE_OK);
    assert_int_equal(count_rows(r), 1);
    assert_int_equal(unlink(wal), 0);
    assert_int_equal(sto_sqlite_backend.check(w, &err), HORUS_EDB);
    assert_non_null(strstr(err, "was deleted under the running daemon"));
    free(err);
    err = NULL;
    assert_int_equal(sqlite3_exec(r, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(count_rows(r), 1); /* holds the snapshot before the next commit */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, end_read_later, r), 0);
    assert_int_equal(sto_sqlite_backend.exec_script(w, "INSERT INTO t VALUES (2)", &err), 0);
    pthread_join(t, NULL);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path, copy);
    assert_int_equal(system(cmd), 0);
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open(copy, &c), SQLITE_OK);
    assert_int_equal(count_rows(c), 2);
    sqlite3_close(c);
    sqlite3_close(r);
    sto_sqlite_backend.close(w);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_creates_file_and_applies_migrations),
        T(test_reopening_keeps_data_and_does_not_reapply_migrations),
        T(test_settings_update_in_place_and_missing_key_is_enoent),
        T(test_a_failing_write_fails_alone_and_the_batch_commits),
        T(test_a_constraint_violation_is_reported_as_eexist),
        T(test_full_write_queue_refuses_instead_of_blocking),
        T(test_the_writer_runs_only_between_start_and_stop),
        T(test_unreachable_postgres_and_unknown_urls_are_refused_with_a_reason),
        T(test_a_database_newer_than_the_binary_is_refused),
        T(test_explicit_sqlite_url_creates_parent_directories),
        T(test_numbered_parameters_bind_by_number_not_by_position),
        T(test_health_reports_a_locked_database_and_recovers_by_itself),
        T(test_checkpoints_run_on_their_own_thread_and_bound_the_wal),
        T(test_a_commit_after_the_wal_is_deleted_reaches_the_main_file),
    };
    return cmocka_run_group_tests_name("storage", tests, NULL, NULL);
}
