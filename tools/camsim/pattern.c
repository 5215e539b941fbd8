/*
 * DESIGN: the test picture is drawn straight into YUV 4:2:0 planes, no
 * text or overlay library: a precomputed background (colour bars over a
 * grey ramp) is copied, then a ball is drawn where the frame number puts it
 * (so pre-encoded loops stay deterministic and motion detectors see motion)
 * and the wall clock is burnt in with seven-segment digits, millisecond
 * precision, white on a black box in the top-left corner. Drawing a 1080p
 * frame is one 3 MB copy plus a few small fills. Thread: the encoder's.
 */
#include "pattern.h"

#include "mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cs_pattern {
    int width;
    int height;
    int fps;
    uint8_t *background[3]; /* owned: Y, U, V without padding */
};

typedef struct yuv {
    uint8_t y, u, v;
} yuv;

static uint8_t clamp_u8(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

/* BT.601 limited range. */
static yuv rgb_to_yuv(int r, int g, int b)
{
    yuv c;
    c.y = clamp_u8(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
    c.u = clamp_u8(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255);
    c.v = clamp_u8(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255);
    return c;
}

static void draw_background(cs_pattern *pat)
{
    static const int bars[7][3] = {
        {191, 191, 191}, {191, 191, 0}, {0, 191, 191}, {0, 191, 0},
        {191, 0, 191},   {191, 0, 0},   {0, 0, 191},
    };
    int w = pat->width;
    int h = pat->height;
    int bars_h = h * 2 / 3;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            yuv c;
            if (y < bars_h) {
                const int *rgb = bars[x * 7 / w];
                c = rgb_to_yuv(rgb[0], rgb[1], rgb[2]);
            } else {
                c = (yuv){(uint8_t)(16 + 219 * x / (w > 1 ? w - 1 : 1)), 128, 128};
            }
            pat->background[0][(size_t)y * w + x] = c.y;
            if ((x | y) % 2 == 0) {
                size_t ci = (size_t)(y / 2) * (w / 2) + x / 2;
                pat->background[1][ci] = c.u;
                pat->background[2][ci] = c.v;
            }
        }
    }
}

cs_pattern *cs_pattern_new(int width, int height, int fps)
{
    cs_pattern *pat = horus_calloc(1, sizeof(*pat));
    pat->width = width;
    pat->height = height;
    pat->fps = fps;
    pat->background[0] = horus_malloc((size_t)width * height);
    pat->background[1] = horus_malloc((size_t)width * height / 4);
    pat->background[2] = horus_malloc((size_t)width * height / 4);
    draw_background(pat);
    return pat;
}

void cs_pattern_free(cs_pattern *pat)
{
    if (!pat)
        return;
    for (int i = 0; i < 3; i++)
        free(pat->background[i]);
    free(pat);
}

typedef struct canvas {
    uint8_t *const *planes;
    const int *strides;
    int width;
    int height;
} canvas;

/* Fills a luma rectangle, clipped to the picture. */
static void fill_luma(const canvas *cv, int x, int y, int w, int h, uint8_t value)
{
    int x1 = x + w > cv->width ? cv->width : x + w;
    int y1 = y + h > cv->height ? cv->height : y + h;
    x = x < 0 ? 0 : x;
    y = y < 0 ? 0 : y;
    for (int row = y; row < y1; row++) {
        if (x1 > x)
            memset(cv->planes[0] + (size_t)row * cv->strides[0] + x, value, (size_t)(x1 - x));
    }
}

/* Fills luma and chroma of a rectangle with colour c. */
static void fill_box(const canvas *cv, int x, int y, int w, int h, yuv c)
{
    fill_luma(cv, x, y, w, h, c.y);
    int cx0 = (x < 0 ? 0 : x) / 2;
    int cy0 = (y < 0 ? 0 : y) / 2;
    int cx1 = ((x + w > cv->width ? cv->width : x + w) + 1) / 2;
    int cy1 = ((y + h > cv->height ? cv->height : y + h) + 1) / 2;
    for (int row = cy0; row < cy1; row++) {
        if (cx1 <= cx0)
            break;
        memset(cv->planes[1] + (size_t)row * cv->strides[1] + cx0, c.u, (size_t)(cx1 - cx0));
        memset(cv->planes[2] + (size_t)row * cv->strides[2] + cx0, c.v, (size_t)(cx1 - cx0));
    }
}

/* Position on a path that bounces between 0 and range, step pixels per frame. */
static int bounce(int64_t frame_index, int64_t step, int range)
{
    if (range <= 0)
        return 0;
    int64_t d = (frame_index * step) % (2 * (int64_t)range);
    return (int)(d < range ? d : 2 * range - d);
}

