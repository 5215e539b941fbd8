/*
 * The WebRTC server's private state, shared by server.c (socket, thread,
 * API calls) and session.c (one peer's protocol: STUN, DTLS, SRTP, media).
 * Lock: s->mu guards `known`, `cmds` and `stopping` only; everything in a
 * struct wsession belongs to the `webrtc` thread once its ADD command is
 * taken.
 */
#ifndef HORUS_WEBRTC_SERVER_INT_H
#define HORUS_WEBRTC_SERVER_INT_H

#include "dtls_int.h"
#include "opus_int.h"
#include "rtp_out_int.h"
#include "tcp_frame_int.h"
#include "webrtc.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#define WEBRTC_DTLS_TIMEOUT_MS 10000 /* default: from the offer to a finished handshake */
#define WEBRTC_CONSENT_TIMEOUT_MS 30000 /* default: without a valid STUN request */
#define WEBRTC_SR_INTERVAL_NS (1000000000LL)
#define WEBRTC_TCP_BIND_TIMEOUT_MS 5000 /* default: from accept to a checked Binding request */
#define WEBRTC_TCP_MAX_UNBOUND 64 /* default: connections not yet bound, at once */
#define WEBRTC_G711_MAX 480 /* G.711 bytes (samples) one RTP packet carries at most: 60 ms */
#define WEBRTC_TCP_OUT_BYTES (256 * 1024) /* a connection's queue of frames to write */
#define WEBRTC_TCP_SNDBUF (128 * 1024) /* an ICE-TCP connection's SO_SNDBUF (doubled) */
#define WEBRTC_TCP_PER_SESSION 16 /* connections one session may bind (a pair per host, each) */

/* What an epoll event points at. */
struct ep_tag {
    int kind; /* EP_SOCKET, EP_CMD, EP_TIMER, EP_READER, EP_AUDIO, EP_TCP_LISTEN, EP_TCP */
    void *obj;
};
enum { EP_SOCKET, EP_CMD, EP_TIMER, EP_READER, EP_AUDIO, EP_TCP_LISTEN, EP_TCP };

/*
 * One ICE-TCP connection (RFC 6544, passive side; tcp.c): RFC 4571 frames
 * in and out. Unbound until a Binding request on it passes a session's
 * MESSAGE-INTEGRITY; then it belongs to that session (for as long as the
 * session lives) and may be the session's media path. Thread: webrtc.
 */
struct wtcp_conn {
    struct wtcp_conn *next; /* in the server's list */
    int fd;
    struct ep_tag tag;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    char peer_text[64]; /* "ip:port", for logs */
    struct wsession *sess; /* bound to; NULL until then */
    int64_t accepted_ns;
    bool want_out; /* EPOLLOUT armed */
    uint8_t *out; /* queued frames (headers included), allocated on first need */
    size_t out_off, out_len; /* the unwritten bytes are out[out_off, out_off + out_len) */
    uint64_t frames_in, frames_out, dropped;
    const char *drop_session; /* set by a frame handler: drop the session, why */
    const char *close_why; /* set by a frame handler: close the connection, why */
    struct webrtc_tcp_framer in; /* last: large */
};

/*
 * One camera stream's sound as Opus, shared by every session of that
 * stream that hears it (audio.c): its own relay reader, one transcoder.
 * Made by the first such session, freed with the last. Thread: webrtc.
 */
struct waudio {
    struct waudio *next; /* in the server's list */
    webrtc_server *srv; /* borrowed */
    char camera[65];
    char stream[17];
    unsigned refs; /* sessions holding it */
    relay_reader *reader; /* owned; NULL once the stream ended */
    struct ep_tag tag;
    media_stream *aac; /* the track opus was made for, or NULL */
    webrtc_opus *opus; /* owned, or NULL: no AAC yet, or it could not be transcoded */
    int64_t opened_ns; /* packets that arrived before were kept by the relay: not sent */
};

struct wsession {
    struct wsession *next; /* in the thread's list */
    webrtc_server *srv; /* borrowed */
    char id[33];
    char camera[65];
    char stream[17];
    char ufrag[9]; /* ours */
    char pwd[25]; /* ours: never logged */
    char remote_ufrag[257];
    struct sockaddr_storage peer; /* where media goes, once bound */
    socklen_t peer_len;
    bool bound;
    struct wtcp_conn *tcp; /* the selected path when it is an ICE-TCP connection, else NULL */
    unsigned n_tcp; /* ICE-TCP connections bound to it */
    /* The last UDP address whose request passed integrity: its DTLS/SRTCP is routed here even
     * while the path is a TCP connection (a browser may start DTLS before it nominates). */
    struct sockaddr_storage udp_checked;
    bool has_udp_checked;
    int64_t created_ns, consent_ns, last_sr_ns;
    /* The viewer's last XR receiver reference time, answered in each report (0: none yet). */
    int64_t rrtr_at_ns;
    uint32_t rrtr_ssrc, rrtr_lrr;
    int64_t reader_ns; /* CLOCK_MONOTONIC when the relay reader opened */
    webrtc_dtls *dtls; /* owned */
    webrtc_srtp *srtp; /* owned, after the handshake */
    relay_reader *reader; /* owned, after the handshake */
    struct ep_tag reader_tag;
    struct webrtc_rtp_sender rtp;
    enum media_codec codec; /* of the video answered: MEDIA_CODEC_H264 or _H265 */
    struct webrtc_rtp_history history; /* after the handshake: answers to NACK */
    struct known_session *known; /* its record in srv->known (fields under srv->mu) */
    uint64_t retransmits;
    bool need_keyframe;
    uint64_t keyframe_requests;
    bool wants_audio; /* the answer has an Opus line */
    struct waudio *audio_feed; /* held from the handshake on, when wants_audio */
    struct webrtc_rtp_sender audio; /* the Opus we send */
};

