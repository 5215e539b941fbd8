/*
 * Tests src/auth/auth_digest.c against a real SQLite index and secret box:
 * HA1s kept when a password is set or first verified and when a key is
 * made, sealed and bound to their rows, dropped when a process that keeps
 * none sets a password, and the lookup's answers (docs/design/0077).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_api_key.h"
#include "auth_digest.h"
#include "auth_user.h"
#include "err.h"
#include "secret_box.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static sto_secret_box *box;

static int setup(void **state)
{
    sto_fixture_setup(state);
    struct sto_fixture *f = *state;
    char *errmsg = NULL;
    struct sto_secret_box_options o = {.key_text = KEY_A, .key_file = "/nonexistent"};
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), 0);
    sto_set_secret_box(f->db, box);
    auth_digest_keep(true);
    return 0;
}

static int teardown(void **state)
{
    auth_digest_keep(false);
    sto_fixture_teardown(state);
    sto_secret_box_free(box);
    box = NULL;
    return 0;
}

static void add_user(sto_db *db, const char *name, const char *pw)
{
    char why[160];
    struct auth_user_options o = {.name = name, .role = AUTH_ROLE_VIEWER, .password = pw};
    assert_int_equal(auth_user_create(db, &o, NULL, why, sizeof(why)), 0);
}

static void test_ha1_is_rfc_2617s(void **state)
{
    (void)state;
    char ha1[33];
    /* RFC 2617 3.5's example user, realm and password. */
    assert_int_equal(auth_digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life", ha1), 0);
    assert_string_equal(ha1, "939e7578ed9e3c518a452acee763bce9");
    char big[1100];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(auth_digest_ha1("u", "r", big, ha1), -ENOSPC);
}

static void test_a_users_secret_is_kept_sealed_and_follows_the_password(void **state)
{
    struct sto_fixture *f = *state;
    add_user(f->db, "ann", "ann-password-1");
    char ha1[33], want[33];
    struct auth_principal *p = NULL;
    assert_int_equal(auth_digest_lookup(f->db, "ann", 1000, ha1, &p), 0);
    assert_int_equal(auth_digest_ha1("ann", AUTH_DIGEST_REALM, "ann-password-1", want), 0);
    assert_string_equal(ha1, want);
    assert_string_equal(p->name, "ann");
    assert_int_equal(p->role, AUTH_ROLE_VIEWER);
    auth_principal_free(p);
    /* Stored sealed: the row holds no HA1 in clear. */
    add_user(f->db, "bob", "bob-password-1");
    assert_int_equal(sto_rtsp_digest_get(f->db, STO_DIGEST_USER, "bob", ha1), 0);
    assert_int_equal(sto_rtsp_digest_get(f->db, STO_DIGEST_USER, "nobody", ha1), -ENOENT);

    /* A new password: the new HA1. */
    char why[160];
    assert_int_equal(
        auth_user_set_password(f->db, "ann", "ann-password-2", false, NULL, why, sizeof(why)), 0);
    assert_int_equal(auth_digest_lookup(f->db, "ann", 1000, ha1, &p), 0);
    auth_principal_free(p);
    assert_int_equal(auth_digest_ha1("ann", AUTH_DIGEST_REALM, "ann-password-2", want), 0);
    assert_string_equal(ha1, want);

    /* A process that keeps none (the command line) drops it when it sets a password... */
    auth_digest_keep(false);
    assert_int_equal(
        auth_user_set_password(f->db, "ann", "ann-password-3", false, NULL, why, sizeof(why)), 0);
    assert_int_equal(auth_digest_lookup(f->db, "ann", 1000, ha1, &p), -ENODATA);
    assert_null(p);
    /* ...and a verified password keeps nothing while none are kept. */
    assert_int_equal(auth_user_verify_password(f->db, "ann", "ann-password-3", &p), 0);
    auth_principal_free(p);
    assert_int_equal(auth_digest_lookup(f->db, "ann", 1000, ha1, &p), -ENODATA);
    /* Kept again: the next verified password brings it back. */
    auth_digest_keep(true);
    assert_int_equal(auth_user_verify_password(f->db, "ann", "ann-password-3", &p), 0);
    auth_principal_free(p);
    assert_int_equal(auth_digest_lookup(f->db, "ann", 1000, ha1, &p), 0);
    auth_principal_free(p);
    assert_int_equal(auth_digest_ha1("ann", AUTH_DIGEST_REALM, "ann-password-3", want), 0);
    assert_string_equal(ha1, want);

    /* Cleared: every one gone. */
    assert_int_equal(sto_rtsp_digests_clear(f->db), 0);
    assert_int_equal(auth_digest_lookup(f->db, "ann", 1000, ha1, &p), -ENODATA);
    assert_int_equal(auth_digest_lookup(f->db, "bob", 1000, ha1, &p), -ENODATA);
}

