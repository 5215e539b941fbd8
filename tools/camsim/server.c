/*
 * DESIGN: one thread, one epoll, every client. The source (live encoder
 * queue or replay timer) wakes the loop; each due access unit is
 * packetised once into a cs_frame and a reference to it is appended to the
 * send queue of every playing client; then each client with queued data
 * gets one sendmsg() with an iovec per frame. Nothing is copied per client
 * unless a client chose non-default interleaved channels.
 *
 * Joining: the frames since the last video keyframe are cached, so PLAY
 * starts with a decodable GOP at once; RTP-Info names the first packet the
 * client gets on each track (sequence numbers and SSRC are shared).
 *
 * Slow clients: a client's queue is bounded (4 MiB plus twice the cached
 * GOP, and 8192 frames). On overflow every queued media frame that has not
 * started to go out is dropped (replies never are) and the client skips
 * media until the next video keyframe, like a camera dropping a UDP
 * receiver. Memory stays bounded because queues only hold references.
 *
 * UDP tracks (udp.c) take the same frames but skip the queue: they are sent
 * at once with one sendmmsg and dropped when the socket refuses them.
 *
 * Faults (--fault): refuse accepts each connection and resets it (RST)
 * at once; drop closes each connection N s after it was accepted; stall
 * stops media to a client N s after its PLAY and keeps answering requests
 * on the open socket; sr-skew states a wrong wall clock in the sender
 * reports; rtcp-garbage sends a packet that is not RTCP before each.
 *
 * RTCP: a sender report per track every 5 s; the receiver reports clients
 * send (interleaved on the RTCP channel, or to the RTCP port) are parsed
 * and counted: the first of each track is logged with its fields, the
 * count when the client closes.
 *
 * TLS (--tls CERT KEY): every connection is a GnuTLS server session on the
 * same non-blocking socket. The handshake advances on each epoll event in
 * the direction GnuTLS asks for; then requests are read and the queue is
 * written through the session, one record per queued frame (the same frame
 * references, still never copied per client). Media only goes interleaved:
 * rtsp.c refuses UDP over TLS.
 *
 * Thread: server only.
 */
#include "server_int.h"

#include "err.h"
#include "mem.h"
#include "net.h"
#include "sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define TAG_LISTEN 1
#define TAG_SIGNAL 2
#define TAG_SOURCE 3
#define MAX_CLIENTS 8000
#define QUEUE_MAX_FRAMES 8192
#define BACKLOG_MIN_BYTES ((size_t)4 << 20)
#define GOP_MAX_BYTES ((size_t)32 << 20)
#define GOP_MAX_FRAMES 4096
#define SEND_IOV_MAX 64
#define REPORT_INTERVAL_NS 5000000000 /* sender reports (and UDP input) this often */
#define LOOP_TICK_MS 100

static void epoll_set(cs_server *srv, int fd, uint32_t events, uint64_t tag, int op)
{
    struct epoll_event ev = {.events = events, .data.u64 = tag};
    if (epoll_ctl(srv->epfd, op, fd, &ev) < 0)
        fprintf(stderr, "horus-camsim: epoll_ctl fd %d: %s\n", fd, strerror(errno));
}

static void epoll_set_client(cs_server *srv, cs_client *c, bool wants_out, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | (wants_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(srv->epfd, op, c->fd, &ev) < 0)
        fprintf(stderr, "horus-camsim: epoll_ctl client %s: %s\n", c->peer, strerror(errno));
    c->has_epollout = wants_out;
}

/* --- send queue -------------------------------------------------------- */

static cs_frame **queue_at(cs_client *c, uint32_t i)
{
    return &c->q[(c->q_head + i) & (c->q_cap - 1)];
}

static void queue_grow(cs_client *c)
{
    uint32_t cap = c->q_cap ? c->q_cap * 2 : 64;
    cs_frame **q = horus_malloc(cap * sizeof(*q));
    for (uint32_t i = 0; i < c->q_len; i++)
        q[i] = *queue_at(c, i);
    free(c->q);
    c->q = q;
    c->q_cap = cap;
    c->q_head = 0;
}

/* Appends frame; steals the reference. */
static void queue_push(cs_client *c, cs_frame *frame)
{
    if (c->q_len == c->q_cap)
        queue_grow(c);
    *queue_at(c, c->q_len) = frame;
    c->q_len++;
    c->q_bytes += frame->size;
}

/* Drops queued media that has not started to go out; replies stay in order. */
static void queue_drop_media(cs_client *c)
{
    uint32_t kept = 0;
    c->q_bytes = 0;
    for (uint32_t i = 0; i < c->q_len; i++) {
        cs_frame *f = *queue_at(c, i);
        bool is_started = i == 0 && c->q_off > 0;
        if (f->kind == CS_FRAME_TEXT || is_started) {
            *queue_at(c, kept++) = f;
            c->q_bytes += f->size - (is_started ? c->q_off : 0);
        } else {
            cs_frame_unref(f);
            c->dropped_frames++;
        }
    }
    c->q_len = kept;
}

