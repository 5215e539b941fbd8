/*
 * `horus check`: fsck for recordings. Compares the index rows with the
 * segment files under <data_dir>/recordings and reports, or repairs, what
 * disagrees (record/check.c says how).
 */
#ifndef HORUS_RECORD_CHECK_H
#define HORUS_RECORD_CHECK_H

#include "clock.h"
#include "storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct rec_check_options {
    sto_db *db; /* borrowed: open on data_dir's index */
    const char *data_dir; /* borrowed; the caller holds its horus.lock (no daemon runs on it) */
    bool repair; /* fix what can be fixed: drop, index or re-index rows */
    bool verify; /* also hash every indexed file and compare with its row */
    FILE *out; /* borrowed: one line per problem, then a summary; NULL = stdout */
    const horus_clock *clock; /* borrowed: "now" for rows in the future; NULL = system */
};

struct rec_check_result {
    size_t rows; /* index rows checked */
    size_t files; /* segment files found */
    unsigned problems;
    unsigned repaired;
    unsigned gaps; /* gaps of more than a second between rows of a stream (not problems) */
};

/*
 * Runs the check and writes its report to o->out. Returns 0 when the check
 * ran (*res says what it found), or a negative code when it could not
 * (reading the index, walking the folder), with a sentence in why.
 * Thread: any; nothing else may write data_dir meanwhile.
 */
int rec_check(const struct rec_check_options *o, struct rec_check_result *res, char *why,
              size_t why_size);

#endif
