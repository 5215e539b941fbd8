/*
 * DESIGN: parsing of user-supplied times: RFC 3339 or Unix milliseconds,
 * the two forms docs/contract.md §4 promises for query parameters and JSON
 * bodies. Pure arithmetic (no timegm, no locale, no TZ), so it is
 * thread-safe and behaves the same everywhere.
 */
#include "checked.h"
#include "clock.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t clock_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Shift the year to start in March so that the leap day is the year's last day. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400; /* 0..399 */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0..146096 */
    return era * 146097 + doe - 719468;
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Reads exactly n digits at *p into *out and advances. */
static bool digits(const char **p, unsigned n, unsigned *out)
{
    unsigned v = 0;
    for (unsigned i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static int parse_unix_ms(const char *s, int64_t *unix_ms)
{
    const char *p = s;
    bool is_negative = *p == '-';
    if (is_negative)
        p++;
    if (!*p)
        return -EINVAL;
    /* Accumulated as a negative number, so INT64_MIN itself is readable; overflow is refused. */
    int64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || !horus_mul_i64(v, 10, &v) || !horus_sub_i64(v, *p - '0', &v))
            return -EINVAL;
    }
    if (!is_negative && !horus_sub_i64(0, v, &v))
        return -EINVAL;
    *unix_ms = v;
    return 0;
}

int clock_parse_time_ms(const char *s, int64_t *unix_ms)
{
    if (!s)
        return -EINVAL;
    size_t len = 0;
    while (s[len] && len < 64)
        len++;
    if (len == 0 || len >= 64)
        return -EINVAL;
    /* "2026-..." has a '-' at index 4; plain integers never do. */
    if (len < 5 || s[4] != '-')
        return parse_unix_ms(s, unix_ms);

    const char *p = s;
    unsigned y, mo, d, h, mi, sec;
    if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
        !digits(&p, 2, &d))
        return -EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -EINVAL;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
        !digits(&p, 2, &sec))
        return -EINVAL;
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    if (d > mdays[mo - 1] + (mo == 2 && is_leap(y) ? 1u : 0u))
        return -EINVAL;
    unsigned ms = 0;
    if (*p == '.') {
        p++;
        unsigned n = 0;
        for (; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 3)
                ms = ms * 10 + (unsigned)(*p - '0');
        if (n == 0)
            return -EINVAL;
        for (; n < 3; n++)
            ms *= 10;
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1;
        unsigned oh, om;
        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
            return -EINVAL;
        offset_s = sign * (int64_t)(oh * 3600 + om * 60);
    } else {
        return -EINVAL;
    }
    if (*p)
        return -EINVAL;
    /* A leap second (:60) is read as the first instant of the next minute. */
    int64_t t = clock_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    *unix_ms = t * 1000 + ms;
    return 0;
}
