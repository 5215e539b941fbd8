/*
 * Tests for src/bus/mqtt_counts.c: Frigate's per-camera object counts from
 * event messages, by label and "all", unchanged by a message delivered twice,
 * with topic characters in names made harmless.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mqtt_counts_int.h"

#include <stdio.h>
#include <string.h>

static size_t apply(bus_counts *c, const char *type, const char *id, const char *cam,
                    const char *label, struct bus_count *out)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             "{\"type\":\"%s\",\"before\":{},\"after\":{\"id\":\"%s\",\"camera\":\"%s\","
             "\"label\":\"%s\"}}",
             type, id, cam, label);
    return bus_counts_apply(c, doc, strlen(doc), out);
}

static void expect(const struct bus_count *b, const char *cam, const char *label, int count)
{
    assert_string_equal(b->camera, cam);
    assert_string_equal(b->label, label);
    assert_int_equal(b->count, count);
}

static void test_counts_follow_open_events_per_label_and_camera(void **state)
{
    (void)state;
    bus_counts *c = bus_counts_new();
    struct bus_count out[2];
    assert_int_equal(apply(c, "new", "e1", "door", "person", out), 2);
    expect(&out[0], "door", "person", 1);
    expect(&out[1], "door", "all", 1);
    assert_int_equal(apply(c, "new", "e2", "door", "car", out), 2);
    expect(&out[0], "door", "car", 1);
    expect(&out[1], "door", "all", 2);
    assert_int_equal(apply(c, "new", "e3", "yard", "person", out), 2);
    expect(&out[0], "yard", "person", 1);
    expect(&out[1], "yard", "all", 1);
    /* An update changes no count; a message seen twice neither. */
    assert_int_equal(apply(c, "update", "e1", "door", "person", out), 0);
    assert_int_equal(apply(c, "new", "e1", "door", "person", out), 0);
    assert_int_equal(apply(c, "end", "e1", "door", "person", out), 2);
    expect(&out[0], "door", "person", 0);
    expect(&out[1], "door", "all", 1);
    assert_int_equal(apply(c, "end", "e1", "door", "person", out), 0);
    bus_counts_free(c);
}

static void test_names_cannot_change_the_topic_and_junk_is_ignored(void **state)
{
    (void)state;
    bus_counts *c = bus_counts_new();
    struct bus_count out[2];
    assert_int_equal(apply(c, "new", "e1", "door", "a/b#+", out), 2);
    expect(&out[0], "door", "a_b__", 1);
    assert_int_equal(bus_counts_apply(c, "not json", 8, out), 0);
    assert_int_equal(bus_counts_apply(c, "{\"type\":\"new\"}", 14, out), 0);
    bus_counts_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_follow_open_events_per_label_and_camera),
        cmocka_unit_test(test_names_cannot_change_the_topic_and_junk_is_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
