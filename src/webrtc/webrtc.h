/*
 * WebRTC out (WHEP): browsers play a camera stream over SRTP from the
 * packet relay, every peer on one UDP port, ICE-lite with DTLS-SRTP.
 * Design: docs/design/0055-webrtc-whep.md.
 *
 * The server owns one UDP socket and one thread, `webrtc`, with epoll over
 * the socket, a command eventfd, a 100 ms timer, each session's relay
 * reader and one reader per camera stream whose AAC is transcoded to Opus
 * for the sessions that hear it (docs/design/0058-webrtc-audio.md). The API's threads create and
 * delete sessions through calls that only queue a command; every session's protocol state is
 * touched by the `webrtc` thread alone.
 */
#ifndef HORUS_WEBRTC_H
#define HORUS_WEBRTC_H

#include "cfg.h"
#include "metrics.h"
#include "relay.h"

#include <stddef.h>
#include <stdint.h>

typedef struct webrtc_server webrtc_server;

/* `webrtc:` of horus.yaml; every key needs a restart. */
struct webrtc_config {
    char *udp_listen; /* "host:port"; NULL or "" = no UDP */
    char *tcp_listen; /* "host:port" of ICE-TCP; NULL or "" = none. Both empty: WebRTC off */
    char **additional_hosts; /* announced as extra host candidates */
    size_t nadditional_hosts;
    int64_t max_sessions;
    char **ice_servers; /* stun:/turn:/turns: URLs players are told to use (WHEP Link headers) */
    size_t nice_servers;
    char *turn_secret; /* the TURN server's shared secret (REST API credentials); "" = none */
    int64_t turn_ttl_ms; /* how long a minted TURN credential lasts */
};

extern const cfg_field webrtc_config_fields[];

#define WEBRTC_MAX_HOSTS 8
#define WEBRTC_MAX_ICE_SERVERS 8

struct webrtc_options {
    const char *udp_listen; /* "host:port", "[v6]:port" or ":port" (every address); copied */
    const char *tcp_listen; /* the same for ICE-TCP (RFC 6544, passive); NULL or "": none */
    const char *additional_hosts[WEBRTC_MAX_HOSTS]; /* announced as host candidates; copied */
    size_t n_additional_hosts;
    unsigned max_sessions; /* 0 = 256 */
    int64_t dtls_timeout_ms; /* offer to finished handshake; 0 = 10 s (tests shorten it) */
    int64_t consent_timeout_ms; /* without a valid STUN request; 0 = 30 s (RFC 7675) */
    int64_t tcp_bind_timeout_ms; /* ICE-TCP accept to a checked Binding request; 0 = 5 s */
    unsigned tcp_max_unbound; /* ICE-TCP connections not yet bound, at once; 0 = 64 */
    relay_hub *relay; /* borrowed, outlives the server */
    metrics_registry *metrics; /* borrowed, may be NULL */
    /* ICE servers for players (docs/design/0079); copied. */
    const char *ice_servers[WEBRTC_MAX_ICE_SERVERS];
    size_t n_ice_servers;
    const char *turn_secret; /* NULL or "": TURN URLs go out without credentials */
    int64_t turn_ttl_ms; /* 0 = 24 h */
};

/*
 * Binds the UDP socket and/or the ICE-TCP listening socket (at least one
 * of udp_listen and tcp_listen must be set), makes the DTLS certificate
 * and registers the metrics (horus_webrtc_sessions,
 * horus_webrtc_dropped_datagrams_total, horus_webrtc_tcp_*). Returns 0
 * with *out, or -errno / -EINVAL with a sentence in err (errsize bytes):
 * "webrtc.udp_listen: bind 127.0.0.1:8189: Address already in use".
 * Thread: main.
 */
int webrtc_server_new(const struct webrtc_options *opt, webrtc_server **out, char *err,
                      size_t errsize);
int webrtc_server_start(webrtc_server *s); /* starts the `webrtc` thread; Thread: main */
void webrtc_server_stop(webrtc_server *s); /* drops every session, joins; Thread: main */
void webrtc_server_free(webrtc_server *s); /* stops first; NULL is a no-op; Thread: main */

