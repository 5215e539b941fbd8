/*
 * Test helper shared by storage-backed unit tests: a temporary directory
 * with an open index database, removed again at teardown.
 *
 * The database is opened by URL, through the backend registry, from the
 * table below: adding a storage backend means adding its row here. Every
 * storage-backed test then runs against it with HORUS_TEST_BACKEND=<name>,
 * and unit.storage.backends runs its conformance tests against every row.
 */
#ifndef HORUS_TEST_STO_FIXTURE_H
#define HORUS_TEST_STO_FIXTURE_H

#include "storage.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sto_fixture_backend {
    const char *name; /* sto_backend_name() of the database it opens */
    /*
     * A file backend (SQLite): database.url is url_prefix, a new empty
     * temporary directory, then url_suffix. A server backend (PostgreSQL,
     * is_server): a scratch schema per test on the server whose URL
     * HORUS_TEST_PG_URL holds (or the file HORUS_TEST_PG_URL_FILE names:
     * tests/pg/pg-server writes it), chosen by the URL's search_path.
     */
    const char *url_prefix;
    const char *url_suffix;
    bool is_server;
};

static const struct sto_fixture_backend sto_fixture_backends[] = {
    {"sqlite", "sqlite:", "/index.db", false},
    {"postgres", NULL, NULL, true},
};

#define STO_FIXTURE_NBACKENDS (sizeof(sto_fixture_backends) / sizeof(sto_fixture_backends[0]))

/*
 * The backend the fixture opens: set by a test that loops over the table,
 * else the one HORUS_TEST_BACKEND names, else the first row.
 */
static const struct sto_fixture_backend *sto_fixture_current;

static inline const struct sto_fixture_backend *sto_fixture_backend(void)
{
    if (sto_fixture_current)
        return sto_fixture_current;
    const char *want = getenv("HORUS_TEST_BACKEND");
    for (size_t i = 0; want && i < STO_FIXTURE_NBACKENDS; i++)
        if (strcmp(sto_fixture_backends[i].name, want) == 0)
            return &sto_fixture_backends[i];
    if (want && want[0])
        fail_msg("HORUS_TEST_BACKEND=%s: not in sto_fixture_backends[]", want);
    return &sto_fixture_backends[0];
}

struct sto_fixture {
    char dir[64];
    char url[512];
    char schema[40]; /* server backends: the scratch schema; "" otherwise */
    char server[256]; /* server backends: the server's URL, without the schema */
    char extra[4][48]; /* server backends: schemas of sto_fixture_another_url; "" = unused */
    sto_db *db;
};

/*
 * The test server's URL into buf (HORUS_TEST_PG_URL, else the first line
 * of the file HORUS_TEST_PG_URL_FILE names). Returns false when neither is set.
 */
static inline bool sto_fixture_server_url(char *buf, size_t size)
{
    const char *url = getenv("HORUS_TEST_PG_URL");
    if (url && url[0]) {
        snprintf(buf, size, "%s", url);
        return true;
    }
    const char *file = getenv("HORUS_TEST_PG_URL_FILE");
    FILE *fp = file && file[0] ? fopen(file, "r") : NULL;
    if (!fp)
        return false;
    bool ok = fgets(buf, (int)size, fp) != NULL;
    fclose(fp);
    buf[strcspn(buf, "\r\n")] = '\0';
    return ok && buf[0];
}

/*
 * Runs SQL (any quoting; several statements) on the test server with
 * psql, fed on its standard input. Returns its exit status.
 */
static inline int sto_fixture_psql(const char *server, const char *sql)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "PGOPTIONS='-c client_min_messages=warning' psql -qAtX -v ON_ERROR_STOP=1 -f - '%s'"
             " >/dev/null",
             server);
    FILE *p = popen(cmd, "w");
    if (!p)
        return -1;
    fputs(sql, p);
    return pclose(p);
}

/*
 * Runs sql in the fixture's database with psql, beside the daemon's own
 * connections (a server backend only: tests that tamper with a file
 * backend open the file themselves). Fails the test when psql does.
 */
