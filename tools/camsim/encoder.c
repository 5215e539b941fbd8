/*
 * DESIGN: encode once, whatever the number of clients. We call libavcodec
 * directly instead of a GStreamer pipeline: the clock has to be burnt in
 * with millisecond precision (clockoverlay has none), so we draw the frames
 * ourselves (pattern.c) anyway; libavcodec hands back Annex B access units
 * with keyframe flags and timestamps with no appsink, caps or main loop,
 * and the same library demuxes --source files. Settings are those of a
 * cheap camera: libx264/libx265 preset ultrafast, tune zerolatency, fixed
 * GOP (no scene cuts), optional 2 B-frames, CBR with VBV (H.264 adds filler
 * NAL units so the stream really runs at --bitrate); AAC-LC 48 kHz mono, or
 * G.711 (libavcodec's pcm_mulaw / pcm_alaw) 8 kHz mono in 20 ms frames.
 *
 * Live mode runs thread "cs-enc": one picture per frame interval, paced by
 * clock_nanosleep on CLOCK_MONOTONIC, stamped with the real wall clock;
 * audio is generated to keep up with video. Loop mode encodes N seconds in
 * the caller's thread into a store for replay.
 * Thread: cs-enc (live) or the caller (loop); never both.
 */
#include "encoder.h"

#include "err.h"
#include "mem.h"
#include "pattern.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cs_encoder {
    int fps;
    int width;
    int height;
    bool has_audio;
    AVCodecContext *video; /* owned */
    AVCodecContext *audio; /* owned; NULL without --audio */
    AVFrame *vframe; /* owned */
    AVFrame *aframe; /* owned */
    AVPacket *pkt; /* owned */
    cs_pattern *pattern; /* owned */
    int64_t audio_samples; /* samples handed to the audio encoder so far */
    int audio_rate; /* CS_AUDIO_RATE_HZ (AAC) or CS_G711_RATE_HZ */
    float *tone; /* G.711: one frame of the tone, before it becomes 16-bit */
    int64_t wall0_ns; /* wall time of frame 0 */

    cs_source *sink; /* borrowed; live mode */
    cs_store *store; /* borrowed; loop mode */
    pthread_t thread;
    bool has_thread;
    atomic_bool stop;
};

static void log_av_error(const char *what, int rc)
{
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(rc, buf, sizeof(buf));
    fprintf(stderr, "horus-camsim: %s: %s\n", what, buf);
}

static int open_video(cs_encoder *enc, const cs_options *opt)
{
    bool is_h264 = opt->codec == CS_CODEC_H264;
    const char *name = is_h264 ? "libx264" : "libx265";
    const AVCodec *codec = avcodec_find_encoder_by_name(name);
    if (!codec) {
        fprintf(stderr, "horus-camsim: encoder '%s' not available in libavcodec\n", name);
        return HORUS_ECODEC;
    }
    AVCodecContext *c = avcodec_alloc_context3(codec);
    enc->video = c;
    c->width = opt->width;
    c->height = opt->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){1, opt->fps};
    c->framerate = (AVRational){opt->fps, 1};
    c->gop_size = opt->gop_frames;
    c->keyint_min = opt->gop_frames;
    c->max_b_frames = opt->has_bframes ? 2 : 0;
    c->bit_rate = (int64_t)opt->bitrate_kbps * 1000;
    c->rc_max_rate = c->bit_rate;
    c->rc_buffer_size = (int)c->bit_rate; /* 1 s VBV, like a camera */
    /*
     * One thread keeps up with 1080p25 ultrafast (about 13 ms a frame here) and
     * measured a little cheaper than sliced threads; bigger pictures get them,
     * and so does a loop encoded at start, where waiting is what matters.
     */
    bool is_small = (int64_t)opt->width * opt->height <= 1920 * 1088;
    c->thread_count = is_small && !opt->loop_s ? 1 : 0;
    av_opt_set(c->priv_data, "preset", "ultrafast", 0);
    av_opt_set(c->priv_data, "tune", "zerolatency", 0);
    char params[256];
    if (is_h264) {
        av_opt_set(c->priv_data, "nal-hrd", "cbr", 0);
        av_opt_set(c->priv_data, "x264-params", "scenecut=0:force-cfr=1", 0);
    } else {
        snprintf(params, sizeof(params),
                 "log-level=error:repeat-headers=1:scenecut=0:keyint=%d:min-keyint=%d%s",
                 opt->gop_frames, opt->gop_frames,
                 opt->has_bframes ? ":bframes=2:b-adapt=0:rc-lookahead=3" : ":bframes=0");
        av_opt_set(c->priv_data, "x265-params", params, 0);
    }
    int rc = avcodec_open2(c, codec, NULL);
    if (rc < 0) {
        log_av_error(name, rc);
        return HORUS_ECODEC;
    }
    enc->vframe = av_frame_alloc();
    enc->vframe->format = c->pix_fmt;
    enc->vframe->width = c->width;
    enc->vframe->height = c->height;
    rc = av_frame_get_buffer(enc->vframe, 0);
    if (rc < 0) {
        log_av_error("video frame", rc);
        return HORUS_ECODEC;
    }
    return 0;
}

