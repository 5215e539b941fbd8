/*
 * DESIGN: zones, tripwires and object filters (zones.h, design 0039).
 *
 * Geometry is done in double on normalised coordinates with a small
 * epsilon, so a point on an edge is inside and segments that touch
 * intersect. The stage keeps, per track, what the next frame needs: for
 * each tripwire the side the reference point was last seen on outside the
 * hysteresis band and where (the anchor), and for each zone its loitering
 * timer. A crossing needs both a change of side and a path (anchor to
 * now) through the tripwire SEGMENT: walking around the end of a short
 * line changes side without counting, and jitter inside the band never
 * changes side at all. Track states live in a small array searched
 * linearly (a camera has tens of tracks, not thousands).
 */
#include "zones.h"

#include "mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-9
#define EDGE_EPS 1e-6

struct det_point det_box_reference(const struct det_box *b)
{
    return (struct det_point){(b->x0 + b->x1) * 0.5f, b->y1};
}

static double orient(struct det_point a, struct det_point b, struct det_point c)
{
    return ((double)b.x - a.x) * ((double)c.y - a.y) - ((double)b.y - a.y) * ((double)c.x - a.x);
}

/* Whether r, collinear with p-q, lies within their bounding box. */
static bool within(struct det_point p, struct det_point q, struct det_point r)
{
    return r.x <= fmax(p.x, q.x) + EDGE_EPS && r.x >= fmin(p.x, q.x) - EDGE_EPS &&
           r.y <= fmax(p.y, q.y) + EDGE_EPS && r.y >= fmin(p.y, q.y) - EDGE_EPS;
}

static int sign(double v)
{
    return v > EPS ? 1 : v < -EPS ? -1 : 0;
}

bool det_segments_intersect(struct det_point a0, struct det_point a1, struct det_point b0,
                            struct det_point b1)
{
    int d1 = sign(orient(b0, b1, a0)), d2 = sign(orient(b0, b1, a1));
    int d3 = sign(orient(a0, a1, b0)), d4 = sign(orient(a0, a1, b1));
    if (d1 * d2 < 0 && d3 * d4 < 0)
        return true;
    return (d1 == 0 && within(b0, b1, a0)) || (d2 == 0 && within(b0, b1, a1)) ||
           (d3 == 0 && within(a0, a1, b0)) || (d4 == 0 && within(a0, a1, b1));
}

/* Distance from p to segment a-b. */
static double seg_distance(struct det_point a, struct det_point b, struct det_point p)
{
    double dx = (double)b.x - a.x, dy = (double)b.y - a.y;
    double len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? (((double)p.x - a.x) * dx + ((double)p.y - a.y) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double ex = a.x + t * dx - p.x, ey = a.y + t * dy - p.y;
    return sqrt(ex * ex + ey * ey);
}

bool det_polygon_contains(const struct det_polygon *poly, struct det_point p)
{
    size_t n = poly->count;
    bool is_inside = false;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        struct det_point a = poly->points[i], b = poly->points[j];
        if (seg_distance(a, b, p) <= EDGE_EPS)
            return true;
        if ((a.y > p.y) != (b.y > p.y)) {
            double x = a.x + ((double)p.y - a.y) * ((double)b.x - a.x) / ((double)b.y - a.y);
            if ((double)p.x < x)
                is_inside = !is_inside;
        }
    }
    return is_inside;
}

double det_polygon_area2(const struct det_polygon *poly)
{
    double s = 0;
    for (size_t i = 0, j = poly->count - 1; i < poly->count; j = i++)
        s += (double)poly->points[j].x * poly->points[i].y -
             (double)poly->points[i].x * poly->points[j].y;
    return s;
}

static bool same_point(struct det_point a, struct det_point b)
{
    return fabs((double)a.x - b.x) <= EDGE_EPS && fabs((double)a.y - b.y) <= EDGE_EPS;
}

