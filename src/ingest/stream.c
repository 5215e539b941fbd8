/*
 * DESIGN: one camera stream = one thread `ing-<camera>` running
 *   wait for the breaker -> connect (libavformat RTSP) -> read loop -> gap
 * until ing_stream_stop. Every blocking libav call is bounded by our
 * interrupt callback, which checks the stop flag and a per-operation
 * deadline: connect_timeout_ms while connecting, and stall_timeout_ms after
 * the last packet while reading (our stall watchdog; libav's own socket
 * timeout is set too but not relied on).
 *
 * Packets are converted in place into the core/media.h contract: Annex B
 * becomes 4-byte length-prefixed NAL units, in-band parameter sets equal to
 * the stream's are dropped (new ones make a new media_stream, new epoch),
 * AUDs are dropped, and nothing is delivered before the session's first
 * keyframe. Timestamps go through a per-track ing_timeline that survives
 * reconnects, so a sink sees one monotonic timeline per track.
 *
 * Locking: s->mu guards the status fields only; it is never held across
 * libav calls, logging or sink callbacks. Sinks are called on this thread.
 */
#define LOG_MODULE "ingest"

#include "ingest_int.h"

#include "cfg.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "thread.h"

#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NALS 128

struct track {
    int index; /* AVStream index in the current session, -1 if none */
    enum media_kind kind;
    enum media_codec codec;
    AVRational time_base;
    uint32_t timescale;
    struct ing_param_sets ps;
    media_stream *cur; /* owned; NULL until the parameters are known */
    bool is_announced; /* stream_cb was called with cur */
    bool needs_keyframe;
    uint32_t epoch;
    struct ing_timeline tl;
    uint64_t logged_discontinuities;
    metrics_series *frames, *bytes, *fps, *bitrate;
};

struct ing_stream {
    char *camera, *stream, *url; /* owned */
    char url_masked[256];
    struct ing_stream_options opt;
    pthread_t thread;
    bool has_thread;
    atomic_bool stop;
    _Atomic int64_t deadline_ns; /* monotonic; 0 = none */
    atomic_bool timed_out;
    pthread_mutex_t wake_mu;
    pthread_cond_t wake;

    struct ing_breaker breaker;
    struct track video, audio;
    uint64_t window_frames, window_bytes;
    int64_t window_start_ns;

    pthread_mutex_t mu; /* guards status */
    struct ing_stream_status status;

    metrics_series *up, *reconnects, *breaker_state[3];
};

const char *ing_reason_code(enum ing_reason reason)
{
    static const char *const codes[] = {"none",        "auth_failed", "unreachable",
                                        "timeout",     "not_rtsp",    "not_found",
                                        "unsupported", "closed",      "error"};
    return reason <= ING_REASON_OTHER ? codes[reason] : "error";
}

const char *ing_reason_text(enum ing_reason reason)
{
    static const char *const texts[] = {
        "no error", "authentication failed", "unreachable",       "timeout",
        "not RTSP", "stream not found",      "unsupported codec", "connection closed by the camera",
        "error"};
    return reason <= ING_REASON_OTHER ? texts[reason] : "error";
}

enum ing_reason ing_reason_from_error(int averror, bool timed_out, bool in_handshake)
{
    if (timed_out)
        return ING_REASON_TIMEOUT;
    switch (averror) {
    case AVERROR_HTTP_UNAUTHORIZED:
    case AVERROR_HTTP_FORBIDDEN:
    case HORUS_EAUTH:
        return ING_REASON_AUTH_FAILED;
    case AVERROR_HTTP_NOT_FOUND:
        return ING_REASON_NOT_FOUND;
    case AVERROR(ECONNREFUSED):
    case AVERROR(EHOSTUNREACH):
    case AVERROR(ENETUNREACH):
    case AVERROR(ECONNRESET):
    case AVERROR(ECONNABORTED):
    case AVERROR(EPIPE):
    case AVERROR(EADDRNOTAVAIL):
    case AVERROR(EIO): /* libav's tcp reports a failed name lookup as EIO */
        return ING_REASON_UNREACHABLE;
    case AVERROR(ETIMEDOUT):
        return ING_REASON_TIMEOUT;
    case AVERROR_INVALIDDATA:
    case AVERROR_HTTP_BAD_REQUEST:
    case AVERROR_HTTP_OTHER_4XX:
    case AVERROR_HTTP_SERVER_ERROR:
    case AVERROR_PROTOCOL_NOT_FOUND:
    case AVERROR(ENOSYS):
        return ING_REASON_NOT_RTSP;
    case HORUS_ECODEC:
    case AVERROR_DECODER_NOT_FOUND:
    case AVERROR_DEMUXER_NOT_FOUND:
        return ING_REASON_UNSUPPORTED;
    case AVERROR_EOF:
        return in_handshake ? ING_REASON_UNREACHABLE : ING_REASON_CLOSED;
    default:
        return ING_REASON_OTHER;
    }
}

