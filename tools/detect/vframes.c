/*
 * DESIGN: a straight decode loop over one video stream; frames not asked
 * for are decoded (they are references) but not converted.
 */
#include "vframes.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <stdlib.h>

static int wanted(const int *want, int nwant, int index)
{
    if (!want)
        return 1;
    for (int i = 0; i < nwant; i++)
        if (want[i] == index)
            return 1;
    return 0;
}

int vframes_read(const char *path, const int *want, int nwant, int max_frames,
                 void (*cb)(const struct vframe *f, void *arg), void *arg, char *errbuf, int errlen)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    struct SwsContext *sws = NULL;
    struct vframe out = {0};
    int rc, index = 0, done = 0, last = want && nwant ? want[nwant - 1] : -1;
    if ((rc = avformat_open_input(&fmt, path, NULL, NULL)) < 0 ||
        (rc = avformat_find_stream_info(fmt, NULL)) < 0)
        goto end;
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (si < 0) {
        rc = si;
        goto end;
    }
    const AVCodec *codec = avcodec_find_decoder(fmt->streams[si]->codecpar->codec_id);
    if (!codec) {
        rc = AVERROR_DECODER_NOT_FOUND;
        goto end;
    }
    dec = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(dec, fmt->streams[si]->codecpar);
    dec->thread_count = 1;
    if ((rc = avcodec_open2(dec, codec, NULL)) < 0)
        goto end;
    int eof = 0;
    while (!done) {
        if (!eof) {
            rc = av_read_frame(fmt, pkt);
            if (rc == AVERROR_EOF) {
                eof = 1;
                avcodec_send_packet(dec, NULL);
            } else if (rc < 0) {
                goto end;
            } else {
                if (pkt->stream_index == si)
                    avcodec_send_packet(dec, pkt);
                av_packet_unref(pkt);
            }
        }
        while (!done && (rc = avcodec_receive_frame(dec, frame)) >= 0) {
            if (wanted(want, nwant, index)) {
                if (!out.rgb || out.width != frame->width || out.height != frame->height) {
                    free(out.rgb);
                    out.width = frame->width;
                    out.height = frame->height;
                    out.rgb = malloc((size_t)out.width * (size_t)out.height * 3);
                    sws_freeContext(sws);
                    sws = sws_getContext(frame->width, frame->height, frame->format, out.width,
                                         out.height, AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL,
                                         NULL);
                }
                uint8_t *dst[4] = {out.rgb};
                int dst_stride[4] = {out.width * 3};
                sws_scale(sws, (const uint8_t *const *)frame->data, frame->linesize, 0,
                          frame->height, dst, dst_stride);
                out.index = index;
                cb(&out, arg);
            }
            av_frame_unref(frame);
            index++;
            if ((max_frames && index >= max_frames) || (last >= 0 && index > last))
                done = 1;
        }
        if (rc == AVERROR_EOF)
            done = 1;
        else if (rc < 0 && rc != AVERROR(EAGAIN))
            goto end;
    }
    rc = index;
end:
    if (rc < 0 && errbuf)
        av_strerror(rc, errbuf, (size_t)errlen);
    free(out.rgb);
    sws_freeContext(sws);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return rc;
}
