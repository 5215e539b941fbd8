/*
 * Tests for src/cfg/cfg.c (with cfg_yaml.c and cfg_json.c): positions, key
 * paths, structure errors, references, secrets, masking, the holder, and the
 * restart diff. Scalar syntax has its own file, test_cfg_value.c. Each test
 * ends with no snapshot alive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cfg.h"
#include "err.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- a small Horus-like schema ---- */

struct t_record {
    bool is_enabled;
    int64_t segment_ms;
    int64_t retention_days;
    uint64_t max_bytes;
};

struct t_camera {
    char *id;
    char *name;
    char *url;
    char *sub_url;
    struct t_record record;
};

struct t_conf {
    struct {
        char *listen;
        char *public_url;
    } server;
    struct {
        char *path;
        double min_free_percent;
    } storage;
    struct {
        char *url;
        char *password;
    } database;
    struct {
        int level;
        int format;
    } log;
    struct t_camera *cameras;
    size_t n_cameras;
    char **tags;
    size_t n_tags;
};

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace", NULL};
static const char *const format_names[] = {"json", "text", NULL};

static int id_validate(const void *value, char *err, size_t err_size)
{
    const char *s = *(char *const *)value;
    if (!*s || strlen(s) > 64 || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(s)) {
        snprintf(err, err_size, "invalid camera id '%s'", s);
        return -EINVAL;
    }
    return 0;
}

static const cfg_field record_fields[] = {
    {.name = "enabled",
     .type = CFG_BOOL,
     .offset = offsetof(struct t_record, is_enabled),
     .def = "true",
     .is_reloadable = true},
    {.name = "segment_seconds",
     .type = CFG_DURATION,
     .offset = offsetof(struct t_record, segment_ms),
     .def = "60",
     .min = 1000,
     .max = 3600000},
    {.name = "retention_days",
     .type = CFG_INT,
     .offset = offsetof(struct t_record, retention_days),
     .def = "14",
     .min = 1,
     .max = 3650,
     .is_reloadable = true},
    {.name = "max_bytes",
     .type = CFG_BYTES,
     .offset = offsetof(struct t_record, max_bytes),
     .is_reloadable = true},
    {0},
};

static const cfg_field camera_fields[] = {
    {.name = "id",
     .type = CFG_STRING,
     .offset = offsetof(struct t_camera, id),
     .is_required = true,
     .validate_cb = id_validate,
     .pattern_help = "[a-z0-9_-]{1,64}"},
    {.name = "name",
     .type = CFG_STRING,
     .offset = offsetof(struct t_camera, name),
     .is_reloadable = true},
    {.name = "url",
     .type = CFG_STRING,
     .offset = offsetof(struct t_camera, url),
     .is_required = true},
    {.name = "sub_url", .type = CFG_STRING, .offset = offsetof(struct t_camera, sub_url)},
    {.name = "record",
     .type = CFG_SECTION,
     .offset = offsetof(struct t_camera, record),
     .sub = record_fields},
    {0},
};

static const cfg_field server_fields[] = {
    {.name = "listen",
     .type = CFG_STRING,
     .offset = offsetof(struct t_conf, server.listen) - offsetof(struct t_conf, server),
     .def = "127.0.0.1:8080"},
    {.name = "public_url",
     .type = CFG_STRING,
     .offset = offsetof(struct t_conf, server.public_url) - offsetof(struct t_conf, server),
     .is_reloadable = true},
    {0},
};

static const cfg_field storage_fields[] = {
    {.name = "path",
     .type = CFG_STRING,
     .offset = offsetof(struct t_conf, storage.path) - offsetof(struct t_conf, storage),
     .def = "./horus-data"},
    {.name = "min_free_percent",
     .type = CFG_DOUBLE,
     .offset = offsetof(struct t_conf, storage.min_free_percent) - offsetof(struct t_conf, storage),
     .def = "5",
     .min = 0,
     .max = 50,
     .is_reloadable = true},
    {0},
};

static const cfg_field database_fields[] = {
    {.name = "url",
     .type = CFG_STRING,
     .offset = offsetof(struct t_conf, database.url) - offsetof(struct t_conf, database),
     .def = "sqlite:./horus-data/horus.db"},
    {.name = "password",
     .type = CFG_STRING,
     .offset = offsetof(struct t_conf, database.password) - offsetof(struct t_conf, database),
     .is_secret = true},
    {0},
};

static const cfg_field log_fields[] = {
    {.name = "level",
     .type = CFG_ENUM,
     .offset = offsetof(struct t_conf, log.level) - offsetof(struct t_conf, log),
     .def = "info",
     .enum_names = level_names,
     .is_reloadable = true},
    {.name = "format",
     .type = CFG_ENUM,
     .offset = offsetof(struct t_conf, log.format) - offsetof(struct t_conf, log),
     .def = "json",
     .enum_names = format_names,
     .is_reloadable = true},
    {0},
};

static const cfg_field conf_fields[] = {
    {.name = "server",
     .type = CFG_SECTION,
     .offset = offsetof(struct t_conf, server),
     .sub = server_fields},
    {.name = "storage",
     .type = CFG_SECTION,
     .offset = offsetof(struct t_conf, storage),
     .sub = storage_fields},
    {.name = "database",
     .type = CFG_SECTION,
     .offset = offsetof(struct t_conf, database),
     .sub = database_fields},
    {.name = "log", .type = CFG_SECTION, .offset = offsetof(struct t_conf, log), .sub = log_fields},
    {.name = "cameras",
     .type = CFG_LIST,
     .offset = offsetof(struct t_conf, cameras),
     .sub = camera_fields,
     .elem_size = sizeof(struct t_camera),
     .count_offset = offsetof(struct t_conf, n_cameras),
     .is_reloadable = true},
    {.name = "tags",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct t_conf, tags),
     .count_offset = offsetof(struct t_conf, n_tags),
     .max = 4,
     .is_reloadable = true},
    {0},
};

/* Cross-field check: camera ids are unique. */
static int conf_validate(void *data, cfg_errors *errs)
{
    struct t_conf *c = data;
    for (size_t i = 0; i < c->n_cameras; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->cameras[i].id, c->cameras[j].id) == 0)
                cfg_errors_add_field(errs, &c->cameras[i].id, "duplicate camera id '%s'",
                                     c->cameras[i].id);
    return 0;
}

