/*
 * DESIGN: /api/v1/tenants, for superadmins, and the tenant of objects
 * made through the API (docs/design/0024-tenants.md). A tenant is an id,
 * a name and two quotas (0 = unlimited): max_cameras, checked inside the
 * camera insert on the writer, and max_storage_bytes, the tenant's
 * recordings plus exports, checked before an export is queued. Usage is
 * computed from the tables when a tenant is read, never kept in counters.
 * Lowering a quota under the current usage is allowed: only new cameras
 * and exports are refused. A tenant that still has cameras, users or API
 * keys cannot be deleted (409 naming them).
 * Thread: http-N.
 */
#include "api_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"

#define LOG_MODULE "auth"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool api_tenant_id_is_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int api_tenant_for_new(struct api *ctx, http_request *req, const json_t *v, char out[AUTH_ID_MAX],
                       struct sto_tenant *quota)
{
    const struct auth_principal *p = api_principal(req);
    memset(quota, 0, sizeof(*quota));
    const char *own = p ? p->tenant : "";
    const char *want = own;
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) ||
            (json_string_length(v) > 0 && !api_tenant_id_is_valid(json_string_value(v)))) {
            http_reply_error(
                req, -EINVAL,
                "tenant: must be a tenant id (1..64 characters of [a-z0-9_-]) or \"\"");
            return -EINVAL;
        }
        want = json_string_value(v);
        if (strcmp(want, own) != 0 && p && p->role != AUTH_ROLE_SUPERADMIN) {
            http_reply_error(req, -EACCES,
                             "tenant: only a superadmin may create objects in another tenant");
            return -EACCES;
        }
    }
    snprintf(out, AUTH_ID_MAX, "%s", want);
    if (!out[0])
        return 0;
    int rc = sto_tenant_get(ctx->db, out, quota);
    if (rc == -ENOENT) {
        http_reply_error(req, -EINVAL, "tenant: '%s' does not exist", out);
        return -EINVAL;
    }
    if (rc < 0)
        http_reply_error(req, rc, "read tenant '%s': %s", out, horus_strerror(rc));
    return rc;
}

static json_t *time_json(int64_t ms)
{
    char buf[40];
    clock_format_rfc3339_ms(ms, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *tenant_json(const struct sto_tenant *t, const struct sto_tenant_usage *u)
{
    json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "id", t->id, "name",
                          t->name ? t->name : "", "max_cameras", (json_int_t)t->max_cameras,
                          "max_storage_bytes", (json_int_t)t->max_storage_bytes, "created_at",
                          time_json(t->created_at_ms), "updated_at", time_json(t->updated_at_ms));
    if (u)
        json_object_set_new(
            j, "usage",
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "cameras", (json_int_t)u->cameras, "users",
                      (json_int_t)u->users, "api_keys", (json_int_t)u->api_keys, "recording_bytes",
                      (json_int_t)u->recording_bytes, "export_bytes", (json_int_t)u->export_bytes,
                      "storage_bytes", (json_int_t)(u->recording_bytes + u->export_bytes)));
    return j;
}

/*
 * Applies name, max_cameras, max_storage_bytes (and id when is_create) of
 * body to *in. Returns 0 or -EINVAL after replying 400 naming the field.
 */
static int apply_body(http_request *req, json_t *body, bool is_create, struct sto_tenant_input *in)
{
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "id") == 0) {
            if (!json_is_string(v) || !api_tenant_id_is_valid(json_string_value(v))) {
                http_reply_error(req, -EINVAL, "id: must be 1..64 characters of [a-z0-9_-]");
                return -EINVAL;
            }
            if (!is_create && strcmp(json_string_value(v), in->id) != 0) {
                http_reply_error(req, -EINVAL, "id: does not match the id in the path");
                return -EINVAL;
            }
            in->id = json_string_value(v);
        } else if (strcmp(key, "name") == 0) {
            if (!json_is_string(v) || json_string_length(v) > 200) {
                http_reply_error(req, -EINVAL, "name: must be a string of at most 200 characters");
                return -EINVAL;
            }
            in->name = json_string_value(v);
        } else if (strcmp(key, "max_cameras") == 0 || strcmp(key, "max_storage_bytes") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                http_reply_error(req, -EINVAL, "%s: must be an integer >= 0 (0 = unlimited)", key);
                return -EINVAL;
            }
            *(key[4] == 'c' ? &in->max_cameras : &in->max_storage_bytes) =
                (uint64_t)json_integer_value(v);
        } else if (strcmp(key, "created_at") == 0 || strcmp(key, "updated_at") == 0 ||
                   strcmp(key, "usage") == 0) {
            continue; /* read-only fields a client may echo back */
        } else {
            http_reply_error(req, -EINVAL,
                             "%.64s: unknown field (allowed: id, name, max_cameras, "
                             "max_storage_bytes)",
                             key);
            return -EINVAL;
        }
    }
    if (!in->id) {
        http_reply_error(req, -EINVAL, "id: is required");
        return -EINVAL;
    }
    return 0;
}

/* Replies 200 (or 201) with tenant id and its usage. */
static int reply_tenant(http_request *req, struct api *ctx, const char *id, int status)
{
    struct sto_tenant t;
    struct sto_tenant_usage u;
    int rc = sto_tenant_get(ctx->db, id, &t);
    if (rc == 0) {
        rc = sto_tenant_usage_get(ctx->db, id, &u);
        if (rc < 0)
            sto_tenant_release(&t);
    }
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "tenant '%.64s' does not exist", id);
    if (rc < 0)
        return http_reply_error(req, rc, "read tenant '%.64s': %s", id, horus_strerror(rc));
    json_t *j = tenant_json(&t, &u);
    sto_tenant_release(&t);
    return http_reply_json(req, status, j);
}

