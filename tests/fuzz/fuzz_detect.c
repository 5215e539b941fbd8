/*
 * libFuzzer driver for what detect parses from files and models: labels
 * files (src/detect/detect.c) and NanoDet outputs (src/detect/object/
 * nanodet.c, which sees whatever floats a model produces: NaN, infinities,
 * huge logits). The first byte picks the parser.
 * Invariants: labels parse into non-empty strings without control
 * characters or fail with a message; decoded boxes are finite, inside
 * [0,1], non-empty, with scores in [min_score, 1], and NMS keeps a subset
 * sorted by score.
 */
#include "detect.h"
#include "nanodet_int.h"

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

static void labels(const uint8_t *data, size_t size)
{
    char **l = NULL, *err = NULL;
    int n = 0;
    int rc = det_labels_parse((const char *)data, size, &l, &n, &err);
    if (rc == 0) {
        check(n > 0 && err == NULL);
        for (int i = 0; i < n; i++) {
            size_t len = strlen(l[i]);
            check(len > 0 && len <= DET_LABEL_MAX);
            for (size_t k = 0; k < len; k++)
                check((unsigned char)l[i][k] >= 0x20);
        }
    } else {
        check(l == NULL && n == 0 && err != NULL);
    }
    det_labels_free(l, n);
    free(err);
}

/* A 64x32 input with strides 16 (8 cells) and 32 (2 cells), 3 classes, 4 bins. */
#define CELLS 10
#define CLASSES 3
#define BINS 4

static void decode(const uint8_t *data, size_t size)
{
    float scores[CELLS * CLASSES] = {0}, dist[CELLS * 4 * BINS] = {0};
    uint8_t head[4] = {0};
    memcpy(head, data, size < 4 ? size : 4);
    data += size < 4 ? size : 4;
    size -= size < 4 ? size : 4;
    size_t ns = size < sizeof(scores) ? size : sizeof(scores);
    memcpy(scores, data, ns);
    data += ns;
    size -= ns;
    memcpy(dist, data, size < sizeof(dist) ? size : sizeof(dist));
    struct det_nanodet_level lv[2] = {
        {scores, dist, 8, 16},
        {scores + 8 * CLASSES, dist + 8 * 4 * BINS, 2, 32},
    };
    int fw = 1 + head[0] * 4, fh = 1 + head[1] * 4;
    float sx = 64.0f / (float)fw, sy = 32.0f / (float)fh, scale = sx < sy ? sx : sy;
    struct det_letterbox lb = {
        64, 32, fw, fh, scale, (64 - (float)fw * scale) / 2, (32 - (float)fh * scale) / 2};
    float min_score = (float)(head[2] % 100) / 100.0f;
    struct det_box out[CELLS];
    size_t n = det_nanodet_decode(lv, 2, CLASSES, BINS, &lb, min_score, out, CELLS);
    check(n <= CELLS);
    for (size_t i = 0; i < n; i++) {
        check(isfinite(out[i].x0) && isfinite(out[i].y1));
        check(out[i].x0 >= 0 && out[i].x0 < out[i].x1 && out[i].x1 <= 1);
        check(out[i].y0 >= 0 && out[i].y0 < out[i].y1 && out[i].y1 <= 1);
        check(out[i].score >= min_score && out[i].score <= 1);
        check(out[i].label >= 0 && out[i].label < CLASSES);
    }
    size_t kept = det_nms(out, n, (float)(head[3] % 100) / 100.0f);
    check(kept <= n && (n == 0 || kept >= 1));
    for (size_t i = 1; i < kept; i++)
        check(out[i].score <= out[i - 1].score);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        labels(data + 1, size - 1);
    else
        decode(data + 1, size - 1);
    return 0;
}
