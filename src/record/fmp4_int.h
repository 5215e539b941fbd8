/*
 * Private to src/record: the ISO BMFF box writer behind segment.c, and the
 * SHA-256 used for closed files. Unit tests include it too.
 */
#ifndef HORUS_RECORD_FMP4_INT_H
#define HORUS_RECORD_FMP4_INT_H

#include "media.h"
#include "record.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer; zero-initialise, release with fmp4_buf_release. */
struct fmp4_buf {
    uint8_t *data; /* owned */
    size_t len, cap;
};

void fmp4_buf_release(struct fmp4_buf *b);
void fmp4_put_u8(struct fmp4_buf *b, uint8_t v);
void fmp4_put_u16(struct fmp4_buf *b, uint16_t v);
void fmp4_put_u32(struct fmp4_buf *b, uint32_t v);
void fmp4_put_u64(struct fmp4_buf *b, uint64_t v);
void fmp4_put_bytes(struct fmp4_buf *b, const void *p, size_t n);
void fmp4_put_zeros(struct fmp4_buf *b, size_t n);
/* Starts a box and returns its offset, to pass to fmp4_box_end which patches the size. */
size_t fmp4_box_begin(struct fmp4_buf *b, const char type[4]);
size_t fmp4_fullbox_begin(struct fmp4_buf *b, const char type[4], uint8_t version, uint32_t flags);
void fmp4_box_end(struct fmp4_buf *b, size_t start);

/*
 * Appends ftyp + moov for streams (track ids 1..n, in order), borrowed.
 * Returns 0 or HORUS_ECODEC for a stream without extradata or of an
 * unknown codec (b is then left partly written).
 */
int fmp4_init_write(struct fmp4_buf *b, media_stream *const *streams, size_t n,
                    int64_t start_wall_us);

/* moov/udta child carrying the segment's start (u8 version, u24 flags, u64 UTC microseconds). */
#define FMP4_START_BOX "hrst"

/* One sample of a run, in the track's timescale. */
struct fmp4_sample {
    uint32_t size;
    uint32_t duration;
    int32_t cts_offset; /* pts - dts */
    bool is_sync;
};

/* The samples of one track in one fragment. */
struct fmp4_run {
    uint32_t track_id;
    uint64_t base_dts; /* tfdt */
    const struct fmp4_sample *samples; /* borrowed */
    size_t n;
};

/*
 * Appends moof (sequence number seq, one traf per run with n > 0) and the
 * 8-byte mdat header. The sample bytes must follow in run order, then
 * sample order, right after the mdat header. Returns the payload size that
 * the mdat header announces.
 */
size_t fmp4_fragment_header_write(struct fmp4_buf *b, uint32_t seq, const struct fmp4_run *runs,
                                  size_t n_runs);

/*
 * Converts ticks of timescale to 90 kHz, saturating at +-2^62 so that sums
 * and differences of two results never overflow. Writer and scanner share
 * it so that their indexes agree to the tick.
 */
static inline int64_t fmp4_to_90k(int64_t v, uint32_t timescale)
{
    const int64_t lim = INT64_C(1) << 62;
    __int128 x = (__int128)v * 90000 / timescale;
    return x > lim ? lim : x < -lim ? -lim : (int64_t)x;
}

/* ---- SHA-256 (libcrypto) ---- */

struct rec_sha256 {
    void *ctx; /* owned: libcrypto EVP_MD_CTX; NULL after final or release */
};

void rec_sha256_init(struct rec_sha256 *c);
void rec_sha256_update(struct rec_sha256 *c, const void *data, size_t n);
void rec_sha256_final(struct rec_sha256 *c, uint8_t digest[32]); /* also releases */
/* Frees the state without a digest (an abandoned segment). Safe after final. */
void rec_sha256_release(struct rec_sha256 *c);
/* Writes 64 lowercase hex digits and a NUL. */
void rec_sha256_hex(const uint8_t digest[32], char out[65]);

/* ---- SHA-256 of many messages at once (sha256_mb.c) ---- */

struct rec_sha256_chunk {
    const uint8_t *p;
    size_t len;
    media_packet *pkt; /* owned reference keeping p alive, or NULL */
    uint8_t *owned; /* owned copy (p points here), or NULL */
};

/*
 * One message hashed later, together with others. Bytes are queued by
 * reference (packets) or copied (headers) and hashed by rec_sha256_mb_run.
 */
struct rec_sha256_job {
    uint32_t h[8];
    uint64_t total; /* bytes queued since init */
    uint64_t pending; /* bytes queued and not yet hashed (tail excluded) */
    struct rec_sha256_chunk *chunks;
    size_t n, cap, head; /* chunks[head..n) are pending; off bytes of chunks[head] done */
    size_t off;
    uint8_t tail[64]; /* bytes of an incomplete block */
    size_t tail_len;
};

void rec_sha256_job_init(struct rec_sha256_job *j);
/* Queues a copy of data. */
void rec_sha256_job_copy(struct rec_sha256_job *j, const void *data, size_t n);
/* Queues pkt's bytes by reference (the job holds a packet reference until they are hashed). */
void rec_sha256_job_packet(struct rec_sha256_job *j, media_packet *pkt);
/*
 * Hashes the pending whole blocks of n jobs, up to 16 at a time with
 * AVX-512 when the CPU has it (HORUS_SHA256_NO_SIMD=1 forces one lane at a
 * time). Bytes short of a block wait in the job's tail.
 */
void rec_sha256_mb_run(struct rec_sha256_job *const *jobs, size_t n);
/* Hashes what is left, writes the digest and releases the job. */
void rec_sha256_job_final(struct rec_sha256_job *j, uint8_t digest[32]);
/* Releases queued chunks without a digest. Safe after final. */
void rec_sha256_job_release(struct rec_sha256_job *j);
/* True when rec_sha256_mb_run uses vector lanes on this CPU (and this thread). */
bool rec_sha256_mb_is_vector(void);
/*
 * Tests and benchmarks: turn the vector lanes on (when the CPU has them) or
 * off for the calling thread only; returns the result. Other threads keep
 * the process-wide decision (CPU and HORUS_SHA256_NO_SIMD, made once).
 */
bool rec_sha256_mb_use_vector(bool on);

#endif
