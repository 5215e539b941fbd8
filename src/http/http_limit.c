/*
 * DESIGN: token-bucket rate limits per client address and per principal
 * (docs/design/0020). Thread: any; called by every HTTP pool thread for
 * every request, so the cost is one keyed hash, one lock stripe and a few
 * floating-point operations.
 *
 * Two tables, addresses and principals, each a fixed array of sets of
 * WAYS entries allocated once: a key hashes (64-bit, keyed with a random
 * seed so clients cannot aim at one set) to one set and lives in one of
 * its ways. A key not in its set takes an empty way, else the way whose
 * buckets are fullest (dropping a full one changes nothing: a new entry
 * starts full too), the least recently used among equals. So the memory is
 * bounded by max_entries, and an attacker with many addresses pushes out
 * quiet entries first, not the clients it would like to unblock: those
 * have spent their tokens. IPv6 clients are counted per /64.
 *
 * Locking: one mutex per stripe, set i under stripe i % NSTRIPES; a call
 * holds one stripe for a few hundred nanoseconds and nothing nests. Each
 * entry keeps the tokens of every budget of its table and the time they
 * were last topped up (which is also the time it was last used).
 */
#include "http_limit.h"

#include "err.h"
#include "http_int.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define LOG_MODULE "http"

#define WAYS 8
#define NSTRIPES 64
#define DEFAULT_MAX_ENTRIES 16384

struct entry {
    uint64_t hash; /* 0 = empty way */
    int64_t stamp_ns; /* tokens were topped up (and the entry used) then */
    double tokens[HTTP_LIMIT_NCLASSES];
    uint8_t key_len; /* bytes of key stored (the key may be longer: the hash covers it) */
    uint8_t key[HTTP_LIMIT_KEY_BYTES];
};

struct stripe {
    pthread_mutex_t lock;
    char pad[64 - sizeof(pthread_mutex_t) % 64];
};

struct table {
    struct entry *entries; /* owned: nsets * WAYS */
    size_t nsets; /* a power of two */
    unsigned nbudgets;
    struct http_limit_budget budgets[HTTP_LIMIT_NCLASSES];
    struct stripe stripes[NSTRIPES];
};

struct http_limiter {
    uint64_t seed;
    const horus_clock *clock; /* borrowed */
    struct http_cidr *exempt; /* owned */
    size_t nexempt;
    struct table addrs;
    struct table principals;
    metrics_series *refused[HTTP_LIMIT_NCLASSES + 1]; /* api, media, principal; NULL w/o metrics */
};

enum { REFUSED_PRINCIPAL = HTTP_LIMIT_NCLASSES };

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* A keyed hash of key, never 0 (0 marks an empty way). */
static uint64_t key_hash(uint64_t seed, const void *key, size_t len)
{
    const uint8_t *p = key;
    uint64_t h = mix64(seed ^ (uint64_t)len);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, len);
    h = mix64(h ^ w ^ ((uint64_t)len << 56));
    return h ? h : 1;
}

static void table_init(struct table *t, unsigned max_entries, const struct http_limit_budget *b,
                       unsigned nbudgets)
{
    size_t nsets = 1;
    while (nsets * WAYS < max_entries)
        nsets *= 2;
    t->nsets = nsets;
    t->entries = horus_calloc(nsets * WAYS, sizeof(struct entry));
    t->nbudgets = nbudgets;
    for (unsigned i = 0; i < nbudgets; i++) {
        t->budgets[i] = b[i];
        if (t->budgets[i].burst == 0)
            t->budgets[i].burst = t->budgets[i].per_minute;
    }
    for (size_t i = 0; i < NSTRIPES; i++)
        pthread_mutex_init(&t->stripes[i].lock, NULL);
}

static void table_release(struct table *t)
{
    for (size_t i = 0; i < NSTRIPES; i++)
        pthread_mutex_destroy(&t->stripes[i].lock);
    free(t->entries);
}

