/*
 * DESIGN: SHA-256 of many segment files at once ("multi-buffer").
 *
 * Why: the index row of every closed segment carries the file's SHA-256,
 * and at 4 Mbit/s per camera that hash was a third of the recorder's CPU
 * (libcrypto reaches ~300 MB/s per core on the reference CPU, which lacks
 * SHA-NI). SHA-256 is serial within one message but the recorder hashes
 * one message per open segment, so the cameras' files are independent
 * lanes: AVX-512 compresses 16 lanes per instruction stream (8 with AVX2),
 * several times the throughput of one lane at a time.
 *
 * How: a job is one message. Its bytes are queued as chunks (borrowed, with
 * a media_packet reference or an owned copy keeping them alive) and hashed
 * later by rec_sha256_mb_run, which feeds runs of whole 64-byte blocks of
 * up to 16 jobs to the vector kernel; a block that straddles chunks is
 * assembled in the job's 64-byte tail. With fewer than MB_MIN_LANES jobs
 * ready, or a CPU without AVX-512, libcrypto's one-lane block function
 * (assembly; SHA-NI where the CPU has it) is used instead.
 * The digest is the standard FIPS 180-4 SHA-256 (tested against libcrypto).
 *
 * Thread: a job and the run belong to the caller's thread (the recorder).
 */
#include "fmp4_int.h"

#include "mem.h"

#include <immintrin.h>
/* SHA256_Update on a bare SHA256_CTX is deprecated for applications but is the one way to run
 * libcrypto's block function on our own state. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MB_LANES 16
#define MB_MIN_LANES 6 /* below this, one lane at a time in libcrypto is faster */

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* ---- one lane: libcrypto's block function (its assembly, SHA-NI where present) ---- */

static void compress1(uint32_t h[8], const uint8_t *data, size_t nblocks)
{
    /* Whole blocks only: Update hands them straight to the block function (num stays 0). */
    SHA256_CTX c = {0};
    memcpy(c.h, h, sizeof(c.h));
    c.md_len = SHA256_DIGEST_LENGTH;
    SHA256_Update(&c, data, nblocks * 64);
    memcpy(h, c.h, sizeof(c.h));
}

/* ---- 16 lanes, AVX-512 ---- */

/*
 * Compresses nblocks blocks for each of 16 lanes; lane i reads
 * ptr[i] .. ptr[i] + 64 * nblocks and updates state[i]. Idle lanes point at
 * any readable 64 * nblocks bytes and their state is ignored.
 */
__attribute__((target("avx512f,avx512bw"))) static void
compress16(uint32_t state[MB_LANES][8], const uint8_t *const ptr[MB_LANES], size_t nblocks)
{
    const __m512i bswap = _mm512_set4_epi32(0x0c0d0e0f, 0x08090a0b, 0x04050607, 0x00010203);
    __m512i lo = _mm512_loadu_si512((const void *)&ptr[0]);
    __m512i hi = _mm512_loadu_si512((const void *)&ptr[8]);
    __m512i s[8];
    for (int j = 0; j < 8; j++) {
        uint32_t col[MB_LANES];
        for (int i = 0; i < MB_LANES; i++)
            col[i] = state[i][j];
        s[j] = _mm512_loadu_si512(col);
    }
    for (; nblocks; nblocks--) {
        __m512i w[16];
        for (int t = 0; t < 16; t++) {
            __m256i a = _mm512_i64gather_epi32(lo, (const void *)(uintptr_t)(4 * t), 1);
            __m256i b = _mm512_i64gather_epi32(hi, (const void *)(uintptr_t)(4 * t), 1);
            w[t] = _mm512_shuffle_epi8(_mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1), bswap);
        }
        __m512i a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
        for (int t = 0; t < 64; t++) {
            __m512i wt;
            if (t < 16) {
                wt = w[t];
            } else {
                __m512i w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
                __m512i s0 =
                    _mm512_ternarylogic_epi32(_mm512_ror_epi32(w15, 7), _mm512_ror_epi32(w15, 18),
                                              _mm512_srli_epi32(w15, 3), 0x96);
                __m512i s1 =
                    _mm512_ternarylogic_epi32(_mm512_ror_epi32(w2, 17), _mm512_ror_epi32(w2, 19),
                                              _mm512_srli_epi32(w2, 10), 0x96);
                wt = _mm512_add_epi32(_mm512_add_epi32(w[t & 15], s0),
                                      _mm512_add_epi32(w[(t - 7) & 15], s1));
                w[t & 15] = wt;
            }
            __m512i S1 = _mm512_ternarylogic_epi32(_mm512_ror_epi32(e, 6), _mm512_ror_epi32(e, 11),
                                                   _mm512_ror_epi32(e, 25), 0x96);
            __m512i ch = _mm512_ternarylogic_epi32(e, f, g, 0xca);
            __m512i t1 = _mm512_add_epi32(_mm512_add_epi32(h, S1), _mm512_add_epi32(ch, wt));
            t1 = _mm512_add_epi32(t1, _mm512_set1_epi32((int)K[t]));
            __m512i S0 = _mm512_ternarylogic_epi32(_mm512_ror_epi32(a, 2), _mm512_ror_epi32(a, 13),
                                                   _mm512_ror_epi32(a, 22), 0x96);
            __m512i maj = _mm512_ternarylogic_epi32(a, b, c, 0xe8);
            h = g;
            g = f;
            f = e;
            e = _mm512_add_epi32(d, t1);
            d = c;
            c = b;
            b = a;
            a = _mm512_add_epi32(t1, _mm512_add_epi32(S0, maj));
        }
        s[0] = _mm512_add_epi32(s[0], a), s[1] = _mm512_add_epi32(s[1], b);
        s[2] = _mm512_add_epi32(s[2], c), s[3] = _mm512_add_epi32(s[3], d);
        s[4] = _mm512_add_epi32(s[4], e), s[5] = _mm512_add_epi32(s[5], f);
        s[6] = _mm512_add_epi32(s[6], g), s[7] = _mm512_add_epi32(s[7], h);
        lo = _mm512_add_epi64(lo, _mm512_set1_epi64(64));
        hi = _mm512_add_epi64(hi, _mm512_set1_epi64(64));
    }
    for (int j = 0; j < 8; j++) {
        uint32_t col[MB_LANES];
        _mm512_storeu_si512(col, s[j]);
        for (int i = 0; i < MB_LANES; i++)
            state[i][j] = col[i];
    }
}

