/*
 * Tests for src/events/external_cam.c: one camera's posted detections into
 * det_reports with exact times. A worker's track id mapped to a det track
 * (NEW, ACTIVE, REMOVED after the lost time, a new id when it comes back),
 * detections without an id through the tracker, frames by time, the
 * ordering rule, the document's zones and filters, and a document change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "external_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 1000000LL
#define MS 1000LL
#define T0 (1767225600LL * S)
#define LOST (2 * S)

struct seen {
    uint64_t id;
    enum det_track_state state;
    uint32_t zones;
    int64_t at_us; /* the report's time */
    int64_t first_us;
    float score;
    char label[16];
};

struct log {
    struct seen items[256];
    size_t n;
    size_t reports;
    size_t crossings;
};

static void on_report(void *arg, const struct det_report *r)
{
    struct log *l = arg;
    assert_string_equal(r->camera_id, "cam");
    assert_null(r->image);
    l->reports++;
    l->crossings += r->crossing_count;
    for (size_t i = 0; i < r->track_count; i++) {
        assert_true(l->n < 256);
        const struct det_track *t = &r->tracks[i];
        struct seen *s = &l->items[l->n++];
        *s = (struct seen){t->id,    t->state, t->zones, r->analysed_us, t->first_seen_us,
                           t->score, ""};
        snprintf(s->label, sizeof(s->label), "%s", t->label_name);
    }
}

static struct evt_detection det(int64_t t, const char *track, float x, float score)
{
    struct evt_detection d = {.time_us = t, .score = score, .x0 = x, .y0 = 0.3f};
    d.x1 = x + 0.1f;
    d.y1 = 0.8f;
    snprintf(d.camera_id, sizeof(d.camera_id), "cam");
    snprintf(d.label, sizeof(d.label), "person");
    snprintf(d.track_id, sizeof(d.track_id), "%s", track ? track : "");
    return d;
}

static evt_ext_cam *cam_with(const char *doc_text)
{
    struct det_analytics *doc = NULL;
    char *why = NULL;
    if (doc_text)
        assert_int_equal(det_analytics_parse(doc_text, strlen(doc_text), NULL, 0, &doc, &why), 0);
    evt_ext_cam *c = NULL;
    assert_int_equal(evt_ext_cam_new("cam", doc, LOST, &c, &why), 0);
    return c;
}

static void add(evt_ext_cam *c, struct evt_detection d, struct log *l, struct evt_ext_counts *n)
{
    evt_ext_cam_add(c, &d, on_report, l, n);
}

/* The states the log holds for det track id, in order, as a string: N A R. */
static void states_of(const struct log *l, uint64_t id, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < l->n && k + 1 < cap; i++)
        if (l->items[i].id == id)
            out[k++] = "NALR"[l->items[i].state];
    out[k] = '\0';
}

static void worker_ids_map_to_tracks_that_end_after_the_lost_time(void **state)
{
    (void)state;
    evt_ext_cam *c = cam_with(NULL);
    struct log l = {0};
    struct evt_ext_counts n = {0};
    for (int i = 0; i < 5; i++) {
        add(c, det(T0 + i * 200 * MS, "w-7", 0.1f + 0.05f * (float)i, 0.9f), &l, &n);
        add(c, det(T0 + i * 200 * MS, "42", 0.6f, 0.7f), &l, &n);
    }
    evt_ext_cam_sync(c, on_report, &l);
    assert_int_equal(n.fed, 10);
    assert_int_equal(l.reports, 5); /* one per time */
    assert_int_equal(evt_ext_cam_mapped_count(c), 2);
    uint64_t w7 = l.items[0].id, other = l.items[1].id;
    assert_true(w7 >= EVT_EXT_MAPPED_FIRST_ID && other >= EVT_EXT_MAPPED_FIRST_ID);
    assert_true(w7 != other);
    char st[32];
    states_of(&l, w7, st, sizeof(st));
    assert_string_equal(st, "NAAAA");
    assert_int_equal(l.items[0].first_us, T0);
    assert_string_equal(l.items[0].label, "person");

    /* Time passes without detections: not yet lost at 2 s after the last one... */
    int64_t last = T0 + 800 * MS;
    evt_ext_cam_advance(c, last + LOST, on_report, &l);
    states_of(&l, w7, st, sizeof(st));
    assert_string_equal(st, "NAAAA");
    /* ...REMOVED once more than the lost time passed, once. */
    evt_ext_cam_advance(c, last + LOST + 1, on_report, &l);
    evt_ext_cam_advance(c, last + LOST + S, on_report, &l);
    states_of(&l, w7, st, sizeof(st));
    assert_string_equal(st, "NAAAAR");
    states_of(&l, other, st, sizeof(st));
    assert_string_equal(st, "NAAAAR");
    assert_int_equal(l.items[l.n - 1].at_us, last + LOST + 1);
    assert_int_equal(evt_ext_cam_mapped_count(c), 0);
    assert_false(evt_ext_cam_is_busy(c));

    /* The worker's id again: a new track. */
    add(c, det(last + 4 * S, "w-7", 0.1f, 0.9f), &l, &n);
    evt_ext_cam_sync(c, on_report, &l);
    assert_true(l.items[l.n - 1].id != w7 && l.items[l.n - 1].id != other);
    assert_int_equal(l.items[l.n - 1].state, DET_TRACK_NEW);
    evt_ext_cam_free(c);
}