enum det_polygon_fault det_polygon_check(const struct det_polygon *poly)
{
    size_t n = poly->count;
    const struct det_point *p = poly->points;
    for (size_t i = 0; i < n; i++)
        if (same_point(p[i], p[(i + 1) % n]))
            return DET_POLYGON_REPEATED_POINT;
    /* All points on one line: a polygon of no area, whatever the order. */
    bool is_line = true;
    for (size_t i = 2; i < n && is_line; i++)
        is_line = fabs(orient(p[0], p[1], p[i])) <= EPS;
    if (is_line)
        return DET_POLYGON_ZERO_AREA;
    for (size_t i = 0; i < n; i++) {
        struct det_point a0 = p[i], a1 = p[(i + 1) % n];
        for (size_t j = i + 1; j < n; j++) {
            struct det_point b0 = p[j], b1 = p[(j + 1) % n];
            if (j == i + 1) { /* b0 == a1: only a fold back along a-b is a fault */
                if (fabs(orient(a0, a1, b1)) <= EPS && within(a0, a1, b1))
                    return DET_POLYGON_SELF_INTERSECTING;
                if (fabs(orient(b0, b1, a0)) <= EPS && within(b0, b1, a0))
                    return DET_POLYGON_SELF_INTERSECTING;
            } else if (i == 0 && j == n - 1) { /* b1 == a0 */
                if (fabs(orient(a0, a1, b0)) <= EPS && within(a0, a1, b0))
                    return DET_POLYGON_SELF_INTERSECTING;
                if (fabs(orient(b0, b1, a1)) <= EPS && within(b0, b1, a1))
                    return DET_POLYGON_SELF_INTERSECTING;
            } else if (det_segments_intersect(a0, a1, b0, b1)) {
                return DET_POLYGON_SELF_INTERSECTING;
            }
        }
    }
    if (fabs(det_polygon_area2(poly)) <= EPS)
        return DET_POLYGON_ZERO_AREA;
    return DET_POLYGON_OK;
}

float det_line_side(struct det_point p0, struct det_point p1, struct det_point p)
{
    double len = hypot((double)p1.x - p0.x, (double)p1.y - p0.y);
    return len > 0 ? (float)(orient(p0, p1, p) / len) : 0.0f;
}

/* ---- the stage ---- */

struct track_state {
    uint64_t id;
    int64_t last_us; /* the last frame it was reported in */
    int8_t side[DET_ANALYTICS_TRIPWIRES_MAX]; /* -1 A, +1 B, 0 not yet seen off the band */
    struct det_point anchor[DET_ANALYTICS_TRIPWIRES_MAX]; /* last point off the band */
    int64_t entered_us[DET_ANALYTICS_ZONES_MAX]; /* valid where timing has the bit */
    int64_t left_us[DET_ANALYTICS_ZONES_MAX]; /* valid where leaving has the bit */
    uint32_t timing; /* zones whose loitering timer runs */
    uint32_t leaving; /* zones it is outside of, within the grace */
    uint32_t reported; /* zones it has been reported loitering in */
};

struct det_zones {
    const struct det_analytics *a; /* borrowed */
    struct track_state *states; /* owned, [0..n) */
    size_t n, cap;
};

det_zones *det_zones_new(const struct det_analytics *a)
{
    det_zones *z = horus_calloc(1, sizeof(*z));
    z->a = a;
    return z;
}

void det_zones_free(det_zones *z)
{
    if (!z)
        return;
    free(z->states);
    free(z);
}

size_t det_zones_filter(const det_zones *z, const char *const *label_names, int label_count,
                        struct det_box *boxes, size_t n)
{
    const struct det_analytics *a = z->a;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const struct det_box *b = &boxes[i];
        const char *name =
            b->label >= 0 && b->label < label_count && label_names ? label_names[b->label] : NULL;
        if (a->objects.labels.count && (!name || !det_label_list_has(&a->objects.labels, name)))
            continue;
        if (b->score < a->objects.min_score)
            continue;
        float area = (b->x1 - b->x0) * (b->y1 - b->y0);
        if (area < a->objects.min_area || area > a->objects.max_area)
            continue;
        boxes[kept++] = *b;
    }
    return kept;
}

static struct track_state *state_of(det_zones *z, uint64_t id)
{
    for (size_t i = 0; i < z->n; i++)
        if (z->states[i].id == id)
            return &z->states[i];
    if (z->n == z->cap) {
        z->cap = z->cap ? z->cap * 2 : 16;
        z->states = horus_realloc(z->states, z->cap * sizeof(*z->states));
    }
    struct track_state *s = &z->states[z->n++];
    memset(s, 0, sizeof(*s));
    s->id = id;
    return s;
}

