/*
 * Unit tests of the live events feed (src/events/feed.c): ids, the ring,
 * resume from a Last-Event-ID, reset, wrap-around, and id order across a
 * simulated restart (a new feed on a clock that moved on, or went back).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0_MS 1767225600000LL /* 2026-01-01 */

struct got {
    size_t n;
    uint64_t ids[64];
    char types[64][16];
    char json[64][64];
    char tenant[64][16];
};

static void collect(const struct evt_feed_msg *m, void *arg)
{
    struct got *g = arg;
    assert_true(g->n < 64);
    g->ids[g->n] = m->id;
    snprintf(g->types[g->n], sizeof(g->types[0]), "%s", m->type);
    snprintf(g->json[g->n], sizeof(g->json[0]), "%s", m->json);
    snprintf(g->tenant[g->n], sizeof(g->tenant[0]), "%s", m->tenant);
    assert_int_equal(strlen(m->json), m->json_len);
    g->n++;
}

static uint64_t pub(evt_feed *f, int i)
{
    char json[32];
    snprintf(json, sizeof(json), "{\"n\":%d}", i);
    return evt_feed_publish(f, "new", "cam1", json);
}

static void test_ids_increase_from_the_wall_clock_in_us(void **state)
{
    (void)state;
    clock_fake clk;
    clock_fake_init(&clk, T0_MS);
    evt_feed *f = evt_feed_new_clock(8, &clk.base);
    uint64_t a = pub(f, 1);
    assert_int_equal(a, (uint64_t)T0_MS * 1000);
    uint64_t b = pub(f, 2); /* same millisecond: previous + 1 */
    assert_int_equal(b, a + 1);
    clock_fake_advance_ms(&clk, 5);
    uint64_t c = pub(f, 3);
    assert_int_equal(c, (uint64_t)(T0_MS + 5) * 1000);
    assert_int_equal(evt_feed_last_id(f), c);
    evt_feed_free(f);
}

static void test_live_subscriber_gets_messages_in_order_and_no_replay(void **state)
{
    (void)state;
    evt_feed *f = evt_feed_new(8);
    pub(f, 0); /* before the subscription: not replayed without Last-Event-ID */
    struct got g = {0};
    evt_feed_sub *s = evt_feed_subscribe(f, false, 0, collect, &g);
    assert_int_equal(g.n, 0);
    uint64_t ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = pub(f, i + 1);
    assert_int_equal(g.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g.ids[i], ids[i]);
        assert_string_equal(g.types[i], "new");
    }
    assert_string_equal(g.json[2], "{\"n\":3}");
    assert_int_equal(evt_feed_subscribers(f), 1);
    evt_feed_unsubscribe(f, s);
    assert_int_equal(evt_feed_subscribers(f), 0);
    pub(f, 9);
    assert_int_equal(g.n, 3); /* nothing after unsubscribe */
    evt_feed_free(f);
}

static void test_resume_delivers_exactly_the_missed_messages(void **state)
{
    (void)state;
    evt_feed *f = evt_feed_new(8);
    uint64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = pub(f, i);
    struct got g = {0};
    evt_feed_sub *s = evt_feed_subscribe(f, true, ids[1], collect, &g);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.ids[0], ids[2]);
    assert_int_equal(g.ids[2], ids[4]);
    uint64_t more = pub(f, 5);
    assert_int_equal(g.n, 4);
    assert_int_equal(g.ids[3], more);
    evt_feed_unsubscribe(f, s);

    struct got none = {0}; /* up to date: nothing replayed, no reset */
    s = evt_feed_subscribe(f, true, more, collect, &none);
    assert_int_equal(none.n, 0);
    evt_feed_unsubscribe(f, s);
    evt_feed_free(f);
}

static void test_unknown_future_or_evicted_id_gets_a_reset(void **state)
{
    (void)state;
    evt_feed *f = evt_feed_new(4);
    uint64_t ids[10];
    for (int i = 0; i < 10; i++)
        ids[i] = pub(f, i); /* the ring keeps ids[6..9]; ids[5] was the last evicted */
    uint64_t bad[] = {ids[0], ids[4], ids[9] + 1000, ids[7] + 1 == ids[8] ? 1 : ids[7] + 1, 0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct got g = {0};
        evt_feed_sub *s = evt_feed_subscribe(f, true, bad[i], collect, &g);
        assert_int_equal(g.n, 1);
        assert_string_equal(g.types[0], "reset");
        assert_int_equal(g.ids[0], ids[9]); /* the client continues from the newest */
        assert_string_equal(g.json[0], "{}");
        pub(f, 100);
        assert_int_equal(g.n, 2); /* then live messages */
        assert_string_equal(g.types[1], "new");
        evt_feed_unsubscribe(f, s);
        ids[9] = evt_feed_last_id(f);
    }
    evt_feed_free(f);
}

