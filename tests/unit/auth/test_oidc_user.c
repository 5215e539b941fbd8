/*
 * Tests src/auth/oidc_user.c: the Horus user of an SSO identity against a
 * real SQLite index (made just in time, role and grant kept in step with
 * the IdP, disabled users and unknown ones refused), the principal of an
 * access token, and the cache of verified tokens (expiry, bounded slots).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_user.h"
#include "err.h"
#include "mem.h"
#include "oidc_user.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct auth_oidc_identity identity(const char *name, const char *role, bool create,
                                          const char *cam1, const char *cam2)
{
    struct auth_oidc_identity id = {0};
    id.subject = horus_strdup("sub-1");
    id.username = horus_strdup(name);
    id.role = role;
    id.create_user = create;
    id.cameras = horus_calloc(2, sizeof(char *));
    if (cam1)
        id.cameras[id.ncameras++] = horus_strdup(cam1);
    if (cam2)
        id.cameras[id.ncameras++] = horus_strdup(cam2);
    return id;
}

static void test_a_first_sso_login_makes_the_user_with_the_mapped_role_and_grant(void **state)
{
    struct sto_fixture *f = *state;
    struct auth_oidc_identity id = identity("alice", "viewer", true, "yard", "front");
    struct auth_principal *p = NULL;
    char why[256] = "";
    assert_int_equal(auth_oidc_user_sync(f->db, &id, &p, why, sizeof(why)), 0);
    assert_string_equal(p->name, "alice");
    assert_string_equal(p->user, "alice");
    assert_int_equal(p->kind, AUTH_KIND_SESSION);
    assert_int_equal(p->role, AUTH_ROLE_VIEWER);
    assert_false(p->is_all_cameras);
    assert_int_equal(p->ncameras, 2);
    assert_string_equal(p->cameras[0], "front");
    auth_principal_free(p);
    struct sto_user u;
    assert_int_equal(sto_user_get(f->db, "alice", &u), 0);
    assert_string_equal(u.cameras, "front,yard");
    assert_false(u.must_change_password);
    sto_user_release(&u);
    auth_oidc_identity_release(&id);

    /* The IdP moved her to operators of every camera: the next login follows. */
    id = identity("alice", "operator", false, NULL, NULL);
    id.all_cameras = true;
    assert_int_equal(auth_oidc_user_sync(f->db, &id, &p, why, sizeof(why)), 0);
    assert_int_equal(p->role, AUTH_ROLE_OPERATOR);
    assert_true(p->is_all_cameras);
    auth_principal_free(p);
    assert_int_equal(sto_user_get(f->db, "alice", &u), 0);
    assert_string_equal(u.role, "operator");
    assert_string_equal(u.cameras, "*");
    sto_user_release(&u);
    auth_oidc_identity_release(&id);
}

static void test_unknown_disabled_and_badly_named_users_are_refused(void **state)
{
    struct sto_fixture *f = *state;
    struct auth_principal *p = NULL;
    char why[256] = "";
    struct auth_oidc_identity id = identity("bob", "viewer", false, "front", NULL);
    assert_int_equal(auth_oidc_user_sync(f->db, &id, &p, why, sizeof(why)), -EACCES);
    assert_non_null(strstr(why, "create_users is off"));
    assert_null(p);
    auth_oidc_identity_release(&id);

    char pw_why[160];
    struct auth_user_options o = {
        .name = "carol", .role = AUTH_ROLE_ADMIN, .password = "carol-password-1"};
    assert_int_equal(auth_user_create(f->db, &o, NULL, pw_why, sizeof(pw_why)), 0);
    struct sto_user u;
    assert_int_equal(sto_user_get(f->db, "carol", &u), 0);
    struct sto_user_input in = sto_user_input_of(&u);
    in.disabled = true;
    assert_int_equal(sto_user_update(f->db, &in), 0);
    sto_user_release(&u);
    id = identity("carol", "admin", true, "front", NULL);
    assert_int_equal(auth_oidc_user_sync(f->db, &id, &p, why, sizeof(why)), -EACCES);
    assert_non_null(strstr(why, "disabled"));
    auth_oidc_identity_release(&id);

    id = identity("has space", "viewer", true, NULL, NULL);
    assert_int_equal(auth_oidc_user_sync(f->db, &id, &p, why, sizeof(why)), -EACCES);
    auth_oidc_identity_release(&id);

    /* A camera claim that is no camera id refuses the login rather than granting less. */
    id = identity("dave", "viewer", true, "front", "Not An Id!");
    assert_int_equal(auth_oidc_user_sync(f->db, &id, &p, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "camera claim"));
    assert_int_equal(sto_user_get(f->db, "dave", &u), -ENOENT);
    auth_oidc_identity_release(&id);
}

