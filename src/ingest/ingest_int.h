/*
 * Private to src/ingest (and its unit tests): the pure pieces of ingest.
 * bitstream.c converts and describes H.264/H.265/AAC bitstreams (start
 * codes and NAL types are media_bitstream.h's), timeline.c
 * maps camera timestamps to the 64-bit timeline, breaker.c decides when to
 * reconnect. None of them do I/O, log or take locks.
 */
#ifndef HORUS_INGEST_INT_H
#define HORUS_INGEST_INT_H

#include "ingest.h"
#include "media_bitstream.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- bitstream.c ---- */

#define ING_PS_MAX_SIZE 512 /* bigger parameter sets are rejected */

/* One NAL unit inside a borrowed buffer. */
struct ing_nal {
    const uint8_t *data; /* borrowed: first byte is the NAL header */
    size_t size;
};

/*
 * Splits an Annex B buffer (00 00 01 / 00 00 00 01 start codes) into at most
 * max NAL units, borrowed from buf. Data before the first start code is
 * ignored; a buffer without start codes is one NAL unit. Returns the count
 * (never more than max; the last unit then runs to the end of buf).
 */
size_t ing_annexb_split(const uint8_t *buf, size_t size, struct ing_nal *nals, size_t max);

/* Parameter set kinds, as media_nal_ps_kind (media_bitstream.h) tells them. */
enum ing_ps_kind {
    ING_PS_VPS = MEDIA_PS_VPS,
    ING_PS_SPS = MEDIA_PS_SPS,
    ING_PS_PPS = MEDIA_PS_PPS,
    ING_PS_COUNT = MEDIA_PS_COUNT,
};

/* The current parameter sets of a video stream (one of each kind). */
struct ing_param_sets {
    enum media_codec codec;
    uint8_t data[ING_PS_COUNT][ING_PS_MAX_SIZE];
    size_t size[ING_PS_COUNT];
};

/* Stores nal as the set of its kind. Returns true when that changed the sets. */
bool ing_param_sets_update(struct ing_param_sets *ps, enum ing_ps_kind kind,
                           const struct ing_nal *nal);
/* True when every set the codec needs is present (H.265 needs the VPS too). */
bool ing_param_sets_complete(const struct ing_param_sets *ps);

/* What an SPS says (the parts ingest needs). */
struct ing_sps_info {
    uint32_t width, height; /* after cropping */
    uint8_t profile_idc, constraint_flags, level_idc; /* H.264 (constraint = byte 2 of SPS) */
    /* H.265 profile_tier_level */
    uint8_t profile_space, tier_flag, general_profile_idc, general_level_idc;
    uint32_t profile_compat_flags;
    uint8_t constraint_bytes[6];
    uint8_t chroma_format_idc, bit_depth_luma, bit_depth_chroma;
    uint8_t max_sub_layers, temporal_id_nested;
    /*
     * Frames that may precede a frame in decoding order and follow it in
     * output order: H.264 VUI max_num_reorder_frames (0 for a profile
     * without B-frames), H.265 sps_max_num_reorder_pics of the highest
     * sub-layer; -1 when the SPS does not say (or says something broken).
     */
    int8_t max_reorder;
};

/* Parses a H.264 or H.265 SPS NAL unit (with its header). Returns 0 or HORUS_EPARSE. */
int ing_sps_parse(enum media_codec codec, const struct ing_nal *sps, struct ing_sps_info *out);

/*
 * Builds the avcC (H.264) or hvcC (H.265) record of complete sets into buf.
 * Returns its size, or HORUS_EPARSE / -ENOSPC.
 */
int ing_decoder_config_build(const struct ing_param_sets *ps, const struct ing_sps_info *sps,
                             uint8_t *buf, size_t size);

/* RFC 6381 codec string: "avc1.PPCCLL" / "hvc1.P.C.TL.BB". Returns 0 or -ENOSPC. */
int ing_codec_string_video(enum media_codec codec, const struct ing_sps_info *sps, char *buf,
                           size_t size);