static size_t backlog_limit(const cs_server *srv)
{
    return BACKLOG_MIN_BYTES + 2 * srv->gop_bytes;
}

static void client_enqueue(cs_client *c, cs_frame *frame)
{
    uint8_t channel =
        frame->kind == CS_FRAME_RTCP ? c->channel_rtcp[frame->track] : c->channel[frame->track];
    uint8_t usual = (uint8_t)(frame->track * 2 + (frame->kind == CS_FRAME_RTCP ? 1 : 0));
    if (channel == usual)
        queue_push(c, cs_frame_ref(frame));
    else
        queue_push(c, cs_frame_new_rechanneled(frame, channel));
}

/* Offers a media or report frame to c, applying the stall fault and the backlog bound. */
static void client_offer(cs_server *srv, cs_client *c, cs_frame *frame, int64_t now_ns)
{
    if (!c->is_playing || c->is_closing || !c->is_setup[frame->track])
        return;
    if (srv->opt->fault == CS_FAULT_STALL && !c->is_stalled &&
        now_ns - c->play_ns >= (int64_t)srv->opt->fault_s * 1000000000) {
        c->is_stalled = true;
        fprintf(stderr, "horus-camsim: client %s: stall fault, media stopped\n", c->peer);
    }
    if (c->is_stalled)
        return;
    if (frame->kind == CS_FRAME_RTCP) {
        if (c->is_waiting_key)
            return; /* a report before the first packet it describes confuses receivers */
        if (c->is_udp[frame->track])
            cs_udp_send(&c->udp[frame->track], frame, srv->opt->is_write_packet);
        else
            client_enqueue(c, frame);
        return;
    }
    bool is_start =
        !c->is_setup[CS_TRACK_VIDEO] || (frame->track == CS_TRACK_VIDEO && frame->is_keyframe);
    if (c->is_waiting_key) {
        if (!is_start)
            return;
        c->is_waiting_key = false;
    }
    if (c->is_udp[frame->track]) {
        unsigned dropped =
            frame->due_ns && srv->opt->is_write_packet
                ? cs_udp_send_paced(&c->udp[frame->track], frame, now_ns)
                : cs_udp_send(&c->udp[frame->track], frame, srv->opt->is_write_packet);
        if (dropped > 0) {
            /* A hole in the picture: resume cleanly at the next keyframe. */
            srv->total_drops += dropped;
            c->dropped_frames++;
            c->is_waiting_key = true;
        }
        return;
    }
    if (c->q_bytes + frame->size > backlog_limit(srv) || c->q_len >= QUEUE_MAX_FRAMES) {
        uint64_t before = c->dropped_frames;
        queue_drop_media(c);
        srv->total_drops += c->dropped_frames - before;
        if (!is_start) {
            c->is_waiting_key = true;
            c->dropped_frames++;
            return;
        }
    }
    client_enqueue(c, frame);
}

/* Interleaved packets in a media or report frame (0 for a reply). */
static uint64_t frame_packets(const cs_frame *f)
{
    uint64_t n = 0;
    if (f->kind == CS_FRAME_TEXT)
        return 0;
    for (size_t pos = 0; pos + 4 <= f->size; n++)
        pos += 4 + (((size_t)f->data[pos + 2] << 8) | f->data[pos + 3]);
    return n;
}

/* Removes sent bytes from the head of c's queue. */
static void queue_consume(cs_client *c, size_t left)
{
    c->sent_bytes += (uint64_t)left;
    c->q_bytes -= left;
    while (c->q_len > 0) {
        cs_frame *f = *queue_at(c, 0);
        size_t rest = f->size - c->q_off;
        if (left < rest) {
            c->q_off += left;
            break;
        }
        left -= rest;
        c->sent_packets += frame_packets(f);
        cs_frame_unref(f);
        c->q_head = (c->q_head + 1) & (c->q_cap - 1);
        c->q_len--;
        c->q_off = 0;
    }
}

/* TLS: sends the queue one record per frame. Returns 0, or -errno to close. */
static int client_flush_tls(cs_client *c)
{
    while (c->q_len > 0) {
        cs_frame *f = *queue_at(c, 0);
        size_t len = c->tls_send_pending ? c->tls_send_pending : f->size - c->q_off;
        ssize_t sent = gnutls_record_send(c->tls, f->data + c->q_off, len);
        if (sent == GNUTLS_E_AGAIN || sent == GNUTLS_E_INTERRUPTED) {
            c->tls_send_pending = len; /* GnuTLS wants the same call again */
            return 0;
        }
        c->tls_send_pending = 0;
        if (sent < 0)
            return -ECONNRESET;
        queue_consume(c, (size_t)sent);
    }
    return 0;
}

