/*
 * Tests src/auth/auth_cache.c with a fake clock (expiry by ttl and by the
 * authenticator's bound, the access version, kinds kept apart, bounded
 * sets, copies that outlive their entry) and, against a real SQLite index,
 * that the writes which must drop cached credentials move
 * sto_access_version: key revocation, user change and deletion, session
 * deletion, second factors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_api_key.h"
#include "auth_cache.h"
#include "auth_user.h"
#include "clock.h"
#include "err.h"
#include "sto_fixture.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct auth_principal *principal(const char *name, const char *grant)
{
    struct auth_principal *p =
        auth_principal_new(AUTH_KIND_API_KEY, "k1", name, AUTH_ROLE_OPERATOR);
    snprintf(p->tenant, sizeof(p->tenant), "t1");
    snprintf(p->csrf_token, sizeof(p->csrf_token), "csrf");
    p->must_enroll_mfa = true;
    assert_int_equal(auth_principal_set_cameras(p, grant), 0);
    return p;
}

static void test_an_entry_lives_ttl_or_its_bound_whichever_is_first(void **state)
{
    (void)state;
    clock_fake clk;
    clock_fake_init(&clk, 1700000000000);
    auth_cache *c = auth_cache_new(64, 1000);
    struct auth_principal *p = principal("ci", "b,a,group:yard"), *q = NULL;
    int64_t now = clock_realtime_ms(&clk.base);
    assert_int_equal(auth_cache_get(c, "tok", 3, 7, now, &q), -ENOENT);
    auth_cache_put(c, "tok", 3, 7, now, INT64_MAX, p);
    auth_principal_free(p); /* the entry holds its own copy */
    assert_int_equal(auth_cache_get(c, "tok", 3, 7, now, &q), 0);
    assert_int_equal(q->kind, AUTH_KIND_API_KEY);
    assert_int_equal(q->role, AUTH_ROLE_OPERATOR);
    assert_string_equal(q->name, "ci");
    assert_string_equal(q->tenant, "t1");
    assert_string_equal(q->csrf_token, "csrf");
    assert_true(q->must_enroll_mfa);
    assert_string_equal(auth_principal_grant(q), "a,b,group:yard");
    assert_true(auth_may_see_camera(q, "a"));
    assert_false(auth_may_see_camera(q, "c"));
    assert_true(auth_principal_has_group(q, "yard"));
    auth_principal_free(q);
    clock_fake_advance_ms(&clk, 999);
    assert_int_equal(auth_cache_get(c, "tok", 3, 7, clock_realtime_ms(&clk.base), &q), 0);
    auth_principal_free(q);
    clock_fake_advance_ms(&clk, 1);
    assert_int_equal(auth_cache_get(c, "tok", 3, 7, clock_realtime_ms(&clk.base), &q), -ENOENT);
    assert_null(q);
    /* The authenticator's bound (a session's next stamp, a key's expiry) comes first. */
    now = clock_realtime_ms(&clk.base);
    p = principal("ci", "*");
    auth_cache_put(c, "tok", 3, 7, now, now + 300, p);
    clock_fake_advance_ms(&clk, 299);
    assert_int_equal(auth_cache_get(c, "tok", 3, 7, clock_realtime_ms(&clk.base), &q), 0);
    assert_true(q->is_all_cameras);
    auth_principal_free(q);
    clock_fake_advance_ms(&clk, 1);
    assert_int_equal(auth_cache_get(c, "tok", 3, 7, clock_realtime_ms(&clk.base), &q), -ENOENT);
    /* A bound already past: nothing is cached. */
    now = clock_realtime_ms(&clk.base);
    auth_cache_put(c, "tok", 3, 7, now, now, p);
    assert_int_equal(auth_cache_get(c, "tok", 3, 7, now, &q), -ENOENT);
    struct auth_cache_stats st;
    auth_cache_stats(c, &st);
    assert_int_equal(st.hits, 3);
    assert_int_equal(st.misses, 4);
    auth_principal_free(p);
    auth_cache_free(c);
}

