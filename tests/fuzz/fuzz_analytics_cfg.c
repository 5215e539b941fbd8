/*
 * libFuzzer driver for the analytics document parser
 * (src/detect/analytics_cfg.c) and the geometry it checks polygons with
 * (src/detect/zones.c). The first byte picks whether the detector's labels
 * are known; the rest is the document. Invariants: a refusal always has a
 * "PATH: reason" message; an accepted document renders to JSON that parses
 * back to the same rendering; every accepted polygon passes
 * det_polygon_check and contains none of the points outside 0..1.
 */
#include "analytics_cfg.h"
#include "zones.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static void check_polygon(const struct det_polygon *p)
{
    check(p->count >= DET_ANALYTICS_POINTS_MIN && p->count <= DET_ANALYTICS_POINTS_MAX);
    check(det_polygon_check(p) == DET_POLYGON_OK);
    check(!det_polygon_contains(p, (struct det_point){1.5f, 0.5f}));
    check(!det_polygon_contains(p, (struct det_point){-0.5f, -0.5f}));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const labels[] = {"person", "car", "dog"};
    if (size < 1)
        return 0;
    bool has_labels = data[0] & 1;
    struct det_analytics *a = NULL;
    char *err = NULL;
    int rc = det_analytics_parse((const char *)data + 1, size - 1, has_labels ? labels : NULL,
                                 has_labels ? 3 : 0, &a, &err);
    if (rc < 0) {
        check(a == NULL && err != NULL && strstr(err, ": ") != NULL);
        free(err);
        return 0;
    }
    check(a != NULL && err == NULL);
    for (size_t i = 0; i < a->zone_count; i++)
        check_polygon(&a->zones[i].polygon);
    for (size_t i = 0; i < a->motion.mask_count; i++)
        check_polygon(&a->motion.masks[i]);
    json_t *j = det_analytics_to_json(a);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    struct det_analytics *b = NULL;
    check(det_analytics_parse(text, strlen(text), has_labels ? labels : NULL, has_labels ? 3 : 0,
                              &b, NULL) == 0);
    json_t *j2 = det_analytics_to_json(b);
    char *text2 = json_dumps(j2, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    check(strcmp(text, text2) == 0);
    free(text);
    free(text2);
    json_decref(j);
    json_decref(j2);
    det_analytics_free(a);
    det_analytics_free(b);
    return 0;
}
