/*
 * One camera's analysis stages after decoding (docs/design/0036): motion
 * (motion.h) decides where the detector looks, the detector runs on the
 * motion crops (motion_crop), the analytics document's object filters
 * (zones.h) keep what the camera cares about, the tracker (track.h) turns
 * boxes into tracks and the zones stage adds zones, loitering and tripwire
 * crossings. Private to analysis.c, which owns one per analysed camera and
 * uses it from one worker at a time.
 */
#ifndef HORUS_DETECT_STAGES_INT_H
#define HORUS_DETECT_STAGES_INT_H

#include "analysis.h"
#include "analytics_cfg.h"
#include "detect.h"
#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct det_stages;

/*
 * Makes the stages for doc (borrowed during the call; NULL = defaults) with
 * the detector's labels (copied) and tracker ids from first_track_id on.
 * min_score is the detector's threshold: the tracker continues tracks with
 * boxes down to it and starts them from the document's objects.min_score.
 * Returns 0 or -EINVAL with *errmsg (new) naming the stage and field.
 */
int det_stages_new(const struct det_analytics *doc, const struct det_detector *d, float min_score,
                   uint64_t first_track_id, struct det_stages **out, char **errmsg);
void det_stages_free(struct det_stages *s);

/*
 * Runs motion on luma and the detector where it matters, writing the
 * filtered detections to boxes[0..*n) (normalised frame coordinates) and
 * the motion regions to motion[0..*nmotion). *ran_detector says whether the
 * detector ran (no motion and nothing tracked: it does not). Returns 0, or
 * the detector's negative code with *errmsg (new).
 */
int det_stages_detect(struct det_stages *s, struct det_detector *d, const struct det_image *img,
                      const struct det_luma *luma, struct det_box *boxes, size_t cap, size_t *n,
                      struct det_box *motion, size_t motion_cap, size_t *nmotion,
                      bool *is_suppressed, bool *ran_detector, char **errmsg);

/*
 * Tracks r's detections at r->image's time and fills r's tracks, crossings,
 * loiters and zone and tripwire names (arrays kept by s until its next call).
 */
void det_stages_track(struct det_stages *s, struct det_report *r);

/* The id the next tracker of this camera starts from. */
uint64_t det_stages_next_track_id(const struct det_stages *s);

#endif