struct known_session {
    struct known_session *next;
    struct webrtc_session_info info; /* guarded by mu */
};

struct wcmd {
    struct wcmd *next;
    bool is_add;
    struct wsession *sess; /* add: stolen */
    char id[33]; /* delete */
};

struct webrtc_server {
    int fd; /* the UDP socket; -1 when webrtc.udp_listen is empty */
    int tcp_fd; /* the ICE-TCP listening socket; -1 when webrtc.tcp_listen is empty */
    uint16_t tcp_port;
    unsigned tcp_max_unbound, tcp_unbound;
    int64_t tcp_bind_timeout_ns;
    struct wtcp_conn *conns; /* webrtc thread only */
    int epfd, cmdfd, timerfd;
    uint16_t port;
    int family;
    char *hosts[WEBRTC_MAX_HOSTS * 2]; /* announced, owned */
    char *ice_servers[WEBRTC_MAX_ICE_SERVERS]; /* for players (ice_servers.c), owned */
    size_t n_ice_servers;
    char *turn_secret; /* owned; "" = none */
    int64_t turn_ttl_s;
    size_t n_hosts;
    unsigned max_sessions;
    int64_t dtls_timeout_ns, consent_timeout_ns;
    relay_hub *relay;
    webrtc_cert *cert;
    pthread_t thread;
    bool running;
    struct ep_tag tag_socket, tag_cmd, tag_timer, tag_tcp;
    pthread_mutex_t mu;
    struct known_session *known; /* guarded by mu */
    unsigned n_known; /* guarded by mu */
    unsigned n_pending; /* offers past the limit check, not yet known; guarded by mu */
    struct wcmd *cmds, **cmds_tail; /* guarded by mu */
    bool stopping; /* guarded by mu */
    struct wsession *sessions; /* webrtc thread only */
    struct waudio *audio; /* webrtc thread only */
    metrics_series *m_sessions;
    metrics_series *m_dropped_unknown, *m_dropped_stun, *m_dropped_send;
    metrics_series *m_keyframe_requests;
    metrics_series *m_retransmits;
    metrics_series *m_delay; /* horus_webrtc_packet_delay_seconds */
    metrics_series *m_audio_feeds; /* horus_webrtc_audio_transcoders */
    metrics_series *m_tcp_conns; /* horus_webrtc_tcp_connections */
    metrics_series *m_tcp_dropped; /* horus_webrtc_tcp_dropped_frames_total */
    metrics_family *m_tcp_closed; /* horus_webrtc_tcp_closed_total{reason} */
};

/* CLOCK_MONOTONIC in ns: the thread's deadlines and the packet delay (server.c). */
int64_t wrtc_mono_ns(void);

/* Counts one on m when the server has metrics. */
static inline void wrtc_count(metrics_series *m)
{
    if (m)
        metrics_counter_inc(m);
}

/* session.c: the webrtc thread's handling of one peer. */
/* A STUN message from a UDP address, or (conn not NULL) a frame of that ICE-TCP connection. */
void wsession_on_stun(webrtc_server *s, const uint8_t *buf, size_t len, const struct sockaddr *from,
                      socklen_t from_len, struct wtcp_conn *conn, int64_t now_ns);
/* These return NULL to keep the session, or why it must be dropped (a static phrase). */
const char *wsession_on_datagram(struct wsession *w, uint8_t *buf, size_t len, int64_t now_ns);
const char *wsession_on_reader(struct wsession *w);
const char *wsession_on_tick(struct wsession *w, int64_t now_ns);
void wsession_free(struct wsession *w); /* closes DTLS, the reader; does not unlink */
void wsession_send(webrtc_server *s, const struct wsession *w, const uint8_t *buf, size_t len);

/* audio.c: the shared Opus of (camera, stream), a new hold on it; NULL when it cannot open. */
struct waudio *waudio_get(webrtc_server *s, const char *camera, const char *stream);
void waudio_put(struct waudio *a); /* drops a hold; the last one frees it. NULL is a no-op */
void waudio_on_reader(struct waudio *a); /* its relay reader has events */
/* A session's audio sender report, when it sent audio (with its SRTP). */
void waudio_send_report(struct wsession *w, int64_t now_wall_us);

/* tcp.c: the ICE-TCP side, on the webrtc thread. */
void wtcp_on_accept(webrtc_server *s, int64_t now_ns);
void wtcp_on_event(webrtc_server *s, const struct ep_tag *t, uint32_t events, int64_t now_ns);
void wtcp_on_tick(webrtc_server *s, int64_t now_ns); /* unbound connections past their deadline */
/* Writes one frame to conn, or drops it whole (counted) when its queue is full. */
void wtcp_send(webrtc_server *s, struct wtcp_conn *conn, const uint8_t *buf, size_t len);
void wtcp_session_gone(webrtc_server *s, struct wsession *w); /* closes the session's connections */
void wtcp_close_all(webrtc_server *s);
void wtcp_metrics(webrtc_server *s, metrics_registry *m);

/* server.c: copies the session's counters into its record for the API (thread only). */
void webrtc_server_publish(webrtc_server *s, struct wsession *w);
/* server.c: unlinks and frees a session (thread only); why is logged. */
void webrtc_server_drop(webrtc_server *s, struct wsession *w, const char *why);

#endif
