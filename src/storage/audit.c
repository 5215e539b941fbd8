/*
 * DESIGN: the audit repository, the only SQL of the audit chain
 * (docs/design/0018-audit-chain.md). Each row carries the hash of the row
 * before it and its own: hash = SHA-256(prev_hash || canonical form), so
 * editing, deleting or reordering a row breaks the chain at that row.
 *
 * Appends are computed writes (storage_int.h): the caller's thread only
 * copies the entry into the write queue; on "sto-w", inside the batch's
 * transaction, the entry gets id = head id + 1 and prev_hash = head hash,
 * its hash is computed and the row inserted. The head lives in memory
 * (sto_audit_chain, read from the last row at open) in two copies: the
 * transaction's (advanced by each insert that succeeded, writer thread
 * only) and the committed one (what sto_audit_head reports), reconciled by
 * the writer's tx-end hook: a commit makes the transaction's head the
 * committed one, a failed transaction rolls it back. Keeping the head in
 * memory rather than re-reading the last row also means that rows deleted
 * from the end of the table while the daemon runs leave a visible gap.
 * Other nodes sharing the database append too: each append locks, reads
 * the table's head and moves forward to it (follow_other_nodes).
 *
 * Lock order: chain->lock only, never held across I/O.
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_COLUMNS                                                                              \
    "id, time_us, actor_kind, actor_id, actor_name, tenant, client, action, target_kind,"          \
    " target_id, outcome, details, prev_hash, hash"
#define AUDIT_NCOLS 14

struct sto_audit_chain {
    pthread_mutex_t lock; /* guards committed_* */
    int64_t committed_id;
    char committed_hash[STO_AUDIT_HASH_LEN];
    /* Writer thread only (and the opener before the writer starts): */
    int64_t tx_id;
    char tx_hash[STO_AUDIT_HASH_LEN];
};

void sto_audit_entry_release(struct sto_audit_entry *e)
{
    if (!e)
        return;
    free(e->actor_kind);
    free(e->actor_id);
    free(e->actor_name);
    free(e->tenant);
    free(e->client);
    free(e->action);
    free(e->target_kind);
    free(e->target_id);
    free(e->outcome);
    free(e->details);
    free(e->prev_hash);
    free(e->hash);
    memset(e, 0, sizeof(*e));
}

void sto_audit_list_free(struct sto_audit_entry *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        sto_audit_entry_release(&list[i]);
    free(list);
}

/* ---- canonical form and hash ---- */

struct buf {
    char *p;
    size_t len, cap;
};

static void buf_put(struct buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap ? b->cap * 2 : 256;
        b->p = horus_realloc(b->p, b->cap);
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* One field: "<decimal length>:<bytes>;". */
static void put_field(struct buf *b, const char *s, size_t n)
{
    char len[24];
    int k = snprintf(len, sizeof(len), "%zu:", n);
    buf_put(b, len, (size_t)k);
    buf_put(b, s, n);
    buf_put(b, ";", 1);
}

static void put_text(struct buf *b, const char *s)
{
    put_field(b, s ? s : "", s ? strlen(s) : 0);
}

static void put_int(struct buf *b, int64_t v)
{
    char num[24];
    int k = snprintf(num, sizeof(num), "%" PRId64, v);
    put_field(b, num, (size_t)k);
}

void sto_audit_canonical(const struct sto_audit_entry *e, char **out, size_t *len)
{
    struct buf b = {0};
    put_text(&b, "horus-audit-v1");
    put_int(&b, e->id);
    put_int(&b, e->time_us);
    put_text(&b, e->actor_kind);
    put_text(&b, e->actor_id);
    put_text(&b, e->actor_name);
    put_text(&b, e->tenant);
    put_text(&b, e->client);
    put_text(&b, e->action);
    put_text(&b, e->target_kind);
    put_text(&b, e->target_id);
    put_text(&b, e->outcome);
    put_text(&b, e->details);
    *out = b.p;
    *len = b.len;
}

void sto_audit_hash(const struct sto_audit_entry *e, const char *prev_hash,
                    char out[STO_AUDIT_HASH_LEN])
{
    char *form;
    size_t len;
    sto_audit_canonical(e, &form, &len);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, prev_hash, strlen(prev_hash)) != 1 ||
        EVP_DigestUpdate(ctx, form, len) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
        mdlen != 32)
        HORUS_BUG("SHA-256 failed"); /* libcrypto without SHA-256 is not a runtime condition */
    EVP_MD_CTX_free(ctx);
    free(form);
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

