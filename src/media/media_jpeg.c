/*
 * DESIGN: see media_jpeg.h. The scaler converts straight into the
 * encoder's frame (full range, the caller's matrix), so one call does the
 * colour conversion, the scaling and the chroma subsampling; the encoder is
 * the whole-frame, single-threaded mjpeg with a fixed quantiser
 * (AV_CODEC_FLAG_QSCALE), so the same picture always gives the same bytes.
 */
#include "media_jpeg.h"

#include "err.h"
#include "mem.h"

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>

#include <string.h>

int media_jpeg_encode(const struct media_jpeg_src *src, int w, int h, int qscale, uint8_t **out,
                      size_t *len)
{
    if (w <= 0 || h <= 0 || (w & 1) || (h & 1) || src->width <= 0 || src->height <= 0)
        return HORUS_ECODEC;
    int rc = HORUS_ECODEC;
    AVFrame *dst = av_frame_alloc();
    AVCodecContext *enc = NULL;
    AVPacket *pkt = av_packet_alloc();
    struct SwsContext *sws = sws_getContext(src->width, src->height, src->format, w, h,
                                            AV_PIX_FMT_YUV420P, src->scale_flags, NULL, NULL, NULL);
    if (!sws)
        goto out;
    const int *coef = sws_getCoefficients(src->colorspace);
    sws_setColorspaceDetails(sws, coef, src->is_full_range, coef, 1, 0, 1 << 16, 1 << 16);
    dst->format = AV_PIX_FMT_YUV420P;
    dst->width = w;
    dst->height = h;
    dst->color_range = AVCOL_RANGE_JPEG;
    if (av_frame_get_buffer(dst, 0) < 0)
        goto out;
    sws_scale(sws, src->data, src->linesize, 0, src->height, dst->data, dst->linesize);
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec)
        goto out;
    enc = avcodec_alloc_context3(codec);
    enc->width = w;
    enc->height = h;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->color_range = AVCOL_RANGE_JPEG;
    enc->time_base = (AVRational){1, 25};
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * qscale;
    enc->thread_count = 1;
    if (avcodec_open2(enc, codec, NULL) < 0)
        goto out;
    dst->quality = enc->global_quality;
    dst->pts = 0;
    if (avcodec_send_frame(enc, dst) < 0 || avcodec_receive_packet(enc, pkt) < 0)
        goto out;
    *out = horus_malloc((size_t)pkt->size);
    memcpy(*out, pkt->data, (size_t)pkt->size);
    *len = (size_t)pkt->size;
    rc = 0;
out:
    sws_freeContext(sws);
    avcodec_free_context(&enc);
    av_packet_free(&pkt);
    av_frame_free(&dst);
    return rc;
}
