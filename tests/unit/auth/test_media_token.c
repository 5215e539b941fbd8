/*
 * Tests for src/auth/media_token.c on a fake clock: round trips per kind,
 * tokens shared within a window, every scope mismatch, tampering, expiry
 * with its leeway, ranges, key rotation that cuts nobody off, unknown
 * keys, malformed input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "auth_token.h"
#include "media_token.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define T0_MS INT64_C(1767225600000) /* 2026-01-01T00:00:00Z: a window boundary */
#define SEC INT64_C(1000000)

struct fixture {
    clock_fake clock;
    auth_media_keys *keys;
};

static int setup(void **state)
{
    struct fixture *f = test_calloc(1, sizeof(*f));
    clock_fake_init(&f->clock, T0_MS);
    struct auth_media_keys_options o = {.clock = &f->clock.base};
    assert_int_equal(auth_media_keys_new(&o, &f->keys), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    auth_media_keys_free(f->keys);
    test_free(f);
    return 0;
}

static const struct auth_media_scope LIVE_A = {
    .kind = AUTH_MEDIA_LIVE, .camera = "cam-a", .stream = "main"};

static int check(struct fixture *f, const char *tok, const struct auth_media_scope *want)
{
    char why[256];
    int rc = auth_media_token_check(f->keys, tok, want, why, sizeof(why));
    if (rc == 0)
        assert_string_equal(why, "");
    else
        assert_true(strlen(why) > 10 && strstr(why, tok) == NULL); /* says why, never the token */
    return rc;
}

static void test_a_live_token_opens_its_stream_and_nothing_else(void **state)
{
    struct fixture *f = *state;
    char tok[AUTH_MEDIA_TOKEN_MAX];
    assert_int_equal(auth_media_token_issue(f->keys, &LIVE_A, tok, sizeof(tok)), 40);
    assert_int_equal(
        strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 40);
    assert_int_equal(check(f, tok, &LIVE_A), 0);
    struct auth_media_scope other = LIVE_A;
    other.camera = "cam-b";
    assert_int_equal(check(f, tok, &other), -EACCES);
    other = LIVE_A;
    other.stream = "sub";
    assert_int_equal(check(f, tok, &other), -EACCES);
    other = LIVE_A;
    other.kind = AUTH_MEDIA_SNAPSHOT;
    assert_int_equal(check(f, tok, &other), -EACCES);
    other = LIVE_A;
    other.camera = "cam-a\0"; /* same string: still opens */
    assert_int_equal(check(f, tok, &other), 0);
    /* A prefix trick: camera "cam-am" stream "ain" is not camera "cam-a" stream "main". */
    other = LIVE_A;
    other.camera = "cam-am";
    other.stream = "ain";
    assert_int_equal(check(f, tok, &other), -EACCES);
}

static void test_every_viewer_in_a_window_gets_the_same_token(void **state)
{
    struct fixture *f = *state;
    char a[AUTH_MEDIA_TOKEN_MAX], b[AUTH_MEDIA_TOKEN_MAX], c[AUTH_MEDIA_TOKEN_MAX];
    auth_media_token_issue(f->keys, &LIVE_A, a, sizeof(a));
    clock_fake_advance_ms(&f->clock, 59999); /* the window is ttl / 5 = 60 s */
    auth_media_token_issue(f->keys, &LIVE_A, b, sizeof(b));
    assert_string_equal(a, b);
    clock_fake_advance_ms(&f->clock, 1);
    auth_media_token_issue(f->keys, &LIVE_A, c, sizeof(c));
    assert_string_not_equal(a, c);
    /* Lives at least ttl - window from any issue. */
    assert_int_equal(auth_media_token_min_life_s(f->keys), 240);
}

static void test_a_token_expires_after_its_ttl_and_the_leeway(void **state)
{
    struct fixture *f = *state;
    char tok[AUTH_MEDIA_TOKEN_MAX];
    clock_fake_advance_ms(&f->clock, 30000); /* mid-window: expiry T0 + 300 s */
    auth_media_token_issue(f->keys, &LIVE_A, tok, sizeof(tok));
    clock_fake_advance_ms(&f->clock, (300 - 30 + AUTH_MEDIA_TOKEN_LEEWAY_S) * 1000);
    assert_int_equal(check(f, tok, &LIVE_A), 0);
    clock_fake_advance_ms(&f->clock, 1000);
    assert_int_equal(check(f, tok, &LIVE_A), -EKEYEXPIRED);
}

static void test_playback_tokens_bound_the_time_range(void **state)
{
    struct fixture *f = *state;
    int64_t from = (T0_MS - 3600000) * 1000, to = from + 600 * SEC;
    struct auth_media_scope pb = {.kind = AUTH_MEDIA_PLAYBACK,
                                  .camera = "cam-a",
                                  .stream = "main",
                                  .from_us = from,
                                  .to_us = to};
    char tok[AUTH_MEDIA_TOKEN_MAX];
    assert_int_equal(auth_media_token_issue(f->keys, &pb, tok, sizeof(tok)), 62);
    assert_int_equal(check(f, tok, &pb), 0);
    struct auth_media_scope want = pb;
    want.from_us = from + 60 * SEC;
    want.to_us = to - 60 * SEC;
    assert_int_equal(check(f, tok, &want), 0);
    want.to_us = to + 1;
    assert_int_equal(check(f, tok, &want), -EACCES);
    want.from_us = from - 1;
    want.to_us = to;
    assert_int_equal(check(f, tok, &want), -EACCES);
    want.from_us = want.to_us = 0; /* no range at all */
    assert_int_equal(check(f, tok, &want), -EACCES);
    /* A recorded file that starts before the range and ends inside it: overlap is enough. */
    want = pb;
    want.from_us = from - 30 * SEC;
    want.to_us = from + 30 * SEC;
    want.is_overlap_enough = true;
    assert_int_equal(check(f, tok, &want), 0);
    want.from_us = to; /* touches the end only: no overlap */
    want.to_us = to + 60 * SEC;
    assert_int_equal(check(f, tok, &want), -EACCES);
    /* A playback token also lives the length of its range: a VOD playlist plays for that long. */
    clock_fake_advance_ms(&f->clock, (300 + 600 + AUTH_MEDIA_TOKEN_LEEWAY_S) * 1000);
    assert_int_equal(check(f, tok, &pb), 0);
    clock_fake_advance_ms(&f->clock, 1000);
    assert_int_equal(check(f, tok, &pb), -EKEYEXPIRED);
    /* A range over all of time neither overflows nor lives more than ttl + 24 h. */
    struct auth_media_scope all = pb;
    all.from_us = INT64_MIN;
    all.to_us = INT64_MAX;
    assert_int_equal(auth_media_token_issue(f->keys, &all, tok, sizeof(tok)), 62);
    assert_int_equal(check(f, tok, &pb), 0);
    clock_fake_advance_ms(&f->clock, (300 + 86400 + AUTH_MEDIA_TOKEN_LEEWAY_S + 1) * 1000);
    assert_int_not_equal(check(f, tok, &pb), 0);
    /* Playback needs a range; an export needs its id. */
    pb.to_us = pb.from_us;
    assert_int_equal(auth_media_token_issue(f->keys, &pb, tok, sizeof(tok)), -EINVAL);
    struct auth_media_scope ex = {.kind = AUTH_MEDIA_EXPORT};
    assert_int_equal(auth_media_token_issue(f->keys, &ex, tok, sizeof(tok)), -EINVAL);
    struct auth_media_scope live_nocam = {.kind = AUTH_MEDIA_LIVE, .stream = "main"};
    assert_int_equal(auth_media_token_issue(f->keys, &live_nocam, tok, sizeof(tok)), -EINVAL);
    struct auth_media_scope bad_kind = {.kind = 9, .camera = "x"};
    assert_int_equal(auth_media_token_issue(f->keys, &bad_kind, tok, sizeof(tok)), -EINVAL);
    assert_int_equal(auth_media_token_issue(f->keys, &LIVE_A, tok, 40), -ENOSPC);
}

static void test_an_export_token_opens_its_export_only(void **state)
{
    struct fixture *f = *state;
    struct auth_media_scope ex = {.kind = AUTH_MEDIA_EXPORT, .export_id = "exp-1"};
    char tok[AUTH_MEDIA_TOKEN_MAX];
    assert_true(auth_media_token_issue(f->keys, &ex, tok, sizeof(tok)) > 0);
    assert_int_equal(check(f, tok, &ex), 0);
    struct auth_media_scope other = ex;
    other.export_id = "exp-2";
    assert_int_equal(check(f, tok, &other), -EACCES);
    other = ex;
    other.kind = AUTH_MEDIA_LIVE;
    assert_int_equal(check(f, tok, &other), -EACCES);
}

static void test_rotation_keeps_the_previous_key_until_its_tokens_expire(void **state)
{
    struct fixture *f = *state;
    char before[AUTH_MEDIA_TOKEN_MAX], after[AUTH_MEDIA_TOKEN_MAX];
    /* Issued 10 s before the hourly rotation. */
    clock_fake_advance_ms(&f->clock, 3590000);
    auth_media_token_issue(f->keys, &LIVE_A, before, sizeof(before));
    clock_fake_advance_ms(&f->clock, 20000);
    auth_media_token_issue(f->keys, &LIVE_A, after, sizeof(after));
    assert_string_not_equal(before, after); /* the new key signs */
    assert_memory_not_equal(before, after, 7); /* a different key id */
    assert_int_equal(check(f, before, &LIVE_A), 0);
    assert_int_equal(check(f, after, &LIVE_A), 0);
    /* Still valid until its own expiry, then reported as expired, not unknown. */
    clock_fake_advance_ms(&f->clock, 235000); /* expiry 3840 s + leeway 5 s */
    assert_int_equal(check(f, before, &LIVE_A), 0);
    clock_fake_advance_ms(&f->clock, 1000);
    assert_int_equal(check(f, before, &LIVE_A), -EKEYEXPIRED);
    /* Two rotations later its key is gone. */
    clock_fake_advance_ms(&f->clock, 3600000);
    assert_int_equal(check(f, before, &LIVE_A), -ENOKEY);
}

static void test_a_long_playback_token_outlives_two_rotations(void **state)
{
    struct fixture *f = *state;
    int64_t from = T0_MS * 1000 - 24 * 3600 * SEC;
    struct auth_media_scope pb = {.kind = AUTH_MEDIA_PLAYBACK,
                                  .camera = "cam-a",
                                  .stream = "main",
                                  .from_us = from,
                                  .to_us = from + 3 * 3600 * SEC};
    char tok[AUTH_MEDIA_TOKEN_MAX], live[AUTH_MEDIA_TOKEN_MAX];
    auth_media_token_issue(f->keys, &pb, tok, sizeof(tok));
    auth_media_token_issue(f->keys, &LIVE_A, live, sizeof(live));
    for (int h = 0; h < 3; h++) {
        clock_fake_advance_ms(&f->clock, 3600000);
        assert_int_equal(check(f, tok, &pb), 0); /* rotates */
    }
    /* The key was kept for the playback token: the live one reads as expired. */
    assert_int_equal(check(f, live, &LIVE_A), -EKEYEXPIRED);
    clock_fake_advance_ms(&f->clock, 300000 + 5000);
    assert_int_equal(check(f, tok, &pb), 0);
    clock_fake_advance_ms(&f->clock, 1000);
    assert_int_not_equal(check(f, tok, &pb), 0);
}

static void test_a_token_from_another_ring_is_unknown(void **state)
{
    struct fixture *f = *state;
    auth_media_keys *other;
    struct auth_media_keys_options o = {.clock = &f->clock.base};
    assert_int_equal(auth_media_keys_new(&o, &other), 0);
    char tok[AUTH_MEDIA_TOKEN_MAX];
    auth_media_token_issue(other, &LIVE_A, tok, sizeof(tok));
    auth_media_keys_free(other);
    /* Key ids start at random: another run's id is unknown (2^-32: the same id, wrong MAC). */
    int rc = check(f, tok, &LIVE_A);
    assert_true(rc == -ENOKEY || rc == -EACCES);
}

static void test_every_altered_character_is_refused(void **state)
{
    struct fixture *f = *state;
    struct auth_media_scope pb = {.kind = AUTH_MEDIA_PLAYBACK,
                                  .camera = "cam-a",
                                  .stream = "main",
                                  .from_us = 1,
                                  .to_us = 2 * SEC};
    char tok[AUTH_MEDIA_TOKEN_MAX];
    int n = auth_media_token_issue(f->keys, &pb, tok, sizeof(tok));
    for (int i = 0; i < n; i++) {
        char bad[AUTH_MEDIA_TOKEN_MAX];
        memcpy(bad, tok, (size_t)n + 1);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_not_equal(check(f, bad, &pb), 0);
    }
}

static void test_malformed_tokens_get_a_reason(void **state)
{
    struct fixture *f = *state;
    char why[256];
    assert_int_equal(auth_media_token_check(f->keys, "", &LIVE_A, why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "missing"));
    assert_int_equal(auth_media_token_check(f->keys, NULL, &LIVE_A, why, sizeof(why)), -EINVAL);
    assert_int_equal(check(f, "abc+def", &LIVE_A), -EINVAL);
    assert_int_equal(check(f, "A", &LIVE_A), -EINVAL);
    char tok[AUTH_MEDIA_TOKEN_MAX];
    auth_media_token_issue(f->keys, &LIVE_A, tok, sizeof(tok));
    tok[30] = '\0'; /* truncated */
    assert_int_equal(check(f, tok, &LIVE_A), -EINVAL);
    char long_tok[300];
    memset(long_tok, 'A', sizeof(long_tok) - 1);
    long_tok[sizeof(long_tok) - 1] = '\0';
    assert_int_equal(check(f, long_tok, &LIVE_A), -EINVAL);
    /* Version 2 does not exist. */
    uint8_t raw[30] = {2};
    char v2[64];
    auth_b64url_encode(raw, sizeof(raw), v2, sizeof(v2));
    assert_int_equal(check(f, v2, &LIVE_A), -EINVAL);
    /* The range flag with the length of a token without one. */
    raw[0] = 1;
    raw[5] = 0x81;
    auth_b64url_encode(raw, sizeof(raw), v2, sizeof(v2));
    assert_int_equal(check(f, v2, &LIVE_A), -EINVAL);
}

static void test_options_are_checked_and_rotation_is_at_least_twice_the_ttl(void **state)
{
    struct fixture *f = *state;
    auth_media_keys *k;
    struct auth_media_keys_options o = {.ttl_s = -1, .clock = &f->clock.base};
    assert_int_equal(auth_media_keys_new(&o, &k), -EINVAL);
    assert_null(k);
    o = (struct auth_media_keys_options){.ttl_s = 100, .rotate_s = 10, .clock = &f->clock.base};
    assert_int_equal(auth_media_keys_new(&o, &k), 0);
    char tok[AUTH_MEDIA_TOKEN_MAX];
    auth_media_token_issue(k, &LIVE_A, tok, sizeof(tok));
    /* Had it rotated every 10 s, the token would be unknown after two rotations. */
    clock_fake_advance_ms(&f->clock, 100000);
    assert_int_equal(auth_media_token_check(k, tok, &LIVE_A, NULL, 0), 0);
    auth_media_keys_free(k);
    auth_media_keys_free(NULL);
}

static void test_the_expiry_of_a_token_reads_back_without_a_check(void **state)
{
    struct fixture *f = *state;
    char tok[AUTH_MEDIA_TOKEN_MAX];
    clock_fake_advance_ms(&f->clock, 30000); /* mid-window: expiry T0 + 300 s */
    assert_true(auth_media_token_issue(f->keys, &LIVE_A, tok, sizeof(tok)) > 0);
    int64_t exp = 0;
    assert_int_equal(auth_media_token_expiry_s(tok, &exp), 0);
    assert_int_equal(exp, T0_MS / 1000 + 300);
    struct auth_media_scope pb = {.kind = AUTH_MEDIA_PLAYBACK,
                                  .camera = "cam-a",
                                  .stream = "main",
                                  .from_us = 0,
                                  .to_us = 600 * SEC};
    assert_true(auth_media_token_issue(f->keys, &pb, tok, sizeof(tok)) > 0);
    assert_int_equal(auth_media_token_expiry_s(tok, &exp), 0);
    assert_int_equal(exp, T0_MS / 1000 + 300 + 600); /* the range's length on top */
    exp = -1;
    assert_int_equal(auth_media_token_expiry_s("", &exp), -EINVAL);
    assert_int_equal(auth_media_token_expiry_s(NULL, &exp), -EINVAL);
    assert_int_equal(auth_media_token_expiry_s("AQID", &exp), -EINVAL); /* too short */
    assert_int_equal(auth_media_token_expiry_s("not base64!", &exp), -EINVAL);
    assert_int_equal(exp, -1);
}

/*
 * Shared keys (docs/design/0070): two rings made from one root, as two
 * nodes with one secrets key, check each other's tokens, across
 * rotations too; a ring from another root does not; a period older than
 * any live token could be is unknown.
 */
static void test_rings_from_one_root_check_each_other_s_tokens(void **state)
{
    struct fixture *f = *state;
    unsigned char root[32], other[32];
    memset(root, 0x5a, sizeof(root));
    memset(other, 0x5b, sizeof(other));
    auth_media_keys *a, *b, *c;
    struct auth_media_keys_options o = {.clock = &f->clock.base, .root_key = root};
    assert_int_equal(auth_media_keys_new(&o, &a), 0);
    assert_int_equal(auth_media_keys_new(&o, &b), 0);
    o.root_key = other;
    assert_int_equal(auth_media_keys_new(&o, &c), 0);
    char ta[AUTH_MEDIA_TOKEN_MAX], tb[AUTH_MEDIA_TOKEN_MAX], why[256];
    assert_true(auth_media_token_issue(a, &LIVE_A, ta, sizeof(ta)) > 0);
    assert_true(auth_media_token_issue(b, &LIVE_A, tb, sizeof(tb)) > 0);
    assert_string_equal(ta, tb); /* the same window, the same key: the same token */
    assert_int_equal(auth_media_token_check(b, ta, &LIVE_A, why, sizeof(why)), 0);
    assert_int_equal(auth_media_token_check(c, ta, &LIVE_A, why, sizeof(why)), -EACCES);
    /* Signed just before a rotation (1 h), checked just after it by the other ring. */
    clock_fake_advance_ms(&f->clock, 3599000);
    assert_true(auth_media_token_issue(a, &LIVE_A, ta, sizeof(ta)) > 0);
    clock_fake_advance_ms(&f->clock, 2000);
    assert_int_equal(auth_media_token_check(b, ta, &LIVE_A, why, sizeof(why)), 0);
    assert_true(auth_media_token_issue(b, &LIVE_A, tb, sizeof(tb)) > 0);
    assert_string_not_equal(ta, tb); /* a new period's key */
    assert_int_equal(auth_media_token_check(a, tb, &LIVE_A, why, sizeof(why)), 0);
    /* Two days on: the old period's key is not derived any more. */
    clock_fake_advance_ms(&f->clock, 2 * 86400 * 1000);
    assert_int_equal(auth_media_token_check(b, ta, &LIVE_A, why, sizeof(why)), -ENOKEY);
    auth_media_keys_free(a);
    auth_media_keys_free(b);
    auth_media_keys_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_live_token_opens_its_stream_and_nothing_else, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_every_viewer_in_a_window_gets_the_same_token, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_token_expires_after_its_ttl_and_the_leeway, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_playback_tokens_bound_the_time_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_export_token_opens_its_export_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_rotation_keeps_the_previous_key_until_its_tokens_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_long_playback_token_outlives_two_rotations, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_token_from_another_ring_is_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_altered_character_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_tokens_get_a_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_options_are_checked_and_rotation_is_at_least_twice_the_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_expiry_of_a_token_reads_back_without_a_check,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_rings_from_one_root_check_each_other_s_tokens, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
