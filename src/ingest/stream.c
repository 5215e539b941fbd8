/*
 * DESIGN: what every camera stream has, whichever client drives it: the
 * lifecycle (start picks the client, stop, join, free), the status the API
 * reads, the metrics, the tracks (parameter sets -> media_stream epochs,
 * announced before their first packet) and delivery to the sink through
 * the per-track ing_timeline, which survives reconnects so a sink sees one
 * monotonic timeline per track. At each session's start the video track
 * holds its first few packets (by reference, in a fixed array: no
 * allocation) until the timeline knows the reorder depth (timeline.c rule
 * 7), so B-frames are ordered from the first frame; a session that ends
 * during the hold drops what was held.
 *
 * Transport auto (docs/design/0034): a stream starts on TCP (the native
 * client unless libav is asked for); when the camera refuses RTP over TCP
 * (461) the driver calls ing_stream_fall_back_to_udp and the stream runs
 * on over UDP with the same client until it is made again. Status says
 * what is in use.
 *
 * The client (stream_libav.c: libavformat on the stream's own thread;
 * rtsp_stream.c: our RTSP client on a shared ing-rtsp-N loop thread) is
 * the stream's only "driver": it alone calls the track, breaker and
 * delivery functions here, so they take no lock. s->mu guards the status
 * fields only; it is never held across I/O, logging or sink callbacks.
 */
#define LOG_MODULE "ingest"

#include "stream_int.h"

#include "cfg.h"
#include "err.h"
#include "mem.h"
#include "thread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *ing_reason_code(enum ing_reason reason)
{
    static const char *const codes[] = {"none",     "auth_failed", "unreachable", "timeout",
                                        "not_rtsp", "not_found",   "unsupported", "closed",
                                        "tls",      "error"};
    return reason <= ING_REASON_OTHER ? codes[reason] : "error";
}

const char *ing_reason_text(enum ing_reason reason)
{
    static const char *const texts[] = {"no error",          "authentication failed",
                                        "unreachable",       "timeout",
                                        "not RTSP",          "stream not found",
                                        "unsupported codec", "connection closed by the camera",
                                        "TLS failed",        "error"};
    return reason <= ING_REASON_OTHER ? texts[reason] : "error";
}

const char *ing_client_name(enum ing_client client)
{
    switch (client) {
    case ING_CLIENT_NATIVE:
        return "native";
    case ING_CLIENT_LIBAV:
        return "libav";
    default:
        return "default";
    }
}

const char *ing_transport_name(enum ing_transport transport)
{
    switch (transport) {
    case ING_TRANSPORT_UDP:
        return "udp";
    case ING_TRANSPORT_AUTO:
        return "auto";
    default:
        return "tcp";
    }
}

const log_field *ing_stream_kv(const ing_stream *s, log_field kv[3])
{
    kv[0] = (log_field){"camera", s->camera};
    kv[1] = (log_field){"stream", s->stream};
    kv[2] = (log_field){0, 0};
    return kv;
}

int64_t ing_stream_now_ns(const ing_stream *s)
{
    return clock_monotonic_ns(s->opt.clock);
}

/* ---- configuration ---- */

bool ing_native_supports(const char *url, enum ing_transport transport)
{
    (void)transport; /* both clients speak TCP and UDP */
    return strncasecmp(url, "rtsp://", 7) == 0 || strncasecmp(url, "rtsps://", 8) == 0;
}

/* The client of a stream: what its options ask for (default native), if it can take the URL. */
static enum ing_client client_resolve(const struct ing_stream_options *opt)
{
    enum ing_client c = opt->client == ING_CLIENT_LIBAV ? ING_CLIENT_LIBAV : ING_CLIENT_NATIVE;
    if (c == ING_CLIENT_NATIVE && !ing_native_supports(opt->url, opt->transport))
        c = ING_CLIENT_LIBAV;
    return c;
}

/* ---- metrics ---- */

static metrics_family *family(ing_stream *s, enum metrics_type type, const char *name,
                              const char *help, const char *labels)
{
    return metrics_family_add(s->opt.metrics, &(struct metrics_desc){
                                                  .type = type,
                                                  .name = name,
                                                  .help = help,
                                                  .labels = labels,
                                              });
}

