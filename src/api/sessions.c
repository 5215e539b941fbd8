/*
 * DESIGN: /api/v1/auth: password login into a cookie session, logout, the
 * caller's identity, its sessions and its password
 * (docs/design/0016-identity.md). The session token goes out once, in the
 * horus_session cookie (HttpOnly, SameSite=Strict, Path=/, Secure over
 * TLS); the JSON reply carries the CSRF token the page echoes in
 * X-CSRF-Token. Every failed login is the same 401, whatever failed.
 * Thread: http-N.
 */
#include "api_int.h"

#include "auth_http.h"
#include "auth_password.h"
#include "auth_user.h"
#include "err.h"
#include "login_limit.h"
#include "log.h"
#include "mem.h"

#define LOG_MODULE "auth"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *time_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char buf[40];
    clock_format_rfc3339_ms(ms, buf, sizeof(buf));
    return json_string(buf);
}

static const char *const kind_names[] = {"session", "api_key", "jwt", "media_token"};

json_t *api_principal_json(const struct auth_principal *p)
{
    json_t *cameras;
    if (p->is_all_cameras) {
        cameras = json_string("*");
    } else {
        /* The grant as given (ids and "group:NAME"), not the ids its groups stand for now. */
        cameras = json_array();
        const char *g = auth_principal_grant(p);
        while (*g) {
            size_t len = strcspn(g, ",");
            json_array_append_new(cameras, json_stringn(g, len));
            g += len + (g[len] == ',');
        }
    }
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:o, s:b, s:b}", "kind", kind_names[p->kind], "name", p->name,
                  "role", auth_role_name(p->role), "cameras", cameras, "must_change_password",
                  p->must_change_password, "must_enroll_mfa", p->must_enroll_mfa);
    if (p->tenant[0]) /* single-tenant installs never see the field */
        json_object_set_new(j, "tenant", json_string(p->tenant));
    return j;
}

/* Reads string field name of j into *out (borrowed), or replies 400 naming it. */
static int string_field(http_request *req, json_t *j, const char *name, bool is_required,
                        const char **out)
{
    json_t *v = json_object_get(j, name);
    *out = NULL;
    if (!v && !is_required)
        return 0;
    if (!json_is_string(v)) {
        http_reply_error(req, -EINVAL, "%s: must be a string", name);
        return -EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

void api_session_cookie_set(struct api *a, http_request *req, const char *value, int64_t max_age_s)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%lld%s",
             AUTH_SESSION_COOKIE, value, (long long)max_age_s,
             api_request_is_secure(a, req) ? "; Secure" : "");
    http_reply_header(req, "Set-Cookie", buf);
    memset(buf, 0, sizeof(buf));
}

