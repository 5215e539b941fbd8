/*
 * DESIGN: motion detection on a luma plane (docs/design/0037-motion.md).
 *
 * Each frame is box-filtered down to about scale_height rows (averaging
 * also removes most sensor noise), compared with a running-average
 * background, thresholded (the threshold never below options.threshold and
 * raised on noisy scenes to noise_factor times the running median
 * difference), dilated so that the pieces of one object join, and labelled
 * into 8-connected regions (two passes with union-find). A region's box is
 * the bounding box of its changed pixels before dilation, and it counts
 * when enough of them changed. When more than global_fraction of the
 * unmasked pixels change at once the frame is "suppressed": no boxes, and
 * the background restarts from this frame and learns fast for a while.
 *
 * The background learns with a time constant, not a per-frame rate, so a
 * camera sampled at 2 or 10 frames/s behaves the same:
 * alpha = 1 - exp(-dt / tau). Masks are rasterised once per scaled size.
 *
 * No threads, no I/O, no clock: time comes with each frame. One thread at
 * a time uses an object.
 */
#include "motion.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

struct mask_poly {
    struct det_point *points; /* owned */
    size_t count;
};

struct region {
    int x0, y0, x1, y1; /* changed pixels' bounding box, inclusive */
    int changed; /* changed pixels in the region */
};

struct det_motion {
    struct det_motion_options opt; /* resolved: no zero fields */
    struct mask_poly *masks; /* owned, mask_count of them */
    size_t mask_count;
    bool masks_dirty; /* rasterise before the next analysis */

    int frame_w, frame_h; /* size of the frames the buffers are for */
    int w, h; /* scaled plane */
    int *xs, *ys; /* owned: source column/row where scaled column/row i starts, w+1/h+1 */
    float *inv_nx; /* owned: 1 / the number of source columns of scaled column i */
    uint32_t *acc; /* owned: frame_w row sums */
    uint16_t *sums; /* owned: w column sums */
    uint8_t *cur; /* owned: the scaled frame */
    float *bg; /* owned: background */
    uint8_t *masked; /* owned: 1 where a mask covers the pixel */
    uint8_t *changed; /* owned: 1 where the pixel changed */
    uint8_t *tmp, *dil; /* owned: dilation passes */
    int32_t *label; /* owned: provisional labels, 0 = none */
    int32_t *parent; /* owned: union-find over labels */
    int32_t *slot; /* owned: label root -> region index, -1 none */
    struct region *regions; /* owned */
    size_t unmasked; /* pixels not under a mask */

    bool has_bg;
    int64_t last_us;
    int64_t learn_since_us; /* the background (re)started then */
    bool has_noise;
    float noise; /* running median absolute difference */
    int suppressed_run; /* frames suppressed in a row */
};

static char *field_err(const char *field, const char *why)
{
    return horus_asprintf("%s: %s", field, why);
}