static void test_an_api_keys_secret_answers_to_hk_and_its_id(void **state)
{
    struct sto_fixture *f = *state;
    char key[AUTH_API_KEY_MAX], id[AUTH_API_KEY_ID_LEN + 1], why[160];
    struct auth_api_key_options o = {.name = "nvr",
                                     .role = AUTH_ROLE_VIEWER,
                                     .cameras = "cam1",
                                     .now_ms = 1000,
                                     .expires_at_ms = 50000};
    assert_int_equal(auth_api_key_create(f->db, &o, key, id, why, sizeof(why)), 0);
    char name[32], ha1[33], want[33];
    snprintf(name, sizeof(name), "hk_%s", id);
    struct auth_principal *p = NULL;
    assert_int_equal(auth_digest_lookup(f->db, name, 2000, ha1, &p), 0);
    assert_int_equal(auth_digest_ha1(name, AUTH_DIGEST_REALM, key, want), 0);
    assert_string_equal(ha1, want);
    assert_int_equal(p->kind, AUTH_KIND_API_KEY);
    assert_true(auth_may_see_camera(p, "cam1"));
    assert_false(auth_may_see_camera(p, "cam2"));
    auth_principal_free(p);
    /* Expired, revoked, unknown: one refusal, and no HA1 given out. */
    assert_int_equal(auth_digest_lookup(f->db, name, 60000, ha1, &p), HORUS_EAUTH);
    assert_string_equal(ha1, "");
    assert_int_equal(sto_api_key_revoke(f->db, id, 3000), 0);
    assert_int_equal(auth_digest_lookup(f->db, name, 4000, ha1, &p), HORUS_EAUTH);
    assert_int_equal(auth_digest_lookup(f->db, "hk_0123456789abcdef", 4000, ha1, &p), HORUS_EAUTH);
    /* Names that are neither: refused before any read. */
    assert_int_equal(auth_digest_lookup(f->db, "hk_0123", 4000, ha1, &p), HORUS_EAUTH);
    assert_int_equal(auth_digest_lookup(f->db, "no such user", 4000, ha1, &p), HORUS_EAUTH);
    assert_int_equal(auth_digest_lookup(f->db, "nobody", 4000, ha1, &p), HORUS_EAUTH);
    assert_null(p);
}

static void test_a_user_who_must_change_the_password_is_refused(void **state)
{
    struct sto_fixture *f = *state;
    char why[160];
    struct auth_user_options o = {.name = "cy",
                                  .role = AUTH_ROLE_VIEWER,
                                  .password = "cy-password-1",
                                  .must_change_password = true};
    assert_int_equal(auth_user_create(f->db, &o, NULL, why, sizeof(why)), 0);
    char ha1[33];
    struct auth_principal *p = NULL;
    assert_int_equal(auth_digest_lookup(f->db, "cy", 1000, ha1, &p), -EACCES);
    assert_null(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ha1_is_rfc_2617s),
        cmocka_unit_test_setup_teardown(test_a_users_secret_is_kept_sealed_and_follows_the_password,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_api_keys_secret_answers_to_hk_and_its_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_user_who_must_change_the_password_is_refused, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("auth.auth_digest", tests, NULL, NULL);
}
