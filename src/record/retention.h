/*
 * Retention: keeps storage within each camera's retention_days and
 * max_bytes, the global storage.min_free_percent watermark, and the
 * storage.deleted_camera_grace of deleted cameras' recordings
 * (docs/design/0013-storage-budget.md). Age and cap never delete a pinned
 * recording; the watermark deletes pinned ones only when no unpinned one
 * is left.
 * (Folds into record.h once the recorder's header settles; see #3.)
 *
 * A full pass runs on the "rec-retention" thread every interval, and at
 * once when rec_retention_kick is called (the recorder does so on ENOSPC).
 * Between passes the thread checks free space every check interval and
 * runs the watermark as soon as free space falls below it.
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
    int64_t interval_ms; /* between full passes; 0 = 60000 */
    int64_t check_interval_ms; /* between free-space checks; 0 = 2000 */
    int64_t deleted_camera_grace_ms; /* orphaned recordings live this long; 0 = delete at once */
    size_t batch; /* rows per delete transaction; 0 = 256 */
    metrics_registry *metrics; /* borrowed */
    const horus_clock *clock; /* borrowed; NULL = system */
    rec_fs_space_cb fs_space_cb; /* NULL = statvfs */
    void *fs_space_arg;
};

enum {
    REC_RETENTION_AGE,
    REC_RETENTION_CAP,
    REC_RETENTION_WATERMARK,
    REC_RETENTION_ORPHANED,
    REC_RETENTION_NREASONS
};

/* Summary of one pass. */
struct rec_retention_stats {
    uint64_t segments[REC_RETENTION_NREASONS]; /* by reason: age, cap, watermark, orphaned */
    uint64_t bytes[REC_RETENTION_NREASONS];
    uint64_t failed; /* files that could not be removed (rows kept) */
    uint64_t watermark_needed_bytes; /* what the watermark had to free when it started */
    uint64_t watermark_pinned; /* pinned segments it deleted (none unpinned were left) */
};

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
/* Updates storage.deleted_camera_grace (config reload). Thread: any. */
void rec_retention_set_deleted_camera_grace(rec_retention *r, int64_t grace_ms);
/* Frees r, stopping it first if the caller did not. NULL is a no-op. Thread: main. */
void rec_retention_free(rec_retention *r);

/*
 * Runs one pass on the calling thread (tests, `horus check`). Fills *stats
 * when not NULL. Returns 0 or a storage error.
 */
int rec_retention_run_once(rec_retention *r, struct rec_retention_stats *stats);

/*
 * Deletion planning: how many of list[0..n) (oldest first) to delete so
 * that their bytes reach need_bytes: the shortest prefix that does, or all
 * n when none does. 0 when need_bytes is 0. Thread: any.
 */
size_t rec_retention_plan(const struct sto_recording *list, size_t n, uint64_t need_bytes);

#endif
