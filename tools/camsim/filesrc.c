/*
 * DESIGN: a --source file is read once, completely, into memory (fixture
 * clips are small; the limit is 512 MiB) and replayed by source.c, so
 * serving a file costs the same as serving a pre-encoded loop and the
 * file is never re-encoded. libavformat demuxes; the mp4toannexb bitstream
 * filters turn length-prefixed MP4 samples into Annex B with parameter
 * sets in front of every keyframe, and aac_adtstoasc turns ADTS into raw
 * AAC plus an AudioSpecificConfig. Times become relative to the first
 * keyframe, which is where every loop starts. Thread: the caller's (start).
 */
#include "filesrc.h"

#include "err.h"
#include "mem.h"

#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILESRC_MAX_BYTES ((size_t)512 << 20)

typedef struct filesrc {
    const char *path;
    AVFormatContext *fmt; /* owned */
    int vindex;
    int aindex; /* -1 without audio */
    AVBSFContext *vbsf; /* owned */
    AVBSFContext *absf; /* owned; NULL without audio */
    AVPacket *pkt; /* owned */
    int64_t t0_ns; /* dts of the first kept keyframe */
    bool has_t0;
    int64_t end_ns; /* end of the last picture, relative to t0 */
    size_t bytes;
    int64_t default_dur_ns; /* from the frame rate, for packets without duration */
    int64_t video_count;
    int audio_rate_hz;
    int audio_frame_samples;
} filesrc;

static void log_av(const filesrc *fs, const char *what, int rc)
{
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(rc, buf, sizeof(buf));
    fprintf(stderr, "horus-camsim: %s '%s': %s\n", what, fs->path, buf);
}

static int open_bsf(filesrc *fs, const char *name, const AVStream *st, AVBSFContext **out)
{
    const AVBitStreamFilter *filter = av_bsf_get_by_name(name);
    if (!filter) {
        fprintf(stderr, "horus-camsim: bitstream filter '%s' missing\n", name);
        return HORUS_ECODEC;
    }
    int rc = av_bsf_alloc(filter, out);
    if (rc >= 0)
        rc = avcodec_parameters_copy((*out)->par_in, st->codecpar);
    if (rc >= 0) {
        (*out)->time_base_in = st->time_base;
        rc = av_bsf_init(*out);
    }
    if (rc < 0) {
        log_av(fs, name, rc);
        return HORUS_ECODEC;
    }
    return 0;
}