/*
 * --write packet: sends the rest of the head frame's current interleaved
 * packet ('$', channel, 16-bit length, RTP) with one call of its own, as a
 * camera's RTP payloader does. Replies (not interleaved) go whole. Returns
 * 1 when the packet went out whole, 0 when the socket is full, 2 when the
 * packet is not due yet (pacing.c), or -errno.
 */
static int client_send_packet(cs_server *srv, cs_client *c)
{
    cs_frame *f = *queue_at(c, 0);
    if (c->q_off == 0 || c->q_off >= c->pkt_end) {
        c->pkt_index = c->q_off == 0 ? 0 : c->pkt_index + 1;
        const uint8_t *h = f->data + c->q_off;
        size_t rest = f->size - c->q_off;
        bool is_packet = f->kind != CS_FRAME_TEXT && rest >= 4 && h[0] == '$';
        size_t len = is_packet ? 4 + (((size_t)h[2] << 8) | h[3]) : rest;
        c->pkt_end = c->q_off + (len < rest ? len : rest);
    }
    if (f->kind == CS_FRAME_RTP && f->due_ns) {
        int64_t due = cs_pacer_due(f, c->pkt_index);
        if (due > cs_now_ns()) {
            if (srv->next_due_ns == 0 || due < srv->next_due_ns)
                srv->next_due_ns = due;
            return 2;
        }
    }
    size_t want = c->pkt_end - c->q_off;
    ssize_t sent;
    do {
        sent = send(c->fd, f->data + c->q_off, want, MSG_NOSIGNAL | MSG_DONTWAIT);
        srv->total_sends++;
    } while (sent < 0 && errno == EINTR);
    if (sent < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
    queue_consume(c, (size_t)sent);
    return (size_t)sent == want ? 1 : 0;
}

/* Writes as much of the queue as the socket takes. Returns 0, or -errno to close. */
static int client_flush(cs_server *srv, cs_client *c)
{
    if (c->tls) {
        if (c->is_tls_handshaking)
            return 0;
        int rc = client_flush_tls(c);
        if (rc < 0)
            return rc;
    }
    bool is_paced = false; /* waiting for a due time, not for the socket */
    while (c->q_len > 0 && !c->tls && srv->opt->is_write_packet) {
        int rc = client_send_packet(srv, c);
        if (rc < 0)
            return rc;
        if (rc == 2)
            is_paced = true;
        if (rc != 1)
            break;
    }
    while (c->q_len > 0 && !c->tls && !srv->opt->is_write_packet) {
        struct iovec iov[SEND_IOV_MAX];
        int n = 0;
        size_t total = 0;
        for (uint32_t i = 0; i < c->q_len && n < SEND_IOV_MAX; i++) {
            cs_frame *f = *queue_at(c, i);
            size_t off = i == 0 ? c->q_off : 0;
            iov[n].iov_base = f->data + off;
            iov[n].iov_len = f->size - off;
            total += iov[n].iov_len;
            n++;
        }
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t sent = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        srv->total_sends++;
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -errno;
        }
        queue_consume(c, (size_t)sent);
        if ((size_t)sent < total)
            break; /* the socket buffer is full: wait for EPOLLOUT */
    }
    bool wants_out = c->q_len > 0 && !is_paced;
    if (wants_out != c->has_epollout)
        epoll_set_client(srv, c, wants_out, EPOLL_CTL_MOD);
    if (c->q_len == 0 && c->is_closing)
        return -ECONNABORTED;
    return 0;
}

/* --- clients ----------------------------------------------------------- */

static void client_close(cs_server *srv, cs_client *c, const char *why)
{
    uint64_t udp_sent = 0, udp_dropped = 0;
    for (int t = 0; t < CS_TRACK_COUNT; t++) {
        udp_sent += c->udp[t].sent_packets;
        srv->total_sends += c->udp[t].send_calls;
        srv->total_packets += c->udp[t].sent_packets;
        udp_dropped += c->udp[t].dropped_packets;
        cs_udp_close(&c->udp[t]);
    }
    fprintf(stderr,
            "horus-camsim: client %s closed (%s): sent %llu bytes, dropped %llu frames, "
            "RTCP receiver reports %llu video %llu audio",
            c->peer, why, (unsigned long long)c->sent_bytes, (unsigned long long)c->dropped_frames,
            (unsigned long long)c->rr_received[CS_TRACK_VIDEO],
            (unsigned long long)c->rr_received[CS_TRACK_AUDIO]);
    if (c->is_udp[CS_TRACK_VIDEO] || c->is_udp[CS_TRACK_AUDIO])
        fprintf(stderr, ", UDP %llu packets sent, %llu dropped", (unsigned long long)udp_sent,
                (unsigned long long)udp_dropped);
    fputc('\n', stderr);
    srv->total_packets += c->sent_packets;
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->tls)
        gnutls_deinit(c->tls);
    close(c->fd);
    for (uint32_t i = 0; i < c->q_len; i++)
        cs_frame_unref(*queue_at(c, i));
    free(c->q);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_clients--;
    free(c);
}

