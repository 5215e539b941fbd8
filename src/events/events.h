/*
 * Events: what the analysis saw, kept. The engine is a det_observer
 * (report.h) that turns each camera's reports into events (lifecycle.h),
 * and one worker thread "evt-w" that writes them (rows and recording pins
 * through storage, snapshots as JPEG files under <data>/snapshots/),
 * publishes each change to the live feed (feed.h) and deletes expired
 * events. Events posted through the API join the same path.
 * docs/design/0040-events.md.
 *
 * Lifecycle (docs/conventions.md §6): evt_engine_new, _start (ends the
 * events a crash left open, starts evt-w), _stop (drains the queue, joins),
 * _free.
 */
#ifndef HORUS_EVENTS_H
#define HORUS_EVENTS_H

#include "cfg.h"
#include "clock.h"
#include "feed.h"
#include "lifecycle.h"
#include "metrics.h"
#include "report.h"
#include "storage.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* `events:` section of horus.yaml (config.c). */
struct evt_config {
    bool enabled; /* the observer opens events (posted events always work) */
    double min_score;
    int64_t min_frames;
    int64_t min_duration_ms;
    bool motion;
    int64_t motion_gap_ms;
    bool snapshots;
    int64_t snapshot_width; /* largest snapshot width, pixels */
    int64_t pre_roll_seconds, post_roll_seconds;
    int64_t retention_days;
    int64_t queue_max;
};

extern const cfg_field evt_config_fields[];

/* The lifecycle's settings from the section. */
void evt_config_life(const struct evt_config *c, struct evt_life_config *out);

typedef struct evt_engine evt_engine;

struct evt_options {
    sto_db *db; /* borrowed; its writer must run while the engine does */
    const char *data_dir; /* copied */
    const struct evt_config *config; /* copied */
    evt_feed *feed; /* borrowed, may be NULL */
    metrics_registry *metrics; /* borrowed, may be NULL */
    const horus_clock *clock; /* borrowed; NULL = system clock */
    /*
     * Each change also appends its outbox message (storage's outbox, in the
     * event's transaction: docs/design/0045) for the buses; false when no
     * bus is configured, so nothing piles up unread. Changes append messages
     * also while sto_outbox_is_wanted says a webhook target reads them.
     */
    bool has_outbox;
};

/* Makes the engine; starts nothing. Returns 0 or -EINVAL. Thread: main. */
int evt_engine_new(const struct evt_options *opt, evt_engine **out);
/* Ends crash-left open events and starts "evt-w". Returns 0 or a negative code. Thread: main. */
int evt_engine_start(evt_engine *e);
/* Writes what is queued, ends open events, joins evt-w. Twice: nothing. Thread: main. */
void evt_engine_stop(evt_engine *e);
/* Stops, frees. NULL: nothing. Thread: main. */
void evt_engine_free(evt_engine *e);

/* Applies a reloaded section (filters, retention; not queue_max). Thread: main. */
void evt_engine_configure(evt_engine *e, const struct evt_config *c);

/* The observer to connect to the analysis (borrowed for e's life). */
struct det_observer *evt_engine_observer(evt_engine *e);

/* camera_id's tripwire counters since the daemon started (counters.h; new reference). Thread: any.
 */
json_t *evt_engine_counters(evt_engine *e, const char *camera_id);

/* An event from outside (the API). Strings borrowed for the call. */
struct evt_post {
    const char *camera_id; /* an existing camera (the caller checks) */
    const char *label; /* 1..63 characters */
    const char *sub_label; /* NULL: none */
    double score; /* 0..1 */
    int64_t start_us, end_us; /* end > start */
    struct det_box box; /* used when has_box */
    bool has_box;
    const char *const *zones; /* NULL: none */
    size_t nzones;
};

/*
 * Writes p as a new ended event of source "api" (row, pins, feed), on the
 * caller's thread, and reads it back into *out (release with
 * sto_event_release). Returns 0, -EINVAL (why names the field) or a
 * storage error. Thread: any but evt-w and the storage writer.
 */
int evt_engine_post(evt_engine *e, const struct evt_post *p, struct sto_event *out, char *why,
                    size_t cap);

/* Deletes event id: its row, pins and snapshots. 0 or -ENOENT. Thread: as evt_engine_post. */
int evt_engine_delete(evt_engine *e, const char *id);

/* Deletes expired events now (the worker does it hourly). *n: how many. Thread: as above. */
int evt_engine_retention_run(evt_engine *e, size_t *n);

/* The snapshot file of an event: <data>/snapshots/<camera>/<id>.jpg or <id>_clean.jpg. */
void evt_snapshot_path(const char *data_dir, const char *camera_id, const char *id, bool is_clean,
                       char *out, size_t size);

/*
 * The event's public JSON object (new reference): id, camera, label,
 * sub_label, score, top_score, start, end (null while open), zones, box,
 * details, has_snapshot, source, created_at, snapshot_url, clip
 * (playback_url and the export request for [start - pre, end + post]).
 * pre/post: the roll in seconds.
 */
json_t *evt_event_json(const struct sto_event *ev, int64_t pre_s, int64_t post_s);

/* The roll of e's configuration (seconds). */
void evt_engine_roll(evt_engine *e, int64_t *pre_s, int64_t *post_s);

/*
 * ---- Detections posted by external workers (docs/design/0051) ----
 *
 * Committed detections reach the engine as tracks through its inbox: the
 * API copies a committed batch into chunks, in time order, and pushes them
 * (evt_inbox_push never blocks: a full inbox drops its oldest chunk and
 * counts horus_detections_dropped_total{reason="queue"}). The engine's
 * thread "evt-x" turns each camera's detections into det_reports (a
 * worker's track id is the track; detections without one go through the
 * tracker, track.h) with the zones and tripwires of the camera's analytics
 * document, into events of source "external".
 */

#define EVT_DETS_CHUNK 256 /* detections in one chunk at most */

/* One detection; fixed-size strings (the API's limits) so a chunk is one allocation. */
struct evt_detection {
    char camera_id[72];
    char label[64];
    char track_id[72]; /* "": none (the tracker decides) */
    int64_t time_us;
    float score;
    float x0, y0, x1, y1; /* normalised box */
};

struct evt_dets {
    size_t n; /* <= EVT_DETS_CHUNK */
    struct evt_detection items[];
};

/* A chunk for n (1..EVT_DETS_CHUNK) detections, zeroed, n set. Aborts on OOM. */
struct evt_dets *evt_dets_new(size_t n);
/* NULL does nothing. */
void evt_dets_free(struct evt_dets *d);

/* The engine's inbox, refcounted: a writer's callback may outlive the engine. */
typedef struct evt_inbox evt_inbox;

/* A new reference to e's inbox. Thread: any. */
evt_inbox *evt_engine_inbox(evt_engine *e);
/* NULL does nothing. Thread: any. */
void evt_inbox_unref(evt_inbox *in);
/* Whether the engine takes detections now (running, events.enabled). Thread: any. */
bool evt_inbox_is_open(const evt_inbox *in);
/*
 * Queues d (taken: freed here when refused) for evt-x. Never blocks; a full
 * inbox drops its oldest chunk, counted. Thread: any (the storage writer's
 * done callbacks).
 */
void evt_inbox_push(evt_inbox *in, struct evt_dets *d);

#endif
