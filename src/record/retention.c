/*
 * DESIGN: one pass of retention, four rules in order:
 *   1. age: per camera, segments that ended more than retention_days ago;
 *   2. cap: per camera with max_bytes > 0, oldest segments until the
 *      camera's total is at most max_bytes;
 *   3. orphaned: recordings of deleted cameras (moved to orphan groups by
 *      storage) once storage.deleted_camera_grace has passed;
 *   4. watermark: across all cameras, just enough of the oldest segments
 *      to bring free space back to min_free_percent + 1% (the hysteresis:
 *      the watermark starts below min_free_percent and stops above the low
 *      mark, so a busy disk does not delete one segment per pass forever).
 * Age and cap skip pinned rows (an event's pinned_until_us, or a pin of
 * the pins table such as an export's range). The watermark takes unpinned
 * rows first and pinned ones only when none is left: a full disk stops all
 * recording, which loses more than the oldest pinned footage.
 * Segments being written have no row yet, so they are never candidates.
 *
 * "Just enough": the watermark computes the bytes missing to the low mark,
 * plans the shortest prefix of the oldest candidates whose bytes cover it
 * (rec_retention_plan), deletes that, then measures free space again and
 * repeats; exports and snapshots on the volume count because free space is
 * measured, not summed from the index.
 *
 * When: a full pass every interval and at once on rec_retention_kick (the
 * recorder kicks on ENOSPC); between passes a free-space check every
 * check interval runs the watermark alone as soon as usage crosses it.
 *
 * Order of deletion: the file first, then (in one transaction per batch)
 * the rows whose files are gone. A file that cannot be removed keeps its
 * row and is counted as failed. A file already missing counts as removed.
 * Each pass writes one summary line and updates counters by reason.
 *
 * Thread: "rec-retention"; rec_retention_run_once on the caller's thread.
 */
#include "retention.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "retention"

static const char *const reason_names[] = {"age", "cap", "watermark", "orphaned"};

struct rec_retention {
    struct rec_retention_options opt;
    char *data_dir; /* owned copy */
    _Atomic uint64_t min_free_bits; /* double bits */
    _Atomic int64_t grace_ms; /* storage.deleted_camera_grace */
    pthread_t thread;
    bool is_started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool is_kicked;
    bool is_stopping;
    metrics_series *m_segments[REC_RETENTION_NREASONS];
    metrics_series *m_bytes[REC_RETENTION_NREASONS];
    metrics_series *m_failed;
};

static int statvfs_space(const char *path, uint64_t *free_b, uint64_t *total_b, void *arg)
{
    struct statvfs v;
    if (statvfs(path, &v) < 0)
        return -errno;
    *free_b = (uint64_t)v.f_bavail * v.f_frsize;
    *total_b = (uint64_t)v.f_blocks * v.f_frsize;
    return 0;
}

static double min_free(rec_retention *r)
{
    uint64_t b = atomic_load(&r->min_free_bits);
    double d;
    memcpy(&d, &b, sizeof(d));
    return d;
}

void rec_retention_set_min_free(rec_retention *r, double min_free_percent)
{
    uint64_t b;
    memcpy(&b, &min_free_percent, sizeof(b));
    atomic_store(&r->min_free_bits, b);
}

void rec_retention_set_deleted_camera_grace(rec_retention *r, int64_t grace_ms)
{
    atomic_store(&r->grace_ms, grace_ms);
}

rec_retention *rec_retention_new(const struct rec_retention_options *opt)
{
    rec_retention *r = horus_calloc(1, sizeof(*r));
    r->opt = *opt;
    r->data_dir = horus_strdup(opt->data_dir);
    r->opt.data_dir = r->data_dir;
    if (!r->opt.interval_ms)
        r->opt.interval_ms = 60000;
    if (!r->opt.check_interval_ms)
        r->opt.check_interval_ms = 2000;
    if (!r->opt.batch)
        r->opt.batch = 256;
    if (!r->opt.clock)
        r->opt.clock = clock_system();
    if (!r->opt.fs_space_cb)
        r->opt.fs_space_cb = statvfs_space;
    rec_retention_set_min_free(r, opt->min_free_percent);
    rec_retention_set_deleted_camera_grace(r, opt->deleted_camera_grace_ms);
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->wake, &ca);
    pthread_condattr_destroy(&ca);
    metrics_family *seg = metrics_family_add(
        opt->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                             .name = "horus_retention_deleted_segments_total",
                                             .help = "Segments deleted by retention, by rule",
                                             .labels = "reason"});
    metrics_family *bytes = metrics_family_add(
        opt->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                             .name = "horus_retention_deleted_bytes_total",
                                             .help = "Bytes deleted by retention, by rule",
                                             .labels = "reason"});
    for (int i = 0; i < REC_RETENTION_NREASONS; i++) {
        r->m_segments[i] = metrics_series_get(seg, reason_names[i]);
        r->m_bytes[i] = metrics_series_get(bytes, reason_names[i]);
    }
    r->m_failed = metrics_series_get(metrics_family_add(
        opt->metrics,
        &(struct metrics_desc){.type = METRICS_COUNTER,
                               .name = "horus_retention_delete_failures_total",
                               .help = "Segment files retention could not remove (rows kept)"}));
    return r;
}

