/*
 * Server internals shared by server.c (sockets, send queues, distribution,
 * faults) and rtsp.c (what each RTSP method does). Never included from
 * outside tools/camsim. Thread: server only, for everything here.
 */
#ifndef HORUS_CAMSIM_SERVER_INT_H
#define HORUS_CAMSIM_SERVER_INT_H

#include "auth.h"
#include "camsim.h"
#include "pacing.h"
#include "rtp.h"
#include "rtsp_parse.h"
#include "server.h"
#include "source.h"
#include "udp.h"

#include <gnutls/gnutls.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct cs_client cs_client;

struct cs_client {
    cs_client *prev; /* list of all clients, owned by the server */
    cs_client *next;
    int fd;
    char peer[64];
    gnutls_session_t tls; /* --tls: the session on fd; NULL for plain RTSP */
    bool is_tls_handshaking;
    size_t tls_send_pending; /* length of a record send GnuTLS asked to repeat */
    int64_t accepted_ns;
    int64_t play_ns;

    /* Input: requests, and RTCP the client sends interleaved (receiver reports counted). */
    char in[RTSP_HEAD_MAX + CS_RTSP_MAX_BODY_BYTES];
    size_t in_len;
    size_t skip_len;

    /* Session: one per connection; each track goes interleaved or over UDP. */
    bool has_session;
    char session[17];
    int cam;
    bool is_setup[CS_TRACK_COUNT];
    uint8_t channel[CS_TRACK_COUNT]; /* RTP channel; RTCP goes on channel_rtcp */
    uint8_t channel_rtcp[CS_TRACK_COUNT];
    bool is_udp[CS_TRACK_COUNT]; /* track sent over udp[track], not queued */
    cs_udp udp[CS_TRACK_COUNT]; /* fds -1 unless is_udp */
    bool is_playing;
    bool is_stalled; /* stall fault reached: no more media, requests still answered */
    bool is_waiting_key; /* skipping media until the next video keyframe */
    bool is_closing; /* close once the queue is flushed */
    bool has_epollout;

    /* Output: a ring of frame references; q_off bytes of the head are sent. */
    cs_frame **q; /* owned ring; each element holds one reference */
    uint32_t q_cap;
    uint32_t q_head;
    uint32_t q_len;
    size_t q_off;
    size_t pkt_end; /* --write packet: where the head frame's current packet ends */
    uint32_t pkt_index; /* --write packet: index of that packet in the head frame */
    size_t q_bytes; /* unsent bytes in the ring */

    uint64_t sent_bytes;
    uint64_t sent_packets; /* interleaved packets of frames sent whole */
    uint64_t dropped_frames;
    uint64_t rr_received[CS_TRACK_COUNT]; /* RTCP receiver reports from the client */
};

/* The local and peer addresses of c's RTSP connection, for UDP sockets. */
int cs_client_addrs(const cs_client *c, struct sockaddr_storage *local,
                    struct sockaddr_storage *peer);

struct cs_server {
    const cs_options *opt; /* borrowed */
    const cs_media_info *info; /* borrowed */
    cs_source *src; /* borrowed */
    char *sdp; /* owned */
    cs_auth auth;
    gnutls_certificate_credentials_t tls_cred; /* --tls; NULL otherwise */
    gnutls_priority_t tls_prio;
    int epfd;
    int listen_fd;
    int signal_fd;
    cs_client *clients; /* owned list */
    int n_clients;
    cs_rtp rtp[CS_TRACK_COUNT];
    int64_t next_report_ns;

    /* Frames since the last video keyframe, so a new client starts decoding at once. */
    cs_frame **gop; /* owned references */
    size_t gop_len;
    size_t gop_cap;
    size_t gop_bytes;
    bool is_gop_full; /* cache overflowed: new clients wait for the next keyframe */

    uint64_t total_drops;
    cs_pacer pacer;
    int64_t next_due_ns; /* earliest paced packet a client waits for; 0 = none */
    uint64_t total_sends; /* TCP send calls, and UDP ones of closed clients */
    uint64_t total_packets; /* interleaved RTP/RTCP packets sent whole over TCP, and UDP ones of
                               closed clients */
    int next_udp_port; /* next even server port to try for a UDP track */
};

/* Queues an RTSP reply for c (copied). */
void cs_client_send_text(cs_server *srv, cs_client *c, const char *text, size_t len);

/* Starts media for c: the cached GOP first, then live frames. */
void cs_client_play(cs_server *srv, cs_client *c);

/* Stops media for c and drops the queued media (PAUSE). */
void cs_client_pause(cs_server *srv, cs_client *c);

/* Handles one parsed request from c; replies through cs_client_send_text. rtsp.c. */
void cs_rtsp_handle(cs_server *srv, cs_client *c, const struct rtsp_msg *req);

/* Replies 400 to bytes that do not parse and marks c closing. rtsp.c. */
void cs_rtsp_reply_bad_request(cs_server *srv, cs_client *c);

#endif
