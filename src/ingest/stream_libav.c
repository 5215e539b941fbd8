/*
 * DESIGN: the libavformat client. One camera stream = one thread
 * `ing-<camera>` running
 *   wait for the breaker -> connect (libavformat RTSP) -> read loop -> gap
 * until ing_stream_stop. It serves what the native client does not speak
 * (UDP transport, rtsps://, other schemes) and every stream when
 * `ingest.client: libav` is configured.
 *
 * Transport: s->transport, TCP or UDP. With transport auto a TCP session
 * that libav ends with EPROTONOSUPPORT before any media (its answer to a
 * 461 Unsupported Transport when TCP is all it may offer) switches the
 * stream to UDP and tries again at once, without a breaker failure. A
 * native stream that meets a 461 hands over to this client the same way
 * (ing_libav_start from its loop thread, s->transport already UDP).
 *
 * Every blocking libav call is bounded by our interrupt callback, which
 * checks the stop flag and a per-operation deadline: connect_timeout_ms
 * while connecting, and stall_timeout_ms after the last packet while
 * reading (our stall watchdog; libav's own socket timeout is set too but
 * not relied on).
 *
 * libav's RTP depacketizer returns one packet per NAL unit it completes,
 * so a picture sent as several slices arrives as several packets with the
 * same timestamp. Those are joined into one access unit (video_join) and
 * delivered when a packet with another timestamp shows the picture
 * complete: one sample per picture, never one per slice (the cost is one
 * picture of latency on this client; a session's unfinished last picture
 * is dropped).
 *
 * Audio before the session's first video keyframe is dropped, by libav's
 * timestamps (one clock for every track of a session, from RTP-Info and the
 * sender reports) when the keyframe has one, else by arrival: each track's
 * timeline starts at its first packet, so audio kept from the moment of
 * joining would play as late as the wait for the keyframe (design 0061).
 *
 * Packets are converted into the media/media.h contract: Annex B
 * becomes 4-byte length-prefixed NAL units, in-band parameter sets equal to
 * the stream's are dropped (new ones make a new media_stream, new epoch),
 * AUDs are dropped, and nothing is delivered before the session's first
 * keyframe. Delivery, tracks and status are stream.c's.
 */
#define LOG_MODULE "ingest"

#include "stream_int.h"

#include "err.h"
#include "mask.h"
#include "mem.h"
#include "thread.h"

#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_NALS 128

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

static int interrupt_cb(void *arg)
{
    ing_stream *s = arg;
    if (atomic_load(&s->stop))
        return 1;
    int64_t deadline = atomic_load(&s->deadline_ns);
    if (deadline && ing_stream_now_ns(s) > deadline) {
        atomic_store(&s->timed_out, true);
        return 1;
    }
    return 0;
}

static void set_deadline_ms(ing_stream *s, int ms)
{
    atomic_store(&s->deadline_ns, ing_stream_now_ns(s) + (int64_t)ms * 1000000);
}

/* ---- libav's log ---- */

/*
 * libav's own messages become debug lines of this module (credentials
 * masked) instead of free text on stderr; the reasons that matter are
 * already logged by the read loop.
 */
static void av_log_cb(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > AV_LOG_WARNING || !log_enabled(LOG_LEVEL_DEBUG))
        return;
    char line[2048], masked[2048];
    int print_prefix = 1;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
    line[strcspn(line, "\n")] = '\0';
    log_debug("libav: %s", horus_mask_text(line, masked, sizeof(masked)));
}

static void av_log_install(void)
{
    av_log_set_callback(av_log_cb);
}

/* ---- tracks ---- */

static void video_track_open(struct ing_track *t, const AVStream *st)
{
    t->index = st->index;
    t->codec = st->codecpar->codec_id == AV_CODEC_ID_HEVC ? MEDIA_CODEC_H265 : MEDIA_CODEC_H264;
    t->tb_num = st->time_base.num;
    t->tb_den = st->time_base.den;
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
            int kind =
                media_nal_ps_kind(t->codec, media_nal_type(t->codec, nals[i].data, nals[i].size));
            if (kind >= 0)
                ing_param_sets_update(&t->ps, kind, &nals[i]);
        }
        if (ing_param_sets_complete(&t->ps))
            ing_track_video_build(t);
    }
}