static int resolve_options(const struct det_motion_options *in, struct det_motion_options *o,
                           char **errmsg)
{
    struct det_motion_options z = {0};
    if (!in)
        in = &z;
    *o = *in;
#define DEFAULT(f, v)                                                                              \
    do {                                                                                           \
        if (o->f == 0)                                                                             \
            o->f = (v);                                                                            \
    } while (0)
#define RANGE(f, lo, hi, msg)                                                                      \
    do {                                                                                           \
        if (!(o->f >= (lo) && o->f <= (hi))) {                                                     \
            *errmsg = field_err(#f, "must be " msg);                                               \
            return -EINVAL;                                                                        \
        }                                                                                          \
    } while (0)
    DEFAULT(scale_height, 180);
    DEFAULT(threshold, 25);
    DEFAULT(noise_factor, 4.0f);
    DEFAULT(min_area, 0.0005f);
    DEFAULT(learn_seconds, 20.0f);
    DEFAULT(fast_learn_seconds, o->learn_seconds < 0.3f ? o->learn_seconds : 0.3f);
    DEFAULT(global_fraction, 0.5f);
    DEFAULT(dilate, 2);
    RANGE(scale_height, 1, 1080, "1..1080");
    RANGE(threshold, 1, 254, "1..254");
    RANGE(noise_factor, 1.0f, 50.0f, "1..50");
    RANGE(min_area, 0.0f, 1.0f, "0..1");
    RANGE(learn_seconds, 0.1f, 3600.0f, "0.1..3600");
    RANGE(fast_learn_seconds, 0.01f, 60.0f, "0.01..60");
    if (o->fast_learn_seconds > o->learn_seconds) {
        *errmsg = field_err("fast_learn_seconds", "must not exceed learn_seconds");
        return -EINVAL;
    }
    RANGE(global_fraction, 0.01f, 1.0f, "0.01..1");
    RANGE(dilate, 1, 16, "1..16");
#undef DEFAULT
#undef RANGE
    return 0;
}

int det_motion_new(const struct det_motion_options *opt, struct det_motion **out, char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    struct det_motion_options o;
    int rc = resolve_options(opt, &o, errmsg);
    if (rc < 0)
        return rc;
    struct det_motion *m = horus_calloc(1, sizeof(*m));
    m->opt = o;
    *out = m;
    return 0;
}

static void free_buffers(struct det_motion *m)
{
    free(m->xs);
    free(m->inv_nx);
    free(m->ys);
    free(m->acc);
    free(m->sums);
    free(m->cur);
    free(m->bg);
    free(m->masked);
    free(m->changed);
    free(m->tmp);
    free(m->dil);
    free(m->label);
    free(m->parent);
    free(m->slot);
    free(m->regions);
}

static void free_masks(struct det_motion *m)
{
    for (size_t i = 0; i < m->mask_count; i++)
        free(m->masks[i].points);
    free(m->masks);
    m->masks = NULL;
    m->mask_count = 0;
}

void det_motion_free(struct det_motion *m)
{
    if (!m)
        return;
    free_buffers(m);
    free_masks(m);
    free(m);
}

int det_motion_set_masks(struct det_motion *m, const struct det_motion_mask *masks, size_t n,
                         char **errmsg)
{
    *errmsg = NULL;
    for (size_t i = 0; i < n; i++) {
        if (masks[i].point_count < 3 || !masks[i].points) {
            *errmsg = horus_asprintf("masks[%zu]: needs at least 3 points", i);
            return -EINVAL;
        }
        for (size_t j = 0; j < masks[i].point_count; j++) {
            const struct det_point *p = &masks[i].points[j];
            if (!(p->x >= 0.0f && p->x <= 1.0f) || !(p->y >= 0.0f && p->y <= 1.0f)) {
                *errmsg = horus_asprintf("masks[%zu].points[%zu]: %s must be 0..1", i, j,
                                         !(p->x >= 0.0f && p->x <= 1.0f) ? "x" : "y");
                return -EINVAL;
            }
        }
    }
    free_masks(m);
    if (n > 0) {
        m->masks = horus_calloc(n, sizeof(*m->masks));
        for (size_t i = 0; i < n; i++) {
            m->masks[i].count = masks[i].point_count;
            m->masks[i].points = horus_malloc(masks[i].point_count * sizeof(struct det_point));
            memcpy(m->masks[i].points, masks[i].points,
                   masks[i].point_count * sizeof(struct det_point));
        }
        m->mask_count = n;
    }
    m->masks_dirty = true;
    return 0;
}

/* Even-odd rule: is (x, y) inside polygon p? */
static bool poly_contains(const struct mask_poly *p, float x, float y)
{
    bool in = false;
    for (size_t i = 0, j = p->count - 1; i < p->count; j = i++) {
        float yi = p->points[i].y, yj = p->points[j].y;
        if ((yi > y) != (yj > y)) {
            float xi = p->points[i].x, xj = p->points[j].x;
            float xc = xj + (y - yj) * (xi - xj) / (yi - yj);
            if (x < xc)
                in = !in;
        }
    }
    return in;
}

/* A pixel is masked when its centre lies inside any mask. */
static void rasterise_masks(struct det_motion *m)
{
    size_t n = (size_t)m->w * (size_t)m->h;
    memset(m->masked, 0, n);
    m->unmasked = n;
    for (int y = 0; y < m->h; y++) {
        float fy = ((float)y + 0.5f) / (float)m->h;
        for (int x = 0; x < m->w; x++) {
            float fx = ((float)x + 0.5f) / (float)m->w;
            for (size_t k = 0; k < m->mask_count; k++) {
                if (poly_contains(&m->masks[k], fx, fy)) {
                    m->masked[(size_t)y * (size_t)m->w + (size_t)x] = 1;
                    m->unmasked--;
                    break;
                }
            }
        }
    }
    m->masks_dirty = false;
}

/* (Re)allocates the buffers for frames of width x height. */
static void resize(struct det_motion *m, int width, int height)
{
    free_buffers(m);
    m->frame_w = width;
    m->frame_h = height;
    if (height <= m->opt.scale_height) {
        m->w = width;
        m->h = height;
    } else {
        m->h = m->opt.scale_height;
        long w = lround((double)width * m->h / height);
        m->w = w < 1 ? 1 : (int)w;
    }
    size_t n = (size_t)m->w * (size_t)m->h;
    m->xs = horus_malloc(((size_t)m->w + 1) * sizeof(int));
    m->ys = horus_malloc(((size_t)m->h + 1) * sizeof(int));
    for (int i = 0; i <= m->w; i++)
        m->xs[i] = (int)((int64_t)i * width / m->w);
    for (int i = 0; i <= m->h; i++)
        m->ys[i] = (int)((int64_t)i * height / m->h);
    m->inv_nx = horus_malloc((size_t)m->w * sizeof(float));
    for (int i = 0; i < m->w; i++)
        m->inv_nx[i] = 1.0f / (float)(m->xs[i + 1] - m->xs[i]);
    m->acc = horus_malloc((size_t)width * sizeof(uint32_t));
    m->sums = horus_malloc((size_t)m->w * sizeof(uint16_t));
    m->cur = horus_malloc(n);
    m->bg = horus_malloc(n * sizeof(float));
    m->masked = horus_malloc(n);
    m->changed = horus_malloc(n);
    m->tmp = horus_malloc(n);
    m->dil = horus_malloc(n);
    m->label = horus_malloc(n * sizeof(int32_t));
    m->parent = horus_malloc((n + 1) * sizeof(int32_t));
    m->slot = horus_malloc((n + 1) * sizeof(int32_t));
    m->regions = horus_malloc((n + 1) * sizeof(struct region));
    m->has_bg = false;
    m->has_noise = false;
    m->suppressed_run = 0;
    m->masks_dirty = true;
}

/* Box filter: each scaled pixel is the mean of the frame pixels it covers. */
static void downscale(struct det_motion *m, const uint8_t *luma, int stride)
{
    int fw = m->frame_w;
    if (m->w == fw && m->h == m->frame_h) {
        for (int y = 0; y < m->h; y++)
            memcpy(m->cur + (size_t)y * (size_t)m->w, luma + (size_t)y * (size_t)stride,
                   (size_t)fw);
        return;
    }
    for (int oy = 0; oy < m->h; oy++) {
        int y0 = m->ys[oy], y1 = m->ys[oy + 1];
        const uint8_t *row = luma + (size_t)y0 * (size_t)stride;
        for (int x = 0; x < fw; x++)
            m->acc[x] = row[x];
        for (int y = y0 + 1; y < y1; y++) {
            row = luma + (size_t)y * (size_t)stride;
            for (int x = 0; x < fw; x++)
                m->acc[x] += row[x];
        }
        uint8_t *out = m->cur + (size_t)oy * (size_t)m->w;
        float inv_ny = 1.0f / (float)(y1 - y0);
        for (int ox = 0; ox < m->w; ox++) {
            uint32_t sum = 0;
            for (int x = m->xs[ox]; x < m->xs[ox + 1]; x++)
                sum += m->acc[x];
            out[ox] = (uint8_t)((float)sum * m->inv_nx[ox] * inv_ny + 0.5f);
        }
    }
}

/* dst = how many of src's pixels in the row window [x - r, x + r] are set
   (running counts: the cost does not depend on r). */
static void count_rows(const uint8_t *src, uint8_t *dst, int w, int h, int r)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *in = src + (size_t)y * (size_t)w;
        uint8_t *out = dst + (size_t)y * (size_t)w;
        int count = 0;
        for (int x = 0; x < r && x < w; x++)
            count += in[x];
        for (int x = 0; x < w; x++) {
            if (x + r < w)
                count += in[x + r];
            if (x - r - 1 >= 0)
                count -= in[x - r - 1];
            out[x] = (uint8_t)count;
        }
    }
}