/*
 * Whether to use the vector lanes is a pure function of the CPU and the
 * environment (HORUS_SHA256_NO_SIMD), decided once per process with
 * pthread_once: every hasher in every recorder sees the same answer, and
 * no thread writes it after the first call. Tests and benchmarks compare
 * both paths through a per-thread override (rec_sha256_mb_use_vector),
 * which never affects another thread's hashing.
 */
static pthread_once_t vector_once = PTHREAD_ONCE_INIT;
static bool cpu_vector; /* written once under vector_once */
static _Thread_local int vector_override = -1; /* -1: none; else 0 or 1 */

static bool cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

static void vector_decide(void)
{
    cpu_vector = cpu_has_avx512() && !getenv("HORUS_SHA256_NO_SIMD");
}

static bool has_avx512(void)
{
    if (vector_override >= 0)
        return vector_override;
    pthread_once(&vector_once, vector_decide);
    return cpu_vector;
}

bool rec_sha256_mb_use_vector(bool on)
{
    vector_override = on && cpu_has_avx512();
    return vector_override;
}

/* ---- jobs ---- */

void rec_sha256_job_init(struct rec_sha256_job *j)
{
    memset(j, 0, sizeof(*j));
    memcpy(j->h, H0, sizeof(H0));
}

static void chunk_release(struct rec_sha256_chunk *c)
{
    media_packet_unref(c->pkt);
    free(c->owned);
}

static void push_chunk(struct rec_sha256_job *j, struct rec_sha256_chunk c)
{
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 32;
        j->chunks = horus_realloc(j->chunks, j->cap * sizeof(*j->chunks));
    }
    j->chunks[j->n++] = c;
    j->pending += c.len;
    j->total += c.len;
}

void rec_sha256_job_copy(struct rec_sha256_job *j, const void *data, size_t n)
{
    if (!n)
        return;
    uint8_t *copy = horus_malloc(n);
    memcpy(copy, data, n);
    push_chunk(j, (struct rec_sha256_chunk){.p = copy, .len = n, .owned = copy});
}

void rec_sha256_job_packet(struct rec_sha256_job *j, media_packet *pkt)
{
    if (pkt->size)
        push_chunk(j, (struct rec_sha256_chunk){
                          .p = pkt->data, .len = pkt->size, .pkt = media_packet_ref(pkt)});
}

/*
 * The job's next run of whole blocks: the tail once it fills to 64 bytes,
 * or whole blocks straight from the current chunk. Bytes that cannot make
 * a whole block yet move into the tail. Returns the block count (0 when
 * the job has no whole block pending) and the pointer in *p.
 */
