/* Tests for src/api/errors.c: the one map from internal codes to HTTP statuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api.h"
#include "err.h"

#include <errno.h>
#include <string.h>

static void expect(int rc, unsigned status, const char *code)
{
    struct http_error_map m = api_error_map(rc);
    assert_int_equal(m.status, status);
    assert_string_equal(m.code, code);
}

static void test_codes_map_to_the_documented_statuses(void **state)
{
    expect(-ENOENT, 404, "not_found");
    expect(-EINVAL, 400, "invalid");
    expect(HORUS_EPARSE, 400, "invalid_json");
    expect(-EACCES, 403, "forbidden");
    expect(HORUS_EAUTH, 401, "unauthenticated");
    expect(HORUS_EMETHOD, 405, "method_not_allowed");
    expect(-EBUSY, 409, "conflict");
    expect(HORUS_ETOOBIG, 413, "too_large");
    expect(-ENOSPC, 507, "insufficient_storage");
    expect(HORUS_EUNAVAIL, 503, "unavailable");
    expect(HORUS_EDISABLED, 503, "disabled"); /* off in the config, not "try later" */
}

/* A locked database is worth a retry (503), a duplicate id is not (409). */
static void test_database_busy_is_unavailable_not_conflict(void **state)
{
    expect(HORUS_EDBBUSY, 503, "unavailable");
    assert_int_equal(api_error_map(HORUS_EDBBUSY).retry_after_s, 1); /* a lock passes */
    expect(-EEXIST, 409, "conflict");
    assert_int_equal(api_error_map(-EEXIST).retry_after_s, 0);
    assert_string_equal(horus_errname(HORUS_EDBBUSY), "HORUS_EDBBUSY");
    assert_string_equal(horus_strerror(HORUS_EDBBUSY), "database busy");
}

static void test_unknown_codes_are_internal_errors(void **state)
{
    expect(-EIO, 500, "internal");
    expect(HORUS_EDB, 500, "internal");
    expect(-123456, 500, "internal");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_map_to_the_documented_statuses),
        cmocka_unit_test(test_database_busy_is_unavailable_not_conflict),
        cmocka_unit_test(test_unknown_codes_are_internal_errors),
    };
    return cmocka_run_group_tests_name("api.errors", tests, NULL, NULL);
}
