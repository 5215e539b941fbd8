/*
 * OpenID Connect single sign-on (relying party): discovery, the
 * authorization code flow with PKCE (S256), state and nonce bound to a
 * short-lived pending login kept in memory (single use), the token
 * exchange, ID-token validation, the mapping of claims to a role and camera
 * grants, the RP-initiated logout URL, and the verification of the IdP's
 * JWT access tokens for programs (bearer tokens).
 *
 * The HTTP routes are thin: GET /api/v1/auth/oidc/login calls
 * auth_oidc_login_begin and redirects (302) to the URL; GET
 * /api/v1/auth/oidc/callback passes the query's state, code and error to
 * auth_oidc_login_finish and, on success, opens a session for the identity
 * and redirects to identity.return_to. Every failure of either answers 401
 * (or 400 for a missing parameter) without the reason, which goes to the
 * log and the audit. Decisions: docs/design/0022-oidc-and-jwt.md.
 */
#ifndef HORUS_AUTH_OIDC_H
#define HORUS_AUTH_OIDC_H

#include "cfg.h"
#include "jwks.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The auth.oidc configuration table. Strings are owned by the snapshot. */
struct auth_oidc_role_lists {
    char **superadmin, **admin, **operator, ** viewer; /* claim values giving each role */
    size_t nsuperadmin, nadmin, noperator, nviewer;
};

enum auth_oidc_client_auth { AUTH_OIDC_SECRET_BASIC, AUTH_OIDC_SECRET_POST };
enum auth_oidc_default_role {
    AUTH_OIDC_DEFAULT_NONE,
    AUTH_OIDC_DEFAULT_VIEWER,
    AUTH_OIDC_DEFAULT_OPERATOR,
};

struct auth_oidc_config {
    char *issuer; /* "" = OIDC off */
    char *client_id;
    char *client_secret; /* secret */
    int client_auth; /* enum auth_oidc_client_auth */
    char *redirect_uri; /* "" = server.public_url + AUTH_OIDC_CALLBACK_PATH */
    char **scopes; /* none = openid profile email */
    size_t nscopes;
    char **algorithms; /* JOSE names; none = every asymmetric one */
    size_t nalgorithms;
    char *audience; /* of access tokens; "" = client_id */
    int64_t leeway_ms;
    int64_t login_timeout_ms; /* life of a pending login */
    int64_t jwks_ttl_ms;
    int64_t jwks_min_refresh_ms; /* least time between refreshes for unknown kids */
    int64_t http_timeout_ms;
    char *username_claim;
    char *role_claim; /* dotted path: "groups", "realm_access.roles" */
    struct auth_oidc_role_lists roles;
    int default_role; /* enum auth_oidc_default_role */
    char *cameras_claim; /* dotted path; "" = every camera */
    bool create_users;
    char *post_logout_redirect_uri; /* "" = none */
    char *label; /* what the sign-in page's button says (GET /api/v1/auth/methods) */
};

extern const cfg_field auth_oidc_fields[];

#define AUTH_OIDC_CALLBACK_PATH "/api/v1/auth/oidc/callback"
#define AUTH_OIDC_RETURN_TO_MAX 1024
#define AUTH_OIDC_PENDING_MAX 4096

/* Who logged in, as the claims map them. Every pointer is owned by the struct. */
struct auth_oidc_identity {
    char *subject; /* "sub" */
    char *username; /* username_claim, else "sub" */
    char *email; /* NULL when absent */
    const char *role; /* static: "superadmin", "admin", "operator" or "viewer" */
    bool all_cameras; /* no cameras_claim configured, or the claim holds "*" */
    char **cameras; /* camera ids or group names from cameras_claim */
    size_t ncameras;
    bool create_user; /* auth.oidc.create_users: make the user when it does not exist */
    char *return_to; /* login only: the same-origin path to send the browser to */
    char *id_token; /* login only: for the logout URL's id_token_hint */
    int64_t expires_at_s; /* access tokens only: the "exp" claim (Unix seconds) */
};
void auth_oidc_identity_release(struct auth_oidc_identity *id);

typedef struct auth_oidc auth_oidc;

