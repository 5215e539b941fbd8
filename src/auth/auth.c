/*
 * DESIGN: principals, roles and permissions (docs/design/0016-identity.md).
 * A principal is plain data owned by one request; authenticators of each
 * credential kind (auth_session.c, auth_api_key.c, later JWT and media
 * tokens) build one, the API's gate checks it against the route's
 * permission and the camera in the path. Camera grants are kept sorted so
 * the per-request check is a binary search; group entries are kept apart
 * (p->groups) until auth_groups.c expands them into ids.
 * Thread: any.
 */
#include "auth.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[] = {"none", "viewer", "operator", "admin", "superadmin"};
static const char *const perm_names[] = {"public",   "metrics", "self",      "viewer",
                                         "operator", "admin",   "superadmin"};

struct auth_principal *auth_principal_new(enum auth_kind kind, const char *id, const char *name,
                                          enum auth_role role)
{
    struct auth_principal *p = horus_calloc(1, sizeof(*p));
    p->kind = kind;
    snprintf(p->id, sizeof(p->id), "%s", id ? id : "");
    snprintf(p->name, sizeof(p->name), "%s", name ? name : "");
    p->role = role;
    p->is_all_cameras = true;
    return p;
}

static void clear_cameras(struct auth_principal *p)
{
    for (size_t i = 0; i < p->ncameras; i++)
        free(p->cameras[i]);
    free(p->cameras);
    p->cameras = NULL;
    p->ncameras = 0;
    for (size_t i = 0; i < p->ngroups; i++)
        free(p->groups[i]);
    free(p->groups);
    p->groups = NULL;
    p->ngroups = 0;
    free(p->grant);
    p->grant = NULL;
}

void auth_principal_free(void *arg)
{
    struct auth_principal *p = arg;
    if (!p)
        return;
    clear_cameras(p);
    memset(p->csrf_token, 0, sizeof(p->csrf_token));
    free(p);
}

static bool is_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool is_name(const char *s, size_t len)
{
    bool ok = len >= 1 && len <= 64;
    for (size_t i = 0; ok && i < len; i++)
        ok = is_id_char(s[i]);
    return ok;
}

bool auth_group_name_is_valid(const char *s)
{
    return s && is_name(s, strlen(s));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Splits grant into sorted unique ids (new array of new strings). Returns
 * 0 with *all set for "*", or -EINVAL with a reason.
 */
static int split_grant(const char *grant, bool *all, char ***ids, size_t *n, char *why,
                       size_t why_cap)
{
    *all = false;
    *ids = NULL;
    *n = 0;
    if (!grant) {
        snprintf(why, why_cap, "is missing");
        return -EINVAL;
    }
    if (strcmp(grant, "*") == 0) {
        *all = true;
        return 0;
    }
    char **v = NULL;
    size_t nv = 0;
    const char *s = grant;
    int rc = 0;
    while (*s) {
        size_t len = strcspn(s, ",");
        size_t plen = strlen(AUTH_GROUP_PREFIX);
        bool is_group = len > plen && strncmp(s, AUTH_GROUP_PREFIX, plen) == 0;
        if (!(is_group ? is_name(s + plen, len - plen) : is_name(s, len))) {
            snprintf(why, why_cap,
                     "'%.*s' is not a camera id or group:NAME (1..64 characters of [a-z0-9_-])",
                     (int)(len > 80 ? 80 : len), s);
            rc = -EINVAL;
            break;
        }
        if (nv == AUTH_CAMERAS_MAX) {
            snprintf(why, why_cap, "grants more than %d cameras", AUTH_CAMERAS_MAX);
            rc = -EINVAL;
            break;
        }
        v = horus_realloc(v, (nv + 1) * sizeof(*v));
        v[nv++] = horus_strndup(s, len);
        s += len;
        if (*s == ',') {
            s++;
            if (!*s) {
                snprintf(why, why_cap, "ends with a comma");
                rc = -EINVAL;
                break;
            }
        }
    }
    if (rc == 0 && nv == 0) {
        snprintf(why, why_cap, "is empty (use \"*\" for every camera)");
        rc = -EINVAL;
    }
    if (rc < 0) {
        for (size_t i = 0; i < nv; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    qsort(v, nv, sizeof(*v), cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < nv; i++) {
        if (w > 0 && strcmp(v[w - 1], v[i]) == 0)
            free(v[i]);
        else
            v[w++] = v[i];
    }
    *ids = v;
    *n = w;
    return 0;
}

int auth_principal_set_cameras(struct auth_principal *p, const char *grant)
{
    clear_cameras(p);
    char why[160];
    char **v;
    size_t n;
    int rc = split_grant(grant, &p->is_all_cameras, &v, &n, why, sizeof(why));
    if (rc < 0) {
        p->is_all_cameras = false;
        return rc;
    }
    /* Sorted entries stay sorted in each half. */
    size_t plen = strlen(AUTH_GROUP_PREFIX);
    p->cameras = horus_calloc(n ? n : 1, sizeof(*p->cameras));
    p->groups = horus_calloc(n ? n : 1, sizeof(*p->groups));
    size_t glen = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(v[i], AUTH_GROUP_PREFIX, plen) == 0) {
            p->groups[p->ngroups++] = horus_strdup(v[i] + plen);
            free(v[i]);
        } else {
            p->cameras[p->ncameras++] = v[i];
        }
    }
    free(v);
    if (!p->is_all_cameras) {
        for (size_t i = 0; i < p->ncameras; i++)
            glen += strlen(p->cameras[i]) + 1;
        for (size_t i = 0; i < p->ngroups; i++)
            glen += plen + strlen(p->groups[i]) + 1;
        p->grant = horus_calloc(1, glen + 1);
        size_t at = 0;
        for (size_t i = 0; i < p->ncameras; i++)
            at += (size_t)sprintf(p->grant + at, "%s%s", at ? "," : "", p->cameras[i]);
        for (size_t i = 0; i < p->ngroups; i++)
            at += (size_t)sprintf(p->grant + at, "%s%s%s", at ? "," : "", AUTH_GROUP_PREFIX,
                                  p->groups[i]);
    }
    return 0;
}

const char *auth_principal_grant(const struct auth_principal *p)
{
    return p->is_all_cameras ? "*" : p->grant ? p->grant : "";
}

bool auth_principal_has_group(const struct auth_principal *p, const char *group)
{
    return p && group && p->ngroups > 0 &&
           bsearch(&group, p->groups, p->ngroups, sizeof(*p->groups), cmp_str) != NULL;
}

bool auth_may_see_camera(const struct auth_principal *p, const char *id)
{
    if (!p || !id)
        return false;
    if (p->is_all_cameras)
        return true;
    return p->ncameras > 0 &&
           bsearch(&id, p->cameras, p->ncameras, sizeof(*p->cameras), cmp_str) != NULL;
}

bool auth_may_see_tenant(const struct auth_principal *p, const char *tenant)
{
    if (!p)
        return false;
    if (p->role == AUTH_ROLE_SUPERADMIN)
        return true;
    return strcmp(p->tenant, tenant ? tenant : "") == 0;
}

int auth_cameras_normalize(const char *grant, char *out, size_t cap, char *why, size_t why_cap)
{
    bool all;
    char **ids;
    size_t n;
    int rc = split_grant(grant, &all, &ids, &n, why, why_cap);
    if (rc < 0)
        return rc;
    size_t len = 0;
    out[0] = '\0';
    if (all)
        len = (size_t)snprintf(out, cap, "*");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + (len < cap ? len : cap), len < cap ? cap - len : 0, "%s%s",
                                i ? "," : "", ids[i]);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    if (len >= cap) {
        snprintf(why, why_cap, "is too long");
        return -EINVAL;
    }
    return 0;
}

