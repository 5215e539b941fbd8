/*
 * Zones, tripwires and object filters: the geometry stage of a camera's
 * analysis (docs/design/0039-zones-tripwires.md). Pure: no threads, no I/O,
 * no clocks (time comes in as arguments), so tests drive it exactly.
 *
 * The reference point of a box is its bottom centre, where feet and wheels
 * touch the ground: a person is "in" a zone drawn on the floor when their
 * feet are, whatever their head overlaps.
 *
 * Thread: one det_zones is used by one thread at a time (the camera's
 * analysis); the geometry helpers are thread-safe.
 */
#ifndef HORUS_DETECT_ZONES_H
#define HORUS_DETECT_ZONES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analytics_cfg.h"
#include "detect.h"
#include "geom.h"
#include "report.h"

/* ---- geometry ---- */

/* The bottom centre of box b. */
struct det_point det_box_reference(const struct det_box *b);

/*
 * Whether p lies inside polygon poly (even-odd rule, so concave polygons
 * work). Points on an edge (within 1e-6) count as inside.
 */
bool det_polygon_contains(const struct det_polygon *poly, struct det_point p);

/* Whether segments a0-a1 and b0-b1 share a point (touching counts). */
bool det_segments_intersect(struct det_point a0, struct det_point a1, struct det_point b0,
                            struct det_point b1);

/* Twice the signed area of poly (shoelace; positive = clockwise on screen). */
double det_polygon_area2(const struct det_polygon *poly);

enum det_polygon_fault {
    DET_POLYGON_OK,
    DET_POLYGON_REPEATED_POINT, /* two consecutive points (or last and first) equal */
    DET_POLYGON_SELF_INTERSECTING, /* two edges cross or touch beyond a shared corner */
    DET_POLYGON_ZERO_AREA,
};
/* Checks a polygon of 3 or more points. */
enum det_polygon_fault det_polygon_check(const struct det_polygon *poly);

/*
 * Which side of the directed line p0 -> p1 p lies on, as a signed distance
 * in normalised units: negative = side A (on the left as seen on the
 * screen, image y pointing down), positive = side B.
 */
float det_line_side(struct det_point p0, struct det_point p1, struct det_point p);

/* ---- the stage ---- */

/* Half-width of the band around a tripwire in which a point keeps its
 * previous side (normalised units), so jitter on the line counts nothing. */
#define DET_TRIPWIRE_HYSTERESIS 0.01f
/* A track outside a zone for less than this keeps its loitering timer. */
#define DET_ZONE_LEAVE_GRACE_US 1000000
/* A track not seen for this long is forgotten (the tracker should say REMOVED). */
#define DET_ZONES_FORGET_US (120 * 1000000LL)

typedef struct det_zones det_zones;

/*
 * A stage for the zones and tripwires of a (borrowed until det_zones_free;
 * the caller keeps it alive). Aborts on OOM only, so it cannot fail.
 */
det_zones *det_zones_new(const struct det_analytics *a);
/* NULL does nothing. */
void det_zones_free(det_zones *z);

/*
 * Object filters (objects.labels, min_score, min_area, max_area): keeps the
 * boxes[0..n) that pass, in order, at the front, and returns their number.
 * label_names[0..label_count) are the detector's labels (det_box.label
 * indexes them); a label out of range is dropped when a label list is set.
 */
size_t det_zones_filter(const det_zones *z, const char *const *label_names, int label_count,
                        struct det_box *boxes, size_t n);

/*
 * Applies the zones and tripwires to the tracks of one frame taken at
 * utc_us (non-decreasing between calls): sets tracks[i].zones (bit k: the
 * reference point is inside zone k and the label is one of the zone's),
 * writes at most crossings_cap tripwire crossings and loiters_cap
 * loitering reports, and their numbers to *n_crossings and *n_loiters
 * (reports beyond the caps are dropped). A crossing counts when the
 * reference point leaves the hysteresis band on the other side of the line
 * from where it last was and its path since then crosses the tripwire
 * segment; LOST tracks (predicted boxes) neither cross nor start loitering.
 * REMOVED tracks are reported for their zones and then forgotten.
 */
void det_zones_apply(det_zones *z, struct det_track *tracks, size_t n, int64_t utc_us,
                     struct det_crossing *crossings, size_t crossings_cap, size_t *n_crossings,
                     struct det_loiter *loiters, size_t loiters_cap, size_t *n_loiters);

/* Forgets everything about track id (no-op when unknown). */
void det_zones_forget(det_zones *z, uint64_t track_id);

/* How many tracks the stage remembers (for tests and metrics). */
size_t det_zones_track_count(const det_zones *z);

#endif
