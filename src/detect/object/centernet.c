/*
 * DESIGN: decodes a CenterNet head (heads_int.h): peaks of a per-class
 * heatmap (a cell at least as high as its 8 neighbours, what a 3x3
 * max-pool picks) become boxes from the size (and offset) maps. Pure
 * arithmetic on borrowed arrays; every model value is untrusted (a NaN is never
 * a peak nor beats one, non-finite boxes are skipped).
 */
#include "heads_int.h"

#include <math.h>

/* Value of channel c at (x, y). */
static float at(const float *a, int channels, const struct det_centernet_out *o, int c, int x,
                int y)
{
    size_t cells = (size_t)o->grid_w * (size_t)o->grid_h;
    size_t cell = (size_t)y * (size_t)o->grid_w + (size_t)x;
    return o->nhwc ? a[cell * (size_t)channels + (size_t)c] : a[(size_t)c * cells + cell];
}

static int is_peak(const struct det_centernet_out *o, int c, int x, int y, float v)
{
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            int nx = x + dx, ny = y + dy;
            if ((dx || dy) && nx >= 0 && ny >= 0 && nx < o->grid_w && ny < o->grid_h &&
                at(o->heatmap, o->classes, o, c, nx, ny) > v)
                return 0;
        }
    return 1;
}

size_t det_centernet_decode(const struct det_centernet_out *o, float min_score, struct det_box *out,
                            size_t cap)
{
    size_t n = 0;
    float s = o->stride;
    for (int y = 0; y < o->grid_h; y++)
        for (int x = 0; x < o->grid_w; x++)
            for (int c = 0; c < o->classes; c++) {
                float v = at(o->heatmap, o->classes, o, c, x, y);
                if (!(v >= min_score) || !isfinite(v) || !is_peak(o, c, x, y, v))
                    continue;
                if (n == cap)
                    return n;
                struct det_box b = {.score = v, .label = c};
                if (o->size_channels == 4) {
                    float cx = (float)x * s, cy = (float)y * s;
                    b.x0 = cx - at(o->size, 4, o, 0, x, y);
                    b.y0 = cy - at(o->size, 4, o, 1, x, y);
                    b.x1 = cx + at(o->size, 4, o, 2, x, y);
                    b.y1 = cy + at(o->size, 4, o, 3, x, y);
                } else {
                    float dx = o->offset ? at(o->offset, 2, o, 0, x, y) : 0;
                    float dy = o->offset ? at(o->offset, 2, o, 1, x, y) : 0;
                    float cx = ((float)x + dx) * s, cy = ((float)y + dy) * s;
                    float hw = at(o->size, 2, o, 0, x, y) * s / 2;
                    float hh = at(o->size, 2, o, 1, x, y) * s / 2;
                    b.x0 = cx - hw;
                    b.x1 = cx + hw;
                    b.y0 = cy - hh;
                    b.y1 = cy + hh;
                }
                if (!isfinite(b.x0) || !isfinite(b.y0) || !isfinite(b.x1) || !isfinite(b.y1))
                    continue;
                out[n++] = b;
            }
    return n;
}