static const cfg_schema schema = {
    .fields = conf_fields,
    .size = sizeof(struct t_conf),
    .validate_cb = conf_validate,
};

/* ---- helpers ---- */

static cfg_errors errs;

static int setup(void **state)
{
    cfg_errors_init(&errs, NULL);
    return 0;
}

static int teardown(void **state)
{
    cfg_errors_release(&errs);
    assert_int_equal(cfg_snapshot_live_count(), 0);
    return 0;
}

static int load(const char *text, cfg_snapshot **out)
{
    return cfg_load_string(&schema, "t.yaml", text, strlen(text), out, &errs);
}

static const struct t_conf *load_ok(const char *text, cfg_snapshot **out)
{
    int rc = load(text, out);
    for (size_t i = 0; i < errs.count; i++)
        print_message("unexpected error: %s\n", errs.items[i]);
    assert_int_equal(rc, 0);
    assert_int_equal(errs.count, 0);
    return cfg_snapshot_data(*out);
}

static void print_errors(void)
{
    for (size_t i = 0; i < errs.count; i++)
        print_message("  error %zu: %s\n", i, errs.items[i]);
}

static void assert_has_error(const char *msg)
{
    for (size_t i = 0; i < errs.count; i++)
        if (strcmp(errs.items[i], msg) == 0)
            return;
    print_message("missing error: %s\n", msg);
    print_errors();
    fail();
}

/* Loads text, expects it to fail with rc and exactly the one message msg. */
static void assert_load_fails_with(const char *text, int rc, const char *msg)
{
    cfg_snapshot *snap = NULL;
    assert_int_equal(load(text, &snap), rc);
    assert_null(snap);
    if (errs.count != 1)
        print_errors();
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0], msg);
}

static const char full_yaml[] = "server:\n"
                                "  listen: \"0.0.0.0:8080\"\n"
                                "storage:\n"
                                "  path: /var/lib/horus\n"
                                "  min_free_percent: 7.5\n"
                                "log:\n"
                                "  level: debug\n"
                                "  format: text\n"
                                "cameras:\n"
                                "  - id: front_door\n"
                                "    name: \"Front door\"\n"
                                "    url: \"rtsp://user:pw@192.0.2.10:554/stream1\"\n"
                                "    record:\n"
                                "      enabled: false\n"
                                "      segment_seconds: 30\n"
                                "      retention_days: 30\n"
                                "      max_bytes: 500GiB\n"
                                "  - id: yard\n"
                                "    url: rtsp://192.0.2.11/\n"
                                "tags: [a, b]\n";

/* ---- defaults and structure ---- */

static void test_empty_text_gives_all_defaults(void **state)
{
    cfg_snapshot *snap;
    const struct t_conf *c = load_ok("", &snap);
    assert_string_equal(c->server.listen, "127.0.0.1:8080");
    assert_null(c->server.public_url);
    assert_string_equal(c->storage.path, "./horus-data");
    assert_true(c->storage.min_free_percent == 5.0);
    assert_int_equal(c->log.level, 2);
    assert_int_equal(c->n_cameras, 0);
    assert_int_equal(c->n_tags, 0);
    assert_string_equal(cfg_snapshot_path(snap), "t.yaml");
    cfg_snapshot_unref(snap);
}

static void test_file_with_only_comments_gives_all_defaults(void **state)
{
    cfg_snapshot *snap;
    const struct t_conf *c = load_ok("# nothing here\n\n   # still nothing\n", &snap);
    assert_string_equal(c->database.url, "sqlite:./horus-data/horus.db");
    cfg_snapshot_unref(snap);
}

static void test_empty_document_gives_all_defaults(void **state)
{
    cfg_snapshot *snap;
    const struct t_conf *c = load_ok("--- # nothing\n...\n", &snap);
    assert_string_equal(c->server.listen, "127.0.0.1:8080");
    cfg_snapshot_unref(snap);
}

static void test_load_file_of_a_directory_reports_the_system_error(void **state)
{
    cfg_snapshot *snap = NULL;
    assert_int_equal(cfg_load_file(&schema, "/tmp", &snap, &errs), -EISDIR);
    assert_null(snap);
    assert_string_equal(errs.items[0], "/tmp: cannot read: Is a directory");
}

static void test_load_defaults_needs_no_file(void **state)
{
    cfg_snapshot *snap = NULL;
    assert_int_equal(cfg_load_defaults(&schema, &snap, &errs), 0);
    const struct t_conf *c = cfg_snapshot_data(snap);
    assert_string_equal(c->server.listen, "127.0.0.1:8080");
    assert_null(cfg_snapshot_path(snap));
    assert_ptr_equal(cfg_snapshot_schema(snap), &schema);
    cfg_snapshot_unref(snap);
}

static void test_full_config_fills_nested_sections_and_lists(void **state)
{
    cfg_snapshot *snap;
    const struct t_conf *c = load_ok(full_yaml, &snap);
    assert_string_equal(c->server.listen, "0.0.0.0:8080");
    assert_string_equal(c->storage.path, "/var/lib/horus");
    assert_true(c->storage.min_free_percent == 7.5);
    assert_int_equal(c->log.level, 3);
    assert_int_equal(c->log.format, 1);
    assert_int_equal(c->n_cameras, 2);
    assert_string_equal(c->cameras[0].id, "front_door");
    assert_string_equal(c->cameras[0].name, "Front door");
    assert_false(c->cameras[0].record.is_enabled);
    assert_int_equal(c->cameras[0].record.segment_ms, 30000);
    assert_int_equal(c->cameras[0].record.retention_days, 30);
    assert_int_equal(c->cameras[0].record.max_bytes, 500ull << 30);
    /* The second camera's record section is absent: all defaults. */
    assert_string_equal(c->cameras[1].id, "yard");
    assert_null(c->cameras[1].name);
    assert_true(c->cameras[1].record.is_enabled);
    assert_int_equal(c->cameras[1].record.segment_ms, 60000);
    assert_int_equal(c->cameras[1].record.retention_days, 14);
    assert_int_equal(c->n_tags, 2);
    assert_string_equal(c->tags[0], "a");
    assert_string_equal(c->tags[1], "b");
    cfg_snapshot_unref(snap);
}

