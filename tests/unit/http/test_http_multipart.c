/*
 * Tests for src/http/http_multipart.c: boundaries from Content-Type,
 * parts split in place (binary data with CRLFs and lookalike boundaries
 * inside), and malformed bodies refused with a sentence.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "http_multipart.h"

#include <errno.h>
#include <string.h>

static void test_boundary_from_content_type(void **state)
{
    (void)state;
    char b[HTTP_MULTIPART_BOUNDARY_MAX + 1];
    assert_int_equal(http_multipart_boundary("multipart/form-data; boundary=abc123", b, sizeof(b)),
                     0);
    assert_string_equal(b, "abc123");
    assert_int_equal(
        http_multipart_boundary("Multipart/Form-Data; charset=x; boundary=\"a b\"", b, sizeof(b)),
        0);
    assert_string_equal(b, "a b");
    assert_int_equal(http_multipart_boundary("application/json", b, sizeof(b)), -EINVAL);
    assert_int_equal(http_multipart_boundary("multipart/form-data", b, sizeof(b)), -EINVAL);
    assert_int_equal(http_multipart_boundary("multipart/form-data; boundary=", b, sizeof(b)),
                     -EINVAL);
    assert_int_equal(http_multipart_boundary(NULL, b, sizeof(b)), -EINVAL);
    char longb[200] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'x', 71);
    assert_int_equal(http_multipart_boundary(longb, b, sizeof(b)), -EINVAL);
}

static void test_parts_are_split_in_place(void **state)
{
    (void)state;
    static const char body[] =
        "preamble\r\n"
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n"
        "\r\n"
        "\xff\xd8\r\n--XyQ\r\n\0bin\r\n"
        "--XyZ\r\n"
        "content-disposition: form-data; name=min_confidence\r\n"
        "\r\n"
        "0.5\r\n"
        "--XyZ--\r\n";
    struct http_multipart_part p[4];
    size_t n = 0;
    char why[128] = "";
    assert_int_equal(
        http_multipart_parse(body, sizeof(body) - 1, "XyZ", p, 4, &n, why, sizeof(why)), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(p[0].name, "image", 5);
    assert_int_equal(p[0].name_len, 5);
    assert_memory_equal(p[0].filename, "a.jpg", 5);
    assert_memory_equal(p[0].content_type, "image/jpeg", 10);
    assert_int_equal(p[0].len, 15);
    assert_memory_equal(p[0].data, "\xff\xd8\r\n--XyQ\r\n\0bin", 15);
    const struct http_multipart_part *mc = http_multipart_find(p, n, "min_confidence");
    assert_non_null(mc);
    assert_int_equal(mc->len, 3);
    assert_memory_equal(mc->data, "0.5", 3);
    assert_null(mc->filename);
    assert_null(http_multipart_find(p, n, "imag"));
}

static void expect_refused(const char *body, size_t cap, const char *message)
{
    struct http_multipart_part p[4];
    size_t n = 0;
    char why[128] = "";
    assert_int_equal(http_multipart_parse(body, strlen(body), "b", p, cap, &n, why, sizeof(why)),
                     -EINVAL);
    if (!strstr(why, message))
        fail_msg("'%s' lacks '%s'", why, message);
}

static void test_malformed_bodies_are_refused(void **state)
{
    (void)state;
    expect_refused("no delimiter here", 4, "no boundary in the body");
    expect_refused("--b\r\nContent-Disposition: form-data; name=a\r\n\r\ndata", 4,
                   "part 1: no closing boundary");
    expect_refused("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--", 4,
                   "part 1: no Content-Disposition name");
    expect_refused("--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--", 4,
                   "part 1: Content-Disposition is not form-data");
    expect_refused("--b\r\nbroken header\r\n\r\nx\r\n--b--", 4, "header line without ':'");
    expect_refused("--bjunk", 4, "malformed boundary line");
    expect_refused("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n"
                   "--b\r\nContent-Disposition: form-data; name=c\r\n\r\ny\r\n--b--",
                   1, "more than 1 parts");
    expect_refused("--b\r\nContent-Disposition: form-data; name=a", 4, "headers not ended");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary_from_content_type),
        cmocka_unit_test(test_parts_are_split_in_place),
        cmocka_unit_test(test_malformed_bodies_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
