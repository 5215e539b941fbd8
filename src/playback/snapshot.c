/*
 * DESIGN: JPEG snapshots, decoded on the requesting HTTP thread.
 *
 * Latest frame: the recorder's sink keeps a reference to each camera
 * stream's latest video keyframe; decoding that one packet (no reference
 * frames needed), scaling it with libswscale and encoding it with
 * libavcodec's mjpeg encoder takes a few tens of milliseconds for 1080p.
 * The JPEG depends only on the keyframe and the width, so it is cached per
 * (camera, stream, width) until a newer keyframe arrives: 50 clients asking
 * at once cause one decode, the others wait for it (single flight) and
 * then copy the cached bytes.
 *
 * Recorded instant (?ts=): the segment row covering ts is opened with
 * libavformat, seeked to the keyframe at or before ts, and decoded forward
 * to the last frame whose time is at or before ts. An instant no row
 * covers yet may lie in a pending file the caller passes (the segment
 * being written, read up to its last complete part; docs/design/0032):
 * decoding stops at ts, before the part still being written.
 *
 * Bounds: at most max_decodes decodes run at once (each with one decoder
 * thread); a request waits up to wait_ms for a slot, then gets -EAGAIN
 * (503). Why not a worker thread: a decode is short and the HTTP thread
 * would wait for the worker anyway; the slots give the same bound without
 * a hand-off. See docs/design/0007.
 *
 * Lock order: s->lock only; never held while decoding.
 */
#include "playback.h"

#include "err.h"
#include "log.h"
#include "media_jpeg.h"
#include "mem.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_MODULE "snapshot"

#define CACHE_SLOTS 64

struct cache_entry {
    char camera[65];
    char stream[8];
    int width;
    /* Which keyframe the JPEG is of: a packet is identified by its epoch, dts and wall time. */
    uint32_t kf_epoch;
    int64_t kf_dts, kf_wall_us;
    uint8_t *jpeg; /* owned; NULL while empty */
    size_t len;
    bool is_busy; /* a decode for this key runs; others wait on s->cond */
    int64_t used_ns;
};

struct pb_snapshots {
    sto_db *db;
    char *data_dir;
    unsigned max_decodes;
    int64_t wait_ms;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* an entry or a decode slot became free */
    unsigned decoding;
    struct cache_entry cache[CACHE_SLOTS];
    metrics_series *m_hit, *m_decode, *m_busy;
    metrics_series *m_seconds;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec deadline_after(int64_t ms)
{
    int64_t t = mono_ns() + ms * 1000000;
    return (struct timespec){.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
}

pb_snapshots *pb_snapshots_new(const struct pb_snapshot_options *opt)
{
    pb_snapshots *s = horus_calloc(1, sizeof(*s));
    s->db = opt->db;
    s->data_dir = horus_strdup(opt->data_dir ? opt->data_dir : ".");
    s->max_decodes = opt->max_decodes ? opt->max_decodes : 2;
    s->wait_ms = opt->wait_ms ? opt->wait_ms : 2000;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    metrics_family *f = metrics_family_add(
        opt->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                             .name = "horus_snapshot_requests_total",
                                             .help = "Snapshot requests by how they were served",
                                             .labels = "result"});
    s->m_hit = metrics_series_get(f, "cached");
    s->m_decode = metrics_series_get(f, "decoded");
    s->m_busy = metrics_series_get(f, "busy");
    static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
    s->m_seconds = metrics_series_get(metrics_family_add(
        opt->metrics, &(struct metrics_desc){.type = METRICS_HISTOGRAM,
                                             .name = "horus_snapshot_decode_seconds",
                                             .help = "Time to decode, scale and encode a snapshot",
                                             .buckets = buckets,
                                             .nbuckets = HORUS_ARRAY_LEN(buckets)}));
    return s;
}

void pb_snapshots_free(pb_snapshots *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        free(s->cache[i].jpeg);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s->data_dir);
    free(s);
}

/* ---- decode slots ---- */

static int slot_acquire(pb_snapshots *s)
{
    struct timespec dl = deadline_after(s->wait_ms);
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    while (s->decoding >= s->max_decodes && rc == 0)
        rc = pthread_cond_timedwait(&s->cond, &s->lock, &dl);
    if (s->decoding < s->max_decodes) {
        s->decoding++;
        rc = 0;
    } else {
        rc = -EAGAIN;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc < 0)
        metrics_counter_inc(s->m_busy);
    return rc;
}