void cs_client_send_text(cs_server *srv, cs_client *c, const char *text, size_t len)
{
    if (srv->opt->is_verbose) {
        const char *eol = memchr(text, '\r', len);
        fprintf(stderr, "horus-camsim: client %s <- %.*s\n", c->peer, (int)(eol ? eol - text : 0),
                text);
    }
    cs_frame *f = cs_frame_new(CS_FRAME_TEXT, -1, len);
    memcpy(f->data, text, len);
    queue_push(c, f);
}

void cs_client_play(cs_server *srv, cs_client *c)
{
    int64_t now = cs_now_ns();
    c->is_playing = true;
    c->play_ns = now;
    c->is_waiting_key = true;
    /* UDP joins at the next keyframe: a burst of a whole GOP would overrun the receive buffer. */
    if (srv->is_gop_full || c->is_udp[CS_TRACK_VIDEO])
        return;
    for (size_t i = 0; i < srv->gop_len; i++)
        client_offer(srv, c, srv->gop[i], now);
}

void cs_client_pause(cs_server *srv, cs_client *c)
{
    c->is_playing = false;
    queue_drop_media(c);
}

static void client_accept(cs_server *srv, int fd, const struct sockaddr_storage *addr)
{
    char host[INET6_ADDRSTRLEN] = "?";
    char port[8] = "?";
    getnameinfo((const struct sockaddr *)addr, sizeof(*addr), host, sizeof(host), port,
                sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
    if (srv->opt->fault == CS_FAULT_REFUSE || srv->n_clients >= MAX_CLIENTS) {
        /* Linger 0 turns close() into a reset: the client sees ECONNRESET. */
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
        if (srv->opt->is_verbose)
            fprintf(stderr, "horus-camsim: client %s:%s refused\n", host, port);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    cs_client *c = horus_calloc(1, sizeof(*c));
    c->fd = fd;
    c->accepted_ns = cs_now_ns();
    snprintf(c->peer, sizeof(c->peer), "%s:%s", host, port);
    for (int t = 0; t < CS_TRACK_COUNT; t++) {
        c->channel[t] = (uint8_t)(2 * t);
        c->channel_rtcp[t] = (uint8_t)(2 * t + 1);
        c->udp[t].rtp_fd = -1;
        c->udp[t].rtcp_fd = -1;
    }
    c->next = srv->clients;
    if (srv->clients)
        srv->clients->prev = c;
    srv->clients = c;
    srv->n_clients++;
    if (srv->tls_cred) {
        int rc = gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
        if (rc >= 0)
            rc = gnutls_priority_set(c->tls, srv->tls_prio);
        if (rc >= 0)
            rc = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, srv->tls_cred);
        if (rc < 0) {
            fprintf(stderr, "horus-camsim: client %s: TLS: %s\n", c->peer, gnutls_strerror(rc));
            if (c->tls)
                gnutls_deinit(c->tls);
            c->tls = NULL;
            srv->clients = c->next;
            if (c->next)
                c->next->prev = NULL;
            srv->n_clients--;
            close(fd);
            free(c);
            return;
        }
        gnutls_transport_set_int(c->tls, fd);
        c->is_tls_handshaking = true;
    }
    epoll_set_client(srv, c, false, EPOLL_CTL_ADD);
    if (srv->opt->is_verbose)
        fprintf(stderr, "horus-camsim: client %s connected\n", c->peer);
}

static void on_listen(cs_server *srv)
{
    for (;;) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof(addr);
        int fd =
            accept4(srv->listen_fd, (struct sockaddr *)&addr, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fprintf(stderr, "horus-camsim: accept: %s\n", strerror(errno));
            return;
        }
        client_accept(srv, fd, &addr);
    }
}

