/* Tests src/auth/auth.c: roles, permissions, the check every route goes through, grants. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void test_permission_names_parse_and_unknown_values_are_rejected(void **state)
{
    static const char *const names[] = {"public",   "metrics", "self",      "viewer",
                                        "operator", "admin",   "superadmin"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        enum auth_perm p;
        assert_int_equal(auth_perm_parse(names[i], &p), 0);
        assert_string_equal(auth_perm_name(p), names[i]);
    }
    enum auth_perm p;
    assert_int_equal(auth_perm_parse("Admin", &p), -EINVAL);
    assert_int_equal(auth_perm_parse("root", &p), -EINVAL);
    assert_int_equal(auth_perm_parse("", &p), -EINVAL);
    assert_int_equal(auth_perm_parse(NULL, &p), -EINVAL);
    enum auth_role r;
    assert_int_equal(auth_role_parse("none", &r), -EINVAL); /* not a role one can hold */
    assert_int_equal(auth_role_parse("operator", &r), 0);
    assert_int_equal(r, AUTH_ROLE_OPERATOR);
}

static void test_roles_are_ordered_and_checked_against_permissions(void **state)
{
    struct auth_principal *v = auth_principal_new(AUTH_KIND_API_KEY, "k", "v", AUTH_ROLE_VIEWER);
    struct auth_principal *o = auth_principal_new(AUTH_KIND_API_KEY, "k", "o", AUTH_ROLE_OPERATOR);
    struct auth_principal *a = auth_principal_new(AUTH_KIND_SESSION, "s", "a", AUTH_ROLE_ADMIN);
    assert_int_equal(auth_check(NULL, AUTH_PERM_PUBLIC), 0);
    assert_int_equal(auth_check(NULL, AUTH_PERM_METRICS), 0);
    assert_int_equal(auth_check(NULL, AUTH_PERM_SELF), HORUS_EAUTH);
    assert_int_equal(auth_check(NULL, AUTH_PERM_VIEWER), HORUS_EAUTH);
    assert_int_equal(auth_check(v, AUTH_PERM_SELF), 0);
    assert_int_equal(auth_check(v, AUTH_PERM_VIEWER), 0);
    assert_int_equal(auth_check(v, AUTH_PERM_OPERATOR), -EACCES);
    assert_int_equal(auth_check(o, AUTH_PERM_OPERATOR), 0);
    assert_int_equal(auth_check(o, AUTH_PERM_ADMIN), -EACCES);
    assert_int_equal(auth_check(a, AUTH_PERM_ADMIN), 0);
    assert_int_equal(auth_check(a, AUTH_PERM_SUPERADMIN), -EACCES);
    /* A password that must change leaves only the self routes. */
    a->must_change_password = true;
    assert_int_equal(auth_check(a, AUTH_PERM_VIEWER), -EPERM);
    assert_int_equal(auth_check(a, AUTH_PERM_SELF), 0);
    auth_principal_free(v);
    auth_principal_free(o);
    auth_principal_free(a);
    auth_principal_free(NULL);
}

static void test_camera_grants_allow_exactly_their_cameras(void **state)
{
    struct auth_principal *p = auth_principal_new(AUTH_KIND_SESSION, "", "u", AUTH_ROLE_VIEWER);
    assert_true(auth_may_see_camera(p, "anything")); /* new principals see all */
    assert_int_equal(auth_principal_set_cameras(p, "yard,door,gate"), 0);
    assert_true(auth_may_see_camera(p, "door"));
    assert_true(auth_may_see_camera(p, "gate"));
    assert_true(auth_may_see_camera(p, "yard"));
    assert_false(auth_may_see_camera(p, "doo"));
    assert_false(auth_may_see_camera(p, "doors"));
    assert_false(auth_may_see_camera(p, ""));
    assert_int_equal(auth_principal_set_cameras(p, "*"), 0);
    assert_true(auth_may_see_camera(p, "x"));
    assert_int_equal(auth_principal_set_cameras(p, "a,,b"), -EINVAL);
    assert_false(auth_may_see_camera(p, "a")); /* a bad grant grants nothing */
    assert_false(auth_may_see_camera(NULL, "a"));
    auth_principal_free(p);
}

static void test_grants_are_normalized_and_bad_ones_named(void **state)
{
    char out[256], why[160];
    assert_int_equal(auth_cameras_normalize("b,a,b", out, sizeof(out), why, sizeof(why)), 0);
    assert_string_equal(out, "a,b");
    assert_int_equal(auth_cameras_normalize("*", out, sizeof(out), why, sizeof(why)), 0);
    assert_string_equal(out, "*");
    static const char *const bad[] = {"", ",", "a,", "A", "a b", "a,*", "../x", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        why[0] = '\0';
        assert_int_equal(auth_cameras_normalize(bad[i], out, sizeof(out), why, sizeof(why)),
                         -EINVAL);
        assert_true(why[0] != '\0');
    }
    char many[AUTH_CAMERAS_MAX * 8 + 16] = "";
    size_t len = 0;
    for (int i = 0; i <= AUTH_CAMERAS_MAX; i++)
        len += (size_t)snprintf(many + len, sizeof(many) - len, "%sc%d", i ? "," : "", i);
    assert_int_equal(auth_cameras_normalize(many, out, sizeof(out), why, sizeof(why)), -EINVAL);
}