static const log_field *stream_kv(const ing_stream *s, log_field kv[3])
{
    kv[0] = (log_field){"camera", s->camera};
    kv[1] = (log_field){"stream", s->stream};
    kv[2] = (log_field){0, 0};
    return kv;
}

static int64_t now_ns(const ing_stream *s)
{
    return clock_monotonic_ns(s->opt.clock);
}

static int interrupt_cb(void *arg)
{
    ing_stream *s = arg;
    if (atomic_load(&s->stop))
        return 1;
    int64_t deadline = atomic_load(&s->deadline_ns);
    if (deadline && now_ns(s) > deadline) {
        atomic_store(&s->timed_out, true);
        return 1;
    }
    return 0;
}

static void set_deadline_ms(ing_stream *s, int ms)
{
    atomic_store(&s->deadline_ns, now_ns(s) + (int64_t)ms * 1000000);
}

/* ---- libav's log ---- */

/* Replaces the password of every "scheme://user:pass@" in line with "***", in place. */
static void mask_userinfo(char *line, size_t size)
{
    for (char *p = strstr(line, "://"); p; p = strstr(p + 3, "://")) {
        char *auth = p + 3;
        size_t len = strcspn(auth, "/ \t'\"?#");
        char *at = NULL;
        for (size_t i = 0; i < len; i++)
            if (auth[i] == '@')
                at = auth + i;
        char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (!colon)
            continue;
        size_t tail = strlen(at) + 1;
        if ((size_t)(colon + 1 - line) + 3 + tail > size)
            tail = size - (size_t)(colon + 1 - line) - 3;
        memmove(colon + 4, at, tail);
        memcpy(colon + 1, "***", 3);
        line[size - 1] = '\0';
    }
}

/*
 * libav's own messages become debug lines of this module (credentials
 * masked) instead of free text on stderr; the reasons that matter are
 * already logged by the read loop.
 */
static void av_log_cb(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > AV_LOG_WARNING || !log_enabled(LOG_LEVEL_DEBUG))
        return;
    char line[512];
    int print_prefix = 1;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
    line[strcspn(line, "\n")] = '\0';
    mask_userinfo(line, sizeof(line));
    log_debug("libav: %s", line);
}

