/*
 * Tests for src/detect/analytics_cfg.c: the per-camera analytics document.
 * Every rule is refused with the field path and the reason; a full
 * document round-trips through det_analytics_to_json.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "analytics_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const coco[] = {"person", "bicycle", "car"};

/* Parses text expecting a refusal whose message is exactly want. */
static void refused(const char *text, const char *want)
{
    struct det_analytics *a = (struct det_analytics *)1;
    char *err = NULL;
    int rc = det_analytics_parse(text, strlen(text), coco, 3, &a, &err);
    if (rc != -EINVAL || !err || strcmp(err, want) != 0)
        fail_msg("%s\n  got rc %d: %s\n  want: %s", text, rc, err ? err : "(null)", want);
    assert_null(a);
    free(err);
}

static struct det_analytics *accepted(const char *text)
{
    struct det_analytics *a = NULL;
    char *err = NULL;
    int rc = det_analytics_parse(text, strlen(text), coco, 3, &a, &err);
    if (rc != 0)
        fail_msg("%s\n  refused: %s", text, err ? err : "(null)");
    assert_non_null(a);
    return a;
}

static void test_empty_document_gives_the_defaults(void **state)
{
    (void)state;
    const char *docs[] = {"", "  \n", "{}"};
    for (size_t i = 0; i < 3; i++) {
        struct det_analytics *a = accepted(docs[i]);
        assert_true(a->enabled);
        assert_true(a->fps == 5);
        assert_int_equal(a->priority, DET_PRIORITY_NORMAL);
        assert_int_equal(a->stream, DET_STREAM_AUTO);
        assert_int_equal(a->decode, DET_DECODE_ALL);
        assert_int_equal(a->objects.labels.count, 0);
        assert_true(a->objects.min_score == 0.5f);
        assert_true(a->objects.max_area == 1.0f);
        assert_true(a->motion.enabled);
        assert_false(a->motion.events);
        assert_int_equal(a->zone_count, 0);
        assert_int_equal(a->tripwire_count, 0);
        det_analytics_free(a);
    }
}

static const char full[] =
    "{\"enabled\": false, \"fps\": 2.5, \"priority\": \"high\", \"stream\": \"main\","
    " \"decode\": \"keyframes\","
    " \"objects\": {\"labels\": [\"person\", \"car\"], \"min_score\": 0.6, \"min_area\": 0.001,"
    " \"max_area\": 0.5},"
    " \"motion\": {\"enabled\": true, \"events\": true, \"masks\": [[[0,0],[0.2,0],[0.2,0.1]]]},"
    " \"zones\": [{\"name\": \"door\", \"polygon\": [[0.1,0.1],[0.5,0.1],[0.5,0.6],[0.1,0.6]],"
    " \"labels\": [\"person\"], \"loiter_seconds\": 10},"
    " {\"name\": \"drive way\", \"polygon\": [[0.6,0.6],[0.9,0.6],[0.75,0.9]]}],"
    " \"tripwires\": [{\"name\": \"walk-way_1\", \"line\": [[0.5,0],[0.5,1]],"
    " \"labels\": [\"person\"]}]}";

