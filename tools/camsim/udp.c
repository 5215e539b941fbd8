/*
 * DESIGN: a UDP track reuses the frames the TCP path builds. A cs_frame
 * holds the packets of one access unit back to back, each behind its 4-byte
 * interleaved header; sending it over UDP is one sendmmsg whose datagrams
 * point past those headers into the shared buffer, so UDP clients add no
 * copy and no per-client packetising. The sockets are connect()ed to the
 * client's ports, so each datagram needs no address and an ICMP "port
 * unreachable" shows up as ECONNREFUSED, which we count as a drop. A UDP
 * send never waits: what the socket refuses is dropped, the way a camera
 * drops packets it cannot push out. Paced frames (--write packet with
 * --pacing spread or --jitter) wait, referenced, in a per-track ring until
 * each packet's due time (pacing.c), as they do in a TCP client's queue.
 * Thread: server only.
 */
#include "udp.h"

#include "pacing.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define INTERLEAVED_BYTES 4
#define PORT_MIN 20000
#define PORT_MAX 60000 /* exclusive; pairs are (even, even + 1) */
#define BIND_TRIES 256
#define BATCH 64
#define FAULT_ROOM 16 /* of a batch, for --fault duplicate */

static void set_port(struct sockaddr_storage *a, int port)
{
    if (a->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)a)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)a)->sin_port = htons((uint16_t)port);
}

