/* Private to src/playback: the remux step of an export job. */
#ifndef HORUS_PLAYBACK_EXPORT_INT_H
#define HORUS_PLAYBACK_EXPORT_INT_H

#include "playback.h"

#include <stdatomic.h>

struct pb_remux {
    /* in (borrowed for the call) */
    const char *data_dir;
    const struct sto_recording *rows; /* by start, overlapping [start_us, end_us) */
    size_t nrows;
    int64_t start_us, end_us;
    const char *out_path; /* written and fsynced; the caller renames it */
    const atomic_bool *is_cancelled; /* checked per packet and inside libav's blocking calls */
    const atomic_bool *is_stopping;
    void (*progress_cb)(void *arg, double progress); /* ~10 times a second at most */
    void *progress_arg;
    /* out */
    uint64_t size_bytes;
    int64_t duration_us;
    char sha256[65];
    char error[320]; /* why it failed, a sentence naming the file or instant */
};

/*
 * Remuxes the rows' segment files into one faststart MP4 at r->out_path:
 * from the keyframe at or before start_us up to (excluding) end_us, with
 * timestamps continuous across files and jumping over gaps. Fails on a
 * codec, size or parameter-set change inside the range. Then fsyncs the
 * file and hashes it. Returns 0, -ECANCELED, HORUS_ESTOPPED, HORUS_ECODEC
 * (change in the range; r->error names the instant), -ENODATA (nothing to
 * write), or another negative code with r->error set. The file may be left
 * on failure; the caller removes it. Thread: a pb-export worker.
 */
int pb_remux_run(struct pb_remux *r);

/* An export's source check (export_verify.c). */
struct pb_verify {
    /* in (borrowed for the call) */
    const char *data_dir;
    const struct sto_recording *rows;
    size_t nrows;
    const atomic_bool *is_cancelled;
    const atomic_bool *is_stopping;
    /* out */
    unsigned missing; /* files absent or unreadable */
    unsigned corrupt; /* files whose SHA-256 differs from their index row's */
    char error[320]; /* a sentence naming them; "" when all match */
};

/*
 * Hashes every row's file and compares it with the row's sha256 (rows
 * without one are only checked to be readable). Returns 0 when all match;
 * -ENOENT (some missing) or -EBADMSG (some corrupt) with v->error naming
 * them; -ECANCELED or HORUS_ESTOPPED when the job is cancelled or the
 * daemon stops. Thread: a pb-export worker.
 */
int pb_export_verify(struct pb_verify *v);

/* A job's stop flags as a code: -ECANCELED, HORUS_ESTOPPED, or 0. Thread: any. */
int pb_stop_code(const atomic_bool *is_cancelled, const atomic_bool *is_stopping);

/*
 * SHA-256 of fd from its offset to its end, read 1 MiB at a time, as hex
 * into hex[65], and the bytes read into *size (may be NULL). Stops within
 * one read when a flag is set. Returns 0, pb_stop_code's code, or -errno of
 * the read. Shared by the source check and the export's read-back. Thread:
 * a pb-export worker.
 */
int pb_hash_fd(int fd, const atomic_bool *is_cancelled, const atomic_bool *is_stopping,
               char hex[65], uint64_t *size);

#endif
