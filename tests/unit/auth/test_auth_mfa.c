/*
 * Tests src/auth/auth_mfa.c (and storage/mfa.c under it) against a real
 * SQLite index: the policy table, the secret's stored form, enrolment and
 * confirmation, a code used once, recovery codes burnt once and replaced,
 * the restricted principal, and the login's second step.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_mfa.h"
#include "auth_user.h"
#include "err.h"
#include "secret_box.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0_MS 1700000000000LL /* a step boundary is 30 s; T0 is 20 s into one */

static void add_user(sto_db *db, const char *name, enum auth_role role)
{
    char why[160];
    struct auth_user_options o = {.name = name, .role = role, .password = "a-password-1"};
    assert_int_equal(auth_user_create(db, &o, NULL, why, sizeof(why)), 0);
}

/* The code of secret (base32) at unix time ms + offset steps, as a string. */
static void code_at(const char *b32, int64_t ms, int offset, char out[8])
{
    uint8_t key[AUTH_TOTP_SECRET_BYTES];
    int n = auth_base32_decode(b32, strlen(b32), key, sizeof(key));
    assert_int_equal(n, AUTH_TOTP_SECRET_BYTES);
    int32_t c = auth_hotp(key, (size_t)n, auth_totp_step(ms / 1000) + (uint64_t)offset, 6);
    assert_true(c >= 0);
    snprintf(out, 8, "%06d", c);
}

static void enrol(sto_db *db, const char *user, char b32[64],
                  struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES])
{
    struct auth_mfa_enrolment e;
    assert_int_equal(auth_mfa_enroll_begin(db, user, T0_MS, &e), 0);
    snprintf(b32, 64, "%s", e.secret_b32);
    char code[8];
    code_at(b32, T0_MS, 0, code);
    assert_int_equal(auth_mfa_enroll_confirm(db, user, code, T0_MS, codes), 0);
}

/* A user of role with a confirmed factor: its secret and recovery codes. */
struct enrolled {
    char b32[64];
    struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES];
};

static struct enrolled enrolled_user(sto_db *db, const char *name, enum auth_role role)
{
    struct enrolled u;
    add_user(db, name, role);
    enrol(db, name, u.b32, u.codes);
    return u;
}

static void test_the_policy_says_who_must_enrol(void **state)
{
    (void)state;
    assert_false(auth_mfa_policy_requires(AUTH_MFA_OFF, AUTH_ROLE_ADMIN, true));
    assert_false(auth_mfa_policy_requires(AUTH_MFA_OPTIONAL, AUTH_ROLE_SUPERADMIN, true));
    assert_false(auth_mfa_policy_requires(AUTH_MFA_REQUIRED_FOR_ADMINS, AUTH_ROLE_ADMIN, false));
    assert_true(auth_mfa_policy_requires(AUTH_MFA_REQUIRED_FOR_ADMINS, AUTH_ROLE_ADMIN, true));
    assert_true(auth_mfa_policy_requires(AUTH_MFA_REQUIRED_FOR_ADMINS, AUTH_ROLE_SUPERADMIN, true));
    assert_false(auth_mfa_policy_requires(AUTH_MFA_REQUIRED_FOR_ADMINS, AUTH_ROLE_OPERATOR, true));
    assert_true(auth_mfa_policy_requires(AUTH_MFA_REQUIRED, AUTH_ROLE_VIEWER, false));
    assert_string_equal(auth_mfa_policy_names[AUTH_MFA_REQUIRED_FOR_ADMINS], "required_for_admins");
}

#define KEY_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static sto_secret_box *box_of(const char *key_text)
{
    sto_secret_box *box = NULL;
    char *errmsg = NULL;
    struct sto_secret_box_options o = {.key_text = key_text, .key_file = "/nonexistent"};
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), 0);
    return box;
}