static int login_post(http_request *req, void *arg)
{
    struct api *a = arg;
    json_t *body;
    int rc = http_request_json(req, &body);
    if (rc < 0)
        return rc;
    const char *user, *password, *totp, *recovery;
    if ((rc = string_field(req, body, "username", true, &user)) < 0 ||
        (rc = string_field(req, body, "password", true, &password)) < 0 ||
        (rc = string_field(req, body, "totp", false, &totp)) < 0 ||
        (rc = string_field(req, body, "recovery_code", false, &recovery)) < 0) {
        json_decref(body);
        return rc;
    }
    struct auth_login in = {.username = user,
                            .password = password,
                            .remote = http_request_remote(req),
                            .user_agent = http_request_header(req, "User-Agent"),
                            .now_ms = clock_realtime_ms(a->clock),
                            .session_max_ms = a->session_max_ms,
                            .mfa_policy = a->mfa_policy,
                            .totp = totp,
                            .recovery_code = recovery};
    /* Failed logins slow down per user name and per address (docs/design/0020). */
    unsigned wait_s = 0;
    const struct http_addr *client = http_request_client_addr(req);
    if (a->login_limit && auth_login_limit_check(a->login_limit, user, client, &wait_s) < 0) {
        json_decref(body);
        char retry[16];
        snprintf(retry, sizeof(retry), "%u", wait_s);
        http_reply_header(req, "Retry-After", retry);
        api_audit_denied(a, req, NULL, 429, "login attempts limited");
        return http_reply_error(req, HORUS_ELIMIT, "too many failed logins: retry in %u s", wait_s);
    }
    struct auth_login_result res;
    rc = a->db ? auth_login_password(a->db, &in, &res) : HORUS_EUNAVAIL;
    /*
     * A right password still waiting for its code is not a failure (the
     * browser asks for the code next); a wrong code is, so guessing codes
     * meets the same delays as guessing passwords.
     */
    if (a->login_limit && rc != HORUS_EUNAVAIL && rc != HORUS_EDBBUSY)
        auth_login_limit_record(a->login_limit, user, client,
                                rc == 0 || res.mfa == AUTH_LOGIN_MFA_MISSING);
    if (rc == HORUS_EAUTH && res.mfa != AUTH_LOGIN_MFA_NOT_ASKED) {
        rc = api_mfa_login_refused(a, req, user, res.mfa);
        json_decref(body);
        return rc;
    }
    if (rc == HORUS_EAUTH) {
        log_info_kv(LOG_KV({"remote", http_request_remote(req)}), "login refused");
        /* One reason whatever failed: the entry must not tell who exists. */
        struct auth_audit_actor nobody = {.client = http_request_remote(req)};
        json_t *d = json_pack("{s:s}", "reason", "invalid username or password");
        auth_audit(a->audit, &nobody, AUTH_AUDIT_LOGIN_FAILED, AUTH_AUDIT_FAILED, "user",
                   auth_user_name_is_valid(user) ? user : NULL, d);
        json_decref(d);
        json_decref(body);
        return http_reply_error(req, HORUS_EAUTH, "invalid username or password");
    }
    json_decref(body);
    if (rc < 0)
        return http_reply_error(req, rc, "open session: %s", horus_strerror(rc));
    log_info_kv(LOG_KV({"user", res.principal->name}, {"remote", http_request_remote(req)}),
                "login");
    struct auth_audit_actor actor = auth_audit_actor_of(res.principal, http_request_remote(req));
    json_t *d = json_pack("{s:s}", "session_id", res.session_id);
    auth_audit(a->audit, &actor, AUTH_AUDIT_LOGIN_OK, AUTH_AUDIT_OK, "user", res.principal->name,
               d);
    json_decref(d);
    if (res.mfa == AUTH_LOGIN_MFA_RECOVERY)
        api_mfa_recovery_used(a, req, res.principal);
    api_session_cookie_set(a, req, res.token, a->session_max_ms / 1000);
    json_t *j = json_pack("{s:s, s:s, s:o, s:o}", "csrf_token", res.csrf_token, "session_id",
                          res.session_id, "expires_at", time_json(res.expires_at_ms), "principal",
                          api_principal_json(res.principal));
    auth_principal_free(res.principal);
    memset(&res, 0, sizeof(res));
    return http_reply_json(req, 200, j);
}

static int logout_post(http_request *req, void *arg)
{
    struct api *a = arg;
    const struct auth_principal *p = api_principal(req);
    if (p->kind == AUTH_KIND_SESSION) {
        int rc = sto_session_delete(a->db, p->id);
        if (rc < 0)
            return http_reply_error(req, rc, "end session: %s", horus_strerror(rc));
        api_session_cookie_set(a, req, "", 0);
        auth_audit_request(a->audit, req, AUTH_AUDIT_LOGOUT, AUTH_AUDIT_OK, "session", p->id, NULL);
        /* A session opened by single sign-on also ends at the IdP: the browser goes there. */
        char *url = api_sso_logout_url(a, p->id);
        if (url) {
            json_t *j = json_pack("{s:s}", "logout_url", url);
            free(url);
            return http_reply_json(req, 200, j);
        }
    }
    return http_reply(req, 204, NULL, NULL, 0);
}

