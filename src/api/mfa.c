/*
 * DESIGN: /api/v1/auth/mfa: a signed-in user's TOTP second factor
 * (docs/design/0023-mfa.md). Enrolment is two steps: POST .../enroll hands
 * out the secret and the otpauth:// URI once and leaves it pending; POST
 * .../confirm with a code from the app activates it and hands out the
 * recovery codes once. Turning it off or regenerating the recovery codes
 * takes a current code, so a stolen session alone cannot do either; an
 * admin may reset another user's factor (DELETE /api/v1/users/{name}/mfa)
 * when a phone is lost. Secrets and codes never reach the log or the
 * audit chain. Also the login's 401 when the second factor refused it.
 * Thread: http-N.
 */
#include "api_int.h"

#include "audit.h"
#include "auth_mfa.h"
#include "auth_user.h"
#include "err.h"
#include "log.h"
#include "mem.h"

#define LOG_MODULE "auth"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- audit ---- */

static const char *actor_kind(const struct auth_principal *p)
{
    return p->kind == AUTH_KIND_API_KEY ? "apikey" : p->kind == AUTH_KIND_JWT ? "oidc" : "user";
}

/* Records action on target_user's second factor; details (may be NULL) is stolen. */
static void audit(struct api *a, http_request *req, const struct auth_principal *p,
                  const char *actor_name, const char *action, enum auth_audit_outcome outcome,
                  const char *target_user, json_t *details)
{
    struct auth_audit_actor actor = {.kind = p ? actor_kind(p) : "user",
                                     .id = p ? p->id : NULL,
                                     .name = p ? p->name : actor_name,
                                     .tenant = p ? p->tenant : NULL,
                                     .client = http_request_remote(req)};
    auth_audit(a->audit, &actor, action, outcome, "user", target_user, details);
    json_decref(details);
}

int api_mfa_login_refused(struct api *a, http_request *req, const char *user,
                          enum auth_login_mfa why)
{
    const char *reason = why == AUTH_LOGIN_MFA_MISSING    ? "mfa_required"
                         : why == AUTH_LOGIN_MFA_REPLAYED ? "mfa_replayed"
                                                          : "mfa_invalid";
    audit(a, req, NULL, user, AUTH_AUDIT_LOGIN_FAILED, AUTH_AUDIT_FAILED, user,
          json_pack("{s:s}", "reason", reason));
    log_info_kv(LOG_KV({"user", user}, {"remote", http_request_remote(req)}, {"reason", reason}),
                "login refused by the second factor");
    const char *code = why == AUTH_LOGIN_MFA_MISSING ? "mfa_required" : "mfa_invalid";
    const char *msg = why == AUTH_LOGIN_MFA_MISSING
                          ? "this account needs a second factor: send \"totp\" (the 6-digit code "
                            "of the authenticator app) or \"recovery_code\""
                      : why == AUTH_LOGIN_MFA_REPLAYED
                          ? "this code was already used: wait for the next one"
                          : "the second factor code is wrong";
    return http_reply_json(req, 401,
                           json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg));
}

void api_mfa_recovery_used(struct api *a, http_request *req, const struct auth_principal *p)
{
    struct sto_mfa m;
    size_t left = 0;
    if (sto_mfa_get(a->db, p->user, &m) == 0) {
        left = m.recovery_left;
        sto_mfa_release(&m);
    }
    audit(a, req, NULL, p->user, AUTH_AUDIT_MFA_RECOVERY_USED, AUTH_AUDIT_OK, p->user,
          json_pack("{s:I}", "recovery_codes_left", (json_int_t)left));
}

/* ---- helpers ---- */

/* The caller's own user name, or NULL after replying 400 (API keys, SSO tokens have none). */
static const char *self_user(http_request *req)
{
    const struct auth_principal *p = api_principal(req);
    if (p->kind != AUTH_KIND_SESSION || !p->user[0]) {
        http_reply_error(req, -EINVAL,
                         "only a user signed in with a password has a second factor to manage");
        return NULL;
    }
    return p->user;
}

/*
 * Reads the body's optional string fields totp and recovery_code (borrowed
 * from *body, a new reference). Returns 0, or a negative code after
 * replying 400 (*body is then NULL).
 */
static int read_codes(http_request *req, json_t **body, const char **totp, const char **recovery)
{
    *totp = *recovery = NULL;
    int rc = http_request_json(req, body);
    if (rc < 0) {
        *body = NULL;
        return rc;
    }
    json_t *t = json_object_get(*body, "totp"), *r = json_object_get(*body, "recovery_code");
    const char *bad = t && !json_is_string(t)   ? "totp"
                      : r && !json_is_string(r) ? "recovery_code"
                                                : NULL;
    if (bad) {
        json_decref(*body);
        *body = NULL;
        http_reply_error(req, -EINVAL, "%s: must be a string", bad);
        return -EINVAL;
    }
    *totp = json_string_value(t);
    *recovery = json_string_value(r);
    return 0;
}

static json_t *codes_json(const struct auth_recovery_code *codes)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < AUTH_MFA_RECOVERY_CODES; i++)
        json_array_append_new(arr, json_string(codes[i].code));
    return arr;
}

