/*
 * The web UI's pure decisions (src/api/web_rules.c): Accept-Encoding,
 * the choice of a variant, path normalisation (traversal in every
 * spelling), content types and cache lifetimes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "web_int.h"

#include <errno.h>
#include <string.h>

#define ID WEB_ENC_BIT(WEB_ENC_IDENTITY)
#define GZ WEB_ENC_BIT(WEB_ENC_GZIP)
#define BR WEB_ENC_BIT(WEB_ENC_BR)

static void test_accept_encoding_lists(void **state)
{
    (void)state;
    assert_int_equal(web_accept_encoding(NULL), ID);
    assert_int_equal(web_accept_encoding(""), ID);
    assert_int_equal(web_accept_encoding("gzip, deflate, br, zstd"), ID | GZ | BR);
    assert_int_equal(web_accept_encoding("GZIP"), ID | GZ);
    assert_int_equal(web_accept_encoding("x-gzip"), ID | GZ);
    assert_int_equal(web_accept_encoding(" br ;q=0.5 ,gzip;q=1.000"), ID | GZ | BR);
    assert_int_equal(web_accept_encoding("br;q=0, gzip"), ID | GZ);
    assert_int_equal(web_accept_encoding("br;q=0.000, gzip;q=0.001"), ID | GZ);
    assert_int_equal(web_accept_encoding("*"), ID | GZ | BR);
    assert_int_equal(web_accept_encoding("*;q=0.1, br;q=0"), ID | GZ);
    /* identity: refused by name, or by *;q=0 unless named */
    assert_int_equal(web_accept_encoding("gzip, identity;q=0"), GZ);
    assert_int_equal(web_accept_encoding("br, *;q=0"), BR);
    assert_int_equal(web_accept_encoding("br, identity, *;q=0"), BR | ID);
    /* repeated: the most permissive wins */
    assert_int_equal(web_accept_encoding("br;q=0, br"), ID | BR);
    assert_int_equal(web_accept_encoding("br, br;q=0"), ID | BR);
}

static void test_accept_encoding_skips_what_does_not_parse(void **state)
{
    (void)state;
    assert_int_equal(web_accept_encoding("br;q=2"), ID); /* no such qvalue */
    assert_int_equal(web_accept_encoding("br;q=1.5"), ID);
    assert_int_equal(web_accept_encoding("br;q=0.0001"), ID);
    assert_int_equal(web_accept_encoding("br;q="), ID);
    assert_int_equal(web_accept_encoding("br;q=0;q=1"), ID);
    assert_int_equal(web_accept_encoding("br x, gzip"), ID | GZ);
    assert_int_equal(web_accept_encoding(",,, ;q=1, gzip;;"), ID);
    assert_int_equal(web_accept_encoding("gzip;level=9"), ID | GZ);
    assert_int_equal(web_accept_encoding("brotli, gzipx"), ID);
}

static void test_choice_prefers_br_then_gzip(void **state)
{
    (void)state;
    assert_int_equal(web_encoding_choose(ID | GZ | BR, ID | GZ | BR), WEB_ENC_BR);
    assert_int_equal(web_encoding_choose(ID | GZ, ID | GZ | BR), WEB_ENC_GZIP);
    assert_int_equal(web_encoding_choose(ID | GZ | BR, ID | GZ), WEB_ENC_GZIP);
    assert_int_equal(web_encoding_choose(ID | BR, ID | GZ), WEB_ENC_IDENTITY);
    assert_int_equal(web_encoding_choose(0, ID | GZ | BR), WEB_ENC_IDENTITY);
    assert_string_equal(web_encoding_name(WEB_ENC_BR), "br");
    assert_string_equal(web_encoding_name(WEB_ENC_GZIP), "gzip");
    assert_null(web_encoding_name(WEB_ENC_IDENTITY));
}

static void expect_path(const char *raw, const char *want)
{
    char out[WEB_PATH_MAX];
    int n = web_path_normalize(raw, out, sizeof(out));
    if (n < 0)
        fail_msg("'%s': %d, expected '%s'", raw, n, want);
    assert_string_equal(out, want);
    assert_int_equal((size_t)n, strlen(want));
}

