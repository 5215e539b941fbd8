/*
 * Motion detection on a camera's luma plane, and the crop planner that
 * turns motion into the regions the object detector looks at
 * (docs/design/0037-motion.md).
 *
 * Pure logic: no threads, no I/O, no clocks. Each frame's time comes in as
 * an argument, so tests drive it exactly. One det_motion per camera, used by
 * one thread at a time (the camera's analysis worker); different cameras'
 * objects run in parallel freely.
 */
#ifndef HORUS_DETECT_MOTION_H
#define HORUS_DETECT_MOTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "geom.h"

/*
 * Motion options. A zero field takes its default; the defaults suit a
 * camera's sub stream sampled at 2-10 frames/s.
 */
struct det_motion_options {
    /* Height in pixels of the plane motion is computed on; the width keeps
       the frame's aspect. Frames no taller are used as they are. 0 = 180
       (1..1080). */
    int scale_height;
    /* Smallest luma difference (0..255) from the background that counts as
       change. 0 = 25 (1..254). */
    int threshold;
    /* The threshold rises to noise_factor times the scene's noise (the
       running median of the absolute differences) on noisy cameras.
       0 = 4 (1..50). */
    float noise_factor;
    /* Smallest motion region, as a fraction of the frame's pixels that
       changed inside it. 0 = 0.0005 (0..1). */
    float min_area;
    /* Time constant of the background, seconds: a change that stays is
       background after about this long (a contrast c fades below the
       threshold t after learn_seconds * ln(c / t)). 0 = 20 (0.1..3600). */
    float learn_seconds;
    /* The shortest time constant. A new background (the first frame, or
       after a suppressed global change) is a running mean of all it has
       seen: its time constant is its age, at least fast_learn_seconds and
       at most learn_seconds. 0 = 0.3, or learn_seconds when shorter
       (0.01..60, <= learn_seconds). */
    float fast_learn_seconds;
    /* When more than this fraction of the unmasked pixels change at once
       (lights, IR switch, camera moved), the frame reports no motion and
       is_suppressed, and the background restarts from it. Not when the
       change is the camera's own noise: measured on the frame when no
       noise is known yet or the previous frame was suppressed too.
       0 = 0.5 (0.01..1). */
    float global_fraction;
    /* Radius of the dilation joining the changed pixels of one object, in
       pixels of the scaled plane. 0 = 2 (1..16). */
    int dilate;
};

/* A mask polygon: normalised frame points (borrowed during the call that
   takes them); at least 3 points, any winding, self-intersections follow
   the even-odd rule. Pixels inside any mask never count as motion. */
struct det_motion_mask {
    const struct det_point *points;
    size_t point_count;
};

/* What one frame's analysis found besides its boxes. */
struct det_motion_result {
    size_t box_count; /* boxes written to out */
    size_t region_count; /* regions found, may exceed the cap */
    bool is_suppressed; /* a sudden global change was ignored (no boxes) */
    float changed_fraction; /* of the unmasked pixels, before the minimum area */
    int threshold; /* the threshold used, after the noise floor */
};

struct det_motion;

/*
 * Makes a motion detector with opt (NULL: defaults). Returns 0 with *out
 * (new, free with det_motion_free), or -EINVAL with *errmsg (new) naming
 * the field: "threshold: must be 1..254".
 */
int det_motion_new(const struct det_motion_options *opt, struct det_motion **out, char **errmsg);

/* Frees m; NULL does nothing. */
void det_motion_free(struct det_motion *m);

/*
 * Replaces the masks (copied; n = 0 removes them). They are rasterised at
 * the scaled size once, on the next frame. Returns 0, or -EINVAL with
 * *errmsg (new) naming the mask and point: "masks[1].points[2]: x must be
 * 0..1", "masks[0]: needs at least 3 points".
 */
int det_motion_set_masks(struct det_motion *m, const struct det_motion_mask *masks, size_t n,
                         char **errmsg);

/*
 * Analyses one 8-bit luma plane (width x height, rows stride bytes apart,
 * borrowed during the call) captured at time_us (any monotonic clock;
 * a time that goes back is taken as no time passed). The first frame, and
 * the first after a change of size, only learns the background.
 *
 * Writes at most cap motion regions to out, largest first: normalised
 * frame boxes around the changed pixels, label -1, score the fraction of
 * the box's pixels that changed. Fills *res (may be NULL). Returns 0, or
 * -EINVAL when the plane is NULL, a side is outside 1..16384 or
 * stride < width.
 */
int det_motion_feed(struct det_motion *m, const uint8_t *luma, int width, int height, int stride,
                    int64_t time_us, struct det_box *out, size_t cap,
                    struct det_motion_result *res);

/* A rectangle of the frame in pixels. */
struct det_crop {
    int x, y, width, height;
};

/* Crop planner options; a zero field takes its default. */
struct det_crop_options {
    int max_crops; /* 0 = 4 (1..16) */
    /* Padding around each motion box, as a fraction of its larger side.
       0 = 0.2 */
    float margin;
    /* Two crops whose intersection covers more than this fraction of the
       smaller one become one crop. 0 = 0.3 */
    float merge_fraction;
    /* When the crops together cover more than this fraction of the frame,
       the plan is the whole frame. 0 = 0.6 */
    float full_fraction;
};

/*
 * Plans where the detector looks: for each motion box (normalised, n of
 * them) a crop around it with the model input's aspect, at least
 * input_width x input_height pixels (so small distant objects reach the
 * model at native resolution), clamped to the frame_width x frame_height
 * frame; overlapping crops are merged, and merged further while there are
 * more than max_crops; when they would cover most of the frame, one crop of
 * the whole frame. Writes the crops to out (room for max_crops) and returns
 * their number: 0 when n is 0. opt may be NULL.
 */
size_t det_crop_plan(const struct det_box *motion, size_t n, int frame_width, int frame_height,
                     int input_width, int input_height, const struct det_crop_options *opt,
                     struct det_crop *out);

/*
 * Maps n boxes normalised to crop c back to normalised coordinates of the
 * frame_width x frame_height frame, in place.
 */
void det_crop_to_frame(const struct det_crop *c, int frame_width, int frame_height,
                       struct det_box *boxes, size_t n);

/*
 * Removes the duplicates that overlapping crops make: det_nms with iou, then
 * every box whose area lies mostly (> 70%) inside a better box of the same
 * label (an object cut by a crop's edge). Returns the number kept, moved to
 * the front, best score first.
 */
size_t det_crop_nms(struct det_box *boxes, size_t n, float iou);

#endif
