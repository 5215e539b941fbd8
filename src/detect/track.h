/*
 * Multi-object tracking in the ByteTrack style: a camera's detections,
 * frame after frame, in; tracks with stable ids out (struct det_track,
 * report.h). Kalman prediction, two-stage association (sure detections
 * first, then weak ones to continue tracks that are already there) by IoU
 * with an optimal assignment, time-based loss, stationary objects and the
 * best view of each track. See docs/design/0038-tracker.md.
 *
 * Pure logic: no threads, no I/O, no clocks; time comes in with each frame.
 * Thread rules: one tracker per camera, used by one thread at a time.
 */
#ifndef HORUS_DETECT_TRACK_H
#define HORUS_DETECT_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "report.h"

typedef struct det_tracker det_tracker;

/* Options; zero fields take the default named in their comment. */
struct det_tracker_options {
    /* Detections at or above high_score (0 = 0.5) are associated first and
       may start tracks; those in [low_score, high_score) (0 = 0.1) only
       continue tracks that are being tracked; weaker ones are ignored. */
    float high_score;
    float low_score;
    /* A new track is reported after confirm_hits (0 = 2) matches in a row,
       or at once when its first detection scores confirm_score (0 = 0.8) or
       more. Unconfirmed candidates are never reported. */
    int confirm_hits;
    float confirm_score;
    /* Least IoU of a detection with a track's predicted box for a match:
       sure detections match_iou (0 = 0.2), weak ones low_match_iou (0 = 0.5). */
    float match_iou;
    float low_match_iou;
    /* A track not matched for more than lost_seconds (0 = 2) is removed. */
    double lost_seconds;
    /* A track whose (filtered) box centre stays within stationary_fraction
       (0 = 0.2) of its box width and height of where it settled for
       stationary_seconds (0 = 10) is stationary until it moves again. */
    double stationary_seconds;
    float stationary_fraction;
    /* A matched frame is the track's best view when score x area (halved when
       the box touches the frame's edge: the object is likely cut) beats the
       best so far by more than best_gain (0 = 0.15, i.e. 15%). */
    float best_gain;
    /* Tracks held at once, candidates included (0 = 64, at most 4096); new
       objects are ignored while it is full. */
    size_t max_tracks;
    /* Ids start here (0 = 1); a restarted tracker of the same camera passes
       the previous one's det_tracker_next_id so ids stay unique. */
    uint64_t first_id;
    /* Label names for det_track.label_name, borrowed for the tracker's
       life; NULL, or a label outside [0, label_count), names it "?". */
    const char *const *label_names;
    int label_count;
};

/* Makes a tracker (options copied; NULL = defaults). Returns 0, or -EINVAL
   with *errmsg (new) naming the bad field ("lost_seconds: must be ..."). */
int det_tracker_new(const struct det_tracker_options *opt, det_tracker **out, char **errmsg);

/* NULL does nothing. */
void det_tracker_free(det_tracker *t);

/* The cap det_tracker_update and det_tracker_flush need: 2 x max_tracks
   (every track held may end in the frame that fills the table again). */
size_t det_tracker_report_max(const det_tracker *t);

/* The id the next confirmed track will get. */
uint64_t det_tracker_next_id(const det_tracker *t);

/*
 * Feeds one analysed frame: dets[0..n) are its detections (normalised boxes;
 * non-finite or empty ones are ignored, the rest clamped to [0,1]; at most
 * DET_TRACKER_DETECTIONS_MAX are considered, the first ones, so pass them
 * best first as detectors do), captured at utc_us. Time that goes backwards
 * counts as none passing. Writes the tracks to report in this frame to
 * out[0..*n_out): first those REMOVED (lost too long), then every confirmed
 * track as NEW, ACTIVE or LOST, oldest first. label_name is borrowed from
 * the options; zones is 0 (the zones engine fills it).
 * Returns 0, or -ENOSPC (nothing changed, *n_out = 0) when cap is under
 * det_tracker_report_max.
 */
#define DET_TRACKER_DETECTIONS_MAX 256
int det_tracker_update(det_tracker *t, const struct det_box *dets, size_t n, int64_t utc_us,
                       struct det_track *out, size_t cap, size_t *n_out);

/*
 * The camera stopped: reports every confirmed track as REMOVED (last box,
 * score 0) and forgets them all, candidates included; the tracker can be
 * fed again afterwards and keeps numbering. Returns 0 or -ENOSPC as
 * det_tracker_update.
 */
int det_tracker_flush(det_tracker *t, struct det_track *out, size_t cap, size_t *n_out);

#endif
