/*
 * horus-hlsload: many LL-HLS viewers from one process (bench/live/viewers).
 * Each viewer holds one keep-alive HTTP/1.1 connection to one camera's
 * playlist and reads every part in order, as a low-latency player does:
 *
 *   llhls   a blocking playlist reload (_HLS_msn/_HLS_part of the next
 *           part, RFC 8216bis 6.2.5.2), then that part; a part already
 *           listed is fetched at once; a viewer so far behind that its
 *           part left the playlist skips to the newest one (counted).
 *   paced   the same requests against a server that cannot block (nginx
 *           serving the same bytes as files): part k of camera c counts as
 *           published at start + phase(c) + k * --part-ms, and each viewer
 *           asks for the playlist at that instant, then for the part. The
 *           cameras' phases are spread over a part, or with --aligned all
 *           zero: every camera publishes at once, as horus-camsim's paths
 *           (one clock) do.
 *
 * A part's lateness for a viewer is when its last byte arrived less when
 * the first viewer of any got a playlist listing it (the instant the server
 * published it, as the fastest viewer saw it): what serving many viewers
 * adds. A part is on time when its lateness is at most --on-time-ms (by
 * default one part: a viewer that late each time still keeps pace).
 * One JSON line on stdout.
 *
 *   horus-hlsload --base http://127.0.0.1:PORT --playlist /cams/{cam}/index.m3u8
 *                 --cameras a,b,c [--viewers 100] [--seconds 20] [--warmup 5]
 *                 [--header "Authorization: Bearer K"] [--on-time-ms 200]
 *                 [--paced --part-fmt /{cam}/part-{part}.m4s --parts 20 --part-ms 200
 *                  [--aligned]]
 */
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_MAX (256 * 1024) /* headers and a playlist */
#define URI_MAX 512
#define SEEN_SLOTS 4096 /* first-publication times per camera, by part sequence */
#define CONNECTING_MAX 128

enum vstate { V_IDLE, V_CONNECTING, V_PLAYLIST, V_PART, V_WAITING };

struct viewer {
    int fd, cam;
    enum vstate state;
    char out[1024];
    size_t out_len, out_off;
    char *in;
    size_t in_len;
    int64_t body_len, body_got; /* -1 before the headers */
    int status;
    bool is_close; /* the server ends the connection after this reply */
    int64_t wanted; /* the next part's sequence (llhls) or index (paced); -1 = none yet */
    /* llhls: the last playlist's parts, as a URI pattern and a range */
    char uri_pre[URI_MAX], uri_post[URI_MAX];
    int64_t oldest, newest, hint; /* -1 when unknown */
    int64_t block_msn, block_part;
    uint64_t got; /* parts received in the measured window */
    struct viewer *next_waiting;
};

struct camera {
    const char *id;
    char dir[URI_MAX]; /* the playlist's directory: its parts' URIs are relative to it */
    int64_t seen_key[SEEN_SLOTS];
    int64_t seen_ns[SEEN_SLOTS];
    int64_t phase_ns;
    struct viewer *waiting;
};

static struct {
    struct sockaddr_in addr;
    char host[128];
    const char *playlist_fmt, *part_fmt, *header;
    struct camera *cams;
    int ncams, nviewers, seconds, warmup, parts, part_ms, on_time_ms;
    bool is_paced, is_aligned;
    int ep;
    int64_t start_ns, measure_ns, end_ns;
    char *scratch;
    /* results */
    double *lat_ms;
    size_t nlat, cap_lat;
    uint64_t requests, bytes, errors, skipped, reconnects, connected, on_time;
    uint64_t status_other;
    int connecting; /* connects in flight */
} g;

static int64_t now_ns(void)
{
    return clock_monotonic_ns(clock_system());
}

static void die(const char *why)
{
    fprintf(stderr, "horus-hlsload: %s\n", why);
    exit(2);
}

