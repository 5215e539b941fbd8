/*
 * One JPEG encoder for every module that makes pictures: event snapshots
 * (events), recorded and live snapshots (playback). Scales any libav pixel
 * format with libswscale to full-range YUV 4:2:0 and encodes a baseline
 * JPEG with libavcodec's mjpeg encoder, one thread, fixed quantiser.
 * Stateless: each call opens and frees its scaler and encoder.
 * Thread: any.
 */
#ifndef HORUS_MEDIA_JPEG_H
#define HORUS_MEDIA_JPEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A picture in libav's layout, borrowed for the call. */
struct media_jpeg_src {
    int format; /* an enum AVPixelFormat (AV_PIX_FMT_RGB24, a decoder's YUV ...) */
    int width, height;
    const uint8_t *const *data; /* the planes, as AVFrame.data */
    const int *linesize; /* bytes per row of each plane, as AVFrame.linesize */
    bool is_full_range; /* YUV sources: JPEG (full) range, not video (limited) range */
    int colorspace; /* SWS_CS_ITU601 or SWS_CS_ITU709: the matrix, source and JPEG alike */
    int scale_flags; /* libswscale's algorithm: SWS_POINT, SWS_AREA, SWS_BICUBIC ... */
};

#define MEDIA_JPEG_QSCALE                                                                          \
    4 /* mjpeg quantiser: 2 (best) .. 31; 4 looks clean at a third of the bytes */

/*
 * Scales src to w x h (both even and > 0: 4:2:0 wants even sizes) and
 * encodes it with quantiser qscale (2..31). On 0, *out is a new buffer of
 * *len bytes (free()). Returns 0 or HORUS_ECODEC.
 */
int media_jpeg_encode(const struct media_jpeg_src *src, int w, int h, int qscale, uint8_t **out,
                      size_t *len);

#endif
