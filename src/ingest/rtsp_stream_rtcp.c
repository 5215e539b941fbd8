/*
 * DESIGN: what a native session receives and sends beside its RTSP
 * connection: RTCP both ways (docs/design/0053: each track's sender
 * reports fed to the camera clock, our receiver reports every 5 s,
 * interleaved or to the camera's RTCP port) and, with transport udp
 * (docs/design/0073), the tracks' RTP and RTCP sockets: opened at the
 * description, read as extra sockets of the stream's loop item, each
 * datagram from the camera passed to the same path as an interleaved frame
 * (ing_native_packet in rtsp_stream.c). Thread: the stream's loop.
 */
#define LOG_MODULE "ingest"

#include "rtsp_native_int.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* How long a hole in a UDP track's sequence may hold later packets back (a frame at 25 fps). */
#define REORDER_HOLD_NS 40000000

/* ---- RTCP ---- */

/* Offers the track's pending sender report to the camera clock; kept while there is no session. */
void ing_native_sr_apply(struct native_track *nt)
{
    if (!nt->has_sr)
        return;
    struct ing_track *t = ing_native_track_of(nt);
    const struct rtcp_sr *sr = &nt->sr;
    int64_t rate = nt->clock_rate ? nt->clock_rate : 90000;
    struct ing_sr_input in = {
        .ssrc = sr->ssrc,
        .has_stream_ssrc = nt->rx.has_seq,
        .stream_ssrc = nt->rx.ssrc,
        .ntp_us = rtcp_ntp_to_unix_us(sr->ntp),
        .rtp_delta_us = nt->rx.has_seq ? (int64_t)(int32_t)(sr->rtp_timestamp - nt->last_rtp_ts) *
                                             1000000 / rate
                                       : 0,
        .arrival_us = nt->sr_arrival_us,
    };
    if (ing_stream_sender_report(nt->n->s, t, &in, ing_native_raw_of(nt, t, sr->rtp_timestamp)))
        nt->has_sr = false;
}

/* An RTCP packet from the camera: its sender report, if any, dates the camera's clock. */
void ing_native_rtcp(struct ing_native *n, struct native_track *nt, const uint8_t *data, size_t len)
{
    struct rtcp_sr sr;
    int rc = rtcp_sr_find(data, len, &sr);
    if (rc == -ENOENT)
        return; /* receiver reports, SDES, BYE: nothing to learn */
    if (rc < 0) {
        char detail[96];
        snprintf(detail, sizeof(detail), "a malformed RTCP packet of %zu bytes on the %s channel",
                 len, nt->id == ING_RTSP_VIDEO ? "video" : "audio");
        ing_stream_rtcp_refused(n->s, ING_SR_MALFORMED, detail);
        return;
    }
    if (!nt->rx.has_seq || sr.ssrc == nt->rx.ssrc)
        rtp_rx_stats_sr(&nt->rx, sr.ntp, n->now_ns / 1000);
    nt->sr = sr;
    nt->has_sr = true;
    nt->sr_arrival_us = clock_realtime_ms(n->s->opt.clock) * 1000;
    ing_native_sr_apply(nt);
}

/* Queues a receiver report for each track that received RTP (RFC 3550 6.4.2). */
void ing_native_receiver_reports(struct ing_native *n)
{
    for (int t = 0; t < ING_RTSP_TRACKS; t++) {
        struct native_track *nt = &n->tracks[t];
        struct rtcp_report_block b;
        int port = n->conn.server_port[t][1];
        if (!nt->is_used ||
            (n->is_udp ? port <= 0 || nt->udp.fd[1] < 0 : n->conn.rtcp_channel[t] < 0) ||
            !rtp_rx_stats_report(&nt->rx, n->now_ns / 1000, &b))
            continue;
        if (n->is_udp) {
            uint8_t rr[RTCP_RR_COMPOUND_SIZE];
            rtcp_rr_write(rr, n->rr_ssrc, &b);
            (void)ing_udp_send(nt->udp.fd[1], &n->peer, n->peer_len, port, rr, sizeof(rr));
            continue;
        }
        uint8_t frame[RTSP_INTERLEAVED_HEADER + RTCP_RR_COMPOUND_SIZE];
        rtsp_interleaved_write(frame, (uint8_t)n->conn.rtcp_channel[t], RTCP_RR_COMPOUND_SIZE);
        rtcp_rr_write(frame + RTSP_INTERLEAVED_HEADER, n->rr_ssrc, &b);
        (void)ing_rtsp_conn_send_frame(&n->conn, frame, sizeof(frame));
    }
}

/* ---- transport udp ---- */

/* A datagram on a track's RTP or RTCP socket: the same path as an interleaved frame. */
/* An RTP packet the reorder buffer lets out, in sequence order. */
static void rtp_in_order(void *arg, const uint8_t *data, size_t len)
{
    struct native_track *nt = arg;
    ing_native_packet(nt->n, nt->id, false, data, len);
}

