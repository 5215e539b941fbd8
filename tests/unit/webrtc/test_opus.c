/*
 * Tests for src/webrtc/opus.c: AAC made here with libavcodec's encoder (a
 * 1 kHz tone, as camsim's beep) goes in, Opus comes out and is decoded
 * back with libavcodec's Opus decoder: the tone is there at its pitch and
 * level, frames are 20 ms on the input's timeline with matching wall
 * clocks, other rates and stereo are resampled, a jump in time starts a
 * new timeline, and a broken packet is refused without breaking the rest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "opus_int.h"

#include "err.h"

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WALL0 INT64_C(1790000000000000) /* a wall clock (µs) for pts 0 */

/* AAC-LC packets of a 1 kHz tone (amplitude 0.5) at rate, channels, for seconds. */
struct aac {
    media_stream *st;
    size_t n;
    media_packet *p[1024];
};

static void make_aac(struct aac *a, int rate, int channels, double seconds)
{
    memset(a, 0, sizeof(*a));
    const AVCodec *c = avcodec_find_encoder(AV_CODEC_ID_AAC);
    assert_non_null(c);
    AVCodecContext *enc = avcodec_alloc_context3(c);
    enc->sample_rate = rate;
    enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&enc->ch_layout, channels);
    enc->bit_rate = 64000 * channels;
    enc->time_base = (AVRational){1, rate};
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    assert_int_equal(avcodec_open2(enc, c, NULL), 0);
    a->st = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, (uint32_t)rate, enc->extradata,
                             (size_t)enc->extradata_size);
    a->st->sample_rate = (uint32_t)rate;
    a->st->channels = (uint32_t)channels;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int64_t total = (int64_t)(seconds * rate), done = 0;
    for (bool flushing = false;;) {
        if (!flushing && done < total) {
            f->nb_samples = enc->frame_size;
            f->format = AV_SAMPLE_FMT_FLTP;
            f->sample_rate = rate;
            av_channel_layout_default(&f->ch_layout, channels);
            assert_int_equal(av_frame_get_buffer(f, 0), 0);
            for (int ch = 0; ch < channels; ch++)
                for (int i = 0; i < f->nb_samples; i++)
                    ((float *)f->data[ch])[i] =
                        0.5f * (float)sin(2 * M_PI * 1000.0 * (double)(done + i) / rate);
            f->pts = done;
            done += f->nb_samples;
            assert_int_equal(avcodec_send_frame(enc, f), 0);
            av_frame_unref(f);
        } else if (!flushing) {
            avcodec_send_frame(enc, NULL);
            flushing = true;
        }
        int rc;
        while ((rc = avcodec_receive_packet(enc, pkt)) == 0) {
            assert_true(a->n < 1024);
            media_packet *p = media_packet_new(a->st, (size_t)pkt->size);
            memcpy(p->data, pkt->data, (size_t)pkt->size);
            p->pts = p->dts = pkt->pts < 0 ? 0 : pkt->pts;
            p->duration = 1024;
            p->wall_us = WALL0 + p->pts * 1000000 / rate;
            p->arrival_ns = 1000 + (int64_t)a->n;
            p->is_keyframe = true;
            a->p[a->n++] = p;
            av_packet_unref(pkt);
        }
        if (rc == AVERROR_EOF || (flushing && rc != 0 && rc != AVERROR(EAGAIN)))
            break;
    }
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&enc);
}

static void free_aac(struct aac *a)
{
    for (size_t i = 0; i < a->n; i++)
        media_packet_unref(a->p[i]);
    media_stream_unref(a->st);
}

/* What came out: each frame's pts and wall clock, and the decoded sound (mono, 48 kHz). */
struct got {
    size_t n;
    int64_t pts[2048], wall[2048];
    AVCodecContext *dec;
    float *pcm;
    size_t samples;
};