static int open_streams(filesrc *fs, bool want_audio, cs_media_info *info)
{
    fs->vindex = av_find_best_stream(fs->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (fs->vindex < 0) {
        fprintf(stderr, "horus-camsim: no video stream in '%s'\n", fs->path);
        return HORUS_ECODEC;
    }
    const AVStream *vs = fs->fmt->streams[fs->vindex];
    enum AVCodecID id = vs->codecpar->codec_id;
    if (id != AV_CODEC_ID_H264 && id != AV_CODEC_ID_HEVC) {
        fprintf(stderr, "horus-camsim: video of '%s' is %s; only h264 and h265 are served\n",
                fs->path, avcodec_get_name(id));
        return HORUS_ECODEC;
    }
    info->codec = id == AV_CODEC_ID_H264 ? CS_CODEC_H264 : CS_CODEC_H265;
    info->width = vs->codecpar->width;
    info->height = vs->codecpar->height;
    AVRational rate = vs->avg_frame_rate.num > 0 ? vs->avg_frame_rate : vs->r_frame_rate;
    info->fps = rate.num > 0 && rate.den > 0 ? (int)((rate.num + rate.den / 2) / rate.den) : 0;
    fs->default_dur_ns = info->fps > 0 ? (int64_t)rate.den * 1000000000 / rate.num : 40000000;
    int rc = open_bsf(fs, id == AV_CODEC_ID_H264 ? "h264_mp4toannexb" : "hevc_mp4toannexb", vs,
                      &fs->vbsf);
    if (rc < 0)
        return rc;

    fs->aindex = -1;
    if (!want_audio)
        return 0;
    fs->aindex = av_find_best_stream(fs->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (fs->aindex < 0 || fs->fmt->streams[fs->aindex]->codecpar->codec_id != AV_CODEC_ID_AAC) {
        fprintf(stderr, "horus-camsim: --audio: '%s' has no AAC audio stream\n", fs->path);
        return HORUS_ECODEC;
    }
    const AVStream *as = fs->fmt->streams[fs->aindex];
    rc = open_bsf(fs, "aac_adtstoasc", as, &fs->absf);
    if (rc < 0)
        return rc;
    fs->audio_rate_hz = as->codecpar->sample_rate;
    fs->audio_frame_samples = as->codecpar->frame_size > 0 ? as->codecpar->frame_size : 1024;
    info->has_audio = true;
    info->audio_rate_hz = as->codecpar->sample_rate;
    info->audio_channels = as->codecpar->ch_layout.nb_channels;
    return 0;
}

/* Stores one filtered packet. */
static int keep_packet(filesrc *fs, int track, const AVPacket *pkt, AVRational tb, cs_store *store)
{
    bool is_key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    int64_t dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    AVRational ns = {1, 1000000000};
    int64_t pts_ns, dts_ns;
    if (pts == AV_NOPTS_VALUE) {
        if (track != CS_TRACK_VIDEO)
            return 0;
        /* Raw elementary streams have no times: one picture per frame interval. */
        pts_ns = dts_ns = fs->video_count * fs->default_dur_ns;
    } else {
        pts_ns = av_rescale_q(pts, tb, ns);
        dts_ns = av_rescale_q(dts, tb, ns);
    }
    if (!fs->has_t0) {
        if (track != CS_TRACK_VIDEO || !is_key)
            return 0; /* loops start at the first keyframe */
        fs->t0_ns = dts_ns;
        fs->has_t0 = true;
    }
    if (track == CS_TRACK_VIDEO)
        fs->video_count++;
    pts_ns -= fs->t0_ns;
    dts_ns -= fs->t0_ns;
    if (pts_ns < 0 || dts_ns < -1000000000)
        return 0;
    fs->bytes += (size_t)pkt->size;
    if (fs->bytes > FILESRC_MAX_BYTES) {
        fprintf(stderr, "horus-camsim: '%s' is over %zu MiB\n", fs->path, FILESRC_MAX_BYTES >> 20);
        return -EFBIG;
    }
    cs_au *au = cs_au_new(track, pkt->data, (size_t)pkt->size);
    au->is_keyframe = is_key;
    if (track == CS_TRACK_VIDEO) {
        int64_t dur_ns =
            pkt->duration > 0 ? av_rescale_q(pkt->duration, tb, ns) : fs->default_dur_ns;
        au->pts = pts_ns * CS_VIDEO_CLOCK_HZ / 1000000000;
        au->send_ns = dts_ns;
        if (pts_ns + dur_ns > fs->end_ns)
            fs->end_ns = pts_ns + dur_ns;
    } else {
        au->pts = pts_ns * fs->audio_rate_hz / 1000000000;
        au->send_ns = pts_ns;
    }
    cs_store_append(store, au);
    return 0;
}

/* Sends pkt (or NULL to flush) through bsf and keeps what comes out. */
static int filter_packet(filesrc *fs, AVBSFContext *bsf, int track, AVPacket *pkt, cs_store *store)
{
    int rc = av_bsf_send_packet(bsf, pkt);
    if (rc < 0) {
        log_av(fs, "filter", rc);
        return HORUS_ECODEC;
    }
    for (;;) {
        rc = av_bsf_receive_packet(bsf, fs->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0) {
            log_av(fs, "filter", rc);
            return HORUS_ECODEC;
        }
        rc = keep_packet(fs, track, fs->pkt, bsf->time_base_out, store);
        av_packet_unref(fs->pkt);
        if (rc < 0)
            return rc;
    }
}

static int read_all(filesrc *fs, cs_store *store)
{
    AVPacket *in = av_packet_alloc();
    int rc = 0;
    for (;;) {
        int r = av_read_frame(fs->fmt, in);
        if (r == AVERROR_EOF)
            break;
        if (r < 0) {
            log_av(fs, "read", r);
            rc = HORUS_ECODEC;
            break;
        }
        if (in->stream_index == fs->vindex)
            rc = filter_packet(fs, fs->vbsf, CS_TRACK_VIDEO, in, store);
        else if (in->stream_index == fs->aindex)
            rc = filter_packet(fs, fs->absf, CS_TRACK_AUDIO, in, store);
        av_packet_unref(in);
        if (rc < 0)
            break;
    }
    if (rc == 0)
        rc = filter_packet(fs, fs->vbsf, CS_TRACK_VIDEO, NULL, store);
    if (rc == 0 && fs->absf)
        rc = filter_packet(fs, fs->absf, CS_TRACK_AUDIO, NULL, store);
    av_packet_free(&in);
    return rc;
}

static int finish(filesrc *fs, cs_media_info *info, cs_store *store)
{
    const cs_au *key = NULL;
    for (size_t i = 0; i < store->n && !key; i++) {
        if (store->aus[i]->track == CS_TRACK_VIDEO)
            key = store->aus[i];
    }
    if (!key || fs->end_ns <= 0) {
        fprintf(stderr, "horus-camsim: no keyframe in '%s'\n", fs->path);
        return HORUS_ECODEC;
    }
    if (cs_media_info_take_params(info, key) < 0) {
        fprintf(stderr, "horus-camsim: no parameter sets before the first keyframe of '%s'\n",
                fs->path);
        return HORUS_ECODEC;
    }
    if (fs->absf) {
        const AVCodecParameters *par = fs->absf->par_out;
        if (par->extradata_size <= 0 || (size_t)par->extradata_size > sizeof(info->audio_config)) {
            fprintf(stderr, "horus-camsim: no AAC config in '%s'\n", fs->path);
            return HORUS_ECODEC;
        }
        memcpy(info->audio_config, par->extradata, (size_t)par->extradata_size);
        info->audio_config_len = (size_t)par->extradata_size;
    }
    /* Send times start at 0 even when B-frames put the first DTS before the keyframe's PTS. */
    int64_t min_send = 0;
    for (size_t i = 0; i < store->n; i++) {
        if (store->aus[i]->send_ns < min_send)
            min_send = store->aus[i]->send_ns;
    }
    for (size_t i = 0; i < store->n; i++)
        store->aus[i]->send_ns -= min_send;
    store->period_ns = fs->end_ns;
    store->period_ts[CS_TRACK_VIDEO] = fs->end_ns * CS_VIDEO_CLOCK_HZ / 1000000000;
    store->period_ts[CS_TRACK_AUDIO] = fs->end_ns * fs->audio_rate_hz / 1000000000;
    if (fs->absf)
        cs_store_trim_audio(store, store->period_ts[CS_TRACK_AUDIO], fs->audio_frame_samples);
    cs_store_sort(store);
    return 0;
}

int cs_filesrc_load(const char *path, bool want_audio, cs_media_info *info, cs_store *store)
{
    filesrc fs = {.path = path, .aindex = -1};
    fs.pkt = av_packet_alloc();
    int rc = avformat_open_input(&fs.fmt, path, NULL, NULL);
    if (rc < 0) {
        log_av(&fs, "open", rc);
        rc = rc == AVERROR(ENOENT) ? -ENOENT : HORUS_ECODEC;
        goto out;
    }
    rc = avformat_find_stream_info(fs.fmt, NULL);
    if (rc < 0) {
        log_av(&fs, "probe", rc);
        rc = HORUS_ECODEC;
        goto out;
    }
    rc = open_streams(&fs, want_audio, info);
    if (rc == 0)
        rc = read_all(&fs, store);
    if (rc == 0)
        rc = finish(&fs, info, store);
out:
    if (rc < 0)
        cs_store_release(store);
    av_bsf_free(&fs.vbsf);
    av_bsf_free(&fs.absf);
    av_packet_free(&fs.pkt);
    avformat_close_input(&fs.fmt);
    return rc;
}