/*
 * The ICE servers players should use, each as one WHEP Link header value
 * (RFC 8288; WHIP/WHEP's rel="ice-server"): STUN URLs as they are, TURN
 * URLs with a credential minted for who (TURN REST API: username
 * "<expiry>:<who>", credential base64(HMAC-SHA1(turn_secret, username)),
 * good for turn_ttl from now_s). fn is called once per server. Returns the
 * count. Thread: any.
 */
size_t webrtc_server_ice_links(const webrtc_server *s, const char *who, int64_t now_s,
                               void (*fn)(void *arg, const char *link), void *arg);

/*
 * One Link header value for url: rel="ice-server", and for a turn:/turns:
 * URL with a non-empty secret, username, credential and credential-type.
 * who is reduced to [A-Za-z0-9._@-] (others become '_'). Returns the
 * length written, or -ENOSPC. Pure.
 */
int webrtc_ice_link(const char *url, const char *secret, const char *who, int64_t expires_s,
                    char *out, size_t cap);

/* The UDP port the socket is bound to (the configured one, or the kernel's for port 0). */
uint16_t webrtc_server_port(const webrtc_server *s);
/* The ICE-TCP port (the configured one, or the kernel's for port 0); 0 when there is none. */
uint16_t webrtc_server_tcp_port(const webrtc_server *s);

struct webrtc_answer {
    char *sdp; /* owned: free() it */
    char session_id[33]; /* 32 hex characters */
};

/*
 * Makes a session for (camera, stream) from an SDP offer of len bytes and
 * writes the answer. Returns 0; HORUS_EPARSE with err naming the line or
 * the missing piece ("offer has no H.264 video"); -ENOENT when the relay
 * has no such stream; -EAGAIN when the camera has no video yet; HORUS_ECODEC
 * when its video is not H.264 (err says so); -EBUSY at max_sessions.
 * Thread: any.
 */
int webrtc_server_offer(webrtc_server *s, const char *camera, const char *stream, const char *sdp,
                        size_t len, struct webrtc_answer *out, char *err, size_t errsize);

/*
 * Whether an offer for (camera, stream) could be answered now: the stream
 * is in the relay with H.264 video. (The session limit is not checked: it
 * changes between asking and offering.) Thread: any.
 */
bool webrtc_server_serves(webrtc_server *s, const char *camera, const char *stream);

/* Whether session_id is a live session of camera. Thread: any. */
bool webrtc_server_has_session(webrtc_server *s, const char *camera, const char *session_id);

/* Ends a session of camera. Returns 0 or -ENOENT. Thread: any. */
int webrtc_server_delete(webrtc_server *s, const char *camera, const char *session_id);

/* Sessions now (created and not yet dropped). Thread: any. */
unsigned webrtc_server_sessions(webrtc_server *s);

/* One session as the API lists it; refreshed by the webrtc thread about once a second. */
struct webrtc_session_info {
    char id[33];
    char camera[65];
    char stream[17];
    char peer[64]; /* "ip:port" of the viewer's media path; "" until its first STUN request */
    char transport[4]; /* that path's: "udp" or "tcp" (ICE-TCP); "" while there is none */
    bool is_playing; /* DTLS done, media flowing */
    uint64_t packets; /* RTP packets sent */
    uint64_t bytes; /* RTP payload bytes sent */
    uint64_t keyframe_requests; /* PLI/FIR that made it wait for a keyframe */
    uint64_t retransmits; /* packets sent again on a NACK */
    bool has_audio; /* the answer has Opus: the camera's AAC, transcoded */
    uint64_t audio_packets; /* Opus RTP packets sent */
    int64_t started_unix_ms;
};

/*
 * Copies every session's record into *out (a new array the caller frees;
 * NULL when there is none). Returns the count. Thread: any.
 */
size_t webrtc_server_list(webrtc_server *s, struct webrtc_session_info **out);

#endif
