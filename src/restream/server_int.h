/*
 * What server.c (the "rtsp-srv" loop: sockets, buffers, timers), session.c
 * (the RTSP methods), access.c (who may watch what) and media.c (relay
 * events to RTP) share. Everything here belongs to the "rtsp-srv" thread
 * except the fields marked "under srv->lock", which the API's session list
 * reads.
 */
#ifndef HORUS_RESTREAM_SERVER_INT_H
#define HORUS_RESTREAM_SERVER_INT_H

#include "auth_cache.h"
#include "restream.h"
#include "restream_int.h"

#include <pthread.h>
#include <sys/socket.h>
#include <stdatomic.h>

#define RS_IN_MAX (RTSP_HEAD_MAX + RS_BODY_MAX)
#define RS_SR_INTERVAL_NS (5 * INT64_C(1000000000))
#define RS_REALM "horus"
#define RS_G711_MAX 1400 /* G.711 bytes one RTP packet carries; a longer unit is not sent */

enum rs_watch_kind { RS_W_LISTEN, RS_W_WAKE, RS_W_CONN, RS_W_READER, RS_W_RTCP };

struct rs_conn;

/* What an epoll event points at. */
struct rs_watch {
    enum rs_watch_kind kind;
    struct rs_conn *c;
};

struct rs_track {
    bool is_setup;
    bool is_udp; /* RTP/UDP to the client's address: udp_fd[0] RTP, udp_fd[1] RTCP */
    int udp_fd[2]; /* connected to the client's ports; -1 when TCP */
    uint16_t server_port[2];
    struct rs_watch w_rtcp; /* udp_fd[1] in the epoll set: the client's reports keep it alive */
    uint8_t channel; /* interleaved RTP channel; RTCP is channel + 1 */
    uint32_t clock_hz; /* the stream's timescale at SETUP: the RTP clock */
    uint32_t ts_offset; /* random, added to every timestamp */
    struct rtp_packer pk;
    bool has_sent;
    uint32_t last_ts; /* of the last unit sent */
    int64_t last_wall_us; /* its capture time (the packet's wall_us) */
    int64_t last_mono_ns; /* when it was sent */
    int64_t last_sr_ns;
};

struct rs_conn {
    struct rs_conn *next; /* srv->conns, or srv->dead */
    struct restream_server *srv;
    int fd;
    struct rs_watch w_sock, w_reader;
    bool is_out_watched; /* EPOLLOUT asked for */
    bool is_reader_watched; /* the reader's eventfd is in the epoll set */
    bool is_dead; /* closed in this batch of events; freed after it */
    bool is_closing; /* close once the pending bytes are out (TEARDOWN, END) */
    uint8_t in[RS_IN_MAX];
    size_t in_len;
    uint8_t *out; /* owned: bytes not yet written, out[0..out_len) */
    size_t out_len, out_cap;
    int64_t last_activity_ns; /* last request or RTCP from the client */
    int64_t last_progress_ns; /* last time a write took a byte, or out was empty */
    /* The session (one per connection). */
    char session_id[17];
    bool has_target;
    struct rs_target target; /* the camera and stream it authorized for */
    struct auth_principal *principal; /* owned, NULL until authenticated */
    bool is_nonce_stale; /* the last Digest response was right but its nonce expired */
    relay_reader *reader; /* owned, open while playing; set under srv->lock */
    int64_t reader_ns; /* when the reader opened: older units are the kept GOP */
    bool is_waiting_key; /* no video packet sent yet: the first must be a keyframe */
    struct rs_track tracks[RS_TRACKS];
    uint64_t skips_counted; /* relay skips already added to the metric */
    void *m_bytes; /* metrics_series of horus_restream_sent_bytes_total{camera}, borrowed */
    void *m_skips;
    bool is_counted; /* in horus_restream_sessions */
    struct sockaddr_storage peer; /* the client's address */
    socklen_t peer_len;
    struct restream_session_info info; /* under srv->lock */
};

