/*
 * Ingest: camera sessions turned into media_packets.
 *
 * One ing_stream is one camera stream (a camera's "main" or "sub") that
 * connects, reads, converts packets to the media/media.h contract
 * (length-prefixed NAL units, avcC/hvcC or AudioSpecificConfig extradata,
 * 64-bit monotonic timeline mapped to UTC) and pushes them into one
 * media_sink. Failures go through a per-stream circuit breaker
 * (docs/design/0004-ingest-timeline-and-breaker.md).
 *
 * Two clients run streams (docs/design/0008-native-rtsp-client.md): our
 * own RTSP client for rtsp:// and rtsps:// over TCP or UDP, where a small pool of
 * `ing-rtsp-N` epoll threads each drives many streams, and libavformat, one
 * `ing-<camera>` thread per stream, for other URLs and as a fallback chosen by
 * configuration. Sink callbacks are made on
 * the driving thread, which is shared by many cameras for the native
 * client: they must not block (queue and return).
 *
 * Lifecycle (every module's rule): ing_stream_new allocates and starts
 * nothing; ing_stream_start starts the stream on its driving thread;
 * ing_stream_stop asks and ing_stream_join waits (the rule's stop, split so
 * many streams stop in parallel); ing_stream_free frees. Settings travel
 * in each stream's options (ing_config_stream_options): ingest keeps no
 * process-wide defaults.
 *
 * Thread: the functions below may be called from any thread unless noted.
 */
#ifndef HORUS_INGEST_H
#define HORUS_INGEST_H

#include "cfg.h"
#include "clock.h"
#include "media.h"
#include "metrics.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ing_stream ing_stream;

enum ing_transport {
    ING_TRANSPORT_TCP, /* RTSP-interleaved (a zeroed options struct asks for it) */
    ING_TRANSPORT_UDP,
    /*
     * TCP first; a camera that refuses it (461 Unsupported Transport) is
     * retried at once over UDP, which the stream then keeps until it is
     * made again (docs/design/0034). The `ingest.transport` default.
     */
    ING_TRANSPORT_AUTO,
};

/* "tcp", "udp", "auto". Static. */
const char *ing_transport_name(enum ing_transport transport);

/* Which RTSP client runs a stream. */
enum ing_client {
    ING_CLIENT_DEFAULT, /* native (callers pass the configured one: ing_config_stream_options) */
    ING_CLIENT_NATIVE, /* ours: rtsp:// over TCP on the ing-rtsp-N loop threads */
    ING_CLIENT_LIBAV, /* libavformat on a thread of its own */
};

/* The longest camera URL ing_url_check accepts, in bytes. */
#define ING_URL_MAX 1000

/*
 * Checks that url is one the RTSP client can use: rtsp:// or rtsps://
 * (lower case), optional user[:password]@ (percent-escapes allowed), a
 * host, a port 1..65535 when given, no spaces or control characters, at
 * most ING_URL_MAX bytes. Returns 0, or -EINVAL with a reason that reads
 * after the field's name ("has no host") written into why (size bytes,
 * may be NULL); the reason never quotes the URL, which may hold a
 * password. Thread: any.
 */
int ing_url_check(const char *url, char *why, size_t size);

/* "native", "libav". Static. */
const char *ing_client_name(enum ing_client client);

/* Why a session failed; ING_REASON_NONE while none has. */
enum ing_reason {
    ING_REASON_NONE,
    ING_REASON_AUTH_FAILED, /* 401 after authenticating, or no credentials */
    ING_REASON_UNREACHABLE, /* refused, reset, no route, DNS failure */
    ING_REASON_TIMEOUT, /* connect deadline or stall watchdog */
    ING_REASON_NOT_RTSP, /* the peer does not speak RTSP (bad reply, 400, 5xx) */
    ING_REASON_NOT_FOUND, /* 404: no such path */
    ING_REASON_UNSUPPORTED, /* no H.264/H.265 video and no AAC audio */
    ING_REASON_CLOSED, /* the camera ended the session (EOF) */
    ING_REASON_TLS, /* rtsps://: the TLS handshake failed or the certificate was refused */
    ING_REASON_OTHER,
};

