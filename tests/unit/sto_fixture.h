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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sto_fixture_backend {
    const char *name; /* sto_backend_name() of the database it opens */
    /*
     * database.url is url_prefix, a new empty temporary directory, then
     * url_suffix. A server backend (PostgreSQL) will need a scratch
     * database per test instead, and a hook here to make and drop it.
     */
    const char *url_prefix;
    const char *url_suffix;
};

static const struct sto_fixture_backend sto_fixture_backends[] = {
    {"sqlite", "sqlite:", "/index.db"},
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
    char url[256];
    sto_db *db;
};

static inline int sto_fixture_setup(void **state)
{
    struct sto_fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/horus-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    const struct sto_fixture_backend *be = sto_fixture_backend();
    snprintf(f->url, sizeof(f->url), "%s%s%s", be->url_prefix, f->dir, be->url_suffix);
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
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

#endif
