/*
 * DESIGN: decodes YOLO heads (heads_int.h): YOLOv5's [1,N,5+C] rows with
 * objectness and YOLOv8's channel-major [1,4+C,N] without. One candidate per
 * anchor, its best class; boxes are centre and size in input pixels. Pure
 * arithmetic on borrowed arrays; non-finite values are skipped.
 */
#include "heads_int.h"

#include <math.h>

size_t det_yolo_decode(const struct det_yolo_out *o, float min_score, struct det_box *out,
                       size_t cap)
{
    size_t n = 0;
    int first = o->objectness ? 5 : 4; /* the first class column */
    size_t attrs = (size_t)first + (size_t)o->classes;
    for (int i = 0; i < o->n && n < cap; i++) {
        const float *row = o->channel_major ? o->data + i : o->data + (size_t)i * attrs;
        size_t step = o->channel_major ? (size_t)o->n : 1;
        float obj = o->objectness ? row[4 * step] : 1.0f;
        if (!(obj >= min_score))
            continue;
        int best = 0;
        float top = row[(size_t)first * step];
        for (int c = 1; c < o->classes; c++) {
            float v = row[((size_t)first + (size_t)c) * step];
            if (v > top || !(top == top)) {
                top = v;
                best = c;
            }
        }
        float score = obj * top;
        if (!(score >= min_score) || !isfinite(score))
            continue;
        float cx = row[0], cy = row[step], w = row[2 * step], h = row[3 * step];
        struct det_box b = {
            .x0 = cx - w / 2,
            .y0 = cy - h / 2,
            .x1 = cx + w / 2,
            .y1 = cy + h / 2,
            .score = score,
            .label = best,
        };
        if (!isfinite(b.x0) || !isfinite(b.y0) || !isfinite(b.x1) || !isfinite(b.y1))
            continue;
        out[n++] = b;
    }
    return n;
}