static int open_audio(cs_encoder *enc, const cs_options *opt, cs_media_info *info)
{
    bool is_g711 = opt->audio_payload == CS_AUDIO_PCMU || opt->audio_payload == CS_AUDIO_PCMA;
    enum AVCodecID id = !is_g711                              ? AV_CODEC_ID_AAC
                        : opt->audio_payload == CS_AUDIO_PCMU ? AV_CODEC_ID_PCM_MULAW
                                                              : AV_CODEC_ID_PCM_ALAW;
    const AVCodec *codec = avcodec_find_encoder(id);
    if (!codec) {
        fprintf(stderr, "horus-camsim: no %s encoder in libavcodec\n", avcodec_get_name(id));
        return HORUS_ECODEC;
    }
    enc->audio_rate = is_g711 ? CS_G711_RATE_HZ : CS_AUDIO_RATE_HZ;
    AVCodecContext *c = avcodec_alloc_context3(codec);
    enc->audio = c;
    c->sample_fmt = is_g711 ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_FLTP;
    c->sample_rate = enc->audio_rate;
    av_channel_layout_default(&c->ch_layout, 1);
    if (!is_g711) {
        c->bit_rate = 64000;
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }
    c->time_base = (AVRational){1, enc->audio_rate};
    int rc = avcodec_open2(c, codec, NULL);
    if (rc < 0) {
        log_av_error(avcodec_get_name(id), rc);
        return HORUS_ECODEC;
    }
    if (!is_g711) {
        if (c->extradata_size <= 0 || (size_t)c->extradata_size > sizeof(info->audio_config)) {
            fprintf(stderr, "horus-camsim: aac: no AudioSpecificConfig\n");
            return HORUS_ECODEC;
        }
        memcpy(info->audio_config, c->extradata, (size_t)c->extradata_size);
        info->audio_config_len = (size_t)c->extradata_size;
    }
    info->has_audio = true;
    info->audio_rate_hz = enc->audio_rate;
    info->audio_channels = 1;
    enc->aframe = av_frame_alloc();
    enc->aframe->format = c->sample_fmt;
    enc->aframe->nb_samples = is_g711 ? CS_G711_FRAME : c->frame_size;
    enc->aframe->sample_rate = c->sample_rate;
    av_channel_layout_copy(&enc->aframe->ch_layout, &c->ch_layout);
    rc = av_frame_get_buffer(enc->aframe, 0);
    if (rc < 0) {
        log_av_error("audio frame", rc);
        return HORUS_ECODEC;
    }
    if (is_g711)
        enc->tone = horus_malloc(CS_G711_FRAME * sizeof(float));
    return 0;
}

