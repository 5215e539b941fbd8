/*
 * The RTSP protocol basics both ends of a Horus RTSP session share: the
 * native client in src/ingest and the camera simulator in tools/camsim.
 * Pure functions over borrowed bytes: no I/O, no logging, no locks; no
 * allocation but the sending side's (pack.c's growing buffer, sdp.c's text). Every parser is
 * bounded by its input (which need not be NUL-terminated) and answers HORUS_EPARSE rather than
 * guessing.
 *
 *   message.c  RTSP message framing (requests and replies, RFC 2326 6/7),
 *              header lookup, Session, Transport and comma lists
 *   digest.c   auth-params of WWW-Authenticate / Authorization, the
 *              RFC 2617 Digest response, MD5 and hex
 *   rtp.c      interleaved '$' framing, RTP fixed headers, RTCP sender
 *              and receiver reports, a receiver's statistics of one
 *              source (RFC 3550 A.3, A.8), NTP time
 *   pack.c     the sending side: RTP packetising of H.264 (RFC 6184),
 *              H.265 (RFC 7798) and AAC-hbr (RFC 3640) into interleaved
 *              frames; sender reports with a CNAME
 *   sdp.c      the session description of a server's DESCRIBE reply
 *
 * Prefixes: rtsp_ for RTSP, rtp_ and rtcp_ for the binary framing.
 * Thread: any (no state).
 */
#ifndef HORUS_RTSP_PROTO_H
#define HORUS_RTSP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- spans ---- */

/* A run of bytes inside a borrowed buffer; not NUL-terminated. p is NULL for "absent". */
struct rtsp_span {
    const char *p;
    size_t len;
};

/* A span over the NUL-terminated text s (borrowed). */
struct rtsp_span rtsp_span_of(const char *s);
/* True when s equals lit exactly (s.p NULL never does). */
bool rtsp_span_eq(struct rtsp_span s, const char *lit);
/* True when s equals lit in any case. */
bool rtsp_span_ieq(struct rtsp_span s, const char *lit);
/* Copies s into out (size bytes) NUL-terminated. Returns 0, or -ENOSPC when it does not fit. */
int rtsp_span_copy(struct rtsp_span s, char *out, size_t size);

/* ---- message.c: messages ---- */

#define RTSP_HEAD_MAX 8192 /* bytes of start line plus headers */
#define RTSP_HEADERS_MAX 48

struct rtsp_header {
    struct rtsp_span name; /* trimmed */
    /*
     * Trimmed. A folded value (continuation lines) spans the line breaks
     * and the leading white space of its continuation lines.
     */
    struct rtsp_span value;
};

/*
 * One RTSP message, parsed in place: every span points into the caller's
 * buffer and is valid while it is.
 */
struct rtsp_msg {
    bool is_request;
    int status; /* replies: the 3-digit code */
    struct rtsp_span method, uri; /* requests */
    long cseq; /* -1 when absent or not a number */
    unsigned nheaders;
    struct rtsp_header headers[RTSP_HEADERS_MAX];
    const uint8_t *body; /* borrowed: Content-Length bytes after the head */
    size_t body_len;
};

/*
 * Parses the message at the start of buf: a reply ("RTSP/1.0 200 OK") or
 * a request ("METHOD uri RTSP/1.0", method a token, uri without controls
 * or spaces, version 1.0 or 1.1). Header lines end in CRLF or LF and may be
 * folded. Returns the bytes it spans (head and body) when complete, 0 when
 * more are needed, HORUS_EPARSE when it is not RTSP (told from the first
 * bytes already) or malformed, and HORUS_ETOOBIG when the head is over
 * RTSP_HEAD_MAX, it has more than RTSP_HEADERS_MAX headers, or the body is
 * over body_max bytes.
 */
int rtsp_msg_parse(const uint8_t *buf, size_t len, size_t body_max, struct rtsp_msg *out);

/* The value of the first header called name (any case); p NULL when absent. Borrowed from msg. */
struct rtsp_span rtsp_msg_header(const struct rtsp_msg *msg, const char *name);

/* A reply a server writes: its head (status line and headers) as text. */
struct rtsp_reply {
    char head[2048];
    size_t len;
};

