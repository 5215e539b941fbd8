/*
 * multipart/form-data bodies (RFC 7578), parsed in place: a pure function
 * over the bytes, used by POST /v1/vision/detection (src/api/vision.c).
 */
#ifndef HORUS_HTTP_MULTIPART_H
#define HORUS_HTTP_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MULTIPART_BOUNDARY_MAX 70 /* RFC 2046 */
#define HTTP_MULTIPART_PARTS_MAX 16

/* One part; every pointer borrows from the body (not NUL-terminated). */
struct http_multipart_part {
    const char *name; /* the Content-Disposition name */
    size_t name_len;
    const char *filename; /* NULL when absent */
    size_t filename_len;
    const char *content_type; /* NULL when absent */
    size_t content_type_len;
    const uint8_t *data;
    size_t len;
};

/*
 * Copies the boundary parameter of a Content-Type header
 * ("multipart/form-data; boundary=abc", quoted or not) into out (size >=
 * HTTP_MULTIPART_BOUNDARY_MAX + 1). Returns 0, or -EINVAL when the type is
 * not multipart/form-data or the boundary is missing, empty or too long.
 */
int http_multipart_boundary(const char *content_type, char *out, size_t size);

/*
 * Splits body (len bytes) at boundary into at most cap parts (more is an
 * error, as is more than HTTP_MULTIPART_PARTS_MAX). Each part must carry
 * "Content-Disposition: form-data; name=..."; part headers are at most
 * 8 KiB. Returns 0 with *n parts, or -EINVAL with why (a sentence:
 * "part 2: no Content-Disposition name", "no closing boundary"). Pure;
 * Thread: any.
 */
int http_multipart_parse(const char *body, size_t len, const char *boundary,
                         struct http_multipart_part *parts, size_t cap, size_t *n, char *why,
                         size_t why_size);

/* The first part named name (exact), or NULL. */
const struct http_multipart_part *http_multipart_find(const struct http_multipart_part *parts,
                                                      size_t n, const char *name);

#endif