static void test_null_value_counts_as_absent(void **state)
{
    cfg_snapshot *snap;
    const struct t_conf *c = load_ok("server:\nstorage:\n  path: ~\ncameras:\ntags: null\n", &snap);
    assert_string_equal(c->server.listen, "127.0.0.1:8080");
    assert_string_equal(c->storage.path, "./horus-data");
    assert_int_equal(c->n_cameras, 0);
    cfg_snapshot_unref(snap);
}

static void test_quoted_empty_string_is_a_value_not_null(void **state)
{
    cfg_snapshot *snap;
    const struct t_conf *c = load_ok("storage:\n  path: \"\"\n", &snap);
    assert_string_equal(c->storage.path, "");
    cfg_snapshot_unref(snap);
}

/* ---- positions and paths ---- */

static void test_syntax_error_cites_line_column_and_libyaml_problem(void **state)
{
    assert_load_fails_with("server:\n  listen: a\n   bad: b\n", HORUS_EPARSE,
                           "t.yaml:3:7: mapping values are not allowed in this context");
}

static void test_syntax_error_includes_libyaml_context(void **state)
{
    assert_load_fails_with("server:\n  listen: \"open\n", HORUS_EPARSE,
                           "t.yaml:3:1: found unexpected end of stream (while scanning a quoted "
                           "scalar at line 2, column 11)");
}

static void test_invalid_utf8_is_a_syntax_error_with_position(void **state)
{
    assert_load_fails_with("log:\n  level: \xff\n", HORUS_EPARSE,
                           "t.yaml:2:10: invalid leading UTF-8 octet (byte 0xff)");
}

static void test_error_in_list_element_names_index_path_and_position(void **state)
{
    cfg_snapshot *snap = NULL;
    assert_int_equal(load("cameras:\n"
                          "  - id: a\n"
                          "    url: rtsp://x/\n"
                          "  - id: b\n"
                          "    url: rtsp://y/\n"
                          "    record:\n"
                          "      retention_days: 0\n",
                          &snap),
                     HORUS_ECONFIG);
    assert_null(snap);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0],
                        "t.yaml:7:23: cameras[1].record.retention_days: must be 1..3650, got 0");
}

static void test_unknown_key_error_names_line_column_and_suggestion(void **state)
{
    assert_load_fails_with("cameras:\n"
                           "  - id: a\n"
                           "    url: rtsp://x/\n"
                           "    record:\n"
                           "      retension_days: 3\n",
                           HORUS_ECONFIG,
                           "t.yaml:5:7: cameras[0].record.retension_days: unknown key (did you "
                           "mean 'retention_days'?)");
}

static void test_unknown_key_without_close_match_has_no_suggestion(void **state)
{
    assert_load_fails_with("frobnicate: 1\n", HORUS_ECONFIG, "t.yaml:1:1: frobnicate: unknown key");
}

static void test_unknown_key_differing_only_in_case_suggests_the_real_one(void **state)
{
    assert_load_fails_with("Server: {}\n", HORUS_ECONFIG,
                           "t.yaml:1:1: Server: unknown key (did you mean 'server'?)");
}

static void test_duplicate_key_is_an_error_citing_the_first(void **state)
{
    assert_load_fails_with("log:\n  level: info\n  level: debug\n", HORUS_ECONFIG,
                           "t.yaml:3:3: log.level: duplicate key (first at line 2, column 3)");
}

static void test_list_where_mapping_expected_is_an_error_with_position(void **state)
{
    assert_load_fails_with("server:\n  - a\n", HORUS_ECONFIG,
                           "t.yaml:2:3: server: expected a mapping, got a list");
}

static void test_mapping_where_value_expected_is_an_error_with_position(void **state)
{
    assert_load_fails_with("log:\n  level: {a: 1}\n", HORUS_ECONFIG,
                           "t.yaml:2:10: log.level: expected one of the allowed names, got a "
                           "mapping");
}

static void test_value_where_list_expected_is_an_error_with_position(void **state)
{
    assert_load_fails_with("cameras: front\n", HORUS_ECONFIG,
                           "t.yaml:1:10: cameras: expected a list, got a value");
}

static void test_list_item_that_is_not_a_mapping_is_an_error(void **state)
{
    assert_load_fails_with("cameras:\n  - front\n", HORUS_ECONFIG,
                           "t.yaml:2:5: cameras[0]: expected a mapping, got a value");
}

static void test_mapping_as_key_is_an_error(void **state)
{
    assert_load_fails_with("{a: 1}: 2\n", HORUS_ECONFIG,
                           "t.yaml:1:1: a key must be a plain name, got a mapping");
}

static void test_top_level_must_be_a_mapping(void **state)
{
    assert_load_fails_with("- a\n- b\n", HORUS_ECONFIG,
                           "t.yaml:1:1: the top level must be a mapping, got a list");
    cfg_errors_release(&errs);
    assert_load_fails_with("just text\n", HORUS_ECONFIG,
                           "t.yaml:1:1: the top level must be a mapping, got a value");
}

static void test_required_key_missing_is_reported_at_parent_mapping(void **state)
{
    assert_load_fails_with("cameras:\n"
                           "  - name: x\n"
                           "    id: a\n",
                           HORUS_ECONFIG, "t.yaml:2:5: cameras[0].url: required key is missing");
}

static void test_required_key_with_empty_value_is_reported_at_the_key(void **state)
{
    assert_load_fails_with("cameras:\n"
                           "  - id: a\n"
                           "    url:\n",
                           HORUS_ECONFIG, "t.yaml:3:5: cameras[0].url: required value is empty");
}

static void test_all_errors_are_collected_not_just_the_first(void **state)
{
    cfg_snapshot *snap = NULL;
    assert_int_equal(load("log:\n"
                          "  level: loud\n"
                          "  format: xml\n"
                          "storage:\n"
                          "  min_free_percent: 90\n"
                          "typo: 1\n",
                          &snap),
                     HORUS_ECONFIG);
    assert_int_equal(errs.count, 4);
    assert_has_error("t.yaml:2:10: log.level: must be one of error, warn, info, debug, trace, got "
                     "'loud'");
    assert_has_error("t.yaml:3:11: log.format: must be one of json, text, got 'xml'");
    assert_has_error("t.yaml:5:21: storage.min_free_percent: must be 0..50, got 90");
    assert_has_error("t.yaml:6:1: typo: unknown key");
}