/* Starts r with the status line and, when cseq >= 0, the CSeq it echoes. */
void rtsp_reply_start(struct rtsp_reply *r, int code, const char *reason, long cseq);

/* Appends formatted header lines to r; what does not fit is cut (the head stays terminated). */
__attribute__((format(printf, 2, 3))) void rtsp_reply_add(struct rtsp_reply *r, const char *fmt,
                                                          ...);

/*
 * A server's reading of a client's bytes: rtsp_msg_parse, then the rules
 * a request must meet beyond the grammar: a request, not a reply, and a
 * CSeq that is a number when present (the reply must echo it). Returns
 * what rtsp_msg_parse returns, or HORUS_EPARSE for those.
 */
int rtsp_request_parse(const uint8_t *buf, size_t len, size_t body_max, struct rtsp_msg *out);

/* ---- message.c: header values ---- */

/*
 * Session header: "ID[;timeout=N]". *id is the identifier (borrowed from
 * value) and *timeout_s the timeout in seconds (60 when absent or out of
 * 1..86400). Returns 0 or HORUS_EPARSE (empty id, or controls, spaces or
 * quotes in it).
 */
int rtsp_session_parse(struct rtsp_span value, struct rtsp_span *id, int *timeout_s);

struct rtsp_transport {
    bool is_tcp; /* the chosen spec is RTP/AVP/TCP */
    bool is_udp; /* the chosen spec is RTP/AVP[/UDP];unicast with client_port */
    bool has_interleaved; /* TCP: the spec names channels */
    int channel_rtp, channel_rtcp; /* 0..255; rtcp is rtp + 1 when not named */
    int client_port_rtp, client_port_rtcp; /* UDP: 1..65535 */
    bool has_server_port; /* UDP: a reply names the server's ports */
    int server_port_rtp, server_port_rtcp; /* UDP: 1..65535 */
};

/*
 * Transport header: specs separated by commas in order of preference; the
 * first RTP/AVP/TCP spec, or unicast RTP/AVP (or RTP/AVP/UDP) spec with a
 * client_port (a request) or a server_port (a reply may omit client_port),
 * wins; is_udp says a client_port was named. Returns 0 (neither is_tcp nor is_udp: nothing of
 * those was offered, e.g. only multicast) or HORUS_EPARSE when the winning
 * kind of spec has malformed channels or ports.
 */
int rtsp_transport_parse(struct rtsp_span value, struct rtsp_transport *out);

/*
 * Splits a comma-separated list: *item gets the next element (trimmed,
 * possibly empty) and *list moves past it. Double quotes protect commas.
 * Returns false at the end.
 */
bool rtsp_list_next(struct rtsp_span *list, struct rtsp_span *item);
/* True when the list holds item (any case), e.g. a Public header and a method. */
bool rtsp_list_has(struct rtsp_span list, const char *item);

/* ---- digest.c: authentication ---- */

#define RTSP_AUTH_FIELD_MAX 256

/*
 * The parameters of a WWW-Authenticate (challenge) or Authorization
 * (credentials) header value, unquoted and unescaped, NUL-terminated; ""
 * when absent. Only the fields below are kept; others are skipped.
 */
struct rtsp_auth_params {
    struct rtsp_span scheme; /* borrowed from the value: "Digest", "Basic", ... */
    char realm[RTSP_AUTH_FIELD_MAX], nonce[RTSP_AUTH_FIELD_MAX], opaque[RTSP_AUTH_FIELD_MAX];
    char algorithm[RTSP_AUTH_FIELD_MAX], qop[RTSP_AUTH_FIELD_MAX], stale[RTSP_AUTH_FIELD_MAX];
    char username[RTSP_AUTH_FIELD_MAX], uri[RTSP_AUTH_FIELD_MAX], response[RTSP_AUTH_FIELD_MAX];
    char nc[RTSP_AUTH_FIELD_MAX], cnonce[RTSP_AUTH_FIELD_MAX];
    bool has_opaque;
    bool has_nonce;
};

