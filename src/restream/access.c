/*
 * DESIGN: who may watch what over RTSP, with the HTTP gate's rules and
 * src/auth's verify paths (docs/design/0054):
 *   - Basic with a Horus user's name and password: the login limiter is
 *     asked first and told the outcome, argon2 verification through
 *     auth_user_verify_password (users with a second factor are refused:
 *     RTSP cannot ask for it);
 *   - Basic with any name and an API key (hk_...) as the password;
 *   - a live media token in the URL (?t=), for the camera (and stream) it
 *     was issued for.
 * Verified credentials are cached as the gate caches them (auth_cache:
 * named by the SHA-256 of kind letter and credential, stale at the next
 * change of the access version), so a client's later requests and
 * reconnects cost no second argon2 run. A connection authenticates once
 * and keeps its principal. The camera must exist, be in the principal's
 * grant and its tenant: otherwise 404, as the HTTP API answers. No
 * credential is ever logged; refusals name the user only. Thread: rtsp-srv.
 */
#include "server_int.h"

#include "auth_api_key.h"
#include "auth_groups.h"
#include "auth_user.h"
#include "err.h"
#include "http.h"
#include "log.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#define LOG_MODULE "restream"

/* Cache key: a kind letter then the credential; wiped after use. */
#define KEY_MAX (2 * RTSP_AUTH_FIELD_MAX + 2)

