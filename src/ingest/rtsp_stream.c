/*
 * DESIGN: an ing_stream driven by our own RTSP client on an ing-rtsp-N
 * loop thread (rtsp_loop.c), shared with many other streams. Per stream:
 *
 *   WAIT (breaker) -> RESOLVE -> CONNECT [-> TLS] -> HANDSHAKE (rtsp_conn.c)
 *   -> PLAYING -> failure: gap, breaker, back to WAIT ... until stopped
 *
 * Nothing here blocks: the socket is non-blocking, names are resolved with
 * getaddrinfo_a (IP literals at once; a connect that fails or times out
 * moves on to the name's next address), and every wait is a timer: the
 * handshake deadline (connect_timeout_ms per request, as libav's client
 * had it), the stall watchdog (no RTP for stall_timeout_ms while playing),
 * the keep-alive (GET_PARAMETER or OPTIONS at half the session timeout)
 * and the breaker's retry delay.
 *
 * rtsps:// adds the TLS state (rtsp_tls.c, docs/design/0033): the TLS
 * handshake runs non-blocking under the same deadline, then every read and
 * write goes through the TLS session instead of recv/send, decrypting into
 * the same shared receive buffer (no allocation per packet), and a read
 * drains what the session has already decrypted before returning to epoll.
 * A refused certificate fails the attempt as ING_REASON_TLS with its
 * explanation, counted in horus_ingest_tls_failures_total by reason.
 *
 * Bytes: each read goes into the loop's shared receive buffer, behind the
 * few bytes of a frame the previous read left incomplete (kept per stream
 * in `carry`); rtsp_conn.c consumes whole replies and frames in place, the
 * depacketisers copy each payload once into the media_packet the sink
 * gets, and the timeline stamps it (stream.c). Sink callbacks therefore
 * run on the loop thread and must not block.
 *
 * RTCP and transport udp live in rtsp_stream_rtcp.c: sender reports to
 * the camera clock, our receiver reports, and each track's pair of UDP
 * sockets registered as extra sockets of this item, read on the same loop
 * thread, whose datagrams take the interleaved frame's path
 * (ing_native_packet). Transport auto: a 461 Unsupported
 * Transport before any media makes the stream UDP and tries again at once
 * (no breaker failure); it stays UDP until it is made again.
 *
 * Stop: ing_native_stop asks the loop to detach the stream; detach sends a
 * TEARDOWN if it can without waiting, closes the socket and signals
 * ing_native_join. The stream's memory stays until ing_stream_free.
 */
#define LOG_MODULE "ingest"

#include "rtsp_native_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define HOLD_NS 1000000000
#define RESOLVE_POLL_NS 20000000 /* getaddrinfo_a is polled this often */
#define BREAKER_POLL_NS 200000000 /* the breaker's clock may be fake: look again this often */
#define RR_FIRST_NS 2000000000 /* the first receiver reports this long after PLAY ... */
#define RR_INTERVAL_NS 5000000000 /* ... then this often (RFC 3550's 5 s minimum) */

static void hold_release(struct ing_native *n, bool is_delivered);

/* ---- sending ---- */

/* Sends what the session has queued. Returns 0 or -errno. */
static int native_flush(struct ing_native *n)
{
    struct ing_rtsp_conn *c = &n->conn;
    while (c->out_len > 0 && n->tls.is_open) {
        long w = ing_tls_send(&n->tls, c->out, c->out_len);
        if (w == -EAGAIN)
            break;
        if (w < 0)
            return (int)w;
        ing_rtsp_conn_sent(c, (size_t)w);
    }
    while (c->out_len > 0 && !n->tls.is_open) {
        ssize_t w = send(n->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR)
                continue;
            return -errno;
        }
        ing_rtsp_conn_sent(c, (size_t)w);
    }
    uint32_t events = EPOLLIN | (c->out_len > 0 ? EPOLLOUT : 0);
    return ing_loop_fd_set(&n->item, n->fd, events);
}

/* ---- ending a session ---- */

