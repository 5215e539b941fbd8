/*
 * DESIGN: schema table of the `auth.oidc:` section (docs/conventions.md §7).
 * Every key is read at start only: the daemon makes one relying party
 * (with its pending logins and key cache) from them, so a reload that
 * changes one logs that a restart is needed (docs/design/0022).
 * The values are checked here as far as one field goes (URL schemes,
 * algorithm names); auth_oidc_new checks what needs several (a client_id
 * when an issuer is set, a redirect URI that can be derived).
 */
#include "auth_fetch_int.h"
#include "oidc.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int validate_issuer(const void *value, char *err, size_t err_size)
{
    const char *s = *(const char *const *)value;
    if (!s || !*s || auth_fetch_url_allowed(s))
        return 0;
    snprintf(err, err_size, "'%.100s' is not an https URL (plain http only on loopback)", s);
    return -EINVAL;
}

static int validate_url_or_empty(const void *value, char *err, size_t err_size)
{
    const char *s = *(const char *const *)value;
    if (!s || !*s || strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0)
        return 0;
    snprintf(err, err_size, "'%.100s' is not an http(s) URL", s);
    return -EINVAL;
}

static int validate_alg(const void *value, char *err, size_t err_size)
{
    const char *s = *(const char *const *)value;
    if (auth_jwt_alg_from_name(s))
        return 0;
    snprintf(err, err_size, "'%.40s' is not an accepted signature algorithm", s ? s : "");
    return -EINVAL;
}

/* The sign-in button's text: 1..64 bytes of printable text (no control characters). */
static int validate_label(const void *value, char *err, size_t err_size)
{
    const char *s = *(const char *const *)value;
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > 64) {
        snprintf(err, err_size, "must be 1..64 bytes");
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            snprintf(err, err_size, "must not hold control characters");
            return -EINVAL;
        }
    }
    return 0;
}

static const char *const client_auth_names[] = {"client_secret_basic", "client_secret_post", NULL};
static const char *const default_role_names[] = {"none", "viewer", "operator", NULL};

