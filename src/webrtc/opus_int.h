/*
 * AAC to Opus for WebRTC viewers: a camera's AAC is decoded (libavcodec),
 * resampled to 48 kHz (libswresample) and encoded as 20 ms Opus frames
 * (libopus through libavcodec), once per camera stream however many
 * viewers listen. Browsers decode Opus and G.711 only, never AAC.
 * Design: docs/design/0058-webrtc-audio.md.
 */
#ifndef HORUS_WEBRTC_OPUS_INT_H
#define HORUS_WEBRTC_OPUS_INT_H

#include "media.h"

#include <stddef.h>
#include <stdint.h>

#define WEBRTC_OPUS_RATE 48000 /* Opus's RTP clock, whatever the input's rate (RFC 7587) */
#define WEBRTC_OPUS_FRAME 960 /* samples per Opus frame: 20 ms */

typedef struct webrtc_opus webrtc_opus;

/* One encoded Opus frame, borrowed for the callback. */
struct webrtc_opus_frame {
    const uint8_t *data;
    size_t size;
    int64_t pts; /* 48 kHz, on the input's timeline (its pts rescaled) */
    int64_t wall_us; /* wall clock (UTC µs) of pts, from the input packets' wall clock */
    int64_t arrival_ns; /* when ingest had the newest input packet in this frame */
};

typedef void (*webrtc_opus_emit_cb)(void *arg, const struct webrtc_opus_frame *f);

/*
 * Makes a transcoder for the AAC track aac (its AudioSpecificConfig,
 * sample rate and channels; mono or stereo out). Returns 0, or
 * HORUS_ECODEC / -ENOMEM with a sentence in err ("no Opus encoder in this
 * libavcodec", "AAC decoder refused the AudioSpecificConfig"). Thread: any.
 */
int webrtc_opus_new(const media_stream *aac, webrtc_opus **out, char *err, size_t errsize);

/*
 * Decodes one AAC packet of the track the transcoder was made for and
 * calls emit for each Opus frame that completes (none, one or two). A
 * packet whose pts is not where the previous one ended (more than 100 ms
 * off: a reconnect or a lost packet) starts a new timeline: what was
 * buffered is dropped. Returns 0, or HORUS_EPARSE when the decoder
 * refused the packet (the transcoder stays usable). Thread: one at a time.
 */
int webrtc_opus_feed(webrtc_opus *t, const media_packet *p, webrtc_opus_emit_cb emit, void *arg);

void webrtc_opus_free(webrtc_opus *t); /* NULL is a no-op */

#endif
