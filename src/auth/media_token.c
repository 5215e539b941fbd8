/*
 * DESIGN: signed media URLs (media_token.h). A token is base64url of
 *
 *   version (1) | key id (4, BE) | kind (1; bit 7: has range) |
 *   expiry (8, BE Unix seconds) | [from_us (8, BE) | to_us (8, BE)] |
 *   MAC (16)
 *
 * where MAC is HMAC-SHA256 under the key named by the id, truncated to
 * 128 bits, over a domain string, every byte before the MAC, and the
 * camera, stream and export id each followed by a NUL (ids never hold a
 * NUL, so the concatenation is unambiguous). 30 bytes (40 characters) for
 * live, 46 (62) with a range.
 *
 * Keys: the current key and the previous one, each with a 32-bit id
 * (random at start, +1 per rotation, so a token from an earlier run names
 * an unknown id). Rotation is lazy, on the first issue or check after it
 * is due, so the ring owns no thread. The previous key verifies until the
 * next rotation; since the interval is at least twice the ttl, every live,
 * snapshot or export token it signed has expired by then (and one that
 * expired recently is reported as expired, not as unknown). Playback
 * tokens may outlive two rotations (they also live the length of their
 * range): a dropped key whose latest expiry is still ahead moves to a
 * short list of retired keys until then (MAX_RETIRED: 24 h of the default
 * hourly rotation; when more are pending, the one due first is dropped and
 * its remaining playback links need a new playlist).
 *
 * Locking: one mutex guards the ring; issue and check copy the key they
 * need under it and compute the HMAC outside, so many HTTP threads
 * checking part requests do not queue behind each other's hashing.
 *
 * Thread: any.
 */
#include "media_token.h"

#include "auth_token.h"
#include "checked.h"
#include "err.h"
#include "mem.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION 1
#define KEY_BYTES 32
#define MAC_BYTES 16
#define HEAD_BYTES 14 /* version, key id, kind, expiry */
#define RANGE_BYTES 16
#define KIND_HAS_RANGE 0x80
#define MAX_PLAYBACK_EXTRA_S (24 * 3600)
#define MAX_SCOPE_STRING 255
#define MAX_RETIRED 32 /* keys kept for playback tokens that outlive two rotations */
#define DOMAIN "horus-media-token"

const cfg_field auth_media_token_config_fields[] = {
    {.name = "ttl",
     .type = CFG_DURATION,
     .offset = offsetof(struct auth_media_token_config, ttl_ms),
     .def = "5m",
     .min = 10000,
     .max = 3600000,
     .help = "Lifetime of a signed media URL (live tokens are shared per stream in windows "
             "of a fifth of it; playback tokens also get the length of their range)"},
    {.name = "rotate_interval",
     .type = CFG_DURATION,
     .offset = offsetof(struct auth_media_token_config, rotate_interval_ms),
     .def = "1h",
     .min = 60000,
     .max = 7 * 86400000LL,
     .help = "Signing key rotation; raised to twice the ttl when shorter. Keys live in memory "
             "only: a restart invalidates outstanding links"},
    {0},
};

struct mkey {
    uint32_t id;
    bool is_set;
    int64_t retire_s; /* retired keys verify until then */
    uint8_t bytes[KEY_BYTES];
};

struct auth_media_keys {
    int64_t ttl_s, rotate_s, window_s;
    const horus_clock *clock; /* borrowed */
    pthread_mutex_t lock;
    /* under lock: */
    struct mkey cur, prev;
    struct mkey retired[MAX_RETIRED]; /* keys that signed playback tokens still alive */
    int64_t next_rotate_s;
    int64_t cur_max_exp_s; /* latest expiry cur has signed */
    /* Shared keys (docs/design/0070): key id = rotation period, bytes derived from root. */
    bool is_derived;
    uint8_t root[KEY_BYTES];
};

static int64_t now_s(const auth_media_keys *k)
{
    int64_t ms = clock_realtime_ms(k->clock);
    return ms / 1000 - (ms % 1000 < 0);
}