static void av_log_install(void)
{
    av_log_set_callback(av_log_cb);
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

static void track_metrics_init(ing_stream *s, struct track *t, const char *kind)
{
    if (!s->opt.metrics)
        return;
    char stream[64];
    snprintf(stream, sizeof(stream), "%s%s", s->stream,
             t->kind == MEDIA_KIND_AUDIO ? "/audio" : "");
    (void)kind;
    t->frames = metrics_series_get(family(s, METRICS_COUNTER, "horus_ingest_frames_total",
                                          "Frames received from cameras", "camera,stream"),
                                   s->camera, stream);
    t->bytes = metrics_series_get(family(s, METRICS_COUNTER, "horus_ingest_bytes_total",
                                         "Bytes of media received from cameras", "camera,stream"),
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
    track_metrics_init(s, &s->video, "video");
    track_metrics_init(s, &s->audio, "audio");
    if (!s->opt.metrics)
        return;
    s->up = metrics_series_get(
        family(s, METRICS_GAUGE, "horus_camera_up", "1 while the camera delivers media", "camera"),
        s->camera);
    s->reconnects = metrics_series_get(family(s, METRICS_COUNTER, "horus_ingest_reconnects_total",
                                              "Sessions that ended and were retried", "camera"),
                                       s->camera);
    metrics_family *f = family(s, METRICS_GAUGE, "horus_camera_breaker_state",
                               "1 for the circuit breaker's current state", "camera,state");
    for (int i = 0; i < 3; i++)
        s->breaker_state[i] = metrics_series_get(f, s->camera, ing_breaker_state_name(i));
    metrics_gauge_set(s->breaker_state[ING_BREAKER_CLOSED], 1);
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

static void breaker_publish(ing_stream *s, bool changed)
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
    log_at(st == ING_BREAKER_CLOSED ? LOG_LEVEL_INFO : LOG_LEVEL_WARN, stream_kv(s, kv),
           "circuit breaker %s (consecutive failures: %u)", ing_breaker_state_name(st),
           s->breaker.failures);
}

static void set_up(ing_stream *s, bool up)
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

void ing_stream_status_get(ing_stream *s, struct ing_stream_status *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->status;
    pthread_mutex_unlock(&s->mu);
}

/* ---- tracks ---- */

static void track_init(struct track *t, enum media_kind kind)
{
    memset(t, 0, sizeof(*t));
    t->index = -1;
    t->kind = kind;
    ing_timeline_init(&t->tl, kind == MEDIA_KIND_VIDEO ? 90000 : 48000,
                      kind == MEDIA_KIND_VIDEO ? 3600 : 1024);
}

/* Ends the track's session: the next one announces a new stream. */
static void track_end_session(struct track *t)
{
    media_stream_unref(t->cur);
    t->cur = NULL;
    t->is_announced = false;
    t->index = -1;
    ing_timeline_reset_session(&t->tl);
}

/* Makes t->cur from t->ps. Returns 0 or HORUS_EPARSE (cur unchanged). */
static int video_stream_build(struct track *t)
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
    media_stream_unref(t->cur);
    t->cur = ms;
    t->is_announced = false;
    return 0;
}

static void video_track_open(struct track *t, const AVStream *st)
{
    t->index = st->index;
    t->codec = st->codecpar->codec_id == AV_CODEC_ID_HEVC ? MEDIA_CODEC_H265 : MEDIA_CODEC_H264;
    t->time_base = st->time_base;
    t->timescale = 90000;
    t->needs_keyframe = true;
    memset(&t->ps, 0, sizeof(t->ps));
    t->ps.codec = t->codec;
    const uint8_t *ex = st->codecpar->extradata;
    size_t exn = (size_t)st->codecpar->extradata_size;
    if (ex && exn > 4 && ex[0] == 0) { /* Annex B from the SDP's sprop-* parameters */
        struct ing_nal nals[16];
        size_t n = ing_annexb_split(ex, exn, nals, 16);
        for (size_t i = 0; i < n; i++) {
            int kind = ing_nal_ps_kind(t->codec, ing_nal_type(t->codec, &nals[i]));
            if (kind >= 0)
                ing_param_sets_update(&t->ps, kind, &nals[i]);
        }
        if (ing_param_sets_complete(&t->ps))
            video_stream_build(t);
    }
}

static int audio_track_open(struct track *t, const AVStream *st)
{
    unsigned aot;
    uint32_t rate, channels;
    const AVCodecParameters *par = st->codecpar;
    if (!par->extradata || ing_aac_config_parse(par->extradata, (size_t)par->extradata_size, &aot,
                                                &rate, &channels) < 0)
        return HORUS_ECODEC;
    t->index = st->index;
    t->codec = MEDIA_CODEC_AAC;
    t->time_base = st->time_base;
    t->timescale = rate;
    t->needs_keyframe = false;
    if (t->tl.timescale != rate)
        ing_timeline_init(&t->tl, rate, 1024);
    media_stream *ms = media_stream_new(MEDIA_KIND_AUDIO, MEDIA_CODEC_AAC, rate, par->extradata,
                                        (size_t)par->extradata_size);
    ms->sample_rate = rate;
    ms->channels = channels;
    ms->epoch = ++t->epoch;
    snprintf(ms->codec_string, sizeof(ms->codec_string), "mp4a.40.%u", aot);
    t->cur = ms;
    return 0;
}

static int64_t raw_pts_of(const struct track *t, const AVPacket *pkt)
{
    if (pkt->pts == AV_NOPTS_VALUE)
        return ING_TS_NONE;
    if (t->time_base.num == 1 && (uint32_t)t->time_base.den == t->timescale)
        return pkt->pts;
    return av_rescale_q(pkt->pts, t->time_base, (AVRational){1, (int)t->timescale});
}

static void deliver(ing_stream *s, struct track *t, media_packet *mp, const AVPacket *pkt)
{
    media_sink *sink = s->opt.sink;
    if (!t->is_announced) {
        sink->ops->stream_cb(sink, t->cur);
        t->is_announced = true;
    }
    int64_t arrival_ns = now_ns(s);
    struct ing_timestamps ts =
        ing_timeline_map(&t->tl, raw_pts_of(t, pkt), clock_realtime_ms(s->opt.clock) * 1000,
                         t->kind == MEDIA_KIND_VIDEO);
    if (t->tl.discontinuities != t->logged_discontinuities) {
        t->logged_discontinuities = t->tl.discontinuities;
        log_field kv[3];
        log_info_kv(stream_kv(s, kv), "%s timestamps jumped; timeline continues at %lld",
                    t->kind == MEDIA_KIND_VIDEO ? "video" : "audio", (long long)ts.dts);
    }
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
    pthread_mutex_unlock(&s->mu);
    if (t->kind == MEDIA_KIND_VIDEO)
        s->window_frames++;
    s->window_bytes += mp->size;
}

/* Converts and delivers one video access unit. Returns true when a packet went out. */
static bool video_packet(ing_stream *s, struct track *t, const AVPacket *pkt)
{
    struct ing_nal nals[MAX_NALS];
    bool skip[MAX_NALS];
    size_t n = ing_annexb_split(pkt->data, (size_t)pkt->size, nals, MAX_NALS);
    bool changed = false, is_key = false;
    size_t out_size = 0;
    for (size_t i = 0; i < n; i++) {
        int type = ing_nal_type(t->codec, &nals[i]);
        int kind = ing_nal_ps_kind(t->codec, type);
        skip[i] = kind >= 0 || (t->codec == MEDIA_CODEC_H264 ? type == 9 : type == 35);
        if (kind >= 0)
            changed |= ing_param_sets_update(&t->ps, kind, &nals[i]);
        if (ing_nal_is_keyframe(t->codec, type))
            is_key = true;
        if (!skip[i])
            out_size += 4 + nals[i].size;
    }
    if ((changed || !t->cur) && ing_param_sets_complete(&t->ps)) {
        log_field kv[3];
        if (video_stream_build(t) < 0)
            log_warn_kv(stream_kv(s, kv), "unparsable parameter sets: packet dropped");
        else if (t->epoch > 1 && changed)
            log_info_kv(stream_kv(s, kv), "video parameters changed: %s %ux%u epoch %u",
                        t->cur->codec_string, t->cur->width, t->cur->height, t->epoch);
    }
    if (!t->cur || out_size == 0)
        return false;
    if (t->needs_keyframe && !is_key)
        return false;
    t->needs_keyframe = false;
    media_packet *mp = media_packet_new(t->cur, out_size);
    ing_nals_to_length_prefixed(nals, skip, n, mp->data);
    mp->is_keyframe = is_key;
    deliver(s, t, mp, pkt);
    media_packet_unref(mp);
    return true;
}

static bool audio_packet(ing_stream *s, struct track *t, const AVPacket *pkt)
{
    if (!t->cur || pkt->size <= 0)
        return false;
    media_packet *mp = media_packet_new(t->cur, (size_t)pkt->size);
    memcpy(mp->data, pkt->data, (size_t)pkt->size);
    mp->is_keyframe = true;
    deliver(s, t, mp, pkt);
    media_packet_unref(mp);
    return true;
}

static void window_tick(ing_stream *s)
{
    int64_t now = now_ns(s);
    int64_t span = now - s->window_start_ns;
    if (span < 1000000000)
        return;
    gauge_set(s->video.fps, (double)s->window_frames * 1e9 / (double)span);
    gauge_set(s->video.bitrate, (double)s->window_bytes * 1e9 / (double)span);
    s->window_frames = s->window_bytes = 0;
    s->window_start_ns = now;
}

/* ---- session ---- */

static int session_open(ing_stream *s, AVFormatContext **out)
{
    AVFormatContext *fmt = avformat_alloc_context();
    if (!fmt)
        return AVERROR(ENOMEM);
    fmt->interrupt_callback = (AVIOInterruptCB){interrupt_cb, s};
    AVDictionary *d = NULL;
    av_dict_set(&d, "rtsp_transport", s->opt.transport == ING_TRANSPORT_UDP ? "udp" : "tcp", 0);
    av_dict_set_int(&d, "timeout", (int64_t)s->opt.connect_timeout_ms * 1000, 0);
    av_dict_set(&d, "allowed_media_types", "video+audio", 0);
    av_dict_set(&d, "probesize", "32768", 0);
    av_dict_set(&d, "analyzeduration", "0", 0);
    set_deadline_ms(s, s->opt.connect_timeout_ms);
    int rc = avformat_open_input(&fmt, s->url, NULL, &d);
    av_dict_free(&d);
    if (rc < 0)
        return rc; /* avformat_open_input freed fmt */
    *out = fmt;
    return 0;
}

/* Runs one session. Returns the error that ended it (never 0). */
static int session_run(ing_stream *s, bool *got_media)
{
    AVFormatContext *fmt = NULL;
    AVPacket *pkt = NULL;
    log_field kv[3];
    int rc = session_open(s, &fmt);
    if (rc < 0)
        goto out;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];
        enum AVCodecID id = st->codecpar->codec_id;
        if ((id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC) && s->video.index < 0)
            video_track_open(&s->video, st);
        else if (id == AV_CODEC_ID_AAC && s->audio.index < 0)
            audio_track_open(&s->audio, st);
    }
    if (s->video.index < 0 && s->audio.index < 0) {
        rc = HORUS_ECODEC;
        goto out;
    }
    log_debug_kv(stream_kv(s, kv), "connected to '%s'", s->url_masked);
    pkt = av_packet_alloc();
    s->window_start_ns = now_ns(s);
    for (;;) {
        set_deadline_ms(s, s->opt.stall_timeout_ms);
        rc = av_read_frame(fmt, pkt);
        if (rc < 0)
            break;
        bool sent = false;
        if (pkt->stream_index == s->video.index)
            sent = video_packet(s, &s->video, pkt);
        else if (pkt->stream_index == s->audio.index)
            sent = audio_packet(s, &s->audio, pkt);
        av_packet_unref(pkt);
        if (sent && !*got_media) {
            *got_media = true;
            set_up(s, true);
            log_info_kv(stream_kv(s, kv), "streaming from '%s'", s->url_masked);
            breaker_publish(s, ing_breaker_success(&s->breaker));
        }
        window_tick(s);
    }