static inline void sto_fixture_psql_here(const struct sto_fixture *f, const char *sql)
{
    size_t n = strlen(sql) + 64;
    char *all = malloc(n);
    snprintf(all, n, "SET search_path TO %s;\n%s;\n", f->schema, sql);
    int rc = sto_fixture_psql(f->server, all);
    free(all);
    if (rc != 0)
        fail_msg("psql on schema %s: %s", f->schema, sql);
}

/*
 * Runs sql in the fixture's database with psql (a server backend only) and
 * copies what it prints, unaligned, into out. Fails the test when psql does.
 */
static inline void sto_fixture_psql_read(const struct sto_fixture *f, const char *sql, char *out,
                                         size_t size)
{
    char file[128], cmd[512];
    snprintf(file, sizeof(file), "%s/psql-in.sql", f->dir);
    FILE *in = fopen(file, "w");
    assert_non_null(in);
    fprintf(in, "SET search_path TO %s;\n%s;\n", f->schema, sql);
    fclose(in);
    snprintf(
        cmd, sizeof(cmd),
        "PGOPTIONS='-c client_min_messages=warning' psql -qAtX -v ON_ERROR_STOP=1 -f '%s' '%s'",
        file, f->server);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    if (pclose(p) != 0)
        fail_msg("psql on schema %s: %s", f->schema, sql);
}

/*
 * Fills f->url for backend be: a temporary file's URL, or a new scratch
 * schema on the test server. Fails the test when a server backend has no
 * server to use.
 */
static inline void sto_fixture_make_url(struct sto_fixture *f, const struct sto_fixture_backend *be)
{
    if (!be->is_server) {
        snprintf(f->url, sizeof(f->url), "%s%s%s", be->url_prefix, f->dir, be->url_suffix);
        return;
    }
    static unsigned counter;
    if (!sto_fixture_server_url(f->server, sizeof(f->server)))
        fail_msg("backend %s needs a server: set HORUS_TEST_PG_URL or HORUS_TEST_PG_URL_FILE "
                 "(tests/pg/pg-server start DIR writes DIR/url)",
                 be->name);
    snprintf(f->schema, sizeof(f->schema), "t_%ld_%u", (long)getpid(), counter++);
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", f->schema,
             f->schema);
    if (sto_fixture_psql(f->server, sql) != 0)
        fail_msg("create schema %s on %s failed", f->schema, f->server);
    snprintf(f->url, sizeof(f->url), "%s%soptions=-csearch_path%%3D%s", f->server,
             strchr(f->server, '?') ? "&" : "?", f->schema);
}

/* Drops one schema of the test server. */
static inline void sto_fixture_drop_schema(const struct sto_fixture *f, const char *schema)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
    if (sto_fixture_psql(f->server, sql) != 0)
        fail_msg("drop schema %s failed", schema);
}

/* Drops a server backend's scratch schemas (nothing for a file backend). */
static inline void sto_fixture_drop(struct sto_fixture *f)
{
    for (size_t i = 0; i < sizeof(f->extra) / sizeof(f->extra[0]); i++)
        if (f->extra[i][0])
            sto_fixture_drop_schema(f, f->extra[i]);
    if (f->schema[0])
        sto_fixture_drop_schema(f, f->schema);
    f->schema[0] = '\0';
}

/*
 * The URL of a second, empty database beside the fixture's, named by tag
 * ([a-z]+): the fixture's file with "-tag" appended, or a new schema
 * "<schema>_tag" on the test server (dropped at teardown).
 */
