/*
 * DESIGN: the sampler (docs/design/0036). Ingest threads call the sink: a
 * packet is a reference pushed into a bounded slot under a lock held for a
 * few instructions; a full slot drops and waits for the next keyframe, so
 * recording, which ran first in the supervisor's tee, never waits. A new
 * stream (parameters, epoch) or a gap empties the slot and marks the
 * decoder for a reopen or a flush, which the worker does.
 *
 * The worker side decodes the queued packets in order with one decoder
 * thread, keeps only the newest frame, and converts it when it is due:
 * the analysis takes the newest frame and drops the rest (counted "busy":
 * the sampling instants missed for which a dropped frame was there,
 * det_sample_busy). In keyframes mode each
 * keyframe is decoded alone and the decoder drained, so B-frame reordering
 * never holds a frame back.
 */
#include "sampler.h"

#include "clock.h"
#include "log.h"
#include "mask.h"
#include "media_decode.h"
#include "mem.h"

#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "detect"

struct det_sampler {
    media_sink sink; /* first: the sink's callbacks find the sampler from it */
    char *camera;
    pthread_mutex_t lock; /* slot, pending, is_flush, mode: held a few instructions */
    struct det_slot slot;
    media_stream *pending; /* a new stream for the worker to open, or NULL */
    bool is_flush; /* a gap: the decoder drops its state */
    enum det_decode mode;
    /* The worker's (one at a time). */
    media_stream *stream; /* what dec was opened for */
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame, *newest;
    struct SwsContext *sws;
    bool has_newest;
    uint64_t superseded; /* frames dropped for the newest since the last one made */
    int64_t newest_utc_us;
    int64_t grid_us; /* the last sampling instant used (det_sample_due), -1 none */
    bool is_error_logged;
    bool is_open_failed; /* dec could not open for this stream: counted, not retried */
};

/*
 * libav's own messages (a corrupt slice, a missing reference) become debug
 * lines instead of free text on stderr: the sampler counts and logs decode
 * errors itself, once per camera. ingest's libav client installs the same.
 */
static void av_log_cb(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > AV_LOG_WARNING || !log_enabled(LOG_LEVEL_DEBUG))
        return;
    char line[1024], masked[1024];
    int print_prefix = 1;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
    line[strcspn(line, "\n")] = '\0';
    log_debug("libav: %s", horus_mask_text(line, masked, sizeof(masked)));
}

void det_sampler_log_install(void)
{
    av_log_set_callback(av_log_cb);
}

static det_sampler *of(media_sink *sink)
{
    return (det_sampler *)sink;
}

static void on_stream(media_sink *sink, media_stream *st)
{
    det_sampler *s = of(sink);
    if (st->kind != MEDIA_KIND_VIDEO)
        return;
    media_stream *old;
    pthread_mutex_lock(&s->lock);
    old = s->pending;
    s->pending = media_stream_ref(st);
    det_slot_reset(&s->slot);
    pthread_mutex_unlock(&s->lock);
    media_stream_unref(old);
}

static void on_packet(media_sink *sink, media_packet *p)
{
    det_sampler *s = of(sink);
    if (p->stream->kind != MEDIA_KIND_VIDEO)
        return;
    int64_t now = clock_monotonic_ns(clock_system());
    pthread_mutex_lock(&s->lock);
    det_slot_push(&s->slot, p, now);
    pthread_mutex_unlock(&s->lock);
}

static void on_gap(media_sink *sink, const char *reason)
{
    det_sampler *s = of(sink);
    pthread_mutex_lock(&s->lock);
    det_slot_reset(&s->slot);
    s->is_flush = true;
    pthread_mutex_unlock(&s->lock);
}

static const struct media_sink_ops sampler_ops = {on_stream, on_packet, on_gap};

det_sampler *det_sampler_new(const char *camera_id, enum det_decode mode)
{
    det_sampler *s = horus_calloc(1, sizeof(*s));
    s->sink.ops = &sampler_ops;
    s->camera = horus_strdup(camera_id);
    pthread_mutex_init(&s->lock, NULL);
    s->mode = mode;
    det_slot_init(&s->slot, DET_SAMPLER_QUEUE, mode == DET_DECODE_KEYFRAMES);
    s->pkt = av_packet_alloc();
    s->frame = av_frame_alloc();
    s->newest = av_frame_alloc();
    if (!s->pkt || !s->frame || !s->newest)
        HORUS_BUG("out of memory");
    s->grid_us = -1;
    return s;
}

