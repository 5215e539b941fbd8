/*
 * Private to src/ingest (and its unit tests and fuzz driver): Horus's own
 * RTSP client (docs/design/0008-native-rtsp-client.md).
 *
 * The pure pieces first, none of which does I/O, logs or locks:
 * rtsp_msg.c (URLs, RTSP responses and their headers, authentication, on
 * top of the framing, Transport, Session and Digest of src/proto),
 * rtsp_sdp.c (session descriptions), rtsp_depack.c (RTP payloads -> access units in the
 * media/media.h layout) and rtsp_conn.c (the RTSP session state machine fed
 * with bytes). Then the I/O: rtsp_loop.c (the ing-rtsp-N epoll threads)
 * and rtsp_stream.c (an ing_stream driven by a loop).
 *
 * Everything that parses takes untrusted camera bytes: every parser is
 * bounded by its input and reports HORUS_EPARSE rather than guessing.
 */
#ifndef HORUS_RTSP_INT_H
#define HORUS_RTSP_INT_H

#include "ingest_int.h"
#include "rtsp_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* ---- rtsp_msg.c: URLs ---- */

#define ING_RTSP_URL_MAX 512

struct ing_rtsp_url {
    bool is_rtsps;
    char user[128], password[128]; /* percent-decoded; "" when absent */
    bool has_credentials;
    char host[256]; /* without [] for IPv6 */
    int port; /* 554 when absent */
    char request_url[ING_RTSP_URL_MAX]; /* the URL without user:pass@, sent in requests */
};

/* Parses rtsp://[user[:pass]@]host[:port][/path]. Returns 0 or HORUS_EPARSE. */
int ing_rtsp_url_parse(const char *url, struct ing_rtsp_url *out);

/*
 * Resolves an SDP control attribute against base (RFC 2326 C.1.1): an
 * absolute rtsp:// URL is taken as is, "*" or "" means base, anything else
 * is appended to base with one '/'. Returns 0 or -ENOSPC.
 */
int ing_rtsp_url_resolve(const char *base, const char *control, char *out, size_t size);

/* ---- rtsp_msg.c: messages ---- */

#define ING_RTSP_HEAD_MAX RTSP_HEAD_MAX /* bytes of status line plus headers */
#define ING_RTSP_BODY_MAX 65536 /* bytes of body (an SDP) */
#define ING_RTSP_HEADERS_MAX RTSP_HEADERS_MAX

/*
 * One RTSP message as received: a response ("RTSP/1.0 200 OK"), or a
 * request the server sent us (ANNOUNCE, GET_PARAMETER...). Framed by
 * rtsp_msg_parse (proto); header lines are then unfolded into text
 * (continuation lines joined by one space) and name and value point into
 * it, NUL-terminated; the body is borrowed from the input.
 */
struct ing_rtsp_msg {
    bool is_request;
    int status; /* responses */
    char method[33]; /* requests */
    unsigned nheaders;
    struct {
        const char *name, *value;
    } headers[ING_RTSP_HEADERS_MAX];
    long cseq; /* -1 when absent or malformed */
    const uint8_t *body; /* borrowed from the input buffer */
    size_t body_len;
    struct rtsp_msg raw; /* the framing, pointing into the input */
    char text[ING_RTSP_HEAD_MAX];
};

/*
 * Parses the message at the start of buf. Returns the bytes it spans (head
 * and body) when complete, 0 when more bytes are needed, HORUS_EPARSE when
 * it is not RTSP, and HORUS_ETOOBIG when the head or body is over its limit.
 */
int ing_rtsp_msg_parse(const uint8_t *buf, size_t len, struct ing_rtsp_msg *out);

/* The value of the first header called name (any case), or NULL. Borrowed from msg. */
const char *ing_rtsp_msg_header(const struct ing_rtsp_msg *msg, const char *name);

/*
 * Session header: "ID[;timeout=N]". Copies the id (at most size - 1 bytes)
 * and the timeout in seconds (60 when absent). Returns 0 or HORUS_EPARSE.
 */
int ing_rtsp_session_parse(const char *value, char *id, size_t size, int *timeout_s);

/*
 * Transport header of a SETUP reply. Returns 0 with the interleaved
 * channels, -ENOENT when it names no interleaved channels (the caller keeps
 * the ones it asked for), or HORUS_EPARSE when it is not RTP over TCP.
 */
