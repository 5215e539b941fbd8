/*
 * RTSP request parsing for horus-camsim. Pure functions over bytes that came
 * from the network: no allocation, no I/O, no libraries, so the fuzzer
 * (tools/camsim/fuzz) links this file alone.
 */
#ifndef HORUS_CAMSIM_RTSP_PARSE_H
#define HORUS_CAMSIM_RTSP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define CS_RTSP_MAX_HEADERS 32
#define CS_RTSP_MAX_HEAD_BYTES 8192
#define CS_RTSP_MAX_BODY_BYTES 4096

/* A span of the input buffer; borrowed, not NUL-terminated. */
typedef struct cs_span {
    const char *p;
    size_t len;
} cs_span;

typedef struct cs_rtsp_header {
    cs_span name;
    cs_span value;
} cs_rtsp_header;

/* One parsed request. Every span is borrowed from the buffer given to the parser. */
typedef struct cs_rtsp_request {
    cs_span method;
    cs_span uri;
    long cseq; /* -1 when absent */
    cs_rtsp_header headers[CS_RTSP_MAX_HEADERS];
    int n_headers;
    size_t body_len;
} cs_rtsp_request;

/*
 * Parses the message at the start of buf. Returns the number of bytes it
 * spans (head and body) when it is complete, 0 when more bytes are needed,
 * HORUS_EPARSE when it is malformed, or HORUS_ETOOBIG when its head or
 * body is over the limits above.
 */
int cs_rtsp_request_parse(const char *buf, size_t len, cs_rtsp_request *req);

/* Returns the value of header name (case-insensitive), or a span with p NULL. */
cs_span cs_rtsp_request_header(const cs_rtsp_request *req, const char *name);

/* True when span s equals the NUL-terminated string lit exactly. */
bool cs_span_eq(cs_span s, const char *lit);

/*
 * Interleaved binary data ('$' channel len16 payload) sent by clients
 * (RTCP receiver reports). When buf starts with '$', returns the total
 * length of the frame, or 0 when fewer than 4 bytes are there yet.
 */
size_t cs_rtsp_interleaved_len(const char *buf, size_t len);

typedef struct cs_transport {
    bool is_tcp; /* the chosen spec is RTP/AVP/TCP */
    bool is_udp; /* the chosen spec is RTP/AVP[/UDP];unicast with client_port */
    bool has_interleaved; /* TCP: that spec names channels */
    int channel_rtp;
    int channel_rtcp;
    int client_port_rtp; /* UDP: 1..65535 */
    int client_port_rtcp;
} cs_transport;

/*
 * Parses a Transport header value, which may offer several specs separated
 * by commas in the client's order of preference; the first one the
 * simulator serves wins: RTP/AVP/TCP, or unicast RTP/AVP (or RTP/AVP/UDP)
 * with a client_port. Returns 0 (neither flag set means nothing servable
 * was offered, e.g. only multicast) or HORUS_EPARSE.
 */
int cs_transport_parse(cs_span value, cs_transport *out);

#define CS_DIGEST_FIELD_MAX 256

/* Fields of an Authorization: Digest header, NUL-terminated copies. */
typedef struct cs_digest {
    char username[CS_DIGEST_FIELD_MAX];
    char realm[CS_DIGEST_FIELD_MAX];
    char nonce[CS_DIGEST_FIELD_MAX];
    char uri[CS_DIGEST_FIELD_MAX];
    char response[CS_DIGEST_FIELD_MAX];
    char qop[CS_DIGEST_FIELD_MAX];
    char nc[CS_DIGEST_FIELD_MAX];
    char cnonce[CS_DIGEST_FIELD_MAX];
    char algorithm[CS_DIGEST_FIELD_MAX];
} cs_digest;

/*
 * Parses an Authorization header value of the Digest scheme. Returns 0,
 * HORUS_EAUTH for another scheme, or HORUS_EPARSE when malformed or a
 * field is too long.
 */
int cs_digest_parse(cs_span value, cs_digest *out);

enum {
    CS_PATH_TRACK_NONE = -1, /* aggregate URL: /camN or /camN/ */
};

/*
 * Splits a request URI (absolute rtsp://host:port/camN/trackID=T or a bare
 * path) into the camera number 1..max_cam and the track: CS_PATH_TRACK_NONE
 * or a track index 0..1. Returns 0 or -ENOENT when it names no such path.
 */
int cs_path_parse(cs_span uri, int max_cam, int *cam, int *track);

#endif