static void test_the_secret_round_trips_through_its_stored_form(void **state)
{
    (void)state;
    uint8_t s[AUTH_TOTP_SECRET_BYTES], back[AUTH_TOTP_SECRET_BYTES];
    for (size_t i = 0; i < sizeof(s); i++)
        s[i] = (uint8_t)(i * 37 + 1);
    char b32[64];
    assert_int_equal(auth_base32_encode(s, sizeof(s), b32, sizeof(b32)), 32);
    sto_secret_box *box = box_of(KEY_A);
    char stored[AUTH_MFA_SECRET_STORED_MAX];
    int n = auth_mfa_secret_seal(box, "ann", s, sizeof(s), stored, sizeof(stored));
    assert_int_equal(n, 136);
    assert_memory_equal(stored, "hsb1.", 5);
    assert_null(strstr(stored, b32)); /* sealed: neither the base32 ... */
    assert_null(memmem(stored, (size_t)n, s, sizeof(s))); /* ... nor the bytes */
    assert_int_equal(auth_mfa_secret_open(box, "ann", stored, back, sizeof(back)), (int)sizeof(s));
    assert_memory_equal(s, back, sizeof(s));
    /* Bound to its user: another user's row, or no key, does not open it. */
    assert_int_equal(auth_mfa_secret_open(box, "bob", stored, back, sizeof(back)), -EBADMSG);
    assert_int_equal(auth_mfa_secret_open(NULL, "ann", stored, back, sizeof(back)), -ENOKEY);
    char small[100];
    assert_int_equal(auth_mfa_secret_seal(box, "ann", s, sizeof(s), small, sizeof(small)), -ENOSPC);
    assert_string_equal(small, "");
    /* Known answer, sealed by Python's cryptography AESGCM (tests/fuzz/corpus seed). */
    const char *kat = "hsb1.191564ff.000102030405060708090a0b.0d40854c9cd6864bc809c7c082b9203dc994"
                      "d463a9481b2c7d2fb5ce2e3958e2.2776a5ff77b2d78f25e0f66a6cd5effa";
    uint8_t want[AUTH_TOTP_SECRET_BYTES];
    assert_int_equal(auth_base32_decode("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 32, want, sizeof(want)),
                     (int)sizeof(want));
    assert_int_equal(auth_mfa_secret_open(box, "fuzz", kat, back, sizeof(back)), (int)sizeof(s));
    assert_memory_equal(back, want, sizeof(want));
    /* Rows from before sealing still open; without a box a secret is written so too. */
    char plain[80];
    snprintf(plain, sizeof(plain), "b32:%s", b32);
    assert_int_equal(auth_mfa_secret_open(box, "ann", plain, back, sizeof(back)), (int)sizeof(s));
    assert_memory_equal(s, back, sizeof(s));
    assert_int_equal(auth_mfa_secret_seal(NULL, "ann", s, sizeof(s), stored, sizeof(stored)), 36);
    assert_string_equal(stored, plain);
    /* An unknown or damaged form is refused, never guessed. */
    assert_int_equal(auth_mfa_secret_open(box, "ann", plain + 4, back, sizeof(back)), -EINVAL);
    assert_int_equal(auth_mfa_secret_open(box, "ann", "gcm:AAAA", back, sizeof(back)), -EINVAL);
    assert_int_equal(auth_mfa_secret_open(box, "ann", "b32:", back, sizeof(back)), -EINVAL);
    assert_int_equal(auth_mfa_secret_open(box, "ann", "b32:A1", back, sizeof(back)), -EINVAL);
    assert_int_equal(auth_mfa_secret_open(box, "ann", "hsb1.x", back, sizeof(back)), -EINVAL);
    assert_int_equal(auth_mfa_secret_open(box, "ann", NULL, back, sizeof(back)), -EINVAL);
    sto_secret_box_free(box);
}

/* user's user_mfa.secret as stored (new). */
static char *raw_secret(sto_db *db, const char *user)
{
    struct sto_mfa m;
    assert_int_equal(sto_mfa_get(db, user, &m), 0);
    char *out = strdup(m.secret);
    sto_mfa_release(&m);
    return out;
}

static void test_secrets_are_sealed_at_rest_and_old_rows_sealed_once(void **state)
{
    struct sto_fixture *f = *state;
    add_user(f->db, "ann", AUTH_ROLE_VIEWER);
    add_user(f->db, "bob", AUTH_ROLE_VIEWER);
    /* bob enrols before secrets were sealed: a "b32:" row. */
    char b32_bob[64];
    struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES];
    enrol(f->db, "bob", b32_bob, codes);
    char *row = raw_secret(f->db, "bob");
    assert_memory_equal(row, "b32:", 4);
    free(row);

    sto_secret_box *box = box_of(KEY_A);
    sto_set_secret_box(f->db, box);
    char b32_ann[64];
    enrol(f->db, "ann", b32_ann, codes);
    row = raw_secret(f->db, "ann");
    assert_memory_equal(row, "hsb1.", 5);
    assert_null(strstr(row, b32_ann));
    free(row);

    struct sto_secret_census census;
    assert_int_equal(sto_secrets_census(f->db, &census), 0);
    assert_int_equal(census.plain, 1);
    assert_int_equal(census.sealed, 1);
    char why[256];
    size_t changed = 0;
    assert_int_equal(sto_secrets_seal(f->db, &changed, why, sizeof(why)), 0);
    assert_int_equal(changed, 1);
    row = raw_secret(f->db, "bob");
    assert_memory_equal(row, "hsb1.", 5);
    assert_null(strstr(row, b32_bob));
    free(row);
    assert_int_equal(sto_secrets_seal(f->db, &changed, why, sizeof(why)), 0);
    assert_int_equal(changed, 0); /* idempotent */

    /* Both still verify: the next step's code of each. */
    char code[8];
    enum auth_mfa_method m;
    code_at(b32_bob, T0_MS, 1, code);
    assert_int_equal(auth_mfa_verify(f->db, "bob", code, NULL, T0_MS + 30000, &m), 0);
    code_at(b32_ann, T0_MS, 1, code);
    assert_int_equal(auth_mfa_verify(f->db, "ann", code, NULL, T0_MS + 30000, &m), 0);

    sto_set_secret_box(f->db, NULL);
    sto_secret_box_free(box);
}