static void native_close(struct ing_native *n)
{
    if (n->is_resolving) {
        if (gai_cancel(&n->gai) == EAI_NOTCANCELED) {
            /* Rare: a lookup that cannot be cancelled is waited for. */
            const struct gaicb *list[1] = {&n->gai};
            while (gai_error(&n->gai) == EAI_INPROGRESS)
                gai_suspend(list, 1, NULL);
        }
        if (n->gai.ar_result)
            freeaddrinfo(n->gai.ar_result);
        n->gai.ar_result = NULL;
        n->is_resolving = false;
    }
    ing_tls_end(&n->tls);
    if (n->fd >= 0) {
        ing_loop_fd_set(&n->item, -1, 0);
        close(n->fd);
        n->fd = -1;
    }
    if (n->addrs)
        freeaddrinfo(n->addrs);
    n->addrs = NULL;
    n->next_addr = NULL;
    n->carry_len = 0;
    hold_release(n, false);
    for (int t = 0; t < ING_RTSP_TRACKS; t++) {
        ing_udp_pair_close(&n->tracks[t].udp, &n->item);
        ing_reorder_release(&n->tracks[t].reorder);
        ing_depack_reset(&n->tracks[t].depack);
        n->tracks[t].is_used = false;
        memset(&n->tracks[t].rx, 0, sizeof(n->tracks[t].rx));
        n->tracks[t].has_sr = false;
    }
    ing_track_end_session(&n->s->video);
    ing_track_end_session(&n->s->audio);
}

/* The session failed (reason and text in n->conn): account, then wait for the breaker. */
static void native_failed(struct ing_native *n)
{
    ing_stream *s = n->s;
    native_close(n);
    if (n->conn.is_tcp_refused && !n->got_media && s->opt.transport == ING_TRANSPORT_AUTO &&
        s->transport == ING_TRANSPORT_TCP) {
        /* Transport auto and a 461: UDP at once, not a failure (the same attempt again). */
        ing_stream_fall_back_to_udp(s);
        n->attempts--;
        n->state = N_WAIT;
        ing_loop_timer_set(&n->item, ing_loop_now_ns());
        return;
    }
    bool is_last = s->opt.max_connects && n->attempts >= s->opt.max_connects;
    ing_stream_session_failed(s, n->conn.reason, n->conn.error, n->got_media, n->is_stall, is_last);
    n->got_media = false;
    n->is_stall = false;
    if (is_last) {
        n->state = N_DONE;
        ing_stream_finish(s);
        ing_loop_timer_set(&n->item, INT64_MAX);
        return;
    }
    ing_stream_count_reconnect(s);
    n->state = N_WAIT;
    ing_loop_timer_set(&n->item, ing_loop_now_ns());
}

void ing_native_fail(struct ing_native *n, enum ing_reason reason, const char *text)
{
    ing_rtsp_conn_fail(&n->conn, reason, text);
    native_failed(n);
}

/* ---- session callbacks (from ing_rtsp_conn_input) ---- */

struct ing_track *ing_native_track_of(struct native_track *nt)
{
    return nt->id == ING_RTSP_VIDEO ? &nt->n->s->video : &nt->n->s->audio;
}

/* An RTP timestamp in the track's timescale (the timeline's raw pts). */
int64_t ing_native_raw_of(const struct native_track *nt, const struct ing_track *t, uint32_t rtp_ts)
{
    if (nt->clock_rate != t->timescale && nt->clock_rate)
        return (int64_t)((uint64_t)rtp_ts * t->timescale / nt->clock_rate) & 0xffffffff;
    return rtp_ts;
}

static void deliver(struct native_track *nt, media_packet *au, uint32_t rtp_ts)
{
    struct ing_native *n = nt->n;
    ing_stream *s = n->s;
    struct ing_track *t = ing_native_track_of(nt);
    ing_stream_deliver(s, t, au, ing_native_raw_of(nt, t, rtp_ts));
    media_packet_unref(au);
    if (!n->got_media) {
        n->got_media = true;
        ing_stream_media_started(s);
    }
}

/* Ends the hold: the held video goes out in order (or is dropped when closing). */
static void hold_release(struct ing_native *n, bool is_delivered)
{
    n->is_holding = false;
    for (unsigned i = 0; i < n->nheld; i++) {
        if (is_delivered)
            deliver(&n->tracks[ING_RTSP_VIDEO], n->held[i].au, n->held[i].rtp_ts);
        else
            media_packet_unref(n->held[i].au);
    }
    n->nheld = 0;
}

static void au_cb(void *arg, media_packet *au, uint32_t rtp_ts)
{
    struct native_track *nt = arg;
    struct ing_native *n = nt->n;
    if (nt->id == ING_RTSP_VIDEO && !n->has_video_au) {
        n->has_video_au = true;
        n->hold_until_ns = n->now_ns + HOLD_NS; /* the hold counts from the first keyframe */
    }
    if (nt->id == ING_RTSP_AUDIO && n->tracks[ING_RTSP_VIDEO].is_used && !n->has_video_au) {
        media_packet_unref(au); /* before the first keyframe (see the hold above) */
        return;
    }
    if (n->is_holding) {
        if (nt->id == ING_RTSP_VIDEO && n->nheld < HOLD_MAX && n->now_ns < n->hold_until_ns) {
            n->held[n->nheld].au = au;
            n->held[n->nheld].rtp_ts = rtp_ts;
            n->nheld++;
            return;
        }
        if (nt->id == ING_RTSP_AUDIO) {
            deliver(nt, au, rtp_ts);
            hold_release(n, true);
            return;
        }
        hold_release(n, true);
    }
    deliver(nt, au, rtp_ts);
}

