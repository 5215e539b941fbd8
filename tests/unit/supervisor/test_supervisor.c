/*
 * Tests the camera supervisor against a real index database and recorder,
 * without cameras: which changes restart a pipeline, and what the status
 * snapshot says for disabled, unreachable and removed cameras.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sto_fixture.h"
#include "sup_int.h"
#include "supervisor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
    struct sto_fixture *sto;
    metrics_registry *metrics;
    rec_recorder *recorder;
    sup_supervisor *sup;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    void *sto = NULL;
    sto_fixture_setup(&sto);
    f->sto = sto;
    f->metrics = metrics_registry_new();
    f->recorder = rec_recorder_new(&(struct rec_recorder_options){
        .db = f->sto->db, .data_dir = f->sto->dir, .metrics = f->metrics});
    assert_int_equal(rec_recorder_start(f->recorder), 0);
    f->sup = sup_supervisor_new(
        &(struct sup_options){.db = f->sto->db, .recorder = f->recorder, .metrics = f->metrics});
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sup_supervisor_free(f->sup);
    rec_recorder_free(f->recorder);
    void *sto = f->sto;
    sto_fixture_teardown(&sto);
    metrics_registry_free(f->metrics);
    free(f);
    return 0;
}

static struct sto_camera_input camera(const char *id, bool enabled)
{
    return (struct sto_camera_input){
        .id = id,
        .name = id,
        /* Nothing listens on port 1: connecting fails at once. */
        .url = "rtsp://127.0.0.1:1/main",
        .sub_url = "",
        .enabled = enabled,
        .record_enabled = true,
        .segment_seconds = 60,
        .retention_days = 7,
    };
}

static void sync_and_refresh(struct fixture *f, unsigned *online, unsigned *failed)
{
    sup_supervisor_sync(f->sup);
    sup_supervisor_refresh_status(f->sup, online, failed);
}

static void test_fingerprint_changes_only_with_what_the_pipeline_is_built_from(void **state)
{
    struct sto_camera base = {
        .id = "a",
        .name = "a",
        .url = "rtsp://127.0.0.1:1/main",
        .sub_url = "",
        .enabled = true,
        .record_enabled = true,
        .segment_seconds = 60,
        .retention_days = 7,
    };
    char *fp = sup_camera_fingerprint(&base);
    struct sto_camera c = base;
    c.name = "renamed";
    c.retention_days = 30;
    c.max_bytes = 1000;
    char *same = sup_camera_fingerprint(&c);
    assert_string_equal(fp, same);
    free(same);

    struct sto_camera changed[7];
    for (int i = 0; i < 7; i++)
        changed[i] = base;
    changed[0].url = "rtsp://127.0.0.1:2/main";
    changed[1].sub_url = "rtsp://127.0.0.1:1/sub";
    changed[2].enabled = false;
    changed[3].record_enabled = false;
    changed[4].segment_seconds = 30;
    changed[5].transport = "udp";
    changed[6].client = "libav";
    for (int i = 0; i < 7; i++) {
        char *other = sup_camera_fingerprint(&changed[i]);
        if (strcmp(fp, other) == 0)
            fail_msg("change %d does not restart the camera", i);
        free(other);
    }
    free(fp);
}

static void test_status_is_unknown_before_the_first_sync(void **state)
{
    struct fixture *f = *state;
    struct sto_camera_input c = camera("a", false);
    assert_int_equal(sto_camera_insert(f->sto->db, &c), 0);
    struct sup_camera_status st;
    assert_false(sup_camera_status_get(f->sup, "a", &st));
}

static void test_disabled_camera_reports_disabled_and_runs_nothing(void **state)
{
    struct fixture *f = *state;
    struct sto_camera_input c = camera("a", false);
    assert_int_equal(sto_camera_insert(f->sto->db, &c), 0);
    unsigned online = 9, failed = 9;
    sync_and_refresh(f, &online, &failed);
    assert_int_equal(online, 0);
    assert_int_equal(failed, 0);
    struct sup_camera_status st;
    assert_true(sup_camera_status_get(f->sup, "a", &st));
    assert_string_equal(st.state, "disabled");
    assert_string_equal(st.breaker, "closed");
    assert_false(st.is_recording);
    assert_string_equal(st.sub_state, "");
    assert_false(sup_camera_status_get(f->sup, "b", &st));
}

