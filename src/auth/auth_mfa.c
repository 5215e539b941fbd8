/*
 * DESIGN: TOTP second factor for users (auth_mfa.h, docs/design/0023-mfa.md).
 * This file joins totp.c's stateless primitives to the user_mfa rows:
 * the secret goes through one seal/open pair, every "used once" rule (a
 * TOTP step, a recovery code, a confirmation) is decided by the storage
 * writer atomically with its write, and the policy question "must this
 * user have a factor?" is a pure function plus, for required_for_admins,
 * one count of enrolled admins.
 * Thread: any but the storage writer.
 */
#include "auth_mfa.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const auth_mfa_policy_names[] = {"off", "optional", "required_for_admins", "required",
                                             NULL};

int auth_mfa_secret_seal(const sto_secret_box *box, const char *user, const uint8_t *secret,
                         size_t n, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    char b32[AUTH_BASE32_LEN(AUTH_MFA_SECRET_MAX_BYTES) + 1];
    if (n == 0 || n > AUTH_MFA_SECRET_MAX_BYTES)
        return -EINVAL;
    int len = auth_base32_encode(secret, n, b32, sizeof(b32));
    char *sealed = NULL;
    int rc = len < 0 ? len : sto_mfa_secret_seal(box, user, b32, &sealed);
    explicit_bzero(b32, sizeof(b32));
    if (rc < 0)
        return rc;
    size_t m = strlen(sealed);
    if (m + 1 > cap) {
        free(sealed);
        return -ENOSPC;
    }
    memcpy(out, sealed, m + 1);
    free(sealed);
    return (int)m;
}

int auth_mfa_secret_open(const sto_secret_box *box, const char *user, const char *stored,
                         uint8_t *out, size_t cap)
{
    char *b32 = NULL;
    int rc = sto_mfa_secret_open(box, user, stored, &b32);
    if (rc < 0)
        return rc == -EINVAL ? -EINVAL : rc;
    int n = auth_base32_decode(b32, strlen(b32), out, cap);
    explicit_bzero(b32, strlen(b32));
    free(b32);
    return n == 0 ? -EINVAL : n;
}

bool auth_mfa_policy_requires(enum auth_mfa_policy policy, enum auth_role role,
                              bool any_admin_enrolled)
{
    switch (policy) {
    case AUTH_MFA_REQUIRED:
        return true;
    case AUTH_MFA_REQUIRED_FOR_ADMINS:
        return role >= AUTH_ROLE_ADMIN && any_admin_enrolled;
    case AUTH_MFA_OFF:
    case AUTH_MFA_OPTIONAL:
    default:
        return false;
    }
}

int auth_mfa_mark_principal(sto_db *db, enum auth_mfa_policy policy, struct auth_principal *p)
{
    /* SSO sessions: the identity provider decides on the second factor. */
    if (p->kind != AUTH_KIND_SESSION || p->via_sso || !p->user[0] || policy == AUTH_MFA_OFF ||
        policy == AUTH_MFA_OPTIONAL ||
        (policy == AUTH_MFA_REQUIRED_FOR_ADMINS && p->role < AUTH_ROLE_ADMIN))
        return 0;
    struct sto_mfa m;
    int rc = sto_mfa_get(db, p->user, &m);
    bool enrolled = rc == 0 && m.is_enrolled;
    if (rc == 0)
        sto_mfa_release(&m);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (enrolled)
        return 0;
    uint64_t admins = 0;
    if (policy == AUTH_MFA_REQUIRED_FOR_ADMINS &&
        (rc = sto_mfa_count_enrolled_admins(db, &admins)) < 0)
        return rc;
    p->must_enroll_mfa = auth_mfa_policy_requires(policy, p->role, admins > 0);
    return 0;
}

int auth_mfa_enroll_begin(sto_db *db, const char *user, int64_t now_ms,
                          struct auth_mfa_enrolment *out)
{
    memset(out, 0, sizeof(*out));
    uint8_t secret[AUTH_TOTP_SECRET_BYTES];
    char stored[AUTH_MFA_SECRET_STORED_MAX];
    int rc = auth_totp_secret_new(secret);
    if (rc == 0)
        rc = auth_mfa_secret_seal(sto_db_secrets(db), user, secret, sizeof(secret), stored,
                                  sizeof(stored));
    if (rc >= 0)
        rc = auth_base32_encode(secret, sizeof(secret), out->secret_b32, sizeof(out->secret_b32));
    if (rc >= 0)
        rc = auth_totp_uri(AUTH_MFA_ISSUER, user, secret, sizeof(secret), out->uri,
                           sizeof(out->uri));
    if (rc >= 0)
        rc = sto_mfa_begin(db, user, stored, now_ms);
    memset(secret, 0, sizeof(secret));
    memset(stored, 0, sizeof(stored));
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    return 0;
}

/* Reads user's secret and state. Returns 0, -ENOENT, -EINVAL (a stored form that does not open). */
static int load(sto_db *db, const char *user, uint8_t secret[AUTH_TOTP_SECRET_BYTES],
                size_t *secret_len, struct sto_mfa *m)
{
    int rc = sto_mfa_get(db, user, m);
    if (rc < 0)
        return rc;
    int n =
        auth_mfa_secret_open(sto_db_secrets(db), user, m->secret, secret, AUTH_TOTP_SECRET_BYTES);
    if (n < 0) { /* not a form this build knows, no key for it, or tampered */
        sto_mfa_release(m);
        return -EINVAL;
    }
    *secret_len = (size_t)n;
    return 0;
}