static void params_cb(void *arg)
{
    struct native_track *nt = arg;
    ing_stream *s = nt->n->s;
    ing_track_video_params_changed(s, &s->video);
    nt->depack.stream = s->video.cur;
}

/* A new session's depacketiser; the loss counters run on across sessions. */
static void track_depack_init(struct native_track *nt, enum media_codec codec,
                              struct ing_param_sets *ps, ing_depack_params_cb params)
{
    uint64_t lost = nt->depack.lost_packets, dropped = nt->depack.dropped_units,
             bad = nt->depack.bad_packets;
    ing_depack_release(&nt->depack);
    ing_depack_init(&nt->depack, codec, ps, au_cb, params, nt);
    nt->depack.lost_packets = lost;
    nt->depack.dropped_units = dropped;
    nt->depack.bad_packets = bad;
}

/*
 * Names the audio the camera offers that this session does not record
 * (an unknown payload, LATM with cpresent=1...): in the status, counted
 * in horus_ingest_unsupported_media_total, logged once per camera.
 */
static void audio_note(struct ing_native *n, const struct ing_sdp_media *audio)
{
    ing_stream *s = n->s;
    char note[sizeof(s->status.audio_note)] = "";
    if (audio && !n->tracks[ING_RTSP_AUDIO].is_used) {
        snprintf(note, sizeof(note),
                 "audio not recorded: %s (payload %d): invalid "
                 "AudioSpecificConfig",
                 audio->encoding[0] ? audio->encoding : "AAC", audio->payload_type);
    } else if (!audio) {
        const struct ing_sdp *sdp = &n->conn.sdp;
        for (unsigned i = 0; i < sdp->nmedia; i++) {
            const struct ing_sdp_media *m = &sdp->media[i];
            if (m->kind == MEDIA_KIND_AUDIO && m->codec == MEDIA_CODEC_NONE && m->refusal) {
                snprintf(note, sizeof(note), "audio not recorded: %s %s",
                         m->encoding[0] ? m->encoding : "an audio section", m->refusal);
                break;
            }
        }
    }
    pthread_mutex_lock(&s->mu);
    snprintf(s->status.audio_note, sizeof(s->status.audio_note), "%s", note);
    pthread_mutex_unlock(&s->mu);
    if (!note[0])
        return;
    if (n->unsupported)
        metrics_counter_add(n->unsupported, 1);
    if (!n->is_note_logged) {
        n->is_note_logged = true;
        log_field kv[3];
        log_warn_kv(ing_stream_kv(s, kv), "%s; video is recorded without it", note);
    }
}

static int describe_cb(void *arg, const struct ing_sdp_media *video,
                       const struct ing_sdp_media *audio)
{
    struct ing_native *n = arg;
    ing_stream *s = n->s;
    if (video) {
        struct native_track *nt = &n->tracks[ING_RTSP_VIDEO];
        struct ing_track *t = &s->video;
        t->codec = video->codec;
        t->timescale = 90000;
        t->needs_keyframe = true;
        t->ps = video->ps;
        t->ps.codec = video->codec;
        t->index = 0;
        if (ing_param_sets_complete(&t->ps) && ing_track_video_build(t) < 0) {
            log_field kv[3];
            log_warn_kv(ing_stream_kv(s, kv), "unparsable parameter sets in the description");
        }
        track_depack_init(nt, video->codec, &t->ps, params_cb);
        nt->depack.stream = t->cur;
        nt->payload_type = video->payload_type;
        nt->clock_rate = video->clock_rate;
        nt->is_used = true;
    }
    if (audio) {
        struct native_track *nt = &n->tracks[ING_RTSP_AUDIO];
        struct ing_track *t = &s->audio;
        bool is_g711 = media_codec_is_g711(audio->codec);
        int rc = is_g711 ? ing_track_audio_open_g711(t, audio->codec, audio->clock_rate)
                         : ing_track_audio_open(t, audio->config, audio->config_len);
        if (rc == 0) {
            t->index = 1;
            track_depack_init(nt, audio->codec, NULL, NULL);
            nt->depack.stream = t->cur;
            nt->depack.size_length = audio->size_length;
            nt->depack.index_length = audio->index_length;
            nt->depack.index_delta_length = audio->index_delta_length;
            nt->depack.is_latm = audio->is_latm;
            nt->depack.latm_subframes = audio->latm_subframes;
            nt->depack.latm_other_bits = audio->latm_other_bits;
            if (audio->frame_ticks)
                nt->depack.frame_samples = audio->frame_ticks;
            nt->payload_type = audio->payload_type;
            nt->clock_rate = audio->clock_rate;
            nt->is_used = true;
        }
    }
    audio_note(n, audio);
    if (n->is_udp && ing_native_udp_open(n, video, audio) < 0)
        return -1;
    n->is_holding = n->tracks[0].is_used && n->tracks[1].is_used;
    n->has_video_au = false;
    n->hold_until_ns = n->now_ns + HOLD_NS;
    return n->tracks[0].is_used || n->tracks[1].is_used ? 0 : -1;
}

