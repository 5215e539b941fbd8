/*
 * Tests for src/events/events.c and snapshot.c with a real index database
 * and real video: frames of vtest.avi (768x576 pedestrians) go through the
 * engine's observer as a tracked person; the worker writes the event row,
 * its recording pins and two JPEG snapshots. Also: open events a crash
 * left are ended at start, expired events go with their snapshots, and
 * the box is drawn where it belongs. Posted detections through the inbox
 * and evt-x into an event of source "external" (docs/design/0051).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"
#include "events.h"
#include "snapshot_int.h"
#include "sto_fixture.h"
#include "vframes.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S 1000000LL

static const char *video(void)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/data/vtest.avi", HORUS_DEPS_DIR);
    return path;
}

struct frames {
    struct det_image *img[12];
    int n;
    int64_t t0;
};

static void on_frame(const struct vframe *f, void *arg)
{
    struct frames *fr = arg;
    uint8_t *px;
    int stride;
    struct det_image *img =
        det_image_new(f->width, f->height, fr->t0 + fr->n * S / 5, &px, &stride);
    for (int y = 0; y < f->height; y++)
        memcpy(px + (size_t)y * (size_t)stride, f->rgb + (size_t)y * (size_t)f->width * 3,
               (size_t)f->width * 3);
    fr->img[fr->n++] = img;
}

static struct evt_config config(void)
{
    return (struct evt_config){.enabled = true,
                               .min_score = 0.5,
                               .min_frames = 2,
                               .motion = false,
                               .motion_gap_ms = 10000,
                               .snapshots = true,
                               .snapshot_width = 640,
                               .pre_roll_seconds = 5,
                               .post_roll_seconds = 5,
                               .retention_days = 10,
                               .queue_max = 64};
}

/* A new engine, not started, on the fixture's database and folder with config c. */
static evt_engine *engine_new(struct sto_fixture *fx, const struct evt_config *c)
{
    evt_engine *e = NULL;
    assert_int_equal(
        evt_engine_new(&(struct evt_options){.db = fx->db, .data_dir = fx->dir, .config = c}, &e),
        0);
    return e;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * S + ts.tv_nsec / 1000;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static uint8_t *slurp(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)*n);
    assert_int_equal(fread(b, 1, (size_t)*n, f), (size_t)*n);
    fclose(f);
    return b;
}

