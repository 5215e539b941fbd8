/*
 * Tests for src/record/sha256_mb.c: many messages hashed together must give
 * exactly libcrypto's SHA-256 of each, whatever the chunking, the number of
 * jobs (fewer or more than the 16 vector lanes) and the order of runs.
 *
 * The tests run twice, as two named groups: "scalar" (one lane at a time,
 * on every CPU) and "vector" (AVX-512 lanes). Each test first checks that
 * the path its group names is the one in use. On a CPU without AVX-512 the
 * vector tests are reported SKIPPED, never passed; set
 * HORUS_TEST_REQUIRE_AVX512=1 to make that a failure on machines known to
 * have it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fmp4_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x9e3779b97f4a7c15u;
static bool want_vector; /* the path of the group being run */

/* Selects the group's path; skips a vector test on a CPU without AVX-512. */
static int use_path(void **state)
{
    bool is_on = rec_sha256_mb_use_vector(want_vector);
    if (want_vector && !is_on && getenv("HORUS_TEST_REQUIRE_AVX512"))
        fail_msg("HORUS_TEST_REQUIRE_AVX512 is set but the vector lanes are unavailable");
    return 0;
}

/* Called first by every test: the path in use must be the group's. */
static void check_path(void)
{
    if (want_vector && !rec_sha256_mb_is_vector())
        skip(); /* no AVX-512 here: say so instead of passing */
    assert_int_equal(rec_sha256_mb_is_vector(), want_vector);
}

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void reference(const uint8_t *data, size_t n, char hex[65])
{
    struct rec_sha256 c;
    uint8_t d[32];
    rec_sha256_init(&c);
    rec_sha256_update(&c, data, n);
    rec_sha256_final(&c, d);
    rec_sha256_hex(d, hex);
}

static void test_known_vectors_through_one_job(void **state)
{
    check_path();
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    struct rec_sha256_job j;
    uint8_t d[32];
    char hex[65];
    rec_sha256_job_init(&j);
    rec_sha256_job_copy(&j, m, strlen(m));
    rec_sha256_job_final(&j, d);
    rec_sha256_hex(d, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    rec_sha256_job_init(&j);
    rec_sha256_job_final(&j, d);
    rec_sha256_hex(d, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* njobs messages of random lengths fed in random chunks (some as packets), run at random points. */
static void check_many(size_t njobs, size_t max_len)
{
    struct rec_sha256_job *jobs = calloc(njobs, sizeof(*jobs));
    struct rec_sha256_job **ptrs = calloc(njobs, sizeof(*ptrs));
    uint8_t **msgs = calloc(njobs, sizeof(*msgs));
    size_t *lens = calloc(njobs, sizeof(*lens)), *fed = calloc(njobs, sizeof(*fed));
    media_stream *st = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    for (size_t i = 0; i < njobs; i++) {
        lens[i] = next_rand() % (max_len + 1);
        msgs[i] = malloc(lens[i] + 1);
        for (size_t k = 0; k < lens[i]; k++)
            msgs[i][k] = (uint8_t)next_rand();
        rec_sha256_job_init(&jobs[i]);
        ptrs[i] = &jobs[i];
    }
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < njobs; i++) {
            size_t left = lens[i] - fed[i];
            if (!left)
                continue;
            size_t n = 1 + next_rand() % (next_rand() % 4 ? 300 : 9000);
            if (n > left)
                n = left;
            if (next_rand() % 2) {
                media_packet *p = media_packet_new(st, n);
                memcpy(p->data, msgs[i] + fed[i], n);
                rec_sha256_job_packet(&jobs[i], p);
                media_packet_unref(p); /* the job keeps its own reference */
            } else {
                rec_sha256_job_copy(&jobs[i], msgs[i] + fed[i], n);
            }
            fed[i] += n;
            more = more || fed[i] < lens[i];
        }
        if (next_rand() % 3 == 0)
            rec_sha256_mb_run(ptrs, njobs);
    }
    rec_sha256_mb_run(ptrs, njobs);
    for (size_t i = 0; i < njobs; i++) {
        uint8_t d[32];
        char got[65], want[65];
        rec_sha256_job_final(&jobs[i], d);
        rec_sha256_hex(d, got);
        reference(msgs[i], lens[i], want);
        assert_string_equal(got, want);
        free(msgs[i]);
    }
    media_stream_unref(st);
    assert_int_equal(media_live_packets(), 0);
    free(jobs), free(ptrs), free(msgs), free(lens), free(fed);
}

static void test_one_to_forty_jobs_match_libcrypto(void **state)
{
    check_path();
    for (size_t n = 1; n <= 40; n += (n < 18 ? 1 : 7))
        check_many(n, 20000);
}

static void test_block_boundaries_match_libcrypto(void **state)
{
    check_path();
    /* Lengths around 55/56/64 bytes exercise both padding shapes. */
    for (size_t len = 0; len < 200; len++) {
        uint8_t buf[200];
        memset(buf, (int)len, sizeof(buf));
        struct rec_sha256_job j;
        uint8_t d[32];
        char got[65], want[65];
        rec_sha256_job_init(&j);
        rec_sha256_job_copy(&j, buf, len / 3);
        rec_sha256_job_copy(&j, buf + len / 3, len - len / 3);
        rec_sha256_job_final(&j, d);
        rec_sha256_hex(d, got);
        reference(buf, len, want);
        assert_string_equal(got, want);
    }
}

static void test_release_without_final_drops_references(void **state)
{
    check_path();
    media_stream *st = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    media_packet *p = media_packet_new(st, 1000);
    struct rec_sha256_job j;
    rec_sha256_job_init(&j);
    rec_sha256_job_packet(&j, p);
    media_packet_unref(p);
    assert_int_equal(media_live_packets(), 1);
    rec_sha256_job_release(&j);
    assert_int_equal(media_live_packets(), 0);
    media_stream_unref(st);
}

/* Not a test of speed (benchmarks do that): prints MB/s of both paths for the record. */
static void test_print_throughput(void **state)
{
    check_path();
    enum { JOBS = 16, CHUNK = 1400, CHUNKS = 2000 };
    uint8_t *buf = malloc(CHUNK);
    memset(buf, 7, CHUNK);
    struct rec_sha256_job jobs[JOBS], *ptrs[JOBS];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < JOBS; i++) {
        rec_sha256_job_init(&jobs[i]);
        ptrs[i] = &jobs[i];
    }
    for (int k = 0; k < CHUNKS; k++) {
        for (int i = 0; i < JOBS; i++)
            rec_sha256_job_copy(&jobs[i], buf, CHUNK);
        if (k % 50 == 49)
            rec_sha256_mb_run(ptrs, JOBS);
    }
    for (int i = 0; i < JOBS; i++) {
        uint8_t d[32];
        rec_sha256_job_final(&jobs[i], d);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    print_message("%d jobs: %.0f MB/s\n", JOBS, (double)JOBS * CHUNK * CHUNKS / s / 1e6);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_known_vectors_through_one_job, use_path),
        cmocka_unit_test_setup(test_one_to_forty_jobs_match_libcrypto, use_path),
        cmocka_unit_test_setup(test_block_boundaries_match_libcrypto, use_path),
        cmocka_unit_test_setup(test_release_without_final_drops_references, use_path),
        cmocka_unit_test_setup(test_print_throughput, use_path),
    };
    int rc = 0;
    want_vector = false;
    rc |= cmocka_run_group_tests_name("record.sha256_mb.scalar", tests, NULL, NULL);
    want_vector = true;
    rc |= cmocka_run_group_tests_name("record.sha256_mb.vector", tests, NULL, NULL);
    return rc;
}