static void test_errors_are_capped_with_a_final_note(void **state)
{
    char text[8192];
    size_t n = 0;
    for (int i = 0; i < 80; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "k%d: 1\n", i);
    cfg_snapshot *snap = NULL;
    assert_int_equal(load(text, &snap), HORUS_ECONFIG);
    assert_int_equal(errs.count, CFG_ERRORS_MAX + 1);
    assert_string_equal(errs.items[0], "t.yaml:1:1: k0: unknown key");
    assert_string_equal(errs.items[CFG_ERRORS_MAX],
                        "t.yaml: too many errors; only the first 50 are shown");
}

static void test_field_validate_cb_reason_and_pattern_help_are_reported(void **state)
{
    assert_load_fails_with("cameras:\n  - id: Front Door\n    url: rtsp://x/\n", HORUS_ECONFIG,
                           "t.yaml:2:9: cameras[0].id: invalid camera id 'Front Door' (expected "
                           "[a-z0-9_-]{1,64})");
}

static void test_cross_field_validate_cites_the_offending_field_position(void **state)
{
    assert_load_fails_with("cameras:\n"
                           "  - id: a\n"
                           "    url: rtsp://x/\n"
                           "  - url: rtsp://y/\n"
                           "    id: a\n",
                           HORUS_ECONFIG, "t.yaml:5:9: cameras[1].id: duplicate camera id 'a'");
}

static void test_list_count_bounds_are_checked(void **state)
{
    assert_load_fails_with("tags: [a, b, c, d, e]\n", HORUS_ECONFIG,
                           "t.yaml:1:7: tags: must have 0..4 items, got 5");
}

static void test_string_list_item_must_be_a_value(void **state)
{
    assert_load_fails_with("tags: [a, [b]]\n", HORUS_ECONFIG,
                           "t.yaml:1:11: tags[1]: expected a string, got a list");
}

/* ---- limits ---- */

static void test_aliases_are_rejected(void **state)
{
    assert_load_fails_with("server: &s\n  listen: x\nstorage: *s\n", HORUS_EPARSE,
                           "t.yaml:3:10: aliases ('*s') are not supported");
}

static void test_billion_laughs_is_rejected_at_the_first_alias(void **state)
{
    assert_load_fails_with("a: &a [x, x, x, x, x, x, x, x, x]\n"
                           "b: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                           "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\n",
                           HORUS_EPARSE, "t.yaml:2:8: aliases ('*a') are not supported");
}

static void test_nesting_deeper_than_the_limit_is_rejected(void **state)
{
    char text[300];
    memset(text, '[', 200);
    text[200] = '\0';
    assert_load_fails_with(text, HORUS_EPARSE, "t.yaml:1:65: nesting deeper than 64 levels");
}

static void test_multiple_documents_are_rejected(void **state)
{
    assert_load_fails_with("log: {}\n---\nlog: {}\n", HORUS_EPARSE,
                           "t.yaml:2:1: only one YAML document is allowed");
}

static void test_text_over_the_size_limit_is_rejected(void **state)
{
    size_t len = CFG_TEXT_MAX + 1;
    char *text = malloc(len);
    memset(text, '#', len);
    cfg_snapshot *snap = NULL;
    assert_int_equal(cfg_load_string(&schema, "big.yaml", text, len, &snap, &errs), HORUS_ETOOBIG);
    assert_null(snap);
    assert_string_equal(errs.items[0], "big.yaml: larger than 4194304 bytes");
    free(text);
}

/* ---- references and secrets ---- */

static void test_env_reference_is_expanded_anywhere_in_a_string(void **state)
{
    setenv("HORUS_TEST_PASS", "s3cret", 1);
    setenv("HORUS_TEST_HOST", "192.0.2.10", 1);
    cfg_snapshot *snap;
    const struct t_conf *c =
        load_ok("cameras:\n"
                "  - id: a\n"
                "    url: rtsp://user:${HORUS_TEST_PASS}@${HORUS_TEST_HOST}/s\n",
                &snap);
    assert_string_equal(c->cameras[0].url, "rtsp://user:s3cret@192.0.2.10/s");
    cfg_snapshot_unref(snap);
}

static void test_env_reference_also_feeds_numbers(void **state)
{
    setenv("HORUS_TEST_DAYS", "21", 1);
    cfg_snapshot *snap;
    const struct t_conf *c = load_ok("cameras:\n"
                                     "  - id: a\n"
                                     "    url: rtsp://x/\n"
                                     "    record: {retention_days: \"${HORUS_TEST_DAYS}\"}\n",
                                     &snap);
    assert_int_equal(c->cameras[0].record.retention_days, 21);
    unsigned n;
    cfg_snapshot_secrets(snap, &n);
    assert_int_equal(n, 0); /* only string fields hold secrets */
    cfg_snapshot_unref(snap);
}

static void test_dollar_dollar_brace_escapes_a_literal(void **state)
{
    cfg_snapshot *snap;
    const struct t_conf *c = load_ok("server:\n  public_url: \"a$${HOME}b$c$$d\"\n", &snap);
    assert_string_equal(c->server.public_url, "a${HOME}b$c$$d");
    unsigned n;
    cfg_snapshot_secrets(snap, &n);
    assert_int_equal(n, 0);
    cfg_snapshot_unref(snap);
}

static void test_unset_env_variable_is_an_error_naming_it_at_value_position(void **state)
{
    unsetenv("HORUS_TEST_UNSET");
    assert_load_fails_with("database:\n  url: \"postgres://u:${HORUS_TEST_UNSET}@db/horus\"\n",
                           HORUS_ECONFIG,
                           "t.yaml:2:8: database.url: environment variable 'HORUS_TEST_UNSET' is "
                           "not set");
}

