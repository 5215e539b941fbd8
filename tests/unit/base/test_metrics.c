/* Tests for src/base/metrics.c: exposition text, labels, histograms, removal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "metrics.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void test_counter_and_gauge_render_help_type_and_labels(void **state)
{
    metrics_registry *r = metrics_registry_new();
    metrics_family *c =
        metrics_family_add(r, &(struct metrics_desc){.type = METRICS_COUNTER,
                                                     .name = "horus_ingest_bytes_total",
                                                     .help = "Bytes received",
                                                     .labels = "camera,stream"});
    metrics_family *g = metrics_family_add(
        r, &(struct metrics_desc){.type = METRICS_GAUGE, .name = "horus_up", .help = "Up"});
    metrics_counter_add(metrics_series_get(c, "front", "main"), 1500);
    metrics_counter_inc(metrics_series_get(c, "back", "sub"));
    metrics_counter_add(metrics_series_get(c, "front", "main"), 0.5);
    metrics_gauge_set(metrics_series_get(g), 1);
    char *text = metrics_render(r, NULL);
    assert_string_equal(text, "# HELP horus_ingest_bytes_total Bytes received\n"
                              "# TYPE horus_ingest_bytes_total counter\n"
                              "horus_ingest_bytes_total{camera=\"front\",stream=\"main\"} 1500.5\n"
                              "horus_ingest_bytes_total{camera=\"back\",stream=\"sub\"} 1\n"
                              "# HELP horus_up Up\n"
                              "# TYPE horus_up gauge\n"
                              "horus_up 1\n");
    free(text);
    metrics_registry_free(r);
}

static void test_histogram_buckets_are_cumulative_with_sum_and_count(void **state)
{
    metrics_registry *r = metrics_registry_new();
    static const double b[] = {0.1, 1};
    metrics_family *h = metrics_family_add(r, &(struct metrics_desc){.type = METRICS_HISTOGRAM,
                                                                     .name = "horus_x_seconds",
                                                                     .help = "X",
                                                                     .labels = "route",
                                                                     .buckets = b,
                                                                     .nbuckets = 2});
    metrics_series *s = metrics_series_get(h, "/health");
    metrics_histogram_observe(s, 0.05);
    metrics_histogram_observe(s, 0.1);
    metrics_histogram_observe(s, 0.5);
    metrics_histogram_observe(s, 3);
    char *text = metrics_render(r, NULL);
    assert_non_null(strstr(text, "horus_x_seconds_bucket{route=\"/health\",le=\"0.1\"} 2\n"
                                 "horus_x_seconds_bucket{route=\"/health\",le=\"1\"} 3\n"
                                 "horus_x_seconds_bucket{route=\"/health\",le=\"+Inf\"} 4\n"
                                 "horus_x_seconds_sum{route=\"/health\"} 3.6499999999999999\n"
                                 "horus_x_seconds_count{route=\"/health\"} 4\n"));
    free(text);
    metrics_registry_free(r);
}

static void test_label_values_are_escaped(void **state)
{
    metrics_registry *r = metrics_registry_new();
    metrics_family *g = metrics_family_add(
        r, &(struct metrics_desc){
               .type = METRICS_GAUGE, .name = "horus_g", .help = "line\\one\ntwo", .labels = "v"});
    metrics_gauge_set(metrics_series_get(g, "a\"b\\c\nd"), -2.5);
    char *text = metrics_render(r, NULL);
    assert_non_null(strstr(text, "# HELP horus_g line\\\\one\\ntwo\n"));
    assert_non_null(strstr(text, "horus_g{v=\"a\\\"b\\\\c\\nd\"} -2.5\n"));
    free(text);
    metrics_registry_free(r);
}

static void test_label_values_never_show_credentials(void **state)
{
    metrics_registry *r = metrics_registry_new();
    metrics_family *c = metrics_family_add(
        r, &(struct metrics_desc){
               .type = METRICS_COUNTER, .name = "horus_c_total", .help = "h", .labels = "url"});
    metrics_counter_inc(metrics_series_get(c, "rtsp://admin:pa/ss@cam/live?token=tk1"));
    char *text = metrics_render(r, NULL);
    assert_non_null(strstr(text, "horus_c_total{url=\"rtsp://admin:***@cam/live?token=***\"} 1\n"));
    assert_null(strstr(text, "pa/ss"));
    assert_null(strstr(text, "tk1"));
    free(text);
    metrics_registry_free(r);
}

static void test_removed_series_disappears_but_its_pointer_stays_usable(void **state)
{
    metrics_registry *r = metrics_registry_new();
    metrics_family *c = metrics_family_add(
        r, &(struct metrics_desc){
               .type = METRICS_COUNTER, .name = "horus_c_total", .help = "C", .labels = "camera"});
    metrics_series *s = metrics_series_get(c, "gone");
    metrics_series_remove(c, "gone");
    metrics_counter_inc(s); /* a thread that cached it must not crash */
    char *text = metrics_render(r, NULL);
    assert_null(strstr(text, "gone"));
    free(text);
    assert_ptr_not_equal(metrics_series_get(c, "gone"), s);
    metrics_registry_free(r);
}