static void play_cb(void *arg, const struct ing_rtsp_rtp_info info[ING_RTSP_TRACKS])
{
    struct ing_native *n = arg;
    for (int t = 0; t < ING_RTSP_TRACKS; t++) {
        if (info[t].has_seq) {
            /* The first packet's number is known: a loss at the very start shows too. */
            n->tracks[t].depack.has_seq = true;
            n->tracks[t].depack.next_seq = info[t].seq;
        }
    }
    n->state = N_PLAYING;
    n->last_rx_ns = n->now_ns;
    int timeout_s = n->conn.timeout_s > 0 ? n->conn.timeout_s : 60;
    n->keepalive_ns = n->now_ns + (int64_t)timeout_s * 500000000;
    n->rr_ns = n->now_ns + RR_FIRST_NS;
    n->s->window_start_ns = ing_stream_now_ns(n->s);
}

/* ---- packets (RTCP and UDP: rtsp_stream_rtcp.c) ---- */

/* A monotonic time on the track's RTP clock (for the interarrival jitter). */
static int64_t rtp_clock(int64_t now_ns, const struct native_track *nt)
{
    int64_t rate = nt->clock_rate ? nt->clock_rate : 90000;
    return now_ns / 1000000000 * rate + now_ns % 1000000000 * rate / 1000000000;
}

void ing_native_packet(void *arg, enum ing_rtsp_track track, bool is_rtcp, const uint8_t *data,
                       size_t len)
{
    struct ing_native *n = arg;
    struct native_track *nt = &n->tracks[track];
    if (!nt->is_used)
        return;
    if (is_rtcp) {
        ing_native_rtcp(n, nt, data, len);
        return;
    }
    struct rtp_packet rtp;
    if (rtp_packet_parse(data, len, &rtp) < 0 || rtp.payload_type != nt->payload_type) {
        nt->depack.bad_packets++;
        return;
    }
    n->last_rx_ns = n->now_ns;
    if (nt->rx.has_seq && rtp.ssrc != nt->rx.ssrc) {
        /* The camera restarted its stream: its sender reports describe a new clock. */
        ing_srclock_reset(&ing_native_track_of(nt)->srclock);
        log_field kv[3];
        log_info_limited("RTP SSRC changed", ing_stream_kv(n->s, kv),
                         "%s RTP SSRC changed from %08x to %08x: the camera clock is measured anew",
                         nt->id == ING_RTSP_VIDEO ? "video" : "audio", (unsigned)nt->rx.ssrc,
                         (unsigned)rtp.ssrc);
    }
    rtp_rx_stats_packet(&nt->rx, rtp.ssrc, rtp.seq, rtp.timestamp, rtp_clock(n->now_ns, nt));
    nt->last_rtp_ts = rtp.timestamp;
    ing_depack_push(&nt->depack, &rtp);
}

static const struct ing_rtsp_conn_cbs conn_cbs = {
    .describe_cb = describe_cb,
    .play_cb = play_cb,
    .packet_cb = ing_native_packet,
};

/* ---- connecting ---- */

static void native_connect(struct ing_native *n, const struct addrinfo *ai)
{
    char why[160];
    if (n->s->opt.networks &&
        ing_netpolicy_check_addrinfo(n->s->opt.networks, ai, why, sizeof(why)) < 0) {
        char text[200];
        snprintf(text, sizeof(text), "unreachable: %s", why);
        ing_native_fail(n, ING_REASON_UNREACHABLE, text);
        return;
    }
    int last = -EHOSTUNREACH;
    for (; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            last = -errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
            last = -errno;
            close(fd);
            continue;
        }
        n->fd = fd;
        n->next_addr = ai->ai_next;
        n->state = N_CONNECT;
        n->deadline_ns = ing_loop_now_ns() + (int64_t)n->s->opt.connect_timeout_ms * 1000000;
        ing_loop_timer_set(&n->item, n->deadline_ns);
        int rc = ing_loop_fd_set(&n->item, fd, EPOLLOUT);
        if (rc < 0) {
            ing_rtsp_conn_closed(&n->conn, rc);
            native_failed(n);
        }
        return;
    }
    ing_rtsp_conn_closed(&n->conn, last);
    native_failed(n);
}

