/*
 * Tests for src/events/lifecycle.c: synthetic reports of one camera in,
 * the changes (open, update, end) out, with the frame times the reports
 * carry. Filters, zones, crossings, the best view, stationary objects,
 * motion bursts and a stopped camera.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 1000000LL /* one second in us */
#define T0 (1767225600LL * S)

struct rec {
    enum evt_change_kind kind;
    struct evt_state ev;
    bool wants_snapshot;
};

struct log {
    struct rec items[64];
    size_t n;
};

static void on_change(void *arg, const struct evt_change *c)
{
    struct log *l = arg;
    assert_true(l->n < 64);
    l->items[l->n++] = (struct rec){c->kind, *c->event, c->wants_snapshot};
}

static const struct evt_life_config config = {
    .min_score = 0.5f,
    .min_frames = 3,
    .min_duration_us = 0,
    .motion = false,
    .motion_gap_us = 10 * S,
    .snapshot_interval_us = 1 * S,
    .stationary_memory_us = 600 * S,
};

static const char *const zone_names[] = {"door", "yard"};
static const char *const wire_names[] = {"gate"};

/* A det_image stand-in with a time: only utc_us is read by the lifecycle. */
static struct det_image image_at(int64_t t)
{
    return (struct det_image){.width = 4, .height = 4, .utc_us = t};
}

static struct det_track track(uint64_t id, enum det_track_state st, float score, float x,
                              uint32_t zones, bool is_best)
{
    return (struct det_track){.id = id,
                              .label = 0,
                              .label_name = "person",
                              .score = score,
                              .box = {x, 0.2f, x + 0.1f, 0.6f, score, 0},
                              .state = st,
                              .zones = zones,
                              .first_seen_us = T0,
                              .is_best = is_best};
}

/* Runs one report at time t with the given tracks. */
static void report(evt_life *l, struct log *log, int64_t t, const struct det_track *tracks,
                   size_t n)
{
    struct det_image img = image_at(t);
    struct det_report r = {.camera_id = "cam",
                           .stream = "sub",
                           .image = &img,
                           .analysed_us = t,
                           .tracks = tracks,
                           .track_count = n,
                           .zone_names = zone_names,
                           .zone_count = 2,
                           .tripwire_names = wire_names,
                           .tripwire_count = 1};
    evt_life_report(l, &r, on_change, log);
}

static void test_a_track_opens_after_the_filters_updates_and_ends(void **state)
{
    (void)state;
    evt_life *l = evt_life_new(&config, "cam", 7);
    struct log log = {0};
    struct det_track t = track(1, DET_TRACK_NEW, 0.6f, 0.1f, 0, true);
    report(l, &log, T0, &t, 1);
    t.state = DET_TRACK_ACTIVE;
    report(l, &log, T0 + S / 5, &t, 1);
    assert_int_equal(log.n, 0); /* two frames: under min_frames */
    report(l, &log, T0 + 2 * S / 5, &t, 1);
    assert_int_equal(log.n, 1);
    assert_int_equal(log.items[0].kind, EVT_CHANGE_OPEN);
    const struct evt_state *e = &log.items[0].ev;
    assert_int_equal(e->start_us, T0); /* the first frame, not the one that passed */
    assert_int_equal(e->end_us, 0);
    assert_string_equal(e->label, "person");
    assert_string_equal(e->source, "detector");
    assert_true(evt_id_is_valid(e->id));
    assert_int_equal(strtoll(e->id, NULL, 10), T0);
    assert_true(log.items[0].wants_snapshot);
    assert_int_equal(evt_life_open_count(l), 1);

    /* Entering a zone updates; nothing new does not. */
    t.zones = 1u << 1;
    t.is_best = false;
    report(l, &log, T0 + 3 * S / 5, &t, 1);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.items[1].kind, EVT_CHANGE_UPDATE);
    assert_int_equal(log.items[1].ev.nzones, 1);
    assert_string_equal(log.items[1].ev.zones[0], "yard");
    assert_false(log.items[1].wants_snapshot);
    report(l, &log, T0 + 4 * S / 5, &t, 1);
    assert_int_equal(log.n, 2);
    /* A second zone joins the union; the first stays. */
    t.zones = 1u << 0;
    report(l, &log, T0 + S, &t, 1);
    assert_int_equal(log.n, 3);
    assert_int_equal(log.items[2].ev.nzones, 2);
    assert_string_equal(log.items[2].ev.zones[1], "door");
    /* A better view more than snapshot_interval after the last snapshot asks for one. */
    t.is_best = true;
    t.score = 0.62f;
    report(l, &log, T0 + 3 * S / 2, &t, 1);
    assert_int_equal(log.n, 4);
    assert_true(log.items[3].wants_snapshot);
    /* Within the interval, a slightly better view does not; a clearly better one does. */
    t.score = 0.64f;
    report(l, &log, T0 + 8 * S / 5, &t, 1);
    assert_int_equal(log.n, 4);
    t.score = 0.9f;
    report(l, &log, T0 + 17 * S / 10, &t, 1);
    assert_int_equal(log.n, 5);
    assert_true(log.items[4].wants_snapshot);
    assert_true(log.items[4].ev.score > 0.89f && log.items[4].ev.top_score > 0.89f);
    /* Lost frames do not move the end; REMOVED ends at the last matched frame. */
    t.state = DET_TRACK_LOST;
    t.is_best = false;
    t.score = 0;
    report(l, &log, T0 + 2 * S, &t, 1);
    t.state = DET_TRACK_REMOVED;
    report(l, &log, T0 + 3 * S, &t, 1);
    assert_int_equal(log.n, 6);
    assert_int_equal(log.items[5].kind, EVT_CHANGE_END);
    assert_int_equal(log.items[5].ev.end_us, T0 + 17 * S / 10);
    assert_string_equal(log.items[5].ev.id, log.items[0].ev.id);
    assert_int_equal(evt_life_open_count(l), 0);
    evt_life_free(l);
}