static void test_a_tracked_person_in_real_video_becomes_an_event_with_snapshots(void **state)
{
    struct sto_fixture *fx = *state;
    if (access(video(), R_OK) != 0)
        skip();
    struct frames fr = {.t0 = now_us() - 60 * S};
    static const int want[] = {0, 5, 10, 15, 20, 25, 30, 35};
    char err[128];
    assert_true(vframes_read(video(), want, 8, 0, on_frame, &fr, err, sizeof(err)) >= 8);
    assert_int_equal(fr.n, 8);

    struct evt_config c = config();
    evt_engine *e = engine_new(fx, &c);
    assert_int_equal(evt_engine_start(e), 0);
    struct det_observer *o = evt_engine_observer(e);
    for (int i = 0; i < fr.n; i++) {
        struct det_track t = {.id = 42,
                              .label_name = "person",
                              .score = i == 4 ? 0.91f : 0.7f,
                              .box = {0.30f, 0.25f, 0.42f, 0.70f, 0.7f, 0},
                              .state = i == 0          ? DET_TRACK_NEW
                                       : i == fr.n - 1 ? DET_TRACK_REMOVED
                                                       : DET_TRACK_ACTIVE,
                              .first_seen_us = fr.t0,
                              .is_best = i == 0 || i == 4};
        struct det_report r = {.camera_id = "cam",
                               .stream = "sub",
                               .image = fr.img[i],
                               .analysed_us = fr.img[i]->utc_us,
                               .tracks = &t,
                               .track_count = 1};
        o->ops->report_cb(o, &r);
    }
    evt_engine_stop(e); /* drains the queue */

    struct sto_event_filter f = {.has_snapshot = -1};
    struct sto_event *list;
    size_t n;
    bool more;
    assert_int_equal(sto_event_list(fx->db, &f, 10, &list, &n, &more), 0);
    assert_int_equal(n, 1);
    struct sto_event *ev = &list[0];
    assert_string_equal(ev->camera_id, "cam");
    assert_string_equal(ev->label, "person");
    assert_string_equal(ev->source, "detector");
    assert_int_equal(ev->start_us, fr.t0);
    assert_int_equal(ev->end_us, fr.img[fr.n - 2]->utc_us); /* the last matched frame */
    assert_true(ev->top_score > 0.9 && ev->score > 0.9); /* frame 4 was the best view */
    assert_true(ev->has_snapshot);
    assert_int_equal(ev->pinned_until_us, fr.t0 + 10 * 86400 * S);

    char boxed[512], clean[512];
    evt_snapshot_path(fx->dir, "cam", ev->id, false, boxed, sizeof(boxed));
    evt_snapshot_path(fx->dir, "cam", ev->id, true, clean, sizeof(clean));
    long nb, nc;
    uint8_t *b = slurp(boxed, &nb), *cl = slurp(clean, &nc);
    const char *keep = getenv("HORUS_TEST_KEEP_SNAPSHOT"); /* a path to look at it */
    FILE *kf = keep ? fopen(keep, "wb") : NULL;
    if (kf) {
        fwrite(b, 1, (size_t)nb, kf);
        fclose(kf);
    }
    assert_true(nb > 5000 && nc > 5000);
    assert_true(b[0] == 0xff && b[1] == 0xd8 && b[nb - 2] == 0xff && b[nb - 1] == 0xd9);
    assert_true(cl[0] == 0xff && cl[1] == 0xd8);
    assert_false(nb == nc && memcmp(b, cl, (size_t)nb) == 0); /* the box is drawn on one */
    free(b);
    free(cl);
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", boxed);
    assert_int_equal(file_size(tmp), -1); /* written through a rename */

    /* The recordings of both streams are pinned over [start - 5 s, end + 5 s]. */
    struct sto_pin *pins;
    size_t np;
    assert_int_equal(sto_pin_list(fx->db, now_us(), 100, &pins, &np), 0);
    assert_int_equal(np, 2);
    for (size_t i = 0; i < np; i++) {
        assert_string_equal(pins[i].reason, "event");
        assert_int_equal(pins[i].start_us, ev->start_us - 5 * S);
        assert_int_equal(pins[i].end_us, ev->end_us + 5 * S);
        assert_int_equal(pins[i].until_us, ev->pinned_until_us);
    }
    sto_pin_list_free(pins, np);

    /* Deleting the event removes its row, pins and files. */
    evt_engine_free(e);
    e = engine_new(fx, &c);
    assert_int_equal(evt_engine_delete(e, ev->id), 0);
    assert_int_equal(file_size(boxed), -1);
    assert_int_equal(file_size(clean), -1);
    assert_int_equal(sto_pin_list(fx->db, now_us(), 100, &pins, &np), 0);
    assert_int_equal(np, 0);
    free(pins);
    assert_int_equal(evt_engine_delete(e, ev->id), -ENOENT);
    evt_engine_free(e);
    sto_event_list_free(list, n);
    for (int i = 0; i < fr.n; i++)
        det_image_unref(fr.img[i]);
}

static void put_event(sto_db *db, const char *id, int64_t start, int64_t end, int64_t updated)
{
    struct sto_event_input in = {.id = id,
                                 .camera_id = "cam",
                                 .label = "car",
                                 .score = 0.8,
                                 .top_score = 0.8,
                                 .start_us = start,
                                 .end_us = end,
                                 .updated_us = updated,
                                 .source = "detector",
                                 .created_at_ms = start / 1000,
                                 .pinned_until_us = start + 10 * 86400 * S};
    assert_int_equal(sto_event_put(db, &in), 0);
}

static void test_open_events_of_a_crash_end_at_their_last_update(void **state)
{
    struct sto_fixture *fx = *state;
    int64_t t = now_us() - 3600 * S;
    char id[EVT_ID_MAX];
    evt_id_make(t, 1, id);
    put_event(fx->db, id, t, 0, t + 7 * S);
    struct sto_event ev;
    assert_int_equal(sto_event_get(fx->db, id, &ev), 0);
    assert_int_equal(ev.end_us, 0);
    sto_event_release(&ev);
    struct evt_config c = config();
    evt_engine *e = engine_new(fx, &c);
    assert_int_equal(evt_engine_start(e), 0);
    assert_int_equal(sto_event_get(fx->db, id, &ev), 0);
    assert_int_equal(ev.end_us, t + 7 * S);
    /* The JSON (list, SSE) carries the frame time of the last change as "updated". */
    json_t *j = evt_event_json(&ev, 5, 5);
    char want[32];
    clock_format_rfc3339_ms((t + 7 * S) / 1000, want, sizeof(want));
    assert_string_equal(json_string_value(json_object_get(j, "updated")), want);
    clock_format_rfc3339_ms(t / 1000, want, sizeof(want));
    assert_string_equal(json_string_value(json_object_get(j, "start")), want);
    json_decref(j);
    sto_event_release(&ev);
    evt_engine_free(e);
}

