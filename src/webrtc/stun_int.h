/*
 * STUN (RFC 8489) as an ICE-lite agent needs it (RFC 8445 §2.5, 7.3):
 * Binding requests parsed and checked (MESSAGE-INTEGRITY with HMAC-SHA1,
 * FINGERPRINT with CRC-32), Binding success responses built with
 * XOR-MAPPED-ADDRESS, and the RFC 7983 first-byte demultiplexer of the
 * shared socket. Pure: no I/O, no state. Design: docs/design/0055.
 */
#ifndef HORUS_WEBRTC_STUN_INT_H
#define HORUS_WEBRTC_STUN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define WEBRTC_STUN_BINDING_REQUEST 0x0001
#define WEBRTC_STUN_BINDING_SUCCESS 0x0101
#define WEBRTC_STUN_BINDING_ERROR 0x0111
#define WEBRTC_STUN_BINDING_INDICATION 0x0011
#define WEBRTC_STUN_MAGIC 0x2112A442u
#define WEBRTC_STUN_HEADER_BYTES 20

/* What a datagram on the shared socket is (RFC 7983 §7). */
enum webrtc_demux {
    WEBRTC_DEMUX_OTHER,
    WEBRTC_DEMUX_STUN, /* first byte 0..3 */
    WEBRTC_DEMUX_DTLS, /* 20..63 */
    WEBRTC_DEMUX_RTP, /* 128..191: RTP or RTCP */
};

/* Classifies a datagram by its first byte. len 0 is OTHER. */
enum webrtc_demux webrtc_demux_classify(const uint8_t *buf, size_t len);

/* A parsed STUN message. Pointers borrow from the parsed buffer. */
struct webrtc_stun_msg {
    uint16_t type; /* method and class, e.g. WEBRTC_STUN_BINDING_REQUEST */
    uint8_t txid[12];
    const char *username; /* not NUL-terminated; NULL when absent */
    size_t username_len;
    bool has_priority;
    uint32_t priority;
    bool use_candidate;
    bool has_ice_controlling, has_ice_controlled;
    uint64_t tie_breaker;
    bool has_integrity;
    size_t integrity_at; /* offset of the MESSAGE-INTEGRITY attribute's header */
    bool has_fingerprint; /* present and its CRC matched */
    uint16_t error_code; /* ERROR-CODE class*100 + number; 0 when absent */
};

/*
 * Parses a STUN message of len bytes: header (two zero bits, magic
 * cookie, length a multiple of 4 equal to len - 20), attributes inside the
 * buffer, only FINGERPRINT after MESSAGE-INTEGRITY, nothing after
 * FINGERPRINT. A FINGERPRINT that does not match is an error. Returns 0
 * or HORUS_EPARSE. Thread: any.
 */
int webrtc_stun_parse(const uint8_t *buf, size_t len, struct webrtc_stun_msg *out);

/*
 * Checks msg's MESSAGE-INTEGRITY (HMAC-SHA1 keyed by key, the ICE
 * password, over buf as RFC 8489 §14.5 says). Returns 0, -EACCES when it
 * does not match, -ENOENT when msg has none. Thread: any.
 */
int webrtc_stun_check_integrity(const uint8_t *buf, const struct webrtc_stun_msg *msg,
                                const char *key, size_t key_len);

/* What webrtc_stun_build writes. Zero-initialise and set what applies. */
struct webrtc_stun_build_options {
    uint16_t type;
    const uint8_t *txid; /* 12 bytes, borrowed */
    const char *username; /* NULL: none */
    uint32_t priority; /* 0: none */
    bool use_candidate;
    bool ice_controlling; /* adds ICE-CONTROLLING with tie_breaker */
    uint64_t tie_breaker;
    const struct sockaddr *mapped; /* XOR-MAPPED-ADDRESS (IPv4 or IPv6); NULL: none */
    const char *integrity_key; /* MESSAGE-INTEGRITY; NULL: none */
    size_t integrity_key_len;
    bool fingerprint;
};

/*
 * Writes a STUN message into out (cap bytes). Returns its length, or
 * -ENOSPC when it does not fit, -EINVAL for an unknown address family.
 * Thread: any.
 */
int webrtc_stun_build(const struct webrtc_stun_build_options *opt, uint8_t *out, size_t cap);

#endif
