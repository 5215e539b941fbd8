/*
 * DESIGN: the "onnx" detector: ONNX Runtime's C API on the CPU.
 *
 * Open: one process-wide OrtEnv (ONNX Runtime wants one per process;
 * refcounted under env_lock), a session with intra-op threads as asked
 * and inter-op 1, full graph optimisation. The model's input and outputs
 * are checked once, here: the outputs' shapes pick the head (check_head:
 * CenterNet, YOLO or SSD, heads_int.h; else NanoDet, nanodet_int.h), so
 * that a wrong model fails at open with a sentence naming the output and
 * both shapes, never at the first frame.
 *
 * Run (the caller's thread, one at a time per detector): the RGB frame is
 * letterboxed into the model's input with plain C bilinear sampling (the
 * aspect ratio kept, the frame centred, the border at the mean colour so it
 * normalises to 0), converted to the head's planar RGB or BGR with its mean
 * and standard deviation (det_head_norm_of), run, decoded by the head, and
 * reduced by per-label NMS. Every
 * buffer is allocated at open; a run allocates only inside ONNX Runtime.
 *
 * Lock order: env_lock only, and only at open and close.
 */
#include "onnx.h"

#include "heads_int.h"
#include "nanodet_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <math.h>
#include <onnxruntime_c_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_LEVELS 5

struct onnx_level {
    int scores_output, dist_output; /* indices into outputs */
    int cells, stride;
};

struct det_onnx {
    struct det_detector base; /* first: the generic part */
    OrtSession *session; /* owned */
    OrtMemoryInfo *meminfo; /* owned */
    char *input_name; /* owned */
    char **output_names; /* owned, output_count of them */
    size_t output_count;
    struct onnx_level levels[MAX_LEVELS];
    int level_count, bins;
    float *input; /* owned; 3 x input_h x input_w */
    struct det_box *candidates; /* owned; one per cell of every level */
    size_t candidate_cap;
    int *xi; /* owned; per input column: left source pixel */
    float *xw; /* owned; per input column: weight of the right pixel */
    struct det_head_plan plan; /* the head: NanoDet (levels above) or another */
    struct det_head_norm norm; /* the head's input normalisation */
};

static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;
static OrtEnv *env; /* guarded by env_lock */
static int env_users; /* guarded by env_lock */
static const OrtApi *ort; /* set once under env_lock, then read-only */

static const OrtApi *ort_api(void)
{
    pthread_mutex_lock(&env_lock);
    if (!ort)
        ort = OrtGetApiBase()->GetApi(ORT_API_VERSION);
    pthread_mutex_unlock(&env_lock);
    return ort;
}

const char *det_onnx_runtime_version(void)
{
    return OrtGetApiBase()->GetVersionString();
}

/* Takes st; returns 0 for NULL, else HORUS_EPARSE with *errmsg "model 'P': what: reason". */
static int ort_fail(OrtStatus *st, const char *path, const char *what, char **errmsg)
{
    if (!st)
        return 0;
    *errmsg = horus_asprintf("model '%s': %s: %s", path, what, ort->GetErrorMessage(st));
    ort->ReleaseStatus(st);
    return HORUS_EPARSE;
}

static int env_ref(char **errmsg)
{
    int rc = 0;
    pthread_mutex_lock(&env_lock);
    if (!env) {
        OrtStatus *st = ort->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "horus", &env);
        if (st) {
            *errmsg =
                horus_asprintf("ONNX Runtime: create environment: %s", ort->GetErrorMessage(st));
            ort->ReleaseStatus(st);
            env = NULL;
            rc = HORUS_EUNAVAIL;
        }
    }
    if (rc == 0)
        env_users++;
    pthread_mutex_unlock(&env_lock);
    return rc;
}

static void env_unref(void)
{
    pthread_mutex_lock(&env_lock);
    if (--env_users == 0) {
        ort->ReleaseEnv(env);
        env = NULL;
    }
    pthread_mutex_unlock(&env_lock);
}

static void free_status(OrtStatus *st)
{
    if (st)
        ort->ReleaseStatus(st);
}