static int audio_track_open(struct ing_track *t, const AVStream *st)
{
    const AVCodecParameters *par = st->codecpar;
    int rc = par->codec_id == AV_CODEC_ID_PCM_MULAW
                 ? ing_track_audio_open_g711(t, MEDIA_CODEC_PCMU, (uint32_t)par->sample_rate)
             : par->codec_id == AV_CODEC_ID_PCM_ALAW
                 ? ing_track_audio_open_g711(t, MEDIA_CODEC_PCMA, (uint32_t)par->sample_rate)
                 : ing_track_audio_open(t, par->extradata, (size_t)par->extradata_size);
    if (rc < 0)
        return rc;
    t->index = st->index;
    t->tb_num = st->time_base.num;
    t->tb_den = st->time_base.den;
    return 0;
}

static int64_t raw_pts_of(const struct ing_track *t, const AVPacket *pkt)
{
    if (pkt->pts == AV_NOPTS_VALUE)
        return ING_TS_NONE;
    if (t->tb_num == 1 && (uint32_t)t->tb_den == t->timescale)
        return pkt->pts;
    return av_rescale_q(pkt->pts, (AVRational){t->tb_num, t->tb_den},
                        (AVRational){1, (int)t->timescale});
}

/* Converts and delivers one video access unit (Annex B). Returns true when a packet went out. */
static bool video_packet(ing_stream *s, struct ing_track *t, const uint8_t *data, size_t size,
                         int64_t raw_pts)
{
    struct ing_nal nals[MAX_NALS];
    bool skip[MAX_NALS];
    size_t n = ing_annexb_split(data, size, nals, MAX_NALS);
    bool changed = false, is_key = false;
    size_t out_size = 0;
    for (size_t i = 0; i < n; i++) {
        int type = media_nal_type(t->codec, nals[i].data, nals[i].size);
        int kind = media_nal_ps_kind(t->codec, type);
        skip[i] = kind >= 0 || (t->codec == MEDIA_CODEC_H264 ? type == 9 : type == 35);
        if (kind >= 0)
            changed |= ing_param_sets_update(&t->ps, kind, &nals[i]);
        if (media_nal_is_keyframe(t->codec, type))
            is_key = true;
        if (!skip[i])
            out_size += 4 + nals[i].size;
    }
    if ((changed || !t->cur) && ing_param_sets_complete(&t->ps))
        ing_track_video_params_changed(s, t);
    if (!t->cur || out_size == 0)
        return false;
    if (t->needs_keyframe && !is_key)
        return false;
    t->needs_keyframe = false;
    media_packet *mp = media_packet_new(t->cur, out_size);
    ing_nals_to_length_prefixed(nals, skip, n, mp->data);
    mp->is_keyframe = is_key;
    ing_stream_deliver(s, t, mp, raw_pts);
    media_packet_unref(mp);
    return true;
}

/* Whether an Annex B packet holds a keyframe's slice. */
static bool has_keyframe(const struct ing_track *t, const AVPacket *pkt)
{
    struct ing_nal nals[MAX_NALS];
    size_t n = ing_annexb_split(pkt->data, (size_t)pkt->size, nals, MAX_NALS);
    for (size_t i = 0; i < n; i++)
        if (media_nal_is_keyframe(t->codec, media_nal_type(t->codec, nals[i].data, nals[i].size)))
            return true;
    return false;
}

/* A libav timestamp in microseconds on the session's clock, or AV_NOPTS_VALUE. */
static int64_t pts_us(const struct ing_track *t, const AVPacket *pkt)
{
    if (pkt->pts == AV_NOPTS_VALUE || t->tb_den <= 0)
        return AV_NOPTS_VALUE;
    return av_rescale_q(pkt->pts, (AVRational){t->tb_num, t->tb_den}, AV_TIME_BASE_Q);
}

/* The picture being joined from libav's per-NAL packets (see the top). */
struct video_au {
    uint8_t *data;
    size_t len, cap;
    int64_t pts; /* libav's, in the stream's time base */
    bool has;
};

/* Delivers the joined picture, if any. Returns true when a packet went out. */
static bool video_flush(ing_stream *s, struct ing_track *t, struct video_au *au)
{
    if (!au->has)
        return false;
    au->has = false;
    AVPacket ref = {.pts = au->pts};
    return video_packet(s, t, au->data, au->len, raw_pts_of(t, &ref));
}