/* Short machine name ("auth_failed", "unreachable", ...) of reason. Static. */
const char *ing_reason_code(enum ing_reason reason);
/* Human sentence ("authentication failed", ...) of reason. Static. */
const char *ing_reason_text(enum ing_reason reason);

/*
 * Maps a libav/errno return code to a reason. timed_out tells that our own
 * deadline fired (libav then reports AVERROR_EXIT); in_handshake that no
 * media had arrived yet (an EOF then means the peer reset us).
 */
enum ing_reason ing_reason_from_error(int averror, bool timed_out, bool in_handshake);

/* ---- circuit breaker policy (see breaker.c) ---- */

enum ing_breaker_state {
    ING_BREAKER_CLOSED,
    ING_BREAKER_OPEN,
    ING_BREAKER_HALF_OPEN,
};

#define ING_BREAKER_MAX_TIERS 6

/* Failures up to max_failures (inclusive) wait delay_ms before the next attempt. */
struct ing_breaker_tier {
    unsigned max_failures;
    int64_t delay_ms;
};

struct ing_breaker_policy {
    struct ing_breaker_tier tiers[ING_BREAKER_MAX_TIERS];
    unsigned ntiers;
    int64_t open_ms; /* after the last tier: OPEN this long, then one HALF_OPEN probe */
    int64_t jitter_ms; /* a random 0..jitter_ms is added to every delay */
};

/* The default policy: 1-5 at once, 6-10 every 10 s, 11-20 every 30 s, then OPEN 5 min. */
extern const struct ing_breaker_policy ing_breaker_policy_default;

/* "closed", "open", "half_open". Static. */
const char *ing_breaker_state_name(enum ing_breaker_state state);

/* ---- the `ingest:` config section (config.c) ---- */

struct ing_breaker_tier_config {
    int64_t failures;
    int64_t delay_ms;
};

struct ing_config {
    int client; /* CFG_ENUM index into "native", "libav" */
    int transport; /* CFG_ENUM index into "tcp", "udp", "auto": enum ing_transport */
    int64_t threads; /* ing-rtsp-N loop threads; 0 = one per CPU core */
    int64_t read_batch_ms; /* native client: reads batched over this window; 0 = none */
    int64_t connect_timeout_ms;
    int64_t stall_timeout_ms;
    int64_t max_ahead_ms; /* media ahead of the wall clock by more is dropped */
    char *tls_ca; /* PEM file of the CAs rtsps:// certificates must chain to; NULL/"" = system */
    struct {
        struct ing_breaker_tier_config *tiers;
        size_t ntiers; /* 0 = the default tiers */
        int64_t open_ms;
        int64_t jitter_ms;
    } breaker;
    struct {
        char **allow; /* CIDR blocks added to the built-in allow rules */
        size_t nallow;
        char **deny; /* CIDR blocks added to the built-in deny rules */
        size_t ndeny;
    } networks;
};

/* The schema table of the `ingest:` section (config.c). */
extern const cfg_field ing_config_fields[];

/*
 * Builds the breaker policy c describes. Returns 0, or -EINVAL with a
 * sentence in err (tier failure counts not increasing, too many tiers) and,
 * when where is not NULL, the offending field's address in *where (for
 * cfg_errors_add_field).
 */
int ing_config_policy(const struct ing_config *c, struct ing_breaker_policy *out, char *err,
                      size_t err_size, const void **where);

/* ---- networks cameras may be reached in (netpolicy.c, docs/design/0017 §4) ---- */

typedef struct ing_netpolicy ing_netpolicy;
struct addrinfo;
struct sockaddr;