static void test_filters_keep_weak_short_and_brief_tracks_out(void **state)
{
    (void)state;
    struct evt_life_config c = config;
    c.min_duration_us = 2 * S;
    evt_life *l = evt_life_new(&c, "cam", 7);
    struct log log = {0};
    /* A weak track (0.4 < min_score) never opens, however long. */
    struct det_track weak = track(1, DET_TRACK_NEW, 0.4f, 0.1f, 0, true);
    /* A strong one opens only once it was seen for min_duration. */
    struct det_track strong = track(2, DET_TRACK_NEW, 0.8f, 0.5f, 0, true);
    for (int i = 0; i < 12; i++) {
        struct det_track both[2] = {weak, strong};
        report(l, &log, T0 + i * S / 4, both, 2);
        weak.state = strong.state = DET_TRACK_ACTIVE;
        if (i < 8)
            assert_int_equal(log.n, 0);
    }
    assert_int_equal(log.n, 1);
    assert_int_equal(log.items[0].kind, EVT_CHANGE_OPEN);
    assert_true(log.items[0].ev.top_score > 0.79f);
    /* A brief track removed before it passed ends nothing. */
    struct det_track brief = track(3, DET_TRACK_NEW, 0.9f, 0.8f, 0, true);
    report(l, &log, T0 + 4 * S, &brief, 1);
    brief.state = DET_TRACK_REMOVED;
    report(l, &log, T0 + 5 * S, &brief, 1);
    weak.state = DET_TRACK_REMOVED;
    report(l, &log, T0 + 5 * S, &weak, 1);
    assert_int_equal(log.n, 1);
    evt_life_free(l);
}

