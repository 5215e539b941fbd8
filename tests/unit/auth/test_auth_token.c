/* Tests for src/auth/auth_token.c: RFC 4648 vectors, strict decoding, tokens, compares. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_token.h"

#include <errno.h>
#include <string.h>

static void test_b64url_matches_rfc4648_vectors_without_padding(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
             {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char out[32];
        int n = auth_b64url_encode(v[i].in, strlen(v[i].in), out, sizeof(out));
        assert_int_equal(n, (int)strlen(v[i].out));
        assert_string_equal(out, v[i].out);
        uint8_t back[32];
        n = auth_b64url_decode(out, strlen(out), back, sizeof(back));
        assert_int_equal(n, (int)strlen(v[i].in));
        assert_memory_equal(back, v[i].in, (size_t)n);
    }
    /* The two URL-safe characters. */
    const uint8_t hi[] = {0xfb, 0xff};
    char out[8];
    auth_b64url_encode(hi, 2, out, sizeof(out));
    assert_string_equal(out, "-_8");
}

static void test_b64url_decode_refuses_what_is_not_base64url(void **state)
{
    (void)state;
    uint8_t out[16];
    assert_int_equal(auth_b64url_decode("Zm9v", 4, out, 2), -ENOSPC);
    assert_int_equal(auth_b64url_decode("Zm+v", 4, out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_b64url_decode("Zm/v", 4, out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_b64url_decode("Zm 9", 4, out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_b64url_decode("Z", 1, out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_b64url_decode("Zh", 2, out, sizeof(out)), -EINVAL); /* low bits set */
    assert_int_equal(auth_b64url_decode("Zg==", 4, out, sizeof(out)), 1); /* padding ok */
    char small[4];
    assert_int_equal(auth_b64url_encode("foo", 3, small, sizeof(small)), -ENOSPC);
    assert_string_equal(small, "");
}

static void test_random_tokens_differ_and_have_the_stated_length(void **state)
{
    (void)state;
    char a[64], b[64];
    assert_int_equal(auth_random_token(32, a, sizeof(a)), 43);
    assert_int_equal(auth_random_token(32, b, sizeof(b)), 43);
    assert_string_not_equal(a, b);
    assert_int_equal(auth_random_token(0, a, sizeof(a)), -EINVAL);
    assert_int_equal(auth_random_token(65, a, sizeof(a)), -EINVAL);
    assert_int_equal(auth_random_token(32, a, 43), -ENOSPC);
}

static void test_sha256_hex_and_constant_time_compares(void **state)
{
    (void)state;
    char hex[AUTH_SHA256_HEX_LEN];
    auth_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(auth_streq_ct("secret", "secret"));
    assert_false(auth_streq_ct("secret", "secreT"));
    assert_false(auth_streq_ct("secret", "secret2"));
    assert_false(auth_streq_ct("", "x"));
    assert_true(auth_streq_ct("", ""));
    assert_true(auth_equal_ct("ab", "ab", 2));
    assert_false(auth_equal_ct("ab", "ac", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url_matches_rfc4648_vectors_without_padding),
        cmocka_unit_test(test_b64url_decode_refuses_what_is_not_base64url),
        cmocka_unit_test(test_random_tokens_differ_and_have_the_stated_length),
        cmocka_unit_test(test_sha256_hex_and_constant_time_compares),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
