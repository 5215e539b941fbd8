/*
 * DESIGN: /api/v1/users and /api/v1/api-keys, for admins
 * (docs/design/0016-identity.md). Nobody hands out more than they hold: a
 * user or key gets at most the creator's role. An admin's API keys are
 * its own (owner = the creating user, or the creating key's owner); keys
 * for programs that act for another user are made by that user. The
 * last enabled admin can be neither deleted, disabled nor demoted.
 * Disabling or deleting a user ends its sessions in the same transaction;
 * a revoked key fails from the next request on. Secrets (a generated
 * password, a new key) appear once, in the creation reply.
 * Thread: http-N.
 */
#include "api_int.h"

#include "auth_api_key.h"
#include "auth_user.h"
#include "err.h"
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

/* "*" stays a string; a list becomes an array. */
static json_t *cameras_json(const char *grant)
{
    if (strcmp(grant, "*") == 0)
        return json_string("*");
    json_t *a = json_array();
    const char *s = grant;
    while (*s) {
        size_t n = strcspn(s, ",");
        json_array_append_new(a, json_stringn(s, n));
        s += n + (s[n] == ',');
    }
    return a;
}

/*
 * Reads "cameras" ("*" or an array of ids) from j into out as grant text.
 * Absent: def. Returns 0 or -EINVAL after replying 400.
 */
static int cameras_field(http_request *req, json_t *j, const char *def, char *out, size_t cap)
{
    json_t *v = json_object_get(j, "cameras");
    char text[AUTH_GRANT_TEXT_MAX];
    if (!v) {
        snprintf(text, sizeof(text), "%s", def);
    } else if (json_is_string(v) && strcmp(json_string_value(v), "*") == 0) {
        snprintf(text, sizeof(text), "*");
    } else if (json_is_array(v)) {
        size_t len = 0, i;
        json_t *e;
        text[0] = '\0';
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e) || strchr(json_string_value(e), ',') ||
                len + strlen(json_string_value(e)) + 2 > sizeof(text)) {
                http_reply_error(req, -EINVAL, "cameras[%zu]: must be a camera id or group:NAME",
                                 i);
                return -EINVAL;
            }
            len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s", i ? "," : "",
                                    json_string_value(e));
        }
    } else {
        http_reply_error(req, -EINVAL,
                         "cameras: must be \"*\" or an array of camera ids and group:NAME entries");
        return -EINVAL;
    }
    char why[160];
    if (auth_cameras_normalize(text, out, cap, why, sizeof(why)) < 0) {
        http_reply_error(req, -EINVAL, "cameras: %s", why);
        return -EINVAL;
    }
    return 0;
}

/* Reads "role" into *out (absent: keeps *out); no higher than the caller's. */
static int role_field(http_request *req, json_t *j, bool is_required, enum auth_role *out)
{
    json_t *v = json_object_get(j, "role");
    if (!v && !is_required)
        return 0;
    if (!json_is_string(v) || auth_role_parse(json_string_value(v), out) < 0) {
        http_reply_error(req, -EINVAL, "role: must be viewer, operator, admin or superadmin");
        return -EINVAL;
    }
    const struct auth_principal *p = api_principal(req);
    if (*out > p->role) {
        http_reply_error(req, -EACCES, "role: %s may not grant the role %s",
                         auth_role_name(p->role), auth_role_name(*out));
        return -EACCES;
    }
    return 0;
}

/* ---- users ---- */

/* The tenant field only when there is one: single-tenant installs never see it. */
static json_t *with_tenant(json_t *j, const char *tenant)
{
    if (tenant && tenant[0])
        json_object_set_new(j, "tenant", json_string(tenant));
    return j;
}

/* The user's second factor for the admin's list: "enrolled", "pending" (begun, not confirmed)
 * or "none"; null when it cannot be read. */
static json_t *mfa_json(sto_db *db, const char *user)
{
    struct sto_mfa m;
    int rc = sto_mfa_get(db, user, &m);
    if (rc == -ENOENT)
        return json_string("none");
    if (rc < 0)
        return json_null();
    json_t *j = json_string(m.is_enrolled ? "enrolled" : "pending");
    sto_mfa_release(&m);
    return j;
}

