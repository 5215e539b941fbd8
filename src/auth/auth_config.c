/*
 * DESIGN: the `auth:` section's schema table (docs/conventions.md §7: each
 * module owns its table).
 */
#include "auth_config.h"

#include <stddef.h>

const cfg_field auth_config_fields[] = {
    {.name = "session_idle",
     .type = CFG_DURATION,
     .offset = offsetof(struct auth_config, session_idle_ms),
     .def = "30m",
     .min = 1000,
     .max = 2592000000,
     .help = "A browser session unused this long ends (idle timeout)"},
    {.name = "session_max",
     .type = CFG_DURATION,
     .offset = offsetof(struct auth_config, session_max_ms),
     .def = "12h",
     .min = 60000,
     .max = 31536000000,
     .help = "A browser session ends this long after login, however active (absolute timeout)"},
    {.name = "metrics_token",
     .type = CFG_STRING,
     .offset = offsetof(struct auth_config, metrics_token),
     .def = "",
     .is_secret = true,
     .help = "When set, GET /metrics needs 'Authorization: Bearer <token>'; empty = public "
             "(use ${ENV} or file:PATH)"},
    {.name = "mfa",
     .type = CFG_ENUM,
     .offset = offsetof(struct auth_config, mfa),
     .def = "required_for_admins",
     .enum_names = auth_mfa_policy_names,
     .help = "Who must sign in with a TOTP second factor: off (never asked), optional (users "
             "who enrolled), required_for_admins (optional, and admins must enrol once any "
             "admin has), required (everyone enrols at first login)"},
    {.name = "oidc",
     .type = CFG_SECTION,
     .offset = offsetof(struct auth_config, oidc),
     .sub = auth_oidc_fields,
     .help = "Single sign-on with an OpenID Provider, and its JWT access tokens"},
    {.name = "media_tokens",
     .type = CFG_SECTION,
     .offset = offsetof(struct auth_config, media_tokens),
     .sub = auth_media_token_config_fields,
     .help = "Signed media URLs: the ?t= tokens in playlists and share links"},
    {0},
};
