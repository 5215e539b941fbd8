/*
 * Test helper shared by storage-backed unit tests: a temporary directory
 * with an open SQLite index, removed again at teardown.
 */
#ifndef HORUS_TEST_STO_FIXTURE_H
#define HORUS_TEST_STO_FIXTURE_H

#include "storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sto_fixture {
    char dir[64];
    sto_db *db;
};

static inline int sto_fixture_setup(void **state)
{
    struct sto_fixture *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/horus-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct sto_database_config cfg = {
        .url = "", .busy_timeout_ms = 5000, .batch_max = 64, .queue_max = 1024, .readers = 2};
    struct sto_open_options o = {.db = &cfg, .data_dir = f->dir};
    char *err = NULL;
    assert_int_equal(sto_open(&o, &f->db, &err), 0);
    assert_int_equal(sto_start(f->db), 0);
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
