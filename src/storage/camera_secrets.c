/*
 * DESIGN: camera passwords at rest (docs/design/0019). The password of a
 * camera URL (the userinfo after its first ':'), main and sub, is stored
 * sealed by the database's secret box (secret_box.h):
 *   rtsp://admin:hsb1.<key id>.<nonce>.<ciphertext>.<tag>@host/path
 * The rest stays readable (user name, host and path are not secret, and an
 * operator can still see which camera a row is), and the stored URL masks
 * as before ("rtsp://admin:***@host/path"), so listing cameras decrypts
 * nothing. The additional data is the camera id, the field and the URL
 * without its password, so a sealed password moved to another camera or
 * pointed at another host or user does not open: credentials cannot be
 * redirected by editing the database.
 *
 * Writes seal (cameras.c: camera_params); reads return the stored form,
 * and only sto_camera_urls_open, which the supervisor calls when it starts
 * a camera's ingest, decrypts. A write of the same plain URL keeps the
 * stored sealed value (no new nonce), so saving a camera unchanged does not
 * look like a change to the supervisor. The authority ends at the first
 * '/', '?' or '#' after "scheme://", the userinfo at the last '@' before
 * it and the user name at its first ':', as cfg_mask_url reads it.
 *
 * sto_secrets_seal (secrets.c), through sto_camera_secrets_collect here,
 * is both the start-up migration (plain rows from before, or written by an
 * older binary, get sealed) and the rotation's re-encryption: every value
 * not under the primary key is opened and sealed again, all in one
 * transaction with the TOTP secrets (mfa_secrets.c), and each update only
 * applies when the row still holds the value read (a concurrent change
 * wins).
 *
 * Thread: any (reads on a reader, writes through the writer).
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finds the password of url: [*start, *start + *len), non-empty. */
static bool url_password(const char *url, size_t *start, size_t *len)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep)
        return false;
    const char *auth = sep + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++)
        if (auth[i] == '@')
            at = auth + i;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (!colon || colon + 1 == at)
        return false;
    *start = (size_t)(colon + 1 - url);
    *len = (size_t)(at - colon - 1);
    return true;
}

/* "camera <id> <field> <url without password>": what a sealed password is bound to. */
static char *url_aad(const char *id, const char *field, const char *url, size_t start, size_t len)
{
    return horus_asprintf("camera %s %s %.*s%s", id, field, (int)start, url, url + start + len);
}

/* url with [start, start + len) replaced by mid, as a new string. */
static char *url_splice(const char *url, size_t start, size_t len, const char *mid)
{
    return horus_asprintf("%.*s%s%s", (int)start, url, mid, url + start + len);
}

/* Whether url's password is in the sealed form. */
static bool is_sealed_at(const char *url, size_t start, size_t len)
{
    struct sto_secret_parts parts;
    return sto_secret_parse(url + start, len, &parts) == 0;
}

int sto_camera_url_open(const sto_secret_box *box, const char *id, const char *field,
                        const char *url, char **out)
{
    *out = NULL;
    size_t start, len;
    if (!url_password(url, &start, &len) || !is_sealed_at(url, start, len))
        return 0; /* plain (a password that only starts like the sealed form is plain too) */
    if (!box)
        return -ENOKEY;
    char *sealed = horus_strndup(url + start, len);
    char *aad = url_aad(id, field, url, start, len);
    char *plain = NULL;
    size_t plain_len = 0;
    int rc = sto_secret_open(box, sealed, aad, &plain, &plain_len);
    if (rc == 0) {
        *out = url_splice(url, start, len, plain);
        explicit_bzero(plain, plain_len);
    }
    free(plain);
    free(sealed);
    free(aad);
    return rc;
}

int sto_camera_url_seal(const sto_secret_box *box, const char *id, const char *field,
                        const char *url, const char *prev, char **out)
{
    *out = NULL;
    size_t start, len;
    if (!box || !url_password(url, &start, &len))
        return 0;
    int rc = 0;
    char *check = NULL;
    if (is_sealed_at(url, start, len)) {
        /* Sent back as read (a PATCH keeping the URL): keep it if it opens here. */
        rc = sto_camera_url_open(box, id, field, url, &check);
        if (check)
            explicit_bzero(check, strlen(check));
        free(check);
        return rc;
    }
    /* The same URL as stored: keep the stored value rather than a new nonce. */
    if (prev && sto_camera_url_open(box, id, field, prev, &check) == 0 && check &&
        strcmp(check, url) == 0) {
        *out = horus_strdup(prev);
    } else {
        char *plain = horus_strndup(url + start, len);
        char *aad = url_aad(id, field, url, start, len);
        char *sealed = NULL;
        rc = sto_secret_seal(box, plain, len, aad, &sealed);
        if (rc == 0)
            *out = url_splice(url, start, len, sealed);
        explicit_bzero(plain, len);
        free(plain);
        free(aad);
        free(sealed);
    }
    if (check)
        explicit_bzero(check, strlen(check));
    free(check);
    return rc;
}

