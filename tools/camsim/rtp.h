/*
 * Shared wire frames and the RTP packetisers that build them.
 *
 * A cs_frame is the unit a client's send queue holds: the RTP packets of one
 * access unit already framed for RTSP-interleaved TCP ('$', channel,
 * length, packet) back to back in one buffer, so a client sends a frame
 * with a single iovec. Every client that uses the default channels holds a
 * reference to the same frame. Text replies travel as private frames.
 */
#ifndef HORUS_CAMSIM_RTP_H
#define HORUS_CAMSIM_RTP_H

#include "camsim.h"
#include "rtsp_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cs_frame_kind {
    CS_FRAME_RTP, /* media packets of one access unit */
    CS_FRAME_RTCP, /* a sender report */
    CS_FRAME_TEXT, /* an RTSP reply; never dropped */
};

/* RTP payload size before fragmentation, like a camera on a 1500-byte MTU. */
#define CS_RTP_MAX_PAYLOAD RTP_PACK_MAX_PAYLOAD

/* Thread: server only (the refcount is not atomic on purpose). */
typedef struct cs_frame {
    int refs;
    int kind; /* enum cs_frame_kind */
    int track; /* enum cs_track; -1 for text */
    bool is_keyframe;
    uint16_t first_seq; /* RTP only: sequence number of the first packet */
    uint32_t rtp_ts; /* RTP only: timestamp of the access unit */
    int64_t pts; /* RTP only: the same, unwrapped and without offset */
    int64_t due_ns; /* pacing.c: when the first packet may go; 0 = at once */
    int64_t spread_ns; /* pacing.c: packets spaced evenly over this window */
    uint32_t packets; /* pacing.c: interleaved packets in data */
    size_t size;
    uint8_t data[];
} cs_frame;

/* Returns a new frame of size bytes (uninitialised data) with one reference. */
cs_frame *cs_frame_new(int kind, int track, size_t size);
/* Returns frame with one more reference. */
cs_frame *cs_frame_ref(cs_frame *frame);
/* Drops a reference; frees at zero. NULL is a no-op. */
void cs_frame_unref(cs_frame *frame);

/*
 * Returns a new private copy of frame whose interleaved headers carry
 * channel instead, for clients that asked SETUP for other channels.
 */
cs_frame *cs_frame_new_rechanneled(const cs_frame *frame, uint8_t channel);

/* Per-track packetiser state: src/proto's packer (sequence numbers, SSRC, counters, buffer). */
typedef struct cs_rtp {
    int track;
    enum cs_codec codec; /* video only */
    struct rtp_packer pk; /* default interleaved channel in pk.channel; RTCP uses channel + 1 */
    /* audio only: the payload format and its AudioSpecificConfig (borrowed) */
    enum cs_audio_payload audio_payload;
    const uint8_t *audio_config;
    size_t audio_config_len;
    uint32_t ts_offset;
    int clock_hz;
    bool has_sent;
    uint32_t last_ts; /* RTP timestamp of the last access unit */
    int64_t last_mono_ns; /* when it was packetised */
} cs_rtp;

void cs_rtp_init(cs_rtp *rtp, int track, enum cs_codec codec, int clock_hz);
void cs_rtp_release(cs_rtp *rtp);

/*
 * Packetises one access unit (H.264 per RFC 6184 with FU-A, H.265 per
 * RFC 7798 with FU, AAC per RFC 3640 AAC-hbr or RFC 6416 MP4A-LATM,
 * fragmented at CS_RTP_MAX_PAYLOAD with the marker on the last). Returns a new frame with one
 * reference; au is borrowed, pts overrides au->pts (replay loops shift it).
 */
cs_frame *cs_rtp_packetize(cs_rtp *rtp, const cs_au *au, int64_t pts, int64_t now_ns);

/* The RTP timestamp an access unit with presentation time pts will carry. */
uint32_t cs_rtp_timestamp(const cs_rtp *rtp, int64_t pts);

/*
 * Returns a new RTCP frame (sender report plus CNAME) for the track, or NULL
 * before any packet was sent.
 */
cs_frame *cs_rtp_sender_report(cs_rtp *rtp, int64_t now_ns, int64_t wall_ns);

#endif
