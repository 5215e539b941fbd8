/* Tests for src/storage/cameras.c: CRUD, paging and YAML provisioning. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct sto_camera cam(const char *id, const char *url)
{
    return (struct sto_camera){.id = (char *)id,
                               .name = (char *)"Cam",
                               .url = (char *)url,
                               .sub_url = (char *)"",
                               .enabled = true,
                               .record_enabled = true,
                               .segment_seconds = 60,
                               .retention_days = 14};
}

static void test_insert_get_update_delete_round_trip(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera c = cam("front", "rtsp://u:p@h/1");
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
    struct sto_camera ghost = cam("ghost", "rtsp://h/");
    assert_int_equal(sto_camera_update(f->db, &ghost), -ENOENT);
}

static void test_list_pages_in_id_order(void **state)
{
    struct sto_fixture *f = *state;
    const char *ids[] = {"c", "a", "e", "b", "d"};
    for (int i = 0; i < 5; i++) {
        struct sto_camera c = cam(ids[i], "rtsp://h/");
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
    struct sto_camera manual = cam("manual", "rtsp://h/m");
    assert_int_equal(sto_camera_insert(f->db, &manual), 0);
    struct sto_camera yaml[] = {cam("a", "rtsp://h/a"), cam("b", "rtsp://h/b")};
    size_t add, chg, rem;
    assert_int_equal(sto_cameras_provision(f->db, yaml, 2, &add, &chg, &rem), 0);
    assert_int_equal(add, 2);
    assert_int_equal(chg + rem, 0);
    /* Same file again: nothing to do. */
    assert_int_equal(sto_cameras_provision(f->db, yaml, 2, &add, &chg, &rem), 0);
    assert_int_equal(add + chg + rem, 0);
    /* b changes, a goes away, c arrives. */
    struct sto_camera next[] = {cam("b", "rtsp://h/b2"), cam("c", "rtsp://h/c")};
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
        T(test_a_failing_statement_rolls_back_the_whole_batch),
    };
    return cmocka_run_group_tests_name("storage.cameras", tests, NULL, NULL);
}
