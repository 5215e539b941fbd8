/*
 * DESIGN: the web UI (docs/design/0026-web-ui.md). Every GET/HEAD of a
 * path that is not the API's or an operational one (/api, /health, /ready,
 * /metrics and /v1, the DeepStack-style vision API, are reserved on the
 * router) is the single-page app:
 *
 *   - a file of the build: its bytes, from the table embedded at build time
 *     (web_assets.h) or, in development, from a directory
 *     (server.web_dir, HORUS_WEB_DIR);
 *   - a path without an extension that names no file (/live,
 *     /cameras/front_door): index.html, and the app's router takes over;
 *   - a missing path with an extension (/assets/gone.js): 404.
 *
 * Embedded files carry a strong ETag per encoding (If-None-Match → 304)
 * and are sent br, then gzip, then identity as Accept-Encoding allows
 * (Vary: Accept-Encoding), straight from read-only memory without a copy.
 * Hashed assets/ are immutable for a year, everything else "no-cache".
 * Every UI reply carries the strict CSP and the framing, referrer and
 * opener headers; nosniff is on every reply of the server (http_reply.c).
 *
 * The routes are public: the shell holds no data, and everything the app
 * shows comes from the API with the caller's credentials. They still pass
 * the Host and Origin guards, the access log and the rate limit (the media
 * budget: a page load is a burst of small files), but the gate does not
 * authenticate them (gate.c: nothing to decide, so no credential lookup).
 *
 * A directory is served by http_reply_file (ETag of inode, size and mtime;
 * Range), each file opened with openat2(RESOLVE_BENEATH) below the
 * directory's descriptor, so neither "..", an absolute symlink nor a
 * symlink pointing out of it reaches a file outside. A binary built
 * without the UI answers with a short page saying how to build it.
 * Thread: http-N (handlers); main (api_web_open, api_web_close).
 */
#include "api_int.h"
#include "web_assets.h"
#include "web_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOG_MODULE "web"

static const char not_built_page[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>Horus: no web UI in this build</title></head><body>\n"
    "<h1>Horus is running, but its web UI was not built into this binary</h1>\n"
    "<p>The build had no Node.js, or was configured with <code>-DHORUS_WEB=OFF</code>.</p>\n"
    "<p>To build it in: install Node.js and the UI's packages (<code>scripts/setup</code>, or "
    "<code>npm ci</code> in <code>web/</code>), then <code>make build</code>.</p>\n"
    "<p>To serve a UI built elsewhere: <code>HORUS_WEB_DIR=/path/to/dist horus serve</code> "
    "(or <code>server.web_dir</code> in horus.yaml).</p>\n"
    "<p>The REST API is at <code>/api/v1/</code>; its description is "
    "<code>/api/v1/openapi.json</code>.</p>\n"
    "</body></html>\n";

int api_web_open(struct api *a, const char *dir)
{
    a->web_dir_fd = -1;
    if (!dir || !*dir)
        return 0;
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        log_error("web UI directory '%s': %s", dir, horus_strerror(rc));
        return rc;
    }
    a->web_dir_fd = fd;
    log_info("serving the web UI from %s (development: no compression, no embedded build)", dir);
    return 0;
}

void api_web_close(struct api *a)
{
    if (a->web_dir_fd >= 0)
        close(a->web_dir_fd);
    a->web_dir_fd = -1;
}

/* The security headers of every UI reply. */
static void add_ui_headers(http_request *req)
{
    http_reply_header(req, "Content-Security-Policy", WEB_CSP);
    http_reply_header(req, "Referrer-Policy", "same-origin");
    http_reply_header(req, "X-Frame-Options", "DENY");
    http_reply_header(req, "Cross-Origin-Opener-Policy", "same-origin");
}

static const struct web_asset *asset_find(const char *rel)
{
    size_t lo = 0, hi = web_nassets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(rel, web_assets[mid].path);
        if (c == 0)
            return &web_assets[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static int reply_missing(http_request *req, const char *rel)
{
    return http_reply_error(req, -ENOENT, "no such file: /%s", rel);
}

static int serve_embedded(http_request *req, const char *rel)
{
    const struct web_asset *f = asset_find(rel[0] ? rel : "index.html");
    if (!f && web_path_has_extension(rel))
        return reply_missing(req, rel);
    if (!f)
        f = asset_find("index.html"); /* a page of the app: its router takes over */
    if (!f)
        return -ENOENT; /* a table without index.html: embed.mjs refuses to write one */
    unsigned have = 0;
    for (int e = 0; e < WEB_NENC; e++)
        if (f->v[e].etag)
            have |= WEB_ENC_BIT(e);
    enum web_encoding enc =
        web_encoding_choose(web_accept_encoding(http_request_header(req, "Accept-Encoding")), have);
    const struct web_variant *v = &f->v[enc];
    http_reply_header(req, "ETag", v->etag);
    http_reply_header(req, "Cache-Control", web_cache_control(f->path));
    if (have != WEB_ENC_BIT(WEB_ENC_IDENTITY))
        http_reply_header(req, "Vary", "Accept-Encoding");
    const char *inm = http_request_header(req, "If-None-Match");
    if (inm && http_etag_list_match(inm, v->etag, false))
        return http_reply(req, 304, NULL, NULL, 0);
    if (web_encoding_name(enc))
        http_reply_header(req, "Content-Encoding", web_encoding_name(enc));
    return http_reply_borrowed(req, 200, web_content_type(f->path), horus_web_blob + v->offset,
                               v->len, NULL, NULL);
}

/*
 * Opens rel below dir_fd for reading: never outside it, whatever ".." or
 * symlinks say (RESOLVE_BENEATH; on a kernel without openat2, a symlink
 * anywhere on the path is refused instead). Returns the fd or -errno.
 */
static int open_beneath(int dir_fd, const char *rel)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, dir_fd, rel, &how, sizeof(how));
    if (fd >= 0)
        return (int)fd;
    if (errno != ENOSYS)
        return -errno;
    char part[WEB_PATH_MAX];
    snprintf(part, sizeof(part), "%s", rel);
    int cur = dup(dir_fd);
    for (char *seg = part, *next; cur >= 0 && seg; seg = next) {
        next = strchr(seg, '/');
        if (next)
            *next++ = '\0';
        int flags = (next ? O_PATH | O_DIRECTORY : O_RDONLY | O_NONBLOCK) | O_NOFOLLOW | O_CLOEXEC;
        int nfd = openat(cur, seg, flags);
        int err = errno;
        close(cur);
        if (nfd < 0)
            return -err;
        cur = nfd;
    }
    return cur < 0 ? -errno : cur;
}

