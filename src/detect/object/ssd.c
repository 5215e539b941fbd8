/*
 * DESIGN: decodes SSD heads (heads_int.h): the raw form (boxes + per-class
 * scores, optionally with a background column) and the post-processed
 * four-output form of TF Object Detection API exports (boxes, classes,
 * scores, count). Boxes are ymin, xmin, ymax, xmax normalised to the input.
 * Pure arithmetic on borrowed arrays; non-finite values are skipped.
 */
#include "heads_int.h"

#include <math.h>

static int put(const float *yxyx, int w, int h, float score, int label, struct det_box *out)
{
    struct det_box b = {
        .x0 = yxyx[1] * (float)w,
        .y0 = yxyx[0] * (float)h,
        .x1 = yxyx[3] * (float)w,
        .y1 = yxyx[2] * (float)h,
        .score = score,
        .label = label,
    };
    if (!isfinite(b.x0) || !isfinite(b.y0) || !isfinite(b.x1) || !isfinite(b.y1))
        return 0;
    *out = b;
    return 1;
}

size_t det_ssd_decode_raw(const struct det_ssd_raw *o, int input_w, int input_h, float min_score,
                          struct det_box *out, size_t cap)
{
    size_t n = 0;
    int first = o->background ? 1 : 0;
    for (int i = 0; i < o->n && n < cap; i++) {
        const float *sc = o->scores + (size_t)i * (size_t)o->score_cols;
        int best = first;
        for (int c = first + 1; c < o->score_cols; c++)
            if (sc[c] > sc[best] || !(sc[best] == sc[best]))
                best = c;
        if (best >= o->score_cols || !(sc[best] >= min_score) || !isfinite(sc[best]))
            continue;
        n += (size_t)put(o->boxes + (size_t)i * 4, input_w, input_h, sc[best], best - first,
                         &out[n]);
    }
    return n;
}

size_t det_ssd_decode_post(const struct det_ssd_post *o, int input_w, int input_h, float min_score,
                           struct det_box *out, size_t cap)
{
    size_t n = 0;
    int count = o->k;
    if (!(o->count < (float)o->k)) /* also NaN: all rows, each still checked */
        count = o->k;
    else if (!(o->count > 0))
        count = 0;
    else
        count = (int)o->count;
    for (int i = 0; i < count && n < cap; i++) {
        float cls = o->classes[i], score = o->scores[i];
        if (!(score >= min_score) || !isfinite(score) || !isfinite(cls))
            continue;
        float label = floorf(cls + 0.5f) - (float)o->class_offset;
        if (!(label >= 0 && label < (float)o->labels))
            continue;
        n += (size_t)put(o->boxes + (size_t)i * 4, input_w, input_h, score, (int)label, &out[n]);
    }
    return n;
}
