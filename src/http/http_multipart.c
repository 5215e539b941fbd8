/*
 * DESIGN: multipart/form-data split in place (http_multipart.h). The body
 * is bytes from the network: every search is bounded by len, nothing is
 * copied, headers of a part are limited in size, the number of parts is
 * bounded, and anything unexpected (a missing Content-Disposition, a
 * header line without a colon, no closing delimiter) refuses the whole
 * body with a sentence rather than guessing.
 */
#include "http_multipart.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PART_HEADERS_MAX 8192

static const char *find(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
    if (needle_len == 0 || hay_len < needle_len)
        return NULL;
    return memmem(hay, hay_len, needle, needle_len);
}

int http_multipart_boundary(const char *content_type, char *out, size_t size)
{
    static const char type[] = "multipart/form-data";
    if (!content_type || strncasecmp(content_type, type, sizeof(type) - 1) != 0)
        return -EINVAL;
    const char *p = content_type + sizeof(type) - 1;
    while (*p) {
        while (*p == ';' || *p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) == 0) {
            p += 9;
            size_t len;
            if (*p == '"') {
                p++;
                const char *end = strchr(p, '"');
                if (!end)
                    return -EINVAL;
                len = (size_t)(end - p);
            } else {
                len = strcspn(p, "; \t");
            }
            if (len == 0 || len > HTTP_MULTIPART_BOUNDARY_MAX || len + 1 > size)
                return -EINVAL;
            memcpy(out, p, len);
            out[len] = '\0';
            return 0;
        }
        p += strcspn(p, ";");
    }
    return -EINVAL;
}

/* Reads parameter key (name, filename) of a Content-Disposition value. */
static void disposition_param(const char *v, size_t vlen, const char *key, const char **out,
                              size_t *out_len)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i < vlen) {
        while (i < vlen && (v[i] == ';' || v[i] == ' ' || v[i] == '\t'))
            i++;
        size_t start = i;
        while (i < vlen && v[i] != '=' && v[i] != ';')
            i++;
        if (i >= vlen || v[i] != '=') {
            continue;
        }
        int is_key = i - start == klen && strncasecmp(v + start, key, klen) == 0;
        i++;
        const char *val = v + i;
        size_t val_len;
        if (i < vlen && v[i] == '"') {
            val++;
            i++;
            size_t e = i;
            while (e < vlen && v[e] != '"')
                e++;
            val_len = e - i;
            i = e < vlen ? e + 1 : e;
        } else {
            size_t e = i;
            while (e < vlen && v[e] != ';')
                e++;
            val_len = e - i;
            i = e;
        }
        if (is_key) {
            *out = val;
            *out_len = val_len;
            return;
        }
    }
}

/* Parses the header block h[0..len) of part number index. */
static int part_headers(const char *h, size_t len, struct http_multipart_part *p, size_t index,
                        char *why, size_t why_size)
{
    size_t pos = 0;
    int has_disposition = 0;
    while (pos < len) {
        const char *eol = find(h + pos, len - pos, "\r\n", 2);
        size_t line_len = eol ? (size_t)(eol - (h + pos)) : len - pos;
        const char *line = h + pos;
        const char *colon = memchr(line, ':', line_len);
        if (!colon) {
            snprintf(why, why_size, "part %zu: header line without ':'", index + 1);
            return -EINVAL;
        }
        size_t nlen = (size_t)(colon - line);
        const char *v = colon + 1;
        size_t vlen = line_len - nlen - 1;
        while (vlen && (*v == ' ' || *v == '\t')) {
            v++;
            vlen--;
        }
        if (nlen == 19 && strncasecmp(line, "Content-Disposition", 19) == 0) {
            if (vlen < 9 || strncasecmp(v, "form-data", 9) != 0) {
                snprintf(why, why_size, "part %zu: Content-Disposition is not form-data",
                         index + 1);
                return -EINVAL;
            }
            has_disposition = 1;
            disposition_param(v + 9, vlen - 9, "name", &p->name, &p->name_len);
            disposition_param(v + 9, vlen - 9, "filename", &p->filename, &p->filename_len);
        } else if (nlen == 12 && strncasecmp(line, "Content-Type", 12) == 0) {
            p->content_type = v;
            p->content_type_len = vlen;
        }
        pos += line_len + 2;
    }
    if (!has_disposition || !p->name || p->name_len == 0) {
        snprintf(why, why_size, "part %zu: no Content-Disposition name", index + 1);
        return -EINVAL;
    }
    return 0;
}

