/*
 * DESIGN: TOTP, base32, otpauth URIs and recovery codes (totp.h). No state
 * and no thread: the caller keeps the secret, the last accepted step and
 * the recovery hashes, and serialises its check-and-update per user.
 *
 * Verification computes all three candidate codes (previous, current and
 * next step) and compares each in constant time without stopping at the
 * first match, so the time says nothing about which step matched or how
 * many digits were right. Recovery codes compare against every stored
 * hash for the same reason.
 *
 * Thread: any.
 */
#include "totp.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char B32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int auth_base32_encode(const void *in, size_t n, char *out, size_t cap)
{
    size_t need = AUTH_BASE32_LEN(n);
    if (cap < need + 1) {
        if (cap)
            out[0] = '\0';
        return -ENOSPC;
    }
    const uint8_t *p = in;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8 | p[i]) & 0xfff; /* at most 4 + 8 bits are pending */
        bits += 8;
        while (bits >= 5) {
            bits -= 5;
            out[o++] = B32[acc >> bits & 31];
        }
    }
    if (bits > 0)
        out[o++] = B32[acc << (5 - bits) & 31];
    out[o] = '\0';
    return (int)o;
}

static int b32_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

int auth_base32_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    size_t pad = 0;
    while (pad < len && in[len - 1 - pad] == '=')
        pad++;
    size_t data = len - pad;
    /* Padding only completes the last 8-character group, and never a whole one. */
    if (pad && (pad > 6 || len % 8 != 0))
        return -EINVAL;
    size_t rem = data % 8;
    if (rem == 1 || rem == 3 || rem == 6)
        return -EINVAL;
    if (pad && pad != (8 - rem) % 8)
        return -EINVAL;
    size_t need = data * 5 / 8;
    if (need > cap)
        return -ENOSPC;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < data; i++) {
        int v = b32_value(in[i]);
        if (v < 0)
            return -EINVAL;
        acc = (acc << 5 | (uint32_t)v) & 0x1fff; /* at most 7 + 5 bits are pending */
        bits += 5;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1)) /* the unused low bits of the last character must be zero */
        return -EINVAL;
    return (int)o;
}

int32_t auth_hotp(const uint8_t *key, size_t key_len, uint64_t counter, unsigned digits)
{
    static const int32_t mod[] = {1000000, 10000000, 100000000};
    if (digits < 6 || digits > 8 || key_len == 0 || key_len > 64)
        return -EINVAL;
    uint8_t msg[8];
    for (int i = 7; i >= 0; i--) {
        msg[i] = (uint8_t)counter;
        counter >>= 8;
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (!HMAC(EVP_sha1(), key, (int)key_len, msg, sizeof(msg), md, &md_len) || md_len != 20)
        return -EIO;
    /* RFC 4226 §5.3: dynamic truncation. */
    unsigned off = md[19] & 0xf;
    uint32_t bin = (uint32_t)(md[off] & 0x7f) << 24 | (uint32_t)md[off + 1] << 16 |
                   (uint32_t)md[off + 2] << 8 | md[off + 3];
    OPENSSL_cleanse(md, sizeof(md));
    return (int32_t)(bin % (uint32_t)mod[digits - 6]);
}

uint64_t auth_totp_step(int64_t unix_s)
{
    return unix_s < 0 ? 0 : (uint64_t)unix_s / AUTH_TOTP_PERIOD_S;
}

int auth_totp_secret_new(uint8_t secret[AUTH_TOTP_SECRET_BYTES])
{
    return auth_random_bytes(secret, AUTH_TOTP_SECRET_BYTES);
}

int auth_totp_verify(const uint8_t *secret, size_t secret_len, const char *code, int64_t unix_s,
                     int64_t last_step, int64_t *matched_step)
{
    size_t n = strnlen(code, AUTH_TOTP_DIGITS + 1);
    if (n != AUTH_TOTP_DIGITS || strspn(code, "0123456789") != n)
        return -EINVAL;
    uint64_t now = auth_totp_step(unix_s);
    bool fresh = false, replayed = false;
    int64_t found = -1;
    for (int d = -AUTH_TOTP_WINDOW; d <= AUTH_TOTP_WINDOW; d++) {
        if (d < 0 && now < (uint64_t)-d)
            continue; /* before the epoch */
        uint64_t step = now + (uint64_t)(int64_t)d;
        int32_t want = auth_hotp(secret, secret_len, step, AUTH_TOTP_DIGITS);
        if (want < 0)
            return want;
        char text[12];
        snprintf(text, sizeof(text), "%06u", (unsigned)want % 1000000u);
        bool same = auth_equal_ct(text, code, AUTH_TOTP_DIGITS);
        bool is_new = (int64_t)step > last_step;
        /* No early exit: every candidate costs the same whether it matched or not. */
        if (same && is_new) {
            fresh = true;
            found = (int64_t)step;
        }
        replayed |= same && !is_new;
    }
    if (fresh) {
        *matched_step = found;
        return 0;
    }
    return replayed ? -EALREADY : -EACCES;
}

/* Appends s percent-encoded (all but RFC 3986 unreserved) at out[*o]; false when cap runs out. */
static bool put_pct(char *out, size_t cap, size_t *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool is_plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        size_t w = is_plain ? 1 : 3;
        if (*o + w >= cap)
            return false;
        if (is_plain) {
            out[(*o)++] = (char)c;
        } else {
            out[(*o)++] = '%';
            out[(*o)++] = hex[c >> 4];
            out[(*o)++] = hex[c & 15];
        }
    }
    return true;
}