/*
 * Parses "Scheme key=token, key="quoted", ...". out->scheme is set first,
 * also when the rest fails. Bare tokens without '=' are skipped. Returns
 * 0, or HORUS_EPARSE when the value is empty, a quoted string is not
 * closed, or a kept field is RTSP_AUTH_FIELD_MAX bytes or longer.
 */
int rtsp_auth_parse(struct rtsp_span value, struct rtsp_auth_params *out);

/*
 * Decodes the credentials of an "Authorization: Basic <base64>" value
 * (RFC 7617) into user and password (NUL-terminated, each at most
 * RTSP_AUTH_FIELD_MAX - 1 bytes; the first ':' splits them). Returns 0,
 * -ENOENT when the scheme is not Basic, HORUS_EPARSE when the base64 or
 * the user-pass is malformed or too long. The caller wipes the password.
 */
int rtsp_basic_parse(struct rtsp_span value, char user[RTSP_AUTH_FIELD_MAX],
                     char password[RTSP_AUTH_FIELD_MAX]);

/* MD5 of len bytes in lower-case hex (32 digits and a NUL). */
void rtsp_md5_hex(const void *data, size_t len, char out[33]);

/* Writes len bytes as lower-case hex into out (2 * len + 1 bytes, NUL-terminated). */
void rtsp_hex_encode(const uint8_t *data, size_t len, char *out);

/* HA1 = MD5(user:realm:password) in hex. Returns 0 or -ENOSPC when the text is over 1 KiB. */
int rtsp_digest_ha1(const char *user, const char *realm, const char *password, char out[33]);

/*
 * The Digest response (RFC 2617 3.2.2.1) in hex: MD5(HA1:nonce:HA2) or,
 * with qop "auth", MD5(HA1:nonce:nc:cnonce:auth:HA2), where HA2 is
 * MD5(method:uri). qop NULL or "" means none. Returns 0 or -ENOSPC when the
 * text is over 2 KiB.
 */
int rtsp_digest_response(const char ha1[33], const char *nonce, const char *method, const char *uri,
                         const char *qop, const char *nc, const char *cnonce, char out[33]);

/* ---- rtp.c: interleaved framing ---- */

#define RTSP_INTERLEAVED_HEADER 4 /* '$', channel, 16-bit length */

/*
 * The whole length (header and data) of the interleaved frame that buf
 * starts with ('$' is the caller's to check), or 0 when fewer than 4 bytes
 * are there yet.
 */
size_t rtsp_interleaved_len(const uint8_t *buf, size_t len);

/*
 * An interleaved frame at the start of buf. Returns the bytes it spans when
 * complete (data borrowed from buf), 0 when more are needed, HORUS_EPARSE
 * when buf does not start with '$'.
 */
int rtsp_interleaved_parse(const uint8_t *buf, size_t len, uint8_t *channel, const uint8_t **data,
                           size_t *data_len);

/* Writes the 4-byte header of an interleaved frame of data_len (<= 65535) bytes. */
void rtsp_interleaved_write(uint8_t *out, uint8_t channel, size_t data_len);

/* ---- rtp.c: RTP and RTCP ---- */

#define RTP_HEADER_SIZE 12 /* fixed header, no CSRC */

struct rtp_packet {
    uint8_t payload_type;
    bool marker;
    uint16_t seq;
    uint32_t timestamp, ssrc;
    const uint8_t *payload; /* borrowed: after CSRCs and extension, before padding */
    size_t payload_len;
};

/* Parses an RTP packet (RFC 3550 5.1) in place. Returns 0 or HORUS_EPARSE. */
int rtp_packet_parse(const uint8_t *buf, size_t len, struct rtp_packet *out);

/*
 * Writes the fixed header of pkt (version 2, no padding, extension or
 * CSRC) into out[RTP_HEADER_SIZE]; pkt's payload fields are not used.
 */
void rtp_header_write(uint8_t *out, const struct rtp_packet *pkt);

#define RTCP_SR_SIZE 28 /* a sender report without report blocks */

struct rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp; /* 32.32 fixed point seconds since 1900 */
    uint32_t rtp_timestamp; /* the same instant on the RTP clock */
    uint32_t packets, octets;
};

/*
 * Finds the sender report in a compound RTCP packet. Returns 0, -ENOENT
 * when there is none, or HORUS_EPARSE.
 */
