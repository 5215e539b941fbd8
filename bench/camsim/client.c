/*
 * DESIGN: a cheap RTSP load client for bench/camsim/run. It opens N
 * connections to rtsp://HOST:PORT/cam1..camP (round robin), does real
 * DESCRIBE / SETUP (TCP interleaved) / PLAY on each, then drains the
 * interleaved stream in one epoll thread, walking the '$' frame headers to
 * count RTP bytes, packets and sequence-number gaps (frames the server
 * dropped for a slow client). Only bytes received inside the measurement
 * window [warmup, warmup + window) count. Prints one JSON object.
 *
 * usage: client HOST PORT PATHS CONNECTIONS WARMUP_S WINDOW_S
 * Build: cc -O2 -o client client.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF_BYTES (192 * 1024)

enum conn_state {
    ST_DESCRIBE,
    ST_SETUP,
    ST_PLAY,
    ST_PLAYING,
    ST_CLOSED,
};

typedef struct conn {
    int fd;
    int path;
    int state;
    int cseq;
    char session[64];
    size_t rlen;
    uint64_t rtp_bytes; /* inside the window */
    uint64_t packets;
    uint64_t gaps;
    int last_seq;
    uint8_t rbuf[RBUF_BYTES];
} conn;

static const char *g_host;
static int g_port;
static int64_t g_window_start_ns;
static int64_t g_window_end_ns;
static int64_t g_now_ns;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void send_request(conn *c, const char *method, const char *suffix, const char *extra)
{
    char req[512];
    int n =
        snprintf(req, sizeof(req), "%s rtsp://%s:%d/cam%d%s RTSP/1.0\r\nCSeq: %d\r\n%s%s%s%s\r\n",
                 method, g_host, g_port, c->path, suffix, ++c->cseq, extra,
                 c->session[0] ? "Session: " : "", c->session, c->session[0] ? "\r\n" : "");
    if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        fprintf(stderr, "client: send %s: %s\n", method, strerror(errno));
        c->state = ST_CLOSED;
    }
}

static void advance(conn *c, const char *head)
{
    if (strncmp(head, "RTSP/1.0 200", 12) != 0) {
        fprintf(stderr, "client: cam%d: %.40s\n", c->path, head);
        c->state = ST_CLOSED;
        return;
    }
    const char *s = strcasestr(head, "\nSession:");
    if (s && !c->session[0]) {
        s += 9;
        while (*s == ' ')
            s++;
        size_t n = strcspn(s, ";\r\n");
        if (n >= sizeof(c->session))
            n = sizeof(c->session) - 1;
        memcpy(c->session, s, n);
        c->session[n] = '\0';
    }
    if (c->state == ST_DESCRIBE) {
        c->state = ST_SETUP;
        send_request(c, "SETUP", "/trackID=0",
                     "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n");
    } else if (c->state == ST_SETUP) {
        c->state = ST_PLAY;
        send_request(c, "PLAY", "/", "Range: npt=0.000-\r\n");
    } else if (c->state == ST_PLAY) {
        c->state = ST_PLAYING;
    }
}

/* Consumes complete items (interleaved frames or text replies) from rbuf. */
static void parse(conn *c)
{
    size_t pos = 0;
    while (pos < c->rlen && c->state != ST_CLOSED) {
        uint8_t *p = c->rbuf + pos;
        size_t left = c->rlen - pos;
        if (p[0] == '$') {
            if (left < 4)
                break;
            size_t len = ((size_t)p[2] << 8) | p[3];
            if (left < 4 + len)
                break;
            if (p[1] == 0 && len >= 12 && g_now_ns >= g_window_start_ns &&
                g_now_ns < g_window_end_ns) {
                int seq = (p[6] << 8) | p[7];
                if (c->last_seq >= 0 && seq != ((c->last_seq + 1) & 0xffff))
                    c->gaps++;
                c->last_seq = seq;
                c->rtp_bytes += len;
                c->packets++;
            }
            pos += 4 + len;
            continue;
        }
        uint8_t *end = memmem(p, left, "\r\n\r\n", 4);
        if (!end)
            break;
        size_t head_len = (size_t)(end - p) + 4;
        char head[4096];
        size_t n = head_len < sizeof(head) ? head_len : sizeof(head) - 1;
        memcpy(head, p, n);
        head[n] = '\0';
        size_t body = 0;
        const char *cl = strcasestr(head, "\nContent-Length:");
        if (cl)
            body = strtoul(cl + 16, NULL, 10);
        if (left < head_len + body)
            break;
        pos += head_len + body;
        if (c->state != ST_PLAYING)
            advance(c, head);
    }
    memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
    c->rlen -= pos;
}