static inline void sto_fixture_another_url(struct sto_fixture *f, const char *tag, char *buf,
                                           size_t size)
{
    if (!f->schema[0]) {
        snprintf(buf, size, "%s-%s", f->url, tag);
        return;
    }
    size_t i = 0;
    while (i < sizeof(f->extra) / sizeof(f->extra[0]) && f->extra[i][0])
        i++;
    if (i == sizeof(f->extra) / sizeof(f->extra[0]))
        fail_msg("sto_fixture_another_url: more than %zu extra databases", i);
    snprintf(f->extra[i], sizeof(f->extra[i]), "%s_%.7s", f->schema, tag);
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", f->extra[i]);
    if (sto_fixture_psql(f->server, sql) != 0)
        fail_msg("create schema %s failed", f->extra[i]);
    snprintf(buf, size, "%s%soptions=-csearch_path%%3D%s", f->server,
             strchr(f->server, '?') ? "&" : "?", f->extra[i]);
}

/* One thread of sto_fixture_race. */
/* The outcome of one asynchronous write (a sto_done_cb's rc), waited for by a test. */
struct sto_fixture_outcome {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool is_done;
    int rc;
};

#define STO_FIXTURE_OUTCOME_INIT                                                                   \
    {                                                                                              \
        .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER                        \
    }

/* A sto_done_cb for a struct sto_fixture_outcome. */
static inline void sto_fixture_outcome_cb(int rc, void *arg)
{
    struct sto_fixture_outcome *o = arg;
    pthread_mutex_lock(&o->lock);
    o->rc = rc;
    o->is_done = true;
    pthread_cond_signal(&o->cond);
    pthread_mutex_unlock(&o->lock);
}

/* Waits for o's write to end; its rc. */
static inline int sto_fixture_outcome_wait(struct sto_fixture_outcome *o)
{
    pthread_mutex_lock(&o->lock);
    while (!o->is_done)
        pthread_cond_wait(&o->cond, &o->lock);
    pthread_mutex_unlock(&o->lock);
    return o->rc;
}

struct sto_fixture_racer {
    sto_db *db;
    int i, rc;
    int (*fn)(sto_db *db, int i);
    pthread_barrier_t *go;
};

static inline void *sto_fixture_racer_main(void *arg)
{
    struct sto_fixture_racer *r = arg;
    pthread_barrier_wait(r->go);
    r->rc = r->fn(r->db, r->i);
    return NULL;
}

/*
 * Runs fn(db, i) for i in [0, n) on n threads released together (n <= 16)
 * and fails unless exactly one returns 0 and the others -EBUSY: claims of
 * one thing made at the same moment have one winner.
 */
static inline void sto_fixture_race_one_winner(sto_db *db, int n, int (*fn)(sto_db *db, int i))
{
    struct sto_fixture_racer r[16];
    pthread_t t[16];
    pthread_barrier_t go;
    assert_true(n > 0 && n <= 16);
    pthread_barrier_init(&go, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        r[i] = (struct sto_fixture_racer){.db = db, .i = i, .fn = fn, .go = &go};
        assert_int_equal(pthread_create(&t[i], NULL, sto_fixture_racer_main, &r[i]), 0);
    }
    int won = 0, busy = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        won += r[i].rc == 0;
        busy += r[i].rc == -EBUSY;
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(won, 1);
    assert_int_equal(busy, n - 1);
}

static inline int sto_fixture_setup(void **state)
{
    struct sto_fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/horus-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    const struct sto_fixture_backend *be = sto_fixture_backend();
    sto_fixture_make_url(f, be);
    struct sto_database_config cfg = {
        .url = f->url, .busy_timeout_ms = 5000, .batch_max = 64, .queue_max = 1024, .readers = 2};
    struct sto_open_options o = {.db = &cfg, .data_dir = f->dir};
    char *err = NULL;
    int rc = sto_open(&o, &f->db, &err);
    if (rc < 0)
        fail_msg("open %s: %s", f->url, err ? err : "?");
    assert_int_equal(sto_start(f->db), 0);
    assert_string_equal(sto_backend_name(f->db), be->name);
    *state = f;
    return 0;
}

static inline int sto_fixture_teardown(void **state)
{
    struct sto_fixture *f = *state;
    sto_close(f->db);
    sto_fixture_drop(f);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

#endif
