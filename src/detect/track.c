/*
 * DESIGN: one camera's multi-object tracker, ByteTrack (Zhang et al. 2022)
 * with time instead of frame counts, because the analysis samples frames
 * at a rate that varies with motion and load.
 *
 * Each update: (1) tracks not matched for more than lost_seconds, or lost
 * with a prediction that has left the frame, end (REMOVED); (2) every track
 * is predicted to the frame's time by its Kalman filter (track_kalman.c);
 * (3) sure detections (>= high_score) are assigned to confirmed tracks,
 * tracked and lost, by IoU with the predicted box, optimally (hungarian.c);
 * (4) weak detections are assigned to the tracked ones still unmatched,
 * with a stricter IoU: this is ByteTrack's point, an occluded or blurred
 * person scoring 0.3 continues its track instead of losing it, yet a weak
 * box alone never starts one; (5) candidates (one sure detection so far)
 * take what is left of the sure detections; (6) sure detections still left
 * become candidates, confirmed at once when very sure, else on their
 * confirm_hits-th hit in a row; an unmatched candidate vanishes unreported.
 * Only same-label pairs ever match.
 *
 * Invariants: a reported id is never 0 and never reused by this tracker;
 * every track reported NEW is later reported REMOVED exactly once (by an
 * update or by flush) and never after; boxes are inside [0,1]; the report
 * never exceeds det_tracker_report_max. Pure: no threads, no I/O, no
 * clocks; the tracker's arrays are allocated once in det_tracker_new (the
 * solver allocates its small work arrays per call). About 17 us per frame
 * with ten people, 0.4 ms at the worst (64 tracks, 256 boxes).
 */
#include "track.h"

#include "hungarian_int.h"
#include "mem.h"
#include "track_kalman_int.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum phase { PH_CANDIDATE, PH_TRACKED, PH_LOST };

struct trk {
    uint64_t id; /* 0 while a candidate */
    int label;
    enum phase phase;
    struct det_kalman kf;
    struct det_box box; /* the matched detection, else the prediction */
    float score; /* of this frame's match, 0 when none */
    int hits; /* matches in a row while a candidate */
    int64_t last_seen_us; /* tracker time of the last match */
    int64_t first_seen_us; /* the frame's UTC when confirmed */
    int det; /* index of this frame's detection, -1 */
    bool is_new; /* confirmed in this frame */
    bool is_best;
    bool is_stationary;
    double anchor_x, anchor_y; /* where it settled, and since when */
    int64_t anchor_us;
    double best_quality;
};

struct det_tracker {
    struct det_tracker_options o; /* defaults resolved */
    int64_t lost_us, stationary_us;
    uint64_t next_id;
    int64_t now_us; /* latest frame time seen */
    bool has_time;
    struct trk *tr; /* owned, max_tracks, oldest first */
    size_t n;
    /* scratch for one update, owned */
    struct det_box *dets;
    size_t ndet;
    bool *det_used;
    float *cost; /* max_tracks x DET_TRACKER_DETECTIONS_MAX */
    int *row_to_col;
    size_t *rows, *cols;
};

#define EDGE 0.005f

static int bad(char **errmsg, const char *msg)
{
    if (errmsg)
        *errmsg = horus_strdup(msg);
    return -EINVAL;
}

static int resolve(struct det_tracker_options *o, char **errmsg)
{
#define DEF(f, v)                                                                                  \
    if (o->f == 0)                                                                                 \
    o->f = (v)
    DEF(high_score, 0.5f);
    DEF(low_score, 0.1f);
    DEF(confirm_hits, 2);
    DEF(confirm_score, 0.8f);
    DEF(match_iou, 0.2f);
    DEF(low_match_iou, 0.5f);
    DEF(lost_seconds, 2.0);
    DEF(stationary_seconds, 10.0);
    DEF(stationary_fraction, 0.2f);
    DEF(best_gain, 0.15f);
    DEF(max_tracks, 64);
    DEF(first_id, 1);
#undef DEF
    if (!(o->high_score > 0 && o->high_score <= 1))
        return bad(errmsg, "high_score: must be in (0, 1]");
    if (!(o->low_score > 0 && o->low_score <= o->high_score))
        return bad(errmsg, "low_score: must be in (0, high_score]");
    if (o->confirm_hits < 1 || o->confirm_hits > 100)
        return bad(errmsg, "confirm_hits: must be 1..100");
    if (!(o->confirm_score > 0 && o->confirm_score <= 1))
        return bad(errmsg, "confirm_score: must be in (0, 1]");
    if (!(o->match_iou > 0 && o->match_iou <= 1))
        return bad(errmsg, "match_iou: must be in (0, 1]");
    if (!(o->low_match_iou > 0 && o->low_match_iou <= 1))
        return bad(errmsg, "low_match_iou: must be in (0, 1]");
    if (!(o->lost_seconds > 0 && o->lost_seconds <= 3600))
        return bad(errmsg, "lost_seconds: must be in (0, 3600]");
    if (!(o->stationary_seconds > 0 && o->stationary_seconds <= 86400))
        return bad(errmsg, "stationary_seconds: must be in (0, 86400]");
    if (!(o->stationary_fraction > 0 && o->stationary_fraction <= 10))
        return bad(errmsg, "stationary_fraction: must be in (0, 10]");
    if (!(o->best_gain > 0 && o->best_gain <= 100))
        return bad(errmsg, "best_gain: must be in (0, 100]");
    if (o->max_tracks > 4096)
        return bad(errmsg, "max_tracks: must be 1..4096");
    if (o->label_count < 0 || (o->label_count > 0 && !o->label_names))
        return bad(errmsg, "label_count: must be 0, or the number of label_names");
    return 0;
}

