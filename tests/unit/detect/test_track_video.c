/*
 * The tracker on real video: NanoDet-320 (the ONNX backend, as
 * test_onnx.c) over 150 consecutive samples of Debian opencv-doc's
 * vtest.avi (768x576 pedestrians, 10 fps) taken every second frame, the
 * 5 fps an analysis sampler runs at: frames 0..298, 30 s of street.
 *
 * Skips only when the build has no ONNX Runtime.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "detect.h"
#include "onnx.h"
#include "track.h"
#include "vtest_support.h"

#ifdef HORUS_HAVE_ONNXRUNTIME
#include "vframes.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SAMPLES 150
#define STEP 2 /* every second frame of the 10 fps video: 5 fps */
#define MAX_IDS 1024

struct seen {
    int first, last; /* sample index */
    int active; /* samples with a match */
    float x0, y0, x1, y1; /* first box */
    float lx0, ly0, lx1, ly1; /* last matched box */
    int lsample; /* and its sample */
    int removed;
};

struct run {
    struct det_detector *d;
    det_tracker *t;
    int person;
    int samples;
    struct det_track *out;
    size_t cap;
    struct seen ids[MAX_IDS];
    int bad; /* contract violations seen */
    int jumps; /* matches far from the track's previous box: likely id switches */
    FILE *dump; /* HORUS_TRACK_DUMP: every reported track, one line each */
};

static void on_frame(const struct vframe *f, void *arg)
{
    struct run *r = arg;
    struct det_frame fr = {f->rgb, f->width, f->height, f->width * 3};
    struct det_run_options opt = {.min_score = 0.1f};
    struct det_box boxes[100];
    size_t n = 0, k = 0;
    char *err = NULL;
    if (det_detector_run(r->d, &fr, &opt, boxes, 100, &n, &err) != 0) {
        free(err);
        r->bad++;
        return;
    }
    for (size_t i = 0; i < n; i++) /* people only, as a camera's filter would */
        if (boxes[i].label == r->person)
            boxes[k++] = boxes[i];
    int s = r->samples++;
    size_t no = 0;
    if (det_tracker_update(r->t, boxes, k, (int64_t)f->index * 100000, r->out, r->cap, &no)) {
        r->bad++;
        return;
    }
    for (size_t i = 0; i < no; i++) {
        const struct det_track *tr = &r->out[i];
        if (r->dump)
            fprintf(r->dump, "%d %d %llu %d %.4f %.4f %.4f %.4f %.3f %d %d\n", s, f->index,
                    (unsigned long long)tr->id, (int)tr->state, tr->box.x0, tr->box.y0, tr->box.x1,
                    tr->box.y1, tr->score, tr->is_best, tr->is_stationary);
        if (tr->id == 0 || tr->id >= MAX_IDS || tr->label != r->person) {
            r->bad++;
            continue;
        }
        struct seen *e = &r->ids[tr->id];
        if (tr->state == DET_TRACK_NEW) {
            if (e->first || e->last)
                r->bad++; /* NEW twice */
            e->first = s;
            e->x0 = tr->box.x0, e->y0 = tr->box.y0, e->x1 = tr->box.x1, e->y1 = tr->box.y1;
        } else if (e->removed || (!e->first && !e->last && s != 0)) {
            r->bad++; /* reported after REMOVED, or before NEW */
        }
        if (tr->state == DET_TRACK_ACTIVE) {
            /* a person walks about 0.3 of their height per sample here;
               twice that means the id went to someone else */
            float h = tr->box.y1 - tr->box.y0, lh = e->ly1 - e->ly0;
            float dx = (tr->box.x0 + tr->box.x1 - e->lx0 - e->lx1) / 2 * 768 / 576;
            float dy = (tr->box.y0 + tr->box.y1 - e->ly0 - e->ly1) / 2;
            float moved = sqrtf(dx * dx + dy * dy) / (h > lh ? h : lh) / (float)(s - e->lsample);
            if (moved > 0.6f || h > 1.8f * lh || lh > 1.8f * h) {
                print_message("id %llu jumps at sample %d\n", (unsigned long long)tr->id, s);
                r->jumps++;
            }
        }
        if (tr->state == DET_TRACK_NEW || tr->state == DET_TRACK_ACTIVE) {
            e->active++;
            e->lsample = s;
            e->lx0 = tr->box.x0, e->ly0 = tr->box.y0, e->lx1 = tr->box.x1, e->ly1 = tr->box.y1;
        }
        if (tr->state == DET_TRACK_REMOVED)
            e->removed = 1;
        e->last = s;
    }
}

