/*
 * Media crossing module boundaries: refcounted packets and stream
 * descriptions pushed from ingest into sinks (recorder, live, analytics).
 * Nothing here decodes (docs/conventions.md §2: media crosses as media_packets
 * pushed into media_sinks).
 *
 * Bitstream format, fixed for every producer and consumer:
 *   - H.264/H.265 access units are length-prefixed NAL units (4-byte
 *     big-endian sizes, as in MP4 "avcC"/"hvcC" samples), parameter sets
 *     removed from the packet when they equal the stream's and carried
 *     out-of-band in media_stream.extradata as an avcC / hvcC record.
 *   - AAC packets are raw access units (no ADTS); extradata is the
 *     AudioSpecificConfig.
 * Timestamps are in the stream's own timescale (90000 for video, the
 * sample rate for audio), on a 64-bit timeline that never goes backwards
 * within one stream epoch (ingest owns the mapping from RTP time).
 *
 * Ownership: packets and streams are refcounted because several threads
 * hold them; *_ref returns the same pointer with one more reference,
 * *_unref frees at zero. Thread: any.
 */
#ifndef HORUS_MEDIA_H
#define HORUS_MEDIA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum media_codec {
    MEDIA_CODEC_NONE,
    MEDIA_CODEC_H264,
    MEDIA_CODEC_H265,
    MEDIA_CODEC_AAC,
    MEDIA_CODEC_PCMU, /* G.711 mu-law, 8 kHz: passed through to WebRTC and RTSP, not recorded */
    MEDIA_CODEC_PCMA, /* G.711 A-law */
};

/* True for G.711 (PCMU, PCMA): one byte per sample, no extradata. */
static inline bool media_codec_is_g711(enum media_codec c)
{
    return c == MEDIA_CODEC_PCMU || c == MEDIA_CODEC_PCMA;
}

enum media_kind {
    MEDIA_KIND_VIDEO,
    MEDIA_KIND_AUDIO,
};

/*
 * One elementary stream's parameters. Immutable after media_stream_new
 * returns; a change of codec, resolution or parameter sets makes a new
 * media_stream with a new epoch (and the recorder starts a new segment).
 */
typedef struct media_stream {
    _Atomic int refs;
    enum media_kind kind;
    enum media_codec codec;
    uint32_t timescale; /* ticks per second: 90000 video, sample rate audio */
    uint32_t epoch; /* increments on every parameter change or reconnect */
    /* video */
    uint32_t width, height;
    char codec_string[32]; /* RFC 6381, e.g. "avc1.64001f", "hvc1.1.6.L93.B0", "mp4a.40.2" */
    /* audio */
    uint32_t sample_rate;
    uint32_t channels;
    size_t extradata_size;
    uint8_t extradata[]; /* avcC / hvcC record, or AudioSpecificConfig */
} media_stream;

/* Returns a new stream (refcount 1) with a copy of extradata; the other fields are zero. */
media_stream *media_stream_new(enum media_kind kind, enum media_codec codec, uint32_t timescale,
                               const uint8_t *extradata, size_t extradata_size);
media_stream *media_stream_ref(media_stream *s);
void media_stream_unref(media_stream *s); /* NULL is a no-op */
/* True when both describe the same bitstream (codec, size, rate, extradata). */
bool media_stream_same_params(const media_stream *a, const media_stream *b);

typedef struct media_packet {
    _Atomic int refs;
    media_stream *stream; /* owned reference */
    int64_t dts; /* decode time, stream timescale, monotonic within the epoch */
    int64_t pts; /* presentation time; pts >= dts for B-frames */
    int64_t duration; /* stream timescale; 0 when unknown */
    int64_t wall_us; /* wall-clock UTC microseconds of dts (ingest's mapping) */
    int64_t arrival_ns; /* monotonic time the last byte arrived (latency metrics) */
    bool is_keyframe; /* IDR/IRAP for video; always true for audio */
    size_t size;
    uint8_t data[]; /* owned, size bytes */
} media_packet;

/* Returns a new packet (refcount 1) with room for size bytes; takes a new reference to stream. */
media_packet *media_packet_new(media_stream *stream, size_t size);
/*
 * Gives p room for exactly size bytes and sets p->size; the first
 * min(old, new) bytes are kept. Returns the packet, which may have moved.
 * Only for a producer still filling its packet: the caller must hold the
 * only reference (writing a packet in place as it arrives, then trimming).
 */
media_packet *media_packet_resize(media_packet *p, size_t size);
media_packet *media_packet_ref(media_packet *p);
void media_packet_unref(media_packet *p); /* NULL is a no-op */

/* Live packet and stream counts, for leak checks in tests. */
long media_live_packets(void);
long media_live_streams(void);

/*
 * A consumer of media. Producers call these from their own thread and the
 * calls must not block: a sink that needs time queues (bounded) and drops
 * and counts when full. Packets and streams are borrowed for the call; a
 * sink that keeps one takes its own reference.
 */
typedef struct media_sink media_sink;

struct media_sink_ops {
    /* A stream started or its parameters changed (new epoch). */
    void (*stream_cb)(media_sink *sink, media_stream *stream);
    void (*packet_cb)(media_sink *sink, media_packet *pkt);
    /*
     * The source lost continuity (disconnect, stall, timestamp jump):
     * whatever comes next starts a new epoch. reason is a short phrase.
     */
    void (*gap_cb)(media_sink *sink, const char *reason);
};

struct media_sink {
    const struct media_sink_ops *ops;
};

#endif
