/*
 * What the analysis of one frame hands on: the contract between the
 * per-camera analysis pipeline (sampler, motion, detector, tracker, zones;
 * src/detect) and its observers (events, counters, the SSE feed;
 * src/events), connected by the supervisor.
 *
 * Everything in a det_report is borrowed for the duration of the observer
 * call, except the image, which an observer may keep with det_image_ref.
 * Reports of one camera arrive in frame order on one thread at a time;
 * different cameras' reports may arrive in parallel on different threads.
 * An observer must not block (no disk or database I/O on the caller's
 * thread: hand work to a queue), because the analysis of the next frame
 * waits for it.
 */
#ifndef HORUS_DETECT_REPORT_H
#define HORUS_DETECT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect.h"

/* A decoded picture, packed RGB24, refcounted and immutable once made. */
struct det_image {
    const uint8_t *rgb; /* width*3 bytes per row, stride_bytes apart */
    int width, height;
    int stride_bytes;
    int64_t utc_us; /* capture time of the frame (camera timeline mapped to UTC) */
};

/* Makes an image of width x height with uninitialised pixels (*pixels: where to
 * write them, stride in *stride_bytes). Refcount 1. Aborts on OOM. */
struct det_image *det_image_new(int width, int height, int64_t utc_us, uint8_t **pixels,
                                int *stride_bytes);
struct det_image *det_image_ref(struct det_image *img);
/* NULL does nothing. */
void det_image_unref(struct det_image *img);
/* The image as a det_frame (borrowed while img is referenced). */
struct det_frame det_image_frame(const struct det_image *img);

enum det_track_state {
    DET_TRACK_NEW, /* first report of this track (confirmed by the tracker) */
    DET_TRACK_ACTIVE, /* matched a detection in this frame */
    DET_TRACK_LOST, /* not matched this frame; box is the prediction */
    DET_TRACK_REMOVED, /* last report: lost for too long, or the camera stopped */
};

/* One tracked object in this frame. */
struct det_track {
    uint64_t id; /* unique per camera for the daemon's life, never 0 */
    int label; /* the detector's label index */
    const char *label_name; /* "person" */
    float score; /* the matched detection's score, 0 when not matched */
    struct det_box box; /* normalised frame coordinates */
    enum det_track_state state;
    bool is_stationary; /* has not moved for analysis.stationary_seconds */
    uint32_t zones; /* bit i: the box's reference point is inside zone i */
    int64_t first_seen_us; /* UTC of the frame the track was first reported in */
    bool is_best; /* this frame is the track's best view so far (score and size) */
};

/* A track crossed tripwire `tripwire` in this frame. */
struct det_crossing {
    int tripwire; /* index into det_report.tripwire_names */
    uint64_t track_id;
    int label;
    int direction; /* +1: from side A to side B, -1: from B to A */
};

/* A track has stayed in zone `zone` longer than the zone's loitering time
 * (reported once per track and zone). */
struct det_loiter {
    int zone;
    uint64_t track_id;
    int64_t since_us; /* UTC when it entered the zone */
};

struct det_report {
    const char *camera_id;
    const char *stream; /* "sub" or "main": the stream analysed */
    struct det_image *image; /* the analysed frame; ref it to keep it */
    int64_t analysed_us; /* UTC when the analysis of this frame finished */

    const struct det_box *detections; /* the detector's boxes this frame, after filters */
    size_t detection_count;

    const struct det_box *motion; /* motion regions (label -1, score: fraction changed) */
    size_t motion_count;
    bool motion_suppressed; /* a sudden global change (lights, IR) was ignored */

    const struct det_track *tracks;
    size_t track_count;
    const struct det_crossing *crossings;
    size_t crossing_count;
    const struct det_loiter *loiters;
    size_t loiter_count;

    /* The camera's analytics names, index = bit or index above. */
    const char *const *zone_names;
    size_t zone_count;
    const char *const *tripwire_names;
    size_t tripwire_count;
};

/* Observers receive reports (see the thread rules at the top). */
struct det_observer;
struct det_observer_ops {
    void (*report_cb)(struct det_observer *o, const struct det_report *r);
    /* The camera's analysis stopped: every open track of it is over. */
    void (*camera_stopped_cb)(struct det_observer *o, const char *camera_id);
};
struct det_observer {
    const struct det_observer_ops *ops;
};

#endif
