/*
 * Tests for src/detect/object/breaker.c and hybrid.c: the breaker's
 * transitions and cool-down timings with injected time, and the hybrid's
 * choice of detector, label mapping and state, with two scripted detectors
 * (a table implementation whose results the test sets frame by frame).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "breaker.h"
#include "detect.h"
#include "hybrid.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void test_breaker_opens_after_k_failures_and_probes_after_cooldown(void **state)
{
    (void)state;
    struct horus_breaker b;
    horus_breaker_init(&b, 3, 1000, 8000);
    assert_true(horus_breaker_allow(&b, 0));
    horus_breaker_failure(&b, 10, false);
    horus_breaker_failure(&b, 20, false);
    assert_int_equal(b.state, HORUS_BREAKER_CLOSED);
    horus_breaker_success(&b); /* a success resets the count */
    horus_breaker_failure(&b, 30, false);
    horus_breaker_failure(&b, 40, false);
    assert_int_equal(b.state, HORUS_BREAKER_CLOSED);
    horus_breaker_failure(&b, 50, false);
    assert_int_equal(b.state, HORUS_BREAKER_OPEN);
    assert_int_equal(b.opens, 1);
    assert_false(horus_breaker_allow(&b, 51));
    assert_false(horus_breaker_allow(&b, 1049));
    assert_true(horus_breaker_allow(&b, 1050)); /* the probe */
    assert_int_equal(b.state, HORUS_BREAKER_HALF_OPEN);
    horus_breaker_success(&b);
    assert_int_equal(b.state, HORUS_BREAKER_CLOSED);
    assert_true(horus_breaker_allow(&b, 1051));
}

static void test_breaker_timeout_opens_at_once_and_cooldown_doubles_to_max(void **state)
{
    (void)state;
    struct horus_breaker b;
    horus_breaker_init(&b, 3, 1000, 3000);
    horus_breaker_failure(&b, 0, true);
    assert_int_equal(b.state, HORUS_BREAKER_OPEN);
    int64_t t = 1000;
    const int64_t expect_cooldown[] = {2000, 3000, 3000};
    for (int i = 0; i < 3; i++) {
        assert_false(horus_breaker_allow(&b, t - 1));
        assert_true(horus_breaker_allow(&b, t));
        horus_breaker_failure(&b, t, false); /* the probe fails */
        assert_int_equal(b.state, HORUS_BREAKER_OPEN);
        assert_int_equal(b.cooldown_now_ms, expect_cooldown[i]);
        t += expect_cooldown[i];
    }
    assert_int_equal(b.opens, 4);
    assert_true(horus_breaker_allow(&b, t));
    horus_breaker_success(&b);
    assert_int_equal(b.cooldown_now_ms, 1000); /* reset by the success */
    assert_string_equal(horus_breaker_state_name(b.state), "closed");
}

/* ---- the hybrid with scripted detectors ---- */

struct scripted {
    struct det_detector base;
    int rc; /* what the next run returns */
    int label; /* the label of its one box */
    int runs;
};

static int scripted_run(struct det_detector *d, const struct det_frame *f,
                        const struct det_run_options *o, struct det_box *out, size_t cap, size_t *n,
                        char **errmsg)
{
    (void)f;
    (void)o;
    struct scripted *s = (struct scripted *)d;
    s->runs++;
    if (s->rc) {
        *errmsg = horus_strdup(s->rc == -ETIMEDOUT ? "remote 'http://x': timed out" : "boom");
        return s->rc;
    }
    if (cap) {
        out[0] = (struct det_box){0.1f, 0.1f, 0.5f, 0.5f, 0.9f, s->label};
        *n = 1;
    }
    return 0;
}

static void scripted_close(struct det_detector *d)
{
    det_labels_free(d->labels, d->label_count);
}

static const struct det_detector_ops scripted_ops = {"scripted", scripted_run, scripted_close};

static void scripted_init(struct scripted *s, const char *labels_text, int label)
{
    memset(s, 0, sizeof(*s));
    s->base.ops = &scripted_ops;
    char *err = NULL;
    assert_int_equal(det_labels_parse(labels_text, strlen(labels_text), &s->base.labels,
                                      &s->base.label_count, &err),
                     0);
    s->label = label;
}

static int64_t fake_now;
static int64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now;
}

static enum det_hybrid_served run_once(struct det_detector *h, int *label)
{
    static uint8_t px[3 * 4 * 4];
    struct det_frame f = {px, 4, 4, 12};
    struct det_box b[4];
    size_t n = 0;
    char *err = NULL;
    int rc = det_detector_run(h, &f, NULL, b, 4, &n, &err);
    free(err);
    struct det_hybrid_state st;
    assert_int_equal(det_hybrid_state(h, &st), 0);
    if (rc)
        return DET_HYBRID_NONE;
    *label = n ? b[0].label : -2;
    return st.last_served;
}

