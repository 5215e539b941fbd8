/*
 * Private to the configuration engine (cfg.c, cfg_yaml.c, cfg_value.c,
 * cfg_json.c). Never included from outside src/cfg.
 */
#ifndef HORUS_CFG_INT_H
#define HORUS_CFG_INT_H

#include "cfg.h"

#include <stdarg.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- arena: many small allocations freed at once (cfg_yaml.c) ---- */

typedef struct cfg_arena_chunk cfg_arena_chunk;

typedef struct cfg_arena {
    cfg_arena_chunk *head; /* owned list, newest first */
    size_t used; /* bytes used in head */
    size_t cap; /* bytes available in head */
} cfg_arena;

void cfg_arena_init(cfg_arena *a);
void cfg_arena_release(cfg_arena *a);
/* Returns zeroed memory owned by the arena, aligned for any type. */
void *cfg_arena_alloc(cfg_arena *a, size_t size);
/* Returns a NUL-terminated copy of s[0..len) owned by the arena. */
char *cfg_arena_strndup(cfg_arena *a, const char *s, size_t len);

/* ---- YAML node tree (cfg_yaml.c) ---- */

enum cfg_node_kind {
    CFG_NODE_SCALAR,
    CFG_NODE_MAP,
    CFG_NODE_SEQ,
};

typedef struct cfg_node cfg_node;

struct cfg_node {
    enum cfg_node_kind kind;
    int line, col; /* 1-based */
    /* scalar */
    const char *text; /* NUL-terminated; may also hold NUL bytes before len */
    size_t len;
    bool is_plain; /* unquoted, so "~", "null" and "" mean null */
    /* map: items[2*i] is a key, items[2*i+1] its value; seq: items[i] */
    cfg_node **items;
    size_t n_items; /* map: number of pairs; seq: number of items */
};

/*
 * Parses text into a tree allocated in arena. *root is NULL for a stream
 * without a document or with an empty document. Reports syntax errors and
 * limits through errs (with e->file as the name) and returns HORUS_EPARSE.
 */
int cfg_yaml_parse(const char *text, size_t len, cfg_arena *arena, cfg_node **root,
                   cfg_errors *errs);

/* True for a plain "", "~", "null", "Null" or "NULL" scalar. */
bool cfg_node_is_null(const cfg_node *n);
/* "a mapping", "a list", "a value" for messages. */
const char *cfg_node_kind_name(const cfg_node *n);

/* ---- scalar values (cfg_value.c) ---- */

/* Each returns 0, or -EINVAL for bad syntax, -ERANGE when out of the type's range. */
int cfg_parse_int(const char *s, int64_t *out);
int cfg_parse_bool(const char *s, bool *out);
int cfg_parse_enum(const char *s, const char *const *names, int *out);
int cfg_parse_bytes(const char *s, uint64_t *out);
int cfg_parse_duration_ms(const char *s, int64_t *out);
int cfg_parse_double(const char *s, double *out);

/* "500GiB" when exact in a binary unit, else a plain number of bytes. */
void cfg_format_bytes(uint64_t v, char *buf, size_t size);
/* "14d", "2h", "5m", "10s" when exact, else "250ms". Parses back. */
void cfg_format_duration_ms(int64_t ms, char *buf, size_t size);

/* The text of one scalar after ${NAME} and file: references are resolved. */
typedef struct cfg_expanded {
    char *text; /* new; NUL-terminated */
    size_t len; /* strlen(text) */
    char *masked; /* new: text with each resolved reference as "***"; NULL without refs */
    bool is_file; /* the whole value came from a file */
    char **secrets; /* new: resolved text of each reference */
    size_t n_secrets;
} cfg_expanded;

/*
 * Resolves references in raw[0..len). base_dir (may be NULL) anchors
 * relative file: paths. Returns 0, or -EINVAL with a reason in err.
 */
int cfg_expand(const char *raw, size_t len, const char *base_dir, cfg_expanded *out, char *err,
               size_t err_size);
void cfg_expanded_release(cfg_expanded *x);

/*
 * Finds the password in the userinfo of a URL inside s ("scheme://user:PASS@host").
 * Returns true and its span, or false when there is none (cfg_json.c).
 */
bool cfg_url_password(const char *s, size_t *start, size_t *len);

/* ---- snapshot internals shared by cfg.c, cfg_snapshot.c and cfg_json.c ---- */

/* Where one scalar field's value came from, for messages after parsing. */
typedef struct cfg_pos {
    const void *addr; /* the field inside the snapshot's data */
    const char *path; /* owned by the snapshot's arena */
    int line, col; /* 0 when the value is a default */
} cfg_pos;

/* A string field whose printable form differs from its value. */
typedef struct cfg_masked {
    const char *value; /* the field's char *, borrowed from the arena */
    const char *masked; /* owned by the arena */
} cfg_masked;

struct cfg_snapshot {
    atomic_size_t refs;
    const cfg_schema *schema; /* borrowed: static */
    cfg_arena arena; /* data, strings, paths */
    void *data; /* in arena */
    char *path; /* in arena; NULL for defaults */
    char **secrets; /* owned array, NULL-terminated; strings in arena */
    unsigned n_secrets;
    cfg_masked *masked; /* owned array */
    size_t n_masked;
    cfg_pos *pos; /* owned array, sorted by addr once loaded */
    size_t n_pos;
};

/* A new snapshot (one reference) with zeroed data of schema's size, for a load to fill. */
cfg_snapshot *cfg_snapshot_new_empty(const cfg_schema *schema, const char *path);
/* Frees a snapshot whatever its references: a load that failed half-way. */
void cfg_snapshot_destroy(cfg_snapshot *s);
/* Orders cfg_pos by addr, cfg_masked by value (the load sorts them; lookups bsearch). */
int cfg_pos_compare(const void *a, const void *b);
int cfg_masked_compare(const void *a, const void *b);
/* The entry for a scalar field's address, or NULL. */
const cfg_pos *cfg_snapshot_pos(const cfg_snapshot *s, const void *addr);
/* The printable form of a string field's value, or NULL when it is the value itself. */
const char *cfg_snapshot_masked(const cfg_snapshot *s, const char *value);

/* cfg_errors_add with a va_list (cfg_errors.c). */
void cfg_errors_vadd(cfg_errors *e, int line, int col, const char *path, const char *fmt,
                     va_list ap) __attribute__((format(printf, 5, 0)));

#endif