int ing_rtsp_transport_parse(const char *value, int *rtp_channel, int *rtcp_channel);

/*
 * Transport header of a SETUP reply to a UDP request. Returns 0 with the
 * server's RTP and RTCP ports, -ENOENT when it names none (we then receive
 * but send no reports), or HORUS_EPARSE when it is not unicast RTP over UDP.
 */
int ing_rtsp_transport_parse_udp(const char *value, int *server_rtp, int *server_rtcp);

#define ING_RTSP_RTP_INFO_MAX 4

struct ing_rtsp_rtp_info {
    char url[ING_RTSP_URL_MAX];
    bool has_seq, has_rtptime;
    uint16_t seq;
    uint32_t rtptime;
};

/* RTP-Info: "url=...;seq=N;rtptime=T, url=...". Returns the entries read (0..max). */
unsigned ing_rtsp_rtp_info_parse(const char *value, struct ing_rtsp_rtp_info *out, unsigned max);

/* ---- rtsp_msg.c: authentication ---- */

enum ing_rtsp_auth_scheme {
    ING_RTSP_AUTH_NONE,
    ING_RTSP_AUTH_BASIC,
    ING_RTSP_AUTH_DIGEST,
};

struct ing_rtsp_challenge {
    enum ing_rtsp_auth_scheme scheme;
    char realm[128], nonce[128], opaque[128];
    bool has_opaque;
    bool is_qop_auth; /* the server offered qop=auth */
    bool is_stale;
};

/*
 * Parses one WWW-Authenticate value. Returns 0, -ENOTSUP for a scheme or
 * algorithm we do not speak (only Basic and Digest with MD5), or
 * HORUS_EPARSE.
 */
int ing_rtsp_challenge_parse(const char *value, struct ing_rtsp_challenge *out);

/*
 * Writes the value of an Authorization header answering chal for method
 * and uri ("Basic ..." or "Digest username=..., response=..."). nc and
 * cnonce are used with qop=auth. Returns 0 or -ENOSPC.
 */
int ing_rtsp_authorization(const struct ing_rtsp_challenge *chal, const char *user,
                           const char *password, const char *method, const char *uri, unsigned nc,
                           const char *cnonce, char *out, size_t size);

/* ---- rtsp_sdp.c ---- */

#define ING_SDP_MAX_MEDIA 8

struct ing_sdp_media {
    enum media_kind kind;
    enum media_codec codec; /* MEDIA_CODEC_NONE: a format we do not take */
    int payload_type;
    uint32_t clock_rate;
    unsigned channels;
    char control[ING_RTSP_URL_MAX]; /* resolved, absolute */
    /* H.264 / H.265 */
    struct ing_param_sets ps; /* sprop-parameter-sets or sprop-vps/sps/pps */
    bool has_profile_level_id;
    uint32_t profile_level_id;
    int packetization_mode; /* H.264: 0 single NAL, 1 non-interleaved, 2 interleaved */
    /* mpeg4-generic (RFC 3640); MP4A-LATM (RFC 6416) fills config from its StreamMuxConfig */
    uint8_t config[64]; /* AudioSpecificConfig */
    size_t config_len;
    unsigned size_length, index_length, index_delta_length;
    bool is_latm; /* MP4A-LATM, cpresent=0 */
    unsigned latm_subframes; /* PayloadMux per AudioMuxElement */
    uint32_t latm_other_bits; /* otherData bits per AudioMuxElement */
    uint32_t frame_ticks; /* RTP ticks per AAC frame; 0 = 1024 */
    /*
     * For a section not taken (codec MEDIA_CODEC_NONE): what it offered
     * ("MP4A-LATM/48000/2", or "payload type 0" without rtpmap) and why it
     * is refused (static sentence), for the camera's status and log.
     */
    char encoding[48];
    const char *refusal;
};

struct ing_sdp {
    char control[ING_RTSP_URL_MAX]; /* the aggregate (session-level) control URL */
    struct ing_sdp_media media[ING_SDP_MAX_MEDIA];
    unsigned nmedia;
};

/*
 * Parses an SDP body. base is the URL relative controls resolve against
 * (Content-Base, else Content-Location, else the request URL). Media of
 * other kinds or formats are listed with codec MEDIA_CODEC_NONE. Returns 0
 * or HORUS_EPARSE.
 */
