/*
 * Private to src/record: how a closed segment's row reaches the index
 * (indexer.c): through the index journal first, then the database writer,
 * which retries transient failures; and what start-up does so that every
 * closed segment on disk ends up indexed (journal replay, reconciliation of
 * the newest files with the rows). Design: docs/design/0012-index-journal.md.
 */
#ifndef HORUS_RECORD_INDEXER_INT_H
#define HORUS_RECORD_INDEXER_INT_H

#include "journal_int.h"
#include "metrics.h"
#include "storage.h"

#include <stddef.h>

/*
 * Journals row (borrowed), then queues its insert; the journal entry is
 * acknowledged when the row commits. j may be NULL (no journal: the insert
 * alone). Failures are logged with the row's path. A fenced row
 * (HORUS_EFENCED: the camera's lease moved) is acknowledged too, and its
 * file under data_dir renamed <name>.fenced. Thread: any.
 */
void rec_index_row(sto_db *db, rec_journal *j, const char *data_dir,
                   const struct sto_recording_input *row);

/* What start-up found (rec_index_recover). */
struct rec_index_recovery {
    size_t replayed; /* journal entries handed to the database again */
    size_t replay_missing; /* journal entries whose file is gone (dropped, logged) */
    size_t indexed; /* segment files found without a row or entry, now indexed */
    size_t missing_files; /* rows of the scanned days whose file is gone (reported only) */
};

struct rec_index_recover_options {
    sto_db *db; /* borrowed */
    rec_journal *journal; /* borrowed; may be NULL */
    const char *data_dir; /* borrowed */
    metrics_registry *metrics; /* borrowed; may be NULL */
};

/*
 * Start-up, after the crashed .part files were recovered: replays the
 * journal's unacknowledged rows (inserts that keep an existing row), then
 * walks each stream folder under <data_dir>/recordings and, for the day
 * folders from the day before the stream's newest row on (before today,
 * when that row is in the future; every folder when the stream has no
 * row), indexes each .mp4 that has neither a row nor
 * a journal entry, and reports each row of those days whose file is gone
 * (a log line and horus_record_reconciled_total{result="missing_file"}; the
 * row stays: `horus check --repair` decides). Returns once those inserts
 * committed (at most 10 s; the storage writer must be running), so the
 * recorder sees the rows it added. Fills *out. Thread: main.
 */
void rec_index_recover(const struct rec_index_recover_options *o, struct rec_index_recovery *out);

#endif