/* Counts n receiver reports of track from c; the first one is logged with what it says. */
static void client_note_rr(const cs_server *srv, cs_client *c, int track, const struct rtcp_rr *rr,
                           unsigned n)
{
    if (n == 0)
        return;
    if (c->rr_received[track] == 0) {
        const struct rtcp_report_block *b = &rr->block;
        fprintf(stderr,
                "horus-camsim: client %s: RTCP receiver report on %s: from ssrc %08x, blocks %u, "
                "source %08x (%s), fraction lost %u, lost %d, highest seq %u, jitter %u, lsr %08x, "
                "dlsr %u\n",
                c->peer, track == CS_TRACK_VIDEO ? "video" : "audio", (unsigned)rr->ssrc,
                rr->nblocks, (unsigned)b->ssrc,
                rr->nblocks && b->ssrc == srv->rtp[track].pk.ssrc ? "ours" : "not ours",
                b->fraction_lost, (int)b->cumulative_lost, (unsigned)b->highest_seq,
                (unsigned)b->jitter, (unsigned)b->lsr, (unsigned)b->dlsr);
    }
    c->rr_received[track] += n;
}

/* An interleaved frame from c: a receiver report on a track's RTCP channel is counted. */
static void client_frame(const cs_server *srv, cs_client *c, const uint8_t *frame, size_t len)
{
    uint8_t channel;
    const uint8_t *data;
    size_t n;
    if (rtsp_interleaved_parse(frame, len, &channel, &data, &n) <= 0)
        return;
    for (int t = 0; t < CS_TRACK_COUNT; t++) {
        struct rtcp_rr rr;
        if (c->is_setup[t] && !c->is_udp[t] && channel == c->channel_rtcp[t] &&
            rtcp_rr_find(data, n, &rr) == 0)
            client_note_rr(srv, c, t, &rr, 1);
    }
}

/* Consumes complete requests and interleaved frames from the input buffer. */
static void client_parse(cs_server *srv, cs_client *c)
{
    while (c->in_len > 0 && !c->is_closing) {
        if (c->skip_len > 0) {
            size_t n = c->skip_len < c->in_len ? c->skip_len : c->in_len;
            memmove(c->in, c->in + n, c->in_len - n);
            c->in_len -= n;
            c->skip_len -= n;
            continue;
        }
        size_t used;
        if (c->in[0] == '$') {
            used = rtsp_interleaved_len((const uint8_t *)c->in, c->in_len);
            if (used == 0)
                return;
            if (used > c->in_len) {
                c->skip_len = used - c->in_len;
                used = c->in_len;
            } else {
                client_frame(srv, c, (const uint8_t *)c->in, used);
            }
        } else {
            struct rtsp_msg req;
            int rc = cs_rtsp_request_parse(c->in, c->in_len, &req);
            if (rc == 0)
                return;
            if (rc < 0) {
                cs_rtsp_reply_bad_request(srv, c);
                c->in_len = 0;
                return;
            }
            cs_rtsp_handle(srv, c, &req);
            used = (size_t)rc;
        }
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
    }
}

/* Returns 0, or -errno / -ECONNRESET when the client must be closed. */
static int client_on_readable(cs_server *srv, cs_client *c)
{
    for (;;) {
        if (c->in_len == sizeof(c->in))
            return HORUS_ETOOBIG; /* the parser decides before the buffer fills */
        ssize_t n;
        if (c->tls) {
            n = gnutls_record_recv(c->tls, c->in + c->in_len, sizeof(c->in) - c->in_len);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                return 0;
            if (n < 0)
                return -ECONNRESET;
        } else {
            n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
        }
        if (n == 0)
            return -ECONNRESET;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -errno;
        }
        c->in_len += (size_t)n;
        client_parse(srv, c);
        if (c->is_closing)
            return 0;
    }
}

/* Advances c's TLS handshake. Returns 0 (done or waiting), or -errno to close. */
static int client_tls_handshake(cs_server *srv, cs_client *c)
{
    int rc = gnutls_handshake(c->tls);
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
        bool wants_out = gnutls_record_get_direction(c->tls) == 1;
        if (wants_out != c->has_epollout)
            epoll_set_client(srv, c, wants_out, EPOLL_CTL_MOD);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "horus-camsim: client %s: TLS handshake: %s\n", c->peer,
                gnutls_strerror(rc));
        return -EPROTO;
    }
    c->is_tls_handshaking = false;
    if (srv->opt->is_verbose)
        fprintf(stderr, "horus-camsim: client %s: TLS %s\n", c->peer,
                gnutls_protocol_get_name(gnutls_protocol_get_version(c->tls)));
    return 0;
}

