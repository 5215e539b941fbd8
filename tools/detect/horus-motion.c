/*
 * horus-motion: runs src/detect/motion.c over the frames of a video file,
 * scaled to one size and turned to luma, and prints the motion found and
 * the CPU time per frame (bench/motion uses it; --dump writes the same
 * luma frames so that a peer runs on exactly the same input).
 *
 * usage: horus-motion [--size 640x360] [--count N] [--fps 5] [--dump FILE]
 *                     [--quiet] VIDEO
 * Prints "frame 40: 2 boxes" lines with the boxes unless --quiet, then
 * "cpu_ms min M median D mean A frames N motion_frames F suppressed S".
 */
#include "motion.h"
#include "vframes.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ctx {
    struct det_motion *motion;
    int width, height, fps, quiet, failed;
    uint8_t *luma;
    FILE *dump;
    double *ms;
    int n, cap, motion_frames, suppressed;
};

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * Bilinear sampling along one axis: the source samples *a and *b (size sn)
 * around destination index i of n, and the weight *w of *b.
 */
static void axis(int i, int n, int sn, int *a, int *b, float *w)
{
    float s = ((float)i + 0.5f) * (float)sn / (float)n - 0.5f;
    *a = s < 0 ? 0 : (int)s;
    *b = *a + 1 < sn ? *a + 1 : *a;
    *w = s - (float)*a;
    if (*w < 0)
        *w = 0;
}

/* Bilinear scale of the RGB frame to width x height, BT.601 luma. */
static void to_luma(const struct vframe *f, uint8_t *out, int w, int h)
{
    for (int y = 0; y < h; y++) {
        int y0, y1;
        float fy;
        axis(y, h, f->height, &y0, &y1, &fy);
        for (int x = 0; x < w; x++) {
            int x0, x1;
            float fx;
            axis(x, w, f->width, &x0, &x1, &fx);
            float v[4];
            const int xs[2] = {x0, x1}, ys[2] = {y0, y1};
            for (int k = 0; k < 4; k++) {
                const uint8_t *p =
                    f->rgb + ((size_t)ys[k / 2] * (size_t)f->width + (size_t)xs[k % 2]) * 3;
                v[k] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
            }
            float top = v[0] + (v[1] - v[0]) * fx, bottom = v[2] + (v[3] - v[2]) * fx;
            out[(size_t)y * (size_t)w + (size_t)x] = (uint8_t)(top + (bottom - top) * fy + 0.5f);
        }
    }
}

static void on_frame(const struct vframe *f, void *arg)
{
    struct ctx *c = arg;
    if (c->failed)
        return;
    to_luma(f, c->luma, c->width, c->height);
    if (c->dump && fwrite(c->luma, 1, (size_t)c->width * (size_t)c->height, c->dump) !=
                       (size_t)c->width * (size_t)c->height) {
        fprintf(stderr, "horus-motion: write dump failed\n");
        c->failed = 1;
        return;
    }
    struct det_box boxes[64];
    struct det_motion_result res;
    double t0 = cpu_ms();
    int rc = det_motion_feed(c->motion, c->luma, c->width, c->height, c->width,
                             (int64_t)f->index * 1000000 / c->fps, boxes, 64, &res);
    double t = cpu_ms() - t0;
    if (rc) {
        fprintf(stderr, "horus-motion: frame %d: refused (%d)\n", f->index, rc);
        c->failed = 1;
        return;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->ms = realloc(c->ms, (size_t)c->cap * sizeof(double));
    }
    c->ms[c->n++] = t;
    c->motion_frames += res.box_count > 0;
    c->suppressed += res.is_suppressed;
    if (c->quiet)
        return;
    printf("frame %d: %zu boxes%s, threshold %d, changed %.4f, %.3f ms\n", f->index, res.box_count,
           res.is_suppressed ? " (suppressed)" : "", res.threshold, res.changed_fraction, t);
    for (size_t i = 0; i < res.box_count; i++)
        printf("  %.4f %.4f %.4f %.4f %.2f\n", boxes[i].x0, boxes[i].y0, boxes[i].x1, boxes[i].y1,
               boxes[i].score);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr, "usage: horus-motion [--size WxH] [--count N] [--fps F] [--dump FILE] "
                    "[--quiet] VIDEO\n");
}

int main(int argc, char **argv)
{
    struct ctx c = {.width = 640, .height = 360, .fps = 5};
    int count = 0;
    const char *dump = NULL;
    static const struct option opts[] = {
        {"size", required_argument, 0, 's'}, {"count", required_argument, 0, 'c'},
        {"fps", required_argument, 0, 'f'},  {"dump", required_argument, 0, 'd'},
        {"quiet", no_argument, 0, 'q'},      {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            if (sscanf(optarg, "%dx%d", &c.width, &c.height) != 2 || c.width < 1 || c.height < 1 ||
                c.width > 16384 || c.height > 16384) {
                fprintf(stderr, "horus-motion: --size: expected WxH\n");
                return 2;
            }
            break;
        case 'c':
            count = atoi(optarg);
            break;
        case 'f':
            c.fps = atoi(optarg);
            if (c.fps < 1 || c.fps > 1000) {
                fprintf(stderr, "horus-motion: --fps: must be 1..1000\n");
                return 2;
            }
            break;
        case 'd':
            dump = optarg;
            break;
        case 'q':
            c.quiet = 1;
            break;
        default:
            usage();
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage();
        return 2;
    }
    char *err = NULL;
    if (det_motion_new(NULL, &c.motion, &err) < 0) {
        fprintf(stderr, "horus-motion: %s\n", err);
        return 1;
    }
    if (dump && !(c.dump = fopen(dump, "wb"))) {
        perror(dump);
        return 1;
    }
    c.luma = malloc((size_t)c.width * (size_t)c.height);
    char errbuf[256];
    int rc = vframes_read(argv[optind], NULL, 0, count, on_frame, &c, errbuf, sizeof(errbuf));
    if (c.dump && fclose(c.dump) != 0) {
        perror(dump);
        c.failed = 1;
    }
    if (rc < 0) {
        fprintf(stderr, "horus-motion: %s: %s\n", argv[optind], errbuf);
        return 1;
    }
    if (c.failed || c.n == 0)
        return 1;
    double sum = 0;
    for (int i = 0; i < c.n; i++)
        sum += c.ms[i];
    qsort(c.ms, (size_t)c.n, sizeof(double), cmp_double);
    printf("cpu_ms min %.4f median %.4f mean %.4f frames %d motion_frames %d suppressed %d\n",
           c.ms[0], c.ms[c.n / 2], sum / c.n, c.n, c.motion_frames, c.suppressed);
    det_motion_free(c.motion);
    free(c.luma);
    free(c.ms);
    return 0;
}
