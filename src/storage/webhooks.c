/*
 * DESIGN: webhook targets and dead letters (docs/design/0049-webhooks.md;
 * migration 0019). A target's HMAC key is a secret at rest: sealed by the
 * database's secret box with additional data "webhook <id>" (so a sealed
 * key copied to another target does not open), "plain:<key>" when no box
 * is set, "" when the target is unsigned; re-sealed on rotation with the
 * other keyed secrets (secrets.c). A target's place in the outbox is the
 * cursor "webhook:<id>": deleting the target deletes the cursor in the
 * same transaction, so a deleted target never holds outbox rows back.
 * Moving a message to the dead letters and stepping the cursor past it is
 * one transaction too: a crash between the two cannot deliver it again
 * nor lose it.
 *
 * Thread: any but the writer (writes wait for it); reads on a reader.
 */
#include "storage_int.h"

#include "clock.h"
#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAIN_PREFIX "plain:"
#define WEBHOOK_COLUMNS                                                                            \
    "id, url, secret, cameras, labels, types, enabled, timeout_ms, max_attempts, tenant,"          \
    " created_at_ms, updated_at_ms"

static int64_t now_ms(sto_db *db)
{
    return clock_realtime_ms(sto_db_clock(db));
}

void sto_webhook_release(struct sto_webhook *w)
{
    if (!w)
        return;
    free(w->id);
    free(w->url);
    if (w->secret)
        explicit_bzero(w->secret, strlen(w->secret));
    free(w->secret);
    free(w->cameras);
    free(w->labels);
    free(w->types);
    free(w->tenant);
    memset(w, 0, sizeof(*w));
}

static void webhook_decode(const struct sto_list_kind *kind, const sto_value *c, size_t n,
                           void *item)
{
    (void)kind;
    (void)n;
    struct sto_webhook *w = item;
    w->id = sto_col_text(&c[0]);
    w->url = sto_col_text(&c[1]);
    w->secret = sto_col_text(&c[2]);
    w->cameras = sto_col_text(&c[3]);
    w->labels = sto_col_text(&c[4]);
    w->types = sto_col_text(&c[5]);
    w->enabled = sto_col_int(&c[6]) != 0;
    w->timeout_ms = sto_col_int(&c[7]);
    w->max_attempts = sto_col_int(&c[8]);
    w->tenant = sto_col_text(&c[9]);
    w->created_at_ms = sto_col_int(&c[10]);
    w->updated_at_ms = sto_col_int(&c[11]);
}

static void webhook_release_item(const struct sto_list_kind *kind, void *item)
{
    (void)kind;
    sto_webhook_release(item);
}

static const struct sto_list_kind webhook_kind = {
    .size = sizeof(struct sto_webhook),
    .min_cols = 12,
    .decode = webhook_decode,
    .release = webhook_release_item,
};

void sto_webhook_list_free(struct sto_webhook *list, size_t n)
{
    sto_list_free(&webhook_kind, list, n);
}

/* ---- the key at rest ---- */

static char *webhook_aad(const char *id)
{
    return horus_asprintf("webhook %s", id);
}

static int secret_seal(const sto_secret_box *box, const char *id, const char *plain, char **out)
{
    *out = NULL;
    if (!plain || !plain[0]) {
        *out = horus_strdup("");
        return 0;
    }
    char *aad = webhook_aad(id);
    int rc = sto_text_seal(box, aad, PLAIN_PREFIX, plain, out);
    free(aad);
    return rc;
}

static int secret_open(const sto_secret_box *box, const char *id, const char *stored, char **out)
{
    *out = NULL;
    if (!stored[0]) {
        *out = horus_strdup("");
        return 0;
    }
    char *aad = webhook_aad(id);
    int rc = sto_text_open(box, aad, PLAIN_PREFIX, stored, out);
    free(aad);
    return rc == -EINVAL ? -EBADMSG : rc; /* not a key this build stored */
}

int sto_webhook_secret_open(sto_db *db, const struct sto_webhook *w, char **out)
{
    return secret_open(sto_db_secrets(db), w->id, w->secret ? w->secret : "", out);
}

static const struct sto_keyed_secrets webhook_rows = {
    .select_sql = "SELECT id, secret FROM webhooks ORDER BY id",
    .update_sql = "UPDATE webhooks SET secret = $2 WHERE id = $1 AND secret = $3",
    .plain_prefix = PLAIN_PREFIX,
    .owner = "webhook",
    .what = "key",
    .open = secret_open,
    .seal = secret_seal,
};

int sto_webhook_secrets_census_add(sto_db *db, struct sto_secret_census *c)
{
    return sto_keyed_secrets_census_add(db, &webhook_rows, c);
}

int sto_webhook_secrets_collect(sto_db *db, const sto_secret_box *box, struct sto_reseal *batch,
                                char *why, size_t why_size)
{
    return sto_keyed_secrets_collect(db, box, &webhook_rows, batch, why, why_size);
}

/* ---- targets ---- */

