/*
 * Tests for src/auth/audit_verify.c: the verifier names the first entry
 * that was edited, deleted or reordered in the database (changed with
 * sqlite3 or psql directly, as an attacker would), and a tail cut off or a chain
 * rewritten after a head was logged; the head line parser in both log
 * formats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "audit.h"
#include "err.h"
#include "log.h"
#include "sto_fixture.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define LOG_MODULE "test"

static void fill(struct sto_fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        assert_int_equal(
            sto_audit_append_async(f->db,
                                   &(struct sto_audit_input){.time_us = 1000 * (i + 1),
                                                             .actor_kind = "user",
                                                             .actor_id = "u1",
                                                             .action = "camera.updated",
                                                             .target_kind = "camera",
                                                             .target_id = "cam1",
                                                             .outcome = "ok",
                                                             .details = i % 2 ? "{\"n\":1}" : NULL},
                                   NULL, NULL),
            0);
    }
    assert_int_equal(sto_audit_sync(f->db), 0);
}

/* Runs sql on the database file with a connection of its own, as a tamperer would. */
static void tamper(struct sto_fixture *f, const char *sql)
{
    if (f->schema[0]) { /* a server backend: the tamperer connects with psql */
        sto_fixture_psql_here(f, sql);
        return;
    }
    char path[128];
    snprintf(path, sizeof(path), "%s/index.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(db);
}

static void verify(struct sto_fixture *f, FILE *log, struct auth_audit_verify_result *r)
{
    assert_int_equal(auth_audit_verify(f->db, log, r), 0);
}

/* Appends n entries, runs sql on the file, and verifies the chain without a log. */
static struct auth_audit_verify_result verify_tampered(struct sto_fixture *f, int n,
                                                       const char *sql)
{
    fill(f, n);
    tamper(f, sql);
    struct auth_audit_verify_result r;
    verify(f, NULL, &r);
    return r;
}

static void test_an_intact_chain_verifies(void **state)
{
    struct sto_fixture *f = *state;
    struct auth_audit_verify_result r;
    verify(f, NULL, &r);
    assert_int_equal(r.problem, AUTH_AUDIT_INTACT);
    assert_int_equal(r.entries, 0);
    fill(f, 25);
    verify(f, NULL, &r);
    assert_int_equal(r.problem, AUTH_AUDIT_INTACT);
    assert_int_equal(r.entries, 25);
    assert_int_equal(r.last_id, 25);
    assert_string_equal(r.message, "");
}

static void test_an_edited_row_is_named(void **state)
{
    struct sto_fixture *f = *state;
    struct auth_audit_verify_result r =
        verify_tampered(f, 10, "UPDATE audit SET outcome = 'denied' WHERE id = 6");
    assert_int_equal(r.problem, AUTH_AUDIT_MODIFIED);
    assert_int_equal(r.id, 6);
    assert_non_null(strstr(r.message, "entry 6 was modified"));
    assert_int_equal(r.entries, 5);
}

static void test_an_edited_row_with_a_new_hash_is_named(void **state)
{
    struct sto_fixture *f = *state;
    /* The tamperer also replaces row 4's hash: it matches neither its fields nor row 5's link. */
    struct auth_audit_verify_result r = verify_tampered(
        f, 10,
        "UPDATE audit SET details = '{}', hash = "
        "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' WHERE id = 4");
    assert_int_equal(r.problem, AUTH_AUDIT_MODIFIED);
    assert_int_equal(r.id, 4);
}

static void test_a_deleted_row_is_named(void **state)
{
    struct sto_fixture *f = *state;
    struct auth_audit_verify_result r = verify_tampered(f, 10, "DELETE FROM audit WHERE id = 7");
    assert_int_equal(r.problem, AUTH_AUDIT_REMOVED);
    assert_int_equal(r.id, 7);
    assert_non_null(strstr(r.message, "entry 7 was removed"));
}

static void test_a_deleted_first_row_is_named(void **state)
{
    struct sto_fixture *f = *state;
    struct auth_audit_verify_result r = verify_tampered(f, 3, "DELETE FROM audit WHERE id = 1");
    assert_int_equal(r.problem, AUTH_AUDIT_REMOVED);
    assert_int_equal(r.id, 1);
}

static void test_a_deleted_and_renumbered_row_is_named(void **state)
{
    struct sto_fixture *f = *state;
    struct auth_audit_verify_result r = verify_tampered(
        f, 10, "DELETE FROM audit WHERE id = 7; UPDATE audit SET id = id - 1 WHERE id > 7");
    assert_int_equal(r.id, 7);
    assert_true(r.problem == AUTH_AUDIT_REMOVED || r.problem == AUTH_AUDIT_MODIFIED);
}

static void test_two_swapped_rows_are_named(void **state)
{
    struct sto_fixture *f = *state;
    /* Rows 4 and 5 change places: every column but the id moves. */
    struct auth_audit_verify_result r = verify_tampered(
        f, 10,
        "UPDATE audit SET id = -4 WHERE id = 4; UPDATE audit SET id = 4 WHERE id = 5;"
        " UPDATE audit SET id = 5 WHERE id = -4");
    assert_int_equal(r.problem, AUTH_AUDIT_REORDERED);
    assert_int_equal(r.id, 4);
    assert_non_null(strstr(r.message, "entry 4 was reordered"));
}

/* A head line as auth_audit_log_head writes it, into a temporary log file. */
static FILE *log_with_head(struct sto_fixture *f, enum log_format format)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/horus.log", f->dir);
    struct log_options o = {.level = LOG_LEVEL_WARN, .format = format, .file = path};
    assert_int_equal(log_open(&o), 0);
    log_warn("a line before the head");
    auth_audit_log *l;
    assert_int_equal(auth_audit_log_new(&(struct auth_audit_options){.db = f->db}, &l), 0);
    auth_audit_log_head(l, "start"); /* written although the level is warn */
    auth_audit_log_free(l);
    log_close();
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    return fp;
}

