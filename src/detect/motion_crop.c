/*
 * DESIGN: the crop planner (docs/design/0037-motion.md): motion boxes in,
 * the frame rectangles the object detector runs on out, and the way back
 * from crop coordinates to frame coordinates.
 *
 * A detector letterboxes its input to a fixed size (320 or 416 pixels), so
 * on a 1920x1080 frame a person 40 pixels tall shrinks to 9. Cropping a
 * region of about the model's input size around the motion keeps such an
 * object at native resolution (Frigate's "regions"). Each crop covers its
 * padded motion box, has the model input's aspect and at least its size,
 * and is shifted (not shrunk) to stay inside the frame. Crops that overlap
 * much cover their union instead; while there are too many, the pair whose
 * union is smallest merges. When the crops would cover most of the frame,
 * one crop of the whole frame costs less and sees everything.
 *
 * Pure functions; no allocation beyond a scratch array per call.
 */
#include "motion.h"

#include <stdlib.h>

#include "mem.h"

struct rectf {
    float x0, y0, x1, y1;
};

struct plan {
    struct rectf content; /* what the crop must cover, pixels */
    struct det_crop crop;
};

struct geometry {
    int fw, fh; /* frame */
    int iw, ih; /* model input */
};

static float maxf(float a, float b)
{
    return a > b ? a : b;
}

static float minf(float a, float b)
{
    return a < b ? a : b;
}

/* One axis: a span of length len centred on [c0, c1], inside [0, limit). */
static void place(float c0, float c1, float len, int limit, int *pos, int *size)
{
    int s = (int)(len + 0.999f);
    if (s > limit)
        s = limit;
    if (s < 1)
        s = 1;
    int p = (int)((c0 + c1) / 2.0f - (float)s / 2.0f + 0.5f);
    if (p + s > limit)
        p = limit - s;
    if (p < 0)
        p = 0;
    *pos = p;
    *size = s;
}

/* The crop around content: the input's aspect, at least the input size. */
static struct det_crop crop_for(const struct rectf *c, const struct geometry *g)
{
    float aspect = (float)g->iw / (float)g->ih;
    float cw = c->x1 - c->x0, ch = c->y1 - c->y0;
    float w = maxf(maxf(cw, ch * aspect), (float)g->iw);
    float h = maxf(ch, w / aspect);
    struct det_crop out;
    place(c->x0, c->x1, w, g->fw, &out.x, &out.width);
    place(c->y0, c->y1, h, g->fh, &out.y, &out.height);
    return out;
}

static long crop_area(const struct det_crop *c)
{
    return (long)c->width * c->height;
}

static long crop_inter(const struct det_crop *a, const struct det_crop *b)
{
    int x0 = a->x > b->x ? a->x : b->x;
    int y0 = a->y > b->y ? a->y : b->y;
    int x1 = a->x + a->width < b->x + b->width ? a->x + a->width : b->x + b->width;
    int y1 = a->y + a->height < b->y + b->height ? a->y + a->height : b->y + b->height;
    if (x1 <= x0 || y1 <= y0)
        return 0;
    return (long)(x1 - x0) * (y1 - y0);
}

static struct rectf rect_union(const struct rectf *a, const struct rectf *b)
{
    return (struct rectf){minf(a->x0, b->x0), minf(a->y0, b->y0), maxf(a->x1, b->x1),
                          maxf(a->y1, b->y1)};
}

/* Merges plan j into plan i and removes j. */
static size_t merge(struct plan *p, size_t n, size_t i, size_t j, const struct geometry *g)
{
    p[i].content = rect_union(&p[i].content, &p[j].content);
    p[i].crop = crop_for(&p[i].content, g);
    p[j] = p[n - 1];
    return n - 1;
}

size_t det_crop_plan(const struct det_box *motion, size_t n, int frame_width, int frame_height,
                     int input_width, int input_height, const struct det_crop_options *opt,
                     struct det_crop *out)
{
    if (n == 0 || frame_width < 1 || frame_height < 1 || input_width < 1 || input_height < 1)
        return 0;
    struct det_crop_options o = opt ? *opt : (struct det_crop_options){0};
    if (o.max_crops <= 0)
        o.max_crops = 4;
    if (o.max_crops > 16)
        o.max_crops = 16;
    if (o.margin <= 0.0f)
        o.margin = 0.2f;
    if (o.merge_fraction <= 0.0f)
        o.merge_fraction = 0.3f;
    if (o.full_fraction <= 0.0f)
        o.full_fraction = 0.6f;
    struct geometry g = {frame_width, frame_height, input_width, input_height};