static void test_malformed_env_references_are_errors(void **state)
{
    assert_load_fails_with("server: {listen: \"${OPEN\"}\n", HORUS_ECONFIG,
                           "t.yaml:1:18: server.listen: unterminated '${' (write '$${' for a "
                           "literal '${')");
    cfg_errors_release(&errs);
    assert_load_fails_with("server: {listen: \"${1X}\"}\n", HORUS_ECONFIG,
                           "t.yaml:1:18: server.listen: invalid environment variable name in "
                           "'${1X}'");
}

static char tmp_dir[64];

static void make_tmp_dir(void)
{
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/horus-cfg-XXXXXX");
    assert_non_null(mkdtemp(tmp_dir));
}

static void write_file(const char *name, const char *content)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void remove_file(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
    unlink(path);
}

static void test_file_reference_is_relative_to_the_config_and_drops_trailing_newline(void **state)
{
    make_tmp_dir();
    write_file("db_pass", "hunter22\n");
    write_file("horus.yaml", "database:\n  password: file:db_pass\n"
                             "server:\n  public_url: \"file:${HORUS_TEST_DIR}/db_pass\"\n");
    setenv("HORUS_TEST_DIR", tmp_dir, 1);
    char path[128];
    snprintf(path, sizeof(path), "%s/horus.yaml", tmp_dir);
    cfg_snapshot *snap = NULL;
    assert_int_equal(cfg_load_file(&schema, path, &snap, &errs), 0);
    const struct t_conf *c = cfg_snapshot_data(snap);
    assert_string_equal(c->database.password, "hunter22");
    assert_string_equal(c->server.public_url, "hunter22");
    assert_string_equal(cfg_snapshot_path(snap), path);
    unsigned n;
    const char *const *secrets = cfg_snapshot_secrets(snap, &n);
    assert_int_equal(n, 1);
    assert_string_equal(secrets[0], "hunter22");
    assert_null(secrets[1]);
    cfg_snapshot_unref(snap);
    remove_file("db_pass");
    remove_file("horus.yaml");
    rmdir(tmp_dir);
}

static void test_unreadable_file_reference_reports_strerror(void **state)
{
    make_tmp_dir();
    char text[256];
    snprintf(text, sizeof(text), "database:\n  password: file:%s/missing\n", tmp_dir);
    char msg[256];
    snprintf(msg, sizeof(msg),
             "t.yaml:2:13: database.password: read '%s/missing': No such file or directory",
             tmp_dir);
    assert_load_fails_with(text, HORUS_ECONFIG, msg);
    rmdir(tmp_dir);
}

static void test_file_reference_to_a_device_is_refused(void **state)
{
    assert_load_fails_with("database: {password: \"file:/dev/zero\"}\n", HORUS_ECONFIG,
                           "t.yaml:1:22: database.password: read '/dev/zero': not a regular file");
}

static void test_secrets_list_holds_references_secret_fields_and_url_passwords(void **state)
{
    setenv("HORUS_TEST_PASS", "s3cret", 1);
    cfg_snapshot *snap;
    load_ok("database:\n"
            "  password: plain-but-secret\n"
            "  url: \"postgres://horus:${HORUS_TEST_PASS}@db/horus\"\n"
            "cameras:\n"
            "  - id: a\n"
            "    url: rtsp://admin:literal@192.0.2.10/\n"
            "    sub_url: rtsp://admin:${HORUS_TEST_PASS}@192.0.2.10/2\n",
            &snap);
    unsigned n;
    const char *const *secrets = cfg_snapshot_secrets(snap, &n);
    assert_int_equal(n, 3); /* s3cret appears twice but is listed once */
    assert_string_equal(secrets[0], "s3cret");
    assert_string_equal(secrets[1], "plain-but-secret");
    assert_string_equal(secrets[2], "literal");
    assert_null(secrets[3]);
    cfg_snapshot_unref(snap);
}

static void test_to_json_masks_secrets_and_url_passwords(void **state)
{
    setenv("HORUS_TEST_PASS", "s3cret", 1);
    setenv("HORUS_TEST_TOKEN", "tok", 1);
    cfg_snapshot *snap;
    load_ok("server:\n"
            "  public_url: \"https://example.com/?t=${HORUS_TEST_TOKEN}\"\n"
            "database:\n"
            "  password: hunter2\n"
            "cameras:\n"
            "  - id: a\n"
            "    url: rtsp://admin:literal@192.0.2.10/\n"
            "    sub_url: rtsp://admin:${HORUS_TEST_PASS}@192.0.2.10/2\n"
            "    record: {max_bytes: 1GiB, segment_seconds: 1500ms}\n",
            &snap);
    json_t *j = cfg_snapshot_to_json(snap);
    char *text = json_dumps(j, JSON_COMPACT);
    assert_string_equal(
        text,
        "{\"server\":{\"listen\":\"127.0.0.1:8080\",\"public_url\":\"https://example.com/?t=***\"},"
        "\"storage\":{\"path\":\"./horus-data\",\"min_free_percent\":5.0},"
        "\"database\":{\"url\":\"sqlite:./horus-data/horus.db\",\"password\":\"***\"},"
        "\"log\":{\"level\":\"info\",\"format\":\"json\"},"
        "\"cameras\":[{\"id\":\"a\",\"name\":null,\"url\":\"rtsp://admin:***@192.0.2.10/\","
        "\"sub_url\":\"rtsp://admin:***@192.0.2.10/2\",\"record\":{\"enabled\":true,"
        "\"segment_seconds\":\"1500ms\",\"retention_days\":14,\"max_bytes\":1073741824}}],"
        "\"tags\":[]}");
    assert_null(strstr(text, "s3cret"));
    assert_null(strstr(text, "literal"));
    assert_null(strstr(text, "hunter2"));
    free(text);
    json_decref(j);
    cfg_snapshot_unref(snap);
}

static void test_to_json_prints_a_file_reference_as_stars(void **state)
{
    make_tmp_dir();
    write_file("url", "rtsp://cam/\n");
    char text[256];
    snprintf(text, sizeof(text), "server:\n  public_url: file:%s/url\n", tmp_dir);
    cfg_snapshot *snap;
    load_ok(text, &snap);
    json_t *j = cfg_snapshot_to_json(snap);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "server"), "public_url")), "***");
    json_decref(j);
    cfg_snapshot_unref(snap);
    remove_file("url");
    rmdir(tmp_dir);
}

