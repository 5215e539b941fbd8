/*
 * libFuzzer driver for the web UI's request decisions (src/api/web_rules.c):
 * the input is given as an Accept-Encoding value and, behind a '/', as a
 * raw request path; the router's catch-all match sees the same path.
 * Checks the invariants web.c relies on: the chosen coding is one the
 * file has and the client did not refuse (identity aside); a normalised
 * path is NUL-terminated within its buffer, relative, without empty, "."
 * or ".." segments, control bytes or backslashes, and normalising it again
 * changes nothing; a path the router hands to a catch-all has no dot
 * segment either.
 */
#include "http.h"
#include "web_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ok(http_request *req, void *arg)
{
    (void)req;
    (void)arg;
    return 0;
}

static void check_relative(const char *rel, size_t n)
{
    if (strlen(rel) != n || rel[0] == '/' || (n > 0 && rel[n - 1] == '/'))
        __builtin_trap();
    for (const char *p = rel, *end = rel + n; p < end;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        size_t len = (size_t)(seg_end - p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            __builtin_trap();
        for (const char *c = p; c < seg_end; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
                __builtin_trap();
        p = seg_end + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 2);
    text[0] = '/';
    memcpy(text + 1, data, size);
    text[size + 1] = '\0';

    unsigned accept = web_accept_encoding(text + 1);
    if (accept &
        ~(WEB_ENC_BIT(WEB_ENC_IDENTITY) | WEB_ENC_BIT(WEB_ENC_GZIP) | WEB_ENC_BIT(WEB_ENC_BR)))
        __builtin_trap();
    for (unsigned have = 1; have < 8; have += 2) { /* identity always */
        enum web_encoding e = web_encoding_choose(accept, have);
        if (!(have & WEB_ENC_BIT(e)) || (e != WEB_ENC_IDENTITY && !(accept & WEB_ENC_BIT(e))))
            __builtin_trap();
    }

    char rel[WEB_PATH_MAX], again[WEB_PATH_MAX + 1];
    int n = web_path_normalize(text, rel, sizeof(rel));
    if (n >= 0) {
        check_relative(rel, (size_t)n);
        /* Escape every '%' so the second pass reads the same bytes back. */
        size_t o = 0;
        again[o++] = '/';
        for (int i = 0; i < n && o + 4 < sizeof(again); i++) {
            if (rel[i] == '%') {
                memcpy(again + o, "%25", 3);
                o += 3;
            } else {
                again[o++] = rel[i];
            }
        }
        again[o] = '\0';
        char twice[WEB_PATH_MAX];
        int m = web_path_normalize(again, twice, sizeof(twice));
        if (o + 4 < sizeof(again) && (m != n || memcmp(rel, twice, (size_t)n) != 0))
            __builtin_trap();
        (void)web_content_type(rel);
        (void)web_cache_control(rel);
        (void)web_path_has_extension(rel);
    }

    static http_router *r;
    if (!r) {
        r = http_router_new();
        http_router_add(r, "GET", "/api/v1/x/{id}", ok, NULL);
        http_router_add_catch_all(r, "GET", "/{path}", ok, NULL);
        http_router_reserve(r, "/api");
    }
    struct http_route_match m;
    if (http_router_match(r, "GET", text, &m) == 0 && strcmp(m.tmpl, "/{path}") == 0) {
        const char *v = m.params[0].value;
        if (strncmp(text, "/api/", 5) == 0 || strcmp(text, "/api") == 0)
            __builtin_trap();
        for (const char *p = v;;) {
            const char *slash = strchr(p, '/');
            size_t len = slash ? (size_t)(slash - p) : strlen(p);
            if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                __builtin_trap();
            if (!slash)
                break;
            p = slash + 1;
        }
    }
    http_route_match_release(&m);
    free(text);
    return 0;
}