static void a_detection_ends_a_worker_track_only_when_it_is_late_by_the_lost_time(void **state)
{
    (void)state;
    evt_ext_cam *c = cam_with(NULL);
    struct log l = {0};
    struct evt_ext_counts n = {0};
    /* Track a seen at 0 and 1.9 s; track b keeps the camera's time going. */
    add(c, det(T0, "a", 0.1f, 0.9f), &l, &n);
    add(c, det(T0 + 1900 * MS, "a", 0.1f, 0.9f), &l, &n);
    add(c, det(T0 + 3900 * MS, "b", 0.5f, 0.9f), &l, &n); /* a: silent 2.0 s: alive */
    add(c, det(T0 + 4000 * MS, "b", 0.5f, 0.9f), &l, &n); /* a: silent 2.1 s: removed */
    evt_ext_cam_sync(c, on_report, &l);
    char st[32];
    states_of(&l, l.items[0].id, st, sizeof(st));
    assert_string_equal(st, "NAR");
    for (size_t i = 0; i < l.n; i++)
        if (l.items[i].state == DET_TRACK_REMOVED)
            assert_int_equal(l.items[i].at_us, T0 + 4000 * MS);
    evt_ext_cam_free(c);
}

static void one_worker_id_twice_in_a_frame_is_one_track_at_its_best_score(void **state)
{
    (void)state;
    evt_ext_cam *c = cam_with(NULL);
    struct log l = {0};
    struct evt_ext_counts n = {0};
    add(c, det(T0, "a", 0.1f, 0.6f), &l, &n);
    add(c, det(T0, "a", 0.2f, 0.8f), &l, &n);
    add(c, det(T0, "a", 0.3f, 0.7f), &l, &n);
    evt_ext_cam_sync(c, on_report, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.items[0].state, DET_TRACK_NEW);
    assert_float_equal(l.items[0].score, 0.8f, 1e-6);
    evt_ext_cam_free(c);
}

static void late_detections_are_not_fed_and_frames_never_go_back(void **state)
{
    (void)state;
    evt_ext_cam *c = cam_with(NULL);
    struct log l = {0};
    struct evt_ext_counts n = {0};
    add(c, det(T0 + 10 * S, "a", 0.1f, 0.9f), &l, &n);
    assert_int_equal(evt_ext_cam_newest_us(c), T0 + 10 * S);
    /* More than EVT_EXT_LATE_US older than the newest: counted, not fed. */
    add(c, det(T0 + 10 * S - EVT_EXT_LATE_US - 1, "b", 0.5f, 0.9f), &l, &n);
    assert_int_equal(n.out_of_order, 1);
    assert_int_equal(n.fed, 1);
    /* Exactly the limit late, and 1 s late: fed, at the frame at hand (10 s). */
    add(c, det(T0 + 10 * S - EVT_EXT_LATE_US, "c", 0.5f, 0.9f), &l, &n);
    add(c, det(T0 + 9 * S, "d", 0.7f, 0.9f), &l, &n);
    assert_int_equal(n.fed, 3);
    evt_ext_cam_sync(c, on_report, &l);
    assert_int_equal(l.reports, 1);
    assert_int_equal(l.n, 3);
    for (size_t i = 0; i < l.n; i++)
        assert_int_equal(l.items[i].at_us, T0 + 10 * S);
    /* After a frame was reported, a late one joins the next frame at that time. */
    add(c, det(T0 + 9500 * MS, "a", 0.1f, 0.9f), &l, &n);
    evt_ext_cam_sync(c, on_report, &l);
    assert_int_equal(l.items[l.n - 1].at_us, T0 + 10 * S);
    assert_int_equal(evt_ext_cam_newest_us(c), T0 + 10 * S);
    /* Time order against the newest detection, not the frames: still late. */
    add(c, det(T0 + 4 * S, "a", 0.1f, 0.9f), &l, &n);
    assert_int_equal(n.out_of_order, 2);
    evt_ext_cam_free(c);
}

