/*
 * Tests that the embedded OpenAPI document and the registered routes agree
 * both ways: a route missing from the document, or a documented operation
 * with no route, fails the build's tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api.h"

#include <ctype.h>
#include <string.h>

static json_t *load_doc(void)
{
    json_error_t err;
    json_t *doc = json_loadb(horus_openapi_json, horus_openapi_json_len, 0, &err);
    if (!doc)
        fail_msg("openapi.json:%d:%d: %s", err.line, err.column, err.text);
    return doc;
}

static void lower(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[i] = '\0';
}

static void test_every_registered_route_is_documented(void **state)
{
    api *a = NULL;
    assert_int_equal(api_new(&(struct api_options){0}, &a), 0);
    http_router *r = http_router_new();
    assert_int_equal(api_register(a, r), 0);
    json_t *doc = load_doc();
    json_t *paths = json_object_get(doc, "paths");
    const char *method, *tmpl;
    size_t n = 0;
    for (size_t i = 0; http_router_route_at(r, i, &method, &tmpl); i++, n++) {
        char m[16];
        lower(method, m, sizeof(m));
        json_t *op = json_object_get(json_object_get(paths, tmpl), m);
        if (!op)
            fail_msg("route %s %s is not in openapi.json", method, tmpl);
        assert_non_null(json_object_get(op, "responses"));
    }
    assert_true(n >= 7);
    json_decref(doc);
    http_router_free(r);
    api_free(a);
}

static void test_every_documented_operation_has_a_route(void **state)
{
    api *a = NULL;
    assert_int_equal(api_new(&(struct api_options){0}, &a), 0);
    http_router *r = http_router_new();
    assert_int_equal(api_register(a, r), 0);
    json_t *doc = load_doc();
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op)
        {
            static const char *const methods[] = {"get", "put", "post", "delete", "patch", "head"};
            bool is_method = false;
            for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++)
                is_method |= strcmp(m, methods[k]) == 0;
            if (!is_method)
                continue; /* "parameters", "summary": not operations */
            bool found = false;
            const char *method, *tmpl;
            for (size_t i = 0; http_router_route_at(r, i, &method, &tmpl); i++) {
                char lm[16];
                lower(method, lm, sizeof(lm));
                if (strcmp(tmpl, path) == 0 && strcmp(lm, m) == 0)
                    found = true;
            }
            if (!found)
                fail_msg("openapi.json documents %s %s but no route serves it", m, path);
        }
    }
    json_decref(doc);
    http_router_free(r);
    api_free(a);
}

static void test_document_declares_openapi_3_1_and_the_error_envelope(void **state)
{
    json_t *doc = load_doc();
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    json_t *err =
        json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), "Error");
    assert_non_null(err);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_registered_route_is_documented),
        cmocka_unit_test(test_every_documented_operation_has_a_route),
        cmocka_unit_test(test_document_declares_openapi_3_1_and_the_error_envelope),
    };
    return cmocka_run_group_tests_name("api.openapi", tests, NULL, NULL);
}