/* AudioSpecificConfig: object type, rate and channels; "mp4a.40.N". Returns 0 or HORUS_EPARSE. */
int ing_aac_config_parse(const uint8_t *asc, size_t size, unsigned *object_type,
                         uint32_t *sample_rate, uint32_t *channels);

/*
 * Writes the NAL units of an access unit as 4-byte length-prefixed units
 * into out (room for size + 4 * nnals bytes is always enough), leaving out
 * units with skip[i] true. Returns the bytes written.
 */
size_t ing_nals_to_length_prefixed(const struct ing_nal *nals, const bool *skip, size_t nnals,
                                   uint8_t *out);

/* ---- peer.c ---- */

/*
 * Tells "reset before answering" (UNREACHABLE) from "answered, but not as
 * RTSP" (NOT_RTSP) after libav reported AVERROR_INVALIDDATA during a
 * handshake, with one plain TCP OPTIONS exchange of at most timeout_ms.
 */
enum ing_reason ing_peer_classify(const char *url, int timeout_ms);

/* ---- timeline.c ---- */

#define ING_TS_NONE INT64_MIN /* a packet without this timestamp (AV_NOPTS_VALUE) */
#define ING_REORDER_MAX 16
#define ING_HOLD_MAX                                                                               \
    16 /* video frames held at a session's start while the reorder depth is unknown */
#define ING_HOLD_CAP                                                                               \
    256 /* packets a hold can keep: a connect burst of a 4 s GOP at 60 fps (rule 8) */
#define ING_HOLD_US 1000000 /* ... and for at most this long (arrival time) */
#define ING_BURST_MARGIN_US 5000 /* less than this ahead of real time is jitter, not a burst */

struct ing_timeline {
    uint32_t timescale;
    int64_t default_duration; /* ticks per frame until measured */
    /* The timeline */
    bool has_output;
    int64_t last_dts, last_pts, last_wall_us;
    int64_t duration; /* last measured frame duration */
    /* The session: raw timestamps unwrapped to 64 bits */
    bool in_session;
    int64_t last_raw_pts; /* as received (low 32 bits matter) */
    int64_t unwrapped_pts; /* unwrapped raw pts of the last packet */
    int64_t offset; /* timeline pts = unwrapped raw pts + offset */
    int64_t last_arrival_us;
    /* DTS derivation: recent timeline pts, and the reorder depth seen */
    int64_t recent_pts[ING_REORDER_MAX];
    unsigned nrecent, recent_pos;
    unsigned reorder;
    int reorder_hint; /* from the SPS (rule 7); -1 = unknown */
    bool is_primed; /* ing_timeline_prime ran for the session about to start */
    int64_t lead_duration; /* frame duration fixed at session start (rule 4) */
    int64_t max_pts; /* largest pts delivered */
    /* wall clock */
    int64_t anchor_wall_us, anchor_pts;
    uint64_t discontinuities;
    uint64_t repaired; /* rule 4: video dts nudged by a tick (deeper reordering than known) */
    uint64_t overlapped; /* rule 4: audio packets not delivered, stamped at or before the last */
    /* Rule 6: media may not run ahead of the wall clock */
    int64_t max_ahead_us; /* 0 = no limit (set by the owner) */
    bool is_rejecting; /* dropping until the wall clock reaches last_wall_us */
    uint64_t rejected; /* packets refused */
    uint64_t rejected_runs; /* times rejecting started */
    /* Rule 8: the connect burst, and the clock statistics of on-time packets */
    int64_t burst_lead_us; /* measured by the hold: the next session is anchored this earlier */
    int64_t last_burst_us; /* the correction the current session started with */
    unsigned stats_skip; /* packets of the burst still to be mapped (kept out of the stats) */
    bool has_clock_stats;
    int64_t lag_us; /* smoothed arrival - wall_us (1/16 per packet) */
    int64_t jitter_us; /* RFC 3550 interarrival jitter of arrival against media time */
};

