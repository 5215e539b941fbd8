/*
 * DESIGN: `horus check [--repair] [--verify]`, fsck for recordings. It
 * compares the index rows with the files under <data>/recordings and
 * reports, one line each:
 *   missing file   a row whose file is gone        repair: delete the row
 *   orphan file    a closed .mp4 without a row     repair: index it
 *   unfinished     a .mp4.part a crash left        repair: recover and index it
 *   size mismatch  the file's size is not the row's repair: re-index the file
 *   hash mismatch  (--verify) contents changed     repair: re-index the file
 *   overlap        a row starting before the previous row of its camera
 *                  stream ends                     left to the operator
 *   future row     a row starting more than 5 min after now (a camera
 *                  clock ahead, a bad import)      left to the operator
 *   bad times      a row that ends before it starts left to the operator
 * and, not counted as problems, each gap of more than a second between
 * consecutive rows of a stream (a camera offline, a recorder stopped).
 * An orphan whose row waits in the index journal (journal.c) says so: the
 * daemon inserts it at its next start. The journal is only read here.
 * Re-indexing keeps what is playable (init + complete parts) and the row's
 * start time. A file's camera and stream come from its path, decoded by
 * the recorder's own layout (path.c). It runs with the daemon stopped: the
 * caller holds the data directory's lock.
 *
 * Thread: the caller's; all state lives in one struct check.
 */
#include "check.h"

#include "err.h"
#include "journal_int.h"
#include "mem.h"
#include "path_int.h"
#include "record.h"
#include "recorder.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct row {
    char *camera, *stream, *path, *sha256;
    int64_t start_us, end_us;
    uint64_t bytes;
};

#define FUTURE_SLACK_US (300 * INT64_C(1000000)) /* clocks a few minutes apart are not wrong */
#define GAP_MIN_US INT64_C(1000000)

struct check {
    const struct rec_check_options *o;
    FILE *out;
    struct row *rows;
    size_t nrows, rows_cap;
    char **files; /* found under recordings/, relative to the data directory */
    size_t nfiles, files_cap;
    unsigned problems, repaired, gaps;
    char **journaled; /* sorted paths of the index journal's rows (read only, never changed) */
    size_t njournaled;
};

static int collect_journaled(void *arg, const struct rec_journal_record *rec)
{
    struct check *k = arg;
    k->journaled = horus_realloc(k->journaled, (k->njournaled + 1) * sizeof(char *));
    k->journaled[k->njournaled++] = horus_strdup(rec->row.path);
    return 0;
}

static int cmp_str(const void *a, const void *b);

/*
 * The rows waiting in the index journal: the daemon inserts them at its next
 * start, so their files are orphans for now only. The file is only read here.
 */
static void load_journal(struct check *k)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/recordings/index.journal", k->o->data_dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = horus_realloc(buf, cap);
        }
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    fclose(f);
    struct rec_journal_parse_result res;
    rec_journal_parse(buf, len, collect_journaled, k, &res);
    free(buf);
    if (k->njournaled)
        qsort(k->journaled, k->njournaled, sizeof(char *), cmp_str);
}

static int collect_row(void *arg, const struct sto_recording *row)
{
    struct check *k = arg;
    if (k->nrows == k->rows_cap) {
        k->rows_cap = k->rows_cap ? k->rows_cap * 2 : 256;
        k->rows = horus_realloc(k->rows, k->rows_cap * sizeof(*k->rows));
    }
    struct row *r = &k->rows[k->nrows++];
    r->camera = horus_strdup(row->camera_id);
    r->stream = horus_strdup(row->stream);
    r->start_us = row->start_us;
    r->end_us = row->end_us;
    r->path = horus_strdup(row->path);
    r->bytes = row->bytes;
    r->sha256 = horus_strdup(row->sha256);
    return 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t len = strlen(s), n = strlen(suffix);
    return len > n && strcmp(s + len - n, suffix) == 0;
}

/*
 * Collects the .mp4 and .mp4.part files under abs (rel is the same folder
 * relative to the data directory). Symbolic links are not followed and
 * unreadable subfolders are skipped; only an unreadable root fails.
 */