static socklen_t addr_len(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* Returns a socket bound to local:port, or -errno. */
static int bind_port(const struct sockaddr_storage *local, int port)
{
    int fd = socket(local->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_storage a = *local;
    set_port(&a, port);
    if (bind(fd, (struct sockaddr *)&a, addr_len(&a)) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

static int connect_port(int fd, const struct sockaddr_storage *peer, int port)
{
    struct sockaddr_storage a = *peer;
    set_port(&a, port);
    return connect(fd, (struct sockaddr *)&a, addr_len(&a)) < 0 ? -errno : 0;
}

int cs_udp_open(cs_udp *u, const struct sockaddr_storage *local,
                const struct sockaddr_storage *peer, int rtp_port, int rtcp_port, int *next_port)
{
    memset(u, 0, sizeof(*u));
    u->rtp_fd = -1;
    u->rtcp_fd = -1;
    int rc = -EADDRINUSE;
    for (int i = 0; i < BIND_TRIES; i++) {
        int port = *next_port;
        *next_port = port + 2 >= PORT_MAX ? PORT_MIN : port + 2;
        int a = bind_port(local, port);
        if (a < 0) {
            rc = a;
            if (a != -EADDRINUSE)
                return rc;
            continue;
        }
        int b = bind_port(local, port + 1);
        if (b < 0) {
            close(a);
            rc = b;
            if (b != -EADDRINUSE)
                return rc;
            continue;
        }
        u->rtp_fd = a;
        u->rtcp_fd = b;
        u->server_port = port;
        rc = connect_port(a, peer, rtp_port);
        if (rc == 0)
            rc = connect_port(b, peer, rtcp_port);
        if (rc < 0)
            cs_udp_close(u);
        return rc;
    }
    return rc;
}

void cs_udp_close(cs_udp *u)
{
    for (; u->paced_len; u->paced_len--) {
        cs_frame_unref(u->paced[u->paced_head]);
        u->paced_head = (u->paced_head + 1) % CS_UDP_PACED_MAX;
    }
    u->paced_pos = 0;
    u->paced_index = 0;
    if (u->rtp_fd >= 0)
        close(u->rtp_fd);
    if (u->rtcp_fd >= 0)
        close(u->rtcp_fd);
    u->rtp_fd = -1;
    u->rtcp_fd = -1;
}

unsigned cs_udp_send(cs_udp *u, const cs_frame *frame, bool is_per_packet)
{
    int fd = frame->kind == CS_FRAME_RTCP ? u->rtcp_fd : u->rtp_fd;
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    unsigned dropped = 0;
    size_t pos = 0;
    while (pos + INTERLEAVED_BYTES <= frame->size) {
        unsigned n = 0;
        /* Room is left for the duplicates of --fault duplicate. */
        while (n < BATCH - FAULT_ROOM && pos + INTERLEAVED_BYTES <= frame->size) {
            const uint8_t *h = frame->data + pos;
            size_t len = ((size_t)h[2] << 8) | h[3];
            iov[n].iov_base = (void *)(h + INTERLEAVED_BYTES);
            iov[n].iov_len = len;
            pos += INTERLEAVED_BYTES + len;
            n++;
        }
        if (frame->kind != CS_FRAME_RTCP)
            n = cs_udp_fault(u, iov, n, BATCH);
        for (unsigned i = 0; i < n; i++) {
            memset(&msgs[i], 0, sizeof(msgs[i]));
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        unsigned done = 0;
        while (done < n) {
            /* --write packet: one datagram per call, as cameras do */
            unsigned count = is_per_packet ? 1 : n - done;
            int sent = sendmmsg(fd, msgs + done, count, MSG_DONTWAIT | MSG_NOSIGNAL);
            u->send_calls++;
            if (sent < 0 && errno == EINTR)
                continue;
            if (sent <= 0) {
                /* EAGAIN (socket buffer full) or an ICMP error: drop the rest of the batch. */
                dropped += n - done;
                break;
            }
            done += (unsigned)sent;
            u->sent_packets += (uint64_t)sent;
        }
    }
    u->dropped_packets += dropped;
    return dropped;
}

unsigned cs_udp_fault(cs_udp *u, struct iovec *iov, unsigned n, unsigned cap)
{
    if (!u->reorder_every && !u->duplicate_every)
        return n;
    for (unsigned i = 0; i < n; i++) {
        u->fault_tick++;
        if (u->reorder_every && u->fault_tick % (uint64_t)u->reorder_every == 0 && i + 1 < n) {
            struct iovec t = iov[i];
            iov[i] = iov[i + 1];
            iov[i + 1] = t;
            i++; /* the pair is done */
            u->fault_tick++;
        } else if (u->duplicate_every && u->fault_tick % (uint64_t)u->duplicate_every == 0 &&
                   n < cap) {
            memmove(&iov[i + 1], &iov[i], (n - i) * sizeof(*iov));
            n++;
            i++; /* the copy */
        }
    }
    return n;
}

unsigned cs_udp_drain(cs_udp *u, struct rtcp_rr *last)
{
    uint8_t buf[2048];
    int fds[2] = {u->rtp_fd, u->rtcp_fd};
    unsigned reports = 0;
    for (int i = 0; i < 2; i++) {
        if (fds[i] < 0)
            continue;
        for (int n = 0; n < 64; n++) {
            ssize_t r = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                break;
            struct rtcp_rr rr;
            if (fds[i] == u->rtcp_fd && rtcp_rr_find(buf, (size_t)r, &rr) == 0) {
                *last = rr;
                reports++;
            }
        }
    }
    return reports;
}

/* Sends one datagram of len bytes at p on fd. Returns false when it was dropped. */
static bool send_one(cs_udp *u, int fd, const uint8_t *p, size_t len)
{
    ssize_t sent;
    do {
        sent = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        u->send_calls++;
    } while (sent < 0 && errno == EINTR);
    if (sent < 0) {
        u->dropped_packets++;
        return false;
    }
    u->sent_packets++;
    return true;
}

unsigned cs_udp_flush_paced(cs_udp *u, int64_t now_ns, int64_t *next_due_ns)
{
    unsigned dropped = 0;
    while (u->paced_len) {
        cs_frame *f = u->paced[u->paced_head];
        if (u->paced_pos + INTERLEAVED_BYTES <= f->size) {
            int64_t due = cs_pacer_due(f, u->paced_index);
            if (due > now_ns) {
                if (*next_due_ns == 0 || due < *next_due_ns)
                    *next_due_ns = due;
                return dropped;
            }
            const uint8_t *h = f->data + u->paced_pos;
            size_t len = ((size_t)h[2] << 8) | h[3];
            if (u->paced_pos + INTERLEAVED_BYTES + len > f->size)
                len = f->size - u->paced_pos - INTERLEAVED_BYTES;
            if (!send_one(u, u->rtp_fd, h + INTERLEAVED_BYTES, len))
                dropped++;
            u->paced_pos += INTERLEAVED_BYTES + len;
            u->paced_index++;
            continue;
        }
        cs_frame_unref(f);
        u->paced_head = (u->paced_head + 1) % CS_UDP_PACED_MAX;
        u->paced_len--;
        u->paced_pos = 0;
        u->paced_index = 0;
    }
    return dropped;
}

unsigned cs_udp_send_paced(cs_udp *u, cs_frame *frame, int64_t now_ns)
{
    if (u->paced_len == CS_UDP_PACED_MAX) {
        unsigned n = 0;
        for (size_t pos = 0; pos + INTERLEAVED_BYTES <= frame->size; n++)
            pos += INTERLEAVED_BYTES + (((size_t)frame->data[pos + 2] << 8) | frame->data[pos + 3]);
        u->dropped_packets += n;
        return n;
    }
    u->paced[(u->paced_head + u->paced_len) % CS_UDP_PACED_MAX] = cs_frame_ref(frame);
    u->paced_len++;
    int64_t ignored = 0;
    return cs_udp_flush_paced(u, now_ns, &ignored);
}
