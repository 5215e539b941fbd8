/*
 * DESIGN: growing delays after failed logins, per user name and per client
 * address (docs/design/0020). Thread: any; one mutex guards both tables
 * (logins are rare next to requests, and each one costs an argon2 hash
 * anyway), held for a table lookup only; nothing is logged under it.
 *
 * Each table is a fixed array of sets of WAYS entries, allocated once. An
 * entry is named by a keyed SHA-256 of the lower-cased name (or of the
 * address; IPv6 per /64), so the tables hold no user names, a name that
 * does not exist is counted exactly like one that does, and nobody can aim
 * a flood of names at the set of a user they want to unblock. An entry
 * keeps its failures in the current window, when the last one was, until
 * when further attempts are refused, and the attempts in flight (allowed
 * by a check, not yet recorded). A new key takes an empty way, else a
 * way whose record has ended, else the way with the fewest failures, so
 * blocked entries are the last forgotten.
 *
 * After max_failures failures the wait is first_delay, doubling with each
 * further failure up to max_delay. Failures older than the window are
 * forgotten; success clears the name's entry but not the address's.
 */
#include "login_limit.h"

#include "auth_token.h"
#include "err.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 8
#define KEY_BYTES 32 /* hex characters of the keyed digest kept: 128 bits */
#define NAME_HASHED_MAX 256 /* bytes of a user name that name its entry */
#define SECRET_BYTES 16
#define INFLIGHT_TIMEOUT_MS 60000 /* an attempt never recorded stops counting after this */

#define DEFAULT_MAX_FAILURES 5
#define DEFAULT_WINDOW_MS (15 * 60 * 1000)
#define DEFAULT_FIRST_DELAY_MS 1000
#define DEFAULT_MAX_DELAY_MS (15 * 60 * 1000)
#define DEFAULT_MAX_ENTRIES 8192

enum { BY_USER, BY_ADDRESS, NBY };

struct entry {
    char key[KEY_BYTES]; /* key[0] == 0: empty */
    unsigned failures; /* in the window ending window_ms after last_failure_ms */
    unsigned inflight;
    int64_t last_failure_ms;
    int64_t blocked_until_ms;
    int64_t inflight_since_ms;
};

struct table {
    struct entry *entries; /* owned: nsets * WAYS */
    size_t nsets;
};

struct auth_login_limit {
    unsigned max_failures;
    int64_t window_ms, first_delay_ms, max_delay_ms;
    const horus_clock *clock; /* borrowed */
    uint8_t secret[SECRET_BYTES];
    pthread_mutex_t lock; /* guards the tables */
    struct table tables[NBY];
    metrics_series *throttled[NBY]; /* NULL without metrics */
};

static int64_t now_ms(const auth_login_limit *l)
{
    return clock_monotonic_ns(l->clock) / 1000000;
}

int auth_login_limit_new(const struct auth_login_limit_options *opt, auth_login_limit **out)
{
    auth_login_limit *l = horus_calloc(1, sizeof(*l));
    l->max_failures = opt->max_failures ? opt->max_failures : DEFAULT_MAX_FAILURES;
    l->window_ms = opt->window_ms > 0 ? opt->window_ms : DEFAULT_WINDOW_MS;
    l->first_delay_ms = opt->first_delay_ms > 0 ? opt->first_delay_ms : DEFAULT_FIRST_DELAY_MS;
    l->max_delay_ms = opt->max_delay_ms > 0 ? opt->max_delay_ms : DEFAULT_MAX_DELAY_MS;
    if (l->max_delay_ms < l->first_delay_ms)
        l->max_delay_ms = l->first_delay_ms;
    l->clock = opt->clock ? opt->clock : clock_system();
    int rc = auth_random_bytes(l->secret, sizeof(l->secret));
    if (rc < 0) {
        free(l);
        return rc;
    }
    pthread_mutex_init(&l->lock, NULL);
    unsigned max = opt->max_entries ? opt->max_entries : DEFAULT_MAX_ENTRIES;
    for (int i = 0; i < NBY; i++) {
        size_t nsets = 1;
        while (nsets * WAYS < max)
            nsets *= 2;
        l->tables[i].nsets = nsets;
        l->tables[i].entries = horus_calloc(nsets * WAYS, sizeof(struct entry));
    }
    if (opt->metrics) {
        metrics_family *f = metrics_family_add(
            opt->metrics, &(struct metrics_desc){
                              .type = METRICS_COUNTER,
                              .name = "horus_auth_login_throttled_total",
                              .help = "Login attempts refused for too many recent failures, by "
                                      "the limit that refused them (user name or client address)",
                              .labels = "by",
                          });
        l->throttled[BY_USER] = metrics_series_get(f, "user");
        l->throttled[BY_ADDRESS] = metrics_series_get(f, "address");
    }
    *out = l;
    return 0;
}