out:
    atomic_store(&s->deadline_ns, 0);
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    track_end_session(&s->video);
    track_end_session(&s->audio);
    return rc;
}

/* Sleeps until the breaker allows an attempt or stop. Returns false on stop. */
static bool wait_for_attempt(ing_stream *s)
{
    for (;;) {
        if (atomic_load(&s->stop))
            return false;
        bool changed;
        if (ing_breaker_allow(&s->breaker, &changed)) {
            breaker_publish(s, changed);
            return true;
        }
        int64_t ms = ing_breaker_wait_ms(&s->breaker);
        if (ms > 200)
            ms = 200; /* the clock may be fake; poll it */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(ms * 1000000);
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_mutex_lock(&s->wake_mu);
        if (!atomic_load(&s->stop))
            pthread_cond_timedwait(&s->wake, &s->wake_mu, &ts);
        pthread_mutex_unlock(&s->wake_mu);
    }
}

static void session_failed(ing_stream *s, int rc, bool got_media, bool is_last)
{
    bool timed_out = atomic_exchange(&s->timed_out, false);
    enum ing_reason reason = ing_reason_from_error(rc, timed_out, !got_media);
    if (rc == AVERROR_INVALIDDATA && !got_media && !timed_out)
        reason = ing_peer_classify(
            s->url, s->opt.connect_timeout_ms < 2000 ? s->opt.connect_timeout_ms : 2000);
    char err[AV_ERROR_MAX_STRING_SIZE] = "";
    if (rc <= -1000 && rc > -1100)
        snprintf(err, sizeof(err), "%s", horus_strerror(rc));
    else
        av_strerror(rc, err, sizeof(err));
    char text[160];
    if (reason == ING_REASON_UNREACHABLE && rc == AVERROR_INVALIDDATA)
        snprintf(text, sizeof(text), "unreachable: connection reset before any answer");
    else if (timed_out && got_media)
        snprintf(text, sizeof(text), "stall: no packet for %d ms", s->opt.stall_timeout_ms);
    else if (timed_out)
        snprintf(text, sizeof(text), "timeout: no answer in %d ms", s->opt.connect_timeout_ms);
    else
        snprintf(text, sizeof(text), "%s: %s", ing_reason_text(reason), err);

    if (got_media) {
        set_up(s, false);
        s->opt.sink->ops->gap_cb(s->opt.sink, timed_out ? "stall" : ing_reason_code(reason));
    }
    bool changed = ing_breaker_failure(&s->breaker);
    pthread_mutex_lock(&s->mu);
    s->status.reason = reason;
    snprintf(s->status.last_error, sizeof(s->status.last_error), "%s", text);
    pthread_mutex_unlock(&s->mu);
    breaker_publish(s, changed);

    log_field kv[3];
    int64_t wait_ms = ing_breaker_wait_ms(&s->breaker);
    /* Rate-limited: the first failure of a run, then every 10th. */
    if (is_last)
        log_warn_kv(stream_kv(s, kv), "'%s': %s; giving up", s->url_masked, text);
    else if (got_media || s->breaker.failures == 1 || s->breaker.failures % 10 == 0)
        log_warn_kv(stream_kv(s, kv), "'%s': %s; retry in %lld ms (failure %u)", s->url_masked,
                    text, (long long)wait_ms, s->breaker.failures);
}