static void test_an_access_token_principal_has_no_user_behind_it(void **state)
{
    (void)state;
    struct auth_oidc_identity id = identity("svc", "operator", false, "front", NULL);
    struct auth_principal *p = NULL;
    char why[128];
    assert_int_equal(auth_oidc_token_principal(&id, &p, why, sizeof(why)), 0);
    assert_int_equal(p->kind, AUTH_KIND_JWT);
    assert_string_equal(p->id, "sub-1");
    assert_string_equal(p->name, "svc");
    assert_string_equal(p->user, "");
    assert_int_equal(p->role, AUTH_ROLE_OPERATOR);
    assert_true(auth_may_see_camera(p, "front"));
    assert_false(auth_may_see_camera(p, "back"));
    auth_principal_free(p);
    auth_oidc_identity_release(&id);
    /* A cameras claim that grants nothing is refused: such a principal could see nothing. */
    id = identity("svc", "viewer", false, NULL, NULL);
    assert_int_equal(auth_oidc_token_principal(&id, &p, why, sizeof(why)), -EINVAL);
    assert_null(p);
    assert_non_null(strstr(why, "grants no camera"));
    auth_oidc_identity_release(&id);
}

static void test_the_token_cache_answers_until_exp_and_stays_bounded(void **state)
{
    (void)state;
    auth_token_cache *c = auth_token_cache_new(16);
    struct auth_principal *p = auth_principal_new(AUTH_KIND_JWT, "sub-9", "svc", AUTH_ROLE_VIEWER);
    assert_int_equal(auth_principal_set_cameras(p, "b,a"), 0);
    const char *tok = "aaa.bbb.ccc";
    assert_null(auth_token_cache_get(c, tok, strlen(tok), 100));
    auth_token_cache_put(c, tok, strlen(tok), p, 200);
    struct auth_principal *got = auth_token_cache_get(c, tok, strlen(tok), 199);
    assert_non_null(got);
    assert_int_equal(got->kind, AUTH_KIND_JWT);
    assert_string_equal(got->name, "svc");
    assert_int_equal(got->role, AUTH_ROLE_VIEWER);
    assert_true(auth_may_see_camera(got, "a") && auth_may_see_camera(got, "b"));
    assert_false(auth_may_see_camera(got, "c"));
    auth_principal_free(got);
    assert_int_equal(auth_token_cache_hits(c), 1);
    /* Another token with the same bytes but one is not the same token. */
    assert_null(auth_token_cache_get(c, "aaa.bbb.ccd", 11, 150));
    /* At exp the entry is gone. */
    assert_null(auth_token_cache_get(c, tok, strlen(tok), 200));
    assert_int_equal(auth_token_cache_count(c), 0);
    /* A thousand tokens never hold more than the slots. */
    for (int i = 0; i < 1000; i++) {
        char t[32];
        snprintf(t, sizeof(t), "t.%d.x", i);
        auth_token_cache_put(c, t, strlen(t), p, 1000);
    }
    assert_true(auth_token_cache_count(c) <= 16);
    assert_true(auth_token_cache_count(c) >= 8);
    auth_principal_free(p);
    auth_token_cache_free(c);
    auth_token_cache_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_first_sso_login_makes_the_user_with_the_mapped_role_and_grant, sto_fixture_setup,
            sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_disabled_and_badly_named_users_are_refused,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test(test_an_access_token_principal_has_no_user_behind_it),
        cmocka_unit_test(test_the_token_cache_answers_until_exp_and_stays_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
