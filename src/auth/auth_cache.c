/*
 * DESIGN: the gate's cache of verified credentials (auth_cache.h,
 * docs/design/0016-identity.md). Thread: any; each stripe's mutex guards
 * its entries and is held only to copy an entry in or out (the grant's
 * parsing and every allocation but the grant text's copy happen outside).
 *
 * The cache is a fixed array of sets of WAYS entries; a credential's set is
 * picked by its digest, and sets share STRIPES mutexes. Lookup scans the 8
 * entries of one set, comparing digests in constant time. An entry is valid while
 * now < until and version == the storage's access version; a stale entry
 * is simply overwritten by the next put into its set.
 */
#include "auth_cache.h"

#include "auth_token.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRIPES 16 /* mutexes */
#define WAYS 8 /* entries in a set: a credential lives in one set, chosen by its digest */

struct entry {
    bool is_used;
    char key[AUTH_SHA256_HEX_LEN];
    uint64_t version;
    int64_t until_ms;
    int64_t put_ms; /* the oldest is replaced first when the set is full */
    struct auth_principal p; /* scalars only: cameras and groups NULL, grant owned (NULL = "*") */
};

struct auth_cache {
    int64_t ttl_ms;
    pthread_mutex_t locks[STRIPES]; /* set i is guarded by locks[i % STRIPES] */
    struct entry *entries; /* nsets * WAYS */
    size_t nsets;
    atomic_uint_fast64_t hits, misses;
};

auth_cache *auth_cache_new(size_t capacity, int64_t ttl_ms)
{
    auth_cache *c = horus_calloc(1, sizeof(*c));
    c->ttl_ms = ttl_ms;
    c->nsets = capacity / WAYS ? capacity / WAYS : 1;
    c->entries = horus_calloc(c->nsets * WAYS, sizeof(struct entry));
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_init(&c->locks[i], NULL);
    return c;
}

static void entry_clear(struct entry *e)
{
    free(e->p.grant);
    memset(e, 0, sizeof(*e));
}

void auth_cache_clear(auth_cache *c)
{
    for (size_t i = 0; i < c->nsets; i++) {
        pthread_mutex_lock(&c->locks[i % STRIPES]);
        for (size_t j = 0; j < WAYS; j++)
            entry_clear(&c->entries[i * WAYS + j]);
        pthread_mutex_unlock(&c->locks[i % STRIPES]);
    }
}

void auth_cache_free(auth_cache *c)
{
    if (!c)
        return;
    auth_cache_clear(c);
    free(c->entries);
    for (size_t i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&c->locks[i]);
    free(c);
}

/* The set of key (lowercase hex): its first 12 digits modulo the number of sets. */
static size_t set_of(const auth_cache *c, const char key[AUTH_SHA256_HEX_LEN])
{
    uint64_t v = 0;
    for (int i = 0; i < 12; i++)
        v = v * 16 + (uint64_t)(key[i] <= '9' ? key[i] - '0' : key[i] - 'a' + 10);
    return (size_t)(v % c->nsets);
}

static struct entry *find(struct entry *set, const char key[AUTH_SHA256_HEX_LEN])
{
    for (size_t i = 0; i < WAYS; i++)
        if (set[i].is_used && auth_equal_ct(set[i].key, key, AUTH_SHA256_HEX_LEN))
            return &set[i];
    return NULL;
}

int auth_cache_get(auth_cache *c, const void *credential, size_t n, uint64_t version,
                   int64_t now_ms, struct auth_principal **out)
{
    *out = NULL;
    if (c->ttl_ms <= 0)
        return -ENOENT;
    char key[AUTH_SHA256_HEX_LEN];
    auth_sha256_hex(credential, n, key);
    size_t set = set_of(c, key);
    pthread_mutex_t *lock = &c->locks[set % STRIPES];
    struct auth_principal *p = horus_calloc(1, sizeof(*p));
    char *grant = NULL;
    bool is_hit = false;
    pthread_mutex_lock(lock);
    struct entry *e = find(&c->entries[set * WAYS], key);
    if (e && e->version == version && now_ms < e->until_ms) {
        *p = e->p;
        grant = e->p.grant ? horus_strdup(e->p.grant) : NULL;
        is_hit = true;
    } else if (e) {
        entry_clear(e); /* stale: nobody will want it again */
    }
    pthread_mutex_unlock(lock);
    memset(key, 0, sizeof(key));
    p->grant = NULL;
    if (!is_hit || auth_principal_set_cameras(p, grant ? grant : "*") < 0) {
        free(grant);
        auth_principal_free(p);
        atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
        return -ENOENT;
    }
    free(grant);
    atomic_fetch_add_explicit(&c->hits, 1, memory_order_relaxed);
    *out = p;
    return 0;
}

/* An empty or expired entry of set, else its oldest. */
static struct entry *slot_for_new(struct entry *set, int64_t now_ms)
{
    struct entry *oldest = &set[0];
    for (size_t i = 0; i < WAYS; i++) {
        struct entry *e = &set[i];
        if (!e->is_used || e->until_ms <= now_ms)
            return e;
        if (e->put_ms < oldest->put_ms)
            oldest = e;
    }
    return oldest;
}

void auth_cache_put(auth_cache *c, const void *credential, size_t n, uint64_t version,
                    int64_t now_ms, int64_t valid_until_ms, const struct auth_principal *p)
{
    if (c->ttl_ms <= 0)
        return;
    int64_t until = now_ms + c->ttl_ms;
    if (valid_until_ms < until)
        until = valid_until_ms;
    if (until <= now_ms)
        return;
    const char *grant = auth_principal_grant(p);
    if (!grant[0])
        return; /* a grant that did not parse: never cached */
    char key[AUTH_SHA256_HEX_LEN];
    auth_sha256_hex(credential, n, key);
    size_t set = set_of(c, key);
    pthread_mutex_t *lock = &c->locks[set % STRIPES];
    char *copy = strcmp(grant, "*") == 0 ? NULL : horus_strdup(grant);
    pthread_mutex_lock(lock);
    struct entry *e = find(&c->entries[set * WAYS], key);
    if (!e)
        e = slot_for_new(&c->entries[set * WAYS], now_ms);
    entry_clear(e);
    e->is_used = true;
    memcpy(e->key, key, sizeof(key));
    e->version = version;
    e->until_ms = until;
    e->put_ms = now_ms;
    e->p = *p;
    e->p.cameras = NULL;
    e->p.ncameras = 0;
    e->p.groups = NULL;
    e->p.ngroups = 0;
    e->p.grant = copy;
    pthread_mutex_unlock(lock);
    memset(key, 0, sizeof(key));
}

void auth_cache_stats(auth_cache *c, struct auth_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < c->nsets; i++) {
        pthread_mutex_lock(&c->locks[i % STRIPES]);
        for (size_t j = 0; j < WAYS; j++)
            out->entries += c->entries[i * WAYS + j].is_used;
        pthread_mutex_unlock(&c->locks[i % STRIPES]);
    }
    out->hits = atomic_load_explicit(&c->hits, memory_order_relaxed);
    out->misses = atomic_load_explicit(&c->misses, memory_order_relaxed);
}