static void test_wrap_keeps_the_newest_and_resumes_after_the_last_evicted(void **state)
{
    (void)state;
    evt_feed *f = evt_feed_new(4);
    uint64_t ids[11];
    for (int i = 0; i < 11; i++)
        ids[i] = pub(f, i); /* wrapped twice and a bit */
    struct got g = {0};
    evt_feed_sub *s = evt_feed_subscribe(f, true, ids[6], collect, &g); /* the last evicted */
    assert_int_equal(g.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(g.ids[i], ids[7 + i]);
        char want[32];
        snprintf(want, sizeof(want), "{\"n\":%d}", 7 + i);
        assert_string_equal(g.json[i], want);
    }
    evt_feed_unsubscribe(f, s);
    struct got h = {0};
    s = evt_feed_subscribe(f, true, ids[8], collect, &h); /* mid-ring after wrapping */
    assert_int_equal(h.n, 2);
    assert_int_equal(h.ids[0], ids[9]);
    assert_int_equal(h.ids[1], ids[10]);
    evt_feed_unsubscribe(f, s);
    evt_feed_free(f);
}

static void test_ids_stay_ordered_across_a_restart(void **state)
{
    (void)state;
    clock_fake clk;
    clock_fake_init(&clk, T0_MS);
    evt_feed *f = evt_feed_new_clock(8, &clk.base);
    uint64_t before = 0;
    for (int i = 0; i < 5; i++)
        before = pub(f, i);
    evt_feed_free(f);
    clock_fake_advance_ms(&clk, 2000); /* the daemon restarts two seconds later */
    f = evt_feed_new_clock(8, &clk.base);
    uint64_t after = pub(f, 0);
    assert_true(after > before);
    /* The client's id from before the restart is not in the new ring: reset. */
    struct got g = {0};
    evt_feed_sub *s = evt_feed_subscribe(f, true, before, collect, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.types[0], "reset");
    assert_int_equal(g.ids[0], after);
    evt_feed_unsubscribe(f, s);
    evt_feed_free(f);
}

static void test_reset_on_an_empty_feed_carries_no_id(void **state)
{
    (void)state;
    evt_feed *f = evt_feed_new(4);
    struct got g = {0};
    evt_feed_sub *s = evt_feed_subscribe(f, true, 12345, collect, &g);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.types[0], "reset");
    assert_int_equal(g.ids[0], 0);
    evt_feed_unsubscribe(f, s);
    evt_feed_free(f);
}

static int tenant_of(const char *camera_id, char *out, size_t cap, void *arg)
{
    (void)arg;
    if (strcmp(camera_id, "lost") == 0)
        return -5;
    snprintf(out, cap, "t-%s", camera_id);
    return 0;
}

static void test_tenant_and_one_line_json(void **state)
{
    (void)state;
    evt_feed *f = evt_feed_new(4);
    evt_feed_set_tenant_cb(f, tenant_of, NULL);
    struct got g = {0};
    evt_feed_sub *s = evt_feed_subscribe(f, false, 0, collect, &g);
    evt_feed_publish(f, "update", "cam1", "{\n  \"a\": 1\r\n}");
    evt_feed_publish(f, "end", "lost", "{}");
    assert_int_equal(g.n, 2);
    assert_string_equal(g.json[0], "{   \"a\": 1  }");
    assert_string_equal(g.tenant[0], "t-cam1");
    assert_string_equal(g.types[0], "update");
    assert_string_equal(g.tenant[1], "?"); /* unknown: only a superadmin sees it */
    /* Bad arguments publish nothing. */
    assert_int_equal(evt_feed_publish(f, NULL, "c", "{}"), 0);
    assert_int_equal(evt_feed_publish(f, "new", NULL, "{}"), 0);
    assert_int_equal(evt_feed_publish(f, "new", "c", NULL), 0);
    assert_int_equal(evt_feed_publish(f, "a-type-name-far-too-long", "c", "{}"), 0);
    assert_int_equal(g.n, 2);
    evt_feed_unsubscribe(f, s);
    evt_feed_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_increase_from_the_wall_clock_in_us),
        cmocka_unit_test(test_live_subscriber_gets_messages_in_order_and_no_replay),
        cmocka_unit_test(test_resume_delivers_exactly_the_missed_messages),
        cmocka_unit_test(test_unknown_future_or_evicted_id_gets_a_reset),
        cmocka_unit_test(test_wrap_keeps_the_newest_and_resumes_after_the_last_evicted),
        cmocka_unit_test(test_ids_stay_ordered_across_a_restart),
        cmocka_unit_test(test_reset_on_an_empty_feed_carries_no_id),
        cmocka_unit_test(test_tenant_and_one_line_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
