/*
 * Private to src/api: the body of POST /api/v1/detections (detection_input.c)
 * parsed apart from any request, so that unit tests and the libFuzzer driver
 * (tests/fuzz/fuzz_api_detections.c) reach it. docs/design/0046.
 */
#ifndef HORUS_API_DETECTIONS_INT_H
#define HORUS_API_DETECTIONS_INT_H

#include "api.h"
#include "events.h"
#include "metrics.h"
#include "storage.h"

#include <stdatomic.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_DET_LABEL_MAX 63 /* characters of a label */
#define API_DET_TRACK_MAX 64 /* bytes of a track id (a string, or an integer's digits) */
#define API_DET_ATTRIBUTES_MAX 2048 /* bytes of attributes, as compact JSON */
#define API_DET_FUTURE_US (5 * 60 * INT64_C(1000000)) /* time at most this far ahead of now */
#define API_DET_PAST_US (30 * 86400 * INT64_C(1000000)) /* ... and at most this far back */
#define API_DET_ERRORS_MAX 5 /* errors named in one reply */

/* A parsed batch: rows whose strings borrow from docs, or from tracks and attrs. */
struct api_det_batch {
    struct sto_detection_input *rows; /* owned, n of them */
    size_t n;
    json_t **docs; /* owned references: the parsed array, or one object per NDJSON line */
    size_t ndocs;
    char (*tracks)[24]; /* owned: integer track ids as text, one slot per row */
    char **attrs; /* owned: each row's attributes as compact JSON, or NULL */
};

/*
 * Parses body[0..len) (a JSON array of detections, or NDJSON: one object
 * per line, blank lines skipped, when is_ndjson) into *out. Every item is
 * checked: camera (1..64 bytes), time (RFC 3339 or Unix ms, within
 * [now_us - API_DET_PAST_US, now_us + API_DET_FUTURE_US]), label, score
 * 0..1, box [x0, y0, x1, y1] in 0..1 with x0 < x1 and y0 < y1, optional
 * track_id (string or integer) and attributes (an object). Returns 0 (at
 * least one item), -EINVAL with why naming the first errors by item index
 * and field ("items[17].box: x1 must be > x0; ..."), or HORUS_ETOOBIG when
 * there are more than max_items items (why names the limit). *out is
 * empty on failure. Pure. Thread: any.
 */
int api_det_batch_parse(const char *body, size_t len, bool is_ndjson, size_t max_items,
                        int64_t now_us, struct api_det_batch *out, char *why, size_t cap);

#define API_DET_IDEM_KEY_MAX 128 /* bytes of an Idempotency-Key */

/*
 * Checks an Idempotency-Key header value: 1..API_DET_IDEM_KEY_MAX bytes of
 * printable ASCII (0x20..0x7e). Returns 0, or -EINVAL with why naming the
 * header and the reason. Pure. Thread: any.
 */
int api_det_idem_key_check(const char *value, char *why, size_t cap);

/* Releases what api_det_batch_parse made; a zeroed batch is fine. */
void api_det_batch_release(struct api_det_batch *b);

/* Why a batch was refused, for horus_detections_rejected_total{reason}. */
enum api_det_reject {
    API_DET_REJECT_INVALID, /* the body or an item failed validation (400) */
    API_DET_REJECT_TOO_LARGE, /* too many items or bytes (413) */
    API_DET_REJECT_CAMERA, /* an unknown camera, or one outside the caller's grant (404) */
    API_DET_REJECT_STORAGE, /* the write queue was full or the commit failed (503, 5xx) */
    API_DET_NREJECT,
};

/*
 * The detections routes' state, refcounted: the api holds one reference
 * and every write in flight another, because the writer thread may finish
 * a write after the api is gone. Fields after creation: atomics only.
 */
struct api_det {
    _Atomic int refs;
    _Atomic int64_t retention_days;
    _Atomic int64_t max_items;
    _Atomic bool feeds_events; /* detections.events */
    _Atomic int64_t idem_window_ms; /* detections.idempotency_window */
    evt_inbox *inbox; /* a reference, or NULL (no events engine): committed batches go there */
    uint64_t max_body_bytes; /* fixed at start (the router's limit) */
    _Atomic int64_t next_prune_ns; /* monotonic: when the retention job runs next */
    _Atomic bool is_pruning; /* a retention batch is queued */
    _Atomic bool is_behind; /* the last batch was full: run again at the next tick */
    metrics_series *m_ingested, *m_batches, *m_pruned; /* borrowed from the registry; may be NULL */
    metrics_series *m_rejected[API_DET_NREJECT];
    metrics_series *m_batch_size, *m_commit;
};

/*
 * A new state from c (NULL: defaults), its series registered on metrics (may be NULL);
 * inbox (may be NULL) is taken: the reference is released with the state.
 */
struct api_det *api_det_new(const struct api_detections_config *c, metrics_registry *metrics,
                            evt_inbox *inbox);

/*
 * The detections of b in time order (stable: equal times keep the batch's
 * order), copied into chunks of at most EVT_DETS_CHUNK for the events
 * engine's inbox; *nchunks of them in a new array. Pure. Thread: any.
 */
struct evt_dets **api_det_chunks(const struct api_det_batch *b, size_t *nchunks);
void api_det_unref(struct api_det *d);

#endif