int cs_encoder_open(const cs_options *opt, cs_media_info *info, cs_encoder **out)
{
    cs_encoder *enc = horus_calloc(1, sizeof(*enc));
    enc->fps = opt->fps;
    enc->width = opt->width;
    enc->height = opt->height;
    enc->has_audio = opt->has_audio;
    enc->pkt = av_packet_alloc();
    info->codec = opt->codec;
    info->width = opt->width;
    info->height = opt->height;
    info->fps = opt->fps;
    int rc = open_video(enc, opt);
    if (rc == 0 && opt->has_audio)
        rc = open_audio(enc, opt, info);
    if (rc < 0) {
        cs_encoder_free(enc);
        return rc;
    }
    enc->pattern = cs_pattern_new(opt->width, opt->height, opt->fps);
    *out = enc;
    return 0;
}

/* Wraps one encoded packet as an access unit and hands it on. */
static void emit_packet(cs_encoder *enc, int track, const AVPacket *pkt)
{
    cs_au *au = cs_au_new(track, pkt->data, (size_t)pkt->size);
    au->is_keyframe = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    if (track == CS_TRACK_VIDEO) {
        au->pts = pkt->pts * CS_VIDEO_CLOCK_HZ / enc->fps;
        au->send_ns = pkt->dts * 1000000000 / enc->fps;
    } else {
        /* Undo the encoder priming shift so audio time starts at 0 like video. */
        au->pts = pkt->pts + enc->audio->initial_padding;
        au->send_ns = au->pts * 1000000000 / enc->audio_rate;
    }
    if (enc->sink)
        cs_source_push(enc->sink, au);
    else
        cs_store_append(enc->store, au);
}

static int drain_packets(cs_encoder *enc, AVCodecContext *ctx, int track)
{
    for (;;) {
        int rc = avcodec_receive_packet(ctx, enc->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0) {
            log_av_error("encode", rc);
            return HORUS_ECODEC;
        }
        emit_packet(enc, track, enc->pkt);
        av_packet_unref(enc->pkt);
    }
}

static int encode_video_frame(cs_encoder *enc, int64_t index, int64_t wall_ns)
{
    AVFrame *f = enc->vframe;
    int rc = av_frame_make_writable(f);
    if (rc < 0) {
        log_av_error("video frame", rc);
        return HORUS_ECODEC;
    }
    cs_pattern_draw(enc->pattern, index, wall_ns, f->data, f->linesize);
    f->pts = index;
    rc = avcodec_send_frame(enc->video, f);
    if (rc < 0) {
        log_av_error("encode video", rc);
        return HORUS_ECODEC;
    }
    return drain_packets(enc, enc->video, CS_TRACK_VIDEO);
}

