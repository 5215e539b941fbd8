/*
 * Tests for src/storage/cameras.c: CRUD, paging, YAML provisioning, and the
 * split between owned rows (struct sto_camera) and borrowed inputs (struct
 * sto_camera_input).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sto_camera_input cam(const char *id, const char *url)
{
    return (struct sto_camera_input){.id = id,
                                     .name = "Cam",
                                     .url = url,
                                     .sub_url = "",
                                     .enabled = true,
                                     .record_enabled = true,
                                     .segment_seconds = 60,
                                     .retention_days = 14};
}

static void test_insert_get_update_delete_round_trip(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera_input c = cam("front", "rtsp://u:p@h/1");
    assert_int_equal(sto_camera_insert(f->db, &c), 0);
    assert_int_equal(sto_camera_insert(f->db, &c), -EEXIST);
    struct sto_camera got;
    assert_int_equal(sto_camera_get(f->db, "front", &got), 0);
    assert_string_equal(got.url, "rtsp://u:p@h/1");
    assert_true(got.enabled);
    assert_false(got.provisioned);
    assert_true(got.created_at_ms > 0);
    sto_camera_release(&got);
    c.retention_days = 30;
    c.max_bytes = 1ull << 40;
    assert_int_equal(sto_camera_update(f->db, &c), 0);
    assert_int_equal(sto_camera_get(f->db, "front", &got), 0);
    assert_int_equal(got.retention_days, 30);
    assert_true(got.max_bytes == 1ull << 40);
    sto_camera_release(&got);
    assert_int_equal(sto_camera_delete(f->db, "front"), 0);
    assert_int_equal(sto_camera_get(f->db, "front", &got), -ENOENT);
    assert_int_equal(sto_camera_delete(f->db, "front"), -ENOENT);
    struct sto_camera_input ghost = cam("ghost", "rtsp://h/");
    assert_int_equal(sto_camera_update(f->db, &ghost), -ENOENT);
}

static void test_list_pages_in_id_order(void **state)
{
    struct sto_fixture *f = *state;
    const char *ids[] = {"c", "a", "e", "b", "d"};
    for (int i = 0; i < 5; i++) {
        struct sto_camera_input c = cam(ids[i], "rtsp://h/");
        assert_int_equal(sto_camera_insert(f->db, &c), 0);
    }
    struct sto_camera *list;
    size_t n;
    bool more;
    assert_int_equal(sto_camera_list(f->db, NULL, 2, &list, &n, &more), 0);
    assert_int_equal(n, 2);
    assert_true(more);
    assert_string_equal(list[0].id, "a");
    assert_string_equal(list[1].id, "b");
    sto_camera_list_free(list, n);
    assert_int_equal(sto_camera_list(f->db, "b", 10, &list, &n, &more), 0);
    assert_int_equal(n, 3);
    assert_false(more);
    assert_string_equal(list[2].id, "e");
    sto_camera_list_free(list, n);
}

static void test_provisioning_adds_changes_and_removes_only_provisioned(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera_input manual = cam("manual", "rtsp://h/m");
    assert_int_equal(sto_camera_insert(f->db, &manual), 0);
    struct sto_camera_input yaml[] = {cam("a", "rtsp://h/a"), cam("b", "rtsp://h/b")};
    size_t add, chg, rem;
    assert_int_equal(sto_cameras_provision(f->db, yaml, 2, &add, &chg, &rem), 0);
    assert_int_equal(add, 2);
    assert_int_equal(chg + rem, 0);
    /* Same file again: nothing to do. */
    assert_int_equal(sto_cameras_provision(f->db, yaml, 2, &add, &chg, &rem), 0);
    assert_int_equal(add + chg + rem, 0);
    /* b changes, a goes away, c arrives. */
    struct sto_camera_input next[] = {cam("b", "rtsp://h/b2"), cam("c", "rtsp://h/c")};
    assert_int_equal(sto_cameras_provision(f->db, next, 2, &add, &chg, &rem), 0);
    assert_int_equal(add, 1);
    assert_int_equal(chg, 1);
    assert_int_equal(rem, 1);
    struct sto_camera got;
    assert_int_equal(sto_camera_get(f->db, "a", &got), -ENOENT);
    assert_int_equal(sto_camera_get(f->db, "b", &got), 0);
    assert_string_equal(got.url, "rtsp://h/b2");
    assert_true(got.provisioned);
    sto_camera_release(&got);
    /* The API-made camera is untouched by provisioning. */
    assert_int_equal(sto_camera_get(f->db, "manual", &got), 0);
    assert_false(got.provisioned);
    sto_camera_release(&got);
}

