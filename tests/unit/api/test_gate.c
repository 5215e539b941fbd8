/*
 * Tests src/api/gate.c's permission table: every registered route has a
 * known permission in the embedded openapi.json, and a route without one
 * (or with an unknown value) makes registration fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api_int.h"

#include <errno.h>
#include <string.h>

static int ok_cb(http_request *req, void *arg)
{
    (void)req;
    (void)arg;
    return 0;
}

static void test_every_registered_route_has_a_permission(void **state)
{
    api *a = NULL;
    assert_int_equal(api_new(&(struct api_options){0}, &a), 0);
    http_router *r = http_router_new();
    assert_int_equal(api_register(a, r), 0);
    size_t n = 0;
    const char *m, *t;
    while (http_router_route_at(r, n, &m, &t))
        n++;
    assert_int_equal(a->nroute_perms, n);
    assert_true(n >= 40);
    /* Spot checks of the table against the rules in docs/design/0016. */
    for (size_t i = 0; i < n; i++) {
        http_router_route_at(r, i, &m, &t);
        enum auth_perm p = a->route_perms[i];
        if (strcmp(t, "/health") == 0 || strcmp(t, "/ready") == 0)
            assert_int_equal(p, AUTH_PERM_PUBLIC);
        else if (strcmp(t, "/") == 0 || strcmp(t, "/{path}") == 0) /* the web UI's shell */
            assert_int_equal(p, AUTH_PERM_PUBLIC);
        else if (strcmp(t, "/metrics") == 0)
            assert_int_equal(p, AUTH_PERM_METRICS);
        else if (strcmp(t, "/api/v1/auth/login") == 0 ||
                 strcmp(t, "/api/v1/auth/methods") == 0 || /* the sign-in page's buttons */
                 strcmp(t, "/api/v1/auth/session") == 0 || /* "am I signed in?", 200 either way */
                 strncmp(t, "/api/v1/auth/oidc/", 18) == 0) /* the SSO login and callback */
            assert_int_equal(p, AUTH_PERM_PUBLIC);
        else if (strcmp(m, "OPTIONS") == 0) /* what an endpoint accepts (WHEP) */
            assert_int_equal(p, AUTH_PERM_PUBLIC);
        else
            assert_true(p >= AUTH_PERM_SELF);
        /* Viewers change nothing; a share link only hands out what they may watch (0021). */
        size_t tl = strlen(t);
        bool is_share = tl > 6 && strcmp(t + tl - 6, "/share") == 0;
        /* WHEP: a viewer's POST/PATCH/DELETE start, tune and end its own viewing (0055). */
        bool is_whep = strstr(t, "/whep") != NULL;
        if (strcmp(m, "GET") != 0 && strcmp(m, "OPTIONS") != 0 &&
            strncmp(t, "/api/v1/auth/", 13) != 0 && !is_share && !is_whep)
            assert_true(p >= AUTH_PERM_OPERATOR);
        if (is_share || (is_whep && strcmp(m, "OPTIONS") != 0))
            assert_int_equal(p, AUTH_PERM_VIEWER);
        if (strcmp(t, "/api/v1/system") == 0 && strcmp(m, "PATCH") == 0)
            assert_int_equal(p, AUTH_PERM_ADMIN);
        if (strcmp(t, "/api/v1/cameras/probe") == 0)
            assert_int_equal(p, AUTH_PERM_OPERATOR);
    }
    http_router_free(r);
    api_free(a);
}

static void test_a_route_without_a_known_permission_fails_registration(void **state)
{
    http_router *r = http_router_new();
    assert_int_equal(http_router_add(r, "GET", "/a", ok_cb, NULL), 0);
    assert_int_equal(http_router_add(r, "POST", "/a/{id}", ok_cb, NULL), 0);
    enum auth_perm *perms = NULL;
    size_t n = 0;
    char why[256];
    const char *good = "{\"paths\": {\"/a\": {\"get\": {\"x-horus-permission\": \"viewer\"}},"
                       " \"/a/{id}\": {\"post\": {\"x-horus-permission\": \"operator\"}}}}";
    assert_int_equal(api_permissions_load(good, strlen(good), r, &perms, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 2);
    assert_int_equal(perms[0], AUTH_PERM_VIEWER);
    assert_int_equal(perms[1], AUTH_PERM_OPERATOR);
    free(perms);
    const char *missing = "{\"paths\": {\"/a\": {\"get\": {\"x-horus-permission\": \"viewer\"}},"
                          " \"/a/{id}\": {\"post\": {}}}}";
    assert_int_equal(
        api_permissions_load(missing, strlen(missing), r, &perms, &n, why, sizeof(why)), -EINVAL);
    assert_null(perms);
    assert_non_null(strstr(why, "POST /a/{id}"));
    const char *unknown = "{\"paths\": {\"/a\": {\"get\": {\"x-horus-permission\": \"guest\"}},"
                          " \"/a/{id}\": {\"post\": {\"x-horus-permission\": \"admin\"}}}}";
    assert_int_equal(
        api_permissions_load(unknown, strlen(unknown), r, &perms, &n, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "'guest'"));
    assert_int_equal(api_permissions_load("{", 1, r, &perms, &n, why, sizeof(why)), -EINVAL);
    /* A route missing from the document entirely fails the same way. */
    assert_int_equal(http_router_add(r, "GET", "/b", ok_cb, NULL), 0);
    assert_int_equal(api_permissions_load(good, strlen(good), r, &perms, &n, why, sizeof(why)),
                     -EINVAL);
    assert_non_null(strstr(why, "GET /b"));
    http_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_registered_route_has_a_permission),
        cmocka_unit_test(test_a_route_without_a_known_permission_fails_registration),
    };
    return cmocka_run_group_tests_name("api.gate", tests, NULL, NULL);
}