static int conn_open(conn *c, int epfd)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    inet_pton(AF_INET, g_host, &sa.sin_addr);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "client: connect: %s\n", strerror(errno));
        return -1;
    }
    c->last_seq = -1;
    c->state = ST_DESCRIBE;
    send_request(c, "DESCRIBE", "", "Accept: application/sdp\r\n");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: client HOST PORT PATHS CONNECTIONS WARMUP_S WINDOW_S\n");
        return 2;
    }
    g_host = argv[1];
    g_port = atoi(argv[2]);
    int paths = atoi(argv[3]);
    int n = atoi(argv[4]);
    double warmup = atof(argv[5]);
    double window = atof(argv[6]);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    conn *conns = calloc((size_t)n, sizeof(*conns));
    if (!conns || epfd < 0)
        return 1;
    int64_t start = now_ns();
    g_window_start_ns = start + (int64_t)(warmup * 1e9);
    g_window_end_ns = g_window_start_ns + (int64_t)(window * 1e9);
    for (int i = 0; i < n; i++) {
        conns[i].path = i % paths + 1;
        if (conn_open(&conns[i], epfd) < 0)
            return 1;
    }
    struct epoll_event events[256];
    int closed = 0;
    while ((g_now_ns = now_ns()) < g_window_end_ns) {
        int k = epoll_wait(epfd, events, 256, 100);
        g_now_ns = now_ns();
        for (int i = 0; i < k; i++) {
            conn *c = events[i].data.ptr;
            ssize_t r = recv(c->fd, c->rbuf + c->rlen, RBUF_BYTES - c->rlen, MSG_DONTWAIT);
            if (r > 0) {
                c->rlen += (size_t)r;
                parse(c);
            }
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR) || c->state == ST_CLOSED) {
                epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
                c->state = ST_CLOSED;
                closed++;
            }
        }
    }
    uint64_t total = 0, packets = 0, gaps = 0;
    double min_mbps = -1, max_mbps = 0;
    int playing = 0;
    for (int i = 0; i < n; i++) {
        conn *c = &conns[i];
        double mbps = (double)c->rtp_bytes * 8 / window / 1e6;
        total += c->rtp_bytes;
        packets += c->packets;
        gaps += c->gaps;
        playing += c->state == ST_PLAYING;
        if (min_mbps < 0 || mbps < min_mbps)
            min_mbps = mbps;
        if (mbps > max_mbps)
            max_mbps = mbps;
        close(c->fd);
    }
    printf("{\"connections\": %d, \"playing\": %d, \"closed\": %d, \"window_s\": %.1f, "
           "\"rtp_bytes\": %llu, \"rtp_packets\": %llu, \"seq_gaps\": %llu, "
           "\"mbps_per_stream_avg\": %.3f, \"mbps_per_stream_min\": %.3f, "
           "\"mbps_per_stream_max\": %.3f}\n",
           n, playing, closed, window, (unsigned long long)total, (unsigned long long)packets,
           (unsigned long long)gaps, (double)total * 8 / window / 1e6 / n, min_mbps, max_mbps);
    free(conns);
    return 0;
}