static void track_metrics_init(ing_stream *s, struct ing_track *t)
{
    if (!s->opt.metrics)
        return;
    char stream[64];
    snprintf(stream, sizeof(stream), "%s%s", s->stream,
             t->kind == MEDIA_KIND_AUDIO ? "/audio" : "");
    t->frames = metrics_series_get(family(s, METRICS_COUNTER, "horus_ingest_frames_total",
                                          "Frames received from cameras", "camera,stream"),
                                   s->camera, stream);
    t->bytes = metrics_series_get(family(s, METRICS_COUNTER, "horus_ingest_bytes_total",
                                         "Bytes of media received from cameras", "camera,stream"),
                                  s->camera, stream);
    metrics_family *dropped =
        family(s, METRICS_COUNTER, "horus_ingest_rejected_packets_total",
               "Packets dropped at ingest: ahead_of_wall_clock = media time more than "
               "ingest.max_ahead ahead of the wall clock (a camera sending faster than real "
               "time); audio_overlap = audio stamped at or before audio already delivered "
               "(its clock moved back a little, as at an RTCP resync): it would repeat sound",
               "camera,stream,reason");
    t->rejected = metrics_series_get(dropped, s->camera, stream, "ahead_of_wall_clock");
    t->overlapped = t->kind == MEDIA_KIND_AUDIO
                        ? metrics_series_get(dropped, s->camera, stream, "audio_overlap")
                        : NULL;
    t->repaired = metrics_series_get(
        family(s, METRICS_COUNTER, "horus_ingest_timestamps_repaired_total",
               "Packets whose decode time was moved one tick forward to keep it increasing: "
               "a camera reordering frames deeper than its SPS declares and its first frames "
               "showed, or repeating timestamps",
               "camera,stream"),
        s->camera, stream);
    t->clock_offset = metrics_series_get(
        family(s, METRICS_GAUGE, "horus_ingest_clock_offset_seconds",
               "Smoothed time packets arrive after the wall-clock time they are given (network and "
               "camera delay; grows for a camera clock that runs slow)",
               "camera,stream"),
        s->camera, stream);
    t->clock_jitter = metrics_series_get(
        family(s, METRICS_GAUGE, "horus_ingest_clock_jitter_seconds",
               "Interarrival jitter of the camera's packets against their media time (RFC 3550)",
               "camera,stream"),
        s->camera, stream);
    if (t->kind == MEDIA_KIND_VIDEO) {
        t->fps = metrics_series_get(family(s, METRICS_GAUGE, "horus_ingest_fps",
                                           "Video frames per second over the last second",
                                           "camera,stream"),
                                    s->camera, stream);
        t->bitrate = metrics_series_get(
            family(s, METRICS_GAUGE, "horus_ingest_rate_bytes_per_second",
                   "Media bytes per second over the last second", "camera,stream"),
            s->camera, stream);
    }
}

static void stream_metrics_init(ing_stream *s)
{
    track_metrics_init(s, &s->video);
    track_metrics_init(s, &s->audio);
    if (!s->opt.metrics)
        return;
    s->up = metrics_series_get(
        family(s, METRICS_GAUGE, "horus_camera_up", "1 while the camera delivers media", "camera"),
        s->camera);
    s->reconnects = metrics_series_get(family(s, METRICS_COUNTER, "horus_ingest_reconnects_total",
                                              "Sessions that ended and were retried", "camera"),
                                       s->camera);
    s->fallbacks = metrics_series_get(
        family(s, METRICS_COUNTER, "horus_ingest_transport_fallbacks_total",
               "Streams with transport auto that fell back to UDP because the camera refuses RTP "
               "over TCP (461 Unsupported Transport)",
               "camera,stream"),
        s->camera, s->stream);
    metrics_family *f = family(s, METRICS_GAUGE, "horus_camera_breaker_state",
                               "1 for the circuit breaker's current state", "camera,state");
    for (int i = 0; i < 3; i++)
        s->breaker_state[i] = metrics_series_get(f, s->camera, ing_breaker_state_name(i));
    metrics_gauge_set(s->breaker_state[ING_BREAKER_CLOSED], 1);
    f = family(s, METRICS_COUNTER, "horus_ingest_rtcp_rejected_total",
               "RTCP packets ignored (docs/design/0053): malformed, ssrc (a sender report of "
               "another source), ntp_range (NTP time over a day from the server's clock), "
               "rtp_range (RTP time far from the stream's), outlier (a jump of the camera clock)",
               "camera,stream,reason");
    for (int v = ING_SR_MALFORMED; v < ING_SR_VERDICTS; v++)
        s->rtcp_rejected[v] = metrics_series_get(f, s->camera, s->stream, ing_sr_verdict_code(v));
    s->camera_offset = metrics_series_get(
        family(s, METRICS_GAUGE, "horus_ingest_camera_clock_offset_seconds",
               "The camera's NTP clock minus the server's, from its RTCP sender reports "
               "(smoothed; absent until a report was accepted)",
               "camera,stream"),
        s->camera, s->stream);
}