static void on_client(cs_server *srv, cs_client *c, uint32_t events)
{
    int rc = 0;
    if (c->is_tls_handshaking) {
        rc = client_tls_handshake(srv, c);
        if (rc == 0 && c->is_tls_handshaking)
            return;
        if (rc == 0)
            events |= EPOLLIN; /* the client may have sent its first request already */
    }
    if (rc == 0 && (events & EPOLLIN))
        rc = client_on_readable(srv, c);
    if (rc == 0 && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN))
        rc = -ECONNRESET;
    if (rc == 0)
        rc = client_flush(srv, c);
    if (rc == -ECONNRESET)
        client_close(srv, c, "peer closed");
    else if (rc == -ECONNABORTED)
        client_close(srv, c, "teardown or error reply");
    else if (rc < 0)
        client_close(srv, c, horus_strerror(rc));
}

/* --- distribution ------------------------------------------------------ */

static void gop_clear(cs_server *srv)
{
    for (size_t i = 0; i < srv->gop_len; i++)
        cs_frame_unref(srv->gop[i]);
    srv->gop_len = 0;
    srv->gop_bytes = 0;
    srv->is_gop_full = false;
}

static void gop_add(cs_server *srv, cs_frame *frame)
{
    if (frame->track == CS_TRACK_VIDEO && frame->is_keyframe)
        gop_clear(srv);
    else if (srv->gop_len == 0)
        return; /* audio before the first keyframe */
    if (srv->is_gop_full)
        return;
    if (srv->gop_len == GOP_MAX_FRAMES || srv->gop_bytes + frame->size > GOP_MAX_BYTES) {
        srv->is_gop_full = true;
        return;
    }
    if (srv->gop_len == srv->gop_cap) {
        srv->gop_cap = srv->gop_cap ? srv->gop_cap * 2 : 128;
        srv->gop = horus_realloc(srv->gop, srv->gop_cap * sizeof(*srv->gop));
    }
    srv->gop[srv->gop_len++] = cs_frame_ref(frame);
    srv->gop_bytes += frame->size;
}

static void distribute(cs_server *srv, cs_frame *frame, int64_t now_ns)
{
    for (cs_client *c = srv->clients; c; c = c->next)
        client_offer(srv, c, frame, now_ns);
}

static void on_au(void *ud, const cs_au *au, int64_t pts)
{
    cs_server *srv = ud;
    if (au->track == CS_TRACK_AUDIO && !srv->info->has_audio)
        return;
    int64_t now = cs_now_ns();
    cs_au *garbled = NULL;
    if (srv->opt->fault == CS_FAULT_GARBAGE && au->track == CS_TRACK_VIDEO) {
        garbled = cs_au_new(au->track, au->data, au->size);
        garbled->is_keyframe = au->is_keyframe;
        garbled->pts = au->pts;
        cs_au_garble_sps(srv->rtp[au->track].codec, garbled);
        au = garbled;
    }
    cs_frame *frame = cs_rtp_packetize(&srv->rtp[au->track], au, pts, now);
    free(garbled);
    cs_pacer_stamp(&srv->pacer, frame, now);
    gop_add(srv, frame);
    distribute(srv, frame, now);
    cs_frame_unref(frame);
}

int cs_client_addrs(const cs_client *c, struct sockaddr_storage *local,
                    struct sockaddr_storage *peer)
{
    socklen_t len = sizeof(*local);
    if (getsockname(c->fd, (struct sockaddr *)local, &len) < 0)
        return -errno;
    len = sizeof(*peer);
    if (getpeername(c->fd, (struct sockaddr *)peer, &len) < 0)
        return -errno;
    return 0;
}

/* The garbage fault: 12 bytes on the track's RTCP channel that are not RTCP (version 0). */
static void send_garbage_rtcp(cs_server *srv, int track, int64_t now_ns)
{
    if (!srv->rtp[track].has_sent)
        return;
    static const uint8_t junk[12] = {0x00, 0xff, 0x13, 0x37, 'g', 'a', 'r', 'b', 'a', 'g', 'e', 0};
    cs_frame *f = cs_frame_new(CS_FRAME_RTCP, track, RTSP_INTERLEAVED_HEADER + sizeof(junk));
    rtsp_interleaved_write(f->data, (uint8_t)(srv->rtp[track].pk.channel + 1), sizeof(junk));
    memcpy(f->data + RTSP_INTERLEAVED_HEADER, junk, sizeof(junk));
    distribute(srv, f, now_ns);
    cs_frame_unref(f);
}

static void send_reports(cs_server *srv, int64_t now_ns)
{
    /* What UDP clients send back: receiver reports are counted, the rest ignored. */
    for (cs_client *c = srv->clients; c; c = c->next) {
        for (int t = 0; t < CS_TRACK_COUNT; t++) {
            struct rtcp_rr rr;
            if (c->is_udp[t])
                client_note_rr(srv, c, t, &rr, cs_udp_drain(&c->udp[t], &rr));
        }
    }
    int64_t wall = cs_wall_ns();
    if (srv->opt->fault == CS_FAULT_SR_SKEW)
        wall += (int64_t)srv->opt->fault_s * 1000000000;
    if (wall < 0)
        wall = 0; /* NTP cannot say before 1970 here: a clock decades behind says 1970 */
    for (int t = 0; t < CS_TRACK_COUNT; t++) {
        if (srv->opt->fault == CS_FAULT_RTCP_GARBAGE)
            send_garbage_rtcp(srv, t, now_ns);
        cs_frame *sr = cs_rtp_sender_report(&srv->rtp[t], now_ns, wall);
        if (!sr)
            continue;
        distribute(srv, sr, now_ns);
        cs_frame_unref(sr);
    }
}

