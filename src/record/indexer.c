/*
 * DESIGN: every closed segment ends up in the index (docs/design/0012).
 *
 * At close, rec_index_row makes the row durable in the index journal
 * (fdatasync on the recordings' disk) and then queues the insert; the
 * database writer retries it while the database is locked, full or failing
 * (writer.c), and the commit acknowledges the journal entry. A row the
 * writer gave up on (shutdown, a retry list full) stays in the journal.
 *
 * At start, rec_index_recover closes the remaining holes: the journal's
 * unacknowledged rows are inserted again (keeping a row that is already
 * there, so a replay is idempotent), and the newest day folders of every
 * stream are compared with the index, which finds the files whose rows a
 * power cut took from the database's unsynced tail or that were closed
 * with no journal at all. Rows whose files vanished are reported and kept:
 * deleting index rows is `horus check --repair`'s decision, not start-up's.
 *
 * Thread: rec_index_row any (the closing thread); rec_index_recover the
 * main thread at start-up. The insert callbacks run on "sto-w".
 */
#include "indexer_int.h"

#include "clock.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "path_int.h"
#include "record.h"
#include "recorder.h"
#include "thread.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define LOG_MODULE "record"

#define DAY_S 86400

/*
 * Start-up's inserts, counted so that recovery returns once they are
 * committed: the recorder then starts each camera after its newest row
 * (recorder.c, indexed_end), which must include the rows recovery added.
 */
struct pending {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    size_t n;
    bool is_abandoned; /* start-up stopped waiting: the last callback frees it */
};

static struct pending *pending_new(void)
{
    struct pending *p = horus_calloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    horus_cond_init_monotonic(&p->cond);
    return p;
}

