/*
 * Tests for src/storage/leases.c (docs/design/0065-camera-leases.md): a
 * camera's lease is held by one node at a time; its holder renews it; a
 * lease that expired, or that its holder gave up, goes to the next node
 * that claims it, with a new token; claims made together have one winner.
 * And fencing (docs/design/0066-fencing.md): an index row written under a
 * token that is no longer the lease's goes in only when its segment ended
 * before the new holder took the lease.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "storage.h"
#include "sto_fixture.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lease of camera as listed, or fails; *token and *expires out. */
static void lease_of(struct sto_fixture *f, const char *camera, const char *node, int64_t *token,
                     int64_t *expires)
{
    struct sto_camera_lease *v;
    size_t n;
    assert_int_equal(sto_camera_leases_list(f->db, &v, &n), 0);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].camera_id, camera) != 0)
            continue;
        assert_string_equal(v[i].node_id, node);
        *token = v[i].token;
        *expires = v[i].expires_ms;
        found = true;
    }
    sto_camera_leases_free(v, n);
    assert_true(found);
}

static void test_a_lease_has_one_holder_until_it_expires_or_is_given_up(void **state)
{
    struct sto_fixture *f = *state;
    int64_t token, expires;
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "a", 1000, 16000, NULL), 0);
    lease_of(f, "door", "a", &token, &expires);
    assert_int_equal(token, 1);
    assert_int_equal(expires, 16000);
    /* Alive: another node is refused, the holder renews without a new token. */
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "b", 2000, 17000, NULL), -EBUSY);
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "a", 2000, 17000, NULL), 0);
    assert_int_equal(sto_camera_leases_renew(f->db, "a", 20000), 0);
    assert_int_equal(sto_camera_leases_renew(f->db, "b", 99000), 0); /* b holds nothing */
    lease_of(f, "door", "a", &token, &expires);
    assert_int_equal(token, 1);
    assert_int_equal(expires, 20000);
    /* Expired: the next claim takes it, and the token says it changed hands. */
    int64_t claimed = 0;
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "b", 20001, 35000, &claimed), 0);
    lease_of(f, "door", "b", &token, &expires);
    assert_int_equal(token, 2);
    assert_int_equal(claimed, 2);
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "a", 21000, 36000, &claimed), -EBUSY);
    assert_int_equal(claimed, 2); /* the holder's */
    /* Given up: free at once. Giving up what another holds changes nothing. */
    assert_int_equal(sto_camera_leases_release(f->db, "a", NULL), 0);
    lease_of(f, "door", "b", &token, &expires);
    assert_int_equal(sto_camera_lease_claim(f->db, "yard", "b", 21000, 36000, NULL), 0);
    assert_int_equal(sto_camera_leases_release(f->db, "b", "door"), 0);
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "a", 22000, 37000, NULL), 0);
    lease_of(f, "door", "a", &token, &expires);
    assert_int_equal(token, 1); /* a new row */
    lease_of(f, "yard", "b", &token, &expires);
    assert_int_equal(sto_camera_leases_release(f->db, "b", NULL), 0);
    struct sto_camera_lease *v;
    size_t n;
    assert_int_equal(sto_camera_leases_list(f->db, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].camera_id, "door");
    sto_camera_leases_free(v, n);
}

/* Inserts door's row [start_s, end_s) as node with token; the writer's outcome. */
static int insert_as(sto_db *db, const char *node, int64_t token, int64_t start_s, int64_t end_s)
{
    char path[64];
    snprintf(path, sizeof(path), "recordings/door/main/%lld.mp4", (long long)start_s);
    struct sto_recording_input r = {.camera_id = "door",
                                    .stream = "main",
                                    .start_us = start_s * 1000000,
                                    .end_us = end_s * 1000000,
                                    .path = path,
                                    .bytes = 1,
                                    .lease_node = node,
                                    .lease_token = token};
    struct sto_fixture_outcome o = STO_FIXTURE_OUTCOME_INIT;
    assert_int_equal(sto_recording_insert_async(db, &r, sto_fixture_outcome_cb, &o), 0);
    return sto_fixture_outcome_wait(&o);
}

static size_t door_rows(sto_db *db)
{
    struct sto_recording *rows;
    size_t n;
    assert_int_equal(sto_recordings_range(db, "door", "main", 0, INT64_MAX, 100, &rows, &n), 0);
    sto_recording_list_free(rows, n);
    return n;
}

static void test_a_row_under_a_lost_lease_is_fenced_unless_it_ended_before(void **state)
{
    struct sto_fixture *f = *state;
    int64_t a_token = 0, b_token = 0;
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "a", 100000, 115000, &a_token), 0);
    assert_int_equal(insert_as(f->db, "a", a_token, 100, 102), 0);
    assert_int_equal(insert_as(f->db, "a", a_token + 1, 102, 104), HORUS_EFENCED); /* not its */
    assert_int_equal(insert_as(f->db, "b", a_token, 102, 104), HORUS_EFENCED); /* not b's */
    assert_int_equal(door_rows(f->db), 1);
    /* a froze; its lease expired at 115 s and b took the camera at 120 s. */
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "b", 120000, 135000, &b_token), 0);
    assert_int_equal(b_token, a_token + 1);
    assert_int_equal(insert_as(f->db, "b", b_token, 121, 123), 0);
    /* a's row of a segment over b's tenure is refused, not retried... */
    assert_int_equal(insert_as(f->db, "a", a_token, 104, 121), HORUS_EFENCED);
    /* ...while one that ended before b took over is footage only a has: it goes in. */
    assert_int_equal(insert_as(f->db, "a", a_token, 110, 115), 0);
    assert_int_equal(door_rows(f->db), 3);
    /* b renews: the time b took the lease stays, and rows without a token are not fenced. */
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "b", 125000, 140000, NULL), 0);
    assert_int_equal(insert_as(f->db, "a", a_token, 116, 120), 0);
    assert_int_equal(insert_as(f->db, "a", a_token, 117, 121), HORUS_EFENCED);
    assert_int_equal(insert_as(f->db, "", 0, 130, 132), 0);
    assert_int_equal(door_rows(f->db), 5);
    /* A camera nobody holds: a token fences every row. */
    assert_int_equal(sto_camera_leases_release(f->db, "b", NULL), 0);
    assert_int_equal(insert_as(f->db, "b", b_token, 140, 142), HORUS_EFENCED);
}

static int claim_gate(sto_db *db, int i)
{
    char node[8];
    snprintf(node, sizeof(node), "n%d", i);
    return sto_camera_lease_claim(db, "gate", node, 1000, 16000, NULL);
}

static void test_claims_at_the_same_moment_have_one_winner(void **state)
{
    struct sto_fixture *f = *state;
    sto_fixture_race_one_winner(f->db, 6, claim_gate);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_lease_has_one_holder_until_it_expires_or_is_given_up,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_claims_at_the_same_moment_have_one_winner,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_row_under_a_lost_lease_is_fenced_unless_it_ended_before, sto_fixture_setup,
            sto_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
