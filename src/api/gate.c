/*
 * DESIGN: the gate every request passes between routing and its handler
 * (docs/design/0016-identity.md). Who may call a route is declared once,
 * as "x-horus-permission" on the operation in openapi.json; api_register
 * reads it for every registered route (a route without one fails
 * registration) and the router calls api_gate with the route's index.
 *
 * The gate authenticates the request with the first credential kind that
 * is present (one function per kind in `authenticators`: bearer API keys
 * and, with SSO on, the IdP's JWT access tokens (sso.c), sessions, ?t=
 * signed media URLs on the media routes only),
 * checks the role against the permission (401 with WWW-Authenticate, 403),
 * the CSRF rules of cookie sessions on state-changing methods, and the
 * camera grant and the tenant of routes under /api/v1/cameras/{id}: a
 * camera outside the grant or of another tenant answers the very 404 a
 * missing camera gets. Handlers of lists and of objects that carry a
 * tenant or belong to a camera (exports, users, API keys) filter with
 * api_may_see, the one predicate (docs/design/0024-tenants.md). The
 * principal rides on the request
 * (http_request_set_principal) and is freed with it.
 * Thread: http-N.
 */
#include "api_int.h"
#include "query_int.h"

#include "auth_api_key.h"
#include "cfg.h"
#include "auth_groups.h"
#include "auth_http.h"
#include "auth_token.h"
#include "auth_user.h"
#include "err.h"
#include "http_limit.h"
#include "log.h"
#include "media_token.h"
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

bool api_may_see(const http_request *req, const char *camera_id, const char *tenant)
{
    const struct auth_principal *p = api_principal(req);
    if (!p)
        return true;
    return auth_may_see_tenant(p, tenant) && (!camera_id || auth_may_see_camera(p, camera_id));
}

/* Camera id's grant and tenant against p: 0, -ENOENT, or a storage error. */
static int camera_visible_to(struct api *a, const struct auth_principal *p, const char *id)
{
    if (!auth_may_see_camera(p, id))
        return -ENOENT;
    if (p->role == AUTH_ROLE_SUPERADMIN)
        return 0; /* every tenant: no need to read the camera's */
    char tenant[AUTH_ID_MAX];
    int rc = api_camera_tenant(a, id, tenant, sizeof(tenant));
    if (rc < 0)
        return rc;
    return auth_may_see_tenant(p, tenant) ? 0 : -ENOENT;
}

int api_camera_visible(struct api *ctx, const http_request *req, const char *id)
{
    const struct auth_principal *p = api_principal(req);
    return p ? camera_visible_to(ctx, p, id) : 0;
}

bool api_request_is_secure(const struct api *ctx, const http_request *req)
{
    return http_request_is_tls(req) || strncmp(ctx->public_url, "https://", 8) == 0;
}

/* ---- one authenticator per credential kind ---- */

/*
 * Each returns 0 with a new principal, -ENOENT when its kind of credential
 * is absent (the next one is tried), HORUS_EAUTH when it is present but
 * invalid, or another error (the database is busy).
 */
typedef int (*authenticator_fn)(struct api *a, http_request *req, struct auth_principal **out);

/* Three dot-separated non-empty parts: a compact JWS, the IdP's access tokens. */
static bool is_jwt_shaped(const char *token)
{
    const char *a = strchr(token, '.');
    const char *b = a ? strchr(a + 1, '.') : NULL;
    return a && b && a > token && b > a + 1 && b[1] && !strchr(b + 1, '.');
}

/*
 * The credential cache (auth_cache.h, docs/design/0016): a credential's
 * entry is named by the digest of its kind's letter and the token, so a
 * session token and an API key can never stand for each other. The access
 * version is read before the database read, so a change committed while
 * it runs leaves the entry stale from the start.
 */
#define CACHE_KEY_MAX (AUTH_TOKEN_MAX + 2)

static size_t cache_key(char kind, const char *token, char *out)
{
    size_t n = strlen(token);
    if (n > AUTH_TOKEN_MAX)
        n = AUTH_TOKEN_MAX;
    out[0] = kind;
    memcpy(out + 1, token, n);
    return n + 1;
}