/*
 * The connect in progress failed or timed out: try the camera's next
 * address, if it has one. Returns whether a connect is under way again.
 */
static bool connect_next(struct ing_native *n)
{
    if (!n->next_addr)
        return false;
    ing_loop_fd_set(&n->item, -1, 0);
    close(n->fd);
    n->fd = -1;
    native_connect(n, n->next_addr);
    return true;
}

static void native_resolved(struct ing_native *n)
{
    n->is_resolving = false;
    int err = gai_error(&n->gai);
    if (err != 0) {
        char text[160];
        snprintf(text, sizeof(text), "unreachable: cannot resolve '%.64s': %s", n->conn.url.host,
                 gai_strerror(err));
        ing_native_fail(n, ING_REASON_UNREACHABLE, text);
        return;
    }
    n->addrs = n->gai.ar_result; /* kept: a failed connect moves to the next address */
    n->gai.ar_result = NULL;
    native_connect(n, n->addrs);
}

/* The breaker allows an attempt: start a session. */
static void native_attempt(struct ing_native *n)
{
    ing_stream *s = n->s;
    n->attempts++;
    if (getrandom(&n->rr_ssrc, sizeof(n->rr_ssrc), GRND_NONBLOCK) != sizeof(n->rr_ssrc))
        n->rr_ssrc = (uint32_t)(uintptr_t)n ^ n->attempts;
    n->got_media = false;
    n->is_stall = false;
    n->phase_seen = ING_RTSP_OPTIONS;
    if (ing_rtsp_conn_init(&n->conn, s->url, &conn_cbs, n) < 0) {
        ing_native_fail(n, ING_REASON_NOT_RTSP, "not RTSP: the URL cannot be parsed");
        return;
    }
    n->is_udp = n->conn.is_udp = s->transport == ING_TRANSPORT_UDP;
    snprintf(n->port, sizeof(n->port), "%d", n->conn.url.port);
    n->hints =
        (struct addrinfo){.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(n->conn.url.host, n->port, &n->hints, &ai) == 0) {
        n->addrs = ai;
        native_connect(n, ai); /* an IP literal: no lookup needed */
        return;
    }
    n->hints.ai_flags = AI_NUMERICSERV;
    n->gai =
        (struct gaicb){.ar_name = n->conn.url.host, .ar_service = n->port, .ar_request = &n->hints};
    struct gaicb *list[1] = {&n->gai};
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
    if (rc != 0) {
        char text[160];
        snprintf(text, sizeof(text), "unreachable: cannot resolve '%.64s': %s", n->conn.url.host,
                 gai_strerror(rc));
        ing_native_fail(n, ING_REASON_UNREACHABLE, text);
        return;
    }
    n->is_resolving = true;
    n->state = N_RESOLVE;
    n->deadline_ns = ing_loop_now_ns() + (int64_t)s->opt.connect_timeout_ms * 1000000;
    ing_loop_timer_set(&n->item, ing_loop_now_ns() + RESOLVE_POLL_NS);
}

/* ---- loop callbacks ---- */

static void on_attach(struct ing_loop_item *it)
{
    struct ing_native *n = ing_native_of(it);
    n->state = N_WAIT;
    ing_loop_timer_set(it, ing_loop_now_ns());
}

/* After input: react to a new phase (deadline), send what was queued. */
static void native_after_input(struct ing_native *n)
{
    if (n->conn.phase != n->phase_seen) {
        n->phase_seen = n->conn.phase;
        if (n->conn.phase != ING_RTSP_PLAYING) {
            n->deadline_ns = n->now_ns + (int64_t)n->s->opt.connect_timeout_ms * 1000000;
            ing_loop_timer_set(&n->item, n->deadline_ns);
        } else {
            ing_loop_timer_set(&n->item, n->now_ns + 1000000000);
        }
    }
    int rc = native_flush(n);
    if (rc < 0) {
        ing_rtsp_conn_closed(&n->conn, rc);
        native_failed(n);
    }
}

/* One read from the socket or the TLS session: > 0 bytes, 0 at EOF, -EAGAIN, or -errno. */
static long native_recv(struct ing_native *n, uint8_t *buf, size_t len)
{
    if (n->tls.is_open)
        return ing_tls_recv(&n->tls, buf, len);
    ssize_t r = recv(n->fd, buf, len, 0);
    if (r >= 0)
        return (long)r;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
}

