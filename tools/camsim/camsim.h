/*
 * horus-camsim shared types: options, stream description and access units.
 *
 * The simulator has one picture source (a live encoder, a pre-encoded loop
 * or a demuxed file) whose access units every RTSP client shares. These are
 * the types that cross between the source side (encoder.c, filesrc.c,
 * source.c) and the serving side (rtp.c, sdp.c, rtsp.c, server.c).
 */
#ifndef HORUS_CAMSIM_H
#define HORUS_CAMSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cs_codec {
    CS_CODEC_H264,
    CS_CODEC_H265,
};

enum cs_track {
    CS_TRACK_VIDEO = 0,
    CS_TRACK_AUDIO = 1,
    CS_TRACK_COUNT = 2,
};

enum cs_fault {
    CS_FAULT_NONE,
    CS_FAULT_DROP, /* close each connection fault_s after it was accepted */
    CS_FAULT_STALL, /* stop media to a client fault_s after its PLAY */
    CS_FAULT_REFUSE, /* accept, then reset at once */
    CS_FAULT_FLOOD, /* replay media fault_factor times faster than real time */
    CS_FAULT_GARBAGE, /* every SPS (SDP and in-band) is garbage: nothing can be decoded */
    CS_FAULT_NOTCP, /* SETUP without a UDP offer gets 461: a server that refuses TCP */
    CS_FAULT_SR_SKEW, /* sender reports state a wall clock fault_s seconds off */
    CS_FAULT_RTCP_GARBAGE, /* a garbage RTCP packet before each sender report */
    CS_FAULT_REORDER, /* UDP: every fault_s-th RTP datagram goes after the one behind it */
    CS_FAULT_DUPLICATE, /* UDP: every fault_s-th RTP datagram goes twice */
};

/* How AAC travels in RTP (--audio-payload). */
enum cs_audio_payload {
    CS_AUDIO_HBR, /* RFC 3640 MPEG4-GENERIC AAC-hbr (default) */
    CS_AUDIO_LATM, /* RFC 6416 MP4A-LATM, cpresent=0, config= in the SDP */
    CS_AUDIO_LATM_INBAND, /* MP4A-LATM, cpresent=1: the StreamMuxConfig in every element */
    CS_AUDIO_PCMU, /* G.711 mu-law (RFC 3551 PT 0), 8 kHz mono, 20 ms a packet, instead of AAC */
    CS_AUDIO_PCMA, /* G.711 A-law (PT 8) */
};

#define CS_VIDEO_CLOCK_HZ 90000
#define CS_AUDIO_RATE_HZ 48000 /* AAC's; G.711's is CS_G711_RATE_HZ */
#define CS_G711_RATE_HZ 8000
#define CS_G711_FRAME 160 /* samples (20 ms) a packet */

/* Parsed command line (args.c). Strings are borrowed from argv. */
typedef struct cs_options {
    char listen_host[64];
    int listen_port;
    const char *source_path; /* NULL: generated pattern */
    int paths;
    int fps;
    int width;
    int height;
    int bitrate_kbps;
    int gop_frames;
    enum cs_codec codec;
    bool has_bframes;
    bool has_audio;
    enum cs_audio_payload audio_payload;
    bool has_audio_payload; /* --audio-payload was given */
    const char *auth_user; /* NULL: no authentication; else points at auth_user_buf */
    const char *auth_pass;
    char auth_user_buf[256];
    enum cs_fault fault;
    int fault_s; /* drop, stall: after; sr-skew: the clock's error (may be negative) */
    int fault_factor; /* flood: media time per second of real time (2..1000) */
    int loop_s; /* 0: live encoding; N: N seconds encoded at start, replayed */
    bool is_verbose;
    bool is_write_packet; /* --write packet: one send call per RTP packet */
    bool is_pacing_spread; /* --pacing spread (needs --write packet) */
    int jitter_ms; /* --jitter MS (needs --write packet) */
    const char *tls_cert; /* --tls: PEM certificate chain; NULL = plain RTSP */
    const char *tls_key; /* --tls: PEM private key */
} cs_options;

/*
 * What the SDP needs to describe the stream. Parameter sets are owned
 * copies; cs_media_info_release frees them.
 */
typedef struct cs_media_info {
    enum cs_codec codec;
    int width; /* 0 when unknown */
    int height;
    int fps; /* 0 when unknown */
    uint8_t *vps; /* owned; H.265 only */
    size_t vps_len;
    uint8_t *sps; /* owned */
    size_t sps_len;
    uint8_t *pps; /* owned */
    size_t pps_len;
    bool has_audio;
    int audio_rate_hz;
    int audio_channels;
    uint8_t audio_config[64]; /* AudioSpecificConfig */
    size_t audio_config_len;
    enum cs_audio_payload audio_payload;
} cs_media_info;

/*
 * One access unit: a whole video picture in Annex B form (start codes, the
 * parameter sets in front of every keyframe), or one raw AAC frame.
 */
typedef struct cs_au {
    struct cs_au *next; /* link for the queue that holds it */
    int track; /* enum cs_track */
    bool is_keyframe;
    int64_t pts; /* presentation time in the track clock (90 kHz or sample rate) */
    int64_t send_ns; /* replay only: send time relative to the start of the loop */
    size_t size;
    uint8_t data[];
} cs_au;

/* Returns a new access unit holding a copy of data. Free with free(). */
cs_au *cs_au_new(int track, const uint8_t *data, size_t size);

/*
 * Copies the parameter sets found in key (a keyframe access unit) into
 * info. Returns 0, or HORUS_ECODEC when the SPS or PPS (or VPS) is missing.
 */
int cs_media_info_take_params(cs_media_info *info, const cs_au *key);
void cs_media_info_release(cs_media_info *info);

/*
 * The garbage fault: overwrites the payload of the SPS nal (len bytes,
 * no start code) with escaped zero bits ("00 00 03"), which no parser
 * accepts. cs_au_garble_sps does it to every SPS of an Annex B unit.
 */
void cs_nal_garble_sps(enum cs_codec codec, uint8_t *nal, size_t len);
void cs_au_garble_sps(enum cs_codec codec, cs_au *au);

/* Monotonic and wall clocks in nanoseconds. Thread: any. */
int64_t cs_now_ns(void);
int64_t cs_wall_ns(void);

#endif
