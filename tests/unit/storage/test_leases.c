/*
 * Tests for src/storage/leases.c (docs/design/0065-camera-leases.md): a
 * camera's lease is held by one node at a time; its holder renews it; a
 * lease that expired, or that its holder gave up, goes to the next node
 * that claims it, with a new token; claims made together have one winner.
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
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "a", 1000, 16000), 0);
    lease_of(f, "door", "a", &token, &expires);
    assert_int_equal(token, 1);
    assert_int_equal(expires, 16000);
    /* Alive: another node is refused, the holder renews without a new token. */
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "b", 2000, 17000), -EBUSY);
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "a", 2000, 17000), 0);
    assert_int_equal(sto_camera_leases_renew(f->db, "a", 20000), 0);
    assert_int_equal(sto_camera_leases_renew(f->db, "b", 99000), 0); /* b holds nothing */
    lease_of(f, "door", "a", &token, &expires);
    assert_int_equal(token, 1);
    assert_int_equal(expires, 20000);
    /* Expired: the next claim takes it, and the token says it changed hands. */
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "b", 20001, 35000), 0);
    lease_of(f, "door", "b", &token, &expires);
    assert_int_equal(token, 2);
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "a", 21000, 36000), -EBUSY);
    /* Given up: free at once. Giving up what another holds changes nothing. */
    assert_int_equal(sto_camera_leases_release(f->db, "a", NULL), 0);
    lease_of(f, "door", "b", &token, &expires);
    assert_int_equal(sto_camera_lease_claim(f->db, "yard", "b", 21000, 36000), 0);
    assert_int_equal(sto_camera_leases_release(f->db, "b", "door"), 0);
    assert_int_equal(sto_camera_lease_claim(f->db, "door", "a", 22000, 37000), 0);
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

static int claim_gate(sto_db *db, int i)
{
    char node[8];
    snprintf(node, sizeof(node), "n%d", i);
    return sto_camera_lease_claim(db, "gate", node, 1000, 16000);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
