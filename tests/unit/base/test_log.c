/* Tests for src/base/log.c: JSON and text lines, levels, masking, rotation, limiting. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "test"

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/horus-log-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/horus.log", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    log_close();
    log_secrets_set(NULL, 0);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    return s;
}

static void open_file_opts(struct fixture *f, enum log_format format, uint64_t max_bytes,
                           unsigned max_files, bool buffered)
{
    struct log_options o = {.level = LOG_LEVEL_INFO,
                            .format = format,
                            .file = f->path,
                            .max_bytes = max_bytes,
                            .max_files = max_files,
                            .buffered = buffered};
    assert_int_equal(log_open(&o), 0);
}

static void open_file(struct fixture *f, enum log_format format, uint64_t max_bytes,
                      unsigned max_files)
{
    open_file_opts(f, format, max_bytes, max_files, false);
}

static void test_json_line_has_ts_level_module_msg_and_context(void **state)
{
    struct fixture *f = *state;
    open_file(f, LOG_FORMAT_JSON, 0, 0);
    log_warn_kv(LOG_KV({"camera", "front_door"}, {"stream", "main"}), "reconnect in %d ms: %s",
                2000, "connection \"refused\"");
    char *text = slurp(f->path);
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
    assert_string_equal(json_string_value(json_object_get(j, "module")), "test");
    assert_string_equal(json_string_value(json_object_get(j, "msg")),
                        "reconnect in 2000 ms: connection \"refused\"");
    assert_string_equal(json_string_value(json_object_get(j, "camera")), "front_door");
    assert_string_equal(json_string_value(json_object_get(j, "stream")), "main");
    const char *ts = json_string_value(json_object_get(j, "ts"));
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[23], 'Z');
    json_decref(j);
    free(text);
}

static void test_text_line_puts_context_before_the_sentence(void **state)
{
    struct fixture *f = *state;
    open_file(f, LOG_FORMAT_TEXT, 0, 0);
    log_info_kv(LOG_KV({"cam", "front"}, {"note", "two words"}), "started");
    char *text = slurp(f->path);
    assert_non_null(strstr(text, " INFO test cam=front note=\"two words\" started\n"));
    free(text);
}

static void test_lines_below_the_level_are_not_written_and_args_not_evaluated(void **state)
{
    struct fixture *f = *state;
    open_file(f, LOG_FORMAT_JSON, 0, 0);
    log_set_level(LOG_LEVEL_WARN);
    int evaluated = 0;
    log_info("%d", ++evaluated);
    log_debug("%d", ++evaluated);
    assert_int_equal(evaluated, 0);
    log_set_level(LOG_LEVEL_DEBUG);
    log_debug("now %d", ++evaluated);
    assert_int_equal(evaluated, 1);
    char *text = slurp(f->path);
    assert_non_null(strstr(text, "now 1"));
    assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
    free(text);
}

static void test_registered_secrets_are_masked_in_message_and_fields(void **state)
{
    struct fixture *f = *state;
    open_file(f, LOG_FORMAT_JSON, 0, 0);
    const char *secrets[] = {"hunter22", "ab"};
    log_secrets_set(secrets, 2);
    log_error_kv(LOG_KV({"url", "rtsp://admin:hunter22@cam/"}), "login hunter22 failed (ab)");
    char *text = slurp(f->path);
    assert_null(strstr(text, "hunter22"));
    assert_non_null(strstr(text, "rtsp://admin:***@cam/"));
    assert_non_null(strstr(text, "login *** failed (ab)"));
    free(text);
}

static void test_rotation_keeps_max_files_each_under_max_bytes(void **state)
{
    struct fixture *f = *state;
    open_file(f, LOG_FORMAT_JSON, 400, 2);
    for (int i = 0; i < 40; i++)
        log_info("line number %04d with some padding text", i);
    char p[160];
    struct stat st;
    for (int i = 0; i <= 2; i++) {
        if (i == 0)
            snprintf(p, sizeof(p), "%s", f->path);
        else
            snprintf(p, sizeof(p), "%s.%d", f->path, i);
        assert_int_equal(stat(p, &st), 0);
        assert_true(st.st_size <= 400);
        assert_true(st.st_size > 0);
    }
    snprintf(p, sizeof(p), "%s.3", f->path);
    assert_int_equal(stat(p, &st), -1);
    /* The newest line is in the live file, the one before it in .1 or the live file. */
    char *text = slurp(f->path);
    assert_non_null(strstr(text, "line number 0039"));
    free(text);
}