static void test_enrolment_is_pending_until_a_code_confirms_it(void **state)
{
    struct sto_fixture *f = *state;
    add_user(f->db, "ann", AUTH_ROLE_VIEWER);
    struct auth_mfa_enrolment e;
    assert_int_equal(auth_mfa_enroll_begin(f->db, "nobody", T0_MS, &e), -ENOENT);
    assert_int_equal(auth_mfa_enroll_begin(f->db, "ann", T0_MS, &e), 0);
    assert_non_null(strstr(e.uri, "otpauth://totp/Horus:ann?secret="));
    assert_non_null(strstr(e.uri, e.secret_b32));
    struct sto_mfa m;
    assert_int_equal(sto_mfa_get(f->db, "ann", &m), 0);
    assert_false(m.is_enrolled);
    assert_int_equal(m.last_step, -1);
    sto_mfa_release(&m);
    /* Pending: verification knows no factor yet. */
    enum auth_mfa_method how;
    assert_int_equal(auth_mfa_verify(f->db, "ann", "123456", NULL, T0_MS, &how), -ENOENT);
    struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES];
    char code[8];
    code_at(e.secret_b32, T0_MS, 2, code); /* two steps ahead: outside the window */
    assert_int_equal(auth_mfa_enroll_confirm(f->db, "ann", code, T0_MS, codes), -EACCES);
    assert_int_equal(auth_mfa_enroll_confirm(f->db, "ann", "12345", T0_MS, codes), -EINVAL);
    code_at(e.secret_b32, T0_MS, -1, code);
    assert_int_equal(auth_mfa_enroll_confirm(f->db, "ann", code, T0_MS, codes), 0);
    assert_int_equal(strlen(codes[0].code), 19);
    assert_int_equal(auth_mfa_enroll_confirm(f->db, "ann", code, T0_MS, codes), -EEXIST);
    assert_int_equal(auth_mfa_enroll_begin(f->db, "ann", T0_MS, &e), -EEXIST);
    assert_int_equal(sto_mfa_get(f->db, "ann", &m), 0);
    assert_true(m.is_enrolled);
    assert_int_equal(m.last_step, (int64_t)auth_totp_step(T0_MS / 1000) - 1);
    assert_int_equal(m.recovery_left, AUTH_MFA_RECOVERY_CODES);
    sto_mfa_release(&m);
}

