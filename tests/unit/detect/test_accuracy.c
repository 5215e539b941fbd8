/*
 * Accuracy regression test of the default detector (the "onnx" backend with
 * nanodet-320.onnx, the default min score) on the hand-labelled frames of
 * vtest.avi in tests/data/vtest-persons.json: person recall and precision
 * at IoU 0.5 must stay within 5 and 10 points of the figures that
 * bench/detect/accuracy recorded in tests/data/vtest-persons.expected.json.
 * A change to letterboxing, normalisation, decoding, NMS, the model or the
 * converter that loses people (or invents them) fails here.
 *
 * Matching is PASCAL VOC's, as in bench/detect/accuracy: person boxes best
 * score first; the labelled person of highest IoU decides: >= 0.5 and
 * difficult: ignored; >= 0.5 and not yet found: true positive; otherwise a
 * false positive.
 *
 * HORUS_ACCURACY_MIN_SCORE=0.6 (say) runs the detector at another min score,
 * to see the test fail. Skips only when the build has no ONNX Runtime.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "detect.h"
#include "onnx.h"
#include "vtest_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PERSONS 32

struct person {
    double box[4]; /* x0, y0, x1, y1 in pixels of the labelled frame */
    int difficult;
};

struct counts {
    int tp, fp, ignored;
};

static double iou(const double *a, const double *b)
{
    double iw = (a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);
    double ih = (a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);
    if (iw <= 0 || ih <= 0)
        return 0;
    double inter = iw * ih;
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/* Adds to c the outcome of person detections dets[0..n) (pixels, best score
   first) against the labelled persons truth[0..ntruth). */
static void match(const struct person *truth, int ntruth, const double (*dets)[4], int n,
                  struct counts *c)
{
    int found[MAX_PERSONS] = {0};
    for (int i = 0; i < n; i++) {
        double best = 0;
        int k = -1;
        for (int t = 0; t < ntruth; t++) {
            double v = iou(dets[i], truth[t].box);
            if (v > best) {
                best = v;
                k = t;
            }
        }
        if (best >= 0.5 && truth[k].difficult)
            c->ignored++;
        else if (best >= 0.5 && !found[k]) {
            found[k] = 1;
            c->tp++;
        } else
            c->fp++;
    }
}

static void test_matching_follows_voc(void **state)
{
    (void)state;
    const struct person truth[] = {
        {{100, 100, 130, 180}, 0},
        {{200, 100, 230, 180}, 0},
        {{300, 100, 320, 140}, 1},
    };
    const double dets[][4] = {
        {101, 102, 131, 181}, /* the first person */
        {102, 100, 130, 178}, /* the first person again: a duplicate */
        {300, 100, 321, 141}, /* the difficult one: ignored */
        {200, 100, 215, 140}, /* a quarter of the second person: IoU 0.25 */
        {500, 500, 520, 540}, /* nobody */
    };
    struct counts c = {0};
    match(truth, 3, dets, 5, &c);
    assert_int_equal(c.tp, 1);
    assert_int_equal(c.fp, 3);
    assert_int_equal(c.ignored, 1);
    const double good[][4] = {{200, 101, 231, 180}};
    match(truth, 3, good, 1, &c);
    assert_int_equal(c.tp, 2);
}

#ifdef HORUS_HAVE_ONNXRUNTIME
#include "vframes.h"

#include <jansson.h>
#include <unistd.h>

#define DATA HORUS_SOURCE_DIR "/tests/data/"
#define MAX_FRAMES 256

struct labelled {
    int index, count;
    struct person p[MAX_PERSONS];
};

struct run {
    struct det_detector *det;
    struct det_run_options opt;
    struct labelled *frames;
    int nframes, seen, failed;
    struct counts c;
};

static double number(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("expected.json: %s: not a number", key);
    return json_number_value(v);
}

/* Reads tests/data/vtest-persons.json into frames (sorted by index). */
static int load_truth(struct labelled *frames)
{
    json_error_t jerr;
    json_t *root = json_load_file(DATA "vtest-persons.json", 0, &jerr);
    if (!root)
        fail_msg("vtest-persons.json: line %d: %s", jerr.line, jerr.text);
    json_t *arr = json_object_get(root, "frames");
    assert_true(json_is_array(arr));
    assert_int_equal(json_integer_value(json_object_get(root, "width")), 768);
    assert_int_equal(json_integer_value(json_object_get(root, "height")), 576);
    size_t n = json_array_size(arr);
    assert_true(n >= 30 && n <= MAX_FRAMES);
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(arr, i), *persons = json_object_get(f, "persons");
        struct labelled *l = &frames[i];
        l->index = (int)json_integer_value(json_object_get(f, "index"));
        assert_true(i == 0 || l->index > frames[i - 1].index);
        assert_true(json_is_array(persons) && json_array_size(persons) <= MAX_PERSONS);
        l->count = (int)json_array_size(persons);
        for (int k = 0; k < l->count; k++) {
            json_t *p = json_array_get(persons, (size_t)k), *box = json_object_get(p, "box");
            assert_int_equal(json_array_size(box), 4);
            for (size_t j = 0; j < 4; j++)
                l->p[k].box[j] = json_number_value(json_array_get(box, j));
            assert_true(l->p[k].box[0] < l->p[k].box[2] && l->p[k].box[1] < l->p[k].box[3]);
            l->p[k].difficult = json_is_true(json_object_get(p, "difficult"));
        }
    }
    json_decref(root);
    return (int)n;
}

