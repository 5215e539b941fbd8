/*
 * DESIGN: the system clock and a hand-driven fake behind one vtable.
 */
#include "clock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t sys_realtime_ms(const horus_clock *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t sys_monotonic_ns(const horus_clock *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const horus_clock system_clock = {sys_realtime_ms, sys_monotonic_ns};

const horus_clock *clock_system(void)
{
    return &system_clock;
}

static int64_t fake_realtime_ms(const horus_clock *c)
{
    return atomic_load(&((const clock_fake *)c)->realtime_ms);
}

static int64_t fake_monotonic_ns(const horus_clock *c)
{
    return atomic_load(&((const clock_fake *)c)->monotonic_ns);
}

void clock_fake_init(clock_fake *f, int64_t realtime_ms)
{
    f->base.realtime_ms = fake_realtime_ms;
    f->base.monotonic_ns = fake_monotonic_ns;
    atomic_store(&f->realtime_ms, realtime_ms);
    atomic_store(&f->monotonic_ns, 1000000000);
}

void clock_fake_advance_ms(clock_fake *f, int64_t ms)
{
    atomic_fetch_add(&f->realtime_ms, ms);
    atomic_fetch_add(&f->monotonic_ns, ms * 1000000);
}

void clock_format_rfc3339_ms(int64_t unix_ms, char *buf, unsigned size)
{
    time_t s = (time_t)(unix_ms / 1000);
    int ms = (int)(unix_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        s -= 1;
    }
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/* Reads exactly n digits at *p into *out and advances *p. */
static bool read_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static int64_t days_from_civil(int y, int m, int d)
{
    /* Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic Gregorian calendar. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_rfc3339(const char *s, int64_t *out_ms)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y, mo, d, h, mi, sec;
    if (!read_digits(&p, 4, &y) || *p++ != '-' || !read_digits(&p, 2, &mo) || *p++ != '-' ||
        !read_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return -EINVAL;
    p++;
    if (!read_digits(&p, 2, &h) || *p++ != ':' || !read_digits(&p, 2, &mi) || *p++ != ':' ||
        !read_digits(&p, 2, &sec))
        return -EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    bool is_leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !is_leap)
        return -EINVAL;
    if (sec == 60)
        sec = 59; /* a leap second is the last millisecond of its minute, near enough */
    int ms = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        for (; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0)
            return -EINVAL;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!read_digits(&p, 2, &oh) || *p++ != ':' || !read_digits(&p, 2, &om) || oh > 23 ||
            om > 59)
            return -EINVAL;
        offset_min = sign * (oh * 60 + om);
    } else {
        return -EINVAL;
    }
    if (*p)
        return -EINVAL;
    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset_min * 60;
    *out_ms = secs * 1000 + ms;
    return 0;
}

int clock_parse_time_ms(const char *s, int64_t *out_ms)
{
    if (!s || !*s)
        return -EINVAL;
    if (strchr(s, '-') || strchr(s, 'T') || strchr(s, 't'))
        return parse_rfc3339(s, out_ms);
    /* Unix milliseconds: digits only, at most 15 of them (year 33658). */
    int64_t v = 0;
    size_t n = 0;
    for (const char *p = s; *p; p++, n++) {
        if (*p < '0' || *p > '9' || n >= 15)
            return -EINVAL;
        v = v * 10 + (*p - '0');
    }
    *out_ms = v;
    return 0;
}