static int new_codes(struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES],
                     const char *hashes[AUTH_MFA_RECOVERY_CODES])
{
    int rc = auth_recovery_codes_new(codes, AUTH_MFA_RECOVERY_CODES);
    for (size_t i = 0; rc == 0 && i < AUTH_MFA_RECOVERY_CODES; i++)
        hashes[i] = codes[i].hash;
    return rc;
}

int auth_mfa_enroll_confirm(sto_db *db, const char *user, const char *code, int64_t now_ms,
                            struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES])
{
    uint8_t secret[AUTH_TOTP_SECRET_BYTES];
    size_t len = 0;
    struct sto_mfa m;
    int rc = load(db, user, secret, &len, &m);
    if (rc < 0)
        return rc;
    bool enrolled = m.is_enrolled;
    sto_mfa_release(&m);
    if (enrolled) {
        memset(secret, 0, sizeof(secret));
        return -EEXIST;
    }
    int64_t step = -1;
    rc = auth_totp_verify(secret, len, code ? code : "", now_ms / 1000, -1, &step);
    memset(secret, 0, sizeof(secret));
    if (rc < 0)
        return rc == -EINVAL ? -EINVAL : -EACCES;
    const char *hashes[AUTH_MFA_RECOVERY_CODES];
    rc = new_codes(codes, hashes);
    if (rc == 0)
        rc = sto_mfa_confirm(db, user, step, hashes, AUTH_MFA_RECOVERY_CODES, now_ms);
    if (rc < 0)
        memset(codes, 0, sizeof(*codes) * AUTH_MFA_RECOVERY_CODES);
    return rc;
}

/* Copies a typed TOTP code without the spaces apps show ("123 456"); false if not 6 digits. */
static bool totp_digits(const char *in, char out[AUTH_TOTP_DIGITS + 1])
{
    size_t n = 0;
    for (const char *c = in; *c; c++) {
        if (*c == ' ')
            continue;
        if (*c < '0' || *c > '9' || n == AUTH_TOTP_DIGITS)
            return false;
        out[n++] = *c;
    }
    out[n] = '\0';
    return n == AUTH_TOTP_DIGITS;
}

static int verify_recovery(sto_db *db, const char *user, const char *typed)
{
    char hash[AUTH_SHA256_HEX_LEN];
    if (auth_recovery_code_hash(typed, hash) < 0)
        return -EACCES;
    char **hashes = NULL;
    size_t n = 0;
    int rc = sto_mfa_recovery_hashes(db, user, &hashes, &n);
    if (rc < 0)
        return rc;
    int i = auth_recovery_code_match(typed, (const char *const *)hashes, n);
    /* Burnt by the writer: of two logins racing with one code, only one finds it still there. */
    rc = i < 0 ? -EACCES : sto_mfa_recovery_use(db, user, hashes[i]);
    sto_mfa_hashes_free(hashes, n);
    return rc == -ENOENT ? -EACCES : rc;
}

int auth_mfa_verify(sto_db *db, const char *user, const char *totp, const char *recovery_code,
                    int64_t now_ms, enum auth_mfa_method *method)
{
    *method = AUTH_MFA_METHOD_NONE;
    uint8_t secret[AUTH_TOTP_SECRET_BYTES];
    size_t len = 0;
    struct sto_mfa m;
    int rc = load(db, user, secret, &len, &m);
    if (rc == -EINVAL)
        rc = -EIO; /* a row this build cannot read: not the user's fault */
    if (rc < 0)
        return rc;
    bool enrolled = m.is_enrolled;
    int64_t last = m.last_step;
    sto_mfa_release(&m);
    char digits[AUTH_TOTP_DIGITS + 1];
    if (!enrolled) {
        rc = -ENOENT;
    } else if (totp && totp[0] && totp_digits(totp, digits)) {
        int64_t step = -1;
        rc = auth_totp_verify(secret, len, digits, now_ms / 1000, last, &step);
        if (rc == 0)
            rc = sto_mfa_use_step(db, user, step); /* -EALREADY when a racing login won */
        else if (rc != -EALREADY)
            rc = -EACCES;
        if (rc == 0)
            *method = AUTH_MFA_METHOD_TOTP;
    } else if ((totp && totp[0]) || (recovery_code && recovery_code[0])) {
        rc = verify_recovery(db, user, recovery_code && recovery_code[0] ? recovery_code : totp);
        if (rc == 0)
            *method = AUTH_MFA_METHOD_RECOVERY;
    } else {
        rc = -ENODATA;
    }
    memset(secret, 0, sizeof(secret));
    return rc;
}

int auth_mfa_recovery_regenerate(sto_db *db, const char *user,
                                 struct auth_recovery_code codes[AUTH_MFA_RECOVERY_CODES])
{
    const char *hashes[AUTH_MFA_RECOVERY_CODES];
    int rc = new_codes(codes, hashes);
    if (rc == 0)
        rc = sto_mfa_recovery_replace(db, user, hashes, AUTH_MFA_RECOVERY_CODES);
    if (rc < 0)
        memset(codes, 0, sizeof(*codes) * AUTH_MFA_RECOVERY_CODES);
    return rc;
}