int sto_camera_urls_open(sto_db *db, const struct sto_camera *c, char **url, char **sub_url)
{
    const sto_secret_box *box = sto_db_secrets(db);
    char *u = NULL, *s = NULL;
    int rc = sto_camera_url_open(box, c->id, "url", c->url ? c->url : "", &u);
    if (rc == 0)
        rc = sto_camera_url_open(box, c->id, "sub_url", c->sub_url ? c->sub_url : "", &s);
    if (rc < 0) {
        if (u)
            explicit_bzero(u, strlen(u));
        free(u);
        free(s);
        return rc;
    }
    *url = u ? u : horus_strdup(c->url ? c->url : "");
    *sub_url = s ? s : horus_strdup(c->sub_url ? c->sub_url : "");
    return 0;
}

/* ---- census and re-sealing, on raw rows ---- */

struct raw_camera {
    char *id, *url, *sub_url; /* owned */
};

struct raw_acc {
    struct raw_camera *items;
    size_t n, cap;
};

static int raw_row(const sto_value *c, size_t n, void *arg)
{
    struct raw_acc *acc = arg;
    if (n < 3)
        return HORUS_EDB;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->items = horus_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    struct raw_camera *r = &acc->items[acc->n++];
    r->id = sto_col_text(&c[0]);
    r->url = sto_col_text(&c[1]);
    r->sub_url = sto_col_text(&c[2]);
    return 0;
}

static void raw_free(struct raw_acc *acc)
{
    for (size_t i = 0; i < acc->n; i++) {
        free(acc->items[i].id);
        free(acc->items[i].url);
        free(acc->items[i].sub_url);
    }
    free(acc->items);
}

static int raw_read(sto_db *db, struct raw_acc *acc)
{
    return sto_read(db, "SELECT id, url, sub_url FROM cameras ORDER BY id", NULL, 0, raw_row, acc);
}

static void census_add(struct sto_secret_census *c, const char *url)
{
    size_t start, len;
    if (url_password(url, &start, &len))
        sto_secret_census_add_sealed(c, url + start, len);
}

int sto_camera_secrets_census_add(sto_db *db, struct sto_secret_census *out)
{
    struct raw_acc acc = {0};
    int rc = raw_read(db, &acc);
    for (size_t i = 0; rc == 0 && i < acc.n; i++) {
        census_add(out, acc.items[i].url);
        census_add(out, acc.items[i].sub_url);
    }
    raw_free(&acc);
    return rc;
}

/*
 * The value url should be stored as under box's primary key: *out NULL
 * when it already is (or has no password). Returns 0, or the open's error
 * with *why set.
 */
static int reseal_one(const sto_secret_box *box, const char *id, const char *field, const char *url,
                      char **out, char *why, size_t why_size)
{
    *out = NULL;
    size_t start, len;
    if (!url_password(url, &start, &len))
        return 0;
    struct sto_secret_parts parts;
    bool is_sealed = sto_secret_parse(url + start, len, &parts) == 0;
    if (is_sealed && strcmp(parts.key_id, sto_secret_box_key_id(box)) == 0)
        return 0;
    char *plain_url = NULL;
    int rc = is_sealed ? sto_camera_url_open(box, id, field, url, &plain_url) : 0;
    if (rc < 0) {
        snprintf(why, why_size, "camera '%s' %s: sealed under key id %s: %s", id, field,
                 parts.key_id,
                 rc == -ENOKEY ? "no such key" : "does not open (tampered, or another key)");
        return rc;
    }
    rc = sto_camera_url_seal(box, id, field, plain_url ? plain_url : url, NULL, out);
    if (plain_url) {
        explicit_bzero(plain_url, strlen(plain_url));
        free(plain_url);
    }
    return rc;
}

int sto_camera_secrets_collect(sto_db *db, const sto_secret_box *box, struct sto_reseal *batch,
                               char *why, size_t why_size)
{
    struct raw_acc acc = {0};
    int rc = raw_read(db, &acc);
    for (size_t i = 0; rc == 0 && i < acc.n; i++) {
        const struct raw_camera *r = &acc.items[i];
        for (int f = 0; rc == 0 && f < 2; f++) {
            const char *field = f == 0 ? "url" : "sub_url";
            const char *url = f == 0 ? r->url : r->sub_url;
            char *fresh = NULL;
            rc = reseal_one(box, r->id, field, url, &fresh, why, why_size);
            if (rc < 0 || !fresh)
                continue;
            sto_reseal_add(batch,
                           f == 0 ? "UPDATE cameras SET url = $2 WHERE id = $1 AND url = $3"
                                  : "UPDATE cameras SET sub_url = $2 WHERE id = $1 AND"
                                    " sub_url = $3",
                           r->id, fresh, url);
        }
    }
    raw_free(&acc);
    return rc;
}
