/*
 * DESIGN: export jobs: a bounded queue in front of exports.workers
 * "pb-export-N" threads, with every state change written to the exports
 * table (docs/design/0007-exports-and-snapshots.md).
 *
 * A job lives in memory while it is queued or running (lock: ex->lock);
 * its live state and progress overlay the database row in get and list.
 * Rows are written at creation (queued), start (running) and end (done,
 * failed or cancelled); progress reaches the database only at the end.
 *
 * The file is written as <id>.mp4.part, fsynced, hashed and renamed to
 * <id>.mp4 (then the directory is fsynced), so a file named .mp4 is always
 * complete. A cancelled, failed or interrupted job leaves no file.
 *
 * Restart: jobs still "queued" in the database run again. Jobs still
 * "running" were interrupted by a crash or kill -9 (a graceful stop
 * cancels running jobs, removing their partial files, within one packet
 * or read); they are marked failed, not retried, because the export itself
 * may be what crashed the process.
 *
 * Sources are verified first: every segment file is hashed and compared
 * with the sha256 its index row recorded (export_verify.c); a missing or
 * corrupt one fails the job, naming the files.
 *
 * Cleanup: the first worker deletes finished jobs (row and file) older than
 * exports.max_age, once a minute.
 *
 * Budget (docs/design/0013): a submit that would take the exports past
 * exports.max_bytes is refused (507, the key named) rather than evicting
 * older exports, which an operator may still need; storage pins each
 * job's range so the watermark deletes it last.
 *
 * Lock order: ex->lock only; never held across I/O or database calls.
 */
#include "export_int.h"

#include "checked.h"
#include "err.h"
#include "fs.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "export"

#define MAX_ROWS 500000 /* segment rows one export reads: 24 h of 1 s segments, with room */
#define CLEANUP_EVERY_NS INT64_C(60000000000)
#define CANCEL_WAIT_MS 2000

struct job {
    struct job *next;
    struct sto_export row; /* owned; state and progress are live under ex->lock */
    atomic_bool is_cancelled;
    bool is_running;
};

struct pb_exporter {
    sto_db *db;
    char *data_dir;
    char *dir; /* <data_dir>/exports */
    const horus_clock *clock;
    pthread_mutex_t lock;
    pthread_cond_t work_cond; /* a job was queued, or stop */
    pthread_cond_t done_cond; /* a running job ended */
    struct pb_export_config cfg; /* under lock */
    struct job *queue_head, *queue_tail; /* queued, FIFO */
    struct job *running;
    size_t nqueued; /* including slots reserved by submits in progress */
    atomic_bool is_stopping;
    int64_t next_cleanup_ns;
    pthread_t *threads;
    size_t nthreads;
    metrics_family *f_jobs;
    metrics_series *m_done, *m_failed, *m_cancelled, *m_bytes, *m_duration, *m_queue;
};

static int64_t now_ms(pb_exporter *ex)
{
    return clock_realtime_ms(ex->clock);
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    sto_export_release(&j->row);
    free(j);
}

static void paths_of(pb_exporter *ex, const char *id, char *mp4, char *part, size_t size)
{
    snprintf(mp4, size, "%s/%s.mp4", ex->dir, id);
    snprintf(part, size, "%s/%s.mp4.part", ex->dir, id);
}

static void remove_files(pb_exporter *ex, const char *id)
{
    char mp4[PATH_MAX], part[PATH_MAX];
    paths_of(ex, id, mp4, part, sizeof(mp4));
    unlink(part);
    unlink(mp4);
}

static void copy_row(struct sto_export *dst, const struct sto_export *src)
{
    *dst = *src;
    dst->id = horus_strdup(src->id);
    dst->camera_id = horus_strdup(src->camera_id);
    dst->stream = horus_strdup(src->stream);
    dst->sha256 = horus_strdup(src->sha256 ? src->sha256 : "");
    dst->error = horus_strdup(src->error ? src->error : "");
    dst->tenant = horus_strdup(src->tenant ? src->tenant : "");
}

static void set_error(struct sto_export *row, const char *msg)
{
    free(row->error);
    row->error = horus_strdup(msg);
}