/* dst = 1 where the column window [y - r, y + r] of src sums to at least
   min (row by row, with the running sums of every column in sums). */
static void sum_columns(const uint8_t *src, uint8_t *dst, int w, int h, int r, int min,
                        uint16_t *sums)
{
    memset(sums, 0, (size_t)w * sizeof(*sums));
    for (int y = 0; y < r && y < h; y++) {
        const uint8_t *in = src + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++)
            sums[x] += in[x];
    }
    for (int y = 0; y < h; y++) {
        if (y + r < h) {
            const uint8_t *in = src + (size_t)(y + r) * (size_t)w;
            for (int x = 0; x < w; x++)
                sums[x] += in[x];
        }
        if (y - r - 1 >= 0) {
            const uint8_t *in = src + (size_t)(y - r - 1) * (size_t)w;
            for (int x = 0; x < w; x++)
                sums[x] -= in[x];
        }
        uint8_t *out = dst + (size_t)y * (size_t)w;
        for (int x = 0; x < w; x++)
            out[x] = sums[x] >= min;
    }
}

/* The seeds of the regions, in dil: pixels with at least 4 changed pixels
   in their 3x3 neighbourhood (lines one pixel thin, such as a contrasted
   edge trembling with the camera, and lone specks are no seeds), dilated
   by the dilation radius so that the pieces of one object join. */