int ing_sdp_parse(const char *text, size_t len, const char *base, struct ing_sdp *out);

/* ---- rtsp_latm.c: MP4A-LATM (RFC 6416) ---- */

struct ing_latm_config {
    uint8_t asc[64]; /* the AudioSpecificConfig, byte-aligned */
    size_t asc_len;
    unsigned subframes; /* numSubFrames + 1 */
    uint32_t other_bits; /* otherDataLenBits */
    uint32_t sample_rate; /* the core AAC rate */
};

/*
 * Parses an out-of-band StreamMuxConfig (fmtp config=, already hex-decoded).
 * Returns 0; -ENOTSUP with *why naming what we do not take (several
 * programs or layers, audioMuxVersion 1, a non-AAC object type...); or
 * HORUS_EPARSE (*why says so). *why is static.
 */
int ing_latm_config_parse(const uint8_t *cfg, size_t n, struct ing_latm_config *out,
                          const char **why);

/* ---- rtsp_depack.c ---- */

/*
 * An access unit is done: au (stolen) holds length-prefixed NAL units (or
 * one raw AAC frame) with is_keyframe set; rtp_timestamp is its RTP time.
 */
typedef void (*ing_depack_au_cb)(void *arg, media_packet *au, uint32_t rtp_timestamp);
/*
 * The parameter sets changed (only called before the first NAL unit of an
 * access unit that uses them is written, and at its end): the owner may
 * point the depacketiser at a new stream.
 */
typedef void (*ing_depack_params_cb)(void *arg);

struct ing_depack {
    enum media_codec codec;
    struct ing_param_sets *ps; /* borrowed from the owner; updated in place */
    media_stream *stream; /* borrowed; new access units reference it; NULL drops them */
    ing_depack_au_cb au_cb;
    ing_depack_params_cb params_cb;
    void *arg;
    /* AAC (RFC 3640) */
    unsigned size_length, index_length, index_delta_length;
    uint32_t frame_samples; /* RTP ticks per AAC frame (1024) */
    /* counters */
    uint64_t lost_packets; /* sequence gaps */
    uint64_t dropped_units; /* access units damaged, without parameters, or before a keyframe */
    uint64_t bad_packets; /* malformed or unsupported payloads */
    /* private */
    bool has_seq;
    uint16_t next_seq;
    bool wait_keyframe;
    media_packet *au; /* owned; in progress */
    size_t au_len, au_cap;
    bool in_au;
    uint32_t au_ts;
    bool au_is_key, au_is_damaged, au_has_unit;
    bool ps_changed;
    /* fragmented NAL unit (FU-A / FU) in progress */
    bool in_fu;
    bool fu_to_ps; /* a parameter set or AUD: gathered in ps_buf, not in au */
    int fu_type;
    size_t fu_start; /* offset of its length prefix in au */
    uint8_t ps_buf[ING_PS_MAX_SIZE];
    size_t ps_len;
    bool ps_overflow;
    /* size hints for allocation, per kind of access unit */
    size_t hint_key, hint_delta;
    /* fragmented AAC frame in progress */
    size_t aac_need;
    /* MP4A-LATM (rtsp_latm.c): set by the owner after init */
    bool is_latm;
    unsigned latm_subframes;
    uint32_t latm_other_bits;
    uint8_t *latm_buf; /* owned; a fragmented AudioMuxElement, kept between elements */
    size_t latm_len, latm_cap;
    bool latm_in;
    bool latm_skip; /* after a loss: up to the next marker, the rest of a damaged element */
    uint32_t latm_ts;
};

/*
 * Prepares d for codec. ps must outlive d (video). The callbacks are called
 * from ing_depack_push only. Video waits for a keyframe.
 */
void ing_depack_init(struct ing_depack *d, enum media_codec codec, struct ing_param_sets *ps,
                     ing_depack_au_cb au_cb, ing_depack_params_cb params_cb, void *arg);
/* Frees the access unit in progress. */
void ing_depack_release(struct ing_depack *d);
/* A new session: forget sequence numbers and the unit in progress, wait for a keyframe. */
void ing_depack_reset(struct ing_depack *d);