/* Whether s is "ADDR" or "ADDR/PREFIX" (IPv4 or IPv6). */
bool ing_cidr_is_valid(const char *s);

/*
 * Builds the policy of c->networks on top of the built-in rules (deny
 * link-local and cloud metadata, allow loopback, private ranges and the
 * rest); c NULL = built-in rules only. The most specific rule containing an
 * address decides; on equal prefixes configured deny > configured allow >
 * built-in deny > built-in allow. Returns 0, or -EINVAL with a sentence in
 * why. Thread: any; the policy is immutable and may be shared.
 */
int ing_netpolicy_new(const struct ing_config *c, ing_netpolicy **out, char *why, size_t why_size);
void ing_netpolicy_free(ing_netpolicy *p);

/*
 * 0 when the address may be connected to; -EACCES with a sentence in why
 * ("address 169.254.169.254 is in the denied network 169.254.169.254/32
 * (cloud metadata) (ingest.networks)") when not. Thread: any.
 */
int ing_netpolicy_check_addr(const ing_netpolicy *p, const struct sockaddr *sa, char *why,
                             size_t why_size);

/* Every IPv4/IPv6 address of ai must be allowed. Same returns. */
int ing_netpolicy_check_addrinfo(const ing_netpolicy *p, const struct addrinfo *ai, char *why,
                                 size_t why_size);

/*
 * Resolves the host of an rtsp(s):// URL (getaddrinfo: may block for the
 * resolver's timeout) and checks every address. 0 also when the URL does
 * not parse or the name does not resolve now (connect time judges again);
 * -EACCES with why otherwise. Thread: any that may block.
 */
int ing_netpolicy_check_url(const ing_netpolicy *p, const char *url, char *why, size_t why_size);

/* ---- streams ---- */

struct ing_stream_options {
    const char *camera; /* camera id: thread name, log context, metric label; copied */
    const char *stream; /* "main" (default) or "sub"; copied */
    const char *url; /* rtsp(s)://[user:pass@]host[:port]/path; copied, logged masked */
    /*
     * rtsps:// on the native client: the PEM file of trusted CAs (NULL or
     * "" = the system store; copied), and whether to skip verifying the
     * camera's certificate (a per-camera escape hatch, logged at each
     * connect). docs/design/0033.
     */
    const char *tls_ca;
    bool tls_skip_verify;
    enum ing_transport transport;
    /*
     * ING_CLIENT_DEFAULT is native. The native client takes rtsp:// and
     * rtsps:// over TCP and UDP; other URLs run on libavformat.
     */
    enum ing_client client;
    /*
     * Loop threads of the native client's pool (ing-rtsp-N) when this
     * stream's start is the one that starts it; 0 = one per CPU core. A
     * running pool keeps its threads until its last stream is joined.
     */
    unsigned loop_threads;
    /*
     * The pool's read batch window in µs, taken like loop_threads: after a
     * wake with socket events a loop sleeps out the window before it waits
     * again, so each socket is read once per window. 0 = read at every wake.
     */
    int read_batch_us;
    int connect_timeout_ms; /* per connect/describe/setup/play; default 5000 */
    int stall_timeout_ms; /* no packet for this long = stall; default 10000 */
    /*
     * Media more than this far ahead of the wall clock is dropped (and
     * counted, horus_ingest_rejected_packets_total) until the wall clock
     * catches up: no recording is dated in the future and a camera cannot
     * send faster than real time for long. Default 5000.
     */
    int max_ahead_ms;
    unsigned max_connects; /* give up after this many connects; 0 = never (probe: 1) */
    const struct ing_breaker_policy *policy; /* NULL = default; copied */
    /*
     * Networks the stream may connect to, checked on every address before
     * each connect (a denied one fails the attempt as unreachable). NULL =
     * no check. Borrowed until ing_stream_free.
     */
    const ing_netpolicy *networks;
    const horus_clock *clock; /* NULL = system; borrowed until ing_stream_free */
    metrics_registry *metrics; /* NULL = no metrics; borrowed until ing_stream_free */
    /*
     * Borrowed until ing_stream_join returns. Its callbacks run on the
     * stream's driving thread (an ing-rtsp-N loop shared with other cameras,
     * or ing-<camera>) and must not block.
     */
    media_sink *sink;
};