int http_multipart_parse(const char *body, size_t len, const char *boundary,
                         struct http_multipart_part *parts, size_t cap, size_t *n, char *why,
                         size_t why_size)
{
    char delim[HTTP_MULTIPART_BOUNDARY_MAX + 5];
    size_t blen = strlen(boundary);
    *n = 0;
    if (blen == 0 || blen > HTTP_MULTIPART_BOUNDARY_MAX) {
        snprintf(why, why_size, "bad boundary");
        return -EINVAL;
    }
    /* The first delimiter may open the body; later ones follow a CRLF. */
    int dlen = snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    const char *pos;
    if (len >= blen + 2 && memcmp(body, delim + 2, blen + 2) == 0) {
        pos = body + blen + 2;
    } else {
        const char *first = find(body, len, delim, (size_t)dlen);
        if (!first) {
            snprintf(why, why_size, "no boundary in the body");
            return -EINVAL;
        }
        pos = first + dlen;
    }
    const char *end = body + len;
    for (;;) {
        /* pos is just past a delimiter: "--" closes, CRLF opens a part. */
        if (end - pos >= 2 && pos[0] == '-' && pos[1] == '-')
            return 0;
        while (pos < end && (*pos == ' ' || *pos == '\t'))
            pos++;
        if (end - pos < 2 || pos[0] != '\r' || pos[1] != '\n') {
            snprintf(why, why_size, "part %zu: malformed boundary line", *n + 1);
            return -EINVAL;
        }
        pos += 2;
        if (*n >= cap || *n >= HTTP_MULTIPART_PARTS_MAX) {
            snprintf(why, why_size, "more than %zu parts",
                     cap < HTTP_MULTIPART_PARTS_MAX ? cap : (size_t)HTTP_MULTIPART_PARTS_MAX);
            return -EINVAL;
        }
        struct http_multipart_part *p = &parts[*n];
        memset(p, 0, sizeof(*p));
        const char *hend;
        if (end - pos >= 2 && pos[0] == '\r' && pos[1] == '\n') {
            hend = pos; /* no headers at all */
        } else {
            size_t span = (size_t)(end - pos);
            hend = find(pos, span > PART_HEADERS_MAX ? PART_HEADERS_MAX : span, "\r\n\r\n", 4);
            if (!hend) {
                snprintf(why, why_size, "part %zu: headers not ended or over %d bytes", *n + 1,
                         PART_HEADERS_MAX);
                return -EINVAL;
            }
        }
        int rc = part_headers(pos, (size_t)(hend - pos), p, *n, why, why_size);
        if (rc)
            return rc;
        const char *data = hend + (hend == pos ? 2 : 4);
        const char *next = find(data, (size_t)(end - data), delim, (size_t)dlen);
        if (!next) {
            snprintf(why, why_size, "part %zu: no closing boundary", *n + 1);
            return -EINVAL;
        }
        p->data = (const uint8_t *)data;
        p->len = (size_t)(next - data);
        (*n)++;
        pos = next + dlen;
    }
}

const struct http_multipart_part *http_multipart_find(const struct http_multipart_part *parts,
                                                      size_t n, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (parts[i].name_len == len && memcmp(parts[i].name, name, len) == 0)
            return &parts[i];
    return NULL;
}