static void format_shape(char *buf, size_t size, const int64_t *dims, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    len += (size_t)snprintf(buf + len, size - len, "[");
    for (size_t i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "", (long long)dims[i]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

/* The dims of a float tensor input/output; HORUS_ECONFIG when it is not one. */
static int tensor_shape(OrtTypeInfo *info, const char *path, const char *kind, const char *name,
                        int64_t *dims, size_t *n, char **errmsg)
{
    const OrtTensorTypeAndShapeInfo *ti = NULL;
    ONNXTensorElementDataType type;
    OrtStatus *st = ort->CastTypeInfoToTensorInfo(info, &ti);
    if (!st && !ti) {
        *errmsg = horus_asprintf("model '%s': %s '%s' is not a tensor", path, kind, name);
        return HORUS_ECONFIG;
    }
    if (!st)
        st = ort->GetTensorElementType(ti, &type);
    if (!st)
        st = ort->GetDimensionsCount(ti, n);
    if (!st && *n > 8) {
        *errmsg = horus_asprintf("model '%s': %s '%s' has %zu dimensions", path, kind, name, *n);
        return HORUS_ECONFIG;
    }
    if (!st)
        st = ort->GetDimensions(ti, dims, *n);
    if (st)
        return ort_fail(st, path, "read shapes", errmsg);
    if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
        *errmsg = horus_asprintf("model '%s': %s '%s' is not float32", path, kind, name);
        return HORUS_ECONFIG;
    }
    return 0;
}

static void onnx_close(struct det_detector *d);
static int onnx_run(struct det_detector *d, const struct det_frame *frame,
                    const struct det_run_options *opt, struct det_box *out, size_t cap, size_t *n,
                    char **errmsg);

static const struct det_detector_ops onnx_ops = {
    .name = "onnx",
    .run = onnx_run,
    .close = onnx_close,
};

/* Reads the input's shape into base.input_{width,height}. */
static int check_input(struct det_onnx *m, const char *path, const struct det_onnx_options *opt,
                       char **errmsg)
{
    size_t count = 0;
    OrtStatus *st = ort->SessionGetInputCount(m->session, &count);
    if (st)
        return ort_fail(st, path, "read inputs", errmsg);
    if (count != 1) {
        *errmsg = horus_asprintf("model '%s': has %zu inputs, expected 1", path, count);
        return HORUS_ECONFIG;
    }
    OrtAllocator *alloc = NULL;
    char *name = NULL;
    if ((st = ort->GetAllocatorWithDefaultOptions(&alloc)) ||
        (st = ort->SessionGetInputName(m->session, 0, alloc, &name)))
        return ort_fail(st, path, "read inputs", errmsg);
    m->input_name = horus_strdup(name);
    free_status(ort->AllocatorFree(alloc, name));
    OrtTypeInfo *info = NULL;
    if ((st = ort->SessionGetInputTypeInfo(m->session, 0, &info)))
        return ort_fail(st, path, "read inputs", errmsg);
    int64_t dims[8];
    size_t n = 0;
    char shape[128];
    int rc = tensor_shape(info, path, "input", "0", dims, &n, errmsg);
    ort->ReleaseTypeInfo(info);
    if (rc)
        return rc;
    format_shape(shape, sizeof(shape), dims, n);
    if (n != 4 || (dims[0] != 1 && dims[0] != -1) || dims[1] != 3 || dims[2] < 32 || dims[3] < 32 ||
        dims[2] > 4096 || dims[3] > 4096) {
        *errmsg = horus_asprintf("model '%s': input has shape %s, expected [1,3,H,W] with H and "
                                 "W fixed, 32..4096",
                                 path, shape);
        return HORUS_ECONFIG;
    }
    if (opt->input_size && (opt->input_size != dims[2] || opt->input_size != dims[3])) {
        *errmsg = horus_asprintf("model '%s': input has shape %s, not the configured size %d", path,
                                 shape, opt->input_size);
        return HORUS_ECONFIG;
    }
    m->base.input_height = (int)dims[2];
    m->base.input_width = (int)dims[3];
    return 0;
}

/* Names the outputs and pairs them into NanoDet levels. */
static int check_outputs(struct det_onnx *m, const char *path, char **errmsg)
{
    OrtAllocator *alloc = NULL;
    OrtStatus *st = ort->GetAllocatorWithDefaultOptions(&alloc);
    if (!st)
        st = ort->SessionGetOutputCount(m->session, &m->output_count);
    if (st)
        return ort_fail(st, path, "read outputs", errmsg);
    if (m->output_count < 2 || m->output_count > 2 * MAX_LEVELS) {
        *errmsg = horus_asprintf("model '%s': has %zu outputs, expected 2 per level (scores and "
                                 "distances), at most %d levels",
                                 path, m->output_count, MAX_LEVELS);
        m->output_count = 0;
        return HORUS_ECONFIG;
    }
    m->output_names = horus_calloc(m->output_count, sizeof(char *));
    int64_t cells[2 * MAX_LEVELS], last[2 * MAX_LEVELS];
    for (size_t i = 0; i < m->output_count; i++) {
        char *name = NULL;
        if ((st = ort->SessionGetOutputName(m->session, i, alloc, &name)))
            return ort_fail(st, path, "read outputs", errmsg);
        m->output_names[i] = horus_strdup(name);
        free_status(ort->AllocatorFree(alloc, name));
        OrtTypeInfo *info = NULL;
        if ((st = ort->SessionGetOutputTypeInfo(m->session, i, &info)))
            return ort_fail(st, path, "read outputs", errmsg);
        int64_t dims[8];
        size_t n = 0;
        int rc = tensor_shape(info, path, "output", m->output_names[i], dims, &n, errmsg);
        ort->ReleaseTypeInfo(info);
        if (rc)
            return rc;
        int stride =
            n == 3 && dims[1] > 0 && dims[1] < (1 << 24)
                ? det_nanodet_stride(m->base.input_width, m->base.input_height, (int)dims[1])
                : 0;
        if (n != 3 || (dims[0] != 1 && dims[0] != -1) || stride == 0 ||
            (dims[2] != m->base.label_count &&
             (dims[2] % 4 != 0 || dims[2] < 8 || dims[2] > 256))) {
            char shape[128];
            format_shape(shape, sizeof(shape), dims, n);
            *errmsg = horus_asprintf(
                "model '%s': output '%s' has shape %s, expected [1,N,%d] (scores) or "
                "[1,N,4*bins] (distances) with N the cells of a stride 8..128 grid over %dx%d",
                path, m->output_names[i], shape, m->base.label_count, m->base.input_width,
                m->base.input_height);
            return HORUS_ECONFIG;
        }
        cells[i] = dims[1];
        last[i] = dims[2];
    }
    /* pair by cell count: the output with label_count columns holds the scores */
    m->level_count = 0;
    m->bins = 0;
    for (size_t i = 0; i < m->output_count; i++) {
        if (last[i] != m->base.label_count)
            continue;
        int dist = -1;
        for (size_t k = 0; k < m->output_count; k++)
            if (k != i && cells[k] == cells[i] && last[k] != m->base.label_count)
                dist = (int)k;
        if (dist < 0) {
            *errmsg = horus_asprintf("model '%s': scores output '%s' ([1,%lld,%d]) has no "
                                     "distances output with %lld cells",
                                     path, m->output_names[i], (long long)cells[i],
                                     m->base.label_count, (long long)cells[i]);
            return HORUS_ECONFIG;
        }
        if (m->bins && last[dist] / 4 != m->bins) {
            *errmsg = horus_asprintf("model '%s': output '%s' has %lld bins per side, '%s' %d",
                                     path, m->output_names[dist], (long long)last[dist] / 4,
                                     m->output_names[m->levels[0].dist_output], m->bins);
            return HORUS_ECONFIG;
        }
        m->bins = (int)last[dist] / 4;
        m->levels[m->level_count++] = (struct onnx_level){
            .scores_output = (int)i,
            .dist_output = dist,
            .cells = (int)cells[i],
            .stride = det_nanodet_stride(m->base.input_width, m->base.input_height, (int)cells[i]),
        };
    }
    if ((size_t)m->level_count * 2 != m->output_count) {
        /* name the first output no level took */
        size_t odd = 0;
        for (size_t i = 0; i < m->output_count; i++) {
            int used = 0;
            for (int l = 0; l < m->level_count; l++)
                used |= m->levels[l].scores_output == (int)i || m->levels[l].dist_output == (int)i;
            if (!used) {
                odd = i;
                break;
            }
        }
        *errmsg = horus_asprintf("model '%s': output '%s' has shape [1,%lld,%lld], expected "
                                 "[1,N,%d] (scores of %d labels) paired with [1,N,4*bins] "
                                 "(distances); is the labels file the model's?",
                                 path, m->output_names[odd], (long long)cells[odd],
                                 (long long)last[odd], m->base.label_count, m->base.label_count);
        return HORUS_ECONFIG;
    }
    return 0;
}

/*
 * Recognises a CenterNet, YOLO or SSD head (heads_int.h) from the outputs'
 * shapes; 1 leaves the model to check_outputs (NanoDet).
 */
static int check_head(struct det_onnx *m, const char *path, enum det_head want, char **errmsg)
{
    size_t count = 0;
    OrtAllocator *alloc = NULL;
    OrtStatus *st = ort->GetAllocatorWithDefaultOptions(&alloc);
    if (!st)
        st = ort->SessionGetOutputCount(m->session, &count);
    if (st)
        return ort_fail(st, path, "read outputs", errmsg);
    struct det_head_output outs[4] = {0};
    char *names[4] = {0};
    int rc = 0;
    for (size_t i = 0; i < count && i < 4 && rc == 0; i++) {
        OrtTypeInfo *info = NULL;
        if ((st = ort->SessionGetOutputName(m->session, i, alloc, &names[i])) ||
            (st = ort->SessionGetOutputTypeInfo(m->session, i, &info))) {
            rc = ort_fail(st, path, "read outputs", errmsg);
            break;
        }
        outs[i].name = names[i];
        rc = tensor_shape(info, path, "output", names[i], outs[i].dims, &outs[i].rank, errmsg);
        ort->ReleaseTypeInfo(info);
    }
    if (rc == 0 && count > 4 && want != DET_HEAD_AUTO && want != DET_HEAD_NANODET) {
        *errmsg = horus_asprintf("model '%s': has %zu outputs, a %s head has at most 4", path,
                                 count, det_head_name(want));
        rc = HORUS_ECONFIG;
    } else if (rc == 0 && count <= 4) {
        rc = det_head_select(want, outs, count, m->base.label_count, m->base.input_width,
                             m->base.input_height, &m->plan, errmsg);
        if (rc < 0) {
            char *e = *errmsg;
            *errmsg = horus_asprintf("model '%s': %s", path, e);
            free(e);
        }
    } else if (rc == 0) {
        rc = 1;
    }
    if (rc == 0) {
        m->output_count = count;
        m->output_names = horus_calloc(count, sizeof(char *));
        for (size_t i = 0; i < count; i++)
            m->output_names[i] = horus_strdup(names[i]);
        m->candidate_cap = m->plan.candidates;
    }
    for (size_t i = 0; i < 4; i++)
        if (names[i])
            free_status(ort->AllocatorFree(alloc, names[i]));
    return rc;
}

int det_onnx_open(const struct det_onnx_options *opt, struct det_detector **out, char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    const char *path = opt->model_path;
    int threads = opt->threads ? opt->threads : 1;
    if (!path || !opt->labels_path) {
        *errmsg = horus_strdup(!path ? "model: path required" : "labels: path required");
        return -EINVAL;
    }
    if (threads < 1 || threads > 64 || opt->input_size < 0 || opt->input_size > 4096) {
        *errmsg = horus_strdup(threads < 1 || threads > 64 ? "threads: must be 1..64"
                                                           : "input_size: must be 0..4096");
        return -EINVAL;
    }
    enum det_head want;
    if (det_head_parse(opt->head, &want)) {
        *errmsg = horus_strdup("head: must be auto, nanodet, centernet, yolov5, yolov8 or ssd");
        return -EINVAL;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int rc = stat(path, &sb) != 0 ? -errno : -EISDIR;
        *errmsg = horus_asprintf("model '%s': %s", path, horus_strerror(rc));
        return rc;
    }
    if (!ort_api()) {
        *errmsg = horus_asprintf("ONNX Runtime %s does not provide C API version %d",
                                 det_onnx_runtime_version(), ORT_API_VERSION);
        return HORUS_EUNAVAIL;
    }
    struct det_onnx *m = horus_calloc(1, sizeof(*m));
    m->base.ops = &onnx_ops;
    int rc = det_labels_load(opt->labels_path, &m->base.labels, &m->base.label_count, errmsg);
    if (rc) {
        free(m);
        return rc;
    }
    if ((rc = env_ref(errmsg))) {
        det_labels_free(m->base.labels, m->base.label_count);
        free(m);
        return rc;
    }
    OrtSessionOptions *so = NULL;
    OrtStatus *st = ort->CreateSessionOptions(&so);
    if (!st)
        st = ort->SetIntraOpNumThreads(so, threads);
    if (!st)
        st = ort->SetInterOpNumThreads(so, 1);
    if (!st)
        st = ort->SetSessionGraphOptimizationLevel(so, ORT_ENABLE_ALL);
    if (!st)
        st = ort->SetSessionExecutionMode(so, ORT_SEQUENTIAL);
    if (!st)
        st = ort->CreateSession(env, path, so, &m->session);
    if (so)
        ort->ReleaseSessionOptions(so);
    if ((rc = ort_fail(st, path, "load", errmsg)))
        goto fail;
    if ((rc = ort_fail(ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &m->meminfo),
                       path, "memory info", errmsg)))
        goto fail;
    if ((rc = check_input(m, path, opt, errmsg)))
        goto fail;
    rc = check_head(m, path, want, errmsg);
    if (rc == 1) { /* not another head: a NanoDet */
        m->plan.head = DET_HEAD_NANODET;
        rc = check_outputs(m, path, errmsg);
        if (rc && want == DET_HEAD_AUTO) {
            char *e = *errmsg;
            *errmsg = horus_asprintf("%s; nor are its outputs a CenterNet, YOLOv5, YOLOv8 or "
                                     "SSD head of %d labels",
                                     e, m->base.label_count);
            free(e);
        }
    }
    if (rc)
        goto fail;
    det_head_norm_of(m->plan.head, &m->norm);
    size_t plane = (size_t)m->base.input_width * (size_t)m->base.input_height;
    m->input = horus_malloc(3 * plane * sizeof(float));
    for (int l = 0; l < m->level_count && m->plan.head == DET_HEAD_NANODET; l++)
        m->candidate_cap += (size_t)m->levels[l].cells;
    m->candidates = horus_malloc(m->candidate_cap * sizeof(*m->candidates));
    m->xi = horus_malloc((size_t)m->base.input_width * sizeof(*m->xi));
    m->xw = horus_malloc((size_t)m->base.input_width * sizeof(*m->xw));
    *out = &m->base;
    return 0;
fail:
    onnx_close(&m->base);
    return rc;
}