static void test_people_in_vtest_keep_their_ids(void **state)
{
    (void)state;
    struct run *r = calloc(1, sizeof(*r));
    r->d = vtest_nanodet_open(320, 1);
    char *err = NULL;
    r->person = -1;
    for (int i = 0; i < r->d->label_count; i++)
        if (strcmp(det_detector_label(r->d, i), "person") == 0)
            r->person = i;
    assert_true(r->person >= 0);
    struct det_tracker_options to = {.label_names = (const char *const *)r->d->labels,
                                     .label_count = r->d->label_count};
    assert_int_equal(det_tracker_new(&to, &r->t, &err), 0);
    r->cap = det_tracker_report_max(r->t);
    r->out = calloc(r->cap, sizeof(*r->out));
    const char *dump = getenv("HORUS_TRACK_DUMP");
    if (dump && *dump)
        r->dump = fopen(dump, "w");

    int want[SAMPLES];
    for (int i = 0; i < SAMPLES; i++)
        want[i] = i * STEP;
    char verr[128];
    int rc = vframes_read(VTEST_PATH, want, SAMPLES, 0, on_frame, r, verr, sizeof(verr));
    if (rc < 0)
        fail_msg("decode %s: %s", VTEST_PATH, verr);
    assert_int_equal(r->samples, SAMPLES);
    size_t no = 0;
    assert_int_equal(det_tracker_flush(r->t, r->out, r->cap, &no), 0);
    for (size_t i = 0; i < no; i++)
        r->ids[r->out[i].id].removed = 1;

    int ids = 0, short_lived = 0, long_lived = 0, longest = 0;
    for (int id = 1; id < MAX_IDS; id++) {
        struct seen *e = &r->ids[id];
        if (!e->active)
            continue;
        ids++;
        assert_true(e->removed); /* every track ends exactly once */
        short_lived += e->active < 5;
        long_lived += e->active >= 30;
        if (e->active > longest)
            longest = e->active;
        print_message(
            "id %3d: samples %3d..%3d, %3d matched, from (%3.0f,%3.0f) to (%3.0f,%3.0f)\n", id,
            e->first, e->last, e->active, (e->x0 + e->x1) / 2 * 768, (e->y0 + e->y1) / 2 * 576,
            (e->lx0 + e->lx1) / 2 * 768, (e->ly0 + e->ly1) / 2 * 576);
    }
    print_message("%d person ids (about 18 people), %d matched under 5 samples, %d over 30, "
                  "longest %d, %d jumps\n",
                  ids, short_lived, long_lived, longest, r->jumps);
    /* Counted by eye on contact sheets of the 150 samples: about 18 people
       walk through (three at the start, most entering from the right and
       the far road, a few only half in frame at the right edge or behind
       the sign, which the 320 model misses). What this tracker gives (22
       ids, 3 of them under 5 matches, 12 people followed for 6 s or more,
       one for 25 s across the whole walkway past six others) sits well
       inside these bounds; without the Kalman prediction it makes 99 ids,
       with tracks lost after 0.2 s instead of 2 s it makes 29; with a
       looser first-stage IoU (0.1) it makes 17 but one id jumps. */
    assert_true(ids >= 14 && ids <= 24);
    assert_true(short_lived <= 4); /* fragments and false starts */
    assert_true(long_lived >= 9); /* people keep their id across the scene */
    assert_true(longest >= 100);
    assert_true(r->jumps <= 1); /* ids stay on their person */
    assert_int_equal(r->bad, 0);

    if (r->dump)
        fclose(r->dump);
    det_tracker_free(r->t);
    det_detector_close(r->d);
    free(r->out);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_people_in_vtest_keep_their_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
    return vtest_main_without_onnx();
}

#endif
