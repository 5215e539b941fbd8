/*
 * The second factor wired to users (docs/design/0023-mfa.md): TOTP
 * enrolment (pending until the first code confirms it), the check a login
 * or a self-service change makes, recovery codes, and the `auth.mfa`
 * policy that says who must have one. The primitives (TOTP, base32,
 * otpauth URIs, recovery code hashing) are totp.h; the rows are
 * storage.h's sto_mfa_*.
 * Thread: any but the storage writer.
 */
#ifndef HORUS_AUTH_MFA_H
#define HORUS_AUTH_MFA_H

#include "auth.h"
#include "storage.h"
#include "totp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* auth.mfa: who must have a second factor (password logins only; the IdP decides for SSO). */
enum auth_mfa_policy {
    AUTH_MFA_OFF, /* never asked, even of enrolled users; enrolment refused */
    AUTH_MFA_OPTIONAL, /* asked of the users who enrolled */
    AUTH_MFA_REQUIRED_FOR_ADMINS, /* optional, and admins must enrol once any admin has */
    AUTH_MFA_REQUIRED, /* everyone must enrol */
};

/* The names of the policies in enum order, NULL-terminated (the config enum). */
extern const char *const auth_mfa_policy_names[];

#define AUTH_MFA_RECOVERY_CODES 10 /* codes handed out at confirmation and regeneration */
#define AUTH_MFA_ISSUER "Horus"
#define AUTH_MFA_SECRET_STORED_MAX 256 /* the sealed base32 of a 20-byte secret: 136 */
#define AUTH_MFA_SECRET_MAX_BYTES 64
#define AUTH_MFA_URI_MAX 512

/*
 * The one function pair that turns user's TOTP secret into the text stored
 * in user_mfa.secret and back: base32 here, sealed by box (the database's
 * secret box, sto_db_secrets) through storage's sto_mfa_secret_seal/open,
 * bound to user (docs/design/0023). _open also reads the "b32:" rows
 * written before secrets were sealed. _seal returns the length written
 * into out (cap bytes), -ENOSPC or -EINVAL (n is 0 or over
 * AUTH_MFA_SECRET_MAX_BYTES); _open returns the secret's length, -EINVAL
 * for a stored form it does not know or cannot decode, -ENOSPC, -ENOKEY
 * (no box, or not its key) or -EBADMSG (tampered, or another user's).
 */
int auth_mfa_secret_seal(const sto_secret_box *box, const char *user, const uint8_t *secret,
                         size_t n, char *out, size_t cap);
int auth_mfa_secret_open(const sto_secret_box *box, const char *user, const char *stored,
                         uint8_t *out, size_t cap);

/*
 * Whether a user of role must have a second factor under policy, when
 * any_admin_enrolled says whether an enabled admin has confirmed one (what
 * makes required_for_admins effective). Pure.
 */
bool auth_mfa_policy_requires(enum auth_mfa_policy policy, enum auth_role role,
                              bool any_admin_enrolled);

/*
 * Sets p->must_enroll_mfa when p is a password session (not via_sso) whose user must
 * have a second factor and has not confirmed one: such a session may call
 * only "self" routes (enrolment among them) until it has. Returns 0 or a
 * storage error (p unchanged).
 */
int auth_mfa_mark_principal(sto_db *db, enum auth_mfa_policy policy, struct auth_principal *p);

/* What enrolment hands out once. */
struct auth_mfa_enrolment {
    char secret_b32[AUTH_BASE32_LEN(AUTH_TOTP_SECRET_BYTES) + 1];
    char uri[AUTH_MFA_URI_MAX]; /* otpauth://totp/Horus:<user>?secret=... */
};

/*
 * Starts enrolment for user: a new random secret stored as pending (an
 * earlier pending one is replaced). Returns 0 and fills *out, -EEXIST when
 * the user already has a confirmed factor, -ENOENT for an unknown user,
 * -EIO (random generator), or a storage error.
 */
int auth_mfa_enroll_begin(sto_db *db, const char *user, int64_t now_ms,
                          struct auth_mfa_enrolment *out);

/*
 * Confirms the pending enrolment with a code from the app: the factor
 * becomes active (the code's step counts as used) and codes[] gets
 * AUTH_MFA_RECOVERY_CODES new recovery codes to show once. Returns 0,
 * -ENOENT (nothing pending), -EEXIST (already confirmed), -EINVAL (not 6
 * digits), -EACCES (wrong code), or a storage error.
 */
int auth_mfa_enroll_confirm(sto_db *db, const char *user, const char *code, int64_t now_ms,
                            struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES]);

enum auth_mfa_method {
    AUTH_MFA_METHOD_NONE,
    AUTH_MFA_METHOD_TOTP,
    AUTH_MFA_METHOD_RECOVERY, /* a recovery code, now burnt */
};

/*
 * Checks a second factor of user's confirmed enrolment: totp (6 digits,
 * spaces ignored; anything else in it is taken as a recovery code) or
 * recovery_code; either may be NULL. A TOTP code's step is recorded
 * atomically with the check, a recovery code is deleted: each works once.
 * Sets *method. Returns 0, -ENOENT (user has no confirmed factor), -ENODATA
 * (no code given), -EACCES (wrong or malformed code), -EALREADY (a TOTP
 * code already used), or a storage error.
 */
int auth_mfa_verify(sto_db *db, const char *user, const char *totp, const char *recovery_code,
                    int64_t now_ms, enum auth_mfa_method *method);

/*
 * Replaces user's recovery codes with AUTH_MFA_RECOVERY_CODES new ones
 * (the old ones stop working). Returns 0, -ENOENT (no confirmed factor),
 * -EIO, or a storage error.
 */
int auth_mfa_recovery_regenerate(sto_db *db, const char *user,
                                 struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES]);

#endif
