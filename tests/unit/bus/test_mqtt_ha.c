/*
 * Tests for src/bus/mqtt_ha.c and the labels of src/bus/mqtt_discovery.c:
 * what is announced to Home Assistant is published once, again when it
 * changes or on a new connection, and cleared (empty retained payload) when
 * its camera, its label or discovery goes away, also after a restart from the
 * saved text; a retained state topic is cleared with its camera; saved text
 * of the wrong shape is refused whole. The labels a camera's analytics names
 * become its label entities, "person" when it names none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mqtt_discovery_int.h"
#include "mqtt_ha_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What commit published: "topic=payload" lines, in order. */
struct sent {
    char text[8192];
    size_t n;
};

static void record(const char *topic, const char *payload, void *arg)
{
    struct sent *s = arg;
    size_t len = strlen(s->text);
    snprintf(s->text + len, sizeof(s->text) - len, "%s=%s\n", topic, payload);
    s->n++;
}

static struct sent commit(bus_ha *h, bool is_all)
{
    struct sent s = {.text = "", .n = 0};
    size_t n = bus_ha_commit(h, is_all, record, &s);
    assert_int_equal(n, s.n);
    return s;
}

static void want(bus_ha *h, const char *camera, const char *topic, const char *payload)
{
    bus_ha_camera(h, camera);
    assert_int_equal(bus_ha_want(h, camera, topic, payload), 0);
}

static void test_configs_go_out_once_again_when_changed_and_are_cleared_when_gone(void **state)
{
    (void)state;
    bus_ha *h = bus_ha_new();
    bus_ha_begin(h);
    want(h, "door", "ha/sensor/n/door_objects/config", "{\"a\":1}");
    want(h, "yard", "ha/sensor/n/yard_objects/config", "{\"b\":1}");
    struct sent s = commit(h, false);
    assert_string_equal(s.text, "ha/sensor/n/door_objects/config={\"a\":1}\n"
                                "ha/sensor/n/yard_objects/config={\"b\":1}\n");
    assert_true(bus_ha_take_dirty(h));
    assert_false(bus_ha_take_dirty(h));
    /* The same again: nothing; a changed payload: only that one. */
    bus_ha_begin(h);
    want(h, "door", "ha/sensor/n/door_objects/config", "{\"a\":1}");
    want(h, "yard", "ha/sensor/n/yard_objects/config", "{\"b\":2}");
    assert_int_equal(commit(h, false).n, 1);
    assert_false(bus_ha_take_dirty(h)); /* the same topics: nothing new to save */
    /* A new connection: every config again. */
    bus_ha_begin(h);
    want(h, "door", "ha/sensor/n/door_objects/config", "{\"a\":1}");
    want(h, "yard", "ha/sensor/n/yard_objects/config", "{\"b\":2}");
    assert_int_equal(commit(h, true).n, 2);
    /* yard deleted: its config cleared, door's untouched. */
    bus_ha_begin(h);
    want(h, "door", "ha/sensor/n/door_objects/config", "{\"a\":1}");
    s = commit(h, false);
    assert_string_equal(s.text, "ha/sensor/n/yard_objects/config=\n");
    assert_true(bus_ha_take_dirty(h));
    /* Discovery off: the camera exists, no config is wanted: cleared. */
    bus_ha_begin(h);
    bus_ha_camera(h, "door");
    s = commit(h, false);
    assert_string_equal(s.text, "ha/sensor/n/door_objects/config=\n");
    assert_int_equal(commit(h, false).n, 0);
    bus_ha_free(h);
}

static void test_two_cameras_cannot_share_a_topic(void **state)
{
    (void)state;
    bus_ha *h = bus_ha_new();
    bus_ha_begin(h);
    want(h, "a", "ha/sensor/n/a_b_count/config", "{\"a\":1}");
    assert_int_equal(bus_ha_want(h, "a", "ha/sensor/n/a_b_count/config", "{}"), 0);
    assert_int_equal(bus_ha_want(h, "a_b", "ha/sensor/n/a_b_count/config", "{}"), -EEXIST);
    struct sent s = commit(h, false);
    assert_string_equal(s.text, "ha/sensor/n/a_b_count/config={\"a\":1}\n");
    bus_ha_free(h);
}

static void test_retained_states_are_cleared_with_their_camera(void **state)
{
    (void)state;
    bus_ha *h = bus_ha_new();
    assert_true(bus_ha_note_retained(h, "door", "hz/door/snapshot"));
    assert_false(bus_ha_note_retained(h, "door", "hz/door/snapshot"));
    assert_true(bus_ha_note_retained(h, "yard", "hz/yard/motion"));
    bus_ha_begin(h);
    bus_ha_camera(h, "door");
    struct sent s = commit(h, false);
    assert_string_equal(s.text, "hz/yard/motion=\n");
    assert_int_equal(commit(h, false).n, 0);
    bus_ha_free(h);
}