static void test_full_document_is_parsed_and_round_trips(void **state)
{
    (void)state;
    struct det_analytics *a = accepted(full);
    assert_false(a->enabled);
    assert_true(a->fps == 2.5);
    assert_int_equal(a->priority, DET_PRIORITY_HIGH);
    assert_int_equal(a->stream, DET_STREAM_MAIN);
    assert_int_equal(a->decode, DET_DECODE_KEYFRAMES);
    assert_int_equal(a->objects.labels.count, 2);
    assert_string_equal(a->objects.labels.names[1], "car");
    assert_true(a->motion.events);
    assert_int_equal(a->motion.mask_count, 1);
    assert_int_equal(a->motion.masks[0].count, 3);
    assert_int_equal(a->zone_count, 2);
    assert_string_equal(a->zones[1].name, "drive way");
    assert_true(a->zones[0].loiter_seconds == 10);
    assert_int_equal(a->zones[1].labels.count, 0);
    assert_int_equal(a->tripwire_count, 1);
    assert_true(a->tripwires[0].line[1].y == 1.0f);
    assert_true(det_label_list_has(&a->zones[0].labels, "person"));
    assert_false(det_label_list_has(&a->zones[0].labels, "car"));
    assert_true(det_label_list_has(&a->zones[1].labels, "car"));

    /* The canonical form parses back to the same canonical form. */
    json_t *j = det_analytics_to_json(a);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    struct det_analytics *b = accepted(text);
    json_t *j2 = det_analytics_to_json(b);
    char *text2 = json_dumps(j2, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    assert_string_equal(text, text2);
    assert_non_null(strstr(text, "\"min_score\":0.6}"));
    free(text);
    free(text2);
    json_decref(j);
    json_decref(j2);
    det_analytics_free(a);
    det_analytics_free(b);
}

static void test_document_errors_name_the_document(void **state)
{
    (void)state;
    refused("[]", "analytics: must be an object");
    refused("{\"fps\": 5,}",
            "analytics: invalid JSON at line 1 column 11: string or '}' expected near '}'");
    refused("{\"fps\": 5, \"fps\": 6}",
            "analytics: invalid JSON at line 1 column 16: duplicate object key near '\"fps\"'");
    refused("{\"colour\": 1}",
            "colour: unknown field (allowed: enabled, fps, priority, stream, decode, objects, "
            "motion, zones, tripwires)");
}

static void test_scalar_fields_are_checked(void **state)
{
    (void)state;
    refused("{\"enabled\": 1}", "enabled: must be true or false");
    refused("{\"fps\": \"5\"}", "fps: must be a number");
    refused("{\"fps\": 0}", "fps: must be within 0.1..30");
    refused("{\"fps\": 31}", "fps: must be within 0.1..30");
    refused("{\"priority\": \"urgent\"}", "priority: must be one of low, normal, high");
    refused("{\"stream\": 1}", "stream: must be one of auto, sub, main");
    refused("{\"decode\": \"some\"}", "decode: must be one of all, keyframes");
    refused("{\"objects\": []}", "objects: must be an object");
    refused("{\"objects\": {\"min_score\": 1.5}}", "objects.min_score: must be within 0..1");
    refused("{\"objects\": {\"min_area\": -0.1}}", "objects.min_area: must be within 0..1");
    refused("{\"objects\": {\"min_area\": 0.5, \"max_area\": 0.2}}",
            "objects.max_area: must not be below objects.min_area");
    refused("{\"objects\": {\"size\": 1}}",
            "objects.size: unknown field (allowed: labels, min_score, min_area, max_area)");
    refused("{\"motion\": {\"events\": \"yes\"}}", "motion.events: must be true or false");
}

static void test_labels_are_checked_against_the_detector(void **state)
{
    (void)state;
    refused("{\"objects\": {\"labels\": \"person\"}}",
            "objects.labels: must be an array of label names");
    refused("{\"objects\": {\"labels\": [\"person\", \"dog\"]}}",
            "objects.labels[1]: unknown label 'dog' (not one of the detector's labels)");
    refused("{\"objects\": {\"labels\": [\"car\", \"car\"]}}",
            "objects.labels[1]: duplicate label 'car'");
    refused("{\"objects\": {\"labels\": [\"\"]}}",
            "objects.labels[0]: must be a label name of 1..63 characters");
    refused("{\"zones\": [{\"name\": \"a\", \"polygon\": [[0,0],[1,0],[1,1]], \"labels\": [7]}]}",
            "zones[0].labels[0]: must be a label name of 1..63 characters");
    /* Without the detector's labels any name goes. */
    struct det_analytics *a = NULL;
    const char *doc = "{\"objects\": {\"labels\": [\"dog\"]}}";
    assert_int_equal(det_analytics_parse(doc, strlen(doc), NULL, 0, &a, NULL), 0);
    assert_string_equal(a->objects.labels.names[0], "dog");
    det_analytics_free(a);
}

static void test_polygons_are_checked(void **state)
{
    (void)state;
    refused("{\"zones\": [{\"name\": \"a\"}]}", "zones[0].polygon: is required");
    refused("{\"zones\": [{\"name\": \"a\", \"polygon\": [[0,0],[1,0]]}]}",
            "zones[0].polygon: needs 3..32 points, has 2");
    refused("{\"zones\": [{\"name\": \"a\", \"polygon\": [[0,0],[1,0],[1.5,1]]}]}",
            "zones[0].polygon[2]: must be within 0..1");
    refused("{\"zones\": [{\"name\": \"a\", \"polygon\": [[0,0],[1,0],[1]]}]}",
            "zones[0].polygon[2]: must be a point [x, y]");
    refused("{\"zones\": [{\"name\": \"a\", \"polygon\": [[0,0],[1,0],[1,0],[0,1]]}]}",
            "zones[0].polygon: repeated point");
    refused("{\"zones\": [{\"name\": \"ok\", \"polygon\": [[0,0],[1,0],[0,1]]},"
            " {\"name\": \"bow\", \"polygon\": [[0,0],[1,1],[1,0],[0,1]]}]}",
            "zones[1].polygon: self-intersecting");
    refused("{\"zones\": [{\"name\": \"a\", \"polygon\": [[0,0],[0.5,0.5],[1,1]]}]}",
            "zones[0].polygon: has zero area");
    /* A spike folding back along its own edge. */
    refused("{\"zones\": [{\"name\": \"a\", \"polygon\": [[0,0],[0.5,0],[0.5,0.5],[0.5,0.2]]}]}",
            "zones[0].polygon: self-intersecting");
    refused("{\"motion\": {\"masks\": [[[0,0],[1,0],[1,1]], [[0,0],[1,1],[1,0],[0,1]]]}}",
            "motion.masks[1]: self-intersecting");
    char doc[4096] = "{\"zones\": [{\"name\": \"a\", \"polygon\": [";
    for (int i = 0; i < 33; i++)
        snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc), "%s[%d,0]", i ? "," : "", i);
    strcat(doc, "]}]}");
    refused(doc, "zones[0].polygon: needs 3..32 points, has 33");
    /* Concave is fine. */
    det_analytics_free(accepted("{\"zones\": [{\"name\": \"u\", \"polygon\":"
                                " [[0,0],[0.3,0],[0.3,0.7],[0.6,0.7],[0.6,0],[0.9,0],[0.9,1],"
                                "[0,1]]}]}"));
}

