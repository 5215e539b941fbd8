/*
 * DESIGN: every secret at rest under the box's primary key (docs/design
 * 0019). The census and the re-sealing walk every kind of sealed value,
 * camera URL passwords (camera_secrets.c), TOTP secrets (mfa_secrets.c),
 * webhook keys (webhooks.c) and RTSP Digest secrets (rtsp_digests.c): the
 * last three through one walker of
 * keyed secret columns below; and the re-sealing writes them in ONE transaction, so a
 * rotation commits all of them under the new key or none: a crash never
 * leaves some secrets under a key that the settled key file lacks.
 *
 * Thread: main, writer started (sto_secrets_seal); any (the rest).
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sto_secret_census_add_sealed(struct sto_secret_census *c, const char *s, size_t len)
{
    struct sto_secret_parts parts;
    if (sto_secret_parse(s, len, &parts) < 0) {
        c->plain++;
        return;
    }
    c->sealed++;
    for (size_t i = 0; i < c->nkey_ids; i++)
        if (strcmp(c->key_ids[i], parts.key_id) == 0)
            return;
    if (c->nkey_ids < HORUS_ARRAY_LEN(c->key_ids))
        memcpy(c->key_ids[c->nkey_ids++], parts.key_id, sizeof(parts.key_id));
}

void sto_reseal_add(struct sto_reseal *r, const char *sql, const char *key, char *fresh,
                    const char *old)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->items = horus_realloc(r->items, r->cap * sizeof(*r->items));
    }
    r->items[r->n++] = (struct sto_reseal_item){
        .sql = sql, .key = horus_strdup(key), .fresh = fresh, .old = horus_strdup(old)};
}

void sto_reseal_free(struct sto_reseal *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].key);
        free(r->items[i].fresh);
        explicit_bzero(r->items[i].old, strlen(r->items[i].old));
        free(r->items[i].old);
    }
    free(r->items);
    memset(r, 0, sizeof(*r));
}

/* ---- keyed secret columns (TOTP secrets, webhook keys) ---- */

int sto_text_seal(const sto_secret_box *box, const char *aad, const char *plain_prefix,
                  const char *plain, char **out)
{
    *out = NULL;
    if (!box) {
        *out = horus_asprintf("%s%s", plain_prefix, plain);
        return 0;
    }
    return sto_secret_seal(box, plain, strlen(plain), aad, out);
}

int sto_text_open(const sto_secret_box *box, const char *aad, const char *plain_prefix,
                  const char *stored, char **out)
{
    *out = NULL;
    size_t pre = strlen(plain_prefix);
    if (strncmp(stored, plain_prefix, pre) == 0) {
        *out = horus_strdup(stored + pre);
        return 0;
    }
    if (!sto_secret_is_sealed(stored))
        return -EINVAL;
    if (!box)
        return -ENOKEY;
    size_t len = 0;
    int rc = sto_secret_open(box, stored, aad, out, &len);
    if (rc == HORUS_EPARSE)
        rc = -EINVAL;
    if (rc == 0 && strlen(*out) != len) { /* a NUL inside: no text this build sealed */
        explicit_bzero(*out, len);
        free(*out);
        *out = NULL;
        rc = -EINVAL;
    }
    return rc;
}

struct raw_secret {
    char *key, *secret; /* owned */
};

struct raw_acc {
    struct raw_secret *items;
    size_t n, cap;
};

static int raw_row(const sto_value *c, size_t n, void *arg)
{
    struct raw_acc *acc = arg;
    if (n < 2)
        return HORUS_EDB;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->items = horus_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    struct raw_secret *r = &acc->items[acc->n++];
    r->key = sto_col_text(&c[0]);
    r->secret = sto_col_text(&c[1]);
    return 0;
}

static void raw_free(struct raw_acc *acc)
{
    for (size_t i = 0; i < acc->n; i++) {
        free(acc->items[i].key);
        if (acc->items[i].secret)
            explicit_bzero(acc->items[i].secret, strlen(acc->items[i].secret));
        free(acc->items[i].secret);
    }
    free(acc->items);
}

