/*
 * Tests for src/ingest/rtsp_reorder.c: UDP packets back in sequence order,
 * holes given up after their time or when the buffer fills, duplicates and
 * late packets dropped, jumps of the camera's numbers either way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "rtsp_int.h"

#include <string.h>

#define MS 1000000LL
#define HOLD (50 * MS)

struct out {
    uint16_t seqs[256];
    unsigned n;
};

static void on_packet(void *arg, const uint8_t *data, size_t len)
{
    struct out *o = arg;
    assert_true(len >= 12);
    o->seqs[o->n++] = (uint16_t)(data[2] << 8 | data[3]);
}

static void push(struct ing_reorder *r, struct out *o, uint16_t seq, int64_t at_ms)
{
    uint8_t p[20] = {0x80, 96, (uint8_t)(seq >> 8), (uint8_t)seq};
    ing_reorder_push(r, p, sizeof(p), at_ms * MS, on_packet, o);
}

static void assert_seqs(const struct out *o, const uint16_t *want, unsigned n)
{
    assert_int_equal(o->n, n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(o->seqs[i], want[i]);
}

static void test_packets_in_order_go_out_at_once(void **state)
{
    (void)state;
    struct ing_reorder r;
    struct out o = {0};
    ing_reorder_init(&r, HOLD);
    for (uint16_t s = 65530; s != 6; s++) /* across the wrap */
        push(&r, &o, s, 0);
    assert_int_equal(o.n, 12);
    assert_int_equal(o.seqs[11], 5);
    assert_int_equal(r.held, 0);
    assert_int_equal(r.reordered + r.late, 0);
    ing_reorder_release(&r);
}

static void test_a_swapped_pair_and_a_duplicate_come_out_in_order_once(void **state)
{
    (void)state;
    struct ing_reorder r;
    struct out o = {0};
    ing_reorder_init(&r, HOLD);
    push(&r, &o, 10, 0);
    push(&r, &o, 12, 1); /* 11 is late */
    push(&r, &o, 13, 1);
    assert_int_equal(o.n, 1);
    push(&r, &o, 11, 2);
    push(&r, &o, 12, 3); /* a duplicate of one that went out */
    push(&r, &o, 15, 3);
    push(&r, &o, 15, 3); /* a duplicate of one held */
    push(&r, &o, 14, 4);
    static const uint16_t want[] = {10, 11, 12, 13, 14, 15};
    assert_seqs(&o, want, 6);
    assert_int_equal(r.reordered, 3);
    assert_int_equal(r.late, 2);
    ing_reorder_release(&r);
}

static void test_a_real_loss_goes_out_after_the_hold_as_a_gap(void **state)
{
    (void)state;
    struct ing_reorder r;
    struct out o = {0};
    ing_reorder_init(&r, HOLD);
    push(&r, &o, 100, 0);
    push(&r, &o, 102, 1); /* 101 never comes */
    push(&r, &o, 103, 20);
    ing_reorder_expire(&r, 50 * MS, on_packet, &o); /* 102 held 49 ms */
    assert_int_equal(o.n, 1);
    ing_reorder_expire(&r, 51 * MS, on_packet, &o);
    static const uint16_t want[] = {100, 102, 103};
    assert_seqs(&o, want, 3);
    push(&r, &o, 101, 52); /* too late now */
    push(&r, &o, 104, 52);
    assert_int_equal(o.n, 4);
    assert_int_equal(r.late, 1);
    ing_reorder_release(&r);
}

static void test_a_full_buffer_gives_up_on_its_hole(void **state)
{
    (void)state;
    struct ing_reorder r;
    struct out o = {0};
    ing_reorder_init(&r, HOLD);
    push(&r, &o, 0, 0);
    for (uint16_t s = 2; s < 2 + ING_REORDER_SLOTS; s++) /* 1 is lost; all at once */
        push(&r, &o, s, 0);
    assert_true(o.n > 1);
    for (unsigned i = 1; i < o.n; i++)
        assert_int_equal(o.seqs[i], o.seqs[i - 1] + (i == 1 ? 2 : 1));
    assert_true(r.held < ING_REORDER_SLOTS);
    ing_reorder_release(&r);
}

static void test_a_jump_either_way_starts_over(void **state)
{
    (void)state;
    struct ing_reorder r;
    struct out o = {0};
    ing_reorder_init(&r, HOLD);
    push(&r, &o, 500, 0);
    push(&r, &o, 502, 0); /* held */
    push(&r, &o, 9000, 1); /* the camera restarted its stream: 502 goes, then 9000 */
    push(&r, &o, 9001, 1);
    push(&r, &o, 40, 2); /* and back */
    push(&r, &o, 41, 2);
    static const uint16_t want[] = {500, 502, 9000, 9001, 40, 41};
    assert_seqs(&o, want, 6);
    assert_int_equal(r.held, 0);
    ing_reorder_release(&r);
}

static void test_what_is_not_rtp_or_too_big_passes_through(void **state)
{
    (void)state;
    struct ing_reorder r;
    struct out o = {0};
    ing_reorder_init(&r, HOLD);
    push(&r, &o, 7, 0);
    uint8_t big[ING_REORDER_MTU + 1] = {0x80, 96, 0, 9};
    ing_reorder_push(&r, big, sizeof(big), 0, on_packet, &o); /* ahead, but cannot be held */
    assert_int_equal(o.n, 2);
    assert_int_equal(o.seqs[1], 9);
    push(&r, &o, 11, 0); /* held behind the hole at 10 */
    assert_int_equal(r.held, 1);
    ing_reorder_release(&r); /* the session ended: what was held is gone */
    assert_int_equal(r.held, 0);
    ing_reorder_expire(&r, 1000 * MS, on_packet, &o);
    assert_int_equal(o.n, 2);
    ing_reorder_release(&r); /* twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packets_in_order_go_out_at_once),
        cmocka_unit_test(test_a_swapped_pair_and_a_duplicate_come_out_in_order_once),
        cmocka_unit_test(test_a_real_loss_goes_out_after_the_hold_as_a_gap),
        cmocka_unit_test(test_a_full_buffer_gives_up_on_its_hole),
        cmocka_unit_test(test_a_jump_either_way_starts_over),
        cmocka_unit_test(test_what_is_not_rtp_or_too_big_passes_through),
    };
    return cmocka_run_group_tests_name("rtsp_reorder", tests, NULL, NULL);
}
