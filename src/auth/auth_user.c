/*
 * DESIGN: users, password logins, sessions and the first start
 * (docs/design/0016-identity.md). Login runs the same argon2id
 * verification whether the user exists or not, and every refusal is the
 * same HORUS_EAUTH, so neither timing nor replies tell which names exist.
 * Two steps sit around the password check: the login-attempt limiter
 * (auth_login_limit_*, built elsewhere) goes before it, the second factor
 * (auth_mfa.h: the request's "totp" or "recovery_code") after it, so the
 * second factor is only ever asked once the password was right.
 * Thread: any but the storage writer.
 */
#include "auth_user.h"

#include "auth_digest.h"
#include "auth_password.h"
#include "auth_token.h"
#include "err.h"
#include "fs.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool auth_user_name_is_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-'))
            return false;
    }
    return true;
}

int auth_user_create(sto_db *db, const struct auth_user_options *o, char *generated_out, char *why,
                     size_t why_cap)
{
    if (!auth_user_name_is_valid(o->name)) {
        snprintf(why, why_cap, "name: must be 1..64 characters of [A-Za-z0-9._@-]");
        return -EINVAL;
    }
    char cameras[AUTH_GRANT_TEXT_MAX];
    if (auth_role_grant_check(o->role, o->cameras, cameras, sizeof(cameras), why, why_cap) < 0)
        return -EINVAL;
    char generated[32], cwhy[160];
    const char *pw = o->password;
    if (!pw) {
        if (auth_password_generate(generated, sizeof(generated)) < 0)
            return -EIO;
        pw = generated;
    } else if (auth_password_check_rules(pw, cwhy, sizeof(cwhy)) < 0) {
        snprintf(why, why_cap, "password: %s", cwhy);
        return -EINVAL;
    }
    char hash[AUTH_PASSWORD_HASH_MAX];
    int rc = auth_password_hash(pw, hash, sizeof(hash));
    if (rc == 0) {
        struct sto_user_input in = {.name = o->name,
                                    .password_hash = hash,
                                    .role = auth_role_name(o->role),
                                    .cameras = cameras,
                                    .tenant = o->tenant,
                                    .must_change_password = o->must_change_password};
        rc = sto_user_insert(db, &in);
        if (rc == -EEXIST)
            snprintf(why, why_cap, "user '%s' already exists", o->name);
    }
    if (rc == 0)
        auth_digest_note_password(db, o->name, pw, true);
    if (rc == 0 && !o->password)
        snprintf(generated_out, 32, "%s", generated);
    memset(generated, 0, sizeof(generated));
    return rc;
}

int auth_user_set_password(sto_db *db, const char *name, const char *password, bool must_change,
                           const char *keep_session_id, char *why, size_t why_cap)
{
    char rwhy[128];
    if (auth_password_check_rules(password, rwhy, sizeof(rwhy)) < 0) {
        snprintf(why, why_cap, "password: %s", rwhy);
        return -EINVAL;
    }
    struct sto_user u;
    int rc = sto_user_get(db, name, &u);
    if (rc < 0) {
        snprintf(why, why_cap, "user '%s' does not exist", name);
        return rc;
    }
    char hash[AUTH_PASSWORD_HASH_MAX];
    rc = auth_password_hash(password, hash, sizeof(hash));
    if (rc == 0) {
        struct sto_user_input in = sto_user_input_of(&u);
        in.password_hash = hash;
        in.must_change_password = must_change;
        rc = sto_user_update(db, &in);
    }
    sto_user_release(&u);
    if (rc == 0)
        auth_digest_note_password(db, name, password, true);
    /* A new password ends every other session: a thief's session ends with it. */
    struct sto_session *list = NULL;
    size_t n = 0;
    if (rc == 0 && sto_session_list(db, name, &list, &n) == 0)
        for (size_t i = 0; i < n; i++)
            if (!keep_session_id || strcmp(list[i].id, keep_session_id) != 0)
                (void)sto_session_delete(db, list[i].id);
    sto_session_list_free(list, n);
    return rc;
}