/* Writes a row, logging (not failing) on a database error: the job's outcome stands. */
static void persist(pb_exporter *ex, const struct sto_export *row)
{
    struct sto_export_status st = sto_export_status_of(row);
    int rc = sto_export_update(ex->db, &st);
    if (rc < 0)
        log_error_kv(LOG_KV({"export", row->id}), "store export state '%s': %s",
                     sto_export_state_name(row->state), horus_strerror(rc));
}

static void queue_gauge(pb_exporter *ex)
{
    metrics_gauge_set(ex->m_queue, (double)ex->nqueued);
}

/* ---- worker ---- */

struct run_ctx {
    pb_exporter *ex;
    struct job *job;
};

static void job_progress(void *arg, double progress)
{
    struct run_ctx *rc = arg;
    pthread_mutex_lock(&rc->ex->lock);
    rc->job->row.progress = progress;
    pthread_mutex_unlock(&rc->ex->lock);
}

/*
 * Checks the sources' sha256 (export_verify.c), then remuxes them into
 * r->out_path. Returns what pb_export_verify or pb_remux_run returned, with
 * r->error set on failure.
 */
static int verify_and_remux(pb_exporter *ex, struct pb_remux *r)
{
    struct pb_verify v = {.data_dir = ex->data_dir,
                          .rows = r->rows,
                          .nrows = r->nrows,
                          .is_cancelled = r->is_cancelled,
                          .is_stopping = r->is_stopping};
    int rc = pb_export_verify(&v);
    if (rc < 0) {
        snprintf(r->error, sizeof(r->error), "%s", v.error);
        return rc;
    }
    return pb_remux_run(r);
}

/* Runs one job to its end state (in j->row). Thread: pb-export-N, without the lock. */
static void run_job(pb_exporter *ex, struct job *j)
{
    struct sto_export snapshot;
    pthread_mutex_lock(&ex->lock);
    j->row.state = STO_EXPORT_RUNNING;
    j->row.started_at_ms = now_ms(ex);
    j->row.progress = 0;
    copy_row(&snapshot, &j->row);
    pthread_mutex_unlock(&ex->lock);
    persist(ex, &snapshot);
    sto_export_release(&snapshot);

    char mp4[PATH_MAX], part[PATH_MAX];
    paths_of(ex, j->row.id, mp4, part, sizeof(mp4));
    int64_t t0 = clock_monotonic_ns(ex->clock);
    struct sto_recording *rows = NULL;
    size_t nrows = 0;
    struct pb_remux r = {
        .data_dir = ex->data_dir,
        .start_us = j->row.start_us,
        .end_us = j->row.end_us,
        .out_path = part,
        .is_cancelled = &j->is_cancelled,
        .is_stopping = &ex->is_stopping,
        .progress_cb = job_progress,
    };
    struct run_ctx ctx = {ex, j};
    r.progress_arg = &ctx;
    int rc = sto_recordings_range(ex->db, j->row.camera_id, j->row.stream, j->row.start_us,
                                  j->row.end_us, MAX_ROWS, &rows, &nrows);
    if (rc < 0) {
        snprintf(r.error, sizeof(r.error), "read the recordings index: %s", horus_strerror(rc));
    } else if (nrows == 0) {
        rc = -ENODATA;
        snprintf(r.error, sizeof(r.error),
                 "no recordings in the range any more (retention may have deleted them)");
    } else {
        r.rows = rows;
        r.nrows = nrows;
        rc = verify_and_remux(ex, &r);
    }
    sto_recording_list_free(rows, nrows);
    if (rc == 0 && rename(part, mp4) < 0) {
        rc = -errno;
        snprintf(r.error, sizeof(r.error), "rename '%.200s': %s", part, strerror(errno));
    }
    if (rc == 0)
        fs_fsync_dir(ex->dir);
    else
        remove_files(ex, j->row.id);
    double seconds = (double)(clock_monotonic_ns(ex->clock) - t0) / 1e9;

    pthread_mutex_lock(&ex->lock);
    struct sto_export *row = &j->row;
    row->finished_at_ms = now_ms(ex);
    if (rc == 0) {
        row->state = STO_EXPORT_DONE;
        row->progress = 1;
        row->size_bytes = r.size_bytes;
        row->duration_us = r.duration_us;
        free(row->sha256);
        row->sha256 = horus_strdup(r.sha256);
    } else if (rc == -ECANCELED || atomic_load(&j->is_cancelled)) {
        row->state = STO_EXPORT_CANCELLED;
        set_error(row, "cancelled by a DELETE request");
    } else if (rc == HORUS_ESTOPPED) {
        /* Graceful stop: its partial file is removed above; say so rather than run it later. */
        row->state = STO_EXPORT_CANCELLED;
        set_error(row, "cancelled: horus stopped while this export ran; create it again");
    } else {
        row->state = STO_EXPORT_FAILED;
        set_error(row, r.error[0] ? r.error : horus_strerror(rc));
    }
    copy_row(&snapshot, row);
    pthread_mutex_unlock(&ex->lock);
    persist(ex, &snapshot);

    char secs[32];
    snprintf(secs, sizeof(secs), "%.3f", seconds);
    if (snapshot.state == STO_EXPORT_DONE) {
        metrics_counter_inc(ex->m_done);
        metrics_counter_add(ex->m_bytes, (double)snapshot.size_bytes);
        metrics_histogram_observe(ex->m_duration, seconds);
        char speed[32];
        double media_s = (double)snapshot.duration_us / 1e6;
        snprintf(speed, sizeof(speed), "%.0f", seconds > 0 ? media_s / seconds : 0);
        log_info_kv(LOG_KV({"export", snapshot.id}, {"camera", snapshot.camera_id},
                           {"seconds", secs}, {"speed", speed}),
                    "export done: %.1f s of video, %llu bytes", media_s,
                    (unsigned long long)snapshot.size_bytes);
    } else if (snapshot.state == STO_EXPORT_CANCELLED) {
        metrics_counter_inc(ex->m_cancelled);
        log_info_kv(LOG_KV({"export", snapshot.id}, {"camera", snapshot.camera_id}),
                    "export cancelled");
    } else if (snapshot.state == STO_EXPORT_FAILED) {
        metrics_counter_inc(ex->m_failed);
        metrics_histogram_observe(ex->m_duration, seconds);
        log_warn_kv(LOG_KV({"export", snapshot.id}, {"camera", snapshot.camera_id}),
                    "export failed: %s", snapshot.error);
    }
    sto_export_release(&snapshot);
}

