/* Tests for src/ingest/config.c: the `ingest:` section turned into a breaker policy. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ingest.h"

#include <errno.h>
#include <string.h>

static void test_no_tiers_gives_the_default_policy_with_the_configured_open_period(void **state)
{
    struct ing_config c = {.breaker = {.open_ms = 60000, .jitter_ms = 0}};
    struct ing_breaker_policy p;
    char err[160];
    assert_int_equal(ing_config_policy(&c, &p, err, sizeof(err), NULL), 0);
    assert_int_equal(p.ntiers, ing_breaker_policy_default.ntiers);
    assert_int_equal(p.tiers[1].delay_ms, 10000);
    assert_int_equal(p.open_ms, 60000);
    assert_int_equal(p.jitter_ms, 0);
}

static void test_configured_tiers_replace_the_defaults(void **state)
{
    struct ing_breaker_tier_config tiers[] = {{2, 0}, {4, 500}};
    struct ing_config c = {.breaker = {.tiers = tiers, .ntiers = 2, .open_ms = 2000}};
    struct ing_breaker_policy p;
    char err[160];
    assert_int_equal(ing_config_policy(&c, &p, err, sizeof(err), NULL), 0);
    assert_int_equal(p.ntiers, 2);
    assert_int_equal(p.tiers[0].max_failures, 2);
    assert_int_equal(p.tiers[1].max_failures, 4);
    assert_int_equal(p.tiers[1].delay_ms, 500);
}

static void test_tiers_must_grow_and_the_culprit_is_named(void **state)
{
    struct ing_breaker_tier_config tiers[] = {{3, 0}, {3, 500}};
    struct ing_config c = {.breaker = {.tiers = tiers, .ntiers = 2, .open_ms = 2000}};
    struct ing_breaker_policy p;
    char err[160];
    const void *where = NULL;
    assert_int_equal(ing_config_policy(&c, &p, err, sizeof(err), &where), -EINVAL);
    assert_ptr_equal(where, &tiers[1].failures);
    assert_non_null(strstr(err, "greater than the previous tier's 3"));
}

static void test_the_read_batch_reaches_the_stream_options_in_microseconds(void **state)
{
    struct ing_config c = {.threads = 3, .read_batch_ms = 5};
    struct ing_stream_options o;
    memset(&o, 0, sizeof(o));
    ing_config_stream_options(&c, &o);
    assert_int_equal(o.loop_threads, 3);
    assert_int_equal(o.read_batch_us, 5000);
    c.read_batch_ms = 0; /* off: every wake reads */
    ing_config_stream_options(&c, &o);
    assert_int_equal(o.read_batch_us, 0);
}

static void test_too_many_tiers_are_refused(void **state)
{
    struct ing_breaker_tier_config tiers[ING_BREAKER_MAX_TIERS + 1];
    for (int i = 0; i <= ING_BREAKER_MAX_TIERS; i++)
        tiers[i] = (struct ing_breaker_tier_config){i + 1, 0};
    struct ing_config c = {.breaker = {.tiers = tiers, .ntiers = ING_BREAKER_MAX_TIERS + 1}};
    struct ing_breaker_policy p;
    char err[160];
    assert_int_equal(ing_config_policy(&c, &p, err, sizeof(err), NULL), -EINVAL);
    assert_non_null(strstr(err, "at most"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_tiers_gives_the_default_policy_with_the_configured_open_period),
        cmocka_unit_test(test_configured_tiers_replace_the_defaults),
        cmocka_unit_test(test_tiers_must_grow_and_the_culprit_is_named),
        cmocka_unit_test(test_too_many_tiers_are_refused),
        cmocka_unit_test(test_the_read_batch_reaches_the_stream_options_in_microseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
