/*
 * DESIGN: `horus audit verify` (docs/design/0018-audit-chain.md). One pass
 * over the chain by ascending id, on one reader connection and in constant
 * memory, stopping at the first entry that is wrong:
 *
 *   - its id is not the previous id + 1 (the first is 1): removed;
 *   - its prev_hash is not the previous entry's hash: looked up once the
 *     pass stopped, it names an entry that comes later (reordered), an
 *     earlier one (the entries between were removed), or none (the entry
 *     was modified, or the one before it replaced);
 *   - its hash is not SHA-256(prev_hash || canonical form): modified.
 *
 * The chain alone cannot see its end cut off, nor a chain rewritten from
 * some entry on (SHA-256 has no key), which is what the heads in the log
 * are for: each head line names an id and its hash; the id must still be
 * there with that hash (else truncated, or rewritten).
 *
 * Reads only: it works beside a running daemon (WAL readers never block
 * the writer) and takes no lock. Thread: any.
 */
#include "audit.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- head lines ---- */

static bool is_hash(const char *s, size_t n)
{
    if (n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Decimal digits only, at most 18 of them (fits int64_t). */
static bool parse_id(const char *s, size_t n, int64_t *out)
{
    if (n == 0 || n > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int parse_json_line(const char *line, size_t len, struct auth_audit_head *out)
{
    json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    int found = 0;
    const char *module = json_string_value(json_object_get(j, "module"));
    json_t *id = json_object_get(j, "audit_head_id");
    json_t *hash = json_object_get(j, "audit_head_hash");
    if (json_is_object(j) && module && strcmp(module, "audit") == 0 && json_is_string(id) &&
        json_is_string(hash) && parse_id(json_string_value(id), json_string_length(id), &out->id) &&
        is_hash(json_string_value(hash), json_string_length(hash))) {
        memcpy(out->hash, json_string_value(hash), 64);
        out->hash[64] = '\0';
        found = 1;
    }
    json_decref(j);
    return found;
}

/* The next space-separated token of [*p, end) into (*tok, *tlen); false at the end. */
static bool next_token(const char **p, const char *end, const char **tok, size_t *tlen)
{
    while (*p < end && **p == ' ')
        (*p)++;
    if (*p >= end)
        return false;
    *tok = *p;
    while (*p < end && **p != ' ')
        (*p)++;
    *tlen = (size_t)(*p - *tok);
    return true;
}

/* "TS LEVEL audit audit_head_id=N audit_head_hash=H ...": fields come before the message. */
static int parse_text_line(const char *line, size_t len, struct auth_audit_head *out)
{
    const char *p = line, *end = line + len, *tok = NULL;
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        if (!next_token(&p, end, &tok, &n))
            return 0;
    if (n != 5 || memcmp(tok, "audit", 5) != 0)
        return 0;
    static const char kid[] = "audit_head_id=", khash[] = "audit_head_hash=";
    if (!next_token(&p, end, &tok, &n) || n <= sizeof(kid) - 1 ||
        memcmp(tok, kid, sizeof(kid) - 1) != 0 ||
        !parse_id(tok + sizeof(kid) - 1, n - (sizeof(kid) - 1), &out->id))
        return 0;
    if (!next_token(&p, end, &tok, &n) || n <= sizeof(khash) - 1 ||
        memcmp(tok, khash, sizeof(khash) - 1) != 0 ||
        !is_hash(tok + sizeof(khash) - 1, n - (sizeof(khash) - 1)))
        return 0;
    memcpy(out->hash, tok + sizeof(khash) - 1, 64);
    out->hash[64] = '\0';
    return 1;
}

int auth_audit_head_parse(const char *line, size_t len, struct auth_audit_head *out)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    struct auth_audit_head h = {0};
    int found =
        len > 0 && line[0] == '{' ? parse_json_line(line, len, &h) : parse_text_line(line, len, &h);
    if (found)
        *out = h;
    return found;
}

/* ---- the chain ---- */

enum walk_state { WALK_OK, WALK_GAP, WALK_LINK, WALK_HASH, WALK_FIRST };

struct walk {
    uint64_t n;
    int64_t prev_id;
    char prev_hash[STO_AUDIT_HASH_LEN];
    enum walk_state state;
    int64_t id; /* the entry where the walk stopped */
    int64_t expected_id;
    char bad_prev[STO_AUDIT_HASH_LEN]; /* its prev_hash (WALK_LINK) */
    bool own_hash_ok; /* WALK_LINK: whether its hash matches its own fields and prev_hash */
};

static int walk_row(void *arg, const struct sto_audit_entry *e)
{
    struct walk *w = arg;
    int64_t expected = w->n == 0 ? 1 : w->prev_id + 1;
    w->id = e->id;
    if (e->id != expected) {
        w->state = w->n == 0 ? WALK_FIRST : WALK_GAP;
        w->expected_id = expected;
        return 1;
    }
    char h[STO_AUDIT_HASH_LEN];
    sto_audit_hash(e, e->prev_hash, h);
    bool own_ok = strcmp(h, e->hash) == 0;
    if (strcmp(e->prev_hash, w->prev_hash) != 0) {
        w->state = WALK_LINK;
        snprintf(w->bad_prev, sizeof(w->bad_prev), "%.64s", e->prev_hash);
        w->own_hash_ok = own_ok;
        return 1;
    }
    if (!own_ok) {
        w->state = WALK_HASH;
        return 1;
    }
    w->n++;
    w->prev_id = e->id;
    snprintf(w->prev_hash, sizeof(w->prev_hash), "%.64s", e->hash);
    return 0;
}

static void describe(sto_db *db, const struct walk *w, struct auth_audit_verify_result *res)
{
    res->id = w->id;
    switch (w->state) {
    case WALK_OK:
        res->problem = AUTH_AUDIT_INTACT;
        res->id = 0;
        break;
    case WALK_FIRST:
        res->problem = AUTH_AUDIT_REMOVED;
        res->id = 1;
        snprintf(res->message, sizeof(res->message),
                 "entry 1 was removed: the chain starts at entry %" PRId64 " (entries 1..%" PRId64
                 " are missing)",
                 w->id, w->id - 1);
        break;
    case WALK_GAP:
        res->problem = AUTH_AUDIT_REMOVED;
        res->id = w->expected_id;
        snprintf(res->message, sizeof(res->message),
                 "entry %" PRId64 " was removed: ids jump from %" PRId64 " to %" PRId64,
                 w->expected_id, w->prev_id, w->id);
        break;
    case WALK_HASH:
        res->problem = AUTH_AUDIT_MODIFIED;
        snprintf(res->message, sizeof(res->message),
                 "entry %" PRId64 " was modified: its hash does not match its fields", w->id);
        break;
    case WALK_LINK: {
        int64_t other = 0;
        bool known = sto_audit_find_hash(db, w->bad_prev, &other) == 0;
        if (known && other >= w->id) {
            res->problem = AUTH_AUDIT_REORDERED;
            snprintf(res->message, sizeof(res->message),
                     "entry %" PRId64 " was reordered: it follows entry %" PRId64
                     ", which is stored after it",
                     w->id, other);
        } else if (known) {
            res->problem = AUTH_AUDIT_REMOVED;
            snprintf(res->message, sizeof(res->message),
                     "entry %" PRId64 " follows entry %" PRId64 ", not entry %" PRId64
                     ": the entries between were removed (and the ids renumbered)",
                     w->id, other, w->prev_id);
        } else if (!w->own_hash_ok) {
            res->problem = AUTH_AUDIT_MODIFIED;
            snprintf(res->message, sizeof(res->message),
                     "entry %" PRId64 " was modified: its prev_hash and hash match no entry",
                     w->id);
        } else {
            res->problem = AUTH_AUDIT_REMOVED;
            snprintf(res->message, sizeof(res->message),
                     "entry %" PRId64 " does not follow entry %" PRId64
                     ": the entry it followed was removed or replaced",
                     w->id, w->prev_id);
        }
        break;
    }
    }
}

/* Checks one logged head against the database; fills res and returns 1 on a mismatch. */
static int check_head(sto_db *db, const struct auth_audit_head *h, uint64_t line,
                      struct auth_audit_verify_result *res)
{
    if (h->id == 0)
        return 0; /* the chain was empty then */
    struct sto_audit_entry e;
    int rc = sto_audit_get(db, h->id, &e);
    if (rc == -ENOENT) {
        res->problem = AUTH_AUDIT_TRUNCATED;
        res->id = h->id;
        snprintf(res->message, sizeof(res->message),
                 "entry %" PRId64 " (the head logged at line %" PRIu64
                 ") is missing: the chain was truncated after entry %" PRId64,
                 h->id, line, res->last_id);
        return 1;
    }
    if (rc < 0)
        return rc;
    int bad = strcmp(e.hash, h->hash) != 0;
    if (bad) {
        res->problem = AUTH_AUDIT_REWRITTEN;
        res->id = h->id;
        snprintf(res->message, sizeof(res->message),
                 "entry %" PRId64 " has hash %.12s... but the head logged at line %" PRIu64
                 " says %.12s...: the chain was rewritten from entry %" PRId64 " or before",
                 h->id, e.hash, line, h->hash, h->id);
    }
    sto_audit_entry_release(&e);
    return bad;
}

int auth_audit_verify(sto_db *db, FILE *log, struct auth_audit_verify_result *res)
{
    memset(res, 0, sizeof(*res));
    struct walk w = {.prev_hash = STO_AUDIT_GENESIS};
    int rc = sto_audit_foreach(db, walk_row, &w);
    if (rc < 0) {
        snprintf(res->message, sizeof(res->message), "read the audit table: %s",
                 horus_strerror(rc));
        return rc;
    }
    res->entries = w.n;
    res->last_id = w.prev_id;
    snprintf(res->last_hash, sizeof(res->last_hash), "%s", w.prev_hash);
    describe(db, &w, res);
    if (res->problem != AUTH_AUDIT_INTACT || !log)
        return 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    while ((n = getline(&line, &cap, log)) >= 0) {
        lineno++;
        struct auth_audit_head h;
        if (!auth_audit_head_parse(line, (size_t)n, &h))
            continue;
        res->heads++;
        rc = check_head(db, &h, lineno, res);
        if (rc != 0)
            break;
    }
    free(line);
    if (rc < 0) {
        snprintf(res->message, sizeof(res->message), "read the audit table: %s",
                 horus_strerror(rc));
        return rc;
    }
    if (ferror(log)) {
        snprintf(res->message, sizeof(res->message), "read the log: %s", strerror(errno));
        return -EIO;
    }
    return 0;
}