void det_zones_forget(det_zones *z, uint64_t track_id)
{
    for (size_t i = 0; i < z->n; i++)
        if (z->states[i].id == track_id) {
            z->states[i] = z->states[--z->n];
            return;
        }
}

size_t det_zones_track_count(const det_zones *z)
{
    return z->n;
}

/* The loitering timers of zone k for a track in (is_in) or out of it. */
static void loiter_step(const struct det_zone *zone, int k, struct track_state *s, bool is_in,
                        int64_t utc_us, struct det_loiter *out, size_t cap, size_t *n)
{
    uint32_t bit = 1u << k;
    if (zone->loiter_seconds <= 0)
        return;
    if (is_in) {
        s->leaving &= ~bit;
        if (!(s->timing & bit)) {
            s->timing |= bit;
            s->entered_us[k] = utc_us;
        }
        int64_t limit_us = (int64_t)llround(zone->loiter_seconds * 1e6);
        if (!(s->reported & bit) && utc_us - s->entered_us[k] >= limit_us) {
            s->reported |= bit;
            if (*n < cap)
                out[(*n)++] = (struct det_loiter){k, s->id, s->entered_us[k]};
        }
    } else if (s->timing & bit) {
        if (!(s->leaving & bit)) {
            s->leaving |= bit;
            s->left_us[k] = utc_us;
        } else if (utc_us - s->left_us[k] >= DET_ZONE_LEAVE_GRACE_US) {
            s->timing &= ~bit;
            s->leaving &= ~bit;
        }
    }
}

/* Tripwire w for a track whose reference point is now at p. */
static void tripwire_step(const struct det_tripwire *w, int k, struct track_state *s,
                          const struct det_track *t, struct det_point p, struct det_crossing *out,
                          size_t cap, size_t *n)
{
    float d = det_line_side(w->line[0], w->line[1], p);
    if (fabsf(d) < DET_TRIPWIRE_HYSTERESIS)
        return; /* in the band: keeps its side */
    int8_t now = d < 0 ? -1 : 1;
    if (s->side[k] != 0 && now != s->side[k] &&
        det_segments_intersect(s->anchor[k], p, w->line[0], w->line[1]) && *n < cap)
        out[(*n)++] = (struct det_crossing){k, t->id, t->label, now};
    s->side[k] = now;
    s->anchor[k] = p;
}

void det_zones_apply(det_zones *z, struct det_track *tracks, size_t n, int64_t utc_us,
                     struct det_crossing *crossings, size_t crossings_cap, size_t *n_crossings,
                     struct det_loiter *loiters, size_t loiters_cap, size_t *n_loiters)
{
    const struct det_analytics *a = z->a;
    *n_crossings = 0;
    *n_loiters = 0;
    for (size_t i = 0; i < n; i++) {
        struct det_track *t = &tracks[i];
        struct det_point p = det_box_reference(&t->box);
        struct track_state *s = state_of(z, t->id);
        s->last_us = utc_us;
        bool is_measured = t->state != DET_TRACK_LOST;
        uint32_t bits = 0;
        for (size_t k = 0; k < a->zone_count; k++) {
            const struct det_zone *zone = &a->zones[k];
            bool is_in = det_label_list_has(&zone->labels, t->label_name) &&
                         det_polygon_contains(&zone->polygon, p);
            if (is_in)
                bits |= 1u << k;
            if (is_measured)
                loiter_step(zone, (int)k, s, is_in, utc_us, loiters, loiters_cap, n_loiters);
        }
        t->zones = bits;
        for (size_t k = 0; is_measured && k < a->tripwire_count; k++)
            if (det_label_list_has(&a->tripwires[k].labels, t->label_name))
                tripwire_step(&a->tripwires[k], (int)k, s, t, p, crossings, crossings_cap,
                              n_crossings);
        if (t->state == DET_TRACK_REMOVED)
            det_zones_forget(z, t->id);
    }
    /* Tracks the tracker never closed. */
    for (size_t i = 0; i < z->n;)
        if (utc_us - z->states[i].last_us >= DET_ZONES_FORGET_US)
            z->states[i] = z->states[--z->n];
        else
            i++;
}
