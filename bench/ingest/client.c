/*
 * DESIGN: the load client of bench/ingest/run. CONNS threads, each with one
 * keep-alive HTTP/1.1 connection over a raw socket, post NDJSON batches of
 * BATCH detections to POST /api/v1/detections. Every detection of a batch
 * carries the batch's track id "c<conn>-<seq>", so the runner can find in
 * the database exactly which acknowledged batches are there.
 *
 * Pacing: with RATE > 0 (detections/s over all connections) each
 * connection has a schedule, one batch every BATCH * CONNS / RATE seconds,
 * and a request's latency runs from its scheduled time, not from when it
 * was sent: a server that falls behind is charged for the wait (no
 * coordinated omission). RATE 0 is a closed loop: each connection sends
 * its next batch when the previous one is answered (the capacity).
 *
 * Only requests scheduled inside [WARMUP_S, WARMUP_S + SECONDS) count in the
 * figures. A connection that fails (the daemon killed) stops. With ACKED a
 * file name, the track id of every batch answered 200 is written there,
 * one a line. Prints one JSON object on stdout.
 *
 * usage: client HOST PORT KEY CAMERAS CONNS BATCH SECONDS WARMUP_S RATE ACKED|-
 * Build: cc -O2 -pthread -o client client.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_CAMERAS 64
#define RBUF 8192

static const char *host, *key;
static int port, conns, batch;
static char *cameras[MAX_CAMERAS];
static int ncameras;
static double seconds, warmup_s, rate;
static bool with_keys; /* HORUS_BENCH_IDEMPOTENCY=1: every batch carries an Idempotency-Key */
static int64_t t0_ns; /* monotonic start */

struct worker {
    pthread_t thread;
    int id;
    uint64_t ok, failed, detections; /* inside the window */
    uint64_t all_ok; /* 200s over the whole run */
    uint32_t *lat_us; /* owned: latencies inside the window */
    size_t nlat, cap;
    uint32_t *acked; /* owned: seqs answered 200 */
    size_t nacked, acked_cap;
    int error; /* errno of the failure that stopped it; 0 = ran to the end */
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * INT64_C(1000000000) + ts.tv_nsec;
}

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * INT64_C(1000) + ts.tv_nsec / 1000000;
}

static void sleep_until(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Reads one response; returns its status, or -1 when the connection failed. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have + 1 >= cap)
            return -1;
        ssize_t r = read(fd, buf + have, cap - have - 1);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
        return -1;
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t body = cl ? strtoul(cl + 17, NULL, 10) : 0;
    size_t got = have - (size_t)(end + 4 - buf);
    while (got < body) {
        ssize_t r = read(fd, buf, cap - 1 < body - got ? cap - 1 : body - got);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)r;
    }
    return status;
}

