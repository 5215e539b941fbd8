/*
 * DESIGN: decodes NanoDet's per-level class scores and distribution box
 * regression (GFL) into boxes; see nanodet_int.h for the layout. Pure
 * arithmetic on borrowed arrays: no allocation, no runtime, any thread.
 * Every value from the model is treated as untrusted (the fuzzer feeds
 * NaN and infinities): a cell whose score or box is not finite is skipped.
 */
#include "nanodet_int.h"

#include <math.h>

int det_nanodet_stride(int w, int h, int cells)
{
    for (int s = 8; s <= 128; s *= 2) {
        long gw = (w + s - 1) / s, gh = (h + s - 1) / s;
        if (gw * gh == cells)
            return s;
    }
    return 0;
}

/* Expected bin of one side: softmax over bins logits, then the mean. */
static float side_distance(const float *logits, int bins)
{
    float max = logits[0];
    for (int b = 1; b < bins; b++)
        if (logits[b] > max)
            max = logits[b];
    float sum = 0, acc = 0;
    for (int b = 0; b < bins; b++) {
        float e = expf(logits[b] - max);
        sum += e;
        acc += e * (float)b;
    }
    return acc / sum;
}

static float clip01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

size_t det_nanodet_decode(const struct det_nanodet_level *levels, int nlevels, int classes,
                          int bins, const struct det_letterbox *lb, float min_score,
                          struct det_box *out, size_t cap)
{
    size_t n = 0;
    for (int l = 0; l < nlevels; l++) {
        const struct det_nanodet_level *lv = &levels[l];
        int gw = (lb->input_w + lv->stride - 1) / lv->stride;
        for (int i = 0; i < lv->cells && n < cap; i++) {
            const float *sc = lv->scores + (size_t)i * classes;
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (sc[c] > sc[best])
                    best = c;
            float score = sc[best];
            if (!(score >= min_score) || !isfinite(score))
                continue;
            const float *d = lv->dist + (size_t)i * 4 * bins;
            float cx = ((float)(i % gw) + 0.5f) * (float)lv->stride;
            float cy = ((float)(i / gw) + 0.5f) * (float)lv->stride;
            float s = (float)lv->stride;
            float x0 = cx - side_distance(d, bins) * s;
            float y0 = cy - side_distance(d + bins, bins) * s;
            float x1 = cx + side_distance(d + 2 * bins, bins) * s;
            float y1 = cy + side_distance(d + 3 * bins, bins) * s;
            struct det_box b = {
                .x0 = clip01((x0 - lb->pad_x) / lb->scale / (float)lb->frame_w),
                .y0 = clip01((y0 - lb->pad_y) / lb->scale / (float)lb->frame_h),
                .x1 = clip01((x1 - lb->pad_x) / lb->scale / (float)lb->frame_w),
                .y1 = clip01((y1 - lb->pad_y) / lb->scale / (float)lb->frame_h),
                .score = score > 1 ? 1 : score,
                .label = best,
            };
            if (!isfinite(b.x0) || !isfinite(b.y0) || !isfinite(b.x1) || !isfinite(b.y1) ||
                !(b.x1 > b.x0) || !(b.y1 > b.y0))
                continue;
            out[n++] = b;
        }
    }
    return n;
}
