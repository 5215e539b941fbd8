/*
 * horus-indexload: the index writes of many cameras without the cameras
 * (bench/cluster/index). Each camera holds its lease as a node's recorder
 * does, and its segment rows go through the storage writer fenced by that
 * lease (docs/design/0066), with a part index blob of a real segment's
 * size. Two modes:
 *   paced  every camera closes a segment every --segment seconds, spread
 *          evenly: the load of --cameras cameras; reports the commit
 *          latency (queued to committed) and whether the writer kept up;
 *   flood  rows as fast as the writer takes them for --seconds: the most
 *          rows a second this database commits.
 * One JSON line on stdout.
 *
 *   horus-indexload --db URL [--cameras 250] [--segment 2] [--seconds 20] [--flood]
 */
#include "clock.h"
#include "err.h"
#include "storage.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NODE "indexload"
#define BLOB_BYTES 480 /* a 2 s segment's part index: 10 parts of a 25 fps camera */
#define MAX_SAMPLES (1 << 20)

struct pending {
    int64_t queued_ns;
};

static _Atomic uint64_t g_done, g_failed;
static int64_t *g_lat_ns; /* commit latencies, written on the writer thread */
static _Atomic size_t g_nlat;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_done(int rc, void *arg)
{
    struct pending *p = arg;
    if (rc == 0) {
        size_t i = atomic_fetch_add(&g_nlat, 1);
        if (i < MAX_SAMPLES)
            g_lat_ns[i] = now_ns() - p->queued_ns;
        atomic_fetch_add(&g_done, 1);
    } else {
        atomic_fetch_add(&g_failed, 1);
    }
    free(p);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const int64_t *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p / 100 * (double)(n - 1) + 0.5);
    return (double)v[i < n ? i : n - 1] / 1e6;
}

