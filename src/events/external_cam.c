/*
 * DESIGN: one camera's posted detections into det_reports (external_int.h;
 * docs/design/0051). A frame is gathered until a later time comes: boxes
 * without a worker id for the tracker, mapped tracks for those with one.
 * Reporting a frame runs the tracker (always, so its tracks age), adds the
 * REMOVED reports of mapped ids silent for longer than lost_us, then the
 * mapped tracks of the frame, applies the zones stage to them all and
 * hands the report on. The tables are fixed-size or bounded: a full one
 * refuses the detection and counts it. At ingest rates each detection may
 * be a frame of its own, so nothing per frame walks every followed id:
 * ids are found through an open-addressing index by hash, the lost scan
 * runs only once the oldest may have expired, and a frame's membership is
 * a sequence number.
 */
#include "external_int.h"

#include "mem.h"
#include "track.h"
#include "zones.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CROSSINGS 64
#define MAX_LOITERS 64
#define BEST_GAIN 1.15f /* as the tracker: a better view beats the best by 15% */
#define MAP_SLOTS (2 * EVT_EXT_MAPPED_MAX) /* open addressing, at most half full */

/* A worker's track id and the det track it became. */
struct mapped {
    char key[sizeof(((struct evt_detection *)0)->track_id)];
    uint64_t id;
    int label;
    int64_t first_us, last_us; /* first and last detection (frame time) */
    struct det_box box; /* last box */
    float best_quality; /* score x area of the best view */
    uint32_t hash; /* of key */
    uint64_t frame_seq; /* the gathered frame it is in, when c->frame_seq */
    int slot; /* ... at this index of the frame's mapped tracks */
};

struct evt_ext_cam {
    char camera_id[sizeof(((struct evt_detection *)0)->camera_id)];
    int64_t lost_us;
    struct det_analytics *doc; /* owned; zones borrow it */
    det_tracker *tracker;
    det_zones *zones;
    uint64_t next_tracker_id;
    uint64_t next_mapped_id;
    size_t tracker_live; /* confirmed tracker tracks after the last report */

    char labels[EVT_EXT_LABELS_MAX][sizeof(((struct evt_detection *)0)->label)];
    const char *label_ptrs[EVT_EXT_LABELS_MAX];
    int nlabels;

    struct mapped *mapped; /* owned, [0..nmapped) */
    size_t nmapped, mapped_cap;
    uint32_t map_slots[MAP_SLOTS]; /* index + 1 into mapped by key hash; 0: empty */
    int64_t oldest_last_us; /* <= every mapped last_us: no one expires before it + lost_us */
    uint64_t frame_seq; /* numbers the gathered frames */

    /* The frame being gathered. */
    bool has_frame;
    int64_t frame_us;
    struct det_box boxes[EVT_EXT_FRAME_MAX];
    size_t nboxes;
    struct det_track frame_mapped[EVT_EXT_FRAME_MAX];
    size_t nframe_mapped;

    int64_t last_frame_us; /* time of the last frame reported (0: none) */
    int64_t newest_us; /* newest detection time fed */

    /* A report's arrays. */
    struct det_track *out;
    size_t out_cap, tracker_cap;
    struct det_crossing crossings[MAX_CROSSINGS];
    struct det_loiter loiters[MAX_LOITERS];
    const char *zone_names[DET_ANALYTICS_ZONES_MAX];
    const char *tripwire_names[DET_ANALYTICS_TRIPWIRES_MAX];
};

static int fail(char **errmsg, const char *stage, char *why)
{
    if (errmsg) {
        size_t len = strlen(stage) + strlen(why ? why : "") + 3;
        *errmsg = horus_malloc(len);
        snprintf(*errmsg, len, "%s: %s", stage, why ? why : "");
    }
    free(why);
    return -EINVAL;
}

