/*
 * Principals and permissions: who is calling and what they may do
 * (docs/design/0016-identity.md).
 *
 * Every HTTP operation declares one permission (the OpenAPI document's
 * "x-horus-permission"); a principal's role satisfies it or not. Roles are
 * ordered viewer < operator < admin < superadmin. "public" needs no
 * principal, "metrics" is public unless a metrics token is configured,
 * "self" is any signed-in principal acting on itself.
 *
 * A principal also carries a camera grant: every camera, or a set of
 * camera ids and camera groups ("group:NAME"). Group entries are expanded
 * into the ids of the cameras in those groups when the principal is built
 * for a request (auth_principal_resolve_groups), so every check is an id
 * check. A camera outside it must look exactly like a camera that does not
 * exist (404 with the same body), everywhere.
 * Thread: any (no state; a principal belongs to one request).
 */
#ifndef HORUS_AUTH_H
#define HORUS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum auth_role {
    AUTH_ROLE_NONE = 0, /* no principal */
    AUTH_ROLE_VIEWER, /* watch live and play back */
    AUTH_ROLE_OPERATOR, /* + manage cameras, exports, probes, events */
    AUTH_ROLE_ADMIN, /* + users, API keys, system settings */
    AUTH_ROLE_SUPERADMIN, /* + tenants */
};

enum auth_perm {
    AUTH_PERM_PUBLIC, /* anyone, no credentials */
    AUTH_PERM_METRICS, /* public unless auth.metrics_token is set, then that bearer token */
    AUTH_PERM_SELF, /* any signed-in principal, on itself; allowed while a password must change */
    AUTH_PERM_VIEWER,
    AUTH_PERM_OPERATOR,
    AUTH_PERM_ADMIN,
    AUTH_PERM_SUPERADMIN,
};

/* How the principal proved who it is; one authenticator per kind. */
enum auth_kind {
    AUTH_KIND_SESSION, /* browser cookie horus_session */
    AUTH_KIND_API_KEY, /* Authorization: Bearer hk_... */
    AUTH_KIND_JWT, /* Authorization: Bearer <IdP access token> */
    AUTH_KIND_MEDIA_TOKEN, /* ?t= signed media URL */
};

#define AUTH_ID_MAX 64
#define AUTH_NAME_MAX 128
#define AUTH_CAMERAS_MAX 256 /* camera ids and groups in one grant */
#define AUTH_GROUP_PREFIX "group:" /* a grant entry naming a camera group */
#define AUTH_GROUP_MAX 64 /* characters of a group name, [a-z0-9_-] */
#define AUTH_GRANT_TEXT_MAX                                                                        \
    (AUTH_CAMERAS_MAX * 72) /* a grant's text: entries up to "group:" + 64 */

struct auth_principal {
    enum auth_kind kind;
    char id[AUTH_ID_MAX]; /* the session's or API key's id */
    char name[AUTH_NAME_MAX]; /* the user name (sessions, JWTs) or the key's name */
    char user[AUTH_NAME_MAX]; /* the user acting: a session's user, a key's owner ("" = none) */
    enum auth_role role;
    char tenant[AUTH_ID_MAX]; /* "" = none; see auth_may_see_tenant (docs/design/0024) */
    bool is_all_cameras;
    char **cameras; /* owned: the granted ids when !is_all_cameras (groups' ids too once resolved),
                       sorted */
    size_t ncameras;
    char **groups; /* owned: the names of the grant's "group:NAME" entries, sorted */
    size_t ngroups;
    char *grant; /* owned: the grant as set (canonical text, groups unexpanded); NULL = "*" */
    bool must_change_password; /* only AUTH_PERM_SELF routes until it changes */
    bool must_enroll_mfa; /* only AUTH_PERM_SELF routes until a second factor is confirmed */
    bool via_sso; /* a session opened by single sign-on: the IdP did the second factor */
    char csrf_token[AUTH_ID_MAX]; /* sessions: X-CSRF-Token must equal it; "" otherwise */
};

/* A new principal with every camera granted. Strings copied (cut to fit). */
struct auth_principal *auth_principal_new(enum auth_kind kind, const char *id, const char *name,
                                          enum auth_role role);
/* Frees p; NULL is a no-op. Has the shape of http_request_set_principal's free_cb. */
void auth_principal_free(void *p);

/*
 * Sets p's camera grant from its stored text ("*" = all, else ids and
 * "group:NAME" entries separated by commas). Group entries grant nothing
 * until auth_principal_resolve_groups expands them. Returns 0 or -EINVAL
 * (p keeps no camera then).
 */
int auth_principal_set_cameras(struct auth_principal *p, const char *grant);

/*
 * Whether p may see an object of tenant ("" or NULL = no tenant): a
 * superadmin sees every tenant, anyone else only objects of exactly its
 * own tenant (a principal of no tenant: objects of no tenant). NULL p: no.
 * The one tenant rule; docs/design/0024-tenants.md.
 */
bool auth_may_see_tenant(const struct auth_principal *p, const char *tenant);

/*
 * p's grant as set, groups unexpanded, in the form auth_principal_set_cameras
 * reads (borrowed from p): "*", the entries, or "" after a failed set.
 */
const char *auth_principal_grant(const struct auth_principal *p);

/* Whether p's grant names group (as "group:NAME"). */
bool auth_principal_has_group(const struct auth_principal *p, const char *group);

/* Whether s is a group name: 1..AUTH_GROUP_MAX characters of [a-z0-9_-]. */
bool auth_group_name_is_valid(const char *s);

/* Whether p may see camera id by its camera grant (NULL p: no). Tenants: auth_may_see_tenant. */
bool auth_may_see_camera(const struct auth_principal *p, const char *id);

/*
 * Checks a camera grant given by a user ("*", or camera ids of
 * [a-z0-9_-]{1,64} and "group:NAME" entries separated by commas, at most
 * AUTH_CAMERAS_MAX) and writes its canonical stored form (entries sorted,
 * duplicates dropped) into out. Returns 0 or
 * -EINVAL with a reason in why.
 */
int auth_cameras_normalize(const char *grant, char *out, size_t cap, char *why, size_t why_cap);

/*
 * Checks what a new user or API key is given: role one of viewer ..
 * superadmin, grant (NULL = "*") as auth_cameras_normalize reads it, whose
 * canonical form goes to out. Returns 0 or -EINVAL with the field and
 * reason in why ("role: ...", "cameras: ...").
 */
int auth_role_grant_check(enum auth_role role, const char *grant, char *out, size_t cap, char *why,
                          size_t why_cap);

/* "viewer" ... "superadmin" to a role. Returns 0 or -EINVAL. */
int auth_role_parse(const char *s, enum auth_role *out);
/* The role's name; "none" for AUTH_ROLE_NONE. */
const char *auth_role_name(enum auth_role r);

/* "public", "metrics", "self", "viewer", ... to a permission. Returns 0 or -EINVAL. */
int auth_perm_parse(const char *s, enum auth_perm *out);
const char *auth_perm_name(enum auth_perm p);

/*
 * Whether principal p (NULL = none) may call an operation needing perm:
 * 0, HORUS_EAUTH (credentials needed), -EACCES (role too low) or -EPERM
 * (the password must change, or a second factor be enrolled, first). AUTH_PERM_METRICS is decided
 * by the caller (it needs the token), and counts as public here.
 */
int auth_check(const struct auth_principal *p, enum auth_perm perm);

#endif
