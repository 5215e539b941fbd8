/*
 * A decoder for a media_stream, for the modules that look at pictures
 * (the analysis sampler, frame publishing) or transcode sound (WebRTC's
 * Opus): libavcodec's H.264, H.265 or AAC decoder with the stream's
 * parameter sets or AudioSpecificConfig, one thread (the callers' own
 * worker threads are the budget). Thread: any.
 */
#ifndef HORUS_MEDIA_DECODE_H
#define HORUS_MEDIA_DECODE_H

#include "media.h"

#include <stddef.h>
#include <stdint.h>

struct AVCodecContext;
struct AVPacket;

/*
 * Opens a decoder for ms (H.264, H.265 or AAC, its extradata as the decoder's),
 * or NULL with a sentence in err (cap bytes) naming why. Free it with
 * avcodec_free_context.
 */
struct AVCodecContext *media_decoder_open(const media_stream *ms, char *err, size_t cap);

/*
 * Sends p to dec through pkt (a caller's scratch packet, left unreferenced):
 * p's bytes copied with libavcodec's padding, pts, dts and keyframe flag.
 * Returns avcodec_send_packet's code.
 */
int media_decoder_send(struct AVCodecContext *dec, struct AVPacket *pkt, const media_packet *p);

/* ticks of timescale in microseconds (0 for timescale 0). */
static inline int64_t media_ticks_us(int64_t ticks, uint32_t timescale)
{
    return timescale ? ticks * 1000000 / (int64_t)timescale : 0;
}

#endif