static void test_stationary_objects_do_not_open_or_reopen(void **state)
{
    (void)state;
    evt_life *l = evt_life_new(&config, "cam", 7);
    struct log log = {0};
    /* A parked car reported stationary from its first frame never opens. */
    struct det_track parked = track(1, DET_TRACK_NEW, 0.9f, 0.1f, 0, true);
    parked.is_stationary = true;
    for (int i = 0; i < 5; i++) {
        report(l, &log, T0 + i * S, &parked, 1);
        parked.state = DET_TRACK_ACTIVE;
    }
    assert_int_equal(log.n, 0);
    /* A car that arrives, opens, parks and is lost ends stationary... */
    struct det_track car = track(2, DET_TRACK_NEW, 0.9f, 0.5f, 0, true);
    for (int i = 0; i < 5; i++) {
        car.is_stationary = i >= 3;
        car.is_best = i == 0;
        report(l, &log, T0 + (10 + i) * S, &car, 1);
        car.state = DET_TRACK_ACTIVE;
    }
    car.state = DET_TRACK_REMOVED;
    report(l, &log, T0 + 20 * S, &car, 1);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.items[1].kind, EVT_CHANGE_END);
    /* ...and the tracker's new track at the same place does not open again. */
    struct det_track again = track(3, DET_TRACK_NEW, 0.9f, 0.5f, 0, true);
    again.first_seen_us = T0 + 30 * S;
    for (int i = 0; i < 5; i++) {
        report(l, &log, T0 + (30 + i) * S, &again, 1);
        again.state = DET_TRACK_ACTIVE;
    }
    assert_int_equal(log.n, 2);
    /* Elsewhere, a new track of the same label opens. */
    struct det_track other = track(4, DET_TRACK_NEW, 0.9f, 0.8f, 0, true);
    other.box.y0 = 0.7f;
    other.box.y1 = 0.95f;
    for (int i = 0; i < 3; i++) {
        report(l, &log, T0 + (40 + i) * S, &other, 1);
        other.state = DET_TRACK_ACTIVE;
    }
    assert_int_equal(log.n, 3);
    assert_int_equal(log.items[2].kind, EVT_CHANGE_OPEN);
    evt_life_free(l);
}

static void test_crossings_and_loiters_are_recorded_on_their_event(void **state)
{
    (void)state;
    evt_life *l = evt_life_new(&config, "cam", 7);
    struct log log = {0};
    struct det_track t = track(5, DET_TRACK_NEW, 0.7f, 0.1f, 0, false);
    for (int i = 0; i < 3; i++) {
        report(l, &log, T0 + i * S, &t, 1);
        t.state = DET_TRACK_ACTIVE;
    }
    assert_int_equal(log.n, 1);
    struct det_crossing x = {.tripwire = 0, .track_id = 5, .direction = -1};
    struct det_crossing other = {.tripwire = 0, .track_id = 99, .direction = 1};
    struct det_crossing both[2] = {other, x};
    struct det_loiter lo = {.zone = 1, .track_id = 5, .since_us = T0 + S};
    struct det_image img = image_at(T0 + 4 * S);
    struct det_report r = {.camera_id = "cam",
                           .image = &img,
                           .tracks = &t,
                           .track_count = 1,
                           .crossings = both,
                           .crossing_count = 2,
                           .loiters = &lo,
                           .loiter_count = 1,
                           .zone_names = zone_names,
                           .zone_count = 2,
                           .tripwire_names = wire_names,
                           .tripwire_count = 1};
    evt_life_report(l, &r, on_change, &log);
    assert_int_equal(log.n, 2);
    const struct evt_state *e = &log.items[1].ev;
    assert_int_equal(e->nmarks, 2);
    assert_false(e->marks[0].is_loiter);
    assert_string_equal(e->marks[0].name, "gate");
    assert_int_equal(e->marks[0].direction, -1);
    assert_int_equal(e->marks[0].at_us, T0 + 4 * S);
    assert_true(e->marks[1].is_loiter);
    assert_string_equal(e->marks[1].name, "yard");
    assert_int_equal(e->marks[1].since_us, T0 + S);
    evt_life_free(l);
}

static void test_motion_bursts_open_and_end_after_the_gap(void **state)
{
    (void)state;
    struct evt_life_config c = config;
    c.motion = true;
    evt_life *l = evt_life_new(&c, "cam", 7);
    struct log log = {0};
    struct det_box regions[2] = {{0.1f, 0.1f, 0.2f, 0.2f, 1, -1}, {0.5f, 0.5f, 0.7f, 0.9f, 1, -1}};
    for (int i = 0; i < 20; i++) {
        struct det_image img = image_at(T0 + i * S);
        bool moving = i < 3 || i == 8; /* a burst, a lull under the gap, a last blip */
        struct det_report r = {.camera_id = "cam",
                               .image = &img,
                               .motion = regions + (i == 8),
                               .motion_count = moving ? 1 + (i == 1) : 0};
        evt_life_report(l, &r, on_change, &log);
    }
    assert_int_equal(log.n, 2);
    assert_int_equal(log.items[0].kind, EVT_CHANGE_OPEN);
    assert_string_equal(log.items[0].ev.label, "motion");
    assert_string_equal(log.items[0].ev.source, "motion");
    assert_int_equal(log.items[0].ev.start_us, T0);
    assert_int_equal(log.items[1].kind, EVT_CHANGE_END);
    assert_int_equal(log.items[1].ev.end_us, T0 + 8 * S);
    /* The box is the union of the burst's regions. */
    assert_true(log.items[1].ev.box.x0 < 0.11f && log.items[1].ev.box.y1 > 0.89f);
    /* A suppressed global change (lights) is no motion. */
    struct det_image img = image_at(T0 + 30 * S);
    struct det_report r = {.camera_id = "cam",
                           .image = &img,
                           .motion = regions,
                           .motion_count = 1,
                           .motion_suppressed = true};
    evt_life_report(l, &r, on_change, &log);
    assert_int_equal(log.n, 2);
    evt_life_free(l);
}

