/*
 * Tests for src/bus/mqtt_snapshot.c: which event messages carry a snapshot
 * for <prefix>/<camera>/<label>/snapshot and <prefix>/<camera>/snapshot (the
 * camera entity's), the file they name, and names
 * that could leave the snapshots folder or address another topic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mqtt_snapshot_int.h"

#include <stdio.h>
#include <string.h>

static bool of(const char *id, const char *cam, const char *label, bool has,
               struct bus_snapshot *out)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             "{\"type\":\"update\",\"after\":{\"id\":\"%s\",\"camera\":\"%s\",\"label\":\"%s\","
             "\"has_snapshot\":%s}}",
             id, cam, label, has ? "true" : "false");
    return bus_snapshot_of(doc, strlen(doc), "/data", "hz", out);
}

static void test_an_event_with_a_snapshot_names_its_file_and_topic(void **state)
{
    (void)state;
    struct bus_snapshot s;
    assert_true(of("01796275625940000-789c8472", "door-1", "person", true, &s));
    assert_string_equal(s.path, "/data/snapshots/door-1/01796275625940000-789c8472.jpg");
    assert_string_equal(s.topic, "hz/door-1/person/snapshot");
    assert_string_equal(s.camera_topic, "hz/door-1/snapshot");
    assert_string_equal(s.camera, "door-1");
    assert_false(of("01796275625940000-789c8472", "door-1", "person", false, &s));
}

static void test_names_cannot_leave_the_folder_or_the_topic(void **state)
{
    (void)state;
    struct bus_snapshot s;
    assert_false(of("../../etc/passwd", "door", "person", true, &s));
    assert_false(of("0179-aa", "../door", "person", true, &s));
    assert_false(of("0179-aa", "Door", "person", true, &s));
    assert_true(of("0179-aa", "door", "a/b#", true, &s));
    assert_string_equal(s.topic, "hz/door/a_b_/snapshot");
    assert_string_equal(s.camera_topic, "hz/door/snapshot");
    assert_false(bus_snapshot_of("nope", 4, "/data", "hz", &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_event_with_a_snapshot_names_its_file_and_topic),
        cmocka_unit_test(test_names_cannot_leave_the_folder_or_the_topic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