/* Every family with a "camera" label loses that camera's series; the others keep theirs. */
static void test_removing_a_label_value_clears_it_from_every_family(void **state)
{
    metrics_registry *r = metrics_registry_new();
    metrics_family *bytes =
        metrics_family_add(r, &(struct metrics_desc){.type = METRICS_COUNTER,
                                                     .name = "horus_b_total",
                                                     .help = "B",
                                                     .labels = "camera,stream"});
    metrics_family *state_f = metrics_family_add(
        r, &(struct metrics_desc){
               .type = METRICS_GAUGE, .name = "horus_s", .help = "S", .labels = "state,camera"});
    metrics_family *routes = metrics_family_add(
        r, &(struct metrics_desc){
               .type = METRICS_COUNTER, .name = "horus_r_total", .help = "R", .labels = "route"});
    metrics_series *cached = metrics_series_get(bytes, "gone", "main");
    metrics_series_get(bytes, "gone", "sub");
    metrics_series_get(bytes, "kept", "main");
    metrics_series_get(bytes, "gone2", "main");
    metrics_series_get(state_f, "open", "gone");
    metrics_series_get(state_f, "closed", "gone");
    metrics_series_get(state_f, "open", "kept");
    metrics_series_get(routes, "gone");
    assert_int_equal(metrics_registry_remove_label(r, "camera", "gone"), 4);
    assert_int_equal(metrics_registry_remove_label(r, "camera", "gone"), 0);
    assert_int_equal(metrics_registry_remove_label(r, "nolabel", "kept"), 0);
    metrics_counter_inc(cached); /* a thread that cached it must not crash */
    char *text = metrics_render(r, NULL);
    assert_null(strstr(text, "camera=\"gone\""));
    assert_non_null(strstr(text, "horus_b_total{camera=\"kept\",stream=\"main\"}"));
    assert_non_null(strstr(text, "horus_b_total{camera=\"gone2\",stream=\"main\"}"));
    assert_non_null(strstr(text, "horus_s{state=\"open\",camera=\"kept\"}"));
    assert_non_null(strstr(text, "horus_r_total{route=\"gone\"}"));
    free(text);
    metrics_registry_free(r);
}

static void test_registering_the_same_family_twice_returns_it(void **state)
{
    metrics_registry *r = metrics_registry_new();
    struct metrics_desc d = {.type = METRICS_COUNTER, .name = "horus_d_total", .help = "D"};
    assert_ptr_equal(metrics_family_add(r, &d), metrics_family_add(r, &d));
    metrics_registry_free(r);
}

static void collect(metrics_family *f, void *arg)
{
    metrics_gauge_set(metrics_series_get(f), *(double *)arg);
}

static void test_collect_callback_sets_value_at_render_time(void **state)
{
    metrics_registry *r = metrics_registry_new();
    double v = 42;
    metrics_family_add(r, &(struct metrics_desc){.type = METRICS_GAUGE,
                                                 .name = "horus_q",
                                                 .help = "Q",
                                                 .collect_cb = collect,
                                                 .collect_arg = &v});
    char *text = metrics_render(r, NULL);
    assert_non_null(strstr(text, "horus_q 42\n"));
    free(text);
    metrics_registry_free(r);
}

struct adder {
    metrics_series *s;
};

static void *add_many(void *arg)
{
    struct adder *a = arg;
    for (int i = 0; i < 100000; i++)
        metrics_counter_inc(a->s);
    return NULL;
}

static void test_concurrent_increments_are_not_lost(void **state)
{
    metrics_registry *r = metrics_registry_new();
    metrics_family *c = metrics_family_add(
        r, &(struct metrics_desc){.type = METRICS_COUNTER, .name = "horus_n_total", .help = "N"});
    struct adder a = {metrics_series_get(c)};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, add_many, &a);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_true(metrics_series_value(a.s) == 400000.0);
    metrics_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_gauge_render_help_type_and_labels),
        cmocka_unit_test(test_histogram_buckets_are_cumulative_with_sum_and_count),
        cmocka_unit_test(test_label_values_are_escaped),
        cmocka_unit_test(test_label_values_never_show_credentials),
        cmocka_unit_test(test_removed_series_disappears_but_its_pointer_stays_usable),
        cmocka_unit_test(test_removing_a_label_value_clears_it_from_every_family),
        cmocka_unit_test(test_registering_the_same_family_twice_returns_it),
        cmocka_unit_test(test_collect_callback_sets_value_at_render_time),
        cmocka_unit_test(test_concurrent_increments_are_not_lost),
    };
    return cmocka_run_group_tests_name("core.metrics", tests, NULL, NULL);
}