static void test_enabled_camera_records_and_reports_its_streams(void **state)
{
    struct fixture *f = *state;
    struct sto_camera_input c = camera("a", true);
    c.sub_url = "rtsp://127.0.0.1:1/sub";
    assert_int_equal(sto_camera_insert(f->sto->db, &c), 0);
    unsigned online, failed;
    sync_and_refresh(f, &online, &failed);
    assert_int_equal(online, 0);
    struct sup_camera_status st;
    assert_true(sup_camera_status_get(f->sup, "a", &st));
    /* Recording is on, but a camera that never connected writes nothing. */
    assert_false(st.is_recording);
    /* Nothing answers: connecting, or failed once the first attempt ended. */
    assert_true(strcmp(st.state, "connecting") == 0 || strcmp(st.state, "failed") == 0);
    assert_true(strcmp(st.sub_state, "connecting") == 0 || strcmp(st.sub_state, "failed") == 0);
}

static void test_changed_camera_restarts_and_removed_camera_stops(void **state)
{
    struct fixture *f = *state;
    struct sto_camera_input c = camera("a", true);
    assert_int_equal(sto_camera_insert(f->sto->db, &c), 0);
    unsigned online, failed;
    sync_and_refresh(f, &online, &failed);
    struct sup_camera_status st;
    assert_true(sup_camera_status_get(f->sup, "a", &st));
    assert_false(st.is_recording); /* never connected */

    c.record_enabled = false;
    assert_int_equal(sto_camera_update(f->sto->db, &c), 0);
    sync_and_refresh(f, &online, &failed);
    assert_true(sup_camera_status_get(f->sup, "a", &st));
    assert_false(st.is_recording);

    c.enabled = false;
    assert_int_equal(sto_camera_update(f->sto->db, &c), 0);
    sync_and_refresh(f, &online, &failed);
    assert_true(sup_camera_status_get(f->sup, "a", &st));
    assert_string_equal(st.state, "disabled");

    assert_int_equal(sto_camera_delete(f->sto->db, "a"), 0);
    sync_and_refresh(f, &online, &failed);
    assert_false(sup_camera_status_get(f->sup, "a", &st));
}

static bool renders(struct fixture *f, const char *needle)
{
    char *text = metrics_render(f->metrics, NULL);
    bool is_found = strstr(text, needle) != NULL;
    free(text);
    return is_found;
}

/* A restart keeps a camera's series; deleting it removes every one of them. */
static void test_deleted_camera_loses_its_metric_series(void **state)
{
    struct fixture *f = *state;
    struct sto_camera_input a = camera("a", true), b = camera("b", true);
    a.sub_url = "rtsp://127.0.0.1:1/sub";
    assert_int_equal(sto_camera_insert(f->sto->db, &a), 0);
    assert_int_equal(sto_camera_insert(f->sto->db, &b), 0);
    unsigned online, failed;
    sync_and_refresh(f, &online, &failed);
    assert_true(renders(f, "horus_camera_up{camera=\"a\"}"));
    assert_true(renders(f, "camera=\"a\",stream=\"sub\""));

    a.segment_seconds = 30; /* a restart, not a deletion */
    assert_int_equal(sto_camera_update(f->sto->db, &a), 0);
    sync_and_refresh(f, &online, &failed);
    assert_true(renders(f, "horus_camera_up{camera=\"a\"}"));

    assert_int_equal(sto_camera_delete(f->sto->db, "a"), 0);
    sync_and_refresh(f, &online, &failed);
    assert_false(renders(f, "camera=\"a\""));
    assert_true(renders(f, "horus_camera_up{camera=\"b\"}"));

    /* The same id made again starts with fresh series. */
    assert_int_equal(sto_camera_insert(f->sto->db, &a), 0);
    sync_and_refresh(f, &online, &failed);
    assert_true(renders(f, "horus_camera_up{camera=\"a\"}"));
}