static void push(uint32_t **a, size_t *n, size_t *cap, uint32_t v)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4096;
        *a = realloc(*a, *cap * sizeof(**a));
        if (!*a)
            abort();
    }
    (*a)[(*n)++] = v;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    size_t body_cap = (size_t)batch * 256 + 64;
    char *body = malloc(body_cap);
    char head[1024], rbuf[RBUF];
    const char *camera = cameras[w->id % ncameras];
    int fd = dial();
    if (fd < 0) {
        w->error = errno;
        free(body);
        return NULL;
    }
    double interval_ns = rate > 0 ? (double)batch * conns / rate * 1e9 : 0;
    /* Spread the connections' schedules over one interval. */
    int64_t sched = t0_ns + (int64_t)(interval_ns * w->id / conns);
    int64_t stop_ns = t0_ns + (int64_t)((warmup_s + seconds) * 1e9);
    for (uint32_t seq = 0;; seq++) {
        if (rate > 0)
            sleep_until(sched);
        int64_t start = rate > 0 ? sched : mono_ns();
        if (start >= stop_ns)
            break;
        int64_t now_ms = real_ms();
        size_t len = 0;
        for (int i = 0; i < batch; i++) {
            double x = (double)((seq + (uint32_t)i) % 50) / 100.0;
            len += (size_t)snprintf(body + len, body_cap - len,
                                    "{\"camera\":\"%s\",\"time\":%lld,\"label\":\"%s\","
                                    "\"score\":0.%02d,\"box\":[%.2f,0.10,%.2f,0.60],"
                                    "\"track_id\":\"c%d-%u\"}\n",
                                    camera, (long long)(now_ms - i), i % 3 ? "person" : "car",
                                    50 + i % 50, x, x + 0.25, w->id, seq);
        }
        char idem[64] = "";
        if (with_keys) /* a new key per batch (and per run): the keyed path's cost, no replay */
            snprintf(idem, sizeof(idem), "Idempotency-Key: %lld-c%d-%u\r\n", (long long)t0_ns,
                     w->id, seq);
        int hl = snprintf(head, sizeof(head),
                          "POST /api/v1/detections HTTP/1.1\r\nHost: %s:%d\r\n"
                          "Authorization: Bearer %s\r\nContent-Type: application/x-ndjson\r\n"
                          "%sContent-Length: %zu\r\n\r\n",
                          host, port, key, idem, len);
        struct iovec iov[2] = {{head, (size_t)hl}, {body, len}};
        int status = write_all(fd, iov, 2) < 0 ? -1 : read_response(fd, rbuf, sizeof(rbuf));
        int64_t done = mono_ns();
        bool in_window = start >= t0_ns + (int64_t)(warmup_s * 1e9);
        if (status < 0) {
            w->error = errno ? errno : EPIPE;
            break;
        }
        if (status == 200) {
            w->all_ok++;
            push(&w->acked, &w->nacked, &w->acked_cap, seq);
        }
        if (in_window) {
            if (status == 200) {
                w->ok++;
                w->detections += (uint64_t)batch;
            } else {
                w->failed++;
            }
            uint64_t us = (uint64_t)(done - start) / 1000;
            push(&w->lat_us, &w->nlat, &w->cap, us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
        }
        if (rate > 0)
            sched += (int64_t)interval_ns;
    }
    close(fd);
    free(body);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint32_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

int main(int argc, char **argv)
{
    if (argc != 11) {
        fprintf(stderr, "usage: client HOST PORT KEY CAMERAS CONNS BATCH SECONDS WARMUP_S RATE "
                        "ACKED|-\n");
        return 2;
    }
    with_keys =
        getenv("HORUS_BENCH_IDEMPOTENCY") && strcmp(getenv("HORUS_BENCH_IDEMPOTENCY"), "1") == 0;
    host = argv[1];
    port = atoi(argv[2]);
    key = argv[3];
    for (char *s = strtok(argv[4], ","); s && ncameras < MAX_CAMERAS; s = strtok(NULL, ","))
        cameras[ncameras++] = s;
    conns = atoi(argv[5]);
    batch = atoi(argv[6]);
    seconds = atof(argv[7]);
    warmup_s = atof(argv[8]);
    rate = atof(argv[9]);
    const char *acked_path = argv[10];
    if (ncameras == 0 || conns < 1 || batch < 1 || seconds <= 0)
        return 2;
    struct worker *ws = calloc((size_t)conns, sizeof(*ws));
    t0_ns = mono_ns();
    for (int i = 0; i < conns; i++) {
        ws[i].id = i;
        if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0)
            return 1;
    }
    uint64_t ok = 0, failed = 0, dets = 0, all_ok = 0;
    size_t nlat = 0;
    int stopped = 0;
    for (int i = 0; i < conns; i++) {
        pthread_join(ws[i].thread, NULL);
        ok += ws[i].ok;
        failed += ws[i].failed;
        dets += ws[i].detections;
        all_ok += ws[i].all_ok;
        nlat += ws[i].nlat;
        stopped += ws[i].error != 0;
    }
    double wall = (double)(mono_ns() - t0_ns) / 1e9;
    uint32_t *lat = malloc((nlat ? nlat : 1) * sizeof(*lat));
    size_t k = 0;
    for (int i = 0; i < conns; i++) {
        memcpy(lat + k, ws[i].lat_us, ws[i].nlat * sizeof(*lat));
        k += ws[i].nlat;
    }
    qsort(lat, nlat, sizeof(*lat), cmp_u32);
    if (strcmp(acked_path, "-") != 0) {
        FILE *f = fopen(acked_path, "w");
        if (!f)
            return 1;
        for (int i = 0; i < conns; i++)
            for (size_t j = 0; j < ws[i].nacked; j++)
                fprintf(f, "c%d-%u\n", i, ws[i].acked[j]);
        fclose(f);
    }
    double window = seconds < wall - warmup_s ? seconds : wall - warmup_s;
    if (window <= 0)
        window = wall;
    printf("{\"connections\": %d, \"batch\": %d, \"rate\": %.0f, \"window_s\": %.2f, "
           "\"requests_ok\": %llu, \"requests_failed\": %llu, \"detections\": %llu, "
           "\"detections_per_s\": %.0f, \"requests_per_s\": %.1f, \"p50_ms\": %.2f, "
           "\"p95_ms\": %.2f, \"p99_ms\": %.2f, \"max_ms\": %.2f, \"acked_batches\": %llu, "
           "\"connections_stopped\": %d}\n",
           conns, batch, rate, window, (unsigned long long)ok, (unsigned long long)failed,
           (unsigned long long)dets, (double)dets / window, (double)(ok + failed) / window,
           pct(lat, nlat, 0.50), pct(lat, nlat, 0.95), pct(lat, nlat, 0.99),
           nlat ? lat[nlat - 1] / 1000.0 : 0.0, (unsigned long long)all_ok, stopped);
    for (int i = 0; i < conns; i++) {
        free(ws[i].lat_us);
        free(ws[i].acked);
    }
    free(ws);
    free(lat);
    return 0;
}
