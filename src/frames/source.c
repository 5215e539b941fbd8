/*
 * DESIGN: see source_int.h. The ring holds references, never copies: a
 * packet is a pointer and a refcount increment on the ingest thread. A
 * full ring drops the packet and every one after it until the next
 * keyframe (a P-frame without its references would decode to garbage),
 * counted as dropped. A new stream (parameters, epoch, reconnect) or a gap
 * empties the ring and tells the worker to reopen or flush its decoder.
 * In keyframes mode only keyframes are queued and each is decoded alone
 * with the decoder drained after it, so no reordering holds a picture
 * back and no other frame is ever decoded.
 */
#include "source_int.h"

#include "media_decode.h"
#include "mem.h"

#include <libavcodec/avcodec.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct frames_src {
    media_sink sink; /* first: the callbacks find the source from it */
    char *camera;
    bool is_keyframes_only;
    pthread_mutex_t lock; /* the ring, pending, is_flush, dropped: a few instructions */
    media_packet *ring[FRAMES_SRC_RING];
    size_t head, count;
    bool is_waiting_key; /* dropped one: skip to the next keyframe */
    uint64_t dropped;
    media_stream *pending; /* a new stream for the worker to open */
    bool is_flush;
    /* The worker's. */
    media_stream *stream;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    bool is_open_failed;
};

static frames_src *of(media_sink *sink)
{
    return (frames_src *)sink;
}

/* With the lock held. */
static void ring_clear(frames_src *s)
{
    while (s->count) {
        media_packet_unref(s->ring[s->head]);
        s->head = (s->head + 1) % FRAMES_SRC_RING;
        s->count--;
    }
    s->head = 0;
    s->is_waiting_key = true;
}

static void on_stream(media_sink *sink, media_stream *st)
{
    frames_src *s = of(sink);
    if (st->kind != MEDIA_KIND_VIDEO)
        return;
    pthread_mutex_lock(&s->lock);
    media_stream *old = s->pending;
    s->pending = media_stream_ref(st);
    ring_clear(s);
    pthread_mutex_unlock(&s->lock);
    media_stream_unref(old);
}

static void on_packet(media_sink *sink, media_packet *p)
{
    frames_src *s = of(sink);
    if (p->stream->kind != MEDIA_KIND_VIDEO || (s->is_keyframes_only && !p->is_keyframe))
        return;
    pthread_mutex_lock(&s->lock);
    if (p->is_keyframe)
        s->is_waiting_key = false;
    if (s->is_waiting_key) {
        /* Nothing to decode it against: not a loss of ours unless we caused the wait. */
    } else if (s->count == FRAMES_SRC_RING) {
        s->dropped++;
        s->is_waiting_key = true;
    } else {
        s->ring[(s->head + s->count) % FRAMES_SRC_RING] = media_packet_ref(p);
        s->count++;
    }
    pthread_mutex_unlock(&s->lock);
}

static void on_gap(media_sink *sink, const char *reason)
{
    frames_src *s = of(sink);
    (void)reason;
    pthread_mutex_lock(&s->lock);
    ring_clear(s);
    s->is_flush = true;
    pthread_mutex_unlock(&s->lock);
}

static const struct media_sink_ops src_ops = {on_stream, on_packet, on_gap};

frames_src *frames_src_new(const char *camera, bool is_keyframes_only)
{
    frames_src *s = horus_calloc(1, sizeof(*s));
    s->sink.ops = &src_ops;
    s->camera = horus_strdup(camera);
    s->is_keyframes_only = is_keyframes_only;
    s->is_waiting_key = true;
    pthread_mutex_init(&s->lock, NULL);
    s->pkt = av_packet_alloc();
    s->frame = av_frame_alloc();
    if (!s->pkt || !s->frame)
        HORUS_BUG("out of memory");
    return s;
}

media_sink *frames_src_sink(frames_src *s)
{
    return &s->sink;
}

bool frames_src_has_work(frames_src *s)
{
    pthread_mutex_lock(&s->lock);
    bool has = s->count > 0 || s->pending;
    pthread_mutex_unlock(&s->lock);
    return has;
}

uint64_t frames_src_take_dropped(frames_src *s)
{
    pthread_mutex_lock(&s->lock);
    uint64_t n = s->dropped;
    s->dropped = 0;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static bool decoder_open(frames_src *s, char *err, size_t cap)
{
    s->dec =
        media_decoder_open(s->stream, err, cap); /* one thread: frames.threads are the budget */
    return s->dec != NULL;
}

static void receive_all(frames_src *s, const media_packet *ref, frames_frame_cb cb, void *arg)
{
    while (avcodec_receive_frame(s->dec, s->frame) == 0) {
        int64_t pts = s->frame->best_effort_timestamp;
        if (pts == AV_NOPTS_VALUE)
            pts = ref->pts;
        /* wall_us dates the packet's dts; the picture is shown pts - dts later. */
        int64_t capture_us = ref->wall_us + media_ticks_us(pts - ref->dts, s->stream->timescale);
        cb(arg, s->frame, capture_us,
           s->is_keyframes_only || s->frame->pict_type == AV_PICTURE_TYPE_I);
        av_frame_unref(s->frame);
    }
}

static bool decode_one(frames_src *s, const media_packet *p, frames_frame_cb cb, void *arg)
{
    int rc = media_decoder_send(s->dec, s->pkt, p);
    receive_all(s, p, cb, arg);
    if (rc == AVERROR(EAGAIN))
        rc = 0;
    if (s->is_keyframes_only) {
        avcodec_send_packet(s->dec, NULL); /* drain: the keyframe comes out now */
        receive_all(s, p, cb, arg);
        avcodec_flush_buffers(s->dec);
    }
    return rc >= 0;
}

uint64_t frames_src_decode(frames_src *s, frames_frame_cb cb, void *arg, char *err, size_t cap)
{
    media_packet *batch[FRAMES_SRC_RING];
    err[0] = '\0';
    pthread_mutex_lock(&s->lock);
    media_stream *fresh = s->pending;
    s->pending = NULL;
    bool is_flush = s->is_flush;
    s->is_flush = false;
    size_t n = s->count;
    for (size_t i = 0; i < n; i++)
        batch[i] = s->ring[(s->head + i) % FRAMES_SRC_RING];
    s->head = 0;
    s->count = 0;
    pthread_mutex_unlock(&s->lock);

    if (fresh) {
        avcodec_free_context(&s->dec);
        s->is_open_failed = false;
        media_stream_unref(s->stream);
        s->stream = fresh;
    } else if (is_flush && s->dec) {
        avcodec_flush_buffers(s->dec);
    }
    if (n && s->stream && !s->dec && !s->is_open_failed && !decoder_open(s, err, cap))
        s->is_open_failed = true;
    uint64_t errors = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s->dec)
            errors++;
        else if (batch[i]->stream->epoch == s->stream->epoch && !decode_one(s, batch[i], cb, arg))
            errors++;
        media_packet_unref(batch[i]);
    }
    if (errors && !err[0])
        snprintf(err, cap, "%llu packet(s) could not be decoded", (unsigned long long)errors);
    return errors;
}

void frames_src_free(frames_src *s)
{
    if (!s)
        return;
    avcodec_free_context(&s->dec);
    av_packet_free(&s->pkt);
    av_frame_free(&s->frame);
    pthread_mutex_lock(&s->lock);
    ring_clear(s);
    pthread_mutex_unlock(&s->lock);
    media_stream_unref(s->pending);
    media_stream_unref(s->stream);
    pthread_mutex_destroy(&s->lock);
    free(s->camera);
    free(s);
}