struct auth_oidc_opts {
    const struct auth_oidc_config *config; /* borrowed for the call; copied */
    const char *public_url; /* server.public_url, to derive redirect_uri; may be NULL */
    const struct horus_clock *clock; /* NULL: the system clock; borrowed */
};

/*
 * Makes the relying party from the configuration (no I/O). Returns 0,
 * -ENOENT when OIDC is off (issuer empty), or -EINVAL with the reason in
 * err (missing client_id, no redirect URI derivable, an issuer that is not
 * https, an unknown algorithm name).
 */
int auth_oidc_new(const struct auth_oidc_opts *opts, auth_oidc **out, char *err, size_t err_size);
void auth_oidc_free(auth_oidc *oidc);

/*
 * Fetches the discovery document and the JWKS. Must succeed once before
 * logins and token checks work; the calls below run it themselves (once
 * per http_timeout, not more often) while it has not. Returns 0 or a
 * negative code with the reason in err. Blocks up to two http_timeouts.
 * Thread: any.
 */
int auth_oidc_discover(auth_oidc *oidc, char *err, size_t err_size);

/*
 * Starts a login: makes state, nonce and a PKCE verifier, remembers them
 * with return_to for login_timeout, and stores in *url a new string (free
 * it) with the authorization URL to redirect the browser to. return_to is
 * NULL ("/") or a same-origin path: it starts with one '/', not "//" or
 * "/\", holds no control character, backslash or scheme, at most
 * AUTH_OIDC_RETURN_TO_MAX bytes; anything else is -EINVAL (an open
 * redirect attempt). Returns 0, -EINVAL, or -EAGAIN when discovery has not
 * succeeded yet. Thread: any.
 */
int auth_oidc_login_begin(auth_oidc *oidc, const char *return_to, char **url, char *err,
                          size_t err_size);

/*
 * Finishes a login from the callback's query parameters (borrowed; NULL
 * when absent): takes the pending login of state (single use: a second
 * call with the same state fails), refuses an IdP error, exchanges code
 * with the PKCE verifier, validates the ID token (signature through the
 * JWKS, iss, aud = client_id, azp, nonce, exp, iat) and maps its claims.
 * On success fills *id and returns 0. Errors: -EINVAL (missing
 * parameters), -ENOENT (unknown, used or expired state), -EACCES (IdP
 * error, refused token, nonce mismatch, no role), -EIO (token endpoint
 * unreachable or failing); the reason is in err and never holds a token or
 * secret. Blocks on the token endpoint up to http_timeout. Thread: any.
 */
int auth_oidc_login_finish(auth_oidc *oidc, const char *state, const char *code,
                           const char *idp_error, struct auth_oidc_identity *id, char *err,
                           size_t err_size);

/*
 * Checks a bearer token from a program: a JWT access token of the IdP
 * (signature, iss, aud = audience or client_id, exp, nbf with leeway) and
 * maps its claims like a login's. Returns AUTH_JWT_OK and fills *id, or
 * the reason (AUTH_JWT_MISSING_CLAIM also for a token without a role).
 * Thread: any.
 */
enum auth_jwt_reason auth_oidc_verify_access_token(auth_oidc *oidc, const char *token, size_t len,
                                                   struct auth_oidc_identity *id, char *why,
                                                   size_t why_size);

/*
 * The RP-initiated logout URL (end_session_endpoint with id_token_hint,
 * client_id and post_logout_redirect_uri) as a new string, or NULL when the
 * IdP has no end_session_endpoint or discovery has not succeeded. id_token
 * may be NULL. Thread: any.
 */
char *auth_oidc_logout_url(auth_oidc *oidc, const char *id_token);

/*
 * Initialises libcurl's global state, which is not thread-safe: main calls
 * it once before any thread starts. Returns 0 or -EIO. Thread: main.
 */
int auth_oidc_global_init(void);

/* True when path is an acceptable return_to (see auth_oidc_login_begin). Pure. */
bool auth_oidc_return_to_ok(const char *path);

/* The JWKS cache, for statistics; NULL before discovery. Borrowed. */
auth_jwks *auth_oidc_jwks(auth_oidc *oidc);

/* Pending logins now held (for tests and metrics). */
size_t auth_oidc_pending_count(auth_oidc *oidc);

#endif