struct ing_timestamps {
    int64_t dts, pts, wall_us;
    bool is_rejected; /* ahead of the wall clock (rule 6): do not deliver */
    bool is_overlap; /* audio at or before the last delivered (rule 4): do not deliver */
};

/* Starts an empty timeline. default_duration: ticks per frame/packet before one is measured. */
void ing_timeline_init(struct ing_timeline *tl, uint32_t timescale, int64_t default_duration);

/* A new session (reconnect): the next raw timestamps restart from anywhere. */
void ing_timeline_reset_session(struct ing_timeline *tl);

/*
 * Maps one packet. raw_pts is the camera's presentation time in timescale
 * ticks (ING_TS_NONE if absent; only its low 32 bits are trusted),
 * arrival_us the wall-clock UTC time it arrived, and is_video selects DTS
 * derivation for reordered frames (audio has dts == pts). A packet whose
 * wall time would be more than tl->max_ahead_us ahead of its arrival comes
 * back is_rejected (the other fields are then meaningless), and so do the
 * packets after it until the wall clock has caught up with the last one
 * delivered (rule 6). An audio packet stamped at or before the last one
 * delivered comes back is_overlap (rule 4), the other fields meaningless.
 */
struct ing_timestamps ing_timeline_map(struct ing_timeline *tl, int64_t raw_pts, int64_t arrival_us,
                                       bool is_video);

/*
 * Rule 7: the reorder depth the SPS declares (k >= 0), or -1 when it does
 * not say. Takes effect at the next session start.
 */
void ing_timeline_set_reorder(struct ing_timeline *tl, int k);

/*
 * How many video frames the owner should hold at a session's start (0:
 * map at once) before priming the timeline with their raw pts; the owner
 * also stops holding once ING_HOLD_US of arrival time has passed.
 */
unsigned ing_timeline_hold_frames(const struct ing_timeline *tl);

/*
 * Learns the reorder depth and the frame duration from the raw pts of the
 * n frames held at a session's start (in arrival order), before they are
 * mapped with ing_timeline_map. A first frame without pts (ING_TS_NONE) is
 * given one in raw_pts[0]: one frame before the smallest that follows.
 */
void ing_timeline_prime(struct ing_timeline *tl, int64_t *raw_pts, unsigned n);

/*
 * Rule 8: whether the owner should go on holding after these n packets of
 * a session's start (raw pts and arrival times, in arrival order): fewer
 * than ing_timeline_hold_frames, or the last one arrived ahead of real time
 * (a connect burst still coming). False at ING_HOLD_CAP; the owner also
 * stops at ING_HOLD_US of arrival time.
 */
bool ing_timeline_hold_more(const struct ing_timeline *tl, const int64_t *raw_pts,
                            const int64_t *arrival_us, unsigned n);

/*
 * Rule 8, after ing_timeline_prime on the same packets: measures how far
 * the first packet arrived behind the lower envelope of arrival minus
 * decode time, and anchors the session that earlier.
 */
void ing_timeline_measure_burst(struct ing_timeline *tl, const int64_t *raw_pts,
                                const int64_t *arrival_us, unsigned n);

/*
 * The wall time the current session's mapping gives a raw presentation
 * time (timescale ticks, low 32 bits trusted, within 2^31 ticks of the last
 * packet's): where an RTCP sender report's RTP instant lies in server time;
 * *media_us is the same instant on the timeline (pts in microseconds).
 * Returns false, leaving both alone, outside a session.
 */
bool ing_timeline_wall_of(const struct ing_timeline *tl, int64_t raw_pts, int64_t *wall_us,
                          int64_t *media_us);

/* ---- srclock.c: the camera's clock from RTCP sender reports (docs/design/0053) ---- */

#define ING_SR_NTP_MAX_US (INT64_C(86400) * 1000000) /* NTP this far from ours: not a clock */
#define ING_SR_RTP_MAX_US INT64_C(10000000) /* RTP this far from the stream's: not its mapping */
#define ING_SR_OUTLIER_US INT64_C(250000) /* a sample this far from the estimate is an outlier */
#define ING_SR_REANCHOR 3 /* agreeing outliers in a row that replace the estimate */
#define ING_SR_SMOOTH 8 /* accepted samples move the estimate by 1/8 of their distance */

