/*
 * DESIGN: replies with (a byte range of) an open file, for immutable media
 * such as recorded segments and exports. The body goes out with
 * libmicrohttpd's fd responses, which use sendfile(2) on plain TCP, so no
 * byte passes through user space and no thread waits on a slow client: MHD
 * writes as the socket drains and closes the fd when the response is
 * destroyed (sent, client gone, or shutdown).
 *
 * Request evaluation follows RFC 9110 §13.2.2: If-None-Match (weak
 * comparison) or, without it, If-Modified-Since → 304 for GET and HEAD;
 * then Range for GET only, honoured when If-Range (strong ETag or the exact
 * Last-Modified date) is absent or matches. Range parsing and its policy
 * are in http_range.c. Validators: a strong ETag from the caller (e.g. the
 * file's sha256) or from inode, size and mtime; Last-Modified from mtime.
 * Thread: the handler's (http-N).
 */
#include "http_int.h"

#include "log.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MODULE "http"

#define ETAG_MAX 96

/* A caller's ETag is used when it is a valid opaque-tag of reasonable length. */
static bool is_opaque_tag(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ETAG_MAX - 3)
        return false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x21 || c == '"' || c >= 0x7f)
            return false;
    }
    return true;
}

static void make_etag(const struct stat *st, const char *given, char *buf, size_t size)
{
    if (given && is_opaque_tag(given)) {
        snprintf(buf, size, "\"%s\"", given);
        return;
    }
    uint64_t mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;
    snprintf(buf, size, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st->st_ino,
             (uint64_t)st->st_size, mtime_ns);
}

int http_reply_unsatisfiable(http_request *req, uint64_t size, const char *msg)
{
    char cr[48];
    snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
    http_reply_header(req, "Content-Range", cr);
    json_t *j =
        json_pack("{s:{s:s,s:s}}", "error", "code", "range_not_satisfiable", "message", msg);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return http_reply(req, 416, NULL, NULL, 0);
    return http_reply_owned(req, 416, "application/json", text, strlen(text));
}

/* The 416 of a Range that is malformed or outside the file. */
static int reply_unsatisfiable(http_request *req, uint64_t size, const char *range, bool is_invalid)
{
    char msg[400];
    if (is_invalid)
        snprintf(msg, sizeof(msg), "Range: malformed byte range '%.200s'", range);
    else
        snprintf(msg, sizeof(msg), "Range: '%.200s' is outside the %" PRIu64 " bytes of the file",
                 range, size);
    return http_reply_unsatisfiable(req, size, msg);
}

/* Whether If-Range (an entity-tag or a date) still names this representation. */
static bool if_range_matches(const char *if_range, const char *etag, time_t mtime)
{
    if (if_range[0] == '"' || (if_range[0] == 'W' && if_range[1] == '/'))
        return http_etag_list_match(if_range, etag, true);
    int64_t t;
    return http_date_parse(if_range, &t) == 0 && t == (int64_t)mtime;
}

int http_reply_file(http_request *req, int fd, const struct http_file_options *opt,
                    uint64_t *body_bytes)
{
    if (body_bytes)
        *body_bytes = 0;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    uint64_t size = (uint64_t)st.st_size;
    char etag[ETAG_MAX], lastmod[40];
    make_etag(&st, opt->etag, etag, sizeof(etag));
    http_date_format((int64_t)st.st_mtime, lastmod, sizeof(lastmod));
    http_reply_header(req, "ETag", etag);
    http_reply_header(req, "Last-Modified", lastmod);
    http_reply_header(req, "Accept-Ranges", "bytes");
    if (opt->cache_control)
        http_reply_header(req, "Cache-Control", opt->cache_control);

    const char *method = http_request_method(req);
    bool is_get = strcmp(method, "GET") == 0;
    bool is_head = strcmp(method, "HEAD") == 0;
    const char *inm = http_request_header(req, "If-None-Match");
    const char *ims = http_request_header(req, "If-Modified-Since");
    bool is_not_modified = false;
    if (inm) {
        is_not_modified = http_etag_list_match(inm, etag, false);
    } else if (ims) {
        int64_t t;
        is_not_modified = http_date_parse(ims, &t) == 0 && (int64_t)st.st_mtime <= t;
    }
    if (is_not_modified && (is_get || is_head)) {
        close(fd);
        return http_reply(req, 304, NULL, NULL, 0);
    }

    uint64_t first = 0, last = size ? size - 1 : 0;
    enum http_range_kind kind = HTTP_RANGE_FULL;
    const char *range = is_get ? http_request_header(req, "Range") : NULL;
    const char *if_range = http_request_header(req, "If-Range");
    if (range && (!if_range || if_range_matches(if_range, etag, st.st_mtime)))
        kind = http_range_parse(range, size, &first, &last);
    if (kind == HTTP_RANGE_UNSATISFIABLE || kind == HTTP_RANGE_INVALID) {
        close(fd);
        return reply_unsatisfiable(req, size, range, kind == HTTP_RANGE_INVALID);
    }
    unsigned status = 200;
    uint64_t len = size;
    if (kind == HTTP_RANGE_PARTIAL) {
        char cr[80];
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
        http_reply_header(req, "Content-Range", cr);
        status = 206;
        len = last - first + 1;
    }
    /* The response owns fd from here: MHD closes it when the response is destroyed. */
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, first);
    if (!resp) {
        close(fd);
        log_warn("reply with file of %" PRIu64 " bytes: libmicrohttpd refused the response", size);
    }
    int rc = http_reply_mhd(req, status, opt->content_type, resp, len);
    if (rc == 0 && body_bytes && !is_head)
        *body_bytes = len;
    return rc;
}