static size_t next_run(struct rec_sha256_job *j, const uint8_t **p)
{
    while (j->head < j->n) {
        struct rec_sha256_chunk *c = &j->chunks[j->head];
        size_t left = c->len - j->off;
        if (j->tail_len || left < 64) {
            size_t take = 64 - j->tail_len < left ? 64 - j->tail_len : left;
            memcpy(j->tail + j->tail_len, c->p + j->off, take);
            j->tail_len += take;
            j->off += take;
            j->pending -= take;
            if (j->off == c->len) {
                chunk_release(c);
                j->head++;
                j->off = 0;
            }
            if (j->tail_len == 64) {
                j->tail_len = 0;
                *p = j->tail;
                return 1;
            }
            continue;
        }
        size_t nb = left / 64;
        *p = c->p + j->off;
        j->off += nb * 64;
        j->pending -= nb * 64;
        /* The chunk is released once its remainder is consumed, never while a run points into it.
         */
        return nb;
    }
    j->head = j->n = 0;
    return 0;
}

/* Releases chunks fully consumed by runs handed out earlier. */
static void retire(struct rec_sha256_job *j)
{
    while (j->head < j->n && j->off == j->chunks[j->head].len) {
        chunk_release(&j->chunks[j->head]);
        j->head++;
        j->off = 0;
    }
    if (j->head == j->n)
        j->head = j->n = 0;
}

void rec_sha256_mb_run(struct rec_sha256_job *const *jobs, size_t n)
{
    size_t next = 0;
    struct lane {
        struct rec_sha256_job *job;
        const uint8_t *p;
        size_t nblocks;
    } lanes[MB_LANES] = {{0}};
    uint32_t state[MB_LANES][8] = {{0}};
    static const uint8_t idle[64 * 64];
    bool simd = has_avx512();
    for (;;) {
        /* Give every free lane the next job with a whole block pending. */
        size_t active = 0;
        for (int i = 0; i < MB_LANES; i++) {
            while (!lanes[i].job && next < n) {
                struct rec_sha256_job *j = jobs[next++];
                const uint8_t *p;
                size_t nb = next_run(j, &p);
                if (nb)
                    lanes[i] = (struct lane){j, p, nb};
            }
            active += lanes[i].job != NULL;
        }
        if (!active)
            return;
        if (!simd || active < MB_MIN_LANES) {
            for (int i = 0; i < MB_LANES; i++) {
                struct lane *l = &lanes[i];
                while (l->job) {
                    compress1(l->job->h, l->p, l->nblocks);
                    retire(l->job);
                    l->nblocks = next_run(l->job, &l->p);
                    if (!l->nblocks)
                        l->job = NULL;
                }
            }
            continue;
        }
        size_t step = SIZE_MAX;
        const uint8_t *ptr[MB_LANES];
        for (int i = 0; i < MB_LANES; i++)
            if (lanes[i].job && lanes[i].nblocks < step)
                step = lanes[i].nblocks;
        if (step > 64)
            step = 64; /* idle lanes read the 64-block zero buffer */
        for (int i = 0; i < MB_LANES; i++) {
            ptr[i] = lanes[i].job ? lanes[i].p : idle;
            if (lanes[i].job)
                memcpy(state[i], lanes[i].job->h, sizeof(state[i]));
        }
        compress16(state, ptr, step);
        for (int i = 0; i < MB_LANES; i++) {
            struct lane *l = &lanes[i];
            if (!l->job)
                continue;
            memcpy(l->job->h, state[i], sizeof(state[i]));
            l->p += 64 * step;
            l->nblocks -= step;
            if (!l->nblocks) {
                retire(l->job);
                l->nblocks = next_run(l->job, &l->p);
                if (!l->nblocks)
                    l->job = NULL;
            }
        }
    }
}

void rec_sha256_job_final(struct rec_sha256_job *j, uint8_t digest[32])
{
    struct rec_sha256_job *one = j;
    rec_sha256_mb_run(&one, 1);
    /* Now fewer than 64 bytes remain, all in the tail. */
    uint8_t block[128] = {0};
    memcpy(block, j->tail, j->tail_len);
    block[j->tail_len] = 0x80;
    size_t len = j->tail_len + 9 <= 64 ? 64 : 128;
    uint64_t bits = j->total * 8;
    for (int i = 0; i < 8; i++)
        block[len - 1 - i] = (uint8_t)(bits >> (8 * i));
    compress1(j->h, block, len / 64);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(j->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(j->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(j->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)j->h[i];
    }
    rec_sha256_job_release(j);
}

void rec_sha256_job_release(struct rec_sha256_job *j)
{
    for (size_t i = j->head; i < j->n; i++)
        chunk_release(&j->chunks[i]);
    free(j->chunks);
    j->chunks = NULL;
    j->n = j->cap = j->head = 0;
}

bool rec_sha256_mb_is_vector(void)
{
    return has_avx512();
}
