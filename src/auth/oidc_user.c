/*
 * DESIGN: single sign-on meets the identity store (docs/design/0022). A
 * login's identity becomes a Horus user of the same name whose role and
 * camera grant follow the IdP's claims at every login, so that removing
 * someone from a group at the IdP takes effect at their next sign-in; a
 * disabled Horus user stays out whatever the IdP says. An access token's
 * identity becomes a principal without a user row (programs have none).
 *
 * The token cache keeps, per slot, the SHA-256 of a verified token, a
 * copy of what its principal needs and the token's exp; a lookup hashes
 * the token and copies the entry out under the one mutex.
 * Thread: any (the cache's mutex guards its slots only).
 */
#include "oidc_user.h"

#include "auth_token.h"
#include "auth_user.h"
#include "err.h"
#include "mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRANT_MAX (AUTH_GRANT_TEXT_MAX)

int auth_oidc_identity_grant(const struct auth_oidc_identity *id, char *out, size_t cap, char *why,
                             size_t why_cap)
{
    if (id->all_cameras) {
        snprintf(out, cap, "*");
        return 0;
    }
    if (id->ncameras == 0) {
        snprintf(why, why_cap, "camera claim: grants no camera");
        return -EINVAL;
    }
    char *joined = horus_strdup("");
    size_t len = 0;
    for (size_t i = 0; i < id->ncameras; i++) {
        size_t n = strlen(id->cameras[i]);
        joined = horus_realloc(joined, len + n + 2);
        if (len)
            joined[len++] = ',';
        memcpy(joined + len, id->cameras[i], n + 1);
        len += n;
    }
    char cwhy[160];
    int rc = auth_cameras_normalize(joined, out, cap, cwhy, sizeof(cwhy));
    if (rc < 0)
        snprintf(why, why_cap, "camera claim: %s", cwhy);
    free(joined);
    return rc;
}

int auth_oidc_user_sync(sto_db *db, const struct auth_oidc_identity *id,
                        struct auth_principal **out, char *why, size_t why_cap)
{
    *out = NULL;
    if (!auth_user_name_is_valid(id->username)) {
        snprintf(why, why_cap, "user name from the IdP is not 1..64 characters of [A-Za-z0-9._@-]");
        return -EACCES;
    }
    char grant[GRANT_MAX];
    int rc = auth_oidc_identity_grant(id, grant, sizeof(grant), why, why_cap);
    if (rc < 0)
        return rc;
    enum auth_role role;
    if (auth_role_parse(id->role, &role) < 0) {
        snprintf(why, why_cap, "mapped role '%s' is unknown", id->role);
        return -EACCES;
    }
    struct sto_user u;
    rc = sto_user_get(db, id->username, &u);
    if (rc == -ENOENT) {
        if (!id->create_user) {
            snprintf(why, why_cap,
                     "user '%s' does not exist in Horus and auth.oidc.create_users is off",
                     id->username);
            return -EACCES;
        }
        char unused[32];
        char cwhy[200];
        struct auth_user_options o = {.name = id->username, .role = role, .cameras = grant};
        rc = auth_user_create(db, &o, unused, cwhy, sizeof(cwhy));
        memset(unused, 0, sizeof(unused));
        /* Two first logins at once: the other one made it. */
        if (rc < 0 && rc != -EEXIST) {
            snprintf(why, why_cap, "create user '%s': %s", id->username, cwhy);
            return rc == -EINVAL ? -EACCES : rc;
        }
        rc = sto_user_get(db, id->username, &u);
    }
    if (rc < 0) {
        snprintf(why, why_cap, "read user '%s': %s", id->username, horus_strerror(rc));
        return rc;
    }
    if (u.disabled) {
        snprintf(why, why_cap, "user '%s' is disabled", id->username);
        sto_user_release(&u);
        return -EACCES;
    }
    if (strcmp(u.role, id->role) != 0 || strcmp(u.cameras, grant) != 0) {
        struct sto_user_input in = sto_user_input_of(&u);
        in.role = id->role;
        in.cameras = grant;
        rc = sto_user_update(db, &in);
        if (rc < 0) {
            snprintf(why, why_cap, "update user '%s': %s", id->username, horus_strerror(rc));
            sto_user_release(&u);
            return rc;
        }
        free(u.role);
        u.role = horus_strdup(id->role);
        free(u.cameras);
        u.cameras = horus_strdup(grant);
    }
    struct auth_principal *p = auth_principal_of_user(&u, AUTH_KIND_SESSION, "");
    sto_user_release(&u);
    if (!p) {
        snprintf(why, why_cap, "user '%s' has an unusable role or grant", id->username);
        return -EACCES;
    }
    *out = p;
    return 0;
}

