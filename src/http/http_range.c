/*
 * DESIGN: pure parsers for the HTTP headers of byte-range and conditional
 * requests (RFC 9110 §13-§14): Range, If-None-Match / If-Range entity-tag
 * comparison, and IMF-fixdate dates. No allocation, no I/O, no locale; the
 * server-side logic that uses them is http_file.c. Each function reads at
 * most the NUL-terminated header it is given, whatever bytes it holds
 * (fuzzed by tests/fuzz/fuzz_http_range.c).
 *
 * Range policy (documented in http.h and docs/design/0006-playback.md):
 * exactly one range is served as 206; several ranges are ignored (200 with
 * the whole representation, which RFC 9110 §14.2 allows: no multipart
 * replies); a unit other than "bytes" is ignored; a "bytes=" set that does
 * not parse is refused with 416 so that a client bug shows up as an error
 * instead of an unexpected full download.
 */
#include "http.h"

#include "clock.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* RFC 9110 tchar: the characters of a token such as a range unit. */
static bool is_tchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Reads 1+ digits, saturating at UINT64_MAX (a huge position is still a position). */
static bool read_u64(const char **pp, uint64_t *out)
{
    const char *p = *pp;
    if (*p < '0' || *p > '9')
        return false;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
    }
    *pp = p;
    *out = v;
    return true;
}

struct range_spec {
    bool is_suffix;
    uint64_t first, last; /* last = UINT64_MAX when open ("a-") */
};

/* One range-spec: "a-b", "a-" or "-n". */
static bool read_spec(const char **pp, struct range_spec *sp)
{
    const char *p = *pp;
    sp->is_suffix = false;
    if (*p == '-') {
        p++;
        sp->is_suffix = true;
        if (!read_u64(&p, &sp->last))
            return false;
        sp->first = 0;
    } else {
        if (!read_u64(&p, &sp->first) || *p++ != '-')
            return false;
        sp->last = UINT64_MAX;
        if (*p >= '0' && *p <= '9') {
            read_u64(&p, &sp->last);
            if (sp->last < sp->first)
                return false; /* RFC 9110 §14.1.1: an invalid range-spec */
        }
    }
    *pp = p;
    return true;
}

enum http_range_kind http_range_parse(const char *header, uint64_t size, uint64_t *first,
                                      uint64_t *last)
{
    if (!header)
        return HTTP_RANGE_FULL;
    const char *p = skip_ows(header);
    if (strncasecmp(p, "bytes", 5) != 0)
        return HTTP_RANGE_FULL; /* another unit: MUST be ignored */
    p += 5;
    if (is_tchar(*p))
        return HTTP_RANGE_FULL; /* "bytesx=": another unit */
    p = skip_ows(p);
    if (*p != '=')
        return HTTP_RANGE_INVALID;
    p = skip_ows(p + 1);

    /* range-set = 1#range-spec: elements separated by commas with optional whitespace. */
    struct range_spec spec = {0};
    unsigned nspecs = 0;
    for (;;) {
        if (*p == ',') { /* empty list elements are allowed by the # rule */
            p = skip_ows(p + 1);
            continue;
        }
        if (!*p)
            break;
        struct range_spec s;
        if (!read_spec(&p, &s))
            return HTTP_RANGE_INVALID;
        if (nspecs++ == 0)
            spec = s;
        p = skip_ows(p);
        if (*p && *p != ',')
            return HTTP_RANGE_INVALID;
    }
    if (nspecs == 0)
        return HTTP_RANGE_INVALID;
    if (nspecs > 1)
        return HTTP_RANGE_FULL;
    if (spec.is_suffix) {
        if (spec.last == 0 || size == 0)
            return HTTP_RANGE_UNSATISFIABLE;
        *first = spec.last >= size ? 0 : size - spec.last;
        *last = size - 1;
        return HTTP_RANGE_PARTIAL;
    }
    if (spec.first >= size)
        return HTTP_RANGE_UNSATISFIABLE;
    *first = spec.first;
    *last = spec.last >= size ? size - 1 : spec.last;
    return HTTP_RANGE_PARTIAL;
}

