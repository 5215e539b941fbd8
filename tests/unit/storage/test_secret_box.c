/*
 * Tests for src/storage/secret_box.c: seal/open round trips, tamper
 * detection (a flipped bit anywhere in the key id, nonce, ciphertext or
 * tag, or another aad, fails), the parser's refusals, key files (created
 * 0600, wrong mode refused, configuration keys) and the rotation files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "err.h"
#include "secret_box.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_A "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

struct dir {
    char path[64];
    char key[96];
};

static int dir_setup(void **state)
{
    struct dir *d = calloc(1, sizeof(*d));
    snprintf(d->path, sizeof(d->path), "/tmp/horus-secret-XXXXXX");
    if (!mkdtemp(d->path))
        return -1;
    snprintf(d->key, sizeof(d->key), "%s/secret.key", d->path);
    *state = d;
    return 0;
}

static int dir_teardown(void **state)
{
    struct dir *d = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
    if (system(cmd) != 0)
        return -1;
    free(d);
    return 0;
}

static sto_secret_box *box_of(const char *key_text)
{
    sto_secret_box *box = NULL;
    char *errmsg = NULL;
    struct sto_secret_box_options o = {.key_text = key_text, .key_file = "/nonexistent"};
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), 0);
    assert_null(errmsg);
    return box;
}

static void test_seal_then_open_returns_the_plaintext(void **state)
{
    (void)state;
    sto_secret_box *box = box_of(KEY_A);
    const char *plain = "admin:p@ss/w?rd#1";
    char *sealed = NULL, *opened = NULL;
    size_t len = 0;
    assert_int_equal(sto_secret_seal(box, plain, strlen(plain), "aad", &sealed), 0);
    assert_true(sto_secret_is_sealed(sealed));
    assert_null(strstr(sealed, "admin"));
    assert_int_equal(strspn(sealed, "hsb1.0123456789abcdef"), strlen(sealed));
    assert_int_equal(sto_secret_open(box, sealed, "aad", &opened, &len), 0);
    assert_string_equal(opened, plain);
    assert_int_equal(len, strlen(plain));
    free(opened);
    /* The key id is the box's, and two seals of one value differ (random nonce). */
    char *again = NULL;
    assert_int_equal(sto_secret_seal(box, plain, strlen(plain), "aad", &again), 0);
    assert_string_not_equal(sealed, again);
    assert_memory_equal(sealed + 5, sto_secret_box_key_id(box), STO_SECRET_KEY_ID_LEN);
    free(again);
    free(sealed);
    /* Empty plaintext and no aad work too. */
    assert_int_equal(sto_secret_seal(box, "", 0, NULL, &sealed), 0);
    assert_int_equal(sto_secret_open(box, sealed, NULL, &opened, NULL), 0);
    assert_string_equal(opened, "");
    free(opened);
    free(sealed);
    sto_secret_box_free(box);
}

/* Flips one bit of the hex digit at i (keeping it a lower-case hex digit). */
static void flip_hex(char *s, size_t i)
{
    static const char digits[] = "0123456789abcdef";
    int v = (int)(strchr(digits, s[i]) - digits);
    s[i] = digits[v ^ 1];
}

static void test_a_flipped_bit_in_nonce_ciphertext_or_tag_fails(void **state)
{
    (void)state;
    sto_secret_box *box = box_of(KEY_A);
    char *sealed = NULL;
    assert_int_equal(sto_secret_seal(box, "user:secret", 11, "camera a url", &sealed), 0);
    size_t n = strlen(sealed);
    /* Fields: prefix(5) kid(8) . nonce(24) . ct(22) . tag(32) */
    size_t nonce = 5 + 8 + 1, ct = nonce + 24 + 1, tag = ct + 22 + 1;
    assert_int_equal(tag + 32, n);
    size_t positions[] = {nonce, nonce + 23, ct, ct + 21, tag, tag + 31};
    for (size_t k = 0; k < sizeof(positions) / sizeof(positions[0]); k++) {
        char *bad = strdup(sealed);
        flip_hex(bad, positions[k]);
        char *opened = NULL;
        assert_int_equal(sto_secret_open(box, bad, "camera a url", &opened, NULL), -EBADMSG);
        assert_null(opened);
        free(bad);
    }
    /* Another aad (the same secret moved to camera b) fails the same way. */
    char *opened = NULL;
    assert_int_equal(sto_secret_open(box, sealed, "camera b url", &opened, NULL), -EBADMSG);
    assert_int_equal(sto_secret_open(box, sealed, NULL, &opened, NULL), -EBADMSG);
    /* A flipped key id names a key the box does not have. */
    char *bad = strdup(sealed);
    flip_hex(bad, 5);
    assert_int_equal(sto_secret_open(box, bad, "camera a url", &opened, NULL), -ENOKEY);
    free(bad);
    /* Another key cannot open it. */
    sto_secret_box *other = box_of(KEY_B);
    assert_int_equal(sto_secret_open(other, sealed, "camera a url", &opened, NULL), -ENOKEY);
    sto_secret_box_free(other);
    free(sealed);
    sto_secret_box_free(box);
}

