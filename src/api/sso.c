/*
 * DESIGN: single sign-on routes and the IdP's bearer tokens
 * (docs/design/0022-oidc-and-jwt.md). GET /api/v1/auth/oidc/login starts
 * the authorization code flow (auth_oidc_login_begin) and redirects the
 * browser to the IdP; GET /api/v1/auth/oidc/callback finishes it
 * (auth_oidc_login_finish), signs the identity in as the Horus user of the
 * same name (auth_oidc_user_sync: role and grant from the IdP's claims)
 * and opens a cookie session exactly as a password login does
 * (auth_session_open). Its reply is a small page that moves the browser
 * on to return_to, not a 302: the callback is reached by a cross-site
 * redirect from the IdP, and a browser sends no SameSite=Strict cookie on
 * a redirect chain that started on another site, so a 302 would land the
 * user on a page that looks signed out. Every refusal is the same 400 or
 * 401; the reason goes to the audit log (login.failed) only.
 *
 * Sessions opened this way keep the ID token in memory for the logout
 * URL's id_token_hint (api_sso_logout_url). Bearer values shaped like a
 * JWT reach api_sso_authenticate_jwt from the gate: a verified token's
 * principal is cached by the token's SHA-256 until its exp, so only the
 * first request with a token pays the signature check.
 * Thread: http-N.
 */
#include "api_int.h"

#include "auth_user.h"
#include "err.h"
#include "log.h"
#include "mem.h"

#define LOG_MODULE "auth"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JWT_CACHE_SLOTS 4096

void api_sso_init(struct api *a)
{
    pthread_mutex_init(&a->sso_sessions.lock, NULL);
    a->sso_sessions.items = horus_calloc(API_SSO_SESSIONS_MAX, sizeof(*a->sso_sessions.items));
    if (a->oidc)
        a->jwt_cache = auth_token_cache_new(JWT_CACHE_SLOTS);
}

static void forget(struct api_sso_session *s)
{
    if (s->id_token) {
        memset(s->id_token, 0, strlen(s->id_token));
        free(s->id_token);
    }
    memset(s, 0, sizeof(*s));
}

void api_sso_release(struct api *a)
{
    for (size_t i = 0; a->sso_sessions.items && i < API_SSO_SESSIONS_MAX; i++)
        forget(&a->sso_sessions.items[i]);
    free(a->sso_sessions.items);
    pthread_mutex_destroy(&a->sso_sessions.lock);
    auth_token_cache_free(a->jwt_cache);
}

/* Remembers session_id's ID token (stolen), replacing the oldest when full. */
static void remember(struct api *a, const char *session_id, char *id_token)
{
    struct api_sso_sessions *ss = &a->sso_sessions;
    pthread_mutex_lock(&ss->lock);
    struct api_sso_session *slot = &ss->items[0];
    for (size_t i = 0; i < API_SSO_SESSIONS_MAX; i++) {
        struct api_sso_session *s = &ss->items[i];
        if (!s->id[0]) {
            slot = s;
            break;
        }
        if (s->seq < slot->seq)
            slot = s;
    }
    forget(slot);
    snprintf(slot->id, sizeof(slot->id), "%s", session_id);
    slot->id_token = id_token;
    slot->seq = ++ss->seq;
    pthread_mutex_unlock(&ss->lock);
}

char *api_sso_logout_url(struct api *a, const char *session_id)
{
    if (!a->oidc)
        return NULL;
    struct api_sso_sessions *ss = &a->sso_sessions;
    char *id_token = NULL;
    bool found = false;
    pthread_mutex_lock(&ss->lock);
    for (size_t i = 0; i < API_SSO_SESSIONS_MAX && !found; i++) {
        struct api_sso_session *s = &ss->items[i];
        if (s->id[0] && strcmp(s->id, session_id) == 0) {
            found = true;
            id_token = s->id_token;
            s->id_token = NULL;
            forget(s);
        }
    }
    pthread_mutex_unlock(&ss->lock);
    if (!found)
        return NULL;
    char *url = auth_oidc_logout_url(a->oidc, id_token);
    if (id_token) {
        memset(id_token, 0, strlen(id_token));
        free(id_token);
    }
    return url;
}

