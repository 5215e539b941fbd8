/*
 * DESIGN: see lifecycle.h. One record per live track (pending until it
 * passes the filters, then open), one motion event, and a short memory of
 * where stationary events ended. Everything is sized by the tracks the
 * camera reports; a record goes with its track's REMOVED report.
 *
 * Updates are emitted only when something a reader can see changed: a new
 * zone, a crossing or loiter, a best view (throttled snapshot), or a top
 * score up by 0.05 or more. The per-frame box is not an update.
 */
#include "lifecycle.h"

#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATIONARY_ENDS_MAX 16
/*
 * A track not reported for this long (frame time) is over even without its
 * REMOVED report (a tracker restarted without camera_stopped_cb): its event
 * ends at its last matched frame and the record goes.
 */
#define TRACK_STALE_US (60 * 1000000LL)
#define SCORE_STEP 0.05f

struct track_rec {
    uint64_t track_id;
    int frames;
    int64_t first_us, last_us; /* first report, last matched frame */
    int64_t reported_us; /* the last report of the track, matched or not */
    float best_score;
    bool is_open;
    bool is_blocked; /* stationary before opening: never opens */
    bool is_stationary; /* as last reported */
    int64_t last_snapshot_us;
    float snapshot_score; /* the score of the view last snapshotted */
    float emitted_top; /* top_score of the last change emitted */
    struct evt_state ev;
};

struct stationary_end {
    char label[EVT_NAME_MAX];
    struct det_box box;
    int64_t at_us;
};

struct evt_life {
    struct evt_life_config c;
    char camera_id[EVT_NAME_MAX + 8];
    const char *source; /* of object events: "detector" or "external" */
    uint32_t salt;
    struct track_rec *tracks;
    size_t ntracks, cap;
    struct stationary_end ends[STATIONARY_ENDS_MAX];
    size_t nends, next_end;
    bool motion_open;
    int64_t motion_last_us;
    uint32_t motion_seq;
    struct evt_state motion;
};

void evt_id_make(int64_t start_us, uint32_t r, char out[EVT_ID_MAX])
{
    snprintf(out, EVT_ID_MAX, "%017lld-%08x", (long long)(start_us < 0 ? 0 : start_us), r);
}

bool evt_id_is_valid(const char *s)
{
    if (!s || strlen(s) != 26 || s[17] != '-')
        return false;
    for (int i = 0; i < 26; i++) {
        char c = s[i];
        if (i == 17)
            continue;
        if (!(c >= '0' && c <= '9') && !(i > 17 && c >= 'a' && c <= 'f'))
            return false;
    }
    return true;
}

bool evt_name_is_valid(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static uint32_t mix(uint32_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (uint8_t)(v >> (8 * i));
        h *= 16777619u;
    }
    return h;
}

evt_life *evt_life_new(const struct evt_life_config *c, const char *camera_id, uint32_t salt)
{
    evt_life *l = horus_calloc(1, sizeof(*l));
    l->c = *c;
    snprintf(l->camera_id, sizeof(l->camera_id), "%s", camera_id);
    l->source = "detector";
    l->salt = 2166136261u ^ salt;
    for (const char *p = camera_id; *p; p++)
        l->salt = mix(l->salt, (uint8_t)*p);
    return l;
}

void evt_life_free(evt_life *l)
{
    if (!l)
        return;
    free(l->tracks);
    free(l);
}

void evt_life_set_source(evt_life *l, const char *source)
{
    l->source = source;
}

void evt_life_configure(evt_life *l, const struct evt_life_config *c)
{
    l->c = *c;
}

size_t evt_life_open_count(const evt_life *l)
{
    size_t n = l->motion_open ? 1 : 0;
    for (size_t i = 0; i < l->ntracks; i++)
        n += l->tracks[i].is_open;
    return n;
}

static float box_iou(const struct det_box *a, const struct det_box *b)
{
    float ix = (a->x1 < b->x1 ? a->x1 : b->x1) - (a->x0 > b->x0 ? a->x0 : b->x0);
    float iy = (a->y1 < b->y1 ? a->y1 : b->y1) - (a->y0 > b->y0 ? a->y0 : b->y0);
    if (ix <= 0 || iy <= 0)
        return 0;
    float inter = ix * iy;
    float u = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - inter;
    return u > 0 ? inter / u : 0;
}

static void emit(evt_change_cb cb, void *arg, enum evt_change_kind kind, const struct evt_state *e,
                 bool wants_snapshot)
{
    struct evt_change ch = {.kind = kind, .event = e, .wants_snapshot = wants_snapshot};
    cb(arg, &ch);
}

static struct track_rec *find_track(evt_life *l, uint64_t id)
{
    for (size_t i = 0; i < l->ntracks; i++)
        if (l->tracks[i].track_id == id)
            return &l->tracks[i];
    return NULL;
}

static void drop_track(evt_life *l, struct track_rec *t)
{
    size_t i = (size_t)(t - l->tracks);
    l->tracks[i] = l->tracks[--l->ntracks];
}

