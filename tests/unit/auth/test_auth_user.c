/*
 * Tests src/auth/auth_user.c against a real SQLite index: logins, session
 * idle and absolute expiry on the fake clock, disabled users, the first start.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_user.h"
#include "clock.h"
#include "err.h"
#include "sto_fixture.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define IDLE_MS (30 * 60 * 1000)
#define MAX_MS (12 * 3600 * 1000)

static void add_user(sto_db *db, const char *name, const char *pw, enum auth_role role)
{
    char why[160];
    struct auth_user_options o = {.name = name, .role = role, .password = pw};
    assert_int_equal(auth_user_create(db, &o, NULL, why, sizeof(why)), 0);
}

static int login(sto_db *db, clock_fake *clk, const char *user, const char *pw,
                 struct auth_login_result *res)
{
    struct auth_login in = {.username = user,
                            .password = pw,
                            .remote = "127.0.0.1",
                            .now_ms = clock_realtime_ms(&clk->base),
                            .session_max_ms = MAX_MS};
    return auth_login_password(db, &in, res);
}

static int check(sto_db *db, clock_fake *clk, const char *token)
{
    struct auth_principal *p = NULL;
    int rc = auth_session_authenticate(db, token, clock_realtime_ms(&clk->base), IDLE_MS, &p);
    assert_true(rc == 0 ? p != NULL : p == NULL);
    auth_principal_free(p);
    /* let queued last-seen stamps land before the next read */
    assert_int_equal(sto_setting_put(db, "flush", "x"), 0);
    return rc;
}

static void test_a_login_opens_a_session_the_cookie_token_finds(void **state)
{
    struct sto_fixture *f = *state;
    clock_fake clk;
    clock_fake_init(&clk, 1700000000000);
    add_user(f->db, "ann", "ann-password", AUTH_ROLE_OPERATOR);
    struct auth_login_result res;
    assert_int_equal(login(f->db, &clk, "ann", "ann-password", &res), 0);
    assert_int_equal(res.principal->role, AUTH_ROLE_OPERATOR);
    assert_string_equal(res.principal->csrf_token, res.csrf_token);
    assert_int_equal(res.expires_at_ms, 1700000000000 + MAX_MS);
    struct auth_principal *p = NULL;
    assert_int_equal(
        auth_session_authenticate(f->db, res.token, clock_realtime_ms(&clk.base), IDLE_MS, &p), 0);
    assert_string_equal(p->name, "ann");
    assert_string_equal(p->id, res.session_id);
    assert_string_equal(p->csrf_token, res.csrf_token);
    assert_int_equal(p->kind, AUTH_KIND_SESSION);
    auth_principal_free(p);
    auth_principal_free(res.principal);
    /* Wrong password, unknown user, invalid name: the same refusal. */
    assert_int_equal(login(f->db, &clk, "ann", "ann-passwore", &res), HORUS_EAUTH);
    assert_int_equal(login(f->db, &clk, "bob", "ann-password", &res), HORUS_EAUTH);
    assert_int_equal(login(f->db, &clk, "a n", "ann-password", &res), HORUS_EAUTH);
    assert_int_equal(login(f->db, &clk, "ann", NULL, &res), HORUS_EAUTH);
    assert_int_equal(check(f->db, &clk, "not-a-token"), HORUS_EAUTH);
}

/* The principal of token's session (new). */
static struct auth_principal *session_of(sto_db *db, clock_fake *clk, const char *token)
{
    struct auth_principal *p = NULL;
    assert_int_equal(
        auth_session_authenticate(db, token, clock_realtime_ms(&clk->base), IDLE_MS, &p), 0);
    return p;
}

static void test_a_session_keeps_how_it_was_opened(void **state)
{
    struct sto_fixture *f = *state;
    clock_fake clk;
    clock_fake_init(&clk, 1700000000000);
    add_user(f->db, "ann", "ann-password", AUTH_ROLE_ADMIN);
    struct auth_login_result pw;
    assert_int_equal(login(f->db, &clk, "ann", "ann-password", &pw), 0);
    assert_false(pw.principal->via_sso);

    struct sto_user u;
    assert_int_equal(sto_user_get(f->db, "ann", &u), 0);
    struct auth_principal *p = auth_principal_of_user(&u, AUTH_KIND_SESSION, "");
    sto_user_release(&u);
    p->via_sso = true;
    struct auth_login in = {
        .remote = "127.0.0.1", .now_ms = clock_realtime_ms(&clk.base), .session_max_ms = MAX_MS};
    struct auth_login_result sso;
    assert_int_equal(auth_session_open(f->db, p, &in, &sso), 0);

    struct auth_principal *a = session_of(f->db, &clk, pw.token);
    struct auth_principal *b = session_of(f->db, &clk, sso.token);
    assert_false(a->via_sso);
    assert_true(b->via_sso);
    struct sto_session row;
    assert_int_equal(sto_session_get(f->db, sso.session_id, &row), 0);
    assert_string_equal(row.method, STO_SESSION_SSO);
    sto_session_release(&row);
    assert_int_equal(sto_session_get(f->db, pw.session_id, &row), 0);
    assert_string_equal(row.method, STO_SESSION_PASSWORD);
    sto_session_release(&row);
    auth_principal_free(a);
    auth_principal_free(b);
    auth_principal_free(pw.principal);
    auth_principal_free(sso.principal);
}