static void seed_regions(struct det_motion *m)
{
    int w = m->w, h = m->h, r = m->opt.dilate;
    count_rows(m->changed, m->tmp, w, h, 1);
    sum_columns(m->tmp, m->dil, w, h, 1, 4, m->sums);
    count_rows(m->dil, m->tmp, w, h, r);
    sum_columns(m->tmp, m->dil, w, h, r, 1, m->sums);
}

static int32_t uf_find(int32_t *parent, int32_t a)
{
    while (parent[a] != a) {
        parent[a] = parent[parent[a]];
        a = parent[a];
    }
    return a;
}

static void uf_union(int32_t *parent, int32_t a, int32_t b)
{
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

/* Labels the 8-connected regions of dil and measures their changed pixels.
   Returns the number of regions in m->regions. */
static size_t label_regions(struct det_motion *m)
{
    int w = m->w, h = m->h;
    int32_t next = 1;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            if (!m->dil[i]) {
                m->label[i] = 0;
                continue;
            }
            /* Already-labelled neighbours: W, NW, N, NE. */
            int32_t nb[4];
            int k = 0;
            if (x > 0 && m->label[i - 1])
                nb[k++] = m->label[i - 1];
            if (y > 0) {
                size_t up = i - (size_t)w;
                if (x > 0 && m->label[up - 1])
                    nb[k++] = m->label[up - 1];
                if (m->label[up])
                    nb[k++] = m->label[up];
                if (x + 1 < w && m->label[up + 1])
                    nb[k++] = m->label[up + 1];
            }
            if (k == 0) {
                m->parent[next] = next;
                m->label[i] = next++;
                continue;
            }
            int32_t l = nb[0];
            for (int j = 1; j < k; j++) {
                if (nb[j] != l)
                    uf_union(m->parent, l, nb[j]);
            }
            m->label[i] = l;
        }
    }
    for (int32_t l = 1; l < next; l++)
        m->slot[l] = -1;
    size_t count = 0;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * (size_t)w + (size_t)x;
            if (!m->label[i] || !m->changed[i])
                continue;
            int32_t root = uf_find(m->parent, m->label[i]);
            if (m->slot[root] < 0) {
                m->slot[root] = (int32_t)count;
                m->regions[count++] = (struct region){x, y, x, y, 0};
            }
            struct region *r = &m->regions[m->slot[root]];
            if (x < r->x0)
                r->x0 = x;
            if (x > r->x1)
                r->x1 = x;
            if (y > r->y1)
                r->y1 = y;
            r->changed++;
        }
    }
    return count;
}

