/*
 * DESIGN: the reconnect circuit breaker of one camera stream, pure logic.
 *
 * CLOSED: failures are retried on a schedule given by the policy's tiers
 * (default: failures 1-5 at once, 6-10 every 10 s, 11-20 every 30 s), each
 * delay plus a random 0..jitter_ms so many cameras behind one switch do not
 * reconnect in lockstep. One failure past the last tier opens the breaker:
 * OPEN waits open_ms, then ing_breaker_allow moves it to HALF_OPEN and allows
 * one probe. A failed probe re-opens it for another period; a success from
 * any state closes it and forgets the failures.
 *
 * Time comes from the injected horus_clock (tests drive a fake one). The
 * owner (stream.c) serializes calls; nothing here locks, logs or sleeps.
 */
#include "ingest_int.h"

#include <string.h>

const struct ing_breaker_policy ing_breaker_policy_default = {
    .tiers = {{5, 0}, {10, 10000}, {20, 30000}},
    .ntiers = 3,
    .open_ms = 5 * 60 * 1000,
    .jitter_ms = 250,
};

const char *ing_breaker_state_name(enum ing_breaker_state state)
{
    switch (state) {
    case ING_BREAKER_CLOSED:
        return "closed";
    case ING_BREAKER_OPEN:
        return "open";
    case ING_BREAKER_HALF_OPEN:
        return "half_open";
    }
    return "unknown";
}

void ing_breaker_init(struct ing_breaker *b, const struct ing_breaker_policy *policy,
                      const horus_clock *clock, uint64_t seed)
{
    memset(b, 0, sizeof(*b));
    b->policy = policy ? *policy : ing_breaker_policy_default;
    if (b->policy.ntiers > ING_BREAKER_MAX_TIERS)
        b->policy.ntiers = ING_BREAKER_MAX_TIERS;
    b->clock = clock;
    b->state = ING_BREAKER_CLOSED;
    b->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
    b->next_attempt_ns = clock_monotonic_ns(clock);
}

/* xorshift64: jitter needs spread, not quality. */
static int64_t breaker_jitter_ms(struct ing_breaker *b)
{
    if (b->policy.jitter_ms <= 0)
        return 0;
    b->rng ^= b->rng << 13;
    b->rng ^= b->rng >> 7;
    b->rng ^= b->rng << 17;
    return (int64_t)(b->rng % (uint64_t)(b->policy.jitter_ms + 1));
}

bool ing_breaker_allow(struct ing_breaker *b, bool *changed)
{
    *changed = false;
    int64_t now = clock_monotonic_ns(b->clock);
    if (now < b->next_attempt_ns)
        return false;
    if (b->state == ING_BREAKER_OPEN) {
        b->state = ING_BREAKER_HALF_OPEN;
        *changed = true;
    }
    return true;
}

int64_t ing_breaker_wait_ms(const struct ing_breaker *b)
{
    int64_t left = b->next_attempt_ns - clock_monotonic_ns(b->clock);
    return left > 0 ? (left + 999999) / 1000000 : 0;
}

bool ing_breaker_success(struct ing_breaker *b)
{
    bool changed = b->state != ING_BREAKER_CLOSED;
    b->state = ING_BREAKER_CLOSED;
    b->failures = 0;
    b->next_attempt_ns = clock_monotonic_ns(b->clock);
    return changed;
}

bool ing_breaker_failure(struct ing_breaker *b)
{
    enum ing_breaker_state before = b->state;
    int64_t now = clock_monotonic_ns(b->clock);
    if (b->failures < UINT32_MAX)
        b->failures++;
    int64_t delay_ms = -1;
    if (b->state == ING_BREAKER_CLOSED) {
        for (unsigned i = 0; i < b->policy.ntiers; i++) {
            if (b->failures <= b->policy.tiers[i].max_failures) {
                delay_ms = b->policy.tiers[i].delay_ms;
                break;
            }
        }
    }
    if (delay_ms < 0) {
        /* Past the last tier, or a failed HALF_OPEN probe. */
        b->state = ING_BREAKER_OPEN;
        delay_ms = b->policy.open_ms;
    }
    b->next_attempt_ns = now + (delay_ms + breaker_jitter_ms(b)) * 1000000;
    return b->state != before;
}
