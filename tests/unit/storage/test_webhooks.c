/*
 * Tests for src/storage/webhooks.c (docs/design/0049-webhooks.md): the key
 * sealed at rest and bound to its target, an update that keeps or drops
 * it, a dead letter and its cursor step in one transaction, and a delete
 * that takes the dead letters and the outbox cursor with the target.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "storage.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define SECRET "a-receiver-key-of-32-characters!"

static sto_secret_box *box_of(const char *key_text)
{
    sto_secret_box *box = NULL;
    char *errmsg = NULL;
    struct sto_secret_box_options o = {.key_text = key_text, .key_file = "/nonexistent"};
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), 0);
    return box;
}

static struct sto_webhook_input hook(const char *id, const char *secret)
{
    return (struct sto_webhook_input){.id = id,
                                      .url = "http://127.0.0.1:9/hook",
                                      .secret = secret,
                                      .cameras = "[\"door\"]",
                                      .enabled = true,
                                      .timeout_ms = 2000,
                                      .max_attempts = 3};
}

static char *opened(struct sto_fixture *f, const char *id)
{
    struct sto_webhook w;
    assert_int_equal(sto_webhook_get(f->db, id, &w), 0);
    char *key = NULL;
    int rc = sto_webhook_secret_open(f->db, &w, &key);
    sto_webhook_release(&w);
    return rc == 0 ? key : NULL;
}

static void test_the_key_is_sealed_and_bound_to_its_target(void **state)
{
    struct sto_fixture *f = *state;
    sto_secret_box *box = box_of(KEY_A);
    sto_set_secret_box(f->db, box);
    struct sto_webhook_input in = hook("ops", SECRET);
    assert_int_equal(sto_webhook_insert(f->db, &in), 0);
    assert_int_equal(sto_webhook_insert(f->db, &in), -EEXIST);
    struct sto_webhook w;
    assert_int_equal(sto_webhook_get(f->db, "ops", &w), 0);
    assert_null(strstr(w.secret, SECRET));
    assert_non_null(strstr(w.secret, "hsb1."));
    assert_string_equal(w.cameras, "[\"door\"]");
    assert_string_equal(w.labels, "[]");
    assert_true(w.enabled);
    assert_int_equal(w.max_attempts, 3);
    /* The sealed key copied to another target does not open there. */
    struct sto_webhook moved = w;
    moved.id = "other";
    char *key = NULL;
    assert_int_equal(sto_webhook_secret_open(f->db, &moved, &key), -EBADMSG);
    sto_webhook_release(&w);
    key = opened(f, "ops");
    assert_string_equal(key, SECRET);
    free(key);
    struct sto_secret_census c;
    assert_int_equal(sto_secrets_census(f->db, &c), 0);
    assert_int_equal(c.sealed, 1);
    assert_int_equal(c.plain, 0);
    sto_set_secret_box(f->db, NULL);
    sto_secret_box_free(box);
}

static void test_an_update_keeps_or_drops_the_key(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_webhook_input in = hook("ops", SECRET);
    assert_int_equal(sto_webhook_insert(f->db, &in), 0);
    in.secret = NULL;
    in.url = "https://receiver.example/hook";
    assert_int_equal(sto_webhook_update(f->db, &in), 0);
    char *key = opened(f, "ops");
    assert_string_equal(key, SECRET); /* no box: kept as "plain:" */
    free(key);
    in.secret = "";
    assert_int_equal(sto_webhook_update(f->db, &in), 0);
    key = opened(f, "ops");
    assert_string_equal(key, "");
    free(key);
    struct sto_webhook_input missing = hook("nope", NULL);
    assert_int_equal(sto_webhook_update(f->db, &missing), -ENOENT);
}

static void test_a_dead_letter_moves_the_cursor_and_a_delete_takes_both(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_webhook_input in = hook("ops", "");
    assert_int_equal(sto_webhook_insert(f->db, &in), 0);
    for (int i = 0; i < 3; i++) {
        struct sto_outbox_input m = {
            .kind = "event", .type = "new", .camera_id = "door", .payload = "{}"};
        assert_int_equal(sto_outbox_append(f->db, &m), 0);
    }
    int64_t seq = -1;
    assert_int_equal(sto_outbox_cursor_set(f->db, "webhook:ops", 1), 0);
    struct sto_dead_letter d = {.seq = 2,
                                .kind = "event",
                                .type = "new",
                                .camera_id = "door",
                                .payload = "{\"a\":1}",
                                .attempts = 3,
                                .last_error = "the receiver answered HTTP 422"};
    assert_int_equal(sto_dead_letter_add(f->db, "ops", &d), 0);
    assert_int_equal(sto_outbox_cursor_get(f->db, "webhook:ops", &seq), 0);
    assert_int_equal(seq, 2);
    struct sto_dead_letter got;
    assert_int_equal(sto_dead_letter_get(f->db, "ops", 2, &got), 0);
    assert_string_equal(got.payload, "{\"a\":1}");
    assert_int_equal(got.attempts, 3);
    assert_string_equal(got.last_error, "the receiver answered HTTP 422");
    sto_dead_letter_release(&got);
    /* A target deleted meanwhile: nothing is written, the cursor does not come back. */
    assert_int_equal(sto_webhook_delete(f->db, "ops"), 0);
    assert_int_equal(sto_outbox_cursor_get(f->db, "webhook:ops", &seq), -ENOENT);
    int64_t n = -1;
    assert_int_equal(sto_dead_letter_count(f->db, "ops", &n), 0);
    assert_int_equal(n, 0);
    d.seq = 3;
    assert_int_equal(sto_dead_letter_add(f->db, "ops", &d), 0);
    assert_int_equal(sto_dead_letter_count(f->db, "ops", &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sto_outbox_cursor_get(f->db, "webhook:ops", &seq), -ENOENT);
    assert_int_equal(sto_webhook_delete(f->db, "ops"), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_the_key_is_sealed_and_bound_to_its_target,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_an_update_keeps_or_drops_the_key, sto_fixture_setup,
                                        sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_a_dead_letter_moves_the_cursor_and_a_delete_takes_both,
                                        sto_fixture_setup, sto_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