/* Deletes finished exports older than max_age. Thread: a worker, without the lock. */
static void cleanup(pb_exporter *ex, int64_t max_age_ms)
{
    struct sto_export *list = NULL;
    size_t n = 0;
    int rc = sto_export_select(ex->db, -1, now_ms(ex) - max_age_ms, 1000, &list, &n);
    if (rc < 0) {
        log_warn("list old exports: %s", horus_strerror(rc));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        remove_files(ex, list[i].id);
        rc = sto_export_delete(ex->db, list[i].id);
        if (rc < 0 && rc != -ENOENT)
            log_warn_kv(LOG_KV({"export", list[i].id}), "delete old export: %s",
                        horus_strerror(rc));
    }
    if (n)
        log_info("deleted %zu exports older than exports.max_age", n);
    sto_export_list_free(list, n);
}

static void *worker_main(void *arg)
{
    void **args = arg;
    pb_exporter *ex = args[0];
    bool does_cleanup = args[1] != NULL;
    free(args);
    pthread_mutex_lock(&ex->lock);
    while (!atomic_load(&ex->is_stopping)) {
        int64_t now = clock_monotonic_ns(ex->clock);
        if (does_cleanup && now >= ex->next_cleanup_ns) {
            ex->next_cleanup_ns = now + CLEANUP_EVERY_NS;
            int64_t max_age = ex->cfg.max_age_ms;
            pthread_mutex_unlock(&ex->lock);
            cleanup(ex, max_age);
            pthread_mutex_lock(&ex->lock);
            continue;
        }
        struct job *j = ex->queue_head;
        if (!j) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&ex->work_cond, &ex->lock, &ts);
            continue;
        }
        ex->queue_head = j->next;
        if (!ex->queue_head)
            ex->queue_tail = NULL;
        ex->nqueued--;
        queue_gauge(ex);
        j->is_running = true;
        j->next = ex->running;
        ex->running = j;
        pthread_mutex_unlock(&ex->lock);
        run_job(ex, j);
        pthread_mutex_lock(&ex->lock);
        for (struct job **p = &ex->running; *p; p = &(*p)->next) {
            if (*p == j) {
                *p = j->next;
                break;
            }
        }
        pthread_cond_broadcast(&ex->done_cond);
        job_free(j);
    }
    pthread_mutex_unlock(&ex->lock);
    return NULL;
}