static void test_bound_error_on_a_secret_value_does_not_echo_it(void **state)
{
    setenv("HORUS_TEST_DAYS", "0", 1);
    assert_load_fails_with("cameras:\n"
                           "  - id: a\n"
                           "    url: rtsp://x/\n"
                           "    record: {retention_days: \"${HORUS_TEST_DAYS}\"}\n",
                           HORUS_ECONFIG,
                           "t.yaml:4:30: cameras[0].record.retention_days: must be 1..3650");
}

static void test_mask_url_handles_user_password_user_only_no_userinfo_and_weird_input(void **state)
{
    char buf[128];
    assert_string_equal(cfg_mask_url("rtsp://admin:pw@10.0.0.5/", buf, sizeof(buf)),
                        "rtsp://admin:***@10.0.0.5/");
    assert_string_equal(cfg_mask_url("rtsp://admin:p@ss@10.0.0.5:554/s?x=1", buf, sizeof(buf)),
                        "rtsp://admin:***@10.0.0.5:554/s?x=1");
    /* A lone user name may be a token: hidden (base/mask.h has the full table). */
    assert_string_equal(cfg_mask_url("rtsp://admin@10.0.0.5/", buf, sizeof(buf)),
                        "rtsp://***@10.0.0.5/");
    assert_string_equal(cfg_mask_url("rtsp://admin:@10.0.0.5/", buf, sizeof(buf)),
                        "rtsp://***@10.0.0.5/");
    /* The userinfo ends at the last '@': an '@' in a path errs on hiding. */
    assert_string_equal(cfg_mask_url("rtsp://10.0.0.5:554/a@b", buf, sizeof(buf)),
                        "rtsp://10.0.0.5:***@b");
    assert_string_equal(cfg_mask_url("rtsp://u:pa/ss@10.0.0.5/", buf, sizeof(buf)),
                        "rtsp://u:***@10.0.0.5/");
    assert_string_equal(cfg_mask_url("rtsp://10.0.0.5/s?password=pw", buf, sizeof(buf)),
                        "rtsp://10.0.0.5/s?password=***");
    assert_string_equal(cfg_mask_url("://:x@", buf, sizeof(buf)), "://***@");
    assert_string_equal(cfg_mask_url("not a url", buf, sizeof(buf)), "not a url");
    assert_string_equal(cfg_mask_url("", buf, sizeof(buf)), "");
    assert_string_equal(cfg_mask_url(NULL, buf, sizeof(buf)), "");
    /* Truncation never leaves a piece of the password. */
    assert_string_equal(cfg_mask_url("rtsp://a:secret@h/", buf, 12), "rtsp://a:**");
    assert_string_equal(cfg_mask_url("rtsp://a:secret@h/", buf, 1), "");
    assert_ptr_equal(cfg_mask_url("x", buf, 0), buf);
}

/* ---- snapshots, holder, reload ---- */

static void test_snapshot_lives_until_its_last_reference(void **state)
{
    cfg_snapshot *snap;
    load_ok(full_yaml, &snap);
    assert_int_equal(cfg_snapshot_live_count(), 1);
    cfg_snapshot *again = cfg_snapshot_ref(snap);
    assert_ptr_equal(again, snap);
    cfg_snapshot_unref(snap);
    assert_int_equal(cfg_snapshot_live_count(), 1);
    const struct t_conf *c = cfg_snapshot_data(again);
    assert_string_equal(c->cameras[0].id, "front_door");
    cfg_snapshot_unref(again);
    assert_int_equal(cfg_snapshot_live_count(), 0);
    cfg_snapshot_unref(NULL);
}

static void test_reload_that_fails_keeps_the_old_snapshot_in_the_holder(void **state)
{
    cfg_snapshot *first;
    load_ok("log: {level: warn}\n", &first);
    cfg_holder *h = cfg_holder_new(first);

    cfg_snapshot *next = first; /* a failing load must not touch this */
    assert_int_equal(load("log: {level: shouting}\n", &next), HORUS_ECONFIG);
    assert_ptr_equal(next, first);
    assert_int_equal(errs.count, 1);

    cfg_snapshot *cur = cfg_holder_get(h);
    assert_ptr_equal(cur, first);
    assert_int_equal(((const struct t_conf *)cfg_snapshot_data(cur))->log.level, 1);
    cfg_snapshot_unref(cur);
    assert_int_equal(cfg_snapshot_live_count(), 1);
    cfg_holder_free(h);
}

static void test_holder_swap_frees_the_old_snapshot_after_its_last_reader(void **state)
{
    cfg_snapshot *a, *b;
    load_ok("log: {level: warn}\n", &a);
    load_ok("log: {level: trace}\n", &b);
    cfg_holder *h = cfg_holder_new(a);
    cfg_snapshot *reader = cfg_holder_get(h);
    cfg_holder_swap(h, b);
    assert_int_equal(cfg_snapshot_live_count(), 2); /* the reader still holds a */
    assert_int_equal(((const struct t_conf *)cfg_snapshot_data(reader))->log.level, 1);
    cfg_snapshot_unref(reader);
    assert_int_equal(cfg_snapshot_live_count(), 1);
    cfg_snapshot *cur = cfg_holder_get(h);
    assert_ptr_equal(cur, b);
    cfg_snapshot_unref(cur);
    cfg_holder_free(h);
    assert_int_equal(cfg_snapshot_live_count(), 0);
}

struct reader_args {
    cfg_holder *holder;
    atomic_bool *is_done;
    /* Written by the reader only; the test reads them after the join (or the atomics live). */
    atomic_size_t reads;
    atomic_size_t saw_warn, saw_trace; /* reads of each of the two snapshots */
    size_t bad; /* reads of anything else */
};

