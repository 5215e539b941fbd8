/*
 * DESIGN: the gate every request passes between routing and its handler
 * (docs/design/0016-identity.md). Who may call a route is declared once,
 * as "x-horus-permission" on the operation in openapi.json; api_register
 * reads it for every registered route (a route without one fails
 * registration) and the router calls api_gate with the route's index.
 *
 * The gate authenticates the request with the first credential kind that
 * is present (one function per kind in `authenticators`: API keys and
 * sessions today; JWT access tokens and ?t= media tokens plug in there),
 * checks the role against the permission (401 with WWW-Authenticate, 403),
 * the CSRF rules of cookie sessions on state-changing methods, and the
 * camera grant of routes under /api/v1/cameras/{id}: a camera outside the
 * grant answers the very 404 a missing camera gets. Handlers of lists and
 * of objects that belong to a camera (exports) filter with
 * api_may_see_camera. The principal rides on the request
 * (http_request_set_principal) and is freed with it.
 * Thread: http-N.
 */
#include "api_int.h"

#include "auth_api_key.h"
#include "auth_http.h"
#include "auth_token.h"
#include "auth_user.h"
#include "err.h"
#include "log.h"
#include "mem.h"

#define LOG_MODULE "auth"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_permissions_load(const char *doc_json, size_t len, const http_router *r,
                         enum auth_perm **out, size_t *n, char *why, size_t why_cap)
{
    *out = NULL;
    *n = 0;
    json_error_t err;
    json_t *doc = json_loadb(doc_json, len, 0, &err);
    if (!doc) {
        snprintf(why, why_cap, "openapi.json:%d:%d: %s", err.line, err.column, err.text);
        return -EINVAL;
    }
    json_t *paths = json_object_get(doc, "paths");
    size_t count = 0;
    const char *method, *tmpl;
    while (http_router_route_at(r, count, &method, &tmpl))
        count++;
    enum auth_perm *perms = horus_calloc(count ? count : 1, sizeof(*perms));
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        http_router_route_at(r, i, &method, &tmpl);
        char m[16];
        size_t k = 0;
        for (; method[k] && k + 1 < sizeof(m); k++)
            m[k] = (char)tolower((unsigned char)method[k]);
        m[k] = '\0';
        json_t *op = json_object_get(json_object_get(paths, tmpl), m);
        const char *perm = json_string_value(json_object_get(op, "x-horus-permission"));
        if (!perm) {
            snprintf(why, why_cap, "route %s %s declares no x-horus-permission in openapi.json",
                     method, tmpl);
            rc = -EINVAL;
        } else if (auth_perm_parse(perm, &perms[i]) < 0) {
            snprintf(why, why_cap,
                     "route %s %s: x-horus-permission '%s' is not public, metrics, self, viewer, "
                     "operator, admin or superadmin",
                     method, tmpl, perm);
            rc = -EINVAL;
        }
    }
    json_decref(doc);
    if (rc < 0) {
        free(perms);
        return rc;
    }
    *out = perms;
    *n = count;
    return 0;
}

const struct auth_principal *api_principal(const http_request *req)
{
    return http_request_principal(req);
}

bool api_may_see_camera(const http_request *req, const char *id)
{
    const struct auth_principal *p = api_principal(req);
    return !p || auth_may_see_camera(p, id);
}

bool api_request_is_secure(const struct api *ctx, const http_request *req)
{
    (void)req;
    return strncmp(ctx->public_url, "https://", 8) == 0;
}

/* ---- one authenticator per credential kind ---- */

/*
 * Each returns 0 with a new principal, -ENOENT when its kind of credential
 * is absent (the next one is tried), HORUS_EAUTH when it is present but
 * invalid, or another error (the database is busy).
 */
typedef int (*authenticator_fn)(struct api *a, http_request *req, struct auth_principal **out);

static int authenticate_bearer(struct api *a, http_request *req, struct auth_principal **out)
{
    char token[AUTH_TOKEN_MAX + 1];
    int rc = auth_bearer_parse(http_request_header(req, "Authorization"), token, sizeof(token));
    if (rc == -ENOENT)
        return http_request_header(req, "Authorization") ? HORUS_EAUTH : -ENOENT;
    if (rc < 0)
        return HORUS_EAUTH;
    if (strncmp(token, "hk_", 3) == 0)
        rc = auth_api_key_authenticate(a->db, token, clock_realtime_ms(a->clock), out);
    else
        rc = HORUS_EAUTH; /* HOOK (OIDC): other bearer tokens are the IdP's JWT access tokens */
    memset(token, 0, sizeof(token));
    return rc;
}

static int authenticate_cookie(struct api *a, http_request *req, struct auth_principal **out)
{
    char token[AUTH_SESSION_TOKEN_MAX + 16];
    int rc = auth_cookie_get(http_request_header(req, "Cookie"), AUTH_SESSION_COOKIE, token,
                             sizeof(token));
    if (rc == -ENOENT)
        return -ENOENT;
    if (rc == 0)
        rc = auth_session_authenticate(a->db, token, clock_realtime_ms(a->clock),
                                       a->session_idle_ms, out);
    memset(token, 0, sizeof(token));
    return rc < 0 && rc != HORUS_EAUTH && rc != HORUS_EDBBUSY ? HORUS_EAUTH : rc;
}