media_sink *det_sampler_sink(det_sampler *s)
{
    return &s->sink;
}

void det_sampler_set_mode(det_sampler *s, enum det_decode mode)
{
    pthread_mutex_lock(&s->lock);
    if (mode != s->mode) {
        s->mode = mode;
        s->slot.is_keyframes_only = mode == DET_DECODE_KEYFRAMES;
        det_slot_reset(&s->slot);
        s->is_flush = true;
    }
    pthread_mutex_unlock(&s->lock);
}

int64_t det_sampler_ready_since(det_sampler *s)
{
    pthread_mutex_lock(&s->lock);
    int64_t t = s->slot.count ? s->slot.oldest_ns : 0;
    if (!t && s->pending)
        t = 1; /* a new stream to open: ready, oldest */
    pthread_mutex_unlock(&s->lock);
    return t;
}

void det_sampler_skips(det_sampler *s, uint64_t out[DET_SKIP_COUNT])
{
    pthread_mutex_lock(&s->lock);
    memcpy(out, s->slot.skipped, sizeof(s->slot.skipped));
    pthread_mutex_unlock(&s->lock);
}

static void count_skip(det_sampler *s, enum det_skip why, uint64_t n)
{
    pthread_mutex_lock(&s->lock);
    s->slot.skipped[why] += n;
    pthread_mutex_unlock(&s->lock);
}

static void decoder_close(det_sampler *s)
{
    avcodec_free_context(&s->dec);
    av_frame_unref(s->newest);
    s->has_newest = false;
    s->superseded = 0;
    s->grid_us = -1;
    s->is_open_failed = false;
}

/* Opens the decoder for s->stream; false (reason in err) when it cannot. */
static bool decoder_open(det_sampler *s, char *err, size_t size)
{
    s->dec =
        media_decoder_open(s->stream, err, size); /* one thread: analysis threads are the budget */
    return s->dec != NULL;
}

/* Keeps every decoded frame's newest in s->newest. */
static void receive_all(det_sampler *s, const media_packet *ref)
{
    while (avcodec_receive_frame(s->dec, s->frame) == 0) {
        int64_t pts = s->frame->best_effort_timestamp;
        if (pts == AV_NOPTS_VALUE)
            pts = ref->pts;
        if (s->has_newest)
            s->superseded++; /* a newer frame replaces one not analysed */
        av_frame_unref(s->newest);
        av_frame_move_ref(s->newest, s->frame);
        s->newest->pts = pts;
        s->newest_utc_us = ref->wall_us - media_ticks_us(ref->pts - pts, s->stream->timescale);
        s->has_newest = true;
    }
}

/* Feeds one packet; false on a decode error. */
static bool decode_one(det_sampler *s, const media_packet *p, bool is_alone)
{
    int rc = media_decoder_send(s->dec, s->pkt, p);
    if (rc == AVERROR(EAGAIN)) {
        receive_all(s, p);
        rc = 0;
    }
    receive_all(s, p);
    if (is_alone) {
        /* A keyframe alone: drain so reordering holds nothing back, then resume. */
        avcodec_send_packet(s->dec, NULL);
        receive_all(s, p);
        avcodec_flush_buffers(s->dec);
    }
    return rc >= 0 || rc == AVERROR(EAGAIN);
}

/* Converts s->newest to RGB24 at most DET_SAMPLER_MAX_WIDTH wide. */
static struct det_image *convert(det_sampler *s)
{
    const AVFrame *f = s->newest;
    int w = f->width, h = f->height;
    if (w > DET_SAMPLER_MAX_WIDTH) {
        h = (int)((int64_t)h * DET_SAMPLER_MAX_WIDTH / w);
        w = DET_SAMPLER_MAX_WIDTH;
    }
    h = h < 2 ? 2 : h & ~1;
    s->sws = sws_getCachedContext(s->sws, f->width, f->height, f->format, w, h, AV_PIX_FMT_RGB24,
                                  SWS_BILINEAR, NULL, NULL, NULL);
    if (!s->sws)
        return NULL;
    uint8_t *pixels;
    int stride;
    struct det_image *img = det_image_new(w, h, s->newest_utc_us, &pixels, &stride);
    uint8_t *dst[4] = {pixels, NULL, NULL, NULL};
    int dst_stride[4] = {stride, 0, 0, 0};
    sws_scale(s->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_stride);
    return img;
}

