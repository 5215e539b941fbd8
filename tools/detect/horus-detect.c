/*
 * horus-detect: runs a detector over frames of a video file and prints the
 * detections and the time per frame (bench/detect uses it; it is also the
 * quickest way to try a model by hand).
 *
 * usage: horus-detect [--detector onnx|opencv|remote|hybrid] --model M.onnx --labels L
 *                     [--head auto|nanodet|centernet|yolov5|yolov8|ssd]
 *                     [--url U --api-key K --timeout-ms T] [--threads N]
 *                     [--min-score S] [--frames 0,40,80 | --count N]
 *                     [--interval-ms I] [--cooldown-ms C] [--failures K]
 *                     [--quiet | --json] VIDEO
 * --detector opencv runs the model through OpenCV DNN (when built with it).
 * --detector remote sends frames to U/v1/vision/detection (DeepStack API);
 * hybrid uses that remote as primary and the onnx model as fallback, and
 * each frame's line says which served it and the breaker's state.
 * Prints one line per detection ("frame 40 person 0.83 0.12 0.30 0.18 0.61"),
 * then "ms min M median D frames N". A frame that fails prints
 * "frame N: error: WHY" and the run goes on (exit status 1 at the end).
 * --json prints JSON Lines instead (what bench/detect/accuracy reads): per frame
 *   {"frame":40,"width":768,"height":576,"ms":31.2,
 *    "detections":[{"label":"person","score":0.83,"box":[x0,y0,x1,y1]},...]}
 * with boxes in normalised [0,1] frame coordinates, best score first, then
 *   {"ms_min":M,"ms_median":D,"frames":N,"input":[W,H],"threads":T,"runtime":"R"}.
 */
#include "detect.h"
#include "hybrid.h"
#include "onnx.h"
#ifdef HORUS_HAVE_OPENCV
#include "opencv.h"
#endif
#include "remote.h"
#include "vframes.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ctx {
    struct det_detector *det;
    struct det_run_options opt;
    int quiet, json, failed, n, interval_ms;
    double *ms;
    int ms_cap;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Prints s as a JSON string (labels are UTF-8 without control characters). */
static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

static void print_json_frame(struct ctx *c, const struct vframe *f, const struct det_box *boxes,
                             size_t n, double ms)
{
    printf("{\"frame\":%d,\"width\":%d,\"height\":%d,\"ms\":%.2f,\"detections\":[", f->index,
           f->width, f->height, ms);
    for (size_t i = 0; i < n; i++) {
        printf("%s{\"label\":", i ? "," : "");
        json_string(det_detector_label(c->det, boxes[i].label));
        printf(",\"score\":%.4f,\"box\":[%.6f,%.6f,%.6f,%.6f]}", boxes[i].score, boxes[i].x0,
               boxes[i].y0, boxes[i].x1, boxes[i].y1);
    }
    printf("]}\n");
}

static void on_frame(const struct vframe *f, void *arg)
{
    struct ctx *c = arg;
    struct det_frame fr = {f->rgb, f->width, f->height, f->width * 3};
    struct det_box boxes[100];
    size_t n = 0;
    char *err = NULL;
    double t0 = now_ms();
    int rc = det_detector_run(c->det, &fr, &c->opt, boxes, 100, &n, &err);
    double t = now_ms() - t0;
    if (c->interval_ms > 0)
        usleep((useconds_t)c->interval_ms * 1000);
    if (rc) {
        printf("frame %d: error: %s\n", f->index, err ? err : "failed");
        fflush(stdout);
        free(err);
        c->failed = 1;
        return;
    }
    if (c->n == c->ms_cap) {
        c->ms_cap = c->ms_cap ? c->ms_cap * 2 : 64;
        c->ms = realloc(c->ms, (size_t)c->ms_cap * sizeof(double));
    }
    c->ms[c->n++] = t;
    if (c->json) {
        print_json_frame(c, f, boxes, n, t);
        return;
    }
    if (c->quiet)
        return;
    struct det_hybrid_state st;
    if (det_hybrid_state(c->det, &st) == 0)
        printf("frame %d: %zu detections, %.1f ms, served %s, breaker %s\n", f->index, n, t,
               det_hybrid_served_name(st.last_served), horus_breaker_state_name(st.breaker));
    else
        printf("frame %d: %zu detections, %.1f ms\n", f->index, n, t);
    for (size_t i = 0; i < n; i++)
        printf("frame %d %s %.3f %.4f %.4f %.4f %.4f\n", f->index,
               det_detector_label(c->det, boxes[i].label), boxes[i].score, boxes[i].x0, boxes[i].y0,
               boxes[i].x1, boxes[i].y1);
    fflush(stdout);
}

