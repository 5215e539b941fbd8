/*
 * Tests for src/detect/zones.c: geometry (inside, edges, concave
 * polygons), object filters, zone membership, loitering, and tripwire
 * crossings in both directions with jitter on the line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "zones.h"

#include <stdlib.h>
#include <string.h>

#define P(x, y) ((struct det_point){(float)(x), (float)(y)})

static struct det_polygon poly(const float *xy, size_t n)
{
    struct det_polygon p = {.count = n};
    for (size_t i = 0; i < n; i++)
        p.points[i] = P(xy[2 * i], xy[2 * i + 1]);
    return p;
}

static struct det_analytics *parse(const char *doc)
{
    static const char *const labels[] = {"person", "bicycle", "car"};
    struct det_analytics *a = NULL;
    char *err = NULL;
    if (det_analytics_parse(doc, strlen(doc), labels, 3, &a, &err) != 0)
        fail_msg("%s: %s", doc, err);
    return a;
}

/* A person track whose box has its bottom centre (reference point) at x, y. */
static struct det_track person_at(uint64_t id, float x, float y, enum det_track_state st)
{
    return (struct det_track){.id = id,
                              .label = 0,
                              .label_name = "person",
                              .score = 0.9f,
                              .box = {x - 0.05f, y - 0.3f, x + 0.05f, y, 0.9f, 0},
                              .state = st};
}

static void test_reference_point_is_the_bottom_centre(void **state)
{
    (void)state;
    struct det_box b = {0.2f, 0.1f, 0.4f, 0.7f, 0.9f, 0};
    struct det_point p = det_box_reference(&b);
    assert_float_equal(p.x, 0.3f, 1e-6);
    assert_float_equal(p.y, 0.7f, 1e-6);
}

static void test_point_in_convex_polygon_with_edges_and_corners(void **state)
{
    (void)state;
    static const float sq[] = {0.2f, 0.2f, 0.8f, 0.2f, 0.8f, 0.8f, 0.2f, 0.8f};
    struct det_polygon p = poly(sq, 4);
    assert_true(det_polygon_contains(&p, P(0.5, 0.5)));
    assert_false(det_polygon_contains(&p, P(0.1, 0.5)));
    assert_false(det_polygon_contains(&p, P(0.5, 0.81)));
    assert_true(det_polygon_contains(&p, P(0.2, 0.5))); /* on the left edge */
    assert_true(det_polygon_contains(&p, P(0.5, 0.8))); /* on the bottom edge */
    assert_true(det_polygon_contains(&p, P(0.8, 0.8))); /* a corner */
    assert_false(det_polygon_contains(&p, P(0.8001, 0.5)));
}

static void test_point_in_concave_polygon(void **state)
{
    (void)state;
    /* A U: two legs joined at the bottom, the notch between them open at the top. */
    static const float u[] = {0.0f, 0.0f, 0.3f, 0.0f, 0.3f, 0.7f, 0.6f, 0.7f,
                              0.6f, 0.0f, 0.9f, 0.0f, 0.9f, 1.0f, 0.0f, 1.0f};
    struct det_polygon p = poly(u, 8);
    assert_int_equal(det_polygon_check(&p), DET_POLYGON_OK);
    assert_true(det_polygon_contains(&p, P(0.15, 0.3))); /* left leg */
    assert_true(det_polygon_contains(&p, P(0.75, 0.3))); /* right leg */
    assert_false(det_polygon_contains(&p, P(0.45, 0.3))); /* in the notch */
    assert_true(det_polygon_contains(&p, P(0.45, 0.85))); /* the base */
    /* A ray from the notch crosses the right leg twice: still outside. */
    assert_false(det_polygon_contains(&p, P(0.45, 0.0)));
    assert_true(det_polygon_contains(&p, P(0.45, 0.7))); /* notch floor is an edge */
}

