/*
 * Tests for src/storage/exports.c: insert, update, get, newest-first paging,
 * selects, delete, the pins of export ranges and the export usage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void add(struct sto_fixture *f, int n, enum sto_export_state state, int64_t finished_ms)
{
    char id[24];
    snprintf(id, sizeof(id), "%012x00000000", n);
    struct sto_export_input e = {.id = id,
                                 .camera_id = "cam",
                                 .stream = "main",
                                 .start_us = 1000000,
                                 .end_us = 2000000,
                                 .created_at_ms = n};
    assert_int_equal(sto_export_insert(f->db, &e), 0);
    if (state == STO_EXPORT_QUEUED && !finished_ms)
        return;
    struct sto_export_status s = {.id = id, .state = state, .finished_at_ms = finished_ms};
    assert_int_equal(sto_export_update(f->db, &s), 0);
}

static void test_export_row_round_trips_and_updates(void **state)
{
    struct sto_fixture *f = *state;
    add(f, 1, STO_EXPORT_QUEUED, 0);
    struct sto_export e;
    assert_int_equal(sto_export_get(f->db, "00000000000100000000", &e), 0);
    assert_string_equal(e.camera_id, "cam");
    assert_int_equal(e.state, STO_EXPORT_QUEUED);
    assert_string_equal(e.sha256, "");
    e.state = STO_EXPORT_DONE;
    e.progress = 1;
    e.size_bytes = 12345;
    e.duration_us = 999;
    free(e.sha256);
    e.sha256 = strdup("ab12");
    e.finished_at_ms = 77;
    struct sto_export_status s = sto_export_status_of(&e);
    assert_int_equal(sto_export_update(f->db, &s), 0);
    sto_export_release(&e);
    assert_int_equal(sto_export_get(f->db, "00000000000100000000", &e), 0);
    assert_int_equal(e.state, STO_EXPORT_DONE);
    assert_true(e.progress == 1.0);
    assert_int_equal(e.size_bytes, 12345);
    assert_int_equal(e.duration_us, 999);
    assert_string_equal(e.sha256, "ab12");
    assert_int_equal(e.finished_at_ms, 77);
    assert_string_equal(sto_export_state_name(e.state), "done");
    sto_export_release(&e);
    assert_int_equal(sto_export_get(f->db, "ffffffffffff00000000", &e), -ENOENT);
}

static void test_export_list_pages_newest_first(void **state)
{
    struct sto_fixture *f = *state;
    for (int i = 1; i <= 5; i++)
        add(f, i, STO_EXPORT_DONE, i);
    struct sto_export *list;
    size_t n;
    bool has_more;
    assert_int_equal(sto_export_list(f->db, NULL, 2, &list, &n, &has_more), 0);
    assert_int_equal(n, 2);
    assert_true(has_more);
    assert_string_equal(list[0].id, "00000000000500000000");
    assert_string_equal(list[1].id, "00000000000400000000");
    char cursor[24];
    strcpy(cursor, list[1].id);
    sto_export_list_free(list, n);
    assert_int_equal(sto_export_list(f->db, cursor, 10, &list, &n, &has_more), 0);
    assert_int_equal(n, 3);
    assert_false(has_more);
    assert_string_equal(list[2].id, "00000000000100000000");
    sto_export_list_free(list, n);
}

static void test_export_select_finds_states_and_old_finished_rows(void **state)
{
    struct sto_fixture *f = *state;
    add(f, 1, STO_EXPORT_RUNNING, 0);
    add(f, 2, STO_EXPORT_QUEUED, 0);
    add(f, 3, STO_EXPORT_DONE, 100);
    add(f, 4, STO_EXPORT_FAILED, 500);
    struct sto_export *list;
    size_t n;
    assert_int_equal(sto_export_select(f->db, STO_EXPORT_RUNNING, 0, 10, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, "00000000000100000000");
    sto_export_list_free(list, n);
    assert_int_equal(sto_export_select(f->db, -1, 200, 10, &list, &n), 0);
    assert_int_equal(n, 1); /* finished before 200 ms: only the done one; never queued/running */
    assert_string_equal(list[0].id, "00000000000300000000");
    sto_export_list_free(list, n);
    assert_int_equal(sto_export_delete(f->db, "00000000000300000000"), 0);
    assert_int_equal(sto_export_delete(f->db, "00000000000300000000"), -ENOENT);
}

