/*
 * Tests for src/storage/tenants.c and the tenant columns of cameras and
 * exports (docs/design/0024-tenants.md): CRUD, the camera quota counted in
 * the insert, a camera that never changes tenant, deletion refused while
 * something carries the tenant, and usage sums.
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

static struct sto_camera_input cam(const char *id, const char *tenant, uint64_t max)
{
    return (struct sto_camera_input){.id = id,
                                     .name = "Cam",
                                     .url = "rtsp://h/1",
                                     .sub_url = "",
                                     .enabled = true,
                                     .record_enabled = true,
                                     .segment_seconds = 60,
                                     .retention_days = 14,
                                     .tenant = tenant,
                                     .tenant_max_cameras = max};
}

static void test_tenants_round_trip(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_tenant_input in = {
        .id = "acme", .name = "Acme", .max_cameras = 3, .max_storage_bytes = 1ull << 40};
    assert_int_equal(sto_tenant_insert(f->db, &in), 0);
    assert_int_equal(sto_tenant_insert(f->db, &in), -EEXIST);
    struct sto_tenant_input other = {.id = "globex"};
    assert_int_equal(sto_tenant_insert(f->db, &other), 0);
    struct sto_tenant t;
    assert_int_equal(sto_tenant_get(f->db, "acme", &t), 0);
    assert_string_equal(t.name, "Acme");
    assert_int_equal(t.max_cameras, 3);
    assert_true(t.max_storage_bytes == 1ull << 40);
    assert_true(t.created_at_ms > 0 && t.updated_at_ms == t.created_at_ms);
    sto_tenant_release(&t);
    assert_int_equal(sto_tenant_get(f->db, "nope", &t), -ENOENT);
    in.name = "Acme Corp";
    in.max_cameras = 0;
    assert_int_equal(sto_tenant_update(f->db, &in), 0);
    assert_int_equal(sto_tenant_get(f->db, "acme", &t), 0);
    assert_string_equal(t.name, "Acme Corp");
    assert_int_equal(t.max_cameras, 0);
    sto_tenant_release(&t);
    struct sto_tenant_input ghost = {.id = "ghost"};
    assert_int_equal(sto_tenant_update(f->db, &ghost), -ENOENT);
    struct sto_tenant *list;
    size_t n;
    assert_int_equal(sto_tenant_list(f->db, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, "acme");
    assert_string_equal(list[1].id, "globex");
    assert_string_equal(list[1].name, "");
    sto_tenant_list_free(list, n);
    assert_int_equal(sto_tenant_delete(f->db, "globex"), 0);
    assert_int_equal(sto_tenant_delete(f->db, "globex"), -ENOENT);
}

static void test_the_camera_quota_is_counted_in_the_insert(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera_input a1 = cam("a1", "acme", 2), a2 = cam("a2", "acme", 2),
                            a3 = cam("a3", "acme", 2), g1 = cam("g1", "globex", 1),
                            free_cam = cam("x", NULL, 0);
    assert_int_equal(sto_camera_insert(f->db, &a1), 0);
    assert_int_equal(sto_camera_insert(f->db, &a2), 0);
    assert_int_equal(sto_camera_insert(f->db, &a3), -EDQUOT);
    struct sto_camera c;
    assert_int_equal(sto_camera_get(f->db, "a3", &c), -ENOENT);
    /* An existing id is a conflict, not a quota: the caller learns the real reason. */
    assert_int_equal(sto_camera_insert(f->db, &a1), -EEXIST);
    /* Other tenants and cameras of no tenant are counted apart. */
    assert_int_equal(sto_camera_insert(f->db, &g1), 0);
    assert_int_equal(sto_camera_insert(f->db, &free_cam), 0);
    char tenant[64];
    assert_int_equal(sto_camera_tenant(f->db, "a2", tenant, sizeof(tenant)), 0);
    assert_string_equal(tenant, "acme");
    assert_int_equal(sto_camera_tenant(f->db, "x", tenant, sizeof(tenant)), 0);
    assert_string_equal(tenant, "");
    assert_int_equal(sto_camera_tenant(f->db, "nope", tenant, sizeof(tenant)), -ENOENT);
    char tiny[3];
    assert_int_equal(sto_camera_tenant(f->db, "a2", tiny, sizeof(tiny)), 0);
    assert_string_equal(tiny, "ac");
    /* Deleting one makes room again. */
    assert_int_equal(sto_camera_delete(f->db, "a1"), 0);
    assert_int_equal(sto_camera_insert(f->db, &a3), 0);
}

