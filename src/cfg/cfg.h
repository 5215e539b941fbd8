/*
 * Configuration engine: YAML text -> validated, immutable, refcounted
 * snapshot of plain C structs, driven by schema tables that each module owns
 * (docs/conventions.md §7).
 *
 * Loading runs two passes. A plain libyaml pass builds a node tree with
 * positions, so syntax errors cite file:line:column. The schema pass walks
 * that tree against cfg_field tables, fills a zeroed C struct, applies
 * defaults, resolves secret references and collects every error (not just
 * the first, up to CFG_ERRORS_MAX) as "FILE:LINE:COL: key.path: reason".
 * Unknown keys, duplicate keys and values of the wrong kind are errors.
 * An empty file (or one with only comments) gives all defaults; otherwise
 * the top level must be a mapping. A key whose value is empty or null
 * ("key:", "key: ~") counts as absent. A section that is absent is treated
 * as an empty mapping: its defaults apply and its required keys are
 * reported missing.
 *
 * Limits: the text is at most CFG_TEXT_MAX bytes and nests at most
 * CFG_DEPTH_MAX levels; a list holds at most CFG_LIST_MAX items. YAML
 * aliases ("*name") are rejected, so no input can expand (anchors alone are
 * accepted and ignored). One document per file. Tags are ignored: the
 * schema, not YAML, decides types ("yes" in a string field is "yes").
 *
 * String values, and the text of every other scalar before it is parsed,
 * may hold "${NAME}" references to environment variables (anywhere in the
 * value; "$${" is a literal "${"), and a whole value of the form "file:PATH"
 * is replaced by the content of that regular file (at most 64 KiB, no NUL
 * bytes) without its trailing newlines; PATH may itself hold "${NAME}".
 * A relative PATH is relative to the config file's directory (to the current
 * directory for cfg_load_string). Secrets are: the resolved text of every
 * reference in a string field, the whole value of fields marked is_secret,
 * and the password of any URL in a string field ("scheme://user:pass@...").
 * Their text is collected in the snapshot so that logs and API responses can
 * mask it, and cfg_snapshot_to_json() prints them as "***".
 *
 * A snapshot is immutable once built; readers hold a reference while they
 * use it. cfg_holder swaps the current snapshot atomically on reload. A
 * reload that fails leaves the holder alone, so the old snapshot stays.
 *
 * Schema tables and the cfg_schema are static data: they must outlive
 * every snapshot built from them. A malformed table is a programmer mistake
 * and aborts through horus_assert().
 */
#ifndef HORUS_CFG_H
#define HORUS_CFG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_ERRORS_MAX 50 /* errors kept per load; one more says "too many" */
#define CFG_TEXT_MAX (4u * 1024 * 1024) /* bytes of YAML */
#define CFG_DEPTH_MAX 64 /* nested mappings and lists */
#define CFG_LIST_MAX 100000 /* items in one list */

enum cfg_type {
    CFG_STRING, /* char * (owned by the snapshot); NULL when absent without default */
    CFG_INT, /* int64_t, checked against min..max */
    CFG_BOOL, /* bool: true/false/yes/no/on/off, any case */
    CFG_ENUM, /* int: index into enum_names; names match in any case */
    CFG_BYTES, /* uint64_t: "500GiB", "1.5 GB", "4096" (KiB/MiB/GiB/TiB, kB/MB/GB/TB, B) */
    CFG_DURATION, /* int64_t milliseconds: "10s", "250ms", "5m", "2h", "14d", "1.5h", or a bare
                     number of seconds; never negative */
    CFG_DOUBLE, /* double, finite, checked against min..max */
    CFG_SECTION, /* nested struct at offset, fields in sub */
    CFG_LIST, /* array of structs: (void *) at offset, size_t count at count_offset */
    CFG_STRING_LIST, /* char ** (owned by the snapshot) at offset, size_t count at count_offset */
    /*
     * char *: a YAML mapping or list kept as compact JSON text (owned by the
     * snapshot); NULL when absent. Plain scalars true/false (any case) are
     * booleans, null/~/empty null, decimal numbers numbers; every other
     * scalar, and every quoted one, is a string. No ${} or file:
     * references inside. Checked by json_validate_cb.
     */
    CFG_JSON,
};

