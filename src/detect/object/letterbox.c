/*
 * DESIGN: NanoDet's input, shared by every backend that runs the model
 * (onnx.c, opencv.cpp) so that they feed it the same floats and find the
 * same boxes. Plain C bilinear sampling: per input column the left source
 * pixel and the right one's weight are computed once per frame, then every
 * row blends two source rows. The frame keeps its aspect ratio and is
 * centred; the border is the mean colour, which normalises to 0. The
 * output is planar B, G, R ((v - mean) / std per channel), as NanoDet was
 * trained. No allocation per frame: the buffers come from _init.
 */
#include "nanodet_int.h"

#include "mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* NanoDet's training normalisation, in the model's channel order (B, G, R).
   Other heads pass theirs to det_input_letterbox (heads_select.c). */
static const float mean_bgr[3] = {103.53f, 116.28f, 123.675f};
static const float std_bgr[3] = {57.375f, 57.12f, 58.395f};

void det_nanodet_input_init(struct det_nanodet_input *in, int width, int height)
{
    size_t plane = (size_t)width * (size_t)height;
    *in = (struct det_nanodet_input){
        .width = width,
        .height = height,
        .planes = horus_malloc(3 * plane * sizeof(float)),
        .xi = horus_malloc((size_t)width * sizeof(int)),
        .xw = horus_malloc((size_t)width * sizeof(float)),
    };
}

void det_nanodet_input_free(struct det_nanodet_input *in)
{
    free(in->planes);
    free(in->xi);
    free(in->xw);
    *in = (struct det_nanodet_input){0};
}

void det_input_letterbox(struct det_nanodet_input *in, const struct det_frame *f,
                         const float mean[3], const float std[3], int is_bgr,
                         struct det_letterbox *lb)
{
    int iw = in->width, ih = in->height;
    float sx = (float)iw / (float)f->width, sy = (float)ih / (float)f->height;
    float scale = sx < sy ? sx : sy;
    int rw = (int)lroundf((float)f->width * scale), rh = (int)lroundf((float)f->height * scale);
    rw = rw < 1 ? 1 : rw > iw ? iw : rw;
    rh = rh < 1 ? 1 : rh > ih ? ih : rh;
    int px = (iw - rw) / 2, py = (ih - rh) / 2;
    *lb = (struct det_letterbox){
        .input_w = iw,
        .input_h = ih,
        .frame_w = f->width,
        .frame_h = f->height,
        .scale = scale,
        .pad_x = (float)px,
        .pad_y = (float)py,
    };
    size_t plane = (size_t)iw * (size_t)ih;
    float *b = in->planes, *g = b + plane, *r = g + plane;
    if (!is_bgr) { /* planes R, G, B */
        r = in->planes;
        b = r + 2 * plane;
    }
    /* the border: 0 once normalised (the mean colour; black for models without a mean) */
    memset(in->planes, 0, 3 * plane * sizeof(float));
    float k[3], c[3];
    for (int ch = 0; ch < 3; ch++) {
        /* k, c per plane B, G, R whatever the order in memory */
        int i = is_bgr ? ch : 2 - ch;
        k[ch] = 1.0f / std[i];
        c[ch] = -mean[i] / std[i];
    }
    for (int x = 0; x < rw; x++) {
        float fx = ((float)x + 0.5f) / scale - 0.5f;
        if (fx < 0)
            fx = 0;
        int x0 = (int)fx;
        if (x0 > f->width - 2)
            x0 = f->width > 1 ? f->width - 2 : 0;
        float w = fx - (float)x0;
        in->xi[x] = x0;
        in->xw[x] = f->width > 1 ? (w > 1 ? 1 : w) : 0;
    }
    int step = f->width > 1 ? 3 : 0;
    for (int y = 0; y < rh; y++) {
        float fy = ((float)y + 0.5f) / scale - 0.5f;
        if (fy < 0)
            fy = 0;
        int y0 = (int)fy;
        if (y0 > f->height - 2)
            y0 = f->height > 1 ? f->height - 2 : 0;
        float wy = f->height > 1 ? fy - (float)y0 : 0;
        if (wy > 1)
            wy = 1;
        const uint8_t *r0 = f->rgb + (size_t)y0 * (size_t)f->stride_bytes;
        const uint8_t *r1 = f->height > 1 ? r0 + f->stride_bytes : r0;
        size_t o = (size_t)(py + y) * (size_t)iw + (size_t)px;
        for (int x = 0; x < rw; x++, o++) {
            const uint8_t *p0 = r0 + 3 * in->xi[x], *p1 = r1 + 3 * in->xi[x];
            float wx = in->xw[x];
            float v[3];
            for (int ch = 0; ch < 3; ch++) {
                float top = (float)p0[ch] + wx * (float)(p0[ch + step] - p0[ch]);
                float bot = (float)p1[ch] + wx * (float)(p1[ch + step] - p1[ch]);
                v[ch] = top + wy * (bot - top);
            }
            /* v is R, G, B; b, g, r point at the model's planes */
            b[o] = v[2] * k[0] + c[0];
            g[o] = v[1] * k[1] + c[1];
            r[o] = v[0] * k[2] + c[2];
        }
    }
}

void det_nanodet_letterbox(struct det_nanodet_input *in, const struct det_frame *f,
                           struct det_letterbox *lb)
{
    det_input_letterbox(in, f, mean_bgr, std_bgr, 1, lb);
}