static void test_polygon_checks(void **state)
{
    (void)state;
    static const float bow[] = {0, 0, 1, 1, 1, 0, 0, 1};
    static const float tri[] = {0, 0, 1, 0, 0, 1};
    static const float line[] = {0, 0, 0.5f, 0.5f, 1, 1};
    static const float rep[] = {0, 0, 1, 0, 1, 0, 0, 1};
    static const float touch[] = {0, 0, 1, 0, 0.5f, 0.5f, 1, 1, 0, 1, 0.5f, 0};
    struct det_polygon p = poly(bow, 4);
    assert_int_equal(det_polygon_check(&p), DET_POLYGON_SELF_INTERSECTING);
    p = poly(tri, 3);
    assert_int_equal(det_polygon_check(&p), DET_POLYGON_OK);
    p = poly(line, 3);
    assert_int_equal(det_polygon_check(&p), DET_POLYGON_ZERO_AREA);
    p = poly(rep, 4);
    assert_int_equal(det_polygon_check(&p), DET_POLYGON_REPEATED_POINT);
    p = poly(touch, 6); /* a vertex touching a non-adjacent edge */
    assert_int_equal(det_polygon_check(&p), DET_POLYGON_SELF_INTERSECTING);
}

static void test_segments_and_sides(void **state)
{
    (void)state;
    assert_true(det_segments_intersect(P(0, 0), P(1, 1), P(0, 1), P(1, 0)));
    assert_false(det_segments_intersect(P(0, 0), P(0.4, 0.4), P(0, 1), P(1, 0)));
    assert_true(det_segments_intersect(P(0, 0), P(0.5, 0.5), P(0, 1), P(1, 0))); /* touching */
    assert_false(det_segments_intersect(P(0, 0), P(1, 0), P(0, 0.1), P(1, 0.1))); /* parallel */
    /* Line pointing right: side A (negative) is above it on the screen. */
    assert_true(det_line_side(P(0, 0.5), P(1, 0.5), P(0.5, 0.2)) < 0);
    assert_true(det_line_side(P(0, 0.5), P(1, 0.5), P(0.5, 0.8)) > 0);
    assert_float_equal(det_line_side(P(0, 0.5), P(1, 0.5), P(0.5, 0.8)), 0.3f, 1e-6);
}

static void test_filters_drop_labels_scores_and_sizes(void **state)
{
    (void)state;
    struct det_analytics *a = parse("{\"objects\": {\"labels\": [\"person\", \"car\"],"
                                    " \"min_score\": 0.5, \"min_area\": 0.01, \"max_area\": 0.5}}");
    det_zones *z = det_zones_new(a);
    static const char *const names[] = {"person", "bicycle", "car"};
    struct det_box boxes[] = {
        {0.1f, 0.1f, 0.3f, 0.5f, 0.9f, 0}, /* person, area 0.08: kept */
        {0.1f, 0.1f, 0.3f, 0.5f, 0.9f, 1}, /* bicycle: not listed */
        {0.1f, 0.1f, 0.3f, 0.5f, 0.4f, 2}, /* car, low score */
        {0.1f, 0.1f, 0.15f, 0.15f, 0.9f, 2}, /* car, area 0.0025: too small */
        {0.0f, 0.0f, 1.0f, 0.9f, 0.9f, 0}, /* person, area 0.9: too big */
        {0.5f, 0.5f, 0.8f, 0.9f, 0.7f, 2}, /* car, area 0.12: kept */
        {0.5f, 0.5f, 0.8f, 0.9f, 0.7f, 9}, /* label out of range */
    };
    size_t n = det_zones_filter(z, names, 3, boxes, 7);
    assert_int_equal(n, 2);
    assert_int_equal(boxes[0].label, 0);
    assert_int_equal(boxes[1].label, 2);
    assert_float_equal(boxes[1].score, 0.7f, 1e-6);
    det_zones_free(z);
    det_analytics_free(a);

    /* No label list: every label passes the default score of 0.5. */
    a = parse("{}");
    z = det_zones_new(a);
    struct det_box more[] = {{0, 0, 0.1f, 0.1f, 0.5f, 9}, {0, 0, 0.1f, 0.1f, 0.49f, 0}};
    assert_int_equal(det_zones_filter(z, names, 3, more, 2), 1);
    det_zones_free(z);
    det_analytics_free(a);
}