/* Reads once and consumes what came. Returns false when the session ended. */
static bool native_read_once(struct ing_native *n)
{
    size_t cap;
    uint8_t *buf = ing_loop_rbuf(&n->item, &cap);
    if (n->carry_len)
        memcpy(buf, n->carry, n->carry_len);
    long r = native_recv(n, buf + n->carry_len, cap - n->carry_len);
    if (r == -EAGAIN)
        return true;
    if (r <= 0) {
        ing_rtsp_conn_closed(&n->conn, (int)r);
        native_failed(n);
        return false;
    }
    n->now_ns = ing_loop_now_ns();
    size_t total = n->carry_len + (size_t)r;
    long used = ing_rtsp_conn_input(&n->conn, buf, total);
    if (used < 0 || n->conn.phase == ING_RTSP_FAILED) {
        native_failed(n);
        return false;
    }
    size_t left = total - (size_t)used;
    if (left == cap) {
        ing_native_fail(n, ING_REASON_NOT_RTSP,
                        "not RTSP: a message larger than the receive buffer");
        return false;
    }
    if (left > n->carry_cap) {
        n->carry_cap = left < 2048 ? 2048 : left;
        n->carry = horus_realloc(n->carry, n->carry_cap);
    }
    if (left) /* carry may still be NULL, and memcpy(NULL, .., 0) is undefined */
        memcpy(n->carry, buf + used, left);
    n->carry_len = left;
    native_after_input(n);
    return n->fd >= 0;
}

static void native_read(struct ing_native *n)
{
    /* TLS may hold decrypted records that epoll cannot see: drain them now. */
    while (native_read_once(n) && n->tls.is_open && ing_tls_pending(&n->tls))
        ;
}

/* Counts a TLS failure by reason and fails the attempt with its sentence. */
static void native_tls_failed(struct ing_native *n, enum ing_tls_failure kind, const char *text)
{
    if (n->tls_failures)
        metrics_counter_inc(
            metrics_series_get(n->tls_failures, n->s->camera, ing_tls_failure_code(kind)));
    ing_native_fail(n, ING_REASON_TLS, text);
}

/* Connected: start TLS (rtsps://) or the RTSP handshake. */
static void native_connected(struct ing_native *n)
{
    ing_stream *s = n->s;
    n->now_ns = ing_loop_now_ns();
    n->deadline_ns = n->now_ns + (int64_t)s->opt.connect_timeout_ms * 1000000;
    ing_loop_timer_set(&n->item, n->deadline_ns);
    if (!n->is_tls) {
        n->state = N_HANDSHAKE;
        native_after_input(n); /* sends OPTIONS */
        return;
    }
    if (!n->creds) {
        native_tls_failed(n, ING_TLS_CA_FILE, n->creds_error);
        return;
    }
    char err[160];
    if (ing_tls_start(&n->tls, n->creds, n->fd, n->conn.url.host, !s->opt.tls_skip_verify, err,
                      sizeof(err)) < 0) {
        native_tls_failed(n, ING_TLS_HANDSHAKE, err);
        return;
    }
    if (s->opt.tls_skip_verify) {
        log_field kv[3];
        log_warn_kv(ing_stream_kv(s, kv),
                    "camera '%s': TLS certificate of '%s' not verified (tls_verify is false)",
                    s->camera, s->url_masked);
    }
    n->state = N_TLS;
}

/* Advances the TLS handshake; on success the RTSP handshake starts. */
static void native_tls_step(struct ing_native *n)
{
    enum ing_tls_failure kind = ING_TLS_HANDSHAKE;
    char err[160];
    int rc = ing_tls_handshake(&n->tls, &kind, err, sizeof(err));
    if (rc == -EAGAIN) {
        if (ing_loop_fd_set(&n->item, n->fd, ing_tls_events(&n->tls)) < 0)
            native_tls_failed(n, ING_TLS_HANDSHAKE, "TLS: cannot wait on the socket");
        return;
    }
    if (rc < 0) {
        native_tls_failed(n, kind, err);
        return;
    }
    n->state = N_HANDSHAKE;
    n->now_ns = ing_loop_now_ns();
    native_after_input(n); /* sends OPTIONS over TLS */
}

static void on_io(struct ing_loop_item *it, uint32_t events)
{
    struct ing_native *n = ing_native_of(it);
    if (n->fd < 0)
        return;
    if (n->state == N_CONNECT) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(n->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err && connect_next(n))
            return;
        if (err) {
            ing_rtsp_conn_closed(&n->conn, -err);
            native_failed(n);
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        native_connected(n);
        if (n->state == N_TLS)
            native_tls_step(n);
        return;
    }
    if (n->state == N_TLS) {
        native_tls_step(n);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        native_read(n);
        if (n->fd < 0)
            return;
    }
    if (events & EPOLLOUT)
        native_after_input(n);
}

