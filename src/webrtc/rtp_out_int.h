/*
 * RTP and RTCP for the WebRTC sender: the H.264 packetiser (RFC 6184,
 * packetization-mode 1) and the H.265 one (RFC 7798), sender reports, and the parser of the
 * feedback a browser sends (PLI, FIR, generic NACK). Pure: no I/O, no clock. Design:
 * docs/design/0055-webrtc-whep.md.
 */
#ifndef HORUS_WEBRTC_RTP_OUT_INT_H
#define HORUS_WEBRTC_RTP_OUT_INT_H

#include "media.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBRTC_RTP_MAX_PAYLOAD                                                                     \
    1200 /* bytes of payload per packet: fits any path's MTU after SRTP */
#define WEBRTC_RTP_MAX_PACKET (12 + WEBRTC_RTP_MAX_PAYLOAD)

/* The sender's state of one RTP stream; plain data, zero then set pt and ssrc. */
struct webrtc_rtp_sender {
    uint8_t pt;
    uint32_t ssrc;
    uint16_t seq; /* of the next packet; start it random */
    uint32_t ts_offset; /* added to every timestamp; start it random */
    uint64_t packets; /* sent, for sender reports */
    uint64_t octets; /* payload bytes sent */
    uint32_t last_ts; /* RTP timestamp of the latest packet */
    int64_t last_wall_us; /* wall clock (UTC µs) of last_ts's frame; 0: unknown */
    /* RTP header extension id (1..14) of abs-capture-time; 0: not negotiated. */
    uint8_t abs_capture_id;
    uint32_t clock_rate; /* of the timestamps; 0 = 90000 (video) */
};

/* Bytes an abs-capture-time header extension adds to a packet (RFC 8285 one-byte form). */
#define WEBRTC_RTP_EXT_ROOM 16

/* Receives one RTP packet (borrowed for the call). Returns 0 to go on, < 0 to stop. */
typedef int (*webrtc_rtp_emit_cb)(void *arg, const uint8_t *pkt, size_t len);

/*
 * Packetises one H.264 access unit p (length-prefixed NAL units, as
 * media.h says) of stream st: for a keyframe the SPS and PPS of st's avcC
 * first, each NAL unit alone when it fits WEBRTC_RTP_MAX_PAYLOAD, else
 * FU-A fragments; access unit delimiters and filler data dropped; marker on the last
 * packet; the timestamp is p->pts in 90 kHz plus s->ts_offset. With
 * s->abs_capture_id set, one packet of the unit (the first with room) carries
 * the frame's wall clock as an abs-capture-time extension, and FU-A
 * fragments leave room for it. Returns 0,
 * HORUS_EPARSE for a malformed unit (none of it is sent),
 * or the callback's negative return. Thread: any.
 */
int webrtc_h264_packetize(struct webrtc_rtp_sender *s, const media_stream *st,
                          const media_packet *p, webrtc_rtp_emit_cb emit, void *arg);

/*
 * The same for one H.265 access unit (RFC 7798, no DONL: sent in decoding
 * order): for a keyframe the VPS, SPS and PPS of st's hvcC first; each NAL
 * unit alone when it fits WEBRTC_RTP_MAX_PAYLOAD, else Fragmentation Units
 * (payload header type 49 with the NAL's F, LayerId and TID; FU header S, E
 * and the NAL's type; the 2-byte NAL header itself not sent); access unit
 * delimiters (35), filler data (38) and the unspecified types (48..63, which
 * the payload format takes for its own packets) dropped; marker on the last packet.
 * A NAL unit shorter than its 2-byte header makes the unit malformed.
 * Returns as webrtc_h264_packetize. Thread: any.
 */
int webrtc_h265_packetize(struct webrtc_rtp_sender *s, const media_stream *st,
                          const media_packet *p, webrtc_rtp_emit_cb emit, void *arg);

/*
 * Writes into out (at least 12 + size bytes) one RTP packet of an audio
 * frame (one Opus frame per packet, RFC 7587): timestamp pts plus
 * s->ts_offset, the marker on the first packet a sender sends. Counts it
 * in s. Returns the length, or 0 when it does not fit cap or
 * WEBRTC_RTP_MAX_PACKET. Thread: any.
 */