/*
 * Takes one RTP packet of the track. Completes access units on the marker
 * bit or on a timestamp change, drops damaged ones after a sequence gap
 * (video then waits for the next keyframe) and strips parameter sets equal
 * to d->ps (new ones replace them and fire params_cb).
 */
void ing_depack_push(struct ing_depack *d, const struct rtp_packet *rtp);

/* rtsp_latm.c: ing_depack_push's AAC path when d->is_latm. */
void ing_depack_latm_push(struct ing_depack *d, const struct rtp_packet *rtp, bool is_loss);

/* ---- rtsp_conn.c: the RTSP session state machine ---- */

enum ing_rtsp_phase {
    ING_RTSP_OPTIONS,
    ING_RTSP_DESCRIBE,
    ING_RTSP_SETUP,
    ING_RTSP_PLAY,
    ING_RTSP_PLAYING,
    ING_RTSP_FAILED,
};

enum ing_rtsp_track {
    ING_RTSP_VIDEO,
    ING_RTSP_AUDIO,
    ING_RTSP_TRACKS,
};

struct ing_rtsp_conn_cbs {
    /*
     * The description arrived: video and/or audio (NULL when absent) are
     * the tracks that will be set up. Returning < 0 refuses them (the
     * session fails as unsupported).
     */
    int (*describe_cb)(void *arg, const struct ing_sdp_media *video,
                       const struct ing_sdp_media *audio);
    /* PLAY succeeded; info holds the RTP-Info of each track (has_seq false if unknown). */
    void (*play_cb)(void *arg, const struct ing_rtsp_rtp_info info[ING_RTSP_TRACKS]);
    /* One RTP (is_rtcp false) or RTCP packet of a track, borrowed for the call. */
    void (*packet_cb)(void *arg, enum ing_rtsp_track track, bool is_rtcp, const uint8_t *data,
                      size_t len);
};

#define ING_RTSP_OUT_MAX 4096

/*
 * One RTSP session over one TCP connection, as a state machine: bytes from
 * the socket go in (ing_rtsp_conn_input), requests to send come out
 * (out/out_len), events go to the callbacks. Timers (handshake deadline,
 * keep-alive, stall) are the owner's: it calls ing_rtsp_conn_keepalive and
 * ing_rtsp_conn_teardown when they are due.
 */
struct ing_rtsp_conn {
    struct ing_rtsp_url url;
    const struct ing_rtsp_conn_cbs *cbs;
    void *arg;
    enum ing_rtsp_phase phase;
    /* failure, once phase is ING_RTSP_FAILED */
    enum ing_reason reason;
    char error[160];
    bool is_tcp_refused; /* the failure is a 461 to a TCP SETUP (RTP over TCP refused) */
    /* what goes out */
    uint8_t out[ING_RTSP_OUT_MAX];
    size_t out_len;
    /* session */
    unsigned cseq, pending_cseq;
    const char *pending_method; /* static */
    bool has_received; /* any byte of any reply */
    bool has_get_parameter; /* the server's Public lists it */
    char session[128];
    int timeout_s;
    struct ing_rtsp_challenge chal;
    bool has_auth, is_auth_retry;
    unsigned nc;
    char cnonce[17];
    char base[ING_RTSP_URL_MAX];
    struct ing_sdp sdp;
    int media_index[ING_RTSP_TRACKS]; /* into sdp.media; -1 when not set up */
    int channel[ING_RTSP_TRACKS]; /* interleaved RTP channel; RTCP comes on the next one */
    int rtcp_channel[ING_RTSP_TRACKS]; /* where our RTCP goes (the SETUP reply's second) */
    /*
     * RTP over UDP (set by the owner before ing_rtsp_conn_init returns to
     * the loop, ports before the SETUP of their track: describe_cb): the
     * media comes on datagrams the owner reads, not on this connection.
     */
    bool is_udp;
    int client_port[ING_RTSP_TRACKS]; /* our RTP port (even; RTCP on the next) */
    int server_port[ING_RTSP_TRACKS][2]; /* the camera's RTP and RTCP ports; -1 unknown */
    unsigned setup_track; /* the SETUP in flight */
    struct ing_rtsp_msg msg; /* scratch for parsing */
};

/*
 * Starts a session for url (credentials in it are used when challenged):
 * queues OPTIONS. Returns 0 or HORUS_EPARSE for a bad URL.
 */