/* ---- the chain head ---- */

struct head_row {
    int64_t id;
    char hash[STO_AUDIT_HASH_LEN];
};

static int head_row_cb(const sto_value *c, size_t n, void *arg)
{
    struct head_row *h = arg;
    if (n < 2 || c[0].type != STO_INT || c[1].type != STO_TEXT || c[1].len != 64)
        return HORUS_EDB;
    h->id = c[0].i;
    memcpy(h->hash, c[1].s, 64);
    h->hash[64] = '\0';
    return 0;
}

int sto_audit_chain_new(const struct sto_backend *be, sto_conn *conn, sto_audit_chain **out,
                        char **errmsg)
{
    struct head_row h = {.id = 0, .hash = STO_AUDIT_GENESIS};
    int rc = be->query(conn, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", NULL, 0,
                       head_row_cb, &h, errmsg);
    if (rc < 0) {
        if (errmsg && !*errmsg)
            *errmsg = horus_strdup("read the audit chain's head: the last row is malformed");
        return rc;
    }
    sto_audit_chain *c = horus_calloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->committed_id = c->tx_id = h.id;
    memcpy(c->committed_hash, h.hash, sizeof(h.hash));
    memcpy(c->tx_hash, h.hash, sizeof(h.hash));
    *out = c;
    return 0;
}

void sto_audit_chain_tx_end(bool is_committed, void *arg)
{
    sto_audit_chain *c = arg;
    pthread_mutex_lock(&c->lock);
    if (is_committed) {
        c->committed_id = c->tx_id;
        memcpy(c->committed_hash, c->tx_hash, sizeof(c->tx_hash));
    } else {
        c->tx_id = c->committed_id;
        memcpy(c->tx_hash, c->committed_hash, sizeof(c->tx_hash));
    }
    pthread_mutex_unlock(&c->lock);
}