static int new_key(struct mkey *m, uint32_t id)
{
    m->id = id;
    m->retire_s = INT64_MAX;
    m->is_set = auth_random_bytes(m->bytes, KEY_BYTES) == 0;
    return m->is_set ? 0 : -EIO;
}

/* The shared key of rotation period id: HMAC-SHA256(root, label || id). */
static int derive_key(const auth_media_keys *k, uint32_t id, struct mkey *m)
{
    static const char label[] = "horus media token key v1";
    uint8_t msg[sizeof(label) - 1 + 4];
    memcpy(msg, label, sizeof(label) - 1);
    for (int i = 0; i < 4; i++)
        msg[sizeof(label) - 1 + i] = (uint8_t)(id >> (24 - 8 * i));
    unsigned int n = 0;
    m->id = id;
    m->retire_s = INT64_MAX;
    m->is_set =
        HMAC(EVP_sha256(), k->root, KEY_BYTES, msg, sizeof(msg), m->bytes, &n) && n == KEY_BYTES;
    return m->is_set ? 0 : -EIO;
}

static uint32_t period_of(const auth_media_keys *k, int64_t now)
{
    return (uint32_t)(now / k->rotate_s);
}

/* Moves a retiring key to the retired list when tokens it signed may still be alive. */
static void retire(auth_media_keys *k, const struct mkey *m, int64_t now)
{
    if (!m->is_set || m->retire_s <= now)
        return;
    size_t slot = 0;
    for (size_t i = 0; i < MAX_RETIRED; i++) {
        if (!k->retired[i].is_set || k->retired[i].retire_s <= now) {
            slot = i;
            break;
        }
        if (k->retired[i].retire_s < k->retired[slot].retire_s)
            slot = i; /* full: the one that retires first goes */
    }
    OPENSSL_cleanse(&k->retired[slot], sizeof(k->retired[slot]));
    k->retired[slot] = *m;
}

/* Rotates when due. Lock held. */
static int rotate_locked(auth_media_keys *k, int64_t now)
{
    if (k->is_derived) { /* the period's key: every node derives the same */
        if (k->cur.is_set && k->cur.id == period_of(k, now))
            return 0;
        if (k->cur.is_set)
            k->prev = k->cur; /* kept: most tokens checked after a rotation are its */
        return derive_key(k, period_of(k, now), &k->cur);
    }
    if (now < k->next_rotate_s)
        return 0;
    struct mkey fresh;
    int rc = new_key(&fresh, k->cur.id + 1);
    if (rc < 0)
        return rc;
    retire(k, &k->prev, now);
    k->prev = k->cur;
    /* The key stops signing now; its tokens expire by its latest expiry. */
    k->prev.retire_s = k->cur_max_exp_s + AUTH_MEDIA_TOKEN_LEEWAY_S;
    k->cur = fresh;
    k->cur_max_exp_s = now;
    k->next_rotate_s = now + k->rotate_s;
    OPENSSL_cleanse(&fresh, sizeof(fresh));
    return 0;
}

int auth_media_keys_new(const struct auth_media_keys_options *opt, auth_media_keys **out)
{
    *out = NULL;
    int64_t ttl = opt && opt->ttl_s ? opt->ttl_s : 300;
    int64_t rot = opt && opt->rotate_s ? opt->rotate_s : 3600;
    if (ttl < 1 || ttl > 86400 || rot < 1 || rot > 30 * 86400)
        return -EINVAL;
    if (rot < 2 * ttl)
        rot = 2 * ttl;
    auth_media_keys *k = horus_calloc(1, sizeof(*k));
    k->ttl_s = ttl;
    k->rotate_s = rot;
    k->window_s = ttl / 5 > 0 ? ttl / 5 : 1;
    k->clock = opt && opt->clock ? opt->clock : clock_system();
    pthread_mutex_init(&k->lock, NULL);
    uint32_t id;
    int rc;
    if (opt && opt->root_key) {
        k->is_derived = true;
        memcpy(k->root, opt->root_key, KEY_BYTES);
        rc = derive_key(k, period_of(k, now_s(k)), &k->cur);
    } else {
        rc = auth_random_bytes(&id, sizeof(id));
        if (rc == 0)
            rc = new_key(&k->cur, id);
    }
    if (rc < 0) {
        auth_media_keys_free(k);
        return -EIO;
    }
    int64_t now = now_s(k);
    k->next_rotate_s = now + rot;
    k->cur_max_exp_s = now;
    *out = k;
    return 0;
}