static void draw_ball(const canvas *cv, int64_t frame_index, int fps)
{
    static const int rgb[3] = {255, 140, 0};
    yuv c = rgb_to_yuv(rgb[0], rgb[1], rgb[2]);
    int r = cv->height / 8 > 2 ? cv->height / 8 : 2;
    int range_x = cv->width - 2 * r;
    int range_y = cv->height - 2 * r;
    /* Crosses the picture in about 2 s horizontally, 3 s vertically. */
    int64_t step_x = range_x / (2 * fps) > 1 ? range_x / (2 * fps) : 1;
    int64_t step_y = range_y / (3 * fps) > 1 ? range_y / (3 * fps) : 1;
    int cx = r + bounce(frame_index, step_x, range_x);
    int cy = r + bounce(frame_index, step_y, range_y);
    for (int dy = -r; dy < r; dy++) {
        int half = (int)sqrt((double)r * r - (double)(dy + 0.5) * (dy + 0.5));
        int y = cy + dy;
        if (y < 0 || y >= cv->height)
            continue;
        fill_luma(cv, cx - half, y, 2 * half, 1, c.y);
        if (y % 2 == 0) {
            int x0 = (cx - half) / 2;
            int x1 = (cx + half) / 2;
            if (x0 < 0)
                x0 = 0;
            if (x1 > cv->width / 2)
                x1 = cv->width / 2;
            if (x1 > x0) {
                memset(cv->planes[1] + (size_t)(y / 2) * cv->strides[1] + x0, c.u, x1 - x0);
                memset(cv->planes[2] + (size_t)(y / 2) * cv->strides[2] + x0, c.v, x1 - x0);
            }
        }
    }
}

/* Seven-segment digits: bit 0 = top (a) clockwise to f, bit 6 = middle (g). */
static const uint8_t seven_segment[10] = {0x3f, 0x06, 0x5b, 0x4f, 0x66,
                                          0x6d, 0x7d, 0x07, 0x7f, 0x6f};

typedef struct glyph_metrics {
    int height; /* digit height */
    int width; /* digit width */
    int thickness; /* stroke */
    int gap; /* space after each glyph */
} glyph_metrics;

static int glyph_advance(const glyph_metrics *m, char ch)
{
    if (ch == ':' || ch == '.')
        return m->thickness + m->gap;
    return m->width + m->gap;
}

static void draw_glyph(const canvas *cv, const glyph_metrics *m, int x, int y, char ch)
{
    const uint8_t ink = 235;
    int w = m->width;
    int h = m->height;
    int t = m->thickness;
    int half = h / 2;
    if (ch == ':') {
        fill_luma(cv, x, y + h / 4, t, t, ink);
        fill_luma(cv, x, y + 3 * h / 4 - t, t, t, ink);
        return;
    }
    if (ch == '.') {
        fill_luma(cv, x, y + h - t, t, t, ink);
        return;
    }
    if (ch == '-') {
        fill_luma(cv, x, y + half - t / 2, w, t, ink);
        return;
    }
    if (ch < '0' || ch > '9')
        return;
    uint8_t seg = seven_segment[ch - '0'];
    if (seg & 0x01)
        fill_luma(cv, x, y, w, t, ink); /* a */
    if (seg & 0x02)
        fill_luma(cv, x + w - t, y, t, half + t / 2, ink); /* b */
    if (seg & 0x04)
        fill_luma(cv, x + w - t, y + half, t, h - half, ink); /* c */
    if (seg & 0x08)
        fill_luma(cv, x, y + h - t, w, t, ink); /* d */
    if (seg & 0x10)
        fill_luma(cv, x, y + half, t, h - half, ink); /* e */
    if (seg & 0x20)
        fill_luma(cv, x, y, t, half + t / 2, ink); /* f */
    if (seg & 0x40)
        fill_luma(cv, x, y + half - t / 2, w, t, ink); /* g */
}

static void draw_clock(const canvas *cv, int64_t wall_ns)
{
    time_t secs = (time_t)(wall_ns / 1000000000);
    int ms = (int)(wall_ns / 1000000 % 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char text[96];
    snprintf(text, sizeof(text), "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);

    glyph_metrics m;
    m.height = cv->height / 14 < cv->width / 17 ? cv->height / 14 : cv->width / 17;
    if (m.height < 7)
        m.height = 7;
    m.width = m.height / 2;
    m.thickness = m.height / 8 > 1 ? m.height / 8 : 1;
    m.gap = m.thickness + 1;
    int pad = m.thickness * 2;
    int total = 0;
    for (const char *p = text; *p; p++)
        total += glyph_advance(&m, *p);
    int x = pad * 2;
    int y = pad * 2;
    fill_box(cv, x - pad, y - pad, total + 2 * pad, m.height + 2 * pad, (yuv){16, 128, 128});
    for (const char *p = text; *p; p++) {
        draw_glyph(cv, &m, x, y, *p);
        x += glyph_advance(&m, *p);
    }
}

void cs_pattern_draw(const cs_pattern *pat, int64_t frame_index, int64_t wall_ns,
                     uint8_t *const planes[3], const int strides[3])
{
    int w = pat->width;
    int h = pat->height;
    for (int p = 0; p < 3; p++) {
        int pw = p ? w / 2 : w;
        int ph = p ? h / 2 : h;
        for (int row = 0; row < ph; row++)
            memcpy(planes[p] + (size_t)row * strides[p], pat->background[p] + (size_t)row * pw,
                   (size_t)pw);
    }
    canvas cv = {planes, strides, w, h};
    draw_ball(&cv, frame_index, pat->fps);
    draw_clock(&cv, wall_ns);
}

void cs_pattern_tone(float *out, int n, int rate_hz, int64_t wall_ns)
{
    const double two_pi = 6.283185307179586;
    for (int i = 0; i < n; i++) {
        int64_t t_ns = wall_ns + (int64_t)i * 1000000000 / rate_hz;
        int64_t in_second_ns = t_ns % 1000000000;
        if (in_second_ns < 100000000)
            out[i] = (float)(0.3 * sin(two_pi * 1000.0 * (double)in_second_ns / 1e9));
        else
            out[i] = 0.0f;
    }
}
