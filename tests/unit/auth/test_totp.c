/*
 * Tests for src/auth/totp.c: RFC 4226 and RFC 6238 (Appendix B, SHA-1)
 * vectors, RFC 4648 base32 vectors and strict decoding, the ±1 step
 * window and its edges, replay refusal, otpauth URIs, recovery codes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "totp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The RFC 4226 / RFC 6238 SHA-1 test secret. */
static const uint8_t RFC_KEY[] = "12345678901234567890";
#define RFC_KEY_LEN 20

static void code_at(int64_t unix_s, char out[12])
{
    int32_t c = auth_hotp(RFC_KEY, RFC_KEY_LEN, auth_totp_step(unix_s), 6);
    assert_true(c >= 0);
    snprintf(out, 12, "%06u", (unsigned)c % 1000000u);
}

static void test_hotp_matches_rfc4226_appendix_d(void **state)
{
    (void)state;
    static const int32_t want[] = {755224, 287082, 359152, 969429, 338314,
                                   254676, 287922, 162583, 399871, 520489};
    for (uint64_t i = 0; i < 10; i++)
        assert_int_equal(auth_hotp(RFC_KEY, RFC_KEY_LEN, i, 6), want[i]);
    assert_int_equal(auth_hotp(RFC_KEY, RFC_KEY_LEN, 0, 5), -EINVAL);
    assert_int_equal(auth_hotp(RFC_KEY, RFC_KEY_LEN, 0, 9), -EINVAL);
    assert_int_equal(auth_hotp(RFC_KEY, 0, 0, 6), -EINVAL);
}

static void test_totp_matches_rfc6238_appendix_b_sha1(void **state)
{
    (void)state;
    static const struct {
        int64_t t;
        int32_t code8;
    } v[] = {{59, 94287082},         {1111111109, 7081804},  {1111111111, 14050471},
             {1234567890, 89005924}, {2000000000, 69279037}, {20000000000, 65353130}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint64_t step = auth_totp_step(v[i].t);
        assert_int_equal(auth_hotp(RFC_KEY, RFC_KEY_LEN, step, 8), v[i].code8);
        /* Six digits are the last six of the eight. */
        assert_int_equal(auth_hotp(RFC_KEY, RFC_KEY_LEN, step, 6), v[i].code8 % 1000000);
        char code[12];
        snprintf(code, sizeof(code), "%06u", (unsigned)(v[i].code8 % 1000000));
        int64_t matched = -1;
        assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, code, v[i].t, -1, &matched), 0);
        assert_int_equal(matched, (int64_t)step);
    }
    assert_int_equal(auth_totp_step(59), 1);
    assert_int_equal(auth_totp_step(60), 2);
    assert_int_equal(auth_totp_step(-5), 0);
}

static void test_base32_matches_rfc4648_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out, *padded;
    } v[] = {{"", "", ""},
             {"f", "MY", "MY======"},
             {"fo", "MZXQ", "MZXQ===="},
             {"foo", "MZXW6", "MZXW6==="},
             {"foob", "MZXW6YQ", "MZXW6YQ="},
             {"fooba", "MZXW6YTB", "MZXW6YTB"},
             {"foobar", "MZXW6YTBOI", "MZXW6YTBOI======"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char out[32];
        int n = auth_base32_encode(v[i].in, strlen(v[i].in), out, sizeof(out));
        assert_int_equal(n, (int)strlen(v[i].out));
        assert_int_equal(n, (int)AUTH_BASE32_LEN(strlen(v[i].in)));
        assert_string_equal(out, v[i].out);
        uint8_t back[32];
        n = auth_base32_decode(v[i].out, strlen(v[i].out), back, sizeof(back));
        assert_int_equal(n, (int)strlen(v[i].in));
        assert_memory_equal(back, v[i].in, (size_t)n);
        n = auth_base32_decode(v[i].padded, strlen(v[i].padded), back, sizeof(back));
        assert_int_equal(n, (int)strlen(v[i].in));
        assert_memory_equal(back, v[i].in, (size_t)n);
    }
    /* Lower case is the same secret. */
    uint8_t back[8];
    assert_int_equal(auth_base32_decode("mzxw6ytboi", 10, back, sizeof(back)), 6);
    assert_memory_equal(back, "foobar", 6);
}

