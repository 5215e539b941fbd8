/*
 * Private to src/ingest: the ing_stream object shared by its two clients.
 * stream.c owns the lifecycle, status, metrics, tracks and delivery to the
 * sink; stream_libav.c runs a stream on its own thread with libavformat;
 * rtsp_stream.c runs it on an ing-rtsp-N loop thread with our own client.
 *
 * Whichever client runs a stream, exactly one thread (the stream's
 * "driver") calls the functions below for it, so tracks, breaker, timeline
 * and window counters need no lock; s->mu guards only s->status.
 */
#ifndef HORUS_STREAM_INT_H
#define HORUS_STREAM_INT_H

#include "ingest_int.h"

#include "log.h"

#include <pthread.h>
#include <stdatomic.h>

struct ing_track {
    enum media_kind kind;
    enum media_codec codec;
    uint32_t timescale;
    struct ing_param_sets ps;
    media_stream *cur; /* owned; NULL until the parameters are known */
    bool is_announced; /* stream_cb was called with cur */
    bool needs_keyframe;
    uint32_t epoch;
    struct ing_timeline tl;
    /*
     * Packets held at a session's start until the reorder depth is known
     * and a connect burst is over (timeline.c rules 7 and 8)
     */
    struct ing_held {
        media_packet *mp; /* a reference */
        int64_t raw_pts, arrival_us, arrival_ns;
    } held[ING_HOLD_CAP];
    unsigned nheld;
    bool is_hold_done; /* video: the burst is over, held until audio's hold ends too */
    const media_stream *announced; /* compared only: the stream the sink heard of last */
    uint64_t logged_discontinuities;
    uint64_t counted_repaired; /* tl.repaired as last counted in the metric */
    bool is_repair_logged; /* once per track and camera */
    uint64_t logged_rejected, logged_rejected_runs; /* rule 6 of timeline.c, as last logged */
    int64_t rejected_logged_ns; /* monotonic; 0 = never */
    metrics_series *frames, *bytes, *fps, *bitrate, *rejected, *repaired, *overlapped;
    bool is_overlap_logged; /* once per track and camera */
    metrics_series *clock_offset, *clock_jitter; /* timeline.c rule 8 */
    struct ing_srclock srclock; /* the camera's clock from its sender reports (srclock.c) */
    /* libavformat client: the AVStream index (-1 if none) and its time base */
    int index;
    int tb_num, tb_den;
};

struct ing_native; /* rtsp_stream.c */

struct ing_stream {
    char *camera, *stream, *url, *tls_ca; /* owned */
    char url_masked[256];
    struct ing_stream_options opt;
    enum ing_client client; /* the one started: NATIVE or LIBAV (NATIVE may hand over to libav) */
    enum ing_transport transport; /* in use: TCP or UDP (UDP after an auto fallback); driver's */
    bool is_started; /* ing_stream_start succeeded (caller's thread only) */
    atomic_bool stop;

    /* libavformat client (stream_libav.c) */
    pthread_t thread;
    bool has_thread;
    _Atomic int64_t deadline_ns; /* monotonic; 0 = none */
    atomic_bool timed_out;
    pthread_mutex_t wake_mu;
    pthread_cond_t wake;

    /* native client (rtsp_stream.c) */
    struct ing_native *native; /* owned */

    struct ing_breaker breaker;
    struct ing_track video, audio;
    uint64_t window_frames, window_bytes;
    int64_t window_start_ns;

    pthread_mutex_t mu; /* guards status */
    struct ing_stream_status status;

    metrics_series *up, *reconnects, *fallbacks, *breaker_state[3];
    /* RTCP (docs/design/0053): refusals by reason, each logged once per stream */
    metrics_series *rtcp_rejected[ING_SR_VERDICTS], *camera_offset;
    unsigned rtcp_logged; /* bit per enum ing_sr_verdict; driver only */
};

/* camera=, stream= context for log lines. */
const log_field *ing_stream_kv(const ing_stream *s, log_field kv[3]);

int64_t ing_stream_now_ns(const ing_stream *s);