static void test_a_new_access_version_drops_entries_at_once(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(64, 1000);
    struct auth_principal *p = principal("ci", "*"), *q = NULL;
    auth_cache_put(c, "tok", 3, 7, 5000, INT64_MAX, p);
    assert_int_equal(auth_cache_get(c, "tok", 3, 8, 5000, &q), -ENOENT);
    /* ... and for good: the stale entry is gone even for its old version. */
    assert_int_equal(auth_cache_get(c, "tok", 3, 7, 5000, &q), -ENOENT);
    /* A put with the version read before a read that raced a write never answers. */
    auth_cache_put(c, "tok", 3, 7, 5000, INT64_MAX, p);
    assert_int_equal(auth_cache_get(c, "tok", 3, 8, 5000, &q), -ENOENT);
    auth_cache_put(c, "tok", 3, 8, 5000, INT64_MAX, p);
    auth_cache_clear(c);
    assert_int_equal(auth_cache_get(c, "tok", 3, 8, 5000, &q), -ENOENT);
    /* Another credential (another byte) is another entry; a ttl of 0 caches nothing. */
    auth_cache_put(c, "tok", 3, 8, 5000, INT64_MAX, p);
    assert_int_equal(auth_cache_get(c, "tOk", 3, 8, 5000, &q), -ENOENT);
    assert_int_equal(auth_cache_get(c, "tok", 2, 8, 5000, &q), -ENOENT);
    auth_cache_free(c);
    c = auth_cache_new(64, 0);
    auth_cache_put(c, "tok", 3, 8, 5000, INT64_MAX, p);
    assert_int_equal(auth_cache_get(c, "tok", 3, 8, 5000, &q), -ENOENT);
    auth_cache_free(c);
    auth_principal_free(p);
}

static void test_the_cache_stays_bounded_and_keeps_the_newest(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(16, 1000); /* two sets of eight */
    struct auth_principal *p = principal("ci", "*"), *q = NULL;
    char tok[32];
    for (int i = 0; i < 200; i++) {
        snprintf(tok, sizeof(tok), "token-%d", i);
        auth_cache_put(c, tok, strlen(tok), 1, 1000 + i, INT64_MAX, p);
    }
    struct auth_cache_stats st;
    auth_cache_stats(c, &st);
    assert_int_equal(st.entries, 16);
    /* The last put is always there; the first is long gone. */
    assert_int_equal(auth_cache_get(c, tok, strlen(tok), 1, 1300, &q), 0);
    auth_principal_free(q);
    assert_int_equal(auth_cache_get(c, "token-0", 7, 1, 1300, &q), -ENOENT);
    auth_principal_free(p);
    auth_cache_free(c);
}

static void test_writes_that_change_access_move_the_version(void **state)
{
    struct sto_fixture *f = *state;
    uint64_t v = sto_access_version(f->db);
    char key[AUTH_API_KEY_MAX], id[AUTH_API_KEY_ID_LEN + 1], why[160];
    struct auth_api_key_options o = {.name = "ci", .role = AUTH_ROLE_VIEWER, .now_ms = 1000};
    assert_int_equal(auth_api_key_create(f->db, &o, key, id, why, sizeof(why)), 0);
    uint64_t w = sto_access_version(f->db);
    assert_true(w > v);
    /* Reading (and the last-use stamp, queued) does not move it. */
    struct auth_principal *p = NULL;
    int64_t until = 0;
    assert_int_equal(auth_api_key_authenticate_until(f->db, key, 70000, &p, &until), 0);
    assert_int_equal(until, 70000 + AUTH_API_KEY_TOUCH_MS);
    auth_principal_free(p);
    assert_int_equal(sto_access_version(f->db), w);
    assert_int_equal(sto_api_key_revoke(f->db, id, 2000), 0);
    assert_true(sto_access_version(f->db) > w);

    w = sto_access_version(f->db);
    struct sto_user_input u = {.name = "ann", .password_hash = "x", .role = "viewer"};
    assert_int_equal(sto_user_insert(f->db, &u), 0);
    assert_true(sto_access_version(f->db) > w);
    w = sto_access_version(f->db);
    u.role = "admin";
    assert_int_equal(sto_user_update(f->db, &u), 0);
    assert_true(sto_access_version(f->db) > w);
    w = sto_access_version(f->db);
    assert_int_equal(sto_session_delete_user(f->db, "ann"), 0);
    assert_true(sto_access_version(f->db) > w);
    w = sto_access_version(f->db);
    assert_int_equal(sto_mfa_begin(f->db, "ann", "secret", 1000), 0);
    assert_true(sto_access_version(f->db) > w);
    w = sto_access_version(f->db);
    assert_int_equal(sto_user_delete(f->db, "ann"), 0);
    assert_true(sto_access_version(f->db) > w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_entry_lives_ttl_or_its_bound_whichever_is_first),
        cmocka_unit_test(test_a_new_access_version_drops_entries_at_once),
        cmocka_unit_test(test_the_cache_stays_bounded_and_keeps_the_newest),
        cmocka_unit_test_setup_teardown(test_writes_that_change_access_move_the_version,
                                        sto_fixture_setup, sto_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
