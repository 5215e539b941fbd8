/*
 * The byte-level helpers every part of identity shares: base64url without
 * padding (RFC 4648 §5; JWTs, media tokens, PKCE, session and API-key
 * tokens), random tokens from the OpenSSL generator, SHA-256 in hex for the
 * "stored hashed" rule, and a comparison that takes the same time whatever
 * the bytes. One copy here instead of one per feature.
 * Thread: any (no state).
 */
#ifndef HORUS_AUTH_TOKEN_H
#define HORUS_AUTH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Characters auth_b64url_encode writes for n input bytes (no terminator). */
#define AUTH_B64URL_LEN(n) (((n)*4 + 2) / 3)

/*
 * Encodes n bytes as unpadded base64url into out (cap bytes, NUL
 * terminated). Returns the length written, or -ENOSPC when cap is smaller
 * than AUTH_B64URL_LEN(n) + 1 (out is then the empty string).
 */
int auth_b64url_encode(const void *in, size_t n, char *out, size_t cap);

/*
 * Decodes len characters of base64url (padding '=' at the end accepted and
 * ignored, nothing else: no '+', '/', spaces or line breaks) into out (cap
 * bytes). Returns the number of bytes, -EINVAL for a character outside the
 * alphabet, an impossible length (len % 4 == 1) or non-zero trailing bits,
 * or -ENOSPC when out is too small.
 */
int auth_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/*
 * nbytes random bytes (at most 64) from RAND_bytes, base64url-encoded into
 * out (cap >= AUTH_B64URL_LEN(nbytes) + 1). Returns the length, -EINVAL for
 * nbytes out of range, -ENOSPC, or -EIO when the generator fails.
 */
int auth_random_token(size_t nbytes, char *out, size_t cap);

/* Fills buf with n random bytes. Returns 0 or -EIO. */
int auth_random_bytes(void *buf, size_t n);

/* Lowercase hex SHA-256 of n bytes into out (65 bytes with the NUL). */
#define AUTH_SHA256_HEX_LEN 65
void auth_sha256_hex(const void *in, size_t n, char out[AUTH_SHA256_HEX_LEN]);

/* True when a and b hold the same n bytes; the time depends on n only. */
bool auth_equal_ct(const void *a, const void *b, size_t n);

/* auth_equal_ct of two strings; the time depends on the lengths only. */
bool auth_streq_ct(const char *a, const char *b);

#endif