/* fmt with "{cam}" replaced by the camera's id and "{part}" by k. */
static void fill(char *out, size_t n, const char *fmt, const char *cam, int64_t k)
{
    size_t o = 0;
    for (const char *f = fmt; *f && o + 1 < n;) {
        char num[24];
        const char *put = NULL;
        if (strncmp(f, "{cam}", 5) == 0) {
            put = cam;
            f += 5;
        } else if (strncmp(f, "{part}", 6) == 0) {
            snprintf(num, sizeof(num), "%" PRId64, k);
            put = num;
            f += 6;
        }
        if (!put) {
            out[o++] = *f++;
            continue;
        }
        size_t len = strlen(put);
        if (o + len >= n)
            die("a path is too long");
        memcpy(out + o, put, len);
        o += len;
    }
    out[o] = 0;
}

static bool measuring(int64_t t)
{
    return t >= g.measure_ns && t < g.end_ns;
}

/* --- first publication, per camera and part ------------------------------- */

static void seen(struct camera *c, int64_t key, int64_t t)
{
    size_t i = (size_t)key % SEEN_SLOTS;
    if (c->seen_key[i] != key) {
        c->seen_key[i] = key;
        c->seen_ns[i] = t;
    } else if (t < c->seen_ns[i]) {
        c->seen_ns[i] = t;
    }
}

static int64_t seen_at(const struct camera *c, int64_t key, int64_t fallback)
{
    size_t i = (size_t)key % SEEN_SLOTS;
    return c->seen_key[i] == key ? c->seen_ns[i] : fallback;
}

/* Paced: when part k of camera c is published. */
static int64_t publish_ns(const struct camera *c, int64_t k)
{
    return g.start_ns + c->phase_ns + k * (int64_t)g.part_ms * 1000000;
}

static int64_t paced_index_at(const struct camera *c, int64_t t)
{
    int64_t d = t - g.start_ns - c->phase_ns;
    return d < 0 ? -1 : d / ((int64_t)g.part_ms * 1000000);
}

/* --- connections ------------------------------------------------------------ */

static void epoll_mod(struct viewer *v, int op, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = v};
    if (epoll_ctl(g.ep, op, v->fd, &ev) < 0 && op != EPOLL_CTL_DEL)
        die("epoll_ctl failed");
}

