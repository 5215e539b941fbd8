/*
 * Tests for src/bus/mqtt_command.c: which command messages are taken
 * apart into a camera, a switch and ON/OFF, and that every other message
 * is refused with a reason naming what is wrong, its name still fit for
 * the metrics' bounded label.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mqtt_command_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int parse(const char *prefix, const char *topic, const char *payload,
                 struct bus_command_msg *out, char *why)
{
    why[0] = '\0';
    return bus_command_parse(prefix, topic, payload, strlen(payload), out, why, 200);
}

static void test_the_three_commands_with_on_and_off_are_accepted(void **state)
{
    (void)state;
    struct bus_command_msg c;
    char why[200];
    assert_int_equal(parse("hz", "hz/door-1/recordings/set", "OFF", &c, why), 0);
    assert_string_equal(c.camera, "door-1");
    assert_int_equal(c.what, BUS_SWITCH_RECORDINGS);
    assert_string_equal(c.name, "recordings");
    assert_false(c.is_on);
    assert_int_equal(parse("hz", "hz/yard_2/detect/set", "ON", &c, why), 0);
    assert_int_equal(c.what, BUS_SWITCH_DETECT);
    assert_true(c.is_on);
    /* A prefix of several levels. */
    assert_int_equal(parse("home/nvr", "home/nvr/yard/motion/set", "ON", &c, why), 0);
    assert_string_equal(c.camera, "yard");
    assert_int_equal(c.what, BUS_SWITCH_MOTION);
    assert_string_equal(bus_command_name(BUS_SWITCH_MOTION), "motion");
}

static void test_payloads_other_than_on_and_off_are_refused(void **state)
{
    (void)state;
    struct bus_command_msg c;
    char why[200];
    const char *bad[] = {"on", "off", "On", " ON", "ON\n", "OFF ", "1", "true", "", "ONN"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse("hz", "hz/door/recordings/set", bad[i], &c, why), -EINVAL);
        assert_non_null(strstr(why, "payload must be ON or OFF"));
        /* Counted under its command, logged with its camera. */
        assert_string_equal(c.name, "recordings");
        assert_string_equal(c.camera, "door");
    }
    /* Only the length is looked at past it: "ON" followed by a NUL is not "ON". */
    assert_int_equal(bus_command_parse("hz", "hz/door/recordings/set", "ON\0", 3, &c, why, 200),
                     -EINVAL);
}

static void test_unknown_commands_are_refused_and_named(void **state)
{
    (void)state;
    struct bus_command_msg c;
    char why[200];
    assert_int_equal(parse("hz", "hz/door/snapshots/set", "ON", &c, why), -EINVAL);
    assert_non_null(strstr(why, "unknown command 'snapshots'"));
    assert_string_equal(c.name, "unknown");
    assert_string_equal(c.camera, "door");
    /* What is shown of a hostile name stays printable and short. */
    assert_int_equal(parse("hz",
                           "hz/door/a'\x01\x7f"
                           "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/set",
                           "ON", &c, why),
                     -EINVAL);
    assert_non_null(strstr(why, "'a???bbbbbbbbbbbbbbbbbbbbbbbbbbbb'"));
    assert_int_equal(parse("hz", "hz/door/recordings2/set", "ON", &c, why), -EINVAL);
    assert_int_equal(parse("hz", "hz/door/record/set", "ON", &c, why), -EINVAL);
}

static void test_topics_outside_the_command_layout_are_refused(void **state)
{
    (void)state;
    struct bus_command_msg c;
    char why[200];
    const char *bad[] = {
        "hz/door/recordings/state", /* our own acknowledgement */
        "hz/door/recordings/set/x",
        "hz/door/recordings",
        "hz/recordings/set",
        "hzz/door/recordings/set", /* another prefix that starts the same */
        "other/door/recordings/set",
        "hz",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse("hz", bad[i], "ON", &c, why), -EINVAL);
        assert_true(why[0] != '\0');
        assert_string_equal(c.name, "unknown");
    }
    assert_int_equal(bus_command_parse("hz", NULL, "ON", 2, &c, why, 200), -EINVAL);
}

static void test_cameras_must_look_like_camera_ids(void **state)
{
    (void)state;
    struct bus_command_msg c;
    char why[200];
    const char *bad[] = {"hz//recordings/set", "hz/Door/recordings/set", "hz/do or/recordings/set",
                         "hz/../recordings/set", "hz/d\xc3\xa9/recordings/set"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse("hz", bad[i], "ON", &c, why), -EINVAL);
        assert_non_null(strstr(why, "no such camera"));
        assert_string_equal(c.camera, "");
    }
    char topic[256], id[80];
    memset(id, 'a', 64);
    id[64] = '\0';
    snprintf(topic, sizeof(topic), "hz/%s/detect/set", id);
    assert_int_equal(parse("hz", topic, "ON", &c, why), 0);
    assert_string_equal(c.camera, id);
    snprintf(topic, sizeof(topic), "hz/%sa/detect/set", id);
    assert_int_equal(parse("hz", topic, "ON", &c, why), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_three_commands_with_on_and_off_are_accepted),
        cmocka_unit_test(test_payloads_other_than_on_and_off_are_refused),
        cmocka_unit_test(test_unknown_commands_are_refused_and_named),
        cmocka_unit_test(test_topics_outside_the_command_layout_are_refused),
        cmocka_unit_test(test_cameras_must_look_like_camera_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