int sto_webhook_get(sto_db *db, const char *id, struct sto_webhook *out)
{
    sto_value p[] = {STO_TEXT_V(id)};
    return sto_read_one(db, "SELECT " WEBHOOK_COLUMNS " FROM webhooks WHERE id = $1", p, 1,
                        &webhook_kind, out);
}

int sto_webhook_list(sto_db *db, const char *tenant, struct sto_webhook **out, size_t *n)
{
    sto_value p[] = {STO_TEXT_V(tenant ? tenant : "")};
    return sto_read_list(db,
                         tenant ? "SELECT " WEBHOOK_COLUMNS " FROM webhooks WHERE tenant = $1"
                                  " ORDER BY id"
                                : "SELECT " WEBHOOK_COLUMNS " FROM webhooks ORDER BY id",
                         p, tenant ? 1 : 0, &webhook_kind, (void **)out, n);
}

/* Writes w (insert or update) with its key sealed; keep_secret: update without touching it. */
static int webhook_write(sto_db *db, const struct sto_webhook_input *w, bool is_insert)
{
    if (!w->id || !w->id[0] || !w->url)
        return -EINVAL;
    char *sealed = NULL;
    bool keep_secret = !is_insert && !w->secret;
    if (!keep_secret) {
        int rc = secret_seal(sto_db_secrets(db), w->id, w->secret, &sealed);
        if (rc < 0)
            return rc;
    }
    int64_t now = now_ms(db);
    sto_value p[] = {
        STO_TEXT_V(w->id),
        STO_TEXT_V(w->url),
        STO_TEXT_V(sealed ? sealed : ""),
        STO_TEXT_V(w->cameras ? w->cameras : "[]"),
        STO_TEXT_V(w->labels ? w->labels : "[]"),
        STO_TEXT_V(w->types ? w->types : "[]"),
        STO_INT_V(w->enabled ? 1 : 0),
        STO_INT_V(w->timeout_ms),
        STO_INT_V(w->max_attempts),
        STO_TEXT_V(w->tenant ? w->tenant : ""),
        STO_INT_V(now),
    };
    int rc;
    if (is_insert) {
        struct sto_webhook cur;
        if (sto_webhook_get(db, w->id, &cur) == 0) {
            sto_webhook_release(&cur);
            free(sealed);
            return -EEXIST;
        }
        rc = sto_write(db,
                       "INSERT INTO webhooks(id, url, secret, cameras, labels, types, enabled,"
                       " timeout_ms, max_attempts, tenant, created_at_ms, updated_at_ms) VALUES"
                       " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
                       p, HORUS_ARRAY_LEN(p));
        if (rc == -EEXIST || rc == HORUS_EDB) { /* lost a race with another insert */
            struct sto_webhook again;
            if (sto_webhook_get(db, w->id, &again) == 0) {
                sto_webhook_release(&again);
                rc = -EEXIST;
            }
        }
    } else {
        struct sto_webhook cur;
        rc = sto_webhook_get(db, w->id, &cur);
        if (rc == 0) {
            sto_webhook_release(&cur);
            /* Only the parameters each statement names: $3 is the key, when it changes. */
            sto_value u[] = {p[0], p[1], p[3], p[4], p[5], p[6], p[7], p[8], p[10], p[2]};
            rc = sto_write(db,
                           keep_secret
                               ? "UPDATE webhooks SET url = $2, cameras = $3, labels = $4,"
                                 " types = $5, enabled = $6, timeout_ms = $7, max_attempts = $8,"
                                 " updated_at_ms = $9 WHERE id = $1"
                               : "UPDATE webhooks SET url = $2, cameras = $3, labels = $4,"
                                 " types = $5, enabled = $6, timeout_ms = $7, max_attempts = $8,"
                                 " updated_at_ms = $9, secret = $10 WHERE id = $1",
                           u, keep_secret ? 9 : 10);
        }
    }
    if (sealed) {
        explicit_bzero(sealed, strlen(sealed));
        free(sealed);
    }
    return rc;
}

int sto_webhook_insert(sto_db *db, const struct sto_webhook_input *w)
{
    return webhook_write(db, w, true);
}

int sto_webhook_update(sto_db *db, const struct sto_webhook_input *w)
{
    return webhook_write(db, w, false);
}

int sto_webhook_delete(sto_db *db, const char *id)
{
    struct sto_webhook cur;
    int rc = sto_webhook_get(db, id, &cur);
    if (rc < 0)
        return rc;
    sto_webhook_release(&cur);
    char consumer[16 + STO_WEBHOOK_ID_MAX];
    snprintf(consumer, sizeof(consumer), "webhook:%s", id);
    sto_value p[] = {STO_TEXT_V(id)};
    sto_value pc[] = {STO_TEXT_V(consumer)};
    const struct sto_stmt st[] = {
        {"DELETE FROM webhook_dead_letters WHERE webhook_id = $1", p, 1},
        {"DELETE FROM webhooks WHERE id = $1", p, 1},
        {"DELETE FROM outbox_cursors WHERE consumer = $1", pc, 1},
    };
    return sto_write_batch(db, st, HORUS_ARRAY_LEN(st));
}

/* ---- dead letters ---- */

