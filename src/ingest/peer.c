/*
 * DESIGN: a second opinion on a failed RTSP handshake. libavformat reports
 * both "the peer reset the connection before answering" and "the peer
 * answered something that is not RTSP" as AVERROR_INVALIDDATA, and those
 * need different advice (unreachable vs not RTSP). So after such a failure
 * the ingest thread opens one plain TCP connection, sends an OPTIONS
 * request and looks at what comes back, bounded by a deadline and the
 * stream's stop flag. Only ever runs after a failure, never per packet.
 *
 * Thread: the calling ingest thread; no state.
 */
#include "ingest_int.h"

#include <libavformat/avformat.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_host(const char *host, int port)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port > 0 ? port : 554);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, portstr, &hints, &ai) != 0 || !ai)
        return -1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

enum ing_reason ing_peer_classify(const char *url, int timeout_ms)
{
    char proto[16], auth[256], host[256], path[1024];
    int port = -1;
    av_url_split(proto, sizeof(proto), auth, sizeof(auth), host, sizeof(host), &port, path,
                 sizeof(path), url);
    int fd = connect_host(host, port);
    if (fd < 0)
        return ING_REASON_UNREACHABLE;
    char req[128];
    int n = snprintf(req, sizeof(req), "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n");
    enum ing_reason reason = ING_REASON_UNREACHABLE;
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        goto out;
    char buf[16];
    size_t got = 0;
    int64_t deadline = mono_ms() + timeout_ms;
    while (got < 5) {
        int64_t left = deadline - mono_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
            reason = got ? ING_REASON_NOT_RTSP : ING_REASON_TIMEOUT;
            goto out;
        }
        ssize_t r = recv(fd, buf + got, sizeof(buf) - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    /* Reset or closed without a byte: unreachable; anything else failed as RTSP. */
    reason = got ? ING_REASON_NOT_RTSP : ING_REASON_UNREACHABLE;
out:
    close(fd);
    return reason;
}