static bool put_raw(char *out, size_t cap, size_t *o, const char *s)
{
    size_t n = strlen(s);
    if (*o + n >= cap)
        return false;
    memcpy(out + *o, s, n);
    *o += n;
    return true;
}

static bool is_label_part(const char *s)
{
    size_t n = strnlen(s, 129);
    return n >= 1 && n <= 128 && !strchr(s, ':');
}

int auth_totp_uri(const char *issuer, const char *account, const uint8_t *secret, size_t secret_len,
                  char *out, size_t cap)
{
    if (!is_label_part(issuer) || !is_label_part(account) || secret_len == 0 || secret_len > 64)
        return -EINVAL;
    char b32[AUTH_BASE32_LEN(64) + 1];
    auth_base32_encode(secret, secret_len, b32, sizeof(b32));
    size_t o = 0;
    bool ok = cap > 0 && put_raw(out, cap, &o, "otpauth://totp/") &&
              put_pct(out, cap, &o, issuer) && put_raw(out, cap, &o, ":") &&
              put_pct(out, cap, &o, account) && put_raw(out, cap, &o, "?secret=") &&
              put_raw(out, cap, &o, b32) && put_raw(out, cap, &o, "&issuer=") &&
              put_pct(out, cap, &o, issuer) &&
              put_raw(out, cap, &o, "&algorithm=SHA1&digits=6&period=30");
    OPENSSL_cleanse(b32, sizeof(b32));
    if (!ok) {
        if (cap) {
            OPENSSL_cleanse(out, cap);
            out[0] = '\0';
        }
        return -ENOSPC;
    }
    out[o] = '\0';
    return (int)o;
}

/* ---- recovery codes ---- */

static const char CROCKFORD[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
#define RECOVERY_CHARS 16
#define RECOVERY_DOMAIN "horus-recovery-v1:"

/* Typed code → 16 canonical characters in out; false when it is not one. */
static bool recovery_normalise(const char *typed, char out[RECOVERY_CHARS + 1])
{
    size_t o = 0;
    for (size_t i = 0; typed[i]; i++) {
        char c = typed[i];
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == 'O')
            c = '0';
        else if (c == 'I' || c == 'L')
            c = '1';
        if (!strchr(CROCKFORD, c) || o == RECOVERY_CHARS)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return o == RECOVERY_CHARS;
}

static void recovery_hash(const char canon[RECOVERY_CHARS + 1], char hash[AUTH_SHA256_HEX_LEN])
{
    char buf[sizeof(RECOVERY_DOMAIN) + RECOVERY_CHARS];
    memcpy(buf, RECOVERY_DOMAIN, sizeof(RECOVERY_DOMAIN) - 1);
    memcpy(buf + sizeof(RECOVERY_DOMAIN) - 1, canon, RECOVERY_CHARS);
    auth_sha256_hex(buf, sizeof(RECOVERY_DOMAIN) - 1 + RECOVERY_CHARS, hash);
    OPENSSL_cleanse(buf, sizeof(buf));
}

int auth_recovery_codes_new(struct auth_recovery_code *codes, size_t n)
{
    if (n < 1 || n > AUTH_RECOVERY_CODES_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        uint8_t raw[10]; /* 80 bits: 16 characters of 5 bits */
        if (auth_random_bytes(raw, sizeof(raw)) != 0)
            return -EIO;
        char canon[RECOVERY_CHARS + 1];
        uint32_t acc = 0;
        int bits = 0;
        size_t k = 0;
        for (size_t b = 0; b < sizeof(raw); b++) {
            acc = (acc << 8 | raw[b]) & 0xfff;
            bits += 8;
            while (bits >= 5) {
                bits -= 5;
                canon[k++] = CROCKFORD[acc >> bits & 31];
            }
        }
        canon[k] = '\0';
        char *c = codes[i].code;
        for (size_t g = 0; g < 4; g++) {
            memcpy(c, canon + 4 * g, 4);
            c += 4;
            *c++ = g < 3 ? '-' : '\0';
        }
        recovery_hash(canon, codes[i].hash);
        OPENSSL_cleanse(raw, sizeof(raw));
        OPENSSL_cleanse(canon, sizeof(canon));
    }
    return 0;
}

int auth_recovery_code_hash(const char *typed, char hash[AUTH_SHA256_HEX_LEN])
{
    char canon[RECOVERY_CHARS + 1];
    hash[0] = '\0';
    if (!recovery_normalise(typed, canon))
        return -EINVAL;
    recovery_hash(canon, hash);
    OPENSSL_cleanse(canon, sizeof(canon));
    return 0;
}

int auth_recovery_code_match(const char *typed, const char *const *hashes, size_t n)
{
    char hash[AUTH_SHA256_HEX_LEN];
    if (auth_recovery_code_hash(typed, hash) < 0)
        return -EINVAL;
    int found = -EACCES;
    for (size_t i = 0; i < n; i++) {
        /* Every stored hash is compared: no early exit on a match. */
        bool same = hashes[i] && strlen(hashes[i]) == AUTH_SHA256_HEX_LEN - 1 &&
                    auth_equal_ct(hashes[i], hash, AUTH_SHA256_HEX_LEN - 1);
        if (same && found < 0)
            found = (int)i;
    }
    return found;
}