static void test_a_camera_never_changes_tenant(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera_input a = cam("a", "acme", 0);
    assert_int_equal(sto_camera_insert(f->db, &a), 0);
    a.tenant = "globex";
    a.name = "Renamed";
    assert_int_equal(sto_camera_update(f->db, &a), 0);
    struct sto_camera c;
    assert_int_equal(sto_camera_get(f->db, "a", &c), 0);
    assert_string_equal(c.tenant, "acme");
    assert_string_equal(c.name, "Renamed");
    sto_camera_release(&c);
    /* Provisioning takes over the row but not its tenant. */
    struct sto_camera_input yaml = cam("a", NULL, 0);
    assert_int_equal(sto_cameras_provision(f->db, &yaml, 1, NULL, NULL, NULL), 0);
    assert_int_equal(sto_camera_get(f->db, "a", &c), 0);
    assert_string_equal(c.tenant, "acme");
    assert_true(c.provisioned);
    sto_camera_release(&c);
}

static void test_a_tenant_in_use_is_not_deleted(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_tenant_input in = {.id = "acme"};
    assert_int_equal(sto_tenant_insert(f->db, &in), 0);
    struct sto_camera_input a = cam("a", "acme", 0);
    assert_int_equal(sto_camera_insert(f->db, &a), 0);
    assert_int_equal(sto_tenant_delete(f->db, "acme"), -EBUSY);
    assert_int_equal(sto_camera_delete(f->db, "a"), 0);
    struct sto_user_input u = {
        .name = "bob", .password_hash = "x", .role = "viewer", .tenant = "acme"};
    assert_int_equal(sto_user_insert(f->db, &u), 0);
    assert_int_equal(sto_tenant_delete(f->db, "acme"), -EBUSY);
    assert_int_equal(sto_user_delete(f->db, "bob"), 0);
    struct sto_api_key k = {.id = "0123456789abcdef",
                            .name = "k",
                            .secret_sha256 = "x",
                            .role = "viewer",
                            .cameras = "*",
                            .owner = "",
                            .tenant = "acme",
                            .created_at_ms = 1};
    assert_int_equal(sto_api_key_insert(f->db, &k), 0);
    assert_int_equal(sto_tenant_delete(f->db, "acme"), -EBUSY);
    /* A revoked key no longer holds its tenant. */
    assert_int_equal(sto_api_key_revoke(f->db, k.id, 2), 0);
    assert_int_equal(sto_tenant_delete(f->db, "acme"), 0);
}