static json_t *user_json(sto_db *db, const struct sto_user *u)
{
    return with_tenant(json_pack("{s:s, s:s, s:o, s:b, s:b, s:o, s:o, s:o}", "name", u->name,
                                 "role", u->role, "cameras", cameras_json(u->cameras), "disabled",
                                 u->disabled, "must_change_password", u->must_change_password,
                                 "mfa", mfa_json(db, u->name), "created_at",
                                 time_json(u->created_at_ms), "updated_at",
                                 time_json(u->updated_at_ms)),
                       u->tenant);
}

static int users_get(http_request *req, void *arg)
{
    struct api *a = arg;
    struct sto_user *list = NULL;
    size_t n = 0;
    int rc = sto_user_list(a->db, &list, &n);
    if (rc < 0)
        return http_reply_error(req, rc, "list users: %s", horus_strerror(rc));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        if (api_may_see(req, NULL, list[i].tenant)) /* other tenants' users do not exist */
            json_array_append_new(items, user_json(a->db, &list[i]));
    sto_user_list_free(list, n);
    return http_reply_json(req, 200, json_pack("{s:o}", "items", items));
}

static int users_post(http_request *req, void *arg)
{
    struct api *a = arg;
    json_t *body;
    int rc = http_request_json(req, &body);
    if (rc < 0)
        return rc;
    char cameras[AUTH_GRANT_TEXT_MAX];
    enum auth_role role = AUTH_ROLE_NONE;
    json_t *name = json_object_get(body, "name");
    json_t *pw = json_object_get(body, "password");
    if (!json_is_string(name)) {
        http_reply_error(req, -EINVAL, "name: must be a string");
        rc = -EINVAL;
    } else if (pw && !json_is_string(pw)) {
        http_reply_error(req, -EINVAL, "password: must be a string");
        rc = -EINVAL;
    } else if ((rc = role_field(req, body, true, &role)) == 0) {
        rc = cameras_field(req, body, "*", cameras, sizeof(cameras));
    }
    char tenant[AUTH_ID_MAX];
    struct sto_tenant quota;
    if (rc == 0 &&
        (rc = api_tenant_for_new(a, req, json_object_get(body, "tenant"), tenant, &quota)) == 0)
        sto_tenant_release(&quota);
    if (rc < 0) {
        json_decref(body);
        return rc;
    }
    /* Without a password: a random one, shown once, to be changed at first login. */
    struct auth_user_options o = {.name = json_string_value(name),
                                  .role = role,
                                  .cameras = cameras,
                                  .password = pw ? json_string_value(pw) : NULL,
                                  .must_change_password = !pw,
                                  .tenant = tenant};
    char generated[32] = "";
    char why[200];
    rc = auth_user_create(a->db, &o, generated, why, sizeof(why));
    if (rc == -EINVAL || rc == -EEXIST) {
        json_decref(body);
        return http_reply_error(req, rc, "%s", why);
    }
    if (rc < 0) {
        json_decref(body);
        return http_reply_error(req, rc, "create user: %s", horus_strerror(rc));
    }
    struct sto_user u;
    rc = sto_user_get(a->db, o.name, &u);
    json_decref(body);
    if (rc < 0)
        return http_reply_error(req, rc, "read user: %s", horus_strerror(rc));
    log_info_kv(LOG_KV({"user", u.name}, {"role", u.role}, {"by", api_principal(req)->name}),
                "user created");
    json_t *d = json_pack("{s:s, s:o}", "role", u.role, "cameras", cameras_json(u.cameras));
    auth_audit_request(a->audit, req, AUTH_AUDIT_USER_CREATED, AUTH_AUDIT_OK, "user", u.name, d);
    json_decref(d);
    json_t *j = user_json(a->db, &u);
    if (generated[0])
        json_object_set_new(j, "password", json_string(generated));
    memset(generated, 0, sizeof(generated));
    sto_user_release(&u);
    return http_reply_json(req, 201, j);
}

/* Reads the user in the path or replies 404. */
static int load_user(http_request *req, struct api *a, struct sto_user *u)
{
    const char *name = http_request_param(req, "name");
    int rc = auth_user_name_is_valid(name) ? sto_user_get(a->db, name, u) : -ENOENT;
    if (rc == 0 && !api_may_see(req, NULL, u->tenant)) {
        sto_user_release(u);
        rc = -ENOENT; /* another tenant's user does not exist for the caller */
    }
    if (rc == -ENOENT)
        http_reply_error(req, rc, "user '%s' does not exist", name);
    else if (rc < 0)
        http_reply_error(req, rc, "read user: %s", horus_strerror(rc));
    return rc;
}

