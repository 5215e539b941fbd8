/*
 * libFuzzer driver for src/http/http_multipart.c: the first line of the
 * input is a Content-Type header, the rest the body. Invariants: a parsed
 * body gives at most the cap of parts, each with a non-empty name, and
 * every pointer (name, filename, content type, data) lies inside the body.
 */
#include "http_multipart.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        __builtin_trap();
}

static int inside(const void *p, size_t len, const char *body, size_t size)
{
    const char *c = p;
    return c >= body && c + len <= body + size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size;
    char *header = malloc(hlen + 1);
    memcpy(header, data, hlen);
    header[hlen] = '\0';
    size_t blen = nl ? size - hlen - 1 : 0;
    char *body = malloc(blen + 1); /* a copy of exactly blen bytes: overreads are caught */
    memcpy(body, nl ? (const char *)nl + 1 : "", blen);

    char boundary[HTTP_MULTIPART_BOUNDARY_MAX + 1];
    if (http_multipart_boundary(header, boundary, sizeof(boundary)) == 0) {
        check(strlen(boundary) >= 1 && strlen(boundary) <= HTTP_MULTIPART_BOUNDARY_MAX);
        struct http_multipart_part parts[4];
        size_t n = 0;
        char why[128];
        if (http_multipart_parse(body, blen, boundary, parts, 4, &n, why, sizeof(why)) == 0) {
            check(n <= 4);
            for (size_t i = 0; i < n; i++) {
                check(parts[i].name_len > 0 &&
                      inside(parts[i].name, parts[i].name_len, body, blen));
                check(!parts[i].filename ||
                      inside(parts[i].filename, parts[i].filename_len, body, blen));
                check(!parts[i].content_type ||
                      inside(parts[i].content_type, parts[i].content_type_len, body, blen));
                check(inside(parts[i].data, parts[i].len, body, blen));
            }
            http_multipart_find(parts, n, "image");
        } else {
            check(why[0] != '\0');
        }
    }
    free(body);
    free(header);
    return 0;
}