typedef struct cfg_field cfg_field;

struct cfg_field {
    const char *name; /* NULL ends a table */
    enum cfg_type type;
    size_t offset; /* offsetof() into the enclosing struct */
    const char *def; /* default as YAML scalar text, parsed like user input; NULL = zero.
                        Must be NULL for SECTION, LIST and STRING_LIST. */
    /*
     * Bounds for INT, DOUBLE, BYTES, DURATION (in ms), and the item count of
     * LIST and STRING_LIST; both 0 = none.
     */
    double min, max;
    const char *const *enum_names; /* CFG_ENUM: NULL-terminated */
    const cfg_field *sub; /* CFG_SECTION, CFG_LIST: element fields */
    size_t elem_size; /* CFG_LIST: sizeof one element */
    size_t count_offset; /* CFG_LIST, CFG_STRING_LIST: offsetof the size_t count */
    const char *pattern_help; /* with validate_cb: what a valid value looks like */
    /*
     * Optional extra check on the parsed value (pointer to the field in the
     * struct), run when the value came from the file or from def. Returns
     * 0, or -EINVAL after writing a reason into err (may be left empty).
     */
    int (*validate_cb)(const void *value, char *err, size_t err_size);
    /*
     * CFG_JSON: optional check of the value. Returns 0, or -EINVAL after
     * writing the failing path relative to the field into where
     * ("zones[0].polygon", "" = the field itself) and the reason into err;
     * the message cites that node's line and column.
     */
    int (*json_validate_cb)(const json_t *value, char *where, size_t where_size, char *err,
                            size_t err_size);
    bool is_required;
    /*
     * false: a changed value needs a restart (reported by
     * cfg_diff_restart_needed). Ignored for SECTION, whose fields decide.
     * For LIST, false means adding or removing items needs a restart; the
     * items' fields decide for themselves.
     */
    bool is_reloadable;
    bool is_secret; /* always masked when printed */
    const char *help;
};

struct cfg_errors;

/* The root of a configuration: a table and the size of the struct it fills. */
typedef struct cfg_schema {
    const cfg_field *fields;
    size_t size;
    /*
     * Optional cross-field check on the whole filled struct, run only when
     * every field was valid. Reports through cfg_errors_add_field() (or
     * cfg_errors_add()); any error added, or a negative return, fails the load.
     */
    int (*validate_cb)(void *data, struct cfg_errors *errs);
} cfg_schema;

/* Collected error messages, each "FILE:LINE:COL: key.path: reason". */
typedef struct cfg_errors {
    char **items; /* owned */
    size_t count;
    const char *file; /* borrowed: the name used in messages */
    void *load; /* private: the load in progress, for cfg_errors_add_field() */
} cfg_errors;

void cfg_errors_init(cfg_errors *e, const char *file);
void cfg_errors_release(cfg_errors *e);
/*
 * Adds one message. "FILE:" is left out when e->file is NULL, "LINE:COL:"
 * when line <= 0, and "path: " when path is NULL or empty. After
 * CFG_ERRORS_MAX messages one last "too many errors" message is added and
 * later ones are dropped.
 */
