/* Tests src/auth/auth_password.c: argon2id hashes, the dummy verification, the rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_password.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* This thread's CPU time: the work done, whatever else the machine runs meanwhile. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_a_hash_verifies_its_password_only(void **state)
{
    char h1[AUTH_PASSWORD_HASH_MAX], h2[AUTH_PASSWORD_HASH_MAX];
    assert_int_equal(auth_password_hash("correct horse", h1, sizeof(h1)), 0);
    assert_int_equal(auth_password_hash("correct horse", h2, sizeof(h2)), 0);
    assert_string_not_equal(h1, h2); /* fresh salt each time */
    char want[64];
    snprintf(want, sizeof(want), "$argon2id$v=19$m=%d,t=%d,p=%d$", AUTH_ARGON2_M_KIB, AUTH_ARGON2_T,
             AUTH_ARGON2_P);
    assert_memory_equal(h1, want, strlen(want));
    assert_true(auth_password_verify(h1, "correct horse"));
    assert_false(auth_password_verify(h1, "correct horsE"));
    assert_false(auth_password_verify(h1, ""));
    assert_false(auth_password_verify(h1, NULL));
    assert_false(auth_password_verify("not a hash", "correct horse"));
}

static void test_unknown_users_cost_a_verification_and_never_match(void **state)
{
    char h[AUTH_PASSWORD_HASH_MAX];
    assert_int_equal(auth_password_hash("pw-for-timing", h, sizeof(h)), 0);
    assert_false(auth_password_verify(NULL, "horus-dummy-password-never-matches"));
    assert_false(auth_password_verify("", "x"));
    /*
     * Same work: the dummy verification costs about what a real one costs.
     * The fastest of several runs of each, so that a busy machine's pauses
     * do not count.
     */
    double real = 1e9, dummy = 1e9;
    for (int i = 0; i < 7; i++) {
        double t0 = now_ms();
        auth_password_verify(h, "wrong");
        double t1 = now_ms();
        auth_password_verify(NULL, "wrong");
        double t2 = now_ms();
        real = t1 - t0 < real ? t1 - t0 : real;
        dummy = t2 - t1 < dummy ? t2 - t1 : dummy;
    }
    assert_true(dummy > real * 0.5 && dummy < real * 2.0);
    print_message("argon2id verify: %.1f ms (dummy %.1f ms), fastest of 7\n", real, dummy);
}

static void test_password_rules_are_named(void **state)
{
    char why[128];
    assert_int_equal(auth_password_check_rules("0123456789", why, sizeof(why)), 0);
    assert_int_equal(auth_password_check_rules("012345678", why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "at least 10"));
    assert_int_equal(auth_password_check_rules("0123456789\n", why, sizeof(why)), -EINVAL);
    assert_int_equal(auth_password_check_rules(NULL, why, sizeof(why)), -EINVAL);
    char big[AUTH_PASSWORD_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(auth_password_check_rules(big, why, sizeof(why)), -EINVAL);
    char h[AUTH_PASSWORD_HASH_MAX];
    assert_int_equal(auth_password_hash(big, h, sizeof(h)), -EINVAL);
    char gen[32];
    assert_int_equal(auth_password_generate(gen, sizeof(gen)), 0);
    assert_int_equal(strlen(gen), 20);
    assert_int_equal(auth_password_check_rules(gen, why, sizeof(why)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_hash_verifies_its_password_only),
        cmocka_unit_test(test_unknown_users_cost_a_verification_and_never_match),
        cmocka_unit_test(test_password_rules_are_named),
    };
    return cmocka_run_group_tests_name("auth.auth_password", tests, NULL, NULL);
}