static void viewer_connect(struct viewer *v)
{
    v->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (v->fd < 0)
        die("socket: out of descriptors (raise ulimit -n)");
    int one = 1;
    setsockopt(v->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(v->fd, (struct sockaddr *)&g.addr, sizeof(g.addr));
    if (rc < 0 && errno != EINPROGRESS)
        die("connect failed");
    v->state = V_CONNECTING;
    g.connecting++;
    epoll_mod(v, EPOLL_CTL_ADD, EPOLLOUT);
}

static void viewer_close(struct viewer *v)
{
    if (v->fd >= 0) {
        epoll_ctl(g.ep, EPOLL_CTL_DEL, v->fd, NULL);
        close(v->fd);
    }
    v->fd = -1;
    v->state = V_IDLE;
}

static void send_get(struct viewer *v, enum vstate st, const char *path)
{
    int n = snprintf(v->out, sizeof(v->out), "GET %s HTTP/1.1\r\nHost: %s\r\n%s%s\r\n", path,
                     g.host, g.header ? g.header : "", g.header ? "\r\n" : "");
    if (n < 0 || (size_t)n >= sizeof(v->out))
        die("request too long");
    v->out_len = (size_t)n;
    v->out_off = 0;
    v->in_len = 0;
    v->body_len = -1;
    v->body_got = 0;
    v->status = 0;
    v->is_close = false;
    v->state = st;
    g.requests++;
    ssize_t w = send(v->fd, v->out, v->out_len, MSG_NOSIGNAL);
    if (w > 0)
        v->out_off = (size_t)w;
    epoll_mod(v, EPOLL_CTL_MOD, v->out_off < v->out_len ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

/* --- what a viewer asks next ----------------------------------------------- */

static void playlist_path(const struct viewer *v, char *out, size_t n, bool is_blocking)
{
    fill(out, n, g.playlist_fmt, g.cams[v->cam].id, 0);
    size_t k = strlen(out);
    if (is_blocking)
        snprintf(out + k, n - k, "%s_HLS_msn=%" PRId64 "&_HLS_part=%" PRId64,
                 strchr(out, '?') ? "&" : "?", v->block_msn, v->block_part);
}

/* A part's path: its URI is relative to the playlist's. */
static void ask_part_llhls(struct viewer *v)
{
    char path[URI_MAX * 3 + 24];
    snprintf(path, sizeof(path), "%s%s%" PRId64 "%s", g.cams[v->cam].dir, v->uri_pre, v->wanted,
             v->uri_post);
    send_get(v, V_PART, path);
}

static void ask_paced(struct viewer *v, int64_t t);

/* The next step of a viewer whose last reply is done. */
static void next_llhls(struct viewer *v)
{
    char path[URI_MAX * 2];
    if (v->wanted >= 0 && v->oldest >= 0 && v->wanted >= v->oldest && v->wanted <= v->newest) {
        ask_part_llhls(v);
        return;
    }
    if (v->wanted >= 0 && v->oldest >= 0 && v->wanted < v->oldest) {
        if (measuring(now_ns()))
            g.skipped += (uint64_t)(v->newest - v->wanted);
        v->wanted = v->newest;
        ask_part_llhls(v);
        return;
    }
    playlist_path(v, path, sizeof(path), v->wanted >= 0 && v->hint >= 0 && v->wanted == v->hint);
    send_get(v, V_PLAYLIST, path);
}

/*
 * Reads an LL-HLS playlist: the parts listed (their sequence from the URI,
 * "...-<seq>.m4s..."), the preload hint, and the blocking target of the
 * hinted part: the open segment's msn and how many parts it has.
 */
static void parse_playlist(struct viewer *v, char *text, int64_t t)
{
    struct camera *c = &g.cams[v->cam];
    int64_t media_seq = -1, segments = 0, parts_after = 0;
    v->oldest = v->newest = v->hint = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        bool is_part = strncmp(line, "#EXT-X-PART:", 12) == 0;
        bool is_hint = strncmp(line, "#EXT-X-PRELOAD-HINT:", 20) == 0;
        if (strncmp(line, "#EXT-X-MEDIA-SEQUENCE:", 22) == 0)
            media_seq = strtoll(line + 22, NULL, 10);
        else if (strncmp(line, "#EXTINF:", 8) == 0) {
            segments++;
            parts_after = 0;
        }
        if (!is_part && !is_hint)
            continue;
        char *u = strstr(line, "URI=\"");
        char *m4s = u ? strstr(u, ".m4s") : NULL;
        if (!m4s)
            continue;
        char *dash = m4s;
        while (dash > u && dash[-1] >= '0' && dash[-1] <= '9')
            dash--;
        if (dash == m4s)
            continue;
        int64_t seq = strtoll(dash, NULL, 10);
        char *end = strchr(m4s, '"');
        if (!end || (size_t)(dash - (u + 5)) >= URI_MAX || (size_t)(end - m4s) >= URI_MAX)
            continue;
        memcpy(v->uri_pre, u + 5, (size_t)(dash - (u + 5)));
        v->uri_pre[dash - (u + 5)] = 0;
        memcpy(v->uri_post, m4s, (size_t)(end - m4s));
        v->uri_post[end - m4s] = 0;
        if (is_hint) {
            v->hint = seq;
            continue;
        }
        parts_after++;
        if (v->oldest < 0)
            v->oldest = seq;
        v->newest = seq;
        if (v->wanted < 0 || seq >= v->wanted)
            seen(c, seq, t);
    }
    if (media_seq >= 0) {
        v->block_msn = media_seq + segments;
        v->block_part = parts_after;
    }
    if (v->wanted < 0)
        v->wanted = v->hint >= 0 ? v->hint : v->newest;
}

static void part_done(struct viewer *v, int64_t t, int64_t key, int64_t fallback)
{
    if (!measuring(t))
        return;
    int64_t first = seen_at(&g.cams[v->cam], key, fallback);
    double ms = (double)(t - first) / 1e6;
    if (g.nlat == g.cap_lat) {
        g.cap_lat = g.cap_lat ? 2 * g.cap_lat : 1 << 16;
        g.lat_ms = realloc(g.lat_ms, g.cap_lat * sizeof(*g.lat_ms));
        if (!g.lat_ms)
            die("out of memory");
    }
    g.lat_ms[g.nlat++] = ms;
    v->got++;
    if (ms <= g.on_time_ms)
        g.on_time++;
}

static void ask_paced(struct viewer *v, int64_t t)
{
    struct camera *c = &g.cams[v->cam];
    char path[URI_MAX];
    if (v->wanted < 0)
        v->wanted = paced_index_at(c, t) + 1;
    int64_t due = publish_ns(c, v->wanted);
    if (t < due) {
        v->state = V_WAITING;
        v->next_waiting = c->waiting;
        c->waiting = v;
        return;
    }
    if (t - due >= (int64_t)g.part_ms * 1000000) { /* behind: the part is listed already */
        fill(path, sizeof(path), g.part_fmt, c->id, v->wanted % g.parts);
        send_get(v, V_PART, path);
        return;
    }
    fill(path, sizeof(path), g.playlist_fmt, c->id, 0);
    send_get(v, V_PLAYLIST, path);
}

static void reply_done(struct viewer *v)
{
    int64_t t = now_ns();
    struct camera *c = &g.cams[v->cam];
    bool is_part_next = false; /* paced: the playlist came, its part follows */
    if (v->status != 200) {
        if (measuring(t))
            g.errors++;
        if (v->status >= 500 || v->status == 0)
            g.status_other++;
        v->wanted = -1; /* start again at the live edge */
        v->oldest = v->newest = v->hint = -1;
    } else if (v->state == V_PLAYLIST && !g.is_paced) {
        v->in[v->in_len] = 0;
        char *body = strstr(v->in, "\r\n\r\n");
        parse_playlist(v, body ? body + 4 : v->in, t);
    } else if (v->state == V_PLAYLIST) {
        seen(c, v->wanted, t);
        is_part_next = true;
    } else {
        part_done(v, t, v->wanted, g.is_paced ? publish_ns(c, v->wanted) : t);
        v->wanted++;
    }
    if (v->is_close) {
        viewer_close(v);
        g.reconnects++;
        viewer_connect(v); /* then asks again from the playlist */
        return;
    }
    if (is_part_next) {
        char path[URI_MAX];
        fill(path, sizeof(path), g.part_fmt, c->id, v->wanted % g.parts);
        send_get(v, V_PART, path);
    } else if (g.is_paced) {
        ask_paced(v, t);
    } else {
        next_llhls(v);
    }
}

static void start_viewer(struct viewer *v)
{
    if (g.is_paced)
        ask_paced(v, now_ns());
    else
        next_llhls(v);
}

/* --- reading replies --------------------------------------------------------- */

static bool parse_headers(struct viewer *v, size_t hdr_len)
{
    v->in[hdr_len - 1] = 0;
    if (sscanf(v->in, "HTTP/1.%*d %d", &v->status) != 1)
        return false;
    v->body_len = 0;
    for (char *line = strstr(v->in, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        char *h = line + 2;
        if (strncasecmp(h, "Content-Length:", 15) == 0)
            v->body_len = strtoll(h + 15, NULL, 10);
        else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0)
            return false; /* chunked: not spoken here */
        else if (strncasecmp(h, "Connection:", 11) == 0 && strcasestr(h, "close"))
            v->is_close = true;
    }
    v->in[hdr_len - 1] = '\n';
    return v->body_len >= 0;
}

/* Reads what arrived; returns false when the connection is over. */
static bool viewer_read(struct viewer *v)
{
    for (;;) {
        bool is_body_kept = v->body_len < 0 || (v->state == V_PLAYLIST && !g.is_paced);
        char *dst = is_body_kept ? v->in + v->in_len : g.scratch;
        size_t room = is_body_kept ? IN_MAX - 1 - v->in_len : IN_MAX;
        if (v->body_len >= 0 && !is_body_kept && (int64_t)room > v->body_len - v->body_got)
            room = (size_t)(v->body_len - v->body_got);
        if (room == 0)
            return false; /* a reply larger than a playlist may be */
        ssize_t r = recv(v->fd, dst, room, 0);
        if (r == 0)
            return false;
        if (r < 0)
            return errno == EAGAIN || errno == EINTR;
        g.bytes += (uint64_t)r;
        size_t extra = 0;
        if (v->body_len < 0) {
            v->in_len += (size_t)r;
            v->in[v->in_len] = 0;
            char *end = strstr(v->in, "\r\n\r\n");
            if (!end)
                continue;
            size_t hdr_len = (size_t)(end + 4 - v->in);
            if (!parse_headers(v, hdr_len))
                return false;
            extra = v->in_len - hdr_len;
            v->body_got = (int64_t)extra;
            if (!(v->state == V_PLAYLIST && !g.is_paced))
                v->in_len = hdr_len;
        } else {
            if (is_body_kept)
                v->in_len += (size_t)r;
            v->body_got += r;
        }
        if (v->body_got > v->body_len)
            return false; /* nothing was asked for ahead of this reply */
        if (v->body_got == v->body_len) {
            reply_done(v);
            return v->fd >= 0;
        }
    }
}

static void viewer_event(struct viewer *v, uint32_t ev)
{
    if (v->state == V_CONNECTING) {
        g.connecting--;
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(v->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            g.errors++;
            viewer_close(v);
            return;
        }
        g.connected++;
        start_viewer(v);
        return;
    }
    if ((ev & EPOLLOUT) && v->out_off < v->out_len) {
        ssize_t w = send(v->fd, v->out + v->out_off, v->out_len - v->out_off, MSG_NOSIGNAL);
        if (w > 0)
            v->out_off += (size_t)w;
        if (v->out_off == v->out_len)
            epoll_mod(v, EPOLL_CTL_MOD, EPOLLIN);
    }
    if ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !viewer_read(v)) {
        if (measuring(now_ns()))
            g.errors++;
        viewer_close(v);
        g.reconnects++;
        v->wanted = -1;
        viewer_connect(v);
    }
}

/* --- the run ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(double q)
{
    if (!g.nlat)
        return -1;
    size_t i = (size_t)(q * (double)(g.nlat - 1) + 0.5);
    return g.lat_ms[i];
}

static void parse_base(const char *base)
{
    unsigned port = 0;
    char ip[64];
    if (sscanf(base, "http://%63[0-9.]:%u", ip, &port) != 2 || port == 0 || port > 65535)
        die("--base: want http://IPv4:PORT");
    g.addr.sin_family = AF_INET;
    g.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &g.addr.sin_addr) != 1)
        die("--base: bad IPv4 address");
    snprintf(g.host, sizeof(g.host), "%s:%u", ip, port);
}

static void split_cameras(char *list)
{
    for (char *id = strtok(list, ","); id; id = strtok(NULL, ",")) {
        g.cams = realloc(g.cams, (size_t)(g.ncams + 1) * sizeof(*g.cams));
        if (!g.cams)
            die("out of memory");
        memset(&g.cams[g.ncams], 0, sizeof(g.cams[g.ncams]));
        for (int i = 0; i < SEEN_SLOTS; i++)
            g.cams[g.ncams].seen_key[i] = -1;
        g.cams[g.ncams++].id = id;
    }
}

static void release_due(int64_t t, int *timeout_ms)
{
    *timeout_ms = 100;
    for (int i = 0; i < g.ncams; i++) {
        struct camera *c = &g.cams[i];
        while (c->waiting && publish_ns(c, c->waiting->wanted) <= t) {
            struct viewer *v = c->waiting;
            c->waiting = v->next_waiting;
            ask_paced(v, t);
        }
        if (c->waiting) { /* all wait for the same part: the next one */
            int64_t ms = (publish_ns(c, c->waiting->wanted) - t + 999999) / 1000000;
            if (ms < *timeout_ms)
                *timeout_ms = (int)ms;
        }
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void print_result(const struct viewer *vs)
{
    qsort(g.lat_ms, g.nlat, sizeof(*g.lat_ms), cmp_double);
    /* Parts each viewer got, against what a viewer keeping pace gets. */
    uint64_t *got = calloc((size_t)g.nviewers, sizeof(*got));
    if (!got)
        die("out of memory");
    int starved = 0;
    for (int i = 0; i < g.nviewers; i++) {
        got[i] = vs[i].got;
        starved += vs[i].got == 0;
    }
    qsort(got, (size_t)g.nviewers, sizeof(*got), cmp_u64);
    double pace = (double)g.seconds * 1000.0 / g.part_ms;
    double least = (double)got[0] / pace, p10 = (double)got[g.nviewers / 10] / pace;
    free(got);
    double secs = (double)g.seconds;
    printf("{\"mode\":\"%s\",\"viewers\":%d,\"cameras\":%d,\"connected\":%" PRIu64
           ",\"seconds\":%d,\"parts\":%zu,\"parts_per_s\":%.1f,\"on_time\":%.4f,"
           "\"lateness_ms\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
           "\"pace\":{\"least\":%.3f,\"p10\":%.3f},\"starved\":%d,"
           "\"skipped\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"server_errors\":%" PRIu64
           ",\"reconnects\":%" PRIu64 ",\"requests_per_s\":%.1f,\"mbit_per_s\":%.1f}\n",
           g.is_paced ? "paced" : "llhls", g.nviewers, g.ncams, g.connected, g.seconds, g.nlat,
           (double)g.nlat / secs, g.nlat ? (double)g.on_time / (double)g.nlat : 0, quantile(0.5),
           quantile(0.9), quantile(0.99), g.nlat ? g.lat_ms[g.nlat - 1] : -1, least, p10, starved,
           g.skipped, g.errors, g.status_other, g.reconnects,
           (double)g.requests / (double)(g.seconds + g.warmup),
           (double)g.bytes * 8 / 1e6 / (double)(g.seconds + g.warmup));
}