/* Makes the tracker and zones of doc (taken on success). */
static int stages_make(evt_ext_cam *c, struct det_analytics *doc, char **errmsg)
{
    char *why = NULL;
    if (!doc && det_analytics_parse("", 0, NULL, 0, &doc, &why) < 0)
        return fail(errmsg, "analytics", why);
    /* As the analysis (stages.c): tracks start from objects.min_score, continue down to half. */
    float high = doc->objects.min_score > 0 ? doc->objects.min_score : 0.5f;
    float low = high * 0.5f;
    det_tracker *t = NULL;
    int rc = det_tracker_new(&(struct det_tracker_options){.high_score = high,
                                                           .low_score = low,
                                                           .lost_seconds = (double)c->lost_us / 1e6,
                                                           .first_id = c->next_tracker_id,
                                                           .label_names = c->label_ptrs,
                                                           .label_count = EVT_EXT_LABELS_MAX},
                             &t, &why);
    if (rc < 0) {
        det_analytics_free(doc);
        return fail(errmsg, "tracker", why);
    }
    det_zones_free(c->zones);
    det_tracker_free(c->tracker);
    det_analytics_free(c->doc);
    c->doc = doc;
    c->doc->objects.min_score = low; /* the filters keep weak boxes for the tracker */
    c->tracker = t;
    c->zones = det_zones_new(c->doc);
    c->tracker_live = 0;
    size_t need = det_tracker_report_max(t);
    if (need > c->tracker_cap) {
        c->tracker_cap = need;
        c->out_cap = need + EVT_EXT_MAPPED_MAX + EVT_EXT_FRAME_MAX;
        free(c->out);
        c->out = horus_calloc(c->out_cap, sizeof(*c->out));
    }
    for (size_t i = 0; i < c->doc->zone_count; i++)
        c->zone_names[i] = c->doc->zones[i].name;
    for (size_t i = 0; i < c->doc->tripwire_count; i++)
        c->tripwire_names[i] = c->doc->tripwires[i].name;
    return 0;
}