static void test_base32_decode_refuses_what_no_encoder_writes(void **state)
{
    (void)state;
    uint8_t out[16];
    assert_int_equal(auth_base32_decode("MZXW6", 5, out, 2), -ENOSPC);
    assert_int_equal(auth_base32_decode("MZ1W6", 5, out, sizeof(out)), -EINVAL); /* '1' */
    assert_int_equal(auth_base32_decode("MZ8W6", 5, out, sizeof(out)), -EINVAL); /* '8' */
    assert_int_equal(auth_base32_decode("MZ W6", 5, out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_base32_decode("M", 1, out, sizeof(out)), -EINVAL); /* 1 char */
    assert_int_equal(auth_base32_decode("MZX", 3, out, sizeof(out)), -EINVAL); /* 3 chars */
    assert_int_equal(auth_base32_decode("MZXW6Y", 6, out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_base32_decode("MY", 2, out, sizeof(out)), 1);
    assert_int_equal(auth_base32_decode("MZ", 2, out, sizeof(out)), -EINVAL); /* low bits */
    assert_int_equal(auth_base32_decode("M7", 2, out, sizeof(out)), -EINVAL); /* low bits */
    assert_int_equal(auth_base32_decode("MY=", 3, out, sizeof(out)), -EINVAL); /* short pad */
    assert_int_equal(auth_base32_decode("MY=======", 9, out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_base32_decode("MZXW6YTB========", 16, out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_base32_decode("M=Y=====", 8, out, sizeof(out)), -EINVAL);
    assert_int_equal(auth_base32_decode("========", 8, out, sizeof(out)), -EINVAL);
    char small[4];
    assert_int_equal(auth_base32_encode("foo", 3, small, sizeof(small)), -ENOSPC);
    assert_string_equal(small, "");
    /* A secret survives the round trip. */
    uint8_t secret[AUTH_TOTP_SECRET_BYTES];
    assert_int_equal(auth_totp_secret_new(secret), 0);
    char b32[AUTH_BASE32_LEN(AUTH_TOTP_SECRET_BYTES) + 1];
    assert_int_equal(auth_base32_encode(secret, sizeof(secret), b32, sizeof(b32)), 32);
    uint8_t again[AUTH_TOTP_SECRET_BYTES];
    assert_int_equal(auth_base32_decode(b32, 32, again, sizeof(again)), AUTH_TOTP_SECRET_BYTES);
    assert_memory_equal(again, secret, sizeof(secret));
}

static void test_verify_accepts_one_step_either_side_and_no_more(void **state)
{
    (void)state;
    const int64_t t = 1111111111; /* step 37037037, 1 s into it */
    const int64_t step = (int64_t)auth_totp_step(t);
    int64_t matched = -1;
    char code[12];
    for (int d = -3; d <= 3; d++) {
        code_at(t + d * 30, code);
        int rc = auth_totp_verify(RFC_KEY, RFC_KEY_LEN, code, t, -1, &matched);
        if (d >= -1 && d <= 1) {
            assert_int_equal(rc, 0);
            assert_int_equal(matched, step + d);
        } else {
            assert_int_equal(rc, -EACCES);
        }
    }
    /* Edges of a step: the last second of step s still accepts s - 1, the first of s + 1 not. */
    int64_t start = step * 30, end = step * 30 + 29;
    code_at(start - 30, code);
    assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, code, end, -1, &matched), 0);
    assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, code, end + 1, -1, &matched), -EACCES);
    code_at(end + 30, code);
    assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, code, start, -1, &matched), 0);
    assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, code, start - 1, -1, &matched),
                     -EACCES);
    /* Near the epoch there is no step -1 to look at. */
    code_at(0, code);
    assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, code, 0, -1, &matched), 0);
    assert_int_equal(matched, 0);
}

static void test_verify_refuses_a_replayed_or_older_code(void **state)
{
    (void)state;
    const int64_t t = 2000000000;
    const int64_t step = (int64_t)auth_totp_step(t);
    char now_code[12], prev_code[12], next_code[12];
    code_at(t, now_code);
    code_at(t - 30, prev_code);
    code_at(t + 30, next_code);
    int64_t last = -1, matched = -1;
    assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, now_code, t, last, &matched), 0);
    last = matched;
    /* The same code again, even a second later in the same step: refused as a replay. */
    matched = -7;
    assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, now_code, t + 1, last, &matched),
                     -EALREADY);
    assert_int_equal(matched, -7);
    /* An older code still inside the window: also refused once a later one was used. */
    assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, prev_code, t, last, &matched),
                     -EALREADY);
    /* The next step's code is new. */
    assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, next_code, t, last, &matched), 0);
    assert_int_equal(matched, step + 1);
    /* A wrong code is a wrong code, not a replay. */
    char wrong[12];
    snprintf(wrong, sizeof(wrong), "%06u", (unsigned)(atoi(now_code) + 1) % 1000000u);
    if (strcmp(wrong, prev_code) != 0 && strcmp(wrong, next_code) != 0)
        assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, wrong, t, -1, &matched), -EACCES);
}