static void udp_datagram(void *arg, const uint8_t *data, size_t len)
{
    struct ing_native *n = arg;
    if (n->conn.phase != ING_RTSP_PLAY && n->conn.phase != ING_RTSP_PLAYING)
        return; /* before PLAY was sent: nothing the camera should send yet */
    struct native_track *nt = &n->tracks[n->udp_tag / 2 % ING_RTSP_TRACKS];
    if (n->udp_tag % 2 == 1)
        ing_native_packet(n, nt->id, true, data, len);
    else
        ing_reorder_push(&nt->reorder, data, len, n->now_ns, rtp_in_order, nt);
}

/* Binds each track's ports beside the RTSP connection and tells the session. Returns 0 or -1. */
int ing_native_udp_open(struct ing_native *n, const struct ing_sdp_media *video,
                        const struct ing_sdp_media *audio)
{
    struct sockaddr_storage local;
    socklen_t len = sizeof(local);
    n->peer_len = sizeof(n->peer);
    char err[160] = "cannot open UDP ports: the RTSP connection has no address";
    if (getsockname(n->fd, (struct sockaddr *)&local, &len) < 0 ||
        getpeername(n->fd, (struct sockaddr *)&n->peer, &n->peer_len) < 0)
        goto fail;
    if (n->s->opt.metrics && !n->udp_anomalies[0])
        ing_native_udp_metrics(n, n->s->opt.metrics); /* UDP streams only: no series for TCP */
    for (int t = 0; t < ING_RTSP_TRACKS; t++) {
        struct ing_udp_pair *u = &n->tracks[t].udp;
        if (!(t == ING_RTSP_VIDEO ? video : audio))
            continue;
        if (ing_udp_pair_open(u, &local, len, err, sizeof(err)) < 0)
            goto fail;
        ing_reorder_init(&n->tracks[t].reorder, REORDER_HOLD_NS);
        for (int i = 0; i < 2; i++)
            if (ing_loop_aux_set(&n->item, &u->aux[i], u->fd[i], (unsigned)(2 * t + i)) < 0) {
                snprintf(err, sizeof(err), "cannot wait on a UDP socket: %s", strerror(errno));
                goto fail;
            }
        n->conn.client_port[t] = u->port;
    }
    return 0;
fail:
    ing_rtsp_conn_fail(&n->conn, ING_REASON_OTHER, err);
    return -1;
}

void ing_native_on_aux(struct ing_loop_item *it, unsigned tag)
{
    struct ing_native *n = ing_native_of(it);
    struct native_track *nt = &n->tracks[tag / 2 % ING_RTSP_TRACKS];
    int fd = nt->udp.fd[tag % 2];
    if (fd < 0)
        return;
    size_t cap;
    uint8_t *buf = ing_loop_rbuf(it, &cap);
    n->now_ns = ing_loop_now_ns();
    n->udp_tag = tag;
    long rc = ing_udp_read(fd, &n->peer, buf, cap, udp_datagram, n, &n->udp_counts);
    if (rc < 0 && rc != -ECONNREFUSED) {
        char text[160];
        snprintf(text, sizeof(text), "UDP receive failed: %s", strerror((int)-rc));
        ing_native_fail(n, ING_REASON_CLOSED, text);
        return;
    }
    if (tag % 2 == 0)
        ing_reorder_expire(&nt->reorder, n->now_ns, rtp_in_order, nt);
    if (n->udp_counts.foreign && !n->is_foreign_logged) {
        n->is_foreign_logged = true;
        log_field kv[3];
        log_warn_kv(ing_stream_kv(n->s, kv),
                    "UDP datagrams from another address than the camera's were dropped");
    }
}

void ing_native_udp_tick(struct ing_native *n, int64_t now_ns)
{
    if (!n->is_udp)
        return;
    uint64_t now[4] = {0, 0, n->udp_counts.foreign, n->udp_counts.truncated};
    for (int t = 0; t < ING_RTSP_TRACKS; t++) {
        struct native_track *nt = &n->tracks[t];
        ing_reorder_expire(&nt->reorder, now_ns, rtp_in_order, nt);
        now[0] += nt->reorder.reordered;
        now[1] += nt->reorder.late;
    }
    for (int k = 0; k < 4; k++) {
        if (n->udp_anomalies[k] && now[k] > n->udp_reported[k])
            metrics_counter_add(n->udp_anomalies[k], (double)(now[k] - n->udp_reported[k]));
        n->udp_reported[k] = now[k];
    }
}

void ing_native_udp_metrics(struct ing_native *n, metrics_registry *metrics)
{
    static const char *const kinds[4] = {"reordered", "late", "foreign", "truncated"};
    metrics_family *f = metrics_family_add(
        metrics, &(struct metrics_desc){
                     .type = METRICS_COUNTER,
                     .name = "horus_ingest_udp_anomalies_total",
                     .help = "RTP/UDP datagrams of the native client out of the ordinary, by "
                             "kind: reordered (held for an earlier one, then recorded), late "
                             "(duplicates and packets behind what was recorded: dropped), "
                             "foreign (from another address than the camera's: dropped), "
                             "truncated (larger than a receive slot: dropped)",
                     .labels = "camera,stream,kind",
                 });
    for (int k = 0; k < 4; k++)
        n->udp_anomalies[k] = metrics_series_get(f, n->s->camera, n->s->stream, kinds[k]);
}
