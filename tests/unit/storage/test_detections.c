/*
 * Tests for src/storage/detections.c (docs/design/0046-detections-ingest.md):
 * a batch stored whole and numbered after the largest id, its done callback
 * after the commit, lists newest first through every filter and the
 * cursor, the retention delete bounded per batch, oldest first, and the
 * Idempotency-Key rows: a retry replays, another body is refused, keys are
 * per source, expire, go with retention, and two at once store once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage.h"
#include "sto_fixture.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SEC_US INT64_C(1000000)

/* What a done callback saw, written on the writer thread, read after wait(). */
struct outcome {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool is_done;
    int rc;
    size_t deleted;
};

static void outcome_init(struct outcome *o)
{
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->cond, NULL);
    o->is_done = false;
}

static void finish(struct outcome *o, int rc, size_t deleted)
{
    pthread_mutex_lock(&o->lock);
    o->rc = rc;
    o->deleted = deleted;
    o->is_done = true;
    pthread_cond_signal(&o->cond);
    pthread_mutex_unlock(&o->lock);
}

static void inserted(int rc, void *arg)
{
    finish(arg, rc, 0);
}

static void pruned(int rc, size_t deleted, void *arg)
{
    finish(arg, rc, deleted);
}

static void wait_for(struct outcome *o)
{
    pthread_mutex_lock(&o->lock);
    while (!o->is_done)
        pthread_cond_wait(&o->cond, &o->lock);
    pthread_mutex_unlock(&o->lock);
    pthread_cond_destroy(&o->cond);
    pthread_mutex_destroy(&o->lock);
}

static int insert(struct sto_fixture *f, const struct sto_detection_input *rows, size_t n)
{
    struct outcome o;
    outcome_init(&o);
    int rc = sto_detections_insert_async(f->db, rows, n, "key:k1", 1000 * SEC_US, inserted, &o);
    if (rc < 0)
        return rc;
    wait_for(&o);
    return o.rc;
}

static struct sto_detection_input row(const char *camera, int64_t t_s, const char *label)
{
    return (struct sto_detection_input){.camera_id = camera,
                                        .time_us = t_s * SEC_US,
                                        .label = label,
                                        .score = 0.75,
                                        .x0 = 0.1,
                                        .y0 = 0.2,
                                        .x1 = 0.3,
                                        .y1 = 0.4};
}

/* The ids of the rows f lists, newest first, at most 16. */
static size_t list_ids(struct sto_fixture *f, const struct sto_detection_filter *flt, size_t limit,
                       int64_t ids[16], bool *has_more)
{
    struct sto_detection *list = NULL;
    size_t n = 0;
    assert_int_equal(sto_detection_list(f->db, flt, limit, &list, &n, has_more), 0);
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++)
        ids[i] = list[i].id;
    sto_detection_list_free(list, n);
    return n;
}

static void test_a_batch_is_stored_whole_with_ids_after_the_largest(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_detection_input rows[3] = {row("cam-a", 100, "person"), row("cam-a", 101, "car"),
                                          row("cam-b", 102, "person")};
    rows[1].track_id = "t-7";
    rows[1].attributes = "{\"color\":\"red\"}";
    assert_int_equal(insert(f, rows, 3), 0);
    assert_int_equal(insert(f, rows, 1), 0);
    struct sto_detection *list = NULL;
    size_t n = 0;
    bool has_more = true;
    struct sto_detection_filter all = {0};
    assert_int_equal(sto_detection_list(f->db, &all, 10, &list, &n, &has_more), 0);
    assert_int_equal(n, 4);
    assert_false(has_more);
    /* Newest first: 102 (id 3), 101 (id 2), then the two rows at 100, higher id first. */
    assert_int_equal(list[0].id, 3);
    assert_int_equal(list[1].id, 2);
    assert_int_equal(list[2].id, 4);
    assert_int_equal(list[3].id, 1);
    assert_string_equal(list[1].camera_id, "cam-a");
    assert_string_equal(list[1].label, "car");
    assert_string_equal(list[1].track_id, "t-7");
    assert_string_equal(list[1].attributes, "{\"color\":\"red\"}");
    assert_string_equal(list[1].source, "key:k1");
    assert_int_equal(list[1].received_us, 1000 * SEC_US);
    assert_true(list[1].score == 0.75 && list[1].x0 == 0.1 && list[1].y1 == 0.4);
    assert_string_equal(list[0].track_id, "");
    assert_string_equal(list[0].attributes, "{}");
    assert_string_equal(list[0].tenant, "");
    sto_detection_list_free(list, n);
}