static void *reader_main(void *arg)
{
    struct reader_args *a = arg;
    while (!atomic_load(a->is_done)) {
        cfg_snapshot *s = cfg_holder_get(a->holder);
        const struct t_conf *c = cfg_snapshot_data(s);
        /* No cmocka assert here: they longjmp, which only works on the test's thread. */
        if (c->log.level == 1)
            atomic_fetch_add(&a->saw_warn, 1);
        else if (c->log.level == 4)
            atomic_fetch_add(&a->saw_trace, 1);
        else
            a->bad++;
        cfg_snapshot_unref(s);
        atomic_fetch_add(&a->reads, 1);
    }
    return NULL;
}

static bool readers_saw_both(struct reader_args *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!atomic_load(&args[i].saw_warn) || !atomic_load(&args[i].saw_trace))
            return false;
    return true;
}

static void test_holder_readers_and_swaps_race_safely(void **state)
{
    cfg_snapshot *first;
    load_ok("log: {level: warn}\n", &first);
    cfg_holder *h = cfg_holder_new(first);
    atomic_bool is_done = false;
    struct reader_args args[2] = {{.holder = h, .is_done = &is_done},
                                  {.holder = h, .is_done = &is_done}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, reader_main, &args[i]), 0);
    /*
     * Swap while the readers run until each has read both snapshots (so
     * they truly raced with the swaps), at least 200 times, at most 10 s.
     */
    time_t t0 = time(NULL);
    for (int i = 0; i < 200 || !readers_saw_both(args, 2); i++) {
        if (time(NULL) - t0 > 10)
            break;
        cfg_snapshot *next;
        load_ok(i % 2 ? "log: {level: warn}\n" : "log: {level: trace}\n", &next);
        cfg_holder_swap(h, next);
    }
    atomic_store(&is_done, true);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        assert_true(atomic_load(&args[i].reads) > 0);
        assert_true(atomic_load(&args[i].saw_warn) > 0);
        assert_true(atomic_load(&args[i].saw_trace) > 0);
        assert_int_equal(args[i].bad, 0);
    }
    cfg_holder_free(h);
    assert_int_equal(cfg_snapshot_live_count(), 0);
}

static void test_empty_holder_returns_null(void **state)
{
    cfg_holder *h = cfg_holder_new(NULL);
    assert_null(cfg_holder_get(h));
    cfg_holder_free(h);
    cfg_holder_free(NULL);
}

static void test_diff_restart_needed_reports_only_non_reloadable_changes(void **state)
{
    cfg_snapshot *a, *b;
    load_ok("server: {listen: \"0.0.0.0:1\", public_url: x}\n"
            "log: {level: warn}\n"
            "cameras:\n"
            "  - {id: a, url: rtsp://x/, record: {segment_seconds: 10}}\n",
            &a);
    load_ok("server: {listen: \"0.0.0.0:2\", public_url: y}\n"
            "log: {level: debug}\n"
            "cameras:\n"
            "  - {id: a, url: rtsp://x/,\n"
            "     record: {segment_seconds: 20}}\n"
            "  - {id: b, url: rtsp://y/}\n",
            &b);
    cfg_errors diff;
    cfg_errors_init(&diff, "t.yaml");
    assert_int_equal(cfg_diff_restart_needed(a, b, &diff), 2);
    assert_int_equal(diff.count, 2);
    assert_string_equal(diff.items[0], "t.yaml:1:18: server.listen: changing it needs a restart");
    assert_string_equal(diff.items[1],
                        "t.yaml:5:32: cameras[0].record.segment_seconds: changing it needs a "
                        "restart");
    cfg_errors_release(&diff);
    cfg_errors_init(&diff, NULL);
    assert_int_equal(cfg_diff_restart_needed(a, a, &diff), 0);
    cfg_errors_release(&diff);
    cfg_snapshot_unref(a);
    cfg_snapshot_unref(b);
}

static void test_load_file_that_does_not_exist_returns_enoent_with_message(void **state)
{
    cfg_snapshot *snap = NULL;
    assert_int_equal(cfg_load_file(&schema, "/nonexistent/horus.yaml", &snap, &errs), -ENOENT);
    assert_null(snap);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0],
                        "/nonexistent/horus.yaml: cannot read: No such file or directory");
}

static void test_errors_add_formats_with_and_without_file_position_and_path(void **state)
{
    cfg_errors e;
    cfg_errors_init(&e, "f.yaml");
    cfg_errors_add(&e, 3, 4, "a.b", "bad %d", 1);
    cfg_errors_add(&e, 0, 0, "a.b", "bad");
    cfg_errors_add(&e, 0, 0, NULL, "bad");
    e.file = NULL;
    cfg_errors_add(&e, 3, 4, "", "bad");
    cfg_errors_add(&e, 0, 0, "a", "bad");
    cfg_errors_add_field(&e, &e, "no load in progress");
    assert_int_equal(e.count, 6);
    assert_string_equal(e.items[0], "f.yaml:3:4: a.b: bad 1");
    assert_string_equal(e.items[1], "f.yaml: a.b: bad");
    assert_string_equal(e.items[2], "f.yaml: bad");
    assert_string_equal(e.items[3], "3:4: bad");
    assert_string_equal(e.items[4], "a: bad");
    assert_string_equal(e.items[5], "no load in progress");
    cfg_errors_release(&e);
}

/* ---- CFG_JSON: a YAML subtree kept as JSON ---- */

struct t_json {
    char *doc;
};

/* Refuses a "bad" key anywhere under "zones[1]" and a mapping without "name". */
static int json_check(const json_t *v, char *where, size_t where_size, char *err, size_t err_size)
{
    const json_t *z = json_array_get(json_object_get(v, "zones"), 1);
    if (z && json_object_get(z, "bad")) {
        snprintf(where, where_size, "zones[1].bad");
        snprintf(err, err_size, "is bad");
        return -EINVAL;
    }
    if (json_is_object(v) && !json_object_get(v, "name")) {
        snprintf(err, err_size, "needs a name");
        return -EINVAL;
    }
    return 0;
}

static const cfg_field json_fields[] = {
    {.name = "doc",
     .type = CFG_JSON,
     .offset = offsetof(struct t_json, doc),
     .json_validate_cb = json_check,
     .is_reloadable = true},
    {0},
};

static const cfg_schema json_schema = {.fields = json_fields, .size = sizeof(struct t_json)};

static int load_json(const char *text, cfg_snapshot **out)
{
    return cfg_load_string(&json_schema, "j.yaml", text, strlen(text), out, &errs);
}

