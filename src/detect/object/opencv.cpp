/*
 * DESIGN: the "opencv" detector: NanoDet ONNX models through OpenCV 4.6's
 * DNN module on the CPU, a thin C++ layer under a C API (opencv.h); the
 * only C++ file of Horus, built when CMake finds OpenCV's dnn module.
 *
 * Everything model-specific is the C the onnx backend uses too, so that
 * both feed the model the same floats and decode the same boxes: the
 * letterbox and normalisation (letterbox.c), the output check and pairing
 * (det_nanodet_layout) and the decoder (nanodet.c). What is OpenCV's:
 *
 * Open: the file is read once; its input shape comes from the protobuf
 * itself (onnx_proto.c: OpenCV 4.6 reports no input shape before a forward
 * pass), then cv::dnn::readNetFromONNX parses the same bytes (backend
 * OpenCV, target CPU) and one forward pass of a blank input yields the
 * output shapes det_nanodet_layout checks, so that a wrong model fails at
 * open with a sentence naming the file and the output, never at the first
 * frame.
 *
 * Threads: OpenCV's thread pool is process-wide (cv::setNumThreads); each
 * open raises it to the most any opencv detector asked, under a mutex.
 * Exceptions never cross the C API: every cv::Exception (and bad_alloc)
 * is caught and becomes an error code with OpenCV's own sentence.
 *
 * Run (the caller's thread, one at a time per detector): letterbox into
 * the input planes, which a cv::Mat wraps without a copy; forward; decode
 * the outputs in place; per-label NMS.
 */
#include "opencv.h"

extern "C" {
#include "err.h"
#include "nanodet_int.h"
#include "onnx_proto_int.h"
}

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace
{

const size_t MODEL_MAX = (size_t)1 << 30; /* bytes of a model file */

struct det_opencv {
    struct det_detector base; /* first: the generic part */
    cv::dnn::Net net;
    std::vector<std::string> out_names; /* in forward's order */
    std::vector<cv::Mat> outs; /* the last forward's outputs */
    struct det_nanodet_head levels[DET_NANODET_MAX_LEVELS];
    int level_count = 0, bins = 0;
    struct det_nanodet_input input = {}; /* the letterboxed frame */
    std::vector<struct det_box> candidates; /* one per cell of every level */
};

std::mutex threads_lock;
int threads_max; /* guarded by threads_lock */

/* A new string, like horus_asprintf (mem.h is C only). */
char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = nullptr;
    if (vasprintf(&s, f, ap) < 0)
        abort(); /* out of memory: Horus aborts (mem.h) */
    va_end(ap);
    return s;
}

/* OpenCV's sentence without its file/line decoration. */
const char *cv_why(const cv::Exception &e)
{
    return e.err.empty() ? e.what() : e.err.c_str();
}

void opencv_close(struct det_detector *d);
int opencv_run(struct det_detector *d, const struct det_frame *frame,
               const struct det_run_options *opt, struct det_box *out, size_t cap, size_t *n,
               char **errmsg);

const struct det_detector_ops opencv_ops = {
    "opencv",
    opencv_run,
    opencv_close,
};

/* Reads path whole into buf; -errno or HORUS_ETOOBIG with *errmsg. */
int read_model(const char *path, std::vector<uint8_t> &buf, char **errmsg)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        int rc = stat(path, &sb) != 0 ? -errno : -EISDIR;
        *errmsg = fmt("model '%s': %s", path, horus_strerror(rc));
        return rc;
    }
    if ((uint64_t)sb.st_size > MODEL_MAX) {
        *errmsg = fmt("model '%s': larger than %zu MiB", path, MODEL_MAX >> 20);
        return HORUS_ETOOBIG;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int rc = -errno;
        *errmsg = fmt("model '%s': %s", path, horus_strerror(rc));
        return rc;
    }
    buf.resize((size_t)sb.st_size);
    size_t got = buf.empty() ? 0 : fread(buf.data(), 1, buf.size(), f);
    int rc = ferror(f) || got != buf.size() ? -EIO : 0;
    fclose(f);
    if (rc)
        *errmsg = fmt("model '%s': %s", path, horus_strerror(rc));
    return rc;
}