int ing_rtsp_conn_init(struct ing_rtsp_conn *c, const char *url,
                       const struct ing_rtsp_conn_cbs *cbs, void *arg);

/*
 * Consumes complete replies and interleaved frames at the start of buf
 * and returns how many bytes it took (the rest waits for more input), or
 * a negative code once the session failed (see c->reason and c->error).
 */
long ing_rtsp_conn_input(struct ing_rtsp_conn *c, const uint8_t *buf, size_t len);

/* The connection ended (EOF or error rc, -errno). Sets the failure. */
void ing_rtsp_conn_closed(struct ing_rtsp_conn *c, int rc);

/* Marks the session failed with reason and text (our deadlines). */
void ing_rtsp_conn_fail(struct ing_rtsp_conn *c, enum ing_reason reason, const char *text);

/* Queues a keep-alive (GET_PARAMETER when the server has it, else OPTIONS). */
void ing_rtsp_conn_keepalive(struct ing_rtsp_conn *c);

/* Queues a TEARDOWN (best effort; no reply is waited for). */
void ing_rtsp_conn_teardown(struct ing_rtsp_conn *c);

/*
 * Queues an interleaved frame (our RTCP) while playing. Returns false when
 * not playing or when it does not fit behind what waits to be sent (the
 * report is then skipped: a later one says the same, newer).
 */
bool ing_rtsp_conn_send_frame(struct ing_rtsp_conn *c, const uint8_t *frame, size_t len);

/* The first n bytes of c->out were sent. */
void ing_rtsp_conn_sent(struct ing_rtsp_conn *c, size_t n);

/* ---- rtsp_tls.c: RTSP over TLS (rtsps://, docs/design/0033) ---- */

/* Why a TLS session could not start; the label of horus_ingest_tls_failures_total. */
enum ing_tls_failure {
    ING_TLS_EXPIRED,
    ING_TLS_NOT_YET_VALID,
    ING_TLS_WRONG_HOST,
    ING_TLS_SELF_SIGNED,
    ING_TLS_UNTRUSTED, /* signed by a CA not in the trust store, or a bad signature */
    ING_TLS_REVOKED,
    ING_TLS_HANDSHAKE, /* no common version or cipher, not TLS, closed */
    ING_TLS_CA_FILE, /* the trust store could not be loaded */
    ING_TLS_FAILURES,
};

/* "expired", "wrong_host", ... Static. */
const char *ing_tls_failure_code(enum ing_tls_failure f);

/* What the peer's first certificate says, for explaining a failure. */
struct ing_tls_cert_facts {
    bool has_cert;
    bool is_self_signed;
    int64_t not_before, not_after; /* Unix seconds */
    char name[128]; /* first DNS/IP subject alternative name, else the CN */
    char issuer[128]; /* issuer CN */
};

/*
 * Explains a failed verification: status holds GnuTLS's
 * gnutls_certificate_status_t bits, f the certificate (may be NULL), host
 * the name we asked for. Writes the sentence ("TLS: certificate expired
 * (notAfter 2025-01-01)") into out and returns its kind. Pure.
 */
enum ing_tls_failure ing_tls_explain(unsigned status, const struct ing_tls_cert_facts *f,
                                     const char *host, char *out, size_t size);

/* A trust store shared by the streams that use it ("" or NULL = the system store). */
struct ing_tls_creds;

/*
 * Takes a reference to the parsed trust store of ca_file, loading it on
 * first use. Returns 0, or a negative code with a sentence in err. Thread:
 * any (it may read a file: not a loop thread).
 */
int ing_tls_creds_acquire(const char *ca_file, struct ing_tls_creds **out, char *err, size_t size);
/* Drops a reference. NULL is a no-op. Thread: any. */
void ing_tls_creds_release(struct ing_tls_creds *creds);

/* One TLS session on a stream's socket. Zeroed = none. */
struct ing_tls {
    struct gnutls_session_int *session;
    const char *host; /* borrowed (the stream's parsed URL) */
    size_t send_pending; /* length of a send GnuTLS asked to repeat */
    bool is_open;
};