/* Once a second while playing: counters and gauges. */
static void native_tick(struct ing_native *n)
{
    ing_stream *s = n->s;
    ing_stream_window_tick(s);
    uint64_t lost = 0, dropped = 0;
    for (int t = 0; t < ING_RTSP_TRACKS; t++) {
        lost += n->tracks[t].depack.lost_packets;
        dropped += n->tracks[t].depack.dropped_units;
    }
    ing_native_udp_tick(n, ing_loop_now_ns());
    if (n->lost && lost > n->reported_lost)
        metrics_counter_add(n->lost, (double)(lost - n->reported_lost));
    n->reported_lost = lost;
    pthread_mutex_lock(&s->mu);
    s->status.lost_packets = lost;
    s->status.dropped_frames = dropped;
    pthread_mutex_unlock(&s->mu);
}

static void on_timer(struct ing_loop_item *it)
{
    struct ing_native *n = ing_native_of(it);
    ing_stream *s = n->s;
    int64_t now = ing_loop_now_ns();
    switch (n->state) {
    case N_WAIT: {
        bool changed;
        if (!ing_breaker_allow(&s->breaker, &changed)) {
            int64_t wait_ns = ing_breaker_wait_ms(&s->breaker) * 1000000;
            ing_loop_timer_set(it, now + (wait_ns < BREAKER_POLL_NS ? wait_ns : BREAKER_POLL_NS));
            return;
        }
        ing_stream_breaker_publish(s, changed);
        native_attempt(n);
        return;
    }
    case N_RESOLVE:
        if (gai_error(&n->gai) != EAI_INPROGRESS) {
            native_resolved(n);
        } else if (now >= n->deadline_ns) {
            char text[160];
            snprintf(text, sizeof(text), "timeout: no answer in %d ms", s->opt.connect_timeout_ms);
            ing_native_fail(n, ING_REASON_TIMEOUT, text);
        } else {
            ing_loop_timer_set(it, now + RESOLVE_POLL_NS);
        }
        return;
    case N_CONNECT:
    case N_TLS:
    case N_HANDSHAKE:
        if (now >= n->deadline_ns) {
            if (n->state == N_CONNECT && connect_next(n))
                return; /* the name's next address, with a deadline of its own */
            char text[160];
            snprintf(text, sizeof(text), "timeout: no answer in %d ms", s->opt.connect_timeout_ms);
            ing_native_fail(n, ING_REASON_TIMEOUT, text);
        } else {
            ing_loop_timer_set(it, n->deadline_ns);
        }
        return;
    case N_PLAYING: {
        int64_t stall_ns = (int64_t)s->opt.stall_timeout_ms * 1000000;
        if (now - n->last_rx_ns >= stall_ns) {
            char text[160];
            snprintf(text, sizeof(text), "stall: no packet for %d ms", s->opt.stall_timeout_ms);
            n->is_stall = true;
            ing_native_fail(n, ING_REASON_TIMEOUT, text);
            return;
        }
        if (now >= n->keepalive_ns) {
            ing_rtsp_conn_keepalive(&n->conn);
            int timeout_s = n->conn.timeout_s > 0 ? n->conn.timeout_s : 60;
            n->keepalive_ns = now + (int64_t)timeout_s * 500000000;
            n->now_ns = now;
            native_after_input(n);
            if (n->fd < 0)
                return;
        }
        if (n->is_holding && n->has_video_au && now >= n->hold_until_ns)
            hold_release(n, true); /* no audio came: video goes on alone */
        if (now >= n->tick_ns) {
            native_tick(n);
            for (int t = 0; t < ING_RTSP_TRACKS; t++)
                ing_native_sr_apply(
                    &n->tracks[t]); /* one that came before the session's first map */
            n->tick_ns = now + 1000000000;
        }
        if (now >= n->rr_ns) {
            n->now_ns = now;
            ing_native_receiver_reports(n);
            n->rr_ns = now + RR_INTERVAL_NS;
            native_after_input(n);
            if (n->fd < 0)
                return;
        }
        int64_t due = n->last_rx_ns + stall_ns;
        if (n->keepalive_ns < due)
            due = n->keepalive_ns;
        if (n->rr_ns < due)
            due = n->rr_ns;
        if (n->tick_ns < due)
            due = n->tick_ns;
        ing_loop_timer_set(it, due);
        return;
    }
    case N_DONE:
        return;
    }
}

