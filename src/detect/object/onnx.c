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
 * letterboxed into the model's input (letterbox.c, shared with the opencv
 * backend: bilinear, the aspect ratio kept, the frame centred, the border at
 * the mean colour so it normalises to 0) as the head's planar RGB or BGR
 * with its mean and standard deviation (det_head_norm_of), run, decoded by
 * the head, and reduced by per-label NMS. Every
 * buffer is allocated at open; a run allocates only inside ONNX Runtime.
 *
 * Lock order: env_lock only, and only at open and close.
 */
#include "onnx.h"

#include "heads_int.h"
#include "nanodet_int.h"

#include "err.h"
#define LOG_MODULE "detect"
#include "log.h"
#include "mem.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <onnxruntime_c_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LEVELS DET_NANODET_MAX_LEVELS

struct det_onnx {
    struct det_detector base; /* first: the generic part */
    const char *device; /* "cpu" or "cuda": where the session runs */
    OrtSession *session; /* owned */
    OrtMemoryInfo *meminfo; /* owned */
    char *input_name; /* owned */
    char **output_names; /* owned, output_count of them */
    size_t output_count;
    struct det_nanodet_head levels[MAX_LEVELS];
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
    det_nanodet_format_shape(shape, sizeof(shape), dims, n);
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
    size_t count = 0;
    if (!st)
        st = ort->SessionGetOutputCount(m->session, &count);
    if (st)
        return ort_fail(st, path, "read outputs", errmsg);
    struct det_nanodet_output outs[2 * MAX_LEVELS];
    char *why = NULL;
    int rc = 0;
    if (count > 2 * MAX_LEVELS) {
        /* too many: let the layout say so, naming none */
        rc = det_nanodet_layout(outs, count, m->base.input_width, m->base.input_height,
                                m->base.label_count, m->levels, &m->level_count, &m->bins, &why);
        goto done;
    }
    m->output_names = horus_calloc(count ? count : 1, sizeof(char *));
    m->output_count = count;
    for (size_t i = 0; i < count; i++) {
        char *name = NULL;
        if ((st = ort->SessionGetOutputName(m->session, i, alloc, &name)))
            return ort_fail(st, path, "read outputs", errmsg);
        m->output_names[i] = horus_strdup(name);
        free_status(ort->AllocatorFree(alloc, name));
        OrtTypeInfo *info = NULL;
        if ((st = ort->SessionGetOutputTypeInfo(m->session, i, &info)))
            return ort_fail(st, path, "read outputs", errmsg);
        outs[i].name = m->output_names[i];
        rc = tensor_shape(info, path, "output", m->output_names[i], outs[i].dims, &outs[i].ndims,
                          errmsg);
        ort->ReleaseTypeInfo(info);
        if (rc)
            return rc;
    }
    rc = det_nanodet_layout(outs, count, m->base.input_width, m->base.input_height,
                            m->base.label_count, m->levels, &m->level_count, &m->bins, &why);
done:
    if (rc) {
        *errmsg = horus_asprintf("model '%s': %s", path, why);
        free(why);
    }
    return rc;
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

/* device auto without CUDA: said once per process, not per detector. */
static void log_once_cpu(const char *why)
{
    static atomic_bool is_said;
    if (!atomic_exchange(&is_said, true))
        log_info("onnx: no CUDA execution provider (%s); running on the CPU", why);
}

/*
 * Whether the loaded ONNX Runtime has its CUDA provider library beside it.
 * Without it, asking for the provider makes ONNX Runtime print an error
 * line of its own on stderr before we fall back, which reads like a fault
 * on every CPU-only machine (the demo); "auto" asks only when it is there.
 */
static bool cuda_provider_present(void)
{
    Dl_info info;
    if (!dladdr((void *)OrtGetApiBase, &info) || !info.dli_fname)
        return true; /* cannot tell: let ONNX Runtime say */
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", info.dli_fname);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return true;
    *slash = '\0';
    char lib[PATH_MAX + 48];
    snprintf(lib, sizeof(lib), "%s/libonnxruntime_providers_cuda.so", dir);
    return access(lib, R_OK) == 0;
}

const char *det_onnx_device(const struct det_detector *d)
{
    return d && d->ops == &onnx_ops ? ((const struct det_onnx *)d)->device : "";
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
    const char *device = opt->device && opt->device[0] ? opt->device : "cpu";
    if (strcmp(device, "cpu") != 0 && strcmp(device, "cuda") != 0 && strcmp(device, "auto") != 0) {
        *errmsg = horus_strdup("device: must be cpu, cuda or auto");
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
    m->device = "cpu";
    bool is_auto = device && strcmp(device, "cuda") != 0 && strcmp(device, "cpu") != 0;
    if (!st && is_auto && !cuda_provider_present()) {
        log_once_cpu("this ONNX Runtime has no libonnxruntime_providers_cuda.so");
    } else if (!st && device && strcmp(device, "cpu") != 0) {
        /* CUDA when this ONNX Runtime has the provider and the machine a GPU */
        OrtCUDAProviderOptions cuda = {.device_id = 0,
                                       .cudnn_conv_algo_search = OrtCudnnConvAlgoSearchDefault,
                                       .gpu_mem_limit = SIZE_MAX,
                                       .do_copy_in_default_stream = 1};
        OrtStatus *cst = ort->SessionOptionsAppendExecutionProvider_CUDA(so, &cuda);
        if (!cst) {
            m->device = "cuda";
        } else if (strcmp(device, "cuda") == 0) {
            *errmsg =
                horus_asprintf("model '%s': device cuda: %s", path, ort->GetErrorMessage(cst));
            ort->ReleaseStatus(cst);
            ort->ReleaseSessionOptions(so);
            rc = HORUS_ECONFIG;
            goto fail;
        } else {
            log_once_cpu(ort->GetErrorMessage(cst));
            ort->ReleaseStatus(cst);
        }
    }
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

/* Letterboxes frame into m->input (planar, normalised per m->norm; letterbox.c); fills lb. */
static void preprocess(struct det_onnx *m, const struct det_frame *f, struct det_letterbox *lb)
{
    struct det_nanodet_input in = {.width = m->base.input_width,
                                   .height = m->base.input_height,
                                   .planes = m->input,
                                   .xi = m->xi,
                                   .xw = m->xw};
    det_input_letterbox(&in, f, m->norm.mean, m->norm.std, m->norm.bgr, lb);
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