static void on_frame(void *arg, const struct webrtc_opus_frame *f)
{
    struct got *g = arg;
    assert_true(g->n < 2048);
    assert_true(f->size > 0 && f->size < 1200);
    g->pts[g->n] = f->pts;
    g->wall[g->n++] = f->wall_us;
    AVPacket *pkt = av_packet_alloc();
    assert_int_equal(av_new_packet(pkt, (int)f->size), 0);
    memcpy(pkt->data, f->data, f->size);
    assert_int_equal(avcodec_send_packet(g->dec, pkt), 0);
    av_packet_free(&pkt);
    AVFrame *fr = av_frame_alloc();
    while (avcodec_receive_frame(g->dec, fr) == 0) {
        assert_int_equal(fr->sample_rate, 48000);
        g->pcm = realloc(g->pcm, (g->samples + (size_t)fr->nb_samples) * sizeof(float));
        for (int i = 0; i < fr->nb_samples; i++) /* the first channel, planar or packed */
            g->pcm[g->samples + (size_t)i] =
                fr->format == AV_SAMPLE_FMT_FLTP
                    ? ((float *)fr->data[0])[i]
                    : ((float *)fr->data[0])[i * fr->ch_layout.nb_channels];
        g->samples += (size_t)fr->nb_samples;
        av_frame_unref(fr);
    }
    av_frame_free(&fr);
}

static void got_init(struct got *g)
{
    memset(g, 0, sizeof(*g));
    const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_OPUS);
    assert_non_null(c);
    g->dec = avcodec_alloc_context3(c);
    g->dec->sample_rate = 48000;
    av_channel_layout_default(&g->dec->ch_layout, 2);
    g->dec->request_sample_fmt = AV_SAMPLE_FMT_FLT;
    assert_int_equal(avcodec_open2(g->dec, c, NULL), 0);
}

static void got_free(struct got *g)
{
    avcodec_free_context(&g->dec);
    free(g->pcm);
}

/* RMS level and pitch (from zero crossings) of pcm[from, to). */
static void measure(const struct got *g, size_t from, size_t to, double *rms, double *hz)
{
    double sum = 0;
    size_t crossings = 0;
    for (size_t i = from; i < to; i++) {
        sum += (double)g->pcm[i] * g->pcm[i];
        if (i > from && (g->pcm[i - 1] < 0) != (g->pcm[i] < 0))
            crossings++;
    }
    *rms = sqrt(sum / (double)(to - from));
    *hz = (double)crossings / 2.0 / ((double)(to - from) / 48000.0);
}

static void check_tone(int rate, int channels)
{
    struct aac a;
    make_aac(&a, rate, channels, 2.0);
    webrtc_opus *t = NULL;
    char err[160] = "";
    assert_int_equal(webrtc_opus_new(a.st, &t, err, sizeof(err)), 0);
    struct got g;
    got_init(&g);
    for (size_t i = 0; i < a.n; i++)
        assert_int_equal(webrtc_opus_feed(t, a.p[i], on_frame, &g), 0);
    /* 2 s of input, plus the AAC encoder's priming and last frame's padding
     * (up to 2 AAC frames: 128 ms at 16 kHz), is 95 to 107 frames of 20 ms */
    assert_in_range(g.n, 95, 107);
    for (size_t i = 1; i < g.n; i++) {
        assert_int_equal(g.pts[i] - g.pts[i - 1], WEBRTC_OPUS_FRAME);
        /* the wall clock follows the input's: pts rescaled, within a millisecond */
        int64_t expect = WALL0 + g.pts[i] * 1000000 / 48000;
        assert_true(g.wall[i] >= expect - 1000 && g.wall[i] <= expect + 1000);
    }
    /* The first frame starts at the input's start (less the encoder's look-ahead). */
    assert_true(g.pts[0] >= -960 && g.pts[0] <= 0);
    double rms, hz;
    measure(&g, g.samples / 4, g.samples * 3 / 4, &rms, &hz);
    assert_true(rms > 0.25 && rms < 0.45); /* 0.5 peak: 0.354 RMS */
    assert_true(hz > 980 && hz < 1020);
    webrtc_opus_free(t);
    got_free(&g);
    free_aac(&a);
}

static void test_a_48k_mono_tone_comes_out_as_20ms_opus_frames(void **state)
{
    (void)state;
    check_tone(48000, 1);
}