int evt_ext_cam_new(const char *camera_id, struct det_analytics *doc, int64_t lost_us,
                    evt_ext_cam **out, char **errmsg)
{
    if (lost_us <= 0) {
        det_analytics_free(doc);
        return fail(errmsg, "lost time", horus_strdup("must be > 0"));
    }
    evt_ext_cam *c = horus_calloc(1, sizeof(*c));
    snprintf(c->camera_id, sizeof(c->camera_id), "%s", camera_id);
    c->lost_us = lost_us;
    c->next_tracker_id = 1;
    c->next_mapped_id = EVT_EXT_MAPPED_FIRST_ID;
    for (int i = 0; i < EVT_EXT_LABELS_MAX; i++)
        c->label_ptrs[i] = c->labels[i];
    int rc = stages_make(c, doc, errmsg);
    if (rc < 0) {
        evt_ext_cam_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void evt_ext_cam_free(evt_ext_cam *c)
{
    if (!c)
        return;
    det_zones_free(c->zones);
    det_tracker_free(c->tracker);
    det_analytics_free(c->doc);
    free(c->mapped);
    free(c->out);
    free(c);
}

int64_t evt_ext_cam_newest_us(const evt_ext_cam *c)
{
    return c->newest_us;
}

bool evt_ext_cam_is_busy(const evt_ext_cam *c)
{
    return c->has_frame || c->nmapped > 0 || c->tracker_live > 0;
}

size_t evt_ext_cam_mapped_count(const evt_ext_cam *c)
{
    return c->nmapped;
}

/* ---- the worker ids' index ---- */

static uint32_t key_hash(const char *key)
{
    uint32_t h = 2166136261u;
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

/* The slot holding mapped index i (which is in the index). */
static size_t map_slot_of(const evt_ext_cam *c, size_t i)
{
    size_t s = c->mapped[i].hash & (MAP_SLOTS - 1);
    while (c->map_slots[s] != i + 1)
        s = (s + 1) & (MAP_SLOTS - 1);
    return s;
}

static void map_insert(evt_ext_cam *c, size_t i)
{
    size_t s = c->mapped[i].hash & (MAP_SLOTS - 1);
    while (c->map_slots[s])
        s = (s + 1) & (MAP_SLOTS - 1);
    c->map_slots[s] = (uint32_t)(i + 1);
}

/* Empties slot s, moving later entries of its probe run back (no tombstones). */
static void map_slot_clear(evt_ext_cam *c, size_t s)
{
    size_t j = s;
    for (;;) {
        j = (j + 1) & (MAP_SLOTS - 1);
        if (!c->map_slots[j])
            break;
        size_t home = c->mapped[c->map_slots[j] - 1].hash & (MAP_SLOTS - 1);
        /* The entry at j may fill s when its home is not cyclically in (s, j]. */
        bool stays = s <= j ? (home > s && home <= j) : (home > s || home <= j);
        if (!stays) {
            c->map_slots[s] = c->map_slots[j];
            s = j;
        }
    }
    c->map_slots[s] = 0;
}

/* Forgets mapped index i; the last entry takes its place. */
static void map_remove(evt_ext_cam *c, size_t i)
{
    map_slot_clear(c, map_slot_of(c, i));
    size_t last = --c->nmapped;
    if (i != last) {
        c->map_slots[map_slot_of(c, last)] = (uint32_t)(i + 1);
        c->mapped[i] = c->mapped[last];
    }
}

/* ---- reports ---- */

static struct det_track mapped_track(const evt_ext_cam *c, const struct mapped *m,
                                     enum det_track_state st)
{
    return (struct det_track){.id = m->id,
                              .label = m->label,
                              .label_name = c->label_ptrs[m->label],
                              .score = st == DET_TRACK_REMOVED ? 0 : m->box.score,
                              .box = m->box,
                              .state = st,
                              .first_seen_us = m->first_us};
}

/* Applies the zones to out[0..n) at t and hands the report on. */
static void deliver(evt_ext_cam *c, size_t n, int64_t t, evt_ext_report_fn fn, void *arg)
{
    size_t ncross = 0, nloiter = 0;
    /* Without zones and tripwires the stage has nothing to add (tracks' zones stay 0). */
    if (c->doc->zone_count > 0 || c->doc->tripwire_count > 0)
        det_zones_apply(c->zones, c->out, n, t, c->crossings, MAX_CROSSINGS, &ncross, c->loiters,
                        MAX_LOITERS, &nloiter);
    struct det_report r = {.camera_id = c->camera_id,
                           .stream = "external",
                           .analysed_us = t,
                           .detections = c->boxes,
                           .detection_count = c->nboxes,
                           .tracks = c->out,
                           .track_count = n,
                           .crossings = c->crossings,
                           .crossing_count = ncross,
                           .loiters = c->loiters,
                           .loiter_count = nloiter,
                           .zone_names = c->zone_names,
                           .zone_count = c->doc->zone_count,
                           .tripwire_names = c->tripwire_names,
                           .tripwire_count = c->doc->tripwire_count};
    fn(arg, &r);
}

/* Reports a frame at t: the gathered one, or an empty one (time passing). */
static void report_frame(evt_ext_cam *c, int64_t t, evt_ext_report_fn fn, void *arg)
{
    size_t n = 0;
    if (det_tracker_update(c->tracker, c->boxes, c->nboxes, t, c->out, c->tracker_cap, &n) < 0)
        n = 0;
    c->tracker_live = 0;
    for (size_t i = 0; i < n; i++)
        c->tracker_live += c->out[i].state != DET_TRACK_REMOVED;
    c->next_tracker_id = det_tracker_next_id(c->tracker);
    /* Mapped ids silent for too long end (those of this frame were stamped t); the scan
       runs only once the oldest may have expired. */
    if (c->nmapped > 0 && t - c->oldest_last_us > c->lost_us) {
        int64_t oldest = t;
        for (size_t i = c->nmapped; i-- > 0;) {
            struct mapped *m = &c->mapped[i];
            if (t - m->last_us <= c->lost_us) {
                oldest = m->last_us < oldest ? m->last_us : oldest;
                continue;
            }
            c->out[n++] = mapped_track(c, m, DET_TRACK_REMOVED);
            map_remove(c, i);
        }
        c->oldest_last_us = oldest;
    }
    for (size_t i = 0; i < c->nframe_mapped; i++)
        c->out[n++] = c->frame_mapped[i];
    c->frame_seq++;
    if (n > 0)
        deliver(c, n, t, fn, arg);
    c->last_frame_us = t;
    c->has_frame = false;
    c->nboxes = c->nframe_mapped = 0;
}

void evt_ext_cam_sync(evt_ext_cam *c, evt_ext_report_fn fn, void *arg)
{
    if (c->has_frame)
        report_frame(c, c->frame_us, fn, arg);
}

void evt_ext_cam_advance(evt_ext_cam *c, int64_t t_us, evt_ext_report_fn fn, void *arg)
{
    evt_ext_cam_sync(c, fn, arg);
    if (t_us > c->last_frame_us && (c->nmapped > 0 || c->tracker_live > 0))
        report_frame(c, t_us, fn, arg);
}

void evt_ext_cam_flush(evt_ext_cam *c, evt_ext_report_fn fn, void *arg)
{
    evt_ext_cam_sync(c, fn, arg);
    size_t n = 0;
    if (det_tracker_flush(c->tracker, c->out, c->tracker_cap, &n) < 0)
        n = 0;
    c->tracker_live = 0;
    for (size_t i = 0; i < c->nmapped; i++)
        c->out[n++] = mapped_track(c, &c->mapped[i], DET_TRACK_REMOVED);
    c->nmapped = 0;
    memset(c->map_slots, 0, sizeof(c->map_slots));
    if (n > 0)
        deliver(c, n, c->last_frame_us, fn, arg);
}

int evt_ext_cam_set_doc(evt_ext_cam *c, struct det_analytics *doc, evt_ext_report_fn fn, void *arg,
                        char **errmsg)
{
    evt_ext_cam_flush(c, fn, arg);
    return stages_make(c, doc, errmsg);
}

/* ---- detections in ---- */

/* The index of label in the camera's table (added when new), or -1 when it is full. */
static int label_index(evt_ext_cam *c, const char *label)
{
    for (int i = 0; i < c->nlabels; i++)
        if (strcmp(c->labels[i], label) == 0)
            return i;
    if (c->nlabels == EVT_EXT_LABELS_MAX)
        return -1;
    snprintf(c->labels[c->nlabels], sizeof(c->labels[0]), "%s", label);
    return c->nlabels++;
}

static struct mapped *mapped_find(evt_ext_cam *c, const char *key, uint32_t hash)
{
    for (size_t s = hash & (MAP_SLOTS - 1); c->map_slots[s]; s = (s + 1) & (MAP_SLOTS - 1)) {
        struct mapped *m = &c->mapped[c->map_slots[s] - 1];
        if (m->hash == hash && strcmp(m->key, key) == 0)
            return m;
    }
    return NULL;
}

/* A mapped detection into the gathered frame at t. Returns false when a table is full. */
static bool add_mapped(evt_ext_cam *c, const struct evt_detection *d, const struct det_box *b,
                       int64_t t)
{
    uint32_t hash = key_hash(d->track_id);
    struct mapped *m = mapped_find(c, d->track_id, hash);
    enum det_track_state st = DET_TRACK_ACTIVE;
    if (!m) {
        if (c->nmapped == EVT_EXT_MAPPED_MAX || c->nframe_mapped == EVT_EXT_FRAME_MAX)
            return false;
        if (c->nmapped == c->mapped_cap) {
            c->mapped_cap = c->mapped_cap ? c->mapped_cap * 2 : 16;
            c->mapped = horus_realloc(c->mapped, c->mapped_cap * sizeof(*c->mapped));
        }
        m = &c->mapped[c->nmapped++];
        memset(m, 0, sizeof(*m));
        snprintf(m->key, sizeof(m->key), "%s", d->track_id);
        m->hash = hash;
        m->id = c->next_mapped_id++;
        m->label = b->label;
        m->first_us = t;
        m->frame_seq = c->frame_seq - 1; /* in no frame yet */
        map_insert(c, c->nmapped - 1);
        if (c->nmapped == 1 || t < c->oldest_last_us)
            c->oldest_last_us = t;
        st = DET_TRACK_NEW;
    }
    float quality = b->score * (b->x1 - b->x0) * (b->y1 - b->y0);
    if (m->frame_seq == c->frame_seq) {
        /* The id twice in one frame: the better scoring detection stands. */
        struct det_track *ft = &c->frame_mapped[m->slot];
        if (b->score <= ft->score)
            return true;
        m->box = *b;
        m->box.label = m->label;
        bool was_best = ft->is_best;
        *ft = mapped_track(c, m, ft->state);
        ft->is_best = was_best || quality > m->best_quality * BEST_GAIN;
    } else {
        if (c->nframe_mapped == EVT_EXT_FRAME_MAX)
            return false;
        m->box = *b;
        m->box.label = m->label; /* a track keeps its first label */
        m->frame_seq = c->frame_seq;
        m->slot = (int)c->nframe_mapped;
        c->frame_mapped[c->nframe_mapped] = mapped_track(c, m, st);
        c->frame_mapped[c->nframe_mapped++].is_best =
            st == DET_TRACK_NEW || quality > m->best_quality * BEST_GAIN;
    }
    if (quality > m->best_quality * BEST_GAIN || st == DET_TRACK_NEW)
        m->best_quality = quality;
    m->last_us = t;
    return true;
}

void evt_ext_cam_add(evt_ext_cam *c, const struct evt_detection *d, evt_ext_report_fn fn, void *arg,
                     struct evt_ext_counts *counts)
{
    if (c->newest_us > 0 && d->time_us < c->newest_us - EVT_EXT_LATE_US) {
        counts->out_of_order++;
        return;
    }
    /* Frame times never go back: a slightly late detection joins the frame at hand. */
    int64_t t = d->time_us;
    if (t < c->last_frame_us)
        t = c->last_frame_us;
    if (c->has_frame && t < c->frame_us)
        t = c->frame_us;
    if (c->has_frame && t > c->frame_us)
        report_frame(c, c->frame_us, fn, arg);
    int label = label_index(c, d->label);
    if (label < 0) {
        counts->limit++;
        return;
    }
    struct det_box b = {d->x0, d->y0, d->x1, d->y1, d->score, label};
    if (det_zones_filter(c->zones, c->label_ptrs, c->nlabels, &b, 1) == 0) {
        counts->filtered++;
        return;
    }
    if (!c->has_frame) {
        c->has_frame = true;
        c->frame_us = t;
    }
    bool is_taken;
    if (d->track_id[0]) {
        is_taken = add_mapped(c, d, &b, t);
    } else {
        is_taken = c->nboxes < EVT_EXT_FRAME_MAX;
        if (is_taken)
            c->boxes[c->nboxes++] = b;
    }
    if (!is_taken) {
        counts->limit++;
        return;
    }
    if (d->time_us > c->newest_us)
        c->newest_us = d->time_us;
    counts->fed++;
}
