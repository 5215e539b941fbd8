/*
 * Private to src/record: the index journal (journal.c), a durable local
 * record of every closed segment's index row, written and fsynced with the
 * segment's close before the database insert is tried, so that a row the
 * database did not take (locked, full, lost to a power cut) is inserted
 * later instead of lost. Design: docs/design/0012-index-journal.md.
 *
 * File: <data_dir>/recordings/index.journal =
 *
 *   "HORUSIJ1"                         8-byte header
 *   records, each:
 *     u32 magic   REC_JOURNAL_MAGIC    (little endian, as every integer)
 *     u32 length  of the payload
 *     u32 crc32   of the payload (IEEE 802.3, as zlib)
 *     payload:
 *       u8  type = 1 (a segment's row)
 *       u64 seq
 *       i64 start_us, end_us; u64 bytes; i64 width, height, pinned_until_us
 *       str camera_id, stream, path, codec, sha256   (u16 length, bytes, NUL)
 *       u32 fragments length, fragments
 *
 * A torn tail (a record cut by a crash) and a record whose crc does not
 * match are skipped: the parser looks for the next magic that starts a
 * whole, matching record. Unknown record types are skipped likewise, so a
 * later version may add some.
 */
#ifndef HORUS_RECORD_JOURNAL_INT_H
#define HORUS_RECORD_JOURNAL_INT_H

#include "metrics.h"
#include "storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REC_JOURNAL_HEADER "HORUSIJ1"
#define REC_JOURNAL_HEADER_SIZE 8
#define REC_JOURNAL_MAGIC 0x4a524849u /* "IHRJ" on disk */
#define REC_JOURNAL_RECORD_ROW 1
#define REC_JOURNAL_MAX_PAYLOAD (16u << 20)

/* One parsed record. Every pointer borrows the parsed buffer (strings are NUL-terminated). */
struct rec_journal_record {
    uint64_t seq;
    size_t offset; /* of the record's magic in the buffer */
    size_t size; /* of the whole record, framing included */
    struct sto_recording_input row;
};

/* Called per valid record, in file order. Return 0 to go on, non-zero to stop (returned). */
typedef int (*rec_journal_record_cb)(void *arg, const struct rec_journal_record *rec);

struct rec_journal_parse_result {
    size_t records; /* valid row records */
    size_t skipped_bytes; /* bytes of damaged or unknown records skipped between valid ones */
    size_t valid_size; /* end of the last valid record (the header size when none) */
};

/*
 * Parses a whole journal file image. Calls cb (may be NULL) for every
 * valid row record. Returns 0, cb's non-zero value, or HORUS_EPARSE when
 * the header is wrong (nothing is called then). Never reads outside buf.
 * Thread: any.
 */
int rec_journal_parse(const uint8_t *buf, size_t len, rec_journal_record_cb cb, void *arg,
                      struct rec_journal_parse_result *res);

/*
 * Encodes row as one record with sequence number seq into a new buffer
 * (*out, free with free()). Returns 0, or -EINVAL when a string is longer
 * than 65535 bytes or the record than REC_JOURNAL_MAX_PAYLOAD. Thread: any.
 */
int rec_journal_encode(const struct sto_recording_input *row, uint64_t seq, uint8_t **out,
                       size_t *size);

/*
 * The journal of one data directory. Refcounted: the recorder holds one
 * reference and every row in flight to the database one more, because the
 * database's callbacks may run after the recorder is freed.
 */
typedef struct rec_journal rec_journal;

/*
 * Opens (creating when absent) the journal at path: reads it, keeps its
 * rows as not yet acknowledged (until rec_journal_replay hands them out),
 * cuts a torn tail and reserves room for appends (fallocate, so that a
 * full disk still takes the next rows). A file whose header is wrong is
 * renamed to path.corrupt and a new one started. Returns 0 with a new
 * reference in *out, or -errno. Thread: any (start-up).
 */
int rec_journal_open(const char *path, metrics_registry *metrics, rec_journal **out);

rec_journal *rec_journal_ref(rec_journal *j);
/* Drops a reference; the last one closes the file. NULL is a no-op. Thread: any. */
void rec_journal_unref(rec_journal *j);

/*
 * Appends row (borrowed) and fdatasyncs the file; *seq names the entry
 * for rec_journal_ack. When nothing is unacknowledged and the file has
 * grown past a threshold it is first cut back to its header. Returns 0,
 * or -errno when the record could not be made durable (the entry then
 * does not exist). Thread: any (appends are serialised).
 */
int rec_journal_append(rec_journal *j, const struct sto_recording_input *row, uint64_t *seq);

/*
 * Acknowledges entry seq: its row is committed in the database. Memory
 * only, no I/O (a crash before the file is compacted replays the entry,
 * which inserts nothing). Thread: any.
 */
void rec_journal_ack(rec_journal *j, uint64_t seq);

/*
 * Calls cb for every entry rec_journal_open found in the file and that is
 * not acknowledged yet, oldest first (the row borrows a buffer valid during
 * the call; rec->seq is the entry to acknowledge). Returns 0 or cb's
 * non-zero value. Thread: any (start-up, before appends).
 */
int rec_journal_replay(rec_journal *j, rec_journal_record_cb cb, void *arg);

/* Entries not acknowledged yet. Thread: any. */
size_t rec_journal_pending(rec_journal *j);

/*
 * Whether path (relative to the data directory) is the path of an entry not
 * acknowledged yet: the row is on its way, so start-up reconciliation must
 * not index the file on its own. Thread: any.
 */
bool rec_journal_has_path(rec_journal *j, const char *path);

#endif
