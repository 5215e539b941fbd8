/* Tests src/auth/auth_api_key.c against a real SQLite index: format, lookup, revocation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_api_key.h"
#include "err.h"
#include "sto_fixture.h"

#include <errno.h>
#include <string.h>

static void test_keys_parse_only_in_their_exact_shape(void **state)
{
    char id[AUTH_API_KEY_ID_LEN + 1];
    const char *secret = NULL;
    const char *good = "hk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_";
    assert_int_equal(auth_api_key_parse(good, id, &secret), 0);
    assert_string_equal(id, "0123456789abcdef");
    assert_string_equal(secret, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_");
    static const char *const bad[] = {
        "",
        "hk_",
        "HK_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_",
        "hk_0123456789ABCDEF_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_",
        "hk_0123456789abcde_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_",
        "hk_0123456789abcdef_AAAA",
        "hk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-_A",
        "hk_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+/",
        NULL,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_int_equal(auth_api_key_parse(bad[i], id, &secret), -EINVAL);
}

static void test_a_created_key_authenticates_with_its_role_and_cameras(void **state)
{
    struct sto_fixture *f = *state;
    char key[AUTH_API_KEY_MAX], id[AUTH_API_KEY_ID_LEN + 1], why[160];
    struct auth_api_key_options o = {
        .name = "ci", .role = AUTH_ROLE_OPERATOR, .cameras = "b,a", .now_ms = 1000};
    assert_int_equal(auth_api_key_create(f->db, &o, key, id, why, sizeof(why)), 0);
    assert_int_equal(strlen(key), AUTH_API_KEY_MAX - 1);
    struct auth_principal *p = NULL;
    assert_int_equal(auth_api_key_authenticate(f->db, key, 2000, &p), 0);
    assert_int_equal(p->kind, AUTH_KIND_API_KEY);
    assert_int_equal(p->role, AUTH_ROLE_OPERATOR);
    assert_string_equal(p->id, id);
    assert_string_equal(p->name, "ci");
    assert_true(auth_may_see_camera(p, "a"));
    assert_false(auth_may_see_camera(p, "c"));
    auth_principal_free(p);
    /* Only the hash is stored. */
    struct sto_api_key row;
    assert_int_equal(sto_api_key_get(f->db, id, &row), 0);
    assert_null(strstr(key, row.secret_sha256));
    assert_int_equal(strlen(row.secret_sha256), 64);
    sto_api_key_release(&row);
    /* One changed character of the secret, or an unknown id: the same refusal. */
    char wrong[AUTH_API_KEY_MAX];
    memcpy(wrong, key, sizeof(wrong));
    wrong[30] = wrong[30] == 'A' ? 'B' : 'A';
    assert_int_equal(auth_api_key_authenticate(f->db, wrong, 2000, &p), HORUS_EAUTH);
    assert_null(p);
    memcpy(wrong, key, sizeof(wrong));
    wrong[3] = wrong[3] == '0' ? '1' : '0';
    assert_int_equal(auth_api_key_authenticate(f->db, wrong, 2000, &p), HORUS_EAUTH);
    assert_int_equal(auth_api_key_authenticate(f->db, "garbage", 2000, &p), HORUS_EAUTH);
}

static void test_revoked_and_expired_keys_fail_and_bad_input_is_named(void **state)
{
    struct sto_fixture *f = *state;
    char key[AUTH_API_KEY_MAX], id[AUTH_API_KEY_ID_LEN + 1], why[160];
    struct auth_api_key_options o = {
        .name = "short", .role = AUTH_ROLE_VIEWER, .now_ms = 1000, .expires_at_ms = 5000};
    assert_int_equal(auth_api_key_create(f->db, &o, key, id, why, sizeof(why)), 0);
    struct auth_principal *p = NULL;
    assert_int_equal(auth_api_key_authenticate(f->db, key, 4999, &p), 0);
    auth_principal_free(p);
    assert_int_equal(auth_api_key_authenticate(f->db, key, 5000, &p), HORUS_EAUTH);
    o.expires_at_ms = 0;
    assert_int_equal(auth_api_key_create(f->db, &o, key, id, why, sizeof(why)), 0);
    assert_int_equal(sto_api_key_revoke(f->db, id, 2000), 0);
    assert_int_equal(auth_api_key_authenticate(f->db, key, 2001, &p), HORUS_EAUTH);
    assert_int_equal(sto_api_key_revoke(f->db, "ffffffffffffffff", 2000), -ENOENT);
    o.cameras = "a,,b";
    assert_int_equal(auth_api_key_create(f->db, &o, key, id, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "cameras"));
    o.cameras = NULL;
    o.name = "";
    assert_int_equal(auth_api_key_create(f->db, &o, key, id, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "name"));
}

static void test_last_use_is_stamped_at_most_once_a_minute(void **state)
{
    struct sto_fixture *f = *state;
    char key[AUTH_API_KEY_MAX], id[AUTH_API_KEY_ID_LEN + 1], why[160];
    struct auth_api_key_options o = {.name = "k", .role = AUTH_ROLE_VIEWER, .now_ms = 1000};
    assert_int_equal(auth_api_key_create(f->db, &o, key, id, why, sizeof(why)), 0);
    int64_t times[] = {100000, 130000, 170000};
    int64_t want[] = {100000, 100000, 170000};
    for (size_t i = 0; i < 3; i++) {
        struct auth_principal *p = NULL;
        assert_int_equal(auth_api_key_authenticate(f->db, key, times[i], &p), 0);
        auth_principal_free(p);
        assert_int_equal(sto_setting_put(f->db, "flush", "x"), 0); /* waits for the queue */
        struct sto_api_key row;
        assert_int_equal(sto_api_key_get(f->db, id, &row), 0);
        assert_int_equal(row.last_used_ms, want[i]);
        sto_api_key_release(&row);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_parse_only_in_their_exact_shape),
        cmocka_unit_test_setup_teardown(test_a_created_key_authenticates_with_its_role_and_cameras,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_revoked_and_expired_keys_fail_and_bad_input_is_named,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_last_use_is_stamped_at_most_once_a_minute,
                                        sto_fixture_setup, sto_fixture_teardown),
    };
    return cmocka_run_group_tests_name("auth.auth_api_key", tests, NULL, NULL);
}