/* The runtime under d: "OpenCV 4.6.0" or ONNX Runtime's version. */
static const char *runtime(const struct det_detector *d)
{
#ifdef HORUS_HAVE_OPENCV
    static char v[32];
    if (strcmp(det_detector_name(d), "opencv") == 0) {
        snprintf(v, sizeof(v), "OpenCV %s", det_opencv_version());
        return v;
    }
#endif
    (void)d;
    return det_onnx_runtime_version();
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    struct det_onnx_options o = {0};
    struct det_remote_options ro = {0};
    const char *kind = "onnx";
    int cooldown_ms = 0, failures = 0;
    struct ctx c = {0};
    int frames[256], nframes = 0, count = 0;
    static const struct option longopts[] = {
        {"model", required_argument, 0, 'm'},
        {"labels", required_argument, 0, 'l'},
        {"threads", required_argument, 0, 't'},
        {"min-score", required_argument, 0, 's'},
        {"frames", required_argument, 0, 'f'},
        {"count", required_argument, 0, 'n'},
        {"quiet", no_argument, 0, 'q'},
        {"json", no_argument, 0, 'j'},
        {"detector", required_argument, 0, 'd'},
        {"url", required_argument, 0, 'u'},
        {"api-key", required_argument, 0, 'k'},
        {"timeout-ms", required_argument, 0, 'T'},
        {"interval-ms", required_argument, 0, 'i'},
        {"cooldown-ms", required_argument, 0, 'C'},
        {"failures", required_argument, 0, 'F'},
        {"head", required_argument, 0, 'H'},
        {0, 0, 0, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'm':
            o.model_path = optarg;
            break;
        case 'l':
            o.labels_path = optarg;
            break;
        case 'H':
            o.head = optarg;
            break;
        case 't':
            o.threads = atoi(optarg);
            break;
        case 's':
            c.opt.min_score = strtof(optarg, NULL);
            break;
        case 'f':
            for (char *p = strtok(optarg, ","); p && nframes < 256; p = strtok(NULL, ","))
                frames[nframes++] = atoi(p);
            break;
        case 'n':
            count = atoi(optarg);
            break;
        case 'q':
            c.quiet = 1;
            break;
        case 'j':
            c.json = 1;
            break;
        case 'd':
            kind = optarg;
            break;
        case 'u':
            ro.url = optarg;
            break;
        case 'k':
            ro.api_key = optarg;
            break;
        case 'T':
            ro.timeout_ms = atoi(optarg);
            break;
        case 'i':
            c.interval_ms = atoi(optarg);
            break;
        case 'C':
            cooldown_ms = atoi(optarg);
            break;
        case 'F':
            failures = atoi(optarg);
            break;
        default:
            return 2;
        }
    }
    int is_onnx = strcmp(kind, "onnx") == 0, is_remote = strcmp(kind, "remote") == 0,
        is_hybrid = strcmp(kind, "hybrid") == 0, is_opencv = strcmp(kind, "opencv") == 0;
    if (is_opencv) {
#ifdef HORUS_HAVE_OPENCV
        is_onnx = 1; /* a local model, the same options */
#else
        fprintf(stderr, "horus-detect: this build has no OpenCV DNN (libopencv-dnn-dev)\n");
        return 2;
#endif
    }
    if (optind != argc - 1 || !o.labels_path || (!is_onnx && !is_remote && !is_hybrid) ||
        ((is_onnx || is_hybrid) && !o.model_path) || ((is_remote || is_hybrid) && !ro.url)) {
        fprintf(stderr,
                "usage: horus-detect [--detector onnx|opencv|remote|hybrid] --model M --labels L "
                "[--head H] [--url U] [--api-key K] [--timeout-ms T] [--threads N] "
                "[--min-score S] [--frames a,b | --count N] [--interval-ms I] [--cooldown-ms C] "
                "[--failures K] [--quiet | --json] VIDEO\n");
        return 2;
    }
    char *err = NULL;
    int rc = 0;
    struct det_detector *local = NULL, *remote = NULL;
    ro.labels_path = o.labels_path;
    if (is_opencv) {
#ifdef HORUS_HAVE_OPENCV
        struct det_opencv_options co = {.model_path = o.model_path,
                                        .labels_path = o.labels_path,
                                        .input_size = o.input_size,
                                        .threads = o.threads};
        rc = det_opencv_open(&co, &local, &err);
#endif
    } else if (is_onnx || is_hybrid) {
        rc = det_onnx_open(&o, &local, &err);
    }
    if (rc == 0 && (is_remote || is_hybrid))
        rc = det_remote_open(&ro, &remote, &err);
    if (rc == 0 && is_hybrid) {
        struct det_hybrid_options ho = {.primary = remote,
                                        .fallback = local,
                                        .failures_to_open = failures,
                                        .cooldown_ms = cooldown_ms};
        rc = det_hybrid_open(&ho, &c.det, &err);
        local = remote = NULL;
    } else if (rc == 0) {
        c.det = is_onnx ? local : remote;
        local = remote = NULL;
    }
    det_detector_close(local);
    det_detector_close(remote);
    if (rc) {
        fprintf(stderr, "horus-detect: %s\n", err);
        free(err);
        return 1;
    }
    char averr[128];
    rc = vframes_read(argv[optind], nframes ? frames : NULL, nframes, count, on_frame, &c, averr,
                      sizeof(averr));
    if (rc < 0)
        fprintf(stderr, "horus-detect: '%s': %s\n", argv[optind], averr);
    if (c.n && c.json) {
        qsort(c.ms, (size_t)c.n, sizeof(double), cmp_double);
        printf("{\"ms_min\":%.2f,\"ms_median\":%.2f,\"frames\":%d,\"input\":[%d,%d],"
               "\"threads\":%d,\"runtime\":",
               c.ms[0], c.ms[c.n / 2], c.n, c.det->input_width, c.det->input_height,
               o.threads ? o.threads : 1);
        json_string(runtime(c.det));
        printf("}\n");
    } else if (c.n) {
        qsort(c.ms, (size_t)c.n, sizeof(double), cmp_double);
        printf("ms min %.1f median %.1f frames %d input %dx%d threads %d runtime %s detector %s\n",
               c.ms[0], c.ms[c.n / 2], c.n, c.det->input_width, c.det->input_height,
               o.threads ? o.threads : 1, runtime(c.det), det_detector_name(c.det));
    }
    det_detector_close(c.det);
    free(c.ms);
    return rc < 0 || c.failed ? 1 : 0;
}
