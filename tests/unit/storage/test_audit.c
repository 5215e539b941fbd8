/*
 * Tests for src/storage/audit.c: appends chained on the writer thread (ids
 * without gaps, each prev_hash the previous hash, each hash recomputable),
 * the in-memory head following commits and not failed writes, the
 * canonical form, and the filtered, cursor-paged list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage_int.h"
#include "sto_fixture.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct wait {
    pthread_mutex_t lock;
    int rc, calls;
};

static void done_cb(int rc, void *arg)
{
    struct wait *w = arg;
    pthread_mutex_lock(&w->lock);
    w->rc = rc;
    w->calls++;
    pthread_mutex_unlock(&w->lock);
}

static void append(struct sto_fixture *f, int64_t time_us, const char *action, const char *target,
                   const char *outcome)
{
    struct sto_audit_input in = {.time_us = time_us,
                                 .actor_kind = "user",
                                 .actor_id = "u1",
                                 .actor_name = "alice",
                                 .client = "127.0.0.1",
                                 .action = action,
                                 .target_kind = "camera",
                                 .target_id = target,
                                 .outcome = outcome,
                                 .details = "{\"a\":1}"};
    assert_int_equal(sto_audit_append_async(f->db, &in, NULL, NULL), 0);
}

static int collect(void *arg, const struct sto_audit_entry *e)
{
    struct sto_audit_entry *prev = arg;
    char h[STO_AUDIT_HASH_LEN];
    assert_int_equal(e->id, prev->id + 1);
    assert_string_equal(e->prev_hash, prev->hash);
    sto_audit_hash(e, e->prev_hash, h);
    assert_string_equal(h, e->hash);
    prev->id = e->id;
    snprintf(prev->hash, STO_AUDIT_HASH_LEN, "%s", e->hash);
    return 0;
}

static void test_appends_are_chained_from_the_genesis_hash(void **state)
{
    struct sto_fixture *f = *state;
    int64_t id;
    char head[STO_AUDIT_HASH_LEN];
    sto_audit_head(f->db, &id, head);
    assert_int_equal(id, 0);
    assert_string_equal(head, STO_AUDIT_GENESIS);
    for (int i = 0; i < 20; i++)
        append(f, 1000 + i, "camera.created", "cam", "ok");
    assert_int_equal(sto_audit_sync(f->db), 0);
    char last[STO_AUDIT_HASH_LEN] = STO_AUDIT_GENESIS;
    struct sto_audit_entry prev = {.id = 0, .hash = last};
    assert_int_equal(sto_audit_foreach(f->db, collect, &prev), 0);
    assert_int_equal(prev.id, 20);
    sto_audit_head(f->db, &id, head);
    assert_int_equal(id, 20);
    assert_string_equal(head, last);

    struct sto_audit_entry e;
    assert_int_equal(sto_audit_get(f->db, 1, &e), 0);
    assert_string_equal(e.prev_hash, STO_AUDIT_GENESIS);
    assert_string_equal(e.actor_name, "alice");
    assert_string_equal(e.details, "{\"a\":1}");
    assert_int_equal(e.time_us, 1000);
    sto_audit_entry_release(&e);
    assert_int_equal(sto_audit_get(f->db, 21, &e), -ENOENT);
}

static void test_the_head_survives_a_reopen(void **state)
{
    struct sto_fixture *f = *state;
    append(f, 1, "login.ok", "x", "ok");
    append(f, 2, "logout", "x", "ok");
    assert_int_equal(sto_audit_sync(f->db), 0);
    int64_t id;
    char head[STO_AUDIT_HASH_LEN], again[STO_AUDIT_HASH_LEN];
    sto_audit_head(f->db, &id, head);
    sto_close(f->db);
    struct sto_database_config cfg = {
        .url = f->url, .busy_timeout_ms = 5000, .batch_max = 64, .queue_max = 1024, .readers = 2};
    char *err = NULL;
    assert_int_equal(sto_open(&(struct sto_open_options){.db = &cfg}, &f->db, &err), 0);
    assert_int_equal(sto_start(f->db), 0);
    sto_audit_head(f->db, &id, again);
    assert_int_equal(id, 2);
    assert_string_equal(again, head);
    append(f, 3, "login.ok", "x", "ok");
    assert_int_equal(sto_audit_sync(f->db), 0);
    struct sto_audit_entry e;
    assert_int_equal(sto_audit_get(f->db, 3, &e), 0);
    assert_string_equal(e.prev_hash, head);
    sto_audit_entry_release(&e);
}

/* A failed append leaves the head where the last commit put it; the next one links to it. */
static void test_a_failed_append_does_not_move_the_head(void **state)
{
    struct sto_fixture *f = *state;
    append(f, 1, "login.ok", "x", "ok");
    assert_int_equal(sto_audit_sync(f->db), 0);
    int64_t id;
    char head[STO_AUDIT_HASH_LEN];
    sto_audit_head(f->db, &id, head);
    /* A malformed row 2 (no chain hash) is not followed: the insert fails on the primary key. */
    assert_int_equal(sto_write(f->db,
                               "INSERT INTO audit(id, time_us, action, outcome, prev_hash, hash)"
                               " VALUES (2, 0, 'x', 'ok', '', '')",
                               NULL, 0),
                     0);
    struct wait w = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct sto_audit_input in = {.time_us = 5, .action = "logout", .outcome = "ok"};
    assert_int_equal(sto_audit_append_async(f->db, &in, done_cb, &w), 0);
    assert_int_equal(sto_audit_sync(f->db), 0);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.rc, -EEXIST);
    int64_t id2;
    char head2[STO_AUDIT_HASH_LEN];
    sto_audit_head(f->db, &id2, head2);
    assert_int_equal(id2, 1);
    assert_string_equal(head2, head);
    assert_int_equal(sto_write(f->db, "DELETE FROM audit WHERE id = 2", NULL, 0), 0);
    assert_int_equal(sto_audit_append_async(f->db, &in, done_cb, &w), 0);
    assert_int_equal(sto_audit_sync(f->db), 0);
    assert_int_equal(w.rc, 0);
    struct sto_audit_entry e;
    assert_int_equal(sto_audit_get(f->db, 2, &e), 0);
    assert_string_equal(e.prev_hash, head);
    sto_audit_entry_release(&e);
}