int det_tracker_new(const struct det_tracker_options *opt, det_tracker **out, char **errmsg)
{
    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    struct det_tracker_options o = opt ? *opt : (struct det_tracker_options){0};
    int rc = resolve(&o, errmsg);
    if (rc)
        return rc;
    det_tracker *t = horus_calloc(1, sizeof(*t));
    t->o = o;
    t->lost_us = (int64_t)(o.lost_seconds * 1e6);
    t->stationary_us = (int64_t)(o.stationary_seconds * 1e6);
    t->next_id = o.first_id;
    t->tr = horus_calloc(o.max_tracks, sizeof(*t->tr));
    t->dets = horus_calloc(DET_TRACKER_DETECTIONS_MAX, sizeof(*t->dets));
    t->det_used = horus_calloc(DET_TRACKER_DETECTIONS_MAX, sizeof(*t->det_used));
    t->cost = horus_calloc(o.max_tracks * DET_TRACKER_DETECTIONS_MAX, sizeof(*t->cost));
    t->row_to_col = horus_calloc(o.max_tracks, sizeof(*t->row_to_col));
    t->rows = horus_calloc(o.max_tracks, sizeof(*t->rows));
    t->cols = horus_calloc(DET_TRACKER_DETECTIONS_MAX, sizeof(*t->cols));
    *out = t;
    return 0;
}

void det_tracker_free(det_tracker *t)
{
    if (!t)
        return;
    free(t->tr);
    free(t->dets);
    free(t->det_used);
    free(t->cost);
    free(t->row_to_col);
    free(t->rows);
    free(t->cols);
    free(t);
}

size_t det_tracker_report_max(const det_tracker *t)
{
    return 2 * t->o.max_tracks;
}

uint64_t det_tracker_next_id(const det_tracker *t)
{
    return t->next_id;
}

static float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* The detection cleaned up, or 0 when it cannot be used. */
static int sanitize(const struct det_box *in, float low, struct det_box *out)
{
    if (!isfinite(in->x0) || !isfinite(in->y0) || !isfinite(in->x1) || !isfinite(in->y1) ||
        !isfinite(in->score) || in->score < low)
        return 0;
    *out = *in;
    out->x0 = clamp01(in->x0);
    out->y0 = clamp01(in->y0);
    out->x1 = clamp01(in->x1);
    out->y1 = clamp01(in->y1);
    out->score = in->score > 1 ? 1 : in->score;
    return out->x1 > out->x0 && out->y1 > out->y0;
}

static void measure(const struct det_box *b, double z[4])
{
    double w = (double)b->x1 - b->x0, h = (double)b->y1 - b->y0;
    z[0] = b->x0 + w / 2;
    z[1] = b->y0 + h / 2;
    z[2] = w / h;
    z[3] = h;
}

/* The filter's box, clamped to the frame (possibly empty at an edge). */
static struct det_box predicted_box(const struct trk *k)
{
    double h = k->kf.x[3] > 0 ? k->kf.x[3] : 0, w = k->kf.x[2] * h;
    if (!(w > 0))
        w = 0;
    struct det_box b = k->box;
    b.x0 = clamp01((float)(k->kf.x[0] - w / 2));
    b.x1 = clamp01((float)(k->kf.x[0] + w / 2));
    b.y0 = clamp01((float)(k->kf.x[1] - h / 2));
    b.y1 = clamp01((float)(k->kf.x[1] + h / 2));
    if (!(b.x1 >= b.x0)) /* also catches NaN */
        b.x0 = b.x1 = clamp01(b.x0 == b.x0 ? b.x0 : 0);
    if (!(b.y1 >= b.y0))
        b.y0 = b.y1 = clamp01(b.y0 == b.y0 ? b.y0 : 0);
    return b;
}

