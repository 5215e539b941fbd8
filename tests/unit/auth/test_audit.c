/*
 * Tests for src/auth/audit.c: an action becomes a chained entry with its
 * actor, target and details (compact, sorted keys); bad input is refused;
 * a full write queue loses the entry loudly and the next entry that gets
 * through is preceded by an "audit.lost" entry with the count.
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
#include <stdio.h>
#include <string.h>

static void test_an_action_becomes_an_entry(void **state)
{
    struct sto_fixture *f = *state;
    auth_audit_log *l;
    assert_int_equal(auth_audit_log_new(&(struct auth_audit_options){.db = f->db}, &l), 0);
    json_t *d = json_pack("{s:s, s:i}", "zeta", "last", "alpha", 1);
    struct auth_audit_actor who = {
        .kind = "user", .id = "u7", .name = "bob", .tenant = "t1", .client = "192.0.2.9"};
    assert_int_equal(
        auth_audit(l, &who, AUTH_AUDIT_CAMERA_DELETED, AUTH_AUDIT_OK, "camera", "cam1", d), 0);
    assert_int_equal(
        auth_audit(l, NULL, AUTH_AUDIT_LOGIN_FAILED, AUTH_AUDIT_FAILED, NULL, NULL, NULL), 0);
    json_decref(d);
    assert_int_equal(auth_audit_log_sync(l), 0);
    struct sto_audit_entry e;
    assert_int_equal(sto_audit_get(f->db, 1, &e), 0);
    assert_string_equal(e.action, "camera.deleted");
    assert_string_equal(e.outcome, "ok");
    assert_string_equal(e.actor_kind, "user");
    assert_string_equal(e.actor_id, "u7");
    assert_string_equal(e.actor_name, "bob");
    assert_string_equal(e.tenant, "t1");
    assert_string_equal(e.client, "192.0.2.9");
    assert_string_equal(e.target_kind, "camera");
    assert_string_equal(e.target_id, "cam1");
    assert_string_equal(e.details, "{\"alpha\":1,\"zeta\":\"last\"}");
    assert_true(e.time_us > 0);
    sto_audit_entry_release(&e);
    assert_int_equal(sto_audit_get(f->db, 2, &e), 0);
    assert_string_equal(e.outcome, "failed");
    assert_string_equal(e.actor_id, "");
    assert_string_equal(e.details, "{}");
    sto_audit_entry_release(&e);
    assert_int_equal(auth_audit_lost(l), 0);
    auth_audit_log_free(l);
}

static void test_bad_input_is_refused_and_a_null_log_records_nothing(void **state)
{
    struct sto_fixture *f = *state;
    auth_audit_log *l;
    assert_int_equal(auth_audit_log_new(&(struct auth_audit_options){.db = f->db}, &l), 0);
    json_t *arr = json_array();
    assert_int_equal(auth_audit(l, NULL, "x", AUTH_AUDIT_OK, NULL, NULL, arr), -EINVAL);
    assert_int_equal(auth_audit(l, NULL, "", AUTH_AUDIT_OK, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(auth_audit(l, NULL, NULL, AUTH_AUDIT_OK, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(auth_audit(NULL, NULL, "x", AUTH_AUDIT_OK, NULL, NULL, NULL), 0);
    json_decref(arr);
    assert_int_equal(auth_audit_log_sync(l), 0);
    int64_t id;
    char hash[STO_AUDIT_HASH_LEN];
    sto_audit_head(f->db, &id, hash);
    assert_int_equal(id, 0);
    auth_audit_log_free(l);
    assert_string_equal(auth_audit_outcome_name(AUTH_AUDIT_DENIED), "denied");
}

/* A database whose writer has not started: writes queue up to queue_max, then are refused. */
static void test_a_full_queue_loses_loudly_and_the_chain_records_the_loss(void **state)
{
    (void)state;
    char dir[] = "/tmp/horus-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char url[128];
    snprintf(url, sizeof(url), "sqlite:%s/index.db", dir);
    struct sto_database_config cfg = {
        .url = url, .busy_timeout_ms = 5000, .batch_max = 64, .queue_max = 3, .readers = 1};
    sto_db *db;
    char *err = NULL;
    assert_int_equal(sto_open(&(struct sto_open_options){.db = &cfg}, &db, &err), 0);
    metrics_registry *m = metrics_registry_new();
    auth_audit_log *l;
    assert_int_equal(auth_audit_log_new(&(struct auth_audit_options){.db = db, .metrics = m}, &l),
                     0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(auth_audit(l, NULL, "snapshot", AUTH_AUDIT_OK, "camera", "c", NULL), 0);
    assert_int_equal(auth_audit(l, NULL, "snapshot", AUTH_AUDIT_OK, "camera", "lost", NULL),
                     -EAGAIN);
    assert_int_equal(auth_audit_lost(l), 1);
    size_t len;
    char *text = metrics_render(m, &len);
    assert_non_null(strstr(text, "horus_audit_entries_total{result=\"lost\"} 1"));
    free(text);

    assert_int_equal(sto_start(db), 0);
    assert_int_equal(auth_audit(l, NULL, "logout", AUTH_AUDIT_OK, NULL, NULL, NULL), 0);
    assert_int_equal(auth_audit_log_sync(l), 0);
    struct sto_audit_entry e;
    assert_int_equal(sto_audit_get(db, 4, &e), 0);
    assert_string_equal(e.action, "audit.lost");
    assert_string_equal(e.details, "{\"count\":1}");
    assert_string_equal(e.outcome, "failed");
    sto_audit_entry_release(&e);
    assert_int_equal(sto_audit_get(db, 5, &e), 0);
    assert_string_equal(e.action, "logout");
    sto_audit_entry_release(&e);
    /* The loss was recorded once. */
    assert_int_equal(auth_audit(l, NULL, "logout", AUTH_AUDIT_OK, NULL, NULL, NULL), 0);
    assert_int_equal(auth_audit_log_sync(l), 0);
    assert_int_equal(sto_audit_get(db, 6, &e), 0);
    assert_string_equal(e.action, "logout");
    sto_audit_entry_release(&e);

    auth_audit_log_free(l);
    sto_close(db);
    metrics_registry_free(m);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_the_actor_of_a_principal_names_who_acted(void **state)
{
    (void)state;
    struct auth_audit_actor a = auth_audit_actor_of(NULL, "192.0.2.7");
    assert_null(a.kind);
    assert_null(a.id);
    assert_string_equal(a.client, "192.0.2.7");

    struct auth_principal *p =
        auth_principal_new(AUTH_KIND_SESSION, "sess1", "ann", AUTH_ROLE_VIEWER);
    snprintf(p->user, sizeof(p->user), "ann");
    snprintf(p->tenant, sizeof(p->tenant), "acme");
    a = auth_audit_actor_of(p, "::1");
    assert_string_equal(a.kind, "user");
    assert_string_equal(a.id, "ann"); /* the user, not the session handle */
    assert_string_equal(a.name, "ann");
    assert_string_equal(a.tenant, "acme");
    assert_string_equal(a.client, "::1");
    auth_principal_free(p);

    p = auth_principal_new(AUTH_KIND_API_KEY, "k1", "ci", AUTH_ROLE_ADMIN);
    snprintf(p->user, sizeof(p->user), "ann");
    a = auth_audit_actor_of(p, NULL);
    assert_string_equal(a.kind, "apikey");
    assert_string_equal(a.id, "k1");
    assert_string_equal(a.name, "ci");
    auth_principal_free(p);

    p = auth_principal_new(AUTH_KIND_JWT, "sub-1", "carol", AUTH_ROLE_VIEWER);
    a = auth_audit_actor_of(p, NULL);
    assert_string_equal(a.kind, "oidc");
    assert_string_equal(a.id, "sub-1");
    auth_principal_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_an_action_becomes_an_entry, sto_fixture_setup,
                                        sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_is_refused_and_a_null_log_records_nothing,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test(test_a_full_queue_loses_loudly_and_the_chain_records_the_loss),
        cmocka_unit_test(test_the_actor_of_a_principal_names_who_acted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