static void audit_login(struct api *a, http_request *req, enum auth_audit_outcome outcome,
                        const char *user, const char *session_id, const char *reason)
{
    struct auth_audit_actor actor = {
        .kind = "oidc", .name = user, .client = http_request_remote(req)};
    json_t *d = json_pack("{s:s}", "kind", "oidc");
    if (reason)
        json_object_set_new(d, "reason", json_string(reason));
    const char *action = outcome == AUTH_AUDIT_OK ? AUTH_AUDIT_LOGIN_OK : AUTH_AUDIT_LOGIN_FAILED;
    auth_audit(a->audit, &actor, action, outcome, session_id ? "session" : NULL, session_id, d);
    json_decref(d);
}

static int sso_off(http_request *req)
{
    return http_reply_error(req, -ENOENT, "single sign-on is not configured (auth.oidc.issuer)");
}

static int login_get(http_request *req, void *arg)
{
    struct api *a = arg;
    if (!a->oidc)
        return sso_off(req);
    char err[256] = "";
    char *url = NULL;
    int rc = auth_oidc_login_begin(a->oidc, http_request_query(req, "return_to"), &url, err,
                                   sizeof(err));
    if (rc == -EINVAL)
        return http_reply_error(req, rc, "return_to: must be a same-origin path such as /cameras");
    if (rc < 0) {
        log_warn_kv(LOG_KV({"remote", http_request_remote(req)}), "single sign-on: %s", err);
        return http_reply_error(req, -EAGAIN,
                                "the identity provider cannot be reached; try again later");
    }
    http_reply_header(req, "Location", url);
    http_reply_header(req, "Cache-Control", "no-store");
    free(url);
    return http_reply(req, 302, NULL, NULL, 0);
}