static int user_get(http_request *req, void *arg)
{
    struct api *a = arg;
    struct sto_user u;
    int rc = load_user(req, a, &u);
    if (rc < 0)
        return rc;
    json_t *j = user_json(a->db, &u);
    sto_user_release(&u);
    return http_reply_json(req, 200, j);
}

static int user_patch(http_request *req, void *arg)
{
    struct api *a = arg;
    struct sto_user u;
    int rc = load_user(req, a, &u);
    if (rc < 0)
        return rc;
    json_t *body = NULL;
    rc = http_request_json(req, &body);
    enum auth_role role;
    char cameras[AUTH_GRANT_TEXT_MAX];
    if (rc == 0 && auth_role_parse(u.role, &role) < 0)
        role = AUTH_ROLE_VIEWER;
    if (rc == 0 && role > api_principal(req)->role) {
        http_reply_error(req, -EACCES, "user '%s' has a higher role than yours", u.name);
        rc = -EACCES;
    }
    if (rc == 0)
        rc = role_field(req, body, false, &role);
    if (rc == 0)
        rc = cameras_field(req, body, u.cameras, cameras, sizeof(cameras));
    json_t *dis = body ? json_object_get(body, "disabled") : NULL;
    if (rc == 0 && dis && !json_is_boolean(dis)) {
        http_reply_error(req, -EINVAL, "disabled: must be true or false");
        rc = -EINVAL;
    }
    bool disabled = dis ? json_is_true(dis) : u.disabled;
    bool is_disabling = disabled && !u.disabled;
    /* The entry names the fields the request set, and the new role and grant. */
    json_t *d = json_pack("{s:[]}", "fields");
    static const char *const fields[] = {"role", "cameras", "disabled"};
    for (size_t i = 0; body && i < HORUS_ARRAY_LEN(fields); i++)
        if (json_object_get(body, fields[i]))
            json_array_append_new(json_object_get(d, "fields"), json_string(fields[i]));
    if (rc == 0 && sto_user_is_last_admin(a->db, &u) && (disabled || role < AUTH_ROLE_ADMIN)) {
        http_reply_error(req, -EBUSY, "'%s' is the last admin: make another admin first", u.name);
        rc = -EBUSY;
    }
    if (rc == 0) {
        struct sto_user_input in = sto_user_input_of(&u);
        in.role = auth_role_name(role);
        in.cameras = cameras;
        in.disabled = disabled;
        rc = sto_user_update(a->db, &in);
        if (rc < 0)
            http_reply_error(req, rc, "update user: %s", horus_strerror(rc));
    }
    json_decref(body);
    if (rc == 0) {
        sto_user_release(&u);
        rc = sto_user_get(a->db, http_request_param(req, "name"), &u);
        if (rc == 0) {
            log_info_kv(LOG_KV({"user", u.name}, {"by", api_principal(req)->name}), "user updated");
            json_object_set_new(d, "role", json_string(u.role));
            json_object_set_new(d, "cameras", cameras_json(u.cameras));
            auth_audit_request(a->audit, req,
                               is_disabling ? AUTH_AUDIT_USER_DISABLED : AUTH_AUDIT_USER_UPDATED,
                               AUTH_AUDIT_OK, "user", u.name, d);
            rc = http_reply_json(req, 200, user_json(a->db, &u));
        }
    }
    json_decref(d);
    sto_user_release(&u);
    return rc;
}

