/*
 * Login attempt limits (docs/design/0020): per user name and per client
 * address, failed logins past a threshold make every further attempt wait
 * (1 s, then 2, 4, ... up to a cap), answered as "retry after N s"
 * (HORUS_ELIMIT: 429 with Retry-After). Unknown user names are limited
 * exactly like existing ones, so the limiter never tells whether a user
 * exists, and the tables have a fixed size, so a flood of names or
 * addresses cannot grow memory.
 *
 * The login handler calls auth_login_limit_check before it verifies the
 * password, and, when the check allowed the attempt, exactly one
 * auth_login_limit_record with the outcome afterwards:
 *
 *   unsigned wait_s;
 *   int rc = auth_login_limit_check(lim, name, http_request_client_addr(req), &wait_s);
 *   if (rc < 0) { add "Retry-After: wait_s"; return rc; }       // 429
 *   bool ok = verify(name, password);
 *   auth_login_limit_record(lim, name, http_request_client_addr(req), ok);
 *
 * Attempts allowed but not yet recorded count against the threshold, so
 * many parallel guesses do not get past it before the first failure is
 * recorded.
 */
#ifndef HORUS_AUTH_LOGIN_LIMIT_H
#define HORUS_AUTH_LOGIN_LIMIT_H

#include "clock.h"
#include "http.h"
#include "metrics.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct auth_login_limit auth_login_limit;

struct auth_login_limit_options {
    unsigned max_failures; /* failures (per name, per address) before delays start; 0 = 5 */
    int64_t window_ms; /* a failure older than this no longer counts; 0 = 15 min */
    int64_t first_delay_ms; /* the wait after max_failures failures, doubling after; 0 = 1 s */
    int64_t max_delay_ms; /* the longest wait; 0 = 15 min */
    unsigned max_entries; /* entries per table (names, addresses); 0 = 8192 */
    const horus_clock *clock; /* NULL = the system clock; borrowed */
    metrics_registry *metrics; /* borrowed; NULL = no metrics */
};

/*
 * Creates the limiter and registers horus_auth_login_throttled_total{by}
 * (by: user, address). Returns 0. Thread: main.
 */
int auth_login_limit_new(const struct auth_login_limit_options *opt, auth_login_limit **out);

/* Frees l; NULL is a no-op. Thread: main, when no login can run. */
void auth_login_limit_free(auth_login_limit *l);

/*
 * May an attempt to sign in as username (any bytes; compared without ASCII
 * case) from client (may be NULL or unknown: then the name alone) be
 * verified now? Returns 0 and counts the attempt as in flight until its
 * auth_login_limit_record, or HORUS_ELIMIT with *retry_after_s (>= 1),
 * counted in the metric; a refused attempt must not be verified nor
 * recorded. Thread: any.
 */
int auth_login_limit_check(auth_login_limit *l, const char *username,
                           const struct http_addr *client, unsigned *retry_after_s);

/*
 * Records the outcome of an attempt that auth_login_limit_check allowed.
 * A failure counts for the name and the address; a success clears the
 * name's failures (not the address's: one good account must not buy
 * guesses at others). Thread: any.
 */
void auth_login_limit_record(auth_login_limit *l, const char *username,
                             const struct http_addr *client, bool ok);

#endif