int auth_oidc_token_principal(const struct auth_oidc_identity *id, struct auth_principal **out,
                              char *why, size_t why_cap)
{
    *out = NULL;
    char grant[GRANT_MAX];
    enum auth_role role;
    int rc = auth_oidc_identity_grant(id, grant, sizeof(grant), why, why_cap);
    if (rc < 0)
        return rc;
    if (auth_role_parse(id->role, &role) < 0) {
        snprintf(why, why_cap, "mapped role '%s' is unknown", id->role);
        return -EINVAL;
    }
    struct auth_principal *p = auth_principal_new(AUTH_KIND_JWT, id->subject, id->username, role);
    if (auth_principal_set_cameras(p, grant) < 0) {
        snprintf(why, why_cap, "camera claim: not a grant");
        auth_principal_free(p);
        return -EINVAL;
    }
    *out = p;
    return 0;
}

/* ---- the cache of verified tokens ---- */

struct slot {
    char sha256[AUTH_SHA256_HEX_LEN]; /* "" = empty */
    int64_t expires_at_s;
    enum auth_kind kind;
    enum auth_role role;
    char id[AUTH_ID_MAX], name[AUTH_NAME_MAX], user[AUTH_NAME_MAX], tenant[AUTH_ID_MAX];
    char *grant; /* owned: "*" or ids separated by commas */
};

struct auth_token_cache {
    pthread_mutex_t mu;
    struct slot *slots; /* owned */
    size_t nslots; /* a power of two */
    size_t count;
    uint64_t hits;
};

auth_token_cache *auth_token_cache_new(size_t slots)
{
    size_t n = 16;
    while (n < slots && n < ((size_t)1 << 24))
        n <<= 1;
    auth_token_cache *c = horus_calloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->slots = horus_calloc(n, sizeof(*c->slots));
    c->nslots = n;
    return c;
}

void auth_token_cache_free(auth_token_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nslots; i++)
        free(c->slots[i].grant);
    free(c->slots);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static size_t slot_of(const auth_token_cache *c, const char *hex)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 4 | (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : (hex[i] | 0x20) - 'a' + 10);
    return (size_t)v & (c->nslots - 1);
}

static void slot_clear(auth_token_cache *c, struct slot *s)
{
    free(s->grant);
    memset(s, 0, sizeof(*s));
    c->count--;
}

struct auth_principal *auth_token_cache_get(auth_token_cache *c, const char *token, size_t len,
                                            int64_t now_s)
{
    char hex[AUTH_SHA256_HEX_LEN];
    auth_sha256_hex(token, len, hex);
    struct slot copy = {0};
    pthread_mutex_lock(&c->mu);
    struct slot *s = &c->slots[slot_of(c, hex)];
    if (s->sha256[0] && auth_streq_ct(s->sha256, hex)) {
        if (now_s < s->expires_at_s) {
            copy = *s;
            copy.grant = horus_strdup(s->grant);
            c->hits++;
        } else {
            slot_clear(c, s);
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (!copy.grant)
        return NULL;
    struct auth_principal *p = auth_principal_new(copy.kind, copy.id, copy.name, copy.role);
    memcpy(p->user, copy.user, sizeof(p->user));
    memcpy(p->tenant, copy.tenant, sizeof(p->tenant));
    int rc = auth_principal_set_cameras(p, copy.grant);
    free(copy.grant);
    if (rc < 0) {
        auth_principal_free(p);
        return NULL;
    }
    return p;
}

/* p's grant in the form auth_principal_set_cameras reads (groups unexpanded). */
static char *grant_of(const struct auth_principal *p)
{
    return horus_strdup(auth_principal_grant(p));
}

void auth_token_cache_put(auth_token_cache *c, const char *token, size_t len,
                          const struct auth_principal *p, int64_t expires_at_s)
{
    char hex[AUTH_SHA256_HEX_LEN];
    auth_sha256_hex(token, len, hex);
    char *grant = grant_of(p);
    pthread_mutex_lock(&c->mu);
    struct slot *s = &c->slots[slot_of(c, hex)];
    if (s->sha256[0])
        slot_clear(c, s);
    memcpy(s->sha256, hex, sizeof(hex));
    s->expires_at_s = expires_at_s;
    s->kind = p->kind;
    s->role = p->role;
    memcpy(s->id, p->id, sizeof(s->id));
    memcpy(s->name, p->name, sizeof(s->name));
    memcpy(s->user, p->user, sizeof(s->user));
    memcpy(s->tenant, p->tenant, sizeof(s->tenant));
    s->grant = grant;
    c->count++;
    pthread_mutex_unlock(&c->mu);
}

size_t auth_token_cache_count(auth_token_cache *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->count;
    pthread_mutex_unlock(&c->mu);
    return n;
}

uint64_t auth_token_cache_hits(auth_token_cache *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t n = c->hits;
    pthread_mutex_unlock(&c->mu);
    return n;
}
