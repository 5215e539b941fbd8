/*
 * DESIGN: a recorded file served with its media time moved (docs/design/0074).
 *
 * A playback playlist names each file with "?m=<offset_us>": where the
 * file's first picture belongs in the window's media time. The bytes asked
 * for (a playlist's byte range, normally one media segment: whole moof +
 * mdat pairs) are read into memory, every fragment's tfdt is moved
 * (media_fmp4_shift_tfdt), and the copy is sent: sendfile cannot change bytes.
 * The file's head (init and first fragment) gives the shift; an init
 * range has no fragment and goes out unchanged. The ETag carries the
 * offset, so a cache never mixes moved and unmoved bytes. Conditional
 * requests are not evaluated (the reply is always 200 or 206); a range of
 * more than RANGE_MAX bytes is refused with 416, and a file whose head
 * cannot be read as fMP4 is served as it is.
 *
 * Thread: http-N.
 */
#include "api_int.h"

#include "err.h"
#include "mem.h"
#include "record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEAD_MAX (64 * 1024) /* the init and the first fragment's moof (a few KB), with room */
#define RANGE_MAX (64 * 1024 * 1024) /* a playlist's segment is a few MB */

/* Reads n bytes at off. Returns 0 or -errno (-EIO for a short read). */
static int read_at(int fd, uint8_t *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -EIO;
        done += (size_t)r;
    }
    return 0;
}

int api_media_reply_rebased(http_request *req, int fd, int64_t offset_us,
                            const struct http_file_options *opt, uint64_t *body_bytes)
{
    *body_bytes = 0;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    uint64_t size = (uint64_t)st.st_size;
    size_t head_len = size < HEAD_MAX ? (size_t)size : HEAD_MAX;
    uint8_t *head = horus_malloc(head_len ? head_len : 1);
    struct media_tfdt_shift rb;
    bool has_shift = read_at(fd, head, head_len, 0) == 0 &&
                     rec_rebase_prepare(head, head_len, offset_us, &rb) == 0;
    free(head);
    if (!has_shift) /* not fMP4 as we write it: the bytes as they are */
        return http_reply_file(req, fd, opt, body_bytes);

    uint64_t first = 0, last = size ? size - 1 : 0;
    enum http_range_kind kind =
        http_range_parse(http_request_header(req, "Range"), size, &first, &last);
    if (kind == HTTP_RANGE_FULL) {
        first = 0;
        last = size ? size - 1 : 0;
    }
    char value[96];
    if (kind == HTTP_RANGE_UNSATISFIABLE || kind == HTTP_RANGE_INVALID || size == 0 ||
        last - first + 1 > RANGE_MAX) {
        close(fd);
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "Range: one range of at most %d bytes within the %" PRIu64
                 " bytes of the file (a playlist's byte range)",
                 RANGE_MAX, size);
        return http_reply_unsatisfiable(req, size, msg);
    }
    size_t n = (size_t)(last - first + 1);
    char *body = horus_malloc(n);
    int rc = read_at(fd, (uint8_t *)body, n, first);
    close(fd);
    if (rc < 0) {
        free(body);
        return rc;
    }
    media_fmp4_shift_tfdt((uint8_t *)body, n, &rb);
    if (opt->etag) {
        snprintf(value, sizeof(value), "\"%.64s-m%" PRId64 "\"", opt->etag, offset_us);
        http_reply_header(req, "ETag", value);
    }
    if (opt->cache_control)
        http_reply_header(req, "Cache-Control", opt->cache_control);
    http_reply_header(req, "Accept-Ranges", "bytes");
    if (kind == HTTP_RANGE_PARTIAL) {
        snprintf(value, sizeof(value), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
        http_reply_header(req, "Content-Range", value);
    }
    *body_bytes = n;
    return http_reply_owned(req, kind == HTTP_RANGE_PARTIAL ? 206 : 200, opt->content_type, body,
                            n);
}