static int authenticate_api_key(struct api *a, const char *token, struct auth_principal **out)
{
    char key[CACHE_KEY_MAX];
    size_t n = cache_key('k', token, key);
    int64_t now = clock_realtime_ms(a->clock);
    uint64_t version = sto_access_version(a->db);
    int rc = auth_cache_get(a->cred_cache, key, n, version, now, out);
    if (rc < 0) {
        int64_t until = 0;
        rc = auth_api_key_authenticate_until(a->db, token, now, out, &until);
        if (rc == 0)
            auth_cache_put(a->cred_cache, key, n, version, now, until, *out);
    }
    memset(key, 0, n); /* the bytes written, not the whole 4 KB */
    return rc;
}

static int authenticate_session(struct api *a, const char *token, struct auth_principal **out)
{
    char key[CACHE_KEY_MAX];
    size_t n = cache_key('s', token, key);
    int64_t now = clock_realtime_ms(a->clock);
    uint64_t version = sto_access_version(a->db);
    int rc = auth_cache_get(a->cred_cache, key, n, version, now, out);
    if (rc < 0) {
        int64_t until = 0;
        rc = auth_session_authenticate_until(a->db, token, now, a->session_idle_ms, out, &until);
        /* auth.mfa: a session whose user must enrol a second factor may only enrol. */
        if (rc == 0 && (rc = auth_mfa_mark_principal(a->db, a->mfa_policy, *out)) < 0) {
            auth_principal_free(*out);
            *out = NULL;
        }
        if (rc == 0)
            auth_cache_put(a->cred_cache, key, n, version, now, until, *out);
    }
    memset(key, 0, n); /* the bytes written, not the whole 4 KB */
    return rc;
}

static int authenticate_bearer(struct api *a, http_request *req, struct auth_principal **out)
{
    char token[AUTH_TOKEN_MAX + 1];
    int rc = auth_bearer_parse(http_request_header(req, "Authorization"), token, sizeof(token));
    if (rc == -ENOENT)
        return http_request_header(req, "Authorization") ? HORUS_EAUTH : -ENOENT;
    if (rc < 0)
        return HORUS_EAUTH;
    if (strncmp(token, "hk_", 3) == 0)
        rc = authenticate_api_key(a, token, out);
    else if (is_jwt_shaped(token))
        rc = api_sso_authenticate_jwt(a, token, out);
    else
        rc = HORUS_EAUTH;
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
        rc = authenticate_session(a, token, out);
    memset(token, 0, sizeof(token));
    return rc < 0 && rc != HORUS_EAUTH && rc != HORUS_EDBBUSY ? HORUS_EAUTH : rc;
}

/* ---- ?t= signed media URLs: the media routes only (docs/design/0021) ---- */

enum media_route {
    MEDIA_LIVE, /* a stream's playlist, init, parts, segments: (camera, stream) or camera-wide */
    MEDIA_LIVE_MASTER, /* the multivariant playlist: a camera-wide live token */
    MEDIA_PLAYLIST, /* playback.m3u8: its [start, end) inside the signed range */
    MEDIA_RECORDING, /* a recorded file: its row's [start, end) overlapping the signed range */
    MEDIA_SNAPSHOT, /* the latest frame ("latest" signed), or ts inside the signed range */
    MEDIA_EXPORT_FILE, /* an export's file: (export's camera, export id) */
};

static const struct {
    const char *tmpl;
    enum media_route route;
    bool is_whep; /* WHEP: POST, PATCH and DELETE carry the token too (no GET exists) */
} media_routes[] = {
    {"/api/v1/cameras/{id}/live/index.m3u8", MEDIA_LIVE, false},
    {"/api/v1/cameras/{id}/live/master.m3u8", MEDIA_LIVE_MASTER, false},
    {"/api/v1/cameras/{id}/live/init/{name}", MEDIA_LIVE, false},
    {"/api/v1/cameras/{id}/live/part/{name}", MEDIA_LIVE, false},
    {"/api/v1/cameras/{id}/live/segment/{name}", MEDIA_LIVE, false},
    {"/api/v1/cameras/{id}/playback.m3u8", MEDIA_PLAYLIST, false},
    {"/api/v1/cameras/{id}/recordings/{stream}/{file}", MEDIA_RECORDING, false},
    {"/api/v1/cameras/{id}/snapshot.jpg", MEDIA_SNAPSHOT, false},
    {"/api/v1/exports/{id}/file", MEDIA_EXPORT_FILE, false},
    {"/api/v1/cameras/{id}/whep", MEDIA_LIVE, true},
    {"/api/v1/cameras/{id}/whep/{session}", MEDIA_LIVE, true},
};

