/*
 * DESIGN: AAC to Opus (docs/design/0058). Decoded frames go through
 * libswresample to interleaved float at 48 kHz into a FIFO; every 960
 * samples make one Opus frame. The 48 kHz timeline is the input's: the
 * first packet after a (re)start fixes base_pts48 = its pts rescaled, and
 * each later frame's pts counts samples from there, so RTP timestamps and
 * wall clocks follow the camera's, as the video's do. The encoder's own
 * packet pts (which takes its look-ahead into account) is what is emitted.
 */
#include "opus_int.h"

#include "err.h"
#include "media_decode.h"
#include "mem.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <stdio.h>
#include <string.h>

#define OPUS_BITRATE_MONO 32000 /* speech and ambience from a camera microphone */
#define OPUS_BITRATE_STEREO 64000

struct webrtc_opus {
    AVCodecContext *dec, *enc;
    SwrContext *swr; /* made from the first decoded frame's format */
    int swr_rate, swr_format;
    AVChannelLayout swr_layout;
    AVAudioFifo *fifo;
    AVPacket *pkt;
    AVFrame *in, *out;
    uint32_t timescale; /* of the input's pts */
    int channels; /* out: 1 or 2 */
    bool started; /* a timeline is set */
    int64_t next_in_pts; /* where the next input packet should start (input timescale) */
    int64_t base_pts48; /* 48 kHz pts of the timeline's first sample */
    int64_t base_wall_us; /* its wall clock */
    int64_t fifo_pts48; /* pts of the FIFO's first sample */
    int64_t arrival_ns; /* of the newest input packet */
};

static void free_all(webrtc_opus *t)
{
    avcodec_free_context(&t->dec);
    avcodec_free_context(&t->enc);
    swr_free(&t->swr);
    av_channel_layout_uninit(&t->swr_layout);
    if (t->fifo)
        av_audio_fifo_free(t->fifo);
    av_packet_free(&t->pkt);
    av_frame_free(&t->in);
    av_frame_free(&t->out);
    free(t);
}

static AVCodecContext *open_encoder(int channels, char *err, size_t errsize)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libopus");
    if (!codec) {
        snprintf(err, errsize, "no Opus encoder (libopus) in this libavcodec");
        return NULL;
    }
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    if (!enc)
        HORUS_BUG("out of memory");
    enc->sample_rate = WEBRTC_OPUS_RATE;
    enc->sample_fmt = AV_SAMPLE_FMT_FLT;
    av_channel_layout_default(&enc->ch_layout, channels);
    enc->bit_rate = channels == 2 ? OPUS_BITRATE_STEREO : OPUS_BITRATE_MONO;
    enc->time_base = (AVRational){1, WEBRTC_OPUS_RATE};
    enc->thread_count = 1;
    AVDictionary *o = NULL;
    av_dict_set(&o, "frame_duration", "20", 0);
    av_dict_set(&o, "application", "audio", 0);
    enc->compression_level = 5; /* about half the CPU of 10, the default (bench/webrtc --audio) */
    int rc = avcodec_open2(enc, codec, &o);
    av_dict_free(&o);
    if (rc < 0) {
        snprintf(err, errsize, "the Opus encoder refused 48 kHz %s",
                 channels == 2 ? "stereo" : "mono");
        avcodec_free_context(&enc);
        return NULL;
    }
    return enc;
}

int webrtc_opus_new(const media_stream *aac, webrtc_opus **out, char *err, size_t errsize)
{
    *out = NULL;
    if (aac->kind != MEDIA_KIND_AUDIO || aac->codec != MEDIA_CODEC_AAC || aac->timescale == 0) {
        snprintf(err, errsize, "the audio track is not AAC");
        return HORUS_ECODEC;
    }
    webrtc_opus *t = horus_calloc(1, sizeof(*t));
    t->timescale = aac->timescale;
    t->channels = aac->channels >= 2 ? 2 : 1;
    t->dec = media_decoder_open(aac, err, errsize);
    if (t->dec)
        t->enc = open_encoder(t->channels, err, errsize);
    if (!t->dec || !t->enc) {
        free_all(t);
        return HORUS_ECODEC;
    }
    t->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLT, t->channels, WEBRTC_OPUS_FRAME * 4);
    t->pkt = av_packet_alloc();
    t->in = av_frame_alloc();
    t->out = av_frame_alloc();
    if (!t->fifo || !t->pkt || !t->in || !t->out)
        HORUS_BUG("out of memory");
    *out = t;
    return 0;
}