static void apply(det_zones *z, struct det_track *t, size_t n, int64_t us, size_t *nc,
                  struct det_crossing *c, size_t *nl, struct det_loiter *l)
{
    det_zones_apply(z, t, n, us, c, 8, nc, l, 8, nl);
}

static void test_zone_membership_bits_follow_the_feet_and_the_labels(void **state)
{
    (void)state;
    struct det_analytics *a =
        parse("{\"zones\": [{\"name\": \"floor\", \"polygon\": [[0,0.5],[1,0.5],[1,1],[0,1]]},"
              " {\"name\": \"cars\", \"polygon\": [[0,0],[1,0],[1,1],[0,1]], \"labels\": "
              "[\"car\"]},"
              " {\"name\": \"left\", \"polygon\": [[0,0],[0.5,0],[0.5,1],[0,1]]}]}");
    det_zones *z = det_zones_new(a);
    struct det_crossing c[8];
    struct det_loiter l[8];
    size_t nc, nl;
    /* Head at y 0.3 (outside floor) but feet at 0.6: in floor and left, not in cars. */
    struct det_track t[2] = {person_at(1, 0.25f, 0.6f, DET_TRACK_NEW),
                             person_at(2, 0.75f, 0.4f, DET_TRACK_NEW)};
    t[1].label = 2;
    t[1].label_name = "car";
    apply(z, t, 2, 1000000, &nc, c, &nl, l);
    assert_int_equal(t[0].zones, 0x1 | 0x4);
    assert_int_equal(t[1].zones, 0x2);
    assert_int_equal(nc, 0);
    assert_int_equal(nl, 0);
    assert_int_equal(det_zones_track_count(z), 2);
    det_zones_free(z);
    det_analytics_free(a);
}

static void test_loitering_is_reported_once_after_the_time(void **state)
{
    (void)state;
    struct det_analytics *a = parse("{\"zones\": [{\"name\": \"door\", \"polygon\":"
                                    " [[0.4,0.4],[0.6,0.4],[0.6,0.8],[0.4,0.8]],"
                                    " \"loiter_seconds\": 10}]}");
    det_zones *z = det_zones_new(a);
    struct det_crossing c[8];
    struct det_loiter l[8];
    size_t nc, nl;
    int64_t t0 = 1700000000000000LL, s = 1000000;
    struct det_track t = person_at(7, 0.5f, 0.6f, DET_TRACK_NEW);
    apply(z, &t, 1, t0, &nc, c, &nl, l);
    assert_int_equal(nl, 0);
    t.state = DET_TRACK_ACTIVE;
    for (int i = 1; i < 10; i++) {
        apply(z, &t, 1, t0 + i * s, &nc, c, &nl, l);
        assert_int_equal(nl, 0);
    }
    /* A blip outside shorter than the grace keeps the timer. */
    t = person_at(7, 0.9f, 0.6f, DET_TRACK_ACTIVE);
    apply(z, &t, 1, t0 + 9 * s + s / 2, &nc, c, &nl, l);
    assert_int_equal(nl, 0);
    t = person_at(7, 0.5f, 0.6f, DET_TRACK_ACTIVE);
    apply(z, &t, 1, t0 + 10 * s, &nc, c, &nl, l);
    assert_int_equal(nl, 1);
    assert_int_equal(l[0].zone, 0);
    assert_int_equal(l[0].track_id, 7);
    assert_int_equal(l[0].since_us, t0);
    /* Once per track and zone. */
    apply(z, &t, 1, t0 + 20 * s, &nc, c, &nl, l);
    assert_int_equal(nl, 0);

    /* Another track leaves for longer than the grace: its timer restarts. */
    struct det_track u = person_at(8, 0.5f, 0.6f, DET_TRACK_NEW);
    apply(z, &u, 1, t0, &nc, c, &nl, l);
    u = person_at(8, 0.9f, 0.6f, DET_TRACK_ACTIVE);
    apply(z, &u, 1, t0 + 5 * s, &nc, c, &nl, l);
    apply(z, &u, 1, t0 + 7 * s, &nc, c, &nl, l);
    u = person_at(8, 0.5f, 0.6f, DET_TRACK_ACTIVE);
    apply(z, &u, 1, t0 + 8 * s, &nc, c, &nl, l);
    apply(z, &u, 1, t0 + 17 * s, &nc, c, &nl, l);
    assert_int_equal(nl, 0);
    apply(z, &u, 1, t0 + 18 * s, &nc, c, &nl, l);
    assert_int_equal(nl, 1);
    assert_int_equal(l[0].since_us, t0 + 8 * s);

    /* A LOST track (predicted box) does not start loitering. */
    struct det_track v = person_at(9, 0.5f, 0.6f, DET_TRACK_LOST);
    apply(z, &v, 1, t0, &nc, c, &nl, l);
    apply(z, &v, 1, t0 + 30 * s, &nc, c, &nl, l);
    assert_int_equal(nl, 0);
    /* REMOVED forgets the track. */
    size_t before = det_zones_track_count(z);
    v.state = DET_TRACK_REMOVED;
    apply(z, &v, 1, t0 + 31 * s, &nc, c, &nl, l);
    assert_int_equal(det_zones_track_count(z), before - 1);
    det_zones_free(z);
    det_analytics_free(a);
}

