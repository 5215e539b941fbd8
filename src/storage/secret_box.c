/*
 * DESIGN: the secret box of secret_box.h: AES-256-GCM through OpenSSL's
 * EVP interface, a 96-bit random nonce per seal (RAND_bytes; with at most a
 * few thousand seals per key, far from the 2^32 bound for random GCM
 * nonces), the 128-bit tag checked before any plaintext is returned.
 * Encodings are lower-case hex so that the sealed form needs no escaping
 * anywhere (URL userinfo, YAML, SQL text).
 *
 * Key files hold 64 hex digits and a newline; they are created 0600 with
 * O_EXCL and fsynced with their directory, and a key file that group or
 * others may read is refused, like ssh refuses such a private key.
 *
 * Thread: see secret_box.h. No locks: a box changes only in the rotate
 * calls, made while nothing else uses it.
 */
#include "secret_box.h"

#include "err.h"
#include "fs.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct secret_key {
    bool is_set;
    unsigned char bytes[STO_SECRET_KEY_BYTES];
    char id[STO_SECRET_KEY_ID_LEN + 1];
};

struct sto_secret_box {
    char *key_file; /* owned; NULL when the key came from the configuration */
    struct secret_key cur; /* from key_file or the configuration */
    struct secret_key pend; /* from <key_file>.new: a rotation begun or interrupted */
    bool is_rotating; /* pend seals (rotate_begin until commit/abort) */
};

static const char hexdigits[] = "0123456789abcdef";

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdigits[in[i] >> 4];
        out[2 * i + 1] = hexdigits[in[i] & 15];
    }
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes exactly 2n lower-case hex digits. Returns 0 or -1. */
static int hex_decode(const char *in, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(in[2 * i]), lo = hex_val(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static void key_set(struct secret_key *k, const unsigned char bytes[STO_SECRET_KEY_BYTES])
{
    static const char label[] = "horus secret key id";
    unsigned char buf[sizeof(label) - 1 + STO_SECRET_KEY_BYTES];
    unsigned char digest[SHA256_DIGEST_LENGTH];
    memcpy(buf, label, sizeof(label) - 1);
    memcpy(buf + sizeof(label) - 1, bytes, STO_SECRET_KEY_BYTES);
    SHA256(buf, sizeof(buf), digest);
    OPENSSL_cleanse(buf, sizeof(buf));
    memcpy(k->bytes, bytes, STO_SECRET_KEY_BYTES);
    hex_encode(digest, STO_SECRET_KEY_ID_LEN / 2, k->id);
    k->id[STO_SECRET_KEY_ID_LEN] = '\0';
    k->is_set = true;
}

static void key_clear(struct secret_key *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}

/* 64 hex digits (either case), surrounding whitespace allowed. Returns 0 or -EINVAL. */
static int key_from_text(const char *text, struct secret_key *k)
{
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\n' ||
                     text[n - 1] == '\r'))
        n--;
    if (n != 2 * STO_SECRET_KEY_BYTES)
        return -EINVAL;
    char lower[2 * STO_SECRET_KEY_BYTES];
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)(text[i] >= 'A' && text[i] <= 'F' ? text[i] - 'A' + 'a' : text[i]);
    unsigned char bytes[STO_SECRET_KEY_BYTES];
    int rc = hex_decode(lower, STO_SECRET_KEY_BYTES, bytes) < 0 ? -EINVAL : 0;
    if (rc == 0)
        key_set(k, bytes);
    OPENSSL_cleanse(lower, sizeof(lower));
    OPENSSL_cleanse(bytes, sizeof(bytes));
    return rc;
}