/* Whether a new track of label at box sits where a stationary event ended lately. */
static bool is_parked_again(const evt_life *l, const char *label, const struct det_box *box,
                            int64_t now_us)
{
    for (size_t i = 0; i < l->nends; i++) {
        const struct stationary_end *s = &l->ends[i];
        if (now_us - s->at_us <= l->c.stationary_memory_us && strcmp(s->label, label) == 0 &&
            box_iou(&s->box, box) >= 0.5f)
            return true;
    }
    return false;
}

static void remember_stationary(evt_life *l, const struct evt_state *e, int64_t at_us)
{
    struct stationary_end *s = &l->ends[l->next_end];
    snprintf(s->label, sizeof(s->label), "%s", e->label);
    s->box = e->box;
    s->at_us = at_us;
    l->next_end = (l->next_end + 1) % STATIONARY_ENDS_MAX;
    if (l->nends < STATIONARY_ENDS_MAX)
        l->nends++;
}

/* Adds the names of the zones in mask; true when one was new. */
static bool add_zones(struct evt_state *e, uint32_t mask, const struct det_report *r)
{
    bool is_new = false;
    for (size_t z = 0; z < r->zone_count && z < 32; z++) {
        if (!(mask & (1u << z)) || !r->zone_names || !r->zone_names[z])
            continue;
        bool has = false;
        for (size_t k = 0; k < e->nzones && !has; k++)
            has = strcmp(e->zones[k], r->zone_names[z]) == 0;
        if (!has && e->nzones < EVT_ZONES_MAX) {
            snprintf(e->zones[e->nzones++], EVT_NAME_MAX, "%s", r->zone_names[z]);
            is_new = true;
        }
    }
    return is_new;
}

/* Records the crossings and loiters of track t in r on its event; true when one was added. */
static bool add_marks(struct evt_state *e, uint64_t track_id, const struct det_report *r,
                      int64_t now_us)
{
    bool added = false;
    for (size_t i = 0; i < r->crossing_count; i++) {
        const struct det_crossing *c = &r->crossings[i];
        if (c->track_id != track_id || e->nmarks >= EVT_MARKS_MAX)
            continue;
        struct evt_mark *m = &e->marks[e->nmarks++];
        memset(m, 0, sizeof(*m));
        const char *name =
            c->tripwire >= 0 && (size_t)c->tripwire < r->tripwire_count && r->tripwire_names
                ? r->tripwire_names[c->tripwire]
                : "?";
        snprintf(m->name, sizeof(m->name), "%s", name ? name : "?");
        m->direction = c->direction;
        m->at_us = now_us;
        added = true;
    }
    for (size_t i = 0; i < r->loiter_count; i++) {
        const struct det_loiter *lo = &r->loiters[i];
        if (lo->track_id != track_id || e->nmarks >= EVT_MARKS_MAX)
            continue;
        struct evt_mark *m = &e->marks[e->nmarks++];
        memset(m, 0, sizeof(*m));
        m->is_loiter = true;
        const char *name = lo->zone >= 0 && (size_t)lo->zone < r->zone_count && r->zone_names
                               ? r->zone_names[lo->zone]
                               : "?";
        snprintf(m->name, sizeof(m->name), "%s", name ? name : "?");
        m->since_us = lo->since_us;
        m->at_us = now_us;
        added = true;
    }
    return added;
}

static bool passes_filters(const evt_life *l, const struct track_rec *t)
{
    return t->best_score >= l->c.min_score && t->frames >= l->c.min_frames &&
           t->last_us - t->first_us >= l->c.min_duration_us;
}

static void end_track(evt_life *l, struct track_rec *t, evt_change_cb cb, void *arg)
{
    if (t->is_open) {
        t->ev.end_us = t->last_us > t->ev.start_us ? t->last_us : t->ev.start_us;
        t->ev.updated_us = t->ev.end_us;
        if (t->is_stationary)
            remember_stationary(l, &t->ev, t->ev.end_us);
        emit(cb, arg, EVT_CHANGE_END, &t->ev, false);
    }
    drop_track(l, t);
}