/* A vertical tripwire at x 0.5 from y 0.2 down to 0.8: side A is x > 0.5
 * (left of a line pointing down, as seen on the screen). */
static const char wire_doc[] =
    "{\"tripwires\": [{\"name\": \"walkway\", \"line\": [[0.5,0.2],[0.5,0.8]]}]}";

static void walk(det_zones *z, uint64_t id, const float *xs, size_t n, float y, int64_t t0,
                 int *plus, int *minus)
{
    struct det_crossing c[8];
    struct det_loiter l[8];
    size_t nc, nl;
    for (size_t i = 0; i < n; i++) {
        struct det_track t = person_at(id, xs[i], y, i ? DET_TRACK_ACTIVE : DET_TRACK_NEW);
        apply(z, &t, 1, t0 + (int64_t)i * 200000, &nc, c, &nl, l);
        for (size_t k = 0; k < nc; k++) {
            assert_int_equal(c[k].tripwire, 0);
            assert_int_equal(c[k].track_id, id);
            if (c[k].direction > 0)
                (*plus)++;
            else
                (*minus)++;
        }
    }
}

static void test_tripwire_counts_both_directions(void **state)
{
    (void)state;
    struct det_analytics *a = parse(wire_doc);
    det_zones *z = det_zones_new(a);
    int plus = 0, minus = 0;
    static const float right_to_left[] = {0.8f, 0.7f, 0.6f, 0.52f, 0.45f, 0.3f, 0.2f};
    walk(z, 1, right_to_left, 7, 0.5f, 0, &plus, &minus);
    assert_int_equal(plus, 1); /* A (right) -> B (left) */
    assert_int_equal(minus, 0);
    static const float left_to_right[] = {0.1f, 0.3f, 0.6f, 0.9f};
    walk(z, 2, left_to_right, 4, 0.5f, 0, &plus, &minus);
    assert_int_equal(plus, 1);
    assert_int_equal(minus, 1);
    det_zones_free(z);
    det_analytics_free(a);
}