static void test_rows_without_camera_or_label_are_refused_and_the_callback_not_called(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_detection_input rows[2] = {row("cam-a", 100, "person"), row(NULL, 100, "x")};
    struct outcome o = {0};
    assert_int_equal(sto_detections_insert_async(f->db, rows, 2, "s", 1, inserted, &o), -EINVAL);
    assert_int_equal(sto_detections_insert_async(f->db, rows, 0, "s", 1, inserted, &o), -EINVAL);
    assert_false(o.is_done);
    struct sto_detection_filter all = {0};
    int64_t ids[16];
    bool has_more;
    assert_int_equal(list_ids(f, &all, 10, ids, &has_more), 0);
}

static void test_filters_combine_and_the_cursor_visits_every_row_once(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_detection_input rows[8];
    for (int i = 0; i < 8; i++)
        rows[i] = row(i % 2 ? "cam-b" : "cam-a", 100 + i / 2, i < 4 ? "person" : "car");
    assert_int_equal(insert(f, rows, 8), 0); /* ids 1..8 */
    int64_t ids[16];
    bool has_more;
    struct sto_detection_filter flt = {.camera_id = "cam-a"};
    assert_int_equal(list_ids(f, &flt, 10, ids, &has_more), 4);
    assert_true(ids[0] == 7 && ids[1] == 5 && ids[2] == 3 && ids[3] == 1);
    flt = (struct sto_detection_filter){.camera_id = "cam-b", .label = "car"};
    assert_int_equal(list_ids(f, &flt, 10, ids, &has_more), 2);
    assert_true(ids[0] == 8 && ids[1] == 6);
    flt = (struct sto_detection_filter){.after_us = 101 * SEC_US, .before_us = 103 * SEC_US};
    assert_int_equal(list_ids(f, &flt, 10, ids, &has_more), 4);
    assert_true(ids[0] == 6 && ids[3] == 3);
    /* Pages of 3 over all 8, continuing after the last (time, id) of each page. */
    flt = (struct sto_detection_filter){0};
    int64_t seen[8];
    size_t nseen = 0;
    for (;;) {
        struct sto_detection *list = NULL;
        size_t n = 0;
        assert_int_equal(sto_detection_list(f->db, &flt, 3, &list, &n, &has_more), 0);
        for (size_t i = 0; i < n; i++) {
            assert_true(nseen < 8);
            seen[nseen++] = list[i].id;
        }
        if (n) {
            flt.has_cursor = true;
            flt.cursor_time_us = list[n - 1].time_us;
            flt.cursor_id = list[n - 1].id;
        }
        sto_detection_list_free(list, n);
        if (!has_more)
            break;
    }
    static const int64_t want[8] = {8, 7, 6, 5, 4, 3, 2, 1};
    assert_int_equal(nseen, 8);
    assert_memory_equal(seen, want, sizeof(want));
}

static void test_retention_deletes_the_oldest_rows_a_bounded_batch_at_a_time(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_detection_input rows[10];
    for (int i = 0; i < 10; i++)
        rows[i] = row("cam-a", 100 + i, "person");
    assert_int_equal(insert(f, rows, 10), 0);
    struct outcome o;
    outcome_init(&o);
    assert_int_equal(sto_detections_prune_async(f->db, 106 * SEC_US, 0, 4, pruned, &o), 0);
    wait_for(&o);
    assert_int_equal(o.rc, 0);
    assert_int_equal(o.deleted, 4); /* 100..103: the bound, oldest first */
    outcome_init(&o);
    assert_int_equal(sto_detections_prune_async(f->db, 106 * SEC_US, 0, 4, pruned, &o), 0);
    wait_for(&o);
    assert_int_equal(o.deleted, 2); /* 104, 105: nothing at or after the cutoff */
    int64_t ids[16];
    bool has_more;
    struct sto_detection_filter all = {0};
    assert_int_equal(list_ids(f, &all, 16, ids, &has_more), 4);
    assert_true(ids[0] == 10 && ids[3] == 7);
}

/* A keyed insert of rows[0..n) by source at received_us; the key expires before since_us. */
static int insert_keyed(struct sto_fixture *f, const struct sto_detection_input *rows, size_t n,
                        const char *source, const char *key, const char *hash, int64_t received_us,
                        int64_t since_us, struct sto_detection_key_result *res)
{
    struct outcome o;
    outcome_init(&o);
    struct sto_detection_key k = {.key = key, .body_hash = hash, .since_us = since_us};
    int rc = sto_detections_insert_keyed_async(f->db, rows, n, source, received_us, &k, res,
                                               inserted, &o);
    if (rc < 0)
        return rc;
    wait_for(&o);
    return o.rc;
}

static size_t count_all(struct sto_fixture *f)
{
    int64_t ids[16];
    bool has_more;
    struct sto_detection_filter all = {0};
    return list_ids(f, &all, 16, ids, &has_more);
}