/*
 * Adds pkt to the picture being joined, delivering the one before when pkt
 * starts another (another timestamp, or none). Returns true when a packet
 * went out.
 */
static bool video_join(ing_stream *s, struct ing_track *t, struct video_au *au, const AVPacket *pkt)
{
    bool sent = false;
    if (au->has && (pkt->pts == AV_NOPTS_VALUE || pkt->pts != au->pts))
        sent = video_flush(s, t, au);
    size_t need = au->len * au->has + (size_t)pkt->size;
    if (need > au->cap) {
        size_t cap = au->cap ? au->cap : 64 * 1024;
        while (cap < need)
            cap *= 2;
        au->data = horus_realloc(au->data, cap);
        au->cap = cap;
    }
    if (!au->has)
        au->len = 0;
    memcpy(au->data + au->len, pkt->data, (size_t)pkt->size);
    au->len += (size_t)pkt->size;
    au->pts = pkt->pts;
    au->has = true;
    if (pkt->pts == AV_NOPTS_VALUE)
        sent |= video_flush(s, t, au); /* nothing to join it with */
    return sent;
}

static bool audio_packet(ing_stream *s, struct ing_track *t, const AVPacket *pkt)
{
    if (!t->cur || pkt->size <= 0)
        return false;
    media_packet *mp = media_packet_new(t->cur, (size_t)pkt->size);
    memcpy(mp->data, pkt->data, (size_t)pkt->size);
    mp->is_keyframe = true;
    ing_stream_deliver(s, t, mp, raw_pts_of(t, pkt));
    media_packet_unref(mp);
    return true;
}

/* ---- session ---- */

/* Why the last session_open of this ing-<camera> thread was refused by ingest.networks. */
static _Thread_local char denied_why[160];

static int session_open(ing_stream *s, AVFormatContext **out)
{
    AVFormatContext *fmt = avformat_alloc_context();
    if (!fmt)
        return AVERROR(ENOMEM);
    fmt->interrupt_callback = (AVIOInterruptCB){interrupt_cb, s};
    AVDictionary *d = NULL;
    av_dict_set(&d, "rtsp_transport", s->transport == ING_TRANSPORT_UDP ? "udp" : "tcp", 0);
    av_dict_set_int(&d, "timeout", (int64_t)s->opt.connect_timeout_ms * 1000, 0);
    av_dict_set(&d, "allowed_media_types", "video+audio", 0);
    av_dict_set(&d, "probesize", "32768", 0);
    av_dict_set(&d, "analyzeduration", "0", 0);
    set_deadline_ms(s, s->opt.connect_timeout_ms);
    /* libav resolves again: a name that changes in between is the accepted gap (0017 §4). */
    if (s->opt.networks &&
        ing_netpolicy_check_url(s->opt.networks, s->url, denied_why, sizeof(denied_why)) < 0) {
        av_dict_free(&d);
        avformat_free_context(fmt);
        return AVERROR(EACCES);
    }
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
    struct video_au au = {0};
    bool has_key = false; /* the session's first video keyframe arrived */
    int64_t key_us = AV_NOPTS_VALUE; /* and its time, when libav gave one */
    log_field kv[3];
    int rc = session_open(s, &fmt);
    if (rc < 0)
        goto out;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];
        enum AVCodecID id = st->codecpar->codec_id;
        if ((id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC) && s->video.index < 0)
            video_track_open(&s->video, st);
        else if ((id == AV_CODEC_ID_AAC || id == AV_CODEC_ID_PCM_MULAW ||
                  id == AV_CODEC_ID_PCM_ALAW) &&
                 s->audio.index < 0)
            audio_track_open(&s->audio, st);
    }
    if (s->video.index < 0 && s->audio.index < 0) {
        rc = HORUS_ECODEC;
        goto out;
    }
    log_debug_kv(ing_stream_kv(s, kv), "connected to '%s'", s->url_masked);
    pkt = av_packet_alloc();
    s->window_start_ns = ing_stream_now_ns(s);
    for (;;) {
        set_deadline_ms(s, s->opt.stall_timeout_ms);
        rc = av_read_frame(fmt, pkt);
        if (rc < 0)
            break;
        bool sent = false;
        if (pkt->stream_index == s->video.index && pkt->size > 0) {
            if (!has_key && has_keyframe(&s->video, pkt)) {
                has_key = true;
                key_us = pts_us(&s->video, pkt);
            }
            sent = video_join(s, &s->video, &au, pkt);
        } else if (pkt->stream_index == s->audio.index) {
            /* Before the keyframe by libav's clock; more than a second before is taken for
             * clocks libav has not tied together yet (no RTP-Info nor sender report). */
            int64_t at = pts_us(&s->audio, pkt);
            bool is_early = s->video.index >= 0 &&
                            (!has_key || (key_us != AV_NOPTS_VALUE && at != AV_NOPTS_VALUE &&
                                          at < key_us && key_us - at < 1000000));
            sent = !is_early && audio_packet(s, &s->audio, pkt);
        }
        av_packet_unref(pkt);
        if (sent && !*got_media) {
            *got_media = true;
            ing_stream_media_started(s);
        }
        ing_stream_window_tick(s);
    }
    /* A picture still being joined is dropped: a session that ended may have lost its last
     * slices, and the session's end is a gap anyway. */