int rtcp_sr_find(const uint8_t *buf, size_t len, struct rtcp_sr *out);

/* Writes sr as an RTCP SR packet without report blocks into out[RTCP_SR_SIZE]. */
void rtcp_sr_write(uint8_t *out, const struct rtcp_sr *sr);

/* Bytes of an RTCP sender report (no blocks) followed by an SDES with this CNAME. */
size_t rtcp_sr_sdes_size(const char *cname);
/* Writes them into out (rtcp_sr_sdes_size bytes); returns that size. cname: at most 255 bytes. */
size_t rtcp_sr_sdes_write(uint8_t *out, const struct rtcp_sr *sr, const char *cname);

/* Unix time in microseconds of rtp_timestamp on a clock_rate Hz clock, by sr's mapping. */
int64_t rtcp_sr_unix_us(const struct rtcp_sr *sr, uint32_t rtp_timestamp, uint32_t clock_rate);

/* NTP 32.32 time of a Unix time in nanoseconds (not before 1970). */
uint64_t rtcp_ntp_from_unix_ns(int64_t unix_ns);

/* Unix time in microseconds of an NTP 32.32 time. */
int64_t rtcp_ntp_to_unix_us(uint64_t ntp);

/* ---- rtp.c: RTCP receiver reports (RFC 3550 6.4.2) ---- */

/* One report block: what a receiver says about one source. */
struct rtcp_report_block {
    uint32_t ssrc; /* the source reported on */
    uint8_t fraction_lost; /* lost since the last report, 8-bit fixed point (1/256) */
    int32_t cumulative_lost; /* since the start, 24 bits signed (duplicates make it negative) */
    uint32_t highest_seq; /* extended highest sequence number received (cycles << 16 | seq) */
    uint32_t jitter; /* interarrival jitter, RTP timestamp units */
    uint32_t lsr; /* middle 32 bits of the last sender report's NTP time; 0 if none */
    uint32_t dlsr; /* delay since that report, 1/65536 s; 0 if none */
};

/* A receiver report: the reporter's SSRC, its block count and the first block. */
struct rtcp_rr {
    uint32_t ssrc; /* the receiver's own SSRC */
    unsigned nblocks; /* report blocks the packet carries (RC) */
    struct rtcp_report_block block; /* the first; meaningful when nblocks > 0 */
};

#define RTCP_RR_SIZE 32 /* a receiver report with one report block */
#define RTCP_RR_COMPOUND_SIZE 48 /* that report plus SDES with CNAME "horus" */

/*
 * Writes a compound RTCP packet (RFC 3550 6.1: a receiver report with the
 * one block b, then an SDES chunk with the CNAME "horus") from the receiver
 * ssrc into out[RTCP_RR_COMPOUND_SIZE].
 */
void rtcp_rr_write(uint8_t *out, uint32_t ssrc, const struct rtcp_report_block *b);

/*
 * Finds the first receiver report (PT 201) in a compound RTCP packet.
 * Returns 0, -ENOENT when there is none, or HORUS_EPARSE.
 */
int rtcp_rr_find(const uint8_t *buf, size_t len, struct rtcp_rr *out);

/* The middle 32 bits of an NTP time: the LSR of a report block. */
uint32_t rtcp_ntp_middle(uint64_t ntp);

/*
 * What a receiver counts about one RTP source to fill its report blocks:
 * sequence numbers with wrap-around (RFC 3550 A.1, A.3), the interarrival
 * jitter (A.8) and the last sender report heard. Zero it to start.
 */
struct rtp_rx_stats {
    bool has_seq;
    uint32_t ssrc;
    uint16_t max_seq;
    uint32_t cycles; /* shifted: count of wraps << 16 */
    uint32_t base_seq;
    uint64_t received;
    uint64_t expected_prior, received_prior; /* at the last report */
    bool has_transit;
    int64_t transit; /* arrival - timestamp, RTP units, of the last packet */
    uint32_t jitter_q4; /* jitter * 16 (A.8's fixed point) */
    uint32_t lsr; /* of the last sender report; 0 when none */
    int64_t lsr_at_us; /* when it was received (any monotonic microsecond clock) */
};