/* ---- lifecycle ---- */

int pb_exporter_new(const struct pb_exporter_options *opt, pb_exporter **out)
{
    pb_exporter *ex = horus_calloc(1, sizeof(*ex));
    ex->db = opt->db;
    ex->clock = opt->clock ? opt->clock : clock_system();
    ex->data_dir = horus_strdup(opt->data_dir);
    ex->dir = horus_asprintf("%s/exports", opt->data_dir);
    ex->cfg = *opt->config;
    pthread_mutex_init(&ex->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ex->work_cond, &ca);
    pthread_cond_init(&ex->done_cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc = fs_mkdirs(ex->dir, NULL);
    if (rc < 0) {
        log_error_kv(LOG_KV({"path", ex->dir}), "create exports directory: %s", horus_strerror(rc));
        pb_exporter_free(ex);
        return rc;
    }
    ex->f_jobs =
        metrics_family_add(opt->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                                                .name = "horus_export_jobs_total",
                                                                .help = "Export jobs by end state",
                                                                .labels = "state"});
    ex->m_done = metrics_series_get(ex->f_jobs, "done");
    ex->m_failed = metrics_series_get(ex->f_jobs, "failed");
    ex->m_cancelled = metrics_series_get(ex->f_jobs, "cancelled");
    static const double buckets[] = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800};
    ex->m_duration = metrics_series_get(metrics_family_add(
        opt->metrics, &(struct metrics_desc){.type = METRICS_HISTOGRAM,
                                             .name = "horus_export_duration_seconds",
                                             .help = "Time to run one export job (done or failed)",
                                             .buckets = buckets,
                                             .nbuckets = HORUS_ARRAY_LEN(buckets)}));
    ex->m_bytes = metrics_series_get(metrics_family_add(
        opt->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                             .name = "horus_export_bytes_total",
                                             .help = "Bytes of finished export files"}));
    ex->m_queue = metrics_series_get(metrics_family_add(
        opt->metrics, &(struct metrics_desc){.type = METRICS_GAUGE,
                                             .name = "horus_export_queue_depth",
                                             .help = "Export jobs waiting for a worker"}));
    *out = ex;
    return 0;
}

static void push_job(pb_exporter *ex, struct job *j)
{
    j->next = NULL;
    if (ex->queue_tail)
        ex->queue_tail->next = j;
    else
        ex->queue_head = j;
    ex->queue_tail = j;
    pthread_cond_signal(&ex->work_cond);
}

/* Removes .part files a crash left: no job runs yet, so none is in use. */
static void remove_stray_parts(pb_exporter *ex)
{
    DIR *d = opendir(ex->dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".part") == 0) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s/%s", ex->dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

static void recover(pb_exporter *ex)
{
    remove_stray_parts(ex);
    struct sto_export *list = NULL;
    size_t n = 0;
    if (sto_export_select(ex->db, STO_EXPORT_RUNNING, 0, 100000, &list, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            struct sto_export *row = &list[i];
            row->state = STO_EXPORT_FAILED;
            row->finished_at_ms = now_ms(ex);
            set_error(row, "interrupted: horus stopped unexpectedly while this export ran; "
                           "create it again");
            persist(ex, row);
            metrics_counter_inc(ex->m_failed);
            log_warn_kv(LOG_KV({"export", row->id}), "export interrupted by a crash marked failed");
        }
        sto_export_list_free(list, n);
    }
    if (sto_export_select(ex->db, STO_EXPORT_QUEUED, 0, 100000, &list, &n) == 0) {
        pthread_mutex_lock(&ex->lock);
        for (size_t i = 0; i < n; i++) {
            struct job *j = horus_calloc(1, sizeof(*j));
            j->row = list[i];
            memset(&list[i], 0, sizeof(list[i]));
            push_job(ex, j);
            ex->nqueued++;
        }
        queue_gauge(ex);
        pthread_mutex_unlock(&ex->lock);
        if (n)
            log_info("%zu export jobs queued again after a restart", n);
        sto_export_list_free(list, n);
    }
}