/* Reads a key file. Returns 0, -ENOENT, -EINVAL (content or mode) or -errno; *errmsg says why. */
static int key_read(const char *path, struct secret_key *k, char **errmsg)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int rc = -errno;
        *errmsg = horus_asprintf("read secret key file '%s': %s", path, horus_strerror(rc));
        return rc;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        *errmsg = horus_asprintf("secret key file '%s' must be a regular file readable by its "
                                 "owner only (chmod 600)",
                                 path);
        close(fd);
        return -EINVAL;
    }
    char buf[160];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    int rc = n < 0 ? -errno : 0;
    close(fd);
    if (rc == 0) {
        buf[n] = '\0';
        rc = key_from_text(buf, k);
        if (rc < 0)
            *errmsg = horus_asprintf("secret key file '%s': not a key (64 hex digits)", path);
    } else {
        *errmsg = horus_asprintf("read secret key file '%s': %s", path, horus_strerror(rc));
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* Writes a new random key to path (must not exist), fsynced with its directory. */
static int key_create(const char *path, struct secret_key *k, char **errmsg)
{
    unsigned char bytes[STO_SECRET_KEY_BYTES];
    if (RAND_bytes(bytes, sizeof(bytes)) != 1)
        HORUS_BUG("RAND_bytes failed");
    char text[2 * STO_SECRET_KEY_BYTES + 1];
    hex_encode(bytes, sizeof(bytes), text);
    text[2 * STO_SECRET_KEY_BYTES] = '\n';
    int rc = fs_mkdirs_for(path);
    int fd = rc < 0 ? -1 : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (rc == 0 && fd < 0)
        rc = -errno;
    if (rc == 0)
        rc = fs_pwrite_all(fd, text, sizeof(text), 0);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0) {
        char *dir = horus_strdup(path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        rc = fs_fsync_dir(slash ? (dir[0] ? dir : "/") : ".");
        free(dir);
    }
    if (rc == 0)
        key_set(k, bytes);
    else {
        *errmsg = horus_asprintf("create secret key file '%s': %s", path, horus_strerror(rc));
        if (fd >= 0)
            unlink(path);
    }
    OPENSSL_cleanse(bytes, sizeof(bytes));
    OPENSSL_cleanse(text, sizeof(text));
    return rc;
}

static char *pending_path(const sto_secret_box *box)
{
    return horus_asprintf("%s.new", box->key_file);
}

int sto_secret_box_open(const struct sto_secret_box_options *opt, sto_secret_box **out,
                        char **errmsg)
{
    *errmsg = NULL;
    sto_secret_box *box = horus_calloc(1, sizeof(*box));
    int rc = 0;
    if (opt->key_text && opt->key_text[0]) {
        rc = key_from_text(opt->key_text, &box->cur);
        if (rc < 0)
            *errmsg = horus_asprintf("secrets.key: not a key (64 hex digits, e.g. from "
                                     "`openssl rand -hex 32`)");
    } else {
        box->key_file = horus_strdup(opt->key_file);
        rc = key_read(box->key_file, &box->cur, errmsg);
        if (rc == -ENOENT && opt->may_create) {
            free(*errmsg);
            *errmsg = NULL;
            rc = key_create(box->key_file, &box->cur, errmsg);
        }
        if (rc == 0) {
            char *pend = pending_path(box);
            char *why = NULL;
            int prc = key_read(pend, &box->pend, &why);
            if (prc < 0 && prc != -ENOENT) {
                rc = prc;
                *errmsg = why;
                why = NULL;
            }
            free(why);
            free(pend);
        }
    }
    if (rc < 0) {
        sto_secret_box_free(box);
        return rc;
    }
    *out = box;
    return 0;
}

void sto_secret_box_free(sto_secret_box *box)
{
    if (!box)
        return;
    key_clear(&box->cur);
    key_clear(&box->pend);
    free(box->key_file);
    free(box);
}

static const struct secret_key *seal_key(const sto_secret_box *box)
{
    return box->is_rotating ? &box->pend : &box->cur;
}

const char *sto_secret_box_key_id(const sto_secret_box *box)
{
    return seal_key(box)->id;
}

const char *sto_secret_box_pending_id(const sto_secret_box *box)
{
    return box->pend.is_set ? box->pend.id : NULL;
}

static const struct secret_key *find_key(const sto_secret_box *box, const char *id)
{
    if (box->cur.is_set && strcmp(box->cur.id, id) == 0)
        return &box->cur;
    if (box->pend.is_set && strcmp(box->pend.id, id) == 0)
        return &box->pend;
    return NULL;
}

bool sto_secret_box_has_key(const sto_secret_box *box, const char *key_id)
{
    return find_key(box, key_id) != NULL;
}

const char *sto_secret_box_source(const sto_secret_box *box)
{
    return box->key_file ? box->key_file : "secrets.key";
}

bool sto_secret_is_sealed(const char *s)
{
    return s && strncmp(s, STO_SECRET_PREFIX, strlen(STO_SECRET_PREFIX)) == 0;
}

/* The field of s[0..n) up to the next '.' (or the end when is_last). */
static int next_field(const char *s, size_t n, size_t *pos, bool is_last, size_t *start,
                      size_t *len)
{
    *start = *pos;
    const char *dot = memchr(s + *pos, '.', n - *pos);
    if (is_last) {
        if (dot)
            return -1;
        *len = n - *pos;
        *pos = n;
        return 0;
    }
    if (!dot)
        return -1;
    *len = (size_t)(dot - (s + *pos));
    *pos += *len + 1;
    return 0;
}

int sto_secret_parse(const char *s, size_t n, struct sto_secret_parts *out)
{
    size_t plen = strlen(STO_SECRET_PREFIX);
    if (!s || n < plen || memcmp(s, STO_SECRET_PREFIX, plen) != 0)
        return HORUS_EPARSE;
    size_t pos = plen, start[4], len[4];
    for (int i = 0; i < 4; i++)
        if (next_field(s, n, &pos, i == 3, &start[i], &len[i]) < 0)
            return HORUS_EPARSE;
    if (len[0] != STO_SECRET_KEY_ID_LEN || len[1] != 2 * STO_SECRET_NONCE_BYTES ||
        len[3] != 2 * STO_SECRET_TAG_BYTES || len[2] % 2 != 0 || len[2] / 2 > STO_SECRET_MAX_PLAIN)
        return HORUS_EPARSE;
    unsigned char kid[STO_SECRET_KEY_ID_LEN / 2];
    if (hex_decode(s + start[0], sizeof(kid), kid) < 0 ||
        hex_decode(s + start[1], STO_SECRET_NONCE_BYTES, out->nonce) < 0 ||
        hex_decode(s + start[3], STO_SECRET_TAG_BYTES, out->tag) < 0)
        return HORUS_EPARSE;
    for (size_t i = 0; i < len[2]; i++)
        if (hex_val(s[start[2] + i]) < 0)
            return HORUS_EPARSE;
    memcpy(out->key_id, s + start[0], STO_SECRET_KEY_ID_LEN);
    out->key_id[STO_SECRET_KEY_ID_LEN] = '\0';
    out->ct_hex = s + start[2];
    out->ct_len = len[2] / 2;
    return 0;
}

/*
 * One AES-256-GCM pass: encrypts (is_seal) or decrypts n bytes of in into
 * out, with tag written (seal) or checked (open). Returns 0, or -EBADMSG
 * when the tag does not match.
 */
static int gcm(bool is_seal, const struct secret_key *k, const unsigned char *nonce,
               const char *aad, const unsigned char *in, size_t n, unsigned char *out,
               unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        HORUS_BUG("EVP_CIPHER_CTX_new failed");
    int outl = 0, rc = 0;
    int ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, is_seal) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, STO_SECRET_NONCE_BYTES, NULL) == 1 &&
             EVP_CipherInit_ex(ctx, NULL, NULL, k->bytes, nonce, is_seal) == 1;
    if (ok && aad && aad[0])
        ok = EVP_CipherUpdate(ctx, NULL, &outl, (const unsigned char *)aad, (int)strlen(aad)) == 1;
    if (ok && n > 0)
        ok = EVP_CipherUpdate(ctx, out, &outl, in, (int)n) == 1;
    if (!ok)
        HORUS_BUG("AES-256-GCM setup failed");
    if (!is_seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, STO_SECRET_TAG_BYTES, tag) != 1)
        HORUS_BUG("AES-256-GCM set tag failed");
    if (EVP_CipherFinal_ex(ctx, out + outl, &outl) != 1)
        rc = -EBADMSG; /* only decryption can fail here: the tag did not match */
    if (rc == 0 && is_seal &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, STO_SECRET_TAG_BYTES, tag) != 1)
        HORUS_BUG("AES-256-GCM get tag failed");
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int sto_secret_seal(const sto_secret_box *box, const void *plain, size_t len, const char *aad,
                    char **out)
{
    if (len > STO_SECRET_MAX_PLAIN)
        return -EINVAL;
    const struct secret_key *k = seal_key(box);
    unsigned char nonce[STO_SECRET_NONCE_BYTES], tag[STO_SECRET_TAG_BYTES];
    if (RAND_bytes(nonce, sizeof(nonce)) != 1)
        HORUS_BUG("RAND_bytes failed");
    unsigned char *ct = horus_malloc(len + 1);
    gcm(true, k, nonce, aad, plain, len, ct, tag);
    size_t plen = strlen(STO_SECRET_PREFIX);
    size_t total = plen + STO_SECRET_KEY_ID_LEN + 1 + 2 * sizeof(nonce) + 1 + 2 * len + 1 +
                   2 * sizeof(tag) + 1;
    char *s = horus_malloc(total);
    char *p = s;
    memcpy(p, STO_SECRET_PREFIX, plen);
    p += plen;
    memcpy(p, k->id, STO_SECRET_KEY_ID_LEN);
    p += STO_SECRET_KEY_ID_LEN;
    *p++ = '.';
    hex_encode(nonce, sizeof(nonce), p);
    p += 2 * sizeof(nonce);
    *p++ = '.';
    hex_encode(ct, len, p);
    p += 2 * len;
    *p++ = '.';
    hex_encode(tag, sizeof(tag), p);
    p += 2 * sizeof(tag);
    *p = '\0';
    free(ct);
    *out = s;
    return 0;
}

