/*
 * DESIGN: the "remote" detector: one libcurl easy handle and one mjpeg
 * encoder per detector (a detector is used by one thread at a time, so
 * neither needs a lock), reused across runs so that keep-alive spares a
 * TCP handshake per frame.
 *
 * Run: RGB24 -> YUVJ420P (libswscale, same size: the provider sees the
 * frame as the camera gave it and answers in its pixels), mjpeg at the
 * configured quality, a multipart/form-data POST of the JPEG as "image"
 * (plus "min_confidence"), a reply of at most 1 MiB, then the pure parser
 * (remote_parse.c), the caller's score threshold and per-label NMS. Every
 * error names the provider by its URL passed through horus_mask_url, so a
 * key in the URL never reaches a log.
 */
#include "remote.h"

#include "remote_int.h"

#include "err.h"
#include "mask.h"
#include "mem.h"

#include <curl/curl.h>
#include <jansson.h>
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_MAX_BYTES (1u << 20)
#define BOXES_MAX 512

struct det_remote {
    struct det_detector base; /* first: the generic part */
    char *endpoint; /* owned: url + "/v1/vision/detection" */
    char masked[256]; /* the url as errors show it */
    char *auth_header; /* owned: "Authorization: Bearer ..."; NULL = none */
    struct curl_slist *headers; /* owned */
    CURL *curl; /* owned */
    char min_conf[32]; /* "" = not sent */
    int timeout_ms, connect_timeout_ms, qscale;
    /* The encoder, remade when the frame size changes. */
    AVCodecContext *enc; /* owned */
    struct SwsContext *sws; /* owned */
    AVFrame *yuv; /* owned */
    AVPacket *pkt; /* owned */
    int enc_w, enc_h;
    /* The reply being received. */
    char *reply; /* owned, REPLY_MAX_BYTES + 1 */
    size_t reply_len;
    int is_reply_too_big;
    struct det_box *boxes; /* owned, BOXES_MAX */
    _Atomic uint64_t unknown_labels;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void encoder_free(struct det_remote *r)
{
    avcodec_free_context(&r->enc);
    sws_freeContext(r->sws);
    r->sws = NULL;
    av_frame_free(&r->yuv);
    r->enc_w = r->enc_h = 0;
}

static void remote_close(struct det_detector *d)
{
    struct det_remote *r = (struct det_remote *)d;
    encoder_free(r);
    av_packet_free(&r->pkt);
    if (r->curl)
        curl_easy_cleanup(r->curl);
    curl_slist_free_all(r->headers);
    free(r->endpoint);
    free(r->auth_header);
    free(r->reply);
    free(r->boxes);
    det_labels_free(d->labels, d->label_count);
    free(r);
}

static int encoder_open(struct det_remote *r, int w, int h, char **errmsg)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec) {
        *errmsg = horus_strdup("libavcodec has no mjpeg encoder");
        return HORUS_ECODEC;
    }
    encoder_free(r);
    r->enc = avcodec_alloc_context3(codec);
    r->enc->width = w;
    r->enc->height = h;
    r->enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    r->enc->time_base = (AVRational){1, 25};
    r->enc->flags |= AV_CODEC_FLAG_QSCALE;
    r->enc->global_quality = FF_QP2LAMBDA * r->qscale;
    r->enc->thread_count = 1;
    int rc = avcodec_open2(r->enc, codec, NULL);
    if (rc < 0) {
        *errmsg = horus_asprintf("open mjpeg encoder %dx%d: %s", w, h, av_err2str(rc));
        encoder_free(r);
        return HORUS_ECODEC;
    }
    /* YUVJ420P is YUV420P at full range; saying so avoids swscale's warning. */
    r->sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL,
                            NULL, NULL);
    if (r->sws) {
        const int *coefs = sws_getCoefficients(SWS_CS_ITU601);
        sws_setColorspaceDetails(r->sws, coefs, 1, coefs, 1, 0, 1 << 16, 1 << 16);
    }
    r->yuv = av_frame_alloc();
    r->yuv->format = AV_PIX_FMT_YUVJ420P;
    r->yuv->width = w;
    r->yuv->height = h;
    if (!r->sws || av_frame_get_buffer(r->yuv, 0) < 0) {
        *errmsg = horus_asprintf("prepare a %dx%d picture for JPEG", w, h);
        encoder_free(r);
        return HORUS_ECODEC;
    }
    r->enc_w = w;
    r->enc_h = h;
    return 0;
}

