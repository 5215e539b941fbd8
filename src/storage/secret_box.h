/*
 * Secrets at rest (docs/design/0019): AES-256-GCM (OpenSSL EVP) under a
 * 32-byte key kept in a file (<data>/secret.key, 0600, 64 hex digits,
 * created on first start) or given by the configuration (secrets.key:
 * ${ENV} or file:PATH). It lives in storage because the camera repository
 * seals and opens URLs itself and storage may not depend on auth; auth
 * (API keys, OIDC client secrets) reaches it through storage.
 *
 * Sealed form, ASCII, safe inside a URL's userinfo:
 *   hsb1.<key id: 8 hex>.<nonce: 24 hex>.<ciphertext: hex>.<tag: 32 hex>
 * The key id is the first 4 bytes of SHA-256("horus secret key id" || key),
 * so the key that sealed a value is known without trying every key. The
 * caller's aad (additional data, e.g. the camera id and the rest of the
 * URL) is authenticated, not stored: a sealed value copied to another row
 * does not open.
 *
 * A box is a key ring: the primary key seals; the primary and, during a
 * rotation, the other key open. Rotation (crash-safe order):
 *   1. sto_secret_box_rotate_begin: a new key is written to <key_file>.new
 *      (0600, fsynced with its directory) and becomes primary; the old key
 *      still opens.
 *   2. the caller re-seals every value in one transaction.
 *   3. sto_secret_box_rotate_commit: <key_file>.new is renamed over
 *      <key_file> (directory fsynced); the old key is dropped.
 * A crash before 2 commits leaves every value under the old key and a
 * stray .new file; a crash between 2 and 3 leaves every value under the new
 * key, still in .new. sto_secret_box_open loads a .new file as the
 * "pending" key, and the caller decides by what the database holds:
 * values under the pending key id -> commit, else -> abort (unlink .new).
 *
 * Thread: a box is immutable between rotate calls, which are made by one
 * thread while nothing else uses the box (the `horus secrets rotate`
 * command or daemon start). seal/open: any.
 */
#ifndef HORUS_SECRET_BOX_H
#define HORUS_SECRET_BOX_H

#include <stdbool.h>
#include <stddef.h>

#define STO_SECRET_KEY_BYTES 32
#define STO_SECRET_KEY_ID_LEN 8 /* hex digits */
#define STO_SECRET_NONCE_BYTES 12
#define STO_SECRET_TAG_BYTES 16
#define STO_SECRET_PREFIX "hsb1."
#define STO_SECRET_MAX_PLAIN 4096 /* longest secret sealed or opened */

typedef struct sto_secret_box sto_secret_box;

struct sto_secret_box_options {
    /*
     * The key as text (secrets.key after ${ENV}/file: expansion): 64 hex
     * digits. NULL or "" = use key_file. Borrowed during the call.
     */
    const char *key_text;
    const char *key_file; /* "<data>/secret.key"; borrowed during the call */
    bool may_create; /* key_file missing: create it (else -ENOENT naming it) */
};

/*
 * Loads the key (and <key_file>.new as the pending key when it exists).
 * Returns 0, -ENOENT (missing and !may_create), -EINVAL (not 32 bytes of
 * hex, or a key file readable by others), -errno; *errmsg (new) says why
 * and names the file. Thread: main.
 */
int sto_secret_box_open(const struct sto_secret_box_options *opt, sto_secret_box **out,
                        char **errmsg);
/* Wipes the keys and frees. NULL is a no-op. */
void sto_secret_box_free(sto_secret_box *box);

/* The primary key's id (8 hex digits); borrowed from box. */
const char *sto_secret_box_key_id(const sto_secret_box *box);
/* The pending key's id (a .new file found at open), or NULL. */
const char *sto_secret_box_pending_id(const sto_secret_box *box);
/* Whether box holds a key with this id (primary or other). */
bool sto_secret_box_has_key(const sto_secret_box *box, const char *key_id);
/* Where the key comes from, for messages: the key file's path or "secrets.key". */
const char *sto_secret_box_source(const sto_secret_box *box);

/*
 * Seals len bytes of plain with the primary key and a random nonce into a
 * new NUL-terminated string. aad may be NULL. Returns 0 or -EINVAL
 * (len > STO_SECRET_MAX_PLAIN). Thread: any.
 */
int sto_secret_seal(const sto_secret_box *box, const void *plain, size_t len, const char *aad,
                    char **out);

/*
 * Opens a sealed string into a new NUL-terminated buffer (*len without the
 * NUL; may be NULL). Returns 0, HORUS_EPARSE (not the sealed form),
 * -ENOKEY (no key with its id in box), -EBADMSG (tag mismatch: tampered,
 * or another aad). Thread: any.
 */
int sto_secret_open(const sto_secret_box *box, const char *sealed, const char *aad, char **out,
                    size_t *len);

/* Whether s starts like a sealed value (STO_SECRET_PREFIX). */
bool sto_secret_is_sealed(const char *s);
/*
 * A key of its own for another use, derived from the box's key (the one
 * read at open, not a rotation's pending one): HMAC-SHA256(key, label).
 * Every process with the same secrets.key derives the same bytes; the box
 * key cannot be recovered from them. Returns 0, -EINVAL or -EIO.
 */
int sto_secret_box_derive(const sto_secret_box *box, const char *label,
                          unsigned char out[STO_SECRET_KEY_BYTES]);

/* The pieces of a sealed string, decoded; ciphertext borrowed into the input. */
struct sto_secret_parts {
    char key_id[STO_SECRET_KEY_ID_LEN + 1];
    unsigned char nonce[STO_SECRET_NONCE_BYTES];
    unsigned char tag[STO_SECRET_TAG_BYTES];
    const char *ct_hex; /* borrowed from the input */
    size_t ct_len; /* bytes of ciphertext (half of its hex digits) */
};

/*
 * Parses the first n bytes of s (no NUL needed) as the sealed form: the
 * prefix, five dot-separated fields, lower-case hex of the right lengths,
 * ciphertext up to STO_SECRET_MAX_PLAIN bytes. Returns 0 or HORUS_EPARSE.
 * Pure; Thread: any.
 */
int sto_secret_parse(const char *s, size_t n, struct sto_secret_parts *out);

/*
 * Rotation, see above. begin: -EALREADY when a pending key exists, -EINVAL
 * when the key comes from the configuration (rotate it there), -errno
 * writing the file. commit/abort: -ENOENT without a pending key. *errmsg
 * (new) says why. Thread: the only user of box.
 */
int sto_secret_box_rotate_begin(sto_secret_box *box, char **errmsg);
int sto_secret_box_rotate_commit(sto_secret_box *box, char **errmsg);
int sto_secret_box_rotate_abort(sto_secret_box *box, char **errmsg);

#endif
