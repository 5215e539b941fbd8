/*
 * Tests src/api/audit_denied.c's bookkeeping: one entry per client a
 * window with the count of the refusals it stands for, a global budget a
 * window, and a summary for a client whose slot another one takes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct api_audit_denied *denied_new(void)
{
    struct api_audit_denied *d = calloc(1, sizeof(*d));
    pthread_mutex_init(&d->lock, NULL);
    return d;
}

static void denied_free(struct api_audit_denied *d)
{
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static void test_a_client_gets_one_entry_a_window_with_the_count(void **state)
{
    (void)state;
    struct api_audit_denied *d = denied_new();
    int64_t t = 1000;
    struct api_denied_plan p = api_audit_denied_plan(d, "192.0.2.1", t);
    assert_true(p.is_recorded);
    assert_int_equal(p.suppressed, 0);
    for (int i = 1; i < 50; i++) {
        p = api_audit_denied_plan(d, "192.0.2.1", t + i * 1000);
        assert_false(p.is_recorded);
        assert_false(p.has_summary);
    }
    /* Another client is not held back by the first. */
    assert_true(api_audit_denied_plan(d, "192.0.2.2", t + 2000).is_recorded);
    p = api_audit_denied_plan(d, "192.0.2.1", t + API_DENIED_WINDOW_MS);
    assert_true(p.is_recorded);
    assert_int_equal(p.suppressed, 49);
    p = api_audit_denied_plan(d, "192.0.2.1", t + API_DENIED_WINDOW_MS + 1);
    assert_false(p.is_recorded);
    denied_free(d);
}

static void test_all_clients_share_a_budget_and_the_excess_is_counted(void **state)
{
    (void)state;
    struct api_audit_denied *d = denied_new();
    char client[32];
    unsigned recorded = 0;
    uint64_t summed = 0;
    /* 200 distinct addresses in one window (a distributed scan). */
    for (int i = 0; i < 200; i++) {
        snprintf(client, sizeof(client), "10.0.%d.%d", i / 250, i % 250);
        struct api_denied_plan p = api_audit_denied_plan(d, client, 5000);
        recorded += p.is_recorded + p.has_summary;
        summed += p.suppressed;
    }
    assert_int_equal(recorded, API_DENIED_WINDOW_MAX);
    assert_int_equal(summed, 0);
    /* The next window's first entry carries what the budget held back. */
    struct api_denied_plan p =
        api_audit_denied_plan(d, "198.51.100.9", 5000 + API_DENIED_WINDOW_MS);
    assert_true(p.is_recorded);
    assert_int_equal(p.suppressed_global, 200 - API_DENIED_WINDOW_MAX);
    p = api_audit_denied_plan(d, "198.51.100.10", 5000 + API_DENIED_WINDOW_MS);
    assert_true(p.is_recorded);
    assert_int_equal(p.suppressed_global, 0);
    denied_free(d);
}

static void test_a_client_whose_slot_is_taken_gets_a_summary(void **state)
{
    (void)state;
    struct api_audit_denied *d = denied_new();
    assert_true(api_audit_denied_plan(d, "203.0.113.1", 0).is_recorded);
    for (int i = 0; i < 7; i++)
        assert_false(api_audit_denied_plan(d, "203.0.113.1", 10).is_recorded);
    /* Find an address that falls into the same slot (the table is small). */
    char other[32];
    struct api_denied_plan p = {0};
    for (int i = 0; i < 100000 && !p.has_summary; i++) {
        snprintf(other, sizeof(other), "2001:db8::%x", i);
        p = api_audit_denied_plan(d, other, 20 + (int64_t)i * API_DENIED_WINDOW_MS);
    }
    assert_true(p.has_summary);
    assert_string_equal(p.summary_client, "203.0.113.1");
    assert_int_equal(p.summary_count, 7);
    assert_true(p.is_recorded);
    denied_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_client_gets_one_entry_a_window_with_the_count),
        cmocka_unit_test(test_all_clients_share_a_budget_and_the_excess_is_counted),
        cmocka_unit_test(test_a_client_whose_slot_is_taken_gets_a_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