static void slot_release(pb_snapshots *s)
{
    pthread_mutex_lock(&s->lock);
    s->decoding--;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* ---- decode, scale, encode ---- */

static int open_decoder(const AVCodecParameters *par, AVCodecContext **out)
{
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec)
        return HORUS_ECODEC;
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (avcodec_parameters_to_context(c, par) < 0) {
        avcodec_free_context(&c);
        return HORUS_ECODEC;
    }
    c->thread_count = 1; /* the decode slots bound CPU use; one thread per decode */
    if (avcodec_open2(c, codec, NULL) < 0) {
        avcodec_free_context(&c);
        return HORUS_ECODEC;
    }
    *out = c;
    return 0;
}

/* Scales frame to width (0 = its own) and encodes it as a baseline JPEG. *out is new. */
static int frame_to_jpeg(const AVFrame *frame, int width, uint8_t **out, size_t *len)
{
    if (frame->width <= 0 || frame->height <= 0)
        return HORUS_ECODEC;
    int w = width > 0 ? width : frame->width;
    int64_t h64 = ((int64_t)frame->height * w + frame->width / 2) / frame->width;
    int h = (int)(h64 < 2 ? 2 : h64 > 4 * PB_SNAPSHOT_WIDTH_MAX ? 4 * PB_SNAPSHOT_WIDTH_MAX : h64);
    w += w & 1; /* 4:2:0 wants even sizes */
    h += h & 1;
    /* Video is usually limited range; JPEG is full range. */
    struct media_jpeg_src src = {
        .format = frame->format,
        .width = frame->width,
        .height = frame->height,
        .data = (const uint8_t *const *)frame->data,
        .linesize = frame->linesize,
        .is_full_range =
            frame->color_range == AVCOL_RANGE_JPEG || frame->format == AV_PIX_FMT_YUVJ420P,
        .colorspace = SWS_CS_ITU709,
        .scale_flags = w < frame->width ? SWS_AREA : SWS_BICUBIC,
    };
    return media_jpeg_encode(&src, w, h, MEDIA_JPEG_QSCALE, out, len);
}

/* Decodes one keyframe packet (length-prefixed NAL units, avcC/hvcC in its stream). */
static int keyframe_to_jpeg(const media_packet *kf, int width, uint8_t **out, size_t *len)
{
    const media_stream *ms = kf->stream;
    AVCodecParameters *par = avcodec_parameters_alloc();
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = ms->codec == MEDIA_CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
    par->width = (int)ms->width;
    par->height = (int)ms->height;
    if (ms->extradata_size) {
        par->extradata = av_mallocz(ms->extradata_size + AV_INPUT_BUFFER_PADDING_SIZE);
        memcpy(par->extradata, ms->extradata, ms->extradata_size);
        par->extradata_size = (int)ms->extradata_size;
    }
    AVCodecContext *dec = NULL;
    int rc = ms->codec == MEDIA_CODEC_H264 || ms->codec == MEDIA_CODEC_H265
                 ? open_decoder(par, &dec)
                 : HORUS_ECODEC;
    avcodec_parameters_free(&par);
    if (rc < 0)
        return rc;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    rc = HORUS_ECODEC;
    if (av_new_packet(pkt, (int)kf->size) == 0) {
        memcpy(pkt->data, kf->data, kf->size);
        pkt->flags = AV_PKT_FLAG_KEY;
        pkt->pts = pkt->dts = 0;
        /* Send, then drain: a decoder with reordering delay gives the frame on flush. */
        if (avcodec_send_packet(dec, pkt) >= 0) {
            int got = avcodec_receive_frame(dec, frame);
            if (got == AVERROR(EAGAIN)) {
                avcodec_send_packet(dec, NULL);
                got = avcodec_receive_frame(dec, frame);
            }
            if (got == 0)
                rc = frame_to_jpeg(frame, width, out, len);
        }
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    return rc;
}

/* ---- latest keyframe, cached ---- */

static bool entry_is(const struct cache_entry *e, const char *camera, const char *stream, int width)
{
    return e->camera[0] && e->width == width && strcmp(e->camera, camera) == 0 &&
           strcmp(e->stream, stream) == 0;
}

static bool entry_has(const struct cache_entry *e, const media_packet *kf)
{
    return e->jpeg && e->kf_epoch == kf->stream->epoch && e->kf_dts == kf->dts &&
           e->kf_wall_us == kf->wall_us;
}

static struct cache_entry *entry_find(pb_snapshots *s, const char *camera, const char *stream,
                                      int width)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (entry_is(&s->cache[i], camera, stream, width))
            return &s->cache[i];
    return NULL;
}

