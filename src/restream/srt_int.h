/*
 * The SRT re-stream (docs/design/0060): MPEG-TS made from relay packets
 * (srt_mux.c, libavformat's mpegts muxer over a memory writer) and the
 * listener that sends it to SRT callers (srt.c, libsrt, thread srt-srv).
 */
#ifndef HORUS_RESTREAM_SRT_INT_H
#define HORUS_RESTREAM_SRT_INT_H

#include "media.h"
#include "restream_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RS_SRT_CHUNK 1316 /* bytes per SRT message: 7 TS packets, the live-mode payload */

typedef struct rs_ts_mux rs_ts_mux;

/* Receives TS bytes (a whole number of 188-byte packets, at most RS_SRT_CHUNK). 0 or < 0: stop. */
typedef int (*rs_ts_out_cb)(void *arg, const uint8_t *buf, size_t len);

/*
 * Makes a muxer for the tracks video (H.264 or H.265, length-prefixed NAL
 * units with their avcC/hvcC) and audio (AAC with its AudioSpecificConfig;
 * NULL when none). Returns 0, or HORUS_ECODEC with err naming the problem.
 * Thread: one at a time.
 */
int rs_ts_mux_new(const media_stream *video, const media_stream *audio, rs_ts_out_cb out, void *arg,
                  rs_ts_mux **mux, char *err, size_t errsize);

/*
 * Writes one packet of either track (others are ignored): video in Annex
 * B with parameter sets before keyframes (libavformat's own filter), AAC
 * in ADTS. Nothing is written before the first video keyframe. Returns 0
 * or HORUS_ECODEC / the callback's error.
 */
int rs_ts_mux_write(rs_ts_mux *m, const media_packet *p);

/* Whether p's stream is one of the muxer's tracks (same parameters). */
bool rs_ts_mux_has(const rs_ts_mux *m, const media_stream *st);

void rs_ts_mux_free(rs_ts_mux *m); /* NULL is a no-op */

/*
 * What an SRT caller's stream id asks for: the access-control form
 * "#!::r=<camera>[/sub],s=<API key or live token>[,m=request]" (SRT's
 * access control keys: r resource, s session, m mode), or the bare
 * "<camera>[/sub]" (then no credential); %XX escapes are decoded first
 * (some callers URL-encode it). Returns 0, or -EINVAL with why
 * (a static phrase): "stream id names no camera", "mode publish is not
 * served". Pure.
 */
int rs_srt_streamid_parse(const char *sid, struct rs_target *t, const char **why);

#endif