static void test_a_key_replays_the_first_count_and_refuses_another_body(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_detection_input rows[3] = {row("cam-a", 100, "person"), row("cam-a", 101, "car"),
                                          row("cam-b", 102, "person")};
    struct sto_detection_key_result res = {.outcome = STO_DET_KEY_REUSED};
    assert_int_equal(insert_keyed(f, rows, 3, "key:w1", "k-1", "h1", 1000 * SEC_US, 0, &res), 0);
    assert_int_equal(res.outcome, STO_DET_KEY_NEW);
    /* The retry: the same key and body, even with other rows in hand, stores nothing. */
    assert_int_equal(insert_keyed(f, rows, 1, "key:w1", "k-1", "h1", 1001 * SEC_US, 0, &res), 0);
    assert_int_equal(res.outcome, STO_DET_KEY_REPLAY);
    assert_int_equal(res.stored, 3);
    assert_int_equal(insert_keyed(f, rows, 2, "key:w1", "k-1", "h2", 1002 * SEC_US, 0, &res), 0);
    assert_int_equal(res.outcome, STO_DET_KEY_REUSED);
    assert_int_equal(count_all(f), 3);
    /* Another caller's same key is its own. */
    assert_int_equal(insert_keyed(f, rows, 2, "key:w2", "k-1", "h1", 1003 * SEC_US, 0, &res), 0);
    assert_int_equal(res.outcome, STO_DET_KEY_NEW);
    assert_int_equal(count_all(f), 5);
}

static void test_an_expired_key_stores_again_and_retention_deletes_old_keys(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_detection_input rows[1] = {row("cam-a", 100, "person")};
    struct sto_detection_key_result res;
    assert_int_equal(insert_keyed(f, rows, 1, "user:ann", "k", "h", 1000 * SEC_US, 0, &res), 0);
    assert_int_equal(res.outcome, STO_DET_KEY_NEW);
    /* Past the window (created before since_us): a new batch. */
    assert_int_equal(
        insert_keyed(f, rows, 1, "user:ann", "k", "h", 2000 * SEC_US, 1500 * SEC_US, &res), 0);
    assert_int_equal(res.outcome, STO_DET_KEY_NEW);
    assert_int_equal(count_all(f), 2);
    /* Retention deletes keys created before its cutoff (2000 s stays, so this replays). */
    struct outcome o;
    outcome_init(&o);
    assert_int_equal(sto_detections_prune_async(f->db, 0, 1999 * SEC_US, 4, pruned, &o), 0);
    wait_for(&o);
    assert_int_equal(o.rc, 0);
    assert_int_equal(insert_keyed(f, rows, 1, "user:ann", "k", "h", 2001 * SEC_US, 0, &res), 0);
    assert_int_equal(res.outcome, STO_DET_KEY_REPLAY);
    outcome_init(&o);
    assert_int_equal(sto_detections_prune_async(f->db, 0, 2001 * SEC_US, 4, pruned, &o), 0);
    wait_for(&o);
    /* The key went: the same key stores again even with since_us 0. */
    assert_int_equal(insert_keyed(f, rows, 1, "user:ann", "k", "h", 2002 * SEC_US, 0, &res), 0);
    assert_int_equal(res.outcome, STO_DET_KEY_NEW);
    assert_int_equal(count_all(f), 3);
}

static void test_two_batches_with_one_key_queued_together_store_once(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_detection_input rows[2] = {row("cam-a", 100, "person"), row("cam-a", 101, "car")};
    struct sto_detection_key k = {.key = "same", .body_hash = "h", .since_us = 0};
    struct sto_detection_key_result res[2];
    struct outcome o[2];
    for (int i = 0; i < 2; i++) {
        outcome_init(&o[i]);
        assert_int_equal(sto_detections_insert_keyed_async(f->db, rows, 2, "key:w1", 1000 * SEC_US,
                                                           &k, &res[i], inserted, &o[i]),
                         0);
    }
    wait_for(&o[0]);
    wait_for(&o[1]);
    assert_int_equal(o[0].rc, 0);
    assert_int_equal(o[1].rc, 0);
    assert_int_equal(res[0].outcome, STO_DET_KEY_NEW);
    assert_int_equal(res[1].outcome, STO_DET_KEY_REPLAY);
    assert_int_equal(res[1].stored, 2);
    assert_int_equal(count_all(f), 2);
}

#define T(name) cmocka_unit_test_setup_teardown(name, sto_fixture_setup, sto_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_a_batch_is_stored_whole_with_ids_after_the_largest),
        T(test_rows_without_camera_or_label_are_refused_and_the_callback_not_called),
        T(test_filters_combine_and_the_cursor_visits_every_row_once),
        T(test_retention_deletes_the_oldest_rows_a_bounded_batch_at_a_time),
        T(test_a_key_replays_the_first_count_and_refuses_another_body),
        T(test_an_expired_key_stores_again_and_retention_deletes_old_keys),
        T(test_two_batches_with_one_key_queued_together_store_once),
    };
    return cmocka_run_group_tests_name("storage.detections", tests, NULL, NULL);
}