/* Flushes every client with queued data that is not already waiting for EPOLLOUT. */
static void flush_all(cs_server *srv)
{
    cs_client *next;
    int64_t now = cs_now_ns();
    for (cs_client *c = srv->clients; c; c = next) {
        next = c->next;
        for (int t = 0; t < CS_TRACK_COUNT; t++) {
            if (!c->is_udp[t] || !c->udp[t].paced_len)
                continue;
            unsigned dropped = cs_udp_flush_paced(&c->udp[t], now, &srv->next_due_ns);
            srv->total_drops += dropped;
            if (dropped)
                c->is_waiting_key = true; /* resume cleanly at the next keyframe */
        }
        if (c->q_len == 0 || c->has_epollout)
            continue;
        int rc = client_flush(srv, c);
        if (rc < 0)
            client_close(srv, c, rc == -ECONNABORTED ? "teardown" : horus_strerror(rc));
    }
}

static void apply_drop_fault(cs_server *srv, int64_t now_ns)
{
    int64_t after_ns = (int64_t)srv->opt->fault_s * 1000000000;
    cs_client *next;
    for (cs_client *c = srv->clients; c; c = next) {
        next = c->next;
        if (now_ns - c->accepted_ns >= after_ns)
            client_close(srv, c, "drop fault");
    }
}

/* --- lifecycle --------------------------------------------------------- */

static int listen_open(const cs_options *opt, int *out)
{
    int rc = horus_tcp_listen(opt->listen_host, opt->listen_port, 1024, out, NULL);
    if (rc < 0)
        fprintf(stderr, "horus-camsim: listen on '%s:%d': %s\n", opt->listen_host, opt->listen_port,
                strerror(-rc));
    return rc;
}

int cs_server_open(const cs_options *opt, const cs_media_info *info, cs_source *src,
                   cs_server **out)
{
    cs_server *srv = horus_calloc(1, sizeof(*srv));
    srv->opt = opt;
    srv->info = info;
    srv->src = src;
    cs_pacer_init(&srv->pacer, opt->is_pacing_spread, opt->jitter_ms,
                  (uint64_t)cs_now_ns() ^ (uint64_t)getpid());
    srv->epfd = -1;
    srv->listen_fd = -1;
    srv->signal_fd = -1;
    cs_rtp_init(&srv->rtp[CS_TRACK_VIDEO], CS_TRACK_VIDEO, info->codec, CS_VIDEO_CLOCK_HZ);
    cs_rtp_init(&srv->rtp[CS_TRACK_AUDIO], CS_TRACK_AUDIO, info->codec,
                info->has_audio ? info->audio_rate_hz : CS_AUDIO_RATE_HZ);
    srv->rtp[CS_TRACK_AUDIO].audio_payload = info->audio_payload;
    if (info->audio_payload == CS_AUDIO_PCMU || info->audio_payload == CS_AUDIO_PCMA)
        srv->rtp[CS_TRACK_AUDIO].pk.payload_type = info->audio_payload == CS_AUDIO_PCMU ? 0 : 8;
    srv->rtp[CS_TRACK_AUDIO].audio_config = info->audio_config;
    srv->rtp[CS_TRACK_AUDIO].audio_config_len = info->audio_config_len;
    srv->sdp = cs_sdp_new(info);
    srv->next_udp_port = 20000 + 2 * (int)((uint64_t)cs_now_ns() % 20000);
    int rc = 0;
    if (opt->auth_user)
        rc = cs_auth_init(&srv->auth, opt->auth_user, opt->auth_pass);
    if (rc < 0)
        goto fail;
    if (opt->tls_cert) {
        int trc = gnutls_certificate_allocate_credentials(&srv->tls_cred);
        if (trc >= 0)
            trc = gnutls_certificate_set_x509_key_file(srv->tls_cred, opt->tls_cert, opt->tls_key,
                                                       GNUTLS_X509_FMT_PEM);
        if (trc >= 0)
            trc = gnutls_priority_init(&srv->tls_prio, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
                                       NULL);
        if (trc < 0) {
            fprintf(stderr, "horus-camsim: --tls '%s' '%s': %s\n", opt->tls_cert, opt->tls_key,
                    gnutls_strerror(trc));
            rc = -EINVAL;
            goto fail;
        }
    }
    srv->epfd = epoll_create1(EPOLL_CLOEXEC);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    srv->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (srv->epfd < 0 || srv->signal_fd < 0) {
        rc = -errno;
        goto fail;
    }
    rc = listen_open(opt, &srv->listen_fd);
    if (rc < 0)
        goto fail;
    epoll_set(srv, srv->listen_fd, EPOLLIN, TAG_LISTEN, EPOLL_CTL_ADD);
    epoll_set(srv, srv->signal_fd, EPOLLIN, TAG_SIGNAL, EPOLL_CTL_ADD);
    epoll_set(srv, cs_source_fd(src), EPOLLIN, TAG_SOURCE, EPOLL_CTL_ADD);
    *out = srv;
    return 0;
fail:
    cs_server_free(srv);
    return rc;
}