/* Queues camera c's next row; -EAGAIN when the writer's queue is full. */
static int queue_row(sto_db *db, const char *camera, int64_t token, int64_t start_us,
                     int64_t seg_us, const uint8_t *blob)
{
    char path[160];
    snprintf(path, sizeof(path), "recordings/%s/main/bench/%" PRId64 ".mp4", camera, start_us);
    struct pending *p = malloc(sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->queued_ns = now_ns();
    struct sto_recording_input r = {.camera_id = camera,
                                    .stream = "main",
                                    .start_us = start_us,
                                    .end_us = start_us + seg_us,
                                    .path = path,
                                    .bytes = 1000000,
                                    .codec = "avc1.64001f",
                                    .width = 1920,
                                    .height = 1080,
                                    .sha256 = "0000000000000000000000000000000000000000000000000000"
                                              "000000000000",
                                    .fragments = blob,
                                    .fragments_size = BLOB_BYTES,
                                    .lease_node = NODE,
                                    .lease_token = token};
    int rc = sto_recording_insert_async(db, &r, on_done, p);
    if (rc < 0)
        free(p);
    return rc;
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    int cameras = 250, seconds = 20;
    double segment = 2;
    bool is_flood = false;
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"cameras", required_argument, NULL, 'c'},
        {"segment", required_argument, NULL, 's'}, {"seconds", required_argument, NULL, 't'},
        {"flood", no_argument, NULL, 'f'},         {0}};
    for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (o == 'd')
            url = optarg;
        else if (o == 'c')
            cameras = atoi(optarg);
        else if (o == 's')
            segment = atof(optarg);
        else if (o == 't')
            seconds = atoi(optarg);
        else if (o == 'f')
            is_flood = true;
        else
            return 2;
    }
    if (!url || cameras < 1 || cameras > 100000 || segment <= 0 || seconds < 1) {
        fprintf(stderr, "usage: horus-indexload --db URL [--cameras N] [--segment S] "
                        "[--seconds T] [--flood]\n");
        return 2;
    }
    struct sto_database_config cfg = {.url = (char *)url,
                                      .busy_timeout_ms = 5000,
                                      .batch_max = 512,
                                      .queue_max = 65536,
                                      .readers = 2};
    char dir[] = "/tmp/horus-indexload-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    sto_db *db = NULL;
    char *err = NULL;
    int rc = sto_open(&(struct sto_open_options){.db = &cfg, .data_dir = dir}, &db, &err);
    if (rc < 0) {
        fprintf(stderr, "open %s: %s\n", url, err ? err : horus_strerror(rc));
        return 1;
    }
    sto_set_node(db, NODE);
    if ((rc = sto_start(db)) < 0) {
        fprintf(stderr, "start the writer: %s\n", horus_strerror(rc));
        return 1;
    }
    g_lat_ns = calloc(MAX_SAMPLES, sizeof(*g_lat_ns));
    char(*ids)[16] = calloc((size_t)cameras, sizeof(*ids));
    int64_t *tokens = calloc((size_t)cameras, sizeof(*tokens));
    int64_t now_ms = clock_realtime_ms(clock_system());
    for (int c = 0; c < cameras; c++) {
        snprintf(ids[c], sizeof(ids[c]), "c%d", c + 1);
        rc = sto_camera_lease_claim(db, ids[c], NODE, now_ms, now_ms + 3600 * 1000, &tokens[c]);
        if (rc < 0) {
            fprintf(stderr, "claim the lease of %s: %s\n", ids[c], horus_strerror(rc));
            return 1;
        }
    }
    uint8_t blob[BLOB_BYTES];
    for (size_t i = 0; i < sizeof(blob); i++)
        blob[i] = (uint8_t)(i * 31);
    int64_t seg_us = (int64_t)(segment * 1e6);
    int64_t t0_us = now_ms * 1000 - (int64_t)seconds * 1000000 * 2; /* in the past, unique */
    int64_t *next_start = calloc((size_t)cameras, sizeof(*next_start));
    for (int c = 0; c < cameras; c++)
        next_start[c] = t0_us;
    uint64_t queued = 0, refused = 0;
    int64_t begin = now_ns(), end = begin + (int64_t)seconds * 1000000000;
    if (is_flood) {
        for (int c = 0; now_ns() < end; c = (c + 1) % cameras) {
            rc = queue_row(db, ids[c], tokens[c], next_start[c], seg_us, blob);
            if (rc == -EAGAIN) {
                refused++;
                usleep(200);
                continue;
            }
            if (rc < 0)
                break;
            next_start[c] += seg_us;
            queued++;
        }
    } else {
        /* Camera c closes segments at begin + (c / cameras + k) * segment. */
        double interval_ns = segment * 1e9 / cameras;
        for (uint64_t k = 0;; k++) {
            int64_t due = begin + (int64_t)((double)k * interval_ns);
            if (due >= end)
                break;
            int64_t wait = due - now_ns();
            if (wait > 0)
                usleep((useconds_t)(wait / 1000));
            int c = (int)(k % (uint64_t)cameras);
            rc = queue_row(db, ids[c], tokens[c], next_start[c], seg_us, blob);
            if (rc == -EAGAIN)
                refused++;
            else if (rc == 0)
                queued++;
            next_start[c] += seg_us;
        }
    }
    int64_t queued_end = now_ns();
    sto_stop(db); /* runs what is queued to completion */
    int64_t all_done = now_ns();
    size_t n = atomic_load(&g_nlat);
    if (n > MAX_SAMPLES)
        n = MAX_SAMPLES;
    qsort(g_lat_ns, n, sizeof(*g_lat_ns), cmp_i64);
    double span_s = (double)(all_done - begin) / 1e9;
    printf("{\"backend\": \"%s\", \"mode\": \"%s\", \"cameras\": %d, \"segment_s\": %.1f, "
           "\"seconds\": %d, \"queued\": %" PRIu64 ", \"committed\": %" PRIu64
           ", \"failed\": %" PRIu64 ", \"refused_queue_full\": %" PRIu64
           ", \"offered_rows_per_s\": %.1f, \"committed_rows_per_s\": %.1f, "
           "\"drain_after_s\": %.2f, \"commit_ms_p50\": %.2f, \"commit_ms_p99\": %.2f, "
           "\"commit_ms_max\": %.2f}\n",
           sto_backend_name(db), is_flood ? "flood" : "paced", cameras, segment, seconds, queued,
           (uint64_t)atomic_load(&g_done), (uint64_t)atomic_load(&g_failed), refused,
           (double)queued / ((double)(queued_end - begin) / 1e9),
           (double)atomic_load(&g_done) / span_s, (double)(all_done - queued_end) / 1e9,
           pct_ms(g_lat_ns, n, 50), pct_ms(g_lat_ns, n, 99), pct_ms(g_lat_ns, n, 100));
    sto_close(db);
    free(next_start);
    free(tokens);
    free(ids);
    free(g_lat_ns);
    rmdir(dir); /* empty: the database named by --db lives elsewhere */
    return atomic_load(&g_failed) ? 1 : 0;
}
