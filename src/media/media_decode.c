/* DESIGN: see media_decode.h. */
#include "media_decode.h"

#include "mem.h"

#include <libavcodec/avcodec.h>
#include <stdio.h>
#include <string.h>

struct AVCodecContext *media_decoder_open(const media_stream *ms, char *err, size_t cap)
{
    enum AVCodecID id = ms->codec == MEDIA_CODEC_H264   ? AV_CODEC_ID_H264
                        : ms->codec == MEDIA_CODEC_H265 ? AV_CODEC_ID_HEVC
                        : ms->codec == MEDIA_CODEC_AAC  ? AV_CODEC_ID_AAC
                                                        : AV_CODEC_ID_NONE;
    const AVCodec *codec = id != AV_CODEC_ID_NONE ? avcodec_find_decoder(id) : NULL;
    if (!codec) {
        snprintf(err, cap, "no decoder for the stream's codec");
        return NULL;
    }
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    if (!dec)
        HORUS_BUG("out of memory");
    dec->thread_count = 1;
    dec->pkt_timebase = (AVRational){1, (int)ms->timescale};
    if (ms->extradata_size) {
        dec->extradata = av_mallocz(ms->extradata_size + AV_INPUT_BUFFER_PADDING_SIZE);
        if (!dec->extradata)
            HORUS_BUG("out of memory");
        memcpy(dec->extradata, ms->extradata, ms->extradata_size);
        dec->extradata_size = (int)ms->extradata_size;
    }
    if (avcodec_open2(dec, codec, NULL) < 0) {
        avcodec_free_context(&dec);
        snprintf(err, cap, "the %s decoder refused the stream's parameters", codec->name);
        return NULL;
    }
    return dec;
}

int media_decoder_send(struct AVCodecContext *dec, struct AVPacket *pkt, const media_packet *p)
{
    if (av_new_packet(pkt, (int)p->size) < 0)
        HORUS_BUG("out of memory");
    memcpy(pkt->data, p->data, p->size);
    pkt->pts = p->pts;
    pkt->dts = p->dts;
    if (p->is_keyframe)
        pkt->flags |= AV_PKT_FLAG_KEY;
    int rc = avcodec_send_packet(dec, pkt);
    av_packet_unref(pkt);
    return rc;
}
