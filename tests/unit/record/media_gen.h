/*
 * Test helper for tests/unit/record: real H.264 / H.265 / AAC access units
 * made with libavcodec (libx264, libx265, the native aac encoder) and
 * converted to the media.h bitstream contract (length-prefixed NAL units,
 * avcC / hvcC / AudioSpecificConfig extradata, timestamps >= 0), plus a
 * libavformat reader that checks what the recorder wrote. Header-only so
 * each test executable stays one source file.
 */
#ifndef HORUS_TEST_MEDIA_GEN_H
#define HORUS_TEST_MEDIA_GEN_H

#include "media.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <stdlib.h>
#include <string.h>

/* libx265 keeps a few allocations until exit; they are not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libx265\n";
}

struct gen_clip {
    media_stream *stream; /* owned */
    media_packet **pkts; /* owned references */
    size_t n;
};

static inline void gen_clip_release(struct gen_clip *c)
{
    for (size_t i = 0; i < c->n; i++)
        media_packet_unref(c->pkts[i]);
    free(c->pkts);
    media_stream_unref(c->stream);
    memset(c, 0, sizeof(*c));
}

/* Splits Annex B into NAL units: calls fn(nal, len) for each. */
typedef void (*gen_nal_cb)(void *ctx, const uint8_t *nal, size_t len);

static inline void gen_annexb_split(const uint8_t *p, size_t n, gen_nal_cb fn, void *ctx)
{
    size_t i = 0, start = SIZE_MAX;
    while (i + 3 <= n) {
        if (p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1) {
            if (start != SIZE_MAX) {
                size_t end = i;
                while (end > start && p[end - 1] == 0)
                    end--;
                fn(ctx, p + start, end - start);
            }
            i += 3;
            start = i;
        } else {
            i++;
        }
    }
    if (start != SIZE_MAX && start < n)
        fn(ctx, p + start, n - start);
}

struct gen_nals {
    bool hevc;
    uint8_t ps[3][256]; /* h264: sps, pps; hevc: vps, sps, pps */
    size_t ps_len[3];
    uint8_t *out; /* length-prefixed access unit being built */
    size_t out_len;
};

static inline int gen_nal_type(const struct gen_nals *g, const uint8_t *nal)
{
    return g->hevc ? (nal[0] >> 1) & 0x3f : nal[0] & 0x1f;
}

static inline void gen_collect_ps(void *ctx, const uint8_t *nal, size_t len)
{
    struct gen_nals *g = ctx;
    int t = gen_nal_type(g, nal), slot = -1;
    if (g->hevc && t >= 32 && t <= 34)
        slot = t - 32;
    else if (!g->hevc && (t == 7 || t == 8))
        slot = t - 7;
    if (slot >= 0 && len <= sizeof(g->ps[0]) && !g->ps_len[slot]) {
        memcpy(g->ps[slot], nal, len);
        g->ps_len[slot] = len;
    }
}

static inline void gen_append_nal(void *ctx, const uint8_t *nal, size_t len)
{
    struct gen_nals *g = ctx;
    int t = gen_nal_type(g, nal);
    /* Parameter sets travel out of band; access unit delimiters are dropped. */
    if ((!g->hevc && t >= 7 && t <= 9) || (g->hevc && t >= 32 && t <= 35))
        return;
    g->out = realloc(g->out, g->out_len + 4 + len);
    uint8_t *p = g->out + g->out_len;
    p[0] = (uint8_t)(len >> 24);
    p[1] = (uint8_t)(len >> 16);
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    memcpy(p + 4, nal, len);
    g->out_len += 4 + len;
}