static void gauge_set(metrics_series *m, double v)
{
    if (m)
        metrics_gauge_set(m, v);
}

static void counter_add(metrics_series *m, double v)
{
    if (m)
        metrics_counter_add(m, v);
}

/* ---- status ---- */

void ing_stream_breaker_publish(ing_stream *s, bool changed)
{
    enum ing_breaker_state st = s->breaker.state;
    int64_t wait_ms = ing_breaker_wait_ms(&s->breaker);
    pthread_mutex_lock(&s->mu);
    s->status.breaker = st;
    s->status.next_retry_unix_ms = s->status.is_up ? 0 : clock_realtime_ms(s->opt.clock) + wait_ms;
    pthread_mutex_unlock(&s->mu);
    if (!changed)
        return;
    for (int i = 0; i < 3; i++)
        gauge_set(s->breaker_state[i], i == (int)st ? 1 : 0);
    log_field kv[3];
    log_at(st == ING_BREAKER_CLOSED ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, ing_stream_kv(s, kv),
           "circuit breaker %s (consecutive failures: %u)", ing_breaker_state_name(st),
           s->breaker.failures);
}

void ing_stream_set_up(ing_stream *s, bool up)
{
    pthread_mutex_lock(&s->mu);
    s->status.is_up = up;
    if (up) {
        s->status.connects++;
        s->status.next_retry_unix_ms = 0;
    }
    pthread_mutex_unlock(&s->mu);
    gauge_set(s->up, up ? 1 : 0);
}

void ing_stream_media_started(ing_stream *s)
{
    ing_stream_set_up(s, true);
    log_field kv[3];
    log_info_kv(ing_stream_kv(s, kv), "streaming from '%s' (%s client, %s)", s->url_masked,
                ing_client_name(s->client), ing_transport_name(s->transport));
    ing_stream_breaker_publish(s, ing_breaker_success(&s->breaker));
}

void ing_stream_session_failed(ing_stream *s, enum ing_reason reason, const char *text,
                               bool got_media, bool is_stall, bool is_last)
{
    if (got_media) {
        ing_stream_set_up(s, false);
        s->opt.sink->ops->gap_cb(s->opt.sink, is_stall ? "stall" : ing_reason_code(reason));
    }
    bool changed = ing_breaker_failure(&s->breaker);
    pthread_mutex_lock(&s->mu);
    /* A refused certificate stays refused: logged once, again only when the cause changes. */
    bool is_repeat = reason == ING_REASON_TLS && s->status.reason == ING_REASON_TLS &&
                     strcmp(s->status.last_error, text) == 0;
    s->status.reason = reason;
    snprintf(s->status.last_error, sizeof(s->status.last_error), "%s", text);
    pthread_mutex_unlock(&s->mu);
    ing_stream_breaker_publish(s, changed);

    log_field kv[3];
    int64_t wait_ms = ing_breaker_wait_ms(&s->breaker);
    /* Rate-limited: the first failure of a run, then every 10th; a TLS refusal once per cause. */
    if (is_last)
        log_warn_kv(ing_stream_kv(s, kv), "'%s': %s; giving up", s->url_masked, text);
    else if (got_media || (!is_repeat && (s->breaker.failures == 1 || reason == ING_REASON_TLS ||
                                          s->breaker.failures % 10 == 0)))
        log_warn_kv(ing_stream_kv(s, kv), "'%s': %s; retry in %lld ms (failure %u)", s->url_masked,
                    text, (long long)wait_ms, s->breaker.failures);
}

void ing_stream_fall_back_to_udp(ing_stream *s)
{
    s->transport = ING_TRANSPORT_UDP;
    pthread_mutex_lock(&s->mu);
    s->status.transport = ING_TRANSPORT_UDP;
    pthread_mutex_unlock(&s->mu);
    counter_add(s->fallbacks, 1);
    log_field kv[3];
    log_warn_kv(ing_stream_kv(s, kv),
                "camera %s refuses RTP over TCP (461 Unsupported Transport); using UDP", s->camera);
}