static void test_the_parser_refuses_malformed_sealed_strings(void **state)
{
    (void)state;
    const char *kid = "0123abcd", *nonce = "000102030405060708090a0b",
               *tag = "000102030405060708090a0b0c0d0e0f";
    char good[256];
    snprintf(good, sizeof(good), "hsb1.%s.%s.%s.%s", kid, nonce, "beef", tag);
    struct sto_secret_parts p;
    assert_int_equal(sto_secret_parse(good, strlen(good), &p), 0);
    assert_string_equal(p.key_id, kid);
    assert_int_equal(p.ct_len, 2);
    assert_int_equal(p.nonce[11], 0x0b);
    assert_int_equal(p.tag[15], 0x0f);
    char bad[256];
    const char *cases[][4] = {
        {"0123abc", nonce, "beef", tag}, /* short key id */
        {"0123ABCD", nonce, "beef", tag}, /* upper case */
        {kid, "0001", "beef", tag}, /* short nonce */
        {kid, nonce, "bee", tag}, /* odd ciphertext */
        {kid, nonce, "beeg", tag}, /* not hex */
        {kid, nonce, "beef", "00"}, /* short tag */
        {kid, nonce, "beef.00", tag}, /* extra field */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(bad, sizeof(bad), "hsb1.%s.%s.%s.%s", cases[i][0], cases[i][1], cases[i][2],
                 cases[i][3]);
        assert_int_equal(sto_secret_parse(bad, strlen(bad), &p), HORUS_EPARSE);
    }
    assert_int_equal(sto_secret_parse("hsb2.x", 6, &p), HORUS_EPARSE);
    assert_int_equal(sto_secret_parse("hsb1.", 5, &p), HORUS_EPARSE);
    assert_int_equal(sto_secret_parse(good, strlen(good) - 1, &p), HORUS_EPARSE);
    /* A ciphertext over the limit is refused before decoding. */
    size_t big = 2 * (STO_SECRET_MAX_PLAIN + 1);
    char *huge = malloc(big + 128);
    int k = snprintf(huge, 128, "hsb1.%s.%s.", kid, nonce);
    memset(huge + k, 'a', big);
    snprintf(huge + k + big, 128, ".%s", tag);
    assert_int_equal(sto_secret_parse(huge, strlen(huge), &p), HORUS_EPARSE);
    free(huge);
    char *out = NULL;
    sto_secret_box *box = box_of(KEY_A);
    assert_int_equal(sto_secret_open(box, "admin:plain", NULL, &out, NULL), HORUS_EPARSE);
    char big_plain[STO_SECRET_MAX_PLAIN + 1] = {0};
    assert_int_equal(sto_secret_seal(box, big_plain, sizeof(big_plain), NULL, &out), -EINVAL);
    sto_secret_box_free(box);
}

static void test_a_key_file_is_created_0600_and_read_back(void **state)
{
    struct dir *d = *state;
    sto_secret_box *box = NULL;
    char *errmsg = NULL;
    struct sto_secret_box_options o = {.key_file = d->key};
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), -ENOENT);
    assert_non_null(strstr(errmsg, d->key));
    free(errmsg);
    o.may_create = true;
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), 0);
    struct stat st;
    assert_int_equal(stat(d->key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 65);
    char *sealed = NULL;
    assert_int_equal(sto_secret_seal(box, "x", 1, NULL, &sealed), 0);
    sto_secret_box_free(box);
    o.may_create = false;
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), 0);
    char *opened = NULL;
    assert_int_equal(sto_secret_open(box, sealed, NULL, &opened, NULL), 0);
    assert_string_equal(opened, "x");
    assert_string_equal(sto_secret_box_source(box), d->key);
    free(opened);
    free(sealed);
    sto_secret_box_free(box);
    /* Readable by others: refused, naming the file. */
    assert_int_equal(chmod(d->key, 0640), 0);
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), -EINVAL);
    assert_non_null(strstr(errmsg, d->key));
    assert_non_null(strstr(errmsg, "chmod 600"));
    free(errmsg);
    /* Not a key. */
    FILE *fp = fopen(d->key, "w");
    fputs("not a key\n", fp);
    fclose(fp);
    assert_int_equal(chmod(d->key, 0600), 0);
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), -EINVAL);
    assert_non_null(strstr(errmsg, "64 hex digits"));
    free(errmsg);
}

static void test_a_configured_key_must_be_64_hex_digits(void **state)
{
    (void)state;
    sto_secret_box *box = NULL;
    char *errmsg = NULL;
    struct sto_secret_box_options o = {.key_text = "abc", .key_file = "/nonexistent"};
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), -EINVAL);
    assert_non_null(strstr(errmsg, "secrets.key"));
    assert_null(strstr(errmsg, "abc"));
    free(errmsg);
    o.key_text = "  " KEY_A "\n";
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), 0);
    assert_string_equal(sto_secret_box_source(box), "secrets.key");
    assert_int_equal(sto_secret_box_rotate_begin(box, &errmsg), -EINVAL);
    free(errmsg);
    sto_secret_box_free(box);
}

