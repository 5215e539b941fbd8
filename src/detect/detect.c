/*
 * DESIGN: what every detector backend shares: the dispatch through the
 * ops table, labels files, and per-label non-maximum suppression.
 *
 * Labels are parsed strictly (the file is written by hand next to a user's
 * model and a silent off-by-one would mislabel every detection): one label
 * per line, no empty lines, no control characters, bounded sizes. NMS is
 * the greedy kind: O(n^2) over the boxes that passed the score threshold,
 * which the backends cap, so it stays well under a millisecond.
 */
#include "detect.h"
#include "hybrid.h"
#include "remote.h"
#ifdef HORUS_HAVE_ONNXRUNTIME
#include "onnx.h"
#endif
#ifdef HORUS_HAVE_OPENCV
#include "opencv.h"
#endif

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int det_detector_run(struct det_detector *d, const struct det_frame *frame,
                     const struct det_run_options *opt, struct det_box *out, size_t cap, size_t *n,
                     char **errmsg)
{
    static const struct det_run_options defaults = {0};
    *n = 0;
    if (errmsg)
        *errmsg = NULL;
    if (!frame || !frame->rgb || frame->width < 1 || frame->height < 1 || frame->width > 16384 ||
        frame->height > 16384 || frame->stride_bytes < frame->width * 3) {
        if (errmsg)
            *errmsg = horus_strdup("frame: bad size or stride");
        return -EINVAL;
    }
    return d->ops->run(d, frame, opt ? opt : &defaults, out, cap, n, errmsg);
}

/* Prefixes a backend's message with the detector's type; frees msg. */
static char *named(const char *type, char *msg)
{
    char *s = horus_asprintf("detector '%s': %s", type, msg ? msg : "failed");
    free(msg);
    return s;
}

static int open_hybrid(const struct det_spec *spec, struct det_detector **out, char **msg)
{
    struct det_spec primary_spec = *spec;
    const struct det_spec *primary = spec->primary;
    if (!primary) {
        primary_spec.type = "remote";
        primary_spec.primary = primary_spec.fallback = NULL;
        primary = &primary_spec;
    }
    if (!spec->fallback) {
        *msg = horus_strdup("fallback: required (the detector serving while the primary fails)");
        return -EINVAL;
    }
    const char *pt = primary->type ? primary->type : "", *ft = spec->fallback->type;
    if (strcmp(pt, "hybrid") == 0 || (ft && strcmp(ft, "hybrid") == 0)) {
        *msg = horus_strdup(strcmp(pt, "hybrid") == 0 ? "primary: cannot itself be a hybrid"
                                                      : "fallback: cannot itself be a hybrid");
        return -EINVAL;
    }
    if (spec->failures_to_open < 0 || spec->cooldown_ms < 0) {
        *msg = horus_strdup(spec->failures_to_open < 0 ? "failures_to_open: must be >= 0"
                                                       : "cooldown_ms: must be >= 0");
        return -EINVAL;
    }
    struct det_detector *p = NULL, *f = NULL;
    char *why = NULL;
    int rc = det_detector_open(primary, &p, &why);
    if (rc < 0) {
        *msg = horus_asprintf("primary: %s", why);
        free(why);
        return rc;
    }
    rc = det_detector_open(spec->fallback, &f, &why);
    if (rc < 0) {
        det_detector_close(p);
        *msg = horus_asprintf("fallback: %s", why);
        free(why);
        return rc;
    }
    struct det_hybrid_options o = {.primary = p,
                                   .fallback = f,
                                   .failures_to_open = spec->failures_to_open,
                                   .cooldown_ms = spec->cooldown_ms};
    return det_hybrid_open(&o, out, msg);
}

int det_detector_open(const struct det_spec *spec, struct det_detector **out, char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    const char *type = spec->type && spec->type[0] ? spec->type : "onnx";
    char *msg = NULL;
    int rc;
    if (strcmp(type, "onnx") == 0) {
#ifdef HORUS_HAVE_ONNXRUNTIME
        struct det_onnx_options o = {.model_path = spec->model,
                                     .labels_path = spec->labels,
                                     .head = spec->head,
                                     .device = spec->device,
                                     .input_size = spec->input_size,
                                     .threads = spec->threads};
        rc = det_onnx_open(&o, out, &msg);
#else
        rc = -ENOTSUP;
        msg = horus_strdup("this build has no ONNX Runtime (scripts/deps-detect)");
#endif
    } else if (strcmp(type, "opencv") == 0) {
#ifdef HORUS_HAVE_OPENCV
        struct det_opencv_options o = {.model_path = spec->model,
                                       .labels_path = spec->labels,
                                       .input_size = spec->input_size,
                                       .threads = spec->threads};
        rc = det_opencv_open(&o, out, &msg);
#else
        rc = -ENOTSUP;
        msg = horus_strdup("this build has no OpenCV DNN (libopencv-dnn-dev, scripts/setup)");
#endif
    } else if (strcmp(type, "remote") == 0) {
        if (!spec->url || !spec->url[0]) {
            rc = -EINVAL;
            msg = horus_strdup("url: required");
        } else {
            struct det_remote_options o = {.url = spec->url,
                                           .labels_path = spec->labels,
                                           .api_key = spec->api_key,
                                           .timeout_ms = spec->timeout_ms};
            rc = det_remote_open(&o, out, &msg);
        }
    } else if (strcmp(type, "hybrid") == 0) {
        rc = open_hybrid(spec, out, &msg);
    } else {
        rc = -ENOTSUP;
        msg = horus_strdup("type: unknown; expected onnx, opencv, remote or hybrid");
    }
    if (rc < 0)
        *errmsg = named(type, msg);
    return rc;
}