void ing_stream_count_reconnect(ing_stream *s)
{
    counter_add(s->reconnects, 1);
    pthread_mutex_lock(&s->mu);
    s->status.reconnects++;
    pthread_mutex_unlock(&s->mu);
}

void ing_stream_finish(ing_stream *s)
{
    ing_stream_set_up(s, false);
    pthread_mutex_lock(&s->mu);
    s->status.is_finished = true;
    pthread_mutex_unlock(&s->mu);
}

void ing_stream_status_get(ing_stream *s, struct ing_stream_status *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->status;
    pthread_mutex_unlock(&s->mu);
}

void ing_stream_window_tick(ing_stream *s)
{
    int64_t now = ing_stream_now_ns(s);
    int64_t span = now - s->window_start_ns;
    if (span < 1000000000)
        return;
    gauge_set(s->video.fps, (double)s->window_frames * 1e9 / (double)span);
    gauge_set(s->video.bitrate, (double)s->window_bytes * 1e9 / (double)span);
    struct ing_track *tracks[2] = {&s->video, &s->audio};
    for (int i = 0; i < 2; i++) {
        if (!tracks[i]->tl.has_clock_stats)
            continue;
        gauge_set(tracks[i]->clock_offset, (double)tracks[i]->tl.lag_us / 1e6);
        gauge_set(tracks[i]->clock_jitter, (double)tracks[i]->tl.jitter_us / 1e6);
    }
    const struct ing_srclock *c =
        s->video.srclock.has_offset ? &s->video.srclock : &s->audio.srclock;
    if (c->has_offset)
        gauge_set(s->camera_offset, (double)c->offset_us / 1e6);
    s->window_frames = s->window_bytes = 0;
    s->window_start_ns = now;
}

/* ---- tracks ---- */

void ing_track_init(struct ing_track *t, enum media_kind kind)
{
    memset(t, 0, sizeof(*t));
    t->index = -1;
    t->kind = kind;
    ing_timeline_init(&t->tl, kind == MEDIA_KIND_VIDEO ? 90000 : 48000,
                      kind == MEDIA_KIND_VIDEO ? 3600 : 1024);
}

static void track_hold_drop(struct ing_track *t)
{
    for (unsigned i = 0; i < t->nheld; i++)
        media_packet_unref(t->held[i].mp);
    t->nheld = 0;
    t->is_hold_done = false;
}

void ing_track_end_session(struct ing_track *t)
{
    track_hold_drop(t);
    media_stream_unref(t->cur);
    t->cur = NULL;
    t->is_announced = false;
    t->index = -1;
    ing_timeline_reset_session(&t->tl);
    ing_srclock_reset(&t->srclock);
}

int ing_track_video_build(struct ing_track *t)
{
    struct ing_sps_info info;
    struct ing_nal sps = {t->ps.data[ING_PS_SPS], t->ps.size[ING_PS_SPS]};
    int rc = ing_sps_parse(t->codec, &sps, &info);
    if (rc < 0)
        return rc;
    uint8_t rec[3 * ING_PS_MAX_SIZE + 64];
    int n = ing_decoder_config_build(&t->ps, &info, rec, sizeof(rec));
    if (n < 0)
        return n;
    media_stream *ms = media_stream_new(MEDIA_KIND_VIDEO, t->codec, 90000, rec, (size_t)n);
    ms->width = info.width;
    ms->height = info.height;
    ms->epoch = ++t->epoch;
    ing_codec_string_video(t->codec, &info, ms->codec_string, sizeof(ms->codec_string));
    ing_timeline_set_reorder(&t->tl, info.max_reorder);
    media_stream_unref(t->cur);
    t->cur = ms;
    t->is_announced = false;
    return 0;
}

bool ing_track_video_params_changed(ing_stream *s, struct ing_track *t)
{
    if (!ing_param_sets_complete(&t->ps))
        return t->cur != NULL;
    log_field kv[3];
    bool had = t->cur != NULL;
    if (ing_track_video_build(t) < 0) {
        log_warn_limited("unparsable parameter sets", ing_stream_kv(s, kv),
                         "unparsable parameter sets: packet dropped");
        return false;
    }
    if (had)
        log_info_kv(ing_stream_kv(s, kv), "video parameters changed: %s %ux%u epoch %u",
                    t->cur->codec_string, t->cur->width, t->cur->height, t->epoch);
    return true;
}

