/*
 * One camera's stages between the decoder and the report (stages_int.h).
 *
 * Where the detector looks: the motion regions of this frame plus the
 * boxes of the objects being tracked (so a person who stops walking is
 * still seen, and a parked car stays one track), planned into crops of the
 * model's input size around them (motion_crop.c; small distant objects
 * reach the model at native resolution, Frigate's region approach). No
 * motion and nothing tracked: the detector does not run, which is what
 * makes motion-gated analysis cheap. A camera whose document turns motion
 * off, or a frame without a luma plane, is analysed whole.
 *
 * Thresholds: the detector keeps boxes down to its own min_score; the
 * object filters drop labels and sizes the camera does not want; the
 * tracker starts tracks only from boxes at the document's objects.min_score
 * and continues them with weaker ones (ByteTrack's second stage).
 */
#include "stages_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "motion.h"
#include "track.h"
#include "zones.h"

#define MAX_REGIONS 64
#define MAX_CROPS 4
#define MAX_CROSSINGS 64
#define MAX_LOITERS 64
#define CROP_NMS_IOU 0.5f

struct det_stages {
    struct det_analytics *doc; /* owned copy (zones borrow it) */
    struct det_motion *motion; /* NULL: the document turns motion off */
    det_tracker *tracker;
    det_zones *zones;
    char **labels; /* owned copies of the detector's labels */
    int nlabels;
    struct det_track *tracks;
    size_t track_cap;
    struct det_crossing crossings[MAX_CROSSINGS];
    struct det_loiter loiters[MAX_LOITERS];
    const char *zone_names[DET_ANALYTICS_ZONES_MAX];
    const char *tripwire_names[DET_ANALYTICS_TRIPWIRES_MAX];
    struct det_box live[MAX_REGIONS]; /* boxes of the tracks alive after the last frame */
    size_t nlive;
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

int det_stages_new(const struct det_analytics *doc, const struct det_detector *d, float min_score,
                   uint64_t first_track_id, struct det_stages **out, char **errmsg)
{
    struct det_stages *s = horus_calloc(1, sizeof(*s));
    char *why = NULL;
    /* The stages keep their own parsed copy: the caller's may go at any time. */
    int rc;
    if (doc) {
        json_t *j = det_analytics_to_json(doc);
        rc = det_analytics_from_json(j, NULL, 0, &s->doc, &why);
        json_decref(j);
    } else {
        rc = det_analytics_parse("", 0, NULL, 0, &s->doc, &why);
    }
    if (rc < 0) {
        det_stages_free(s);
        return fail(errmsg, "analytics", why);
    }
    s->nlabels = d->label_count;
    s->labels = horus_calloc((size_t)(s->nlabels ? s->nlabels : 1), sizeof(char *));
    for (int i = 0; i < s->nlabels; i++)
        s->labels[i] = horus_strdup(d->labels[i]);

    if (s->doc->motion.enabled) {
        rc = det_motion_new(NULL, &s->motion, &why);
        struct det_motion_mask masks[DET_ANALYTICS_MASKS_MAX];
        for (size_t i = 0; rc == 0 && i < s->doc->motion.mask_count; i++)
            masks[i] = (struct det_motion_mask){.points = s->doc->motion.masks[i].points,
                                                .point_count = s->doc->motion.masks[i].count};
        if (rc == 0)
            rc = det_motion_set_masks(s->motion, masks, s->doc->motion.mask_count, &why);
        if (rc < 0) {
            det_stages_free(s);
            return fail(errmsg, "motion", why);
        }
    }
    float high = s->doc->objects.min_score > min_score ? s->doc->objects.min_score : min_score;
    if (high <= 0)
        high = 0.5f;
    float low = min_score > 0 && min_score < high ? min_score : high * 0.5f;
    rc = det_tracker_new(
        &(struct det_tracker_options){.high_score = high,
                                      .low_score = low,
                                      .first_id = first_track_id ? first_track_id : 1,
                                      .label_names = (const char *const *)s->labels,
                                      .label_count = s->nlabels},
        &s->tracker, &why);
    if (rc < 0) {
        det_stages_free(s);
        return fail(errmsg, "tracker", why);
    }
    s->track_cap = det_tracker_report_max(s->tracker);
    s->tracks = horus_calloc(s->track_cap, sizeof(*s->tracks));
    /* The filters keep weak boxes for the tracker's second stage. */
    s->doc->objects.min_score = low;
    s->zones = det_zones_new(s->doc);
    for (size_t i = 0; i < s->doc->zone_count; i++)
        s->zone_names[i] = s->doc->zones[i].name;
    for (size_t i = 0; i < s->doc->tripwire_count; i++)
        s->tripwire_names[i] = s->doc->tripwires[i].name;
    *out = s;
    return 0;
}

void det_stages_free(struct det_stages *s)
{
    if (!s)
        return;
    det_zones_free(s->zones);
    det_tracker_free(s->tracker);
    det_motion_free(s->motion);
    det_analytics_free(s->doc);
    for (int i = 0; i < s->nlabels; i++)
        free(s->labels[i]);
    free(s->labels);
    free(s->tracks);
    free(s);
}

uint64_t det_stages_next_track_id(const struct det_stages *s)
{
    return det_tracker_next_id(s->tracker);
}

/* Runs d on crop c of img, appending its boxes (frame coordinates) to boxes[*n..cap). */
static int detect_crop(struct det_detector *d, const struct det_image *img,
                       const struct det_crop *c, const struct det_run_options *ro,
                       struct det_box *boxes, size_t cap, size_t *n, char **errmsg)
{
    struct det_frame f = {.rgb = img->rgb + (size_t)c->y * (size_t)img->stride_bytes +
                                 (size_t)c->x * 3,
                          .width = c->width,
                          .height = c->height,
                          .stride_bytes = img->stride_bytes};
    size_t got = 0;
    int rc = det_detector_run(d, &f, ro, boxes + *n, cap - *n, &got, errmsg);
    if (rc < 0)
        return rc;
    det_crop_to_frame(c, img->width, img->height, boxes + *n, got);
    *n += got;
    return 0;
}

int det_stages_detect(struct det_stages *s, struct det_detector *d, const struct det_image *img,
                      const struct det_luma *luma, struct det_box *boxes, size_t cap, size_t *n,
                      struct det_box *motion, size_t motion_cap, size_t *nmotion,
                      bool *is_suppressed, bool *ran_detector, char **errmsg)
{
    *n = *nmotion = 0;
    *is_suppressed = *ran_detector = false;
    struct det_run_options ro = {.min_score = s->doc->objects.min_score};
    struct det_crop crops[MAX_CROPS];
    size_t ncrops;
    if (s->motion && luma && luma->y) {
        struct det_motion_result res;
        if (det_motion_feed(s->motion, luma->y, luma->width, luma->height, luma->stride,
                            img->utc_us, motion, motion_cap, &res) == 0) {
            *nmotion = res.box_count;
            *is_suppressed = res.is_suppressed;
        }
        struct det_box regions[MAX_REGIONS];
        size_t nregions = 0;
        for (size_t i = 0; i < *nmotion && nregions < MAX_REGIONS; i++)
            regions[nregions++] = motion[i];
        for (size_t i = 0; i < s->nlive && nregions < MAX_REGIONS; i++)
            regions[nregions++] = s->live[i];
        if (nregions == 0)
            return 0; /* still, and nothing to follow: the detector rests */
        /* A detector of no fixed input (remote: any size) sees the whole frame. */
        if (d->input_width < 1 || d->input_height < 1)
            ncrops = 0;
        else
            ncrops = det_crop_plan(regions, nregions, img->width, img->height, d->input_width,
                                   d->input_height,
                                   &(struct det_crop_options){.max_crops = MAX_CROPS}, crops);
        if (ncrops == 0) {
            crops[0] = (struct det_crop){0, 0, img->width, img->height};
            ncrops = 1;
        }
    } else {
        crops[0] = (struct det_crop){0, 0, img->width, img->height};
        ncrops = 1;
    }
    *ran_detector = true;
    for (size_t i = 0; i < ncrops; i++) {
        int rc = detect_crop(d, img, &crops[i], &ro, boxes, cap, n, errmsg);
        if (rc < 0) {
            *n = 0;
            return rc;
        }
    }
    if (ncrops > 1)
        *n = det_crop_nms(boxes, *n, CROP_NMS_IOU);
    *n = det_zones_filter(s->zones, (const char *const *)s->labels, s->nlabels, boxes, *n);
    return 0;
}

void det_stages_track(struct det_stages *s, struct det_report *r)
{
    size_t ntracks = 0, ncross = 0, nloiter = 0;
    if (det_tracker_update(s->tracker, r->detections, r->detection_count, r->image->utc_us,
                           s->tracks, s->track_cap, &ntracks) < 0)
        ntracks = 0;
    det_zones_apply(s->zones, s->tracks, ntracks, r->image->utc_us, s->crossings, MAX_CROSSINGS,
                    &ncross, s->loiters, MAX_LOITERS, &nloiter);
    s->nlive = 0;
    for (size_t i = 0; i < ntracks && s->nlive < MAX_REGIONS; i++)
        if (s->tracks[i].state != DET_TRACK_REMOVED)
            s->live[s->nlive++] = s->tracks[i].box;
    r->tracks = s->tracks;
    r->track_count = ntracks;
    r->crossings = s->crossings;
    r->crossing_count = ncross;
    r->loiters = s->loiters;
    r->loiter_count = nloiter;
    r->zone_names = s->zone_names;
    r->zone_count = s->doc->zone_count;
    r->tripwire_names = s->tripwire_names;
    r->tripwire_count = s->doc->tripwire_count;
}
