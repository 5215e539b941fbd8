/*
 * Second factor primitives: TOTP (RFC 6238 over RFC 4226 HOTP with
 * HMAC-SHA1, 6 digits, 30 s steps: what authenticator apps speak), base32
 * (RFC 4648 §6) for the shared secret, the otpauth:// enrolment URI, and
 * one-time recovery codes stored as hashes. Storage, the login flow and the
 * `auth.mfa` policy live elsewhere; this file holds no state.
 * Decisions: docs/design/0021-totp-and-media-tokens.md.
 * Thread: any (no state).
 */
#ifndef HORUS_AUTH_TOTP_H
#define HORUS_AUTH_TOTP_H

#include "auth_token.h"

#include <stddef.h>
#include <stdint.h>

#define AUTH_TOTP_SECRET_BYTES 20 /* 160 bits, RFC 4226's recommended key length */
#define AUTH_TOTP_DIGITS 6
#define AUTH_TOTP_PERIOD_S 30
#define AUTH_TOTP_WINDOW 1 /* steps accepted either side of now */

/* Characters auth_base32_encode writes for n input bytes (no padding, no terminator). */
#define AUTH_BASE32_LEN(n) (((n)*8 + 4) / 5)

/*
 * Encodes n bytes as RFC 4648 base32 (upper case, no '=' padding) into out
 * (cap bytes, NUL terminated). Returns the length, or -ENOSPC when cap <
 * AUTH_BASE32_LEN(n) + 1 (out is then the empty string).
 */
int auth_base32_encode(const void *in, size_t n, char *out, size_t cap);

/*
 * Decodes len characters of base32 into out (cap bytes). Letters match in
 * either case (authenticator apps and people write both); '=' padding is
 * accepted only at the end and only as much as completes an 8-character
 * group. Returns the number of bytes, -EINVAL for a character outside the
 * alphabet (including spaces and '0', '1', '8', '9'), a length no encoder
 * produces (len % 8 of 1, 3 or 6) or non-zero unused trailing bits, or
 * -ENOSPC when out is too small.
 */
int auth_base32_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/*
 * RFC 4226 HOTP: HMAC-SHA1(key, counter as 8 big-endian bytes), dynamic
 * truncation, modulo 10^digits (digits 6..8). Returns the code (to be
 * printed with leading zeros), or -EINVAL for digits out of range or an
 * empty or longer than 64-byte key.
 */
int32_t auth_hotp(const uint8_t *key, size_t key_len, uint64_t counter, unsigned digits);

/* The TOTP time step of unix_s: floor(unix_s / 30) (negative times give step 0). */
uint64_t auth_totp_step(int64_t unix_s);

/* Fills secret with AUTH_TOTP_SECRET_BYTES random bytes. Returns 0 or -EIO. */
int auth_totp_secret_new(uint8_t secret[AUTH_TOTP_SECRET_BYTES]);

/*
 * Checks a 6-digit code against the steps of unix_s - 30, unix_s and
 * unix_s + 30 (clock drift and typing time), comparing every candidate in
 * constant time. last_step is the step of the last code this secret
 * accepted (-1 when none): a code whose step is <= last_step is refused as
 * a replay, so a code works once and never after a later one. On success
 * returns 0 and sets *matched_step, which the caller stores as the new
 * last_step (atomically with its check, so two logins racing with one code
 * cannot both pass). Returns -EINVAL when code is not exactly 6 ASCII
 * digits (the caller strips the space apps show), -EACCES when no step
 * matches, -EALREADY when the code matches only steps already used.
 */
int auth_totp_verify(const uint8_t *secret, size_t secret_len, const char *code, int64_t unix_s,
                     int64_t last_step, int64_t *matched_step);

/*
 * The Key URI authenticator apps scan:
 * otpauth://totp/<Issuer>:<account>?secret=<base32>&issuer=<Issuer>
 * &algorithm=SHA1&digits=6&period=30, with issuer and account
 * percent-encoded (everything but RFC 3986 unreserved characters). Returns
 * the length written into out (cap bytes, NUL terminated), -EINVAL when
 * issuer or account is empty, longer than 128 bytes or contains ':' (the
 * label's separator, forbidden in both by the format), or -ENOSPC. The URI
 * holds the secret: show it once, never log it.
 */
int auth_totp_uri(const char *issuer, const char *account, const uint8_t *secret, size_t secret_len,
                  char *out, size_t cap);

/* ---- recovery codes ----
 *
 * "XXXX-XXXX-XXXX-XXXX": 16 characters of Crockford's base32 alphabet
 * (0-9, A-Z without I, L, O, U), 80 random bits. Typing is forgiving: case,
 * dashes and spaces do not matter, and O, I and L read as 0, 1 and 1.
 * Stored as the SHA-256 hex of the normalised code (no salt needed at 80
 * bits: see the design record).
 */
#define AUTH_RECOVERY_CODE_SIZE 20 /* "XXXX-XXXX-XXXX-XXXX" and the NUL */
#define AUTH_RECOVERY_CODES_MAX 32

struct auth_recovery_code {
    char code[AUTH_RECOVERY_CODE_SIZE]; /* show once to the user, never store */
    char hash[AUTH_SHA256_HEX_LEN]; /* store this */
};

/*
 * Fills codes[0..n) with new random codes and their hashes (n 1..
 * AUTH_RECOVERY_CODES_MAX). Returns 0, -EINVAL, or -EIO when the generator
 * fails.
 */
int auth_recovery_codes_new(struct auth_recovery_code *codes, size_t n);

/*
 * The stored form of a typed code: normalised, then hashed into hash.
 * Returns 0, or -EINVAL when it is not 16 characters of the alphabet once
 * dashes and spaces are removed (hash is then the empty string).
 */
int auth_recovery_code_hash(const char *typed, char hash[AUTH_SHA256_HEX_LEN]);

/*
 * Finds typed among the stored hashes[0..n) (unused ones may be NULL),
 * comparing against every hash in constant time. Returns the index of the
 * match (the caller deletes that hash: a code works once), -EINVAL for a
 * malformed code, or -EACCES when none matches.
 */
int auth_recovery_code_match(const char *typed, const char *const *hashes, size_t n);

#endif
