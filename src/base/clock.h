/*
 * Injectable clock. Production code reads time through a horus_clock so unit
 * tests can drive it by hand and never sleep (docs/conventions.md §10).
 */
#ifndef HORUS_CLOCK_H
#define HORUS_CLOCK_H

#include <stdint.h>

typedef struct horus_clock horus_clock;

struct horus_clock {
    /* Wall-clock UTC in milliseconds since the Unix epoch. */
    int64_t (*realtime_ms)(const horus_clock *c);
    /* Monotonic nanoseconds since an arbitrary start; never goes back. */
    int64_t (*monotonic_ns)(const horus_clock *c);
};

/* The system clock (CLOCK_REALTIME, CLOCK_MONOTONIC). Borrowed, static. */
const horus_clock *clock_system(void);

/*
 * A fake clock that only moves when told. Embed it, call clock_fake_init,
 * pass &fake->base where a horus_clock is wanted. Thread: any (atomics).
 */
typedef struct clock_fake {
    horus_clock base;
    _Atomic int64_t realtime_ms;
    _Atomic int64_t monotonic_ns;
} clock_fake;

void clock_fake_init(clock_fake *f, int64_t realtime_ms);
void clock_fake_advance_ms(clock_fake *f, int64_t ms);

static inline int64_t clock_realtime_ms(const horus_clock *c)
{
    return c->realtime_ms(c);
}

static inline int64_t clock_monotonic_ns(const horus_clock *c)
{
    return c->monotonic_ns(c);
}

/* Writes t as RFC 3339 UTC with milliseconds ("2026-03-04T10:15:02.123Z"). buf >= 25 bytes. */
void clock_format_rfc3339_ms(int64_t unix_ms, char *buf, unsigned size);

/*
 * Parses a time given by a user (query parameter, JSON field): an RFC 3339
 * date-time ("2026-03-04T10:15:02.123Z", "2026-03-04T12:15:02+02:00"; 't'
 * or a space may stand for 'T', 'z' for 'Z'; fractions past milliseconds
 * are truncated) or an integer of Unix milliseconds ("1772619302123",
 * optionally negative). Years 0001..9999. Returns 0 with *unix_ms set, or
 * -EINVAL for anything else (nothing is written then). Thread: any.
 */
int clock_parse_time_ms(const char *s, int64_t *unix_ms);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d (m 1..12, d 1..31). */
int64_t clock_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