/* Encodes frame as JPEG into r->pkt. */
static int encode(struct det_remote *r, const struct det_frame *f, char **errmsg)
{
    int rc;
    if ((f->width != r->enc_w || f->height != r->enc_h) &&
        (rc = encoder_open(r, f->width, f->height, errmsg)))
        return rc;
    if ((rc = av_frame_make_writable(r->yuv)) < 0)
        goto fail;
    const uint8_t *src[1] = {f->rgb};
    const int stride[1] = {f->stride_bytes};
    sws_scale(r->sws, src, stride, 0, f->height, r->yuv->data, r->yuv->linesize);
    r->yuv->pts++;
    av_packet_unref(r->pkt);
    if ((rc = avcodec_send_frame(r->enc, r->yuv)) < 0 ||
        (rc = avcodec_receive_packet(r->enc, r->pkt)) < 0)
        goto fail;
    return 0;
fail:
    *errmsg = horus_asprintf("encode JPEG %dx%d: %s", f->width, f->height, av_err2str(rc));
    encoder_free(r); /* an encoder in an unknown state is not reused */
    return HORUS_ECODEC;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct det_remote *r = arg;
    size_t len = size * nmemb;
    if (r->reply_len + len > REPLY_MAX_BYTES) {
        r->is_reply_too_big = 1;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    memcpy(r->reply + r->reply_len, data, len);
    r->reply_len += len;
    return len;
}

static int curl_code(CURLcode c)
{
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
        return -EHOSTUNREACH;
    default:
        return -EIO;
    }
}

/* Posts r->pkt; the reply lands in r->reply. */
static int post(struct det_remote *r, char **errmsg)
{
    curl_mime *mime = curl_mime_init(r->curl);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "image");
    curl_mime_filename(part, "frame.jpg");
    curl_mime_type(part, "image/jpeg");
    curl_mime_data(part, (const char *)r->pkt->data, (size_t)r->pkt->size);
    if (r->min_conf[0]) {
        part = curl_mime_addpart(mime);
        curl_mime_name(part, "min_confidence");
        curl_mime_data(part, r->min_conf, CURL_ZERO_TERMINATED);
    }
    curl_easy_setopt(r->curl, CURLOPT_MIMEPOST, mime);
    r->reply_len = 0;
    r->is_reply_too_big = 0;
    CURLcode c = curl_easy_perform(r->curl);
    long status = 0;
    curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(r->curl, CURLOPT_MIMEPOST, NULL);
    curl_mime_free(mime);
    r->reply[r->reply_len] = '\0';
    if (r->is_reply_too_big) {
        *errmsg = horus_asprintf("remote '%s': reply over %u bytes", r->masked, REPLY_MAX_BYTES);
        return -EPROTO;
    }
    if (c == CURLE_OPERATION_TIMEDOUT) {
        *errmsg = horus_asprintf("remote '%s': timed out after %d ms", r->masked, r->timeout_ms);
        return -ETIMEDOUT;
    }
    if (c != CURLE_OK) {
        *errmsg = horus_asprintf("remote '%s': %s", r->masked, curl_easy_strerror(c));
        return curl_code(c);
    }
    if (status != 200) {
        /* The provider's own error text, when it sent the DeepStack shape. */
        char *why = NULL;
        json_t *j = json_loadb(r->reply, r->reply_len, 0, NULL);
        json_t *je = json_object_get(j, "error");
        /* DeepStack's "error" is a string; Horus's own API errors nest {code, message}. */
        const char *e = json_is_object(je) ? json_string_value(json_object_get(je, "message"))
                                           : json_string_value(je);
        char etext[200];
        if (e)
            why = horus_asprintf(": %s", horus_mask_text(e, etext, sizeof(etext)));
        *errmsg = horus_asprintf("remote '%s': HTTP %ld%s", r->masked, status, why ? why : "");
        free(why);
        json_decref(j);
        return -EPROTO;
    }
    return 0;
}