/* The model's input size from its bytes; HORUS_EPARSE / HORUS_ECONFIG with *errmsg. */
int input_size(const char *path, const std::vector<uint8_t> &buf, int want, int *w, int *h,
               char **errmsg)
{
    int64_t dims[8];
    size_t n = 0;
    int type = 0;
    const char *why = nullptr;
    if (det_onnx_input_shape(buf.data(), buf.size(), &type, dims, 8, &n, &why) < 0) {
        *errmsg = fmt("model '%s': load: %s", path, why);
        return HORUS_EPARSE;
    }
    char shape[128];
    det_nanodet_format_shape(shape, sizeof(shape), dims, n);
    if (type != DET_ONNX_FLOAT) {
        *errmsg = fmt("model '%s': input is not float32", path);
        return HORUS_ECONFIG;
    }
    /* a dynamic height or width takes the configured size */
    for (size_t i = 2; n == 4 && want && i < 4; i++)
        if (dims[i] == -1)
            dims[i] = want;
    if (n != 4 || (dims[0] != 1 && dims[0] != -1) || dims[1] != 3 || dims[2] < 32 || dims[3] < 32 ||
        dims[2] > 4096 || dims[3] > 4096) {
        *errmsg = fmt("model '%s': input has shape %s, expected [1,3,H,W] with H and W fixed (or "
                      "input_size set), 32..4096",
                      path, shape);
        return HORUS_ECONFIG;
    }
    if (want && (want != dims[2] || want != dims[3])) {
        *errmsg =
            fmt("model '%s': input has shape %s, not the configured size %d", path, shape, want);
        return HORUS_ECONFIG;
    }
    *h = (int)dims[2];
    *w = (int)dims[3];
    return 0;
}

/* Loads the net, runs it once on a blank input and checks its outputs. */
int load(det_opencv *m, const char *path, const std::vector<uint8_t> &buf, char **errmsg)
{
    try {
        m->net = cv::dnn::readNetFromONNX(reinterpret_cast<const char *>(buf.data()), buf.size());
    } catch (const cv::Exception &e) {
        *errmsg = fmt("model '%s': load: %s", path, cv_why(e));
        return HORUS_EPARSE;
    }
    if (m->net.empty()) {
        *errmsg = fmt("model '%s': load: OpenCV read no layers", path);
        return HORUS_EPARSE;
    }
    int iw = m->base.input_width, ih = m->base.input_height;
    det_nanodet_input_init(&m->input, iw, ih);
    const size_t plane = (size_t)iw * (size_t)ih;
    std::memset(m->input.planes, 0, 3 * plane * sizeof(float));
    try {
        m->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        m->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        m->out_names = m->net.getUnconnectedOutLayersNames();
        const int shape[4] = {1, 3, ih, iw};
        m->net.setInput(cv::Mat(4, shape, CV_32F, m->input.planes));
        m->net.forward(m->outs, m->out_names);
    } catch (const cv::Exception &e) {
        *errmsg =
            fmt("model '%s': does not run on a [1,3,%d,%d] input: %s", path, ih, iw, cv_why(e));
        return HORUS_ECONFIG;
    }
    size_t n = m->outs.size() < m->out_names.size() ? m->outs.size() : m->out_names.size();
    std::vector<struct det_nanodet_output> outs(n ? n : 1);
    for (size_t i = 0; i < n && i < 2 * DET_NANODET_MAX_LEVELS; i++) {
        const cv::Mat &o = m->outs[i];
        outs[i].name = m->out_names[i].c_str();
        outs[i].ndims = (size_t)(o.dims > 8 ? 8 : o.dims);
        for (size_t k = 0; k < outs[i].ndims; k++)
            outs[i].dims[k] = o.size[(int)k];
        if (o.type() != CV_32F) {
            *errmsg = fmt("model '%s': output '%s' is not float32", path, outs[i].name);
            return HORUS_ECONFIG;
        }
    }
    char *why = nullptr;
    int rc = det_nanodet_layout(outs.data(), n, iw, ih, m->base.label_count, m->levels,
                                &m->level_count, &m->bins, &why);
    if (rc) {
        *errmsg = fmt("model '%s': %s", path, why);
        free(why);
        return rc;
    }
    size_t cells = 0;
    for (int l = 0; l < m->level_count; l++)
        cells += (size_t)m->levels[l].cells;
    m->candidates.resize(cells);
    return 0;
}

void opencv_close(struct det_detector *d)
{
    det_opencv *m = reinterpret_cast<det_opencv *>(d);
    det_nanodet_input_free(&m->input);
    det_labels_free(m->base.labels, m->base.label_count);
    delete m;
}

