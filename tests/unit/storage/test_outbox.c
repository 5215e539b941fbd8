/*
 * Tests for src/storage/outbox.c (docs/design/0045-bus-and-outbox.md):
 * seqs in append order and never reused, reads after a cursor, cursors
 * that start at the head, trims by cursors and by age, and an event row
 * and its outbox messages committed or refused together.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_US (3600LL * 1000000)

static void append(struct sto_fixture *f, const char *cam, const char *payload)
{
    struct sto_outbox_input m = {
        .kind = "event", .type = "new", .camera_id = cam, .payload = payload};
    assert_int_equal(sto_outbox_append(f->db, &m), 0);
}

static int64_t head(struct sto_fixture *f)
{
    int64_t h = -1;
    assert_int_equal(sto_outbox_head(f->db, &h), 0);
    return h;
}

static int64_t now_us(void)
{
    return clock_realtime_ms(clock_system()) * 1000;
}

static void test_rows_come_back_in_append_order_after_a_seq(void **state)
{
    struct sto_fixture *f = *state;
    assert_int_equal(head(f), 0);
    char p[32];
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof(p), "{\"i\":%d}", i);
        append(f, i % 2 ? "cam-b" : "cam-a", p);
    }
    assert_int_equal(head(f), 5);
    struct sto_outbox_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(sto_outbox_read(f->db, 1, 3, &rows, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rows[i].seq, (int64_t)i + 2);
        snprintf(p, sizeof(p), "{\"i\":%zu}", i + 1);
        assert_string_equal(rows[i].payload, p);
        assert_string_equal(rows[i].kind, "event");
        assert_string_equal(rows[i].type, "new");
        assert_string_equal(rows[i].camera_id, i % 2 ? "cam-a" : "cam-b");
        assert_true(rows[i].created_us > 0);
    }
    sto_outbox_rows_free(rows, n);
    assert_int_equal(sto_outbox_read(f->db, 5, 10, &rows, &n), 0);
    assert_int_equal(n, 0);
    sto_outbox_rows_free(rows, n);
    int64_t backlog = -1;
    assert_int_equal(sto_outbox_count_after(f->db, 2, &backlog), 0);
    assert_int_equal(backlog, 3);
    struct sto_outbox_input bad = {.kind = "event", .type = "new", .camera_id = "c"};
    assert_int_equal(sto_outbox_append(f->db, &bad), -EINVAL);
}

static void test_a_new_consumer_starts_at_the_head_and_keeps_its_cursor(void **state)
{
    struct sto_fixture *f = *state;
    append(f, "c", "{}");
    append(f, "c", "{}");
    int64_t seq = -1;
    assert_int_equal(sto_outbox_cursor_get(f->db, "mqtt", &seq), -ENOENT);
    assert_int_equal(sto_outbox_cursor_open(f->db, "mqtt", &seq), 0);
    assert_int_equal(seq, 2); /* no replay of what came before */
    append(f, "c", "{}");
    assert_int_equal(sto_outbox_cursor_set(f->db, "mqtt", 3), 0);
    assert_int_equal(sto_outbox_cursor_open(f->db, "mqtt", &seq), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(sto_outbox_cursor_get(f->db, "mqtt", &seq), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(sto_outbox_cursor_set(f->db, "", 3), -EINVAL);
}

static void test_trim_deletes_what_every_cursor_passed_and_seqs_are_never_reused(void **state)
{
    struct sto_fixture *f = *state;
    for (int i = 0; i < 6; i++)
        append(f, "c", "{}");
    assert_int_equal(sto_outbox_cursor_set(f->db, "mqtt", 4), 0);
    assert_int_equal(sto_outbox_cursor_set(f->db, "nats", 2), 0);
    struct sto_outbox_trim t;
    assert_int_equal(sto_outbox_trim(f->db, now_us() - HOUR_US, &t), 0);
    assert_int_equal(t.delivered, 2); /* seq 1, 2: nats is the slowest */
    assert_int_equal(t.expired, 0);
    struct sto_outbox_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(sto_outbox_read(f->db, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(rows[0].seq, 3);
    sto_outbox_rows_free(rows, n);
    assert_int_equal(sto_outbox_cursor_set(f->db, "nats", 6), 0);
    assert_int_equal(sto_outbox_cursor_set(f->db, "mqtt", 6), 0);
    assert_int_equal(sto_outbox_trim(f->db, now_us() - HOUR_US, &t), 0);
    assert_int_equal(t.delivered, 4);
    /* Empty now; the next append still follows the cursors, so no consumer misses it. */
    assert_int_equal(head(f), 6);
    append(f, "c", "{\"after\":1}");
    assert_int_equal(sto_outbox_read(f->db, 6, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].seq, 7);
    sto_outbox_rows_free(rows, n);
}

static void test_trim_drops_rows_older_than_the_retention_and_counts_them(void **state)
{
    struct sto_fixture *f = *state;
    for (int i = 0; i < 3; i++)
        append(f, "c", "{}");
    assert_int_equal(sto_outbox_cursor_set(f->db, "mqtt", 1), 0); /* a bus down for weeks */
    struct sto_outbox_trim t;
    assert_int_equal(sto_outbox_trim(f->db, now_us() + HOUR_US, &t), 0);
    assert_int_equal(t.delivered, 1);
    assert_int_equal(t.expired, 2);
    int64_t backlog = -1;
    assert_int_equal(sto_outbox_count_after(f->db, 0, &backlog), 0);
    assert_int_equal(backlog, 0);
    /* The next row follows the dropped ones: the consumer sees a gap of 2 and counts it. */
    assert_int_equal(head(f), 3);
    append(f, "c", "{}");
    struct sto_outbox_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(sto_outbox_read(f->db, 1, 10, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].seq, 4);
    sto_outbox_rows_free(rows, n);
    /* Nothing left: trimming again does nothing. */
    assert_int_equal(sto_outbox_cursor_set(f->db, "mqtt", 4), 0);
    assert_int_equal(sto_outbox_trim(f->db, now_us() + HOUR_US, &t), 0);
    assert_int_equal(t.delivered, 1);
    assert_int_equal(t.expired, 0);
    assert_int_equal(sto_outbox_trim(f->db, now_us() + HOUR_US, &t), 0);
    assert_int_equal(t.delivered + t.expired, 0);
}

static void test_without_consumers_trim_keeps_nothing(void **state)
{
    struct sto_fixture *f = *state;
    append(f, "c", "{}");
    struct sto_outbox_trim t;
    assert_int_equal(sto_outbox_trim(f->db, now_us() - HOUR_US, &t), 0);
    assert_int_equal(t.delivered, 1);
    assert_int_equal(head(f), 0); /* no cursor holds a seq: a new consumer starts over */
}

static int notified;
static void on_append(void *arg)
{
    (void)arg;
    notified++;
}

static struct sto_event_input event(const char *id, const char *const *streams, size_t nstreams,
                                    const struct sto_outbox_input *out, size_t nout)
{
    return (struct sto_event_input){.id = id,
                                    .camera_id = "cam",
                                    .label = "person",
                                    .start_us = 1000000,
                                    .updated_us = 2000000,
                                    .source = "api",
                                    .created_at_ms = 1,
                                    .pin_start_us = 0,
                                    .pin_end_us = 3000000,
                                    .streams = streams,
                                    .nstreams = nstreams,
                                    .outbox = out,
                                    .noutbox = nout};
}

static void test_an_event_and_its_messages_commit_or_fail_together(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_outbox_watcher w = {on_append, NULL};
    sto_outbox_watch(f->db, &w);
    notified = 0;
    struct sto_outbox_input out[2] = {
        {.kind = "event", .type = "new", .payload = "{\"type\":\"new\"}"},
        {.kind = "event", .type = "end", .payload = "{\"type\":\"end\"}"},
    };
    static const char *const one[] = {"main"};
    struct sto_event_input ok = event("00000000001000000-aa", one, 1, out, 2);
    assert_int_equal(sto_event_put(f->db, &ok), 0);
    assert_int_equal(notified, 1);
    struct sto_outbox_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(sto_outbox_read(f->db, 0, 10, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].type, "new");
    assert_string_equal(rows[0].camera_id, "cam"); /* the event's camera by default */
    assert_string_equal(rows[1].type, "end");
    sto_outbox_rows_free(rows, n);

    /* Two pins of one id: the pins insert fails after the event's, so nothing commits. */
    static const char *const twice[] = {"main", "main"};
    struct sto_event_input bad = event("00000000001000000-bb", twice, 2, out, 1);
    assert_int_not_equal(sto_event_put(f->db, &bad), 0);
    assert_int_equal(notified, 1);
    struct sto_event row;
    assert_int_equal(sto_event_get(f->db, "00000000001000000-bb", &row), -ENOENT);
    assert_int_equal(head(f), 2);
    /* Too many messages for one event is a caller's mistake. */
    struct sto_outbox_input three[3] = {out[0], out[1], out[1]};
    struct sto_event_input many = event("00000000001000000-cc", one, 1, three, 3);
    assert_int_equal(sto_event_put(f->db, &many), -EINVAL);
    sto_outbox_watch(f->db, NULL);
}
/*
 * One node delivers a consumer (docs/design/0071): the first claim wins,
 * another node is refused until the holder's time runs out or it gives
 * the consumer up; a node that lost it cannot move the cursor.
 */
static void test_one_node_at_a_time_delivers_a_consumer(void **state)
{
    struct sto_fixture *f = *state;
    int64_t seq;
    assert_int_equal(sto_outbox_consumer_claim(f->db, "mqtt", "a", 1000, 2000), -ENOENT);
    assert_int_equal(sto_outbox_cursor_open(f->db, "mqtt", &seq), 0);
    assert_int_equal(sto_outbox_consumer_claim(f->db, "mqtt", "a", 1000, 2000), 0);
    assert_int_equal(sto_outbox_consumer_claim(f->db, "mqtt", "b", 1500, 2500), -EBUSY);
    assert_int_equal(sto_outbox_consumer_claim(f->db, "mqtt", "a", 1600, 2600), 0); /* renewed */
    assert_int_equal(sto_outbox_consumer_claim(f->db, "mqtt", "b", 2500, 3500), -EBUSY);
    /* a's time runs out: b takes it, and a may no longer move the cursor. */
    assert_int_equal(sto_outbox_consumer_claim(f->db, "mqtt", "b", 2700, 3700), 0);
    append(f, "c", "{}");
    assert_int_equal(sto_outbox_cursor_set_held(f->db, "mqtt", seq + 1, "a"), 0); /* no-op */
    assert_int_equal(sto_outbox_cursor_get(f->db, "mqtt", &seq), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(sto_outbox_cursor_set_held(f->db, "mqtt", 1, "b"), 0);
    assert_int_equal(sto_outbox_cursor_get(f->db, "mqtt", &seq), 0);
    assert_int_equal(seq, 1);
    /* b gives it up (a clean stop): a takes it at once; a's release of b's lease does nothing. */
    assert_int_equal(sto_outbox_consumer_release(f->db, "mqtt", "a"), 0);
    assert_int_equal(sto_outbox_consumer_claim(f->db, "mqtt", "a", 2800, 3800), -EBUSY);
    assert_int_equal(sto_outbox_consumer_release(f->db, "mqtt", "b"), 0);
    assert_int_equal(sto_outbox_consumer_claim(f->db, "mqtt", "a", 2800, 3800), 0);
    /* Other consumers are apart. */
    assert_int_equal(sto_outbox_cursor_open(f->db, "webhook:x", &seq), 0);
    assert_int_equal(sto_outbox_consumer_claim(f->db, "webhook:x", "b", 2800, 3800), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rows_come_back_in_append_order_after_a_seq,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_a_new_consumer_starts_at_the_head_and_keeps_its_cursor,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_trim_deletes_what_every_cursor_passed_and_seqs_are_never_reused, sto_fixture_setup,
            sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_trim_drops_rows_older_than_the_retention_and_counts_them, sto_fixture_setup,
            sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_without_consumers_trim_keeps_nothing,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_an_event_and_its_messages_commit_or_fail_together,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_one_node_at_a_time_delivers_a_consumer,
                                        sto_fixture_setup, sto_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
