/*
 * Where browsing reads go with a read replica (replica.c, docs/design/0072):
 * its choices against a scripted backend and a fake clock, so each outcome
 * (behind, unreachable, failing before or after a row) is forced exactly.
 * tests/integration/test_postgres_replica.py runs the same code against a
 * real streaming standby.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"
#include "err.h"
#include "metrics.h"
#include "replica.h"
#include "storage.h"
#include "storage_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- a scripted backend ---- */

struct sto_conn {
    int id;
};

static struct script {
    int open_rc; /* what the next open returns */
    int query_rc; /* what the next query returns (after rows_before_rc rows) */
    int rows_before_rc;
    int lag_rc;
    int64_t lag_ms;
    int opens, closes, queries, lag_checks;
} sc;

static int fake_open(const char *target, bool is_writer, int64_t busy_timeout_ms, sto_conn **out,
                     char **errmsg)
{
    (void)target, (void)busy_timeout_ms;
    assert_false(is_writer);
    if (sc.open_rc < 0) {
        *errmsg = strdup("connect to PostgreSQL 127.0.0.1:1/db as horus: refused");
        return sc.open_rc;
    }
    *out = calloc(1, sizeof(**out));
    (*out)->id = ++sc.opens;
    return 0;
}

static void fake_close(sto_conn *c)
{
    sc.closes++;
    free(c);
}

static int fake_query(sto_conn *c, const char *sql, const sto_value *params, size_t nparams,
                      sto_row_cb row_cb, void *arg, char **errmsg)
{
    (void)c, (void)sql, (void)params, (void)nparams;
    sc.queries++;
    sto_value v = STO_INT_V(7);
    for (int i = 0; i < sc.rows_before_rc; i++)
        if (row_cb)
            row_cb(&v, 1, arg);
    if (sc.query_rc < 0 && errmsg && !*errmsg)
        *errmsg = strdup("query: server closed the connection unexpectedly\n\tmore");
    return sc.query_rc;
}

static int fake_lag(sto_conn *c, int64_t *lag_ms, char **errmsg)
{
    (void)c, (void)errmsg;
    sc.lag_checks++;
    *lag_ms = sc.lag_ms;
    return sc.lag_rc;
}

static const struct sto_backend fake = {
    .api_version = STO_BACKEND_API_VERSION,
    .name = "fake",
    .open = fake_open,
    .close = fake_close,
    .query = fake_query,
    .replica_lag = fake_lag,
};

struct fx {
    clock_fake clock;
    metrics_registry *metrics;
    sto_replica *r;
};

static int setup(void **state)
{
    memset(&sc, 0, sizeof(sc));
    sc.rows_before_rc = 1;
    struct fx *f = calloc(1, sizeof(*f));
    clock_fake_init(&f->clock, 1700000000000);
    f->metrics = metrics_registry_new();
    f->r = sto_replica_new(&(struct sto_replica_options){.be = &fake,
                                                         .target = "postgres://replica/db",
                                                         .nconns = 2,
                                                         .max_lag_ms = 2000,
                                                         .retry_ms = 5000,
                                                         .metrics = f->metrics,
                                                         .clock = &f->clock.base});
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sto_replica_free(f->r);
    metrics_registry_free(f->metrics);
    free(f);
    return 0;
}

static int count_row(const sto_value *cols, size_t n, void *arg)
{
    (void)cols, (void)n;
    ++*(int *)arg;
    return 0;
}

/* One read; returns its rc and adds the rows it gave to *rows. */
static int read_once(struct fx *f, int *rows)
{
    return sto_replica_read(f->r, "SELECT 7", NULL, 0, count_row, rows);
}

static void assert_state(struct fx *f, const char *state, int64_t lag_ms)
{
    struct sto_replica_health h;
    sto_replica_state(f->r, &h);
    assert_true(h.is_configured);
    assert_string_equal(h.state, state);
    assert_int_equal(h.lag_ms, lag_ms);
    assert_int_equal(h.is_serving, strcmp(state, "serving") == 0);
}