out:
    free(au.data);
    atomic_store(&s->deadline_ns, 0);
    av_packet_free(&pkt);
    avformat_close_input(&fmt);
    ing_track_end_session(&s->video);
    ing_track_end_session(&s->audio);
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
            ing_stream_breaker_publish(s, changed);
            return true;
        }
        int64_t ms = ing_breaker_wait_ms(&s->breaker);
        if (ms > 200)
            ms = 200; /* the clock may be fake; poll it */
        struct timespec ts = horus_deadline_ms(ms);
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
    if (rc == AVERROR(EPROTONOSUPPORT) && !got_media && s->transport == ING_TRANSPORT_TCP) {
        /* libav's answer to a 461 when TCP is the only transport it may offer */
        reason = ING_REASON_UNSUPPORTED;
        snprintf(text, sizeof(text),
                 "the camera refuses RTP over TCP: SETUP replied 461 Unsupported Transport");
    } else if (rc == AVERROR(EACCES) && !got_media) {
        reason = ING_REASON_UNREACHABLE;
        snprintf(text, sizeof(text), "unreachable: %.140s", denied_why);
    } else if (reason == ING_REASON_UNREACHABLE && rc == AVERROR_INVALIDDATA)
        snprintf(text, sizeof(text), "unreachable: connection reset before any answer");
    else if (timed_out && got_media)
        snprintf(text, sizeof(text), "stall: no packet for %d ms", s->opt.stall_timeout_ms);
    else if (timed_out)
        snprintf(text, sizeof(text), "timeout: no answer in %d ms", s->opt.connect_timeout_ms);
    else
        snprintf(text, sizeof(text), "%s: %s", ing_reason_text(reason), err);
    ing_stream_session_failed(s, reason, text, got_media, timed_out, is_last);
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
        if (rc == AVERROR(EPROTONOSUPPORT) && !got_media && s->transport == ING_TRANSPORT_TCP &&
            s->opt.transport == ING_TRANSPORT_AUTO) {
            ing_stream_fall_back_to_udp(s); /* and again at once, not a failure */
            attempts--;
            continue;
        }
        bool is_last = s->opt.max_connects && attempts >= s->opt.max_connects;
        session_failed(s, rc, got_media, is_last);
        if (is_last)
            break;
        ing_stream_count_reconnect(s);
    }
    ing_stream_finish(s);
    return NULL;
}

int ing_libav_start(ing_stream *s)
{
    static pthread_once_t av_log_once = PTHREAD_ONCE_INIT;
    pthread_once(&av_log_once, av_log_install);
    char name[16];
    snprintf(name, sizeof(name), "ing-%s", s->camera);
    int rc = horus_thread_start(&s->thread, name, stream_main, s);
    if (rc < 0)
        return rc;
    s->has_thread = true;
    return 0;
}

void ing_libav_wake(ing_stream *s)
{
    pthread_mutex_lock(&s->wake_mu);
    atomic_store(&s->stop, true);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->wake_mu);
}

void ing_libav_join(ing_stream *s)
{
    if (s->has_thread) {
        pthread_join(s->thread, NULL);
        s->has_thread = false;
    }
}
