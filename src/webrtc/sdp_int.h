/*
 * SDP for WHEP (RFC 8866, RFC 8829's subset a browser offers): the offer
 * parser and the answer writer. Pure: no I/O, no clock, no global state.
 * Design: docs/design/0055-webrtc-whep.md.
 */
#ifndef HORUS_WEBRTC_SDP_INT_H
#define HORUS_WEBRTC_SDP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEBRTC_SDP_MAX_BYTES 65536 /* larger offers are refused */
#define WEBRTC_SDP_MAX_MEDIA 16 /* m-lines an offer may have */
#define WEBRTC_SDP_MAX_H264 16 /* H.264 formats kept from the video m-line */
#define WEBRTC_SDP_MAX_H265 16 /* H.265 formats kept from the video m-line */
#define WEBRTC_SDP_MAX_HOSTS 8 /* host candidates an answer announces */

/* One H.264 payload format of the offer's video m-line. */
struct webrtc_sdp_h264 {
    uint8_t pt; /* RTP payload type, 96..127 */
    int packetization_mode; /* fmtp packetization-mode; 0 when absent */
    bool has_profile; /* fmtp carried profile-level-id */
    uint8_t profile_idc; /* first byte of profile-level-id */
    uint8_t profile_iop; /* second byte (constraint flags) */
    uint8_t level_idc; /* third byte */
};

/* One H.265 payload format of the offer's video m-line (RFC 7798 7.1). */
struct webrtc_sdp_h265 {
    uint8_t pt; /* RTP payload type, 96..127 */
    int profile_id; /* fmtp profile-id (0..31); -1 when absent (Main, 1) */
    int tier_flag; /* fmtp tier-flag (0, 1); -1 when absent (0) */
    int level_id; /* fmtp level-id (0..255); -1 when absent (93, level 3.1) */
    int tx_mode; /* fmtp tx-mode: 0 absent, 1 SRST, 2 MRST or MRMT (not served) */
};

/* One m-line of the offer, kept so that the answer has one per offer line. */
struct webrtc_sdp_media {
    char kind[16]; /* "video", "audio", "application", ... */
    char proto[32]; /* "UDP/TLS/RTP/SAVPF" */
    char first_fmt[32]; /* the first format, echoed in a rejected line */
    char mid[33]; /* a=mid, "" when absent */
};

/* What an offer says; plain data, filled by webrtc_sdp_offer_parse. */
struct webrtc_sdp_offer {
    char ice_ufrag[257]; /* of the video m-line, else the session level */
    char ice_pwd[257];
    char fingerprint_alg[16]; /* "sha-256", lower case */
    uint8_t fingerprint[64]; /* the digest's bytes */
    size_t fingerprint_len;
    char setup[10]; /* "actpass", "active", "passive"; "" when absent */
    size_t n_media;
    struct webrtc_sdp_media media[WEBRTC_SDP_MAX_MEDIA];
    int video_index; /* the m-line answered, -1 when none (an error) */
    bool video_sends; /* the offer's direction sends video (sendrecv/sendonly) */
    bool rtcp_mux; /* a=rtcp-mux on the video m-line */
    bool rtcp_rsize; /* a=rtcp-rsize on the video m-line */
    /* a=extmap id (1..14) of abs-capture-time on the video m-line; 0: not offered */
    uint8_t abs_capture_id;
    size_t n_h264;
    struct webrtc_sdp_h264 h264[WEBRTC_SDP_MAX_H264];
    size_t n_h265;
    struct webrtc_sdp_h265 h265[WEBRTC_SDP_MAX_H265];
    /* The video line's encodings as its rtpmaps name them, in order, each once,
     * space-separated ("VP8 rtx H264"): what a refusal says the offer had. */
    char video_codecs[128];
    /* The first audio m-line that receives Opus (opus/48000/2) or G.711
     * (static PCMU 0, PCMA 8), sendrecv or recvonly (of port 0 only with
     * a=bundle-only), -1 when none; it is answered when the camera has a
     * sound it takes (AAC as Opus, G.711 as it is). */
    int audio_index;
    uint8_t opus_pt; /* its Opus payload type (96..127); 0 when it has none */
    bool has_pcmu, has_pcma; /* it lists RFC 3551's static G.711 types 0 / 8 */
};