static int remote_run(struct det_detector *d, const struct det_frame *frame,
                      const struct det_run_options *opt, struct det_box *out, size_t cap, size_t *n,
                      char **errmsg)
{
    struct det_remote *r = (struct det_remote *)d;
    char *why = NULL;
    int rc = encode(r, frame, &why);
    if (rc) {
        *errmsg = horus_asprintf("remote '%s': %s", r->masked, why);
        free(why);
        return rc;
    }
    if ((rc = post(r, errmsg)))
        return rc;
    size_t got = 0, unknown = 0;
    rc = det_remote_parse(r->reply, r->reply_len, frame->width, frame->height, d->labels,
                          d->label_count, r->boxes, BOXES_MAX, &got, &unknown, &why);
    if (rc) {
        char etext[300];
        *errmsg = horus_asprintf("remote '%s': %s", r->masked,
                                 horus_mask_text(why, etext, sizeof(etext)));
        free(why);
        return rc;
    }
    atomic_fetch_add(&r->unknown_labels, unknown);
    float min_score = opt->min_score > 0 ? opt->min_score : 0.35f;
    size_t kept = 0;
    for (size_t i = 0; i < got; i++)
        if (r->boxes[i].score >= min_score)
            r->boxes[kept++] = r->boxes[i];
    kept = det_nms(r->boxes, kept, opt->nms_iou > 0 ? opt->nms_iou : 0.5f);
    *n = kept < cap ? kept : cap;
    memcpy(out, r->boxes, *n * sizeof(*out));
    return 0;
}

static const struct det_detector_ops remote_ops = {
    .name = "remote",
    .run = remote_run,
    .close = remote_close,
};

uint64_t det_remote_unknown_labels(const struct det_detector *d)
{
    if (d->ops != &remote_ops)
        return 0;
    return atomic_load(&((const struct det_remote *)d)->unknown_labels);
}

int det_remote_open(const struct det_remote_options *opt, struct det_detector **out, char **errmsg)
{
    *out = NULL;
    *errmsg = NULL;
    const char *url = opt->url ? opt->url : "";
    int timeout = opt->timeout_ms ? opt->timeout_ms : 5000;
    int connect =
        opt->connect_timeout_ms ? opt->connect_timeout_ms : (timeout < 2000 ? timeout : 2000);
    int quality = opt->jpeg_quality ? opt->jpeg_quality : 85;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        *errmsg = horus_strdup("url: must start with http:// or https://");
        return -EINVAL;
    }
    if (timeout < 1 || timeout > 600000) {
        *errmsg = horus_strdup("timeout_ms: must be 1..600000");
        return -EINVAL;
    }
    if (connect < 1 || connect > timeout) {
        *errmsg = horus_strdup("connect_timeout_ms: must be 1..timeout_ms");
        return -EINVAL;
    }
    if (quality < 1 || quality > 100) {
        *errmsg = horus_strdup("jpeg_quality: must be 1..100");
        return -EINVAL;
    }
    if (opt->min_confidence < 0 || opt->min_confidence > 1) {
        *errmsg = horus_strdup("min_confidence: must be 0..1");
        return -EINVAL;
    }
    if (!opt->labels_path || !*opt->labels_path) {
        *errmsg = horus_strdup("labels: required (the provider's label names)");
        return -EINVAL;
    }
    struct det_remote *r = horus_calloc(1, sizeof(*r));
    r->base.ops = &remote_ops;
    int rc = det_labels_load(opt->labels_path, &r->base.labels, &r->base.label_count, errmsg);
    if (rc) {
        free(r);
        return rc;
    }
    size_t ulen = strlen(url);
    while (ulen > 0 && url[ulen - 1] == '/')
        ulen--;
    r->endpoint = horus_asprintf("%.*s/v1/vision/detection", (int)ulen, url);
    horus_mask_url(url, r->masked, sizeof(r->masked));
    r->timeout_ms = timeout;
    r->connect_timeout_ms = connect;
    /* mjpeg's qscale 2 (best) .. 31; quality 85 gives 5. */
    r->qscale = 2 + (100 - quality) / 5;
    if (opt->min_confidence > 0)
        snprintf(r->min_conf, sizeof(r->min_conf), "%.3f", (double)opt->min_confidence);
    r->reply = horus_malloc(REPLY_MAX_BYTES + 1);
    r->boxes = horus_malloc(BOXES_MAX * sizeof(*r->boxes));
    r->pkt = av_packet_alloc();
    pthread_once(&curl_once, curl_init_once);
    r->curl = curl_easy_init();
    if (!r->curl || !r->pkt) {
        *errmsg = horus_strdup("libcurl: cannot make a handle");
        remote_close(&r->base);
        return -ENOMEM;
    }
    r->headers = curl_slist_append(NULL, "Accept: application/json");
    r->headers = curl_slist_append(r->headers, "Expect:");
    if (opt->api_key && *opt->api_key) {
        r->auth_header = horus_asprintf("Authorization: Bearer %s", opt->api_key);
        r->headers = curl_slist_append(r->headers, r->auth_header);
    }
    CURL *c = r->curl;
    curl_easy_setopt(c, CURLOPT_URL, r->endpoint);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (opt->ca_file && *opt->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, opt->ca_file);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "horus-detect-remote");
    *out = &r->base;
    return 0;
}
