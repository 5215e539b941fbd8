/*
 * `horus migrate`: moves an install's index from SQLite (or another
 * PostgreSQL database) into a new PostgreSQL database (docs/design/0062).
 * The daemon must be stopped (the data directory's lock is taken), so
 * the source does not change under the copy. Both databases are opened
 * through storage, which brings each to this binary's schema; sto_copy
 * does the rest in one transaction. Recordings, snapshots, exports and the
 * secret key stay in the data directory: sealed values are copied as they
 * are and open with the same key.
 *
 * Exit status: 0 copied, 1 the copy failed (the destination is left
 * empty), 2 usage or configuration errors.
 */
#include "app.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "storage.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void progress(const char *table, uint64_t rows, void *arg)
{
    uint64_t *total = arg;
    *total += rows;
    printf("  %-24s %llu rows\n", table, (unsigned long long)rows);
    fflush(stdout);
}

static int open_url(const char *what, const char *url, const struct sto_database_config *base,
                    const char *data_dir, sto_db **out)
{
    struct sto_database_config dc = *base;
    dc.url = (char *)url;
    char *errmsg = NULL;
    struct sto_open_options so = {.db = &dc, .data_dir = data_dir};
    int rc = sto_open(&so, out, &errmsg);
    if (rc < 0) {
        fprintf(stderr, "horus migrate: open the %s: %s\n", what,
                errmsg ? errmsg : horus_strerror(rc));
        free(errmsg);
    }
    return rc;
}

int app_cmd_migrate(int argc, char **argv)
{
    struct app_overrides ov = {0};
    const char *from = NULL, *to = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
            dst = &ov.config_path;
        else if (strcmp(a, "--data") == 0)
            dst = &ov.data_dir;
        else if (strcmp(a, "--from") == 0)
            dst = &from;
        else if (strcmp(a, "--to") == 0)
            dst = &to;
        if (!dst) {
            fprintf(stderr, "horus migrate: unknown argument '%s'\n", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "horus migrate: option '%s' needs a value\n", a);
            return 2;
        }
        *dst = argv[++i];
    }
    if (!to || strncmp(to, "postgres", 8) != 0) {
        fprintf(stderr, "horus migrate: --to postgres://USER:PASS@HOST:PORT/DB is required\n"
                        "usage: horus migrate [-c FILE] [--data DIR] [--from URL] --to URL\n");
        return 2;
    }
    cfg_snapshot *snap = NULL;
    if (app_config_load(ov.config_path, &snap) < 0)
        return 2;
    const struct horus_config *c = cfg_snapshot_data(snap);
    const char *data_dir = ov.data_dir ? ov.data_dir : c->storage.path;
    int code = 1, lock_fd = -1;
    sto_db *src = NULL, *dst = NULL;
    char *src_url = NULL;
    log_set_level(LOG_LEVEL_WARN);
    if (from)
        src_url = horus_strdup(from);
    else if (c->database.url && c->database.url[0])
        src_url = horus_strdup(c->database.url);
    else
        src_url = horus_asprintf("sqlite:%s/horus.db", data_dir);
    struct stat st;
    if (strncmp(src_url, "sqlite:", 7) == 0 && stat(src_url + 7, &st) < 0) {
        /* Opening would create an empty database: say that there is none instead. */
        fprintf(stderr, "horus migrate: no database at '%s': %s\n", src_url + 7, strerror(errno));
        goto out;
    }
    char why[PATH_MAX + 128];
    if (app_data_lock(data_dir, &lock_fd, why, sizeof(why)) < 0) {
        fprintf(stderr, "horus migrate: %s (stop the daemon first)\n", why);
        goto out;
    }
    if (open_url("source", src_url, &c->database, data_dir, &src) < 0 ||
        open_url("destination", to, &c->database, data_dir, &dst) < 0)
        goto out;
    printf("copying the index from %s to %s (schema %d)\n", sto_backend_name(src),
           sto_backend_name(dst), sto_schema_version(dst));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t total = 0;
    char *errmsg = NULL;
    int rc = sto_copy(src, dst, progress, &total, &errmsg);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0) {
        fprintf(stderr, "horus migrate: %s; nothing was written to the destination\n",
                errmsg ? errmsg : horus_strerror(rc));
        free(errmsg);
        code = rc == -EEXIST || rc == HORUS_ECONFIG ? 2 : 1;
        goto out;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("copied %llu rows in %.1f s; set database.url to the destination (the data "
           "directory, with its secret key, stays as it is) and start horus\n",
           (unsigned long long)total, secs);
    code = 0;
out:
    sto_close(dst);
    sto_close(src);
    if (lock_fd >= 0)
        close(lock_fd);
    free(src_url);
    cfg_snapshot_unref(snap);
    return code;
}