static int region_by_area(const void *a, const void *b)
{
    const struct region *ra = a, *rb = b;
    long aa = (long)(ra->x1 - ra->x0 + 1) * (ra->y1 - ra->y0 + 1);
    long ab = (long)(rb->x1 - rb->x0 + 1) * (rb->y1 - rb->y0 + 1);
    if (aa != ab)
        return aa > ab ? -1 : 1;
    return ra->changed > rb->changed ? -1 : ra->changed < rb->changed;
}

static int threshold_for(const struct det_motion_options *o, bool has_noise, float noise)
{
    int thr = o->threshold;
    if (has_noise) {
        int floor = (int)ceilf(o->noise_factor * noise);
        if (floor > thr)
            thr = floor > 254 ? 254 : floor;
    }
    return thr;
}

/* The median of the histogram's n values. */
static int hist_median(const uint32_t *hist, size_t n)
{
    size_t seen = 0;
    for (int v = 0; v < 256; v++) {
        seen += hist[v];
        if (seen * 2 >= n)
            return v;
    }
    return 255;
}

int det_motion_feed(struct det_motion *m, const uint8_t *luma, int width, int height, int stride,
                    int64_t time_us, struct det_box *out, size_t cap, struct det_motion_result *res)
{
    struct det_motion_result r = {0};
    if (res)
        *res = r;
    if (!luma || width < 1 || width > 16384 || height < 1 || height > 16384 || stride < width)
        return -EINVAL;
    if (width != m->frame_w || height != m->frame_h)
        resize(m, width, height);
    if (m->masks_dirty)
        rasterise_masks(m);
    downscale(m, luma, stride);
    size_t n = (size_t)m->w * (size_t)m->h;
    const struct det_motion_options *o = &m->opt;

    if (!m->has_bg) {
        for (size_t i = 0; i < n; i++)
            m->bg[i] = m->cur[i];
        m->has_bg = true;
        m->last_us = time_us;
        m->learn_since_us = time_us;
        r.threshold = o->threshold;
        if (res)
            *res = r;
        return 0;
    }

    /* The change of each pixel, and how the unmasked ones are spread. */
    uint32_t hist[256] = {0};
    uint8_t *diff = m->tmp; /* free until the dilation */
    for (size_t i = 0; i < n; i++)
        diff[i] = (uint8_t)(fabsf((float)m->cur[i] - m->bg[i]) + 0.5f);
    for (size_t i = 0; i < n; i++)
        hist[diff[i]] += !m->masked[i];

    /* A global change is judged against the noise known before this frame:
       a scene that jumped in brightness has a huge median difference. */
    int thr = threshold_for(o, m->has_noise, m->noise);
    size_t changed = 0;
    for (int v = thr + 1; v < 256; v++)
        changed += hist[v];
    r.threshold = thr;
    r.changed_fraction = m->unmasked ? (float)changed / (float)m->unmasked : 0.0f;

    int64_t dt = time_us - m->last_us;
    if (dt < 0)
        dt = 0;
    m->last_us = time_us;

    bool global = m->unmasked > 0 && r.changed_fraction > o->global_fraction;
    if (global && (!m->has_noise || m->suppressed_run > 0)) {
        /* Nothing known of the noise yet, or the background restarted from
           the previous frame: what differs this much may be the camera's
           own noise (a high gain at night). Measure it on this frame and
           judge again. */
        m->noise = (float)hist_median(hist, m->unmasked);
        m->has_noise = true;
        thr = threshold_for(o, true, m->noise);
        changed = 0;
        for (int v = thr + 1; v < 256; v++)
            changed += hist[v];
        r.threshold = thr;
        r.changed_fraction = (float)changed / (float)m->unmasked;
        global = r.changed_fraction > o->global_fraction;
    }
    if (global) {
        /* Lights, IR switch, a moved camera: start the background again
           and learn fast while the picture settles. */
        for (size_t i = 0; i < n; i++)
            m->bg[i] = m->cur[i];
        m->learn_since_us = time_us;
        m->suppressed_run++;
        r.is_suppressed = true;
        if (res)
            *res = r;
        return 0;
    }
    m->suppressed_run = 0;

    /* The noise floor follows the running median difference; the first
       compared frame measures it before it is thresholded. */
    if (m->unmasked > 0) {
        float med = (float)hist_median(hist, m->unmasked);
        m->noise = m->has_noise ? m->noise + 0.1f * (med - m->noise) : med;
        m->has_noise = true;
    }
    thr = threshold_for(o, m->has_noise, m->noise);
    changed = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = diff[i] > thr && !m->masked[i];
        m->changed[i] = c;
        changed += c;
    }
    r.threshold = thr;
    r.changed_fraction = m->unmasked ? (float)changed / (float)m->unmasked : 0.0f;

    /* The time constant grows with the background's age: a running mean of
       everything seen since the (re)start, so the objects of the first
       frame fade at once, until it reaches learn_seconds. */
    float tau = (float)(time_us - m->learn_since_us) / 1e6f;
    if (tau < o->fast_learn_seconds)
        tau = o->fast_learn_seconds;
    if (tau > o->learn_seconds)
        tau = o->learn_seconds;
    float alpha = 1.0f - expf(-(float)dt / (tau * 1e6f));
    for (size_t i = 0; i < n; i++)
        m->bg[i] += alpha * ((float)m->cur[i] - m->bg[i]);

    if (changed == 0) {
        if (res)
            *res = r;
        return 0;
    }
    seed_regions(m);
    size_t count = label_regions(m);
    size_t min_px = (size_t)ceilf(o->min_area * (float)n);
    if (min_px < 1)
        min_px = 1;
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        if ((size_t)m->regions[i].changed >= min_px)
            m->regions[kept++] = m->regions[i];
    }
    qsort(m->regions, kept, sizeof(*m->regions), region_by_area);
    r.region_count = kept;
    for (size_t i = 0; i < kept && i < cap; i++) {
        const struct region *g = &m->regions[i];
        int bw = g->x1 - g->x0 + 1, bh = g->y1 - g->y0 + 1;
        out[i] = (struct det_box){
            .x0 = (float)g->x0 / (float)m->w,
            .y0 = (float)g->y0 / (float)m->h,
            .x1 = (float)(g->x1 + 1) / (float)m->w,
            .y1 = (float)(g->y1 + 1) / (float)m->h,
            .score = (float)g->changed / (float)(bw * bh),
            .label = -1,
        };
        r.box_count++;
    }
    if (res)
        *res = r;
    return 0;
}