bool det_sampler_next(det_sampler *s, int64_t interval_us, struct det_image **img,
                      struct det_luma *luma, char *err, size_t err_size)
{
    media_packet *batch[DET_SLOT_MAX];
    *img = NULL;
    err[0] = '\0';
    pthread_mutex_lock(&s->lock);
    media_stream *fresh = s->pending;
    s->pending = NULL;
    bool is_flush = s->is_flush;
    s->is_flush = false;
    bool is_alone = s->mode == DET_DECODE_KEYFRAMES;
    size_t n = det_slot_take(&s->slot, batch);
    s->superseded += s->slot.superseded;
    pthread_mutex_unlock(&s->lock);

    if (fresh) {
        /* New parameters, a new epoch or a reconnect: a clean decoder. */
        decoder_close(s);
        media_stream_unref(s->stream);
        s->stream = fresh;
    } else if (is_flush && s->dec) {
        avcodec_flush_buffers(s->dec);
        av_frame_unref(s->newest);
        s->has_newest = false;
        s->superseded = 0;
        s->grid_us = -1;
    }
    uint64_t errors = 0;
    if (n && s->stream && !s->dec && !s->is_open_failed && !decoder_open(s, err, err_size)) {
        s->is_open_failed = true;
    }
    for (size_t i = 0; i < n; i++) {
        if (!s->dec || batch[i]->stream->epoch != s->stream->epoch)
            errors += s->dec ? 0 : 1; /* no decoder: every packet is lost to analysis */
        else if (!decode_one(s, batch[i], is_alone))
            errors++;
        media_packet_unref(batch[i]);
    }
    if (errors) {
        count_skip(s, DET_SKIP_DECODE_ERROR, errors);
        if (!err[0])
            snprintf(err, err_size, "%llu packet(s) could not be decoded",
                     (unsigned long long)errors);
        if (!s->is_error_logged)
            log_warn_kv(LOG_KV({"camera", s->camera}), "analysis: %s (logged once per camera)",
                        err);
        s->is_error_logged = true;
    }
    if (!s->has_newest)
        return false;
    int64_t pts_us = media_ticks_us(s->newest->pts, s->stream->timescale);
    uint64_t due = det_sample_due(&s->grid_us, pts_us, interval_us);
    if (!due)
        return false;
    uint64_t busy = det_sample_busy(due, s->superseded);
    if (busy)
        count_skip(s, DET_SKIP_BUSY, busy);
    s->superseded = 0;
    s->has_newest = false;
    *img = convert(s);
    if (!*img)
        return false;
    bool is_yuv =
        s->newest->format == AV_PIX_FMT_YUV420P || s->newest->format == AV_PIX_FMT_YUVJ420P ||
        s->newest->format == AV_PIX_FMT_YUV422P || s->newest->format == AV_PIX_FMT_YUVJ422P ||
        s->newest->format == AV_PIX_FMT_YUV444P || s->newest->format == AV_PIX_FMT_YUVJ444P ||
        s->newest->format == AV_PIX_FMT_NV12;
    *luma = (struct det_luma){.y = is_yuv ? s->newest->data[0] : NULL,
                              .width = s->newest->width,
                              .height = s->newest->height,
                              .stride = s->newest->linesize[0]};
    return true;
}

void det_sampler_free(det_sampler *s)
{
    if (!s)
        return;
    decoder_close(s);
    sws_freeContext(s->sws);
    av_packet_free(&s->pkt);
    av_frame_free(&s->frame);
    av_frame_free(&s->newest);
    det_slot_clear(&s->slot);
    media_stream_unref(s->pending);
    media_stream_unref(s->stream);
    pthread_mutex_destroy(&s->lock);
    free(s->camera);
    free(s);
}