static void onnx_close(struct det_detector *d)
{
    struct det_onnx *m = (struct det_onnx *)d;
    if (m->session) {
        ort->ReleaseSession(m->session);
    }
    if (m->meminfo)
        ort->ReleaseMemoryInfo(m->meminfo);
    for (size_t i = 0; m->output_names && i < m->output_count; i++)
        free(m->output_names[i]);
    free(m->output_names);
    free(m->input_name);
    free(m->input);
    free(m->candidates);
    free(m->xi);
    free(m->xw);
    det_labels_free(m->base.labels, m->base.label_count);
    free(m);
    env_unref();
}

/* Letterboxes frame into m->input (planar, normalised per m->norm); fills lb. */
static void preprocess(struct det_onnx *m, const struct det_frame *f, struct det_letterbox *lb)
{
    int iw = m->base.input_width, ih = m->base.input_height;
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
    float *b = m->input, *g = b + plane, *r = g + plane;
    if (!m->norm.bgr) { /* planes R, G, B */
        r = m->input;
        b = r + 2 * plane;
    }
    /* the border: 0 once normalised (the mean colour; black for heads without a mean) */
    memset(m->input, 0, 3 * plane * sizeof(float));
    float k[3], c[3];
    for (int ch = 0; ch < 3; ch++) {
        /* k, c per plane B, G, R whatever the order in memory */
        int i = m->norm.bgr ? ch : 2 - ch;
        k[ch] = 1.0f / m->norm.std[i];
        c[ch] = -m->norm.mean[i] / m->norm.std[i];
    }
    for (int x = 0; x < rw; x++) {
        float fx = ((float)x + 0.5f) / scale - 0.5f;
        if (fx < 0)
            fx = 0;
        int x0 = (int)fx;
        if (x0 > f->width - 2)
            x0 = f->width > 1 ? f->width - 2 : 0;
        float w = fx - (float)x0;
        m->xi[x] = x0;
        m->xw[x] = f->width > 1 ? (w > 1 ? 1 : w) : 0;
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
            const uint8_t *p0 = r0 + 3 * m->xi[x], *p1 = r1 + 3 * m->xi[x];
            float wx = m->xw[x];
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

static int onnx_run(struct det_detector *d, const struct det_frame *frame,
                    const struct det_run_options *opt, struct det_box *out, size_t cap, size_t *n,
                    char **errmsg)
{
    struct det_onnx *m = (struct det_onnx *)d;
    struct det_letterbox lb;
    preprocess(m, frame, &lb);
    int64_t shape[4] = {1, 3, m->base.input_height, m->base.input_width};
    size_t bytes = 3 * (size_t)m->base.input_width * (size_t)m->base.input_height * sizeof(float);
    OrtValue *in = NULL;
    OrtValue *outs[2 * MAX_LEVELS] = {0};
    const char *in_name = m->input_name;
    int rc = 0;
    OrtStatus *st = ort->CreateTensorWithDataAsOrtValue(m->meminfo, m->input, bytes, shape, 4,
                                                        ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &in);
    if (!st)
        st = ort->Run(m->session, NULL, &in_name, (const OrtValue *const *)&in, 1,
                      (const char *const *)m->output_names, m->output_count, outs);
    if (st) {
        *errmsg = horus_asprintf("run: %s", ort->GetErrorMessage(st));
        ort->ReleaseStatus(st);
        rc = HORUS_ECODEC;
        goto done;
    }
    float min_score = opt->min_score > 0 ? opt->min_score : 0.35f;
    float iou = opt->nms_iou > 0 ? opt->nms_iou : 0.5f;
    size_t count = 0;
    if (m->plan.head != DET_HEAD_NANODET) {
        const float *data[4] = {0};
        for (size_t i = 0; i < m->output_count && i < 4 && !st; i++)
            st = ort->GetTensorMutableData(outs[i], (void **)&data[i]);
        if (st) {
            *errmsg = horus_asprintf("run: %s", ort->GetErrorMessage(st));
            ort->ReleaseStatus(st);
            rc = HORUS_ECODEC;
            goto done;
        }
        count = det_head_decode(&m->plan, data, m->base.label_count, m->base.input_width,
                                m->base.input_height, min_score, m->candidates, m->candidate_cap);
        count = det_head_to_frame(m->candidates, count, &lb);
        goto nms;
    }
    struct det_nanodet_level levels[MAX_LEVELS];
    for (int l = 0; l < m->level_count; l++) {
        void *scores = NULL, *dist = NULL;
        st = ort->GetTensorMutableData(outs[m->levels[l].scores_output], &scores);
        if (!st)
            st = ort->GetTensorMutableData(outs[m->levels[l].dist_output], &dist);
        if (st) {
            *errmsg = horus_asprintf("run: %s", ort->GetErrorMessage(st));
            ort->ReleaseStatus(st);
            rc = HORUS_ECODEC;
            goto done;
        }
        levels[l] = (struct det_nanodet_level){
            .scores = scores,
            .dist = dist,
            .cells = m->levels[l].cells,
            .stride = m->levels[l].stride,
        };
    }
    count = det_nanodet_decode(levels, m->level_count, m->base.label_count, m->bins, &lb, min_score,
                               m->candidates, m->candidate_cap);
nms:
    count = det_nms(m->candidates, count, iou);
    if (count > cap)
        count = cap;
    if (count)
        memcpy(out, m->candidates, count * sizeof(*out));
    *n = count;
done:
    for (size_t i = 0; i < m->output_count; i++)
        if (outs[i])
            ort->ReleaseValue(outs[i]);
    if (in)
        ort->ReleaseValue(in);
    return rc;
}