static void test_stop_keeps_the_last_status_readable(void **state)
{
    struct fixture *f = *state;
    struct sto_camera_input c = camera("a", true);
    assert_int_equal(sto_camera_insert(f->sto->db, &c), 0);
    unsigned online, failed;
    sync_and_refresh(f, &online, &failed);
    sup_supervisor_stop(f->sup);
    sup_supervisor_stop(f->sup); /* idempotent */
    struct sup_camera_status st;
    assert_true(sup_camera_status_get(f->sup, "a", &st));
    assert_true(strcmp(st.state, "connecting") == 0 || strcmp(st.state, "failed") == 0);
    assert_false(st.is_recording);
}

#define SEC INT64_C(1000000000)

static void test_rates_need_half_a_second_of_samples(void **state)
{
    struct sup_rate r;
    sup_rate_reset(&r);
    double fps = -1, bps = -1;
    assert_false(sup_rate_get(&r, &fps, &bps));
    sup_rate_add(&r, 10 * SEC, 100, 1000);
    assert_false(sup_rate_get(&r, &fps, &bps));
    sup_rate_add(&r, 10 * SEC + SEC / 4, 103, 2000);
    assert_false(sup_rate_get(&r, &fps, &bps));
    assert_true(fps == -1 && bps == -1);
    sup_rate_add(&r, 11 * SEC, 110, 11000);
    assert_true(sup_rate_get(&r, &fps, &bps));
    assert_true(fps > 9.99 && fps < 10.01);
    assert_true(bps > 79999 && bps < 80001); /* 10000 bytes in 1 s */
}

static void test_rates_cover_the_last_five_intervals_only(void **state)
{
    struct sup_rate r;
    sup_rate_reset(&r);
    /* 30 frames/s for 10 s, then 10 frames/s for 5 s: the window sees only the last 5 s. */
    uint64_t frames = 0, bytes = 0;
    for (int i = 0; i <= 10; i++, frames += 30, bytes += 3000)
        sup_rate_add(&r, i * SEC, frames, bytes);
    frames -= 30;
    bytes -= 3000;
    for (int i = 11; i <= 15; i++) {
        frames += 10;
        bytes += 1000;
        sup_rate_add(&r, i * SEC, frames, bytes);
    }
    double fps, bps;
    assert_true(sup_rate_get(&r, &fps, &bps));
    assert_true(fps > 9.99 && fps < 10.01);
    assert_true(bps > 7999 && bps < 8001);
}

static void test_counters_going_back_start_the_window_over(void **state)
{
    struct sup_rate r;
    sup_rate_reset(&r);
    sup_rate_add(&r, 1 * SEC, 500, 50000);
    sup_rate_add(&r, 2 * SEC, 510, 51000);
    /* A restarted ingest counts from 0: no negative or huge rate. */
    sup_rate_add(&r, 3 * SEC, 4, 400);
    double fps, bps;
    assert_false(sup_rate_get(&r, &fps, &bps));
    sup_rate_add(&r, 4 * SEC, 14, 1400);
    assert_true(sup_rate_get(&r, &fps, &bps));
    assert_true(fps > 9.99 && fps < 10.01);
    /* A clock that does not advance starts over too (no division by zero). */
    sup_rate_add(&r, 4 * SEC, 20, 2000);
    assert_false(sup_rate_get(&r, &fps, &bps));
}

/* Registers node id as running now, or stops it. */
static void node_up(struct fixture *f, const char *id, bool is_up)
{
    struct sto_node me = {.id = (char *)id,
                          .instance = (char *)"i1",
                          .home = (char *)"h1",
                          .hostname = (char *)"host",
                          .url = (char *)"",
                          .version = (char *)"test"},
                    holder;
    if (is_up) {
        assert_int_equal(sto_node_claim(f->sto->db, &me, 0, &holder), 0);
        sto_node_release(&holder);
    } else {
        assert_int_equal(sto_node_stop(f->sto->db, id, "i1"), 0);
    }
}