/* Publishes the breaker's state (status, metric, one log line when changed). */
void ing_stream_breaker_publish(ing_stream *s, bool changed);

/* Marks the stream up or down (status and horus_camera_up). */
void ing_stream_set_up(ing_stream *s, bool up);

/* The first media of a session went out: up, logged, breaker closed. */
void ing_stream_media_started(ing_stream *s);

/*
 * A session ended with reason and text (no credentials in it). Tells the
 * sink about the gap when media had flowed, records the failure in the
 * breaker and the status, and logs (rate-limited).
 */
void ing_stream_session_failed(ing_stream *s, enum ing_reason reason, const char *text,
                               bool got_media, bool is_stall, bool is_last);

/*
 * Transport auto met a camera that refuses RTP over TCP: the stream uses
 * UDP (libav) from now on. Logs once, counts, updates the status. Driver
 * only.
 */
void ing_stream_fall_back_to_udp(ing_stream *s);

/* Counts a reconnect (status and metric). */
void ing_stream_count_reconnect(ing_stream *s);

/* The driver stopped for good (stop or max_connects): is_finished, down. */
void ing_stream_finish(ing_stream *s);

/* Updates the fps and rate gauges once a second. */
void ing_stream_window_tick(ing_stream *s);

void ing_track_init(struct ing_track *t, enum media_kind kind);
/* Ends the track's session: the next one announces a new stream. */
void ing_track_end_session(struct ing_track *t);
/* Makes t->cur from t->ps (a new epoch). Returns 0 or HORUS_EPARSE (cur unchanged). */
int ing_track_video_build(struct ing_track *t);
/*
 * Opens an AAC track from its AudioSpecificConfig: a new stream, a new
 * epoch. Returns 0 or HORUS_ECODEC.
 */
int ing_track_audio_open(struct ing_track *t, const uint8_t *asc, size_t size);
/* A G.711 (PCMU, PCMA) audio track at rate: the same, for a codec without extradata. */
int ing_track_audio_open_g711(struct ing_track *t, enum media_codec codec, uint32_t rate);
/*
 * Rebuilds the video stream after its parameter sets changed and logs the
 * change. Returns true when t->cur is usable.
 */
bool ing_track_video_params_changed(ing_stream *s, struct ing_track *t);

/*
 * Announces mp's stream if needed, stamps mp (timeline: raw_pts in the
 * track's timescale or ING_TS_NONE, arrival now) and hands it to the sink;
 * updates counters. mp stays the caller's (a video packet at a session's
 * start may be held, by reference, until the reorder depth is known).
 */
void ing_stream_deliver(ing_stream *s, struct ing_track *t, media_packet *mp, int64_t raw_pts);

/*
 * A sender report of t's source (in: everything but server_us, which the
 * timeline gives the report's RTP instant, raw_pts in t's timescale):
 * checked and folded into t's camera clock, or refused (counted, logged
 * once per reason). Returns false, doing nothing, while t's timeline has no
 * session to compare with: the caller keeps the report for later. Driver
 * only.
 */
bool ing_stream_sender_report(ing_stream *s, struct ing_track *t, struct ing_sr_input *in,
                              int64_t raw_pts);

/* An RTCP packet refused for why (detail: the sentence's end): counted, logged once. */
void ing_stream_rtcp_refused(ing_stream *s, enum ing_sr_verdict why, const char *detail);

/* ---- the clients ---- */

/* stream_libav.c: start the stream's own thread; wake it; wait for it. */
int ing_libav_start(ing_stream *s);
void ing_libav_wake(ing_stream *s);
void ing_libav_join(ing_stream *s);

/* rtsp_stream.c: attach to a loop thread; ask it to detach; wait; free what is left. */
int ing_native_start(ing_stream *s);
void ing_native_stop(ing_stream *s);
void ing_native_join(ing_stream *s);
void ing_native_free(ing_stream *s);

/* True when the native client can take this URL and transport (rtsp:// over TCP). */
bool ing_native_supports(const char *url, enum ing_transport transport);

#endif
