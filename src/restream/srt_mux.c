/*
 * DESIGN: MPEG-TS for SRT callers (docs/design/0060). libavformat's mpegts
 * muxer writes into a 1316-byte AVIO buffer whose writer hands each full
 * (or flushed) buffer to the caller: every chunk is a whole number of TS
 * packets, one SRT live-mode message. Video stays length-prefixed with its
 * avcC/hvcC as extradata: the muxer's automatic bitstream filter turns it
 * into Annex B with the parameter sets before keyframes. AAC goes in with
 * its AudioSpecificConfig; the muxer adds ADTS headers. Timestamps are the
 * relay's (90 kHz video, the sample rate for audio), rescaled by the
 * muxer. Output starts at the first video keyframe. Thread: one at a time.
 */
#include "srt_int.h"

#include "err.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <stdio.h>
#include <string.h>

struct rs_ts_mux {
    AVFormatContext *oc;
    AVPacket *pkt;
    media_stream *video, *audio; /* references: the tracks muxed */
    int vi, ai; /* stream indexes; ai -1 without audio */
    rs_ts_out_cb out;
    void *arg;
    int out_rc; /* the callback's error, once it failed */
    bool started; /* the first video keyframe was written */
    bool header_written;
};

static int write_cb(void *opaque, uint8_t *buf, int len)
{
    rs_ts_mux *m = opaque;
    if (m->out_rc < 0)
        return m->out_rc;
    int rc = m->out(m->arg, buf, (size_t)len);
    if (rc < 0) {
        m->out_rc = rc;
        return AVERROR(EIO);
    }
    return len;
}

static int add_stream(rs_ts_mux *m, const media_stream *ms)
{
    AVStream *st = avformat_new_stream(m->oc, NULL);
    if (!st)
        HORUS_BUG("out of memory");
    AVCodecParameters *par = st->codecpar;
    if (ms->kind == MEDIA_KIND_VIDEO) {
        par->codec_type = AVMEDIA_TYPE_VIDEO;
        par->codec_id = ms->codec == MEDIA_CODEC_H265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
        par->width = (int)ms->width;
        par->height = (int)ms->height;
    } else {
        par->codec_type = AVMEDIA_TYPE_AUDIO;
        par->codec_id = AV_CODEC_ID_AAC;
        par->sample_rate = (int)ms->sample_rate;
        av_channel_layout_default(&par->ch_layout, ms->channels ? (int)ms->channels : 1);
    }
    if (ms->extradata_size) {
        par->extradata = av_mallocz(ms->extradata_size + AV_INPUT_BUFFER_PADDING_SIZE);
        if (!par->extradata)
            HORUS_BUG("out of memory");
        memcpy(par->extradata, ms->extradata, ms->extradata_size);
        par->extradata_size = (int)ms->extradata_size;
    }
    st->time_base = (AVRational){1, (int)ms->timescale};
    return st->index;
}

int rs_ts_mux_new(const media_stream *video, const media_stream *audio, rs_ts_out_cb out, void *arg,
                  rs_ts_mux **mux, char *err, size_t errsize)
{
    *mux = NULL;
    if (!video || video->kind != MEDIA_KIND_VIDEO ||
        (video->codec != MEDIA_CODEC_H264 && video->codec != MEDIA_CODEC_H265)) {
        snprintf(err, errsize, "the camera's video is not H.264 or H.265");
        return HORUS_ECODEC;
    }
    rs_ts_mux *m = horus_calloc(1, sizeof(*m));
    m->out = out;
    m->arg = arg;
    m->ai = -1;
    if (avformat_alloc_output_context2(&m->oc, NULL, "mpegts", NULL) < 0 || !m->oc) {
        snprintf(err, errsize, "no MPEG-TS muxer in this libavformat");
        free(m);
        return HORUS_ECODEC;
    }
    uint8_t *buf = av_malloc(RS_SRT_CHUNK);
    m->oc->pb = avio_alloc_context(buf, RS_SRT_CHUNK, 1, m, NULL, write_cb, NULL);
    m->pkt = av_packet_alloc();
    if (!buf || !m->oc->pb || !m->pkt)
        HORUS_BUG("out of memory");
    m->oc->flags |= AVFMT_FLAG_FLUSH_PACKETS; /* each packet out at once: live */
    m->video = media_stream_ref((media_stream *)video);
    m->vi = add_stream(m, video);
    if (audio && audio->kind == MEDIA_KIND_AUDIO && audio->codec == MEDIA_CODEC_AAC &&
        audio->timescale > 0) {
        m->audio = media_stream_ref((media_stream *)audio);
        m->ai = add_stream(m, audio);
    }
    *mux = m;
    return 0;
}

bool rs_ts_mux_has(const rs_ts_mux *m, const media_stream *st)
{
    const media_stream *own = st->kind == MEDIA_KIND_VIDEO ? m->video : m->audio;
    return own && (own == st || media_stream_same_params(own, st));
}

