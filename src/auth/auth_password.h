/*
 * Passwords (docs/design/0016-identity.md): argon2id with parameters tuned
 * so that one verification costs about 30 ms on the reference machine
 * (t = 3 passes, m = 19 MiB, p = 1 lane; the design record has the
 * measurements), and the length rules every new password must meet.
 * Thread: any.
 */
#ifndef HORUS_AUTH_PASSWORD_H
#define HORUS_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define AUTH_ARGON2_T 3
#define AUTH_ARGON2_M_KIB 19456
#define AUTH_ARGON2_P 1
#define AUTH_PASSWORD_MIN 10 /* characters (bytes) a new password needs at least */
#define AUTH_PASSWORD_MAX 1024 /* bytes; longer input is refused before hashing */
#define AUTH_PASSWORD_HASH_MAX 160 /* an encoded argon2id hash fits */

/*
 * Whether pw may become a password: AUTH_PASSWORD_MIN..AUTH_PASSWORD_MAX
 * bytes, no control characters. Returns 0 or -EINVAL with a reason in why.
 */
int auth_password_check_rules(const char *pw, char *why, size_t why_cap);

/*
 * Hashes pw with a fresh 16-byte salt into out (AUTH_PASSWORD_HASH_MAX
 * bytes, "$argon2id$v=19$m=...,t=...,p=...$salt$hash"). Returns 0, -EINVAL
 * for a password over AUTH_PASSWORD_MAX, or -EIO.
 */
int auth_password_hash(const char *pw, char *out, size_t cap);

/*
 * Verifies pw against encoded. With encoded NULL (an unknown user) it
 * verifies against a fixed dummy hash of the same cost, so that unknown
 * users and wrong passwords take the same time, and fails. Returns true
 * only for a match.
 */
bool auth_password_verify(const char *encoded, const char *pw);

/* A random password of 20 base64url characters (120 bits) into out (>= 21 bytes). */
int auth_password_generate(char *out, size_t cap);

#endif
