/*
 * The `bus.amqp` table (src/bus/amqp_config.c): defaults, URLs checked by
 * librabbitmq's own parser at load (error citing line and key), exchange
 * names, and the URL's password masked when the section is printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bus_amqp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const cfg_schema schema = {.fields = bus_amqp_fields,
                                  .size = sizeof(struct bus_amqp_config)};

static int load(const char *text, cfg_snapshot **out, cfg_errors *errs)
{
    cfg_errors_init(errs, "t.yaml");
    return cfg_load_string(&schema, "t.yaml", text, strlen(text), out, errs);
}

static void defaults_name_no_broker_and_the_horus_exchange(void **state)
{
    (void)state;
    cfg_snapshot *s = NULL;
    cfg_errors e;
    assert_int_equal(load("{}\n", &s, &e), 0);
    const struct bus_amqp_config *c = cfg_snapshot_data(s);
    assert_string_equal(c->url, ""); /* no AMQP bus unless configured */
    assert_string_equal(c->exchange, "horus");
    assert_true(c->tls_verify);
    assert_int_equal(c->heartbeat_ms, 30000);
    void *self = NULL;
    const struct bus_client_ops *ops = NULL;
    /* No broker named: nothing to make (the core skips the bus). */
    assert_int_equal(bus_amqp_new(c, &self, &ops), -EINVAL);
    struct bus_amqp_config local = *c;
    local.url = "amqp://127.0.0.1:5672";
    assert_int_equal(bus_amqp_new(&local, &self, &ops), 0);
    ops->free(self);
    cfg_snapshot_unref(s);
    cfg_errors_release(&e);
}

static void bad_values_are_named_with_their_line(void **state)
{
    (void)state;
    cfg_snapshot *s = NULL;
    cfg_errors e;
    assert_true(load("url: amqp://host:notaport/v\nexchange: amq.topic\n", &s, &e) < 0);
    assert_int_equal(e.count, 2);
    assert_non_null(strstr(e.items[0], "t.yaml:1:"));
    assert_non_null(strstr(e.items[0], "url: must be an amqp://"));
    assert_non_null(strstr(e.items[1], "t.yaml:2:"));
    assert_non_null(strstr(e.items[1], "exchange"));
    cfg_errors_release(&e);

    assert_true(load("url: http://host/\n", &s, &e) < 0);
    assert_int_equal(e.count, 1);
    cfg_errors_release(&e);

    struct bus_amqp_config bad = {.url = "amqp://host:notaport", .exchange = "horus"};
    void *self = NULL;
    const struct bus_client_ops *ops = NULL;
    assert_int_equal(bus_amqp_new(&bad, &self, &ops), -EINVAL);
}

static void the_password_in_the_url_is_masked_when_printed(void **state)
{
    (void)state;
    cfg_snapshot *s = NULL;
    cfg_errors e;
    assert_int_equal(load("url: amqps://horus:pw-secret@mq.example:5671/cams\n", &s, &e), 0);
    json_t *j = cfg_snapshot_to_json(s);
    char *text = json_dumps(j, 0);
    assert_null(strstr(text, "pw-secret"));
    assert_string_equal(json_string_value(json_object_get(j, "url")),
                        "amqps://horus:***@mq.example:5671/cams");
    free(text);
    json_decref(j);
    cfg_snapshot_unref(s);
    cfg_errors_release(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_name_no_broker_and_the_horus_exchange),
        cmocka_unit_test(bad_values_are_named_with_their_line),
        cmocka_unit_test(the_password_in_the_url_is_masked_when_printed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
