/*
 * Users, browser sessions and the first start (docs/design/0016-identity.md).
 *
 * A session is an opaque 32-byte random token sent in the horus_session
 * cookie; the database keeps only its SHA-256. It ends after
 * auth.session_idle without use or auth.session_max after login, when its
 * user is disabled or deleted, or on logout. Each session has its own CSRF
 * token, which state-changing cookie requests must echo in X-CSRF-Token.
 * Thread: any but the storage writer.
 */
#ifndef HORUS_AUTH_USER_H
#define HORUS_AUTH_USER_H

#include "auth.h"
#include "auth_mfa.h"
#include "storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_SESSION_TOKEN_MAX 48 /* 32 bytes in base64url + NUL */
#define AUTH_SESSION_COOKIE "horus_session"
#define AUTH_INITIAL_PASSWORD_FILE "initial-admin-password"

/* Whether name is a valid user name: 1..64 characters of [A-Za-z0-9._@-]. */
bool auth_user_name_is_valid(const char *name);

struct auth_user_options {
    const char *name;
    enum auth_role role;
    const char *cameras; /* grant text; NULL = "*" */
    const char *password; /* NULL: a random one is generated into generated_out */
    bool must_change_password;
    const char *tenant; /* NULL or "" = none; the caller checks that it exists */
};

/*
 * Creates a user after checking every field (name, role, grant, password
 * rules). When o->password is NULL a random password is made and copied
 * into generated_out (>= 32 bytes; may then not be NULL). Returns 0,
 * -EINVAL with a reason in why, -EEXIST, or a storage error.
 */
int auth_user_create(sto_db *db, const struct auth_user_options *o, char *generated_out, char *why,
                     size_t why_cap);

/*
 * Sets name's password after the rules (auth_password_check_rules), clears
 * must_change_password unless must_change, and ends the user's sessions
 * but keep_session_id (NULL = all). Returns 0, -ENOENT, -EINVAL with why.
 */
int auth_user_set_password(sto_db *db, const char *name, const char *password, bool must_change,
                           const char *keep_session_id, char *why, size_t why_cap);

/*
 * First start: when the database has no user, creates "admin" (role
 * admin, every camera, must change its password) with a random password
 * written once to <data_dir>/initial-admin-password, mode 0600.
 * *created says whether it did. Returns 0 or -errno / a storage error.
 */
int auth_first_start(sto_db *db, const char *data_dir, bool *created);

struct auth_login {
    const char *username;
    const char *password;
    const char *remote; /* client address, recorded with the session */
    const char *user_agent; /* may be NULL */
    int64_t now_ms;
    int64_t session_max_ms; /* absolute timeout */
    /* second factor (auth_mfa.h): asked of enrolled users unless the policy is off */
    enum auth_mfa_policy mfa_policy;
    const char *totp; /* may be NULL; a recovery code is accepted here too */
    const char *recovery_code; /* may be NULL */
};

/* What the second factor did in a login whose password was right. */
enum auth_login_mfa {
    AUTH_LOGIN_MFA_NOT_ASKED, /* no factor enrolled (or policy off), or the password was wrong */
    AUTH_LOGIN_MFA_MISSING, /* enrolled, no code given: refused */
    AUTH_LOGIN_MFA_INVALID, /* wrong or malformed code: refused */
    AUTH_LOGIN_MFA_REPLAYED, /* a TOTP code already used: refused */
    AUTH_LOGIN_MFA_TOTP, /* passed with a TOTP code */
    AUTH_LOGIN_MFA_RECOVERY, /* passed with a recovery code, now burnt */
};

/* What a successful login returns; the token is shown to the client once. */
struct auth_login_result {
    char token[AUTH_SESSION_TOKEN_MAX];
    char csrf_token[AUTH_ID_MAX];
    char session_id[AUTH_ID_MAX];
    int64_t expires_at_ms;
    struct auth_principal *principal; /* new */
    enum auth_login_mfa mfa; /* also set when the second factor refused the login */
};

/*
 * Checks username and password (an unknown or disabled user costs the same
 * argon2 verification and gets the same HORUS_EAUTH), then the second
 * factor of a user who enrolled one (unless in->mfa_policy is off), and
 * opens a session. A user the policy obliges to have a factor and who has
 * none gets a session restricted to "self" routes (principal's
 * must_enroll_mfa). Returns 0 and fills *res (free res->principal),
 * HORUS_EAUTH (res->mfa says whether the second factor refused it: only
 * then was the password right), or a storage error.
 */
int auth_login_password(sto_db *db, const struct auth_login *in, struct auth_login_result *res);

/*
 * Checks a user's name and password for a protocol that cannot ask a
 * second factor (RTSP Basic): the same argon2 verification as a login
 * (an unknown or disabled user costs the same and gets the same
 * HORUS_EAUTH), then refuses (-EACCES) a user who enrolled a second factor
 * or must change the password: such users use an API key or a media
 * token. Opens no session. Returns 0 and a new principal (kind
 * AUTH_KIND_SESSION, id ""), HORUS_EAUTH, -EACCES, or a storage error.
 * The login-attempt limiter is the caller's, as for auth_login_password.
 */
int auth_user_verify_password(sto_db *db, const char *username, const char *password,
                              struct auth_principal **out);
/*
 * The principal of the user named username when a password alone may open
 * it, without checking one (the caller checked an RTSP Digest response):
 * HORUS_EAUTH for an unknown or disabled user, -EACCES as above.
 */
int auth_user_principal_for_password(sto_db *db, const char *username, struct auth_principal **out);

/*
 * Opens a session for principal p (stolen: freed on failure, else handed
 * back in res->principal with the session's id and CSRF token), a user
 * whose credentials the caller has already checked (a password, a single
 * sign-on); in gives the address, user agent, now and session_max (its
 * username and password are not read). The row records p->via_sso as
 * the session's method, which auth_session_authenticate hands back. Returns 0 and fills *res, -EIO
 * (no randomness) or a storage error. Thread: any but the storage writer.
 */
int auth_session_open(sto_db *db, struct auth_principal *p, const struct auth_login *in,
                      struct auth_login_result *res);

/*
 * Authenticates a session token from the cookie. Returns 0 and a new
 * principal (kind AUTH_KIND_SESSION, the user's role, grant and
 * must_change_password, the session's CSRF token), or HORUS_EAUTH for an
 * unknown, idle-expired or absolutely expired session (deleted then) or a
 * disabled user. Stamps last_seen at most every idle_ms / 10 (and at least
 * once a minute).
 */
int auth_session_authenticate(sto_db *db, const char *token, int64_t now_ms, int64_t idle_ms,
                              struct auth_principal **out);
/*
 * The same; on success *valid_until_ms (when not NULL) gets the first
 * instant the answer may change without a write to the session or user:
 * when the next last_seen stamp is due (before the idle limit), or the
 * absolute expiry (the gate's cache, auth_cache.h).
 */
int auth_session_authenticate_until(sto_db *db, const char *token, int64_t now_ms, int64_t idle_ms,
                                    struct auth_principal **out, int64_t *valid_until_ms);

/* The principal a user row gives (role, grant, flags); NULL when the row is unusable. */
struct auth_principal *auth_principal_of_user(const struct sto_user *u, enum auth_kind kind,
                                              const char *id);

#endif