void auth_login_limit_free(auth_login_limit *l)
{
    if (!l)
        return;
    for (int i = 0; i < NBY; i++)
        free(l->tables[i].entries);
    pthread_mutex_destroy(&l->lock);
    explicit_bzero(l->secret, sizeof(l->secret));
    free(l);
}

/* The keyed digest naming an entry: secret, kind, then the bytes (names lower-cased). */
static void make_key(const auth_login_limit *l, int by, const void *bytes, size_t n,
                     char key[KEY_BYTES])
{
    uint8_t buf[SECRET_BYTES + 1 + NAME_HASHED_MAX];
    memcpy(buf, l->secret, SECRET_BYTES);
    buf[SECRET_BYTES] = (uint8_t)by;
    if (n > NAME_HASHED_MAX)
        n = NAME_HASHED_MAX;
    const uint8_t *p = bytes;
    for (size_t i = 0; i < n; i++)
        buf[SECRET_BYTES + 1 + i] =
            by == BY_USER && p[i] >= 'A' && p[i] <= 'Z' ? (uint8_t)(p[i] + 32) : p[i];
    char hex[AUTH_SHA256_HEX_LEN];
    auth_sha256_hex(buf, SECRET_BYTES + 1 + n, hex);
    memcpy(key, hex, KEY_BYTES);
    explicit_bzero(buf, sizeof(buf));
}

/* The set of key: its first 8 hex digits as a number. */
static size_t key_set(const struct table *t, const char key[KEY_BYTES])
{
    size_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = key[i];
        v = v * 16 + (size_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v & (t->nsets - 1);
}

/* When e stops mattering: its block ends and its failures leave the window. */
static int64_t entry_end_ms(const auth_login_limit *l, const struct entry *e)
{
    int64_t end = e->last_failure_ms + l->window_ms;
    if (e->blocked_until_ms > end)
        end = e->blocked_until_ms;
    if (e->inflight && e->inflight_since_ms + INFLIGHT_TIMEOUT_MS > end)
        end = e->inflight_since_ms + INFLIGHT_TIMEOUT_MS;
    return end;
}

/* Finds key's entry; with is_create, makes one (evicting) when missing. Lock held. */
static struct entry *lookup_locked(auth_login_limit *l, int by, const char key[KEY_BYTES],
                                   bool is_create, int64_t now)
{
    struct table *t = &l->tables[by];
    struct entry *ways = &t->entries[key_set(t, key) * WAYS];
    for (size_t i = 0; i < WAYS; i++)
        if (ways[i].key[0] && memcmp(ways[i].key, key, KEY_BYTES) == 0)
            return &ways[i];
    if (!is_create)
        return NULL;
    /*
     * The victim: an empty way, else one that records nothing any more,
     * else the one with the fewest failures (the oldest among equals). A
     * blocked entry has at least max_failures, so a flood has to fail as
     * often per name to push one out, and each of those failures counts
     * against the flooding address too.
     */
    struct entry *victim = NULL;
    int64_t victim_rank = 0;
    for (size_t i = 0; i < WAYS; i++) {
        struct entry *w = &ways[i];
        if (!w->key[0]) {
            victim = w;
            break;
        }
        int64_t rank = entry_end_ms(l, w) <= now ? -1 : (int64_t)w->failures + w->inflight;
        if (!victim || rank < victim_rank ||
            (rank == victim_rank && w->last_failure_ms < victim->last_failure_ms)) {
            victim = w;
            victim_rank = rank;
        }
    }
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, key, KEY_BYTES);
    victim->last_failure_ms = now - l->window_ms - 1; /* no failure in the window */
    return victim;
}

