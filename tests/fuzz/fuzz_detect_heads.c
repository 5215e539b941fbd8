/*
 * libFuzzer driver for the CenterNet, YOLO and SSD heads (src/detect/object/
 * heads_select.c, centernet.c, yolo.c, ssd.c, heads.c): the input describes
 * up to 4 model outputs (rank and small dims), a label count and an input
 * size, then floats for the outputs' contents (cycled; NaN, infinities and
 * huge values included). Selection must answer 0, 1 or HORUS_ECONFIG with a
 * message; a plan's roles must name outputs; decoding per the plan must read
 * only the outputs' elements (ASan checks) and give at most `candidates`
 * boxes which, through the letterbox, are finite, inside [0,1], non-empty,
 * with scores in [min_score, 1] and labels in range; NMS keeps a subset
 * sorted by score.
 */
#include "detect.h"
#include "err.h"
#include "heads_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

#define HEADER 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    const uint8_t *h = data;
    size_t count = 1 + h[0] % 4;
    enum det_head want = (enum det_head)(h[1] % 6);
    int labels = 1 + h[2] % 8;
    int iw = 16 * (1 + h[3] % 8), ih = 16 * (1 + h[4] % 8);
    float min_score = (float)(h[5] % 100) / 100.0f;
    struct det_head_output outs[4] = {0};
    static const char *const names[4] = {"reg", "wh", "detection_scores", "num_detections"};
    for (size_t i = 0; i < count; i++) {
        outs[i].name = names[(h[6 + i] >> 4) % 4];
        outs[i].rank = 1 + h[6 + i] % 4;
        outs[i].dims[0] = h[10 + i] & 0x80 ? -1 : 1;
        for (size_t k = 1; k < outs[i].rank; k++)
            outs[i].dims[k] =
                (h[10 + i] >> (2 * k)) & 1 ? labels + (h[14 + i + k] % 6) : h[14 + i + k] % 20;
    }
    struct det_head_plan plan;
    char *err = NULL;
    int rc = det_head_select(want, outs, count, labels, iw, ih, &plan, &err);
    check(rc == 0 || rc == 1 || rc == HORUS_ECONFIG);
    check((rc == HORUS_ECONFIG) == (err != NULL));
    free(err);
    if (rc != 0)
        return 0;
    /* the outputs' contents, cycled from the rest of the input */
    const uint8_t *body = data + HEADER;
    size_t body_len = size - HEADER;
    float *bufs[4] = {0};
    for (size_t i = 0; i < count; i++) {
        size_t n = 1;
        for (size_t k = 0; k < outs[i].rank; k++)
            n *= (size_t)outs[i].dims[k];
        bufs[i] = malloc(n * sizeof(float));
        for (size_t e = 0; e < n; e++) {
            float v = 0;
            if (body_len >= 4)
                memcpy(&v, body + (e * 4) % (body_len - body_len % 4), 4);
            bufs[i][e] = v;
        }
    }
    for (int r = 0; r < DET_ROLES; r++)
        check(plan.role[r] < (int)count);
    check(plan.candidates > 0 && plan.candidates <= 65536);
    struct det_box *out = malloc(plan.candidates * sizeof(*out));
    const float *const *cdata = (const float *const *)bufs;
    size_t n = det_head_decode(&plan, cdata, labels, iw, ih, min_score, out, plan.candidates);
    check(n <= plan.candidates);
    int fw = 1 + h[20] * 3, fh = 1 + h[21] * 3;
    float sx = (float)iw / (float)fw, sy = (float)ih / (float)fh, scale = sx < sy ? sx : sy;
    struct det_letterbox lb = {iw,
                               ih,
                               fw,
                               fh,
                               scale,
                               ((float)iw - (float)fw * scale) / 2,
                               ((float)ih - (float)fh * scale) / 2};
    n = det_head_to_frame(out, n, &lb);
    for (size_t i = 0; i < n; i++) {
        check(isfinite(out[i].x0) && isfinite(out[i].y1));
        check(out[i].x0 >= 0 && out[i].x0 < out[i].x1 && out[i].x1 <= 1);
        check(out[i].y0 >= 0 && out[i].y0 < out[i].y1 && out[i].y1 <= 1);
        check(out[i].score >= min_score && out[i].score <= 1);
        check(out[i].label >= 0 && out[i].label < labels);
    }
    size_t kept = det_nms(out, n, (float)(h[22] % 100) / 100.0f);
    check(kept <= n && (n == 0 || kept >= 1));
    for (size_t i = 1; i < kept; i++)
        check(out[i].score <= out[i - 1].score);
    free(out);
    for (size_t i = 0; i < count; i++)
        free(bufs[i]);
    return 0;
}
