/*
 * DESIGN: `horus check [--repair] [--verify]`, fsck for recordings. It
 * compares the index rows with the files under <data>/recordings and
 * reports, one line each:
 *   missing file   a row whose file is gone        repair: delete the row
 *   orphan file    a closed .mp4 without a row     repair: index it
 *   unfinished     a .mp4.part a crash left        repair: recover and index it
 *   size mismatch  the file's size is not the row's repair: re-index the file
 *   hash mismatch  (--verify) contents changed     repair: re-index the file
 * Re-indexing keeps what is playable (init + complete parts) and the row's
 * start time. It runs with the daemon stopped: both take the data
 * directory's lock. Exit status: 0 when nothing is wrong (or everything was
 * repaired), 1 when problems remain or the check could not run, 2 for
 * usage or configuration errors.
 */
#include "app.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "record.h"
#include "recorder.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "check"

struct row {
    char *camera, *stream, *path, *sha256;
    int64_t start_us;
    uint64_t bytes;
};

struct rows {
    struct row *items;
    size_t n, cap;
};

static int collect_row(void *arg, const struct sto_recording *row)
{
    struct rows *rs = arg;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 256;
        rs->items = horus_realloc(rs->items, rs->cap * sizeof(*rs->items));
    }
    struct row *r = &rs->items[rs->n++];
    r->camera = horus_strdup(row->camera_id);
    r->stream = horus_strdup(row->stream);
    r->start_us = row->start_us;
    r->path = horus_strdup(row->path);
    r->bytes = row->bytes;
    r->sha256 = horus_strdup(row->sha256);
    return 0;
}

/* Files found under recordings/, relative to the data directory. */
static struct {
    char **paths;
    size_t n, cap;
    size_t prefix; /* strlen(data_dir) + 1 */
} files;

static int collect_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    size_t len = strlen(path);
    bool is_mp4 = len > 4 && strcmp(path + len - 4, ".mp4") == 0;
    bool is_part = len > 9 && strcmp(path + len - 9, ".mp4.part") == 0;
    if (type != FTW_F || (!is_mp4 && !is_part))
        return 0;
    if (files.n == files.cap) {
        files.cap = files.cap ? files.cap * 2 : 256;
        files.paths = horus_realloc(files.paths, files.cap * sizeof(char *));
    }
    files.paths[files.n++] = horus_strdup(path + files.prefix);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* camera and stream from "recordings/<camera>/<stream>/<date>/<file>". */
static bool split_path(const char *rel, char *camera, char *stream, size_t size)
{
    return sscanf(rel, "recordings/%63[^/]/%15[^/]/", camera, stream) == 2 && size >= 64;
}

/* Inserts or replaces the row for a segment; start_us overrides the file name's time. */
static int index_file(sto_db *db, const char *data_dir, const char *camera, const char *stream,
                      int64_t start_us, const struct rec_segment_info *info)
{
    char codec[80];
    struct sto_recording_input row;
    rec_recording_row(info, data_dir, camera, stream, codec, &row);
    if (start_us) {
        row.end_us = start_us + (row.end_us - row.start_us);
        row.start_us = start_us;
    }
    int rc = sto_recording_insert_async(db, &row, NULL, NULL);
    /* A synchronous write queues behind it: wait for the row to commit. */
    return rc < 0 ? rc : sto_setting_put(db, "last_check_repair", row.path);
}

struct tally {
    unsigned problems, repaired;
};

static void report(struct tally *t, bool is_repaired, const char *what, const char *rel,
                   const char *detail)
{
    t->problems++;
    if (is_repaired)
        t->repaired++;
    printf("%-14s %s%s%s%s\n", what, rel, detail ? " (" : "", detail ? detail : "",
           detail ? ")" : "");
    if (is_repaired)
        printf("%-14s %s\n", "  repaired:", rel);
}

static void check_file_without_row(sto_db *db, const char *data_dir, const char *rel, bool repair,
                                   struct tally *t)
{
    char abs[PATH_MAX], camera[64], stream[16];
    snprintf(abs, sizeof(abs), "%s/%s", data_dir, rel);
    bool is_part = strstr(rel, ".mp4.part") != NULL;
    if (!split_path(rel, camera, stream, sizeof(camera))) {
        report(t, false, is_part ? "unfinished" : "orphan file", rel, "not under a camera folder");
        return;
    }
    bool is_repaired = false;
    const char *why = NULL;
    if (repair) {
        struct rec_segment_info info;
        int rc;
        if (is_part) {
            rc = rec_segment_recover(abs, &info);
        } else {
            uint64_t size;
            rc = rec_segment_inspect(abs, &info, &size);
        }
        if (rc == 0) {
            is_repaired = index_file(db, data_dir, camera, stream, 0, &info) == 0;
            rec_segment_info_release(&info);
        } else {
            why = horus_strerror(rc);
        }
    }
    report(t, is_repaired, is_part ? "unfinished" : "orphan file", rel, why);
}

