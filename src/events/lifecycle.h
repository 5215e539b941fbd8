/*
 * The life of events on one camera, as pure logic: det_reports in (time
 * is the frames' time, nothing is read from a clock), changes out (open,
 * update, end) through a callback. No threads, no I/O; the engine
 * (events.h) runs one evt_life per camera and queues the changes to its
 * worker. docs/design/0040-events.md.
 *
 * Object events: a track becomes an event once it passes the filters
 * (best score >= min_score, reported in >= min_frames frames, seen for
 * >= min_duration) while not stationary; the event starts at the track's
 * first_seen_us. Later reports update it (top score; zones entered, as a
 * union; crossings and loiters; the best view, which asks for a snapshot
 * at most every snapshot_interval unless its score beats the last
 * snapshot's by 0.05 or more); REMOVED ends it at the last frame the
 * track was matched in. A track that is stationary before it opens never
 * opens, and a new track that lies where an event of the same label ended
 * stationary (IoU >= 0.5, within stationary_memory) does not open either:
 * a parked car re-acquired by the tracker is not a new event.
 *
 * A track not reported for 60 s of frame time (a tracker restarted
 * without its REMOVED reports) is ended the same way.
 *
 * Motion events (when motion is on): a frame with motion regions (not
 * suppressed) opens a "motion" event, or extends the open one; it ends at
 * its last motion once motion_gap passes without any.
 */
#ifndef HORUS_EVT_LIFECYCLE_H
#define HORUS_EVT_LIFECYCLE_H

#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVT_ID_MAX 32 /* "<17 digits>-<8 hex>" and the NUL */
#define EVT_NAME_MAX 64 /* labels, zone and tripwire names, with the NUL */
#define EVT_ZONES_MAX 16 /* zones recorded on one event */
#define EVT_MARKS_MAX 16 /* crossings and loiters recorded on one event */

struct evt_life_config {
    float min_score; /* 0..1 */
    int min_frames; /* >= 1 */
    int64_t min_duration_us; /* >= 0 */
    bool motion; /* motion-only events */
    int64_t motion_gap_us; /* a motion event ends this long after its last motion */
    int64_t snapshot_interval_us; /* at most one snapshot request per event this often */
    int64_t stationary_memory_us; /* how long a stationary end blocks new events at its place */
};

/* A crossing or a loiter recorded on an event. */
struct evt_mark {
    bool is_loiter; /* else a crossing */
    char name[EVT_NAME_MAX]; /* the tripwire (crossing) or zone (loiter) */
    int direction; /* crossing: +1 A to B, -1 B to A */
    int64_t at_us; /* when it was reported (frame time) */
    int64_t since_us; /* loiter: when the object entered the zone */
};

/* An event as the lifecycle knows it: plain data, copied with each change. */
struct evt_state {
    char id[EVT_ID_MAX];
    char camera_id[EVT_NAME_MAX + 8];
    char label[EVT_NAME_MAX];
    char sub_label[EVT_NAME_MAX];
    const char *source; /* "detector", "motion", "api" or "external" (static strings) */
    float score; /* the best view's score */
    float top_score; /* the highest score seen */
    int64_t start_us;
    int64_t end_us; /* 0 while open */
    int64_t updated_us; /* frame time of the last change */
    struct det_box box; /* the best view's box (motion: the union of the burst) */
    bool has_box;
    bool has_snapshot; /* a snapshot was asked for */
    char zones[EVT_ZONES_MAX][EVT_NAME_MAX];
    size_t nzones;
    struct evt_mark marks[EVT_MARKS_MAX];
    size_t nmarks;
};

enum evt_change_kind { EVT_CHANGE_OPEN, EVT_CHANGE_UPDATE, EVT_CHANGE_END };

struct evt_change {
    enum evt_change_kind kind;
    const struct evt_state *event; /* borrowed for the callback */
    bool wants_snapshot; /* this report's image is the event's best view so far */
};

/* Receives each change; must not keep the pointers. */
typedef void (*evt_change_cb)(void *arg, const struct evt_change *c);

typedef struct evt_life evt_life;

/* A camera's lifecycle. salt varies the ids' random part. Aborts on OOM. */
evt_life *evt_life_new(const struct evt_life_config *c, const char *camera_id, uint32_t salt);
void evt_life_free(evt_life *l);

/*
 * The source object events of l carry from now on (a static string;
 * "detector" unless set): "external" for the lifecycles fed by posted
 * detections (docs/design/0051).
 */
void evt_life_set_source(evt_life *l, const char *source);

/* Replaces the filters (a reload); open events keep going. */
void evt_life_configure(evt_life *l, const struct evt_life_config *c);

/* Runs one report (r->camera_id is l's); changes go to cb in order. */
void evt_life_report(evt_life *l, const struct det_report *r, evt_change_cb cb, void *arg);

/* The camera stopped: ends every open event at its last update. */
void evt_life_stop(evt_life *l, evt_change_cb cb, void *arg);

/* Events open now (tests, metrics). */
size_t evt_life_open_count(const evt_life *l);

/* Writes the id of an event starting at start_us: "<start_us, 17 digits>-<8 hex of r>". */
void evt_id_make(int64_t start_us, uint32_t r, char out[EVT_ID_MAX]);

/* Whether s has the shape evt_id_make writes. */
bool evt_id_is_valid(const char *s);

/*
 * Whether s (NULL is not) is a name an event may carry: 1..max bytes
 * without control characters (labels, sub-labels, zones, camera ids in
 * posted events and in filters).
 */
bool evt_name_is_valid(const char *s, size_t max);

#endif
