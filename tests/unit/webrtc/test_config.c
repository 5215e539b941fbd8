/*
 * Tests for src/webrtc/config.c: the `webrtc:` table through the cfg
 * engine: off by default, the keys read, and bad values refused with
 * file:line and the key's path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "webrtc.h"

#include <errno.h>
#include <string.h>

static const cfg_field root_fields[] = {
    {.name = "webrtc",
     .type = CFG_SECTION,
     .offset = 0,
     .sub = webrtc_config_fields,
     .help = "webrtc"},
    {0},
};
static const cfg_schema schema = {.fields = root_fields, .size = sizeof(struct webrtc_config)};

static void test_webrtc_is_off_by_default_and_reads_its_keys(void **state)
{
    (void)state;
    cfg_errors errs;
    cfg_errors_init(&errs, "t.yaml");
    cfg_snapshot *snap = NULL;
    assert_int_equal(cfg_load_defaults(&schema, &snap, &errs), 0);
    const struct webrtc_config *c = cfg_snapshot_data(snap);
    assert_true(c->udp_listen == NULL || c->udp_listen[0] == '\0');
    assert_true(c->tcp_listen == NULL || c->tcp_listen[0] == '\0');
    assert_int_equal(c->nadditional_hosts, 0);
    assert_int_equal(c->max_sessions, 256);
    assert_int_equal(c->nice_servers, 0);
    assert_string_equal(c->turn_secret, "");
    assert_int_equal(c->turn_ttl_ms, INT64_C(86400000));
    cfg_snapshot_unref(snap);

    static const char good[] = "webrtc:\n  udp_listen: \":8189\"\n  tcp_listen: \"[::]:8443\"\n"
                               "  additional_hosts: [203.0.113.7, \"2001:db8::7\", nvr.example]\n"
                               "  max_sessions: 50\n"
                               "  ice_servers: [\"stun:stun.example.net\", "
                               "\"turn:127.0.0.1:3478?transport=udp\"]\n"
                               "  turn_secret: s3cret\n  turn_ttl: 2h\n";
    assert_int_equal(cfg_load_string(&schema, "t.yaml", good, strlen(good), &snap, &errs), 0);
    c = cfg_snapshot_data(snap);
    assert_string_equal(c->udp_listen, ":8189");
    assert_string_equal(c->tcp_listen, "[::]:8443");
    assert_int_equal(c->nadditional_hosts, 3);
    assert_string_equal(c->additional_hosts[1], "2001:db8::7");
    assert_int_equal(c->max_sessions, 50);
    assert_int_equal(c->nice_servers, 2);
    assert_string_equal(c->ice_servers[1], "turn:127.0.0.1:3478?transport=udp");
    assert_string_equal(c->turn_secret, "s3cret");
    assert_int_equal(c->turn_ttl_ms, INT64_C(7200000));
    cfg_snapshot_unref(snap);
    cfg_errors_release(&errs);
}

static void test_bad_values_cite_the_line_and_key(void **state)
{
    (void)state;
    cfg_errors errs;
    cfg_errors_init(&errs, "t.yaml");
    cfg_snapshot *snap = NULL;
    static const char bad[] = "webrtc:\n  udp_listen: \"8189\"\n  tcp_listen: \"host\"\n"
                              "  additional_hosts: [\"a b\"]\n  max_sessions: 0\n"
                              "  ice_servers: [\"http://relay\", \"turn:a>b\"]\n";
    assert_int_not_equal(cfg_load_string(&schema, "t.yaml", bad, strlen(bad), &snap, &errs), 0);
    assert_int_equal(errs.count, 6);
    assert_non_null(strstr(errs.items[0], "t.yaml:2:"));
    assert_non_null(strstr(errs.items[0], "webrtc.udp_listen: must be host:port"));
    assert_non_null(strstr(errs.items[1], "t.yaml:3:"));
    assert_non_null(strstr(errs.items[1], "webrtc.tcp_listen: must be host:port"));
    assert_non_null(strstr(errs.items[2], "t.yaml:4:"));
    assert_non_null(strstr(errs.items[2], "webrtc.additional_hosts[0]: must be an IPv4"));
    /* In the schema's order: the ICE servers come before max_sessions. */
    assert_non_null(strstr(errs.items[3], "t.yaml:6:"));
    assert_non_null(
        strstr(errs.items[3], "webrtc.ice_servers[0]: must be a stun:, turn: or turns:"));
    assert_non_null(strstr(errs.items[4], "webrtc.ice_servers[1]"));
    assert_non_null(strstr(errs.items[5], "webrtc.max_sessions"));
    cfg_errors_release(&errs);
}

static void test_ice_links_mint_turn_rest_credentials(void **state)
{
    (void)state;
    char out[512];
    /* STUN, or TURN without a secret: the URL alone. */
    assert_true(webrtc_ice_link("stun:stun.example.net", "s3cret", "ann", 1, out, sizeof(out)) > 0);
    assert_string_equal(out, "<stun:stun.example.net>; rel=\"ice-server\"");
    assert_true(webrtc_ice_link("turn:t.example:3478", "", "ann", 1, out, sizeof(out)) > 0);
    assert_string_equal(out, "<turn:t.example:3478>; rel=\"ice-server\"");
    /* TURN REST API: username "<expiry>:<who>" (who reduced to a safe set), credential
     * base64(HMAC-SHA1(secret, username)), as coturn's use-auth-secret checks it. */
    int n = webrtc_ice_link("turn:127.0.0.1:3478?transport=udp", "s3cret", "ann x@h.io", 1700000000,
                            out, sizeof(out));
    assert_true(n > 0);
    assert_string_equal(out, "<turn:127.0.0.1:3478?transport=udp>; rel=\"ice-server\"; "
                             "username=\"1700000000:ann_x@h.io\"; "
                             "credential=\"18Y98NEAKcoc1kCI2+NxWHA+ma4=\"; "
                             "credential-type=\"password\"");
    assert_null(strstr(out, "s3cret"));
    assert_int_equal(webrtc_ice_link("turns:t.example", "s3cret", "ann", 1, out, 40), -ENOSPC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webrtc_is_off_by_default_and_reads_its_keys),
        cmocka_unit_test(test_bad_values_cite_the_line_and_key),
        cmocka_unit_test(test_ice_links_mint_turn_rest_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
