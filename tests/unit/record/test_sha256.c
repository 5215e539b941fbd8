/* Tests for src/record/sha256.c: FIPS 180-4 / NIST test vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fmp4_int.h"

#include <stdlib.h>
#include <string.h>

static void hash_hex(const void *data, size_t n, char out[65])
{
    struct rec_sha256 c;
    uint8_t d[32];
    rec_sha256_init(&c);
    rec_sha256_update(&c, data, n);
    rec_sha256_final(&c, d);
    rec_sha256_hex(d, out);
}

static void test_sha256_matches_nist_short_vectors(void **state)
{
    char hex[65];
    hash_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hash_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hash_hex(m, strlen(m), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m2 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                     "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    hash_hex(m2, strlen(m2), hex);
    assert_string_equal(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_sha256_of_a_million_a_in_odd_pieces(void **state)
{
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    struct rec_sha256 c;
    uint8_t d[32];
    char hex[65];
    rec_sha256_init(&c);
    /* Uneven pieces cross every buffering boundary. */
    for (size_t off = 0, step = 1; off < 1000000; off += step, step = step % 131 + 7)
        rec_sha256_update(&c, a + off, off + step > 1000000 ? 1000000 - off : step);
    rec_sha256_final(&c, d);
    rec_sha256_hex(d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

static void test_sha256_pads_lengths_around_the_block_edge(void **state)
{
    /* 55, 56 and 64 bytes take one, two and two padding blocks. */
    static const struct {
        size_t n;
        const char *hex;
    } v[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
    };
    char buf[64], hex[65];
    memset(buf, 'a', sizeof(buf));
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        hash_hex(buf, v[i].n, hex);
        assert_string_equal(hex, v[i].hex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_matches_nist_short_vectors),
        cmocka_unit_test(test_sha256_of_a_million_a_in_odd_pieces),
        cmocka_unit_test(test_sha256_pads_lengths_around_the_block_edge),
    };
    return cmocka_run_group_tests_name("record.sha256", tests, NULL, NULL);
}
