/*
 * Tests for src/auth/login_limit.c with a fake clock: growing delays per
 * user name and per address, the window, reset on success, unknown names
 * limited like known ones, parallel attempts, the cap, the bounded tables
 * and the throttled counter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "err.h"
#include "http.h"
#include "login_limit.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    clock_fake clock;
    metrics_registry *metrics;
    auth_login_limit *l;
};

static struct http_addr ip(const char *s)
{
    struct http_addr a;
    assert_int_equal(http_addr_parse(s, strlen(s), &a), 0);
    return a;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    clock_fake_init(&f->clock, 1700000000000);
    f->metrics = metrics_registry_new();
    struct auth_login_limit_options o = {.clock = &f->clock.base, .metrics = f->metrics};
    assert_int_equal(auth_login_limit_new(&o, &f->l), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    auth_login_limit_free(f->l);
    metrics_registry_free(f->metrics);
    free(f);
    return 0;
}

static double throttled(struct fixture *f, const char *by)
{
    size_t len;
    char *text = metrics_render(f->metrics, &len);
    char want[96];
    snprintf(want, sizeof(want), "horus_auth_login_throttled_total{by=\"%s\"} ", by);
    const char *p = strstr(text, want);
    double v = p ? strtod(p + strlen(want), NULL) : -1;
    free(text);
    return v;
}

/* One whole attempt: check, then record when allowed. Returns 0 or the wait in seconds. */
static unsigned attempt(struct fixture *f, const char *name, const char *from, bool ok)
{
    struct http_addr a = ip(from);
    unsigned wait = 0;
    if (auth_login_limit_check(f->l, name, &a, &wait) == HORUS_ELIMIT) {
        assert_true(wait >= 1);
        return wait;
    }
    auth_login_limit_record(f->l, name, &a, ok);
    return 0;
}

static void test_delays_start_after_five_failures_and_double(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(attempt(f, "alice", "192.0.2.1", false), 0);
    assert_int_equal(attempt(f, "alice", "192.0.2.1", false), 1);
    /* Each failure after the wait doubles the next one: 2, 4, 8 s. */
    unsigned want[] = {2, 4, 8, 16};
    for (size_t i = 0; i < 4; i++) {
        clock_fake_advance_ms(&f->clock, 1000 * (want[i] / 2));
        assert_int_equal(attempt(f, "alice", "192.0.2.1", false), 0);
        assert_int_equal(attempt(f, "alice", "192.0.2.1", false), want[i]);
    }
    /* Part of a wait gone: Retry-After says what is left, rounded up. */
    clock_fake_advance_ms(&f->clock, 10500);
    assert_int_equal(attempt(f, "alice", "192.0.2.1", false), 6);
    assert_true(throttled(f, "user") == 6);
}

static void test_the_wait_is_capped(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 5; i++)
        attempt(f, "bob", "192.0.2.1", false);
    for (int i = 0; i < 30; i++) {
        clock_fake_advance_ms(&f->clock, 15 * 60 * 1000);
        assert_int_equal(attempt(f, "bob", "192.0.2.1", false), 0);
    }
    assert_int_equal(attempt(f, "bob", "192.0.2.1", false), 15 * 60);
}

static void test_success_clears_the_name_but_not_the_address(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 4; i++)
        attempt(f, "carol", "192.0.2.1", false);
    assert_int_equal(attempt(f, "carol", "192.0.2.1", true), 0);
    /* The name starts over: four more failures pass... */
    for (int i = 0; i < 4; i++)
        assert_int_equal(attempt(f, "carol", "198.51.100.1", false), 0);
    /* ...but the first address had four failures and its fifth blocks it for any name. */
    assert_int_equal(attempt(f, "mallory", "192.0.2.1", false), 0);
    assert_int_equal(attempt(f, "dave", "192.0.2.1", true), 1);
    assert_true(throttled(f, "address") == 1);
}