#define DEAD_COLUMNS                                                                               \
    "webhook_id, seq, kind, type, camera_id, payload, attempts, last_error, failed_at_ms"

void sto_dead_letter_release(struct sto_dead_letter *d)
{
    if (!d)
        return;
    free(d->webhook_id);
    free(d->kind);
    free(d->type);
    free(d->camera_id);
    free(d->payload);
    free(d->last_error);
    memset(d, 0, sizeof(*d));
}

static void dead_decode(const struct sto_list_kind *kind, const sto_value *c, size_t n, void *item)
{
    (void)kind;
    (void)n;
    struct sto_dead_letter *d = item;
    d->webhook_id = sto_col_text(&c[0]);
    d->seq = sto_col_int(&c[1]);
    d->kind = sto_col_text(&c[2]);
    d->type = sto_col_text(&c[3]);
    d->camera_id = sto_col_text(&c[4]);
    d->payload = sto_col_text(&c[5]);
    d->attempts = sto_col_int(&c[6]);
    d->last_error = sto_col_text(&c[7]);
    d->failed_at_ms = sto_col_int(&c[8]);
}

static void dead_release_item(const struct sto_list_kind *kind, void *item)
{
    (void)kind;
    sto_dead_letter_release(item);
}

static const struct sto_list_kind dead_kind = {
    .size = sizeof(struct sto_dead_letter),
    .min_cols = 9,
    .decode = dead_decode,
    .release = dead_release_item,
};

void sto_dead_letter_list_free(struct sto_dead_letter *list, size_t n)
{
    sto_list_free(&dead_kind, list, n);
}

int sto_dead_letter_add(sto_db *db, const char *id, const struct sto_dead_letter *m)
{
    if (!id || !m->kind || !m->type || !m->camera_id || !m->payload)
        return -EINVAL;
    char consumer[16 + STO_WEBHOOK_ID_MAX];
    snprintf(consumer, sizeof(consumer), "webhook:%s", id);
    int64_t now = now_ms(db);
    sto_value p[] = {
        STO_TEXT_V(id),           STO_INT_V(m->seq),
        STO_TEXT_V(m->kind),      STO_TEXT_V(m->type),
        STO_TEXT_V(m->camera_id), STO_TEXT_V(m->payload),
        STO_INT_V(m->attempts),   STO_TEXT_V(m->last_error ? m->last_error : ""),
        STO_INT_V(now),
    };
    sto_value pc[] = {STO_TEXT_V(consumer), STO_INT_V(m->seq), STO_INT_V(now), STO_TEXT_V(id)};
    const struct sto_stmt st[] = {
        {"INSERT INTO webhook_dead_letters(" DEAD_COLUMNS ") SELECT $1, $2, $3, $4, $5, $6, $7,"
         " $8, $9 WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = $1) ON CONFLICT"
         " (webhook_id, seq) DO NOTHING",
         p, HORUS_ARRAY_LEN(p)},
        {"INSERT INTO outbox_cursors(consumer, seq, updated_ms) SELECT $1, $2, $3 WHERE EXISTS"
         " (SELECT 1 FROM webhooks WHERE id = $4) ON CONFLICT (consumer) DO UPDATE SET"
         " seq = excluded.seq, updated_ms = excluded.updated_ms",
         pc, HORUS_ARRAY_LEN(pc)},
    };
    return sto_write_batch(db, st, HORUS_ARRAY_LEN(st));
}

int sto_dead_letter_list(sto_db *db, const char *id, size_t limit, struct sto_dead_letter **out,
                         size_t *n)
{
    sto_value p[] = {STO_TEXT_V(id), STO_INT_V((int64_t)limit)};
    return sto_read_list(db,
                         "SELECT " DEAD_COLUMNS " FROM webhook_dead_letters WHERE webhook_id = $1"
                         " ORDER BY seq LIMIT $2",
                         p, 2, &dead_kind, (void **)out, n);
}

int sto_dead_letter_get(sto_db *db, const char *id, int64_t seq, struct sto_dead_letter *out)
{
    sto_value p[] = {STO_TEXT_V(id), STO_INT_V(seq)};
    return sto_read_one(db,
                        "SELECT " DEAD_COLUMNS " FROM webhook_dead_letters WHERE webhook_id = $1"
                        " AND seq = $2",
                        p, 2, &dead_kind, out);
}

static int count_row(const sto_value *c, size_t n, void *arg)
{
    if (n < 1)
        return HORUS_EDB;
    *(int64_t *)arg = sto_col_int(&c[0]);
    return 0;
}

int sto_dead_letter_count(sto_db *db, const char *id, int64_t *n)
{
    *n = 0;
    sto_value p[] = {STO_TEXT_V(id)};
    return sto_read(db, "SELECT COUNT(*) FROM webhook_dead_letters WHERE webhook_id = $1", p, 1,
                    count_row, n);
}

int sto_dead_letter_delete(sto_db *db, const char *id, int64_t seq)
{
    sto_value p[] = {STO_TEXT_V(id), STO_INT_V(seq)};
    return sto_write(db, "DELETE FROM webhook_dead_letters WHERE webhook_id = $1 AND seq = $2", p,
                     2);
}