static void test_a_truncated_tail_is_caught_by_the_logged_head(void **state)
{
    struct sto_fixture *f = *state;
    fill(f, 10);
    FILE *log = log_with_head(f, LOG_FORMAT_JSON);
    tamper(f, "DELETE FROM audit WHERE id > 8");
    struct auth_audit_verify_result r;
    verify(f, NULL, &r);
    assert_int_equal(r.problem, AUTH_AUDIT_INTACT); /* the chain alone cannot tell */
    verify(f, log, &r);
    fclose(log);
    assert_int_equal(r.problem, AUTH_AUDIT_TRUNCATED);
    assert_int_equal(r.id, 10);
    assert_int_equal(r.heads, 1);
    assert_non_null(strstr(r.message, "entry 10"));
    assert_non_null(strstr(r.message, "truncated after entry 8"));
}

static void test_a_rewritten_chain_is_caught_by_the_logged_head(void **state)
{
    struct sto_fixture *f = *state;
    fill(f, 10);
    FILE *log = log_with_head(f, LOG_FORMAT_TEXT);
    /* Offline: the last rows go, and the daemon, reopened, chains new ones in their place. */
    tamper(f, "DELETE FROM audit WHERE id > 8");
    sto_close(f->db);
    struct sto_database_config cfg = {
        .url = f->url, .busy_timeout_ms = 5000, .batch_max = 64, .queue_max = 1024, .readers = 2};
    char *err = NULL;
    assert_int_equal(sto_open(&(struct sto_open_options){.db = &cfg}, &f->db, &err), 0);
    assert_int_equal(sto_start(f->db), 0);
    fill(f, 3);
    struct auth_audit_verify_result r;
    verify(f, log, &r);
    fclose(log);
    assert_int_equal(r.problem, AUTH_AUDIT_REWRITTEN);
    assert_int_equal(r.id, 10);
    assert_int_equal(r.entries, 11);
}