/*
 * Starts a client session on fd (connected, non-blocking): TLS 1.2 at
 * least, SNI = host unless an IP literal, and with verify the certificate
 * checked against creds and host during the handshake. Returns 0 or a
 * negative code with a sentence in err.
 */
int ing_tls_start(struct ing_tls *t, struct ing_tls_creds *creds, int fd, const char *host,
                  bool verify, char *err, size_t size);
/* Advances the handshake: 0 done, -EAGAIN (wait for ing_tls_events), or -EPROTO with *kind and err.
 */
int ing_tls_handshake(struct ing_tls *t, enum ing_tls_failure *kind, char *err, size_t size);
/* The epoll event the session waits for (EPOLLIN or EPOLLOUT). */
uint32_t ing_tls_events(const struct ing_tls *t);
/* Reads decrypted bytes: > 0, 0 at EOF, -EAGAIN, or -ECONNRESET. */
long ing_tls_recv(struct ing_tls *t, uint8_t *buf, size_t len);
/* Whether decrypted bytes wait inside the session (epoll will not tell). */
bool ing_tls_pending(const struct ing_tls *t);
/*
 * Sends the start of buf: the bytes taken, -EAGAIN (call again later with
 * the same head of buf), or -ECONNRESET.
 */
long ing_tls_send(struct ing_tls *t, const uint8_t *buf, size_t len);
/* Ends the session (no close_notify waited for). A closed one is a no-op. */
void ing_tls_end(struct ing_tls *t);

/* ---- rtsp_loop.c: the ing-rtsp-N loop threads ---- */

struct ing_loop;
struct ing_loop_item;

/* What a loop calls on an item; all on the loop's thread. */
struct ing_loop_ops {
    void (*attach_cb)(struct ing_loop_item *it); /* first call, after ing_loop_add */
    void (*io_cb)(struct ing_loop_item *it, uint32_t events); /* epoll events of its fd */
    void (*timer_cb)(struct ing_loop_item *it); /* its due time passed */
    void (*detach_cb)(struct ing_loop_item *it); /* last call, after ing_loop_remove */
    /* EPOLLIN on one of its extra sockets (ing_loop_aux_set), with that socket's tag. */
    void (*aux_cb)(struct ing_loop_item *it, unsigned tag);
};

/* An extra socket of an item (a UDP track's RTP or RTCP), embedded in its owner. */
struct ing_loop_aux {
    struct ing_loop_item *item;
    int fd; /* registered with epoll; -1 none */
    unsigned tag;
};

/* Embedded in what a loop drives (an ing_native). Fields are the loop's. */
struct ing_loop_item {
    const struct ing_loop_ops *ops;
    struct ing_loop *loop;
    int fd; /* registered with epoll; -1 none */
    uint32_t events;
    int64_t due_ns; /* CLOCK_MONOTONIC; INT64_MAX = no timer */
    struct ing_loop_item *prev, *next; /* the loop's items */
    struct ing_loop_item *cmd_next; /* the loop's command queue */
    unsigned cmds; /* pending ADD/REMOVE bits, under the loop's lock */
    bool is_attached, is_queued;
};

/*
 * Takes a reference to the pool (starting `threads` loop threads on first
 * use, 0 = one per core, with reads batched over batch_us, 0 = none; a
 * running pool keeps both) and returns the loop with the fewest items.
 * Returns 0 or -errno. Thread: any but a loop thread.
 */
int ing_loop_acquire(unsigned threads, int batch_us, struct ing_loop **out);
/* Drops a reference; the last one stops and joins the threads. Thread: any but a loop's. */
void ing_loop_release(struct ing_loop *loop);
/* Queues it for attaching on loop (attach_cb runs there soon). Thread: any. */
void ing_loop_add(struct ing_loop *loop, struct ing_loop_item *it);
/* Queues it for detaching (detach_cb runs on the loop; then the loop forgets it). Thread: any. */
void ing_loop_remove(struct ing_loop_item *it);
/* Registers fd (or, with fd -1, unregisters the old one). Returns 0 or -errno. Loop thread. */
int ing_loop_fd_set(struct ing_loop_item *it, int fd, uint32_t events);
/*
 * Registers fd for EPOLLIN as an extra socket of it (aux_cb gets tag), or
 * with fd -1 unregisters a's socket. a must stay put until the item is
 * detached. Returns 0 or -errno. Loop thread.
 */