/* return_to (a same-origin path, checked by auth_oidc_login_begin) escaped for HTML. */
static char *html_escape(const char *s)
{
    size_t cap = strlen(s) * 6 + 1, n = 0;
    char *out = horus_malloc(cap);
    for (; *s; s++) {
        const char *e = *s == '&'    ? "&amp;"
                        : *s == '<'  ? "&lt;"
                        : *s == '>'  ? "&gt;"
                        : *s == '"'  ? "&quot;"
                        : *s == '\'' ? "&#39;"
                                     : NULL;
        if (e) {
            memcpy(out + n, e, strlen(e));
            n += strlen(e);
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    return out;
}

static int reply_signed_in(http_request *req, const char *return_to)
{
    char *to = html_escape(return_to);
    char *body = horus_asprintf("<!doctype html><html><head><meta charset=\"utf-8\">"
                                "<meta http-equiv=\"refresh\" content=\"0;url=%s\">"
                                "<title>Signed in</title></head><body>"
                                "<p>Signed in. <a href=\"%s\">Continue</a></p></body></html>\n",
                                to, to);
    free(to);
    http_reply_header(req, "Cache-Control", "no-store");
    /* The callback's URL held the code and state: no Referer carries it further. */
    http_reply_header(req, "Referrer-Policy", "no-referrer");
    http_reply_header(req, "Content-Security-Policy", "default-src 'none'");
    int rc = http_reply(req, 200, "text/html; charset=utf-8", body, strlen(body));
    free(body);
    return rc;
}

static int callback_get(http_request *req, void *arg)
{
    struct api *a = arg;
    if (!a->oidc)
        return sso_off(req);
    char err[256] = "";
    struct auth_oidc_identity id;
    int rc = auth_oidc_login_finish(a->oidc, http_request_query(req, "state"),
                                    http_request_query(req, "code"),
                                    http_request_query(req, "error"), &id, err, sizeof(err));
    bool is_bad_request = rc == -EINVAL; /* no state or code: not a refusal of anyone */
    struct auth_principal *p = NULL;
    if (rc == 0)
        rc = a->db ? auth_oidc_user_sync(a->db, &id, &p, err, sizeof(err)) : HORUS_EUNAVAIL;
    if (rc < 0) {
        audit_login(a, req, AUTH_AUDIT_FAILED, id.username, NULL, err);
        log_info_limited("single sign-on refused", LOG_KV({"remote", http_request_remote(req)}),
                         "single sign-on refused: %s", err);
        auth_oidc_identity_release(&id);
        if (is_bad_request)
            return http_reply_error(req, rc, "the callback needs the state and code parameters");
        if (rc == HORUS_EDBBUSY || rc == HORUS_EUNAVAIL)
            return http_reply_error(req, rc, "sign-in is unavailable; try again");
        return http_reply_error(req, HORUS_EAUTH, "single sign-on failed");
    }
    /*
     * MFA: the IdP authenticated the user (and ran its own second factor);
     * Horus trusts it. The session row records "sso", so auth.mfa never
     * restricts it, also after a restart (auth_mfa_mark_principal).
     */
    p->via_sso = true;
    struct auth_login in = {.remote = http_request_remote(req),
                            .user_agent = http_request_header(req, "User-Agent"),
                            .now_ms = clock_realtime_ms(a->clock),
                            .session_max_ms = a->session_max_ms};
    struct auth_login_result res;
    rc = auth_session_open(a->db, p, &in, &res);
    if (rc < 0) {
        audit_login(a, req, AUTH_AUDIT_FAILED, id.username, NULL, "open session failed");
        auth_oidc_identity_release(&id);
        return http_reply_error(req, rc, "open session: %s", horus_strerror(rc));
    }
    remember(a, res.session_id, id.id_token);
    id.id_token = NULL;
    audit_login(a, req, AUTH_AUDIT_OK, res.principal->name, res.session_id, NULL);
    log_info_kv(LOG_KV({"user", res.principal->name}, {"remote", http_request_remote(req)}),
                "login (single sign-on)");
    api_session_cookie_set(a, req, res.token, a->session_max_ms / 1000);
    auth_principal_free(res.principal);
    memset(&res, 0, sizeof(res));
    rc = reply_signed_in(req, id.return_to ? id.return_to : "/");
    auth_oidc_identity_release(&id);
    return rc;
}

int api_sso_authenticate_jwt(struct api *a, const char *token, struct auth_principal **out)
{
    *out = NULL;
    if (!a->oidc)
        return HORUS_EAUTH;
    size_t len = strlen(token);
    int64_t now_s = clock_realtime_ms(a->clock) / 1000;
    struct auth_principal *p = auth_token_cache_get(a->jwt_cache, token, len, now_s);
    if (p) {
        *out = p;
        return 0;
    }
    struct auth_oidc_identity id;
    char why[256] = "";
    enum auth_jwt_reason r =
        auth_oidc_verify_access_token(a->oidc, token, len, &id, why, sizeof(why));
    int rc = HORUS_EAUTH;
    if (r == AUTH_JWT_OK && auth_oidc_token_principal(&id, &p, why, sizeof(why)) == 0) {
        auth_token_cache_put(a->jwt_cache, token, len, p, id.expires_at_s);
        *out = p;
        rc = 0;
    } else {
        /* Anyone can send garbage: one line per reason per 10 s, then a count. */
        log_info_limited(
            "bearer token refused",
            LOG_KV({"reason", r == AUTH_JWT_OK ? "bad_claims" : auth_jwt_reason_name(r)}),
            "bearer token refused: %s", why);
    }
    auth_oidc_identity_release(&id);
    return rc;
}

int api_sso_register(http_router *r, struct api *ctx)
{
    int rc = http_router_add(r, "GET", "/api/v1/auth/oidc/login", login_get, ctx);
    if (rc == 0)
        rc = http_router_add(r, "GET", AUTH_OIDC_CALLBACK_PATH, callback_get, ctx);
    return rc;
}