static void test_unknown_names_and_spraying_are_limited_alike(void **state)
{
    struct fixture *f = *state;
    /* A name that exists nowhere is limited as any other: nothing tells them apart. */
    for (int i = 0; i < 5; i++)
        attempt(f, "no-such-user", "192.0.2.1", false);
    assert_int_equal(attempt(f, "no-such-user", "203.0.113.1", false), 1);
    /* One guess at each of many names from one address: the address limit stops it. */
    char name[32];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        assert_int_equal(attempt(f, name, "198.51.100.9", false), 0);
    }
    assert_int_equal(attempt(f, "user99", "198.51.100.9", false), 1);
    /* Names compare without ASCII case; addresses of one IPv6 /64 are one. */
    for (int i = 0; i < 5; i++)
        attempt(f, "Erin", "2001:db8:1:1::1", false);
    assert_int_equal(attempt(f, "eRIN", "203.0.113.7", false), 1);
    assert_int_equal(attempt(f, "frank", "2001:db8:1:1::99", false), 1);
}

static void test_failures_leave_the_window(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 4; i++)
        attempt(f, "gina", "192.0.2.1", false);
    clock_fake_advance_ms(&f->clock, 15 * 60 * 1000 + 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(attempt(f, "gina", "192.0.2.1", false), 0);
    assert_int_equal(attempt(f, "gina", "192.0.2.1", false), 0);
    assert_int_equal(attempt(f, "gina", "192.0.2.1", false), 1);
}

static void test_parallel_attempts_cannot_pass_the_threshold(void **state)
{
    struct fixture *f = *state;
    struct http_addr a = ip("192.0.2.1");
    unsigned wait;
    /* Five checks allowed at once, then none until they are recorded. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(auth_login_limit_check(f->l, "hank", &a, &wait), 0);
    assert_int_equal(auth_login_limit_check(f->l, "hank", &a, &wait), HORUS_ELIMIT);
    assert_int_equal(wait, 1);
    for (int i = 0; i < 5; i++)
        auth_login_limit_record(f->l, "hank", &a, false);
    assert_int_equal(auth_login_limit_check(f->l, "hank", &a, &wait), HORUS_ELIMIT);
    /* Without an address the name alone decides. */
    assert_int_equal(auth_login_limit_check(f->l, "hank", NULL, &wait), HORUS_ELIMIT);
    /* An attempt allowed but never recorded stops counting after a minute. */
    struct http_addr b = ip("198.51.100.1");
    for (int i = 0; i < 5; i++)
        assert_int_equal(auth_login_limit_check(f->l, "ivy", &b, &wait), 0);
    assert_int_equal(auth_login_limit_check(f->l, "ivy", &b, &wait), HORUS_ELIMIT);
    clock_fake_advance_ms(&f->clock, 60001);
    assert_int_equal(auth_login_limit_check(f->l, "ivy", &b, &wait), 0);
}

static void test_a_flood_of_names_does_not_unblock_a_user(void **state)
{
    (void)state;
    clock_fake clock;
    clock_fake_init(&clock, 0);
    auth_login_limit *l;
    struct auth_login_limit_options o = {.clock = &clock.base, .max_entries = 64};
    assert_int_equal(auth_login_limit_new(&o, &l), 0);
    unsigned wait;
    for (int i = 0; i < 8; i++) {
        if (i >= 5)
            clock_fake_advance_ms(&clock, 1000 << (i - 5)); /* the wait the last failure set */
        assert_int_equal(auth_login_limit_check(l, "admin", NULL, &wait), 0);
        auth_login_limit_record(l, "admin", NULL, false);
    }
    assert_int_equal(auth_login_limit_check(l, "admin", NULL, &wait), HORUS_ELIMIT);
    assert_int_equal(wait, 8);
    /* 100000 other names, one failure each, go through 64 slots in the next seconds. */
    char name[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        if (auth_login_limit_check(l, name, NULL, &wait) == 0)
            auth_login_limit_record(l, name, NULL, false);
        if (i % 20000 == 19999)
            clock_fake_advance_ms(&clock, 1000);
    }
    /* Entries of one failure go first: the blocked user is still remembered. */
    assert_int_equal(auth_login_limit_check(l, "admin", NULL, &wait), HORUS_ELIMIT);
    assert_int_equal(wait, 3);
    auth_login_limit_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delays_start_after_five_failures_and_double, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_the_wait_is_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_success_clears_the_name_but_not_the_address, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_names_and_spraying_are_limited_alike, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_failures_leave_the_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parallel_attempts_cannot_pass_the_threshold, setup,
                                        teardown),
        cmocka_unit_test(test_a_flood_of_names_does_not_unblock_a_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