int sto_keyed_secrets_census_add(sto_db *db, const struct sto_keyed_secrets *k,
                                 struct sto_secret_census *census)
{
    struct raw_acc acc = {0};
    int rc = sto_read(db, k->select_sql, NULL, 0, raw_row, &acc);
    for (size_t i = 0; rc == 0 && i < acc.n; i++) {
        const char *s = acc.items[i].secret ? acc.items[i].secret : "";
        if (!s[0])
            continue; /* none */
        if (strncmp(s, k->plain_prefix, strlen(k->plain_prefix)) == 0)
            census->plain++;
        else
            sto_secret_census_add_sealed(census, s, strlen(s));
    }
    raw_free(&acc);
    return rc;
}

int sto_keyed_secrets_collect(sto_db *db, const sto_secret_box *box,
                              const struct sto_keyed_secrets *k, struct sto_reseal *batch,
                              char *why, size_t why_size)
{
    struct raw_acc acc = {0};
    int rc = sto_read(db, k->select_sql, NULL, 0, raw_row, &acc);
    for (size_t i = 0; rc == 0 && i < acc.n; i++) {
        const struct raw_secret *r = &acc.items[i];
        const char *s = r->secret ? r->secret : "";
        struct sto_secret_parts parts;
        bool is_sealed = sto_secret_parse(s, strlen(s), &parts) == 0;
        if (!s[0] || (is_sealed && strcmp(parts.key_id, sto_secret_box_key_id(box)) == 0))
            continue; /* none, or already under the primary key */
        if (!is_sealed && strncmp(s, k->plain_prefix, strlen(k->plain_prefix)) != 0)
            continue; /* a form this build does not know: left as is */
        char what[160];
        snprintf(what, sizeof(what), "%s '%s' %s", k->owner, r->key, k->what);
        char *plain = NULL, *fresh = NULL;
        rc = k->open(box, r->key, s, &plain);
        if (rc < 0) {
            snprintf(why, why_size, "%s: sealed under key id %s: %s", what, parts.key_id,
                     rc == -ENOKEY ? "no such key" : "does not open (tampered, or another key)");
            break;
        }
        rc = k->seal(box, r->key, plain, &fresh);
        explicit_bzero(plain, strlen(plain));
        free(plain);
        if (rc < 0) {
            snprintf(why, why_size, "%s: seal: %s", what, horus_strerror(rc));
            break;
        }
        sto_reseal_add(batch, k->update_sql, r->key, fresh, s);
    }
    raw_free(&acc);
    return rc;
}

int sto_secrets_census(sto_db *db, struct sto_secret_census *out)
{
    memset(out, 0, sizeof(*out));
    int rc = sto_camera_secrets_census_add(db, out);
    if (rc == 0)
        rc = sto_mfa_secrets_census_add(db, out);
    if (rc == 0)
        rc = sto_webhook_secrets_census_add(db, out);
    if (rc == 0)
        rc = sto_rtsp_digests_census_add(db, out);
    return rc;
}

int sto_secrets_seal(sto_db *db, size_t *changed, char *why, size_t why_size)
{
    *changed = 0;
    why[0] = '\0';
    const sto_secret_box *box = sto_db_secrets(db);
    if (!box) {
        snprintf(why, why_size, "no secret box set");
        return -ENOKEY;
    }
    struct sto_reseal batch = {0};
    int rc = sto_camera_secrets_collect(db, box, &batch, why, why_size);
    if (rc == 0)
        rc = sto_mfa_secrets_collect(db, box, &batch, why, why_size);
    if (rc == 0)
        rc = sto_webhook_secrets_collect(db, box, &batch, why, why_size);
    if (rc == 0)
        rc = sto_rtsp_digests_collect(db, box, &batch, why, why_size);
    if (rc == 0 && batch.n > 0) {
        struct sto_stmt *st = horus_calloc(batch.n, sizeof(*st));
        sto_value(*params)[3] = horus_calloc(batch.n, sizeof(*params));
        for (size_t i = 0; i < batch.n; i++) {
            params[i][0] = STO_TEXT_V(batch.items[i].key);
            params[i][1] = STO_TEXT_V(batch.items[i].fresh);
            params[i][2] = STO_TEXT_V(batch.items[i].old);
            st[i] = (struct sto_stmt){batch.items[i].sql, params[i], 3};
        }
        rc = sto_write_batch(db, st, batch.n);
        if (rc < 0)
            snprintf(why, why_size, "write the sealed secrets: %s", horus_strerror(rc));
        free(params);
        free(st);
    }
    if (rc == 0)
        *changed = batch.n;
    sto_reseal_free(&batch);
    return rc;
}