static void test_update_from_a_read_row_changes_only_what_the_caller_changed(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera_input c = cam("front", "rtsp://u:p@h/1");
    c.name = "Front door";
    c.sub_url = "rtsp://u:p@h/2";
    c.max_bytes = 777;
    assert_int_equal(sto_camera_insert(f->db, &c), 0);
    /* PATCH: read the row, change one field of its input view, write it back. */
    struct sto_camera row;
    assert_int_equal(sto_camera_get(f->db, "front", &row), 0);
    int64_t created = row.created_at_ms;
    struct sto_camera_input in = sto_camera_input_of(&row);
    in.retention_days = 3;
    assert_int_equal(sto_camera_update(f->db, &in), 0);
    sto_camera_release(&row);
    struct sto_camera got;
    assert_int_equal(sto_camera_get(f->db, "front", &got), 0);
    assert_int_equal(got.retention_days, 3);
    assert_string_equal(got.name, "Front door");
    assert_string_equal(got.url, "rtsp://u:p@h/1");
    assert_string_equal(got.sub_url, "rtsp://u:p@h/2");
    assert_true(got.enabled && got.record_enabled);
    assert_int_equal(got.segment_seconds, 60);
    assert_true(got.max_bytes == 777);
    assert_int_equal(got.created_at_ms, created);
    assert_true(got.updated_at_ms >= created);
    sto_camera_release(&got);
}

static void test_an_input_with_only_some_fields_set_replaces_the_rest(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera_input c = cam("front", "rtsp://h/1");
    c.sub_url = "rtsp://h/2";
    c.max_bytes = 5;
    assert_int_equal(sto_camera_insert(f->db, &c), 0);
    /* PUT: an input is the whole row; unset strings store "" and unset numbers 0. */
    struct sto_camera_input put = {.id = "front", .url = "rtsp://h/3", .segment_seconds = 10};
    assert_int_equal(sto_camera_update(f->db, &put), 0);
    struct sto_camera got;
    assert_int_equal(sto_camera_get(f->db, "front", &got), 0);
    assert_string_equal(got.url, "rtsp://h/3");
    assert_string_equal(got.name, "");
    assert_string_equal(got.sub_url, "");
    assert_false(got.enabled);
    assert_false(got.record_enabled);
    assert_int_equal(got.segment_seconds, 10);
    assert_int_equal(got.retention_days, 0);
    assert_true(got.max_bytes == 0);
    sto_camera_release(&got);
}

static void test_provisioning_compares_values_not_pointers_and_counts_takeovers(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera_input api = cam("taken", "rtsp://h/t");
    assert_int_equal(sto_camera_insert(f->db, &api), 0);
    char url[32];
    snprintf(url, sizeof(url), "rtsp://h/%s", "a");
    struct sto_camera_input yaml[] = {cam("a", url), cam("taken", "rtsp://h/t")};
    yaml[0].name = NULL; /* stores "" */
    size_t add, chg, rem;
    /* The API-made camera with the same settings is taken over: a change. */
    assert_int_equal(sto_cameras_provision(f->db, yaml, 2, &add, &chg, &rem), 0);
    assert_int_equal(add, 1);
    assert_int_equal(chg, 1);
    assert_int_equal(rem, 0);
    struct sto_camera got;
    assert_int_equal(sto_camera_get(f->db, "taken", &got), 0);
    assert_true(got.provisioned);
    sto_camera_release(&got);
    /* Equal values in other buffers, and NULL against a stored "": nothing to do. */
    char url2[32];
    snprintf(url2, sizeof(url2), "rtsp://h/%s", "a");
    struct sto_camera_input again[] = {cam("taken", "rtsp://h/t"), cam("a", url2)};
    again[1].name = "";
    assert_int_equal(sto_cameras_provision(f->db, again, 2, &add, &chg, &rem), 0);
    assert_int_equal(add + chg + rem, 0);
    /* One field differs: exactly one change, other fields written as given. */
    again[1].max_bytes = 42;
    assert_int_equal(sto_cameras_provision(f->db, again, 2, &add, &chg, &rem), 0);
    assert_int_equal(add, 0);
    assert_int_equal(chg, 1);
    assert_int_equal(rem, 0);
    assert_int_equal(sto_camera_get(f->db, "a", &got), 0);
    assert_true(got.max_bytes == 42);
    assert_string_equal(got.url, "rtsp://h/a");
    sto_camera_release(&got);
    /* An empty file removes every provisioned camera and nothing else. */
    assert_int_equal(sto_cameras_provision(f->db, NULL, 0, &add, &chg, &rem), 0);
    assert_int_equal(rem, 2);
    uint64_t n = 9;
    assert_int_equal(sto_camera_count(f->db, &n), 0);
    assert_int_equal(n, 0);
}