static double quality(const struct det_box *b)
{
    double q = (double)b->score * ((double)b->x1 - b->x0) * ((double)b->y1 - b->y0);
    if (b->x0 <= EDGE || b->y0 <= EDGE || b->x1 >= 1 - EDGE || b->y1 >= 1 - EDGE)
        q *= 0.5;
    return q;
}

static void report(const det_tracker *t, const struct trk *k, enum det_track_state state,
                   struct det_track *out)
{
    *out = (struct det_track){
        .id = k->id,
        .label = k->label,
        .label_name =
            k->label >= 0 && k->label < t->o.label_count ? t->o.label_names[k->label] : "?",
        .score = state == DET_TRACK_NEW || state == DET_TRACK_ACTIVE ? k->score : 0,
        .box = k->box,
        .state = state,
        .is_stationary = k->is_stationary,
        .zones = 0,
        .first_seen_us = k->first_seen_us,
        .is_best = (state == DET_TRACK_NEW || state == DET_TRACK_ACTIVE) && k->is_best,
    };
}

/* Assigns the unmatched tracks rows[0..nr) to the unused detections
   cols[0..nc) of their label with IoU >= min_iou, optimally. */
static void associate(det_tracker *t, size_t nr, size_t nc, float min_iou)
{
    if (!nr || !nc)
        return;
    for (size_t i = 0; i < nr; i++) {
        const struct trk *k = &t->tr[t->rows[i]];
        for (size_t j = 0; j < nc; j++) {
            const struct det_box *d = &t->dets[t->cols[j]];
            t->cost[i * nc + j] = d->label == k->label ? 1 - det_iou(&k->box, d) : INFINITY;
        }
    }
    det_assign(t->cost, nr, nc, 1 - min_iou, t->row_to_col);
    for (size_t i = 0; i < nr; i++) {
        if (t->row_to_col[i] < 0)
            continue;
        size_t d = t->cols[t->row_to_col[i]];
        t->tr[t->rows[i]].det = (int)d;
        t->det_used[d] = true;
    }
}

/* Collects the tracks in phase ph (or confirmed ones, ph < 0) without a match. */
static size_t pick_tracks(det_tracker *t, int ph)
{
    size_t nr = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct trk *k = &t->tr[i];
        if (k->det >= 0)
            continue;
        if (ph < 0 ? k->phase != PH_CANDIDATE : k->phase == (enum phase)ph)
            t->rows[nr++] = i;
    }
    return nr;
}

/* Collects the unused detections, sure ones (is_high) or weak ones. */
static size_t pick_dets(det_tracker *t, bool is_high)
{
    size_t nc = 0;
    for (size_t j = 0; j < t->ndet; j++)
        if (!t->det_used[j] && (t->dets[j].score >= t->o.high_score) == is_high)
            t->cols[nc++] = j;
    return nc;
}

static void confirm(det_tracker *t, struct trk *k, int64_t utc_us)
{
    k->id = t->next_id++;
    if (t->next_id == 0) /* 2^64 ids later: never hand out 0 */
        t->next_id = 1;
    k->phase = PH_TRACKED;
    k->is_new = true;
    k->first_seen_us = utc_us;
    k->is_best = true;
    k->best_quality = quality(&k->box);
    k->anchor_x = k->kf.x[0];
    k->anchor_y = k->kf.x[1];
    k->anchor_us = t->now_us;
    k->is_stationary = false;
}

/* Stationary and best view, on a matched frame of a confirmed track. */
static void observe(det_tracker *t, struct trk *k)
{
    double f = t->o.stationary_fraction;
    double w = (double)k->box.x1 - k->box.x0, h = (double)k->box.y1 - k->box.y0;
    if (fabs(k->kf.x[0] - k->anchor_x) > f * w || fabs(k->kf.x[1] - k->anchor_y) > f * h) {
        k->anchor_x = k->kf.x[0];
        k->anchor_y = k->kf.x[1];
        k->anchor_us = t->now_us;
        k->is_stationary = false;
    } else if (t->now_us - k->anchor_us >= t->stationary_us) {
        k->is_stationary = true;
    }
    double q = quality(&k->box);
    if (q > k->best_quality * (1.0 + t->o.best_gain)) {
        k->best_quality = q;
        k->is_best = true;
    }
}

