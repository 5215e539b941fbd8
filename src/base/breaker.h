/*
 * A small circuit breaker shared by the hybrid detector (primary: the
 * remote detector) and the buses (primary: the broker): pure logic, time
 * passed in, so tests drive it exactly. (src/ingest/breaker.c is the
 * camera sessions' richer one.)
 *
 * Closed: the primary serves. `failures_to_open` consecutive failures, or
 * one timeout, open it. Open: the fallback serves until the cool-down
 * passes; then half-open: the next request probes the primary. A probe
 * that succeeds closes the breaker and resets the cool-down; one that
 * fails opens it again with the cool-down doubled, up to cooldown_max_ms.
 */
#ifndef HORUS_BASE_BREAKER_H
#define HORUS_BASE_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

enum horus_breaker_state {
    HORUS_BREAKER_CLOSED,
    HORUS_BREAKER_OPEN,
    HORUS_BREAKER_HALF_OPEN,
};

struct horus_breaker {
    /* policy */
    int failures_to_open; /* >= 1 */
    int64_t cooldown_ms; /* first cool-down, >= 1 */
    int64_t cooldown_max_ms; /* >= cooldown_ms */
    /* state */
    enum horus_breaker_state state;
    int consecutive_failures;
    int64_t cooldown_now_ms; /* the current cool-down */
    int64_t retry_at_ms; /* while open: when the half-open probe may go */
    uint64_t opens; /* times it opened */
};

/* Sets policy (0 = defaults 3, 5000, 60000) and a closed state. */
void horus_breaker_init(struct horus_breaker *b, int failures_to_open, int64_t cooldown_ms,
                        int64_t cooldown_max_ms);

/*
 * Whether the primary should be tried at now_ms: true when closed, or when
 * open and the cool-down has passed (the breaker turns half-open: this
 * call is the probe). False while open.
 */
bool horus_breaker_allow(struct horus_breaker *b, int64_t now_ms);

/* The primary answered. Closes the breaker. */
void horus_breaker_success(struct horus_breaker *b);

/* The primary failed at now_ms (is_timeout: it did not answer in time). */
void horus_breaker_failure(struct horus_breaker *b, int64_t now_ms, bool is_timeout);

/* "closed", "open", "half-open". */
const char *horus_breaker_state_name(enum horus_breaker_state s);

#endif