static void test_level_names_parse_and_reject_unknown(void **state)
{
    enum log_level l;
    assert_int_equal(log_level_parse("trace", &l), 0);
    assert_int_equal(l, LOG_LEVEL_TRACE);
    assert_int_equal(log_level_parse("warning", &l), -EINVAL);
    assert_int_equal(log_level_parse(NULL, &l), -EINVAL);
    assert_string_equal(log_level_name(LOG_LEVEL_ERROR), "error");
}

static void test_open_failure_keeps_previous_sink(void **state)
{
    struct fixture *f = *state;
    open_file(f, LOG_FORMAT_JSON, 0, 0);
    struct log_options bad = {.level = LOG_LEVEL_INFO, .file = "/nonexistent-dir/x.log"};
    assert_int_equal(log_open(&bad), -ENOENT);
    log_info("still here");
    char *text = slurp(f->path);
    assert_non_null(strstr(text, "still here"));
    free(text);
}

static void test_buffered_info_lines_wait_for_a_flush(void **state)
{
    struct fixture *f = *state;
    open_file_opts(f, LOG_FORMAT_JSON, 0, 0, true);
    log_info("first");
    log_info("second");
    char *text = slurp(f->path);
    assert_string_equal(text, "");
    free(text);
    log_flush();
    text = slurp(f->path);
    char *a = strstr(text, "first"), *b = strstr(text, "second");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    free(text);
}

static void test_a_warning_writes_buffered_lines_first_and_itself_at_once(void **state)
{
    struct fixture *f = *state;
    open_file_opts(f, LOG_FORMAT_JSON, 0, 0, true);
    log_info("before");
    log_warn("alarm");
    char *text = slurp(f->path);
    char *a = strstr(text, "before"), *b = strstr(text, "alarm");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    free(text);
}

static void test_buffered_rotation_still_keeps_each_file_under_max_bytes(void **state)
{
    struct fixture *f = *state;
    open_file_opts(f, LOG_FORMAT_JSON, 400, 3, true);
    for (int i = 0; i < 12; i++)
        log_info("line number %04d with some padding text", i);
    log_close();
    char p[160];
    struct stat st;
    for (int i = 0; i <= 3; i++) {
        if (i == 0)
            snprintf(p, sizeof(p), "%s", f->path);
        else
            snprintf(p, sizeof(p), "%s.%d", f->path, i);
        assert_int_equal(stat(p, &st), 0);
        assert_true(st.st_size <= 400);
    }
    char *text = slurp(f->path);
    assert_non_null(strstr(text, "line number 0011"));
    free(text);
}

/* Parses the JSON lines of text into an array (one object per line). */
static json_t *parse_lines(const char *text)
{
    json_t *arr = json_array();
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        json_error_t err;
        json_t *j = json_loadb(p, (size_t)(nl - p), 0, &err);
        assert_non_null(j);
        json_array_append_new(arr, j);
        p = nl + 1;
    }
    return arr;
}

static const char *line_str(json_t *lines, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(lines, i), key));
}

static void limited_write_part(const char *camera, int n)
{
    log_error_limited("write part", LOG_KV({"camera", camera}, {"stream", "main"}),
                      "write part %d: No space left on device", n);
}

static void
test_limited_lines_write_the_first_and_summarise_the_rest_when_the_window_rolls(void **state)
{
    struct fixture *f = *state;
    clock_fake clk;
    clock_fake_init(&clk, 1700000000000);
    log_limit_reset();
    log_limit_set_clock(&clk.base);
    open_file(f, LOG_FORMAT_JSON, 0, 0);
    for (int i = 0; i < 100; i++) { /* 100 failures in 9.9 s */
        limited_write_part("cam1", i);
        clock_fake_advance_ms(&clk, 99);
    }
    clock_fake_advance_ms(&clk, 200); /* 10.1 s after the first */
    limited_write_part("cam1", 100);
    log_limit_set_clock(NULL);

    char *text = slurp(f->path);
    json_t *lines = parse_lines(text);
    assert_int_equal(json_array_size(lines), 3);
    assert_string_equal(line_str(lines, 0, "msg"), "write part 0: No space left on device");
    assert_string_equal(line_str(lines, 1, "msg"),
                        "write part: repeated 99 times in the last 10 s");
    assert_string_equal(line_str(lines, 1, "level"), "error");
    assert_string_equal(line_str(lines, 1, "module"), "test");
    assert_string_equal(line_str(lines, 1, "camera"), "cam1");
    assert_string_equal(line_str(lines, 1, "stream"), "main");
    assert_string_equal(line_str(lines, 1, "repeated"), "99");
    assert_string_equal(line_str(lines, 2, "msg"), "write part 100: No space left on device");
    json_decref(lines);
    free(text);
}