static int cached_or(struct restream_server *s, char kind, const char *user, const char *secret,
                     struct auth_principal **out,
                     int (*verify)(struct restream_server *, const char *, const char *,
                                   struct auth_principal **, int64_t *))
{
    char key[KEY_MAX];
    int n = snprintf(key, sizeof(key), "%c%s:%s", kind, user, secret);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(key) ? (size_t)n : sizeof(key) - 1;
    int64_t now = clock_realtime_ms(s->opt.clock);
    uint64_t version = sto_access_version(s->opt.db);
    int rc = auth_cache_get(s->cache, key, len, version, now, out);
    if (rc < 0) {
        int64_t until = now + 60000;
        rc = verify(s, user, secret, out, &until);
        if (rc == 0)
            auth_cache_put(s->cache, key, len, version, now, until, *out);
    }
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

static int verify_key(struct restream_server *s, const char *user, const char *secret,
                      struct auth_principal **out, int64_t *until)
{
    (void)user;
    return auth_api_key_authenticate_until(s->opt.db, secret, clock_realtime_ms(s->opt.clock), out,
                                           until);
}

static int verify_password(struct restream_server *s, const char *user, const char *secret,
                           struct auth_principal **out, int64_t *until)
{
    (void)until;
    return auth_user_verify_password(s->opt.db, user, secret, out);
}

/* Basic credentials: 0 with *out, or the status to answer. */
static int basic(struct rs_conn *c, struct rtsp_span value, struct auth_principal **out,
                 unsigned *retry_s)
{
    struct restream_server *s = c->srv;
    char user[RTSP_AUTH_FIELD_MAX], pw[RTSP_AUTH_FIELD_MAX];
    if (rtsp_basic_parse(value, user, pw) < 0)
        return 401;
    int status = 0;
    if (strncmp(pw, "hk_", 3) == 0) {
        if (cached_or(s, 'k', "", pw, out, verify_key) < 0)
            status = 401;
    } else {
        struct http_addr addr;
        char host[64];
        snprintf(host, sizeof(host), "%s", c->info.client);
        char *colon = strrchr(host, ':');
        if (colon)
            *colon = '\0';
        char *h = host[0] == '[' ? host + 1 : host;
        size_t hl = strlen(h);
        if (hl && h[hl - 1] == ']')
            h[--hl] = '\0';
        bool has_addr = http_addr_parse(h, hl, &addr) == 0;
        int rc = s->opt.login_limit ? auth_login_limit_check(s->opt.login_limit, user,
                                                             has_addr ? &addr : NULL, retry_s)
                                    : 0;
        if (rc < 0) {
            status = 503;
        } else {
            rc = cached_or(s, 'p', user, pw, out, verify_password);
            if (s->opt.login_limit)
                auth_login_limit_record(s->opt.login_limit, user, has_addr ? &addr : NULL, rc == 0);
            if (rc == -EACCES) {
                log_warn_kv(LOG_KV({"client", c->info.client}, {"user", user}),
                            "re-stream login refused: the user has a second factor or must "
                            "change the password; use an API key or a media token");
                status = 403;
            } else if (rc < 0) {
                status = 401;
            }
        }
    }
    if (status == 401)
        log_info_kv(LOG_KV({"client", c->info.client}, {"user", user}),
                    "re-stream login refused: wrong user, password or API key");
    OPENSSL_cleanse(pw, sizeof(pw));
    return status;
}

/* A live token for t's camera and stream (or the whole camera): a viewer of that camera only. */
static int token(struct restream_server *s, const char *client, const struct rs_target *t,
                 struct auth_principal **out)
{
    if (!s->opt.media_keys)
        return 401;
    char why[256] = "";
    struct auth_media_scope want = {
        .kind = AUTH_MEDIA_LIVE, .camera = t->camera, .stream = t->stream};
    int rc = auth_media_token_check(s->opt.media_keys, t->token, &want, why, sizeof(why));
    if (rc == -EACCES) {
        want.stream = ""; /* a camera-wide live token opens every stream */
        rc = auth_media_token_check(s->opt.media_keys, t->token, &want, why, sizeof(why));
    }
    if (rc < 0) {
        log_info_kv(LOG_KV({"client", client}, {"camera", t->camera}),
                    "re-stream media token refused: %s", why[0] ? why : horus_strerror(rc));
        return 401;
    }
    struct auth_principal *p =
        auth_principal_new(AUTH_KIND_MEDIA_TOKEN, "", "media token", AUTH_ROLE_VIEWER);
    if (auth_principal_set_cameras(p, t->camera) < 0) {
        auth_principal_free(p);
        return 401;
    }
    char tenant[AUTH_ID_MAX] = "";
    if (sto_camera_tenant(s->opt.db, t->camera, tenant, sizeof(tenant)) == 0)
        snprintf(p->tenant, sizeof(p->tenant), "%s", tenant);
    *out = p;
    return 0;
}

/* Whether principal may watch t's camera: 0, or 403 (not a viewer), 404 (not its), 503. */
static int may_watch(struct restream_server *s, const struct auth_principal *principal,
                     const struct rs_target *t)
{
    if (auth_check(principal, AUTH_PERM_VIEWER) < 0)
        return 403;
    char tenant[AUTH_ID_MAX] = "";
    int rc = sto_camera_tenant(s->opt.db, t->camera, tenant, sizeof(tenant));
    if (rc < 0)
        return rc == -ENOENT ? 404 : 503;
    if (!auth_may_see_camera(principal, t->camera) || !auth_may_see_tenant(principal, tenant))
        return 404;
    return 0;
}

int rs_access_check(struct rs_conn *c, const struct rtsp_msg *m, const struct rs_target *t,
                    bool *challenge, unsigned *retry_s)
{
    struct restream_server *s = c->srv;
    *challenge = false;
    *retry_s = 0;
    if (!c->principal) {
        struct rtsp_span authz = rtsp_msg_header(m, "Authorization");
        struct auth_principal *p = NULL;
        int status;
        if (authz.p)
            status = basic(c, authz, &p, retry_s);
        else if (t->has_token)
            status = token(s, c->info.client, t, &p);
        else
            status = 401;
        if (status == 0 && auth_principal_resolve_groups(p, s->opt.db) < 0) {
            auth_principal_free(p);
            p = NULL;
            status = 503;
        }
        if (status != 0) {
            *challenge = status == 401;
            return status;
        }
        c->principal = p;
    }
    return may_watch(s, c->principal, t);
}

int rs_access_credential(struct restream_server *s, const char *client, const struct rs_target *t,
                         struct auth_principal **out)
{
    *out = NULL;
    if (!t->has_token)
        return 401;
    struct auth_principal *p = NULL;
    int status;
    if (strncmp(t->token, "hk_", 3) == 0) {
        status = cached_or(s, 'k', "", t->token, &p, verify_key) < 0 ? 401 : 0;
        if (status)
            log_info_kv(LOG_KV({"client", client}, {"camera", t->camera}),
                        "re-stream API key refused: unknown, revoked or expired");
    } else {
        status = token(s, client, t, &p);
    }
    if (status == 0 && auth_principal_resolve_groups(p, s->opt.db) < 0)
        status = 503;
    if (status == 0)
        status = may_watch(s, p, t);
    if (status != 0) {
        auth_principal_free(p);
        return status;
    }
    *out = p;
    return 0;
}
