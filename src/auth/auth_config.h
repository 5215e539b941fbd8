/*
 * The `auth:` section of horus.yaml (docs/design/0016-identity.md). Later
 * identity features (MFA, OIDC, rate limits) add their keys to this table.
 */
#ifndef HORUS_AUTH_CONFIG_H
#define HORUS_AUTH_CONFIG_H

#include "auth_mfa.h"
#include "cfg.h"
#include "media_token.h"
#include "oidc.h"

#include <stdint.h>

struct auth_config {
    int64_t session_idle_ms; /* a session unused this long ends */
    int64_t session_max_ms; /* a session ends this long after login, used or not */
    char *metrics_token; /* "" = /metrics is public; else Authorization: Bearer <it> */
    struct auth_oidc_config oidc; /* single sign-on; issuer "" = off */
    int mfa; /* enum auth_mfa_policy: who must have a second factor */
    struct auth_media_token_config media_tokens; /* signed media URLs (?t=) */
};

extern const cfg_field auth_config_fields[];

#endif