#define ROLE_LIST(field, what)                                                                     \
    {                                                                                              \
        .name = #field, .type = CFG_STRING_LIST,                                                   \
        .offset = offsetof(struct auth_oidc_role_lists, field),                                    \
        .count_offset = offsetof(struct auth_oidc_role_lists, n##field), .max = 256,               \
        .help = "Values of role_claim that make the user " what                                    \
    }

static const cfg_field role_fields[] = {
    ROLE_LIST(superadmin, "a superadmin (manages tenants)"),
    ROLE_LIST(admin, "an admin"),
    ROLE_LIST(operator, "an operator (cameras, exports, events)"),
    ROLE_LIST(viewer, "a viewer (watch and play back)"),
    {0},
};

const cfg_field auth_oidc_fields[] = {
    {.name = "issuer",
     .type = CFG_STRING,
     .offset = offsetof(struct auth_oidc_config, issuer),
     .def = "",
     .validate_cb = validate_issuer,
     .pattern_help = "https://idp.example.com/realms/horus",
     .help = "OpenID Provider issuer URL (exactly as its discovery document says); empty = "
             "single sign-on off"},
    {.name = "client_id",
     .type = CFG_STRING,
     .offset = offsetof(struct auth_oidc_config, client_id),
     .def = "",
     .help = "Client id Horus is registered with at the IdP; also the ID token audience"},
    {.name = "client_secret",
     .type = CFG_STRING,
     .offset = offsetof(struct auth_oidc_config, client_secret),
     .def = "",
     .is_secret = true,
     .help = "Client secret (use ${ENV} or file:PATH); empty for a public client (PKCE only)"},
    {.name = "client_auth",
     .type = CFG_ENUM,
     .offset = offsetof(struct auth_oidc_config, client_auth),
     .def = "client_secret_basic",
     .enum_names = client_auth_names,
     .help = "How the secret reaches the token endpoint: client_secret_basic or "
             "client_secret_post"},
    {.name = "redirect_uri",
     .type = CFG_STRING,
     .offset = offsetof(struct auth_oidc_config, redirect_uri),
     .def = "",
     .validate_cb = validate_url_or_empty,
     .help = "Callback URL registered at the IdP; empty = server.public_url + "
             "/api/v1/auth/oidc/callback"},
    {.name = "scopes",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct auth_oidc_config, scopes),
     .count_offset = offsetof(struct auth_oidc_config, nscopes),
     .max = 32,
     .help = "Scopes asked for; none = openid profile email (openid is always added)"},
    {.name = "algorithms",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct auth_oidc_config, algorithms),
     .count_offset = offsetof(struct auth_oidc_config, nalgorithms),
     .max = 10,
     .validate_cb = validate_alg,
     .pattern_help = "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA",
     .help = "Signature algorithms accepted on tokens; none = all of them (never none or HS*)"},
    {.name = "audience",
     .type = CFG_STRING,
     .offset = offsetof(struct auth_oidc_config, audience),
     .def = "",
     .help = "Audience required in access tokens presented as bearer tokens; empty = client_id"},
    {.name = "leeway",
     .type = CFG_DURATION,
     .offset = offsetof(struct auth_oidc_config, leeway_ms),
     .def = "60s",
     .max = 600000,
     .help = "Clock skew allowed on exp, nbf and iat"},
    {.name = "login_timeout",
     .type = CFG_DURATION,
     .offset = offsetof(struct auth_oidc_config, login_timeout_ms),
     .def = "10m",
     .min = 30000,
     .max = 3600000,
     .help = "How long a started login may take at the IdP; its state is single use"},
    {.name = "jwks_ttl",
     .type = CFG_DURATION,
     .offset = offsetof(struct auth_oidc_config, jwks_ttl_ms),
     .def = "10m",
     .min = 10000,
     .max = 86400000,
     .help = "Refetch the IdP's keys after this long"},
    {.name = "jwks_min_refresh",
     .type = CFG_DURATION,
     .offset = offsetof(struct auth_oidc_config, jwks_min_refresh_ms),
     .def = "30s",
     .min = 1000,
     .max = 3600000,
     .help = "Least time between key refetches caused by tokens naming an unknown key id"},
    {.name = "http_timeout",
     .type = CFG_DURATION,
     .offset = offsetof(struct auth_oidc_config, http_timeout_ms),
     .def = "5s",
     .min = 500,
     .max = 60000,
     .help = "Deadline of each request to the IdP (discovery, keys, token exchange)"},
    {.name = "username_claim",
     .type = CFG_STRING,
     .offset = offsetof(struct auth_oidc_config, username_claim),
     .def = "preferred_username",
     .help = "Claim giving the Horus user name; sub when absent from the token"},
    {.name = "role_claim",
     .type = CFG_STRING,
     .offset = offsetof(struct auth_oidc_config, role_claim),
     .def = "groups",
     .help = "Claim (dotted path, e.g. realm_access.roles) whose values select the role"},
    {.name = "roles",
     .type = CFG_SECTION,
     .offset = offsetof(struct auth_oidc_config, roles),
     .sub = role_fields},
    {.name = "default_role",
     .type = CFG_ENUM,
     .offset = offsetof(struct auth_oidc_config, default_role),
     .def = "none",
     .enum_names = default_role_names,
     .help = "Role of a user no roles list matches: none (login refused), viewer or operator"},
    {.name = "cameras_claim",
     .type = CFG_STRING,
     .offset = offsetof(struct auth_oidc_config, cameras_claim),
     .def = "",
     .help = "Claim (dotted path) listing the camera ids or groups granted (\"*\" = all); empty "
             "= every camera"},
    {.name = "create_users",
     .type = CFG_BOOL,
     .offset = offsetof(struct auth_oidc_config, create_users),
     .def = "false",
     .help = "Create a Horus user on first single sign-on (otherwise an admin adds it first)"},
    {.name = "post_logout_redirect_uri",
     .type = CFG_STRING,
     .offset = offsetof(struct auth_oidc_config, post_logout_redirect_uri),
     .def = "",
     .validate_cb = validate_url_or_empty,
     .help = "Where the IdP sends the browser after logout (registered at the IdP); empty = "
             "the IdP's page"},
    {.name = "label",
     .type = CFG_STRING,
     .offset = offsetof(struct auth_oidc_config, label),
     .def = "SSO",
     .validate_cb = validate_label,
     .help = "Text of the sign-in page's single sign-on button (GET /api/v1/auth/methods), "
             "e.g. the IdP's name"},
    {0},
};