/*
 * One pass of l over the cameras ids[0..n) (enabled, any node): begin,
 * plan, hold each into out[]; ends the pass.
 */
static void lease_pass(struct fixture *f, struct sup_leases *l, const char *const *ids, size_t n,
                       enum sup_hold *out, int64_t *token)
{
    struct sto_camera cams[4];
    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++)
        cams[i] = (struct sto_camera){.id = (char *)ids[i],
                                      .enabled = true,
                                      .placement_node = (char *)"",
                                      .placement_labels = (char *)""};
    assert_int_equal(sup_leases_begin(l, f->sto->db), 0);
    sup_leases_plan(l, cams, n);
    for (size_t i = 0; i < n; i++) {
        int64_t since;
        out[i] = sup_leases_hold(l, f->sto->db, i, token, &since);
    }
    sup_leases_end(l);
}

/*
 * Fencing (docs/design/0066): a node whose leases ran out by its own clock
 * while another node was alive must stop its cameras; a node alone keeps
 * them through a database outage. hold hands out the lease's token.
 */
static void test_leases_that_ran_out_stop_the_cameras_only_when_a_peer_can_take_them(void **state)
{
    struct fixture *f = *state;
    node_up(f, "a", true);
    node_up(f, "b", true);
    struct sup_leases l = {.node = strdup("a"), .ttl_ms = 3000};
    assert_int_equal(sup_leases_begin(&l, f->sto->db), 0);
    assert_true(l.has_peers);
    assert_true(l.valid_until_ms > l.now_ms);
    struct sto_camera cam = {.id = (char *)"cam",
                             .enabled = true,
                             .placement_node = (char *)"a",
                             .placement_labels = (char *)""};
    sup_leases_plan(&l, &cam, 1); /* pinned here: b, the less loaded, would get it otherwise */
    int64_t token = 0, since = 0;
    assert_int_equal(sup_leases_hold(&l, f->sto->db, 0, &token, &since), SUP_HOLD_YES);
    assert_int_equal(token, 1);
    assert_int_equal(since, 0); /* a new lease: nobody recorded before */
    sup_leases_end(&l);
    assert_false(sup_leases_lapsed(&l)); /* renewed just now */
    l.valid_until_ms = l.now_ms - 1; /* as if the database had not answered for the TTL */
    assert_true(sup_leases_lapsed(&l));
    assert_true(l.is_fenced);
    /* The next renewal that commits ends it. */
    l.next_renew_ms = 0;
    assert_int_equal(sup_leases_begin(&l, f->sto->db), 0);
    sup_leases_end(&l);
    assert_false(l.is_fenced);
    /* Alone (b stopped): the same lapse keeps the cameras. */
    node_up(f, "b", false);
    l.next_renew_ms = 0;
    assert_int_equal(sup_leases_begin(&l, f->sto->db), 0);
    sup_leases_end(&l);
    assert_false(l.has_peers);
    l.valid_until_ms = l.now_ms - 1;
    assert_false(sup_leases_lapsed(&l));
    sup_leases_release(&l, f->sto->db);
}

/* The leases of camera as listed: its holder's id, or "" when free. */
static void holder_of(struct fixture *f, const char *camera, char *out, size_t cap)
{
    struct sto_camera_lease *v;
    size_t n;
    assert_int_equal(sto_camera_leases_list(f->sto->db, &v, &n), 0);
    snprintf(out, cap, "%s", "");
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].camera_id, camera) == 0)
            snprintf(out, cap, "%s", v[i].node_id);
    sto_camera_leases_free(v, n);
}

/*
 * Drain (docs/design/0067): a draining node runs no camera and gives up the
 * leases it holds while another node is alive; alone, it keeps them.
 */
