/*
 * Configuration engine: YAML text -> validated, immutable, refcounted
 * snapshot of plain C structs, driven by schema tables that each module owns
 * (CONVENTIONS.md §7).
 *
 * Loading runs two passes. A plain libyaml pass builds a node tree with
 * positions, so syntax errors cite file:line:column. The schema pass walks
 * that tree against cfg_field tables, fills a zeroed C struct, applies
 * defaults, resolves secret references and collects every error (not just
 * the first) as "FILE:LINE:COL: key.path: reason". Unknown keys are errors.
 *
 * String values may hold "${NAME}" references to environment variables
 * (anywhere in the string; "$${" is a literal "${"), and a whole value of
 * the form "file:PATH" is replaced by the file's content without its
 * trailing newline. Values that came from either kind of reference, and
 * fields marked is_secret, are secrets: their resolved text is collected in
 * the snapshot so that logs and API responses can mask it, and
 * cfg_snapshot_to_json() prints them as "***" (URL passwords as
 * "user:***@").
 *
 * A snapshot is immutable once built; readers hold a reference while they
 * use it. cfg_holder swaps the current snapshot atomically on reload.
 */
#ifndef HORUS_CFG_H
#define HORUS_CFG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_type {
    CFG_STRING,   /* char * (owned by the snapshot) */
    CFG_INT,      /* int64_t, checked against min..max */
    CFG_BOOL,     /* bool: true/false/yes/no/on/off */
    CFG_ENUM,     /* int: index into enum_names */
    CFG_BYTES,    /* uint64_t: "500GiB", "10MB", "4096" (KiB/MiB/GiB/TiB, kB/MB/GB/TB) */
    CFG_DURATION, /* int64_t milliseconds: "10s", "250ms", "5m", "2h", "14d", or a bare number of seconds */
    CFG_DOUBLE,   /* double, checked against min..max */
    CFG_SECTION,  /* nested struct at offset, fields in sub */
    CFG_LIST,     /* array of structs: (void *) at offset, size_t count at count_offset */
};

typedef struct cfg_field cfg_field;

struct cfg_field {
    const char *name; /* NULL ends a table */
    enum cfg_type type;
    size_t offset;       /* offsetof() into the enclosing struct */
    const char *def;     /* default as YAML scalar text, parsed like user input; NULL = zero */
    double min, max;     /* bounds for INT, DOUBLE, BYTES, DURATION (ms); both 0 = none */
    const char *const *enum_names; /* CFG_ENUM: NULL-terminated */
    const cfg_field *sub;          /* CFG_SECTION, CFG_LIST: element fields */
    size_t elem_size;              /* CFG_LIST: sizeof one element */
    size_t count_offset;           /* CFG_LIST: offsetof the size_t count */
    const char *pattern_help;      /* CFG_STRING with validate: what a valid value looks like */
    /*
     * Optional extra check on the parsed value (pointer to the field in the
     * struct). Returns 0, or -EINVAL after writing a reason into err.
     */
    int (*validate_cb)(const void *value, char *err, size_t err_size);
    bool is_required;
    bool is_reloadable; /* false: a changed value needs a restart (warned on reload) */
    bool is_secret;     /* always masked when printed */
    const char *help;
};

struct cfg_errors;

/* The root of a configuration: a table and the size of the struct it fills. */
typedef struct cfg_schema {
    const cfg_field *fields;
    size_t size;
    /* Optional cross-field check on the whole filled struct; errors via cfg_errors_add. */
    int (*validate_cb)(void *data, struct cfg_errors *errs);
} cfg_schema;

/* Collected error messages, each "FILE:LINE:COL: key.path: reason". */
typedef struct cfg_errors {
    char **items; /* owned */
    size_t count;
    const char *file; /* borrowed: the name used in messages */
} cfg_errors;

void cfg_errors_init(cfg_errors *e, const char *file);
void cfg_errors_release(cfg_errors *e);
void cfg_errors_add(cfg_errors *e, int line, int col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

typedef struct cfg_snapshot cfg_snapshot;

/*
 * Loads and validates path. On success stores a new snapshot (refcount 1)
 * in *out and returns 0. On failure returns HORUS_EPARSE (YAML syntax),
 * HORUS_ECONFIG (schema), or -errno (cannot read), with messages in errs.
 */
int cfg_load_file(const cfg_schema *schema, const char *path, cfg_snapshot **out, cfg_errors *errs);

/* Same as cfg_load_file for text in memory; name is used in messages. */
int cfg_load_string(const cfg_schema *schema, const char *name, const char *text, size_t len,
                    cfg_snapshot **out, cfg_errors *errs);

/* A snapshot of the defaults alone (no file). Fails only if defaults are invalid. */
int cfg_load_defaults(const cfg_schema *schema, cfg_snapshot **out, cfg_errors *errs);

cfg_snapshot *cfg_snapshot_ref(cfg_snapshot *s);
void cfg_snapshot_unref(cfg_snapshot *s); /* NULL is a no-op */

/* The filled struct; borrowed while the caller holds a reference. */
const void *cfg_snapshot_data(const cfg_snapshot *s);
/* The file it came from, or NULL for defaults. */
const char *cfg_snapshot_path(const cfg_snapshot *s);
/* Resolved secret strings, for log_secrets_set(). Borrowed. */
const char *const *cfg_snapshot_secrets(const cfg_snapshot *s, unsigned *n);

/*
 * Renders the snapshot as a new JSON object, secrets masked. Thread: any.
 */
json_t *cfg_snapshot_to_json(const cfg_snapshot *s);

/*
 * Appends to errs one message per non-reloadable field whose value differs
 * between old and new ("key.path: changing it needs a restart"). Returns the
 * number of such fields.
 */
size_t cfg_diff_restart_needed(const cfg_snapshot *old_snap, const cfg_snapshot *new_snap,
                               cfg_errors *errs);

/*
 * Writes url with the password of its userinfo replaced by "***" into buf
 * ("rtsp://admin:***@10.0.0.5/"). Returns buf.
 */
char *cfg_mask_url(const char *url, char *buf, size_t size);

/* Holder of the current snapshot: get returns a new reference; swap steals new_snap. */
typedef struct cfg_holder cfg_holder;
cfg_holder *cfg_holder_new(cfg_snapshot *initial);
void cfg_holder_free(cfg_holder *h);
cfg_snapshot *cfg_holder_get(cfg_holder *h);
void cfg_holder_swap(cfg_holder *h, cfg_snapshot *new_snap);

#endif
