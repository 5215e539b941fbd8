/*
 * Router tests: template validation, matching precedence, parameter
 * decoding, 404 versus 405, HEAD fallback and path limits. No sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int handler_a(http_request *req, void *arg)
{
    (void)req;
    (void)arg;
    return 0;
}

static int handler_b(http_request *req, void *arg)
{
    (void)req;
    (void)arg;
    return 0;
}

static int setup(void **state)
{
    *state = http_router_new();
    return 0;
}

static int teardown(void **state)
{
    http_router_free(*state);
    return 0;
}

static const char *param(const struct http_route_match *m, const char *name)
{
    for (unsigned i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return m->params[i].value;
    return NULL;
}

static void test_literal_route_matches_exact_path(void **state)
{
    http_router *r = *state;
    int tag = 0;
    assert_int_equal(http_router_add(r, "GET", "/health", handler_a, &tag), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/health", &m), 0);
    assert_ptr_equal(m.handler, handler_a);
    assert_ptr_equal(m.arg, &tag);
    assert_string_equal(m.tmpl, "/health");
    assert_string_equal(m.method, "GET");
    assert_int_equal(m.index, 0);
    assert_int_equal(m.nparams, 0);
    http_route_match_release(&m);
}

static void test_root_template_matches_only_slash(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/", handler_a, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/", &m), 0);
    assert_string_equal(m.tmpl, "/");
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "//", &m), -ENOENT);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/x", &m), -ENOENT);
    http_route_match_release(&m);
}

static void test_param_captures_one_segment(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/api/v1/cameras/{id}/recordings", handler_a, NULL),
                     0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/api/v1/cameras/front_door/recordings", &m), 0);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(param(&m, "id"), "front_door");
    assert_string_equal(m.tmpl, "/api/v1/cameras/{id}/recordings");
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/api/v1/cameras//recordings", &m), -ENOENT);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/api/v1/cameras/a/b/recordings", &m), -ENOENT);
    http_route_match_release(&m);
}

static void test_several_params_are_returned_in_path_order(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/a/{x}/b/{y}/{z}", handler_a, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/a/1/b/2/3", &m), 0);
    assert_int_equal(m.nparams, 3);
    assert_string_equal(m.params[0].name, "x");
    assert_string_equal(m.params[0].value, "1");
    assert_string_equal(m.params[1].name, "y");
    assert_string_equal(m.params[1].value, "2");
    assert_string_equal(m.params[2].name, "z");
    assert_string_equal(m.params[2].value, "3");
    http_route_match_release(&m);
}

static void test_literal_segment_beats_param(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/cameras/{id}", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/cameras/new", handler_b, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/cameras/new", &m), 0);
    assert_ptr_equal(m.handler, handler_b);
    assert_int_equal(m.index, 1);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/cameras/newer", &m), 0);
    assert_ptr_equal(m.handler, handler_a);
    assert_string_equal(param(&m, "id"), "newer");
    http_route_match_release(&m);
}

static void test_dead_literal_branch_falls_back_to_param(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/a/b/c", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/a/{x}/d", handler_b, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/a/b/d", &m), 0);
    assert_ptr_equal(m.handler, handler_b);
    assert_string_equal(param(&m, "x"), "b");
    http_route_match_release(&m);
}

static void test_routes_sharing_a_param_node_keep_their_own_names(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/cameras/{id}", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "DELETE", "/cameras/{cam}", handler_b, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "DELETE", "/cameras/x", &m), 0);
    assert_string_equal(param(&m, "cam"), "x");
    assert_null(param(&m, "id"));
    http_route_match_release(&m);
}

static void test_trailing_slash_does_not_match(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/api/v1/cameras", handler_a, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/api/v1/cameras/", &m), -ENOENT);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/api//v1/cameras", &m), -ENOENT);
    http_route_match_release(&m);
}

static void test_unknown_path_is_enoent(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/health", handler_a, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/nope", &m), -ENOENT);
    assert_null(m.handler);
    assert_null(m.tmpl);
    http_route_match_release(&m);
}

static void test_wrong_method_is_emethod_with_allow_list(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/cameras", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "POST", "/cameras", handler_b, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "DELETE", "/cameras", &m), HORUS_EMETHOD);
    assert_string_equal(m.allow, "GET, HEAD, POST");
    assert_null(m.handler);
    http_route_match_release(&m);
}

static void test_allow_list_merges_every_matching_template(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "PUT", "/cameras/{id}", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "POST", "/cameras/reload", handler_b, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/cameras/reload", &m), HORUS_EMETHOD);
    assert_string_equal(m.allow, "POST, PUT");
    http_route_match_release(&m);
    /* The method exists on the param route, so the literal's lack of it does not matter. */
    assert_int_equal(http_router_match(r, "PUT", "/cameras/reload", &m), 0);
    assert_ptr_equal(m.handler, handler_a);
    http_route_match_release(&m);
}