static int me_get(http_request *req, void *arg)
{
    (void)arg;
    const struct auth_principal *p = api_principal(req);
    json_t *j = api_principal_json(p);
    /* A page signed in by SSO never saw the login reply: it reads its CSRF token here. */
    if (p->kind == AUTH_KIND_SESSION && p->csrf_token[0])
        json_object_set_new(j, "csrf_token", json_string(p->csrf_token));
    return http_reply_json(req, 200, j);
}

/*
 * GET /api/v1/auth/session (public): whether the caller is signed in,
 * answered 200 either way, so that a page asking before anyone signed in
 * logs no failed request. Signed in: the principal, as /auth/me gives it.
 * Not: `session_cookie` says whether a session cookie came that did not
 * make a usable session (expired, revoked, or waiting for its password
 * change), which /auth/me then explains.
 */
static int session_get(http_request *req, void *arg)
{
    (void)arg;
    const struct auth_principal *p = api_principal(req);
    if (p) {
        json_t *j = api_principal_json(p);
        if (p->kind == AUTH_KIND_SESSION && p->csrf_token[0])
            json_object_set_new(j, "csrf_token", json_string(p->csrf_token));
        return http_reply_json(req, 200, json_pack("{s:b, s:o}", "signed_in", 1, "principal", j));
    }
    char token[AUTH_SESSION_TOKEN_MAX + 16];
    bool has_cookie = auth_cookie_get(http_request_header(req, "Cookie"), AUTH_SESSION_COOKIE,
                                      token, sizeof(token)) != -ENOENT;
    memset(token, 0, sizeof(token));
    return http_reply_json(req, 200,
                           json_pack("{s:b, s:b}", "signed_in", 0, "session_cookie", has_cookie));
}

static json_t *session_json(const struct sto_session *s, const char *current_id)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:s}", "id", s->id, "user",
                     s->user_name, "remote", s->remote, "user_agent", s->user_agent, "created_at",
                     time_json(s->created_at_ms), "last_seen_at", time_json(s->last_seen_ms),
                     "expires_at", time_json(s->expires_at_ms), "current",
                     current_id && strcmp(s->id, current_id) == 0, "method",
                     s->method ? s->method : STO_SESSION_PASSWORD);
}

static bool is_admin(const struct auth_principal *p)
{
    return p->role >= AUTH_ROLE_ADMIN && !p->must_change_password;
}

/*
 * Whether p may see user's sessions: its own, or an admin's of a user in a
 * tenant it sees (api_may_see; docs/design/0024). A user that vanished
 * meanwhile counts as a user of no tenant.
 */
static bool may_see_sessions_of(struct api *a, const http_request *req,
                                const struct auth_principal *p, const char *user)
{
    if (strcmp(user, p->user) == 0)
        return true;
    if (!is_admin(p))
        return false;
    if (p->role == AUTH_ROLE_SUPERADMIN)
        return true;
    struct sto_user u;
    if (sto_user_get(a->db, user, &u) < 0)
        return api_may_see(req, NULL, "");
    bool ok = api_may_see(req, NULL, u.tenant);
    sto_user_release(&u);
    return ok;
}

static int sessions_get(http_request *req, void *arg)
{
    struct api *a = arg;
    const struct auth_principal *p = api_principal(req);
    const char *user = http_request_query(req, "user");
    if (user && !is_admin(p))
        return http_reply_error(req, -EACCES, "only admins may list other users' sessions");
    if (!user)
        user = p->user;
    if (!user[0])
        return http_reply_json(req, 200, json_pack("{s:[]}", "items"));
    struct sto_session *list = NULL;
    size_t n = 0;
    int rc = sto_session_list(a->db, strcmp(user, "*") == 0 ? NULL : user, &list, &n);
    if (rc < 0)
        return http_reply_error(req, rc, "list sessions: %s", horus_strerror(rc));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        if (may_see_sessions_of(a, req, p, list[i].user_name)) /* other tenants': absent */
            json_array_append_new(
                items, session_json(&list[i], p->kind == AUTH_KIND_SESSION ? p->id : NULL));
    sto_session_list_free(list, n);
    return http_reply_json(req, 200, json_pack("{s:o}", "items", items));
}

