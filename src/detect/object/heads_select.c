/*
 * DESIGN: recognises which head a model's outputs are (heads_int.h), from
 * their shapes alone (names only break ties: "wh"/"size" vs "reg"/"offset",
 * "box"/"class"/"score"/"num"), and dispatches a run's outputs to the head's
 * decoder. Pure: no runtime, no allocation but the error message. The
 * patterns (docs/design/0044-model-heads.md):
 *   CenterNet  2-3 outputs [1,L,H,W] or [1,H,W,L] heatmap + [..,4 or 2,..]
 *              size (+ [..,2,..] offset), one grid, input/grid = stride
 *   YOLOv5     1 output [1,N,5+L]
 *   YOLOv8     1 output [1,4+L,N] (or [1,N,4+L])
 *   SSD        2 outputs [1,N,4] (or [1,N,1,4]) boxes + [1,N,L or L+1]
 *              scores; or 4 outputs [1,K,4], [1,K], [1,K], [1]
 */
#include "heads_int.h"

#include "err.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const names[] = {"auto", "nanodet", "centernet", "yolov5", "yolov8", "ssd"};

int det_head_parse(const char *s, enum det_head *out)
{
    if (!s || !s[0]) {
        *out = DET_HEAD_AUTO;
        return 0;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum det_head)i;
            return 0;
        }
    return -EINVAL;
}

const char *det_head_name(enum det_head h)
{
    return (unsigned)h < sizeof(names) / sizeof(names[0]) ? names[h] : "?";
}

void det_head_norm_of(enum det_head h, struct det_head_norm *n)
{
    switch (h) {
    case DET_HEAD_CENTERNET: /* the MobileNetV3 CenterNet: RGB 0..255 */
        *n = (struct det_head_norm){{0, 0, 0}, {1, 1, 1}, 0};
        break;
    case DET_HEAD_YOLOV5:
    case DET_HEAD_YOLOV8: /* Ultralytics exports: RGB 0..1 */
        *n = (struct det_head_norm){{0, 0, 0}, {255, 255, 255}, 0};
        break;
    case DET_HEAD_SSD: /* MobileNet SSD exports: RGB -1..1 */
        *n = (struct det_head_norm){{127.5f, 127.5f, 127.5f}, {127.5f, 127.5f, 127.5f}, 0};
        break;
    default: /* NanoDet's training normalisation, B, G, R */
        *n = (struct det_head_norm){{103.53f, 116.28f, 123.675f}, {57.375f, 57.12f, 58.395f}, 1};
        break;
    }
}