size_t webrtc_rtp_audio_build(struct webrtc_rtp_sender *s, const uint8_t *data, size_t size,
                              int64_t pts, int64_t wall_us, uint8_t *out, size_t cap);

/*
 * Writes an RTCP sender report plus an SDES CNAME chunk ("horus") for s
 * into out (at least 64 bytes): ntp is the NTP time of rtp_ts. Returns the
 * length. Thread: any.
 */
size_t webrtc_rtcp_sr_build(const struct webrtc_rtp_sender *s, uint64_t ntp, uint32_t rtp_ts,
                            uint8_t *out, size_t cap);

/*
 * Appends to out an RTCP XR packet with one DLRR block (RFC 3611 4.5)
 * answering the receiver's last reference time lrr (from ssrc), received
 * delay_ns ago: with it a receive-only client measures its round trip
 * (docs/design/0057). Returns the length (24), or 0 when cap is short.
 * Thread: any.
 */
size_t webrtc_rtcp_dlrr_build(const struct webrtc_rtp_sender *s, uint32_t ssrc, uint32_t lrr,
                              int64_t delay_ns, uint8_t *out, size_t cap);

/* NTP time (UQ32.32 since 1900) of a UTC time in µs since 1970 (not before). Pure. */
uint64_t webrtc_ntp_of_us(int64_t unix_us);

/*
 * The NTP time and RTP timestamp a sender report made at now_wall_us (UTC
 * µs) states: the RTP timestamp is the latest frame's, moved on by the wall
 * time since that frame's wall clock, so a receiver maps every RTP timestamp
 * to the frame's wall clock as ingest saw it (what LL-HLS's program date
 * time says). Without a frame wall clock, the latest timestamp is stated
 * as now. Pure.
 */
void webrtc_sr_clock(const struct webrtc_rtp_sender *s, int64_t now_wall_us, uint64_t *ntp,
                     uint32_t *rtp_ts);

/*
 * The last WEBRTC_RTP_HISTORY packets a session sent, before SRTP, so that
 * a NACK can be answered by protecting and sending one again (RFC 4585
 * 6.2.1; the same sequence number: no RTX stream is negotiated).
 */
#define WEBRTC_RTP_HISTORY 128

struct webrtc_rtp_history {
    uint8_t *slots; /* owned: WEBRTC_RTP_HISTORY packets of WEBRTC_RTP_MAX_PACKET bytes */
    uint16_t seq[WEBRTC_RTP_HISTORY];
    uint16_t len[WEBRTC_RTP_HISTORY]; /* 0: empty */
};

void webrtc_rtp_history_init(struct webrtc_rtp_history *h);
void webrtc_rtp_history_release(struct webrtc_rtp_history *h);
/* Keeps a copy of an RTP packet (its sequence number read from it), replacing the oldest. */
void webrtc_rtp_history_put(struct webrtc_rtp_history *h, const uint8_t *pkt, size_t len);
/* The packet with sequence number seq (borrowed until the next put), or NULL when gone. */
const uint8_t *webrtc_rtp_history_get(const struct webrtc_rtp_history *h, uint16_t seq,
                                      size_t *len);

#define WEBRTC_RTCP_MAX_NACKS 64

/* What a compound RTCP packet from the viewer asks for. */
struct webrtc_rtcp_feedback {
    bool wants_keyframe; /* a PLI or FIR for media_ssrc */
    size_t n_nacks; /* sequence numbers asked again (generic NACK), up to the maximum */
    uint16_t nacks[WEBRTC_RTCP_MAX_NACKS];
    bool has_rr; /* a receiver report block about media_ssrc */
    uint32_t fraction_lost; /* of that block, 0..255 */
    bool has_rrtr; /* an XR receiver reference time (RFC 3611 4.4) */
    uint32_t rrtr_ssrc; /* the receiver's SSRC, from the XR header */
    uint32_t rrtr_lrr; /* the middle 32 bits of its NTP time */
};

/*
 * Parses a compound RTCP packet of len bytes (after SRTCP unprotect) for
 * the feedback about media_ssrc. Returns 0, or HORUS_EPARSE when a packet
 * header or length does not fit (what came before is kept in *out).
 * Thread: any.
 */
int webrtc_rtcp_parse(const uint8_t *buf, size_t len, uint32_t media_ssrc,
                      struct webrtc_rtcp_feedback *out);

#endif