int pb_exporter_start(pb_exporter *ex)
{
    recover(ex);
    ex->nthreads = (size_t)(ex->cfg.workers > 0 ? ex->cfg.workers : 1);
    ex->threads = horus_calloc(ex->nthreads, sizeof(*ex->threads));
    for (size_t i = 0; i < ex->nthreads; i++) {
        char name[16];
        snprintf(name, sizeof(name), "pb-export-%u", (unsigned)(i % 100));
        void **args = horus_malloc(2 * sizeof(void *));
        args[0] = ex;
        args[1] = i == 0 ? ex : NULL;
        int rc = horus_thread_start(&ex->threads[i], name, worker_main, args);
        if (rc < 0) {
            free(args);
            ex->nthreads = i;
            return rc;
        }
    }
    return 0;
}

void pb_exporter_configure(pb_exporter *ex, const struct pb_export_config *config)
{
    pthread_mutex_lock(&ex->lock);
    ex->cfg.max_queued = config->max_queued;
    ex->cfg.max_age_ms = config->max_age_ms;
    ex->cfg.max_duration_ms = config->max_duration_ms;
    ex->cfg.max_bytes = config->max_bytes;
    ex->next_cleanup_ns = 0; /* apply a shorter max_age now */
    pthread_cond_broadcast(&ex->work_cond);
    pthread_mutex_unlock(&ex->lock);
}

int64_t pb_exporter_max_duration_ms(pb_exporter *ex)
{
    pthread_mutex_lock(&ex->lock);
    int64_t v = ex->cfg.max_duration_ms;
    pthread_mutex_unlock(&ex->lock);
    return v;
}

void pb_exporter_stop(pb_exporter *ex)
{
    if (!ex)
        return;
    pthread_mutex_lock(&ex->lock);
    atomic_store(&ex->is_stopping, true);
    pthread_cond_broadcast(&ex->work_cond);
    pthread_mutex_unlock(&ex->lock);
    for (size_t i = 0; i < ex->nthreads; i++)
        pthread_join(ex->threads[i], NULL);
    ex->nthreads = 0;
}

void pb_exporter_free(pb_exporter *ex)
{
    if (!ex)
        return;
    pb_exporter_stop(ex);
    /* Queued jobs keep their "queued" rows and run after the next start. */
    while (ex->queue_head) {
        struct job *j = ex->queue_head;
        ex->queue_head = j->next;
        job_free(j);
    }
    free(ex->threads);
    pthread_cond_destroy(&ex->work_cond);
    pthread_cond_destroy(&ex->done_cond);
    pthread_mutex_destroy(&ex->lock);
    free(ex->data_dir);
    free(ex->dir);
    free(ex);
}

/* ---- requests (Thread: any) ---- */

static void new_id(pb_exporter *ex, char out[24])
{
    unsigned char raw[4];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        HORUS_BUG("getrandom failed");
    snprintf(out, 24, "%012llx%02x%02x%02x%02x", (unsigned long long)now_ms(ex), raw[0], raw[1],
             raw[2], raw[3]);
}

/*
 * Refuses an export that would take the exports past exports.max_bytes:
 * its size is estimated as the bytes of its source recordings. Two submits
 * at once may both pass; the quota is a budget, not a hard limit.
 */
static int check_quota(pb_exporter *ex, const struct pb_export_request *rq, char *why, size_t size)
{
    pthread_mutex_lock(&ex->lock);
    uint64_t quota = ex->cfg.max_bytes;
    pthread_mutex_unlock(&ex->lock);
    if (quota == 0)
        return 0;
    uint64_t used = 0, want = 0;
    int rc = sto_exports_usage(ex->db, &used);
    if (rc == 0)
        rc = sto_recordings_range_bytes(ex->db, rq->camera_id, rq->stream, rq->start_us, rq->end_us,
                                        &want);
    if (rc < 0) {
        snprintf(why, size, "read the export usage: %s", horus_strerror(rc));
        return rc;
    }
    if (used + want > quota) {
        snprintf(why, size,
                 "exports.max_bytes: this export needs about %llu bytes and exports use %llu of "
                 "%llu already; delete old exports or raise exports.max_bytes",
                 (unsigned long long)want, (unsigned long long)used, (unsigned long long)quota);
        return -ENOSPC;
    }
    return 0;
}