static void test_16k_and_44k1_stereo_are_resampled_to_48k(void **state)
{
    (void)state;
    check_tone(16000, 1);
    check_tone(44100, 2);
}

/* A second of 48 kHz mono AAC, a transcoder for it, and an empty collector. */
static webrtc_opus *one_second(struct aac *a, struct got *g)
{
    make_aac(a, 48000, 1, 1.0);
    webrtc_opus *t = NULL;
    char err[160];
    assert_int_equal(webrtc_opus_new(a->st, &t, err, sizeof(err)), 0);
    got_init(g);
    return t;
}

static void test_a_jump_in_time_starts_a_new_timeline(void **state)
{
    (void)state;
    struct aac a;
    struct got g;
    webrtc_opus *t = one_second(&a, &g);
    size_t half = a.n / 2;
    for (size_t i = 0; i < a.n; i++) {
        if (i >= half) { /* a reconnect: 10 s later, on a new wall clock too */
            a.p[i]->pts = a.p[i]->dts = a.p[i]->pts + 480000;
            a.p[i]->wall_us += 10000000;
        }
        assert_int_equal(webrtc_opus_feed(t, a.p[i], on_frame, &g), 0);
    }
    size_t jump = 0;
    for (size_t i = 1; i < g.n; i++)
        if (g.pts[i] - g.pts[i - 1] != WEBRTC_OPUS_FRAME) {
            assert_int_equal(jump, 0); /* one jump only */
            jump = i;
        }
    assert_true(jump > 0);
    int64_t restart = a.p[half]->pts; /* 48 kHz: the same timescale */
    assert_true(g.pts[jump] >= restart - 960 && g.pts[jump] <= restart + 960);
    for (size_t i = jump; i < g.n; i++) {
        int64_t expect = WALL0 + 10000000 + (g.pts[i] - 480000) * 1000000 / 48000;
        assert_true(g.wall[i] >= expect - 21000 && g.wall[i] <= expect + 21000);
    }
    webrtc_opus_free(t);
    got_free(&g);
    free_aac(&a);
}

static void test_a_broken_packet_is_refused_and_the_rest_goes_on(void **state)
{
    (void)state;
    struct aac a;
    struct got g;
    webrtc_opus *t = one_second(&a, &g);
    size_t bad = a.n / 2;
    memset(a.p[bad]->data, 0xff, a.p[bad]->size);
    int refused = 0;
    for (size_t i = 0; i < a.n; i++)
        refused += webrtc_opus_feed(t, a.p[i], on_frame, &g) == HORUS_EPARSE;
    assert_int_equal(refused, 1);
    assert_in_range(g.n, 44, 51); /* about a second of 20 ms frames, one AAC frame short */
    webrtc_opus_free(t);
    got_free(&g);
    free_aac(&a);
}

static void test_a_track_that_is_not_aac_is_refused(void **state)
{
    (void)state;
    media_stream *v = media_stream_new(MEDIA_KIND_VIDEO, MEDIA_CODEC_H264, 90000, NULL, 0);
    webrtc_opus *t = (webrtc_opus *)1;
    char err[160] = "";
    assert_int_equal(webrtc_opus_new(v, &t, err, sizeof(err)), HORUS_ECODEC);
    assert_null(t);
    assert_string_equal(err, "the audio track is not AAC");
    media_stream_unref(v);
    /* An AudioSpecificConfig the decoder cannot take: named, nothing made. */
    static const uint8_t junk[2] = {0xff, 0xff};
    media_stream *bad = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, 48000, junk, 2);
    bad->channels = 1;
    assert_int_equal(webrtc_opus_new(bad, &t, err, sizeof(err)), HORUS_ECODEC);
    assert_null(t);
    assert_non_null(strstr(err, "aac"));
    media_stream_unref(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_48k_mono_tone_comes_out_as_20ms_opus_frames),
        cmocka_unit_test(test_16k_and_44k1_stereo_are_resampled_to_48k),
        cmocka_unit_test(test_a_jump_in_time_starts_a_new_timeline),
        cmocka_unit_test(test_a_broken_packet_is_refused_and_the_rest_goes_on),
        cmocka_unit_test(test_a_track_that_is_not_aac_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