static void track_report(evt_life *l, const struct det_track *tr, const struct det_report *r,
                         int64_t now_us, evt_change_cb cb, void *arg)
{
    struct track_rec *t = find_track(l, tr->id);
    if (tr->state == DET_TRACK_REMOVED) {
        if (t)
            end_track(l, t, cb, arg);
        return;
    }
    const char *label = tr->label_name ? tr->label_name : "object";
    if (!t) {
        if (l->ntracks == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 8;
            l->tracks = horus_realloc(l->tracks, l->cap * sizeof(*l->tracks));
        }
        t = &l->tracks[l->ntracks++];
        memset(t, 0, sizeof(*t));
        t->track_id = tr->id;
        t->first_us = tr->first_seen_us > 0 ? tr->first_seen_us : now_us;
        t->last_us = t->first_us;
        t->is_blocked = tr->is_stationary || is_parked_again(l, label, &tr->box, now_us);
        snprintf(t->ev.camera_id, sizeof(t->ev.camera_id), "%s", l->camera_id);
        snprintf(t->ev.label, sizeof(t->ev.label), "%s", label);
        t->ev.source = l->source;
    }
    t->reported_us = now_us;
    bool is_matched = tr->state != DET_TRACK_LOST;
    if (is_matched) {
        t->frames++;
        t->last_us = now_us;
        if (tr->score > t->best_score)
            t->best_score = tr->score;
    }
    t->is_stationary = tr->is_stationary;
    if (tr->is_stationary && !t->is_open)
        t->is_blocked = true;
    struct evt_state *e = &t->ev;
    bool zones_new = add_zones(e, tr->zones, r);
    bool marks_new = add_marks(e, tr->id, r, now_us);
    if (is_matched && tr->score > e->top_score)
        e->top_score = tr->score;
    bool is_best = is_matched && (tr->is_best || !e->has_box);
    if (is_best) {
        e->score = tr->score;
        e->box = tr->box;
        e->has_box = true;
    }
    if (!t->is_open) {
        if (t->is_blocked || !passes_filters(l, t))
            return;
        t->is_open = true;
        evt_id_make(t->first_us, mix(l->salt, tr->id), e->id);
        e->start_us = t->first_us;
        e->updated_us = now_us;
        e->has_snapshot = r->image != NULL;
        t->last_snapshot_us = now_us;
        t->snapshot_score = e->score;
        t->emitted_top = e->top_score;
        emit(cb, arg, EVT_CHANGE_OPEN, e, r->image != NULL);
        return;
    }
    /* A better view is kept at most every snapshot_interval, unless it scores clearly better. */
    bool wants_snapshot = is_best && tr->is_best && r->image &&
                          (now_us - t->last_snapshot_us >= l->c.snapshot_interval_us ||
                           tr->score >= t->snapshot_score + SCORE_STEP);
    bool score_up = e->top_score >= t->emitted_top + SCORE_STEP;
    if (!(zones_new || marks_new || wants_snapshot || score_up))
        return;
    if (wants_snapshot) {
        t->last_snapshot_us = now_us;
        t->snapshot_score = tr->score;
        e->has_snapshot = true;
    }
    t->emitted_top = e->top_score;
    e->updated_us = now_us;
    emit(cb, arg, EVT_CHANGE_UPDATE, e, wants_snapshot);
}

static void box_union(struct det_box *a, const struct det_box *b)
{
    a->x0 = a->x0 < b->x0 ? a->x0 : b->x0;
    a->y0 = a->y0 < b->y0 ? a->y0 : b->y0;
    a->x1 = a->x1 > b->x1 ? a->x1 : b->x1;
    a->y1 = a->y1 > b->y1 ? a->y1 : b->y1;
}

static void motion_report(evt_life *l, const struct det_report *r, int64_t now_us, evt_change_cb cb,
                          void *arg)
{
    bool has_motion = r->motion_count > 0 && !r->motion_suppressed;
    if (l->motion_open && now_us - l->motion_last_us > l->c.motion_gap_us) {
        l->motion.end_us = l->motion_last_us;
        l->motion.updated_us = l->motion_last_us;
        l->motion_open = false;
        emit(cb, arg, EVT_CHANGE_END, &l->motion, false);
    }
    if (!has_motion || !l->c.motion)
        return;
    struct det_box u = r->motion[0];
    for (size_t i = 1; i < r->motion_count; i++)
        box_union(&u, &r->motion[i]);
    u.score = 1;
    u.label = -1;
    if (l->motion_open) {
        box_union(&l->motion.box, &u);
        l->motion_last_us = now_us;
        return;
    }
    struct evt_state *e = &l->motion;
    memset(e, 0, sizeof(*e));
    snprintf(e->camera_id, sizeof(e->camera_id), "%s", l->camera_id);
    snprintf(e->label, sizeof(e->label), "motion");
    e->source = "motion";
    e->score = e->top_score = 1;
    e->start_us = e->updated_us = now_us;
    e->box = u;
    e->has_box = true;
    e->has_snapshot = r->image != NULL;
    evt_id_make(now_us, mix(l->salt ^ 0x9e3779b9u, ++l->motion_seq), e->id);
    l->motion_open = true;
    l->motion_last_us = now_us;
    emit(cb, arg, EVT_CHANGE_OPEN, e, r->image != NULL);
}

void evt_life_report(evt_life *l, const struct det_report *r, evt_change_cb cb, void *arg)
{
    int64_t now_us = r->image ? r->image->utc_us : r->analysed_us;
    for (size_t i = 0; i < r->track_count; i++)
        track_report(l, &r->tracks[i], r, now_us, cb, arg);
    for (size_t i = l->ntracks; i-- > 0;)
        if (now_us - l->tracks[i].reported_us > TRACK_STALE_US)
            end_track(l, &l->tracks[i], cb, arg);
    motion_report(l, r, now_us, cb, arg);
}

void evt_life_stop(evt_life *l, evt_change_cb cb, void *arg)
{
    while (l->ntracks > 0)
        end_track(l, &l->tracks[l->ntracks - 1], cb, arg);
    if (l->motion_open) {
        l->motion.end_us = l->motion_last_us;
        l->motion.updated_us = l->motion_last_us;
        l->motion_open = false;
        emit(cb, arg, EVT_CHANGE_END, &l->motion, false);
    }
}
