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