static void test_hybrid_falls_back_opens_and_recovers(void **state)
{
    (void)state;
    struct scripted p, fb;
    scripted_init(&p, "person\ncar\n", 0);
    scripted_init(&fb, "car\nperson\ndog\n", 1); /* person is label 1 in the fallback */
    struct det_detector *h = NULL;
    char *err = NULL;
    fake_now = 0;
    struct det_hybrid_options o = {.primary = &p.base,
                                   .fallback = &fb.base,
                                   .failures_to_open = 2,
                                   .cooldown_ms = 500,
                                   .cooldown_max_ms = 2000,
                                   .now_ms_cb = fake_clock};
    assert_int_equal(det_hybrid_open(&o, &h, &err), 0);
    assert_string_equal(det_detector_name(h), "hybrid");
    assert_string_equal(det_detector_label(h, 1), "car");
    int label = -1;
    assert_int_equal(run_once(h, &label), DET_HYBRID_PRIMARY);
    assert_int_equal(label, 0);

    p.rc = -ECONNREFUSED; /* the primary dies */
    assert_int_equal(run_once(h, &label), DET_HYBRID_FALLBACK);
    assert_int_equal(label, 0); /* the fallback's "person" (1) mapped to the primary's 0 */
    struct det_hybrid_state st;
    det_hybrid_state(h, &st);
    assert_int_equal(st.breaker, HORUS_BREAKER_CLOSED);
    assert_string_equal(st.last_error, "boom");
    assert_int_equal(run_once(h, &label), DET_HYBRID_FALLBACK);
    det_hybrid_state(h, &st);
    assert_int_equal(st.breaker, HORUS_BREAKER_OPEN);
    int before = p.runs;
    fake_now = 499;
    assert_int_equal(run_once(h, &label), DET_HYBRID_FALLBACK);
    assert_int_equal(p.runs, before); /* open: the primary is not asked */

    fake_now = 500; /* probe, fails: cool-down doubles */
    assert_int_equal(run_once(h, &label), DET_HYBRID_FALLBACK);
    assert_int_equal(p.runs, before + 1);
    det_hybrid_state(h, &st);
    assert_int_equal(st.breaker, HORUS_BREAKER_OPEN);
    assert_int_equal(st.cooldown_ms, 1000);

    p.rc = 0; /* the primary is back */
    fake_now = 1499;
    assert_int_equal(run_once(h, &label), DET_HYBRID_FALLBACK);
    fake_now = 1500;
    assert_int_equal(run_once(h, &label), DET_HYBRID_PRIMARY);
    det_hybrid_state(h, &st);
    assert_int_equal(st.breaker, HORUS_BREAKER_CLOSED);
    assert_int_equal(st.opens, 2);
    assert_int_equal(st.primary_runs, 2);
    assert_int_equal(st.fallback_runs, 5);

    /* a fallback label the primary lacks is dropped */
    p.rc = -ETIMEDOUT; /* and a timeout opens at once */
    fb.label = 2; /* "dog" */
    assert_int_equal(run_once(h, &label), DET_HYBRID_FALLBACK);
    assert_int_equal(label, -2);
    det_hybrid_state(h, &st);
    assert_int_equal(st.breaker, HORUS_BREAKER_OPEN);

    /* both fail: the error names both */
    fb.rc = -EIO;
    fake_now = 10000;
    static uint8_t px[3 * 4 * 4];
    struct det_frame f = {px, 4, 4, 12};
    struct det_box b[4];
    size_t n = 0;
    assert_int_equal(det_detector_run(h, &f, NULL, b, 4, &n, &err), -EIO);
    assert_non_null(strstr(err, "fallback scripted: boom"));
    assert_non_null(strstr(err, "primary: remote 'http://x': timed out"));
    free(err);
    det_detector_close(h);
}

static void test_hybrid_needs_both(void **state)
{
    (void)state;
    struct scripted p;
    scripted_init(&p, "person\n", 0);
    struct det_detector *h = NULL;
    char *err = NULL;
    struct det_hybrid_options o = {.primary = &p.base};
    assert_int_equal(det_hybrid_open(&o, &h, &err), -EINVAL);
    assert_string_equal(err, "fallback: required");
    free(err);
    struct det_hybrid_state st;
    assert_int_equal(det_hybrid_state(&p.base, &st), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_breaker_opens_after_k_failures_and_probes_after_cooldown),
        cmocka_unit_test(test_breaker_timeout_opens_at_once_and_cooldown_doubles_to_max),
        cmocka_unit_test(test_hybrid_falls_back_opens_and_recovers),
        cmocka_unit_test(test_hybrid_needs_both),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
