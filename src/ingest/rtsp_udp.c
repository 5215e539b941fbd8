/*
 * DESIGN: RTP and RTCP over UDP for the native client (docs/design/0073).
 *
 * A session on UDP binds, per track, an even RTP port and the next one for
 * RTCP (RFC 3550 11) on the local address of its RTSP connection, so the
 * camera reaches the interface it was asked on; the ports go into SETUP.
 * Both sockets are extra sockets of the stream's loop item: the loop that
 * drives the RTSP connection reads them too, one recvmmsg for up to a
 * batch of datagrams, each into its slot of the loop's shared receive
 * buffer (no allocation per packet).
 *
 * Only datagrams from the camera's address (the peer of the RTSP
 * connection) are taken: anyone on the network can send to an open UDP
 * port, and an injected packet would otherwise be recorded. The sockets are
 * not connected, because cameras may send from ports other than the ones
 * their SETUP reply names; our receiver reports go to the named RTCP port.
 * A datagram larger than a slot is dropped (cameras keep RTP under the MTU).
 */
#include "rtsp_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDP_RCVBUF (4 << 20) /* asked for; the kernel caps it at net.core.rmem_max */
#define PAIR_TRIES 32
#define BATCH 64 /* datagrams per recvmmsg */
#define ROUNDS 8 /* recvmmsg calls per readable event, then other sockets get their turn */

void ing_udp_pair_init(struct ing_udp_pair *p)
{
    memset(p, 0, sizeof(*p));
    p->fd[0] = p->fd[1] = -1;
    p->aux[0].fd = p->aux[1].fd = -1;
}

static int port_of(const struct sockaddr_storage *a)
{
    return ntohs(a->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)a)->sin6_port
                                          : ((const struct sockaddr_in *)a)->sin_port);
}

static void set_port(struct sockaddr_storage *a, int port)
{
    if (a->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)a)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)a)->sin_port = htons((uint16_t)port);
}

/* A non-blocking UDP socket bound to local at port (0: any). Returns the fd or -errno. */
static int bound_socket(const struct sockaddr_storage *local, socklen_t len, int port)
{
    int fd = socket(local->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_storage a = *local;
    set_port(&a, port);
    if (bind(fd, (struct sockaddr *)&a, len) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    int size = UDP_RCVBUF;
    /* FORCE passes rmem_max where the process may (CAP_NET_ADMIN); else the capped size. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    return fd;
}

int ing_udp_pair_open(struct ing_udp_pair *p, const struct sockaddr_storage *local, socklen_t len,
                      char *err, size_t size)
{
    int rc = -EADDRINUSE;
    for (int i = 0; i < PAIR_TRIES; i++) {
        int rtp = bound_socket(local, len, 0);
        if (rtp < 0) {
            rc = rtp;
            break;
        }
        struct sockaddr_storage a;
        socklen_t alen = sizeof(a);
        int port = getsockname(rtp, (struct sockaddr *)&a, &alen) == 0 ? port_of(&a) : -1;
        int rtcp = port > 0 && port % 2 == 0 && port < 65535 ? bound_socket(local, len, port + 1)
                                                             : -EADDRINUSE;
        if (rtcp >= 0) {
            p->fd[0] = rtp;
            p->fd[1] = rtcp;
            p->port = port;
            return 0;
        }
        close(rtp);
        if (rtcp != -EADDRINUSE) {
            rc = rtcp;
            break;
        }
    }
    snprintf(err, size, "cannot open UDP ports for RTP and RTCP: %s", strerror(-rc));
    return rc;
}

void ing_udp_pair_close(struct ing_udp_pair *p, struct ing_loop_item *it)
{
    for (int i = 0; i < 2; i++) {
        if (p->aux[i].fd >= 0)
            ing_loop_aux_set(it, &p->aux[i], -1, 0);
        if (p->fd[i] >= 0)
            close(p->fd[i]);
        p->fd[i] = -1;
    }
    p->port = 0;
}

bool ing_udp_same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return false;
}

long ing_udp_read(int fd, const struct sockaddr_storage *camera, uint8_t *buf, size_t cap,
                  ing_udp_datagram_cb cb, void *arg, struct ing_udp_counts *counts)
{
    size_t slot = cap / BATCH;
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_storage from[BATCH];
    long taken = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){buf + (size_t)i * slot, slot};
            msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
                                              .msg_namelen = sizeof(from[i]),
                                              .msg_iov = &iov[i],
                                              .msg_iovlen = 1};
            msgs[i].msg_len = 0;
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? taken : -errno;
        for (int i = 0; i < n; i++) {
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                counts->truncated++;
                continue;
            }
            if (!ing_udp_same_host(&from[i], camera)) {
                counts->foreign++;
                continue;
            }
            cb(arg, iov[i].iov_base, msgs[i].msg_len);
            taken++;
        }
        if (n < BATCH)
            break;
    }
    return taken;
}

int ing_udp_send(int fd, const struct sockaddr_storage *camera, socklen_t len, int port,
                 const uint8_t *data, size_t n)
{
    struct sockaddr_storage to = *camera;
    set_port(&to, port);
    return sendto(fd, data, n, MSG_DONTWAIT, (struct sockaddr *)&to, len) < 0 ? -errno : 0;
}