static int collect_files(struct check *k, const char *abs, const char *rel, bool is_root)
{
    DIR *d = opendir(abs);
    if (!d)
        return is_root ? -errno : 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child_abs[PATH_MAX], child_rel[PATH_MAX];
        int n = snprintf(child_abs, sizeof(child_abs), "%s/%s", abs, e->d_name);
        int m = snprintf(child_rel, sizeof(child_rel), "%s/%s", rel, e->d_name);
        if (n < 0 || (size_t)n >= sizeof(child_abs) || m < 0 || (size_t)m >= sizeof(child_rel))
            continue;
        struct stat st;
        if (lstat(child_abs, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            collect_files(k, child_abs, child_rel, false);
            continue;
        }
        if (!S_ISREG(st.st_mode) ||
            (!has_suffix(e->d_name, ".mp4") && !has_suffix(e->d_name, ".mp4.part")))
            continue;
        if (k->nfiles == k->files_cap) {
            k->files_cap = k->files_cap ? k->files_cap * 2 : 256;
            k->files = horus_realloc(k->files, k->files_cap * sizeof(char *));
        }
        k->files[k->nfiles++] = horus_strdup(child_rel);
    }
    closedir(d);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Inserts or replaces the row for a segment; start_us overrides the file name's time. */
static int index_file(struct check *k, const char *camera, const char *stream, int64_t start_us,
                      const struct rec_segment_info *info)
{
    char codec[80];
    struct sto_recording_input row;
    rec_recording_row(info, k->o->data_dir, camera, stream, codec, &row);
    if (start_us) {
        row.end_us = start_us + (row.end_us - row.start_us);
        row.start_us = start_us;
    }
    int rc = sto_recording_insert_async(k->o->db, &row, NULL, NULL);
    /* A synchronous write queues behind it: wait for the row to commit. */
    return rc < 0 ? rc : sto_setting_put(k->o->db, "last_check_repair", row.path);
}

static void report(struct check *k, bool is_repaired, const char *what, const char *rel,
                   const char *detail)
{
    k->problems++;
    if (is_repaired)
        k->repaired++;
    fprintf(k->out, "%-14s %s%s%s%s\n", what, rel, detail ? " (" : "", detail ? detail : "",
            detail ? ")" : "");
    if (is_repaired)
        fprintf(k->out, "%-14s %s\n", "  repaired:", rel);
}

static void check_file_without_row(struct check *k, const char *rel)
{
    char abs[PATH_MAX];
    snprintf(abs, sizeof(abs), "%s/%s", k->o->data_dir, rel);
    bool is_part = strstr(rel, ".mp4.part") != NULL;
    struct rec_path p;
    if (rec_path_parse(rel, &p) == -EINVAL) {
        report(k, false, is_part ? "unfinished" : "orphan file", rel, "not under a camera folder");
        return;
    }
    bool is_repaired = false;
    const char *why = NULL;
    if (k->o->repair) {
        struct rec_segment_info info;
        int rc;
        if (is_part) {
            rc = rec_segment_recover(abs, &info);
        } else {
            uint64_t size;
            rc = rec_segment_inspect(abs, &info, &size);
        }
        if (rc == 0) {
            is_repaired = index_file(k, p.camera, p.stream, 0, &info) == 0;
            rec_segment_info_release(&info);
        } else {
            why = horus_strerror(rc);
        }
    }
    if (!why && !is_repaired && k->njournaled &&
        bsearch(&rel, k->journaled, k->njournaled, sizeof(char *), cmp_str))
        why = "its row waits in the index journal: horus serve inserts it at start";
    report(k, is_repaired, is_part ? "unfinished" : "orphan file", rel, why);
}

static void check_row_and_file(struct check *k, const struct row *r)
{
    char abs[PATH_MAX];
    snprintf(abs, sizeof(abs), "%s/%s", k->o->data_dir, r->path);
    struct stat st;
    if (stat(abs, &st) < 0)
        return; /* handled as a missing file */
    bool is_size_wrong = (uint64_t)st.st_size != r->bytes;
    if (!is_size_wrong && !k->o->verify)
        return;
    struct rec_segment_info info;
    uint64_t file_size;
    int rc = rec_segment_inspect(abs, &info, &file_size);
    if (rc < 0) {
        report(k, false, "unreadable", r->path, horus_strerror(rc));
        return;
    }
    bool is_hash_wrong = k->o->verify && r->sha256[0] && strcmp(info.sha256_hex, r->sha256) != 0;
    if (is_size_wrong || is_hash_wrong) {
        char detail[96];
        snprintf(detail, sizeof(detail), "index says %llu bytes, file has %llu",
                 (unsigned long long)r->bytes, (unsigned long long)file_size);
        bool is_repaired =
            k->o->repair && index_file(k, r->camera, r->stream, r->start_us, &info) == 0;
        report(k, is_repaired, is_size_wrong ? "size mismatch" : "hash mismatch", r->path,
               is_size_wrong ? detail : NULL);
    }
    rec_segment_info_release(&info);
}

/* Rows without files, and rows whose files disagree with them. */
static void check_rows(struct check *k)
{
    for (size_t i = 0; i < k->nrows; i++) {
        const struct row *r = &k->rows[i];
        bool has_file = bsearch(&r->path, k->files, k->nfiles, sizeof(char *), cmp_str) != NULL;
        if (has_file) {
            check_row_and_file(k, r);
            continue;
        }
        bool is_repaired = false;
        if (k->o->repair)
            is_repaired = sto_recording_delete(k->o->db, r->camera, r->stream, r->start_us) == 0;
        report(k, is_repaired, "missing file", r->path, NULL);
    }
}

/* Files without rows: the rows' paths, sorted, searched per file. */
static void check_files(struct check *k)
{
    char **row_paths = horus_calloc(k->nrows ? k->nrows : 1, sizeof(char *));
    for (size_t i = 0; i < k->nrows; i++)
        row_paths[i] = k->rows[i].path;
    qsort(row_paths, k->nrows, sizeof(char *), cmp_str);
    for (size_t i = 0; i < k->nfiles; i++)
        if (!bsearch(&k->files[i], row_paths, k->nrows, sizeof(char *), cmp_str))
            check_file_without_row(k, k->files[i]);
    free(row_paths);
}

/* Orders rows by camera, stream, start. */
static int cmp_row_time(const void *a, const void *b)
{
    const struct row *x = *(const struct row *const *)a, *y = *(const struct row *const *)b;
    int c = strcmp(x->camera, y->camera);
    if (c == 0)
        c = strcmp(x->stream, y->stream);
    if (c == 0)
        c = x->start_us < y->start_us ? -1 : x->start_us > y->start_us;
    return c;
}

/* Times: overlaps, rows in the future, rows ending before they start; gaps as notes. */
static void check_times(struct check *k)
{
    const horus_clock *clock = k->o->clock ? k->o->clock : clock_system();
    int64_t now_us = clock_realtime_ms(clock) * 1000;
    const struct row **by_time = horus_calloc(k->nrows ? k->nrows : 1, sizeof(*by_time));
    for (size_t i = 0; i < k->nrows; i++)
        by_time[i] = &k->rows[i];
    qsort(by_time, k->nrows, sizeof(*by_time), cmp_row_time);
    const struct row *prev = NULL;
    int64_t prev_end = 0; /* the latest end of the stream's rows so far */
    for (size_t i = 0; i < k->nrows; i++) {
        const struct row *r = by_time[i];
        char detail[160];
        if (r->start_us > now_us + FUTURE_SLACK_US) {
            snprintf(detail, sizeof(detail), "starts %.1f h after now",
                     (double)(r->start_us - now_us) / 3.6e9);
            report(k, false, "future row", r->path, detail);
        }
        if (r->end_us <= r->start_us)
            report(k, false, "bad times", r->path, "ends before it starts");
        bool is_same_stream =
            prev && strcmp(prev->camera, r->camera) == 0 && strcmp(prev->stream, r->stream) == 0;
        if (is_same_stream && r->start_us < prev_end) {
            snprintf(detail, sizeof(detail), "starts %.3f s before the end of %s",
                     (double)(prev_end - r->start_us) / 1e6, prev->path);
            report(k, false, "overlap", r->path, detail);
        } else if (is_same_stream && r->start_us - prev_end > GAP_MIN_US) {
            k->gaps++;
            fprintf(k->out, "%-14s %s (%.1f s after the previous row ends)\n", "gap", r->path,
                    (double)(r->start_us - prev_end) / 1e6);
        }
        if (!is_same_stream || r->end_us > prev_end)
            prev_end = r->end_us;
        prev = r;
    }
    free(by_time);
}

static void check_release(struct check *k)
{
    for (size_t i = 0; i < k->nrows; i++) {
        free(k->rows[i].camera);
        free(k->rows[i].stream);
        free(k->rows[i].path);
        free(k->rows[i].sha256);
    }
    free(k->rows);
    for (size_t i = 0; i < k->nfiles; i++)
        free(k->files[i]);
    free(k->files);
    for (size_t i = 0; i < k->njournaled; i++)
        free(k->journaled[i]);
    free(k->journaled);
}

int rec_check(const struct rec_check_options *o, struct rec_check_result *res, char *why,
              size_t why_size)
{
    struct check k = {.o = o, .out = o->out ? o->out : stdout};
    *res = (struct rec_check_result){0};
    int rc = sto_recordings_foreach(o->db, collect_row, &k);
    if (rc < 0) {
        snprintf(why, why_size, "read index: %s", horus_strerror(rc));
        goto out;
    }
    char root[PATH_MAX];
    snprintf(root, sizeof(root), "%s/recordings", o->data_dir);
    if (access(root, F_OK) == 0) {
        rc = collect_files(&k, root, "recordings", true);
        if (rc < 0) {
            snprintf(why, why_size, "walk '%s': %s", root, strerror(-rc));
            goto out;
        }
    }
    qsort(k.files, k.nfiles, sizeof(char *), cmp_str);
    load_journal(&k);
    check_rows(&k);
    check_files(&k);
    check_times(&k);
    fprintf(k.out, "checked %zu index rows and %zu files: %u problems, %u repaired, %u gaps\n",
            k.nrows, k.nfiles, k.problems, k.repaired, k.gaps);
    *res = (struct rec_check_result){.rows = k.nrows,
                                     .files = k.nfiles,
                                     .problems = k.problems,
                                     .repaired = k.repaired,
                                     .gaps = k.gaps};
out:
    check_release(&k);
    return rc;
}