static void test_json_field_converts_scalars_by_their_plain_form(void **state)
{
    cfg_snapshot *snap = NULL;
    static const char text[] = "doc:\n"
                               "  name: x\n"
                               "  n: 5\n"
                               "  f: -0.25\n"
                               "  t: TRUE\n"
                               "  nothing: ~\n"
                               "  quoted: \"5\"\n"
                               "  word: 5a\n"
                               "  list: [[0, 1e-3], {k: v}]\n";
    assert_int_equal(load_json(text, &snap), 0);
    const struct t_json *c = cfg_snapshot_data(snap);
    assert_string_equal(c->doc,
                        "{\"name\":\"x\",\"n\":5,\"f\":-0.25,\"t\":true,\"nothing\":null,"
                        "\"quoted\":\"5\",\"word\":\"5a\",\"list\":[[0,0.001],{\"k\":\"v\"}]}");
    json_t *j = cfg_snapshot_to_json(snap);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "doc"), "n")), 5);
    json_decref(j);
    cfg_snapshot_unref(snap);
    /* Absent is NULL. */
    assert_int_equal(load_json("", &snap), 0);
    assert_null(((const struct t_json *)cfg_snapshot_data(snap))->doc);
    cfg_snapshot_unref(snap);
}

static void json_fails_with(const char *text, const char *msg)
{
    cfg_errors_release(&errs);
    cfg_errors_init(&errs, NULL);
    cfg_snapshot *snap = NULL;
    assert_int_equal(load_json(text, &snap), HORUS_ECONFIG);
    assert_null(snap);
    if (errs.count != 1)
        print_errors();
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.items[0], msg);
}

static void test_json_field_errors_cite_the_offending_node(void **state)
{
    cfg_snapshot *snap = NULL;
    static const char text[] = "doc:\n"
                               "  name: x\n"
                               "  zones:\n"
                               "    - a: 1\n"
                               "    - a: 2\n"
                               "      bad: [1, 2]\n";
    assert_int_equal(load_json(text, &snap), HORUS_ECONFIG);
    assert_has_error("j.yaml:6:12: doc.zones[1].bad: is bad");
    assert_null(snap);
    json_fails_with("doc:\n  a: 1\n", "j.yaml:2:3: doc: needs a name");
    json_fails_with("doc: 5\n", "j.yaml:1:6: doc: expected a mapping or a list, got a value");
    json_fails_with("doc:\n  name: x\n  a: 1\n  a: 2\n", "j.yaml:4:3: doc: duplicate key 'a'");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_empty_text_gives_all_defaults),
        T(test_file_with_only_comments_gives_all_defaults),
        T(test_empty_document_gives_all_defaults),
        T(test_load_file_of_a_directory_reports_the_system_error),
        T(test_load_defaults_needs_no_file),
        T(test_full_config_fills_nested_sections_and_lists),
        T(test_null_value_counts_as_absent),
        T(test_quoted_empty_string_is_a_value_not_null),
        T(test_syntax_error_cites_line_column_and_libyaml_problem),
        T(test_syntax_error_includes_libyaml_context),
        T(test_invalid_utf8_is_a_syntax_error_with_position),
        T(test_error_in_list_element_names_index_path_and_position),
        T(test_unknown_key_error_names_line_column_and_suggestion),
        T(test_unknown_key_without_close_match_has_no_suggestion),
        T(test_unknown_key_differing_only_in_case_suggests_the_real_one),
        T(test_duplicate_key_is_an_error_citing_the_first),
        T(test_list_where_mapping_expected_is_an_error_with_position),
        T(test_mapping_where_value_expected_is_an_error_with_position),
        T(test_value_where_list_expected_is_an_error_with_position),
        T(test_list_item_that_is_not_a_mapping_is_an_error),
        T(test_mapping_as_key_is_an_error),
        T(test_top_level_must_be_a_mapping),
        T(test_required_key_missing_is_reported_at_parent_mapping),
        T(test_required_key_with_empty_value_is_reported_at_the_key),
        T(test_all_errors_are_collected_not_just_the_first),
        T(test_errors_are_capped_with_a_final_note),
        T(test_field_validate_cb_reason_and_pattern_help_are_reported),
        T(test_cross_field_validate_cites_the_offending_field_position),
        T(test_list_count_bounds_are_checked),
        T(test_string_list_item_must_be_a_value),
        T(test_aliases_are_rejected),
        T(test_billion_laughs_is_rejected_at_the_first_alias),
        T(test_nesting_deeper_than_the_limit_is_rejected),
        T(test_multiple_documents_are_rejected),
        T(test_text_over_the_size_limit_is_rejected),
        T(test_env_reference_is_expanded_anywhere_in_a_string),
        T(test_env_reference_also_feeds_numbers),
        T(test_dollar_dollar_brace_escapes_a_literal),
        T(test_unset_env_variable_is_an_error_naming_it_at_value_position),
        T(test_malformed_env_references_are_errors),
        T(test_file_reference_is_relative_to_the_config_and_drops_trailing_newline),
        T(test_unreadable_file_reference_reports_strerror),
        T(test_file_reference_to_a_device_is_refused),
        T(test_secrets_list_holds_references_secret_fields_and_url_passwords),
        T(test_to_json_masks_secrets_and_url_passwords),
        T(test_to_json_prints_a_file_reference_as_stars),
        T(test_bound_error_on_a_secret_value_does_not_echo_it),
        T(test_mask_url_handles_user_password_user_only_no_userinfo_and_weird_input),
        T(test_snapshot_lives_until_its_last_reference),
        T(test_reload_that_fails_keeps_the_old_snapshot_in_the_holder),
        T(test_holder_swap_frees_the_old_snapshot_after_its_last_reader),
        T(test_holder_readers_and_swaps_race_safely),
        T(test_empty_holder_returns_null),
        T(test_diff_restart_needed_reports_only_non_reloadable_changes),
        T(test_load_file_that_does_not_exist_returns_enoent_with_message),
        T(test_errors_add_formats_with_and_without_file_position_and_path),
        T(test_json_field_converts_scalars_by_their_plain_form),
        T(test_json_field_errors_cite_the_offending_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