/* The exit summary: media send calls (TCP and UDP) and RTP packets sent, so a
 * test can tell --write packet (one call per packet) from frame mode. */
static void server_print_sends(const cs_server *srv)
{
    uint64_t calls = srv->total_sends, packets = srv->total_packets;
    for (const cs_client *c = srv->clients; c; c = c->next) {
        packets += c->sent_packets;
        for (int t = 0; t < CS_TRACK_COUNT; t++) {
            calls += c->udp[t].send_calls;
            packets += c->udp[t].sent_packets;
        }
    }
    fprintf(stderr, "horus-camsim: sends: %llu calls, %llu RTP packets (write %s)\n",
            (unsigned long long)calls, (unsigned long long)packets,
            srv->opt->is_write_packet ? "packet" : "frame");
}

/* The loop's sleep: the tick, or less when a paced packet falls due sooner. */
static int loop_timeout_ms(cs_server *srv)
{
    int64_t due = srv->next_due_ns;
    srv->next_due_ns = 0; /* flush_all sets it again for packets still waiting */
    if (due == 0)
        return LOOP_TICK_MS;
    int64_t wait_ms = (due - cs_now_ns() + 999999) / 1000000;
    return wait_ms < 0 ? 0 : wait_ms > LOOP_TICK_MS ? LOOP_TICK_MS : (int)wait_ms;
}

int cs_server_run(cs_server *srv)
{
    struct epoll_event events[256];
    int64_t now = cs_now_ns();
    srv->next_report_ns = now + REPORT_INTERVAL_NS;
    cs_source_start(srv->src, now);
    for (;;) {
        int n = epoll_wait(srv->epfd, events, 256, loop_timeout_ms(srv));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int rc = -errno;
            fprintf(stderr, "horus-camsim: epoll_wait: %s\n", strerror(errno));
            return rc;
        }
        bool has_media = false;
        for (int i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64;
            if (tag == TAG_SIGNAL) {
                struct signalfd_siginfo si;
                if (read(srv->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                    fprintf(stderr, "horus-camsim: %s, exiting\n", strsignal((int)si.ssi_signo));
                    server_print_sends(srv);
                    return 0;
                }
            } else if (tag == TAG_LISTEN) {
                on_listen(srv);
            } else if (tag == TAG_SOURCE) {
                has_media = true;
            }
        }
        /* Clients next, before any of them could be closed by a later step. */
        for (int i = 0; i < n; i++) {
            uint64_t tag = events[i].data.u64;
            if (tag != TAG_SIGNAL && tag != TAG_LISTEN && tag != TAG_SOURCE)
                on_client(srv, events[i].data.ptr, events[i].events);
        }
        now = cs_now_ns();
        if (has_media)
            cs_source_drain(srv->src, now, on_au, srv);
        if (now >= srv->next_report_ns) {
            send_reports(srv, now);
            srv->next_report_ns = now + REPORT_INTERVAL_NS;
        }
        flush_all(srv);
        if (srv->opt->fault == CS_FAULT_DROP)
            apply_drop_fault(srv, now);
    }
}

void cs_server_free(cs_server *srv)
{
    if (!srv)
        return;
    while (srv->clients)
        client_close(srv, srv->clients, "shutdown");
    gop_clear(srv);
    free(srv->gop);
    for (int t = 0; t < CS_TRACK_COUNT; t++)
        cs_rtp_release(&srv->rtp[t]);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->signal_fd >= 0)
        close(srv->signal_fd);
    if (srv->epfd >= 0)
        close(srv->epfd);
    if (srv->tls_prio)
        gnutls_priority_deinit(srv->tls_prio);
    if (srv->tls_cred)
        gnutls_certificate_free_credentials(srv->tls_cred);
    free(srv->sdp);
    free(srv);
}
