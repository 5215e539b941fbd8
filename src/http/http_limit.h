/*
 * Request rate limits (docs/design/0020): token buckets per client
 * address, with two budgets (API requests and media requests, so that a
 * viewer's part fetches never starve and a script hammering the API never
 * gets more than its share), and per authenticated principal.
 *
 * A bucket holds up to `burst` tokens and gains `per_minute` tokens a
 * minute; a request takes one, and a request that finds none is refused
 * with the seconds until the next token. Buckets live in a fixed-size
 * table (no allocation after http_limiter_new), so many addresses cannot
 * grow memory: a new key takes an empty slot, else the one whose buckets
 * are fullest (forgetting a full one loses nothing), so clients that have
 * spent their budget are the last forgotten. IPv6 addresses count per /64.
 * The table is split into lock stripes so the HTTP pool threads rarely
 * wait on each other.
 *
 * The server takes a token for every request before its handler runs
 * (http_server_options.limiter): the route's class (http.h, set with
 * http_router_set_limit_class) picks the budget, HTTP_LIMIT_EXEMPT
 * routes and addresses in the exempt list are never refused, and a
 * refusal is a 429 "rate_limited" error with Retry-After, counted in
 * horus_http_rate_limited_total{class}.
 */
#ifndef HORUS_HTTP_LIMIT_H
#define HORUS_HTTP_LIMIT_H

#include "clock.h"
#include "http.h"
#include "metrics.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct http_limiter http_limiter;

/* One token bucket's shape. */
struct http_limit_budget {
    unsigned per_minute; /* tokens gained a minute; 0 = unlimited (never refused) */
    unsigned burst; /* tokens a bucket holds (requests at once after a pause); 0 = per_minute */
};

/* Bytes of a principal key compared as such; longer keys also compare by their keyed hash. */
#define HTTP_LIMIT_KEY_BYTES 40

struct http_limiter_options {
    /* Per client address: [HTTP_LIMIT_API] and [HTTP_LIMIT_MEDIA]. */
    struct http_limit_budget per_address[HTTP_LIMIT_NCLASSES];
    /* Per principal, for API requests (http_request_limit_principal). */
    struct http_limit_budget per_principal;
    /* Buckets kept, in each of the two tables (addresses, principals); 0 = 16384. */
    unsigned max_entries;
    /* Client networks never limited ("10.0.0.0/8", "::1"); copied. Invalid: -EINVAL. */
    const char *const *exempt;
    size_t nexempt;
    const horus_clock *clock; /* NULL = the system clock; borrowed */
    metrics_registry *metrics; /* borrowed; NULL = no metrics */
};

/*
 * Creates a limiter and registers horus_http_rate_limited_total{class}
 * (class: api, media, principal). Returns 0, or -EINVAL naming nothing
 * when an exempt entry is not a network (validate them with
 * http_cidr_parse first). Thread: main.
 */
int http_limiter_new(const struct http_limiter_options *opt, http_limiter **out);

/* Frees l; NULL is a no-op. The server that uses it must be stopped. Thread: main. */
void http_limiter_free(http_limiter *l);

/*
 * Takes one token of cls from addr's bucket. Returns 0 (allowed: also for
 * HTTP_LIMIT_EXEMPT, an unlimited budget, an exempt or unknown address),
 * or HORUS_ELIMIT with *retry_after_s (>= 1) set to the seconds until the
 * bucket has a token again; the refusal is counted. Thread: any.
 */
int http_limiter_take_addr(http_limiter *l, const struct http_addr *addr, enum http_limit_class cls,
                           unsigned *retry_after_s);

/*
 * The same for a principal key ("user:12", "key:5"; any bytes, any
 * length), on the per-principal budget. Thread: any.
 */
int http_limiter_take_principal(http_limiter *l, const char *principal, unsigned *retry_after_s);

/*
 * For the authentication step, once it knows who is calling: takes a
 * token of principal's budget on the server's limiter for an
 * HTTP_LIMIT_API request (media and exempt routes, or a server without a
 * limiter, always pass). Returns 0, or HORUS_ELIMIT after adding the
 * Retry-After header to req's reply: return it from the handler and the
 * client gets 429 "rate_limited". Thread: the handler's.
 */
int http_request_limit_principal(http_request *req, const char *principal);

#endif
