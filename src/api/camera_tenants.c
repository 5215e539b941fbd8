/*
 * DESIGN: the gate's cache of camera id -> tenant (docs/design/0024-tenants.md).
 * Every route under /api/v1/cameras/{id} called by a principal other than a
 * superadmin checks the camera's tenant; reading it was a database read per
 * request. Entries live at most API_CAMERA_TENANT_TTL_MS and only while
 * sto_access_version stays what it was before the read (camera and tenant
 * writes move it), exactly like the credential cache (auth_cache.h).
 * Thread: any; sets of WAYS entries chosen by a hash of the id, sharing
 * STRIPES mutexes, each held to copy an entry in or out, never across a read.
 */
#include "api_int.h"

#include "clock.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define WAYS 8

static uint64_t id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *s = (const unsigned char *)id; *s; s++)
        h = (h ^ *s) * 1099511628211ull;
    return h;
}

void api_camera_tenants_init(struct api_camera_tenants *c)
{
    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < API_CAMERA_TENANT_STRIPES; i++)
        pthread_mutex_init(&c->locks[i], NULL);
}

void api_camera_tenants_release(struct api_camera_tenants *c)
{
    for (size_t i = 0; i < API_CAMERA_TENANT_STRIPES; i++)
        pthread_mutex_destroy(&c->locks[i]);
}

int api_camera_tenant(struct api *a, const char *id, char *out, size_t cap)
{
    struct api_camera_tenants *c = &a->camera_tenants;
    size_t len = strlen(id);
    if (len >= sizeof(c->slots[0].id) || cap < sizeof(c->slots[0].tenant))
        return sto_camera_tenant(a->db, id, out, cap);
    size_t set = (size_t)(id_hash(id) % (API_CAMERA_TENANT_SLOTS / WAYS));
    pthread_mutex_t *lock = &c->locks[set % API_CAMERA_TENANT_STRIPES];
    struct api_camera_tenant_slot *slots = &c->slots[set * WAYS];
    int64_t now = clock_monotonic_ns(a->clock) / 1000000;
    uint64_t version = sto_access_version(a->db);
    bool is_hit = false;
    pthread_mutex_lock(lock);
    for (size_t i = 0; i < WAYS && !is_hit; i++) {
        if (slots[i].until_ms > now && slots[i].version == version &&
            strcmp(slots[i].id, id) == 0) {
            memcpy(out, slots[i].tenant, sizeof(slots[i].tenant));
            is_hit = true;
        }
    }
    pthread_mutex_unlock(lock);
    if (is_hit)
        return 0;
    int rc = sto_camera_tenant(a->db, id, out, cap);
    if (rc < 0 || strlen(out) >= sizeof(slots[0].tenant))
        return rc; /* a missing camera is never cached: its creation must show at once anyway */
    pthread_mutex_lock(lock);
    struct api_camera_tenant_slot *s = &slots[0];
    for (size_t i = 0; i < WAYS; i++) {
        if (slots[i].until_ms <= now || strcmp(slots[i].id, id) == 0) {
            s = &slots[i];
            break;
        }
        if (slots[i].until_ms < s->until_ms)
            s = &slots[i];
    }
    memcpy(s->id, id, len + 1);
    snprintf(s->tenant, sizeof(s->tenant), "%s", out);
    s->version = version;
    s->until_ms = now + API_CAMERA_TENANT_TTL_MS;
    pthread_mutex_unlock(lock);
    return 0;
}