void det_detector_close(struct det_detector *d)
{
    if (d)
        d->ops->close(d);
}

const char *det_detector_name(const struct det_detector *d)
{
    return d->ops->name;
}

const char *det_detector_label(const struct det_detector *d, int label)
{
    if (label < 0 || label >= d->label_count)
        return "?";
    return d->labels[label];
}

void det_labels_free(char **labels, int count)
{
    if (!labels)
        return;
    for (int i = 0; i < count; i++)
        free(labels[i]);
    free(labels);
}

int det_labels_parse(const char *text, size_t len, char ***labels, int *count, char **errmsg)
{
    char **out = NULL;
    int n = 0, cap = 0, rc = 0;
    size_t pos = 0;
    *labels = NULL;
    *count = 0;
    *errmsg = NULL;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        size_t stop = end;
        while (stop > pos &&
               (text[stop - 1] == '\r' || text[stop - 1] == ' ' || text[stop - 1] == '\t'))
            stop--;
        int line = n + 1;
        if (stop == pos) {
            *errmsg = horus_asprintf("line %d: empty label", line);
            rc = HORUS_EPARSE;
            goto fail;
        }
        if (stop - pos > DET_LABEL_MAX) {
            *errmsg = horus_asprintf("line %d: label longer than %d bytes", line, DET_LABEL_MAX);
            rc = HORUS_EPARSE;
            goto fail;
        }
        for (size_t i = pos; i < stop; i++) {
            unsigned char c = (unsigned char)text[i];
            if (c < 0x20 || c == 0x7f) {
                *errmsg = horus_asprintf("line %d: control character 0x%02x", line, c);
                rc = HORUS_EPARSE;
                goto fail;
            }
        }
        if (n == DET_LABELS_MAX) {
            *errmsg = horus_asprintf("more than %d labels", DET_LABELS_MAX);
            rc = HORUS_EPARSE;
            goto fail;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            out = horus_realloc(out, (size_t)cap * sizeof(*out));
        }
        out[n++] = horus_strndup(text + pos, stop - pos);
        pos = end + 1;
    }
    if (n == 0) {
        *errmsg = horus_strdup("no labels");
        rc = HORUS_EPARSE;
        goto fail;
    }
    *labels = out;
    *count = n;
    return 0;
fail:
    det_labels_free(out, n);
    return rc;
}

int det_labels_load(const char *path, char ***labels, int *count, char **errmsg)
{
    *labels = NULL;
    *count = 0;
    *errmsg = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int rc = -errno;
        *errmsg = horus_asprintf("labels '%s': %s", path, horus_strerror(rc));
        return rc;
    }
    /* DET_LABELS_MAX lines of DET_LABEL_MAX bytes and a CR LF each */
    size_t max = (size_t)DET_LABELS_MAX * (DET_LABEL_MAX + 2) + 1;
    char *buf = horus_malloc(max);
    size_t len = fread(buf, 1, max, f);
    int rc = ferror(f) ? -EIO : 0;
    fclose(f);
    if (rc == 0 && len == max) {
        *errmsg = horus_asprintf("labels '%s': file too large", path);
        rc = HORUS_EPARSE;
    } else if (rc) {
        *errmsg = horus_asprintf("labels '%s': %s", path, horus_strerror(rc));
    } else {
        char *why = NULL;
        rc = det_labels_parse(buf, len, labels, count, &why);
        if (rc) {
            *errmsg = horus_asprintf("labels '%s': %s", path, why);
            free(why);
        }
    }
    free(buf);
    return rc;
}

float det_iou(const struct det_box *a, const struct det_box *b)
{
    float ix0 = a->x0 > b->x0 ? a->x0 : b->x0;
    float iy0 = a->y0 > b->y0 ? a->y0 : b->y0;
    float ix1 = a->x1 < b->x1 ? a->x1 : b->x1;
    float iy1 = a->y1 < b->y1 ? a->y1 : b->y1;
    float area_a = (a->x1 - a->x0) * (a->y1 - a->y0);
    float area_b = (b->x1 - b->x0) * (b->y1 - b->y0);
    if (!(area_a > 0) || !(area_b > 0) || ix1 <= ix0 || iy1 <= iy0)
        return 0;
    float inter = (ix1 - ix0) * (iy1 - iy0);
    return inter / (area_a + area_b - inter);
}

static int by_score_desc(const void *pa, const void *pb)
{
    const struct det_box *a = pa, *b = pb;
    if (a->score > b->score)
        return -1;
    if (a->score < b->score)
        return 1;
    /* ties: a total order, so that the result does not depend on qsort */
    if (a->label != b->label)
        return a->label < b->label ? -1 : 1;
    if (a->y0 != b->y0)
        return a->y0 < b->y0 ? -1 : 1;
    if (a->x0 != b->x0)
        return a->x0 < b->x0 ? -1 : 1;
    return 0;
}

size_t det_nms(struct det_box *boxes, size_t n, float iou)
{
    if (n == 0)
        return 0;
    qsort(boxes, n, sizeof(*boxes), by_score_desc);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        int drop = 0;
        for (size_t k = 0; k < kept && !drop; k++)
            drop = boxes[k].label == boxes[i].label && det_iou(&boxes[k], &boxes[i]) > iou;
        if (!drop)
            boxes[kept++] = boxes[i];
    }
    return kept;
}