void cfg_errors_add(cfg_errors *e, int line, int col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/*
 * For a schema's validate_cb: adds a message at the position and key path of
 * the scalar value stored at field (a pointer into the data being
 * validated). Without a position when the value came from a default, and
 * without a path when field is not a scalar field of the load in progress.
 */
void cfg_errors_add_field(cfg_errors *e, const void *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Ids: a camera's (and, with another max, a stream's) is 1..max characters
 * of [a-z0-9_-], in URLs, file names, topics and metric labels alike.
 * cfg_is_id checks s[0..n) (s need not end there); the config, the API and
 * the MQTT commands all use it. Pure.
 */
#define CFG_ID_MAX 64
bool cfg_is_id(const char *s, size_t n, size_t max);

/*
 * A field's validate_cb for a camera id (the cameras table and every
 * section that names cameras), so a typo fails at load. value points to
 * the field's char *.
 */
int cfg_validate_id(const void *value, char *err, size_t err_size);

typedef struct cfg_snapshot cfg_snapshot;

/*
 * Loads and validates path. On success stores a new snapshot (refcount 1)
 * in *out and returns 0. On failure leaves *out alone and returns
 * HORUS_EPARSE (YAML syntax), HORUS_ECONFIG (schema), HORUS_ETOOBIG (over
 * CFG_TEXT_MAX) or -errno (cannot read), with messages in errs that cite
 * path (whatever errs->file is). Never logs. Thread: any.
 */
int cfg_load_file(const cfg_schema *schema, const char *path, cfg_snapshot **out, cfg_errors *errs);

/* Same as cfg_load_file for text in memory; name is used in messages. */
int cfg_load_string(const cfg_schema *schema, const char *name, const char *text, size_t len,
                    cfg_snapshot **out, cfg_errors *errs);

/*
 * A snapshot of the defaults alone (no file); messages cite "<defaults>".
 * Fails only if defaults are invalid or required fields exist.
 */
int cfg_load_defaults(const cfg_schema *schema, cfg_snapshot **out, cfg_errors *errs);

/* Returns s with one more reference. Thread: any. */
cfg_snapshot *cfg_snapshot_ref(cfg_snapshot *s);
/* Drops one reference; the last one frees everything. NULL is a no-op. Thread: any. */
void cfg_snapshot_unref(cfg_snapshot *s);
/* Number of snapshots not yet freed, process-wide; tests assert it returns to 0. */
size_t cfg_snapshot_live_count(void);

/* The filled struct; borrowed while the caller holds a reference. */
const void *cfg_snapshot_data(const cfg_snapshot *s);
/* The schema it was built from. */
const cfg_schema *cfg_snapshot_schema(const cfg_snapshot *s);
/* The file (or cfg_load_string name) it came from, or NULL for defaults. Borrowed. */
const char *cfg_snapshot_path(const cfg_snapshot *s);
/*
 * Resolved secret strings, each once, NULL-terminated, for log_secrets_set().
 * Stores their number in *n when n is not NULL. Borrowed like the data.
 */
const char *const *cfg_snapshot_secrets(const cfg_snapshot *s, unsigned *n);

/*
 * Renders the snapshot as a new JSON object that follows the tables' order,
 * secrets masked: is_secret strings and file: values as "***", ${} parts
 * and URL passwords as "***" inside their string. Enums are their names,
 * BYTES integers, DURATION strings ("10s", "250ms") that parse back, absent
 * strings null. Thread: any.
 */
json_t *cfg_snapshot_to_json(const cfg_snapshot *s);

/*
 * Appends to errs one message per non-reloadable field whose value differs
 * between old and new ("key.path: changing it needs a restart"), at the new
 * value's position when known. Both must come from the same schema. Items of
 * lists are compared by index. Returns the number of such fields.
 */
size_t cfg_diff_restart_needed(const cfg_snapshot *old_snap, const cfg_snapshot *new_snap,
                               cfg_errors *errs);

/*
 * Writes url masked by horus_mask_url (base/mask.h) into buf: the userinfo
 * ("rtsp://admin:***@10.0.0.5/", a lone user name as "***"), values of
 * secret-named query parameters, tokens. The userinfo ends at the last '@',
 * so unencoded '/', '?', '#' or '@' in a password stay hidden. Truncates to
 * size - 1 bytes, never leaving part of a secret. NULL url writes "".
 * Returns buf. Thread: any.
 */
char *cfg_mask_url(const char *url, char *buf, size_t size);

/*
 * Holder of the current snapshot. new steals initial (may be NULL); get
 * returns a new reference (NULL when empty); swap steals new_snap and drops
 * the holder's reference to the old one; free drops the current one.
 * Thread: any.
 */
typedef struct cfg_holder cfg_holder;
cfg_holder *cfg_holder_new(cfg_snapshot *initial);
void cfg_holder_free(cfg_holder *h);
cfg_snapshot *cfg_holder_get(cfg_holder *h);
void cfg_holder_swap(cfg_holder *h, cfg_snapshot *new_snap);

#endif