/*
 * Reads one entity-tag at p ("W/" optional, then a quoted opaque-tag of
 * %x21 / %x23-7E / obs-text). Sets the opaque part [*tag, *tag + *len) and
 * *is_weak; returns the position after it, or NULL when malformed.
 */
static const char *read_etag(const char *p, const char **tag, size_t *len, bool *is_weak)
{
    *is_weak = false;
    if (p[0] == 'W' && p[1] == '/') {
        *is_weak = true;
        p += 2;
    }
    if (*p != '"')
        return NULL;
    const char *start = ++p;
    for (; *p && *p != '"'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x21 || c == 0x7f)
            return NULL;
    }
    if (*p != '"')
        return NULL;
    *tag = start;
    *len = (size_t)(p - start);
    return p + 1;
}

/* The opaque part of etag (given with or without quotes). */
static void etag_opaque(const char *etag, const char **o, size_t *n)
{
    size_t len = strlen(etag);
    if (len >= 2 && etag[0] == '"' && etag[len - 1] == '"') {
        *o = etag + 1;
        *n = len - 2;
    } else {
        *o = etag;
        *n = len;
    }
}

bool http_etag_list_match(const char *header, const char *etag, bool is_strong)
{
    if (!header || !etag)
        return false;
    const char *o;
    size_t olen;
    etag_opaque(etag, &o, &olen);
    const char *p = skip_ows(header);
    if (*p == '*')
        return *skip_ows(p + 1) == '\0';
    while (*p) {
        if (*p == ',') {
            p = skip_ows(p + 1);
            continue;
        }
        const char *tag;
        size_t len;
        bool is_weak;
        p = read_etag(p, &tag, &len, &is_weak);
        if (!p)
            return false; /* malformed: treat as not matching, so the full reply is sent */
        if (len == olen && memcmp(tag, o, len) == 0 && !(is_strong && is_weak))
            return true;
        p = skip_ows(p);
        if (*p && *p != ',')
            return false;
    }
    return false;
}

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void http_date_format(int64_t unix_s, char *buf, size_t size)
{
    int64_t days = unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
    int64_t secs = unix_s - days * 86400;
    /* Civil date from days since the epoch (the inverse of clock_days_from_civil). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    int wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    snprintf(buf, size, "%s, %02d %s %04lld %02d:%02d:%02d GMT", wdays[wday], (int)d, months[m - 1],
             (long long)y, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

int http_date_parse(const char *s, int64_t *unix_s)
{
    /* IMF-fixdate only: "Sun, 06 Nov 1994 08:49:37 GMT". Obsolete forms are ignored, as invalid
     * dates must be (RFC 9110 §13.1.3). */
    if (!s || strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' ||
        s[16] != ' ' || s[19] != ':' || s[22] != ':' || strcmp(s + 25, " GMT") != 0)
        return -1;
    int month = -1;
    for (int i = 0; i < 12; i++)
        if (memcmp(s + 8, months[i], 3) == 0)
            month = i + 1;
    const int pos[] = {5, 12, 17, 20, 23};
    const int width[] = {2, 4, 2, 2, 2};
    int v[5];
    for (int k = 0; k < 5; k++) {
        v[k] = 0;
        for (int i = 0; i < width[k]; i++) {
            char c = s[pos[k] + i];
            if (c < '0' || c > '9')
                return -1;
            v[k] = v[k] * 10 + (c - '0');
        }
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 0 || v[0] < 1 || v[0] > mdays[month - 1] || v[2] > 23 || v[3] > 59 || v[4] > 60)
        return -1;
    bool is_leap = (v[1] % 4 == 0 && v[1] % 100 != 0) || v[1] % 400 == 0;
    if (month == 2 && v[0] == 29 && !is_leap)
        return -1;
    *unix_s = clock_days_from_civil(v[1], (unsigned)month, (unsigned)v[0]) * 86400 + v[2] * 3600 +
              v[3] * 60 + v[4];
    return 0;
}