/* Forgets what has passed: failures out of the window, attempts never recorded. */
static void age_locked(const auth_login_limit *l, struct entry *e, int64_t now)
{
    if (e->failures && now - e->last_failure_ms > l->window_ms && now >= e->blocked_until_ms)
        e->failures = 0;
    if (e->inflight && now - e->inflight_since_ms > INFLIGHT_TIMEOUT_MS)
        e->inflight = 0;
}

/* Seconds e refuses attempts for at now (0: allowed). Lock held. */
static int64_t wait_ms_locked(const auth_login_limit *l, struct entry *e, int64_t now)
{
    age_locked(l, e, now);
    if (now < e->blocked_until_ms)
        return e->blocked_until_ms - now;
    /* Attempts in flight count as failures to come: no burst past the threshold. */
    if (e->failures + e->inflight >= l->max_failures)
        return e->inflight ? 1000 : 0;
    return 0;
}

static unsigned round_up_s(int64_t ms)
{
    int64_t s = (ms + 999) / 1000;
    return s < 1 ? 1 : (unsigned)s;
}

/* The entry keys of an attempt; address_len 0 when the address is unknown. */
static size_t attempt_keys(const auth_login_limit *l, const char *username,
                           const struct http_addr *client, char keys[NBY][KEY_BYTES])
{
    make_key(l, BY_USER, username ? username : "", username ? strlen(username) : 0, keys[BY_USER]);
    if (!client || (client->family != 4 && client->family != 6))
        return 0;
    uint8_t a[9];
    size_t n = client->family == 4 ? 5 : 9; /* IPv6: its /64, as the request limits do */
    a[0] = client->family;
    memcpy(a + 1, client->bytes, n - 1);
    make_key(l, BY_ADDRESS, a, n, keys[BY_ADDRESS]);
    return n;
}

int auth_login_limit_check(auth_login_limit *l, const char *username,
                           const struct http_addr *client, unsigned *retry_after_s)
{
    char keys[NBY][KEY_BYTES];
    int nby = attempt_keys(l, username, client, keys) ? NBY : 1;
    int64_t now = now_ms(l);
    int64_t wait[NBY] = {0, 0};
    pthread_mutex_lock(&l->lock);
    struct entry *e[NBY] = {NULL, NULL};
    for (int by = 0; by < nby; by++) {
        e[by] = lookup_locked(l, by, keys[by], true, now);
        wait[by] = wait_ms_locked(l, e[by], now);
    }
    bool is_refused = wait[BY_USER] > 0 || wait[BY_ADDRESS] > 0;
    if (!is_refused) {
        for (int by = 0; by < nby; by++) {
            if (!e[by]->inflight)
                e[by]->inflight_since_ms = now;
            e[by]->inflight++;
        }
    }
    pthread_mutex_unlock(&l->lock);
    if (!is_refused)
        return 0;
    int by = wait[BY_USER] >= wait[BY_ADDRESS] ? BY_USER : BY_ADDRESS;
    *retry_after_s = round_up_s(wait[by]);
    if (l->throttled[by])
        metrics_counter_inc(l->throttled[by]);
    return HORUS_ELIMIT;
}

void auth_login_limit_record(auth_login_limit *l, const char *username,
                             const struct http_addr *client, bool ok)
{
    char keys[NBY][KEY_BYTES];
    int nby = attempt_keys(l, username, client, keys) ? NBY : 1;
    int64_t now = now_ms(l);
    pthread_mutex_lock(&l->lock);
    for (int by = 0; by < nby; by++) {
        struct entry *e = lookup_locked(l, by, keys[by], !ok, now);
        if (!e)
            continue;
        if (e->inflight)
            e->inflight--;
        age_locked(l, e, now);
        if (ok) {
            if (by == BY_USER) {
                e->failures = 0;
                e->blocked_until_ms = 0;
            }
            continue;
        }
        e->failures++;
        e->last_failure_ms = now;
        if (e->failures >= l->max_failures) {
            unsigned doublings = e->failures - l->max_failures;
            int64_t delay = l->max_delay_ms;
            if (doublings < 32 && (l->first_delay_ms << doublings) < l->max_delay_ms)
                delay = l->first_delay_ms << doublings;
            e->blocked_until_ms = now + delay;
        }
    }
    pthread_mutex_unlock(&l->lock);
}