static void test_rotation_seals_with_the_new_key_and_commit_replaces_the_file(void **state)
{
    struct dir *d = *state;
    sto_secret_box *box = NULL;
    char *errmsg = NULL;
    struct sto_secret_box_options o = {.key_file = d->key, .may_create = true};
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), 0);
    char old_id[16];
    snprintf(old_id, sizeof(old_id), "%s", sto_secret_box_key_id(box));
    char *old_sealed = NULL;
    assert_int_equal(sto_secret_seal(box, "old", 3, NULL, &old_sealed), 0);
    assert_int_equal(sto_secret_box_rotate_begin(box, &errmsg), 0);
    char pend[128];
    snprintf(pend, sizeof(pend), "%s.new", d->key);
    assert_int_equal(access(pend, F_OK), 0);
    assert_string_not_equal(sto_secret_box_key_id(box), old_id);
    assert_true(sto_secret_box_has_key(box, old_id));
    char *opened = NULL;
    assert_int_equal(sto_secret_open(box, old_sealed, NULL, &opened, NULL), 0);
    free(opened);
    char *new_sealed = NULL;
    assert_int_equal(sto_secret_seal(box, "new", 3, NULL, &new_sealed), 0);
    assert_memory_equal(new_sealed + 5, sto_secret_box_key_id(box), STO_SECRET_KEY_ID_LEN);
    assert_int_equal(sto_secret_box_rotate_commit(box, &errmsg), 0);
    assert_int_not_equal(access(pend, F_OK), 0);
    assert_false(sto_secret_box_has_key(box, old_id));
    sto_secret_box_free(box);
    /* Reopened: the new key is the file's. */
    o.may_create = false;
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), 0);
    assert_null(sto_secret_box_pending_id(box));
    assert_int_equal(sto_secret_open(box, new_sealed, NULL, &opened, NULL), 0);
    assert_string_equal(opened, "new");
    free(opened);
    assert_int_equal(sto_secret_open(box, old_sealed, NULL, &opened, NULL), -ENOKEY);
    /* An interrupted rotation: the .new file is loaded as pending; abort removes it. */
    assert_int_equal(sto_secret_box_rotate_begin(box, &errmsg), 0);
    char pending_id[16];
    snprintf(pending_id, sizeof(pending_id), "%s", sto_secret_box_key_id(box));
    sto_secret_box_free(box);
    assert_int_equal(sto_secret_box_open(&o, &box, &errmsg), 0);
    assert_string_equal(sto_secret_box_pending_id(box), pending_id);
    assert_string_not_equal(sto_secret_box_key_id(box), pending_id); /* not sealing yet */
    assert_int_equal(sto_secret_box_rotate_begin(box, &errmsg), -EALREADY);
    free(errmsg);
    assert_int_equal(sto_secret_box_rotate_abort(box, &errmsg), 0);
    assert_int_not_equal(access(pend, F_OK), 0);
    assert_null(sto_secret_box_pending_id(box));
    assert_int_equal(sto_secret_box_rotate_commit(box, &errmsg), -ENOENT);
    free(errmsg);
    sto_secret_box_free(box);
    free(old_sealed);
    free(new_sealed);
}

/* A derived key: the same for one key and label, different for another key or label. */
static void test_derived_keys_follow_the_key_and_the_label(void **state)
{
    (void)state;
    sto_secret_box *a = box_of(KEY_A), *a2 = box_of(KEY_A), *b = box_of(KEY_B);
    unsigned char x[32], y[32], z[32], w[32];
    assert_int_equal(sto_secret_box_derive(a, "horus media tokens", x), 0);
    assert_int_equal(sto_secret_box_derive(a2, "horus media tokens", y), 0);
    assert_int_equal(sto_secret_box_derive(b, "horus media tokens", z), 0);
    assert_int_equal(sto_secret_box_derive(a, "something else", w), 0);
    assert_memory_equal(x, y, 32);
    assert_memory_not_equal(x, z, 32);
    assert_memory_not_equal(x, w, 32);
    assert_int_equal(sto_secret_box_derive(NULL, "x", w), -EINVAL);
    sto_secret_box_free(a);
    sto_secret_box_free(a2);
    sto_secret_box_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_then_open_returns_the_plaintext),
        cmocka_unit_test(test_a_flipped_bit_in_nonce_ciphertext_or_tag_fails),
        cmocka_unit_test(test_the_parser_refuses_malformed_sealed_strings),
        cmocka_unit_test_setup_teardown(test_a_key_file_is_created_0600_and_read_back, dir_setup,
                                        dir_teardown),
        cmocka_unit_test(test_a_configured_key_must_be_64_hex_digits),
        cmocka_unit_test(test_derived_keys_follow_the_key_and_the_label),
        cmocka_unit_test_setup_teardown(
            test_rotation_seals_with_the_new_key_and_commit_replaces_the_file, dir_setup,
            dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
