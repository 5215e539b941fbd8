/*
 * DESIGN: the step every non-NanoDet head shares after decoding: boxes in
 * the model input's pixels go back through the letterbox into normalised
 * frame coordinates (heads_int.h). Pure arithmetic, any thread.
 */
#include "heads_int.h"

#include <math.h>

static float clip01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

size_t det_head_to_frame(struct det_box *boxes, size_t n, const struct det_letterbox *lb)
{
    size_t kept = 0;
    float kx = 1.0f / lb->scale / (float)lb->frame_w, ky = 1.0f / lb->scale / (float)lb->frame_h;
    for (size_t i = 0; i < n; i++) {
        struct det_box b = boxes[i];
        b.x0 = clip01((b.x0 - lb->pad_x) * kx);
        b.x1 = clip01((b.x1 - lb->pad_x) * kx);
        b.y0 = clip01((b.y0 - lb->pad_y) * ky);
        b.y1 = clip01((b.y1 - lb->pad_y) * ky);
        if (!isfinite(b.x0) || !isfinite(b.y0) || !isfinite(b.x1) || !isfinite(b.y1) ||
            !(b.x1 > b.x0) || !(b.y1 > b.y0) || !(b.score >= 0))
            continue;
        if (b.score > 1)
            b.score = 1;
        boxes[kept++] = b;
    }
    return kept;
}
