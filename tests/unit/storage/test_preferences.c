/*
 * Tests for src/storage/preferences.c (docs/design/0027-ui-api.md): one
 * opaque body per (kind, owner), replaced by a put, written only while the
 * owner exists, and deleted with the user or when the key is revoked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void add_user(struct sto_fixture *f, const char *name)
{
    struct sto_user_input u = {.name = name, .password_hash = "x", .role = "admin"};
    assert_int_equal(sto_user_insert(f->db, &u), 0);
}

static void add_key(struct sto_fixture *f, const char *id, const char *owner)
{
    struct sto_api_key k = {.id = (char *)id,
                            .name = (char *)id,
                            .secret_sha256 = "x",
                            .role = "viewer",
                            .cameras = "*",
                            .owner = (char *)owner,
                            .tenant = "",
                            .created_at_ms = 1};
    assert_int_equal(sto_api_key_insert(f->db, &k), 0);
}

/* The stored body of (kind, id), or NULL when there is none (a new string). */
static char *get(struct sto_fixture *f, const char *kind, const char *id)
{
    char *body = (char *)1;
    int rc = sto_preferences_get(f->db, kind, id, &body);
    if (rc == -ENOENT) {
        assert_null(body);
        return NULL;
    }
    assert_int_equal(rc, 0);
    return body;
}

static void assert_body(struct sto_fixture *f, const char *kind, const char *id, const char *want)
{
    char *body = get(f, kind, id);
    if (!want) {
        assert_null(body);
        return;
    }
    assert_non_null(body);
    assert_string_equal(body, want);
    free(body);
}

static void test_each_owner_has_its_own_body_and_a_put_replaces_it(void **state)
{
    struct sto_fixture *f = *state;
    add_user(f, "ann");
    add_user(f, "bob");
    add_key(f, "k1", "");
    assert_body(f, STO_PREFERENCES_USER, "ann", NULL);
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_USER, "ann", "{\"a\":1}"), 0);
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_USER, "bob", "{\"b\":2}"), 0);
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_API_KEY, "k1", "{\"k\":3}"), 0);
    assert_body(f, STO_PREFERENCES_USER, "ann", "{\"a\":1}");
    assert_body(f, STO_PREFERENCES_USER, "bob", "{\"b\":2}");
    assert_body(f, STO_PREFERENCES_API_KEY, "k1", "{\"k\":3}");
    /* A user and a key of the same id are different owners. */
    assert_body(f, STO_PREFERENCES_API_KEY, "ann", NULL);
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_USER, "ann", "{}"), 0);
    assert_body(f, STO_PREFERENCES_USER, "ann", "{}");
    assert_body(f, STO_PREFERENCES_USER, "bob", "{\"b\":2}");
}

static void test_unknown_kinds_and_oversized_bodies_are_refused(void **state)
{
    struct sto_fixture *f = *state;
    add_user(f, "ann");
    char *body = NULL;
    assert_int_equal(sto_preferences_get(f->db, "jwt", "ann", &body), -EINVAL);
    assert_int_equal(sto_preferences_put(f->db, "jwt", "ann", "{}"), -EINVAL);
    char *big = malloc(STO_PREFERENCES_MAX + 2);
    memset(big, 'x', STO_PREFERENCES_MAX + 1);
    big[STO_PREFERENCES_MAX + 1] = '\0';
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_USER, "ann", big), -EINVAL);
    big[STO_PREFERENCES_MAX] = '\0'; /* exactly the limit */
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_USER, "ann", big), 0);
    assert_body(f, STO_PREFERENCES_USER, "ann", big);
    free(big);
}

static void test_nothing_is_written_for_a_missing_owner_or_a_revoked_key(void **state)
{
    struct sto_fixture *f = *state;
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_USER, "ghost", "{}"), 0);
    assert_body(f, STO_PREFERENCES_USER, "ghost", NULL);
    add_key(f, "k1", "");
    assert_int_equal(sto_api_key_revoke(f->db, "k1", 5), 0);
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_API_KEY, "k1", "{}"), 0);
    assert_body(f, STO_PREFERENCES_API_KEY, "k1", NULL);
}

