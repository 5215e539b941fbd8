/*
 * A short-lived cache of verified credentials for the request gate
 * (docs/design/0016-identity.md, "The credential cache").
 *
 * Entries are named by the SHA-256 of the presented credential (never the
 * credential itself) and hold the principal it proved (its grant as text,
 * groups unexpanded) until the earliest of: ttl after it was read, the
 * instant the authenticator gave (a session's next last_seen stamp or
 * absolute end, an API key's expiry or next last-use stamp), and the next
 * change of the storage's access version (sto_access_version: any write in
 * this process to users, sessions, keys, factors, tenants, cameras). So a
 * revocation, logout, disable, role or grant change in this process is
 * seen by the very next request, and one made by another process (the
 * command line) within ttl.
 *
 * Bounded (capacity entries in sets of 8, allocated once) and lock-striped: a key's
 * set is chosen by its digest, sets share 16 mutexes, each held for a
 * copy in or out, never during a database read.
 * Thread: any (the stripes' mutexes).
 */
#ifndef HORUS_AUTH_CACHE_H
#define HORUS_AUTH_CACHE_H

#include "auth.h"

#include <stddef.h>
#include <stdint.h>

#define AUTH_CACHE_TTL_MS 1000 /* the default: how late another process's change may be seen */
#define AUTH_CACHE_CAPACITY 4096 /* the default: credentials in use at once, 1.2 KB each */

typedef struct auth_cache auth_cache;

/* A cache of capacity entries (at least one per stripe) living ttl_ms. ttl_ms <= 0: caches nothing.
 */
auth_cache *auth_cache_new(size_t capacity, int64_t ttl_ms);
/* Frees c (its entries wiped first); NULL is a no-op. */
void auth_cache_free(auth_cache *c);

/*
 * The principal cached for credential (n bytes) as a new principal in
 * *out: 0, or -ENOENT when there is none valid at now_ms under version.
 */
int auth_cache_get(auth_cache *c, const void *credential, size_t n, uint64_t version,
                   int64_t now_ms, struct auth_principal **out);

/*
 * Caches a copy of p (groups unexpanded: before auth_principal_resolve_groups)
 * for credential, valid until min(now_ms + ttl, valid_until_ms) while the
 * access version stays version: the one read BEFORE the database read that
 * built p, so that a change committed meanwhile makes the entry stale at
 * once. Replaces the stripe's expired or oldest entry when it is full.
 */
void auth_cache_put(auth_cache *c, const void *credential, size_t n, uint64_t version,
                    int64_t now_ms, int64_t valid_until_ms, const struct auth_principal *p);

/* Drops every entry. */
void auth_cache_clear(auth_cache *c);

/* Entries held now (valid or not yet replaced), and lookups that hit / missed since new. */
struct auth_cache_stats {
    size_t entries;
    uint64_t hits, misses;
};
void auth_cache_stats(auth_cache *c, struct auth_cache_stats *out);

#endif