int sto_secret_open(const sto_secret_box *box, const char *sealed, const char *aad, char **out,
                    size_t *len)
{
    struct sto_secret_parts parts;
    int rc = sto_secret_parse(sealed, strlen(sealed), &parts);
    if (rc < 0)
        return rc;
    const struct secret_key *k = find_key(box, parts.key_id);
    if (!k)
        return -ENOKEY;
    unsigned char *ct = horus_malloc(parts.ct_len + 1);
    hex_decode(parts.ct_hex, parts.ct_len, ct); /* checked by the parse */
    char *plain = horus_malloc(parts.ct_len + 1);
    rc = gcm(false, k, parts.nonce, aad, ct, parts.ct_len, (unsigned char *)plain, parts.tag);
    free(ct);
    if (rc < 0) {
        OPENSSL_cleanse(plain, parts.ct_len + 1);
        free(plain);
        return rc;
    }
    plain[parts.ct_len] = '\0';
    *out = plain;
    if (len)
        *len = parts.ct_len;
    return 0;
}

int sto_secret_box_rotate_begin(sto_secret_box *box, char **errmsg)
{
    *errmsg = NULL;
    if (!box->key_file) {
        *errmsg = horus_asprintf("the key comes from secrets.key in the configuration: rotate it "
                                 "there (rotation handles <data>/secret.key only)");
        return -EINVAL;
    }
    if (box->pend.is_set) {
        *errmsg =
            horus_asprintf("'%s.new' exists: an interrupted rotation is pending", box->key_file);
        return -EALREADY;
    }
    char *path = pending_path(box);
    int rc = key_create(path, &box->pend, errmsg);
    free(path);
    if (rc == 0)
        box->is_rotating = true;
    return rc;
}

