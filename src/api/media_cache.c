/*
 * DESIGN: which file holds recording (camera, stream, start_us), remembered.
 *
 * A player fetching a recorded range asks for many byte ranges of the same
 * few files, and each lookup in the index costs a reader-pool borrow and an
 * SQLite read transaction (futexes and fcntl locks on the WAL index) — more
 * than serving the bytes. Index rows never change once written, only
 * disappear (retention, check --repair), so a small direct-mapped table of
 * key -> (relative path, sha256) needs no invalidation beyond "the file is
 * gone": the caller drops the entry when open() says ENOENT and answers
 * from the index again.
 *
 * The table belongs to the api object, so two APIs in one process (two
 * data directories) never share entries.
 *
 * Thread: any (one mutex; entries are copied out).
 */
#include "api_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SLOTS API_MEDIA_CACHE_SLOTS

void api_media_cache_init(struct api_media_cache *c)
{
    memset(c->slots, 0, sizeof(c->slots));
    pthread_mutex_init(&c->lock, NULL);
}

void api_media_cache_release(struct api_media_cache *c)
{
    pthread_mutex_destroy(&c->lock);
}

static uint64_t key_of(const char *camera, const char *stream, int64_t start_us, char *key,
                       size_t size)
{
    int n = snprintf(key, size, "%s/%s/%lld", camera, stream, (long long)start_us);
    if (n < 0 || (size_t)n >= size)
        return 0; /* too long to cache */
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (const char *p = key; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211u;
    return h ? h : 1;
}

bool api_media_cache_get(struct api_media_cache *c, const char *camera, const char *stream,
                         int64_t start_us, struct api_media_ref *out)
{
    char key[112];
    uint64_t h = key_of(camera, stream, start_us, key, sizeof(key));
    if (!h)
        return false;
    struct api_media_slot *s = &c->slots[h % SLOTS];
    pthread_mutex_lock(&c->lock);
    bool is_hit = s->hash == h && strcmp(s->key, key) == 0;
    if (is_hit)
        *out = s->ref;
    pthread_mutex_unlock(&c->lock);
    return is_hit;
}

void api_media_cache_put(struct api_media_cache *c, const char *camera, const char *stream,
                         int64_t start_us, const struct api_media_ref *ref)
{
    char key[112];
    uint64_t h = key_of(camera, stream, start_us, key, sizeof(key));
    if (!h)
        return;
    struct api_media_slot *s = &c->slots[h % SLOTS];
    pthread_mutex_lock(&c->lock);
    s->hash = h;
    memcpy(s->key, key, sizeof(s->key));
    s->ref = *ref;
    pthread_mutex_unlock(&c->lock);
}

void api_media_cache_drop(struct api_media_cache *c, const char *camera, const char *stream,
                          int64_t start_us)
{
    char key[112];
    uint64_t h = key_of(camera, stream, start_us, key, sizeof(key));
    if (!h)
        return;
    struct api_media_slot *s = &c->slots[h % SLOTS];
    pthread_mutex_lock(&c->lock);
    if (s->hash == h && strcmp(s->key, key) == 0)
        s->hash = 0;
    pthread_mutex_unlock(&c->lock);
}
