/*
 * DESIGN: see breaker.h. Three states, one counter, one cool-down that
 * doubles per failed probe; no clock of its own.
 */
#include "breaker.h"

void horus_breaker_init(struct horus_breaker *b, int failures_to_open, int64_t cooldown_ms,
                        int64_t cooldown_max_ms)
{
    *b = (struct horus_breaker){
        .failures_to_open = failures_to_open > 0 ? failures_to_open : 3,
        .cooldown_ms = cooldown_ms > 0 ? cooldown_ms : 5000,
        .cooldown_max_ms = cooldown_max_ms > 0 ? cooldown_max_ms : 60000,
        .state = HORUS_BREAKER_CLOSED,
    };
    if (b->cooldown_max_ms < b->cooldown_ms)
        b->cooldown_max_ms = b->cooldown_ms;
    b->cooldown_now_ms = b->cooldown_ms;
}

bool horus_breaker_allow(struct horus_breaker *b, int64_t now_ms)
{
    switch (b->state) {
    case HORUS_BREAKER_CLOSED:
        return true;
    case HORUS_BREAKER_OPEN:
        if (now_ms < b->retry_at_ms)
            return false;
        b->state = HORUS_BREAKER_HALF_OPEN;
        return true;
    case HORUS_BREAKER_HALF_OPEN:
        return true;
    }
    return true;
}

void horus_breaker_success(struct horus_breaker *b)
{
    b->state = HORUS_BREAKER_CLOSED;
    b->consecutive_failures = 0;
    b->cooldown_now_ms = b->cooldown_ms;
}

static void trip(struct horus_breaker *b, int64_t now_ms)
{
    b->state = HORUS_BREAKER_OPEN;
    b->retry_at_ms = now_ms + b->cooldown_now_ms;
    b->opens++;
}

void horus_breaker_failure(struct horus_breaker *b, int64_t now_ms, bool is_timeout)
{
    b->consecutive_failures++;
    switch (b->state) {
    case HORUS_BREAKER_CLOSED:
        if (is_timeout || b->consecutive_failures >= b->failures_to_open)
            trip(b, now_ms);
        break;
    case HORUS_BREAKER_HALF_OPEN:
        b->cooldown_now_ms *= 2;
        if (b->cooldown_now_ms > b->cooldown_max_ms)
            b->cooldown_now_ms = b->cooldown_max_ms;
        trip(b, now_ms);
        break;
    case HORUS_BREAKER_OPEN: /* a failure reported while open: nothing changes */
        break;
    }
}

const char *horus_breaker_state_name(enum horus_breaker_state s)
{
    switch (s) {
    case HORUS_BREAKER_CLOSED:
        return "closed";
    case HORUS_BREAKER_OPEN:
        return "open";
    case HORUS_BREAKER_HALF_OPEN:
        return "half-open";
    }
    return "?";
}