int sto_secret_box_rotate_commit(sto_secret_box *box, char **errmsg)
{
    *errmsg = NULL;
    if (!box->key_file || !box->pend.is_set) {
        *errmsg = horus_asprintf("no rotation is pending");
        return -ENOENT;
    }
    char *path = pending_path(box);
    int rc = rename(path, box->key_file) < 0 ? -errno : 0;
    if (rc == 0) {
        char *dir = horus_strdup(box->key_file);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        rc = fs_fsync_dir(slash ? (dir[0] ? dir : "/") : ".");
        free(dir);
    }
    if (rc < 0)
        *errmsg =
            horus_asprintf("rename '%s' to '%s': %s", path, box->key_file, horus_strerror(rc));
    free(path);
    if (rc < 0)
        return rc;
    box->cur = box->pend;
    key_clear(&box->pend);
    box->is_rotating = false;
    return 0;
}

int sto_secret_box_rotate_abort(sto_secret_box *box, char **errmsg)
{
    *errmsg = NULL;
    if (!box->key_file || !box->pend.is_set) {
        *errmsg = horus_asprintf("no rotation is pending");
        return -ENOENT;
    }
    char *path = pending_path(box);
    int rc = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
    if (rc < 0)
        *errmsg = horus_asprintf("remove '%s': %s", path, horus_strerror(rc));
    free(path);
    if (rc < 0)
        return rc;
    key_clear(&box->pend);
    box->is_rotating = false;
    return 0;
}

int sto_secret_box_derive(const sto_secret_box *box, const char *label,
                          unsigned char out[STO_SECRET_KEY_BYTES])
{
    if (!box || !box->cur.is_set || !label)
        return -EINVAL;
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), box->cur.bytes, STO_SECRET_KEY_BYTES, (const unsigned char *)label,
              strlen(label), out, &n) ||
        n != STO_SECRET_KEY_BYTES)
        return -EIO;
    return 0;
}