static void on_frame(const struct vframe *f, void *arg)
{
    struct run *r = arg;
    struct labelled *l = NULL;
    for (int i = 0; i < r->nframes; i++)
        if (r->frames[i].index == f->index)
            l = &r->frames[i];
    if (!l || r->failed)
        return;
    struct det_frame fr = {f->rgb, f->width, f->height, f->width * 3};
    struct det_box boxes[100];
    size_t n = 0;
    char *err = NULL;
    if (det_detector_run(r->det, &fr, &r->opt, boxes, 100, &n, &err) != 0) {
        print_error("frame %d: %s\n", f->index, err ? err : "failed");
        free(err);
        r->failed = 1;
        return;
    }
    double people[100][4];
    int np = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(det_detector_label(r->det, boxes[i].label), "person") != 0)
            continue;
        /* boxes come best score first (det_detector_run) */
        people[np][0] = boxes[i].x0 * f->width;
        people[np][1] = boxes[i].y0 * f->height;
        people[np][2] = boxes[i].x1 * f->width;
        people[np][3] = boxes[i].y1 * f->height;
        np++;
    }
    match(l->p, l->count, (const double(*)[4])people, np, &r->c);
    r->seen++;
}

static void test_default_detector_keeps_its_recall_and_precision(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *exp = json_load_file(DATA "vtest-persons.expected.json", 0, &jerr);
    if (!exp)
        fail_msg("vtest-persons.expected.json: line %d: %s", jerr.line, jerr.text);
    double want_recall = number(exp, "recall"), want_precision = number(exp, "precision");
    json_t *tol = json_object_get(exp, "tolerance");
    double recall_points = number(tol, "recall_points");
    double precision_points = number(tol, "precision_points");
    assert_true(number(exp, "min_score") == 0.35 && number(exp, "iou") == 0.5);

    struct run r = {0};
    r.frames = calloc(MAX_FRAMES, sizeof(*r.frames));
    r.nframes = load_truth(r.frames);
    const char *ms = getenv("HORUS_ACCURACY_MIN_SCORE");
    r.opt.min_score = ms ? strtof(ms, NULL) : 0; /* 0: the detector's default, 0.35 */
    r.det = vtest_nanodet_open(320, 1);
    int want[MAX_FRAMES];
    int people = 0;
    for (int i = 0; i < r.nframes; i++) {
        want[i] = r.frames[i].index;
        for (int k = 0; k < r.frames[i].count; k++)
            people += !r.frames[i].p[k].difficult;
    }
    char averr[128];
    int rc = vframes_read(VTEST_PATH, want, r.nframes, 0, on_frame, &r, averr, sizeof(averr));
    if (rc < 0)
        fail_msg("decode %s: %s", VTEST_PATH, averr);
    det_detector_close(r.det);
    free(r.frames);
    assert_false(r.failed);
    assert_int_equal(r.seen, r.nframes);
    assert_int_equal(people, (int)json_integer_value(json_object_get(exp, "people")));

    double recall = 100.0 * r.c.tp / people;
    double precision = r.c.tp + r.c.fp ? 100.0 * r.c.tp / (r.c.tp + r.c.fp) : 0;
    print_message("nanodet-320 min score %.2f: recall %.1f%% (recorded %.1f), precision %.1f%% "
                  "(recorded %.1f); TP %d FP %d ignored %d of %d people in %d frames\n",
                  ms ? r.opt.min_score : 0.35, recall, want_recall, precision, want_precision,
                  r.c.tp, r.c.fp, r.c.ignored, people, r.nframes);
    json_decref(exp);
    if (recall < want_recall - recall_points)
        fail_msg("person recall %.1f%% is more than %.0f points below the recorded %.1f%%", recall,
                 recall_points, want_recall);
    if (precision < want_precision - precision_points)
        fail_msg("person precision %.1f%% is more than %.0f points below the recorded %.1f%%",
                 precision, precision_points, want_precision);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching_follows_voc),
        cmocka_unit_test(test_default_detector_keeps_its_recall_and_precision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching_follows_voc),
        cmocka_unit_test(vtest_onnx_runtime_is_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
