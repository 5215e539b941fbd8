/*
 * DESIGN: passwords hashed with argon2id through libargon2's encoded form,
 * so the parameters travel with each hash and can be raised later without
 * a migration (an old hash still verifies with its own). The dummy hash
 * for unknown users is made once, lazily, with the same parameters, so
 * "no such user" costs what a wrong password costs.
 * Thread: any (the dummy is made under pthread_once).
 */
#include "auth_password.h"

#include "auth_token.h"

#include <argon2.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[AUTH_PASSWORD_HASH_MAX];

int auth_password_check_rules(const char *pw, char *why, size_t why_cap)
{
    size_t n = pw ? strlen(pw) : 0;
    if (n < AUTH_PASSWORD_MIN) {
        snprintf(why, why_cap, "must be at least %d characters", AUTH_PASSWORD_MIN);
        return -EINVAL;
    }
    if (n > AUTH_PASSWORD_MAX) {
        snprintf(why, why_cap, "must be at most %d bytes", AUTH_PASSWORD_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f) {
            snprintf(why, why_cap, "must not contain control characters");
            return -EINVAL;
        }
    return 0;
}

int auth_password_hash(const char *pw, char *out, size_t cap)
{
    out[0] = '\0';
    size_t n = strlen(pw);
    if (n > AUTH_PASSWORD_MAX)
        return -EINVAL;
    unsigned char salt[16];
    if (auth_random_bytes(salt, sizeof(salt)) < 0)
        return -EIO;
    int rc = argon2id_hash_encoded(AUTH_ARGON2_T, AUTH_ARGON2_M_KIB, AUTH_ARGON2_P, pw, n, salt,
                                   sizeof(salt), 32, out, cap);
    return rc == ARGON2_OK ? 0 : -EIO;
}

static void make_dummy(void)
{
    if (auth_password_hash("horus-dummy-password-never-matches", dummy_hash, sizeof(dummy_hash)) <
        0)
        dummy_hash[0] = '\0';
}

bool auth_password_verify(const char *encoded, const char *pw)
{
    pthread_once(&dummy_once, make_dummy);
    bool is_dummy = !encoded || !encoded[0];
    const char *h = is_dummy ? dummy_hash : encoded;
    size_t n = pw ? strlen(pw) : 0;
    if (!pw || n > AUTH_PASSWORD_MAX || !h[0])
        return false;
    bool ok = argon2id_verify(h, pw, n) == ARGON2_OK;
    return ok && !is_dummy;
}

int auth_password_generate(char *out, size_t cap)
{
    return auth_random_token(15, out, cap) < 0 ? -EIO : 0;
}