/* Tops e's buckets up to now_ns. */
static void refill(const struct table *t, struct entry *e, int64_t now_ns)
{
    double minutes = now_ns > e->stamp_ns ? (double)(now_ns - e->stamp_ns) / 60e9 : 0;
    for (unsigned i = 0; i < t->nbudgets; i++) {
        const struct http_limit_budget *b = &t->budgets[i];
        e->tokens[i] += minutes * b->per_minute;
        if (e->tokens[i] > b->burst)
            e->tokens[i] = b->burst;
    }
    e->stamp_ns = now_ns;
}

/*
 * How full e's buckets will be at now_ns, as the sum over its budgets of
 * tokens / burst (e is not changed): t->nbudgets when all are full.
 */
static double fill_at(const struct table *t, const struct entry *e, int64_t now_ns)
{
    double minutes = now_ns > e->stamp_ns ? (double)(now_ns - e->stamp_ns) / 60e9 : 0;
    double sum = 0;
    for (unsigned i = 0; i < t->nbudgets; i++) {
        const struct http_limit_budget *b = &t->budgets[i];
        if (b->burst == 0) {
            sum += 1;
            continue;
        }
        double tokens = e->tokens[i] + minutes * b->per_minute;
        sum += tokens >= b->burst ? 1 : tokens / b->burst;
    }
    return sum;
}

/*
 * Takes one token of budget `budget` for key. Returns 0 or HORUS_ELIMIT
 * with *retry_after_s.
 */
static int table_take(struct table *t, uint64_t hash, const void *key, size_t len, unsigned budget,
                      int64_t now_ns, unsigned *retry_after_s)
{
    const struct http_limit_budget *b = &t->budgets[budget];
    if (b->per_minute == 0)
        return 0;
    size_t stored = len < HTTP_LIMIT_KEY_BYTES ? len : HTTP_LIMIT_KEY_BYTES;
    size_t set = (size_t)(hash >> 7) & (t->nsets - 1);
    struct entry *ways = &t->entries[set * WAYS];
    pthread_mutex_t *lock = &t->stripes[set % NSTRIPES].lock;
    int rc = 0;
    pthread_mutex_lock(lock);
    struct entry *e = NULL;
    for (size_t i = 0; i < WAYS && !e; i++)
        if (ways[i].hash == hash && ways[i].key_len == stored &&
            memcmp(ways[i].key, key, stored) == 0)
            e = &ways[i];
    /*
     * A new key replaces the way whose buckets are fullest: forgetting a
     * full one loses nothing (a new entry starts full), while a client
     * that has spent its budget stays remembered as long as possible.
     * Ties go to the least recently used.
     */
    struct entry *victim = NULL;
    double victim_fill = -1;
    for (size_t i = 0; i < WAYS && !e; i++) {
        struct entry *w = &ways[i];
        if (w->hash == 0) {
            victim = w;
            break;
        }
        double fill = fill_at(t, w, now_ns);
        if (fill > victim_fill || (fill == victim_fill && w->stamp_ns < victim->stamp_ns)) {
            victim = w;
            victim_fill = fill;
        }
    }
    if (e) {
        refill(t, e, now_ns);
    } else {
        e = victim;
        e->hash = hash;
        e->key_len = (uint8_t)stored;
        memcpy(e->key, key, stored);
        e->stamp_ns = now_ns;
        for (unsigned i = 0; i < t->nbudgets; i++)
            e->tokens[i] = t->budgets[i].burst;
    }
    if (e->tokens[budget] >= 1.0) {
        e->tokens[budget] -= 1.0;
    } else {
        double wait_s = (1.0 - e->tokens[budget]) * 60.0 / b->per_minute;
        if (wait_s > 86400)
            wait_s = 86400;
        unsigned up = (unsigned)wait_s;
        if ((double)up < wait_s)
            up++; /* round up: a client that waits this long finds a token */
        *retry_after_s = up < 1 ? 1 : up;
        rc = HORUS_ELIMIT;
    }
    pthread_mutex_unlock(lock);
    return rc;
}