static void test_a_burst_that_ends_is_summarised_by_the_next_flush(void **state)
{
    struct fixture *f = *state;
    clock_fake clk;
    clock_fake_init(&clk, 1700000000000);
    log_limit_reset();
    log_limit_set_clock(&clk.base);
    open_file(f, LOG_FORMAT_JSON, 0, 0);
    for (int i = 0; i < 5; i++)
        limited_write_part("cam1", i);
    log_flush(); /* the window is not over: no summary yet */
    char *text = slurp(f->path);
    json_t *lines = parse_lines(text);
    assert_int_equal(json_array_size(lines), 1);
    json_decref(lines);
    free(text);

    clock_fake_advance_ms(&clk, LOG_LIMIT_WINDOW_MS);
    log_flush();
    log_flush(); /* written once */
    text = slurp(f->path);
    lines = parse_lines(text);
    assert_int_equal(json_array_size(lines), 2);
    assert_string_equal(line_str(lines, 1, "repeated"), "4");
    assert_string_equal(line_str(lines, 1, "msg"), "write part: repeated 4 times in the last 10 s");
    json_decref(lines);
    free(text);

    /* After the summary the next failure is written in full again. */
    limited_write_part("cam1", 5);
    log_limit_set_clock(NULL);
    text = slurp(f->path);
    lines = parse_lines(text);
    assert_int_equal(json_array_size(lines), 3);
    assert_string_equal(line_str(lines, 2, "msg"), "write part 5: No space left on device");
    json_decref(lines);
    free(text);
}

static void test_limits_are_per_subject_and_per_cause(void **state)
{
    struct fixture *f = *state;
    clock_fake clk;
    clock_fake_init(&clk, 1700000000000);
    log_limit_reset();
    log_limit_set_clock(&clk.base);
    open_file(f, LOG_FORMAT_JSON, 0, 0);
    for (int i = 0; i < 10; i++) {
        limited_write_part("cam1", i);
        limited_write_part("cam2", i);
        log_warn_limited("open segment", LOG_KV({"camera", "cam1"}), "open segment %d", i);
    }
    log_limit_set_clock(NULL);
    char *text = slurp(f->path);
    json_t *lines = parse_lines(text);
    assert_int_equal(json_array_size(lines), 3);
    assert_string_equal(line_str(lines, 0, "camera"), "cam1");
    assert_string_equal(line_str(lines, 1, "camera"), "cam2");
    assert_string_equal(line_str(lines, 2, "msg"), "open segment 0");
    json_decref(lines);
    free(text);
}

static void test_more_keys_than_slots_summarise_the_reused_ones(void **state)
{
    struct fixture *f = *state;
    clock_fake clk;
    clock_fake_init(&clk, 1700000000000);
    log_limit_reset();
    log_limit_set_clock(&clk.base);
    open_file(f, LOG_FORMAT_JSON, 0, 0);
    char cam[32];
    /* Each of 2000 cameras fails twice: the second is suppressed, and must not be lost. */
    for (int i = 0; i < 2000; i++) {
        snprintf(cam, sizeof(cam), "cam%d", i);
        limited_write_part(cam, 0);
        limited_write_part(cam, 1);
        clock_fake_advance_ms(&clk, 1);
    }
    clock_fake_advance_ms(&clk, LOG_LIMIT_WINDOW_MS);
    for (int i = 0; i < 200; i++)
        log_flush();
    log_limit_set_clock(NULL);
    char *text = slurp(f->path);
    json_t *lines = parse_lines(text);
    size_t summaries = 0, repeated = 0;
    for (size_t i = 0; i < json_array_size(lines); i++) {
        const char *r = line_str(lines, i, "repeated");
        if (r) {
            summaries++;
            repeated += (size_t)atoi(r);
        }
    }
    assert_int_equal(summaries, 2000);
    assert_int_equal(repeated, 2000);
    assert_int_equal(json_array_size(lines), 4000);
    json_decref(lines);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_json_line_has_ts_level_module_msg_and_context, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_text_line_puts_context_before_the_sentence, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_lines_below_the_level_are_not_written_and_args_not_evaluated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registered_secrets_are_masked_in_message_and_fields,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_keeps_max_files_each_under_max_bytes, setup,
                                        teardown),
        cmocka_unit_test(test_level_names_parse_and_reject_unknown),
        cmocka_unit_test_setup_teardown(test_open_failure_keeps_previous_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffered_info_lines_wait_for_a_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_warning_writes_buffered_lines_first_and_itself_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_buffered_rotation_still_keeps_each_file_under_max_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_limited_lines_write_the_first_and_summarise_the_rest_when_the_window_rolls, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_burst_that_ends_is_summarised_by_the_next_flush,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_are_per_subject_and_per_cause, setup, teardown),
        cmocka_unit_test_setup_teardown(test_more_keys_than_slots_summarise_the_reused_ones, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("core.log", tests, NULL, NULL);
}