static void test_verify_refuses_malformed_codes(void **state)
{
    (void)state;
    int64_t matched;
    const char *bad[] = {"", "12345", "1234567", "12345a", " 12345", "123 456", "-12345", "+12345"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(auth_totp_verify(RFC_KEY, RFC_KEY_LEN, bad[i], 59, -1, &matched), -EINVAL);
}

static void test_uri_percent_encodes_the_label_and_names_the_parameters(void **state)
{
    (void)state;
    char uri[512];
    int n = auth_totp_uri("Horus NVR", "alice@example.com", RFC_KEY, RFC_KEY_LEN, uri, sizeof(uri));
    assert_int_equal(n, (int)strlen(uri));
    assert_string_equal(uri, "otpauth://totp/Horus%20NVR:alice%40example.com"
                             "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Horus%20NVR"
                             "&algorithm=SHA1&digits=6&period=30");
    n = auth_totp_uri("H&o=r?s", "b/ö#", RFC_KEY, RFC_KEY_LEN, uri, sizeof(uri));
    assert_true(n > 0);
    assert_non_null(strstr(uri, "totp/H%26o%3Dr%3Fs:b%2F%C3%B6%23?secret="));
    assert_int_equal(auth_totp_uri("Horus", "a:b", RFC_KEY, RFC_KEY_LEN, uri, sizeof(uri)),
                     -EINVAL);
    assert_int_equal(auth_totp_uri("Ho:rus", "a", RFC_KEY, RFC_KEY_LEN, uri, sizeof(uri)), -EINVAL);
    assert_int_equal(auth_totp_uri("", "a", RFC_KEY, RFC_KEY_LEN, uri, sizeof(uri)), -EINVAL);
    assert_int_equal(auth_totp_uri("Horus", "", RFC_KEY, RFC_KEY_LEN, uri, sizeof(uri)), -EINVAL);
    assert_int_equal(auth_totp_uri("Horus", "alice", RFC_KEY, RFC_KEY_LEN, uri, 40), -ENOSPC);
    assert_string_equal(uri, "");
}

static void test_recovery_codes_are_distinct_and_match_once_typed_loosely(void **state)
{
    (void)state;
    struct auth_recovery_code c[10];
    assert_int_equal(auth_recovery_codes_new(c, 10), 0);
    const char *hashes[10];
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(strlen(c[i].code), 19);
        for (size_t k = 0; k < 19; k++) {
            if (k % 5 == 4)
                assert_int_equal(c[i].code[k], '-');
            else
                assert_non_null(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", c[i].code[k]));
        }
        assert_int_equal(strlen(c[i].hash), 64);
        assert_null(strstr(c[i].hash, c[i].code));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(c[i].code, c[j].code);
        hashes[i] = c[i].hash;
    }
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(auth_recovery_code_match(c[i].code, hashes, 10), (int)i);
    /* Lower case, no dashes, spaces: still the same code. */
    char loose[40];
    size_t o = 0;
    for (size_t k = 0; c[3].code[k]; k++)
        if (c[3].code[k] != '-') {
            char ch = c[3].code[k];
            loose[o++] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
            if (o == 8)
                loose[o++] = ' ';
        }
    loose[o] = '\0';
    assert_int_equal(auth_recovery_code_match(loose, hashes, 10), 3);
    /* Used codes are removed by the caller: a removed code no longer matches. */
    hashes[3] = NULL;
    assert_int_equal(auth_recovery_code_match(c[3].code, hashes, 10), -EACCES);
    /* O, I and L read as 0, 1 and 1. */
    char h1[AUTH_SHA256_HEX_LEN], h2[AUTH_SHA256_HEX_LEN];
    assert_int_equal(auth_recovery_code_hash("0000-1111-2222-3333", h1), 0);
    assert_int_equal(auth_recovery_code_hash("oOoO-iIlL-2222-3333", h2), 0);
    assert_string_equal(h1, h2);
    /* Malformed: too short, too long, outside the alphabet ('U'). */
    assert_int_equal(auth_recovery_code_hash("0000-1111-2222-333", h1), -EINVAL);
    assert_string_equal(h1, "");
    assert_int_equal(auth_recovery_code_hash("0000-1111-2222-33334", h1), -EINVAL);
    assert_int_equal(auth_recovery_code_hash("0000-1111-2222-333U", h1), -EINVAL);
    assert_int_equal(auth_recovery_code_match("nope", hashes, 10), -EINVAL);
    assert_int_equal(auth_recovery_codes_new(c, 0), -EINVAL);
    assert_int_equal(auth_recovery_codes_new(c, AUTH_RECOVERY_CODES_MAX + 1), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hotp_matches_rfc4226_appendix_d),
        cmocka_unit_test(test_totp_matches_rfc6238_appendix_b_sha1),
        cmocka_unit_test(test_base32_matches_rfc4648_vectors),
        cmocka_unit_test(test_base32_decode_refuses_what_no_encoder_writes),
        cmocka_unit_test(test_verify_accepts_one_step_either_side_and_no_more),
        cmocka_unit_test(test_verify_refuses_a_replayed_or_older_code),
        cmocka_unit_test(test_verify_refuses_malformed_codes),
        cmocka_unit_test(test_uri_percent_encodes_the_label_and_names_the_parameters),
        cmocka_unit_test(test_recovery_codes_are_distinct_and_match_once_typed_loosely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