/* 0 with a regular file open in *fd, or -ENOENT (missing, a directory, outside, unreadable). */
static int dir_file(int dir_fd, const char *rel, int *fd)
{
    int f = open_beneath(dir_fd, rel);
    if (f < 0)
        return -ENOENT;
    struct stat st;
    if (fstat(f, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(f);
        return -ENOENT;
    }
    *fd = f;
    return 0;
}

static int serve_dir(struct api *a, http_request *req, const char *rel)
{
    const char *name = rel[0] ? rel : "index.html";
    int fd = -1;
    int rc = dir_file(a->web_dir_fd, name, &fd);
    if (rc < 0 && web_path_has_extension(rel))
        return reply_missing(req, rel);
    if (rc < 0) {
        name = "index.html";
        rc = dir_file(a->web_dir_fd, name, &fd);
    }
    if (rc < 0)
        return http_reply_error(req, -ENOENT, "the web UI directory has no index.html");
    struct http_file_options o = {.content_type = web_content_type(name),
                                  .cache_control = web_cache_control(name)};
    return http_reply_file(req, fd, &o, NULL);
}

static int web_get(http_request *req, void *arg)
{
    struct api *a = arg;
    char rel[WEB_PATH_MAX];
    if (web_path_normalize(http_request_path(req), rel, sizeof(rel)) < 0)
        return http_reply_error(req, -EINVAL,
                                "path: not a file name of the UI (over %d bytes, an invalid "
                                "escape, a control byte, a backslash or a dot segment)",
                                WEB_PATH_MAX - 1);
    add_ui_headers(req);
    if (a->web_dir_fd >= 0)
        return serve_dir(a, req, rel);
    if (web_nassets > 0)
        return serve_embedded(req, rel);
    if (web_path_has_extension(rel))
        return reply_missing(req, rel);
    http_reply_header(req, "Cache-Control", "no-cache");
    return http_reply(req, 200, "text/html; charset=utf-8", not_built_page,
                      sizeof(not_built_page) - 1);
}

/* The API's and the operational paths: never the UI, an unknown one stays a JSON 404. */
static const char *const reserved[] = {"/api", "/health", "/ready", "/metrics", "/v1"};

bool api_web_is_route(const char *tmpl)
{
    return tmpl && (strcmp(tmpl, "/") == 0 || strcmp(tmpl, "/{path}") == 0);
}

/*
 * The embedded table against its blob: every variant inside it, paths
 * sorted for the binary search. A table and a blob of two builds would
 * read past the blob: a build bug, refused at start.
 */
static int check_table(void)
{
    for (size_t i = 0; i < web_nassets; i++) {
        const struct web_asset *f = &web_assets[i];
        bool ok = f->path && f->v[WEB_ENC_IDENTITY].etag &&
                  (i == 0 || strcmp(web_assets[i - 1].path, f->path) < 0);
        for (int e = 0; ok && e < WEB_NENC; e++)
            ok = !f->v[e].etag || (uint64_t)f->v[e].offset + f->v[e].len <= web_blob_len;
        if (!ok) {
            log_error("embedded web UI: entry %zu ('%s') does not match its blob of %zu bytes; "
                      "rebuild",
                      i, f->path ? f->path : "", web_blob_len);
            return -EINVAL;
        }
    }
    return 0;
}

int api_web_register(http_router *r, struct api *ctx)
{
    int rc = check_table();
    if (rc == 0)
        rc = http_router_add(r, "GET", "/", web_get, ctx);
    if (rc == 0)
        rc = http_router_add_catch_all(r, "GET", "/{path}", web_get, ctx);
    for (size_t i = 0; rc == 0 && i < sizeof(reserved) / sizeof(reserved[0]); i++)
        rc = http_router_reserve(r, reserved[i]);
    return rc;
}