int det_tracker_update(det_tracker *t, const struct det_box *dets, size_t n, int64_t utc_us,
                       struct det_track *out, size_t cap, size_t *n_out)
{
    *n_out = 0;
    if (cap < det_tracker_report_max(t))
        return -ENOSPC;
    int64_t dt_us = t->has_time && utc_us > t->now_us ? utc_us - t->now_us : 0;
    if (!t->has_time || utc_us > t->now_us)
        t->now_us = utc_us;
    t->has_time = true;
    if (dt_us > t->lost_us)
        dt_us = t->lost_us; /* whatever survives (nothing) needs no longer prediction */
    double steps = (double)dt_us / 1e6 / DET_KALMAN_STEP_S;
    size_t no = 0;

    /* (1) end what was lost too long, (2) predict the rest */
    size_t keep = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct trk *k = &t->tr[i];
        bool expired = t->now_us - k->last_seen_us > t->lost_us;
        if (!expired) {
            det_kalman_predict(&k->kf, steps, k->phase == PH_LOST);
            k->box = predicted_box(k);
            /* a lost track predicted out of the frame walked out: end it now */
            expired = k->phase == PH_LOST && (k->box.x1 <= k->box.x0 || k->box.y1 <= k->box.y0);
        }
        if (expired) {
            if (k->phase != PH_CANDIDATE)
                report(t, k, DET_TRACK_REMOVED, &out[no++]);
            continue;
        }
        k->det = -1;
        k->is_new = k->is_best = false;
        if (keep != i)
            t->tr[keep] = *k;
        keep++;
    }
    t->n = keep;

    t->ndet = 0;
    for (size_t i = 0; i < n && t->ndet < DET_TRACKER_DETECTIONS_MAX; i++)
        if (sanitize(&dets[i], t->o.low_score, &t->dets[t->ndet]))
            t->det_used[t->ndet++] = false;

    /* (3) sure detections to confirmed tracks, (4) weak ones to tracked
       tracks, (5) candidates take the rest of the sure ones */
    associate(t, pick_tracks(t, -1), pick_dets(t, true), t->o.match_iou);
    associate(t, pick_tracks(t, PH_TRACKED), pick_dets(t, false), t->o.low_match_iou);
    associate(t, pick_tracks(t, PH_CANDIDATE), pick_dets(t, true), t->o.match_iou);

    /* apply the matches; unmatched candidates vanish, tracked ones are lost */
    keep = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct trk *k = &t->tr[i];
        if (k->det < 0) {
            if (k->phase == PH_CANDIDATE)
                continue;
            k->phase = PH_LOST;
            k->score = 0;
        } else {
            const struct det_box *d = &t->dets[k->det];
            double z[4];
            measure(d, z);
            det_kalman_update(&k->kf, z);
            k->box = *d;
            k->score = d->score;
            k->last_seen_us = t->now_us;
            if (k->phase == PH_CANDIDATE) {
                if (++k->hits >= t->o.confirm_hits)
                    confirm(t, k, utc_us);
            } else {
                k->phase = PH_TRACKED;
                observe(t, k);
            }
        }
        if (keep != i)
            t->tr[keep] = *k;
        keep++;
    }
    t->n = keep;

    /* (6) new candidates from the sure detections left, while there is room */
    size_t nc = pick_dets(t, true);
    for (size_t j = 0; j < nc && t->n < t->o.max_tracks; j++) {
        const struct det_box *d = &t->dets[t->cols[j]];
        struct trk *k = &t->tr[t->n++];
        memset(k, 0, sizeof(*k));
        double z[4];
        measure(d, z);
        det_kalman_init(&k->kf, z);
        k->label = d->label;
        k->phase = PH_CANDIDATE;
        k->box = *d;
        k->score = d->score;
        k->hits = 1;
        k->last_seen_us = t->now_us;
        k->det = (int)t->cols[j];
        if (d->score >= t->o.confirm_score || t->o.confirm_hits <= 1)
            confirm(t, k, utc_us);
    }

    for (size_t i = 0; i < t->n; i++) {
        const struct trk *k = &t->tr[i];
        if (k->phase == PH_CANDIDATE)
            continue;
        enum det_track_state s = k->is_new     ? DET_TRACK_NEW
                                 : k->det >= 0 ? DET_TRACK_ACTIVE
                                               : DET_TRACK_LOST;
        report(t, k, s, &out[no++]);
    }
    *n_out = no;
    return 0;
}

int det_tracker_flush(det_tracker *t, struct det_track *out, size_t cap, size_t *n_out)
{
    *n_out = 0;
    if (cap < det_tracker_report_max(t))
        return -ENOSPC;
    size_t no = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->tr[i].phase != PH_CANDIDATE)
            report(t, &t->tr[i], DET_TRACK_REMOVED, &out[no++]);
    t->n = 0;
    *n_out = no;
    return 0;
}