int pb_export_submit(pb_exporter *ex, const struct pb_export_request *rq, struct sto_export *out,
                     char *why, size_t size)
{
    if (strcmp(rq->stream, "main") != 0 && strcmp(rq->stream, "sub") != 0) {
        snprintf(why, size, "stream: must be \"main\" or \"sub\"");
        return -EINVAL;
    }
    if (rq->start_us >= rq->end_us) {
        snprintf(why, size, "end: must be after start");
        return -EINVAL;
    }
    int64_t max_ms = pb_exporter_max_duration_ms(ex);
    int64_t span_us = 0;
    if (!horus_sub_i64(rq->end_us, rq->start_us, &span_us)) {
        snprintf(why, size,
                 "end: the range is too long; exports.max_duration allows at most %.0f s",
                 (double)max_ms / 1e3);
        return -EINVAL;
    }
    if (span_us / 1000 > max_ms) {
        snprintf(why, size,
                 "end: the range is %.0f s long; exports.max_duration allows at most %.0f s",
                 (double)span_us / 1e6, (double)max_ms / 1e3);
        return -EINVAL;
    }
    struct sto_camera cam;
    int rc = sto_camera_get(ex->db, rq->camera_id, &cam);
    if (rc == -ENOENT) {
        snprintf(why, size, "camera '%s' does not exist", rq->camera_id);
        return rc;
    }
    if (rc < 0) {
        snprintf(why, size, "read camera '%s': %s", rq->camera_id, horus_strerror(rc));
        return rc;
    }
    /* The export belongs to its camera's tenant, also after the camera is deleted. */
    char tenant[128];
    snprintf(tenant, sizeof(tenant), "%s", cam.tenant ? cam.tenant : "");
    sto_camera_release(&cam);
    struct sto_recording *rows = NULL;
    size_t nrows = 0;
    rc = sto_recordings_range(ex->db, rq->camera_id, rq->stream, rq->start_us, rq->end_us, 1, &rows,
                              &nrows);
    sto_recording_list_free(rows, nrows);
    if (rc < 0) {
        snprintf(why, size, "read the recordings index: %s", horus_strerror(rc));
        return rc;
    }
    if (nrows == 0) {
        char a[32], b[32];
        clock_format_rfc3339_ms(rq->start_us / 1000, a, sizeof(a));
        clock_format_rfc3339_ms(rq->end_us / 1000, b, sizeof(b));
        snprintf(why, size, "camera '%s' has no %s stream recordings between %s and %s",
                 rq->camera_id, rq->stream, a, b);
        return -ENODATA;
    }
    rc = check_quota(ex, rq, why, size);
    if (rc < 0)
        return rc;
    /* Reserve a queue slot first, so concurrent submits cannot overshoot max_queued. */
    pthread_mutex_lock(&ex->lock);
    if (atomic_load(&ex->is_stopping)) {
        pthread_mutex_unlock(&ex->lock);
        snprintf(why, size, "horus is stopping");
        return HORUS_ESTOPPED;
    }
    if ((int64_t)ex->nqueued >= ex->cfg.max_queued) {
        int64_t max = ex->cfg.max_queued;
        pthread_mutex_unlock(&ex->lock);
        snprintf(why, size,
                 "%lld exports are queued already (exports.max_queued); retry when one finished",
                 (long long)max);
        return -EAGAIN;
    }
    ex->nqueued++;
    pthread_mutex_unlock(&ex->lock);

    struct job *j = horus_calloc(1, sizeof(*j));
    char id[24];
    new_id(ex, id);
    j->row = (struct sto_export){
        .id = horus_strdup(id),
        .camera_id = horus_strdup(rq->camera_id),
        .stream = horus_strdup(rq->stream),
        .start_us = rq->start_us,
        .end_us = rq->end_us,
        .state = STO_EXPORT_QUEUED,
        .sha256 = horus_strdup(""),
        .error = horus_strdup(""),
        .created_at_ms = now_ms(ex),
        .tenant = horus_strdup(tenant),
    };
    struct sto_export_input in = {
        .id = j->row.id,
        .camera_id = j->row.camera_id,
        .stream = j->row.stream,
        .start_us = j->row.start_us,
        .end_us = j->row.end_us,
        .created_at_ms = j->row.created_at_ms,
        .tenant = j->row.tenant,
    };
    rc = sto_export_insert(ex->db, &in);
    pthread_mutex_lock(&ex->lock);
    if (rc < 0) {
        ex->nqueued--;
        pthread_mutex_unlock(&ex->lock);
        snprintf(why, size, "store the export job: %s", horus_strerror(rc));
        job_free(j);
        return rc;
    }
    copy_row(out, &j->row);
    push_job(ex, j);
    queue_gauge(ex);
    pthread_mutex_unlock(&ex->lock);
    return 0;
}