/* (Re)makes the resampler when the decoder's output format changes (the first frame, SBR). */
static int ensure_swr(webrtc_opus *t, const AVFrame *f)
{
    if (t->swr && t->swr_rate == f->sample_rate && t->swr_format == f->format &&
        av_channel_layout_compare(&t->swr_layout, &f->ch_layout) == 0)
        return 0;
    swr_free(&t->swr);
    av_channel_layout_uninit(&t->swr_layout);
    av_channel_layout_copy(&t->swr_layout, &f->ch_layout);
    if (swr_alloc_set_opts2(&t->swr, &t->enc->ch_layout, AV_SAMPLE_FMT_FLT, WEBRTC_OPUS_RATE,
                            &t->swr_layout, f->format, f->sample_rate, 0, NULL) < 0 ||
        swr_init(t->swr) < 0) {
        swr_free(&t->swr);
        av_channel_layout_uninit(&t->swr_layout);
        return HORUS_ECODEC;
    }
    t->swr_rate = f->sample_rate;
    t->swr_format = f->format;
    return 0;
}

static void encode_ready(webrtc_opus *t, webrtc_opus_emit_cb emit, void *arg)
{
    while (av_audio_fifo_size(t->fifo) >= WEBRTC_OPUS_FRAME) {
        AVFrame *o = t->out;
        av_frame_unref(o);
        o->nb_samples = WEBRTC_OPUS_FRAME;
        o->format = AV_SAMPLE_FMT_FLT;
        o->sample_rate = WEBRTC_OPUS_RATE;
        av_channel_layout_copy(&o->ch_layout, &t->enc->ch_layout);
        if (av_frame_get_buffer(o, 0) < 0)
            HORUS_BUG("out of memory");
        av_audio_fifo_read(t->fifo, (void **)o->data, WEBRTC_OPUS_FRAME);
        o->pts = t->fifo_pts48;
        t->fifo_pts48 += WEBRTC_OPUS_FRAME;
        if (avcodec_send_frame(t->enc, o) < 0)
            continue;
        while (avcodec_receive_packet(t->enc, t->pkt) == 0) {
            int64_t since = t->pkt->pts - t->base_pts48;
            struct webrtc_opus_frame f = {
                .data = t->pkt->data,
                .size = (size_t)t->pkt->size,
                .pts = t->pkt->pts,
                .wall_us = t->base_wall_us + since * 1000000 / WEBRTC_OPUS_RATE,
                .arrival_ns = t->arrival_ns,
            };
            emit(arg, &f);
            av_packet_unref(t->pkt);
        }
    }
}

/* Starts a timeline at p: what the FIFO held belongs to the old one. */
static void restart(webrtc_opus *t, const media_packet *p)
{
    av_audio_fifo_reset(t->fifo);
    t->base_pts48 = av_rescale(p->pts, WEBRTC_OPUS_RATE, t->timescale);
    t->base_wall_us = p->wall_us;
    t->fifo_pts48 = t->base_pts48;
    t->started = true;
}

int webrtc_opus_feed(webrtc_opus *t, const media_packet *p, webrtc_opus_emit_cb emit, void *arg)
{
    int64_t off = p->pts - t->next_in_pts;
    if (!t->started || off > (int64_t)t->timescale / 10 || off < -(int64_t)t->timescale / 10)
        restart(t, p);
    t->arrival_ns = p->arrival_ns;
    int rc = media_decoder_send(t->dec, t->pkt, p);
    /* where the next packet should start, from this one's length or the AAC frame */
    t->next_in_pts = p->pts + (p->duration > 0 ? p->duration : 1024);
    if (rc < 0)
        return HORUS_EPARSE;
    while ((rc = avcodec_receive_frame(t->dec, t->in)) == 0) {
        if (ensure_swr(t, t->in) == 0) {
            int room = swr_get_out_samples(t->swr, t->in->nb_samples);
            if (room > 0 && av_audio_fifo_realloc(t->fifo, av_audio_fifo_size(t->fifo) + room) < 0)
                HORUS_BUG("out of memory");
            uint8_t *tmp[1] = {NULL};
            if (room > 0 &&
                av_samples_alloc(tmp, NULL, t->channels, room, AV_SAMPLE_FMT_FLT, 0) < 0)
                HORUS_BUG("out of memory");
            int n = room > 0
                        ? swr_convert(t->swr, tmp, room, (const uint8_t **)t->in->extended_data,
                                      t->in->nb_samples)
                        : 0;
            if (n > 0)
                av_audio_fifo_write(t->fifo, (void **)tmp, n);
            av_freep(&tmp[0]);
        }
        av_frame_unref(t->in);
        encode_ready(t, emit, arg);
    }
    return rc == AVERROR(EAGAIN) || rc == AVERROR_EOF ? 0 : HORUS_EPARSE;
}

void webrtc_opus_free(webrtc_opus *t)
{
    if (t)
        free_all(t);
}