static void test_what_was_announced_before_a_restart_is_cleared_after_it(void **state)
{
    (void)state;
    bus_ha *h = bus_ha_new();
    bus_ha_begin(h);
    want(h, "door", "ha/camera/n/door_snapshot/config", "{}");
    want(h, "yard", "ha/camera/n/yard_snapshot/config", "{}");
    commit(h, false);
    bus_ha_note_retained(h, "yard", "hz/yard/motion");
    char *text = bus_ha_dump(h);
    bus_ha_free(h);

    h = bus_ha_new();
    assert_int_equal(bus_ha_load(h, text, strlen(text)), 0);
    free(text);
    bus_ha_begin(h);
    want(h, "door", "ha/camera/n/door_snapshot/config", "{}");
    struct sent s = commit(h, true);
    assert_string_equal(s.text, "ha/camera/n/yard_snapshot/config=\n"
                                "ha/camera/n/door_snapshot/config={}\n"
                                "hz/yard/motion=\n");
    bus_ha_free(h);
}

static void test_saved_text_of_another_shape_is_refused_whole(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "[]",
        "{\"v\":2,\"configs\":[],\"retained\":[]}",
        "{\"v\":1,\"configs\":{},\"retained\":[]}",
        "{\"v\":1,\"configs\":[[\"a\",\"t\"]],\"retained\":[[\"a\"]]}",
        "{\"v\":1,\"configs\":[[\"a\",\"x/#\"]],\"retained\":[]}",
        "{\"v\":1,\"configs\":[[\"\",\"t\"]],\"retained\":[]}",
        "{\"v\":1,\"configs\":[[\"a\",1]],\"retained\":[]}",
        "{\"v\":1,\"v\":1,\"configs\":[],\"retained\":[]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bus_ha *h = bus_ha_new();
        assert_int_equal(bus_ha_load(h, bad[i], strlen(bad[i])), -EINVAL);
        bus_ha_begin(h);
        assert_int_equal(commit(h, false).n, 0); /* nothing was added */
        bus_ha_free(h);
    }
}

static void test_labels_come_from_the_analytics_or_are_person(void **state)
{
    (void)state;
    char out[BUS_DISCOVERY_LABELS_MAX][BUS_DISCOVERY_LABEL_MAX];
    assert_int_equal(bus_discovery_labels(NULL, out), 1);
    assert_string_equal(out[0], "person");
    assert_int_equal(bus_discovery_labels("", out), 1);
    assert_int_equal(bus_discovery_labels("{\"objects\":{\"labels\":[]}}", out), 1);
    assert_string_equal(out[0], "person");
    assert_int_equal(bus_discovery_labels("not json", out), 1);
    /* Named: in order, without motion (the motion sensor's) nor a repeat once made an id. */
    assert_int_equal(bus_discovery_labels("{\"objects\":{\"labels\":[\"car\",\"motion\","
                                          "\"traffic light\",\"traffic_light\",\"car\",7]}}",
                                          out),
                     2);
    assert_string_equal(out[0], "car");
    assert_string_equal(out[1], "traffic light");
    /* At most BUS_DISCOVERY_LABELS_MAX. */
    char doc[4096] = "{\"objects\":{\"labels\":[";
    for (int i = 0; i < 40; i++)
        snprintf(doc + strlen(doc), sizeof(doc) - strlen(doc), "%s\"l%d\"", i ? "," : "", i);
    strcat(doc, "]}}");
    assert_int_equal(bus_discovery_labels(doc, out), BUS_DISCOVERY_LABELS_MAX);
    assert_string_equal(out[BUS_DISCOVERY_LABELS_MAX - 1], "l15");
}

/* The config topics bus_discovery_camera emits, one per line. */
static void topics(const char *topic, const char *payload, void *arg)
{
    (void)payload;
    char *s = arg;
    snprintf(s + strlen(s), 4096 - strlen(s), "%s\n", topic);
}

static void test_a_camera_has_a_camera_entity_and_entities_per_label(void **state)
{
    (void)state;
    const char *labels[] = {"person", "traffic light"};
    struct bus_discovery d = {.discovery_prefix = "ha",
                              .topic_prefix = "hz",
                              .client_id = "n 1",
                              .camera_id = "door",
                              .labels = labels,
                              .nlabels = 2};
    char got[4096] = "";
    bus_discovery_camera(&d, topics, got);
    assert_string_equal(got, "ha/camera/n_1/door_snapshot/config\n"
                             "ha/sensor/n_1/door_objects/config\n"
                             "ha/binary_sensor/n_1/door_occupancy/config\n"
                             "ha/binary_sensor/n_1/door_motion_detected/config\n"
                             "ha/sensor/n_1/door_person_count/config\n"
                             "ha/binary_sensor/n_1/door_person_occupancy/config\n"
                             "ha/sensor/n_1/door_traffic_light_count/config\n"
                             "ha/binary_sensor/n_1/door_traffic_light_occupancy/config\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configs_go_out_once_again_when_changed_and_are_cleared_when_gone),
        cmocka_unit_test(test_two_cameras_cannot_share_a_topic),
        cmocka_unit_test(test_retained_states_are_cleared_with_their_camera),
        cmocka_unit_test(test_what_was_announced_before_a_restart_is_cleared_after_it),
        cmocka_unit_test(test_saved_text_of_another_shape_is_refused_whole),
        cmocka_unit_test(test_labels_come_from_the_analytics_or_are_person),
        cmocka_unit_test(test_a_camera_has_a_camera_entity_and_entities_per_label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
