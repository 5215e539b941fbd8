/*
 * DESIGN: the parse-and-validate step of every query string the handlers
 * read (times, ranges, counts, UTC offsets, recorded file names), as pure
 * functions with no request, so tests/fuzz/fuzz_api_query.c can drive
 * them all. The order is the rule of issue #16: each value is parsed and
 * bounded first, then anything derived from two values (a span, a
 * default end) is computed with base/checked.h, and only then compared
 * with a limit, so a wrapped difference can never slip under one.
 *
 * Times are bounded to years 1..9999 (what RFC 3339 can write), which
 * keeps every microsecond value below 2^58: two of them, or one and a
 * day or a UTC offset, add and subtract without overflow downstream.
 *
 * Thread: any (pure).
 */
#include "query_int.h"

#include "checked.h"
#include "clock.h"
#include "playback.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_TIMELINE_US (INT64_C(24) * 3600 * 1000000)

static int refuse(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t why_size, const char *fmt, ...)
{
    if (why && why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

int api_time_parse_us(const char *name, const char *s, int64_t *out_us, char *why, size_t why_size)
{
    int64_t ms, us;
    if (!s || clock_parse_time_ms(s, &ms) < 0)
        return refuse(why, why_size, "%s: '%.64s' is not an RFC 3339 time or Unix milliseconds",
                      name, s ? s : "");
    if (ms < API_TIME_MIN_MS || ms > API_TIME_MAX_MS || !horus_mul_i64(ms, 1000, &us))
        return refuse(why, why_size,
                      "%s: must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z "
                      "(Unix ms %" PRId64 "..%" PRId64 ")",
                      name, API_TIME_MIN_MS, API_TIME_MAX_MS);
    *out_us = us;
    return 0;
}

int api_after_before_parse(const char *after, const char *before, int64_t *after_us,
                           int64_t *before_us, char *why, size_t why_size)
{
    if (after && api_time_parse_us("after", after, after_us, why, why_size) < 0)
        return -EINVAL;
    if (before && api_time_parse_us("before", before, before_us, why, why_size) < 0)
        return -EINVAL;
    if (after && before && *before_us <= *after_us) {
        snprintf(why, why_size, "before: must be after 'after'");
        return -EINVAL;
    }
    return 0;
}

int api_range_parse(enum api_range_kind kind, const char *start, const char *end, int64_t now_us,
                    int64_t *start_us, int64_t *end_us, char *why, size_t why_size)
{
    bool is_playlist = kind == API_RANGE_PLAYLIST;
    int64_t max_us = is_playlist ? PB_PLAYLIST_MAX_US : PB_TIMELINE_MAX_US;
    int64_t s = 0, e = now_us, span;
    if (end && api_time_parse_us("end", end, &e, why, why_size) < 0)
        return -EINVAL;
    if (start && api_time_parse_us("start", start, &s, why, why_size) < 0)
        return -EINVAL;
    if (!start && is_playlist)
        return refuse(why, why_size,
                      "start: required (RFC 3339 or Unix ms); see "
                      "/api/v1/cameras/{id}/recordings for what is recorded");
    if (!start && !horus_sub_i64(e, DEFAULT_TIMELINE_US, &s))
        return refuse(why, why_size, "end: is too early to count a day back from");
    if (is_playlist && s > now_us)
        return refuse(why, why_size, "start: is in the future");
    if (e <= s)
        return refuse(why, why_size, "end: must be after start");
    if (!horus_sub_i64(e, s, &span) || span > max_us) {
        if (!is_playlist)
            return refuse(why, why_size,
                          "end: the range is longer than the %d-day limit of one timeline",
                          (int)(PB_TIMELINE_MAX_US / (INT64_C(86400) * 1000000)));
        if (end)
            return refuse(why, why_size,
                          "end: the range is longer than the %d h limit of one playlist; "
                          "request consecutive ranges",
                          (int)(PB_PLAYLIST_MAX_US / (INT64_C(3600) * 1000000)));
        if (!horus_add_i64(s, max_us, &e)) /* an implied end: play the first 24 h */
            return refuse(why, why_size, "start: is too late to play a day from");
    }
    *start_us = s;
    *end_us = e;
    return 0;
}

int api_int_parse(const char *name, const char *s, int64_t min, int64_t max, int64_t *out,
                  char *why, size_t why_size)
{
    const char *p = s;
    bool is_negative = p && *p == '-' && min < 0;
    if (is_negative)
        p++;
    int64_t v = 0;
    bool is_ok = p && *p;
    for (; is_ok && *p; p++) {
        /* Accumulate negatively so that INT64_MIN itself can be read. */
        is_ok =
            *p >= '0' && *p <= '9' && horus_mul_i64(v, 10, &v) && horus_sub_i64(v, *p - '0', &v);
    }
    if (is_ok && !is_negative)
        is_ok = horus_sub_i64(0, v, &v);
    if (!is_ok || v < min || v > max)
        return refuse(why, why_size, "%s: must be an integer %" PRId64 "..%" PRId64 ", not '%.32s'",
                      name, min, max, s ? s : "");
    *out = v;
    return 0;
}

int api_tz_parse(const char *s, int *offset_s, char *why, size_t why_size)
{
    if (!s || strcmp(s, "Z") == 0 || strcmp(s, "z") == 0) {
        *offset_s = 0;
        return 0;
    }
    unsigned h, m;
    char sign, end;
    if (strlen(s) != 6 || sscanf(s, "%c%2u:%2u%c", &sign, &h, &m, &end) != 3 ||
        (sign != '+' && sign != '-') || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9' ||
        s[3] != ':' || s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' || h > 14 || m > 59 ||
        h * 60 + m > 14 * 60)
        return refuse(why, why_size, "tz: expected Z or an offset like +02:00, not '%.16s'", s);
    *offset_s = (sign == '-' ? -1 : 1) * (int)(h * 3600 + m * 60);
    return 0;
}

int api_file_start_parse(const char *name, int64_t *start_us)
{
    size_t n = strlen(name);
    if (n < 5 || n > 24 || strcmp(name + n - 4, ".mp4") != 0)
        return -EINVAL;
    int64_t v = 0;
    for (size_t i = 0; i < n - 4; i++) {
        if (name[i] < '0' || name[i] > '9' || !horus_mul_i64(v, 10, &v) ||
            !horus_add_i64(v, name[i] - '0', &v))
            return -EINVAL;
    }
    *start_us = v;
    return 0;
}