/* Takes the least recently used idle entry for a new key; NULL when every entry is busy. */
static struct cache_entry *entry_claim(pb_snapshots *s, const char *camera, const char *stream,
                                       int width)
{
    struct cache_entry *best = NULL;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct cache_entry *e = &s->cache[i];
        if (!e->is_busy && (!best || e->used_ns < best->used_ns))
            best = e;
    }
    if (!best)
        return NULL;
    free(best->jpeg);
    memset(best, 0, sizeof(*best));
    snprintf(best->camera, sizeof(best->camera), "%s", camera);
    snprintf(best->stream, sizeof(best->stream), "%s", stream);
    best->width = width;
    return best;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *c = horus_malloc(n ? n : 1);
    memcpy(c, p, n);
    return c;
}

static int decode_timed(pb_snapshots *s, const media_packet *kf, int width, uint8_t **out,
                        size_t *len)
{
    int rc = slot_acquire(s);
    if (rc < 0)
        return rc;
    int64_t t0 = mono_ns();
    rc = keyframe_to_jpeg(kf, width, out, len);
    metrics_histogram_observe(s->m_seconds, (double)(mono_ns() - t0) / 1e9);
    metrics_counter_inc(s->m_decode);
    slot_release(s);
    return rc;
}

int pb_snapshot_latest(pb_snapshots *s, const char *camera, const char *stream,
                       const media_packet *keyframe, int width, uint8_t **jpeg, size_t *len)
{
    if (width != 0 && (width < PB_SNAPSHOT_WIDTH_MIN || width > PB_SNAPSHOT_WIDTH_MAX))
        return -EINVAL;
    struct timespec dl = deadline_after(s->wait_ms);
    pthread_mutex_lock(&s->lock);
    struct cache_entry *e;
    for (;;) {
        e = entry_find(s, camera, stream, width);
        if (e && entry_has(e, keyframe)) {
            *jpeg = dup_bytes(e->jpeg, e->len);
            *len = e->len;
            e->used_ns = mono_ns();
            pthread_mutex_unlock(&s->lock);
            metrics_counter_inc(s->m_hit);
            return 0;
        }
        if (!e || !e->is_busy)
            break;
        /* Someone decodes this key right now: wait for its result. */
        if (pthread_cond_timedwait(&s->cond, &s->lock, &dl) != 0) {
            pthread_mutex_unlock(&s->lock);
            metrics_counter_inc(s->m_busy);
            return -EAGAIN;
        }
    }
    if (!e)
        e = entry_claim(s, camera, stream, width);
    if (e)
        e->is_busy = true;
    pthread_mutex_unlock(&s->lock);

    uint8_t *out = NULL;
    size_t n = 0;
    int rc = decode_timed(s, keyframe, width, &out, &n);

    pthread_mutex_lock(&s->lock);
    if (e) {
        e->is_busy = false;
        if (rc == 0) {
            free(e->jpeg);
            e->jpeg = dup_bytes(out, n);
            e->len = n;
            e->kf_epoch = keyframe->stream->epoch;
            e->kf_dts = keyframe->dts;
            e->kf_wall_us = keyframe->wall_us;
            e->used_ns = mono_ns();
        }
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == 0) {
        *jpeg = out;
        *len = n;
    }
    return rc;
}

/* ---- recorded instant ---- */

/*
 * Decodes the frame of the open file ic shown at target (video time base,
 * file timeline): seeks to the keyframe at or before it and decodes
 * forward, keeping the last frame at or before target.
 */
static int decode_at(AVFormatContext *ic, int vidx, int64_t target, int width, uint8_t **out,
                     size_t *len)
{
    AVCodecContext *dec = NULL;
    int rc = open_decoder(ic->streams[vidx]->codecpar, &dec);
    if (rc < 0)
        return rc;
    /* The keyframe at or before target; a failed seek reads from the start. */
    if (av_seek_frame(ic, vidx, target, AVSEEK_FLAG_BACKWARD) < 0)
        av_seek_frame(ic, vidx, 0, AVSEEK_FLAG_BACKWARD | AVSEEK_FLAG_BYTE);
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    AVFrame *best = av_frame_alloc();
    bool has_best = false, is_done = false, is_started = false;
    while (!is_done) {
        int r = av_read_frame(ic, pkt);
        if (r < 0) {
            avcodec_send_packet(dec, NULL); /* drain what is left */
            is_done = true;
        } else if (pkt->stream_index != vidx) {
            av_packet_unref(pkt);
            continue;
        } else {
            if (!is_started && !(pkt->flags & AV_PKT_FLAG_KEY)) {
                av_packet_unref(pkt);
                continue; /* a seek that landed mid-GOP: wait for a keyframe */
            }
            is_started = true;
            avcodec_send_packet(dec, pkt);
            av_packet_unref(pkt);
        }
        while (avcodec_receive_frame(dec, frame) == 0) {
            int64_t t = frame->best_effort_timestamp;
            if (t != AV_NOPTS_VALUE && t > target && has_best) {
                is_done = true;
                av_frame_unref(frame);
                break;
            }
            av_frame_unref(best);
            av_frame_move_ref(best, frame);
            has_best = true;
        }
    }
    rc = has_best ? frame_to_jpeg(best, width, out, len) : HORUS_ECODEC;
    av_frame_free(&best);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    return rc;
}