/* What became of one sender report; the refusals label horus_ingest_rtcp_rejected_total. */
enum ing_sr_verdict {
    ING_SR_ACCEPTED, /* folded into the estimate */
    ING_SR_REANCHORED, /* agreeing outliers replaced the estimate (the camera's clock stepped) */
    ING_SR_MALFORMED, /* not a valid RTCP packet (the caller's finding) */
    ING_SR_SSRC, /* another SSRC than the RTP stream's */
    ING_SR_NTP_RANGE, /* NTP time more than ING_SR_NTP_MAX_US from the server's clock */
    ING_SR_RTP_RANGE, /* RTP time more than ING_SR_RTP_MAX_US from the stream's latest packet */
    ING_SR_OUTLIER, /* its sample jumped more than ING_SR_OUTLIER_US from the estimate */
    ING_SR_VERDICTS,
};

/* "accepted", "malformed", "ssrc", "ntp_range", "rtp_range", "outlier", ... Static. */
const char *ing_sr_verdict_code(enum ing_sr_verdict v);

/* One sender report, as the owner sees it against its stream and timeline. */
struct ing_sr_input {
    uint32_t ssrc; /* the report's */
    bool has_stream_ssrc; /* an RTP packet was seen ... */
    uint32_t stream_ssrc; /* ... with this SSRC */
    int64_t ntp_us; /* the report's NTP time, Unix microseconds */
    int64_t rtp_delta_us; /* its RTP time minus the stream's latest packet's, in microseconds */
    int64_t arrival_us; /* the server's wall clock when it arrived */
    int64_t server_us; /* the wall time the timeline gives its RTP instant */
    int64_t media_us; /* the timeline time (pts) of its RTP instant, in microseconds */
};

/* The filtered offset of the camera's NTP clock against the server's wall time. */
struct ing_srclock {
    bool has_offset;
    int64_t offset_us; /* camera NTP minus server wall time, smoothed */
    /*
     * The camera's NTP time of the track's timeline time 0 (smoothed like
     * offset_us): two tracks whose epochs differ play out of sync in the
     * recordings by that much (A/V sync is carried by each track's dts).
     */
    int64_t epoch_us;
    uint64_t accepted, reanchors;
    unsigned nout; /* outliers in a row ... */
    int64_t out_first_us, out_sum_us, out_epoch_sum_us; /* ... the first's sample, the sums */
};

/* Forgets the estimate (a new session or a new SSRC). */
void ing_srclock_reset(struct ing_srclock *c);

/* Checks one report and folds it in (rules in srclock.c). Returns the verdict. */
enum ing_sr_verdict ing_srclock_add(struct ing_srclock *c, const struct ing_sr_input *in);

/* ---- breaker.c ---- */

struct ing_breaker {
    struct ing_breaker_policy policy;
    const horus_clock *clock; /* borrowed */
    enum ing_breaker_state state;
    unsigned failures; /* consecutive, since the last success */
    int64_t next_attempt_ns; /* monotonic */
    uint64_t rng;
};

void ing_breaker_init(struct ing_breaker *b, const struct ing_breaker_policy *policy,
                      const horus_clock *clock, uint64_t seed);
/*
 * Asks whether an attempt may start now. In OPEN, once the period is over
 * it moves to HALF_OPEN and allows exactly one probe. Sets *changed when
 * the state changed.
 */
bool ing_breaker_allow(struct ing_breaker *b, bool *changed);
/* Milliseconds until an attempt is allowed (0 = now). */
int64_t ing_breaker_wait_ms(const struct ing_breaker *b);
/* Records a success (closes) or a failure (schedules the next attempt). Return true on change. */
bool ing_breaker_success(struct ing_breaker *b);
bool ing_breaker_failure(struct ing_breaker *b);

#endif