int ing_track_audio_open_g711(struct ing_track *t, enum media_codec codec, uint32_t rate)
{
    if (!media_codec_is_g711(codec) || rate == 0)
        return HORUS_ECODEC;
    t->codec = codec;
    t->timescale = rate;
    t->needs_keyframe = false;
    if (t->tl.timescale != rate)
        ing_timeline_init(&t->tl, rate, 160);
    ing_timeline_set_reorder(&t->tl, 0);
    media_stream *ms = media_stream_new(MEDIA_KIND_AUDIO, codec, rate, NULL, 0);
    ms->sample_rate = rate;
    ms->channels = 1;
    ms->epoch = ++t->epoch;
    snprintf(ms->codec_string, sizeof(ms->codec_string), "%s",
             codec == MEDIA_CODEC_PCMU ? "ulaw" : "alaw");
    media_stream_unref(t->cur);
    t->cur = ms;
    t->is_announced = false;
    return 0;
}

int ing_track_audio_open(struct ing_track *t, const uint8_t *asc, size_t size)
{
    unsigned aot;
    uint32_t rate, channels;
    if (!asc || ing_aac_config_parse(asc, size, &aot, &rate, &channels) < 0)
        return HORUS_ECODEC;
    t->codec = MEDIA_CODEC_AAC;
    t->timescale = rate;
    t->needs_keyframe = false;
    if (t->tl.timescale != rate)
        ing_timeline_init(&t->tl, rate, 1024);
    ing_timeline_set_reorder(&t->tl, 0); /* audio never reorders: held only for a burst */
    media_stream *ms = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, rate, asc, size);
    ms->sample_rate = rate;
    ms->channels = channels;
    ms->epoch = ++t->epoch;
    snprintf(ms->codec_string, sizeof(ms->codec_string), "mp4a.40.%u", aot);
    media_stream_unref(t->cur);
    t->cur = ms;
    t->is_announced = false;
    return 0;
}

/*
 * The timeline started refusing packets (rule 6: ahead of the wall clock).
 * The sink hears of the hole; the first run is logged, then a summary at
 * most once a minute.
 */
static void stream_rejecting(ing_stream *s, struct ing_track *t, int64_t now_ns)
{
    media_sink *sink = s->opt.sink;
    sink->ops->gap_cb(sink, "media ahead of the wall clock");
    const struct ing_timeline *tl = &t->tl;
    if (t->rejected_logged_ns && now_ns - t->rejected_logged_ns < INT64_C(60000000000))
        return;
    log_field kv[3];
    log_warn_kv(ing_stream_kv(s, kv),
                "%s media ahead of the wall clock by more than %lld ms (a camera sending faster "
                "than real time, or a clock in the future): packets dropped until the wall clock "
                "catches up (%llu packets in %llu runs before this one since the last report)",
                t->kind == MEDIA_KIND_VIDEO ? "video" : "audio",
                (long long)(tl->max_ahead_us / 1000),
                (unsigned long long)(tl->rejected - 1 - t->logged_rejected),
                (unsigned long long)(tl->rejected_runs - 1 - t->logged_rejected_runs));
    t->rejected_logged_ns = now_ns;
    t->logged_rejected = tl->rejected;
    t->logged_rejected_runs = tl->rejected_runs;
}

/* The timeline nudged a timestamp (rule 4): counted, and logged once per track. */
static void stream_repaired(ing_stream *s, struct ing_track *t)
{
    uint64_t since = t->tl.repaired > t->counted_repaired ? t->counted_repaired : 0;
    counter_add(t->repaired, (double)(t->tl.repaired - since));
    t->counted_repaired = t->tl.repaired;
    if (t->is_repair_logged)
        return;
    t->is_repair_logged = true;
    log_field kv[3];
    log_warn_kv(ing_stream_kv(s, kv),
                "%s timestamps out of order (frames reordered deeper than the SPS declares, or "
                "repeated timestamps): decode times moved forward to keep them increasing "
                "(counted in horus_ingest_timestamps_repaired_total; logged once)",
                t->kind == MEDIA_KIND_VIDEO ? "video" : "audio");
}

