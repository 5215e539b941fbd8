/*
 * The `bus.nats` table (src/bus/nats_config.c): defaults, the checks of the
 * URL, the subject prefix and the stream name (each error citing line and
 * key), and the password and token masked when the section is printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nats.h"

#include <stdlib.h>
#include <string.h>

static const cfg_schema schema = {.fields = bus_nats_fields,
                                  .size = sizeof(struct bus_nats_config)};

static int load(const char *text, cfg_snapshot **out, cfg_errors *errs)
{
    cfg_errors_init(errs, "t.yaml");
    return cfg_load_string(&schema, "t.yaml", text, strlen(text), out, errs);
}

static void defaults_name_the_local_server_and_the_horus_stream(void **state)
{
    (void)state;
    cfg_snapshot *s = NULL;
    cfg_errors e;
    assert_int_equal(load("{}\n", &s, &e), 0);
    const struct bus_nats_config *c = cfg_snapshot_data(s);
    assert_string_equal(c->url, ""); /* no NATS bus unless configured */
    assert_string_equal(c->subject_prefix, "horus");
    assert_string_equal(c->stream, "HORUS");
    assert_true(c->tls_verify);
    assert_int_equal(c->replicas, 1);
    assert_int_equal(c->max_age_ms, 7LL * 86400000);
    assert_true(c->max_bytes == 1ULL << 30);
    cfg_snapshot_unref(s);
    cfg_errors_release(&e);
}

static void bad_values_are_named_with_their_line(void **state)
{
    (void)state;
    cfg_snapshot *s = NULL;
    cfg_errors e;
    assert_true(
        load("url: http://x:4222\nsubject_prefix: \"a..b\"\nstream: \"my.stream\"\n", &s, &e) < 0);
    assert_int_equal(e.count, 3);
    assert_non_null(strstr(e.items[0], "t.yaml:1:"));
    assert_non_null(strstr(e.items[0], "url: must be a nats://"));
    assert_non_null(strstr(e.items[1], "t.yaml:2:"));
    assert_non_null(strstr(e.items[1], "subject_prefix"));
    assert_non_null(strstr(e.items[2], "t.yaml:3:"));
    assert_non_null(strstr(e.items[2], "stream"));
    cfg_errors_release(&e);

    assert_true(load("subject_prefix: \"horus.>\"\n", &s, &e) < 0);
    assert_int_equal(e.count, 1);
    cfg_errors_release(&e);
}

static void password_and_token_are_masked_when_printed(void **state)
{
    (void)state;
    cfg_snapshot *s = NULL;
    cfg_errors e;
    assert_int_equal(load("url: tls://nats.example:4222\nusername: cam\npassword: pw-secret\n"
                          "token: tok-secret\n",
                          &s, &e),
                     0);
    json_t *j = cfg_snapshot_to_json(s);
    char *text = json_dumps(j, 0);
    assert_null(strstr(text, "pw-secret"));
    assert_null(strstr(text, "tok-secret"));
    assert_string_equal(json_string_value(json_object_get(j, "password")), "***");
    assert_string_equal(json_string_value(json_object_get(j, "token")), "***");
    assert_string_equal(json_string_value(json_object_get(j, "username")), "cam");
    free(text);
    json_decref(j);
    cfg_snapshot_unref(s);
    cfg_errors_release(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_name_the_local_server_and_the_horus_stream),
        cmocka_unit_test(bad_values_are_named_with_their_line),
        cmocka_unit_test(password_and_token_are_masked_when_printed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