struct restream_server {
    struct restream_options opt;
    char *listen; /* owned copy */
    int listen_fd, epfd, wake_fd;
    uint16_t port;
    pthread_t thread;
    bool is_started;
    _Atomic bool is_stopping;
    struct rs_watch w_listen, w_wake;
    pthread_mutex_t lock; /* conns, nconns, each conn's info and reader pointer */
    struct rs_conn *conns;
    struct rs_conn *dead; /* closed during the current batch */
    unsigned nconns;
    auth_cache *cache; /* verified credentials, as the HTTP gate keeps them */
    uint8_t nonce_key[32]; /* signs Digest nonces (random per process) */
    metrics_family *f_sessions, *f_bytes, *f_skips, *f_refused;
    metrics_series *m_delay; /* horus_restream_packet_delay_seconds */
    struct rs_srt *srt; /* owned; NULL when SRT is off */
};

/* server.c */
/* Appends n bytes to c's output (grows it) and tries to write. */
void rs_conn_send(struct rs_conn *c, const void *data, size_t n);
/* Closes c now (its session ends); freed after the current batch of events. */
void rs_conn_close(struct rs_conn *c, const char *why);
/* Starts or stops watching the reader's eventfd. */
void rs_conn_watch_reader(struct rs_conn *c, bool on);
/* The monotonic clock of the server's options. */
int64_t rs_now_ns(const struct restream_server *s);
/* Counts n bytes sent to c (session info and metric). */
void rs_conn_count(struct rs_conn *c, size_t n);
/*
 * Opens track k's UDP pair towards the client's address (the TCP peer, never
 * another host) at ports rtp and rtcp, and watches the RTCP socket. Returns
 * 0 or -errno.
 */
int rs_track_udp_open(struct rs_conn *c, struct rs_track *k, int rtp, int rtcp);
/* Closes track k's UDP pair, if any. */
void rs_track_udp_close(struct rs_conn *c, struct rs_track *k);

/* session.c: one complete request from the client. */
void rs_session_request(struct rs_conn *c, const struct rtsp_msg *m);
/* Releases the session's reader, tracks and principal (the connection closes). */
void rs_session_end(struct rs_conn *c);

/* access.c */
/*
 * Authenticates the request (once per connection: the principal is kept)
 * and decides whether it may watch t's camera. Returns 0, or the RTSP
 * status to answer: 401 (with *challenge true when a challenge should go
 * with it: Basic, and Digest when on), 403, 404, 503 (login attempts
 * limited: *retry_s).
 */
int rs_access_check(struct rs_conn *c, const struct rtsp_msg *m, const struct rs_target *t,
                    bool *challenge, unsigned *retry_s);

/* The length of a Digest nonce (hex of its second and of its signature), without the NUL. */
#define RS_NONCE_LEN 48
/* A fresh Digest nonce of s into out (RS_NONCE_LEN + 1 bytes). */
void rs_access_nonce(struct restream_server *s, char out[RS_NONCE_LEN + 1]);

/*
 * An SRT caller's credential: t->token, an API key ("hk_...") or a live
 * media token, and whether it may watch t's camera. Returns 0 with a new
 * principal in *out, or 401 / 403 / 404 / 503 as rs_access_check. Thread:
 * any (SRT's handshake thread, srt-srv).
 */
int rs_access_credential(struct restream_server *s, const char *client, const struct rs_target *t,
                         struct auth_principal **out);

/* srt.c: the SRT listener and its thread "srt-srv" (docs/design/0060). */
struct rs_srt;
/* Binds s->opt.srt_listen. Returns 0, or -EINVAL / -EADDRINUSE / -EIO with err. Thread: main. */
int rs_srt_new(struct restream_server *s, struct rs_srt **out, char *err, size_t errsize);
int rs_srt_start(struct rs_srt *t);
void rs_srt_stop(struct rs_srt *t); /* after s->is_stopping is set */
void rs_srt_free(struct rs_srt *t); /* NULL is a no-op */
uint16_t rs_srt_port(const struct rs_srt *t);
/* Copies up to cap sessions into v; under s->lock. */
size_t rs_srt_sessions(struct rs_srt *t, struct restream_session_info *v, size_t cap);
unsigned rs_srt_count(const struct rs_srt *t); /* under s->lock */

/* media.c */
/* Moves events from the reader into the output while it has room. */
void rs_media_pump(struct rs_conn *c);
/* Sends due RTCP sender reports. */
void rs_media_tick(struct rs_conn *c, int64_t now_ns);

#endif