/*
 * Removes the files of list[0..n) and then the rows of those that are
 * gone. Adds to stats under reason. Returns the number of rows deleted, or
 * a negative storage error.
 */
static int delete_segments(rec_retention *r, struct sto_recording *list, size_t n, int reason,
                           struct rec_retention_stats *stats)
{
    size_t kept = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", r->data_dir, list[i].path);
        if (unlink(path) < 0 && errno != ENOENT) {
            log_warn_limited("remove segment",
                             LOG_KV({"camera", list[i].camera_id}, {"path", list[i].path}),
                             "remove segment: %s; keeping its index row", strerror(errno));
            stats->failed++;
            metrics_counter_inc(r->m_failed);
            continue;
        }
        bytes += list[i].bytes;
        if (kept != i) {
            struct sto_recording tmp = list[kept];
            list[kept] = list[i];
            list[i] = tmp;
        }
        kept++;
    }
    int rc = sto_recordings_delete(r->opt.db, list, kept);
    if (rc < 0)
        return rc;
    stats->segments[reason] += kept;
    stats->bytes[reason] += bytes;
    metrics_counter_add(r->m_segments[reason], (double)kept);
    metrics_counter_add(r->m_bytes[reason], (double)bytes);
    return (int)kept;
}

static int rule_age(rec_retention *r, const struct sto_camera *cam, int64_t now_us,
                    struct rec_retention_stats *stats)
{
    int64_t before = now_us - cam->retention_days * INT64_C(86400000000);
    for (;;) {
        struct sto_recording *list;
        size_t n;
        int rc = sto_recordings_oldest(r->opt.db, cam->id, before, now_us, r->opt.batch, &list, &n);
        if (rc < 0)
            return rc;
        rc = n ? delete_segments(r, list, n, REC_RETENTION_AGE, stats) : 0;
        sto_recording_list_free(list, n);
        if (rc <= 0 || n < r->opt.batch)
            return rc < 0 ? rc : 0;
    }
}

static int rule_cap(rec_retention *r, const struct sto_camera *cam, int64_t now_us,
                    struct rec_retention_stats *stats)
{
    if (cam->max_bytes == 0)
        return 0;
    for (;;) {
        uint64_t used, count;
        int rc = sto_recordings_usage(r->opt.db, cam->id, &used, &count);
        if (rc < 0 || used <= cam->max_bytes)
            return rc;
        struct sto_recording *list;
        size_t n;
        rc = sto_recordings_oldest(r->opt.db, cam->id, INT64_MAX, now_us, r->opt.batch, &list, &n);
        if (rc < 0)
            return rc;
        /* Take just enough of the oldest to get under the cap. */
        size_t take = 0;
        uint64_t excess = used - cam->max_bytes, freed = 0;
        while (take < n && freed < excess)
            freed += list[take++].bytes;
        rc = take ? delete_segments(r, list, take, REC_RETENTION_CAP, stats) : 0;
        sto_recording_list_free(list, n);
        if (rc <= 0)
            return rc; /* nothing deletable (all pinned) or an error */
    }
}

size_t rec_retention_plan(const struct sto_recording *list, size_t n, uint64_t need_bytes)
{
    size_t take = 0;
    uint64_t freed = 0;
    while (take < n && freed < need_bytes)
        freed += list[take++].bytes;
    return take;
}

