/* Tests for src/ingest/breaker.c, driven by the fake clock (no sleeping). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ingest_int.h"

static clock_fake clk;

static int setup(void **state)
{
    clock_fake_init(&clk, 1767225600000);
    return 0;
}

/* Fails until the breaker allows an attempt; returns the ms waited for it. */
static int64_t fail_and_wait(struct ing_breaker *b)
{
    ing_breaker_failure(b);
    int64_t waited = 0;
    bool changed;
    while (!ing_breaker_allow(b, &changed)) {
        int64_t ms = ing_breaker_wait_ms(b);
        assert_true(ms > 0);
        clock_fake_advance_ms(&clk, ms);
        waited += ms;
    }
    return waited;
}

static void test_default_policy_walks_the_tiers_then_opens(void **state)
{
    struct ing_breaker b;
    ing_breaker_init(&b, NULL, &clk.base, 42);
    bool changed;
    assert_true(ing_breaker_allow(&b, &changed));
    assert_false(changed);
    for (int i = 1; i <= 5; i++) {
        assert_true(fail_and_wait(&b) <= 250); /* at once, with jitter */
        assert_int_equal(b.state, ING_BREAKER_CLOSED);
    }
    for (int i = 6; i <= 10; i++) {
        int64_t w = fail_and_wait(&b);
        assert_true(w >= 10000 && w <= 10250);
    }
    for (int i = 11; i <= 20; i++) {
        int64_t w = fail_and_wait(&b);
        assert_true(w >= 30000 && w <= 30250);
        assert_int_equal(b.state, ING_BREAKER_CLOSED);
    }
    /* The 21st failure opens it for 5 minutes. */
    assert_true(ing_breaker_failure(&b));
    assert_int_equal(b.state, ING_BREAKER_OPEN);
    assert_false(ing_breaker_allow(&b, &changed));
    clock_fake_advance_ms(&clk, 299000);
    assert_false(ing_breaker_allow(&b, &changed));
    clock_fake_advance_ms(&clk, 1250);
    assert_true(ing_breaker_allow(&b, &changed));
    assert_true(changed);
    assert_int_equal(b.state, ING_BREAKER_HALF_OPEN);
}

static void test_failed_half_open_probe_reopens_for_another_period(void **state)
{
    struct ing_breaker_policy p = {.tiers = {{1, 0}}, .ntiers = 1, .open_ms = 1000};
    struct ing_breaker b;
    ing_breaker_init(&b, &p, &clk.base, 1);
    bool changed;
    assert_false(ing_breaker_failure(&b)); /* failure 1: retry at once, still closed */
    assert_true(ing_breaker_allow(&b, &changed));
    assert_true(ing_breaker_failure(&b)); /* failure 2: open */
    assert_int_equal(b.state, ING_BREAKER_OPEN);
    assert_int_equal(ing_breaker_wait_ms(&b), 1000);
    clock_fake_advance_ms(&clk, 1000);
    assert_true(ing_breaker_allow(&b, &changed));
    assert_int_equal(b.state, ING_BREAKER_HALF_OPEN);
    assert_true(ing_breaker_failure(&b));
    assert_int_equal(b.state, ING_BREAKER_OPEN);
    assert_int_equal(ing_breaker_wait_ms(&b), 1000);
}

static void test_success_closes_from_any_state_and_forgets_failures(void **state)
{
    struct ing_breaker_policy p = {.tiers = {{2, 500}}, .ntiers = 1, .open_ms = 1000};
    struct ing_breaker b;
    ing_breaker_init(&b, &p, &clk.base, 1);
    ing_breaker_failure(&b);
    ing_breaker_failure(&b);
    ing_breaker_failure(&b);
    assert_int_equal(b.state, ING_BREAKER_OPEN);
    clock_fake_advance_ms(&clk, 1000);
    bool changed;
    assert_true(ing_breaker_allow(&b, &changed));
    assert_true(ing_breaker_success(&b));
    assert_int_equal(b.state, ING_BREAKER_CLOSED);
    assert_int_equal(b.failures, 0);
    assert_int_equal(ing_breaker_wait_ms(&b), 0);
    assert_false(ing_breaker_success(&b)); /* already closed: no transition to log */
    ing_breaker_failure(&b);
    assert_int_equal(ing_breaker_wait_ms(&b), 500); /* back in the first tier */
}

static void test_jitter_spreads_retries_within_the_bound(void **state)
{
    struct ing_breaker_policy p = {.tiers = {{100, 1000}}, .ntiers = 1, .jitter_ms = 100};
    int64_t min = INT64_MAX, max = 0;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        struct ing_breaker b;
        ing_breaker_init(&b, &p, &clk.base, seed);
        ing_breaker_failure(&b);
        int64_t w = ing_breaker_wait_ms(&b);
        min = w < min ? w : min;
        max = w > max ? w : max;
    }
    assert_true(min >= 1000 && max <= 1100);
    assert_true(max - min >= 20);
}

static void test_state_names(void **state)
{
    assert_string_equal(ing_breaker_state_name(ING_BREAKER_CLOSED), "closed");
    assert_string_equal(ing_breaker_state_name(ING_BREAKER_OPEN), "open");
    assert_string_equal(ing_breaker_state_name(ING_BREAKER_HALF_OPEN), "half_open");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_default_policy_walks_the_tiers_then_opens, setup),
        cmocka_unit_test_setup(test_failed_half_open_probe_reopens_for_another_period, setup),
        cmocka_unit_test_setup(test_success_closes_from_any_state_and_forgets_failures, setup),
        cmocka_unit_test_setup(test_jitter_spreads_retries_within_the_bound, setup),
        cmocka_unit_test(test_state_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