static void *stream_main(void *arg)
{
    ing_stream *s = arg;
    unsigned attempts = 0;
    while (wait_for_attempt(s)) {
        if (s->opt.max_connects && attempts >= s->opt.max_connects)
            break;
        attempts++;
        bool got_media = false;
        int rc = session_run(s, &got_media);
        if (atomic_load(&s->stop))
            break;
        bool is_last = s->opt.max_connects && attempts >= s->opt.max_connects;
        session_failed(s, rc, got_media, is_last);
        if (is_last)
            break;
        counter_add(s->reconnects, 1);
        pthread_mutex_lock(&s->mu);
        s->status.reconnects++;
        pthread_mutex_unlock(&s->mu);
    }
    set_up(s, false);
    pthread_mutex_lock(&s->mu);
    s->status.is_finished = true;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- lifecycle ---- */

int ing_stream_start(const struct ing_stream_options *opt, ing_stream **out)
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
    s->opt.policy = NULL;
    if (!s->opt.clock)
        s->opt.clock = clock_system();
    if (s->opt.connect_timeout_ms <= 0)
        s->opt.connect_timeout_ms = 5000;
    if (s->opt.stall_timeout_ms <= 0)
        s->opt.stall_timeout_ms = 10000;
    cfg_mask_url(s->url, s->url_masked, sizeof(s->url_masked));
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->wake_mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    ing_breaker_init(&s->breaker, opt->policy, s->opt.clock,
                     (uint64_t)clock_monotonic_ns(s->opt.clock) ^ (uint64_t)(uintptr_t)s);
    track_init(&s->video, MEDIA_KIND_VIDEO);
    track_init(&s->audio, MEDIA_KIND_AUDIO);
    stream_metrics_init(s);

    static pthread_once_t av_log_once = PTHREAD_ONCE_INIT;
    pthread_once(&av_log_once, av_log_install);
    char name[16];
    snprintf(name, sizeof(name), "ing-%s", s->camera);
    int rc = horus_thread_start(&s->thread, name, stream_main, s);
    if (rc < 0) {
        ing_stream_free(s);
        return rc;
    }
    s->has_thread = true;
    *out = s;
    return 0;
}

void ing_stream_stop(ing_stream *s)
{
    pthread_mutex_lock(&s->wake_mu);
    atomic_store(&s->stop, true);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->wake_mu);
}

void ing_stream_join(ing_stream *s)
{
    if (s->has_thread) {
        pthread_join(s->thread, NULL);
        s->has_thread = false;
    }
}

void ing_stream_free(ing_stream *s)
{
    if (!s)
        return;
    ing_stream_stop(s);
    ing_stream_join(s);
    media_stream_unref(s->video.cur);
    media_stream_unref(s->audio.cur);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->wake_mu);
    pthread_mutex_destroy(&s->mu);
    free(s->camera);
    free(s->stream);
    free(s->url);
    free(s);
}