void auth_media_keys_free(auth_media_keys *k)
{
    if (!k)
        return;
    pthread_mutex_destroy(&k->lock);
    OPENSSL_cleanse(k, sizeof(*k));
    free(k);
}

int64_t auth_media_token_min_life_s(const auth_media_keys *k)
{
    return k->ttl_s - k->window_s;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

static bool has_range(const struct auth_media_scope *s)
{
    return s->to_us > s->from_us;
}

/* MAC over body[0..n) and the scope's strings. False when OpenSSL fails. */
static bool mac(const uint8_t key[KEY_BYTES], const uint8_t *body, size_t n,
                const struct auth_media_scope *s, uint8_t out[MAC_BYTES])
{
    const char *strs[3] = {str_or_empty(s->camera), str_or_empty(s->stream),
                           str_or_empty(s->export_id)};
    size_t len[3], total = sizeof(DOMAIN) + n;
    for (int i = 0; i < 3; i++) {
        len[i] = strnlen(strs[i], MAX_SCOPE_STRING + 1);
        total += len[i] + 1;
    }
    uint8_t buf[sizeof(DOMAIN) + HEAD_BYTES + RANGE_BYTES + 3 * (MAX_SCOPE_STRING + 2)];
    if (n > HEAD_BYTES + RANGE_BYTES || total > sizeof(buf))
        return false;
    size_t o = 0;
    memcpy(buf, DOMAIN, sizeof(DOMAIN)); /* with its NUL */
    o += sizeof(DOMAIN);
    memcpy(buf + o, body, n);
    o += n;
    for (int i = 0; i < 3; i++) {
        memcpy(buf + o, strs[i], len[i]);
        o += len[i];
        buf[o++] = '\0';
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    bool ok = HMAC(EVP_sha256(), key, KEY_BYTES, buf, o, md, &md_len) && md_len >= MAC_BYTES;
    if (ok)
        memcpy(out, md, MAC_BYTES);
    OPENSSL_cleanse(md, sizeof(md));
    return ok;
}

static bool scope_strings_fit(const struct auth_media_scope *s)
{
    return strnlen(str_or_empty(s->camera), MAX_SCOPE_STRING + 1) <= MAX_SCOPE_STRING &&
           strnlen(str_or_empty(s->stream), MAX_SCOPE_STRING + 1) <= MAX_SCOPE_STRING &&
           strnlen(str_or_empty(s->export_id), MAX_SCOPE_STRING + 1) <= MAX_SCOPE_STRING;
}

int auth_media_token_issue(auth_media_keys *k, const struct auth_media_scope *scope, char *out,
                           size_t cap)
{
    if (cap)
        out[0] = '\0';
    bool is_known = scope->kind >= AUTH_MEDIA_LIVE && scope->kind <= AUTH_MEDIA_EXPORT;
    if (!is_known || !scope_strings_fit(scope) ||
        (scope->kind != AUTH_MEDIA_EXPORT && !str_or_empty(scope->camera)[0]) ||
        (scope->kind == AUTH_MEDIA_PLAYBACK && !has_range(scope)) ||
        (scope->kind == AUTH_MEDIA_EXPORT && !str_or_empty(scope->export_id)[0]))
        return -EINVAL;
    size_t n = HEAD_BYTES + (has_range(scope) ? RANGE_BYTES : 0);
    if (cap < AUTH_B64URL_LEN(n + MAC_BYTES) + 1)
        return -ENOSPC;

    int64_t now = now_s(k);
    int64_t exp = now - (now % k->window_s + k->window_s) % k->window_s + k->ttl_s;
    if (scope->kind == AUTH_MEDIA_PLAYBACK) {
        int64_t span_us;
        bool fits = horus_sub_i64(scope->to_us, scope->from_us, &span_us);
        exp += fits && span_us / 1000000 < MAX_PLAYBACK_EXTRA_S ? span_us / 1000000
                                                                : MAX_PLAYBACK_EXTRA_S;
    }
    struct mkey key;
    pthread_mutex_lock(&k->lock);
    int rc = rotate_locked(k, now);
    if (rc == 0) {
        key = k->cur;
        if (exp > k->cur_max_exp_s)
            k->cur_max_exp_s = exp;
    }
    pthread_mutex_unlock(&k->lock);
    if (rc < 0)
        return rc;

    uint8_t tok[HEAD_BYTES + RANGE_BYTES + MAC_BYTES];
    tok[0] = VERSION;
    put_be(tok + 1, key.id, 4);
    tok[5] = (uint8_t)(scope->kind | (has_range(scope) ? KIND_HAS_RANGE : 0));
    put_be(tok + 6, (uint64_t)exp, 8);
    if (has_range(scope)) {
        put_be(tok + 14, (uint64_t)scope->from_us, 8);
        put_be(tok + 22, (uint64_t)scope->to_us, 8);
    }
    bool ok = mac(key.bytes, tok, n, scope, tok + n);
    OPENSSL_cleanse(&key, sizeof(key));
    if (!ok)
        return -EIO;
    return auth_b64url_encode(tok, n + MAC_BYTES, out, cap);
}

static int fail(char *why, size_t size, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t size, int rc, const char *fmt, ...)
{
    if (why && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, size, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static const char *kind_name(int kind)
{
    switch (kind) {
    case AUTH_MEDIA_LIVE:
        return "live";
    case AUTH_MEDIA_PLAYBACK:
        return "playback";
    case AUTH_MEDIA_SNAPSHOT:
        return "snapshot";
    case AUTH_MEDIA_EXPORT:
        return "export";
    default:
        return "unknown";
    }
}

/* Finds the key with id; copies it into *out. Lock held. */
static bool find_key_locked(const auth_media_keys *k, uint32_t id, int64_t now, struct mkey *out)
{
    if (k->is_derived) {
        /* The current and the previous period's keys are at hand: a token check is on every
           part a player fetches, so only older or newer periods are derived here. */
        if ((k->cur.is_set && k->cur.id == id) || (k->prev.is_set && k->prev.id == id)) {
            *out = k->cur.id == id ? k->cur : k->prev;
            return true;
        }
        /* Any period a live token can come from: its signed expiry decides the rest. One
           period ahead: a node whose clock runs a little fast has rotated first. */
        int64_t cur = period_of(k, now);
        int64_t back =
            (MAX_PLAYBACK_EXTRA_S + k->ttl_s + AUTH_MEDIA_TOKEN_LEEWAY_S) / k->rotate_s + 1;
        return (int64_t)id >= cur - back && (int64_t)id <= cur + 1 && derive_key(k, id, out) == 0;
    }
    if (k->cur.is_set && k->cur.id == id) {
        *out = k->cur;
        return true;
    }
    if (k->prev.is_set && k->prev.id == id) { /* until the next rotation, whatever it signed */
        *out = k->prev;
        return true;
    }
    for (size_t i = 0; i < MAX_RETIRED; i++) {
        const struct mkey *m = &k->retired[i];
        if (m->is_set && m->id == id && now <= m->retire_s) {
            *out = *m;
            return true;
        }
    }
    return false;
}

int auth_media_token_check(auth_media_keys *k, const char *token,
                           const struct auth_media_scope *want, char *why, size_t why_size)
{
    if (why && why_size)
        why[0] = '\0';
    if (!token || !token[0])
        return fail(why, why_size, -EINVAL, "media token: missing");
    size_t len = strnlen(token, AUTH_MEDIA_TOKEN_MAX + 1);
    uint8_t tok[HEAD_BYTES + RANGE_BYTES + MAC_BYTES];
    int n = len > AUTH_MEDIA_TOKEN_MAX ? -ENOSPC : auth_b64url_decode(token, len, tok, sizeof(tok));
    if (n < 0)
        return fail(why, why_size, -EINVAL, "media token: %s",
                    n == -ENOSPC ? "too long" : "not base64url");
    if (n < 1 || tok[0] != VERSION)
        return fail(why, why_size, -EINVAL, "media token: unknown version");
    bool is_ranged = n >= HEAD_BYTES && (tok[5] & KIND_HAS_RANGE);
    size_t body = HEAD_BYTES + (is_ranged ? RANGE_BYTES : 0);
    if ((size_t)n != body + MAC_BYTES)
        return fail(why, why_size, -EINVAL, "media token: wrong length");
    if (!scope_strings_fit(want))
        return fail(why, why_size, -EACCES, "media token: the request's names are too long");

    uint32_t id = (uint32_t)get_be(tok + 1, 4);
    int64_t now = now_s(k);
    struct mkey key;
    pthread_mutex_lock(&k->lock);
    int rc = rotate_locked(k, now);
    bool has_key = find_key_locked(k, id, now, &key);
    pthread_mutex_unlock(&k->lock);
    if (rc < 0)
        return fail(why, why_size, rc, "media token: rotate the signing key: %s",
                    horus_strerror(rc));
    if (!has_key)
        return fail(why, why_size, -ENOKEY,
                    "media token: signed by a key this server no longer has (restarted or "
                    "rotated since); reload the playlist or ask for a new link");
    uint8_t expect[MAC_BYTES];
    bool ok = mac(key.bytes, tok, body, want, expect);
    OPENSSL_cleanse(&key, sizeof(key));
    if (!ok)
        return fail(why, why_size, -EIO, "media token: compute the signature");
    if (!auth_equal_ct(expect, tok + body, MAC_BYTES))
        return fail(why, why_size, -EACCES,
                    "media token: does not open camera '%.64s' stream '%.16s'%s%.64s%s (a token "
                    "for another one, or altered)",
                    str_or_empty(want->camera), str_or_empty(want->stream),
                    want->export_id ? " export '" : "", str_or_empty(want->export_id),
                    want->export_id ? "'" : "");
    /* Signed, so the fields below are the issuer's. */
    int kind = tok[5] & ~KIND_HAS_RANGE;
    if (kind != (int)want->kind)
        return fail(why, why_size, -EACCES, "media token: issued for %s media, not %s",
                    kind_name(kind), kind_name(want->kind));
    int64_t exp = (int64_t)get_be(tok + 6, 8);
    if (now > exp && now - exp > AUTH_MEDIA_TOKEN_LEEWAY_S)
        return fail(why, why_size, -EKEYEXPIRED,
                    "media token: expired %lld s ago; reload the playlist or ask for a new link",
                    (long long)(now - exp));
    if (is_ranged) {
        int64_t from = (int64_t)get_be(tok + 14, 8), to = (int64_t)get_be(tok + 22, 8);
        bool is_inside = has_range(want) &&
                         (want->is_overlap_enough ? want->from_us < to && want->to_us > from
                                                  : want->from_us >= from && want->to_us <= to);
        if (!is_inside)
            return fail(why, why_size, -EACCES,
                        "media token: the requested time is outside the range it was issued "
                        "for");
    }
    return 0;
}

int auth_media_token_expiry_s(const char *token, int64_t *exp_s)
{
    uint8_t tok[HEAD_BYTES + RANGE_BYTES + MAC_BYTES];
    size_t len = token ? strnlen(token, AUTH_MEDIA_TOKEN_MAX + 1) : 0;
    int n = len && len <= AUTH_MEDIA_TOKEN_MAX ? auth_b64url_decode(token, len, tok, sizeof(tok))
                                               : -EINVAL;
    if (n < HEAD_BYTES + MAC_BYTES || tok[0] != VERSION)
        return -EINVAL;
    *exp_s = (int64_t)get_be(tok + 6, 8);
    return 0;
}