static void on_detach(struct ing_loop_item *it)
{
    struct ing_native *n = ing_native_of(it);
    if (n->fd >= 0 && (n->state == N_HANDSHAKE || n->state == N_PLAYING)) {
        /* Polite but never waiting: one non-blocking TEARDOWN. */
        ing_rtsp_conn_teardown(&n->conn);
        if (n->conn.out_len && n->tls.is_open)
            (void)ing_tls_send(&n->tls, n->conn.out, n->conn.out_len);
        else if (n->conn.out_len)
            (void)!send(n->fd, n->conn.out, n->conn.out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    if (n->state == N_PLAYING)
        native_tick(n);
    native_close(n);
    ing_stream_finish(n->s);
    pthread_mutex_lock(&n->mu);
    n->is_detached = true;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
}

static const struct ing_loop_ops native_ops = {
    .attach_cb = on_attach,
    .io_cb = on_io,
    .timer_cb = on_timer,
    .detach_cb = on_detach,
    .aux_cb = ing_native_on_aux,
};

/* ---- the stream's side ---- */

int ing_native_start(ing_stream *s)
{
    struct ing_native *n = horus_calloc(1, sizeof(*n));
    n->s = s;
    n->fd = -1;
    n->item.ops = &native_ops;
    for (int t = 0; t < ING_RTSP_TRACKS; t++) {
        n->tracks[t].n = n;
        n->tracks[t].id = (enum ing_rtsp_track)t;
        ing_udp_pair_init(&n->tracks[t].udp);
        ing_depack_init(&n->tracks[t].depack,
                        t == ING_RTSP_VIDEO ? MEDIA_CODEC_H264 : MEDIA_CODEC_AAC, &s->video.ps,
                        au_cb, NULL, &n->tracks[t]);
    }
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cond, NULL);
    n->is_tls = strncasecmp(s->url, "rtsps://", 8) == 0;
    /* The trust store is parsed here, on the caller's thread, never on a loop thread. */
    if (n->is_tls &&
        ing_tls_creds_acquire(s->opt.tls_ca, &n->creds, n->creds_error, sizeof(n->creds_error)) < 0)
        n->creds = NULL; /* every attempt fails with creds_error, through the breaker */
    if (s->opt.metrics && n->is_tls)
        n->tls_failures = metrics_family_add(
            s->opt.metrics, &(struct metrics_desc){
                                .type = METRICS_COUNTER,
                                .name = "horus_ingest_tls_failures_total",
                                .help = "rtsps:// sessions refused at the TLS handshake, by "
                                        "reason (expired, wrong_host, self_signed, untrusted, "
                                        "not_yet_valid, revoked, handshake, ca_file)",
                                .labels = "camera,reason",
                            });
    if (s->opt.metrics) {
        metrics_family *f = metrics_family_add(
            s->opt.metrics, &(struct metrics_desc){
                                .type = METRICS_COUNTER,
                                .name = "horus_ingest_lost_packets_total",
                                .help = "RTP packets lost (sequence gaps), native client",
                                .labels = "camera,stream",
                            });
        n->lost = metrics_series_get(f, s->camera, s->stream);
        f = metrics_family_add(s->opt.metrics,
                               &(struct metrics_desc){
                                   .type = METRICS_COUNTER,
                                   .name = "horus_ingest_unsupported_media_total",
                                   .help = "Sessions whose audio was offered in a payload format "
                                           "the native client cannot record",
                                   .labels = "camera,stream",
                               });
        n->unsupported = metrics_series_get(f, s->camera, s->stream);
    }
    s->native = n;
    int rc = ing_loop_acquire(s->opt.loop_threads, s->opt.read_batch_us, &n->loop);
    if (rc < 0) {
        n->loop = NULL;
        n->is_detached = true;
        return rc;
    }
    ing_loop_add(n->loop, &n->item);
    return 0;
}

void ing_native_stop(ing_stream *s)
{
    struct ing_native *n = s->native;
    atomic_store(&s->stop, true);
    if (!n || !n->loop || atomic_exchange(&n->is_stopping, true))
        return;
    ing_loop_remove(&n->item);
}

void ing_native_join(ing_stream *s)
{
    struct ing_native *n = s->native;
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    while (!n->is_detached)
        pthread_cond_wait(&n->cond, &n->mu);
    pthread_mutex_unlock(&n->mu);
    /* Detached: the last stream joined stops the pool's threads. */
    ing_loop_release(n->loop);
    n->loop = NULL;
}

void ing_native_free(ing_stream *s)
{
    struct ing_native *n = s->native;
    if (!n)
        return;
    for (int t = 0; t < ING_RTSP_TRACKS; t++) {
        ing_depack_release(&n->tracks[t].depack);
        ing_reorder_release(&n->tracks[t].reorder);
    }
    ing_loop_release(n->loop); /* NULL after a join */
    ing_tls_creds_release(n->creds);
    free(n->carry);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->mu);
    free(n);
    s->native = NULL;
}