int opencv_run(struct det_detector *d, const struct det_frame *frame,
               const struct det_run_options *opt, struct det_box *out, size_t cap, size_t *n,
               char **errmsg)
{
    det_opencv *m = reinterpret_cast<det_opencv *>(d);
    struct det_letterbox lb;
    det_nanodet_letterbox(&m->input, frame, &lb);
    try {
        const int shape[4] = {1, 3, m->input.height, m->input.width};
        m->net.setInput(cv::Mat(4, shape, CV_32F, m->input.planes));
        m->net.forward(m->outs, m->out_names);
    } catch (const cv::Exception &e) {
        *errmsg = fmt("run: %s", cv_why(e));
        return HORUS_ECODEC;
    } catch (const std::bad_alloc &) {
        abort(); /* out of memory: Horus aborts (mem.h) */
    }
    struct det_nanodet_level levels[DET_NANODET_MAX_LEVELS];
    for (int l = 0; l < m->level_count; l++) {
        const det_nanodet_head &h = m->levels[l];
        const cv::Mat &s = m->outs[(size_t)h.scores_output], &t = m->outs[(size_t)h.dist_output];
        /* the shapes were checked at open; a net that changed them is broken */
        if ((size_t)h.scores_output >= m->outs.size() || (size_t)h.dist_output >= m->outs.size() ||
            !s.isContinuous() || !t.isContinuous() || s.type() != CV_32F || t.type() != CV_32F ||
            s.total() != (size_t)h.cells * (size_t)m->base.label_count ||
            t.total() != (size_t)h.cells * 4 * (size_t)m->bins) {
            *errmsg = fmt("run: output '%s' changed shape since open",
                          m->out_names[(size_t)h.scores_output].c_str());
            return HORUS_ECODEC;
        }
        levels[l] = {s.ptr<float>(), t.ptr<float>(), h.cells, h.stride};
    }
    float min_score = opt->min_score > 0 ? opt->min_score : 0.35f;
    float iou = opt->nms_iou > 0 ? opt->nms_iou : 0.5f;
    size_t count = det_nanodet_decode(levels, m->level_count, m->base.label_count, m->bins, &lb,
                                      min_score, m->candidates.data(), m->candidates.size());
    count = det_nms(m->candidates.data(), count, iou);
    if (count > cap)
        count = cap;
    if (count)
        std::memcpy(out, m->candidates.data(), count * sizeof(*out));
    *n = count;
    return 0;
}

/* Raises OpenCV's process-wide thread count to threads when it is the most asked. */
void use_threads(int threads)
{
    std::lock_guard<std::mutex> g(threads_lock);
    if (threads_max == 0)
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
    if (threads > threads_max) {
        threads_max = threads;
        cv::setNumThreads(threads);
    }
}

} // namespace

extern "C" const char *det_opencv_version(void)
{
    return CV_VERSION;
}

extern "C" int det_opencv_open(const struct det_opencv_options *opt, struct det_detector **out,
                               char **errmsg)
{
    *out = nullptr;
    *errmsg = nullptr;
    const char *path = opt->model_path;
    int threads = opt->threads ? opt->threads : 1;
    if (!path || !opt->labels_path) {
        *errmsg = fmt("%s", !path ? "model: path required" : "labels: path required");
        return -EINVAL;
    }
    if (threads < 1 || threads > 64 || opt->input_size < 0 || opt->input_size > 4096) {
        *errmsg = fmt("%s", threads < 1 || threads > 64 ? "threads: must be 1..64"
                                                        : "input_size: must be 0..4096");
        return -EINVAL;
    }
    det_opencv *m = nullptr;
    try {
        std::vector<uint8_t> buf;
        int rc = read_model(path, buf, errmsg);
        if (rc)
            return rc;
        int w = 0, h = 0;
        if ((rc = input_size(path, buf, opt->input_size, &w, &h, errmsg)))
            return rc;
        m = new det_opencv();
        m->base.ops = &opencv_ops;
        m->base.input_width = w;
        m->base.input_height = h;
        rc = det_labels_load(opt->labels_path, &m->base.labels, &m->base.label_count, errmsg);
        if (rc == 0) {
            use_threads(threads);
            rc = load(m, path, buf, errmsg);
        }
        if (rc) {
            opencv_close(&m->base);
            return rc;
        }
    } catch (const std::bad_alloc &) {
        abort(); /* out of memory: Horus aborts (mem.h) */
    }
    *out = &m->base;
    return 0;
}