/* The media route req matched, or -1; only GET and HEAD count, and WHEP's methods. */
static int media_route_of(const http_request *req)
{
    const char *tmpl = http_request_route(req);
    const char *m = http_request_method(req);
    if (!tmpl)
        return -1;
    bool is_read = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    bool is_whep_method =
        strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 || strcmp(m, "DELETE") == 0;
    for (size_t i = 0; i < HORUS_ARRAY_LEN(media_routes); i++)
        if (strcmp(tmpl, media_routes[i].tmpl) == 0 &&
            (media_routes[i].is_whep ? is_whep_method : is_read))
            return (int)media_routes[i].route;
    return -1;
}

/*
 * The recorded file's [start, end) from the media cache or the index, for
 * the overlap check. -ENOENT when there is no such recording.
 */
static int recording_range(struct api *a, const char *camera, const char *stream, const char *file,
                           struct auth_media_scope *want)
{
    int64_t start_us;
    if (api_file_start_parse(file, &start_us) < 0)
        return -EINVAL;
    struct api_media_ref ref;
    int64_t end_us;
    if (api_media_cache_get(&a->media_cache, camera, stream, start_us, &ref)) {
        end_us = ref.end_us;
    } else {
        struct sto_recording r;
        int rc = sto_recording_get(a->db, camera, stream, start_us, &r);
        if (rc == -ENOENT && api_pending_ref(a, camera, stream, start_us, &ref) == 0)
            rc = 1; /* not indexed yet: the segment being written or just closed */
        if (rc < 0)
            return rc;
        end_us = rc == 1 ? ref.end_us : r.end_us;
        if (rc == 0)
            sto_recording_release(&r);
    }
    want->from_us = start_us;
    want->to_us = end_us > start_us ? end_us : start_us + 1;
    want->is_overlap_enough = true;
    return 0;
}

/*
 * Checks token against what req asks for on media route mr. Returns 0 with
 * the camera it opens in camera (cap bytes), or a negative code with the
 * reason in why (never the token).
 */
static int media_token_verify(struct api *a, http_request *req, enum media_route mr,
                              const char *token, char *camera, size_t cap, char *why,
                              size_t why_size)
{
    const char *id = http_request_param(req, "id");
    const char *stream = http_request_query(req, "stream");
    struct auth_media_scope want = {.camera = id, .stream = stream ? stream : "main"};
    struct sto_export e = {0};
    int rc = 0;
    int64_t now_us = clock_realtime_ms(a->clock) * 1000;
    switch (mr) {
    case MEDIA_LIVE:
    case MEDIA_LIVE_MASTER:
        want.kind = AUTH_MEDIA_LIVE;
        if (mr == MEDIA_LIVE_MASTER)
            want.stream = "";
        break;
    case MEDIA_PLAYLIST:
        want.kind = AUTH_MEDIA_PLAYBACK;
        rc = api_range_parse(API_RANGE_PLAYLIST, http_request_query(req, "start"),
                             http_request_query(req, "end"), now_us, &want.from_us, &want.to_us,
                             why, why_size);
        break;
    case MEDIA_RECORDING:
        want.kind = AUTH_MEDIA_PLAYBACK;
        want.stream = http_request_param(req, "stream");
        rc = recording_range(a, id, want.stream, http_request_param(req, "file"), &want);
        if (rc < 0)
            snprintf(why, why_size, "media token: no such recording to check it against");
        break;
    case MEDIA_SNAPSHOT: {
        want.kind = AUTH_MEDIA_SNAPSHOT;
        const char *ts = http_request_query(req, "ts");
        if (!ts)
            want.export_id = "latest"; /* a link to the latest frame opens no recorded one */
        else if ((rc = api_time_parse_us("ts", ts, &want.from_us, why, why_size)) == 0)
            want.to_us = want.from_us + 1; /* years <= 9999: no overflow */
        break;
    }
    case MEDIA_EXPORT_FILE:
        want.kind = AUTH_MEDIA_EXPORT;
        want.stream = NULL;
        want.export_id = id;
        rc = a->db ? sto_export_get(a->db, id, &e) : -ENOENT;
        if (rc < 0)
            snprintf(why, why_size, "media token: no such export to check it against");
        want.camera = rc == 0 ? e.camera_id : NULL;
        break;
    }
    if (rc == 0)
        rc = auth_media_token_check(a->media_keys, token, &want, why, why_size);
    if (rc == -EACCES && mr == MEDIA_LIVE) {
        /* A camera-wide token (a shared master playlist) opens every stream of its camera. */
        char why2[256];
        want.stream = "";
        int rc2 = auth_media_token_check(a->media_keys, token, &want, why2, sizeof(why2));
        if (rc2 != -EACCES) {
            rc = rc2;
            snprintf(why, why_size, "%s", why2);
        }
    }
    if (rc == 0 && (!want.camera || !cfg_is_id(want.camera, strlen(want.camera), CFG_ID_MAX) ||
                    (size_t)snprintf(camera, cap, "%s", want.camera) >= cap))
        rc = -EACCES;
    if (mr == MEDIA_EXPORT_FILE)
        sto_export_release(&e);
    return rc;
}