static void test_head_is_served_by_get_route(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/health", handler_a, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "HEAD", "/health", &m), 0);
    assert_ptr_equal(m.handler, handler_a);
    assert_string_equal(m.method, "GET");
    http_route_match_release(&m);
}

static void test_explicit_head_route_wins_over_get(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/x", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "HEAD", "/x", handler_b, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "HEAD", "/x", &m), 0);
    assert_ptr_equal(m.handler, handler_b);
    assert_string_equal(m.method, "HEAD");
    http_route_match_release(&m);
}

static void test_param_values_are_percent_decoded(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/files/{name}", handler_a, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/files/a%20b%2Fc%c3%A9+d", &m), 0);
    assert_string_equal(param(&m, "name"), "a b/c\xc3\xa9+d");
    http_route_match_release(&m);
}

static void test_invalid_escapes_and_nul_are_einval(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/files/{name}", handler_a, NULL), 0);
    const char *bad[] = {"/files/a%00b", "/files/a%zz", "/files/a%2", "/files/%", "/files/%g0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_route_match m;
        assert_int_equal(http_router_match(r, "GET", bad[i], &m), -EINVAL);
        http_route_match_release(&m);
    }
}

static void test_dot_segments_are_rejected(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/files/{name}", handler_a, NULL), 0);
    const char *bad[] = {"/files/..",     "/files/.",   "/../files/x",
                         "/files/%2e%2E", "/files/%2e", "/./files/x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_route_match m;
        assert_int_equal(http_router_match(r, "GET", bad[i], &m), -EINVAL);
        http_route_match_release(&m);
    }
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/files/...", &m), 0);
    assert_string_equal(param(&m, "name"), "...");
    http_route_match_release(&m);
}

static void test_path_limits_are_enforced(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/{a}", handler_a, NULL), 0);
    struct http_route_match m;

    char *path = malloc(HTTP_MAX_PATH + 2);
    path[0] = '/';
    memset(path + 1, 'x', HTTP_MAX_PATH - 1);
    path[HTTP_MAX_PATH] = '\0';
    assert_int_equal(http_router_match(r, "GET", path, &m), 0);
    assert_int_equal(strlen(param(&m, "a")), HTTP_MAX_PATH - 1);
    http_route_match_release(&m);
    path[HTTP_MAX_PATH] = 'x';
    path[HTTP_MAX_PATH + 1] = '\0';
    assert_int_equal(http_router_match(r, "GET", path, &m), -EINVAL);
    http_route_match_release(&m);

    /* Very deep paths match nothing, quickly, and still reject dot segments. */
    for (size_t i = 0; i + 1 < HTTP_MAX_PATH; i += 2) {
        path[i] = '/';
        path[i + 1] = 'a';
    }
    path[HTTP_MAX_PATH] = '\0';
    assert_int_equal(http_router_match(r, "GET", path, &m), -ENOENT);
    http_route_match_release(&m);
    memcpy(path + HTTP_MAX_PATH - 4, "/../", 4);
    assert_int_equal(http_router_match(r, "GET", path, &m), -EINVAL);
    http_route_match_release(&m);
    free(path);

    const char *bad[] = {"", "health", "*", "http://host/x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(http_router_match(r, "GET", bad[i], &m), -EINVAL);
        http_route_match_release(&m);
    }
}

static void test_literals_match_raw_encoded_bytes(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/cameras", handler_a, NULL), 0);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/%63ameras", &m), -ENOENT);
    http_route_match_release(&m);
}

static void test_duplicate_route_is_eexist(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/cameras/{id}", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/cameras/{id}", handler_b, NULL), -EEXIST);
    assert_int_equal(http_router_add(r, "GET", "/cameras/{other}", handler_b, NULL), -EEXIST);
    assert_int_equal(http_router_add(r, "POST", "/cameras/{id}", handler_b, NULL), 0);
    const char *method, *tmpl;
    assert_true(http_router_route_at(r, 1, &method, &tmpl));
    assert_false(http_router_route_at(r, 2, &method, &tmpl));
}

