/* Private to src/events: event snapshots (snapshot.c). Thread: evt-w (and tests). */
#ifndef HORUS_EVT_SNAPSHOT_INT_H
#define HORUS_EVT_SNAPSHOT_INT_H

#include "report.h"

#include <stddef.h>
#include <stdint.h>

/* Draws box (normalised) and text above it into packed RGB24 rgb (w x h, stride bytes/row). */
void evt_draw_box(uint8_t *rgb, int stride, int w, int h, const struct det_box *b,
                  const char *text);

/* Encodes packed RGB24 as a baseline JPEG (even-cropped); *out new. 0 or HORUS_ECODEC. */
int evt_jpeg_encode(const uint8_t *rgb, int stride, int w, int h, uint8_t **out, size_t *len);

/*
 * Scales img to at most max_width, writes path_clean as is and path_boxed
 * with box (may be NULL) and text drawn, each atomically; makes the folder.
 * Returns 0, -EINVAL (an image too small), HORUS_ECODEC or -errno.
 */
int evt_snapshot_write(const struct det_image *img, int max_width, const struct det_box *box,
                       const char *text, const char *path_boxed, const char *path_clean);

#endif