static void test_usage_sums_the_tenants_cameras_recordings_and_exports(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera_input a = cam("a", "acme", 0), g = cam("g", "globex", 0);
    assert_int_equal(sto_camera_insert(f->db, &a), 0);
    assert_int_equal(sto_camera_insert(f->db, &g), 0);
    struct sto_recording_input r = {
        .camera_id = "a", .stream = "main", .path = "a1", .bytes = 700, .codec = "avc1"};
    r.start_us = 1000000;
    r.end_us = 2000000;
    assert_int_equal(sto_recording_insert_async(f->db, &r, NULL, NULL), 0);
    r.camera_id = "g";
    r.path = "g1";
    r.bytes = 5000;
    assert_int_equal(sto_recording_insert_async(f->db, &r, NULL, NULL), 0);
    /* A queued export counts its sources; it keeps its tenant as a row of its own. */
    struct sto_export_input e = {.id = "00000000000100000000",
                                 .camera_id = "a",
                                 .stream = "main",
                                 .start_us = 0,
                                 .end_us = 3000000,
                                 .created_at_ms = 1,
                                 .tenant = "acme"};
    assert_int_equal(sto_export_insert(f->db, &e), 0);
    struct sto_export got;
    assert_int_equal(sto_export_get(f->db, e.id, &got), 0);
    assert_string_equal(got.tenant, "acme");
    sto_export_release(&got);
    struct sto_user_input u = {
        .name = "bob", .password_hash = "x", .role = "viewer", .tenant = "acme"};
    assert_int_equal(sto_user_insert(f->db, &u), 0);
    struct sto_tenant_usage use;
    assert_int_equal(sto_tenant_usage_get(f->db, "acme", &use), 0);
    assert_int_equal(use.cameras, 1);
    assert_int_equal(use.users, 1);
    assert_int_equal(use.api_keys, 0);
    assert_int_equal(use.recording_bytes, 700);
    assert_int_equal(use.export_bytes, 700);
    assert_int_equal(sto_tenant_usage_get(f->db, "globex", &use), 0);
    assert_int_equal(use.recording_bytes, 5000);
    assert_int_equal(use.export_bytes, 0);
    assert_int_equal(sto_tenant_usage_get(f->db, "nobody", &use), 0);
    assert_int_equal(use.cameras + use.users + use.recording_bytes + use.export_bytes, 0);
}

static void test_orphaned_recordings_are_adopted_only_within_their_tenant(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_camera_input a = cam("a", "acme", 0);
    assert_int_equal(sto_camera_insert(f->db, &a), 0);
    struct sto_recording_input r = {.camera_id = "a",
                                    .stream = "main",
                                    .path = "a1",
                                    .bytes = 700,
                                    .codec = "avc1",
                                    .start_us = 1000000,
                                    .end_us = 2000000};
    assert_int_equal(sto_recording_insert_async(f->db, &r, NULL, NULL), 0);
    assert_int_equal(sto_camera_delete(f->db, "a"), 0);
    struct sto_orphan *list;
    size_t n;
    assert_int_equal(sto_orphan_list(f->db, 10, &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].tenant, "acme");
    sto_orphan_list_free(list, n);
    /* The same id in another tenant starts empty and cannot take acme's footage. */
    struct sto_camera_input g = cam("a", "globex", 0);
    assert_int_equal(sto_camera_insert(f->db, &g), 0);
    uint64_t adopted = 99;
    assert_int_equal(sto_camera_adopt(f->db, "a", &adopted), 0);
    assert_int_equal(adopted, 0);
    assert_int_equal(sto_orphan_list(f->db, 10, &list, &n), 0);
    assert_int_equal(n, 1);
    sto_orphan_list_free(list, n);
    assert_int_equal(sto_camera_delete(f->db, "a"), 0);
    assert_int_equal(sto_camera_insert(f->db, &a), 0);
    assert_int_equal(sto_camera_adopt(f->db, "a", &adopted), 0);
    assert_int_equal(adopted, 1);
    assert_int_equal(sto_orphan_list(f->db, 10, &list, &n), 0);
    assert_int_equal(n, 0);
    sto_orphan_list_free(list, n);
}

#define T(name) cmocka_unit_test_setup_teardown(name, sto_fixture_setup, sto_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_tenants_round_trip),
        T(test_the_camera_quota_is_counted_in_the_insert),
        T(test_a_camera_never_changes_tenant),
        T(test_a_tenant_in_use_is_not_deleted),
        T(test_usage_sums_the_tenants_cameras_recordings_and_exports),
        T(test_orphaned_recordings_are_adopted_only_within_their_tenant),
    };
    return cmocka_run_group_tests_name("storage.tenants", tests, NULL, NULL);
}
