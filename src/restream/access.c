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
#include "auth_digest.h"
#include "auth_groups.h"
#include "auth_user.h"
#include "err.h"
#include "http.h"
#include "log.h"

#include <errno.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* The client's address without its port, for the login limiter; false when it does not parse. */
static bool client_addr(const struct rs_conn *c, struct http_addr *addr)
{
    char host[64];
    snprintf(host, sizeof(host), "%s", c->info.client);
    char *colon = strrchr(host, ':');
    if (colon)
        *colon = '\0';
    char *h = host[0] == '[' ? host + 1 : host;
    size_t hl = strlen(h);
    if (hl && h[hl - 1] == ']')
        h[--hl] = '\0';
    return http_addr_parse(h, hl, addr) == 0;
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
        bool has_addr = client_addr(c, &addr);
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

/*
 * Digest nonces: the second they were made (16 hex digits) and the first
 * 16 bytes of an HMAC-SHA256 of it under the server's key (32 hex), so any
 * thread can check one without keeping state. A nonce is good for
 * NONCE_TTL_S; a right response with an older one gets stale=TRUE, and
 * clients answer the new challenge without asking the user again.
 */
#define NONCE_TTL_S 300

static void nonce_sign(const struct restream_server *s, const char *when, char out[33])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), s->nonce_key, sizeof(s->nonce_key), (const unsigned char *)when,
         strlen(when), mac, &len);
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

void rs_access_nonce(struct restream_server *s, char out[RS_NONCE_LEN + 1])
{
    char when[17];
    snprintf(when, sizeof(when), "%016llx",
             (unsigned long long)(clock_realtime_ms(s->opt.clock) / 1000));
    char sig[33];
    nonce_sign(s, when, sig);
    snprintf(out, RS_NONCE_LEN + 1, "%s%s", when, sig);
}

/* 0: s made nonce less than NONCE_TTL_S ago; -ESTALE: earlier; -EINVAL: not one of s's. */
static int nonce_check(const struct restream_server *s, const char *nonce)
{
    if (strlen(nonce) != RS_NONCE_LEN || strspn(nonce, "0123456789abcdef") != RS_NONCE_LEN)
        return -EINVAL;
    char when[17], sig[33];
    memcpy(when, nonce, 16);
    when[16] = '\0';
    nonce_sign(s, when, sig);
    if (CRYPTO_memcmp(sig, nonce + 16, 32) != 0)
        return -EINVAL;
    long long made = strtoll(when, NULL, 16), now = clock_realtime_ms(s->opt.clock) / 1000;
    return made > now + 5 ? -EINVAL : now - made > NONCE_TTL_S ? -ESTALE : 0;
}

static bool span_is(struct rtsp_span s, const char *word)
{
    return s.len == strlen(word) && strncasecmp(s.p, word, s.len) == 0;
}

/*
 * Digest credentials (RFC 2617, MD5, qop "auth" or none): 0 with *out, or
 * the status to answer. The response is checked against the kept HA1 of
 * the user or API key (hk_<id>) named, for this request's method and URI.
 */
static int digest(struct rs_conn *c, const struct rtsp_msg *m, struct rtsp_span value,
                  struct auth_principal **out, unsigned *retry_s)
{
    struct restream_server *s = c->srv;
    struct rtsp_auth_params a;
    char uri[RTSP_AUTH_FIELD_MAX], method[32];
    snprintf(uri, sizeof(uri), "%.*s", (int)m->uri.len, m->uri.p);
    snprintf(method, sizeof(method), "%.*s", (int)m->method.len, m->method.p);
    const char *bad = NULL;
    if (rtsp_auth_parse(value, &a) < 0)
        bad = "malformed Authorization";
    else if (strcmp(a.realm, RS_REALM) != 0)
        bad = "another realm";
    else if (a.algorithm[0] && strcasecmp(a.algorithm, "MD5") != 0)
        bad = "an algorithm other than MD5";
    else if (a.qop[0] && (strcmp(a.qop, "auth") != 0 || !a.nc[0] || !a.cnonce[0]))
        bad = "a qop other than auth, or one without nc and cnonce";
    else if (!a.username[0] || strlen(a.response) != 32)
        bad = "no username or response";
    else if (strcmp(a.uri, uri) != 0)
        bad = "a uri that is not the request's";
    if (bad) {
        log_info_kv(LOG_KV({"client", c->info.client}), "re-stream Digest refused: %s", bad);
        return 401;
    }
    int rc = nonce_check(s, a.nonce);
    if (rc == -EINVAL) {
        log_info_kv(LOG_KV({"client", c->info.client}, {"user", a.username}),
                    "re-stream Digest refused: a nonce this server did not make");
        return 401;
    }
    bool is_stale = rc == -ESTALE;
    struct http_addr addr;
    bool has_addr = client_addr(c, &addr);
    bool is_key = strncmp(a.username, "hk_", 3) == 0;
    if (!is_key && s->opt.login_limit &&
        auth_login_limit_check(s->opt.login_limit, a.username, has_addr ? &addr : NULL, retry_s) <
            0)
        return 503;
    char ha1[33], want[33];
    struct auth_principal *p = NULL;
    rc = auth_digest_lookup(s->opt.db, a.username, clock_realtime_ms(s->opt.clock), ha1, &p);
    bool is_right = false;
    if (rc == 0 &&
        rtsp_digest_response(ha1, a.nonce, method, a.uri, a.qop, a.nc, a.cnonce, want) == 0) {
        for (char *q = a.response; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        is_right = CRYPTO_memcmp(want, a.response, 32) == 0;
    }
    OPENSSL_cleanse(ha1, sizeof(ha1));
    OPENSSL_cleanse(want, sizeof(want));
    if (!is_key && s->opt.login_limit && rc != -EACCES && rc != -ENODATA)
        auth_login_limit_record(s->opt.login_limit, a.username, has_addr ? &addr : NULL, is_right);
    int status = 0;
    if (rc == -EACCES) {
        log_warn_kv(LOG_KV({"client", c->info.client}, {"user", a.username}),
                    "re-stream login refused: the user has a second factor or must change the "
                    "password; use an API key or a media token");
        status = 403;
    } else if (rc == -ENODATA) {
        log_warn_kv(LOG_KV({"client", c->info.client}, {"user", a.username}),
                    "re-stream Digest refused: no Digest secret is kept for it yet (a user's is "
                    "kept at the next login or password change, an API key's only for keys made "
                    "while restream.rtsp.digest is on); use Basic meanwhile");
        status = 401;
    } else if (rc < 0 && rc != HORUS_EAUTH) {
        status = 503;
    } else if (!is_right) {
        log_info_kv(LOG_KV({"client", c->info.client}, {"user", a.username}),
                    "re-stream login refused: wrong user, password or API key");
        status = 401;
    } else if (is_stale) {
        c->is_nonce_stale = true; /* right, but answered to an old challenge: ask again */
        status = 401;
    }
    if (status) {
        auth_principal_free(p);
        return status;
    }
    *out = p;
    return 0;
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
        struct rtsp_span scheme = {authz.p, 0};
        while (authz.p && scheme.len < authz.len && authz.p[scheme.len] != ' ')
            scheme.len++;
        c->is_nonce_stale = false;
        if (authz.p && s->opt.digest && span_is(scheme, "Digest"))
            status = digest(c, m, authz, &p, retry_s);
        else if (authz.p)
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