static void test_appends_without_action_or_outcome_are_refused(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_audit_input in = {.action = "x", .outcome = "maybe"};
    assert_int_equal(sto_audit_append_async(f->db, &in, NULL, NULL), -EINVAL);
    in = (struct sto_audit_input){.action = "", .outcome = "ok"};
    assert_int_equal(sto_audit_append_async(f->db, &in, NULL, NULL), -EINVAL);
}

static void test_the_canonical_form_separates_fields(void **state)
{
    (void)state;
    struct sto_audit_entry a = {.id = 1, .actor_id = "ab", .actor_name = "c", .action = "x"};
    struct sto_audit_entry b = {.id = 1, .actor_id = "a", .actor_name = "bc", .action = "x"};
    char ha[STO_AUDIT_HASH_LEN], hb[STO_AUDIT_HASH_LEN];
    sto_audit_hash(&a, STO_AUDIT_GENESIS, ha);
    sto_audit_hash(&b, STO_AUDIT_GENESIS, hb);
    assert_string_not_equal(ha, hb);
    char *form;
    size_t len;
    sto_audit_canonical(&a, &form, &len);
    assert_int_equal(len, strlen(form));
    assert_string_equal(form, "14:horus-audit-v1;1:1;1:0;0:;2:ab;1:c;0:;0:;1:x;0:;0:;0:;0:;");
    free(form);
    /* The same fields after another prev_hash hash differently. */
    sto_audit_hash(&a, "1111111111111111111111111111111111111111111111111111111111111111", hb);
    assert_string_not_equal(ha, hb);
}

static void test_list_filters_and_pages(void **state)
{
    struct sto_fixture *f = *state;
    for (int i = 1; i <= 10; i++)
        append(f, i * 1000, i % 2 ? "login.ok" : "login.failed", i <= 5 ? "a" : "b",
               i % 2 ? "ok" : "failed");
    append(f, 11000, "camera.deleted", "a", "ok");
    assert_int_equal(sto_audit_sync(f->db), 0);

    struct sto_audit_entry *list;
    size_t n;
    bool more;
    struct sto_audit_filter fl = {0};
    assert_int_equal(sto_audit_list(f->db, &fl, 4, &list, &n, &more), 0);
    assert_int_equal(n, 4);
    assert_true(more);
    assert_int_equal(list[0].id, 11); /* newest first */
    assert_int_equal(list[3].id, 8);
    fl.after_id = list[3].id;
    sto_audit_list_free(list, n);
    assert_int_equal(sto_audit_list(f->db, &fl, 100, &list, &n, &more), 0);
    assert_int_equal(n, 7);
    assert_false(more);
    assert_int_equal(list[0].id, 7);
    sto_audit_list_free(list, n);

    fl = (struct sto_audit_filter){.action = "login.*", .oldest_first = true};
    assert_int_equal(sto_audit_list(f->db, &fl, 100, &list, &n, &more), 0);
    assert_int_equal(n, 10);
    assert_int_equal(list[0].id, 1);
    sto_audit_list_free(list, n);

    fl = (struct sto_audit_filter){.action = "login.failed", .target_id = "b"};
    assert_int_equal(sto_audit_list(f->db, &fl, 100, &list, &n, &more), 0);
    assert_int_equal(n, 3); /* 6, 8, 10 */
    assert_int_equal(list[0].id, 10);
    sto_audit_list_free(list, n);

    fl = (struct sto_audit_filter){
        .has_from = true, .from_us = 3000, .has_to = true, .to_us = 6000, .outcome = "ok"};
    assert_int_equal(sto_audit_list(f->db, &fl, 100, &list, &n, &more), 0);
    assert_int_equal(n, 2); /* 3 and 5 */
    assert_int_equal(list[0].id, 5);
    assert_int_equal(list[1].id, 3);
    sto_audit_list_free(list, n);

    fl = (struct sto_audit_filter){.actor = "alice", .target_kind = "camera", .action = "camera.*"};
    assert_int_equal(sto_audit_list(f->db, &fl, 100, &list, &n, &more), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].action, "camera.deleted");
    sto_audit_list_free(list, n);

    fl = (struct sto_audit_filter){.actor = "bob"};
    assert_int_equal(sto_audit_list(f->db, &fl, 100, &list, &n, &more), 0);
    assert_int_equal(n, 0);
    sto_audit_list_free(list, n);

    int64_t id;
    char hash[STO_AUDIT_HASH_LEN];
    sto_audit_head(f->db, &id, hash);
    int64_t found;
    assert_int_equal(sto_audit_find_hash(f->db, hash, &found), 0);
    assert_int_equal(found, 11);
    assert_int_equal(sto_audit_find_hash(f->db, STO_AUDIT_GENESIS, &found), -ENOENT);
}

