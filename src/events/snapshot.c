/*
 * DESIGN: event snapshots. The best view (a det_image, packed RGB24) is
 * scaled to at most the configured width (libswscale), written as two
 * baseline JPEGs (media_jpeg_encode): "<id>_clean.jpg" as seen and
 * "<id>.jpg" with the event's box and label drawn (a 2-pixel rectangle and
 * a 5x7 bitmap font, plain C). Each file is written to "<name>.tmp" and
 * renamed, so a reader never sees half a file. Runs on evt-w only.
 */
#include "snapshot_int.h"

#include "err.h"
#include "fs.h"
#include "media_jpeg.h"
#include "mem.h"

#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 5x7 glyphs, one byte per row, bit 4 = leftmost column. */
static const struct {
    char c;
    uint8_t rows[7];
} glyphs[] = {
    {'A', {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}},
    {'B', {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e}},
    {'C', {0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e}},
    {'D', {0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e}},
    {'E', {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f}},
    {'F', {0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10}},
    {'G', {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f}},
    {'H', {0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}},
    {'I', {0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}},
    {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
    {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f}},
    {'M', {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11}},
    {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}},
    {'P', {0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10}},
    {'Q', {0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d}},
    {'R', {0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11}},
    {'S', {0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e}},
    {'T', {0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}},
    {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a}},
    {'X', {0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04}},
    {'Z', {0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f}},
    {'0', {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}},
    {'1', {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}},
    {'2', {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}},
    {'3', {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}},
    {'4', {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}},
    {'5', {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}},
    {'6', {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}},
    {'7', {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}},
    {'9', {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}},
    {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
    {'-', {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00}},
    {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c}},
};

static const uint8_t *glyph(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    for (size_t i = 0; i < sizeof(glyphs) / sizeof(glyphs[0]); i++)
        if (glyphs[i].c == c)
            return glyphs[i].rows;
    return NULL; /* a space, or a character without a glyph */
}

static void put_px(uint8_t *rgb, int stride, int w, int h, int x, int y, const uint8_t c[3])
{
    if (x < 0 || y < 0 || x >= w || y >= h)
        return;
    memcpy(rgb + (size_t)y * (size_t)stride + (size_t)x * 3, c, 3);
}

static void fill(uint8_t *rgb, int stride, int w, int h, int x0, int y0, int x1, int y1,
                 const uint8_t c[3])
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            put_px(rgb, stride, w, h, x, y, c);
}

void evt_draw_box(uint8_t *rgb, int stride, int w, int h, const struct det_box *b, const char *text)
{
    static const uint8_t box_c[3] = {255, 48, 48}, text_c[3] = {255, 255, 255};
    int x0 = (int)(b->x0 * (float)w), y0 = (int)(b->y0 * (float)h);
    int x1 = (int)(b->x1 * (float)w), y1 = (int)(b->y1 * (float)h);
    int t = w >= 960 ? 3 : 2; /* line width */
    fill(rgb, stride, w, h, x0, y0, x1, y0 + t, box_c);
    fill(rgb, stride, w, h, x0, y1 - t, x1, y1, box_c);
    fill(rgb, stride, w, h, x0, y0, x0 + t, y1, box_c);
    fill(rgb, stride, w, h, x1 - t, y0, x1, y1, box_c);
    if (!text || !text[0])
        return;
    int s = w >= 960 ? 2 : 1; /* font scale */
    int len = (int)strlen(text);
    int bw = len * 6 * s + 2 * s, bh = 9 * s;
    int ty = y0 - bh >= 0 ? y0 - bh : y0; /* above the box, else inside its top */
    fill(rgb, stride, w, h, x0, ty, x0 + bw, ty + bh, box_c);
    for (int i = 0; i < len; i++) {
        const uint8_t *g = glyph(text[i]);
        for (int r = 0; g && r < 7; r++)
            for (int col = 0; col < 5; col++)
                if (g[r] & (0x10 >> col))
                    fill(rgb, stride, w, h, x0 + s + (i * 6 + col) * s, ty + s + r * s,
                         x0 + s + (i * 6 + col + 1) * s, ty + s + (r + 1) * s, text_c);
    }
}

int evt_jpeg_encode(const uint8_t *rgb, int stride, int w, int h, uint8_t **out, size_t *len)
{
    const uint8_t *data[4] = {rgb, NULL, NULL, NULL};
    int linesize[4] = {stride, 0, 0, 0};
    int ew = w & ~1, eh = h & ~1; /* 4:2:0 wants even sizes */
    struct media_jpeg_src src = {
        .format = AV_PIX_FMT_RGB24,
        .width = ew,
        .height = eh,
        .data = data,
        .linesize = linesize,
        .is_full_range = true,
        .colorspace = SWS_CS_ITU601,
        .scale_flags = SWS_POINT,
    };
    return media_jpeg_encode(&src, ew, eh, MEDIA_JPEG_QSCALE, out, len);
}

/* Writes data to path through path.tmp and a rename. */
static int write_atomic(const char *path, const uint8_t *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = fs_pwrite_all(fd, data, len, 0);
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

int evt_snapshot_write(const struct det_image *img, int max_width, const struct det_box *box,
                       const char *text, const char *path_boxed, const char *path_clean)
{
    if (!img || img->width < 2 || img->height < 2)
        return -EINVAL;
    int w = img->width <= max_width ? img->width : max_width;
    int h = (int)(((int64_t)img->height * w + img->width / 2) / img->width);
    w &= ~1;
    h &= ~1;
    if (w < 2 || h < 2)
        return -EINVAL;
    int stride = w * 3;
    uint8_t *scaled = horus_malloc((size_t)stride * (size_t)h);
    uint8_t *boxed = NULL, *jpeg = NULL;
    size_t jlen = 0;
    int rc = HORUS_ECODEC;
    struct SwsContext *sws = sws_getContext(img->width, img->height, AV_PIX_FMT_RGB24, w, h,
                                            AV_PIX_FMT_RGB24, SWS_AREA, NULL, NULL, NULL);
    if (!sws)
        goto out;
    const uint8_t *src[4] = {img->rgb, NULL, NULL, NULL};
    int src_stride[4] = {img->stride_bytes, 0, 0, 0};
    uint8_t *dst[4] = {scaled, NULL, NULL, NULL};
    int dst_stride[4] = {stride, 0, 0, 0};
    sws_scale(sws, src, src_stride, 0, img->height, dst, dst_stride);
    rc = fs_mkdirs_for(path_clean);
    if (rc < 0)
        goto out;
    rc = evt_jpeg_encode(scaled, stride, w, h, &jpeg, &jlen);
    if (rc == 0)
        rc = write_atomic(path_clean, jpeg, jlen);
    free(jpeg);
    jpeg = NULL;
    if (rc < 0)
        goto out;
    boxed = horus_malloc((size_t)stride * (size_t)h);
    memcpy(boxed, scaled, (size_t)stride * (size_t)h);
    if (box)
        evt_draw_box(boxed, stride, w, h, box, text);
    rc = evt_jpeg_encode(boxed, stride, w, h, &jpeg, &jlen);
    if (rc == 0)
        rc = write_atomic(path_boxed, jpeg, jlen);
out:
    sws_freeContext(sws);
    free(jpeg);
    free(boxed);
    free(scaled);
    return rc;
}