static void test_a_new_export_is_queued_and_a_status_writes_only_mutable_fields(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_export_input in = {.id = "00000000000900000000",
                                  .camera_id = "cam",
                                  .stream = "sub",
                                  .start_us = 5,
                                  .end_us = 9,
                                  .created_at_ms = 1234};
    assert_int_equal(sto_export_insert(f->db, &in), 0);
    assert_int_equal(sto_export_insert(f->db, &in), -EEXIST);
    struct sto_export e;
    assert_int_equal(sto_export_get(f->db, in.id, &e), 0);
    assert_int_equal(e.state, STO_EXPORT_QUEUED);
    assert_true(e.progress == 0 && e.size_bytes == 0 && e.started_at_ms == 0);
    assert_string_equal(e.sha256, "");
    assert_string_equal(e.error, "");
    sto_export_release(&e);
    /* A status with NULL strings: the identity and the creation time stay. */
    struct sto_export_status s = {.id = in.id,
                                  .state = STO_EXPORT_FAILED,
                                  .progress = 0.5,
                                  .started_at_ms = 2000,
                                  .finished_at_ms = 3000};
    assert_int_equal(sto_export_update(f->db, &s), 0);
    assert_int_equal(sto_export_get(f->db, in.id, &e), 0);
    assert_int_equal(e.state, STO_EXPORT_FAILED);
    assert_true(e.progress == 0.5);
    assert_string_equal(e.camera_id, "cam");
    assert_string_equal(e.stream, "sub");
    assert_int_equal(e.start_us, 5);
    assert_int_equal(e.end_us, 9);
    assert_int_equal(e.created_at_ms, 1234);
    assert_int_equal(e.started_at_ms, 2000);
    assert_int_equal(e.finished_at_ms, 3000);
    assert_string_equal(e.error, "");
    sto_export_release(&e);
    /* Updating a deleted job is not an error and does not bring it back. */
    assert_int_equal(sto_export_delete(f->db, in.id), 0);
    assert_int_equal(sto_export_update(f->db, &s), 0);
    assert_int_equal(sto_export_get(f->db, in.id, &e), -ENOENT);
}

static uint64_t usage(struct sto_fixture *f)
{
    uint64_t bytes = 1;
    assert_int_equal(sto_exports_usage(f->db, &bytes), 0);
    return bytes;
}

static size_t npins(struct sto_fixture *f)
{
    struct sto_pin *list;
    size_t n;
    assert_int_equal(sto_pin_list(f->db, 0, 100, &list, &n), 0);
    sto_pin_list_free(list, n);
    return n;
}

static void test_usage_counts_done_sizes_and_the_sources_of_unfinished_jobs(void **state)
{
    struct sto_fixture *f = *state;
    assert_int_equal(usage(f), 0);
    /* 700 bytes of recordings inside [1 s, 2 s), 50 outside it. */
    struct sto_recording_input r = {
        .camera_id = "cam", .stream = "main", .path = "a", .bytes = 700, .codec = "avc1"};
    r.start_us = 1000000;
    r.end_us = 1500000;
    assert_int_equal(sto_recording_insert_async(f->db, &r, NULL, NULL), 0);
    r.start_us = 5000000;
    r.end_us = 6000000;
    r.bytes = 50;
    r.path = "b";
    assert_int_equal(sto_recording_insert_async(f->db, &r, NULL, NULL), 0);
    add(f, 1, STO_EXPORT_QUEUED, 0); /* [1 s, 2 s): estimated at 700 */
    add(f, 2, STO_EXPORT_QUEUED, 0);
    struct sto_export_status done = {
        .id = "00000000000200000000", .state = STO_EXPORT_DONE, .size_bytes = 650};
    assert_int_equal(sto_export_update(f->db, &done), 0);
    add(f, 3, STO_EXPORT_FAILED, 10); /* counts nothing */
    assert_int_equal(usage(f), 700 + 650);
    uint64_t bytes = 0;
    assert_int_equal(sto_recordings_range_bytes(f->db, "cam", "main", 0, 5500000, &bytes), 0);
    assert_int_equal(bytes, 750);
    /* Queued and done jobs pin their range; the failed one dropped its pin. */
    assert_int_equal(npins(f), 2);
    assert_int_equal(sto_export_delete(f->db, "00000000000200000000"), 0);
    assert_int_equal(npins(f), 1);
    assert_int_equal(usage(f), 700);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_export_row_round_trips_and_updates, sto_fixture_setup,
                                        sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_export_list_pages_newest_first, sto_fixture_setup,
                                        sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_export_select_finds_states_and_old_finished_rows,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_new_export_is_queued_and_a_status_writes_only_mutable_fields, sto_fixture_setup,
            sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_usage_counts_done_sizes_and_the_sources_of_unfinished_jobs, sto_fixture_setup,
            sto_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
