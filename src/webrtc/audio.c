/*
 * DESIGN: a camera's sound for WebRTC viewers (docs/design/0058, 0080). The
 * first session that hears (camera, stream) opens one relay reader and,
 * at the first AAC track, one AAC-to-Opus transcoder; every Opus frame is
 * sent to each session of that stream that finished DTLS, in its own
 * SRTP, with its own SSRC and sequence. G.711 (PCMU, PCMA), which every
 * browser takes, goes as it came: no transcoder. The last session to leave frees
 * it. What the relay kept from before the reader opened (its GOP) only
 * primes the decoder: old sound is never played late. The video readers
 * stay per session, so a slow video viewer never holds the sound of
 * another, and the sound never waits for the picture. Thread: webrtc.
 */
#include "server_int.h"

#include "log.h"
#include "mem.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#define LOG_MODULE "webrtc"

static void count_feeds(webrtc_server *s)
{
    if (!s->m_audio_feeds)
        return;
    unsigned n = 0;
    for (struct waudio *a = s->audio; a; a = a->next)
        n++;
    metrics_gauge_set(s->m_audio_feeds, n);
}

static void close_reader(struct waudio *a)
{
    if (!a->reader)
        return;
    epoll_ctl(a->srv->epfd, EPOLL_CTL_DEL, relay_reader_fd(a->reader), NULL);
    relay_reader_close(a->reader);
    a->reader = NULL;
}

struct waudio *waudio_get(webrtc_server *s, const char *camera, const char *stream)
{
    for (struct waudio *a = s->audio; a; a = a->next)
        if (a->reader && strcmp(a->camera, camera) == 0 && strcmp(a->stream, stream) == 0) {
            a->refs++;
            return a;
        }
    struct waudio *a = horus_calloc(1, sizeof(*a));
    a->srv = s;
    snprintf(a->camera, sizeof(a->camera), "%s", camera);
    snprintf(a->stream, sizeof(a->stream), "%s", stream);
    a->refs = 1;
    a->tag = (struct ep_tag){.kind = EP_AUDIO, .obj = a};
    struct relay_reader_options ro = {0};
    int rc = relay_hub_open(s->relay, camera, stream, &ro, &a->reader);
    a->opened_ns = wrtc_mono_ns();
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &a->tag};
    if (rc != 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, relay_reader_fd(a->reader), &ev) != 0) {
        if (rc == 0)
            relay_reader_close(a->reader);
        free(a);
        return NULL;
    }
    a->next = s->audio;
    s->audio = a;
    count_feeds(s);
    return a;
}

void waudio_put(struct waudio *a)
{
    if (!a || --a->refs > 0)
        return;
    webrtc_server *s = a->srv;
    for (struct waudio **p = &s->audio; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            break;
        }
    close_reader(a);
    webrtc_opus_free(a->opus);
    media_stream_unref(a->aac);
    free(a);
    count_feeds(s);
}

/* One Opus frame to every session of the feed that is playing. */
static void emit_opus(void *arg, const struct webrtc_opus_frame *f)
{
    struct waudio *a = arg;
    if (f->arrival_ns < a->opened_ns)
        return; /* the relay's kept GOP: too old to play */
    for (struct wsession *w = a->srv->sessions; w; w = w->next) {
        if (w->audio_feed != a || !w->srtp)
            continue;
        uint8_t buf[WEBRTC_RTP_MAX_PACKET + WEBRTC_SRTP_TRAILER];
        size_t n = webrtc_rtp_audio_build(&w->audio, f->data, f->size, f->pts, f->wall_us, buf,
                                          WEBRTC_RTP_MAX_PACKET);
        if (n > 0 && webrtc_srtp_protect(w->srtp, buf, &n) == 0)
            wsession_send(a->srv, w, buf, n);
    }
}

/*
 * A G.711 packet to every playing session of the feed, as it came (RFC 3551: the payload is
 * the samples; the RTP clock is 8 kHz, the stream's own). A session that agreed on the other
 * law (the camera changed its codec since) gets nothing: its next offer says what it takes.
 */
