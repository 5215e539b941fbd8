/*
 * Private to rtsp_stream.c and rtsp_stream_rtcp.c: a stream driven by the
 * native RTSP client on a loop thread (docs/design/0008).
 */
#ifndef HORUS_RTSP_NATIVE_INT_H
#define HORUS_RTSP_NATIVE_INT_H

#include "rtsp_int.h"
#include "stream_int.h"

#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>

#define HOLD_MAX 64 /* video access units held at session start until audio shows */

enum native_state {
    N_WAIT,
    N_RESOLVE,
    N_CONNECT,
    N_TLS, /* rtsps://: the TLS handshake */
    N_HANDSHAKE,
    N_PLAYING,
    N_DONE, /* gave up (max_connects) */
};

struct native_track {
    struct ing_native *n;
    enum ing_rtsp_track id;
    struct ing_depack depack;
    bool is_used; /* set up and understood */
    int payload_type;
    uint32_t clock_rate;
    /* RTCP (docs/design/0053): what our receiver reports say, and the latest sender report */
    struct rtp_rx_stats rx; /* rx.ssrc and rx.has_seq: the RTP stream's SSRC, once seen */
    uint32_t last_rtp_ts; /* of the latest RTP packet */
    struct rtcp_sr sr;
    struct ing_udp_pair udp; /* transport udp: this track's RTP and RTCP sockets */
    struct ing_reorder reorder; /* transport udp: RTP back in sequence order */
    bool has_sr; /* sr waits for the timeline's session (ing_stream_sender_report) */
    int64_t sr_arrival_us; /* wall clock */
};

struct ing_native {
    struct ing_loop_item item; /* first: the loop hands us &item */
    ing_stream *s; /* borrowed: the stream owns us */
    struct ing_loop *loop; /* a pool reference, released in ing_native_free */
    enum native_state state;
    int fd;
    struct ing_rtsp_conn conn;
    /* transport udp: the camera's address (the RTSP connection's peer) and what was refused */
    bool is_udp;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    struct ing_udp_counts udp_counts;
    bool is_foreign_logged;
    /* horus_ingest_udp_anomalies_total by kind (reordered, late, foreign, truncated) */
    metrics_series *udp_anomalies[4];
    uint64_t udp_reported[4];
    unsigned udp_tag; /* the socket being read: 2 * track + (1 for RTCP) */
    /* rtsps:// */
    bool is_tls;
    struct ing_tls tls;
    struct ing_tls_creds *creds; /* a shared trust store reference; NULL when it failed to load */
    char creds_error[160];
    metrics_family *tls_failures;
    struct native_track tracks[ING_RTSP_TRACKS];
    uint8_t *carry; /* owned: bytes of an incomplete frame or reply */
    size_t carry_len, carry_cap;
    unsigned attempts;
    bool got_media;
    bool is_stall;
    enum ing_rtsp_phase phase_seen;
    int64_t now_ns; /* of the read being processed */
    int64_t deadline_ns; /* handshake: the reply to the current request is due */
    int64_t last_rx_ns; /* last RTP packet */
    int64_t keepalive_ns;
    int64_t tick_ns; /* next once-a-second housekeeping */
    /* name resolution */
    struct gaicb gai;
    struct addrinfo hints;
    char port[8];
    bool is_resolving;
    /* the camera's addresses (owned until the session ends) and the next to try if the
       connect in progress fails: a name may resolve to an address nothing listens on (::1
       before 127.0.0.1) */
    struct addrinfo *addrs;
    const struct addrinfo *next_addr;
    /* RTCP receiver reports: our SSRC (random per session) and when the next are due */
    uint32_t rr_ssrc;
    int64_t rr_ns;
    /*
     * At session start, video waits (at most HOLD_MAX units or HOLD_NS from
     * its first unit) for the first audio unit: a sink then learns of both
     * tracks before the first keyframe, and the recorder's first segment has
     * both. Audio that comes before the first video unit (the depacketiser
     * starts at a keyframe) is dropped: each track's timeline starts at its
     * first packet, so audio kept from the moment of joining would play as
     * late as the wait for the keyframe (up to a GOP; design 0061).
     */
    bool is_holding;
    bool has_video_au; /* this session delivered or held a video unit */
    int64_t hold_until_ns;
    unsigned nheld;
    struct {
        media_packet *au; /* owned */
        uint32_t rtp_ts;
    } held[HOLD_MAX];
    /* stop and join */
    atomic_bool is_stopping;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool is_detached;
    /* counters reported at the tick */
    uint64_t reported_lost;
    metrics_series *lost;
    metrics_series *unsupported; /* sessions offering audio we cannot record */
    bool is_note_logged; /* the audio note was logged (once per stream) */
};

/* The loop hands us &item, the first member. */
static inline struct ing_native *ing_native_of(struct ing_loop_item *it)
{
    return (struct ing_native *)it;
}

/* ---- rtsp_stream.c ---- */

/* Fails the session with reason and text, then waits for the breaker. */
void ing_native_fail(struct ing_native *n, enum ing_reason reason, const char *text);
/* The stream track a session track feeds. */
struct ing_track *ing_native_track_of(struct native_track *nt);
/* An RTP timestamp in the track's timescale (the timeline's raw pts). */
int64_t ing_native_raw_of(const struct native_track *nt, const struct ing_track *t,
                          uint32_t rtp_ts);
/* One RTP or RTCP packet of a track (an interleaved frame or a datagram), borrowed. */
void ing_native_packet(void *arg, enum ing_rtsp_track track, bool is_rtcp, const uint8_t *data,
                       size_t len);

/* ---- rtsp_stream_rtcp.c ---- */

/* Offers the track's pending sender report to the camera clock; kept while there is no session. */
void ing_native_sr_apply(struct native_track *nt);
/* An RTCP packet from the camera: its sender report, if any, dates the camera's clock. */
void ing_native_rtcp(struct ing_native *n, struct native_track *nt, const uint8_t *data,
                     size_t len);
/* Sends (UDP) or queues (interleaved) a receiver report for each track that received RTP. */
void ing_native_receiver_reports(struct ing_native *n);
/* Binds each track's ports beside the RTSP connection and tells the session. Returns 0 or -1. */
int ing_native_udp_open(struct ing_native *n, const struct ing_sdp_media *video,
                        const struct ing_sdp_media *audio);
/* The loop's aux_cb: a track's RTP or RTCP socket is readable (tag 2 * track + is_rtcp). */
void ing_native_on_aux(struct ing_loop_item *it, unsigned tag);
/* Once a second while playing over UDP: holes held too long give up, anomalies are counted. */
void ing_native_udp_tick(struct ing_native *n, int64_t now_ns);
/* The metric series of horus_ingest_udp_anomalies_total (with metrics). */
void ing_native_udp_metrics(struct ing_native *n, metrics_registry *metrics);

#endif