static void test_malformed_templates_are_einval(void **state)
{
    http_router *r = *state;
    const char *bad[] = {"",       "health",     "/health/",
                         "//x",    "/a//b",      "/{}",
                         "/{id",   "/id}",       "/x{id}",
                         "/{i-d}", "/{id}/{id}", "/a/../b",
                         "/./b",   "/a%20b",     "/a?b",
                         "/a#b",   "/a b",       "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(http_router_add(r, "GET", bad[i], handler_a, NULL), -EINVAL);
    assert_int_equal(http_router_add(r, "get", "/x", handler_a, NULL), -EINVAL);
    assert_int_equal(http_router_add(r, "", "/x", handler_a, NULL), -EINVAL);
    assert_int_equal(http_router_add(r, "GET", "/x", NULL, NULL), -EINVAL);
    assert_false(http_router_route_at(r, 0, NULL, NULL));
    assert_int_equal(http_router_add(r, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", handler_a, NULL),
                     0);
}

static void test_routes_are_listed_in_registration_order(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/b", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "POST", "/a/{id}", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/", handler_a, NULL), 0);
    const char *method, *tmpl;
    assert_true(http_router_route_at(r, 0, &method, &tmpl));
    assert_string_equal(method, "GET");
    assert_string_equal(tmpl, "/b");
    assert_true(http_router_route_at(r, 1, &method, &tmpl));
    assert_string_equal(method, "POST");
    assert_string_equal(tmpl, "/a/{id}");
    assert_true(http_router_route_at(r, 2, &method, &tmpl));
    assert_string_equal(tmpl, "/");
    assert_false(http_router_route_at(r, 3, &method, &tmpl));
}

static void test_empty_router_matches_nothing(void **state)
{
    http_router *r = *state;
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "GET", "/", &m), -ENOENT);
    http_route_match_release(&m);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

static void test_limit_classes_follow_the_template_for_every_method(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "GET", "/c/{id}/live/part/{name}", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "POST", "/c/{id}/live/part/{name}", handler_b, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/c/{id}", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/health", handler_a, NULL), 0);
    assert_int_equal(http_router_set_limit_class(r, "/c/{id}/live/part/{name}", HTTP_LIMIT_MEDIA),
                     0);
    assert_int_equal(http_router_set_limit_class(r, "/health", HTTP_LIMIT_EXEMPT), 0);
    /* The template must be one that was registered, spelled the same. */
    assert_int_equal(http_router_set_limit_class(r, "/c/{x}/live/part/{name}", HTTP_LIMIT_MEDIA),
                     -ENOENT);
    struct http_route_match m;
    const char *method[] = {"GET", "POST", "HEAD"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(http_router_match(r, method[i], "/c/1/live/part/7.m4s", &m), 0);
        assert_int_equal(m.limit_class, HTTP_LIMIT_MEDIA);
        http_route_match_release(&m);
    }
    assert_int_equal(http_router_match(r, "GET", "/c/1", &m), 0);
    assert_int_equal(m.limit_class, HTTP_LIMIT_API);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/health", &m), 0);
    assert_int_equal(m.limit_class, HTTP_LIMIT_EXEMPT);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/nothing", &m), -ENOENT);
    assert_int_equal(m.limit_class, HTTP_LIMIT_API);
    http_route_match_release(&m);
}

static void test_catch_all_answers_only_unmatched_unreserved_paths(void **state)
{
    http_router *r = *state;
    int ui = 0;
    assert_int_equal(http_router_add(r, "GET", "/api/v1/cameras/{id}", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "POST", "/api/v1/cameras", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/health", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/", handler_b, &ui), 0);
    assert_int_equal(http_router_add_catch_all(r, "GET", "/{path}", handler_b, &ui), 0);
    assert_int_equal(http_router_reserve(r, "/api"), 0);
    assert_int_equal(http_router_reserve(r, "/health"), 0);
    struct http_route_match m;
    /* Any depth, decoded, the template as its label; HEAD served by GET. */
    const char *method[] = {"GET", "HEAD"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(http_router_match(r, method[i], "/cameras/front%20door/edit", &m), 0);
        assert_ptr_equal(m.handler, handler_b);
        assert_string_equal(m.tmpl, "/{path}");
        assert_string_equal(param(&m, "path"), "cameras/front door/edit");
        http_route_match_release(&m);
    }
    assert_int_equal(http_router_match(r, "GET", "/assets/x%2Fy.js", &m), 0);
    assert_string_equal(param(&m, "path"), "assets/x/y.js");
    http_route_match_release(&m);
    /* The tree wins; reserved prefixes stay 404 however deep; a lookalike is not reserved. */
    assert_int_equal(http_router_match(r, "GET", "/api/v1/cameras/a", &m), 0);
    assert_ptr_equal(m.handler, handler_a);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/api/v1/nothing", &m), -ENOENT);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/api", &m), -ENOENT);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "DELETE", "/api/v1/x/y", &m), -ENOENT);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/health/x", &m), -ENOENT);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/apiary", &m), 0);
    assert_ptr_equal(m.handler, handler_b);
    http_route_match_release(&m);
    /* A path the tree knows keeps its 405; an unknown one gets the catch-all's. */
    assert_int_equal(http_router_match(r, "GET", "/api/v1/cameras", &m), HORUS_EMETHOD);
    assert_string_equal(m.allow, "POST");
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "POST", "/live", &m), HORUS_EMETHOD);
    assert_string_equal(m.allow, "GET, HEAD");
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "POST", "/", &m), HORUS_EMETHOD);
    http_route_match_release(&m);
    /* Encoded dot segments never reach the handler. */
    assert_int_equal(http_router_match(r, "GET", "/..%2f..%2fetc/passwd", &m), -EINVAL);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/a/%2e%2e/b", &m), -EINVAL);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/a%00b", &m), -EINVAL);
    http_route_match_release(&m);
    /* The route is listed for the gate and the OpenAPI checks. */
    const char *mm, *tmpl;
    assert_true(http_router_route_at(r, 4, &mm, &tmpl));
    assert_string_equal(tmpl, "/{path}");
    assert_string_equal(mm, "GET");
    assert_int_equal(http_router_set_limit_class(r, "/{path}", HTTP_LIMIT_MEDIA), 0);
    assert_int_equal(http_router_match(r, "GET", "/x", &m), 0);
    assert_int_equal(m.limit_class, HTTP_LIMIT_MEDIA);
    assert_int_equal(m.index, 4);
    http_route_match_release(&m);
}

