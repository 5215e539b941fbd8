/*
 * Decodes chosen frames of a video file to packed RGB24 (libavformat,
 * libavcodec one thread, libswscale). Shared by tools/detect and the detect
 * unit tests; not part of the daemon.
 */
#ifndef HORUS_VFRAMES_H
#define HORUS_VFRAMES_H

#include <stdint.h>

struct vframe {
    uint8_t *rgb; /* malloc'd, width*3 bytes per row */
    int width, height, index;
};

/*
 * Calls cb for each frame whose index (0-based, decode order) is in
 * want[0..nwant) (ascending), or for every frame when want is NULL, up to
 * max_frames (0 = all). Returns the number of frames decoded, or a negative
 * AVERROR with errbuf filled. The frame passed to cb is valid during the call.
 */
int vframes_read(const char *path, const int *want, int nwant, int max_frames,
                 void (*cb)(const struct vframe *f, void *arg), void *arg, char *errbuf,
                 int errlen);

#endif
