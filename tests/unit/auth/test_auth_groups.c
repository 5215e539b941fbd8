/*
 * Tests src/auth/auth_groups.c (and the storage it reads, storage/camera_groups.c)
 * against a real SQLite index: group entries of grants expand into the
 * cameras now in those groups, membership changes show at the next
 * resolution, and memberships leave with their camera.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_groups.h"
#include "err.h"
#include "sto_fixture.h"

#include <errno.h>
#include <string.h>

static void add_camera(sto_db *db, const char *id)
{
    struct sto_camera_input c = {.id = id,
                                 .name = "",
                                 .url = "rtsp://127.0.0.1:8554/x",
                                 .sub_url = "",
                                 .enabled = true,
                                 .record_enabled = true,
                                 .segment_seconds = 60,
                                 .retention_days = 14};
    assert_int_equal(sto_camera_insert(db, &c), 0);
}

static void set_groups(sto_db *db, const char *id, const char *const *groups, size_t n)
{
    struct sto_camera_groups_input in = {.id = id, .groups = groups, .ngroups = n};
    assert_int_equal(sto_camera_groups_set(db, &in, 1), 0);
}

/* A principal granted grant, resolved against db now. */
static struct auth_principal *resolved(sto_db *db, const char *grant)
{
    struct auth_principal *p = auth_principal_new(AUTH_KIND_SESSION, "s", "u", AUTH_ROLE_VIEWER);
    assert_int_equal(auth_principal_set_cameras(p, grant), 0);
    assert_int_equal(auth_principal_resolve_groups(p, db), 0);
    return p;
}

static void test_a_group_entry_grants_exactly_the_cameras_in_the_group(void **state)
{
    struct sto_fixture *f = *state;
    add_camera(f->db, "door");
    add_camera(f->db, "hall");
    add_camera(f->db, "yard");
    add_camera(f->db, "gate");
    set_groups(f->db, "door", (const char *[]){"lobby"}, 1);
    set_groups(f->db, "hall", (const char *[]){"lobby", "inside"}, 2);
    set_groups(f->db, "yard", (const char *[]){"outside"}, 1);
    struct auth_principal *p = resolved(f->db, "group:lobby");
    assert_int_equal(p->ncameras, 2);
    assert_true(auth_may_see_camera(p, "door"));
    assert_true(auth_may_see_camera(p, "hall"));
    assert_false(auth_may_see_camera(p, "yard"));
    assert_false(auth_may_see_camera(p, "gate"));
    assert_false(auth_may_see_camera(p, "lobby"));
    /* The grant's text keeps the group, not the ids it stood for. */
    assert_string_equal(auth_principal_grant(p), "group:lobby");
    auth_principal_free(p);
    /* Ids and several groups together; overlaps are kept once, sorted. */
    p = resolved(f->db, "gate,group:inside,group:lobby,group:outside,hall");
    assert_int_equal(p->ncameras, 4);
    assert_string_equal(p->cameras[0], "door");
    assert_string_equal(p->cameras[1], "gate");
    assert_string_equal(p->cameras[2], "hall");
    assert_string_equal(p->cameras[3], "yard");
    auth_principal_free(p);
    /* A group nobody is in grants nothing. */
    p = resolved(f->db, "group:nobody");
    assert_int_equal(p->ncameras, 0);
    assert_false(auth_may_see_camera(p, "door"));
    auth_principal_free(p);
}

static void test_membership_changes_show_at_the_next_resolution(void **state)
{
    struct sto_fixture *f = *state;
    add_camera(f->db, "door");
    add_camera(f->db, "yard");
    set_groups(f->db, "door", (const char *[]){"lobby"}, 1);
    struct auth_principal *p = resolved(f->db, "group:lobby");
    assert_false(auth_may_see_camera(p, "yard"));
    auth_principal_free(p);
    /* yard moves into lobby, door out of it. */
    set_groups(f->db, "yard", (const char *[]){"lobby", "lobby"}, 2);
    set_groups(f->db, "door", NULL, 0);
    p = resolved(f->db, "group:lobby");
    assert_true(auth_may_see_camera(p, "yard"));
    assert_false(auth_may_see_camera(p, "door"));
    auth_principal_free(p);
    /* A deleted camera leaves its groups; created again, it is in none. */
    assert_int_equal(sto_camera_delete(f->db, "yard"), 0);
    p = resolved(f->db, "group:lobby");
    assert_int_equal(p->ncameras, 0);
    auth_principal_free(p);
    add_camera(f->db, "yard");
    p = resolved(f->db, "group:lobby");
    assert_false(auth_may_see_camera(p, "yard"));
    auth_principal_free(p);
    /* Groups for a camera that does not exist are not stored. */
    set_groups(f->db, "ghost", (const char *[]){"lobby"}, 1);
    p = resolved(f->db, "group:lobby");
    assert_int_equal(p->ncameras, 0);
    auth_principal_free(p);
}

static void test_grants_without_groups_never_query_and_lists_read_a_page(void **state)
{
    struct sto_fixture *f = *state;
    add_camera(f->db, "a");
    add_camera(f->db, "b");
    add_camera(f->db, "c");
    set_groups(f->db, "a", (const char *[]){"x"}, 1);
    set_groups(f->db, "b", (const char *[]){"y", "x"}, 2);
    set_groups(f->db, "c", (const char *[]){"z"}, 1);
    /* "*" and plain ids resolve with no database at all. */
    struct auth_principal *p = auth_principal_new(AUTH_KIND_API_KEY, "k", "k", AUTH_ROLE_VIEWER);
    assert_int_equal(auth_principal_resolve_groups(p, NULL), 0);
    assert_int_equal(auth_principal_set_cameras(p, "a,c"), 0);
    assert_int_equal(auth_principal_resolve_groups(p, NULL), 0);
    assert_int_equal(p->ncameras, 2);
    auth_principal_free(p);
    assert_int_equal(auth_principal_resolve_groups(NULL, f->db), 0);
    struct sto_camera_group *rows;
    size_t n;
    assert_int_equal(sto_camera_groups_range(f->db, "a", "b", &rows, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(rows[0].camera_id, "a");
    assert_string_equal(rows[0].group, "x");
    assert_string_equal(rows[1].camera_id, "b");
    assert_string_equal(rows[1].group, "x");
    assert_string_equal(rows[2].group, "y");
    sto_camera_group_list_free(rows, n);
    /* Too many groups in one question is refused, not truncated. */
    const char *many[STO_CAMERA_GROUPS_QUERY_MAX + 1];
    for (size_t i = 0; i < STO_CAMERA_GROUPS_QUERY_MAX + 1; i++)
        many[i] = "x";
    char **ids;
    assert_int_equal(
        sto_camera_ids_in_groups(f->db, many, STO_CAMERA_GROUPS_QUERY_MAX + 1, &ids, &n), -EINVAL);
    assert_int_equal(sto_camera_ids_in_groups(f->db, many, STO_CAMERA_GROUPS_QUERY_MAX, &ids, &n),
                     0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_group_entry_grants_exactly_the_cameras_in_the_group,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_membership_changes_show_at_the_next_resolution,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_grants_without_groups_never_query_and_lists_read_a_page, sto_fixture_setup,
            sto_fixture_teardown),
    };
    return cmocka_run_group_tests_name("auth.auth_groups", tests, NULL, NULL);
}