    struct plan *p = horus_malloc(n * sizeof(*p));
    for (size_t i = 0; i < n; i++) {
        const struct det_box *b = &motion[i];
        struct rectf c = {b->x0 * (float)frame_width, b->y0 * (float)frame_height,
                          b->x1 * (float)frame_width, b->y1 * (float)frame_height};
        float pad = o.margin * maxf(c.x1 - c.x0, c.y1 - c.y0);
        c = (struct rectf){maxf(c.x0 - pad, 0.0f), maxf(c.y0 - pad, 0.0f),
                           minf(c.x1 + pad, (float)frame_width),
                           minf(c.y1 + pad, (float)frame_height)};
        p[i] = (struct plan){c, crop_for(&c, &g)};
    }

    for (;;) {
        size_t bi = 0, bj = 0;
        bool found = false;
        for (size_t i = 0; i < n && !found; i++) {
            for (size_t j = i + 1; j < n && !found; j++) {
                long small = crop_area(&p[i].crop) < crop_area(&p[j].crop) ? crop_area(&p[i].crop)
                                                                           : crop_area(&p[j].crop);
                if ((float)crop_inter(&p[i].crop, &p[j].crop) > o.merge_fraction * (float)small) {
                    bi = i;
                    bj = j;
                    found = true;
                }
            }
        }
        if (!found && n > (size_t)o.max_crops) {
            long best = -1;
            for (size_t i = 0; i < n; i++) {
                for (size_t j = i + 1; j < n; j++) {
                    struct rectf u = rect_union(&p[i].content, &p[j].content);
                    struct det_crop c = crop_for(&u, &g);
                    long cost = crop_area(&c) - crop_area(&p[i].crop) - crop_area(&p[j].crop) +
                                crop_inter(&p[i].crop, &p[j].crop);
                    if (best < 0 || cost < best) {
                        best = cost;
                        bi = i;
                        bj = j;
                    }
                }
            }
            found = true;
        }
        if (!found)
            break;
        n = merge(p, n, bi, bj, &g);
    }

    long covered = 0;
    for (size_t i = 0; i < n; i++)
        covered += crop_area(&p[i].crop);
    if ((float)covered > o.full_fraction * (float)frame_width * (float)frame_height) {
        out[0] = (struct det_crop){0, 0, frame_width, frame_height};
        n = 1;
    } else {
        for (size_t i = 0; i < n; i++)
            out[i] = p[i].crop;
    }
    free(p);
    return n;
}

void det_crop_to_frame(const struct det_crop *c, int frame_width, int frame_height,
                       struct det_box *boxes, size_t n)
{
    float sx = (float)c->width / (float)frame_width, sy = (float)c->height / (float)frame_height;
    float ox = (float)c->x / (float)frame_width, oy = (float)c->y / (float)frame_height;
    for (size_t i = 0; i < n; i++) {
        struct det_box *b = &boxes[i];
        b->x0 = minf(maxf(ox + b->x0 * sx, 0.0f), 1.0f);
        b->x1 = minf(maxf(ox + b->x1 * sx, 0.0f), 1.0f);
        b->y0 = minf(maxf(oy + b->y0 * sy, 0.0f), 1.0f);
        b->y1 = minf(maxf(oy + b->y1 * sy, 0.0f), 1.0f);
    }
}

static float box_area(const struct det_box *b)
{
    return maxf(b->x1 - b->x0, 0.0f) * maxf(b->y1 - b->y0, 0.0f);
}

static float box_inter(const struct det_box *a, const struct det_box *b)
{
    float w = minf(a->x1, b->x1) - maxf(a->x0, b->x0);
    float h = minf(a->y1, b->y1) - maxf(a->y0, b->y0);
    return w > 0.0f && h > 0.0f ? w * h : 0.0f;
}

size_t det_crop_nms(struct det_box *boxes, size_t n, float iou)
{
    n = det_nms(boxes, n, iou);
    size_t kept = 0;
    for (size_t j = 0; j < n; j++) {
        bool inside = false;
        float area = box_area(&boxes[j]);
        for (size_t i = 0; i < kept && !inside; i++) {
            inside =
                boxes[i].label == boxes[j].label && box_inter(&boxes[i], &boxes[j]) > 0.7f * area;
        }
        if (!inside)
            boxes[kept++] = boxes[j];
    }
    return kept;
}