/*
 * Checks the current code the body carries for a change to user's own
 * factor. Returns 0, or a negative code after replying (400 no code, 403
 * wrong or replayed, 404 nothing enrolled).
 */
static int verify_or_reply(struct api *a, http_request *req, const char *user, const char *totp,
                           const char *recovery, bool *used_recovery)
{
    enum auth_mfa_method method;
    int rc = auth_mfa_verify(a->db, user, totp, recovery, clock_realtime_ms(a->clock), &method);
    *used_recovery = method == AUTH_MFA_METHOD_RECOVERY;
    switch (rc) {
    case 0:
        return 0;
    case -ENOENT:
        http_reply_error(req, rc, "no second factor is enrolled");
        return rc;
    case -ENODATA:
        http_reply_error(req, -EINVAL,
                         "totp: required (the current 6-digit code, or a recovery_code)");
        return -EINVAL;
    case -EALREADY:
        http_reply_error(req, -EACCES, "totp: this code was already used");
        return -EACCES;
    case -EACCES:
        http_reply_error(req, rc, "totp: the code is wrong");
        return rc;
    default:
        http_reply_error(req, rc, "check second factor: %s", horus_strerror(rc));
        return rc;
    }
}

/*
 * Reads the body's totp or recovery_code and checks it for a change to
 * user's own factor (verify_or_reply). Returns 0, or a negative code after
 * replying.
 */
static int proof_or_reply(struct api *a, http_request *req, const char *user, bool *used_recovery)
{
    json_t *body;
    const char *totp, *recovery;
    int rc = read_codes(req, &body, &totp, &recovery);
    if (rc < 0)
        return rc;
    rc = verify_or_reply(a, req, user, totp, recovery, used_recovery);
    json_decref(body);
    return rc;
}

/*
 * Replies 200 with the new recovery codes (then wiped), after recording
 * action on user (details, may be NULL, is stolen) and logging what.
 */
static int reply_codes(struct api *a, http_request *req, const char *user,
                       struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES], const char *action,
                       json_t *details, const char *what)
{
    json_t *j = json_pack("{s:o}", "recovery_codes", codes_json(codes));
    memset(codes, 0, AUTH_MFA_RECOVERY_CODES * sizeof(codes[0]));
    audit(a, req, api_principal(req), NULL, action, AUTH_AUDIT_OK, user, details);
    log_info_kv(LOG_KV({"user", user}), "%s", what);
    return http_reply_json(req, 200, j);
}

/* ---- routes ---- */

static int mfa_get(http_request *req, void *arg)
{
    struct api *a = arg;
    const char *user = self_user(req);
    if (!user)
        return -EINVAL;
    struct sto_mfa m;
    int rc = sto_mfa_get(a->db, user, &m);
    if (rc < 0 && rc != -ENOENT)
        return http_reply_error(req, rc, "read second factor: %s", horus_strerror(rc));
    bool has = rc == 0;
    json_t *j =
        json_pack("{s:s, s:b, s:b, s:b, s:I}", "policy", auth_mfa_policy_names[a->mfa_policy],
                  "enrolled", has && m.is_enrolled, "pending", has && !m.is_enrolled,
                  "enrollment_required", api_principal(req)->must_enroll_mfa, "recovery_codes_left",
                  (json_int_t)(has ? m.recovery_left : 0));
    if (has)
        sto_mfa_release(&m);
    return http_reply_json(req, 200, j);
}

static int enroll_post(http_request *req, void *arg)
{
    struct api *a = arg;
    const char *user = self_user(req);
    if (!user)
        return -EINVAL;
    if (a->mfa_policy == AUTH_MFA_OFF)
        return http_reply_error(req, -EACCES, "second factors are off on this server (auth.mfa)");
    struct auth_mfa_enrolment e;
    int rc = auth_mfa_enroll_begin(a->db, user, clock_realtime_ms(a->clock), &e);
    if (rc == -EEXIST)
        return http_reply_error(req, rc,
                                "a second factor is already enrolled: remove it first "
                                "(DELETE /api/v1/auth/mfa with a current code)");
    if (rc < 0)
        return http_reply_error(req, rc, "enrol second factor: %s", horus_strerror(rc));
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "secret", e.secret_b32, "otpauth_uri",
                  e.uri, "issuer", AUTH_MFA_ISSUER, "account", user, "algorithm", "SHA1", "digits",
                  AUTH_TOTP_DIGITS, "period", AUTH_TOTP_PERIOD_S);
    memset(&e, 0, sizeof(e));
    log_info_kv(LOG_KV({"user", user}), "second factor enrolment started");
    return http_reply_json(req, 200, j);
}

