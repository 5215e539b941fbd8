/*
 * Tests placement's plan (docs/design/0069): which node should hold each
 * camera given the nodes' liveness, labels, capacity and drain, and who
 * holds each lease now. A pure function: no database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sup_int.h"

#include <string.h>

#define NODE(i, l, cap)                                                                            \
    {                                                                                              \
        .id = (i), .labels = (l), .capacity = (cap), .is_live = true                               \
    }
#define CAM(i)                                                                                     \
    {                                                                                              \
        .id = (i), .node = "", .labels = "", .is_enabled = true, .holder = -1                      \
    }

static const char *chosen(const struct sup_place_node *nodes, const struct sup_place_camera *c)
{
    return c->chosen >= 0 ? nodes[c->chosen].id : "-";
}

/* Free cameras spread over the nodes by load, ties to the lowest id; capacity caps a node. */
static void test_free_cameras_go_to_the_least_loaded_node_with_room(void **state)
{
    (void)state;
    struct sup_place_node n[] = {NODE("a", "", 1), NODE("b", "", 0), NODE("c", "", 0)};
    struct sup_place_camera c[] = {CAM("c1"), CAM("c2"), CAM("c3"), CAM("c4"), CAM("c5")};
    sup_place_plan(n, 3, c, 5);
    const char *want[] = {"a", "b", "c", "b", "c"};
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(chosen(n, &c[i]), want[i]);
    assert_int_equal(n[0].load, 1);
    assert_int_equal(n[1].load, 2);
    assert_int_equal(n[2].load, 2);
}

/* Held cameras stay where they are, however unbalanced; only new ones balance. */
static void test_held_cameras_stay_and_count_as_load(void **state)
{
    (void)state;
    struct sup_place_node n[] = {NODE("a", "", 0), NODE("b", "", 0)};
    struct sup_place_camera c[] = {CAM("c1"), CAM("c2"), CAM("c3"), CAM("c4")};
    c[0].holder = c[1].holder = c[2].holder = 0;
    sup_place_plan(n, 2, c, 4);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(chosen(n, &c[i]), "a");
    assert_string_equal(chosen(n, &c[3]), "b");
}

/* Labels: only nodes with every label; a node that lacks one gives a held camera up. */
static void test_labels_choose_the_nodes_and_move_a_camera_off_a_node_without_them(void **state)
{
    (void)state;
    struct sup_place_node n[] = {NODE("a", "site-x", 0), NODE("b", "gpu,site-x", 0),
                                 NODE("c", "gpu", 0)};
    struct sup_place_camera c[] = {CAM("c1"), CAM("c2"), CAM("c3")};
    c[0].labels = "gpu,site-x"; /* only b */
    c[1].labels = "gpu"; /* b or c: c, since b has c1 now */
    c[1].holder = 0; /* held by a, which has no gpu: to move */
    c[2].labels = "site-y"; /* nobody */
    sup_place_plan(n, 3, c, 3);
    assert_string_equal(chosen(n, &c[0]), "b");
    assert_string_equal(chosen(n, &c[1]), "c");
    assert_int_equal(c[1].holder, -2);
    assert_string_equal(chosen(n, &c[2]), "-");
    assert_int_equal(n[0].load, 0);
    char why[200];
    sup_place_why_not(n, 3, &c[2], why, sizeof(why));
    assert_string_equal(why, "no online node has every label of placement.labels 'site-y'");
}

/* A pinned camera runs on its node only: not elsewhere when that node is offline or full. */
static void test_a_pinned_camera_runs_only_on_its_node(void **state)
{
    (void)state;
    struct sup_place_node n[] = {NODE("a", "", 0), NODE("b", "", 1), NODE("c", "", 0)};
    n[2].is_live = false;
    struct sup_place_camera c[] = {CAM("c1"), CAM("c2"), CAM("c3"), CAM("c4"), CAM("c5")};
    c[0].node = "b";
    c[1].node = "b"; /* b is full after c1 */
    c[2].node = "c"; /* offline */
    c[3].node = "z"; /* no such node */
    c[4].node = "b";
    c[4].holder = 0; /* a holds it, but it is pinned to b (full): given up, waits */
    sup_place_plan(n, 3, c, 5);
    assert_string_equal(chosen(n, &c[0]), "b");
    for (size_t i = 1; i < 5; i++)
        assert_string_equal(chosen(n, &c[i]), "-");
    char why[200];
    sup_place_why_not(n, 3, &c[1], why, sizeof(why));
    assert_string_equal(why, "placement.node is 'b', which is full (node.capacity 1)");
    sup_place_why_not(n, 3, &c[2], why, sizeof(why));
    assert_string_equal(why, "placement.node is 'c', which is offline");
    sup_place_why_not(n, 3, &c[3], why, sizeof(why));
    assert_string_equal(why, "placement.node is 'z', which no node sharing the database is");
}

/* Draining: cameras leave for nodes that may run them; what none may run stays (or comes). */
static void test_a_draining_node_keeps_only_what_no_other_node_may_run(void **state)
{
    (void)state;
    struct sup_place_node n[] = {NODE("a", "gpu", 0), NODE("b", "", 0)};
    n[0].is_draining = true;
    struct sup_place_camera c[] = {CAM("c1"), CAM("c2"), CAM("c3"), CAM("c4")};
    c[0].holder = 0; /* moves to b */
    c[1].holder = 0;
    c[1].labels = "gpu"; /* b has no gpu: stays on a */
    c[2].node = "a"; /* free and pinned to a: a takes it, draining or not */
    sup_place_plan(n, 2, c, 4);
    assert_string_equal(chosen(n, &c[0]), "b");
    assert_string_equal(chosen(n, &c[1]), "a");
    assert_string_equal(chosen(n, &c[2]), "a");
    assert_string_equal(chosen(n, &c[3]), "b");
}