static void test_rows_leave_with_their_user_and_its_keys_or_a_revoked_key(void **state)
{
    struct sto_fixture *f = *state;
    add_user(f, "cy");
    add_user(f, "dee");
    add_key(f, "cy-key", "cy");
    add_key(f, "other", "dee");
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_USER, "cy", "{\"u\":1}"), 0);
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_USER, "dee", "{\"d\":1}"), 0);
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_API_KEY, "cy-key", "{}"), 0);
    assert_int_equal(sto_preferences_put(f->db, STO_PREFERENCES_API_KEY, "other", "{}"), 0);
    assert_int_equal(sto_api_key_revoke(f->db, "other", 5), 0);
    assert_body(f, STO_PREFERENCES_API_KEY, "other", NULL);
    assert_body(f, STO_PREFERENCES_API_KEY, "cy-key", "{}");
    assert_int_equal(sto_user_delete(f->db, "cy"), 0);
    assert_body(f, STO_PREFERENCES_USER, "cy", NULL);
    assert_body(f, STO_PREFERENCES_API_KEY, "cy-key", NULL);
    assert_body(f, STO_PREFERENCES_USER, "dee", "{\"d\":1}");
}

#define SEC_US INT64_C(1000000)

static void add_segment(struct sto_fixture *f, const char *cam, const char *stream, int64_t start_s,
                        uint64_t bytes)
{
    static const uint8_t blob[] = {1, 40, 2, 10, 20, 30};
    struct sto_recording_input r = {.camera_id = cam,
                                    .stream = stream,
                                    .start_us = start_s * SEC_US,
                                    .end_us = (start_s + 10) * SEC_US,
                                    .path = "p",
                                    .bytes = bytes,
                                    .codec = "avc1.64001f",
                                    .sha256 = "ab",
                                    .fragments = blob,
                                    .fragments_size = sizeof(blob)};
    assert_int_equal(sto_recording_insert_async(f->db, &r, NULL, NULL), 0);
}

static void test_camera_usage_sums_each_camera_over_its_streams(void **state)
{
    struct sto_fixture *f = *state;
    add_segment(f, "b", "main", 100, 1000);
    add_segment(f, "b", "sub", 105, 10);
    add_segment(f, "b", "main", 110, 2000);
    add_segment(f, "a", "main", 50, 7);
    /* A synchronous write queues behind the earlier ones. */
    assert_int_equal(sto_setting_put(f->db, "barrier", "1"), 0);
    struct sto_camera_usage *u = NULL;
    size_t n = 0;
    assert_int_equal(sto_camera_usage_list(f->db, 105 * SEC_US, &u, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(u[0].camera_id, "a");
    assert_int_equal(u[0].bytes, 7);
    assert_int_equal(u[0].segments, 1);
    assert_int_equal(u[0].recent_bytes, 0);
    assert_string_equal(u[1].camera_id, "b");
    assert_int_equal(u[1].bytes, 3010);
    assert_int_equal(u[1].segments, 3);
    assert_true(u[1].oldest_us == 100 * SEC_US && u[1].newest_us == 120 * SEC_US);
    assert_int_equal(u[1].recent_bytes, 2010); /* started at or after 105 s */
    sto_camera_usage_list_free(u, n);
}

#define T(name) cmocka_unit_test_setup_teardown(name, sto_fixture_setup, sto_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_each_owner_has_its_own_body_and_a_put_replaces_it),
        T(test_unknown_kinds_and_oversized_bodies_are_refused),
        T(test_nothing_is_written_for_a_missing_owner_or_a_revoked_key),
        T(test_rows_leave_with_their_user_and_its_keys_or_a_revoked_key),
        T(test_camera_usage_sums_each_camera_over_its_streams),
    };
    return cmocka_run_group_tests_name("storage.preferences", tests, NULL, NULL);
}