/* The first video dts of the file: the file timeline's origin for row->start_us. */
static int64_t first_video_dts(AVFormatContext *ic, int vidx)
{
    AVPacket *pkt = av_packet_alloc();
    int64_t dts = AV_NOPTS_VALUE;
    while (av_read_frame(ic, pkt) >= 0) {
        bool is_video = pkt->stream_index == vidx;
        if (is_video)
            dts = pkt->dts;
        av_packet_unref(pkt);
        if (is_video)
            break;
    }
    av_packet_free(&pkt);
    return dts == AV_NOPTS_VALUE ? 0 : dts;
}

/* The pending file (not indexed yet) that covers ts_us, or NULL. */
static const struct pb_file *pending_at(const struct pb_file *pending, size_t n, int64_t ts_us)
{
    for (size_t i = n; i-- > 0;)
        if (pending[i].path && pending[i].start_us <= ts_us && ts_us < pending[i].end_us)
            return &pending[i];
    return NULL;
}

int pb_snapshot_at(pb_snapshots *s, const char *camera, const char *stream, int64_t ts_us,
                   const struct pb_file *pending, size_t npending, int width, uint8_t **jpeg,
                   size_t *len, char *why, size_t size)
{
    if (width != 0 && (width < PB_SNAPSHOT_WIDTH_MIN || width > PB_SNAPSHOT_WIDTH_MAX)) {
        snprintf(why, size, "width: must be %d..%d", PB_SNAPSHOT_WIDTH_MIN, PB_SNAPSHOT_WIDTH_MAX);
        return -EINVAL;
    }
    struct sto_recording *rows = NULL;
    size_t n = 0;
    int rc = sto_recordings_range(s->db, camera, stream, ts_us, ts_us + 1, 1, &rows, &n);
    if (rc < 0) {
        snprintf(why, size, "read the recordings index: %s", horus_strerror(rc));
        return rc;
    }
    const struct pb_file *pf = n == 0 ? pending_at(pending, npending, ts_us) : NULL;
    if (n == 0 && !pf) {
        char at[32];
        clock_format_rfc3339_ms(ts_us / 1000, at, sizeof(at));
        snprintf(why, size, "camera '%s' has no %s stream recording at %s", camera, stream, at);
        return -ENOENT;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", s->data_dir, pf ? pf->path : rows[0].path);
    int64_t rel_us = ts_us - (pf ? pf->start_us : rows[0].start_us);
    sto_recording_list_free(rows, n);
    /* The segment being written is renamed from .part when it closes. */
    size_t plen = strlen(path);
    if (pf && pf->is_open && access(path, F_OK) < 0 && plen > 5 &&
        strcmp(path + plen - 5, ".part") == 0)
        path[plen - 5] = '\0';

    rc = slot_acquire(s);
    if (rc < 0) {
        snprintf(why, size, "too many snapshots are being decoded; retry in a second");
        return rc;
    }
    int64_t t0 = mono_ns();
    AVFormatContext *ic = NULL;
    int r = avformat_open_input(&ic, path, NULL, NULL);
    if (r < 0) {
        snprintf(why, size, "open recording '%s': %s", path, av_err2str(r));
        rc = r == AVERROR(ENOENT) ? -ENOENT : -EIO;
    } else {
        int vidx = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        if (vidx < 0) {
            snprintf(why, size, "recording '%s' has no video track", path);
            rc = HORUS_ECODEC;
        } else {
            AVRational tb = ic->streams[vidx]->time_base;
            int64_t target = first_video_dts(ic, vidx) + av_rescale_q(rel_us, AV_TIME_BASE_Q, tb);
            rc = decode_at(ic, vidx, target, width, jpeg, len);
            if (rc < 0)
                snprintf(why, size, "decode the frame at %lld µs into '%s' failed",
                         (long long)rel_us, path);
        }
        avformat_close_input(&ic);
    }
    metrics_histogram_observe(s->m_seconds, (double)(mono_ns() - t0) / 1e9);
    metrics_counter_inc(s->m_decode);
    slot_release(s);
    return rc;
}