static int session_delete(http_request *req, void *arg)
{
    struct api *a = arg;
    const struct auth_principal *p = api_principal(req);
    const char *id = http_request_param(req, "id");
    struct sto_session s;
    int rc = strlen(id) < AUTH_ID_MAX ? sto_session_get(a->db, id, &s) : -ENOENT;
    /* Someone else's session is as absent as a missing one, unless an admin of its tenant asks. */
    if (rc == 0 && !may_see_sessions_of(a, req, p, s.user_name)) {
        sto_session_release(&s);
        rc = -ENOENT;
    }
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "session '%s' does not exist", id);
    if (rc < 0)
        return http_reply_error(req, rc, "read session: %s", horus_strerror(rc));
    json_t *d = json_pack("{s:s}", "user", s.user_name);
    sto_session_release(&s);
    rc = sto_session_delete(a->db, id);
    if (rc < 0) {
        json_decref(d);
        return http_reply_error(req, rc, "end session: %s", horus_strerror(rc));
    }
    auth_audit_request(a->audit, req, AUTH_AUDIT_SESSION_REVOKED, AUTH_AUDIT_OK, "session", id, d);
    json_decref(d);
    if (p->kind == AUTH_KIND_SESSION && strcmp(p->id, id) == 0)
        api_session_cookie_set(a, req, "", 0);
    return http_reply(req, 204, NULL, NULL, 0);
}

static int password_post(http_request *req, void *arg)
{
    struct api *a = arg;
    const struct auth_principal *p = api_principal(req);
    if (!p->user[0] || p->kind == AUTH_KIND_API_KEY)
        return http_reply_error(req, -EINVAL, "only a signed-in user has a password to change");
    json_t *body;
    int rc = http_request_json(req, &body);
    if (rc < 0)
        return rc;
    const char *current, *next;
    if ((rc = string_field(req, body, "current", true, &current)) < 0 ||
        (rc = string_field(req, body, "new", true, &next)) < 0) {
        json_decref(body);
        return rc;
    }
    struct sto_user u;
    rc = sto_user_get(a->db, p->user, &u);
    bool ok = auth_password_verify(rc == 0 ? u.password_hash : NULL, current);
    if (rc == 0)
        sto_user_release(&u);
    char why[200] = "";
    if (!ok) {
        json_decref(body);
        json_t *d = json_pack("{s:s}", "reason", "the current password is wrong");
        auth_audit_request(a->audit, req, AUTH_AUDIT_PASSWORD_CHANGED, AUTH_AUDIT_FAILED, "user",
                           p->user, d);
        json_decref(d);
        return http_reply_error(req, -EACCES, "current: the password is wrong");
    }
    if (strcmp(current, next) == 0) {
        json_decref(body);
        return http_reply_error(req, -EINVAL, "new: must differ from the current password");
    }
    rc = auth_user_set_password(a->db, p->user, next, false,
                                p->kind == AUTH_KIND_SESSION ? p->id : NULL, why, sizeof(why));
    json_decref(body);
    if (rc == -EINVAL)
        return http_reply_error(req, rc, "new%s", why + strlen("password"));
    if (rc < 0)
        return http_reply_error(req, rc, "change password: %s", horus_strerror(rc));
    log_info_kv(LOG_KV({"user", p->user}), "password changed");
    auth_audit_request(a->audit, req, AUTH_AUDIT_PASSWORD_CHANGED, AUTH_AUDIT_OK, "user", p->user,
                       NULL);
    return http_reply(req, 204, NULL, NULL, 0);
}

int api_auth_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"POST", "/api/v1/auth/login", login_post},
        {"POST", "/api/v1/auth/logout", logout_post},
        {"GET", "/api/v1/auth/me", me_get},
        {"GET", "/api/v1/auth/session", session_get},
        {"GET", "/api/v1/auth/sessions", sessions_get},
        {"DELETE", "/api/v1/auth/sessions/{id}", session_delete},
        {"POST", "/api/v1/auth/password", password_post},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