static void test_tenants_see_only_their_own_objects_and_superadmins_all(void **state)
{
    (void)state;
    assert_false(auth_may_see_tenant(NULL, ""));
    struct auth_principal *p = auth_principal_new(AUTH_KIND_API_KEY, "k", "k", AUTH_ROLE_ADMIN);
    /* No tenant is a tenant of its own: single-tenant installs see everything they have. */
    assert_true(auth_may_see_tenant(p, ""));
    assert_true(auth_may_see_tenant(p, NULL));
    assert_false(auth_may_see_tenant(p, "acme"));
    snprintf(p->tenant, sizeof(p->tenant), "acme");
    assert_true(auth_may_see_tenant(p, "acme"));
    assert_false(auth_may_see_tenant(p, ""));
    assert_false(auth_may_see_tenant(p, NULL));
    assert_false(auth_may_see_tenant(p, "acme2"));
    assert_false(auth_may_see_tenant(p, "acm"));
    p->role = AUTH_ROLE_SUPERADMIN; /* every tenant, its own included */
    assert_true(auth_may_see_tenant(p, "globex"));
    assert_true(auth_may_see_tenant(p, ""));
    auth_principal_free(p);
}

static void test_group_entries_normalize_beside_ids_and_bad_ones_are_named(void **state)
{
    char out[256], why[160];
    assert_int_equal(auth_cameras_normalize("yard,group:lobby,group:lobby,door", out, sizeof(out),
                                            why, sizeof(why)),
                     0);
    assert_string_equal(out, "door,group:lobby,yard");
    static const char *const bad[] = {"group:",       "group:Lobby", "group:a b", "group:a:b",
                                      "groups:lobby", "Group:lobby", ":lobby"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        why[0] = '\0';
        assert_int_equal(auth_cameras_normalize(bad[i], out, sizeof(out), why, sizeof(why)),
                         -EINVAL);
        assert_non_null(strstr(why, "group:NAME"));
    }
    char long_name[80];
    snprintf(long_name, sizeof(long_name), "group:%065d", 0); /* 65 characters */
    assert_int_equal(auth_cameras_normalize(long_name, out, sizeof(out), why, sizeof(why)),
                     -EINVAL);
    long_name[strlen(long_name) - 1] = '\0'; /* 64 */
    assert_int_equal(auth_cameras_normalize(long_name, out, sizeof(out), why, sizeof(why)), 0);
    assert_true(auth_group_name_is_valid("lobby_2-a"));
    assert_false(auth_group_name_is_valid(""));
    assert_false(auth_group_name_is_valid("a,b"));
    assert_false(auth_group_name_is_valid(NULL));
}

static void test_group_entries_grant_nothing_until_resolved_and_keep_their_text(void **state)
{
    struct auth_principal *p = auth_principal_new(AUTH_KIND_SESSION, "", "u", AUTH_ROLE_VIEWER);
    assert_string_equal(auth_principal_grant(p), "*");
    assert_int_equal(auth_principal_set_cameras(p, "door,group:lobby,group:yard"), 0);
    assert_false(p->is_all_cameras);
    assert_int_equal(p->ncameras, 1);
    assert_string_equal(p->cameras[0], "door");
    assert_int_equal(p->ngroups, 2);
    assert_string_equal(p->groups[0], "lobby");
    assert_string_equal(p->groups[1], "yard");
    /* A group name is not a camera id: "lobby" is no camera of this grant. */
    assert_false(auth_may_see_camera(p, "lobby"));
    assert_false(auth_may_see_camera(p, "group:lobby"));
    assert_true(auth_may_see_camera(p, "door"));
    assert_true(auth_principal_has_group(p, "lobby"));
    assert_false(auth_principal_has_group(p, "lob"));
    assert_false(auth_principal_has_group(p, "door"));
    assert_string_equal(auth_principal_grant(p), "door,group:lobby,group:yard");
    /* The text reads back into the same grant (the SSO token cache stores it). */
    struct auth_principal *q = auth_principal_new(AUTH_KIND_JWT, "", "u", AUTH_ROLE_VIEWER);
    assert_int_equal(auth_principal_set_cameras(q, auth_principal_grant(p)), 0);
    assert_string_equal(auth_principal_grant(q), auth_principal_grant(p));
    /* Only groups: no camera at all until resolution. */
    assert_int_equal(auth_principal_set_cameras(q, "group:lobby"), 0);
    assert_int_equal(q->ncameras, 0);
    assert_false(auth_may_see_camera(q, "door"));
    /* A bad grant grants nothing and reads back as nothing, never as "*". */
    assert_int_equal(auth_principal_set_cameras(q, "group:"), -EINVAL);
    assert_int_equal(q->ngroups, 0);
    assert_string_equal(auth_principal_grant(q), "");
    assert_int_equal(auth_principal_set_cameras(p, "*"), 0);
    assert_int_equal(p->ngroups, 0);
    assert_string_equal(auth_principal_grant(p), "*");
    auth_principal_free(q);
    auth_principal_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permission_names_parse_and_unknown_values_are_rejected),
        cmocka_unit_test(test_roles_are_ordered_and_checked_against_permissions),
        cmocka_unit_test(test_camera_grants_allow_exactly_their_cameras),
        cmocka_unit_test(test_grants_are_normalized_and_bad_ones_named),
        cmocka_unit_test(test_tenants_see_only_their_own_objects_and_superadmins_all),
        cmocka_unit_test(test_group_entries_normalize_beside_ids_and_bad_ones_are_named),
        cmocka_unit_test(test_group_entries_grant_nothing_until_resolved_and_keep_their_text),
    };
    return cmocka_run_group_tests_name("auth.auth", tests, NULL, NULL);
}