/*
 * Counts one RTP packet of the source: its sequence number, timestamp and
 * arrival time on the RTP clock (RTP units, any origin). A new SSRC starts
 * the counts over.
 */
void rtp_rx_stats_packet(struct rtp_rx_stats *st, uint32_t ssrc, uint16_t seq, uint32_t timestamp,
                         int64_t arrival_rtp);

/* Notes a sender report of the source (for LSR/DLSR), received at now_us. */
void rtp_rx_stats_sr(struct rtp_rx_stats *st, uint64_t ntp, int64_t now_us);

/*
 * Fills a report block at now_us (the clock of rtp_rx_stats_sr) and starts
 * the next report's interval (fraction lost counts from here). Returns
 * false, writing nothing, before the first packet.
 */
bool rtp_rx_stats_report(struct rtp_rx_stats *st, int64_t now_us, struct rtcp_report_block *out);

/* ---- pack.c: RTP packetising ---- */

#define RTP_PACK_MAX_PAYLOAD 1400 /* before fragmentation, like a camera on a 1500-byte MTU */

/*
 * One track's sending state and the buffer of its current access unit:
 * interleaved RTP packets (channel) back to back, buf[0..len).
 */
struct rtp_packer {
    uint8_t payload_type;
    uint8_t channel; /* interleaved channel of the RTP packets */
    uint32_t ssrc;
    uint16_t next_seq;
    uint32_t timestamp; /* of the unit being packetised */
    size_t max_payload; /* RTP_PACK_MAX_PAYLOAD; smaller in tests */
    uint32_t packets_sent, octets_sent; /* for sender reports */
    uint8_t *buf; /* owned, grows to the largest unit */
    size_t len, cap;
    size_t last_header; /* offset of the last RTP header in buf; SIZE_MAX: none */
};

void rtp_packer_init(struct rtp_packer *pk, uint8_t payload_type, uint8_t channel, uint32_t ssrc,
                     uint16_t first_seq);
/* Frees the buffer. */
void rtp_packer_release(struct rtp_packer *pk);
/* Starts an access unit of this RTP timestamp: the buffer is emptied. */
void rtp_packer_begin(struct rtp_packer *pk, uint32_t timestamp);
/*
 * Appends one packet's interleaved and RTP headers for payload_len bytes
 * and returns where its payload goes (payload_len bytes, to fill).
 */
uint8_t *rtp_packer_packet(struct rtp_packer *pk, size_t payload_len);
/* Appends a NAL unit (no start code or length): whole, or as FU-A / FU fragments. */
void rtp_packer_nal(struct rtp_packer *pk, bool is_h265, const uint8_t *nal, size_t len);
/* Appends one raw AAC frame as RFC 3640 AAC-hbr (one AU-header; at most 8191 bytes). */
void rtp_packer_aac_hbr(struct rtp_packer *pk, const uint8_t *au, size_t len);
/* Ends the access unit: the marker bit on its last packet. */
void rtp_packer_end(struct rtp_packer *pk);

/* ---- sdp.c: session descriptions ---- */

struct rtsp_sdp_video {
    bool is_h265;
    uint8_t payload_type;
    const uint8_t *vps, *sps, *pps; /* borrowed; vps for H.265 only */
    size_t vps_len, sps_len, pps_len;
    int width, height, fps; /* 0 when unknown: the line is left out */
    const char *control; /* a=control of the track, e.g. "trackID=0" */
};

struct rtsp_sdp_desc {
    const char *name; /* s= and a=tool: */
    const struct rtsp_sdp_video *video; /* NULL: no video */
    const char *audio_section; /* a whole "m=audio ..." section with CRLFs, or NULL */
};

/* Returns a new NUL-terminated SDP (free()). Thread: any. */
char *rtsp_sdp_new(const struct rtsp_sdp_desc *d);

/* Returns a new "m=audio" section for AAC-hbr (RFC 3640) with its config (at most 64 bytes). */
char *rtsp_sdp_aac_hbr_new(int rate_hz, int channels, const uint8_t *config, size_t config_len,
                           uint8_t payload_type, const char *control);

#endif