static void test_tripwire_jitter_on_the_line_counts_once(void **state)
{
    (void)state;
    struct det_analytics *a = parse(wire_doc);
    det_zones *z = det_zones_new(a);
    int plus = 0, minus = 0;
    /* Wobbles across the line within the band, then goes on: one crossing. */
    static const float wobble[] = {0.3f,   0.45f,  0.495f, 0.505f, 0.497f, 0.503f,
                                   0.499f, 0.506f, 0.495f, 0.55f,  0.7f};
    walk(z, 3, wobble, 11, 0.5f, 0, &plus, &minus);
    assert_int_equal(minus, 1);
    assert_int_equal(plus, 0);
    /* Back and forth beyond the band is genuine: each change counts. */
    static const float pace[] = {0.3f, 0.7f, 0.3f, 0.7f};
    walk(z, 4, pace, 4, 0.5f, 0, &plus, &minus);
    assert_int_equal(minus, 3);
    assert_int_equal(plus, 1);
    det_zones_free(z);
    det_analytics_free(a);
}

static void test_tripwire_needs_the_segment_not_the_line(void **state)
{
    (void)state;
    struct det_analytics *a = parse(wire_doc);
    det_zones *z = det_zones_new(a);
    int plus = 0, minus = 0;
    /* Walks across x 0.5 below the end of the segment (y 0.9 > 0.8): nothing. */
    static const float across[] = {0.2f, 0.4f, 0.6f, 0.8f};
    walk(z, 5, across, 4, 0.9f, 0, &plus, &minus);
    assert_int_equal(plus + minus, 0);
    /* LOST tracks (predicted boxes) do not cross. */
    struct det_crossing c[8];
    struct det_loiter l[8];
    size_t nc, nl;
    struct det_track t = person_at(6, 0.3f, 0.5f, DET_TRACK_NEW);
    apply(z, &t, 1, 0, &nc, c, &nl, l);
    t = person_at(6, 0.7f, 0.5f, DET_TRACK_LOST);
    apply(z, &t, 1, 100, &nc, c, &nl, l);
    assert_int_equal(nc, 0);
    /* Labels filter tripwires too. */
    det_zones_free(z);
    det_analytics_free(a);
    a = parse("{\"tripwires\": [{\"name\": \"w\", \"line\": [[0.5,0],[0.5,1]], \"labels\": "
              "[\"car\"]}]}");
    z = det_zones_new(a);
    walk(z, 7, across, 4, 0.5f, 0, &plus, &minus);
    assert_int_equal(plus + minus, 0);
    det_zones_free(z);
    det_analytics_free(a);
}

static void test_unclosed_tracks_are_forgotten_after_a_while(void **state)
{
    (void)state;
    struct det_analytics *a = parse(wire_doc);
    det_zones *z = det_zones_new(a);
    struct det_crossing c[8];
    struct det_loiter l[8];
    size_t nc, nl;
    struct det_track t = person_at(1, 0.3f, 0.5f, DET_TRACK_NEW);
    apply(z, &t, 1, 0, &nc, c, &nl, l);
    struct det_track u = person_at(2, 0.3f, 0.5f, DET_TRACK_NEW);
    apply(z, &u, 1, DET_ZONES_FORGET_US - 1, &nc, c, &nl, l);
    assert_int_equal(det_zones_track_count(z), 2);
    apply(z, &u, 1, DET_ZONES_FORGET_US, &nc, c, &nl, l);
    assert_int_equal(det_zones_track_count(z), 1);
    det_zones_forget(z, 2);
    assert_int_equal(det_zones_track_count(z), 0);
    det_zones_free(z);
    det_analytics_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_point_is_the_bottom_centre),
        cmocka_unit_test(test_point_in_convex_polygon_with_edges_and_corners),
        cmocka_unit_test(test_point_in_concave_polygon),
        cmocka_unit_test(test_polygon_checks),
        cmocka_unit_test(test_segments_and_sides),
        cmocka_unit_test(test_filters_drop_labels_scores_and_sizes),
        cmocka_unit_test(test_zone_membership_bits_follow_the_feet_and_the_labels),
        cmocka_unit_test(test_loitering_is_reported_once_after_the_time),
        cmocka_unit_test(test_tripwire_counts_both_directions),
        cmocka_unit_test(test_tripwire_jitter_on_the_line_counts_once),
        cmocka_unit_test(test_tripwire_needs_the_segment_not_the_line),
        cmocka_unit_test(test_unclosed_tracks_are_forgotten_after_a_while),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