static void check_row_and_file(sto_db *db, const char *data_dir, const struct row *r, bool repair,
                               bool verify, struct tally *t)
{
    char abs[PATH_MAX];
    snprintf(abs, sizeof(abs), "%s/%s", data_dir, r->path);
    struct stat st;
    if (stat(abs, &st) < 0)
        return; /* handled as a missing file */
    bool is_size_wrong = (uint64_t)st.st_size != r->bytes;
    if (!is_size_wrong && !verify)
        return;
    struct rec_segment_info info;
    uint64_t file_size;
    int rc = rec_segment_inspect(abs, &info, &file_size);
    if (rc < 0) {
        report(t, false, "unreadable", r->path, horus_strerror(rc));
        return;
    }
    bool is_hash_wrong = verify && r->sha256[0] && strcmp(info.sha256_hex, r->sha256) != 0;
    if (is_size_wrong || is_hash_wrong) {
        char detail[96];
        snprintf(detail, sizeof(detail), "index says %llu bytes, file has %llu",
                 (unsigned long long)r->bytes, (unsigned long long)file_size);
        bool is_repaired =
            repair && index_file(db, data_dir, r->camera, r->stream, r->start_us, &info) == 0;
        report(t, is_repaired, is_size_wrong ? "size mismatch" : "hash mismatch", r->path,
               is_size_wrong ? detail : NULL);
    }
    rec_segment_info_release(&info);
}

int app_check(const struct app_overrides *ov, bool repair, bool verify)
{
    cfg_snapshot *snap = NULL;
    if (app_config_load(ov->config_path, &snap) < 0)
        return 2;
    const struct horus_config *c = cfg_snapshot_data(snap);
    char *data_dir = horus_strdup(ov->data_dir ? ov->data_dir : c->storage.path);
    int exit_code = 1;
    int lock_fd = -1;
    sto_db *db = NULL;
    struct rows rows = {0};
    log_set_level(LOG_LEVEL_WARN);
    char why[256];
    if (app_data_lock(data_dir, &lock_fd, why, sizeof(why)) < 0) {
        fprintf(stderr, "horus check: %s\n", why);
        goto out;
    }
    char *errmsg = NULL;
    struct sto_open_options so = {.db = &c->database, .data_dir = data_dir};
    int rc = sto_open(&so, &db, &errmsg);
    if (rc == 0 && (rc = sto_start(db)) < 0)
        errmsg = horus_asprintf("start writer thread: %s", horus_strerror(rc));
    if (rc < 0) {
        fprintf(stderr, "horus check: open database: %s\n", errmsg ? errmsg : horus_strerror(rc));
        free(errmsg);
        goto out;
    }
    rc = sto_recordings_foreach(db, collect_row, &rows);
    if (rc < 0) {
        fprintf(stderr, "horus check: read index: %s\n", horus_strerror(rc));
        goto out;
    }
    char root[PATH_MAX];
    snprintf(root, sizeof(root), "%s/recordings", data_dir);
    files.prefix = strlen(data_dir) + 1;
    if (access(root, F_OK) == 0 && nftw(root, collect_file, 16, FTW_PHYS) < 0) {
        fprintf(stderr, "horus check: walk '%s': %s\n", root, strerror(errno));
        goto out;
    }
    qsort(files.paths, files.n, sizeof(char *), cmp_str);
    struct tally t = {0};
    /* Rows without files, and rows whose files disagree with them. */
    for (size_t i = 0; i < rows.n; i++) {
        const struct row *r = &rows.items[i];
        bool has_file = bsearch(&r->path, files.paths, files.n, sizeof(char *), cmp_str) != NULL;
        if (has_file) {
            check_row_and_file(db, data_dir, r, repair, verify, &t);
            continue;
        }
        bool is_repaired = false;
        if (repair)
            is_repaired = sto_recording_delete(db, r->camera, r->stream, r->start_us) == 0;
        report(&t, is_repaired, "missing file", r->path, NULL);
    }
    /* Files without rows: the rows' paths, sorted, searched per file. */
    char **row_paths = horus_calloc(rows.n ? rows.n : 1, sizeof(char *));
    for (size_t i = 0; i < rows.n; i++)
        row_paths[i] = rows.items[i].path;
    qsort(row_paths, rows.n, sizeof(char *), cmp_str);
    for (size_t i = 0; i < files.n; i++)
        if (!bsearch(&files.paths[i], row_paths, rows.n, sizeof(char *), cmp_str))
            check_file_without_row(db, data_dir, files.paths[i], repair, &t);
    free(row_paths);
    printf("checked %zu index rows and %zu files: %u problems, %u repaired\n", rows.n, files.n,
           t.problems, t.repaired);
    exit_code = t.problems == t.repaired ? 0 : 1;
out:
    for (size_t i = 0; i < rows.n; i++) {
        free(rows.items[i].camera);
        free(rows.items[i].stream);
        free(rows.items[i].path);
        free(rows.items[i].sha256);
    }
    free(rows.items);
    for (size_t i = 0; i < files.n; i++)
        free(files.paths[i]);
    free(files.paths);
    files.paths = NULL;
    files.n = files.cap = 0;
    sto_close(db);
    if (lock_fd >= 0)
        close(lock_fd);
    cfg_snapshot_unref(snap);
    free(data_dir);
    return exit_code;
}