/* Appends from several threads still form one gapless chain. */
static void *append_many(void *arg)
{
    struct sto_fixture *f = arg;
    for (int i = 0; i < 200; i++) {
        struct sto_audit_input in = {.time_us = i, .action = "snapshot", .outcome = "ok"};
        if (sto_audit_append_async(f->db, &in, NULL, NULL) < 0)
            return (void *)1;
    }
    return NULL;
}

static void test_concurrent_appends_form_one_chain(void **state)
{
    struct sto_fixture *f = *state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, append_many, f), 0);
    void *failed[4];
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], &failed[i]);
    for (int i = 0; i < 4; i++)
        assert_null(failed[i]);
    assert_int_equal(sto_audit_sync(f->db), 0);
    char last[STO_AUDIT_HASH_LEN] = STO_AUDIT_GENESIS;
    struct sto_audit_entry prev = {.id = 0, .hash = last};
    assert_int_equal(sto_audit_foreach(f->db, collect, &prev), 0);
    assert_int_equal(prev.id, 800);
}

/* Two nodes' handles on one database, each appending from two threads. */
struct node_appender {
    sto_db *db;
    int rc;
};

static void *node_append(void *arg)
{
    struct node_appender *n = arg;
    for (int i = 0; i < 100 && n->rc == 0; i++) {
        struct sto_audit_input in = {.time_us = i, .action = "snapshot", .outcome = "ok"};
        n->rc = sto_audit_append_async(n->db, &in, NULL, NULL);
    }
    return NULL;
}

/*
 * Nodes sharing a database append to one chain: each continues from the
 * other's rows instead of colliding on the next id (before, the second
 * node's entries failed with a duplicate key and were lost).
 */
static void test_two_nodes_on_one_database_append_to_one_chain(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_database_config cfg = {
        .url = f->url, .busy_timeout_ms = 5000, .batch_max = 64, .queue_max = 1024, .readers = 2};
    char *err = NULL;
    sto_db *other;
    assert_int_equal(sto_open(&(struct sto_open_options){.db = &cfg}, &other, &err), 0);
    assert_int_equal(sto_start(other), 0);
    append(f, 1, "daemon.started", "n1", "ok"); /* the first node's head moves past the other's */
    assert_int_equal(sto_audit_sync(f->db), 0);
    struct node_appender n[4] = {{f->db, 0}, {other, 0}, {f->db, 0}, {other, 0}};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, node_append, &n[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(n[i].rc, 0);
    }
    assert_int_equal(sto_audit_sync(f->db), 0);
    assert_int_equal(sto_audit_sync(other), 0);
    char last[STO_AUDIT_HASH_LEN] = STO_AUDIT_GENESIS;
    struct sto_audit_entry prev = {.id = 0, .hash = last};
    assert_int_equal(sto_audit_foreach(f->db, collect, &prev), 0);
    assert_int_equal(prev.id, 401);
    /* Each node's head is the last row it committed or saw; the next append follows both. */
    append(f, 2, "daemon.stopped", "n1", "ok");
    assert_int_equal(sto_audit_sync(f->db), 0);
    struct sto_audit_entry e;
    assert_int_equal(sto_audit_get(f->db, 402, &e), 0);
    assert_string_equal(e.prev_hash, last);
    sto_audit_entry_release(&e);
    sto_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_appends_are_chained_from_the_genesis_hash,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_the_head_survives_a_reopen, sto_fixture_setup,
                                        sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_append_does_not_move_the_head,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_appends_without_action_or_outcome_are_refused,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test(test_the_canonical_form_separates_fields),
        cmocka_unit_test_setup_teardown(test_list_filters_and_pages, sto_fixture_setup,
                                        sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appends_form_one_chain, sto_fixture_setup,
                                        sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_two_nodes_on_one_database_append_to_one_chain,
                                        sto_fixture_setup, sto_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