static int rule_orphaned(rec_retention *r, int64_t now_us, struct rec_retention_stats *stats)
{
    size_t moved = 0;
    int rc = sto_orphans_collect(r->opt.db, now_us / 1000, &moved);
    if (rc < 0)
        return rc;
    if (moved)
        log_info("moved the recordings of %zu deleted cameras to orphaned groups", moved);
    struct sto_orphan *list = NULL;
    size_t n = 0;
    rc = sto_orphan_list(r->opt.db, 1000, &list, &n);
    int64_t grace_ms = atomic_load(&r->grace_ms);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (list[i].deleted_at_ms > now_us / 1000 - grace_ms)
            continue; /* in its grace period (oldest first, but the grace may change) */
        for (;;) {
            struct sto_recording *rows;
            size_t nrows;
            rc = sto_recordings_oldest(r->opt.db, list[i].orphan_id, INT64_MAX, now_us,
                                       r->opt.batch, &rows, &nrows);
            if (rc < 0)
                break;
            rc = nrows ? delete_segments(r, rows, nrows, REC_RETENTION_ORPHANED, stats) : 0;
            sto_recording_list_free(rows, nrows);
            if (rc <= 0 || nrows < r->opt.batch)
                break;
        }
        if (rc >= 0)
            rc = sto_orphan_delete_if_empty(r->opt.db, list[i].orphan_id);
    }
    sto_orphan_list_free(list, n);
    return rc < 0 ? rc : 0;
}

static int rule_watermark(rec_retention *r, int64_t now_us, struct rec_retention_stats *stats)
{
    double want = min_free(r);
    if (want <= 0)
        return 0;
    bool is_started = false, has_warned_pinned = false;
    for (;;) {
        uint64_t free_b, total_b;
        int rc = r->opt.fs_space_cb(r->data_dir, &free_b, &total_b, r->opt.fs_space_arg);
        if (rc < 0 || total_b == 0)
            return rc;
        /* Start below the watermark; once started, free up to 1% more than it. */
        double target_pct = is_started ? want + 1.0 : want;
        if (target_pct > 100.0)
            target_pct = 100.0;
        uint64_t target_b = (uint64_t)((double)total_b * target_pct / 100.0);
        if (free_b >= target_b)
            return 0;
        uint64_t low_b =
            (uint64_t)((double)total_b * (want + 1.0 > 100.0 ? 100.0 : want + 1.0) / 100.0);
        uint64_t need = low_b > free_b ? low_b - free_b : 1;
        if (!is_started) {
            stats->watermark_needed_bytes = need;
            is_started = true;
        }
        struct sto_recording *list;
        size_t n;
        bool is_pinned = false;
        rc = sto_recordings_oldest(r->opt.db, NULL, INT64_MAX, now_us, r->opt.batch, &list, &n);
        if (rc == 0 && n == 0) {
            free(list);
            is_pinned = true;
            rc = sto_recordings_oldest_pinned(r->opt.db, now_us, r->opt.batch, &list, &n);
        }
        if (rc < 0)
            return rc;
        size_t take = rec_retention_plan(list, n, need);
        if (is_pinned && take && !has_warned_pinned) {
            log_warn("free space %.1f%% is below the %.1f%% watermark and every unpinned "
                     "recording is gone: deleting the oldest pinned ones (exports, events)",
                     100.0 * (double)free_b / (double)total_b, want);
            has_warned_pinned = true;
        }
        rc = take ? delete_segments(r, list, take, REC_RETENTION_WATERMARK, stats) : 0;
        sto_recording_list_free(list, n);
        if (rc > 0 && is_pinned)
            stats->watermark_pinned += (uint64_t)rc;
        if (rc <= 0) {
            if (n == 0)
                log_warn_limited("watermark unreachable", NULL,
                                 "free space %.1f%% is below the %.1f%% watermark and nothing "
                                 "more can be deleted (everything left is being written)",
                                 100.0 * (double)free_b / (double)total_b, want);
            return rc;
        }
    }
}

/* Logs what the pass deleted, one line. */
static void log_pass(const struct rec_retention_stats *st)
{
    uint64_t total = 0, bytes = 0;
    for (int i = 0; i < REC_RETENTION_NREASONS; i++) {
        total += st->segments[i];
        bytes += st->bytes[i];
    }
    if (!total && !st->failed)
        return;
    char n_age[24], n_cap[24], n_wm[24], n_orph[24], n_bytes[24], n_need[24], n_wmb[24];
    snprintf(n_age, sizeof(n_age), "%llu", (unsigned long long)st->segments[REC_RETENTION_AGE]);
    snprintf(n_cap, sizeof(n_cap), "%llu", (unsigned long long)st->segments[REC_RETENTION_CAP]);
    snprintf(n_wm, sizeof(n_wm), "%llu", (unsigned long long)st->segments[REC_RETENTION_WATERMARK]);
    snprintf(n_orph, sizeof(n_orph), "%llu",
             (unsigned long long)st->segments[REC_RETENTION_ORPHANED]);
    snprintf(n_bytes, sizeof(n_bytes), "%llu", (unsigned long long)bytes);
    snprintf(n_need, sizeof(n_need), "%llu", (unsigned long long)st->watermark_needed_bytes);
    snprintf(n_wmb, sizeof(n_wmb), "%llu", (unsigned long long)st->bytes[REC_RETENTION_WATERMARK]);
    log_info_kv(LOG_KV({"age", n_age}, {"cap", n_cap}, {"watermark", n_wm}, {"orphaned", n_orph},
                       {"bytes", n_bytes}, {"watermark_needed_bytes", n_need},
                       {"watermark_bytes", n_wmb}),
                "retention deleted %llu segments (%llu could not be removed, %llu pinned)",
                (unsigned long long)total, (unsigned long long)st->failed,
                (unsigned long long)st->watermark_pinned);
}