static void test_names_and_limits_are_checked(void **state)
{
    (void)state;
    refused("{\"zones\": [{\"polygon\": [[0,0],[1,0],[1,1]]}]}", "zones[0].name: is required");
    refused("{\"zones\": [{\"name\": \"a/b\", \"polygon\": [[0,0],[1,0],[1,1]]}]}",
            "zones[0].name: must be 1..32 characters of [A-Za-z0-9 _-]");
    refused("{\"zones\": [{\"name\": \"\", \"polygon\": [[0,0],[1,0],[1,1]]}]}",
            "zones[0].name: must be 1..32 characters of [A-Za-z0-9 _-]");
    refused("{\"zones\": [{\"name\": \"123456789012345678901234567890123\","
            " \"polygon\": [[0,0],[1,0],[1,1]]}]}",
            "zones[0].name: must be 1..32 characters of [A-Za-z0-9 _-]");
    refused("{\"zones\": [{\"name\": \"a\", \"polygon\": [[0,0],[1,0],[1,1]]},"
            " {\"name\": \"a\", \"polygon\": [[0,0],[1,0],[1,1]]}]}",
            "zones[1].name: duplicate zone name 'a'");
    refused("{\"zones\": [{\"name\": \"a\", \"polygon\": [[0,0],[1,0],[1,1]], \"loiter_seconds\": "
            "-1}]}",
            "zones[0].loiter_seconds: must be within 0..86400");
    refused("{\"zones\": [{\"name\": \"a\", \"polygon\": [[0,0],[1,0],[1,1]], \"x\": 1}]}",
            "zones[0].x: unknown field (allowed: name, polygon, labels, loiter_seconds)");
    refused("{\"zones\": {}}", "zones: must be an array");
    refused("{\"zones\": [1]}", "zones[0]: must be an object");
    char doc[8192] = "{\"zones\": [";
    for (int i = 0; i < 17; i++)
        snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc),
                 "%s{\"name\": \"z%d\", \"polygon\": [[0,0],[1,0],[1,1]]}", i ? "," : "", i);
    strcat(doc, "]}");
    refused(doc, "zones: at most 16 zones");
    strcpy(doc, "{\"motion\": {\"masks\": [");
    for (int i = 0; i < 9; i++)
        snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc), "%s[[0,0],[1,0],[1,1]]",
                 i ? "," : "");
    strcat(doc, "]}}");
    refused(doc, "motion.masks: at most 8 masks");
    strcpy(doc, "{\"tripwires\": [");
    for (int i = 0; i < 17; i++)
        snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc),
                 "%s{\"name\": \"t%d\", \"line\": [[0,0],[1,1]]}", i ? "," : "", i);
    strcat(doc, "]}");
    refused(doc, "tripwires: at most 16 tripwires");
}

static void test_tripwires_are_checked(void **state)
{
    (void)state;
    refused("{\"tripwires\": [{\"name\": \"w\"}]}", "tripwires[0].line: is required");
    refused("{\"tripwires\": [{\"name\": \"w\", \"line\": [[0,0],[1,1],[0,1]]}]}",
            "tripwires[0].line: needs exactly 2 points");
    refused("{\"tripwires\": [{\"name\": \"w\", \"line\": [[0,0],[2,1]]}]}",
            "tripwires[0].line[1]: must be within 0..1");
    refused("{\"tripwires\": [{\"name\": \"w\", \"line\": [[0.5,0.5],[0.5,0.5]]}]}",
            "tripwires[0].line: the 2 points must differ");
    refused("{\"tripwires\": [{\"name\": \"w\", \"line\": [[0,0],[1,1]]},"
            " {\"name\": \"w\", \"line\": [[0,0],[1,1]]}]}",
            "tripwires[1].name: duplicate tripwire name 'w'");
    refused("{\"tripwires\": [{\"name\": \"w\", \"line\": [[0,0],[1,1]], \"labels\": [\"cat\"]}]}",
            "tripwires[0].labels[0]: unknown label 'cat' (not one of the detector's labels)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_document_gives_the_defaults),
        cmocka_unit_test(test_full_document_is_parsed_and_round_trips),
        cmocka_unit_test(test_document_errors_name_the_document),
        cmocka_unit_test(test_scalar_fields_are_checked),
        cmocka_unit_test(test_labels_are_checked_against_the_detector),
        cmocka_unit_test(test_polygons_are_checked),
        cmocka_unit_test(test_names_and_limits_are_checked),
        cmocka_unit_test(test_tripwires_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