static void test_a_stopped_camera_ends_every_open_event(void **state)
{
    (void)state;
    struct evt_life_config c = config;
    c.motion = true;
    c.min_frames = 1;
    evt_life *l = evt_life_new(&c, "cam", 7);
    struct log log = {0};
    struct det_track tracks[2] = {track(1, DET_TRACK_NEW, 0.9f, 0.1f, 0, true),
                                  track(2, DET_TRACK_NEW, 0.9f, 0.6f, 0, true)};
    struct det_box m = {0.1f, 0.1f, 0.2f, 0.2f, 1, -1};
    struct det_image img = image_at(T0 + S);
    struct det_report r = {.camera_id = "cam",
                           .image = &img,
                           .tracks = tracks,
                           .track_count = 2,
                           .motion = &m,
                           .motion_count = 1};
    evt_life_report(l, &r, on_change, &log);
    assert_int_equal(log.n, 3);
    assert_int_equal(evt_life_open_count(l), 3);
    evt_life_stop(l, on_change, &log);
    assert_int_equal(log.n, 6);
    for (size_t i = 3; i < 6; i++) {
        assert_int_equal(log.items[i].kind, EVT_CHANGE_END);
        assert_int_equal(log.items[i].ev.end_us, T0 + S);
    }
    assert_int_equal(evt_life_open_count(l), 0);
    evt_life_free(l);
}

static void test_a_track_never_removed_ends_once_stale(void **state)
{
    (void)state;
    evt_life *l = evt_life_new(&config, "cam", 7);
    struct log log = {0};
    struct det_track t = track(9, DET_TRACK_NEW, 0.8f, 0.1f, 0, false);
    for (int i = 0; i < 3; i++) {
        report(l, &log, T0 + i * S, &t, 1);
        t.state = DET_TRACK_ACTIVE;
    }
    assert_int_equal(log.n, 1);
    /* The tracker restarts: the track is never reported again, nor removed. */
    report(l, &log, T0 + 30 * S, NULL, 0);
    assert_int_equal(log.n, 1);
    report(l, &log, T0 + 63 * S, NULL, 0);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.items[1].kind, EVT_CHANGE_END);
    assert_int_equal(log.items[1].ev.end_us, T0 + 2 * S);
    assert_int_equal(evt_life_open_count(l), 0);
    evt_life_free(l);
}

static void test_ids_sort_by_start_and_are_checked(void **state)
{
    (void)state;
    char a[EVT_ID_MAX], b[EVT_ID_MAX];
    evt_id_make(T0, 0xdeadbeef, a);
    evt_id_make(T0 + 1, 0x00000001, b);
    assert_string_equal(a, "01767225600000000-deadbeef");
    assert_true(strcmp(a, b) < 0);
    assert_true(evt_id_is_valid(a));
    assert_false(evt_id_is_valid("01767225600000000-DEADBEEF"));
    assert_false(evt_id_is_valid("0176722560000000-deadbeef0"));
    assert_false(evt_id_is_valid("../../etc/passwd"));
    assert_false(evt_id_is_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_track_opens_after_the_filters_updates_and_ends),
        cmocka_unit_test(test_filters_keep_weak_short_and_brief_tracks_out),
        cmocka_unit_test(test_stationary_objects_do_not_open_or_reopen),
        cmocka_unit_test(test_crossings_and_loiters_are_recorded_on_their_event),
        cmocka_unit_test(test_motion_bursts_open_and_end_after_the_gap),
        cmocka_unit_test(test_a_stopped_camera_ends_every_open_event),
        cmocka_unit_test(test_a_track_never_removed_ends_once_stale),
        cmocka_unit_test(test_ids_sort_by_start_and_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