/* A refused credential whose refusal is already audited (the gate must not audit it again). */
#define GATE_EAUTH_AUDITED (-EKEYREJECTED)

/*
 * ?t= on a media route: a viewer principal granted only the token's
 * camera. A refused token is audited here, once per client and object for
 * two minutes (a player retries every part), and answers 401 like any
 * other invalid credential.
 */
static int authenticate_media_token(struct api *a, http_request *req, struct auth_principal **out)
{
    const char *token = http_request_query(req, "t");
    int mr = media_route_of(req);
    if (!token || mr < 0 || !a->media_keys)
        return -ENOENT;
    char camera[AUTH_ID_MAX + 1], why[256] = "";
    int rc = media_token_verify(a, req, (enum media_route)mr, token, camera, sizeof(camera), why,
                                sizeof(why));
    if (rc == HORUS_EDBBUSY)
        return rc;
    if (rc < 0) {
        bool is_export = mr == MEDIA_EXPORT_FILE;
        json_t *d = json_pack("{s:s, s:s, s:s}", "credential", "media_token", "reason",
                              why[0] ? why : horus_strerror(rc), "route", http_request_route(req));
        api_audit_once(a, req, AUTH_AUDIT_PERMISSION_DENIED, AUTH_AUDIT_DENIED,
                       is_export ? "export" : "camera", http_request_param(req, "id"),
                       "media_token", d);
        json_decref(d);
        return GATE_EAUTH_AUDITED;
    }
    /*
     * A link stands for its camera's tenant (an export's own, once its camera
     * is gone), or the tenant check would hide the very object it opens.
     */
    char tenant[AUTH_ID_MAX] = "";
    rc = api_camera_tenant(a, camera, tenant, sizeof(tenant)); /* cached: every part request */
    if (rc == -ENOENT && mr == MEDIA_EXPORT_FILE) {
        struct sto_export e;
        if (sto_export_get(a->db, http_request_param(req, "id"), &e) == 0) {
            snprintf(tenant, sizeof(tenant), "%s", e.tenant ? e.tenant : "");
            sto_export_release(&e);
        }
        rc = 0;
    }
    if (rc < 0 && rc != -ENOENT)
        return rc == HORUS_EDBBUSY ? rc : HORUS_EAUTH;
    struct auth_principal *p =
        auth_principal_new(AUTH_KIND_MEDIA_TOKEN, "", "media token", AUTH_ROLE_VIEWER);
    snprintf(p->tenant, sizeof(p->tenant), "%s", tenant);
    if (auth_principal_set_cameras(p, camera) < 0) {
        auth_principal_free(p);
        return HORUS_EAUTH;
    }
    *out = p;
    return 0;
}

static const struct {
    const char *name;
    authenticator_fn fn;
} authenticators[] = {
    {"bearer", authenticate_bearer},
    {"session", authenticate_cookie},
    {"media_token", authenticate_media_token},
};

/*
 * Expands the "group:NAME" entries of *out's camera grant into the ids now
 * in those groups (one indexed read, only for grants naming a group), for
 * every credential kind alike. On failure *out is freed.
 */
static int resolve_groups(struct api *a, struct auth_principal **out)
{
    int rc = auth_principal_resolve_groups(*out, a->db);
    if (rc < 0) {
        auth_principal_free(*out);
        *out = NULL;
    }
    return rc;
}