static void test_expired_events_go_with_their_snapshots(void **state)
{
    struct sto_fixture *fx = *state;
    int64_t old = now_us() - 11 * 86400 * S, recent = now_us() - 86400 * S;
    char old_id[EVT_ID_MAX], new_id[EVT_ID_MAX];
    evt_id_make(old, 2, old_id);
    evt_id_make(recent, 3, new_id);
    put_event(fx->db, old_id, old, old + S, old + S);
    put_event(fx->db, new_id, recent, recent + S, recent + S);
    char path[512];
    evt_snapshot_path(fx->dir, "cam", old_id, false, path, sizeof(path));
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/snapshots/cam", fx->dir);
    mkdir(strcat(strcpy(path, fx->dir), "/snapshots"), 0755);
    mkdir(dir, 0755);
    evt_snapshot_path(fx->dir, "cam", old_id, false, path, sizeof(path));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    struct evt_config c = config();
    evt_engine *e = engine_new(fx, &c);
    size_t n;
    assert_int_equal(evt_engine_retention_run(e, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(file_size(path), -1);
    struct sto_event ev;
    assert_int_equal(sto_event_get(fx->db, old_id, &ev), -ENOENT);
    assert_int_equal(sto_event_get(fx->db, new_id, &ev), 0);
    sto_event_release(&ev);
    evt_engine_free(e);
}

static void test_the_box_and_label_are_drawn_inside_the_frame(void **state)
{
    (void)state;
    enum { W = 100, H = 80 };
    static uint8_t rgb[W * H * 3];
    memset(rgb, 0, sizeof(rgb));
    struct det_box b = {0.2f, 0.5f, 0.6f, 1.0f, 0.9f, 0};
    evt_draw_box(rgb, W * 3, W, H, &b, "person 90%");
    const uint8_t *left = rgb + (60 * W + 20) * 3; /* the left edge, halfway down */
    assert_int_equal(left[0], 255);
    assert_int_equal(left[1], 48);
    const uint8_t *inside = rgb + (60 * W + 40) * 3;
    assert_int_equal(inside[0], 0);
    /* The label sits on a bar above the box: a white glyph pixel in it. */
    int white = 0;
    for (int y = 40 - 9; y < 40; y++)
        for (int x = 20; x < W; x++)
            white += rgb[(y * W + x) * 3 + 1] == 255;
    assert_true(white > 20);
    /* A box at the edge draws nothing outside the buffer (ASan would tell). */
    struct det_box edge = {0.9f, 0.0f, 1.0f, 1.0f, 1, 0};
    evt_draw_box(rgb, W * 3, W, H, &edge, "car");
}

/* The outbox rows after seq 0, as parsed payloads (new references) in *docs; returns how many. */
static size_t outbox_docs(struct sto_fixture *fx, json_t **docs, size_t cap)
{
    struct sto_outbox_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(sto_outbox_read(fx->db, 0, cap, &rows, &n), 0);
    for (size_t i = 0; i < n; i++) {
        docs[i] = json_loads(rows[i].payload, 0, NULL);
        assert_non_null(docs[i]);
        assert_string_equal(rows[i].kind, "event");
        assert_string_equal(rows[i].type, json_string_value(json_object_get(docs[i], "type")));
        assert_string_equal(rows[i].camera_id, "cam");
    }
    sto_outbox_rows_free(rows, n);
    return n;
}

static double member_real(json_t *doc, const char *side, const char *key)
{
    return json_number_value(json_object_get(json_object_get(doc, side), key));
}

static void test_each_change_goes_to_the_outbox_with_its_before_and_after(void **state)
{
    struct sto_fixture *fx = *state;
    struct evt_config c = config();
    evt_engine *e = NULL;
    assert_int_equal(evt_engine_new(
                         &(struct evt_options){
                             .db = fx->db, .data_dir = fx->dir, .config = &c, .has_outbox = true},
                         &e),
                     0);
    assert_int_equal(evt_engine_start(e), 0);
    struct det_observer *o = evt_engine_observer(e);
    int64_t t0 = now_us() - 60 * S;
    static const float scores[] = {0.7f, 0.7f, 0.91f, 0.91f};
    for (int i = 0; i < 4; i++) {
        struct det_track t = {.id = 7,
                              .label_name = "car",
                              .score = scores[i],
                              .box = {0.1f, 0.1f, 0.3f, 0.3f, scores[i], 0},
                              .state = i == 0   ? DET_TRACK_NEW
                                       : i == 3 ? DET_TRACK_REMOVED
                                                : DET_TRACK_ACTIVE,
                              .first_seen_us = t0};
        struct det_report r = {.camera_id = "cam",
                               .stream = "sub",
                               .analysed_us = t0 + i * S,
                               .tracks = &t,
                               .track_count = 1};
        o->ops->report_cb(o, &r);
    }
    evt_engine_stop(e);
    json_t *docs[8];
    size_t n = outbox_docs(fx, docs, 8);
    assert_true(n >= 3);
    assert_string_equal(json_string_value(json_object_get(docs[0], "type")), "new");
    assert_string_equal(json_string_value(json_object_get(docs[n - 1], "type")), "end");
    /* "new": before is the event itself; then each before is what the previous change left. */
    assert_true(json_equal(json_object_get(docs[0], "before"), json_object_get(docs[0], "after")));
    for (size_t i = 1; i < n; i++)
        assert_true(member_real(docs[i], "before", "top_score") ==
                    member_real(docs[i - 1], "after", "top_score"));
    assert_true(member_real(docs[0], "after", "top_score") < 0.75);
    assert_true(member_real(docs[n - 1], "after", "top_score") > 0.9);
    json_t *end_after = json_object_get(docs[n - 1], "after");
    assert_true(json_is_null(json_object_get(json_object_get(docs[n - 1], "before"), "end_time")));
    assert_true(json_is_real(json_object_get(end_after, "end_time")));
    assert_string_equal(json_string_value(json_object_get(end_after, "camera")), "cam");
    assert_string_equal(json_string_value(json_object_get(end_after, "label")), "car");
    assert_true(fabs(member_real(docs[n - 1], "after", "start_time") - (double)t0 / 1e6) < 0.002);
    for (size_t i = 0; i < n; i++)
        json_decref(docs[i]);
    evt_engine_free(e);
}

static void test_without_a_bus_nothing_goes_to_the_outbox(void **state)
{
    struct sto_fixture *fx = *state;
    struct evt_config c = config();
    evt_engine *e = engine_new(fx, &c);
    assert_int_equal(evt_engine_start(e), 0);
    struct sto_event out;
    char why[128];
    int64_t t = now_us() - 60 * S;
    assert_int_equal(evt_engine_post(e,
                                     &(struct evt_post){.camera_id = "cam",
                                                        .label = "person",
                                                        .score = 0.8,
                                                        .start_us = t,
                                                        .end_us = t + 2 * S},
                                     &out, why, sizeof(why)),
                     0);
    sto_event_release(&out);
    json_t *docs[2];
    assert_int_equal(outbox_docs(fx, docs, 2), 0);
    evt_engine_free(e);
}

static void test_open_events_of_a_crash_end_with_their_bus_message(void **state)
{
    struct sto_fixture *fx = *state;
    int64_t t = now_us() - 3600 * S;
    char id[EVT_ID_MAX];
    evt_id_make(t, 2, id);
    put_event(fx->db, id, t, 0, t + 7 * S);
    struct evt_config c = config();
    evt_engine *e = NULL;
    assert_int_equal(evt_engine_new(
                         &(struct evt_options){
                             .db = fx->db, .data_dir = fx->dir, .config = &c, .has_outbox = true},
                         &e),
                     0);
    assert_int_equal(evt_engine_start(e), 0);
    struct sto_event ev;
    assert_int_equal(sto_event_get(fx->db, id, &ev), 0);
    assert_int_equal(ev.end_us, t + 7 * S);
    sto_event_release(&ev);
    json_t *docs[2];
    assert_int_equal(outbox_docs(fx, docs, 2), 1);
    assert_string_equal(json_string_value(json_object_get(docs[0], "type")), "end");
    assert_true(json_is_null(json_object_get(json_object_get(docs[0], "before"), "end_time")));
    assert_true(fabs(member_real(docs[0], "after", "end_time") - (double)(t + 7 * S) / 1e6) <
                0.002);
    json_decref(docs[0]);
    evt_engine_free(e);
}

/* Chunk d's item i: person track "w" walking right, frame i at t0 + i * 200 ms. */
static void walk_item(struct evt_dets *d, size_t i, int64_t t0)
{
    struct evt_detection *x = &d->items[i];
    snprintf(x->camera_id, sizeof(x->camera_id), "cam");
    snprintf(x->label, sizeof(x->label), "person");
    snprintf(x->track_id, sizeof(x->track_id), "w");
    x->time_us = t0 + (int64_t)i * 200000;
    x->score = 0.9f;
    x->x0 = 0.1f + 0.1f * (float)i;
    x->x1 = x->x0 + 0.1f;
    x->y0 = 0.3f;
    x->y1 = 0.8f;
}

static void test_posted_detections_become_an_external_event(void **state)
{
    struct sto_fixture *fx = *state;
    struct sto_camera_input cam = {.id = "cam",
                                   .name = "cam",
                                   .url = "rtsp://127.0.0.1:1/main",
                                   .sub_url = "",
                                   .segment_seconds = 60,
                                   .retention_days = 7,
                                   .analytics = "{\"zones\": [{\"name\": \"left\", \"polygon\": "
                                                "[[0,0],[0.5,0],[0.5,1],[0,1]]}]}"};
    assert_int_equal(sto_camera_insert(fx->db, &cam), 0);
    struct evt_config c = config();
    evt_engine *e = engine_new(fx, &c);
    evt_inbox *in = evt_engine_inbox(e);
    assert_false(evt_inbox_is_open(in));
    assert_int_equal(evt_engine_start(e), 0);
    assert_true(evt_inbox_is_open(in));
    int64_t t0 = now_us() - 60 * S;
    /* Two chunks: the frames go on across them. Another camera's detection is not fed. */
    struct evt_dets *a = evt_dets_new(3), *b = evt_dets_new(4);
    for (size_t i = 0; i < 3; i++)
        walk_item(a, i, t0);
    for (size_t i = 0; i < 3; i++)
        walk_item(b, i, t0 + 600000);
    walk_item(b, 3, t0);
    snprintf(b->items[3].camera_id, sizeof(b->items[3].camera_id), "gone");
    evt_inbox_push(in, a);
    evt_inbox_push(in, b);
    /* The stop feeds what is queued, then ends the open event at its last detection. */
    evt_engine_stop(e);
    assert_false(evt_inbox_is_open(in));
    evt_inbox_push(in, evt_dets_new(1)); /* refused quietly */

    struct sto_event *list;
    size_t n;
    bool more;
    assert_int_equal(sto_event_list(fx->db, &(struct sto_event_filter){.has_snapshot = -1}, 10,
                                    &list, &n, &more),
                     0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].camera_id, "cam");
    assert_string_equal(list[0].source, "external");
    assert_string_equal(list[0].label, "person");
    assert_int_equal(list[0].start_us, t0);
    assert_int_equal(list[0].end_us, t0 + 5 * 200000);
    assert_string_equal(list[0].zones, "[\"left\"]");
    assert_false(list[0].has_snapshot);
    sto_event_list_free(list, n);
    evt_engine_free(e);
    evt_inbox_unref(in); /* the inbox outlives the engine */
}

static void test_a_full_inbox_drops_its_oldest_chunk_and_counts_it(void **state)
{
    struct sto_fixture *fx = *state;
    metrics_registry *reg = metrics_registry_new();
    struct evt_config c = config();
    evt_engine *e = NULL;
    assert_int_equal(
        evt_engine_new(
            &(struct evt_options){.db = fx->db, .data_dir = fx->dir, .config = &c, .metrics = reg},
            &e),
        0);
    evt_inbox *in = evt_engine_inbox(e);
    /* Not started: nothing takes chunks, so the 257th push drops the first (2 detections). */
    for (int i = 0; i < 257; i++)
        evt_inbox_push(in, evt_dets_new(i == 0 ? 2 : 1));
    size_t len;
    char *text = metrics_render(reg, &len);
    assert_non_null(strstr(text, "horus_detections_dropped_total{reason=\"queue\"} 2\n"));
    free(text);
    evt_engine_free(e);
    evt_inbox_unref(in);
    metrics_registry_free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_tracked_person_in_real_video_becomes_an_event_with_snapshots, sto_fixture_setup,
            sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_open_events_of_a_crash_end_at_their_last_update,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_expired_events_go_with_their_snapshots,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test(test_the_box_and_label_are_drawn_inside_the_frame),
        cmocka_unit_test_setup_teardown(
            test_each_change_goes_to_the_outbox_with_its_before_and_after, sto_fixture_setup,
            sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_without_a_bus_nothing_goes_to_the_outbox,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_open_events_of_a_crash_end_with_their_bus_message,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_posted_detections_become_an_external_event,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_a_full_inbox_drops_its_oldest_chunk_and_counts_it,
                                        sto_fixture_setup, sto_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