/* Audio stamped back over what was delivered (timeline.c rule 4): logged once per track. */
static void stream_overlapped(ing_stream *s, struct ing_track *t, int64_t raw_pts)
{
    if (t->is_overlap_logged)
        return;
    t->is_overlap_logged = true;
    int64_t back = t->tl.last_pts - (t->tl.unwrapped_pts + t->tl.offset);
    log_field kv[3];
    log_info_kv(ing_stream_kv(s, kv),
                "audio timestamps moved back %lld ms (raw %lld): audio that would repeat sound "
                "already recorded is dropped (horus_ingest_rejected_packets_total"
                "{reason=\"audio_overlap\"}; logged once)",
                (long long)(back * 1000 / (t->tl.timescale ? t->tl.timescale : 1)),
                (long long)raw_pts);
}

/* Stamps one packet and hands it to the sink (ing_stream_deliver, after any hold). */
static void stream_push(ing_stream *s, struct ing_track *t, media_packet *mp, int64_t raw_pts,
                        int64_t arrival_us, int64_t arrival_ns)
{
    media_sink *sink = s->opt.sink;
    media_stream *ms = mp->stream ? mp->stream : t->cur;
    if (!t->is_announced || t->announced != ms) {
        sink->ops->stream_cb(sink, ms);
        t->is_announced = true;
        t->announced = ms;
    }
    t->tl.max_ahead_us = (int64_t)s->opt.max_ahead_ms * 1000;
    uint64_t runs = t->tl.rejected_runs;
    struct ing_timestamps ts =
        ing_timeline_map(&t->tl, raw_pts, arrival_us, t->kind == MEDIA_KIND_VIDEO);
    if (ts.is_rejected) {
        counter_add(t->rejected, 1);
        if (t->tl.rejected_runs != runs)
            stream_rejecting(s, t, arrival_ns);
        return;
    }
    if (ts.is_overlap) {
        counter_add(t->overlapped, 1);
        stream_overlapped(s, t, raw_pts);
        return;
    }
    if (t->tl.discontinuities != t->logged_discontinuities) {
        t->logged_discontinuities = t->tl.discontinuities;
        log_field kv[3];
        log_info_limited("timestamps jumped", ing_stream_kv(s, kv),
                         "%s timestamps jumped; timeline continues at %lld",
                         t->kind == MEDIA_KIND_VIDEO ? "video" : "audio", (long long)ts.dts);
    }
    if (t->tl.repaired != t->counted_repaired)
        stream_repaired(s, t);
    mp->dts = ts.dts;
    mp->pts = ts.pts;
    mp->wall_us = ts.wall_us;
    mp->arrival_ns = arrival_ns;
    sink->ops->packet_cb(sink, mp);

    counter_add(t->frames, 1);
    counter_add(t->bytes, (double)mp->size);
    pthread_mutex_lock(&s->mu);
    s->status.packets++;
    s->status.bytes += mp->size;
    if (t->kind == MEDIA_KIND_VIDEO)
        s->status.video_frames++;
    if (t->tl.has_clock_stats && (t->kind == MEDIA_KIND_VIDEO || !s->video.tl.has_clock_stats)) {
        s->status.has_clock = true;
        s->status.clock_offset_us = t->tl.lag_us;
        s->status.clock_jitter_us = t->tl.jitter_us;
        s->status.clock_burst_us = t->tl.last_burst_us;
    }
    const struct ing_srclock *c =
        s->video.srclock.has_offset ? &s->video.srclock : &s->audio.srclock;
    s->status.has_camera_offset = c->has_offset;
    s->status.camera_offset_us = c->offset_us;
    s->status.has_av_offset = s->video.srclock.has_offset && s->audio.srclock.has_offset;
    s->status.av_offset_us = s->video.srclock.epoch_us - s->audio.srclock.epoch_us;
    pthread_mutex_unlock(&s->mu);
    if (t->kind == MEDIA_KIND_VIDEO)
        s->window_frames++;
    s->window_bytes += mp->size;
}

/* The hold ends: the timeline learns from the held pts, then they go out in arrival order. */
static void stream_hold_release(ing_stream *s, struct ing_track *t)
{
    int64_t raw[ING_HOLD_CAP], arrival[ING_HOLD_CAP];
    for (unsigned i = 0; i < t->nheld; i++) {
        raw[i] = t->held[i].raw_pts;
        arrival[i] = t->held[i].arrival_us;
    }
    ing_timeline_prime(&t->tl, raw, t->nheld);
    ing_timeline_measure_burst(&t->tl, raw, arrival, t->nheld);
    if (t->nheld)
        t->held[0].raw_pts = raw[0];
    unsigned n = t->nheld;
    t->nheld = 0;
    t->is_hold_done = false;
    for (unsigned i = 0; i < n; i++) {
        struct ing_held *h = &t->held[i];
        stream_push(s, t, h->mp, h->raw_pts, h->arrival_us, h->arrival_ns);
        media_packet_unref(h->mp);
        h->mp = NULL;
    }
}