static int tenants_list(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_tenant *list;
    size_t n;
    int rc = sto_tenant_list(ctx->db, &list, &n);
    if (rc < 0)
        return http_reply_error(req, rc, "list tenants: %s", horus_strerror(rc));
    json_t *items = json_array();
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct sto_tenant_usage u;
        rc = sto_tenant_usage_get(ctx->db, list[i].id, &u);
        if (rc == 0)
            json_array_append_new(items, tenant_json(&list[i], &u));
    }
    sto_tenant_list_free(list, n);
    if (rc < 0) {
        json_decref(items);
        return http_reply_error(req, rc, "read tenant usage: %s", horus_strerror(rc));
    }
    return http_reply_json(req, 200, json_pack("{s:o}", "items", items));
}

static json_t *quota_details(const struct sto_tenant_input *in)
{
    return json_pack("{s:s, s:I, s:I}", "name", in->name ? in->name : "", "max_cameras",
                     (json_int_t)in->max_cameras, "max_storage_bytes",
                     (json_int_t)in->max_storage_bytes);
}

static int tenants_create(http_request *req, void *arg)
{
    struct api *ctx = arg;
    json_t *body;
    if (http_request_json(req, &body) < 0)
        return 0;
    struct sto_tenant_input in = {0};
    if (!json_is_object(body)) {
        json_decref(body);
        return http_reply_error(req, -EINVAL, "the body must be a JSON object");
    }
    int rc = apply_body(req, body, true, &in);
    if (rc == 0) {
        rc = sto_tenant_insert(ctx->db, &in);
        if (rc == -EEXIST)
            http_reply_error(req, rc, "tenant '%s' already exists", in.id);
        else if (rc < 0)
            http_reply_error(req, rc, "create tenant '%s': %s", in.id, horus_strerror(rc));
    }
    if (rc == 0) {
        char location[128];
        snprintf(location, sizeof(location), "/api/v1/tenants/%s", in.id);
        http_reply_header(req, "Location", location);
        reply_tenant(req, ctx, in.id, 201);
        json_t *d = quota_details(&in);
        auth_audit_request(ctx->audit, req, AUTH_AUDIT_TENANT_CREATED, AUTH_AUDIT_OK, "tenant",
                           in.id, d);
        json_decref(d);
        log_info_kv(LOG_KV({"tenant", in.id}, {"by", api_principal(req)->name}), "tenant created");
    }
    json_decref(body);
    return 0;
}

static int tenants_get(http_request *req, void *arg)
{
    return reply_tenant(req, arg, http_request_param(req, "id"), 200);
}

static int tenants_patch(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    struct sto_tenant cur;
    int rc = sto_tenant_get(ctx->db, id, &cur);
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "tenant '%.64s' does not exist", id);
    if (rc < 0)
        return http_reply_error(req, rc, "read tenant '%.64s': %s", id, horus_strerror(rc));
    json_t *body;
    if (http_request_json(req, &body) < 0) {
        sto_tenant_release(&cur);
        return 0;
    }
    struct sto_tenant_input in = {.id = cur.id,
                                  .name = cur.name,
                                  .max_cameras = cur.max_cameras,
                                  .max_storage_bytes = cur.max_storage_bytes};
    if (!json_is_object(body)) {
        http_reply_error(req, -EINVAL, "the body must be a JSON object");
        rc = -EINVAL;
    } else {
        rc = apply_body(req, body, false, &in);
    }
    if (rc == 0) {
        rc = sto_tenant_update(ctx->db, &in);
        if (rc == 0) {
            reply_tenant(req, ctx, id, 200);
            json_t *d = quota_details(&in);
            auth_audit_request(ctx->audit, req, AUTH_AUDIT_TENANT_UPDATED, AUTH_AUDIT_OK, "tenant",
                               id, d);
            json_decref(d);
        } else {
            http_reply_error(req, rc, "update tenant '%.64s': %s", id, horus_strerror(rc));
        }
    }
    json_decref(body);
    sto_tenant_release(&cur);
    return 0;
}

static int tenants_delete(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    int rc = sto_tenant_delete(ctx->db, id);
    if (rc == -ENOENT)
        return http_reply_error(req, rc, "tenant '%.64s' does not exist", id);
    if (rc == -EBUSY) {
        struct sto_tenant_usage u;
        if (sto_tenant_usage_get(ctx->db, id, &u) < 0)
            memset(&u, 0, sizeof(u));
        return http_reply_error(req, rc,
                                "tenant '%.64s' still has %llu cameras, %llu users and %llu API "
                                "keys; delete or revoke them first",
                                id, (unsigned long long)u.cameras, (unsigned long long)u.users,
                                (unsigned long long)u.api_keys);
    }
    if (rc < 0)
        return http_reply_error(req, rc, "delete tenant '%.64s': %s", id, horus_strerror(rc));
    auth_audit_request(ctx->audit, req, AUTH_AUDIT_TENANT_DELETED, AUTH_AUDIT_OK, "tenant", id,
                       NULL);
    log_info_kv(LOG_KV({"tenant", id}, {"by", api_principal(req)->name}), "tenant deleted");
    return http_reply(req, 204, NULL, NULL, 0);
}

int api_tenants_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/tenants", tenants_list},
        {"POST", "/api/v1/tenants", tenants_create},
        {"GET", "/api/v1/tenants/{id}", tenants_get},
        {"PATCH", "/api/v1/tenants/{id}", tenants_patch},
        {"DELETE", "/api/v1/tenants/{id}", tenants_delete},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