/*
 * Parses an SDP offer of len bytes (not NUL-terminated) into *out.
 * Returns 0, or HORUS_EPARSE with a sentence in err (at most errsize
 * bytes, NUL-terminated) naming the line and the problem:
 * "line 4: m= line has no port", "offer has no H.264 or H.265 video (it
 * has VP8 rtx)", "offer has no H.264 video with packetization-mode=1",
 * "offer has no a=ice-ufrag". An offer passes with a usable H.264
 * (webrtc_sdp_h264_choose) or H.265 (webrtc_sdp_h265_choose) format; which
 * one the camera needs is the caller's to check. Lines end in CRLF
 * or LF. Thread: any.
 */
int webrtc_sdp_offer_parse(const char *text, size_t len, struct webrtc_sdp_offer *out, char *err,
                           size_t errsize);

/*
 * Chooses the H.264 format to answer: packetization-mode=1 only; the one
 * whose profile_idc equals camera_profile_idc (0 = unknown) first, then
 * constrained baseline (42e0xx, 42e01f), then the first offered. Returns
 * its index in offer->h264, or -1 when none has packetization-mode=1.
 */
int webrtc_sdp_h264_choose(const struct webrtc_sdp_offer *offer, uint8_t camera_profile_idc);

/*
 * Chooses the H.265 format to answer: tx-mode SRST (or absent) only; the
 * one whose profile-id (1 when absent) equals camera_profile_id (0 =
 * unknown) first, then the first offered. Returns its index in
 * offer->h265, or -1 when none is SRST.
 */
int webrtc_sdp_h265_choose(const struct webrtc_sdp_offer *offer, int camera_profile_id);

/* What the answer says about our side. */
struct webrtc_sdp_answer_options {
    const char *ice_ufrag; /* borrowed */
    const char *ice_pwd; /* borrowed */
    const char *fingerprint_sha256; /* "AB:CD:...", borrowed */
    uint32_t ssrc; /* of the video we send */
    uint64_t session_id; /* o= line */
    int h264_index; /* index in offer->h264 (webrtc_sdp_h264_choose), unless h265 */
    bool h265; /* answer H.265: h265_index, not h264_index */
    int h265_index; /* index in offer->h265 (webrtc_sdp_h265_choose) */
    const char *hosts[WEBRTC_SDP_MAX_HOSTS]; /* host candidate addresses, borrowed */
    size_t n_hosts;
    uint16_t port; /* the one UDP port of every UDP candidate; 0: no UDP candidates */
    uint16_t tcp_port; /* the ICE-TCP port: a passive TCP candidate per host; 0: none */
    bool audio; /* answer offer->audio_index (else it is rejected) */
    uint8_t audio_pt; /* Opus's (offer->opus_pt), or 0 PCMU / 8 PCMA passed through */
    uint32_t audio_ssrc; /* of the audio we send */
};

/*
 * Writes the answer to offer in a new NUL-terminated string (*out, the
 * caller frees it; its length in *out_len when not NULL): one m-line per
 * offer m-line, the chosen video line (H.264, or H.265 with the offer's
 * profile-id, tier-flag, level-id and tx-mode echoed where it had them) (and with opt->audio the
 * Opus audio line) sendonly in one BUNDLE group, rtcp-mux, ice-lite (our fingerprint at
 * session level too, for rejected lines), setup:passive and our host
 * candidates (UDP, then ICE-TCP passive ones of lower priority, RFC 6544); every other line
 * rejected (port 0). Returns 0, or -EINVAL when offer has no video line, or opt->h264_index
 * (opt->h265_index with opt->h265) is out of range, or opt->audio without an audio line. Thread:
 * any.
 */
int webrtc_sdp_answer_write(const struct webrtc_sdp_offer *offer,
                            const struct webrtc_sdp_answer_options *opt, char **out,
                            size_t *out_len);

#endif