int http_limiter_new(const struct http_limiter_options *opt, http_limiter **out)
{
    struct http_cidr *exempt = NULL;
    if (opt->nexempt) {
        exempt = horus_calloc(opt->nexempt, sizeof(*exempt));
        for (size_t i = 0; i < opt->nexempt; i++) {
            if (http_cidr_parse(opt->exempt[i], &exempt[i]) < 0) {
                free(exempt);
                return -EINVAL;
            }
        }
    }
    http_limiter *l = horus_calloc(1, sizeof(*l));
    if (getrandom(&l->seed, sizeof(l->seed), GRND_NONBLOCK) != (ssize_t)sizeof(l->seed))
        l->seed = (uint64_t)clock_monotonic_ns(clock_system()) * 0x9e3779b97f4a7c15ULL;
    l->clock = opt->clock ? opt->clock : clock_system();
    l->exempt = exempt;
    l->nexempt = opt->nexempt;
    unsigned max = opt->max_entries ? opt->max_entries : DEFAULT_MAX_ENTRIES;
    table_init(&l->addrs, max, opt->per_address, HTTP_LIMIT_NCLASSES);
    table_init(&l->principals, max, &opt->per_principal, 1);
    if (opt->metrics) {
        metrics_family *f = metrics_family_add(
            opt->metrics,
            &(struct metrics_desc){
                .type = METRICS_COUNTER,
                .name = "horus_http_rate_limited_total",
                .help = "HTTP requests refused with 429 by a rate limit, by budget (api and media "
                        "per client address, principal per signed-in principal)",
                .labels = "class",
            });
        l->refused[HTTP_LIMIT_API] = metrics_series_get(f, "api");
        l->refused[HTTP_LIMIT_MEDIA] = metrics_series_get(f, "media");
        l->refused[REFUSED_PRINCIPAL] = metrics_series_get(f, "principal");
    }
    *out = l;
    return 0;
}

void http_limiter_free(http_limiter *l)
{
    if (!l)
        return;
    table_release(&l->addrs);
    table_release(&l->principals);
    free(l->exempt);
    free(l);
}

static void count_refusal(http_limiter *l, unsigned which)
{
    if (l->refused[which])
        metrics_counter_inc(l->refused[which]);
}

int http_limiter_take_addr(http_limiter *l, const struct http_addr *addr, enum http_limit_class cls,
                           unsigned *retry_after_s)
{
    if (cls >= HTTP_LIMIT_NCLASSES || !addr || addr->family == 0)
        return 0;
    if (l->nexempt && http_cidr_list_match(l->exempt, l->nexempt, addr))
        return 0;
    /*
     * The key is the family byte and the address bytes it uses; for IPv6
     * the /64 prefix only, since one subscriber line or host is routinely
     * given a whole /64 and could otherwise take a fresh bucket per address.
     */
    uint8_t key[9];
    size_t len = addr->family == 4 ? 5 : 9;
    key[0] = addr->family;
    memcpy(key + 1, addr->bytes, len - 1);
    uint64_t h = key_hash(l->seed, key, len);
    int rc = table_take(&l->addrs, h, key, len, cls, clock_monotonic_ns(l->clock), retry_after_s);
    if (rc < 0)
        count_refusal(l, cls);
    return rc;
}

int http_limiter_take_principal(http_limiter *l, const char *principal, unsigned *retry_after_s)
{
    if (!principal)
        return 0;
    size_t len = strlen(principal);
    uint64_t h = key_hash(l->seed, principal, len);
    int rc = table_take(&l->principals, h, principal, len, 0, clock_monotonic_ns(l->clock),
                        retry_after_s);
    if (rc < 0)
        count_refusal(l, REFUSED_PRINCIPAL);
    return rc;
}

int http_request_limit_principal(http_request *req, const char *principal)
{
    http_limiter *l = req->conn->srv->limiter;
    if (!l || req->route_rc != 0 || req->match.limit_class != HTTP_LIMIT_API)
        return 0;
    unsigned retry_s = 0;
    int rc = http_limiter_take_principal(l, principal, &retry_s);
    if (rc < 0) {
        char v[16];
        snprintf(v, sizeof(v), "%u", retry_s);
        http_reply_header(req, "Retry-After", v);
    }
    return rc;
}