static int user_delete(http_request *req, void *arg)
{
    struct api *a = arg;
    struct sto_user u;
    int rc = load_user(req, a, &u);
    if (rc < 0)
        return rc;
    enum auth_role role = AUTH_ROLE_VIEWER;
    auth_role_parse(u.role, &role);
    if (role > api_principal(req)->role)
        rc = -EACCES;
    else if (sto_user_is_last_admin(a->db, &u))
        rc = -EBUSY;
    else
        rc = sto_user_delete(a->db, u.name);
    if (rc == -EACCES)
        http_reply_error(req, rc, "user '%s' has a higher role than yours", u.name);
    else if (rc == -EBUSY)
        http_reply_error(req, rc, "'%s' is the last admin: make another admin first", u.name);
    else if (rc < 0)
        http_reply_error(req, rc, "delete user: %s", horus_strerror(rc));
    else {
        log_info_kv(LOG_KV({"user", u.name}, {"by", api_principal(req)->name}), "user deleted");
        json_t *d = json_pack("{s:s}", "role", u.role);
        auth_audit_request(a->audit, req, AUTH_AUDIT_USER_DELETED, AUTH_AUDIT_OK, "user", u.name,
                           d);
        json_decref(d);
    }
    sto_user_release(&u);
    return rc < 0 ? rc : http_reply(req, 204, NULL, NULL, 0);
}

/* ---- API keys ---- */

static json_t *key_json(const struct sto_api_key *k)
{
    return with_tenant(
        json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:o}", "id", k->id, "name", k->name,
                  "role", k->role, "cameras", cameras_json(k->cameras), "owner", k->owner,
                  "created_at", time_json(k->created_at_ms), "expires_at",
                  time_json(k->expires_at_ms), "last_used_at", time_json(k->last_used_ms),
                  "revoked_at", time_json(k->revoked_at_ms)),
        k->tenant);
}

static int keys_get(http_request *req, void *arg)
{
    struct api *a = arg;
    struct sto_api_key *list = NULL;
    size_t n = 0;
    int rc = sto_api_key_list(a->db, &list, &n);
    if (rc < 0)
        return http_reply_error(req, rc, "list API keys: %s", horus_strerror(rc));
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        if (api_may_see(req, NULL, list[i].tenant)) /* other tenants' keys do not exist */
            json_array_append_new(items, key_json(&list[i]));
    sto_api_key_list_free(list, n);
    return http_reply_json(req, 200, json_pack("{s:o}", "items", items));
}

static int keys_post(http_request *req, void *arg)
{
    struct api *a = arg;
    const struct auth_principal *p = api_principal(req);
    json_t *body;
    int rc = http_request_json(req, &body);
    if (rc < 0)
        return rc;
    json_t *name = json_object_get(body, "name");
    json_t *exp = json_object_get(body, "expires_at");
    enum auth_role role = AUTH_ROLE_NONE;
    char cameras[AUTH_GRANT_TEXT_MAX];
    int64_t now = clock_realtime_ms(a->clock);
    int64_t expires_us = 0;
    if (!json_is_string(name)) {
        http_reply_error(req, -EINVAL, "name: must be a string");
        rc = -EINVAL;
    } else if (exp && !json_is_null(exp) &&
               (api_time_parse_json(exp, &expires_us) < 0 || expires_us / 1000 <= now)) {
        http_reply_error(req, -EINVAL, "expires_at: must be a time in the future");
        rc = -EINVAL;
    } else if ((rc = role_field(req, body, true, &role)) == 0) {
        /* A key sees no camera its creator cannot see, nor a group its creator was not granted. */
        char mine[AUTH_GRANT_TEXT_MAX];
        snprintf(mine, sizeof(mine), "%s", auth_principal_grant(p));
        rc = cameras_field(req, body, mine, cameras, sizeof(cameras));
        if (rc == 0 && !p->is_all_cameras) {
            struct auth_principal *k = auth_principal_new(AUTH_KIND_API_KEY, "", "", role);
            auth_principal_set_cameras(k, cameras);
            bool is_wider = k->is_all_cameras;
            for (size_t i = 0; !is_wider && i < k->ncameras; i++)
                is_wider = !auth_may_see_camera(p, k->cameras[i]);
            for (size_t i = 0; !is_wider && i < k->ngroups; i++)
                is_wider = !auth_principal_has_group(p, k->groups[i]);
            if (is_wider) {
                http_reply_error(req, -EACCES, "cameras: you may not grant cameras you cannot see");
                rc = -EACCES;
            }
            auth_principal_free(k);
        }
    }
    char tenant[AUTH_ID_MAX];
    struct sto_tenant quota;
    if (rc == 0 &&
        (rc = api_tenant_for_new(a, req, json_object_get(body, "tenant"), tenant, &quota)) == 0)
        sto_tenant_release(&quota);
    if (rc < 0) {
        json_decref(body);
        return rc;
    }
    struct auth_api_key_options o = {.name = json_string_value(name),
                                     .role = role,
                                     .cameras = cameras,
                                     .owner = p->user,
                                     .now_ms = now,
                                     .expires_at_ms = expires_us / 1000,
                                     .tenant = tenant};
    char key[AUTH_API_KEY_MAX], id[AUTH_API_KEY_ID_LEN + 1], why[200];
    rc = auth_api_key_create(a->db, &o, key, id, why, sizeof(why));
    json_decref(body);
    if (rc == -EINVAL)
        return http_reply_error(req, rc, "%s", why);
    if (rc < 0)
        return http_reply_error(req, rc, "create API key: %s", horus_strerror(rc));
    struct sto_api_key k;
    rc = sto_api_key_get(a->db, id, &k);
    if (rc < 0) {
        memset(key, 0, sizeof(key));
        return http_reply_error(req, rc, "read API key: %s", horus_strerror(rc));
    }
    log_info_kv(LOG_KV({"key", id}, {"role", k.role}, {"by", p->name}), "API key created");
    json_t *d = json_pack("{s:s, s:s, s:s, s:o}", "name", k.name, "role", k.role, "owner", k.owner,
                          "cameras", cameras_json(k.cameras));
    auth_audit_request(a->audit, req, AUTH_AUDIT_APIKEY_CREATED, AUTH_AUDIT_OK, "apikey", id, d);
    json_decref(d);
    json_t *j = key_json(&k);
    json_object_set_new(j, "key", json_string(key));
    memset(key, 0, sizeof(key));
    sto_api_key_release(&k);
    http_reply_header(req, "Cache-Control", "no-store");
    return http_reply_json(req, 201, j);
}

