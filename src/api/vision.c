/*
 * DESIGN: POST /v1/vision/detection, the DeepStack / CodeProject.AI
 * detection API, served by this node's own detectors (docs/design/0041),
 * so that a node with a GPU serves nodes without one and the "remote"
 * detector (src/detect/object/remote.c) is tested against a real Horus.
 *
 * The body is multipart/form-data (http_multipart.c): "image" (JPEG or
 * PNG, told by its first bytes, decoded with libavcodec on the request's
 * thread with max_pixels bounding the picture before any allocation) and
 * optional "min_confidence". The pool holds vision.threads detectors; a
 * request takes one under the pool's mutex (waiting at most POOL_WAIT_MS,
 * then 503 with Retry-After), runs it without the lock and gives it back.
 * Replies are in DeepStack's shape: {"success", "predictions", "duration"}
 * and, on errors, {"success": false, "error", "code"}; coordinates are
 * integer pixels of the posted image.
 */
#include "api_int.h"

#include "detect.h"
#include "err.h"
#include "http_multipart.h"
#include "log.h"
#include "mem.h"
#ifdef HORUS_HAVE_ONNXRUNTIME
#include "onnx.h"
#include "thread.h"
#endif

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "vision"

#define VISION_ROUTE "/v1/vision/detection"
#define VISION_MAX_SIDE 8192
#define VISION_MAX_PIXELS (6144 * 6144)
#define POOL_WAIT_MS 5000
#define BOXES_MAX 300

struct api_vision {
    pthread_mutex_t lock; /* guards free_mask */
    pthread_cond_t freed;
    struct det_detector **detectors; /* owned, count of them */
    size_t count;
    uint64_t free_mask; /* bit i: detectors[i] is idle */
    size_t max_body_bytes;
    double min_confidence;
};

int api_vision_new(const struct api_vision_config *c, api_vision **out, char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    if (!c->model || !*c->model) {
        *errmsg = horus_strdup("vision.model: required when vision.serve is true");
        return -EINVAL;
    }
    if (!c->labels || !*c->labels) {
        *errmsg = horus_strdup("vision.labels: required when vision.serve is true");
        return -EINVAL;
    }
#ifndef HORUS_HAVE_ONNXRUNTIME
    *errmsg = horus_strdup("vision.serve: this build has no ONNX Runtime (scripts/deps-detect)");
    return -ENOTSUP;
#else
    api_vision *v = horus_calloc(1, sizeof(*v));
    pthread_mutex_init(&v->lock, NULL);
    horus_cond_init_monotonic(&v->freed);
    v->count = (size_t)(c->threads > 0 ? c->threads : 1);
    if (v->count > 64)
        v->count = 64;
    v->detectors = horus_calloc(v->count, sizeof(*v->detectors));
    v->max_body_bytes = (size_t)c->max_body_bytes;
    v->min_confidence = c->min_confidence;
    for (size_t i = 0; i < v->count; i++) {
        struct det_onnx_options o = {.model_path = c->model,
                                     .labels_path = c->labels,
                                     .input_size = (int)c->input_size,
                                     .threads = 1};
        int rc = det_onnx_open(&o, &v->detectors[i], errmsg);
        if (rc) {
            api_vision_free(v);
            return rc;
        }
        v->free_mask |= 1ull << i;
    }
    *out = v;
    return 0;
#endif
}

void api_vision_free(api_vision *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++)
        det_detector_close(v->detectors[i]);
    free(v->detectors);
    pthread_cond_destroy(&v->freed);
    pthread_mutex_destroy(&v->lock);
    free(v);
}

/* Takes an idle detector's index, waiting up to POOL_WAIT_MS; -1 when none came free. */
static int pool_take(api_vision *v)
{
    struct timespec until = horus_deadline_ms(POOL_WAIT_MS);
    int idx = -1, rc = 0;
    pthread_mutex_lock(&v->lock);
    while (v->free_mask == 0 && rc == 0)
        rc = pthread_cond_timedwait(&v->freed, &v->lock, &until);
    if (v->free_mask) {
        idx = __builtin_ctzll(v->free_mask);
        v->free_mask &= ~(1ull << idx);
    }
    pthread_mutex_unlock(&v->lock);
    return idx;
}