static inline size_t gen_avcc(const struct gen_nals *g, uint8_t *out)
{
    size_t n = 0;
    const uint8_t *sps = g->ps[0];
    out[n++] = 1;
    out[n++] = sps[1];
    out[n++] = sps[2];
    out[n++] = sps[3];
    out[n++] = 0xff;
    out[n++] = 0xe1;
    out[n++] = (uint8_t)(g->ps_len[0] >> 8);
    out[n++] = (uint8_t)g->ps_len[0];
    memcpy(out + n, sps, g->ps_len[0]);
    n += g->ps_len[0];
    out[n++] = 1;
    out[n++] = (uint8_t)(g->ps_len[1] >> 8);
    out[n++] = (uint8_t)g->ps_len[1];
    memcpy(out + n, g->ps[1], g->ps_len[1]);
    return n + g->ps_len[1];
}

static inline size_t gen_hvcc(const struct gen_nals *g, uint8_t *out)
{
    /* general_profile_tier_level: 12 bytes after the SPS's first 3, unescaped. */
    uint8_t rbsp[256];
    size_t r = 0;
    for (size_t i = 0; i < g->ps_len[1] && r < sizeof(rbsp); i++) {
        if (i >= 2 && g->ps[1][i] == 3 && g->ps[1][i - 1] == 0 && g->ps[1][i - 2] == 0)
            continue;
        rbsp[r++] = g->ps[1][i];
    }
    size_t n = 0;
    out[n++] = 1;
    memcpy(out + n, rbsp + 3, 12);
    n += 12;
    out[n++] = 0xf0;
    out[n++] = 0;
    out[n++] = 0xfc;
    out[n++] = 0xfd; /* chroma 4:2:0 */
    out[n++] = 0xf8;
    out[n++] = 0xf8;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = 0x0f; /* 1 temporal layer, nested, 4-byte lengths */
    out[n++] = 3;
    for (int i = 0; i < 3; i++) {
        out[n++] = (uint8_t)(0x80 | (32 + i));
        out[n++] = 0;
        out[n++] = 1;
        out[n++] = (uint8_t)(g->ps_len[i] >> 8);
        out[n++] = (uint8_t)g->ps_len[i];
        memcpy(out + n, g->ps[i], g->ps_len[i]);
        n += g->ps_len[i];
    }
    return n;
}

static inline void gen_push(struct gen_clip *c, media_packet *p)
{
    c->pkts = realloc(c->pkts, (c->n + 1) * sizeof(*c->pkts));
    c->pkts[c->n++] = p;
}

/*
 * Encodes frames of a moving pattern at 25 fps with encoder name
 * ("libx264", "libx265"), a keyframe every 25 frames and up to bframes
 * B-frames. Returns 0 or -1 when the encoder is missing.
 */
static inline int gen_video(const char *encoder, int w, int h, int frames, int bframes,
                            struct gen_clip *c)
{
    memset(c, 0, sizeof(*c));
    const AVCodec *codec = avcodec_find_encoder_by_name(encoder);
    if (!codec)
        return -1;
    bool hevc = codec->id == AV_CODEC_ID_HEVC;
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    ctx->width = w;
    ctx->height = h;
    ctx->pix_fmt = AV_PIX_FMT_YUV420P;
    ctx->time_base = (AVRational){1, 25};
    ctx->framerate = (AVRational){25, 1};
    ctx->gop_size = 25;
    ctx->max_b_frames = bframes;
    ctx->thread_count = 1;
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_opt_set(ctx->priv_data, "preset", bframes ? "veryfast" : "ultrafast", 0);
    if (hevc) {
        char params[96];
        snprintf(params, sizeof(params),
                 "log-level=none:bframes=%d:keyint=25:min-keyint=25:"
                 "scenecut=0:frame-threads=1:pools=none",
                 bframes);
        av_opt_set(ctx->priv_data, "x265-params", params, 0);
    } else {
        av_opt_set(ctx->priv_data, "x264-params", "scenecut=0:log=-1", 0);
    }
    if (avcodec_open2(ctx, codec, NULL) < 0) {
        avcodec_free_context(&ctx);
        return -1;
    }
    struct gen_nals g = {.hevc = hevc};
    gen_annexb_split(ctx->extradata, (size_t)ctx->extradata_size, gen_collect_ps, &g);
    uint8_t cfg[1024];
    size_t cfg_len = hevc ? gen_hvcc(&g, cfg) : gen_avcc(&g, cfg);
    c->stream = media_stream_new(MEDIA_KIND_VIDEO, hevc ? MEDIA_CODEC_H265 : MEDIA_CODEC_H264,
                                 90000, cfg, cfg_len);
    c->stream->width = (uint32_t)w;
    c->stream->height = (uint32_t)h;
    if (hevc)
        snprintf(c->stream->codec_string, sizeof(c->stream->codec_string), "hvc1.1.6.L%u.90",
                 cfg[12]);
    else
        snprintf(c->stream->codec_string, sizeof(c->stream->codec_string), "avc1.%02x%02x%02x",
                 cfg[1], cfg[2], cfg[3]);