static void test_rows_deleted_at_the_end_while_running_leave_a_gap(void **state)
{
    struct sto_fixture *f = *state;
    fill(f, 10);
    tamper(f, "DELETE FROM audit WHERE id > 8");
    fill(f, 1); /* the writer still knows entry 10: the new one is 11 */
    struct auth_audit_verify_result r;
    verify(f, NULL, &r);
    assert_int_equal(r.problem, AUTH_AUDIT_REMOVED);
    assert_int_equal(r.id, 9);
}

/* tmpl with HASH replaced by hash and HASH63 by its first 63 characters. */
static void expand(char *out, size_t size, const char *tmpl, const char *hash)
{
    size_t k = 0;
    for (const char *p = tmpl; *p && k + 65 < size;) {
        if (strncmp(p, "HASH63", 6) == 0) {
            memcpy(out + k, hash, 63);
            k += 63;
            p += 6;
        } else if (strncmp(p, "HASH", 4) == 0) {
            memcpy(out + k, hash, 64);
            k += 64;
            p += 4;
        } else {
            out[k++] = *p++;
        }
    }
    out[k] = '\0';
}

static void test_head_lines_are_parsed_in_both_formats_and_nothing_else(void **state)
{
    (void)state;
    static const char hash[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char line[512];
    struct auth_audit_head h;
    snprintf(line, sizeof(line),
             "{\"ts\":\"x\",\"level\":\"info\",\"module\":\"audit\",\"msg\":\"m\","
             "\"audit_head_id\":\"42\",\"audit_head_hash\":\"%s\"}\n",
             hash);
    assert_int_equal(auth_audit_head_parse(line, strlen(line), &h), 1);
    assert_int_equal(h.id, 42);
    assert_string_equal(h.hash, hash);
    snprintf(line, sizeof(line),
             "2026-01-01T00:00:00.000Z INFO audit audit_head_id=7 audit_head_hash=%s "
             "audit_head_why=start audit chain head (start)",
             hash);
    assert_int_equal(auth_audit_head_parse(line, strlen(line), &h), 1);
    assert_int_equal(h.id, 7);

    const char *bad[] = {
        "",
        "{",
        "{\"module\":\"api\",\"audit_head_id\":\"1\",\"audit_head_hash\":\"HASH\"}",
        "{\"module\":\"audit\",\"audit_head_id\":1,\"audit_head_hash\":\"HASH\"}",
        "{\"module\":\"audit\",\"audit_head_id\":\"-1\",\"audit_head_hash\":\"HASH\"}",
        "{\"module\":\"audit\",\"audit_head_id\":\"1\",\"audit_head_hash\":\"HASH63\"}",
        "{\"module\":\"audit\",\"audit_head_id\":\"1\",\"audit_head_id\":\"2\","
        "\"audit_head_hash\":\"HASH\"}",
        "ts INFO api audit_head_id=1 audit_head_hash=HASH",
        "ts INFO audit msg audit_head_id=1 audit_head_hash=HASH",
        "ts INFO audit audit_head_id=99999999999999999999 audit_head_hash=HASH",
        "ts INFO audit audit_head_id=1 audit_head_hash=HASHZ",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expand(line, sizeof(line), bad[i], hash);
        if (auth_audit_head_parse(line, strlen(line), &h) != 0)
            fail_msg("parsed: %s", line);
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, sto_fixture_setup, sto_fixture_teardown)
    const struct CMUnitTest tests[] = {
        T(test_an_intact_chain_verifies),
        T(test_an_edited_row_is_named),
        T(test_an_edited_row_with_a_new_hash_is_named),
        T(test_a_deleted_row_is_named),
        T(test_a_deleted_first_row_is_named),
        T(test_a_deleted_and_renumbered_row_is_named),
        T(test_two_swapped_rows_are_named),
        T(test_a_truncated_tail_is_caught_by_the_logged_head),
        T(test_a_rewritten_chain_is_caught_by_the_logged_head),
        T(test_rows_deleted_at_the_end_while_running_leave_a_gap),
        cmocka_unit_test(test_head_lines_are_parsed_in_both_formats_and_nothing_else),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