static void detections_without_ids_go_through_the_tracker(void **state)
{
    (void)state;
    evt_ext_cam *c = cam_with(NULL);
    struct log l = {0};
    struct evt_ext_counts n = {0};
    for (int i = 0; i < 6; i++)
        add(c, det(T0 + i * 200 * MS, NULL, 0.2f + 0.01f * (float)i, 0.9f), &l, &n);
    evt_ext_cam_sync(c, on_report, &l);
    assert_true(l.n >= 5);
    uint64_t id = l.items[0].id;
    assert_true(id > 0 && id < EVT_EXT_MAPPED_FIRST_ID);
    char st[32];
    states_of(&l, id, st, sizeof(st));
    assert_int_equal(st[0], 'N');
    for (size_t i = 1; st[i]; i++)
        assert_int_equal(st[i], 'A');
    assert_true(evt_ext_cam_is_busy(c));
    /* Quiet past the tracker's lost time: the track ends. */
    evt_ext_cam_advance(c, T0 + 1000 * MS + LOST + 1, on_report, &l);
    states_of(&l, id, st, sizeof(st));
    assert_int_equal(st[strlen(st) - 1], 'R');
    assert_false(evt_ext_cam_is_busy(c));
    evt_ext_cam_free(c);
}

static const char *const zones_doc =
    "{\"objects\": {\"labels\": [\"person\"]},"
    " \"zones\": [{\"name\": \"left\", \"polygon\": [[0,0],[0.5,0],[0.5,1],[0,1]]}],"
    " \"tripwires\": [{\"name\": \"mid\", \"line\": [[0.5,0],[0.5,1]]}]}";

static void the_documents_zones_tripwires_and_filters_apply(void **state)
{
    (void)state;
    evt_ext_cam *c = cam_with(zones_doc);
    struct log l = {0};
    struct evt_ext_counts n = {0};
    for (int i = 0; i < 8; i++)
        add(c, det(T0 + i * 200 * MS, "w", 0.1f + 0.1f * (float)i, 0.9f), &l, &n);
    struct evt_detection car = det(T0 + 1600 * MS, "car-1", 0.1f, 0.9f);
    snprintf(car.label, sizeof(car.label), "car");
    evt_ext_cam_add(c, &car, on_report, &l, &n);
    evt_ext_cam_sync(c, on_report, &l);
    assert_int_equal(n.filtered, 1); /* objects.labels: person only */
    assert_int_equal(l.n, 8);
    assert_int_equal(l.items[0].zones, 1u); /* bottom centre 0.15: in "left" */
    assert_int_equal(l.items[7].zones, 0u); /* 0.85: out */
    assert_int_equal(l.crossings, 1);
    evt_ext_cam_free(c);
}

static void a_new_document_ends_every_track_and_ids_keep_counting(void **state)
{
    (void)state;
    evt_ext_cam *c = cam_with(NULL);
    struct log l = {0};
    struct evt_ext_counts n = {0};
    add(c, det(T0, "w", 0.1f, 0.9f), &l, &n);
    add(c, det(T0, NULL, 0.6f, 0.9f), &l, &n);
    evt_ext_cam_sync(c, on_report, &l);
    assert_int_equal(l.n, 2);
    uint64_t mapped = l.items[0].id, tracked = l.items[1].id;
    if (mapped < tracked) {
        uint64_t t = mapped;
        mapped = tracked;
        tracked = t;
    }
    struct det_analytics *doc = NULL;
    char *why = NULL;
    assert_int_equal(det_analytics_parse(zones_doc, strlen(zones_doc), NULL, 0, &doc, &why), 0);
    assert_int_equal(evt_ext_cam_set_doc(c, doc, on_report, &l, &why), 0);
    assert_int_equal(l.n, 4);
    for (size_t i = 2; i < 4; i++) {
        assert_int_equal(l.items[i].state, DET_TRACK_REMOVED);
        assert_int_equal(l.items[i].at_us, T0);
    }
    add(c, det(T0 + S, "w", 0.1f, 0.9f), &l, &n);
    add(c, det(T0 + S, NULL, 0.6f, 0.9f), &l, &n);
    evt_ext_cam_sync(c, on_report, &l);
    assert_int_equal(l.n, 6);
    for (size_t i = 4; i < 6; i++) {
        assert_int_equal(l.items[i].state, DET_TRACK_NEW);
        assert_true(l.items[i].id != mapped && l.items[i].id != tracked);
    }
    evt_ext_cam_free(c);
}

