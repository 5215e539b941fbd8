/*
 * Signed media URLs (issue 9 item 7): short-lived HMAC-SHA256 tokens that
 * playlists put in every URI they list as `?t=<token>`, so that players
 * which cannot send headers (ffmpeg, VLC, Safari's native HLS) can fetch
 * parts, segments, init sections and recorded byte ranges.
 *
 * A token is scoped to a camera, a stream, a kind (live, playback,
 * snapshot, export), an expiry, optionally a time range (required for
 * playback) and an export id. It names no principal: the live playlist is
 * rendered once per stream and shared by every viewer (src/live), so all
 * viewers of a stream get the same token within one window of ttl / 5.
 * The camera, stream and export id are not written into the token, only
 * signed: the checker supplies them from the request, which keeps the
 * token short (40 characters for live) in playlists that list it 30 times.
 *
 * Keys (or, with a root key, each rotation period's key derived from it,
 * shared by the nodes of one database: docs/design/0070): a ring of the
 * current key and the previous one, random at start
 * and held only in memory (a restart invalidates outstanding links, as the
 * live URIs' run token already does), rotated every rotate_s. A rotated
 * key keeps verifying until every token it signed has expired, so a
 * rotation never cuts a viewer off. Decisions:
 * docs/design/0021-totp-and-media-tokens.md.
 */
#ifndef HORUS_AUTH_MEDIA_TOKEN_H
#define HORUS_AUTH_MEDIA_TOKEN_H

#include "cfg.h"
#include "clock.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* `auth.media_tokens` in horus.yaml (a CFG_SECTION the root schema nests under `auth:`). */
struct auth_media_token_config {
    int64_t ttl_ms; /* lifetime of a token (a live one: between 4/5 of it and all of it) */
    int64_t rotate_interval_ms; /* signing key rotation; at least twice ttl */
};

extern const cfg_field auth_media_token_config_fields[];

/* Grace after expiry for requests in flight (a part fetched just after its playlist). */
#define AUTH_MEDIA_TOKEN_LEEWAY_S 5
/* Longest token the issuer writes (playback, 62 characters) with room to spare, and the NUL. */
#define AUTH_MEDIA_TOKEN_MAX 96

enum auth_media_kind {
    AUTH_MEDIA_LIVE = 1, /* live playlists, init, parts, segments */
    AUTH_MEDIA_PLAYBACK = 2, /* playback playlist and recorded files: needs a range */
    AUTH_MEDIA_SNAPSHOT = 3, /* snapshot.jpg (with a range: only instants inside it) */
    AUTH_MEDIA_EXPORT = 4, /* an export's file: needs export_id */
};

/*
 * What a token opens (issue) or what a request asks for (check). Strings
 * are borrowed; NULL reads as "". A range is present when to_us > from_us.
 */
struct auth_media_scope {
    enum auth_media_kind kind;
    const char *camera; /* the camera id */
    const char *stream; /* "main", "sub", ...; NULL for an export */
    int64_t from_us, to_us; /* UTC µs, [from, to); playback: required */
    const char *export_id; /* AUTH_MEDIA_EXPORT: required; else NULL */
    /*
     * check only: the request's range need only overlap the signed one (a
     * recorded file listed in a playback playlist may begin before the
     * signed range or end after it); otherwise it must lie inside.
     */
    bool is_overlap_enough;
};

typedef struct auth_media_keys auth_media_keys;

struct auth_media_keys_options {
    int64_t ttl_s; /* 0 = 300 (5 minutes); at most 86400 */
    int64_t rotate_s; /* 0 = 3600; raised to 2 * ttl_s when less */
    const horus_clock *clock; /* borrowed; NULL = system */
    /*
     * NULL: random keys held in memory only. Else 32 bytes (copied) from
     * which each rotation period's key is derived, so that every node
     * given the same root signs and checks the same tokens, across
     * restarts too (docs/design/0070).
     */
    const unsigned char *root_key;
};

/*
 * Creates a key ring with a new random key. Returns 0 (a new ring in
 * *out), -EINVAL for options out of range, or -EIO when the random
 * generator fails. Thread: main.
 */
int auth_media_keys_new(const struct auth_media_keys_options *opt, auth_media_keys **out);

/* Frees the ring, wiping its keys. NULL is a no-op. Thread: main, after every user stopped. */
void auth_media_keys_free(auth_media_keys *k);

/*
 * Issues a token for scope into out (cap >= AUTH_MEDIA_TOKEN_MAX), rotating
 * the key first when it is due. Expiry: the start of the current window
 * (ttl / 5, at least 1 s) plus ttl, so every call within one window and
 * key gives the same token; a playback token also gets the length of its
 * range (capped at 24 h), because a VOD playlist is loaded once and its
 * media fetched while it plays. Returns the token's length, -EINVAL when
 * the scope is incomplete (no camera; playback without a range; export
 * without an id; an unknown kind; a string over 255 bytes), -ENOSPC, or
 * -EIO. The token is a credential: never log it. Thread: any.
 */
int auth_media_token_issue(auth_media_keys *k, const struct auth_media_scope *scope, char *out,
                           size_t cap);

/*
 * Checks token (the `t` query parameter) against what the request asks
 * for, in constant time for the signature. Returns 0 when the token opens
 * want, or a negative code with a sentence in why (why_size bytes, never
 * holding the token) naming the problem:
 *   -EINVAL       malformed: not base64url, wrong length or version
 *   -ENOKEY       signed by a key this server does not have (a restart,
 *                 or a token older than two rotations)
 *   -EACCES       the signature does not match this camera, stream or
 *                 export (a token for another one, or an altered token),
 *                 the kind differs, or the range is outside the signed one
 *   -EKEYEXPIRED  expired more than AUTH_MEDIA_TOKEN_LEEWAY_S ago
 * The HTTP gate answers 401 for all of them. Thread: any.
 */
int auth_media_token_check(auth_media_keys *k, const char *token,
                           const struct auth_media_scope *want, char *why, size_t why_size);

/*
 * The expiry (Unix s) written in a token this server issued, for showing
 * it next to a link; it checks nothing (use auth_media_token_check).
 * Returns 0, or -EINVAL when token is not a well-formed token. Thread: any.
 */
int auth_media_token_expiry_s(const char *token, int64_t *exp_s);

/* Seconds from now until a token issued now expires, at least (ttl - window). Thread: any. */
int64_t auth_media_token_min_life_s(const auth_media_keys *k);

#endif