int rs_ts_mux_write(rs_ts_mux *m, const media_packet *p)
{
    bool is_video = p->stream->kind == MEDIA_KIND_VIDEO;
    if (!rs_ts_mux_has(m, p->stream))
        return 0;
    if (!m->started) {
        if (!is_video || !p->is_keyframe)
            return 0; /* a caller starts on a picture */
        m->started = true;
    }
    if (!m->header_written) {
        AVDictionary *o = NULL;
        av_dict_set(&o, "mpegts_flags", "resend_headers", 0);
        int rc = avformat_write_header(m->oc, &o);
        av_dict_free(&o);
        if (rc < 0)
            return m->out_rc < 0 ? m->out_rc : HORUS_ECODEC;
        m->header_written = true;
    }
    AVPacket *k = m->pkt;
    if (av_new_packet(k, (int)p->size) < 0)
        HORUS_BUG("out of memory");
    memcpy(k->data, p->data, p->size);
    int idx = is_video ? m->vi : m->ai;
    AVRational tb = {1, (int)p->stream->timescale};
    AVRational to = m->oc->streams[idx]->time_base;
    k->stream_index = idx;
    k->pts = av_rescale_q(p->pts, tb, to);
    k->dts = av_rescale_q(p->dts, tb, to);
    k->duration = p->duration > 0 ? av_rescale_q(p->duration, tb, to) : 0;
    if (p->is_keyframe)
        k->flags |= AV_PKT_FLAG_KEY;
    int rc = av_write_frame(m->oc, k);
    av_packet_unref(k);
    if (rc < 0)
        return m->out_rc < 0 ? m->out_rc : HORUS_ECODEC;
    return 0;
}

void rs_ts_mux_free(rs_ts_mux *m)
{
    if (!m)
        return;
    if (m->oc) {
        if (m->oc->pb) {
            av_freep(&m->oc->pb->buffer);
            avio_context_free(&m->oc->pb);
        }
        avformat_free_context(m->oc);
    }
    av_packet_free(&m->pkt);
    media_stream_unref(m->video);
    media_stream_unref(m->audio);
    free(m);
}

/* %XX sequences decoded into out (cap bytes): some callers send the stream id URL-encoded. */
static bool percent_decode(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        int c = (unsigned char)*p;
        if (c == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            char hex[3] = {p[1], p[2], 0};
            c = (int)strtol(hex, NULL, 16);
            p += 2;
        }
        if (c == 0 || n + 1 >= cap)
            return false;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return true;
}

int rs_srt_streamid_parse(const char *raw, struct rs_target *t, const char **why)
{
    char sid[RS_TOKEN_MAX + CFG_ID_MAX + 64];
    if (!percent_decode(raw, sid, sizeof(sid))) {
        memset(t, 0, sizeof(*t));
        *why = "stream id is too long or holds a NUL";
        return -EINVAL;
    }
    memset(t, 0, sizeof(*t));
    t->track = RS_TRACK_NONE;
    snprintf(t->stream, sizeof(t->stream), "main");
    char res[CFG_ID_MAX + 8] = "";
    if (strncmp(sid, "#!::", 4) == 0) {
        const char *p = sid + 4;
        while (*p) {
            size_t n = strcspn(p, ",");
            const char *eq = memchr(p, '=', n);
            if (!eq) {
                *why = "stream id: a key without '=' (expected #!::r=CAMERA,s=KEY)";
                return -EINVAL;
            }
            size_t kl = (size_t)(eq - p), vl = n - kl - 1;
            const char *v = eq + 1;
            if (kl == 1 && p[0] == 'r') {
                if (vl == 0 || vl >= sizeof(res)) {
                    *why = "stream id: r= names no camera";
                    return -EINVAL;
                }
                memcpy(res, v, vl);
                res[vl] = '\0';
            } else if (kl == 1 && p[0] == 's') {
                if (vl == 0 || vl >= sizeof(t->token)) {
                    *why = "stream id: s= is empty or too long";
                    return -EINVAL;
                }
                memcpy(t->token, v, vl);
                t->token[vl] = '\0';
                t->has_token = true;
            } else if (kl == 1 && p[0] == 'm') {
                if (!(vl == 7 && strncmp(v, "request", 7) == 0)) {
                    *why = "stream id: only m=request is served (Horus sends, it takes nothing)";
                    return -EINVAL;
                }
            }
            p += n;
            if (*p == ',')
                p++;
        }
    } else {
        if (strlen(sid) >= sizeof(res)) {
            *why = "stream id names no camera";
            return -EINVAL;
        }
        snprintf(res, sizeof(res), "%s", sid);
    }
    char *slash = strchr(res, '/');
    if (slash) {
        *slash = '\0';
        if (strcmp(slash + 1, "sub") != 0 && strcmp(slash + 1, "main") != 0) {
            *why = "stream id: the stream after the camera must be main or sub";
            return -EINVAL;
        }
        snprintf(t->stream, sizeof(t->stream), "%s", slash + 1);
    }
    if (!cfg_is_id(res, strlen(res), CFG_ID_MAX)) {
        *why = "stream id names no camera";
        return -EINVAL;
    }
    snprintf(t->camera, sizeof(t->camera), "%s", res);
    return 0;
}