static void emit_g711(struct waudio *a, const media_packet *p)
{
    if (p->arrival_ns < a->opened_ns)
        return; /* the relay's kept GOP: too old to play */
    uint8_t pt = p->stream->codec == MEDIA_CODEC_PCMU ? 0 : 8;
    for (size_t at = 0; at < p->size;) {
        size_t n = p->size - at > WEBRTC_G711_MAX ? WEBRTC_G711_MAX : p->size - at;
        for (struct wsession *w = a->srv->sessions; w; w = w->next) {
            if (w->audio_feed != a || !w->srtp || w->audio.pt != pt)
                continue;
            uint8_t buf[WEBRTC_RTP_MAX_PACKET + WEBRTC_SRTP_TRAILER];
            size_t len = webrtc_rtp_audio_build(&w->audio, p->data + at, n, p->pts + (int64_t)at,
                                                p->wall_us + (int64_t)at * 1000000 / 8000, buf,
                                                WEBRTC_RTP_MAX_PACKET);
            if (len > 0 && webrtc_srtp_protect(w->srtp, buf, &len) == 0)
                wsession_send(a->srv, w, buf, len);
        }
        at += n;
    }
}

/* A new or changed AAC track: a transcoder for it, or none (logged) when it cannot be. */
static void on_track(struct waudio *a, media_stream *st)
{
    if (st->kind != MEDIA_KIND_AUDIO || media_codec_is_g711(st->codec))
        return;
    if (a->aac && media_stream_same_params(a->aac, st))
        return;
    webrtc_opus_free(a->opus);
    a->opus = NULL;
    media_stream_unref(a->aac);
    a->aac = media_stream_ref(st);
    char err[160];
    if (webrtc_opus_new(st, &a->opus, err, sizeof(err)) != 0)
        log_warn_kv(LOG_KV({"camera", a->camera}, {"stream", a->stream}),
                    "webrtc: the camera's sound cannot be sent as Opus: %s", err);
}

#define AUDIO_BATCH 64 /* events per wake-up, as for a session's reader */

void waudio_on_reader(struct waudio *a)
{
    for (int i = 0; i < AUDIO_BATCH && a->reader; i++) {
        struct relay_event ev;
        if (relay_reader_next(a->reader, &ev) == 0)
            return;
        if (ev.kind == RELAY_EV_STREAM) {
            on_track(a, ev.stream);
        } else if (ev.kind == RELAY_EV_PACKET && media_codec_is_g711(ev.packet->stream->codec)) {
            emit_g711(a, ev.packet);
        } else if (ev.kind == RELAY_EV_PACKET && a->opus &&
                   ev.packet->stream->kind == MEDIA_KIND_AUDIO &&
                   (ev.packet->stream == a->aac ||
                    media_stream_same_params(ev.packet->stream, a->aac))) {
            if (webrtc_opus_feed(a->opus, ev.packet, emit_opus, a) != 0)
                log_warn_limited("bad_aac", LOG_KV({"camera", a->camera}),
                                 "webrtc: the AAC decoder refused a packet");
        } else if (ev.kind == RELAY_EV_END) {
            close_reader(a); /* its sessions end with their own readers */
        }
        relay_event_release(&ev);
    }
}

void waudio_send_report(struct wsession *w, int64_t now_wall_us)
{
    if (!w->srtp || w->audio.packets == 0)
        return;
    uint8_t buf[64 + WEBRTC_SRTP_TRAILER];
    uint64_t ntp;
    uint32_t rtp_ts;
    webrtc_sr_clock(&w->audio, now_wall_us, &ntp, &rtp_ts);
    size_t n = webrtc_rtcp_sr_build(&w->audio, ntp, rtp_ts, buf, 64);
    if (n > 0 && webrtc_srtp_protect_rtcp(w->srtp, buf, &n) == 0)
        wsession_send(w->srv, w, buf, n);
}