/* A snapshot of a stream's health, for the API and /health. */
struct ing_stream_status {
    bool is_up; /* connected and receiving */
    enum ing_breaker_state breaker;
    enum ing_reason reason; /* of the last failure */
    char last_error[160]; /* sentence of the last failure, "" if none; no credentials */
    int64_t next_retry_unix_ms; /* when the next attempt is due; 0 while connected */
    uint64_t connects; /* sessions that delivered media */
    uint64_t reconnects;
    uint64_t packets, bytes; /* every track's, since the stream was made */
    uint64_t video_frames; /* video packets (access units) among packets */
    bool is_finished; /* the thread gave up (max_connects) or was stopped */
    enum ing_client client; /* the client running the stream */
    enum ing_transport transport; /* the transport in use now: TCP or UDP, never AUTO */
    uint64_t lost_packets; /* RTP sequence gaps (native client) */
    uint64_t dropped_frames; /* access units dropped: damaged, or waiting for a keyframe */
    /*
     * The camera offers audio this session does not record, named with the
     * reason ("audio not recorded: MP4A-LATM/48000/1 cpresent=1 ..."); ""
     * when all offered audio is recorded or none is offered. Native client.
     */
    char audio_note[160];
    /*
     * The camera's clock as ingest sees it (timeline.c rule 8), from the
     * video track (audio when there is none); has_clock false until a
     * packet after a session's start burst was mapped. clock_offset_us: the
     * smoothed time packets arrive after the wall time they were given
     * (network and camera delay; growing for a camera clock that runs slow,
     * negative while media ahead of the wall clock is slewed back);
     * clock_jitter_us: RFC 3550 interarrival jitter; clock_burst_us: how
     * much earlier than its first packet's arrival the current session was
     * anchored (a connect-time GOP burst; a few ms without one).
     */
    bool has_clock;
    int64_t clock_offset_us, clock_jitter_us, clock_burst_us;
    /*
     * The camera's own clock from its RTCP sender reports (docs/design/0053),
     * video's (audio's when video has none) in the current session:
     * has_camera_offset false until a report was accepted (the clock's
     * source is then "arrival"); camera_offset_us is the camera's NTP time
     * minus the server's wall time for the same media instant (smoothed).
     * rtcp_rejected counts the RTCP packets refused since the stream was
     * made (horus_ingest_rtcp_rejected_total by reason). Native client.
     */
    bool has_camera_offset;
    int64_t camera_offset_us;
    /*
     * How much later the recordings play audio than the picture it belongs
     * to (negative: earlier), by both tracks' sender reports mapped onto the
     * camera's one clock; has_av_offset false until both tracks have an
     * accepted report in the current session. Measured, not corrected (0053).
     */
    bool has_av_offset;
    int64_t av_offset_us;
    uint64_t rtcp_rejected;
};

/*
 * Fills the fields of o that the `ingest:` section decides (client,
 * transport, loop_threads, connect and stall timeouts); the caller sets the
 * rest. Every stream carries its own copy: ingest keeps no process-wide
 * defaults. Thread: any.
 */
void ing_config_stream_options(const struct ing_config *cfg, struct ing_stream_options *o);

/*
 * Lifecycle (the rule every module follows): ing_stream_new allocates and
 * starts nothing; ing_stream_start starts; ing_stream_stop asks and
 * ing_stream_join waits (split so that many streams stop in parallel, one
 * interruption delay for all); ing_stream_free frees, joining first if the
 * caller did not.
 */