static int confirm_post(http_request *req, void *arg)
{
    struct api *a = arg;
    const char *user = self_user(req);
    if (!user)
        return -EINVAL;
    json_t *body;
    const char *totp, *recovery;
    int rc = read_codes(req, &body, &totp, &recovery);
    if (rc < 0)
        return rc;
    struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES];
    if (!totp)
        rc = -ENODATA;
    else
        rc = auth_mfa_enroll_confirm(a->db, user, totp, clock_realtime_ms(a->clock), codes);
    json_decref(body);
    if (rc == -ENODATA)
        return http_reply_error(req, -EINVAL, "totp: required (the app's current 6-digit code)");
    if (rc == -ENOENT)
        return http_reply_error(req, -EBUSY,
                                "no enrolment is pending: POST /api/v1/auth/mfa/enroll first");
    if (rc == -EEXIST)
        return http_reply_error(req, rc, "the second factor is already confirmed");
    if (rc == -EINVAL)
        return http_reply_error(req, rc, "totp: must be 6 digits");
    if (rc == -EACCES)
        return http_reply_error(req, -EINVAL,
                                "totp: the code does not match the secret (check the phone's "
                                "clock, or enrol again)");
    if (rc < 0)
        return http_reply_error(req, rc, "confirm second factor: %s", horus_strerror(rc));
    return reply_codes(a, req, user, codes, AUTH_AUDIT_MFA_ENROLLED,
                       json_pack("{s:s}", "method", "totp"), "second factor enrolled");
}

static int mfa_delete(http_request *req, void *arg)
{
    struct api *a = arg;
    const char *user = self_user(req);
    if (!user)
        return -EINVAL;
    struct sto_mfa m;
    int rc = sto_mfa_get(a->db, user, &m);
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "no second factor is enrolled");
    if (rc < 0)
        return http_reply_error(req, rc, "read second factor: %s", horus_strerror(rc));
    bool was_enrolled = m.is_enrolled;
    sto_mfa_release(&m);
    bool used_recovery = false;
    /* a pending enrolment is cancelled without a code: it protects nothing */
    if (was_enrolled && (rc = proof_or_reply(a, req, user, &used_recovery)) < 0)
        return rc;
    rc = sto_mfa_delete(a->db, user);
    if (rc < 0)
        return http_reply_error(req, rc, "remove second factor: %s", horus_strerror(rc));
    if (was_enrolled) {
        audit(a, req, api_principal(req), NULL, AUTH_AUDIT_MFA_DISABLED, AUTH_AUDIT_OK, user,
              json_pack("{s:s}", "proof", used_recovery ? "recovery_code" : "totp"));
        log_info_kv(LOG_KV({"user", user}), "second factor removed");
    }
    return http_reply(req, 204, NULL, NULL, 0);
}

static int recovery_post(http_request *req, void *arg)
{
    struct api *a = arg;
    const char *user = self_user(req);
    if (!user)
        return -EINVAL;
    bool used_recovery = false;
    int rc = proof_or_reply(a, req, user, &used_recovery);
    if (rc < 0)
        return rc;
    struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES];
    rc = auth_mfa_recovery_regenerate(a->db, user, codes);
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "no second factor is enrolled");
    if (rc < 0)
        return http_reply_error(req, rc, "make recovery codes: %s", horus_strerror(rc));
    return reply_codes(a, req, user, codes, AUTH_AUDIT_MFA_RECOVERY_REGENERATED, NULL,
                       "recovery codes replaced");
}

static int user_mfa_delete(http_request *req, void *arg)
{
    struct api *a = arg;
    const struct auth_principal *p = api_principal(req);
    const char *name = http_request_param(req, "name");
    struct sto_user u;
    int rc = auth_user_name_is_valid(name) ? sto_user_get(a->db, name, &u) : -ENOENT;
    if (rc == 0 && !api_may_see(req, NULL, u.tenant)) { /* another tenant's: as if missing */
        sto_user_release(&u);
        rc = -ENOENT;
    }
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "user '%s' does not exist", name);
    if (rc < 0)
        return http_reply_error(req, rc, "read user: %s", horus_strerror(rc));
    enum auth_role role = AUTH_ROLE_VIEWER;
    auth_role_parse(u.role, &role);
    sto_user_release(&u);
    if (role > p->role)
        return http_reply_error(req, -EACCES, "user '%s' has a higher role than yours", name);
    rc = sto_mfa_delete(a->db, name);
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "user '%s' has no second factor", name);
    if (rc < 0)
        return http_reply_error(req, rc, "reset second factor: %s", horus_strerror(rc));
    audit(a, req, p, NULL, AUTH_AUDIT_MFA_DISABLED, AUTH_AUDIT_OK, name,
          json_pack("{s:s}", "proof", "admin_reset"));
    log_info_kv(LOG_KV({"user", name}, {"by", p->name}), "second factor reset by an admin");
    return http_reply(req, 204, NULL, NULL, 0);
}

int api_mfa_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/auth/mfa", mfa_get},
        {"DELETE", "/api/v1/auth/mfa", mfa_delete},
        {"POST", "/api/v1/auth/mfa/enroll", enroll_post},
        {"POST", "/api/v1/auth/mfa/confirm", confirm_post},
        {"POST", "/api/v1/auth/mfa/recovery-codes", recovery_post},
        {"DELETE", "/api/v1/users/{name}/mfa", user_mfa_delete},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
