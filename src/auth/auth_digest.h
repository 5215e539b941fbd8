/*
 * RTSP Digest secrets (docs/design/0077): the re-stream's Digest
 * authentication (RFC 2617, MD5: what ffmpeg, VLC and camera NVRs speak)
 * needs HA1 = MD5(name:realm:password), which argon2 hashes and SHA-256
 * key hashes cannot give. While restream.rtsp.digest is on (auth_digest_keep),
 * auth keeps it, sealed (storage's sto_rtsp_digest_*): a user's when a
 * password is set, and at a verified login when none is kept yet (users
 * from before get theirs then); an API key's when the key is made, its
 * Digest name being "hk_<id>" and its password the whole key. Off, none
 * is written, and the daemon drops those kept (sto_rtsp_digests_clear).
 * Thread: any but the storage writer.
 */
#ifndef HORUS_AUTH_DIGEST_H
#define HORUS_AUTH_DIGEST_H

#include "auth.h"
#include "storage.h"

#include <stdbool.h>
#include <stdint.h>

/* The realm every kept HA1 is made for (the re-stream's challenges name it). */
#define AUTH_DIGEST_REALM "horus"

/* Whether HA1s are kept from now on. Set at start, before other threads run. */
void auth_digest_keep(bool is_kept);
bool auth_digest_is_kept(void);

/* MD5(name:realm:password) in lower-case hex. Returns 0 or -ENOSPC (over 1 KiB). */
int auth_digest_ha1(const char *name, const char *realm, const char *password, char out[33]);

/*
 * A user's password was set (is_set: keep its HA1) or verified (keep it
 * only when none is kept). While HA1s are not kept, a password set drops
 * the old one's and a verified one does nothing. Failures are ignored:
 * Digest waits for the next login, Basic still works.
 */
void auth_digest_note_password(sto_db *db, const char *user, const char *password, bool is_set);
/* An API key was made: keep its HA1 (name "hk_<id>"). */
void auth_digest_note_key(sto_db *db, const char *id, const char *key);

/*
 * The principal a Digest name stands for and its kept HA1: "hk_<id>" an
 * API key (not revoked, not expired at now_ms), else a user (enabled).
 * Returns 0 with *out, HORUS_EAUTH (no such principal), -ENODATA (none
 * kept yet), -EACCES (a user with a second factor or a password to change:
 * RTSP cannot ask for either), or a storage error.
 */
int auth_digest_lookup(sto_db *db, const char *name, int64_t now_ms, char ha1[33],
                       struct auth_principal **out);

#endif
