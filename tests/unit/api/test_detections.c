/*
 * Tests for src/api/detections.c's pure part (docs/design/0051): a parsed
 * batch copied into chunks for the events engine in time order, equal
 * times keeping the batch's order, split at EVT_DETS_CHUNK, every field
 * copied.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "detections_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z */

/* A batch of n detections whose times go back and forth; item i has track id "t<i>". */
static char *body_of(size_t n)
{
    size_t cap = n * 160 + 8, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s + len, cap - len, "[");
    for (size_t i = 0; i < n; i++) {
        /* Times: 0, 3, 1, 4, 2, 0, 3, ... seconds before now (repeats: equal times). */
        int64_t t = NOW_MS - 10000 + (int64_t)((i * 3) % 5) * 1000;
        len += (size_t)snprintf(s + len, cap - len,
                                "%s{\"camera\":\"cam-%zu\",\"time\":%lld,\"label\":\"person\","
                                "\"score\":0.75,\"box\":[0.1,0.2,0.3,0.4],\"track_id\":\"t%zu\"}",
                                i ? "," : "", i % 2, (long long)t, i);
    }
    snprintf(s + len, cap - len, "]");
    return s;
}

static void chunks_are_in_time_order_stable_and_split(void **state)
{
    (void)state;
    size_t n = EVT_DETS_CHUNK + 44;
    char *body = body_of(n);
    struct api_det_batch b;
    char why[256];
    assert_int_equal(
        api_det_batch_parse(body, strlen(body), false, 1000, NOW_MS * 1000, &b, why, sizeof(why)),
        0);
    size_t nchunks = 0;
    struct evt_dets **chunks = api_det_chunks(&b, &nchunks);
    assert_int_equal(nchunks, 2);
    assert_int_equal(chunks[0]->n, EVT_DETS_CHUNK);
    assert_int_equal(chunks[1]->n, 44);
    int64_t last_t = 0;
    int last_i = -1;
    size_t seen = 0;
    for (size_t k = 0; k < nchunks; k++) {
        for (size_t j = 0; j < chunks[k]->n; j++, seen++) {
            const struct evt_detection *d = &chunks[k]->items[j];
            int i = atoi(d->track_id + 1);
            assert_true(d->time_us >= last_t);
            if (d->time_us == last_t)
                assert_true(i > last_i); /* equal times: the batch's order */
            assert_int_equal(d->time_us, b.rows[i].time_us);
            char cam[16];
            snprintf(cam, sizeof(cam), "cam-%d", i % 2);
            assert_string_equal(d->camera_id, cam);
            assert_string_equal(d->label, "person");
            assert_float_equal(d->score, 0.75f, 1e-6);
            assert_float_equal(d->x0, 0.1f, 1e-6);
            assert_float_equal(d->y1, 0.4f, 1e-6);
            last_t = d->time_us;
            last_i = i;
        }
    }
    assert_int_equal(seen, n);
    for (size_t k = 0; k < nchunks; k++)
        evt_dets_free(chunks[k]);
    free(chunks);
    api_det_batch_release(&b);
    free(body);
}

static void a_detection_without_track_id_has_an_empty_one(void **state)
{
    (void)state;
    const char *body = "[{\"camera\":\"c\",\"time\":1767225590000,\"label\":\"car\","
                       "\"score\":0.5,\"box\":[0,0,1,1]}]";
    struct api_det_batch b;
    char why[256];
    assert_int_equal(
        api_det_batch_parse(body, strlen(body), false, 10, NOW_MS * 1000, &b, why, sizeof(why)), 0);
    size_t nchunks = 0;
    struct evt_dets **chunks = api_det_chunks(&b, &nchunks);
    assert_int_equal(nchunks, 1);
    assert_string_equal(chunks[0]->items[0].track_id, "");
    assert_string_equal(chunks[0]->items[0].label, "car");
    evt_dets_free(chunks[0]);
    free(chunks);
    api_det_batch_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chunks_are_in_time_order_stable_and_split),
        cmocka_unit_test(a_detection_without_track_id_has_an_empty_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