static void test_a_code_works_once_and_never_after_a_later_one(void **state)
{
    struct sto_fixture *f = *state;
    struct enrolled u = enrolled_user(f->db, "bob", AUTH_ROLE_OPERATOR);
    enum auth_mfa_method how;
    char now[8], next[8];
    code_at(u.b32, T0_MS, 0, now);
    code_at(u.b32, T0_MS, 1, next);
    /* The confirming code is spent. */
    assert_int_equal(auth_mfa_verify(f->db, "bob", now, NULL, T0_MS, &how), -EALREADY);
    assert_int_equal(auth_mfa_verify(f->db, "bob", NULL, NULL, T0_MS, &how), -ENODATA);
    assert_int_equal(auth_mfa_verify(f->db, "bob", "", "", T0_MS, &how), -ENODATA);
    char far[8];
    code_at(u.b32, T0_MS, 5, far); /* outside the +-1 step window */
    assert_int_equal(auth_mfa_verify(f->db, "bob", far, NULL, T0_MS, &how), -EACCES);
    char spaced[10];
    snprintf(spaced, sizeof(spaced), "%.3s %s", next, next + 3);
    assert_int_equal(auth_mfa_verify(f->db, "bob", spaced, NULL, T0_MS, &how), 0);
    assert_int_equal(how, AUTH_MFA_METHOD_TOTP);
    assert_int_equal(auth_mfa_verify(f->db, "bob", next, NULL, T0_MS, &how), -EALREADY);
    /*
     * Two logins racing with one code both pass auth_totp_verify against
     * the last_step they read; the writer lets only the first record it.
     */
    int64_t step = (int64_t)auth_totp_step(T0_MS / 1000) + 1;
    assert_int_equal(sto_mfa_use_step(f->db, "bob", step + 1), 0);
    assert_int_equal(sto_mfa_use_step(f->db, "bob", step + 1), -EALREADY);
    assert_int_equal(sto_mfa_use_step(f->db, "bob", step), -EALREADY);
    assert_int_equal(sto_mfa_use_step(f->db, "nobody", step + 9), -ENOENT);
    /* An older step stays refused after the clock moves on. */
    assert_int_equal(auth_mfa_verify(f->db, "bob", now, NULL, T0_MS + 30000, &how), -EALREADY);
}