static void usage(void)
{
    fputs("usage: horus-hlsload --base http://IP:PORT --playlist FMT --cameras a,b "
          "[--viewers N] [--seconds S] [--warmup S] [--header H] [--on-time-ms MS] "
          "[--paced --part-fmt FMT --parts K --part-ms MS [--aligned]]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"base", required_argument, 0, 'b'},    {"playlist", required_argument, 0, 'p'},
        {"cameras", required_argument, 0, 'c'}, {"viewers", required_argument, 0, 'n'},
        {"seconds", required_argument, 0, 's'}, {"warmup", required_argument, 0, 'w'},
        {"header", required_argument, 0, 'H'},  {"on-time-ms", required_argument, 0, 'o'},
        {"paced", no_argument, 0, 'P'},         {"part-fmt", required_argument, 0, 'f'},
        {"parts", required_argument, 0, 'k'},   {"part-ms", required_argument, 0, 'm'},
        {"aligned", no_argument, 0, 'a'},       {0, 0, 0, 0}};
    g.nviewers = 100;
    g.seconds = 20;
    g.warmup = 5;
    g.part_ms = 200;
    g.on_time_ms = -1;
    const char *base = NULL;
    char *cams = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'b':
            base = optarg;
            break;
        case 'p':
            g.playlist_fmt = optarg;
            break;
        case 'c':
            cams = optarg;
            break;
        case 'n':
            g.nviewers = atoi(optarg);
            break;
        case 's':
            g.seconds = atoi(optarg);
            break;
        case 'w':
            g.warmup = atoi(optarg);
            break;
        case 'H':
            g.header = optarg;
            break;
        case 'o':
            g.on_time_ms = atoi(optarg);
            break;
        case 'P':
            g.is_paced = true;
            break;
        case 'a':
            g.is_aligned = true;
            break;
        case 'f':
            g.part_fmt = optarg;
            break;
        case 'k':
            g.parts = atoi(optarg);
            break;
        case 'm':
            g.part_ms = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (!base || !g.playlist_fmt || !cams || g.nviewers < 1 || g.seconds < 1 || g.warmup < 0 ||
        g.part_ms < 1 || (g.is_paced && (!g.part_fmt || g.parts < 1)))
        usage();
    if (g.on_time_ms < 0)
        g.on_time_ms = g.part_ms;
    parse_base(base);
    split_cameras(cams);
    if (!g.ncams)
        usage();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)g.nviewers + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    g.ep = epoll_create1(EPOLL_CLOEXEC);
    g.scratch = malloc(IN_MAX);
    struct viewer *vs = calloc((size_t)g.nviewers, sizeof(*vs));
    if (g.ep < 0 || !g.scratch || !vs)
        die("out of memory");
    g.start_ns = now_ns();
    g.measure_ns = g.start_ns + (int64_t)g.warmup * 1000000000;
    g.end_ns = g.measure_ns + (int64_t)g.seconds * 1000000000;
    for (int i = 0; i < g.ncams; i++) {
        struct camera *c = &g.cams[i];
        fill(c->dir, sizeof(c->dir), g.playlist_fmt, c->id, 0);
        c->dir[strcspn(c->dir, "?")] = 0;
        char *slash = strrchr(c->dir, '/');
        if (slash)
            slash[1] = 0;
        c->phase_ns = g.is_aligned ? 0 : (int64_t)g.part_ms * 1000000 * i / g.ncams;
    }
    for (int i = 0; i < g.nviewers; i++) {
        vs[i] = (struct viewer){.fd = -1, .cam = i % g.ncams, .wanted = -1};
        vs[i].in = malloc(IN_MAX);
        vs[i].oldest = vs[i].newest = vs[i].hint = -1;
        if (!vs[i].in)
            die("out of memory");
    }
    int started = 0;
    struct epoll_event evs[256];
    for (int64_t t = now_ns(); t < g.end_ns; t = now_ns()) {
        /* Connect a few at a time: a burst of thousands overflows the listen queue. */
        while (started < g.nviewers && g.connecting < CONNECTING_MAX)
            viewer_connect(&vs[started++]);
        int timeout_ms = 100;
        if (g.is_paced)
            release_due(t, &timeout_ms);
        if (started < g.nviewers)
            timeout_ms = timeout_ms < 5 ? timeout_ms : 5;
        int n = epoll_wait(g.ep, evs, 256, timeout_ms);
        for (int i = 0; i < n; i++)
            viewer_event(evs[i].data.ptr, evs[i].events);
    }
    print_result(vs);
    for (int i = 0; i < g.nviewers; i++) {
        viewer_close(&vs[i]);
        free(vs[i].in);
    }
    free(vs);
    free(g.scratch);
    free(g.lat_ms);
    free(g.cams);
    close(g.ep);
    return 0;
}
