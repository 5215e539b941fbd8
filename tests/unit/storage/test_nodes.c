/*
 * Tests for src/storage/nodes.c (docs/design/0064-node-identity.md): a
 * node id is held by one process at a time; a second process is refused
 * while the holder's heartbeat is fresh and told who holds it; the same
 * data directory, a stale heartbeat or a clean stop give the id up; a
 * holder whose id was taken over learns it at its next heartbeat; two
 * processes claiming one id at the same moment never both win.
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
#include <time.h>

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sto_node node(const char *id, const char *instance, const char *home,
                            const char *host)
{
    return (struct sto_node){.id = (char *)id,
                             .instance = (char *)instance,
                             .home = (char *)home,
                             .hostname = (char *)host,
                             .url = "http://127.0.0.1:8080",
                             .version = "test"};
}

/* A claim that a live node of another data directory holds the id: -EBUSY naming it. */
static void assert_refused(struct sto_fixture *f, const struct sto_node *me,
                           const char *holder_inst)
{
    struct sto_node h;
    assert_int_equal(sto_node_claim(f->db, me, now_ms() - 15000, &h), -EBUSY);
    assert_string_equal(h.instance, holder_inst);
    assert_string_equal(h.id, me->id);
    sto_node_release(&h);
}

static void test_a_live_id_is_refused_until_its_holder_stops_or_goes_stale(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_node a = node("n1", "inst-a", "home-a", "host-a"), h;
    int64_t before = now_ms();
    assert_int_equal(sto_node_claim(f->db, &a, before - 15000, &h), 0);
    assert_null(h.id);

    struct sto_node b = node("n1", "inst-b", "home-b", "host-b");
    assert_refused(f, &b, "inst-a");
    assert_int_equal(sto_node_claim(f->db, &b, before - 15000, &h), -EBUSY);
    assert_string_equal(h.hostname, "host-a");
    assert_string_equal(h.home, "home-a");
    assert_true(h.heartbeat_ms >= before && h.stopped_ms == 0);
    sto_node_release(&h);

    /* A heartbeat older than the caller's limit gives the id up. */
    assert_int_equal(sto_node_claim(f->db, &b, now_ms() + 60000, &h), 0);
    /* The old holder learns it at its next heartbeat, and who has it now. */
    assert_int_equal(sto_node_heartbeat(f->db, "n1", "inst-a", &h), -EBUSY);
    assert_string_equal(h.instance, "inst-b");
    assert_string_equal(h.hostname, "host-b");
    sto_node_release(&h);
    assert_int_equal(sto_node_heartbeat(f->db, "n1", "inst-b", &h), 0);

    /* A clean stop gives it up at once. */
    struct sto_node c = node("n1", "inst-c", "home-c", "host-c");
    assert_refused(f, &c, "inst-b");
    assert_int_equal(sto_node_stop(f->db, "n1", "inst-b"), 0);
    assert_int_equal(sto_node_claim(f->db, &c, now_ms() - 15000, &h), 0);
    /* A stop by an instance that no longer holds it changes nothing. */
    assert_int_equal(sto_node_stop(f->db, "n1", "inst-b"), 0);
    assert_refused(f, &b, "inst-c");
}

/* kill -9, then a restart on the same data directory: its home matches, no wait for the TTL. */
static void test_the_same_data_directory_takes_its_id_back_at_once(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_node first = node("n2", "inst-1", "home-x", "host"), h;
    assert_int_equal(sto_node_claim(f->db, &first, now_ms() - 15000, &h), 0);
    struct sto_node again = node("n2", "inst-2", "home-x", "host");
    assert_int_equal(sto_node_claim(f->db, &again, now_ms() - 15000, &h), 0);
    struct sto_node *v;
    size_t n;
    assert_int_equal(sto_nodes_list(f->db, &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].instance, "inst-2");
    assert_int_equal(v[0].stopped_ms, 0);
    sto_nodes_free(v, n);
}

static void test_nodes_are_listed_by_id_with_their_facts(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_node h;
    const char *ids[] = {"zeta", "alpha", "mid"};
    for (size_t i = 0; i < 3; i++) {
        struct sto_node me = node(ids[i], ids[i], ids[i], "host");
        assert_int_equal(sto_node_claim(f->db, &me, now_ms() - 15000, &h), 0);
    }
    assert_int_equal(sto_node_stop(f->db, "mid", "mid"), 0);
    struct sto_node *v;
    size_t n;
    assert_int_equal(sto_nodes_list(f->db, &v, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].id, "alpha");
    assert_string_equal(v[1].id, "mid");
    assert_string_equal(v[2].id, "zeta");
    assert_true(v[1].stopped_ms > 0 && v[0].stopped_ms == 0);
    assert_string_equal(v[0].url, "http://127.0.0.1:8080");
    assert_string_equal(v[0].version, "test");
    assert_true(v[0].started_ms > 0 && v[0].heartbeat_ms >= v[0].started_ms);
    sto_nodes_free(v, n);
}

static int claim_same(sto_db *db, int i)
{
    char instance[16], home[16];
    snprintf(instance, sizeof(instance), "inst-%d", i);
    snprintf(home, sizeof(home), "home-%d", i);
    struct sto_node me = node("same", instance, home, "host"), h;
    int rc = sto_node_claim(db, &me, now_ms() - 15000, &h);
    sto_node_release(&h);
    return rc;
}

/* Two nodes configured with one id, started together: exactly one runs. */
/* The draining_ms of node id as listed. */
static int64_t draining_of(struct sto_fixture *f, const char *id)
{
    struct sto_node *v;
    size_t n;
    int64_t out = -1;
    assert_int_equal(sto_nodes_list(f->db, &v, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].id, id) == 0)
            out = v[i].draining_ms;
    sto_nodes_free(v, n);
    return out;
}

/* A drain (docs/design/0067) is kept across the node's restarts until it is ended. */
static void test_a_drain_outlives_restarts_until_undrained(void **state)
{
    struct sto_fixture *f = *state;
    struct sto_node me = node("n3", "inst-1", "home-y", "host"), h;
    assert_int_equal(sto_node_claim(f->db, &me, now_ms() - 15000, &h), 0);
    assert_int_equal(draining_of(f, "n3"), 0);
    assert_int_equal(sto_node_drain(f->db, "n3", 1234), 0);
    assert_int_equal(draining_of(f, "n3"), 1234);
    assert_int_equal(sto_node_stop(f->db, "n3", "inst-1"), 0);
    struct sto_node again = node("n3", "inst-2", "home-y", "host");
    assert_int_equal(sto_node_claim(f->db, &again, now_ms() - 15000, &h), 0);
    assert_int_equal(draining_of(f, "n3"), 1234);
    assert_int_equal(sto_node_drain(f->db, "n3", 0), 0);
    assert_int_equal(draining_of(f, "n3"), 0);
    assert_int_equal(sto_node_drain(f->db, "nobody", 1), -ENOENT);
}

static void test_claims_at_the_same_moment_have_one_winner(void **state)
{
    struct sto_fixture *f = *state;
    sto_fixture_race_one_winner(f->db, 6, claim_same);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_live_id_is_refused_until_its_holder_stops_or_goes_stale, sto_fixture_setup,
            sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_the_same_data_directory_takes_its_id_back_at_once,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_nodes_are_listed_by_id_with_their_facts,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_claims_at_the_same_moment_have_one_winner,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_a_drain_outlives_restarts_until_undrained,
                                        sto_fixture_setup, sto_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