/* Reads the key in the path (of a tenant the caller sees) or replies 404. */
static int load_key(http_request *req, struct api *a, struct sto_api_key *k)
{
    const char *id = http_request_param(req, "id");
    int rc = strlen(id) == AUTH_API_KEY_ID_LEN ? sto_api_key_get(a->db, id, k) : -ENOENT;
    if (rc == 0 && !api_may_see(req, NULL, k->tenant)) {
        sto_api_key_release(k);
        rc = -ENOENT; /* another tenant's key does not exist for the caller */
    }
    if (rc == -ENOENT)
        http_reply_error(req, rc, "API key '%.64s' does not exist", id);
    else if (rc < 0)
        http_reply_error(req, rc, "read API key: %s", horus_strerror(rc));
    return rc;
}

static int key_get(http_request *req, void *arg)
{
    struct api *a = arg;
    struct sto_api_key k;
    if (load_key(req, a, &k) < 0)
        return 0;
    json_t *j = key_json(&k);
    sto_api_key_release(&k);
    return http_reply_json(req, 200, j);
}

static int key_delete(http_request *req, void *arg)
{
    struct api *a = arg;
    const char *id = http_request_param(req, "id");
    struct sto_api_key k;
    if (load_key(req, a, &k) < 0)
        return 0;
    sto_api_key_release(&k);
    int rc = sto_api_key_revoke(a->db, id, clock_realtime_ms(a->clock));
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "API key '%s' does not exist", id);
    if (rc < 0)
        return http_reply_error(req, rc, "revoke API key: %s", horus_strerror(rc));
    log_info_kv(LOG_KV({"key", id}, {"by", api_principal(req)->name}), "API key revoked");
    auth_audit_request(a->audit, req, AUTH_AUDIT_APIKEY_REVOKED, AUTH_AUDIT_OK, "apikey", id, NULL);
    return http_reply(req, 204, NULL, NULL, 0);
}

int api_users_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/users", users_get},
        {"POST", "/api/v1/users", users_post},
        {"GET", "/api/v1/users/{name}", user_get},
        {"PATCH", "/api/v1/users/{name}", user_patch},
        {"DELETE", "/api/v1/users/{name}", user_delete},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}

int api_keys_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/api-keys", keys_get},
        {"POST", "/api/v1/api-keys", keys_post},
        {"GET", "/api/v1/api-keys/{id}", key_get},
        {"DELETE", "/api/v1/api-keys/{id}", key_delete},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