int rec_retention_run_once(rec_retention *r, struct rec_retention_stats *stats_out)
{
    struct rec_retention_stats stats = {0};
    int64_t now_us = clock_realtime_ms(r->opt.clock) * 1000;
    struct sto_camera *cams = NULL;
    size_t ncams = 0;
    bool has_more = true;
    char *after = NULL;
    int rc = 0;
    while (rc == 0 && has_more) {
        rc = sto_camera_list(r->opt.db, after, 500, &cams, &ncams, &has_more);
        if (rc < 0)
            break;
        for (size_t i = 0; i < ncams && rc == 0; i++) {
            rc = rule_age(r, &cams[i], now_us, &stats);
            if (rc == 0)
                rc = rule_cap(r, &cams[i], now_us, &stats);
        }
        free(after);
        after = ncams ? horus_strdup(cams[ncams - 1].id) : NULL;
        sto_camera_list_free(cams, ncams);
        has_more = has_more && after;
    }
    free(after);
    if (rc == 0)
        rc = rule_orphaned(r, now_us, &stats);
    if (rc == 0)
        rc = rule_watermark(r, now_us, &stats);
    log_pass(&stats);
    if (rc < 0)
        log_error_limited("retention pass stopped", NULL, "retention pass stopped: %s",
                          horus_strerror(rc));
    if (stats_out)
        *stats_out = stats;
    return rc;
}

/* The watermark alone, between full passes (a statvfs when nothing is to be done). */
static void check_watermark(rec_retention *r)
{
    struct rec_retention_stats stats = {0};
    int rc = rule_watermark(r, clock_realtime_ms(r->opt.clock) * 1000, &stats);
    log_pass(&stats);
    if (rc < 0)
        log_error("retention watermark check stopped: %s", horus_strerror(rc));
}

/* CLOCK_MONOTONIC now plus ms. */
static struct timespec deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *retention_main(void *arg)
{
    rec_retention *r = arg;
    int64_t next_pass_ms = mono_ms() + r->opt.interval_ms;
    pthread_mutex_lock(&r->lock);
    while (!r->is_stopping) {
        if (!r->is_kicked) {
            int64_t wait_ms = next_pass_ms - mono_ms();
            if (wait_ms > r->opt.check_interval_ms)
                wait_ms = r->opt.check_interval_ms;
            if (wait_ms > 0) {
                struct timespec ts = deadline_in(wait_ms);
                pthread_cond_timedwait(&r->wake, &r->lock, &ts);
            }
        }
        if (r->is_stopping)
            break;
        bool is_full = r->is_kicked || mono_ms() >= next_pass_ms;
        r->is_kicked = false;
        pthread_mutex_unlock(&r->lock);
        if (is_full) {
            rec_retention_run_once(r, NULL);
            next_pass_ms = mono_ms() + r->opt.interval_ms;
        } else {
            check_watermark(r);
        }
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

int rec_retention_start(rec_retention *r)
{
    int rc = horus_thread_start(&r->thread, "rec-retention", retention_main, r);
    if (rc == 0)
        r->is_started = true;
    return rc;
}

void rec_retention_kick(rec_retention *r)
{
    pthread_mutex_lock(&r->lock);
    r->is_kicked = true;
    pthread_mutex_unlock(&r->lock);
    pthread_cond_signal(&r->wake);
}

void rec_retention_stop(rec_retention *r)
{
    if (!r || !r->is_started)
        return;
    pthread_mutex_lock(&r->lock);
    r->is_stopping = true;
    pthread_mutex_unlock(&r->lock);
    pthread_cond_signal(&r->wake);
    pthread_join(r->thread, NULL);
    r->is_started = false;
}

void rec_retention_free(rec_retention *r)
{
    if (!r)
        return;
    rec_retention_stop(r);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r->data_dir);
    free(r);
}
