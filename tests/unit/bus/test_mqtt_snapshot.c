/*
 * Tests for src/bus/mqtt_snapshot.c: which event messages carry a snapshot
 * for <prefix>/<camera>/<label>/snapshot, the file they name, and names
 * that could leave the snapshots folder or address another topic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mqtt_snapshot_int.h"

#include <stdio.h>
#include <string.h>

static bool of(const char *id, const char *cam, const char *label, bool has, char *path,
               char *topic)
{
    char doc[512];
    snprintf(doc, sizeof(doc),
             "{\"type\":\"update\",\"after\":{\"id\":\"%s\",\"camera\":\"%s\",\"label\":\"%s\","
             "\"has_snapshot\":%s}}",
             id, cam, label, has ? "true" : "false");
    return bus_snapshot_of(doc, strlen(doc), "/data", "hz", path, 256, topic, 256);
}

static void test_an_event_with_a_snapshot_names_its_file_and_topic(void **state)
{
    (void)state;
    char path[256], topic[256];
    assert_true(of("01796275625940000-789c8472", "door-1", "person", true, path, topic));
    assert_string_equal(path, "/data/snapshots/door-1/01796275625940000-789c8472.jpg");
    assert_string_equal(topic, "hz/door-1/person/snapshot");
    assert_false(of("01796275625940000-789c8472", "door-1", "person", false, path, topic));
}

static void test_names_cannot_leave_the_folder_or_the_topic(void **state)
{
    (void)state;
    char path[256], topic[256];
    assert_false(of("../../etc/passwd", "door", "person", true, path, topic));
    assert_false(of("0179-aa", "../door", "person", true, path, topic));
    assert_false(of("0179-aa", "Door", "person", true, path, topic));
    assert_true(of("0179-aa", "door", "a/b#", true, path, topic));
    assert_string_equal(topic, "hz/door/a_b_/snapshot");
    assert_false(bus_snapshot_of("nope", 4, "/data", "hz", path, 256, topic, 256));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_event_with_a_snapshot_names_its_file_and_topic),
        cmocka_unit_test(test_names_cannot_leave_the_folder_or_the_topic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