static void pending_free(struct pending *p)
{
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* One insert of p is done. */
static void pending_done(struct pending *p)
{
    pthread_mutex_lock(&p->lock);
    bool is_last = --p->n == 0 && p->is_abandoned;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    if (is_last)
        pending_free(p);
}

/* One row in flight: what its commit callback needs. */
struct in_flight {
    rec_journal *journal; /* owned reference; NULL without a journal */
    struct pending *pending; /* NULL unless start-up waits for it */
    uint64_t seq;
    char *abs; /* owned: the file, for a fenced row; NULL when rows are not fenced */
    char path[]; /* relative to the data directory */
};

/*
 * The camera's lease moved to another node while this segment was being
 * recorded: its row stays out of the index, so that two nodes' rows never
 * cover one moment. The file is kept beside, renamed so that neither
 * start-up recovery nor horus check indexes it.
 */
static void row_fenced(struct in_flight *f)
{
    if (f->journal)
        rec_journal_ack(f->journal, f->seq);
    char to[PATH_MAX];
    int rc = f->abs && snprintf(to, sizeof(to), "%s.fenced", f->abs) < (int)sizeof(to)
                 ? rename(f->abs, to)
                 : -1;
    log_warn_kv(LOG_KV({"path", f->path}),
                "index row refused: another node took this camera over while the segment was "
                "recorded; the file is kept as %s.fenced%s",
                f->path, rc == 0 ? "" : " (the rename failed: it stays under its own name)");
}

static void row_done(int rc, void *arg)
{
    struct in_flight *f = arg;
    if (rc == HORUS_EFENCED)
        row_fenced(f);
    else if (rc == 0 && f->journal)
        rec_journal_ack(f->journal, f->seq);
    else if (rc < 0 && f->journal)
        log_error_kv(LOG_KV({"path", f->path}),
                     "index segment: %s; kept in the index journal, inserted at the next start",
                     horus_strerror(rc));
    else if (rc < 0)
        log_error_kv(LOG_KV({"path", f->path}),
                     "index segment: %s (the file stays; the next start or horus check "
                     "--repair indexes it)",
                     horus_strerror(rc));
    rec_journal_unref(f->journal);
    if (f->pending)
        pending_done(f->pending);
    free(f->abs);
    free(f);
}

static struct in_flight *in_flight_new(rec_journal *j, struct pending *pending, uint64_t seq,
                                       const char *path)
{
    size_t len = strlen(path) + 1;
    struct in_flight *f = horus_malloc(sizeof(*f) + len);
    f->journal = j ? rec_journal_ref(j) : NULL;
    f->pending = pending;
    if (pending) {
        pthread_mutex_lock(&pending->lock);
        pending->n++;
        pthread_mutex_unlock(&pending->lock);
    }
    f->seq = seq;
    f->abs = NULL;
    memcpy(f->path, path, len);
    return f;
}

/*
 * Queues the insert of row; its commit acknowledges journal entry seq (j
 * may be NULL) and counts down pending (may be NULL).
 */
static void insert_row(sto_db *db, rec_journal *j, const char *data_dir, struct pending *pending,
                       uint64_t seq, const struct sto_recording_input *row)
{
    struct in_flight *f = in_flight_new(j, pending, seq, row->path);
    if (data_dir && row->lease_token)
        f->abs = horus_asprintf("%s/%s", data_dir, row->path);
    int rc = sto_recording_insert_async(db, row, row_done, f);
    if (rc < 0)
        row_done(rc, f); /* not queued: the callback will not come */
}

void rec_index_row(sto_db *db, rec_journal *j, const char *data_dir,
                   const struct sto_recording_input *row)
{
    uint64_t seq = 0;
    if (j) {
        int rc = rec_journal_append(j, row, &seq);
        if (rc < 0) {
            log_error_kv(LOG_KV({"path", row->path}),
                         "index journal: %s; inserting the row without it", horus_strerror(rc));
            j = NULL;
        }
    }
    insert_row(db, j, data_dir, NULL, seq, row);
}

/* ---- start-up ---- */

struct recover {
    const struct rec_index_recover_options *o;
    struct rec_index_recovery *out;
    metrics_series *m_replayed, *m_indexed, *m_missing;
    /* Deleted cameras' groups: their rows keep the path under the old id's folder. */
    struct sto_orphan *orphans;
    size_t norphans;
    struct pending *pending;
};

static void count(metrics_series *m)
{
    if (m)
        metrics_counter_inc(m);
}

static bool file_exists(const char *data_dir, const char *rel)
{
    char abs[PATH_MAX];
    struct stat st;
    return snprintf(abs, sizeof(abs), "%s/%s", data_dir, rel) < (int)sizeof(abs) &&
           stat(abs, &st) == 0 && S_ISREG(st.st_mode);
}

static int replay_entry(void *arg, const struct rec_journal_record *rec)
{
    struct recover *w = arg;
    if (!file_exists(w->o->data_dir, rec->row.path)) {
        log_warn_kv(LOG_KV({"camera", rec->row.camera_id}, {"path", rec->row.path}),
                    "index journal: the segment file is gone; its row is not inserted");
        rec_journal_ack(w->o->journal, rec->seq);
        w->out->replay_missing++;
        return 0;
    }
    /* Its camera was deleted after the row committed: the row lives on in an orphan group. */
    for (size_t g = 0; g < w->norphans; g++) {
        struct sto_recording got;
        if (strcmp(w->orphans[g].camera_id, rec->row.camera_id) != 0 ||
            sto_recording_get(w->o->db, w->orphans[g].orphan_id, rec->row.stream, rec->row.start_us,
                              &got) < 0)
            continue;
        sto_recording_release(&got);
        rec_journal_ack(w->o->journal, rec->seq);
        return 0;
    }
    struct sto_recording_input row = rec->row;
    row.keep_existing = true;
    insert_row(w->o->db, w->o->journal, NULL, w->pending, rec->seq, &row);
    w->out->replayed++;
    count(w->m_replayed);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir (new strings, sorted), without "." and "..". */
static char **list_dir(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            names = horus_realloc(names, cap * sizeof(char *));
        }
        names[(*n)++] = horus_strdup(e->d_name);
    }
    closedir(d);
    if (*n)
        qsort(names, *n, sizeof(char *), cmp_str);
    return names;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* "YYYY-MM-DD" to UTC seconds of its midnight; -1 when it is not a date folder. */
static int64_t day_start_s(const char *name)
{
    int y, m, d;
    char tail;
    if (strlen(name) != 10 || sscanf(name, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    time_t t = timegm(&tm);
    return t < 0 ? -1 : (int64_t)t;
}

/* Indexes rel (relative to the data directory), a closed segment without a row. */
static void index_orphan(struct recover *w, const char *camera, const char *stream, const char *rel)
{
    char abs[PATH_MAX];
    if (snprintf(abs, sizeof(abs), "%s/%s", w->o->data_dir, rel) >= (int)sizeof(abs))
        return;
    struct rec_segment_info info;
    uint64_t file_size;
    int rc = rec_segment_inspect(abs, &info, &file_size);
    if (rc < 0) {
        log_warn_kv(LOG_KV({"camera", camera}, {"path", rel}),
                    "segment file without an index row cannot be read: %s", horus_strerror(rc));
        return;
    }
    char codec[80];
    struct sto_recording_input row;
    rec_recording_row(&info, w->o->data_dir, camera, stream, codec, &row);
    row.keep_existing = true;
    insert_row(w->o->db, NULL, NULL, w->pending, 0, &row);
    log_warn_kv(LOG_KV({"camera", camera}, {"stream", stream}, {"path", rel}),
                "indexed a segment file the index did not have (%zu parts)", info.n_parts);
    w->out->indexed++;
    count(w->m_indexed);
    rec_segment_info_release(&info);
}

/* Compares one day folder of camera/stream with the index rows of that day. */
static void reconcile_day(struct recover *w, const char *camera, const char *stream,
                          const char *day, int64_t start_s)
{
    char rel_dir[PATH_MAX], abs_dir[PATH_MAX];
    if (snprintf(rel_dir, sizeof(rel_dir), "recordings/%s/%s/%s", camera, stream, day) >=
            (int)sizeof(rel_dir) ||
        snprintf(abs_dir, sizeof(abs_dir), "%s/%s", w->o->data_dir, rel_dir) >=
            (int)sizeof(abs_dir))
        return;
    struct sto_recording *rows = NULL;
    size_t nrows = 0;
    /* This node's rows only: another node's rows of the camera describe files in its own
       data directory, never in this one (docs/design/0068). */
    int rc = sto_recordings_range_own(w->o->db, camera, stream, start_s * 1000000,
                                      (start_s + DAY_S) * 1000000, (size_t)1 << 24, &rows, &nrows);
    /*
     * A deleted camera's files stay in its id's folder while their rows
     * move to an orphan group: they are indexed, not strays of a camera
     * re-created with that id.
     */
    for (size_t g = 0; g < w->norphans && rc == 0; g++) {
        if (strcmp(w->orphans[g].camera_id, camera) != 0)
            continue;
        struct sto_recording *more = NULL;
        size_t nmore = 0;
        rc = sto_recordings_range_own(w->o->db, w->orphans[g].orphan_id, stream, start_s * 1000000,
                                      (start_s + DAY_S) * 1000000, (size_t)1 << 24, &more, &nmore);
        if (rc < 0 || !nmore) {
            sto_recording_list_free(more, nmore);
            continue;
        }
        rows = horus_realloc(rows, (nrows + nmore) * sizeof(*rows));
        memcpy(rows + nrows, more, nmore * sizeof(*rows));
        nrows += nmore;
        free(more); /* the rows' strings now belong to rows */
    }
    if (rc < 0) {
        log_warn_kv(LOG_KV({"camera", camera}, {"stream", stream}),
                    "reconcile '%s' with the index: %s", rel_dir, horus_strerror(rc));
        return;
    }
    char **paths = horus_calloc(nrows ? nrows : 1, sizeof(char *));
    for (size_t i = 0; i < nrows; i++)
        paths[i] = rows[i].path;
    qsort(paths, nrows, sizeof(char *), cmp_str);
    size_t nfiles;
    char **files = list_dir(abs_dir, &nfiles);
    for (size_t i = 0; i < nfiles; i++) {
        size_t len = strlen(files[i]);
        if (len < 5 || strcmp(files[i] + len - 4, ".mp4") != 0)
            continue;
        char rel[PATH_MAX];
        if (snprintf(rel, sizeof(rel), "%s/%s", rel_dir, files[i]) >= (int)sizeof(rel))
            continue;
        const char *key = rel;
        if (bsearch(&key, paths, nrows, sizeof(char *), cmp_str))
            continue;
        if (w->o->journal && rec_journal_has_path(w->o->journal, rel))
            continue; /* its row is on its way */
        index_orphan(w, camera, stream, rel);
    }
    /* Rows of this day (by their file's folder) whose file is gone. */
    size_t prefix = strlen(rel_dir);
    for (size_t i = 0; i < nrows; i++) {
        const char *p = paths[i];
        if (strncmp(p, rel_dir, prefix) != 0 || p[prefix] != '/' || file_exists(w->o->data_dir, p))
            continue;
        log_warn_kv(LOG_KV({"camera", camera}, {"stream", stream}, {"path", p}),
                    "index row without its segment file (kept; horus check --repair removes it)");
        w->out->missing_files++;
        count(w->m_missing);
    }
    free_names(files, nfiles);
    free(paths);
    sto_recording_list_free(rows, nrows);
}

static void reconcile_stream(struct recover *w, const char *camera, const char *stream)
{
    char dir[PATH_MAX];
    if (rec_path_stream_dir(dir, sizeof(dir), w->o->data_dir, camera, stream) < 0)
        return;
    int64_t newest_us = 0;
    bool has_rows = sto_recording_latest(w->o->db, camera, stream, &newest_us) == 0;
    for (size_t g = 0; g < w->norphans; g++) {
        const struct sto_orphan *o = &w->orphans[g];
        if (strcmp(o->camera_id, camera) != 0 || !o->start_us)
            continue;
        int64_t start_us;
        if (sto_recording_latest(w->o->db, o->orphan_id, stream, &start_us) < 0)
            continue;
        if (!has_rows || start_us > newest_us)
            newest_us = start_us;
        has_rows = true;
    }
    /*
     * From the day before the newest row's: a power cut takes the newest rows, never older
     * ones. A row dated in the future (a camera clock ahead) must not hide today's files.
     */
    int64_t now_s = clock_realtime_ms(clock_system()) / 1000;
    int64_t newest_s = newest_us / 1000000 < now_s ? newest_us / 1000000 : now_s;
    int64_t from_s = has_rows ? newest_s - DAY_S : INT64_MIN;
    size_t ndays;
    char **days = list_dir(dir, &ndays);
    for (size_t i = 0; i < ndays; i++) {
        int64_t start = day_start_s(days[i]);
        if (start >= 0 && start + DAY_S > from_s)
            reconcile_day(w, camera, stream, days[i], start);
    }
    free_names(days, ndays);
}

static void reconcile_all(struct recover *w)
{
    char root[PATH_MAX];
    snprintf(root, sizeof(root), "%s/recordings", w->o->data_dir);
    size_t ncams;
    char **cams = list_dir(root, &ncams);
    for (size_t i = 0; i < ncams; i++) {
        char cam_dir[PATH_MAX];
        struct stat st;
        if (snprintf(cam_dir, sizeof(cam_dir), "%s/%s", root, cams[i]) >= (int)sizeof(cam_dir) ||
            lstat(cam_dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
            strlen(cams[i]) > REC_PATH_CAMERA_MAX)
            continue;
        size_t nstreams;
        char **streams = list_dir(cam_dir, &nstreams);
        for (size_t k = 0; k < nstreams; k++)
            if (strlen(streams[k]) <= REC_PATH_STREAM_MAX)
                reconcile_stream(w, cams[i], streams[k]);
        free_names(streams, nstreams);
    }
    free_names(cams, ncams);
}

/*
 * Waits until every insert recovery queued has its outcome. A database
 * that stays locked does not hold start-up back: past PENDING_WAIT_S the
 * writer keeps retrying, and a camera whose newest row is still queued may
 * start a segment that overlaps it (horus check reports the overlap).
 */
#define PENDING_WAIT_S 10

/* Waits for p's inserts and frees p (or leaves that to its last callback). */
static void wait_pending(struct pending *p)
{
    struct timespec until = horus_deadline_ms(PENDING_WAIT_S * 1000);
    pthread_mutex_lock(&p->lock);
    while (p->n > 0)
        if (pthread_cond_timedwait(&p->cond, &p->lock, &until) == ETIMEDOUT)
            break;
    bool is_done = p->n == 0;
    p->is_abandoned = !is_done;
    pthread_mutex_unlock(&p->lock);
    if (is_done)
        pending_free(p);
    else
        log_warn("index recovery: rows still queued after %d s (the database is busy); "
                 "starting the cameras anyway",
                 PENDING_WAIT_S);
}

void rec_index_recover(const struct rec_index_recover_options *o, struct rec_index_recovery *out)
{
    *out = (struct rec_index_recovery){0};
    struct recover w = {.o = o, .out = out};
    w.pending = pending_new();
    if (o->metrics) {
        metrics_family *f = metrics_family_add(
            o->metrics,
            &(struct metrics_desc){.type = METRICS_COUNTER,
                                   .name = "horus_record_reconciled_total",
                                   .help = "Start-up index repairs: journal rows replayed, "
                                           "unindexed files indexed, rows whose file is gone",
                                   .labels = "result"});
        w.m_replayed = metrics_series_get(f, "replayed");
        w.m_indexed = metrics_series_get(f, "indexed");
        w.m_missing = metrics_series_get(f, "missing_file");
    }
    if (sto_orphan_list(o->db, 4096, &w.orphans, &w.norphans) < 0) {
        w.orphans = NULL;
        w.norphans = 0;
    }
    if (o->journal)
        rec_journal_replay(o->journal, replay_entry, &w);
    reconcile_all(&w);
    wait_pending(w.pending);
    sto_orphan_list_free(w.orphans, w.norphans);
    if (out->replayed || out->replay_missing || out->indexed || out->missing_files)
        log_info("index recovery: %zu rows replayed from the journal (%zu with their file gone),"
                 " %zu unindexed files indexed, %zu rows without a file",
                 out->replayed, out->replay_missing, out->indexed, out->missing_files);
}