/*
 * Ends a track's hold. The recorder opens a segment at a video keyframe with
 * the tracks it has seen a packet of, so held audio goes out before held
 * video: video whose burst is over waits for audio's hold to end (bounded
 * by ING_HOLD_US and ING_HOLD_CAP like any hold).
 */
static void stream_hold_end(ing_stream *s, struct ing_track *t, bool is_forced)
{
    if (t->kind == MEDIA_KIND_VIDEO && s->audio.nheld > 0 && !is_forced) {
        t->is_hold_done = true;
        return;
    }
    stream_hold_release(s, t);
    if (t->kind == MEDIA_KIND_AUDIO && s->video.is_hold_done)
        stream_hold_release(s, &s->video);
}

/* Rules 7 and 8 of timeline.c: true when mp was held (the hold keeps a reference). */
static bool stream_hold(ing_stream *s, struct ing_track *t, media_packet *mp, int64_t raw_pts,
                        int64_t arrival_us, int64_t arrival_ns)
{
    if (t->nheld == 0) {
        if (ing_timeline_hold_frames(&t->tl) == 0)
            return false;
    } else if (mp->stream != t->held[0].mp->stream ||
               arrival_us - t->held[0].arrival_us >= ING_HOLD_US) {
        stream_hold_end(s, t, true); /* new parameters, or held long enough: mp goes after */
        return false;
    }
    t->held[t->nheld++] = (struct ing_held){media_packet_ref(mp), raw_pts, arrival_us, arrival_ns};
    if (t->is_hold_done && t->nheld < ING_HOLD_CAP)
        return true; /* video waiting for audio's hold */
    int64_t raw[ING_HOLD_CAP], arrival[ING_HOLD_CAP];
    for (unsigned i = 0; i < t->nheld; i++) {
        raw[i] = t->held[i].raw_pts;
        arrival[i] = t->held[i].arrival_us;
    }
    if (!ing_timeline_hold_more(&t->tl, raw, arrival, t->nheld))
        stream_hold_end(s, t, t->nheld >= ING_HOLD_CAP);
    return true;
}

void ing_stream_deliver(ing_stream *s, struct ing_track *t, media_packet *mp, int64_t raw_pts)
{
    int64_t arrival_ns = ing_stream_now_ns(s);
    int64_t arrival_us = clock_realtime_ms(s->opt.clock) * 1000;
    if (stream_hold(s, t, mp, raw_pts, arrival_us, arrival_ns))
        return;
    stream_push(s, t, mp, raw_pts, arrival_us, arrival_ns);
}

/* ---- RTCP (docs/design/0053) ---- */

void ing_stream_rtcp_refused(ing_stream *s, enum ing_sr_verdict why, const char *detail)
{
    counter_add(s->rtcp_rejected[why], 1);
    pthread_mutex_lock(&s->mu);
    s->status.rtcp_rejected++;
    pthread_mutex_unlock(&s->mu);
    if (s->rtcp_logged & 1u << why)
        return;
    s->rtcp_logged |= 1u << why;
    log_field kv[3];
    log_warn_kv(ing_stream_kv(s, kv),
                "RTCP ignored: %s; recording is not affected (counted in "
                "horus_ingest_rtcp_rejected_total{reason=\"%s\"}, logged once)",
                detail, ing_sr_verdict_code(why));
}