static const struct {
    const char *name;
    authenticator_fn fn;
} authenticators[] = {
    {"bearer", authenticate_bearer}, {"session", authenticate_cookie},
    /* HOOK (media tokens): "?t=" signed media URLs on media routes */
};

static int authenticate(struct api *a, http_request *req, struct auth_principal **out)
{
    *out = NULL;
    if (!a->db)
        return HORUS_EAUTH;
    for (size_t i = 0; i < HORUS_ARRAY_LEN(authenticators); i++) {
        int rc = authenticators[i].fn(a, req, out);
        if (rc != -ENOENT)
            return rc;
    }
    return -ENOENT;
}

static int reply_unauthenticated(http_request *req, bool had_credentials)
{
    http_reply_header(req, "WWW-Authenticate", "Bearer realm=\"horus\"");
    return http_reply_error(req, HORUS_EAUTH, "%s",
                            had_credentials ? "invalid or expired credentials"
                                            : "authentication required: sign in or send "
                                              "'Authorization: Bearer <API key>'");
}

static int reply_forbidden(http_request *req, const char *code, const char *msg)
{
    json_t *j = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
    return http_reply_json(req, 403, j);
}

static bool is_safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

/*
 * Cookie sessions changing state must echo the CSRF token and come from
 * the same origin. Returns 0, or non-zero after replying 403.
 */
static int check_csrf(struct api *a, http_request *req, const struct auth_principal *p)
{
    const char *token = http_request_header(req, "X-CSRF-Token");
    if (!token || !p->csrf_token[0] || !auth_streq_ct(token, p->csrf_token)) {
        reply_forbidden(req, "csrf_failed", "this request needs the session's X-CSRF-Token header");
        return 1;
    }
    const char *origin = http_request_header(req, "Origin");
    if (!origin)
        origin = http_request_header(req, "Referer");
    if (!auth_origin_is_same(origin, http_request_header(req, "Host"), a->public_url)) {
        reply_forbidden(req, "csrf_failed",
                        "this request needs a same-origin Origin or Referer header");
        return 1;
    }
    return 0;
}

static int gate_metrics(struct api *a, http_request *req)
{
    if (!a->metrics_token[0])
        return 0;
    char token[AUTH_TOKEN_MAX + 1];
    int rc = auth_bearer_parse(http_request_header(req, "Authorization"), token, sizeof(token));
    bool ok = rc == 0 && auth_streq_ct(token, a->metrics_token);
    memset(token, 0, sizeof(token));
    if (ok)
        return 0;
    reply_unauthenticated(req, rc != -ENOENT);
    return 1;
}

/*
 * Refuses req when p may not call it: replies (401, 403, or the 404 of a
 * missing camera), audits the refusal (not a request that presented no
 * credential at all: had_refused says one was presented and refused) and
 * returns true.
 */
static bool refuse(struct api *a, http_request *req, const struct auth_principal *p,
                   enum auth_perm perm, bool had_refused)
{
    int rc = auth_check(p, perm);
    if (rc == HORUS_EAUTH) {
        reply_unauthenticated(req, http_request_header(req, "Authorization") ||
                                       http_request_header(req, "Cookie"));
        if (had_refused)
            api_audit_denied(a, req, NULL, 401, "invalid or expired credentials");
        return true;
    }
    if (rc == -EPERM) {
        reply_forbidden(req, "password_change_required",
                        "change the password first (POST /api/v1/auth/password)");
        api_audit_denied(a, req, p, 403, "password change required");
        return true;
    }
    if (rc == -EACCES) {
        char msg[160];
        snprintf(msg, sizeof(msg), "role %s may not call this operation (it needs %s)",
                 auth_role_name(p->role), auth_perm_name(perm));
        reply_forbidden(req, "forbidden", msg);
        api_audit_denied(a, req, p, 403, msg);
        return true;
    }
    if (p->kind == AUTH_KIND_SESSION && !is_safe_method(http_request_method(req)) &&
        check_csrf(a, req, p) != 0) {
        api_audit_denied(a, req, p, 403, "CSRF check failed");
        return true;
    }
    const char *camera = http_request_param(req, "id");
    if (camera && strncmp(http_request_route(req), "/api/v1/cameras/{id}", 20) == 0 &&
        !auth_may_see_camera(p, camera)) {
        http_reply_error(req, -ENOENT, "camera '%s' does not exist", camera);
        api_audit_denied(a, req, p, 404, "camera not granted");
        return true;
    }
    return false;
}

int api_gate(http_request *req, size_t route_index, void *arg)
{
    struct api *a = arg;
    /* A route the table does not know (never, after api_register) is the strictest. */
    enum auth_perm perm =
        route_index < a->nroute_perms ? a->route_perms[route_index] : AUTH_PERM_SUPERADMIN;
    if (perm == AUTH_PERM_PUBLIC)
        return 0;
    if (perm == AUTH_PERM_METRICS)
        return gate_metrics(a, req);
    struct auth_principal *p = NULL;
    int rc = authenticate(a, req, &p);
    if (rc < 0 && rc != -ENOENT && rc != HORUS_EAUTH) {
        http_reply_error(req, rc, "check credentials: %s", horus_strerror(rc));
        return 1;
    }
    if (refuse(a, req, p, perm, rc == HORUS_EAUTH)) {
        auth_principal_free(p);
        return 1;
    }
    http_request_set_principal(req, p, auth_principal_free);
    return 0;
}
