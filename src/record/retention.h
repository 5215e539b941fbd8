/*
 * Retention: keeps storage within each camera's retention_days and
 * max_bytes and the global storage.min_free_percent watermark, deleting
 * the oldest closed segments first and never one pinned past now.
 * (Folds into record.h once the recorder's header settles; see #3.)
 *
 * A pass runs on the "rec-retention" thread every interval, and at once
 * when rec_retention_kick is called (the recorder does so on ENOSPC).
 *
 * Lifecycle (every module's rule): rec_retention_new allocates and starts
 * no thread; rec_retention_start starts "rec-retention"; rec_retention_stop
 * stops and joins it; rec_retention_free frees (NULL is a no-op; after
 * stop, or on a never-started object).
 */
#ifndef HORUS_RECORD_RETENTION_H
#define HORUS_RECORD_RETENTION_H

#include "clock.h"
#include "metrics.h"
#include "storage.h"

#include <stdint.h>

typedef struct rec_retention rec_retention;

/* Free and total bytes of the filesystem holding path; tests inject their own. */
typedef int (*rec_fs_space_cb)(const char *path, uint64_t *free_bytes, uint64_t *total_bytes,
                               void *arg);

struct rec_retention_options {
    sto_db *db; /* borrowed */
    const char *data_dir; /* borrowed: row paths are relative to it */
    double min_free_percent; /* 0 disables the watermark */
    int64_t interval_ms; /* between passes; 0 = 60000 */
    size_t batch; /* rows per delete transaction; 0 = 256 */
    metrics_registry *metrics; /* borrowed */
    const horus_clock *clock; /* borrowed; NULL = system */
    rec_fs_space_cb fs_space_cb; /* NULL = statvfs */
    void *fs_space_arg;
};

/* Summary of one pass. */
struct rec_retention_stats {
    uint64_t segments[3]; /* by reason: age, cap, watermark */
    uint64_t bytes[3];
    uint64_t failed; /* files that could not be removed (rows kept) */
};

enum { REC_RETENTION_AGE, REC_RETENTION_CAP, REC_RETENTION_WATERMARK };

/* Creates the object; starts no thread. Returns a new object. Thread: main. */
rec_retention *rec_retention_new(const struct rec_retention_options *opt);
/* Starts the "rec-retention" thread. Returns 0 or -errno. Thread: main. */
int rec_retention_start(rec_retention *r);
/*
 * Stops and joins the thread (a pass in progress finishes first). A no-op
 * when not started. Kicks after it are ignored. Thread: main.
 */
void rec_retention_stop(rec_retention *r);
/* Asks for a pass now (ENOSPC, config change). Thread: any. */
void rec_retention_kick(rec_retention *r);
/* Updates the watermark (config reload). Thread: any. */
void rec_retention_set_min_free(rec_retention *r, double min_free_percent);
/* Frees r, stopping it first if the caller did not. NULL is a no-op. Thread: main. */
void rec_retention_free(rec_retention *r);

/*
 * Runs one pass on the calling thread (tests, `horus check`). Fills *stats
 * when not NULL. Returns 0 or a storage error.
 */
int rec_retention_run_once(rec_retention *r, struct rec_retention_stats *stats);

#endif