static void shape_str(char *buf, size_t size, const struct det_head_output *o)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < o->rank && len < size; i++)
        len +=
            (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "", (long long)o->dims[i]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

/* Case-insensitive: does the output's name contain any of the words? */
static int named(const struct det_head_output *o, const char *a, const char *b)
{
    char low[128];
    size_t i = 0;
    for (; o->name && o->name[i] && i < sizeof(low) - 1; i++)
        low[i] = (char)tolower((unsigned char)o->name[i]);
    low[i] = 0;
    return (a && strstr(low, a)) || (b && strstr(low, b));
}

static int fail(char **errmsg, const struct det_head_output *o, const char *expected)
{
    char s[128];
    shape_str(s, sizeof(s), o);
    *errmsg = horus_asprintf("output '%s' has shape %s, expected %s", o->name ? o->name : "?", s,
                             expected);
    return HORUS_ECONFIG;
}

static int known(const struct det_head_output *o)
{
    if (o->rank < 1 || o->dims[0] != 1)
        return 0;
    for (size_t i = 1; i < o->rank; i++)
        if (o->dims[i] < 1 || o->dims[i] > (1 << 24))
            return 0;
    return 1;
}

/* ---- CenterNet ---- */

/* channels of o on the grid (h, w) in layout nhwc, or 0 */
static int grid_channels(const struct det_head_output *o, int nhwc, int64_t h, int64_t w)
{
    if (o->rank != 4 || !known(o))
        return 0;
    if (nhwc)
        return o->dims[1] == h && o->dims[2] == w ? (int)o->dims[3] : 0;
    return o->dims[2] == h && o->dims[3] == w ? (int)o->dims[1] : 0;
}

static int try_centernet(const struct det_head_output *outs, size_t count, int labels, int iw,
                         int ih, struct det_head_plan *p, char **errmsg)
{
    char want[200];
    snprintf(want, sizeof(want),
             "[1,%d,H,W] or [1,H,W,%d] (heatmap) with [..,4 or 2,..] (sizes) and an optional "
             "[..,2,..] (offsets) on the same grid (CenterNet)",
             labels, labels);
    if (count < 2 || count > 3)
        return errmsg ? fail(errmsg, &outs[0], want) : 1;
    for (size_t i = 0; i < count; i++)
        for (int nhwc = 0; nhwc <= 1; nhwc++) {
            const struct det_head_output *hm = &outs[i];
            if (hm->rank != 4 || !known(hm) || hm->dims[nhwc ? 3 : 1] != labels)
                continue;
            int64_t h = hm->dims[nhwc ? 1 : 2], w = hm->dims[nhwc ? 2 : 3];
            int size = -1, off = -1, ok = 1;
            for (size_t k = 0; k < count && ok; k++) {
                if (k == i)
                    continue;
                int ch = grid_channels(&outs[k], nhwc, h, w);
                if (ch == 4 && size < 0)
                    size = (int)k;
                else if (ch == 2 && size < 0 && !named(&outs[k], "reg", "off"))
                    size = (int)k;
                else if (ch == 2 && off < 0)
                    off = (int)k;
                else
                    ok = 0;
            }
            if (!ok || size < 0 || (off >= 0 && grid_channels(&outs[size], nhwc, h, w) != 2))
                continue;
            if (iw % w != 0 || ih % h != 0 || iw / w != ih / h) {
                char s[200];
                snprintf(s, sizeof(s), "a grid dividing the %dx%d input evenly (CenterNet)", iw,
                         ih);
                return errmsg ? fail(errmsg, hm, s) : 1;
            }
            *p = (struct det_head_plan){
                .head = DET_HEAD_CENTERNET,
                .role = {(int)i, size, off, -1},
                .grid_w = (int)w,
                .grid_h = (int)h,
                .nhwc = nhwc,
                .size_channels = grid_channels(&outs[size], nhwc, h, w),
                .stride = (float)(iw / w),
            };
            size_t cells = (size_t)w * (size_t)h * (size_t)labels;
            p->candidates = cells < 65536 ? cells : 65536;
            return 0;
        }
    return errmsg ? fail(errmsg, &outs[0], want) : 1;
}

/* ---- YOLO ---- */

static int try_yolo(enum det_head want, const struct det_head_output *outs, size_t count,
                    int labels, struct det_head_plan *p, char **errmsg)
{
    char s[160];
    if (want == DET_HEAD_YOLOV5)
        snprintf(s, sizeof(s), "one output [1,N,%d] (YOLOv5: box, objectness, %d labels)",
                 5 + labels, labels);
    else
        snprintf(s, sizeof(s), "one output [1,%d,N] (YOLOv8: box, %d labels)", 4 + labels, labels);
    const struct det_head_output *o = &outs[0];
    if (count != 1 || o->rank != 3 || !known(o))
        return errmsg ? fail(errmsg, o, s) : 1;
    int64_t a = o->dims[1], b = o->dims[2];
    *p = (struct det_head_plan){.head = want, .role = {0, -1, -1, -1}};
    if (want != DET_HEAD_YOLOV8 && b == 5 + labels) {
        p->head = DET_HEAD_YOLOV5;
        p->n = (int)a;
    } else if (want != DET_HEAD_YOLOV8 && a == 5 + labels && b != 4 + labels) {
        p->head = DET_HEAD_YOLOV5;
        p->n = (int)b;
        p->channel_major = 1;
    } else if (want != DET_HEAD_YOLOV5 && a == 4 + labels) {
        p->head = DET_HEAD_YOLOV8;
        p->n = (int)b;
        p->channel_major = 1;
    } else if (want != DET_HEAD_YOLOV5 && b == 4 + labels) {
        p->head = DET_HEAD_YOLOV8;
        p->n = (int)a;
    } else {
        return errmsg ? fail(errmsg, o, s) : 1;
    }
    p->candidates = (size_t)p->n;
    return 0;
}

/* ---- SSD ---- */

static int is_boxes(const struct det_head_output *o, int64_t *n)
{
    if (!known(o))
        return 0;
    if (o->rank == 3 && o->dims[2] == 4) {
        *n = o->dims[1];
        return 1;
    }
    if (o->rank == 4 && o->dims[2] == 1 && o->dims[3] == 4) {
        *n = o->dims[1];
        return 1;
    }
    return 0;
}

static int try_ssd(const struct det_head_output *outs, size_t count, int labels,
                   struct det_head_plan *p, char **errmsg)
{
    char s[200];
    snprintf(s, sizeof(s),
             "[1,N,4] boxes with [1,N,%d or %d] scores, or [1,K,4] boxes, [1,K] classes, "
             "[1,K] scores and [1] count (SSD)",
             labels, labels + 1);
    int64_t n = 0;
    if (count == 2) {
        int bi = is_boxes(&outs[0], &n) ? 0 : is_boxes(&outs[1], &n) ? 1 : -1;
        const struct det_head_output *sc = bi >= 0 ? &outs[1 - bi] : NULL;
        if (!sc || sc->rank != 3 || !known(sc) || sc->dims[1] != n ||
            (sc->dims[2] != labels && sc->dims[2] != labels + 1))
            return errmsg ? fail(errmsg, sc ? sc : &outs[0], s) : 1;
        *p = (struct det_head_plan){
            .head = DET_HEAD_SSD,
            .role = {bi, 1 - bi, -1, -1},
            .n = (int)n,
            .score_cols = (int)sc->dims[2],
            .background = sc->dims[2] == labels + 1,
            .candidates = (size_t)n,
        };
        return 0;
    }
    if (count != 4)
        return errmsg ? fail(errmsg, &outs[0], s) : 1;
    int box = -1, cnt = -1, vec[4], nv = 0;
    for (size_t i = 0; i < 4; i++) {
        int64_t k = 0;
        if (box < 0 && is_boxes(&outs[i], &k))
            box = (int)i, n = k;
        else if (known(&outs[i]) &&
                 (outs[i].rank == 1 || (outs[i].rank == 2 && outs[i].dims[1] == 1)) && cnt < 0)
            cnt = (int)i;
        else
            vec[nv++] = (int)i;
    }
    if (box < 0 || cnt < 0 || nv != 2)
        return errmsg ? fail(errmsg, &outs[box < 0 ? 0 : cnt < 0 ? 3 : vec[0]], s) : 1;
    for (int j = 0; j < 2; j++) {
        const struct det_head_output *o = &outs[vec[j]];
        if (o->rank != 2 || !known(o) || o->dims[1] != n)
            return errmsg ? fail(errmsg, o, s) : 1;
    }
    /* classes before scores unless the names say otherwise (TF's order) */
    int cls = vec[0], scr = vec[1];
    if (named(&outs[vec[0]], "score", NULL) || named(&outs[vec[1]], "class", NULL))
        cls = vec[1], scr = vec[0];
    *p = (struct det_head_plan){
        .head = DET_HEAD_SSD,
        .role = {box, cls, scr, cnt},
        .n = (int)n,
        .ssd_post = 1,
        .candidates = (size_t)n,
    };
    return 0;
}

int det_head_select(enum det_head want, const struct det_head_output *outs, size_t count,
                    int labels, int input_w, int input_h, struct det_head_plan *plan, char **errmsg)
{
    *errmsg = NULL;
    if (want == DET_HEAD_NANODET || count == 0)
        return 1;
    switch (want) {
    case DET_HEAD_CENTERNET:
        return try_centernet(outs, count, labels, input_w, input_h, plan, errmsg);
    case DET_HEAD_YOLOV5:
    case DET_HEAD_YOLOV8:
        return try_yolo(want, outs, count, labels, plan, errmsg);
    case DET_HEAD_SSD:
        return try_ssd(outs, count, labels, plan, errmsg);
    default:
        break;
    }
    if (try_centernet(outs, count, labels, input_w, input_h, plan, NULL) == 0 ||
        try_yolo(DET_HEAD_AUTO, outs, count, labels, plan, NULL) == 0 ||
        try_ssd(outs, count, labels, plan, NULL) == 0)
        return 0;
    return 1;
}

size_t det_head_decode(const struct det_head_plan *p, const float *const *data, int labels,
                       int input_w, int input_h, float min_score, struct det_box *out, size_t cap)
{
    switch (p->head) {
    case DET_HEAD_CENTERNET: {
        struct det_centernet_out o = {
            .heatmap = data[p->role[0]],
            .size = data[p->role[1]],
            .offset = p->role[2] >= 0 ? data[p->role[2]] : NULL,
            .classes = labels,
            .grid_w = p->grid_w,
            .grid_h = p->grid_h,
            .size_channels = p->size_channels,
            .nhwc = p->nhwc,
            .stride = p->stride,
        };
        return det_centernet_decode(&o, min_score, out, cap);
    }
    case DET_HEAD_YOLOV5:
    case DET_HEAD_YOLOV8: {
        struct det_yolo_out o = {
            .data = data[p->role[0]],
            .n = p->n,
            .classes = labels,
            .objectness = p->head == DET_HEAD_YOLOV5,
            .channel_major = p->channel_major,
        };
        return det_yolo_decode(&o, min_score, out, cap);
    }
    case DET_HEAD_SSD:
        if (p->ssd_post) {
            struct det_ssd_post o = {
                .boxes = data[p->role[0]],
                .classes = data[p->role[1]],
                .scores = data[p->role[2]],
                .count = data[p->role[3]][0],
                .k = p->n,
                .labels = labels,
            };
            return det_ssd_decode_post(&o, input_w, input_h, min_score, out, cap);
        } else {
            struct det_ssd_raw o = {
                .boxes = data[p->role[0]],
                .scores = data[p->role[1]],
                .n = p->n,
                .score_cols = p->score_cols,
                .background = p->background,
            };
            return det_ssd_decode_raw(&o, input_w, input_h, min_score, out, cap);
        }
    default:
        return 0;
    }
}
