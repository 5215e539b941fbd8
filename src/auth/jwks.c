/*
 * DESIGN: the JWKS cache (jwks.h). One mutex guards the current set, the
 * fetch-in-progress flag and the timestamps; it is never held across the
 * network call or the parse. The set is refcounted, so a verifier keeps
 * the one it took even when a refresh swaps another in. Only one thread
 * fetches at a time (the flag); the rest use the set they have. Timers
 * come from the injected clock, so tests drive TTL and rate limits without
 * sleeping. Thread: any.
 */
#include "jwks.h"

#include "auth_fetch_int.h"
#include "clock.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "auth"

struct auth_jwks {
    char *url; /* owned */
    int64_t ttl_ms, kid_interval_ms, retry_ms;
    int timeout_ms;
    const horus_clock *clock; /* borrowed */

    pthread_mutex_t mu;
    auth_jwk_set *set; /* owned reference; guarded by mu */
    bool fetching; /* guarded by mu */
    int64_t fetched_ms; /* last success, monotonic; guarded by mu */
    int64_t failed_ms; /* last failure, monotonic; INT64_MIN when none */
    int64_t kid_refresh_ms; /* last refresh caused by an unknown kid */
    struct auth_jwks_stats stats; /* guarded by mu */
};

static int64_t now_ms(const auth_jwks *j)
{
    return clock_monotonic_ns(j->clock) / 1000000;
}

int auth_jwks_new(const struct auth_jwks_opts *opts, auth_jwks **out)
{
    if (!auth_fetch_url_allowed(opts->url))
        return -EINVAL;
    auth_jwks *j = horus_calloc(1, sizeof(*j));
    j->url = horus_strdup(opts->url);
    j->ttl_ms = opts->ttl_ms > 0 ? opts->ttl_ms : 10 * 60 * 1000;
    j->kid_interval_ms = opts->unknown_kid_interval_ms > 0 ? opts->unknown_kid_interval_ms : 30000;
    j->retry_ms = opts->retry_ms > 0 ? opts->retry_ms : 5000;
    j->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 5000;
    j->clock = opts->clock ? opts->clock : clock_system();
    j->failed_ms = INT64_MIN;
    j->kid_refresh_ms = INT64_MIN;
    pthread_mutex_init(&j->mu, NULL);
    *out = j;
    return 0;
}

void auth_jwks_free(auth_jwks *j)
{
    if (!j)
        return;
    auth_jwk_set_unref(j->set);
    pthread_mutex_destroy(&j->mu);
    free(j->url);
    free(j);
}

/* The fetch itself, outside the lock. */
static int fetch_set(auth_jwks *j, auth_jwk_set **out, char *err, size_t err_size)
{
    char *body = NULL;
    size_t len = 0;
    long status = 0;
    struct auth_fetch_req req = {
        .url = j->url, .timeout_ms = j->timeout_ms, .max_bytes = AUTH_JWKS_MAX_BYTES};
    int rc = auth_fetch(&req, &body, &len, &status, err, err_size);
    if (rc == 0 && status != 200) {
        snprintf(err, err_size, "HTTP status %ld", status);
        rc = -EIO;
    }
    if (rc == 0)
        rc = auth_jwk_set_parse(body, len, out, err, err_size);
    if (rc == 0 && auth_jwk_set_count(*out) == 0) {
        snprintf(err, err_size, "no usable signature key in the set");
        auth_jwk_set_unref(*out);
        *out = NULL;
        rc = -ENOKEY;
    }
    free(body);
    return rc;
}

int auth_jwks_refresh(auth_jwks *j, char *err, size_t err_size)
{
    char local[160];
    if (!err || !err_size) {
        err = local;
        err_size = sizeof(local);
    }
    pthread_mutex_lock(&j->mu);
    if (j->fetching) {
        pthread_mutex_unlock(&j->mu);
        snprintf(err, err_size, "a fetch is already running");
        return -EBUSY;
    }
    j->fetching = true;
    j->stats.fetches++;
    pthread_mutex_unlock(&j->mu);

    auth_jwk_set *set = NULL;
    int rc = fetch_set(j, &set, err, err_size);

    pthread_mutex_lock(&j->mu);
    auth_jwk_set *old = NULL;
    if (rc == 0) {
        old = j->set;
        j->set = set;
        j->fetched_ms = now_ms(j);
        j->failed_ms = INT64_MIN;
    } else {
        j->stats.failures++;
        j->failed_ms = now_ms(j);
    }
    j->fetching = false;
    pthread_mutex_unlock(&j->mu);
    auth_jwk_set_unref(old);
    if (rc < 0)
        log_warn_kv(LOG_KV({"url", j->url}), "jwks: fetch failed, keeping the old keys: %s", err);
    return rc;
}

auth_jwk_set *auth_jwks_get(auth_jwks *j)
{
    pthread_mutex_lock(&j->mu);
    auth_jwk_set *set = j->set ? auth_jwk_set_ref(j->set) : NULL;
    pthread_mutex_unlock(&j->mu);
    return set;
}

/* Whether this caller should refresh now: stale (or missing) set, or an unknown kid. */
static bool should_refresh(auth_jwks *j, const char *kid)
{
    int64_t now = now_ms(j);
    bool yes = false;
    pthread_mutex_lock(&j->mu);
    bool may_retry = j->failed_ms == INT64_MIN || now - j->failed_ms >= j->retry_ms;
    if (!j->fetching && may_retry) {
        if (!j->set || now - j->fetched_ms >= j->ttl_ms) {
            yes = true;
        } else if (kid && !auth_jwk_set_has_kid(j->set, kid) &&
                   (j->kid_refresh_ms == INT64_MIN ||
                    now - j->kid_refresh_ms >= j->kid_interval_ms)) {
            j->kid_refresh_ms = now;
            j->stats.unknown_kid_refreshes++;
            yes = true;
        }
    }
    pthread_mutex_unlock(&j->mu);
    return yes;
}

enum auth_jwt_reason auth_jwks_verify(auth_jwks *j, const char *token, size_t len,
                                      const struct auth_jwt_expect *expect, struct auth_jwt *out,
                                      char *why, size_t why_size)
{
    char kid[AUTH_JWK_KID_MAX + 1];
    bool has_kid = auth_jwt_peek_kid(token, len, kid) == 0 && kid[0];
    if (should_refresh(j, has_kid ? kid : NULL))
        auth_jwks_refresh(j, NULL, 0);
    auth_jwk_set *set = auth_jwks_get(j);
    enum auth_jwt_reason r = auth_jwt_verify(token, len, set, expect, out, why, why_size);
    auth_jwk_set_unref(set);
    return r;
}

void auth_jwks_stats_get(auth_jwks *j, struct auth_jwks_stats *out)
{
    pthread_mutex_lock(&j->mu);
    *out = j->stats;
    pthread_mutex_unlock(&j->mu);
}