/* Disabled cameras cost no capacity; an offline node takes nothing. */
static void test_disabled_cameras_fit_anywhere_and_offline_nodes_take_nothing(void **state)
{
    (void)state;
    struct sup_place_node n[] = {NODE("a", "", 0), NODE("b", "", 1)};
    n[0].is_live = false;
    struct sup_place_camera c[] = {CAM("c1"), CAM("c2"), CAM("c3")};
    c[1].is_enabled = false;
    sup_place_plan(n, 2, c, 3);
    assert_string_equal(chosen(n, &c[0]), "b");
    assert_string_equal(chosen(n, &c[1]), "b"); /* disabled: fits though b is full */
    assert_string_equal(chosen(n, &c[2]), "-");
    assert_int_equal(n[1].load, 1);
    char why[200];
    sup_place_why_not(n, 2, &c[2], why, sizeof(why));
    assert_string_equal(why, "every online node that may record it is full (node.capacity)");
}

/* Rebalancing: a node that joins takes cameras from the busiest, one per pass, until even. */
static void test_a_node_that_joins_takes_cameras_one_per_pass_until_even(void **state)
{
    (void)state;
    struct sup_place_node n[] = {NODE("a", "", 0), NODE("b", "", 0)};
    n[0].is_rebalancing = n[1].is_rebalancing = true;
    struct sup_place_camera c[] = {CAM("c1"), CAM("c2"), CAM("c3"), CAM("c4"), CAM("c5")};
    for (size_t i = 0; i < 5; i++)
        c[i].holder = 0;
    const char *moves[] = {"c1", "c2"};
    for (size_t pass = 0; pass < 3; pass++) {
        sup_place_plan(n, 2, c, 5);
        size_t moved = 0;
        for (size_t i = 0; i < 5; i++)
            if (c[i].chosen != c[i].holder) {
                assert_true(pass < 2);
                assert_string_equal(c[i].id, moves[pass]);
                assert_string_equal(chosen(n, &c[i]), "b");
                c[i].holder = c[i].chosen; /* b claims it before the next pass */
                moved++;
            }
        assert_int_equal(moved, pass < 2 ? 1 : 0);
    }
    assert_int_equal(n[0].load, 3); /* 3 and 2: as even as five cameras get */
    assert_int_equal(n[1].load, 2);
}

/* The move goes from the busiest holder to the emptiest node, and only where it may run. */
static void test_rebalancing_keeps_to_pins_labels_capacity_and_drain(void **state)
{
    (void)state;
    struct sup_place_node n[] = {NODE("a", "gpu", 0), NODE("b", "", 1), NODE("c", "", 0)};
    n[0].is_rebalancing = n[1].is_rebalancing = n[2].is_rebalancing = true;
    n[2].is_draining = true; /* takes nothing it does not have to */
    struct sup_place_camera c[] = {CAM("c1"), CAM("c2"), CAM("c3"), CAM("c4")};
    for (size_t i = 0; i < 4; i++)
        c[i].holder = 0;
    c[0].node = "a"; /* pinned */
    c[1].labels = "gpu"; /* only a */
    sup_place_plan(n, 3, c, 4);
    assert_string_equal(chosen(n, &c[0]), "a");
    assert_string_equal(chosen(n, &c[1]), "a");
    assert_string_equal(chosen(n, &c[2]), "b"); /* the first that may move */
    assert_string_equal(chosen(n, &c[3]), "a");
    c[2].holder = 1;
    sup_place_plan(n, 3, c, 4); /* b is full now, c drains: nothing more moves */
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(c[i].chosen, c[i].holder);
}

/* A holder with node.rebalance off keeps its cameras; a difference of one is balanced. */
static void
test_no_move_from_a_node_that_does_not_rebalance_or_for_a_difference_of_one(void **state)
{
    (void)state;
    struct sup_place_node n[] = {NODE("a", "", 0), NODE("b", "", 0)};
    n[1].is_rebalancing = true;
    struct sup_place_camera c[] = {CAM("c1"), CAM("c2"), CAM("c3")};
    c[0].holder = c[1].holder = c[2].holder = 0;
    sup_place_plan(n, 2, c, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(chosen(n, &c[i]), "a");
    n[0].is_rebalancing = true;
    c[2].holder = 1;
    sup_place_plan(n, 2, c, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(c[i].chosen, c[i].holder);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_cameras_go_to_the_least_loaded_node_with_room),
        cmocka_unit_test(test_held_cameras_stay_and_count_as_load),
        cmocka_unit_test(test_labels_choose_the_nodes_and_move_a_camera_off_a_node_without_them),
        cmocka_unit_test(test_a_pinned_camera_runs_only_on_its_node),
        cmocka_unit_test(test_a_draining_node_keeps_only_what_no_other_node_may_run),
        cmocka_unit_test(test_disabled_cameras_fit_anywhere_and_offline_nodes_take_nothing),
        cmocka_unit_test(test_a_node_that_joins_takes_cameras_one_per_pass_until_even),
        cmocka_unit_test(test_rebalancing_keeps_to_pins_labels_capacity_and_drain),
        cmocka_unit_test(
            test_no_move_from_a_node_that_does_not_rebalance_or_for_a_difference_of_one),
    };
    return cmocka_run_group_tests_name("supervisor.placement", tests, NULL, NULL);
}