/* Finds the in-memory job id (queued or running). Call with the lock held. */
static struct job *find_job(pb_exporter *ex, const char *id, struct job ***link)
{
    for (struct job **p = &ex->queue_head; *p; p = &(*p)->next) {
        if (strcmp((*p)->row.id, id) == 0) {
            if (link)
                *link = p;
            return *p;
        }
    }
    for (struct job *j = ex->running; j; j = j->next) {
        if (strcmp(j->row.id, id) == 0) {
            if (link)
                *link = NULL;
            return j;
        }
    }
    return NULL;
}

/*
 * Replaces the row with the live one of its job, if active: the job's end
 * state is set in memory before its row is written, so the stored row may
 * lag behind for a moment.
 */
static void overlay(pb_exporter *ex, struct sto_export *row)
{
    pthread_mutex_lock(&ex->lock);
    struct job *j = find_job(ex, row->id, NULL);
    if (j) {
        sto_export_release(row);
        copy_row(row, &j->row);
    }
    pthread_mutex_unlock(&ex->lock);
}

int pb_export_get(pb_exporter *ex, const char *id, struct sto_export *out)
{
    int rc = sto_export_get(ex->db, id, out);
    if (rc == 0)
        overlay(ex, out);
    return rc;
}

int pb_export_list(pb_exporter *ex, const char *after_id, size_t limit, struct sto_export **out,
                   size_t *n, bool *has_more)
{
    int rc = sto_export_list(ex->db, after_id, limit, out, n, has_more);
    for (size_t i = 0; rc == 0 && i < *n; i++)
        overlay(ex, &(*out)[i]);
    return rc;
}

int pb_export_delete(pb_exporter *ex, const char *id)
{
    pthread_mutex_lock(&ex->lock);
    struct job **link = NULL;
    struct job *j = find_job(ex, id, &link);
    if (j && link) {
        /* Queued: take it out; it never ran, so there is no file. */
        *link = j->next;
        if (ex->queue_tail == j) {
            ex->queue_tail = NULL;
            for (struct job *q = ex->queue_head; q; q = q->next)
                ex->queue_tail = q;
        }
        ex->nqueued--;
        queue_gauge(ex);
        pthread_mutex_unlock(&ex->lock);
        j->row.state = STO_EXPORT_CANCELLED;
        j->row.finished_at_ms = now_ms(ex);
        set_error(&j->row, "cancelled by a DELETE request before it started");
        persist(ex, &j->row);
        metrics_counter_inc(ex->m_cancelled);
        log_info_kv(LOG_KV({"export", id}), "queued export cancelled");
        job_free(j);
        return 0;
    }
    if (j) {
        /* Running: the worker checks the flag per packet and inside libav's I/O. */
        atomic_store(&j->is_cancelled, true);
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += CANCEL_WAIT_MS / 1000;
        while (find_job(ex, id, NULL) &&
               pthread_cond_timedwait(&ex->done_cond, &ex->lock, &deadline) == 0) {
        }
        pthread_mutex_unlock(&ex->lock);
        return 0;
    }
    pthread_mutex_unlock(&ex->lock);
    /* Finished (or unknown): delete the file, then the row. */
    struct sto_export row;
    int rc = sto_export_get(ex->db, id, &row);
    if (rc < 0)
        return rc;
    sto_export_release(&row);
    remove_files(ex, id);
    return sto_export_delete(ex->db, id);
}

void pb_export_file_path(pb_exporter *ex, const char *id, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s.mp4", ex->dir, id);
}