int auth_first_start(sto_db *db, const char *data_dir, bool *created)
{
    *created = false;
    uint64_t n = 0;
    int rc = sto_user_count(db, NULL, &n);
    if (rc < 0 || n > 0)
        return rc;
    char pw[32];
    char why[160];
    struct auth_user_options o = {
        .name = "admin", .role = AUTH_ROLE_ADMIN, .must_change_password = true};
    rc = auth_user_create(db, &o, pw, why, sizeof(why));
    if (rc < 0)
        return rc;
    char *path = horus_asprintf("%s/%s", data_dir, AUTH_INITIAL_PASSWORD_FILE);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    char line[40];
    int len = snprintf(line, sizeof(line), "%s\n", pw);
    if (fd < 0)
        rc = -errno;
    else if (fchmod(fd, 0600) < 0)
        rc = -errno;
    else
        rc = fs_pwrite_all(fd, line, (size_t)len, 0);
    if (fd >= 0 && rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
    if (rc < 0) /* nobody could ever log in: do not keep a user whose password is lost */
        (void)sto_user_delete(db, "admin");
    free(path);
    memset(pw, 0, sizeof(pw));
    memset(line, 0, sizeof(line));
    *created = rc == 0;
    return rc;
}

struct auth_principal *auth_principal_of_user(const struct sto_user *u, enum auth_kind kind,
                                              const char *id)
{
    enum auth_role role;
    if (u->disabled || auth_role_parse(u->role, &role) < 0)
        return NULL;
    struct auth_principal *p = auth_principal_new(kind, id, u->name, role);
    snprintf(p->user, sizeof(p->user), "%s", u->name);
    snprintf(p->tenant, sizeof(p->tenant), "%s", u->tenant);
    p->must_change_password = u->must_change_password;
    if (auth_principal_set_cameras(p, u->cameras) < 0) {
        auth_principal_free(p);
        return NULL;
    }
    return p;
}

/*
 * The second factor of a login whose password was right: checks the code
 * of an enrolled user (res->mfa says how it went), or marks p when the
 * policy obliges its user to enrol. Returns 0, HORUS_EAUTH or a storage
 * error.
 */
static int login_second_factor(sto_db *db, const struct auth_login *in, struct auth_principal *p,
                               struct auth_login_result *res)
{
    if (in->mfa_policy == AUTH_MFA_OFF)
        return 0;
    enum auth_mfa_method method;
    int rc = auth_mfa_verify(db, p->user, in->totp, in->recovery_code, in->now_ms, &method);
    switch (rc) {
    case 0:
        res->mfa =
            method == AUTH_MFA_METHOD_RECOVERY ? AUTH_LOGIN_MFA_RECOVERY : AUTH_LOGIN_MFA_TOTP;
        return 0;
    case -ENOENT: /* no confirmed factor: a session, restricted when one is required */
        return auth_mfa_mark_principal(db, in->mfa_policy, p);
    case -ENODATA:
        res->mfa = AUTH_LOGIN_MFA_MISSING;
        return HORUS_EAUTH;
    case -EALREADY:
        res->mfa = AUTH_LOGIN_MFA_REPLAYED;
        return HORUS_EAUTH;
    case -EACCES:
        res->mfa = AUTH_LOGIN_MFA_INVALID;
        return HORUS_EAUTH;
    default:
        return rc;
    }
}

/* The principal of username when password is right, else NULL; always one argon2 verification. */
static struct auth_principal *password_check(sto_db *db, const char *username, const char *password)
{
    struct sto_user u;
    bool found =
        auth_user_name_is_valid(username) && password && sto_user_get(db, username, &u) == 0;
    bool ok = auth_password_verify(found ? u.password_hash : NULL, password);
    struct auth_principal *p = NULL;
    if (found) {
        if (ok)
            p = auth_principal_of_user(&u, AUTH_KIND_SESSION, "");
        sto_user_release(&u);
    }
    return p;
}

/* p's user may use a password alone (no second factor, no password to change): 0, -EACCES. */
static int password_alone(sto_db *db, const struct auth_principal *p)
{
    struct sto_mfa m;
    int rc = sto_mfa_get(db, p->name, &m);
    bool has_factor = rc == 0 && m.is_enrolled;
    if (rc == 0)
        sto_mfa_release(&m);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    return has_factor || p->must_change_password ? -EACCES : 0;
}

int auth_user_verify_password(sto_db *db, const char *username, const char *password,
                              struct auth_principal **out)
{
    *out = NULL;
    struct auth_principal *p = password_check(db, username, password);
    if (!p)
        return HORUS_EAUTH;
    int rc = password_alone(db, p);
    if (rc < 0) {
        auth_principal_free(p);
        return rc;
    }
    auth_digest_note_password(db, username, password, false);
    *out = p;
    return 0;
}

int auth_user_principal_for_password(sto_db *db, const char *username, struct auth_principal **out)
{
    *out = NULL;
    struct sto_user u;
    if (!auth_user_name_is_valid(username))
        return HORUS_EAUTH;
    int rc = sto_user_get(db, username, &u);
    if (rc == -ENOENT)
        return HORUS_EAUTH;
    if (rc < 0)
        return rc;
    struct auth_principal *p = auth_principal_of_user(&u, AUTH_KIND_SESSION, "");
    sto_user_release(&u);
    if (!p)
        return HORUS_EAUTH;
    rc = password_alone(db, p);
    if (rc < 0) {
        auth_principal_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int auth_login_password(sto_db *db, const struct auth_login *in, struct auth_login_result *res)
{
    memset(res, 0, sizeof(*res));
    /*
     * The login-attempt limiter (auth_login_limit_*) has already refused
     * names and addresses over their budget: the API's login handler asks it
     * before calling here and records the outcome after.
     */
    struct auth_principal *p = password_check(db, in->username, in->password);
    if (!p)
        return HORUS_EAUTH;
    auth_digest_note_password(db, in->username, in->password, false);
    /* The password was right; a user enrolled in TOTP must now prove a code. */
    int rc = login_second_factor(db, in, p, res);
    if (rc < 0) {
        enum auth_login_mfa why = res->mfa;
        auth_principal_free(p);
        memset(res, 0, sizeof(*res));
        res->mfa = why;
        return rc;
    }
    enum auth_login_mfa passed = res->mfa;
    rc = auth_session_open(db, p, in, res);
    if (rc == 0)
        res->mfa = passed;
    return rc;
}

int auth_session_open(sto_db *db, struct auth_principal *p, const struct auth_login *in,
                      struct auth_login_result *res)
{
    memset(res, 0, sizeof(*res));
    int rc;
    char id[AUTH_ID_MAX];
    rc = auth_random_token(32, res->token, sizeof(res->token));
    if (rc >= 0)
        rc = auth_random_token(24, res->csrf_token, sizeof(res->csrf_token));
    if (rc >= 0)
        rc = auth_random_token(12, id, sizeof(id));
    if (rc < 0) {
        auth_principal_free(p);
        memset(res, 0, sizeof(*res));
        return -EIO;
    }
    char hash[AUTH_SHA256_HEX_LEN];
    auth_sha256_hex(res->token, strlen(res->token), hash);
    struct sto_session s = {.id = id,
                            .token_sha256 = hash,
                            .csrf_token = res->csrf_token,
                            .user_name = p->name,
                            .remote = (char *)(in->remote ? in->remote : ""),
                            .user_agent = (char *)(in->user_agent ? in->user_agent : ""),
                            .created_at_ms = in->now_ms,
                            .last_seen_ms = in->now_ms,
                            .expires_at_ms = in->now_ms + in->session_max_ms,
                            .method = p->via_sso ? STO_SESSION_SSO : STO_SESSION_PASSWORD};
    if (strlen(s.user_agent) > 256)
        s.user_agent = "";
    /*
     * Sessions are made only here, so purging the ones past their absolute
     * end here bounds the table (idle ones end at their next use, or here
     * once their absolute end has passed too).
     */
    (void)sto_session_delete_expired(db, 0, in->now_ms);
    rc = sto_session_insert(db, &s);
    if (rc < 0) {
        auth_principal_free(p);
        memset(res, 0, sizeof(*res));
        return rc;
    }
    snprintf(p->id, sizeof(p->id), "%s", id);
    snprintf(p->csrf_token, sizeof(p->csrf_token), "%s", res->csrf_token);
    snprintf(res->session_id, sizeof(res->session_id), "%s", id);
    res->expires_at_ms = s.expires_at_ms;
    res->principal = p;
    return 0;
}

int auth_session_authenticate(sto_db *db, const char *token, int64_t now_ms, int64_t idle_ms,
                              struct auth_principal **out)
{
    return auth_session_authenticate_until(db, token, now_ms, idle_ms, out, NULL);
}

int auth_session_authenticate_until(sto_db *db, const char *token, int64_t now_ms, int64_t idle_ms,
                                    struct auth_principal **out, int64_t *valid_until_ms)
{
    *out = NULL;
    size_t n = token ? strlen(token) : 0;
    if (n != AUTH_B64URL_LEN(32))
        return HORUS_EAUTH;
    char hash[AUTH_SHA256_HEX_LEN];
    auth_sha256_hex(token, n, hash);
    struct sto_session s;
    int rc = sto_session_find(db, hash, &s);
    if (rc == -ENOENT)
        return HORUS_EAUTH;
    if (rc < 0)
        return rc;
    struct auth_principal *p = NULL;
    if (now_ms - s.last_seen_ms >= idle_ms || now_ms >= s.expires_at_ms) {
        (void)sto_session_delete(db, s.id);
    } else {
        struct sto_user u;
        if (sto_user_get(db, s.user_name, &u) == 0) {
            p = auth_principal_of_user(&u, AUTH_KIND_SESSION, s.id);
            sto_user_release(&u);
        }
    }
    if (p) {
        snprintf(p->csrf_token, sizeof(p->csrf_token), "%s", s.csrf_token);
        p->via_sso = s.method && strcmp(s.method, STO_SESSION_SSO) == 0;
        int64_t every = idle_ms / 10 < 60000 ? idle_ms / 10 : 60000;
        int64_t seen = s.last_seen_ms;
        if (now_ms - s.last_seen_ms >= every) {
            (void)sto_session_touch_async(db, s.id, now_ms);
            seen = now_ms;
        }
        if (valid_until_ms) {
            /* Until the next stamp is due (the idle limit comes later) or the absolute end. */
            int64_t until = seen + every;
            *valid_until_ms = s.expires_at_ms < until ? s.expires_at_ms : until;
        }
    }
    sto_session_release(&s);
    if (!p)
        return HORUS_EAUTH;
    *out = p;
    return 0;
}