/*
 * Creates a stream (no thread, no connection yet). On success *out is a
 * new stream. Returns 0, or -EINVAL for a missing camera, url or sink.
 * Thread: any.
 */
int ing_stream_new(const struct ing_stream_options *opt, ing_stream **out);

/*
 * Starts the stream: on an ing-rtsp-N loop thread (native client, starting
 * the pool with the first stream) or its own ing-<camera> thread (libav).
 * Returns 0, or -errno when no thread can start (then no sink callback is
 * ever made; free s). Starting a started stream is a no-op. Thread: any.
 */
int ing_stream_start(ing_stream *s);

/*
 * Asks the stream to stop (interrupts blocking libav calls; the native
 * client sends TEARDOWN and closes). Does not wait. Thread: any.
 */
void ing_stream_stop(ing_stream *s);

/*
 * Waits until the stream has stopped: its thread ended, or its loop thread
 * dropped it (the last stream joined stops the loop pool). After it returns
 * the sink is no longer called. Thread: any but an ingest thread.
 */
void ing_stream_join(ing_stream *s);

/* Stops and joins s if needed, then frees it. NULL is a no-op. */
void ing_stream_free(ing_stream *s);

/* Fills *out with the current status. */
void ing_stream_status_get(ing_stream *s, struct ing_stream_status *out);

/* ---- probe ---- */

#define ING_PROBE_MAX_STREAMS 4

struct ing_probe_stream {
    enum media_kind kind;
    enum media_codec codec;
    char codec_string[32];
    uint32_t width, height;
    double fps; /* measured from timestamps; 0 when unknown */
    uint32_t sample_rate, channels;
};

struct ing_probe_options {
    const char *url; /* borrowed for the call */
    int timeout_ms; /* connect timeout; default 5000 */
    int read_s; /* 0: stop as soon as the streams are known; N: read N seconds, reconnecting */
    int stall_timeout_ms; /* default 10000 */
    enum ing_client client; /* default: native; callers pass the configured one */
    enum ing_transport transport; /* default TCP; AUTO falls back to UDP after a 461 */
    const atomic_bool *cancel; /* borrowed, may be NULL: once true, the probe ends within ~100 ms */
    const ing_netpolicy *networks; /* borrowed, may be NULL: checked before the connect */
    const char *tls_ca; /* rtsps://: PEM file of trusted CAs; NULL = the system store */
    bool tls_skip_verify; /* rtsps://: accept any certificate */
};

struct ing_probe_result {
    enum ing_reason reason; /* ING_REASON_NONE on success */
    char message[160];
    struct ing_probe_stream streams[ING_PROBE_MAX_STREAMS]; /* the latest of each kind */
    unsigned nstreams;
    uint64_t packets, keyframes;
    double duration_s; /* wall time spent reading */
    bool dts_monotonic; /* every stream's dts strictly increased and pts >= dts */
    unsigned epochs; /* stream announcements (stream_cb calls) */
    unsigned gaps, stalls; /* gap_cb calls, of which stall detections */
    int64_t max_stall_detect_ms; /* longest time from last packet to stall detection */
    uint64_t reconnects;
    enum ing_client client; /* the client that ran the probe */
    enum ing_transport transport; /* the transport it used: TCP or UDP */
};

/*
 * Connects to opt->url and reads through a real ing_stream. With read_s 0
 * it connects once and stops when every stream's codec and size and the
 * video frame rate are known (or after about 3 s); otherwise it reads
 * read_s seconds and reconnects as a camera would. Returns 0 with
 * out->reason == ING_REASON_NONE when media arrived, or a negative code with
 * out->reason and out->message set. Blocks the caller. Thread: any.
 */
int ing_probe_run(const struct ing_probe_options *opt, struct ing_probe_result *out);

/* ing_probe_run with read_s 0. */
int ing_probe(const char *url, int timeout_ms, struct ing_probe_result *out);

#endif