static void test_sessions_expire_when_idle_and_at_their_absolute_end(void **state)
{
    struct sto_fixture *f = *state;
    clock_fake clk;
    clock_fake_init(&clk, 1700000000000);
    add_user(f->db, "ann", "ann-password", AUTH_ROLE_VIEWER);
    struct auth_login_result a, b;
    assert_int_equal(login(f->db, &clk, "ann", "ann-password", &a), 0);
    auth_principal_free(a.principal);
    /* Used every 20 minutes, the idle timeout of 30 never passes... */
    for (int i = 0; i < 40; i++) {
        clock_fake_advance_ms(&clk, 20 * 60 * 1000);
        int rc = check(f->db, &clk, a.token);
        if ((int64_t)(i + 1) * 20 * 60 * 1000 >= MAX_MS) {
            /* ...until the absolute timeout, 12 hours after login. */
            assert_int_equal(rc, HORUS_EAUTH);
            break;
        }
        assert_int_equal(rc, 0);
        assert_true(i < 36);
    }
    assert_int_equal(check(f->db, &clk, a.token), HORUS_EAUTH); /* and it was deleted */
    struct sto_session *list;
    size_t n;
    assert_int_equal(sto_session_list(f->db, "ann", &list, &n), 0);
    assert_int_equal(n, 0);
    sto_session_list_free(list, n);
    /* Left alone for the idle timeout, a session ends. */
    assert_int_equal(login(f->db, &clk, "ann", "ann-password", &b), 0);
    auth_principal_free(b.principal);
    clock_fake_advance_ms(&clk, IDLE_MS - 1);
    assert_int_equal(check(f->db, &clk, b.token), 0);
    clock_fake_advance_ms(&clk, IDLE_MS);
    assert_int_equal(check(f->db, &clk, b.token), HORUS_EAUTH);
    /* Sessions past their end that nobody came back with are purged at the next login. */
    struct auth_login_result c, d;
    assert_int_equal(login(f->db, &clk, "ann", "ann-password", &c), 0);
    auth_principal_free(c.principal);
    clock_fake_advance_ms(&clk, MAX_MS);
    assert_int_equal(login(f->db, &clk, "ann", "ann-password", &d), 0);
    auth_principal_free(d.principal);
    assert_int_equal(sto_session_list(f->db, "ann", &list, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].id, d.session_id);
    sto_session_list_free(list, n);
}

static void test_disabling_a_user_ends_its_sessions_and_logins(void **state)
{
    struct sto_fixture *f = *state;
    clock_fake clk;
    clock_fake_init(&clk, 1700000000000);
    add_user(f->db, "dee", "dee-password", AUTH_ROLE_ADMIN);
    struct auth_login_result a;
    assert_int_equal(login(f->db, &clk, "dee", "dee-password", &a), 0);
    auth_principal_free(a.principal);
    struct sto_user u;
    assert_int_equal(sto_user_get(f->db, "dee", &u), 0);
    struct sto_user_input in = sto_user_input_of(&u);
    in.disabled = true;
    assert_int_equal(sto_user_update(f->db, &in), 0);
    sto_user_release(&u);
    assert_int_equal(check(f->db, &clk, a.token), HORUS_EAUTH);
    assert_int_equal(login(f->db, &clk, "dee", "dee-password", &a), HORUS_EAUTH);
}

static void test_first_start_makes_one_admin_with_a_private_password_file(void **state)
{
    struct sto_fixture *f = *state;
    bool created = false;
    assert_int_equal(auth_first_start(f->db, f->dir, &created), 0);
    assert_true(created);
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", f->dir, AUTH_INITIAL_PASSWORD_FILE);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *fp = fopen(path, "r");
    char pw[64] = "";
    assert_non_null(fgets(pw, sizeof(pw), fp));
    fclose(fp);
    pw[strcspn(pw, "\n")] = '\0';
    clock_fake clk;
    clock_fake_init(&clk, 1700000000000);
    struct auth_login_result res;
    assert_int_equal(login(f->db, &clk, "admin", pw, &res), 0);
    assert_true(res.principal->must_change_password);
    assert_int_equal(res.principal->role, AUTH_ROLE_ADMIN);
    auth_principal_free(res.principal);
    /* A second start with a user present does nothing. */
    assert_int_equal(auth_first_start(f->db, f->dir, &created), 0);
    assert_false(created);
    /* Changing the password clears the flag and ends the other sessions. */
    char why[160];
    assert_int_equal(auth_user_set_password(f->db, "admin", "short", false, NULL, why, sizeof(why)),
                     -EINVAL);
    assert_int_equal(
        auth_user_set_password(f->db, "admin", "a new password", false, NULL, why, sizeof(why)), 0);
    assert_int_equal(check(f->db, &clk, res.token), HORUS_EAUTH);
    assert_int_equal(login(f->db, &clk, "admin", "a new password", &res), 0);
    assert_false(res.principal->must_change_password);
    auth_principal_free(res.principal);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_login_opens_a_session_the_cookie_token_finds,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_a_session_keeps_how_it_was_opened, sto_fixture_setup,
                                        sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_sessions_expire_when_idle_and_at_their_absolute_end,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_disabling_a_user_ends_its_sessions_and_logins,
                                        sto_fixture_setup, sto_fixture_teardown),
        cmocka_unit_test_setup_teardown(
            test_first_start_makes_one_admin_with_a_private_password_file, sto_fixture_setup,
            sto_fixture_teardown),
    };
    return cmocka_run_group_tests_name("auth.auth_user", tests, NULL, NULL);
}
