/*
 * Tests for src/frames/adapt.c: the adaptive controller steps down one step a
 * second under pressure (drops, a full queue, bytes over the budget), in the
 * order quality, size, rate; holds at the last step; steps back up only after
 * five clear seconds, one step each time; and does not flap at the budget's
 * edge. The quality-to-quantiser mapping covers the whole mjpeg range.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "adapt_int.h"

static const struct frames_adapt_input clear = {.dropped = 0, .fill = 0, .bytes_per_s = 0};

static void test_drops_step_down_once_a_second_to_the_last_step(void **state)
{
    (void)state;
    struct frames_adapt a;
    frames_adapt_init(&a);
    struct frames_adapt_input drops = {.dropped = 3, .fill = 1};
    assert_int_equal(frames_adapt_update(&a, &drops, 0), 1);
    assert_int_equal(a.step, 1);
    /* Pressure again within the same second: no second step. */
    assert_int_equal(frames_adapt_update(&a, &drops, 500), 0);
    assert_int_equal(a.step, 1);
    for (int64_t t = 1500; t < 20000; t += 1000)
        frames_adapt_update(&a, &drops, t);
    assert_int_equal(a.step, FRAMES_ADAPT_STEPS - 1);
    assert_int_equal(frames_adapt_update(&a, &drops, 30000), 0);
}

static void test_a_queue_three_quarters_full_is_pressure_a_quarter_is_not(void **state)
{
    (void)state;
    struct frames_adapt a;
    frames_adapt_init(&a);
    struct frames_adapt_input in = {.fill = 0.75};
    assert_int_equal(frames_adapt_update(&a, &in, 0), 0);
    in.fill = 0.8;
    assert_int_equal(frames_adapt_update(&a, &in, 1000), 1);
    /* Between a quarter and three quarters: neither pressure nor clear, so no recovery. */
    in.fill = 0.5;
    for (int64_t t = 2000; t < 12000; t += 1000)
        assert_int_equal(frames_adapt_update(&a, &in, t), 0);
    assert_int_equal(a.step, 1);
}

static void test_recovery_takes_five_clear_seconds_per_step(void **state)
{
    (void)state;
    struct frames_adapt a;
    frames_adapt_init(&a);
    struct frames_adapt_input drops = {.dropped = 1};
    frames_adapt_update(&a, &drops, 0);
    frames_adapt_update(&a, &drops, 1000);
    assert_int_equal(a.step, 2);
    int64_t t = 2000;
    for (int i = 0; i < FRAMES_ADAPT_CLEAR_S - 1; i++, t += 1000)
        assert_int_equal(frames_adapt_update(&a, &clear, t), 0);
    assert_int_equal(frames_adapt_update(&a, &clear, t), -1);
    assert_int_equal(a.step, 1);
    /* A drop in the middle of the next run starts the count over (and steps down). */
    t += 1000;
    frames_adapt_update(&a, &clear, t);
    t += 1000;
    assert_int_equal(frames_adapt_update(&a, &drops, t), 1);
    assert_int_equal(a.step, 2);
    for (int i = 0; i < 2 * FRAMES_ADAPT_CLEAR_S; i++)
        frames_adapt_update(&a, &clear, t += 1000);
    assert_int_equal(a.step, 0);
    assert_int_equal(frames_adapt_update(&a, &clear, t += 1000), 0);
}

static void test_the_budget_steps_down_above_it_and_up_only_well_below(void **state)
{
    (void)state;
    struct frames_adapt a;
    frames_adapt_init(&a);
    struct frames_adapt_input over = {.bytes_per_s = 120000, .budget = 100000};
    assert_int_equal(frames_adapt_update(&a, &over, 0), 1);
    /* At 90% of the budget: not over it, not clear either; the step holds. */
    struct frames_adapt_input near = {.bytes_per_s = 90000, .budget = 100000};
    for (int64_t t = 1000; t < 20000; t += 1000)
        assert_int_equal(frames_adapt_update(&a, &near, t), 0);
    struct frames_adapt_input under = {.bytes_per_s = 60000, .budget = 100000};
    int64_t t = 20000;
    for (int i = 0; i < FRAMES_ADAPT_CLEAR_S - 1; i++, t += 1000)
        frames_adapt_update(&a, &under, t);
    assert_int_equal(frames_adapt_update(&a, &under, t), -1);
}

static void test_steps_lower_quality_then_size_then_rate(void **state)
{
    (void)state;
    int q, w;
    double fps;
    int last_q = 101, last_w = 100000;
    double last_fps = 1e9;
    bool size_moved = false, fps_moved = false;
    for (int s = 0; s < FRAMES_ADAPT_STEPS; s++) {
        frames_adapt_apply(s, 80, 640, 2.0, &q, &w, &fps);
        assert_true(q <= last_q && w <= last_w && fps <= last_fps);
        /* Strictly one thing moves per step. */
        if (s > 0)
            assert_int_equal((q < last_q) + (w < last_w) + (fps < last_fps), 1);
        if (w < last_w && s > 0) {
            assert_false(fps_moved); /* size before rate */
            assert_int_equal(q, 40); /* quality already at its floor for this table */
            size_moved = true;
        }
        if (fps < last_fps && s > 0) {
            assert_true(size_moved);
            fps_moved = true;
        }
        last_q = q, last_w = w, last_fps = fps;
    }
    assert_true(size_moved && fps_moved);
    frames_adapt_apply(0, 80, 640, 2.0, &q, &w, &fps);
    assert_int_equal(q, 80);
    assert_int_equal(w, 640);
    assert_true(fps == 2.0);
    frames_adapt_apply(FRAMES_ADAPT_STEPS - 1, 12, 200, 2.0, &q, &w, &fps);
    assert_int_equal(q, FRAMES_ADAPT_MIN_QUALITY);
    assert_int_equal(w, FRAMES_ADAPT_MIN_WIDTH);
    assert_true(fps > 0 && fps < 2.0);
    /* Configured below the floors: kept as configured. */
    frames_adapt_apply(FRAMES_ADAPT_STEPS - 1, 5, 100, 2.0, &q, &w, &fps);
    assert_int_equal(q, 5);
    assert_int_equal(w, 100);
}

static void test_quality_maps_onto_the_whole_qscale_range(void **state)
{
    (void)state;
    assert_int_equal(frames_quality_to_qscale(100), 2);
    assert_int_equal(frames_quality_to_qscale(1), 31);
    assert_int_equal(frames_quality_to_qscale(0), 31);
    assert_int_equal(frames_quality_to_qscale(500), 2);
    for (int q = 2; q <= 100; q++)
        assert_true(frames_quality_to_qscale(q) <= frames_quality_to_qscale(q - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drops_step_down_once_a_second_to_the_last_step),
        cmocka_unit_test(test_a_queue_three_quarters_full_is_pressure_a_quarter_is_not),
        cmocka_unit_test(test_recovery_takes_five_clear_seconds_per_step),
        cmocka_unit_test(test_the_budget_steps_down_above_it_and_up_only_well_below),
        cmocka_unit_test(test_steps_lower_quality_then_size_then_rate),
        cmocka_unit_test(test_quality_maps_onto_the_whole_qscale_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