    AVFrame *f = av_frame_alloc();
    f->format = ctx->pix_fmt;
    f->width = w;
    f->height = h;
    av_frame_get_buffer(f, 0);
    AVPacket *pkt = av_packet_alloc();
    const int64_t shift = 3600 * 4; /* keeps B-frame dts >= 0 */
    for (int i = 0; i <= frames; i++) {
        if (i < frames) {
            av_frame_make_writable(f);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    f->data[0][y * f->linesize[0] + x] = (uint8_t)(x + y + i * 3);
            for (int y = 0; y < h / 2; y++) {
                memset(f->data[1] + y * f->linesize[1], 128 + i, (size_t)w / 2);
                memset(f->data[2] + y * f->linesize[2], 64, (size_t)w / 2);
            }
            f->pts = i;
            avcodec_send_frame(ctx, f);
        } else {
            avcodec_send_frame(ctx, NULL);
        }
        while (avcodec_receive_packet(ctx, pkt) == 0) {
            g.out_len = 0;
            gen_annexb_split(pkt->data, (size_t)pkt->size, gen_append_nal, &g);
            media_packet *p = media_packet_new(c->stream, g.out_len);
            memcpy(p->data, g.out, g.out_len);
            p->dts = pkt->dts * 3600 + shift;
            p->pts = pkt->pts * 3600 + shift;
            p->duration = 3600;
            p->is_keyframe = pkt->flags & AV_PKT_FLAG_KEY;
            gen_push(c, p);
            av_packet_unref(pkt);
        }
    }
    free(g.out);
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&ctx);
    return 0;
}

/* Encodes seconds of a 48 kHz stereo tone with the native AAC encoder. */
static inline int gen_aac(double seconds, struct gen_clip *c)
{
    memset(c, 0, sizeof(*c));
    const AVCodec *codec = avcodec_find_encoder_by_name("aac");
    if (!codec)
        return -1;
    AVCodecContext *ctx = avcodec_alloc_context3(codec);
    ctx->sample_rate = 48000;
    ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_default(&ctx->ch_layout, 2);
    ctx->bit_rate = 64000;
    ctx->time_base = (AVRational){1, 48000};
    ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (avcodec_open2(ctx, codec, NULL) < 0) {
        avcodec_free_context(&ctx);
        return -1;
    }
    c->stream = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, 48000, ctx->extradata,
                                 (size_t)ctx->extradata_size);
    c->stream->sample_rate = 48000;
    c->stream->channels = 2;
    snprintf(c->stream->codec_string, sizeof(c->stream->codec_string), "mp4a.40.2");
    AVFrame *f = av_frame_alloc();
    f->format = ctx->sample_fmt;
    f->nb_samples = ctx->frame_size;
    f->sample_rate = 48000;
    av_channel_layout_copy(&f->ch_layout, &ctx->ch_layout);
    av_frame_get_buffer(f, 0);
    AVPacket *pkt = av_packet_alloc();
    int frames = (int)(seconds * 48000 / ctx->frame_size);
    for (int i = 0; i <= frames; i++) {
        if (i < frames) {
            av_frame_make_writable(f);
            for (int ch = 0; ch < 2; ch++)
                for (int s = 0; s < f->nb_samples; s++)
                    ((float *)f->data[ch])[s] = (float)((s * (ch + 1)) % 64) / 128.0f;
            f->pts = (int64_t)i * ctx->frame_size;
            avcodec_send_frame(ctx, f);
        } else {
            avcodec_send_frame(ctx, NULL);
        }
        while (avcodec_receive_packet(ctx, pkt) == 0) {
            media_packet *p = media_packet_new(c->stream, (size_t)pkt->size);
            memcpy(p->data, pkt->data, (size_t)pkt->size);
            /* Starts with the video's first frame (0.16 s), as ingest aligns streams. */
            p->dts = p->pts = pkt->pts + ctx->initial_padding + 7680;
            p->duration = pkt->duration ? pkt->duration : 1024;
            p->is_keyframe = true;
            gen_push(c, p);
            av_packet_unref(pkt);
        }
    }
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&ctx);
    return 0;
}

