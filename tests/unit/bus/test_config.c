/*
 * Tests for src/bus/config.c: the broker URL parser (scheme, host, port;
 * no credentials, no path) and the `bus:` table through the cfg engine
 * (defaults, errors citing file:line, the password masked when printed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "bus.h"

#include <errno.h>
#include <string.h>

static void test_urls_split_into_scheme_host_and_port(void **state)
{
    (void)state;
    struct bus_url u;
    char why[160];
    assert_int_equal(bus_url_parse("mqtt://127.0.0.1:1883", &u, why, sizeof(why)), 0);
    assert_string_equal(u.scheme, "mqtt");
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 1883);
    assert_int_equal(bus_url_parse("MQTTS://broker.example/", &u, why, sizeof(why)), 0);
    assert_string_equal(u.scheme, "mqtts");
    assert_string_equal(u.host, "broker.example");
    assert_int_equal(u.port, 0); /* the adapter's default */
    assert_int_equal(bus_url_parse("mqtt://[::1]:8883", &u, why, sizeof(why)), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 8883);
}

static void refused(const char *url, const char *reason)
{
    struct bus_url u;
    char why[160] = "";
    assert_int_equal(bus_url_parse(url, &u, why, sizeof(why)), -EINVAL);
    if (!strstr(why, reason))
        fail_msg("'%s': '%s' lacks '%s'", url, why, reason);
}

static void test_bad_urls_are_refused_with_a_reason(void **state)
{
    (void)state;
    refused("127.0.0.1:1883", "scheme://");
    refused("mqtt://user:secret@host:1883", "username and password");
    refused("mqtt://host:1883/topic", "no path");
    refused("mqtt://host:0", "1..65535");
    refused("mqtt://host:65536", "1..65535");
    refused("mqtt://host:", "1..65535");
    refused("mqtt://:1883", "host");
    refused("mqtt://[::1:1883", "']'");
    refused("mqtt://ho st", "not allowed");
    refused("mq tt://host", "scheme");
}

static const cfg_field root_fields[] = {
    {.name = "bus", .type = CFG_SECTION, .offset = 0, .sub = bus_config_fields, .help = "buses"},
    {0},
};
static const cfg_schema schema = {.fields = root_fields, .size = sizeof(struct bus_config)};

static void test_the_table_has_defaults_masks_the_password_and_cites_lines(void **state)
{
    (void)state;
    cfg_errors errs;
    cfg_errors_init(&errs, "t.yaml");
    cfg_snapshot *snap = NULL;
    assert_int_equal(cfg_load_defaults(&schema, &snap, &errs), 0);
    const struct bus_config *c = cfg_snapshot_data(snap);
    assert_false(bus_config_any(c));
    assert_int_equal(c->outbox_retention_ms, 7 * 86400000LL);
    assert_string_equal(c->mqtt.topic_prefix, "horus");
    assert_int_equal(c->mqtt.qos, 1);
    assert_true(c->mqtt.tls_verify);
    cfg_snapshot_unref(snap);

    static const char good[] = "bus:\n  mqtt:\n    url: mqtt://b:1883\n    password: hunter2\n";
    assert_int_equal(cfg_load_string(&schema, "t.yaml", good, strlen(good), &snap, &errs), 0);
    assert_true(bus_config_any(cfg_snapshot_data(snap)));
    json_t *j = cfg_snapshot_to_json(snap);
    char *text = json_dumps(j, 0);
    assert_null(strstr(text, "hunter2"));
    assert_non_null(strstr(text, "\"password\": \"***\""));
    free(text);
    json_decref(j);
    cfg_snapshot_unref(snap);

    static const char bad[] = "bus:\n  mqtt:\n    url: amqp://b\n    topic_prefix: a/#\n";
    assert_int_not_equal(cfg_load_string(&schema, "t.yaml", bad, strlen(bad), &snap, &errs), 0);
    assert_int_equal(errs.count, 2);
    assert_non_null(strstr(errs.items[0], "t.yaml:3:"));
    assert_non_null(strstr(errs.items[0], "bus.mqtt.url: the scheme must be mqtt:// or mqtts://"));
    assert_non_null(strstr(errs.items[1], "t.yaml:4:"));
    assert_non_null(strstr(errs.items[1], "bus.mqtt.topic_prefix"));
    cfg_errors_release(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls_split_into_scheme_host_and_port),
        cmocka_unit_test(test_bad_urls_are_refused_with_a_reason),
        cmocka_unit_test(test_the_table_has_defaults_masks_the_password_and_cites_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
