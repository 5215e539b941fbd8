/*
 * The IdP's signing keys, fetched from its jwks_uri with libcurl and
 * cached: the key set the JWT verifier (jwt.h) checks tokens against.
 *
 * Refresh policy (docs/design/0022): no thread of its own. The set is
 * fetched by auth_jwks_refresh (at start, by whoever owns the cache) and
 * again on the request path in two cases, each by one caller at a time
 * (the others go on with the set they have, never waiting on the network):
 *  - the set is older than ttl_ms: the verifying caller refreshes first;
 *  - a token names a kid the set lacks (the IdP rotated its keys): one
 *    refresh, at most once per unknown_kid_interval_ms, so a flood of
 *    tokens with random kids costs the IdP one request per interval.
 * A failed fetch keeps the old set and is retried no sooner than
 * retry_ms later. Each fetch is bounded by timeout_ms.
 * Thread: any.
 */
#ifndef HORUS_AUTH_JWKS_H
#define HORUS_AUTH_JWKS_H

#include "jwt.h"

#include <stdint.h>

struct horus_clock;

struct auth_jwks_opts {
    const char *url; /* borrowed for the call: the jwks_uri (https, or http on loopback) */
    int64_t ttl_ms; /* 0: 10 minutes */
    int64_t unknown_kid_interval_ms; /* 0: 30 s */
    int64_t retry_ms; /* 0: 5 s */
    int timeout_ms; /* 0: 5 s */
    const struct horus_clock *clock; /* NULL: the system clock; borrowed for the cache's life */
};

typedef struct auth_jwks auth_jwks;

/* Makes an empty cache (no I/O). Returns 0 or -EINVAL for a URL auth_fetch refuses. */
int auth_jwks_new(const struct auth_jwks_opts *opts, auth_jwks **out);
void auth_jwks_free(auth_jwks *jwks);

/*
 * Fetches the set now and swaps it in. Returns 0, or a negative code with
 * the reason in err (HTTP status, size, JSON, no usable key); the old set
 * stays. Blocks up to timeout_ms; when another thread is already fetching
 * it returns -EBUSY at once.
 */
int auth_jwks_refresh(auth_jwks *jwks, char *err, size_t err_size);

/* A new reference to the current set, or NULL before the first successful fetch. */
auth_jwk_set *auth_jwks_get(auth_jwks *jwks);

/*
 * auth_jwt_verify against the cached set, refreshing it as described at
 * the top (so this call may block up to timeout_ms). expect->now_s is
 * filled by the caller.
 */
enum auth_jwt_reason auth_jwks_verify(auth_jwks *jwks, const char *token, size_t len,
                                      const struct auth_jwt_expect *expect, struct auth_jwt *out,
                                      char *why, size_t why_size);

/* Counters for logs and tests. */
struct auth_jwks_stats {
    uint64_t fetches; /* attempts */
    uint64_t failures;
    uint64_t unknown_kid_refreshes;
};
void auth_jwks_stats_get(auth_jwks *jwks, struct auth_jwks_stats *out);

#endif