static void test_a_draining_node_gives_its_cameras_up_only_to_a_live_peer(void **state)
{
    struct fixture *f = *state;
    node_up(f, "a", true);
    struct sup_leases l = {.node = strdup("a"), .ttl_ms = 3000};
    int64_t token;
    enum sup_hold h[2];
    char who[16];
    static const char *const cam[] = {"cam"}, *const both[] = {"cam", "free"};
    lease_pass(f, &l, cam, 1, h, &token);
    assert_int_equal(h[0], SUP_HOLD_YES);
    /* Drained while alone: it keeps the camera. */
    assert_int_equal(sto_node_drain(f->sto->db, "a", 1000), 0);
    lease_pass(f, &l, cam, 1, h, &token);
    assert_true(l.is_draining && l.is_drain_waiting);
    assert_int_equal(h[0], SUP_HOLD_YES);
    sup_leases_give_up(&l, f->sto->db);
    holder_of(f, "cam", who, sizeof(who));
    assert_string_equal(who, "a");
    /* A peer comes: the camera is given up here; the free one is b's to take. */
    node_up(f, "b", true);
    lease_pass(f, &l, both, 2, h, &token);
    assert_int_equal(h[0], SUP_HOLD_GIVE_UP);
    assert_int_equal(h[1], SUP_HOLD_NO);
    assert_int_equal(l.n_giving_up, 1);
    sup_leases_give_up(&l, f->sto->db);
    holder_of(f, "cam", who, sizeof(who));
    assert_string_equal(who, "");
    holder_of(f, "free", who, sizeof(who));
    assert_string_equal(who, "");
    /* Undrained: it claims again what the plan gives it (ties go to the lower id). */
    assert_int_equal(sto_node_drain(f->sto->db, "a", 0), 0);
    lease_pass(f, &l, cam, 1, h, &token);
    assert_int_equal(h[0], SUP_HOLD_YES);
    sup_leases_release(&l, f->sto->db);
}

/*
 * Placement (docs/design/0069): a camera planned for another live node is
 * left to it; one that node has not taken within the TTL is taken here.
 */
static void test_a_camera_another_node_does_not_take_is_taken_after_the_ttl(void **state)
{
    struct fixture *f = *state;
    node_up(f, "b", true);
    node_up(f, "c", true);
    struct sup_leases l = {.node = strdup("c"), .ttl_ms = 3000};
    int64_t token;
    enum sup_hold h[1];
    char who[16];
    static const char *const cam[] = {"cam"};
    lease_pass(f, &l, cam, 1, h, &token); /* b: as loaded as c, and its id is lower */
    assert_int_equal(h[0], SUP_HOLD_NO);
    assert_int_equal(l.nwaits, 1);
    lease_pass(f, &l, cam, 1, h, &token);
    assert_int_equal(h[0], SUP_HOLD_NO);
    holder_of(f, "cam", who, sizeof(who));
    assert_string_equal(who, "");
    l.waits[0].since_ms -= l.ttl_ms; /* as if b had not taken it for the TTL */
    lease_pass(f, &l, cam, 1, h, &token);
    assert_int_equal(h[0], SUP_HOLD_YES);
    holder_of(f, "cam", who, sizeof(who));
    assert_string_equal(who, "c");
    assert_int_equal(l.nwaits, 0);
    sup_leases_release(&l, f->sto->db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fingerprint_changes_only_with_what_the_pipeline_is_built_from),
        cmocka_unit_test(test_rates_need_half_a_second_of_samples),
        cmocka_unit_test(test_rates_cover_the_last_five_intervals_only),
        cmocka_unit_test(test_counters_going_back_start_the_window_over),
        cmocka_unit_test_setup_teardown(test_status_is_unknown_before_the_first_sync, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_disabled_camera_reports_disabled_and_runs_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_enabled_camera_records_and_reports_its_streams, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_changed_camera_restarts_and_removed_camera_stops,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_camera_loses_its_metric_series, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_keeps_the_last_status_readable, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_leases_that_ran_out_stop_the_cameras_only_when_a_peer_can_take_them, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_a_draining_node_gives_its_cameras_up_only_to_a_live_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_camera_another_node_does_not_take_is_taken_after_the_ttl, setup, teardown),
    };
    return cmocka_run_group_tests_name("supervisor.supervisor", tests, NULL, NULL);
}