static void pool_give(api_vision *v, int idx)
{
    pthread_mutex_lock(&v->lock);
    v->free_mask |= 1ull << idx;
    pthread_cond_signal(&v->freed);
    pthread_mutex_unlock(&v->lock);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A DeepStack error reply: {"success": false, "error", "code", "duration"}. */
static int reply_fail(http_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int reply_fail(http_request *req, unsigned status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return http_reply_json(req, status,
                           json_pack("{s:b, s:s, s:i, s:i}", "success", 0, "error", msg, "code",
                                     (int)status, "duration", 0));
}

/* Decoded picture: packed RGB24, malloc'd. */
struct vision_image {
    uint8_t *rgb;
    int width, height;
};

/*
 * Decodes a JPEG or PNG of len bytes. Returns 0, or -EINVAL with why set
 * (a 400 for the client), or HORUS_ECODEC for our own failure.
 */
static int decode_image(const uint8_t *data, size_t len, struct vision_image *img, char *why,
                        size_t why_size)
{
    enum AVCodecID id;
    static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        id = AV_CODEC_ID_MJPEG;
    else if (len >= 8 && memcmp(data, png_magic, 8) == 0)
        id = AV_CODEC_ID_PNG;
    else {
        snprintf(why, why_size, "image: not a JPEG or PNG file");
        return -EINVAL;
    }
    const AVCodec *codec = avcodec_find_decoder(id);
    AVCodecContext *dec = codec ? avcodec_alloc_context3(codec) : NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    struct SwsContext *sws = NULL;
    int rc = HORUS_ECODEC;
    if (!dec || !pkt || !frame) {
        snprintf(why, why_size, "image: no %s decoder", id == AV_CODEC_ID_PNG ? "PNG" : "JPEG");
        goto out;
    }
    dec->thread_count = 1;
    dec->max_pixels = VISION_MAX_PIXELS;
    if (avcodec_open2(dec, codec, NULL) < 0) {
        snprintf(why, why_size, "image: cannot open the decoder");
        goto out;
    }
    /* The packet needs padding past its end: copy it. */
    if (av_new_packet(pkt, (int)len) < 0)
        goto out;
    memcpy(pkt->data, data, len);
    int err = avcodec_send_packet(dec, pkt);
    if (err >= 0)
        err = avcodec_send_packet(dec, NULL);
    if (err >= 0 || err == AVERROR_EOF)
        err = avcodec_receive_frame(dec, frame);
    if (err < 0) {
        snprintf(why, why_size, "image: cannot decode the %s: %s",
                 id == AV_CODEC_ID_PNG ? "PNG" : "JPEG", av_err2str(err));
        rc = -EINVAL;
        goto out;
    }
    if (frame->width < 1 || frame->height < 1 || frame->width > VISION_MAX_SIDE ||
        frame->height > VISION_MAX_SIDE) {
        snprintf(why, why_size, "image: %dx%d pixels; at most %d per side", frame->width,
                 frame->height, VISION_MAX_SIDE);
        rc = -EINVAL;
        goto out;
    }
    sws = sws_getContext(frame->width, frame->height, frame->format, frame->width, frame->height,
                         AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
    if (!sws) {
        snprintf(why, why_size, "image: pixel format %d cannot be converted", frame->format);
        rc = -EINVAL;
        goto out;
    }
    img->width = frame->width;
    img->height = frame->height;
    img->rgb = horus_malloc((size_t)img->width * 3 * (size_t)img->height);
    uint8_t *dst[1] = {img->rgb};
    int dst_stride[1] = {img->width * 3};
    sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0, frame->height, dst,
              dst_stride);
    rc = 0;
out:
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    return rc;
}

/* Parses the min_confidence field; -1 when it is not a number in 0..1. */
static double parse_confidence(const struct http_multipart_part *p)
{
    char buf[32];
    if (p->len == 0 || p->len >= sizeof(buf))
        return -1;
    memcpy(buf, p->data, p->len);
    buf[p->len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    while (*end == ' ' || *end == '\r' || *end == '\n')
        end++;
    if (*end || !isfinite(v) || v < 0 || v > 1)
        return -1;
    return v;
}

static int detection_post(http_request *req, void *arg)
{
    struct api *ctx = arg;
    api_vision *v = ctx->vision;
    double t0 = now_ms();
    if (!v)
        return reply_fail(req, 404, "this node does not serve detection (vision.serve is false)");
    char boundary[HTTP_MULTIPART_BOUNDARY_MAX + 1], why[300];
    if (http_multipart_boundary(http_request_header(req, "Content-Type"), boundary,
                                sizeof(boundary)) < 0)
        return reply_fail(req, 400, "Content-Type: must be multipart/form-data with a boundary");
    size_t len = 0, nparts = 0;
    const char *body = http_request_body(req, &len);
    struct http_multipart_part parts[HTTP_MULTIPART_PARTS_MAX];
    if (http_multipart_parse(body, len, boundary, parts, HTTP_MULTIPART_PARTS_MAX, &nparts, why,
                             sizeof(why)) < 0)
        return reply_fail(req, 400, "body: %s", why);
    const struct http_multipart_part *image = http_multipart_find(parts, nparts, "image");
    if (!image || image->len == 0)
        return reply_fail(req, 400, "image: missing (a form field named image)");
    double min_conf = v->min_confidence;
    const struct http_multipart_part *mc = http_multipart_find(parts, nparts, "min_confidence");
    if (mc && (min_conf = parse_confidence(mc)) < 0)
        return reply_fail(req, 400, "min_confidence: must be a number 0..1");

    struct vision_image img = {0};
    int rc = decode_image(image->data, image->len, &img, why, sizeof(why));
    if (rc == -EINVAL)
        return reply_fail(req, 400, "%s", why);
    if (rc)
        return reply_fail(req, 500, "%s", why);

    int idx = pool_take(v);
    if (idx < 0) {
        free(img.rgb);
        http_reply_header(req, "Retry-After", "1");
        return reply_fail(req, 503, "every detector is busy; retry in a second");
    }
    struct det_detector *d = v->detectors[idx];
    struct det_frame frame = {img.rgb, img.width, img.height, img.width * 3};
    struct det_run_options opt = {.min_score = (float)(min_conf > 0 ? min_conf : 0.01)};
    struct det_box boxes[BOXES_MAX];
    size_t n = 0;
    char *err = NULL;
    rc = det_detector_run(d, &frame, &opt, boxes, BOXES_MAX, &n, &err);
    json_t *preds = json_array();
    for (size_t i = 0; rc == 0 && i < n; i++)
        json_array_append_new(preds, json_pack("{s:s, s:f, s:i, s:i, s:i, s:i}", "label",
                                               det_detector_label(d, boxes[i].label), "confidence",
                                               (double)boxes[i].score, "x_min",
                                               (int)lroundf(boxes[i].x0 * img.width), "y_min",
                                               (int)lroundf(boxes[i].y0 * img.height), "x_max",
                                               (int)lroundf(boxes[i].x1 * img.width), "y_max",
                                               (int)lroundf(boxes[i].y1 * img.height)));
    pool_give(v, idx);
    free(img.rgb);
    if (rc) {
        json_decref(preds);
        log_error_kv(LOG_KV({"route", VISION_ROUTE}), "detect: %s", err ? err : "failed");
        int r = reply_fail(req, 500, "detect: %s", err ? err : horus_strerror(rc));
        free(err);
        return r;
    }
    return http_reply_json(req, 200,
                           json_pack("{s:b, s:o, s:i}", "success", 1, "predictions", preds,
                                     "duration", (int)lround(now_ms() - t0)));
}

int api_vision_register(http_router *r, struct api *ctx)
{
    int rc = http_router_add(r, "POST", VISION_ROUTE, detection_post, ctx);
    if (rc == 0 && ctx->vision)
        rc = http_router_set_body_limit(r, "POST", VISION_ROUTE, ctx->vision->max_body_bytes);
    return rc;
}