bool ing_stream_sender_report(ing_stream *s, struct ing_track *t, struct ing_sr_input *in,
                              int64_t raw_pts)
{
    if (!ing_timeline_wall_of(&t->tl, raw_pts, &in->server_us, &in->media_us))
        return false;
    int64_t before = t->srclock.offset_us;
    enum ing_sr_verdict v = ing_srclock_add(&t->srclock, in);
    char detail[160];
    switch (v) {
    case ING_SR_ACCEPTED:
        return true;
    case ING_SR_REANCHORED: {
        log_field kv[3];
        log_info_kv(ing_stream_kv(s, kv),
                    "%s sender reports: the camera clock stepped by %lld ms (now %+lld ms from "
                    "this server's)",
                    t->kind == MEDIA_KIND_VIDEO ? "video" : "audio",
                    (long long)((t->srclock.offset_us - before) / 1000),
                    (long long)(t->srclock.offset_us / 1000));
        return true;
    }
    case ING_SR_SSRC:
        snprintf(detail, sizeof(detail), "a sender report of SSRC %08x, not the stream's %08x",
                 (unsigned)in->ssrc, (unsigned)in->stream_ssrc);
        break;
    case ING_SR_NTP_RANGE:
        snprintf(detail, sizeof(detail),
                 "a sender report whose NTP time is %lld s from this server's clock (the camera's "
                 "clock is not set?)",
                 (long long)((in->ntp_us - in->arrival_us) / 1000000));
        break;
    case ING_SR_RTP_RANGE:
        snprintf(detail, sizeof(detail),
                 "a sender report whose RTP time is %lld ms from the stream's",
                 (long long)(in->rtp_delta_us / 1000));
        break;
    case ING_SR_OUTLIER:
        snprintf(detail, sizeof(detail),
                 "a sender report that would move the camera clock by %lld ms",
                 (long long)((in->ntp_us - in->server_us - t->srclock.offset_us) / 1000));
        break;
    default:
        snprintf(detail, sizeof(detail), "%s", ing_sr_verdict_code(v));
        break;
    }
    ing_stream_rtcp_refused(s, v, detail);
    return true;
}

/* ---- lifecycle ---- */

int ing_stream_new(const struct ing_stream_options *opt, ing_stream **out)
{
    if (!opt->camera || !opt->url || !opt->sink)
        return -EINVAL;
    ing_stream *s = horus_calloc(1, sizeof(*s));
    s->opt = *opt;
    s->camera = horus_strdup(opt->camera);
    s->stream = horus_strdup(opt->stream ? opt->stream : "main");
    s->url = horus_strdup(opt->url);
    s->opt.camera = s->camera;
    s->opt.stream = s->stream;
    s->opt.url = s->url;
    s->tls_ca = horus_strdup(opt->tls_ca ? opt->tls_ca : "");
    s->opt.tls_ca = s->tls_ca;
    s->opt.policy = NULL;
    if (!s->opt.clock)
        s->opt.clock = clock_system();
    if (s->opt.connect_timeout_ms <= 0)
        s->opt.connect_timeout_ms = 5000;
    if (s->opt.stall_timeout_ms <= 0)
        s->opt.stall_timeout_ms = 10000;
    if (s->opt.max_ahead_ms <= 0)
        s->opt.max_ahead_ms = 5000;
    s->client = client_resolve(&s->opt);
    s->status.client = s->client;
    s->transport = s->opt.transport == ING_TRANSPORT_UDP ? ING_TRANSPORT_UDP : ING_TRANSPORT_TCP;
    s->status.transport = s->transport;
    cfg_mask_url(s->url, s->url_masked, sizeof(s->url_masked));
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->wake_mu, NULL);
    horus_cond_init_monotonic(&s->wake);
    ing_breaker_init(&s->breaker, opt->policy, s->opt.clock,
                     (uint64_t)clock_monotonic_ns(s->opt.clock) ^ (uint64_t)(uintptr_t)s);
    ing_track_init(&s->video, MEDIA_KIND_VIDEO);
    ing_track_init(&s->audio, MEDIA_KIND_AUDIO);
    stream_metrics_init(s);
    *out = s;
    return 0;
}

int ing_stream_start(ing_stream *s)
{
    if (s->is_started)
        return 0;
    int rc = s->client == ING_CLIENT_NATIVE ? ing_native_start(s) : ing_libav_start(s);
    if (rc == 0)
        s->is_started = true;
    return rc;
}

void ing_stream_stop(ing_stream *s)
{
    if (s->client == ING_CLIENT_NATIVE)
        ing_native_stop(s);
    else
        ing_libav_wake(s);
}

void ing_stream_join(ing_stream *s)
{
    if (s->client == ING_CLIENT_NATIVE)
        ing_native_join(s);
    else
        ing_libav_join(s);
}

void ing_stream_free(ing_stream *s)
{
    if (!s)
        return;
    ing_stream_stop(s);
    ing_stream_join(s);
    ing_native_free(s);
    track_hold_drop(&s->video);
    track_hold_drop(&s->audio);
    media_stream_unref(s->video.cur);
    media_stream_unref(s->audio.cur);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->wake_mu);
    pthread_mutex_destroy(&s->mu);
    free(s->camera);
    free(s->stream);
    free(s->url);
    free(s->tls_ca);
    free(s);
}