static void test_a_current_replica_serves_and_is_checked_once_a_second(void **state)
{
    struct fx *f = *state;
    assert_state(f, "starting", -1);
    int rows = 0;
    assert_int_equal(read_once(f, &rows), 0);
    assert_int_equal(rows, 1);
    assert_int_equal(sc.lag_checks, 1);
    assert_state(f, "serving", 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(read_once(f, &rows), 0);
    assert_int_equal(rows, 6);
    assert_int_equal(sc.lag_checks, 1); /* within the second: no new check */
    assert_int_equal(sc.opens, 1); /* one connection, reused */
    clock_fake_advance_ms(&f->clock, 1000);
    sc.lag_ms = 300;
    assert_int_equal(read_once(f, &rows), 0);
    assert_int_equal(sc.lag_checks, 2);
    assert_state(f, "serving", 300);
}

static void test_a_replica_behind_is_left_until_it_catches_up(void **state)
{
    struct fx *f = *state;
    sc.lag_ms = 2500; /* max_lag 2 s */
    int rows = 0;
    assert_int_equal(read_once(f, &rows), STO_REPLICA_SKIPPED);
    assert_int_equal(rows, 0);
    assert_int_equal(sc.queries, 0);
    assert_state(f, "behind", 2500);
    struct sto_replica_health h;
    sto_replica_state(f->r, &h);
    assert_non_null(strstr(h.detail, "2.5 s behind (read_max_lag 2.0 s)"));
    /* Until the next check, reads skip it without asking. */
    clock_fake_advance_ms(&f->clock, 500);
    assert_int_equal(read_once(f, &rows), STO_REPLICA_SKIPPED);
    assert_int_equal(sc.lag_checks, 1);
    clock_fake_advance_ms(&f->clock, 500);
    sc.lag_ms = 0;
    assert_int_equal(read_once(f, &rows), 0);
    assert_int_equal(rows, 1);
    assert_int_equal(sc.lag_checks, 2);
    assert_state(f, "serving", 0);
    assert_int_equal(sc.closes, 0); /* being behind closes nothing */
}

static void test_a_replica_that_replayed_nothing_is_behind(void **state)
{
    struct fx *f = *state;
    sc.lag_ms = INT64_MAX;
    int rows = 0;
    assert_int_equal(read_once(f, &rows), STO_REPLICA_SKIPPED);
    assert_state(f, "behind", -1);
}

static void test_an_unreachable_replica_is_retried_after_the_pause(void **state)
{
    struct fx *f = *state;
    sc.open_rc = -EIO;
    int rows = 0;
    assert_int_equal(read_once(f, &rows), STO_REPLICA_SKIPPED);
    assert_state(f, "unreachable", -1);
    struct sto_replica_health h;
    sto_replica_state(f->r, &h);
    assert_non_null(strstr(h.detail, "127.0.0.1:1/db"));
    sc.open_rc = 0;
    clock_fake_advance_ms(&f->clock, 4999);
    assert_int_equal(read_once(f, &rows), STO_REPLICA_SKIPPED);
    assert_int_equal(sc.opens, 0); /* not tried within retry_ms */
    clock_fake_advance_ms(&f->clock, 1);
    assert_int_equal(read_once(f, &rows), 0);
    assert_int_equal(rows, 1);
    assert_state(f, "serving", 0);
}

static void test_a_read_failing_before_its_first_row_goes_to_the_primary(void **state)
{
    struct fx *f = *state;
    int rows = 0;
    assert_int_equal(read_once(f, &rows), 0);
    sc.query_rc = -EIO;
    sc.rows_before_rc = 0;
    assert_int_equal(read_once(f, &rows), STO_REPLICA_SKIPPED);
    assert_int_equal(sc.closes, 1); /* the broken connection is dropped */
    assert_state(f, "unreachable", -1);
    struct sto_replica_health h;
    sto_replica_state(f->r, &h);
    /* One line: what the log and /health show. */
    assert_string_equal(h.detail, "a read on the replica failed: query: server closed the "
                                  "connection unexpectedly");
    /* A timeout or a cancelled query is that read's only: the replica keeps serving. */
    clock_fake_advance_ms(&f->clock, 5000);
    sc.query_rc = 0;
    sc.rows_before_rc = 1;
    assert_int_equal(read_once(f, &rows), 0);
    assert_state(f, "serving", 0);
    sc.query_rc = HORUS_EDBBUSY;
    sc.rows_before_rc = 0;
    assert_int_equal(read_once(f, &rows), STO_REPLICA_SKIPPED);
    assert_state(f, "serving", 0);
    assert_int_equal(sc.closes, 1);
}

static void test_a_read_failing_after_rows_returns_its_error(void **state)
{
    struct fx *f = *state;
    sc.query_rc = -EIO;
    sc.rows_before_rc = 2;
    int rows = 0;
    /* The caller already has rows: a second answer from the primary would repeat them. */
    assert_int_equal(read_once(f, &rows), -EIO);
    assert_int_equal(rows, 2);
}

static void test_a_failed_lag_check_marks_it_unreachable(void **state)
{
    struct fx *f = *state;
    sc.lag_rc = -EIO;
    int rows = 0;
    assert_int_equal(read_once(f, &rows), STO_REPLICA_SKIPPED);
    assert_int_equal(sc.queries, 0);
    assert_int_equal(sc.closes, 1);
    assert_state(f, "unreachable", -1);
}

static void test_read_url_needs_a_backend_with_replicas(void **state)
{
    (void)state;
    char dir[] = "/tmp/horus-replica-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char url[64];
    snprintf(url, sizeof(url), "sqlite:%s/horus.db", dir);
    struct sto_database_config cfg = {.url = url,
                                      .busy_timeout_ms = 1000,
                                      .batch_max = 16,
                                      .queue_max = 64,
                                      .readers = 1,
                                      .read_url = "postgres://replica/db",
                                      .read_max_lag_ms = 5000};
    sto_db *db = NULL;
    char *err = NULL;
    assert_int_equal(sto_open(&(struct sto_open_options){.db = &cfg}, &db, &err), HORUS_ECONFIG);
    assert_non_null(err);
    assert_non_null(strstr(err, "database.read_url"));
    assert_non_null(strstr(err, "sqlite backend has no replicas"));
    free(err);
    char path[96];
    snprintf(path, sizeof(path), "%s/horus.db", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/horus.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/horus.db-shm", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_current_replica_serves_and_is_checked_once_a_second,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_replica_behind_is_left_until_it_catches_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_replica_that_replayed_nothing_is_behind, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_an_unreachable_replica_is_retried_after_the_pause,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_read_failing_before_its_first_row_goes_to_the_primary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_read_failing_after_rows_returns_its_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_lag_check_marks_it_unreachable, setup,
                                        teardown),
        cmocka_unit_test(test_read_url_needs_a_backend_with_replicas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