static void test_recovery_codes_are_burnt_once_and_replaced(void **state)
{
    struct sto_fixture *f = *state;
    struct enrolled u = enrolled_user(f->db, "cid", AUTH_ROLE_VIEWER);
    enum auth_mfa_method how;
    assert_int_equal(auth_mfa_verify(f->db, "cid", NULL, u.codes[3].code, T0_MS, &how), 0);
    assert_int_equal(how, AUTH_MFA_METHOD_RECOVERY);
    assert_int_equal(auth_mfa_verify(f->db, "cid", NULL, u.codes[3].code, T0_MS, &how), -EACCES);
    /* In the totp field, lower case, without dashes. */
    char typed[AUTH_RECOVERY_CODE_SIZE];
    size_t n = 0;
    for (const char *c = u.codes[4].code; *c; c++)
        if (*c != '-')
            typed[n++] = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    typed[n] = '\0';
    assert_int_equal(auth_mfa_verify(f->db, "cid", typed, NULL, T0_MS, &how), 0);
    assert_int_equal(auth_mfa_verify(f->db, "cid", NULL, "not-a-code", T0_MS, &how), -EACCES);
    /* Two logins racing with one recovery code: the writer burns it for one of them. */
    assert_int_equal(sto_mfa_recovery_use(f->db, "cid", u.codes[6].hash), 0);
    assert_int_equal(sto_mfa_recovery_use(f->db, "cid", u.codes[6].hash), -ENOENT);
    struct sto_mfa m;
    assert_int_equal(sto_mfa_get(f->db, "cid", &m), 0);
    assert_int_equal(m.recovery_left, AUTH_MFA_RECOVERY_CODES - 3);
    sto_mfa_release(&m);
    struct auth_recovery_code fresh[AUTH_MFA_RECOVERY_CODES];
    assert_int_equal(auth_mfa_recovery_regenerate(f->db, "cid", fresh), 0);
    assert_int_equal(auth_mfa_verify(f->db, "cid", NULL, u.codes[5].code, T0_MS, &how), -EACCES);
    assert_int_equal(auth_mfa_verify(f->db, "cid", NULL, fresh[0].code, T0_MS, &how), 0);
    assert_int_equal(auth_mfa_recovery_regenerate(f->db, "nobody", fresh), -ENOENT);
    /* Removing the factor removes its codes; deleting the user removes the rows. */
    assert_int_equal(sto_mfa_delete(f->db, "cid"), 0);
    assert_int_equal(sto_mfa_delete(f->db, "cid"), -ENOENT);
    assert_int_equal(auth_mfa_verify(f->db, "cid", NULL, fresh[1].code, T0_MS, &how), -ENOENT);
}

static void test_required_for_admins_restricts_admins_once_one_enrolled(void **state)
{
    struct sto_fixture *f = *state;
    add_user(f->db, "ada", AUTH_ROLE_ADMIN);
    add_user(f->db, "ben", AUTH_ROLE_ADMIN);
    add_user(f->db, "vic", AUTH_ROLE_VIEWER);
    struct auth_principal *ben =
        auth_principal_new(AUTH_KIND_SESSION, "s1", "ben", AUTH_ROLE_ADMIN);
    snprintf(ben->user, sizeof(ben->user), "ben");
    struct auth_principal *vic =
        auth_principal_new(AUTH_KIND_SESSION, "s2", "vic", AUTH_ROLE_VIEWER);
    snprintf(vic->user, sizeof(vic->user), "vic");
    struct auth_principal *key =
        auth_principal_new(AUTH_KIND_API_KEY, "k1", "key", AUTH_ROLE_ADMIN);
    assert_int_equal(auth_mfa_mark_principal(f->db, AUTH_MFA_REQUIRED_FOR_ADMINS, ben), 0);
    assert_false(ben->must_enroll_mfa);
    char b32[64];
    struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES];
    enrol(f->db, "ada", b32, codes);
    uint64_t admins = 0;
    assert_int_equal(sto_mfa_count_enrolled_admins(f->db, &admins), 0);
    assert_int_equal(admins, 1);
    assert_int_equal(auth_mfa_mark_principal(f->db, AUTH_MFA_REQUIRED_FOR_ADMINS, ben), 0);
    assert_true(ben->must_enroll_mfa);
    assert_int_equal(auth_check(ben, AUTH_PERM_SELF), 0);
    assert_int_equal(auth_check(ben, AUTH_PERM_VIEWER), -EPERM);
    assert_int_equal(auth_mfa_mark_principal(f->db, AUTH_MFA_REQUIRED_FOR_ADMINS, vic), 0);
    assert_false(vic->must_enroll_mfa);
    assert_int_equal(auth_mfa_mark_principal(f->db, AUTH_MFA_REQUIRED, vic), 0);
    assert_true(vic->must_enroll_mfa);
    assert_int_equal(auth_mfa_mark_principal(f->db, AUTH_MFA_REQUIRED, key), 0);
    assert_false(key->must_enroll_mfa);
    /* An SSO session of the same admin: the IdP did the second factor. */
    struct auth_principal *sso =
        auth_principal_new(AUTH_KIND_SESSION, "s3", "ben", AUTH_ROLE_ADMIN);
    snprintf(sso->user, sizeof(sso->user), "ben");
    sso->via_sso = true;
    assert_int_equal(auth_mfa_mark_principal(f->db, AUTH_MFA_REQUIRED, sso), 0);
    assert_false(sso->must_enroll_mfa);
    auth_principal_free(sso);
    auth_principal_free(ben);
    auth_principal_free(vic);
    auth_principal_free(key);
}

