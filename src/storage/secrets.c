/*
 * DESIGN: every secret at rest under the box's primary key (docs/design
 * 0019). The census and the re-sealing walk both kinds of sealed values,
 * camera URL passwords (camera_secrets.c) and TOTP secrets
 * (mfa_secrets.c), and the re-sealing writes them in ONE transaction, so a
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

int sto_secrets_census(sto_db *db, struct sto_secret_census *out)
{
    memset(out, 0, sizeof(*out));
    int rc = sto_camera_secrets_census_add(db, out);
    if (rc == 0)
        rc = sto_mfa_secrets_census_add(db, out);
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