/* Encodes audio frames until audio covers up to sample upto (exclusive). */
static int encode_audio_until(cs_encoder *enc, int64_t upto)
{
    AVFrame *f = enc->aframe;
    while (enc->audio_samples < upto) {
        int rc = av_frame_make_writable(f);
        if (rc < 0) {
            log_av_error("audio frame", rc);
            return HORUS_ECODEC;
        }
        int64_t wall_ns = enc->wall0_ns + enc->audio_samples * 1000000000 / enc->audio_rate;
        if (enc->tone) { /* G.711 takes 16-bit samples */
            cs_pattern_tone(enc->tone, f->nb_samples, enc->audio_rate, wall_ns);
            int16_t *s16 = (int16_t *)f->data[0];
            for (int i = 0; i < f->nb_samples; i++)
                s16[i] = (int16_t)(enc->tone[i] * 32767.0f);
        } else {
            cs_pattern_tone((float *)f->data[0], f->nb_samples, enc->audio_rate, wall_ns);
        }
        f->pts = enc->audio_samples;
        enc->audio_samples += f->nb_samples;
        rc = avcodec_send_frame(enc->audio, f);
        if (rc < 0) {
            log_av_error("encode audio", rc);
            return HORUS_ECODEC;
        }
        rc = drain_packets(enc, enc->audio, CS_TRACK_AUDIO);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void *live_main(void *arg)
{
    cs_encoder *enc = arg;
    const int64_t frame_ns = 1000000000 / enc->fps;
    int64_t t0 = cs_now_ns();
    enc->wall0_ns = cs_wall_ns();
    for (int64_t i = 0; !atomic_load(&enc->stop); i++) {
        int64_t due = t0 + i * frame_ns;
        struct timespec ts = {.tv_sec = due / 1000000000, .tv_nsec = due % 1000000000};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            ;
        int64_t late_ns = cs_now_ns() - due;
        if (late_ns > 1000000000) {
            /* The CPU cannot keep up: skip pictures rather than fall further
             * behind. Every skip is told (at most one a second), with its
             * count, so that tests can tell a camera's gap from a recorder's. */
            int64_t skipped = late_ns / frame_ns;
            fprintf(stderr, "horus-camsim: encoder %lld ms late, skipping %lld frames\n",
                    (long long)(late_ns / 1000000), (long long)skipped);
            i += skipped;
            due = t0 + i * frame_ns;
        }
        if (encode_video_frame(enc, i, cs_wall_ns()) < 0)
            break;
        if (enc->audio && encode_audio_until(enc, (i + 1) * enc->audio_rate / enc->fps) < 0)
            break;
    }
    return NULL;
}

int cs_encoder_start(cs_encoder *enc, cs_source *src)
{
    enc->sink = src;
    int rc = pthread_create(&enc->thread, NULL, live_main, enc);
    if (rc != 0)
        return -rc;
    pthread_setname_np(enc->thread, "cs-enc");
    enc->has_thread = true;
    return 0;
}

void cs_encoder_stop(cs_encoder *enc)
{
    if (!enc || !enc->has_thread)
        return;
    atomic_store(&enc->stop, true);
    pthread_join(enc->thread, NULL);
    enc->has_thread = false;
}

static int flush_encoder(cs_encoder *enc, AVCodecContext *ctx, int track)
{
    int rc = avcodec_send_frame(ctx, NULL);
    if (rc < 0) {
        log_av_error("flush", rc);
        return HORUS_ECODEC;
    }
    return drain_packets(enc, ctx, track);
}

int cs_encoder_encode_loop(cs_encoder *enc, int seconds, cs_store *store)
{
    enc->store = store;
    enc->wall0_ns = cs_wall_ns();
    int64_t frames = (int64_t)seconds * enc->fps;
    int rc = 0;
    for (int64_t i = 0; i < frames && rc == 0; i++) {
        rc = encode_video_frame(enc, i, enc->wall0_ns + i * 1000000000 / enc->fps);
        if (rc == 0 && enc->audio)
            rc = encode_audio_until(enc, (i + 1) * enc->audio_rate / enc->fps);
    }
    if (rc == 0)
        rc = flush_encoder(enc, enc->video, CS_TRACK_VIDEO);
    if (rc == 0 && enc->audio)
        rc = flush_encoder(enc, enc->audio, CS_TRACK_AUDIO);
    enc->store = NULL;
    if (rc < 0)
        return rc;
    cs_store_trim_audio(store, (int64_t)seconds * enc->audio_rate,
                        enc->audio ? enc->aframe->nb_samples : 0);
    /* B-frames make the first DTS negative; send times start at 0. */
    int64_t min_send = 0;
    for (size_t i = 0; i < store->n; i++) {
        if (store->aus[i]->send_ns < min_send)
            min_send = store->aus[i]->send_ns;
    }
    for (size_t i = 0; i < store->n; i++)
        store->aus[i]->send_ns -= min_send;
    store->period_ns = (int64_t)seconds * 1000000000;
    store->period_ts[CS_TRACK_VIDEO] = (int64_t)seconds * CS_VIDEO_CLOCK_HZ;
    store->period_ts[CS_TRACK_AUDIO] =
        (int64_t)seconds * (enc->audio ? enc->audio_rate : CS_AUDIO_RATE_HZ);
    cs_store_sort(store);
    return 0;
}

void cs_encoder_free(cs_encoder *enc)
{
    if (!enc)
        return;
    cs_encoder_stop(enc);
    avcodec_free_context(&enc->video);
    avcodec_free_context(&enc->audio);
    av_frame_free(&enc->vframe);
    av_frame_free(&enc->aframe);
    av_packet_free(&enc->pkt);
    free(enc->tone);
    cs_pattern_free(enc->pattern);
    free(enc);
}