static void expect_refused(const char *raw)
{
    char out[WEB_PATH_MAX];
    int n = web_path_normalize(raw, out, sizeof(out));
    if (n != -EINVAL)
        fail_msg("'%s' should be refused, got %d ('%s')", raw, n, n >= 0 ? out : "");
}

static void test_paths_normalise(void **state)
{
    (void)state;
    expect_path("/", "");
    expect_path("/index.html", "index.html");
    expect_path("/assets/index-Ab_c.js", "assets/index-Ab_c.js");
    expect_path("/assets//x.js", "assets/x.js");
    expect_path("/live/", "live");
    expect_path("//", "");
    expect_path("/a%2Fb", "a/b");
    expect_path("/cameras/front%20door", "cameras/front door");
    expect_path("/%e2%82%ac", "\xe2\x82\xac");
    expect_path("/...", "...");
    expect_path("/a..b/.c", "a..b/.c");
}

static void test_traversal_is_refused_in_every_spelling(void **state)
{
    (void)state;
    expect_refused("");
    expect_refused("index.html");
    expect_refused("/..");
    expect_refused("/../etc/passwd");
    expect_refused("/assets/../../etc/passwd");
    expect_refused("/..%2f..%2fetc/passwd");
    expect_refused("/%2e%2e/etc/passwd");
    expect_refused("/%2E%2E%2Fetc");
    expect_refused("/a/.%2e/b");
    expect_refused("/a/./b");
    expect_refused("/a%2f.%2fb");
    expect_refused("/a%00b");
    expect_refused("/a%");
    expect_refused("/a%2");
    expect_refused("/a%zz");
    expect_refused("/a%5cb"); /* backslash */
    expect_refused("/a\\b");
    expect_refused("/a%0ab");
    expect_refused("/a\x01");
    expect_refused("/a%7f");
    char small[4];
    assert_int_equal(web_path_normalize("/abcd", small, sizeof(small)), -EINVAL);
    assert_int_equal(web_path_normalize("/abc", small, sizeof(small)), 3);
    assert_int_equal(web_path_normalize(NULL, small, sizeof(small)), -EINVAL);
}

static void test_types_cache_and_extensions(void **state)
{
    (void)state;
    assert_string_equal(web_content_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(web_content_type("assets/a.js"), "text/javascript; charset=utf-8");
    assert_string_equal(web_content_type("assets/a.CSS"), "text/css; charset=utf-8");
    assert_string_equal(web_content_type("icon.svg"), "image/svg+xml");
    assert_string_equal(web_content_type("manifest.webmanifest"), "application/manifest+json");
    assert_string_equal(web_content_type("assets/f.woff2"), "font/woff2");
    assert_string_equal(web_content_type("x.tar.gz"), "application/octet-stream");
    assert_string_equal(web_content_type("a.js/b"), "application/octet-stream");
    assert_string_equal(web_content_type("noext"), "application/octet-stream");
    assert_string_equal(web_cache_control("assets/index-abc.js"),
                        "public, max-age=31536000, immutable");
    assert_string_equal(web_cache_control("index.html"), "no-cache");
    assert_string_equal(web_cache_control("icon.svg"), "no-cache");
    assert_string_equal(web_cache_control("manifest.webmanifest"), "no-cache");
    assert_string_equal(web_cache_control("assets/"), "no-cache");
    assert_string_equal(web_cache_control("assetsx/a.js"), "no-cache");
    assert_true(web_path_has_extension("assets/x.js"));
    assert_true(web_path_has_extension(".well-known"));
    assert_false(web_path_has_extension("live"));
    assert_false(web_path_has_extension("a.b/live"));
    assert_false(web_path_has_extension(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_encoding_lists),
        cmocka_unit_test(test_accept_encoding_skips_what_does_not_parse),
        cmocka_unit_test(test_choice_prefers_br_then_gzip),
        cmocka_unit_test(test_paths_normalise),
        cmocka_unit_test(test_traversal_is_refused_in_every_spelling),
        cmocka_unit_test(test_types_cache_and_extensions),
    };
    return cmocka_run_group_tests_name("api.web_rules", tests, NULL, NULL);
}
