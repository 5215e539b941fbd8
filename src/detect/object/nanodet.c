/*
 * DESIGN: decodes NanoDet's per-level class scores and distribution box
 * regression (GFL) into boxes; see nanodet_int.h for the layout. Pure
 * arithmetic on borrowed arrays: no allocation, no runtime, any thread.
 * Every value from the model is treated as untrusted (the fuzzer feeds
 * NaN and infinities): a cell whose score or box is not finite is skipped.
 * det_nanodet_layout is the one check of a model's outputs that every
 * backend shares, so that a wrong model fails the same way in each.
 */
#include "nanodet_int.h"

#include "err.h"
#include "mem.h"

#include <math.h>
#include <stdio.h>

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

void det_nanodet_format_shape(char *buf, size_t size, const int64_t *dims, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    len += (size_t)snprintf(buf + len, size - len, "[");
    for (size_t i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

int det_nanodet_layout(const struct det_nanodet_output *outs, size_t n, int input_w, int input_h,
                       int labels, struct det_nanodet_head *heads, int *nheads, int *bins,
                       char **errmsg)
{
    *nheads = 0;
    *bins = 0;
    if (n < 2 || n > 2 * DET_NANODET_MAX_LEVELS) {
        *errmsg = horus_asprintf("has %zu outputs, expected 2 per level (scores and distances), "
                                 "at most %d levels",
                                 n, DET_NANODET_MAX_LEVELS);
        return HORUS_ECONFIG;
    }
    int64_t cells[2 * DET_NANODET_MAX_LEVELS], last[2 * DET_NANODET_MAX_LEVELS];
    for (size_t i = 0; i < n; i++) {
        const int64_t *dims = outs[i].dims;
        size_t nd = outs[i].ndims;
        int stride = nd == 3 && dims[1] > 0 && dims[1] < (1 << 24)
                         ? det_nanodet_stride(input_w, input_h, (int)dims[1])
                         : 0;
        if (nd != 3 || (dims[0] != 1 && dims[0] != -1) || stride == 0 ||
            (dims[2] != labels && (dims[2] % 4 != 0 || dims[2] < 8 || dims[2] > 256))) {
            char shape[128];
            det_nanodet_format_shape(shape, sizeof(shape), dims, nd > 8 ? 8 : nd);
            *errmsg = horus_asprintf(
                "output '%s' has shape %s, expected [1,N,%d] (scores) or [1,N,4*bins] "
                "(distances) with N the cells of a stride 8..128 grid over %dx%d",
                outs[i].name, shape, labels, input_w, input_h);
            return HORUS_ECONFIG;
        }
        cells[i] = dims[1];
        last[i] = dims[2];
    }
    /* pair by cell count: the output with `labels` columns holds the scores */
    int count = 0;
    for (size_t i = 0; i < n; i++) {
        if (last[i] != labels)
            continue;
        int dist = -1;
        for (size_t k = 0; k < n; k++)
            if (k != i && cells[k] == cells[i] && last[k] != labels)
                dist = (int)k;
        if (dist < 0) {
            *errmsg =
                horus_asprintf("scores output '%s' ([1,%lld,%d]) has no distances output "
                               "with %lld cells",
                               outs[i].name, (long long)cells[i], labels, (long long)cells[i]);
            return HORUS_ECONFIG;
        }
        if (*bins && last[dist] / 4 != *bins) {
            *errmsg =
                horus_asprintf("output '%s' has %lld bins per side, '%s' %d", outs[dist].name,
                               (long long)last[dist] / 4, outs[heads[0].dist_output].name, *bins);
            return HORUS_ECONFIG;
        }
        *bins = (int)last[dist] / 4;
        heads[count++] = (struct det_nanodet_head){
            .scores_output = (int)i,
            .dist_output = dist,
            .cells = (int)cells[i],
            .stride = det_nanodet_stride(input_w, input_h, (int)cells[i]),
        };
    }
    if ((size_t)count * 2 != n) {
        /* name the first output no level took */
        size_t odd = 0;
        for (size_t i = 0; i < n; i++) {
            int used = 0;
            for (int l = 0; l < count; l++)
                used |= heads[l].scores_output == (int)i || heads[l].dist_output == (int)i;
            if (!used) {
                odd = i;
                break;
            }
        }
        *errmsg = horus_asprintf("output '%s' has shape [1,%lld,%lld], expected [1,N,%d] (scores "
                                 "of %d labels) paired with [1,N,4*bins] (distances); is the "
                                 "labels file the model's?",
                                 outs[odd].name, (long long)cells[odd], (long long)last[odd],
                                 labels, labels);
        return HORUS_ECONFIG;
    }
    *nheads = count;
    return 0;
}