static void test_insert_and_update_never_mark_a_camera_provisioned(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera_input yaml[] = {cam("p", "rtsp://h/p")};
    assert_int_equal(sto_cameras_provision(f->db, yaml, 1, NULL, NULL, NULL), 0);
    struct sto_camera row;
    assert_int_equal(sto_camera_get(f->db, "p", &row), 0);
    assert_true(row.provisioned);
    /* Writing a provisioned row back through the API's path hands it to the API. */
    struct sto_camera_input in = sto_camera_input_of(&row);
    assert_int_equal(sto_camera_update(f->db, &in), 0);
    sto_camera_release(&row);
    assert_int_equal(sto_camera_get(f->db, "p", &row), 0);
    assert_false(row.provisioned);
    sto_camera_release(&row);
    uint64_t n = 0;
    assert_int_equal(sto_camera_count(f->db, &n), 0);
    assert_int_equal(n, 1);
}

/* The analytics column (migration 0016): "" by default, NULL keeps it on update. */
static void test_analytics_document_is_stored_and_kept_by_updates(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera_input c = cam("a", "rtsp://h/a");
    assert_int_equal(sto_camera_insert(f->db, &c), 0);
    struct sto_camera row;
    assert_int_equal(sto_camera_get(f->db, "a", &row), 0);
    assert_string_equal(row.analytics, "");
    sto_camera_release(&row);
    c.analytics = "{\"fps\":2}";
    assert_int_equal(sto_camera_update(f->db, &c), 0);
    c.analytics = NULL; /* an update that does not name it keeps it */
    c.retention_days = 7;
    assert_int_equal(sto_camera_update(f->db, &c), 0);
    assert_int_equal(sto_camera_get(f->db, "a", &row), 0);
    assert_string_equal(row.analytics, "{\"fps\":2}");
    assert_int_equal(row.retention_days, 7);
    sto_camera_release(&row);
    /* Provisioning writes it, and a changed document is a change. */
    struct sto_camera_input yaml[] = {cam("p", "rtsp://h/p")};
    yaml[0].analytics = "{\"fps\":1}";
    size_t add = 0, chg = 0, rem = 0;
    assert_int_equal(sto_cameras_provision(f->db, yaml, 1, &add, &chg, &rem), 0);
    assert_int_equal(add, 1);
    assert_int_equal(sto_cameras_provision(f->db, yaml, 1, &add, &chg, &rem), 0);
    assert_int_equal(add + chg, 0);
    yaml[0].analytics = NULL;
    assert_int_equal(sto_cameras_provision(f->db, yaml, 1, &add, &chg, &rem), 0);
    assert_int_equal(chg, 1);
    assert_int_equal(sto_camera_get(f->db, "p", &row), 0);
    assert_string_equal(row.analytics, "");
    sto_camera_release(&row);
}

static void test_a_failing_statement_rolls_back_the_whole_batch(void **state)
{
    struct sto_fixture *f = *state;
    sto_value p[] = {STO_TEXT_V("x")};
    struct sto_stmt st[] = {
        {"INSERT INTO settings(key, value, updated_at_ms) VALUES ($1, 'v', 0)", p, 1},
        {"INSERT INTO settings(key, value, updated_at_ms) VALUES ($1, 'v', 0)", p, 1},
    };
    assert_int_equal(sto_write_batch(f->db, st, 2), -EEXIST);
    char *v = NULL;
    assert_int_equal(sto_setting_get(f->db, "x", &v), -ENOENT);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, sto_fixture_setup, sto_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_insert_get_update_delete_round_trip),
        T(test_list_pages_in_id_order),
        T(test_provisioning_adds_changes_and_removes_only_provisioned),
        T(test_update_from_a_read_row_changes_only_what_the_caller_changed),
        T(test_an_input_with_only_some_fields_set_replaces_the_rest),
        T(test_provisioning_compares_values_not_pointers_and_counts_takeovers),
        T(test_insert_and_update_never_mark_a_camera_provisioned),
        T(test_analytics_document_is_stored_and_kept_by_updates),
        T(test_a_failing_statement_rolls_back_the_whole_batch),
    };
    return cmocka_run_group_tests_name("storage.cameras", tests, NULL, NULL);
}