/*
 * Returns a new array of borrowed packets of a and b (b may be NULL) in
 * decode-time order, as ingest would push them.
 */
static inline media_packet **gen_interleave(const struct gen_clip *a, const struct gen_clip *b,
                                            size_t *n)
{
    size_t na = a->n, nb = b ? b->n : 0, i = 0, k = 0;
    media_packet **out = malloc((na + nb) * sizeof(*out));
    *n = 0;
    while (i < na || k < nb) {
        bool take_a = k >= nb;
        if (i < na && k < nb)
            take_a = (double)a->pkts[i]->dts / a->stream->timescale <=
                     (double)b->pkts[k]->dts / b->stream->timescale;
        out[(*n)++] = take_a ? a->pkts[i++] : b->pkts[k++];
    }
    return out;
}

/* What libavformat read back from a file, per stream. */
struct gen_read {
    int nb_streams;
    enum AVCodecID codec[4];
    int width[4], height[4];
    size_t n[4];
    int64_t *dts[4], *pts[4];
    bool *key[4];
    int64_t end_dts[4]; /* last dts + duration */
    bool dts_monotonic;
};

static inline void gen_read_release(struct gen_read *r)
{
    for (int i = 0; i < 4; i++) {
        free(r->dts[i]);
        free(r->pts[i]);
        free(r->key[i]);
    }
    memset(r, 0, sizeof(*r));
}

/* Demuxes path with libavformat. Returns 0, or the libav error. */
static inline int gen_read_file(const char *path, struct gen_read *r)
{
    memset(r, 0, sizeof(*r));
    r->dts_monotonic = true;
    AVFormatContext *fmt = NULL;
    int rc = avformat_open_input(&fmt, path, NULL, NULL);
    if (rc < 0)
        return rc;
    rc = avformat_find_stream_info(fmt, NULL);
    if (rc < 0 || fmt->nb_streams > 4) {
        avformat_close_input(&fmt);
        return rc < 0 ? rc : -1;
    }
    r->nb_streams = (int)fmt->nb_streams;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        r->codec[i] = fmt->streams[i]->codecpar->codec_id;
        r->width[i] = fmt->streams[i]->codecpar->width;
        r->height[i] = fmt->streams[i]->codecpar->height;
    }
    AVPacket *pkt = av_packet_alloc();
    while (av_read_frame(fmt, pkt) >= 0) {
        int s = pkt->stream_index;
        size_t k = r->n[s]++;
        r->dts[s] = realloc(r->dts[s], r->n[s] * sizeof(int64_t));
        r->pts[s] = realloc(r->pts[s], r->n[s] * sizeof(int64_t));
        r->key[s] = realloc(r->key[s], r->n[s] * sizeof(bool));
        r->dts[s][k] = pkt->dts;
        r->pts[s][k] = pkt->pts;
        r->key[s][k] = pkt->flags & AV_PKT_FLAG_KEY;
        if (k && pkt->dts <= r->dts[s][k - 1])
            r->dts_monotonic = false;
        r->end_dts[s] = pkt->dts + pkt->duration;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    return 0;
}

#endif