static void test_catch_all_templates_are_checked(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add_catch_all(r, "GET", "/a/{path}", handler_a, NULL), -EINVAL);
    assert_int_equal(http_router_add_catch_all(r, "GET", "/path", handler_a, NULL), -EINVAL);
    assert_int_equal(http_router_add_catch_all(r, "GET", "/{}", handler_a, NULL), -EINVAL);
    assert_int_equal(http_router_add_catch_all(r, "get", "/{path}", handler_a, NULL), -EINVAL);
    assert_int_equal(http_router_add_catch_all(r, "GET", "/{path}", handler_a, NULL), 0);
    assert_int_equal(http_router_add_catch_all(r, "GET", "/{p}", handler_a, NULL), -EEXIST);
    assert_int_equal(http_router_reserve(r, "api"), -EINVAL);
    assert_int_equal(http_router_reserve(r, "/api/"), -EINVAL);
    struct http_route_match m;
    /* Without a root route "/" is still unknown. */
    assert_int_equal(http_router_match(r, "GET", "/", &m), -ENOENT);
    http_route_match_release(&m);
}

static void test_route_body_limit_is_the_routes_own(void **state)
{
    http_router *r = *state;
    assert_int_equal(http_router_add(r, "POST", "/v1/vision/detection", handler_a, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/v1/vision/detection", handler_b, NULL), 0);
    assert_int_equal(http_router_set_body_limit(r, "POST", "/v1/vision/detection", 10u << 20), 0);
    assert_int_equal(http_router_set_body_limit(r, "PUT", "/v1/vision/detection", 5), -ENOENT);
    struct http_route_match m;
    assert_int_equal(http_router_match(r, "POST", "/v1/vision/detection", &m), 0);
    assert_int_equal(m.max_body_bytes, 10u << 20);
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "GET", "/v1/vision/detection", &m), 0);
    assert_int_equal(m.max_body_bytes, 0); /* the server's */
    http_route_match_release(&m);
    assert_int_equal(http_router_match(r, "POST", "/v1/other", &m), -ENOENT);
    assert_int_equal(m.max_body_bytes, 0);
    http_route_match_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_route_body_limit_is_the_routes_own),
        T(test_catch_all_answers_only_unmatched_unreserved_paths),
        T(test_catch_all_templates_are_checked),
        T(test_literal_route_matches_exact_path),
        T(test_limit_classes_follow_the_template_for_every_method),
        T(test_root_template_matches_only_slash),
        T(test_param_captures_one_segment),
        T(test_several_params_are_returned_in_path_order),
        T(test_literal_segment_beats_param),
        T(test_dead_literal_branch_falls_back_to_param),
        T(test_routes_sharing_a_param_node_keep_their_own_names),
        T(test_trailing_slash_does_not_match),
        T(test_unknown_path_is_enoent),
        T(test_wrong_method_is_emethod_with_allow_list),
        T(test_allow_list_merges_every_matching_template),
        T(test_head_is_served_by_get_route),
        T(test_explicit_head_route_wins_over_get),
        T(test_param_values_are_percent_decoded),
        T(test_invalid_escapes_and_nul_are_einval),
        T(test_dot_segments_are_rejected),
        T(test_path_limits_are_enforced),
        T(test_literals_match_raw_encoded_bytes),
        T(test_duplicate_route_is_eexist),
        T(test_malformed_templates_are_einval),
        T(test_routes_are_listed_in_registration_order),
        T(test_empty_router_matches_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