static int authenticate(struct api *a, http_request *req, struct auth_principal **out)
{
    *out = NULL;
    if (!a->db)
        return HORUS_EAUTH;
    for (size_t i = 0; i < HORUS_ARRAY_LEN(authenticators); i++) {
        int rc = authenticators[i].fn(a, req, out);
        if (rc == 0)
            return resolve_groups(a, out);
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
 * The camera grant and tenant of a route under /api/v1/cameras/{id}: a
 * camera p may not see gets the 404 of a missing one. Returns true after
 * replying. (The request carries no principal yet: p is asked directly.)
 */
static bool refuse_camera(struct api *a, http_request *req, const struct auth_principal *p,
                          const char *camera)
{
    int rc = camera_visible_to(a, p, camera);
    if (rc == -ENOENT) {
        http_reply_error(req, -ENOENT, "camera '%s' does not exist", camera);
        if (!auth_may_see_camera(p, camera)) /* a missing camera is no refusal */
            api_audit_denied(a, req, p, 404, "camera not granted");
        return true;
    }
    if (rc < 0) {
        http_reply_error(req, rc, "read camera '%s': %s", camera, horus_strerror(rc));
        return true;
    }
    return false;
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
                                       http_request_header(req, "Cookie") ||
                                       (http_request_query(req, "t") && media_route_of(req) >= 0));
        if (had_refused)
            api_audit_denied(a, req, NULL, 401, "invalid or expired credentials");
        return true;
    }
    if (rc == -EPERM && p->must_change_password) {
        reply_forbidden(req, "password_change_required",
                        "change the password first (POST /api/v1/auth/password)");
        api_audit_denied(a, req, p, 403, "password change required");
        return true;
    }
    if (rc == -EPERM) {
        reply_forbidden(req, "mfa_enrollment_required",
                        "enrol a second factor first (POST /api/v1/auth/mfa/enroll, then "
                        "POST /api/v1/auth/mfa/confirm)");
        api_audit_denied(a, req, p, 403, "second factor enrolment required");
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
    if (camera && strncmp(http_request_route(req), "/api/v1/cameras/{id}", 20) == 0)
        return refuse_camera(a, req, p, camera);
    return false;
}

int api_gate(http_request *req, size_t route_index, void *arg)
{
    struct api *a = arg;
    /* A route the table does not know (never, after api_register) is the strictest. */
    enum auth_perm perm =
        route_index < a->nroute_perms ? a->route_perms[route_index] : AUTH_PERM_SUPERADMIN;
    if (perm == AUTH_PERM_PUBLIC && api_web_is_route(http_request_route(req)))
        return 0; /* the UI's files say the same to everyone: no credential to look up */
    if (perm == AUTH_PERM_PUBLIC) {
        /* Valid credentials let a public route say more (/health's details); bad ones are ignored.
         */
        struct auth_principal *p = NULL;
        if (authenticate(a, req, &p) == 0 && p && !p->must_change_password)
            http_request_set_principal(req, p, auth_principal_free);
        else
            auth_principal_free(p);
        return 0;
    }
    if (perm == AUTH_PERM_METRICS)
        return gate_metrics(a, req);
    struct auth_principal *p = NULL;
    int rc = authenticate(a, req, &p);
    if (rc < 0 && rc != -ENOENT && rc != HORUS_EAUTH && rc != GATE_EAUTH_AUDITED) {
        http_reply_error(req, rc, "check credentials: %s", horus_strerror(rc));
        return 1;
    }
    if (refuse(a, req, p, perm, rc == HORUS_EAUTH)) {
        auth_principal_free(p);
        return 1;
    }
    /* Each principal has its own API budget too, beside its address's. */
    char key[AUTH_NAME_MAX + 8];
    snprintf(key, sizeof(key), "%s:%s", p->kind == AUTH_KIND_API_KEY ? "key" : "user",
             p->kind == AUTH_KIND_API_KEY ? p->id : p->name);
    rc = http_request_limit_principal(req, key);
    if (rc < 0) {
        auth_principal_free(p);
        http_reply_error(req, rc, "too many requests for this principal");
        return 1;
    }
    http_request_set_principal(req, p, auth_principal_free);
    return 0;
}