static int login(sto_db *db, const char *user, const char *totp, const char *recovery,
                 enum auth_mfa_policy policy, struct auth_login_result *res)
{
    struct auth_login in = {.username = user,
                            .password = "a-password-1",
                            .now_ms = T0_MS,
                            .session_max_ms = 3600000,
                            .mfa_policy = policy,
                            .totp = totp,
                            .recovery_code = recovery};
    int rc = auth_login_password(db, &in, res);
    auth_principal_free(res->principal);
    res->principal = NULL;
    return rc;
}

static void test_the_login_asks_the_second_factor_after_the_password(void **state)
{
    struct sto_fixture *f = *state;
    struct enrolled u = enrolled_user(f->db, "dee", AUTH_ROLE_VIEWER);
    struct auth_login_result res;
    assert_int_equal(login(f->db, "dee", NULL, NULL, AUTH_MFA_OPTIONAL, &res), HORUS_EAUTH);
    assert_int_equal(res.mfa, AUTH_LOGIN_MFA_MISSING);
    char now[8], next[8];
    code_at(u.b32, T0_MS, 0, now);
    code_at(u.b32, T0_MS, 1, next);
    assert_int_equal(login(f->db, "dee", now, NULL, AUTH_MFA_OPTIONAL, &res), HORUS_EAUTH);
    assert_int_equal(res.mfa, AUTH_LOGIN_MFA_REPLAYED);
    assert_int_equal(login(f->db, "dee", next, NULL, AUTH_MFA_OPTIONAL, &res), 0);
    assert_int_equal(res.mfa, AUTH_LOGIN_MFA_TOTP);
    assert_int_equal(login(f->db, "dee", NULL, u.codes[0].code, AUTH_MFA_OPTIONAL, &res), 0);
    assert_int_equal(res.mfa, AUTH_LOGIN_MFA_RECOVERY);
    assert_int_equal(login(f->db, "dee", NULL, "AAAA", AUTH_MFA_OPTIONAL, &res), HORUS_EAUTH);
    assert_int_equal(res.mfa, AUTH_LOGIN_MFA_INVALID);
    /* A wrong password never reaches the second factor: nothing tells that dee exists. */
    struct auth_login in = {.username = "dee", .password = "wrong", .now_ms = T0_MS};
    assert_int_equal(auth_login_password(f->db, &in, &res), HORUS_EAUTH);
    assert_int_equal(res.mfa, AUTH_LOGIN_MFA_NOT_ASKED);
    /* Off: not asked even of an enrolled user. */
    assert_int_equal(login(f->db, "dee", NULL, NULL, AUTH_MFA_OFF, &res), 0);
    assert_int_equal(res.mfa, AUTH_LOGIN_MFA_NOT_ASKED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_policy_says_who_must_enrol),
        cmocka_unit_test(test_the_secret_round_trips_through_its_stored_form),
        cmocka_unit_test_setup_teardown(test_secrets_are_sealed_at_rest_and_old_rows_sealed_once,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_enrolment_is_pending_until_a_code_confirms_it,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_a_code_works_once_and_never_after_a_later_one,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_recovery_codes_are_burnt_once_and_replaced,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_required_for_admins_restricts_admins_once_one_enrolled,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_the_login_asks_the_second_factor_after_the_password,
                                        sto_fixture_setup, sto_fixture_teardown),
    };
    return cmocka_run_group_tests_name("auth.auth_mfa", tests, NULL, NULL);
}
