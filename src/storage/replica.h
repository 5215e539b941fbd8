/*
 * The read replica (database.read_url; docs/design/0072), private to
 * src/storage. Browsing reads (sto_read_replica: playback playlists, the
 * timeline, event, detection and audit searches, storage usage) go to a hot
 * standby while it is reachable and no further behind its primary than
 * database.read_max_lag; otherwise, and whenever a read fails there before
 * giving a row, they go to the primary's readers. Nothing that decides
 * (leases, the recorder, retention, exports) reads from here.
 */
#ifndef HORUS_STORAGE_REPLICA_H
#define HORUS_STORAGE_REPLICA_H

#include "metrics.h"
#include "storage.h"
#include "storage_backend.h"
#include "storage_int.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sto_replica sto_replica;

struct sto_replica_options {
    const struct sto_backend *be; /* must have replica_lag */
    const char *target; /* the backend's target for read_url (copied) */
    size_t nconns; /* connections at most, opened on first use */
    int64_t busy_timeout_ms;
    int64_t answer_timeout_ms; /* database.answer_timeout */
    int64_t max_lag_ms;
    int64_t retry_ms; /* after a failed connection, reads stay on the primary this long */
    metrics_registry *metrics; /* borrowed */
    const horus_clock *clock; /* borrowed */
};

/* Opens nothing: an unreachable replica does not stop the daemon. */
sto_replica *sto_replica_new(const struct sto_replica_options *opt);
/* Closes every connection; call when no read is running. NULL is a no-op. */
void sto_replica_free(sto_replica *r);

/* sto_replica_read's answer when the read must go to the primary instead. */
#define STO_REPLICA_SKIPPED 1

/*
 * Runs a read on the replica as sto_read does, or returns STO_REPLICA_SKIPPED
 * without having called row_cb: the replica is down, too far behind, or the
 * read failed there before its first row (the reason is logged when the
 * state changes, not per read). A failure after rows were given is returned.
 * Thread: any.
 */
int sto_replica_read(sto_replica *r, const char *sql, const sto_value *params, size_t nparams,
                     sto_row_cb row_cb, void *arg);

/* Fills *out (storage.h). Never does I/O. Thread: any. */
void sto_replica_state(sto_replica *r, struct sto_replica_health *out);

#endif