int auth_role_parse(const char *s, enum auth_role *out)
{
    for (size_t i = AUTH_ROLE_VIEWER; s && i < sizeof(role_names) / sizeof(*role_names); i++)
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum auth_role)i;
            return 0;
        }
    return -EINVAL;
}

const char *auth_role_name(enum auth_role r)
{
    return (size_t)r < sizeof(role_names) / sizeof(*role_names) ? role_names[r] : "none";
}

int auth_perm_parse(const char *s, enum auth_perm *out)
{
    for (size_t i = 0; s && i < sizeof(perm_names) / sizeof(*perm_names); i++)
        if (strcmp(s, perm_names[i]) == 0) {
            *out = (enum auth_perm)i;
            return 0;
        }
    return -EINVAL;
}

const char *auth_perm_name(enum auth_perm p)
{
    return (size_t)p < sizeof(perm_names) / sizeof(*perm_names) ? perm_names[p] : "?";
}

int auth_check(const struct auth_principal *p, enum auth_perm perm)
{
    if (perm == AUTH_PERM_PUBLIC || perm == AUTH_PERM_METRICS)
        return 0;
    if (!p || p->role == AUTH_ROLE_NONE)
        return HORUS_EAUTH;
    if (perm == AUTH_PERM_SELF)
        return 0;
    if (p->must_change_password || p->must_enroll_mfa)
        return -EPERM;
    enum auth_role need = perm == AUTH_PERM_VIEWER     ? AUTH_ROLE_VIEWER
                          : perm == AUTH_PERM_OPERATOR ? AUTH_ROLE_OPERATOR
                          : perm == AUTH_PERM_ADMIN    ? AUTH_ROLE_ADMIN
                                                       : AUTH_ROLE_SUPERADMIN;
    return p->role >= need ? 0 : -EACCES;
}

int auth_role_grant_check(enum auth_role role, const char *grant, char *out, size_t cap, char *why,
                          size_t why_cap)
{
    if (role < AUTH_ROLE_VIEWER || role > AUTH_ROLE_SUPERADMIN) {
        snprintf(why, why_cap, "role: must be viewer, operator, admin or superadmin");
        return -EINVAL;
    }
    char cwhy[160];
    if (auth_cameras_normalize(grant ? grant : "*", out, cap, cwhy, sizeof(cwhy)) < 0) {
        snprintf(why, why_cap, "cameras: %s", cwhy);
        return -EINVAL;
    }
    return 0;
}