int ing_loop_aux_set(struct ing_loop_item *it, struct ing_loop_aux *a, int fd, unsigned tag);
/* Sets the item's next due time (CLOCK_MONOTONIC ns; INT64_MAX = none). Loop thread. */
void ing_loop_timer_set(struct ing_loop_item *it, int64_t due_ns);
/* The loop's shared receive buffer (valid during a callback). Loop thread. */
uint8_t *ing_loop_rbuf(struct ing_loop_item *it, size_t *size);
/* CLOCK_MONOTONIC in ns. */
int64_t ing_loop_now_ns(void);

/* ---- rtsp_reorder.c: RTP over UDP back in sequence order (docs/design/0073) ---- */

#define ING_REORDER_SLOTS 16 /* packets a hole may hold back */
#define ING_REORDER_MTU 1600 /* the largest packet held; a larger one goes out as it came */

struct ing_reorder_slot;

struct ing_reorder {
    struct ing_reorder_slot *slots; /* owned: ING_REORDER_SLOTS */
    int64_t hold_ns; /* how long a hole may hold packets back */
    bool has_next;
    uint16_t next; /* the sequence number expected next */
    unsigned held;
    uint64_t reordered; /* packets held for an earlier one */
    uint64_t late; /* duplicates and packets behind what went out: dropped */
};

/* Called with each packet as it goes out, in sequence order, borrowed for the call. */
typedef void (*ing_reorder_cb)(void *arg, const uint8_t *data, size_t len);

/* Prepares r (allocates its slots). */
void ing_reorder_init(struct ing_reorder *r, int64_t hold_ns);
/* Frees the slots and forgets what was held and counted. An unused or released r is a no-op. */
void ing_reorder_release(struct ing_reorder *r);
/* Takes one RTP packet that arrived at now_ns; cb gets what may go out now. */
void ing_reorder_push(struct ing_reorder *r, const uint8_t *data, size_t len, int64_t now_ns,
                      ing_reorder_cb cb, void *arg);
/* Gives up on holes that held packets for hold_ns: they go out, the hole is a loss. */
void ing_reorder_expire(struct ing_reorder *r, int64_t now_ns, ing_reorder_cb cb, void *arg);

/* ---- rtsp_udp.c: RTP and RTCP over UDP (docs/design/0073) ---- */

/* One track's two sockets: RTP on an even port, RTCP on the next. */
struct ing_udp_pair {
    int fd[2]; /* RTP, RTCP; -1 none */
    struct ing_loop_aux aux[2]; /* their registrations with the stream's loop */
    int port; /* our RTP port; 0 when closed */
};

/* Datagrams not taken by ing_udp_read. */
struct ing_udp_counts {
    uint64_t foreign; /* from another address than the camera's */
    uint64_t truncated; /* larger than a slot of the receive buffer */
};

/* Called by ing_udp_read for each datagram from the camera, borrowed for the call. */
typedef void (*ing_udp_datagram_cb)(void *arg, const uint8_t *data, size_t len);

/* Marks both sockets absent. */
void ing_udp_pair_init(struct ing_udp_pair *p);
/*
 * Binds an even port and the next one on local's address (its port is
 * ignored). Returns 0, or -errno with a sentence in err.
 */
int ing_udp_pair_open(struct ing_udp_pair *p, const struct sockaddr_storage *local, socklen_t len,
                      char *err, size_t size);
/* Unregisters both sockets from it's loop and closes them. Loop thread. */
void ing_udp_pair_close(struct ing_udp_pair *p, struct ing_loop_item *it);
/* Whether a and b name the same IP address (ports aside). */
bool ing_udp_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/*
 * Reads what waits on fd (bounded: a few batches) into buf, cut in slots,
 * and passes each datagram from camera's address to cb; others are
 * counted. Returns the datagrams passed, or -errno on a socket error.
 */
long ing_udp_read(int fd, const struct sockaddr_storage *camera, uint8_t *buf, size_t cap,
                  ing_udp_datagram_cb cb, void *arg, struct ing_udp_counts *counts);
/* Sends one datagram from fd to camera's address at port. Returns 0 or -errno. */
int ing_udp_send(int fd, const struct sockaddr_storage *camera, socklen_t len, int port,
                 const uint8_t *data, size_t n);

#endif