void sto_audit_chain_free(sto_audit_chain *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void sto_audit_head(sto_db *db, int64_t *id, char hash[STO_AUDIT_HASH_LEN])
{
    sto_audit_chain *c = sto_db_audit_chain(db);
    pthread_mutex_lock(&c->lock);
    *id = c->committed_id;
    memcpy(hash, c->committed_hash, STO_AUDIT_HASH_LEN);
    pthread_mutex_unlock(&c->lock);
}

/* ---- append ---- */

/* A queued append: the entry's copy (owned) and the caller's callback. */
struct append_op {
    sto_audit_chain *chain; /* borrowed from the db */
    struct sto_audit_entry e; /* id, prev_hash and hash filled on the writer */
    sto_done_cb done_cb;
    void *arg;
};

static bool is_outcome(const char *s)
{
    return s && (strcmp(s, "ok") == 0 || strcmp(s, "denied") == 0 || strcmp(s, "failed") == 0);
}

/*
 * Several nodes on one database (docs/design/0064) append to one chain.
 * The append first upserts one settings row, which holds that row's lock
 * until the transaction ends (PostgreSQL; SQLite's writer lock already
 * serialises), then reads the table's head: when another node appended
 * past this node's head, the chain continues from there. A head below
 * this node's (rows deleted from the end) is not followed: the gap stays
 * visible, as with one node.
 */
/* A head row another node wrote: a malformed one is not followed (the insert then collides). */
static int followable_head_cb(const sto_value *c, size_t n, void *arg)
{
    struct head_row h;
    if (head_row_cb(c, n, &h) == 0)
        *(struct head_row *)arg = h;
    return 0;
}

static int follow_other_nodes(const struct sto_backend *be, sto_conn *conn, sto_audit_chain *c,
                              int64_t time_us)
{
    sto_value p[] = {STO_INT_V(time_us / 1000)};
    char *msg = NULL;
    int rc = be->query(conn,
                       "INSERT INTO settings(key, value, updated_at_ms) VALUES ('audit_append', '',"
                       " $1) ON CONFLICT(key) DO UPDATE SET updated_at_ms = excluded.updated_at_ms",
                       p, 1, NULL, NULL, &msg);
    struct head_row h = {.id = 0};
    if (rc == 0)
        rc = be->query(conn, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", NULL, 0,
                       followable_head_cb, &h, &msg);
    free(msg);
    if (rc == 0 && h.id > c->tx_id) {
        c->tx_id = h.id;
        memcpy(c->tx_hash, h.hash, sizeof(h.hash));
    }
    return rc;
}

/* Writer thread: chain the entry to the transaction's head and insert it. */
static int append_run(const struct sto_backend *be, sto_conn *conn, void *arg)
{
    struct append_op *op = arg;
    sto_audit_chain *c = op->chain;
    struct sto_audit_entry *e = &op->e;
    int rc = follow_other_nodes(be, conn, c, e->time_us);
    if (rc < 0)
        return rc;
    e->id = c->tx_id + 1;
    free(e->prev_hash);
    free(e->hash);
    e->prev_hash = horus_strdup(c->tx_hash);
    e->hash = horus_malloc(STO_AUDIT_HASH_LEN);
    sto_audit_hash(e, e->prev_hash, e->hash);
    sto_value p[] = {
        STO_INT_V(e->id),         STO_INT_V(e->time_us),     STO_TEXT_V(e->actor_kind),
        STO_TEXT_V(e->actor_id),  STO_TEXT_V(e->actor_name), STO_TEXT_V(e->tenant),
        STO_TEXT_V(e->client),    STO_TEXT_V(e->action),     STO_TEXT_V(e->target_kind),
        STO_TEXT_V(e->target_id), STO_TEXT_V(e->outcome),    STO_TEXT_V(e->details),
        STO_TEXT_V(e->prev_hash), STO_TEXT_V(e->hash),
    };
    char *msg = NULL;
    rc = be->query(conn,
                   "INSERT INTO audit(" AUDIT_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7,"
                   " $8, $9, $10, $11, $12, $13, $14)",
                   p, HORUS_ARRAY_LEN(p), NULL, NULL, &msg);
    free(msg);
    if (rc == 0) {
        c->tx_id = e->id;
        memcpy(c->tx_hash, e->hash, STO_AUDIT_HASH_LEN);
    }
    return rc;
}

static void append_done(int rc, void *arg)
{
    struct append_op *op = arg;
    if (op->done_cb)
        op->done_cb(rc, op->arg);
    sto_audit_entry_release(&op->e);
    free(op);
}

static char *dup_or(const char *s, const char *dflt)
{
    return horus_strdup(s ? s : dflt);
}

int sto_audit_append_async(sto_db *db, const struct sto_audit_input *in, sto_done_cb done_cb,
                           void *arg)
{
    if (!in->action || !in->action[0] || !is_outcome(in->outcome))
        return -EINVAL;
    struct append_op *op = horus_calloc(1, sizeof(*op));
    op->chain = sto_db_audit_chain(db);
    op->done_cb = done_cb;
    op->arg = arg;
    op->e = (struct sto_audit_entry){
        .time_us = in->time_us,
        .actor_kind = dup_or(in->actor_kind, ""),
        .actor_id = dup_or(in->actor_id, ""),
        .actor_name = dup_or(in->actor_name, ""),
        .tenant = dup_or(in->tenant, ""),
        .client = dup_or(in->client, ""),
        .action = dup_or(in->action, ""),
        .target_kind = dup_or(in->target_kind, ""),
        .target_id = dup_or(in->target_id, ""),
        .outcome = dup_or(in->outcome, ""),
        .details = dup_or(in->details && in->details[0] ? in->details : NULL, "{}"),
    };
    int rc = sto_writer_push_fn(sto_db_writer(db), append_run, append_done, op, true);
    if (rc < 0) {
        sto_audit_entry_release(&op->e);
        free(op);
    }
    return rc;
}

int sto_audit_sync(sto_db *db)
{
    /* Writes run in queue order: when this one is done, the ones before it are too. */
    return sto_write(db, "SELECT 1", NULL, 0);
}

/* ---- reads ---- */

static void row_to_entry(const sto_value *c, struct sto_audit_entry *e)
{
    e->id = sto_col_int(&c[0]);
    e->time_us = sto_col_int(&c[1]);
    e->actor_kind = sto_col_text(&c[2]);
    e->actor_id = sto_col_text(&c[3]);
    e->actor_name = sto_col_text(&c[4]);
    e->tenant = sto_col_text(&c[5]);
    e->client = sto_col_text(&c[6]);
    e->action = sto_col_text(&c[7]);
    e->target_kind = sto_col_text(&c[8]);
    e->target_id = sto_col_text(&c[9]);
    e->outcome = sto_col_text(&c[10]);
    e->details = sto_col_text(&c[11]);
    e->prev_hash = sto_col_text(&c[12]);
    e->hash = sto_col_text(&c[13]);
}

struct audit_acc {
    struct sto_audit_entry *items;
    size_t n, cap;
};

static int audit_row(const sto_value *c, size_t n, void *arg)
{
    struct audit_acc *acc = arg;
    if (n < AUDIT_NCOLS)
        return HORUS_EDB;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->items = horus_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    struct sto_audit_entry *e = &acc->items[acc->n++];
    memset(e, 0, sizeof(*e));
    row_to_entry(c, e);
    return 0;
}

/* The WHERE clause of f, numbering placeholders from 1; fills p[] (at most 10). */
static size_t filter_sql(const struct sto_audit_filter *f, struct buf *sql, sto_value *p,
                         char *prefix, size_t prefix_size)
{
    size_t np = 0;
    char frag[160];
    const char *sep = " WHERE ";
#define COND(fmt, ...)                                                                             \
    do {                                                                                           \
        int k_ = snprintf(frag, sizeof(frag), "%s" fmt, sep, __VA_ARGS__);                         \
        buf_put(sql, frag, (size_t)k_);                                                            \
        sep = " AND ";                                                                             \
    } while (0)
    if (f->has_from) {
        p[np++] = STO_INT_V(f->from_us);
        COND("time_us >= $%zu", np);
    }
    if (f->has_to) {
        p[np++] = STO_INT_V(f->to_us);
        COND("time_us < $%zu", np);
    }
    if (f->action && f->action[0]) {
        size_t n = strlen(f->action);
        if (n >= 2 && strcmp(f->action + n - 2, ".*") == 0 && n - 1 < prefix_size) {
            memcpy(prefix, f->action, n - 1); /* keeps the dot: "login." */
            prefix[n - 1] = '\0';
            p[np++] = STO_TEXT_V(prefix);
            p[np++] = STO_INT_V((int64_t)(n - 1));
            COND("substr(action, 1, CAST($%zu AS INTEGER)) = $%zu", np, np - 1);
        } else {
            p[np++] = STO_TEXT_V(f->action);
            COND("action = $%zu", np);
        }
    }
    if (f->actor && f->actor[0]) {
        p[np++] = STO_TEXT_V(f->actor);
        COND("(actor_id = $%zu OR actor_name = $%zu)", np, np);
    }
    if (f->target_kind && f->target_kind[0]) {
        p[np++] = STO_TEXT_V(f->target_kind);
        COND("target_kind = $%zu", np);
    }
    if (f->target_id && f->target_id[0]) {
        p[np++] = STO_TEXT_V(f->target_id);
        COND("target_id = $%zu", np);
    }
    if (f->outcome && f->outcome[0]) {
        p[np++] = STO_TEXT_V(f->outcome);
        COND("outcome = $%zu", np);
    }
    if (f->tenant) {
        p[np++] = STO_TEXT_V(f->tenant);
        COND("tenant = $%zu", np);
    }
    if (f->after_id > 0) {
        p[np++] = STO_INT_V(f->after_id);
        COND("id %s $%zu", f->oldest_first ? ">" : "<", np);
    }
#undef COND
    return np;
}

int sto_audit_list(sto_db *db, const struct sto_audit_filter *f, size_t limit,
                   struct sto_audit_entry **out, size_t *n, bool *has_more)
{
    struct buf sql = {0};
    buf_put(&sql, "SELECT " AUDIT_COLUMNS " FROM audit",
            strlen("SELECT " AUDIT_COLUMNS " FROM audit"));
    sto_value p[12];
    char prefix[128];
    size_t np = filter_sql(f, &sql, p, prefix, sizeof(prefix));
    /* One extra row says whether another page follows. */
    p[np++] = STO_INT_V((int64_t)limit + 1);
    char tail[64];
    int k = snprintf(tail, sizeof(tail), " ORDER BY id %s LIMIT $%zu",
                     f->oldest_first ? "ASC" : "DESC", np);
    buf_put(&sql, tail, (size_t)k);
    struct audit_acc acc = {0};
    int rc = sto_read_replica(db, sql.p, p, np, audit_row, &acc);
    free(sql.p);
    if (rc < 0) {
        sto_audit_list_free(acc.items, acc.n);
        return rc;
    }
    *out = acc.items;
    *n = acc.n;
    *has_more = *n > limit;
    if (*has_more) {
        sto_audit_entry_release(&(*out)[limit]);
        *n = limit;
    }
    return 0;
}

int sto_audit_get(sto_db *db, int64_t id, struct sto_audit_entry *out)
{
    struct audit_acc acc = {0};
    sto_value p[] = {STO_INT_V(id)};
    int rc =
        sto_read(db, "SELECT " AUDIT_COLUMNS " FROM audit WHERE id = $1", p, 1, audit_row, &acc);
    if (rc == 0 && acc.n == 0)
        rc = -ENOENT;
    if (rc == 0) {
        *out = acc.items[0];
        memset(&acc.items[0], 0, sizeof(acc.items[0]));
    }
    sto_audit_list_free(acc.items, acc.n);
    return rc;
}

struct foreach_ctx {
    sto_audit_cb cb;
    void *arg;
};

static int foreach_row(const sto_value *c, size_t n, void *arg)
{
    struct foreach_ctx *fc = arg;
    if (n < AUDIT_NCOLS)
        return HORUS_EDB;
    struct sto_audit_entry e;
    row_to_entry(c, &e);
    int rc = fc->cb(fc->arg, &e);
    sto_audit_entry_release(&e);
    return rc;
}

int sto_audit_foreach(sto_db *db, sto_audit_cb cb, void *arg)
{
    struct foreach_ctx fc = {cb, arg};
    return sto_read(db, "SELECT " AUDIT_COLUMNS " FROM audit ORDER BY id", NULL, 0, foreach_row,
                    &fc);
}

static int id_row(const sto_value *c, size_t n, void *arg)
{
    *(int64_t *)arg = n > 0 && c[0].type == STO_INT ? c[0].i : -1;
    return 0;
}

int sto_audit_find_hash(sto_db *db, const char *hash, int64_t *id)
{
    int64_t found = -1;
    sto_value p[] = {STO_TEXT_V(hash)};
    int rc = sto_read(db, "SELECT MIN(id) FROM audit WHERE hash = $1", p, 1, id_row, &found);
    if (rc < 0)
        return rc;
    if (found < 0)
        return -ENOENT;
    *id = found;
    return 0;
}