static void full_tables_refuse_and_count(void **state)
{
    (void)state;
    evt_ext_cam *c = cam_with(NULL);
    struct log l = {0};
    struct evt_ext_counts n = {0};
    for (int i = 0; i < EVT_EXT_LABELS_MAX + 3; i++) {
        struct evt_detection d = det(T0, NULL, 0.1f, 0.9f);
        snprintf(d.label, sizeof(d.label), "label-%d", i);
        evt_ext_cam_add(c, &d, on_report, &l, &n);
    }
    assert_int_equal(n.limit, 3);
    assert_int_equal(n.fed, EVT_EXT_LABELS_MAX);
    evt_ext_cam_free(c);
}

/* Every track report of a long run: (id, state) pairs. */
struct biglog {
    uint64_t id[8192];
    enum det_track_state state[8192];
    size_t n;
};

static void on_report_big(void *arg, const struct det_report *r)
{
    struct biglog *l = arg;
    for (size_t i = 0; i < r->track_count; i++) {
        assert_true(l->n < 8192);
        l->id[l->n] = r->tracks[i].id;
        l->state[l->n++] = r->tracks[i].state;
    }
}

/* Feeds worker id number i at t and returns the det id and state it was reported with. */
static uint64_t feed_key(evt_ext_cam *c, struct biglog *l, int i, int64_t t,
                         enum det_track_state *st)
{
    /* Ids as workers make them, not in sequence: their hashes collide as they would. */
    char key[24];
    snprintf(key, sizeof(key), "trk-%08x", (unsigned)(i * 2654435761u) ^ 0x5bd1e995u);
    struct evt_detection d = det(t, key, 0.1f, 0.9f);
    struct evt_ext_counts n = {0};
    evt_ext_cam_add(c, &d, on_report_big, l, &n);
    evt_ext_cam_sync(c, on_report_big, l);
    assert_int_equal(n.fed, 1);
    *st = l->state[l->n - 1];
    return l->id[l->n - 1];
}

static void a_thousand_worker_ids_keep_their_tracks_while_half_expire(void **state)
{
    (void)state;
    evt_ext_cam *c = cam_with(NULL);
    struct biglog *l = calloc(1, sizeof(*l));
    static uint64_t first[1000];
    enum det_track_state st;
    for (int i = 0; i < 1000; i++) {
        first[i] = feed_key(c, l, i, T0 + i * MS, &st);
        assert_int_equal(st, DET_TRACK_NEW);
    }
    assert_int_equal(evt_ext_cam_mapped_count(c), 1000);
    for (int i = 0; i < 1000; i += 2) {
        assert_int_equal(feed_key(c, l, i, T0 + 1500 * MS + i, &st), first[i]);
        assert_int_equal(st, DET_TRACK_ACTIVE);
    }
    size_t before = l->n;
    evt_ext_cam_advance(c, T0 + 3000 * MS, on_report_big, l);
    size_t removed = 0;
    for (size_t k = before; k < l->n; k++)
        removed += l->state[k] == DET_TRACK_REMOVED;
    assert_int_equal(removed, 500); /* the odd ids: silent since before 1 s */
    assert_int_equal(evt_ext_cam_mapped_count(c), 500);
    /* The ids kept are found past the holes the others left; those gone are new. */
    for (int i = 0; i < 1000; i += 2) {
        assert_int_equal(feed_key(c, l, i, T0 + 3100 * MS + i, &st), first[i]);
        assert_int_equal(st, DET_TRACK_ACTIVE);
    }
    for (int i = 1; i < 1000; i += 2) {
        assert_true(feed_key(c, l, i, T0 + 3200 * MS + i, &st) != first[i]);
        assert_int_equal(st, DET_TRACK_NEW);
    }
    assert_int_equal(evt_ext_cam_mapped_count(c), 1000);
    free(l);
    evt_ext_cam_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worker_ids_map_to_tracks_that_end_after_the_lost_time),
        cmocka_unit_test(a_detection_ends_a_worker_track_only_when_it_is_late_by_the_lost_time),
        cmocka_unit_test(one_worker_id_twice_in_a_frame_is_one_track_at_its_best_score),
        cmocka_unit_test(late_detections_are_not_fed_and_frames_never_go_back),
        cmocka_unit_test(detections_without_ids_go_through_the_tracker),
        cmocka_unit_test(the_documents_zones_tripwires_and_filters_apply),
        cmocka_unit_test(a_new_document_ends_every_track_and_ids_keep_counting),
        cmocka_unit_test(full_tables_refuse_and_count),
        cmocka_unit_test(a_thousand_worker_ids_keep_their_tracks_while_half_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
