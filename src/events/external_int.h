/*
 * Private to src/events: one camera's posted detections turned into
 * det_reports (external_cam.c), as pure logic, so unit tests drive it with
 * exact times. docs/design/0051-external-detections-events.md.
 *
 * Detections come in one at a time, in the order the camera's batches were
 * committed. Those of one time make one frame, reported when a later time
 * comes (or evt_ext_cam_sync). A detection with a worker's track id
 * continues that track: the id maps to a det track id of this camera, NEW
 * on first sight, ACTIVE at each detection, REMOVED once no detection
 * came for lost_us of detection time. One without goes through the
 * tracker (track.h), as the analysis' boxes do. Both kinds share the
 * camera's zones stage (zones.h: the analytics document's object filters,
 * zones, tripwires and loitering) and its reports.
 *
 * Time order: a detection older than the newest one fed by more than
 * EVT_EXT_LATE_US is not fed (counted out_of_order); a less late one joins
 * the current frame, so frame times never go back.
 *
 * No threads, no I/O, no clock. Thread: one camera's state on one thread
 * at a time.
 */
#ifndef HORUS_EVENTS_EXTERNAL_INT_H
#define HORUS_EVENTS_EXTERNAL_INT_H

#include "analytics_cfg.h"
#include "events.h"
#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVT_EXT_LATE_US (5 * 1000000LL) /* older than the newest fed by more: not fed */
#define EVT_EXT_LABELS_MAX 64 /* distinct labels per camera */
#define EVT_EXT_MAPPED_MAX 1024 /* worker track ids followed at once per camera */
#define EVT_EXT_FRAME_MAX 256 /* detections of each kind in one frame */
#define EVT_EXT_MAPPED_FIRST_ID (UINT64_C(1) << 62) /* mapped ids; the tracker's are below */

typedef struct evt_ext_cam evt_ext_cam;

/* What the feed did with detections; added to by each call. */
struct evt_ext_counts {
    uint64_t fed; /* went into a frame */
    uint64_t filtered; /* refused by the document's object filters */
    uint64_t out_of_order; /* older than the newest fed by more than EVT_EXT_LATE_US */
    uint64_t limit; /* a table was full: labels, followed ids, a frame's detections */
};

/* Receives each report (borrowed for the call). */
typedef void (*evt_ext_report_fn)(void *arg, const struct det_report *r);

/*
 * A camera's state. doc is taken (NULL = the defaults); lost_us > 0 is
 * how long a track lives without a detection. Returns 0, or -EINVAL with
 * *errmsg (new) naming the bad setting.
 */
int evt_ext_cam_new(const char *camera_id, struct det_analytics *doc, int64_t lost_us,
                    evt_ext_cam **out, char **errmsg);
/* NULL does nothing. */
void evt_ext_cam_free(evt_ext_cam *c);

/*
 * Replaces the analytics document (taken; NULL = defaults): every track
 * ends first (REMOVED, reported through fn), then the stages are remade;
 * ids keep counting. Returns 0 or -EINVAL as evt_ext_cam_new (the old
 * document then stays, its tracks ended).
 */
int evt_ext_cam_set_doc(evt_ext_cam *c, struct det_analytics *doc, evt_ext_report_fn fn, void *arg,
                        char **errmsg);

/* Feeds one detection of this camera; a frame before it may be reported through fn. */
void evt_ext_cam_add(evt_ext_cam *c, const struct evt_detection *d, evt_ext_report_fn fn, void *arg,
                     struct evt_ext_counts *counts);

/* Reports the frame being gathered, if any. */
void evt_ext_cam_sync(evt_ext_cam *c, evt_ext_report_fn fn, void *arg);

/*
 * Time passed to t_us without detections: reports the gathered frame, then
 * an empty frame at t_us (tracks lost longer than lost_us end) when t_us
 * is later than the last frame and a track is alive.
 */
void evt_ext_cam_advance(evt_ext_cam *c, int64_t t_us, evt_ext_report_fn fn, void *arg);

/* Ends every track (REMOVED) at the last frame's time; ids keep counting. */
void evt_ext_cam_flush(evt_ext_cam *c, evt_ext_report_fn fn, void *arg);

/* The newest detection time fed (0 before any). */
int64_t evt_ext_cam_newest_us(const evt_ext_cam *c);

/* Whether a track (tracked or mapped) or a gathered frame is alive. */
bool evt_ext_cam_is_busy(const evt_ext_cam *c);

/* Worker ids followed now (tests). */
size_t evt_ext_cam_mapped_count(const evt_ext_cam *c);

#endif
