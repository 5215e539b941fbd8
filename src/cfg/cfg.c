/*
 * DESIGN: the schema pass of the configuration engine: it builds a snapshot
 * (cfg_snapshot.c keeps snapshots and the holder that readers share) and
 * collects errors.
 *
 * A load creates the snapshot first and fills its zeroed data in place, so
 * every string, list and key path lives in the snapshot's arena and one
 * free releases it all; a failed load frees the half-built snapshot and the
 * caller's old one is untouched (nginx-style "keep the old cycle"). The
 * YAML tree lives in a second arena that dies with the load. The walk
 * follows the cfg_field tables, not the YAML, so every field is visited
 * once: present keys are parsed, absent ones get their default (the def text
 * goes through the same parser as user input), and required ones are
 * reported at the enclosing mapping. Each scalar field's position and key
 * path is recorded in a table sorted by address, which serves
 * cfg_errors_add_field() in cross-field checks and positions in restart
 * diffs. Errors are collected, not fatal, until CFG_ERRORS_MAX.
 *
 * Nothing here logs: errors go through cfg_errors only, because the loader
 * runs before logging is configured (and configures it). Snapshots are
 * immutable after the load; the only shared mutable state is the refcount
 * and the holder's pointer under its mutex. Thread: any.
 */
#include "cfg_int.h"

#include "err.h"
#include "mask.h"
#include "mem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the load in progress ---- */

struct load {
    const cfg_schema *schema;
    cfg_errors *errs;
    size_t n_err;
    cfg_snapshot *snap;
    const char *base_dir; /* borrowed; NULL: relative to the current directory */
    char path[1024]; /* key path of the field being walked */
    size_t path_len;
    size_t pos_cap, masked_cap;
    unsigned secrets_cap;
};

static bool load_is_full(const struct load *ld)
{
    /* One error past the cap, so that cfg_errors adds its "too many" note. */
    return ld->n_err > CFG_ERRORS_MAX;
}

static void load_error(struct load *ld, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void load_error(struct load *ld, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cfg_errors_vadd(ld->errs, line, col, ld->path, fmt, ap);
    va_end(ap);
    ld->n_err++;
}

static size_t path_push_key(struct load *ld, const char *key)
{
    size_t old = ld->path_len;
    int n = snprintf(ld->path + old, sizeof(ld->path) - old, "%s%s", old ? "." : "", key);
    if (n > 0)
        ld->path_len = old + (size_t)n < sizeof(ld->path) ? old + (size_t)n : sizeof(ld->path) - 1;
    return old;
}

static size_t path_push_index(struct load *ld, size_t i)
{
    size_t old = ld->path_len;
    int n = snprintf(ld->path + old, sizeof(ld->path) - old, "[%zu]", i);
    if (n > 0)
        ld->path_len = old + (size_t)n < sizeof(ld->path) ? old + (size_t)n : sizeof(ld->path) - 1;
    return old;
}

static void path_pop(struct load *ld, size_t old)
{
    ld->path_len = old;
    ld->path[old] = '\0';
}

static void record_pos(struct load *ld, const void *addr, int line, int col)
{
    cfg_snapshot *s = ld->snap;
    if (s->n_pos == ld->pos_cap) {
        ld->pos_cap = ld->pos_cap ? ld->pos_cap * 2 : 32;
        s->pos = horus_realloc(s->pos, ld->pos_cap * sizeof(*s->pos));
    }
    s->pos[s->n_pos++] = (cfg_pos){
        .addr = addr,
        .path = cfg_arena_strndup(&s->arena, ld->path, ld->path_len),
        .line = line,
        .col = col,
    };
}

/* Appends a secret; duplicates are dropped once the load is done (finish_secrets). */
static void record_secret(struct load *ld, const char *text, size_t len)
{
    cfg_snapshot *s = ld->snap;
    if (len == 0)
        return;
    if (s->n_secrets + 1 >= ld->secrets_cap) {
        ld->secrets_cap = ld->secrets_cap ? ld->secrets_cap * 2 : 8;
        s->secrets = horus_realloc(s->secrets, ld->secrets_cap * sizeof(*s->secrets));
    }
    s->secrets[s->n_secrets++] = cfg_arena_strndup(&s->arena, text, len);
    s->secrets[s->n_secrets] = NULL;
}

struct ranked {
    const char *text;
    unsigned index;
};

static int compare_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    int rc = strcmp(x->text, y->text);
    return rc ? rc : (x->index > y->index) - (x->index < y->index);
}

/* Drops repeated secrets, keeping each first occurrence in order; O(n log n). */
static void finish_secrets(cfg_snapshot *s)
{
    if (s->n_secrets < 2)
        return;
    struct ranked *r = horus_malloc(s->n_secrets * sizeof(*r));
    for (unsigned i = 0; i < s->n_secrets; i++)
        r[i] = (struct ranked){.text = s->secrets[i], .index = i};
    qsort(r, s->n_secrets, sizeof(*r), compare_ranked);
    for (unsigned i = 1; i < s->n_secrets; i++)
        if (strcmp(r[i].text, r[i - 1].text) == 0)
            s->secrets[r[i].index] = NULL;
    free(r);
    unsigned n = 0;
    for (unsigned i = 0; i < s->n_secrets; i++)
        if (s->secrets[i])
            s->secrets[n++] = s->secrets[i];
    s->n_secrets = n;
    s->secrets[n] = NULL;
}

static void record_masked(struct load *ld, const char *value, const char *masked)
{
    cfg_snapshot *s = ld->snap;
    if (s->n_masked == ld->masked_cap) {
        ld->masked_cap = ld->masked_cap ? ld->masked_cap * 2 : 8;
        s->masked = horus_realloc(s->masked, ld->masked_cap * sizeof(*s->masked));
    }
    s->masked[s->n_masked++] = (cfg_masked){
        .value = value,
        .masked = cfg_arena_strndup(&s->arena, masked, strlen(masked)),
    };
}

/* ---- messages ---- */

/* ", got 'text'" with text shortened and control bytes replaced, or "" for secrets. */
static const char *got(char *buf, size_t size, const char *text, bool is_secret)
{
    if (is_secret) {
        snprintf(buf, size, "%s", "");
        return buf;
    }
    /* Masked whole before the cut, so a cut never leaves part of a password (base/mask.h). */
    char masked[256];
    text = horus_mask_url(text, masked, sizeof(masked));
    char q[48];
    size_t n = 0;
    for (const char *p = text; *p && n < 40; p++)
        q[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    q[n] = '\0';
    snprintf(buf, size, ", got '%s%s'", q, text[n] ? "..." : "");
    return buf;
}

static void format_bound(const cfg_field *f, double v, char *buf, size_t size)
{
    switch (f->type) {
    case CFG_BYTES:
        cfg_format_bytes(v <= 0 ? 0 : v >= 1.8e19 ? UINT64_MAX : (uint64_t)v, buf, size);
        return;
    case CFG_DURATION:
        cfg_format_duration_ms(v <= -9.2e18  ? INT64_MIN + 1
                               : v >= 9.2e18 ? INT64_MAX
                                             : (int64_t)v,
                               buf, size);
        return;
    case CFG_DOUBLE:
        snprintf(buf, size, "%g", v);
        return;
    default:
        snprintf(buf, size, "%.0f", v);
        return;
    }
}

static bool has_bounds(const cfg_field *f)
{
    return f->min != 0 || f->max != 0;
}

/* Checks v against the field's bounds; shown is how the value reads in the message. */
static void check_bounds(struct load *ld, const cfg_field *f, double v, const char *shown,
                         bool is_secret, int line, int col)
{
    if (!has_bounds(f) || (v >= f->min && v <= f->max))
        return;
    char lo[40], hi[40];
    format_bound(f, f->min, lo, sizeof(lo));
    format_bound(f, f->max, hi, sizeof(hi));
    if (is_secret)
        load_error(ld, line, col, "must be %s..%s", lo, hi);
    else
        load_error(ld, line, col, "must be %s..%s, got %s", lo, hi, shown);
}

/* ---- scalars ---- */

/*
 * Parses one scalar's text into the field at ptr as type (f->type, or
 * CFG_STRING for an item of a string list). Returns true when a value was
 * stored.
 */
static bool parse_scalar(struct load *ld, const cfg_field *f, enum cfg_type type, void *ptr,
                         const char *raw, size_t raw_len, int line, int col)
{
    char err[320], gotbuf[64];
    if (memchr(raw, '\0', raw_len)) {
        load_error(ld, line, col, "contains a NUL byte");
        return false;
    }
    cfg_expanded x;
    if (cfg_expand(raw, raw_len, ld->base_dir, &x, err, sizeof(err)) < 0) {
        load_error(ld, line, col, "%s", err);
        return false;
    }
    const char *s = x.text;
    bool is_secret = f->is_secret || x.n_secrets > 0 || x.is_file;
    bool is_ok = true;
    int rc;
    switch (type) {
    case CFG_STRING: {
        cfg_snapshot *snap = ld->snap;
        char *v = cfg_arena_strndup(&snap->arena, s, x.len);
        *(char **)ptr = v;
        if (f->is_secret)
            record_secret(ld, v, x.len);
        for (size_t i = 0; i < x.n_secrets; i++)
            record_secret(ld, x.secrets[i], strlen(x.secrets[i]));
        size_t start, len;
        if (cfg_url_password(v, &start, &len))
            record_secret(ld, v + start, len);
        if (x.masked)
            record_masked(ld, v, x.masked);
        break;
    }
    case CFG_INT: {
        int64_t v;
        rc = cfg_parse_int(s, &v);
        if (rc == -ERANGE) {
            load_error(ld, line, col, "integer out of range%s", got(gotbuf, 64, s, is_secret));
            is_ok = false;
        } else if (rc < 0) {
            load_error(ld, line, col, "expected an integer%s", got(gotbuf, 64, s, is_secret));
            is_ok = false;
        } else {
            *(int64_t *)ptr = v;
            char shown[32];
            snprintf(shown, sizeof(shown), "%" PRId64, v);
            check_bounds(ld, f, (double)v, shown, is_secret, line, col);
        }
        break;
    }
    case CFG_BOOL: {
        bool v;
        if (cfg_parse_bool(s, &v) < 0) {
            load_error(ld, line, col, "expected true or false (or yes/no, on/off)%s",
                       got(gotbuf, 64, s, is_secret));
            is_ok = false;
        } else {
            *(bool *)ptr = v;
        }
        break;
    }
    case CFG_ENUM: {
        int v;
        if (cfg_parse_enum(s, f->enum_names, &v) < 0) {
            char names[256];
            size_t n = 0;
            names[0] = '\0';
            for (size_t i = 0; f->enum_names[i] && n < sizeof(names); i++) {
                int k =
                    snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "", f->enum_names[i]);
                n += k > 0 ? (size_t)k : 0;
            }
            load_error(ld, line, col, "must be one of %s%s", names, got(gotbuf, 64, s, is_secret));
            is_ok = false;
        } else {
            *(int *)ptr = v;
        }
        break;
    }
    case CFG_BYTES: {
        uint64_t v;
        rc = cfg_parse_bytes(s, &v);
        if (rc == -ERANGE) {
            load_error(ld, line, col, "size too large%s", got(gotbuf, 64, s, is_secret));
            is_ok = false;
        } else if (rc < 0) {
            load_error(ld, line, col, "expected a size such as 500GiB, 10MB or 4096%s",
                       got(gotbuf, 64, s, is_secret));
            is_ok = false;
        } else {
            *(uint64_t *)ptr = v;
            char shown[32];
            cfg_format_bytes(v, shown, sizeof(shown));
            check_bounds(ld, f, (double)v, shown, is_secret, line, col);
        }
        break;
    }
    case CFG_DURATION: {
        int64_t v;
        rc = cfg_parse_duration_ms(s, &v);
        if (rc == -ERANGE) {
            load_error(ld, line, col, "duration too long%s", got(gotbuf, 64, s, is_secret));
            is_ok = false;
        } else if (rc < 0) {
            load_error(ld, line, col,
                       "expected a duration such as 250ms, 10s, 5m, 2h, 14d or a number of "
                       "seconds%s",
                       got(gotbuf, 64, s, is_secret));
            is_ok = false;
        } else {
            *(int64_t *)ptr = v;
            char shown[32];
            cfg_format_duration_ms(v, shown, sizeof(shown));
            check_bounds(ld, f, (double)v, shown, is_secret, line, col);
        }
        break;
    }
    case CFG_DOUBLE: {
        double v;
        rc = cfg_parse_double(s, &v);
        if (rc < 0) {
            load_error(ld, line, col, "expected a number%s", got(gotbuf, 64, s, is_secret));
            is_ok = false;
        } else {
            *(double *)ptr = v;
            char shown[32];
            snprintf(shown, sizeof(shown), "%g", v);
            check_bounds(ld, f, v, shown, is_secret, line, col);
        }
        break;
    }
    case CFG_SECTION:
    case CFG_LIST:
    case CFG_STRING_LIST:
    case CFG_JSON:
        HORUS_BUG("parse_scalar on a container field '%s'", f->name);
    }
    cfg_expanded_release(&x);
    return is_ok;
}

/* Runs the field's validate_cb on a value that parsed. */
static void validate_value(struct load *ld, const cfg_field *f, const void *ptr, int line, int col)
{
    if (!f->validate_cb)
        return;
    char err[256] = "";
    if (f->validate_cb(ptr, err, sizeof(err)) >= 0)
        return;
    const char *reason = err[0] ? err : "invalid value";
    if (f->pattern_help)
        load_error(ld, line, col, "%s (expected %s)", reason, f->pattern_help);
    else
        load_error(ld, line, col, "%s", reason);
}

static const char *type_noun(enum cfg_type t)
{
    switch (t) {
    case CFG_STRING:
        return "a string";
    case CFG_INT:
        return "an integer";
    case CFG_BOOL:
        return "true or false";
    case CFG_ENUM:
        return "one of the allowed names";
    case CFG_BYTES:
        return "a size";
    case CFG_DURATION:
        return "a duration";
    case CFG_DOUBLE:
        return "a number";
    case CFG_SECTION:
        return "a mapping";
    case CFG_LIST:
    case CFG_STRING_LIST:
        return "a list";
    case CFG_JSON:
        return "a mapping or a list";
    }
    return "a value";
}

/* ---- structure ---- */

static void walk_map(struct load *ld, const cfg_field *fields, void *base, const cfg_node *map,
                     int line, int col);

/* Edit distance of two short strings, ignoring case; large when either is long. */
static size_t edit_distance(const char *a, size_t na, const char *b)
{
    size_t nb = strlen(b);
    if (na > 64 || nb > 64)
        return SIZE_MAX;
    size_t row[65];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

static const char *suggest_key(const cfg_field *fields, const char *key, size_t len)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (const cfg_field *f = fields; f->name; f++) {
        size_t d = edit_distance(key, len, f->name);
        size_t n = strlen(f->name);
        /* Close enough to be a typo: at most 2 edits, and fewer than half the name. */
        if (d <= 2 && d * 2 < n && d < best_d) {
            best = f->name;
            best_d = d;
        }
    }
    return best;
}

static void unknown_key(struct load *ld, const cfg_field *fields, const cfg_node *key)
{
    char shown[80];
    size_t n = 0;
    for (size_t i = 0; i < key->len && n < 64; i++)
        shown[n++] =
            (unsigned char)key->text[i] < 0x20 || key->text[i] == 0x7f ? '?' : key->text[i];
    shown[n] = '\0';
    const char *more = key->len > n ? "..." : "";
    const char *hint = suggest_key(fields, key->text, key->len);
    /* The path names the unknown key itself: "cameras[0].record.retension_days: unknown key". */
    char label[88];
    snprintf(label, sizeof(label), "%s%s", shown, more);
    size_t old = path_push_key(ld, label);
    if (hint)
        load_error(ld, key->line, key->col, "unknown key (did you mean '%s'?)", hint);
    else
        load_error(ld, key->line, key->col, "unknown key");
    path_pop(ld, old);
}

static void walk_string_list(struct load *ld, const cfg_field *f, void *ptr, const cfg_node *seq)
{
    size_t n = seq->n_items;
    char **arr = cfg_arena_alloc(&ld->snap->arena, (n ? n : 1) * sizeof(*arr));
    *(char ***)ptr = arr;
    for (size_t i = 0; i < n && !load_is_full(ld); i++) {
        const cfg_node *item = seq->items[i];
        size_t old = path_push_index(ld, i);
        if (item->kind != CFG_NODE_SCALAR || cfg_node_is_null(item)) {
            load_error(ld, item->line, item->col, "expected a string, got %s",
                       cfg_node_kind_name(item));
        } else if (parse_scalar(ld, f, CFG_STRING, &arr[i], item->text, item->len, item->line,
                                item->col)) {
            validate_value(ld, f, &arr[i], item->line, item->col);
            record_pos(ld, &arr[i], item->line, item->col);
        }
        path_pop(ld, old);
    }
}

static void walk_list(struct load *ld, const cfg_field *f, void *ptr, const cfg_node *seq)
{
    size_t n = seq->n_items;
    unsigned char *arr = cfg_arena_alloc(&ld->snap->arena, (n ? n : 1) * f->elem_size);
    *(void **)ptr = arr;
    for (size_t i = 0; i < n && !load_is_full(ld); i++) {
        const cfg_node *item = seq->items[i];
        size_t old = path_push_index(ld, i);
        if (item->kind != CFG_NODE_MAP)
            load_error(ld, item->line, item->col, "expected a mapping, got %s",
                       cfg_node_kind_name(item));
        else
            walk_map(ld, f->sub, arr + i * f->elem_size, item, item->line, item->col);
        path_pop(ld, old);
    }
}

/* A LIST or STRING_LIST field; val is NULL when absent or null. */
static void apply_list(struct load *ld, const cfg_field *f, unsigned char *base,
                       const cfg_node *val, int line, int col)
{
    void *ptr = base + f->offset;
    size_t *count = (size_t *)(void *)(base + f->count_offset);
    size_t n = 0;
    if (val && val->kind != CFG_NODE_SEQ) {
        load_error(ld, val->line, val->col, "expected a list, got %s", cfg_node_kind_name(val));
        return;
    }
    if (val) {
        n = val->n_items;
        line = val->line;
        col = val->col;
        if (n > CFG_LIST_MAX) {
            load_error(ld, line, col, "more than %d items", CFG_LIST_MAX);
            return;
        }
    }
    if (has_bounds(f) && ((double)n < f->min || (double)n > f->max))
        load_error(ld, line, col, "must have %.0f..%.0f items, got %zu", f->min, f->max, n);
    *count = n;
    if (!val)
        return;
    if (f->type == CFG_LIST)
        walk_list(ld, f, ptr, val);
    else
        walk_string_list(ld, f, ptr, val);
}

/* ---- CFG_JSON: a YAML subtree as JSON ---- */

/* Whether a plain scalar reads as a decimal number ("12", "-0.5", "1e-3"). */
static bool is_number_text(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    if (i == len || !(isdigit((unsigned char)s[i]) || s[i] == '.'))
        return false;
    for (; i < len; i++)
        if (!isdigit((unsigned char)s[i]) && !strchr(".eE+-", s[i]))
            return false;
    return true;
}

/* node as a new JSON value, or NULL after an error at the offending node. */
static json_t *node_json(struct load *ld, const cfg_node *n)
{
    if (n->kind == CFG_NODE_SCALAR) {
        if (memchr(n->text, '\0', n->len)) {
            load_error(ld, n->line, n->col, "contains a NUL byte");
            return NULL;
        }
        if (!n->is_plain)
            return json_stringn(n->text, n->len);
        if (cfg_node_is_null(n))
            return json_null();
        if (strcasecmp(n->text, "true") == 0 || strcasecmp(n->text, "false") == 0)
            return json_boolean(strcasecmp(n->text, "true") == 0);
        if (is_number_text(n->text, n->len)) {
            char *end;
            errno = 0;
            long long v = strtoll(n->text, &end, 10);
            if (errno == 0 && end == n->text + n->len)
                return json_integer((json_int_t)v);
            double d = strtod(n->text, &end);
            if (end == n->text + n->len && isfinite(d))
                return json_real(d);
        }
        return json_stringn(n->text, n->len);
    }
    json_t *out = n->kind == CFG_NODE_MAP ? json_object() : json_array();
    for (size_t i = 0; i < n->n_items; i++) {
        const cfg_node *key = n->kind == CFG_NODE_MAP ? n->items[2 * i] : NULL;
        const cfg_node *item = n->kind == CFG_NODE_MAP ? n->items[2 * i + 1] : n->items[i];
        if (key && (key->kind != CFG_NODE_SCALAR || memchr(key->text, '\0', key->len))) {
            load_error(ld, key->line, key->col, "a key must be a plain name, got %s",
                       cfg_node_kind_name(key));
            json_decref(out);
            return NULL;
        }
        if (key && json_object_get(out, key->text)) {
            load_error(ld, key->line, key->col, "duplicate key '%s'", key->text);
            json_decref(out);
            return NULL;
        }
        json_t *v = node_json(ld, item);
        if (!v) {
            json_decref(out);
            return NULL;
        }
        if (key)
            json_object_set_new(out, key->text, v);
        else
            json_array_append_new(out, v);
    }
    return out;
}

/* The node at path where ("zones[0].polygon[2]") under n: the deepest one it reaches. */
static const cfg_node *node_at(const cfg_node *n, const char *where)
{
    const char *p = where;
    while (*p) {
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p == '[') {
            char *end;
            unsigned long i = strtoul(p + 1, &end, 10);
            if (*end != ']' || n->kind != CFG_NODE_SEQ || i >= n->n_items)
                return n;
            n = n->items[i];
            p = end + 1;
            continue;
        }
        size_t len = strcspn(p, ".[");
        const cfg_node *next = NULL;
        for (size_t i = 0; n->kind == CFG_NODE_MAP && i < n->n_items && !next; i++) {
            const cfg_node *k = n->items[2 * i];
            if (k->kind == CFG_NODE_SCALAR && k->len == len && memcmp(k->text, p, len) == 0)
                next = n->items[2 * i + 1];
        }
        if (!next)
            return n;
        n = next;
        p += len;
    }
    return n;
}

static void apply_json(struct load *ld, const cfg_field *f, void *ptr, const cfg_node *val)
{
    if (val->kind == CFG_NODE_SCALAR) {
        load_error(ld, val->line, val->col, "expected %s, got %s", type_noun(f->type),
                   cfg_node_kind_name(val));
        return;
    }
    json_t *j = node_json(ld, val);
    if (!j)
        return;
    char where[256] = "", err[256] = "";
    if (f->json_validate_cb && f->json_validate_cb(j, where, sizeof(where), err, sizeof(err)) < 0) {
        const cfg_node *at = node_at(val, where);
        size_t old = ld->path_len;
        if (where[0] == '[')
            snprintf(ld->path + old, sizeof(ld->path) - old, "%s", where);
        else if (where[0])
            path_push_key(ld, where);
        ld->path_len = strlen(ld->path);
        load_error(ld, at->line, at->col, "%s", err[0] ? err : "invalid value");
        path_pop(ld, old);
        json_decref(j);
        return;
    }
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(j);
    *(char **)ptr = cfg_arena_strndup(&ld->snap->arena, text, strlen(text));
    free(text);
}

/*
 * One field of a mapping. key/val are NULL when the key is absent; line/col
 * locate the mapping that holds (or should hold) it.
 */
static void apply_field(struct load *ld, const cfg_field *f, unsigned char *base,
                        const cfg_node *key, const cfg_node *val, int line, int col)
{
    void *ptr = base + f->offset;
    size_t old = path_push_key(ld, f->name);
    bool is_absent = cfg_node_is_null(val);
    if (key) {
        line = key->line;
        col = key->col;
    }
    if (is_absent && f->is_required && key) {
        load_error(ld, line, col, "required value is empty");
        goto out;
    }
    if (is_absent && f->is_required) {
        load_error(ld, line, col, "required key is missing");
        goto out;
    }
    switch (f->type) {
    case CFG_SECTION:
        if (!is_absent && val->kind != CFG_NODE_MAP)
            load_error(ld, val->line, val->col, "expected a mapping, got %s",
                       cfg_node_kind_name(val));
        else
            walk_map(ld, f->sub, ptr, is_absent ? NULL : val, line, col);
        goto out;
    case CFG_LIST:
    case CFG_STRING_LIST:
        apply_list(ld, f, base, is_absent ? NULL : val, line, col);
        goto out;
    case CFG_JSON:
        if (!is_absent)
            apply_json(ld, f, ptr, val);
        record_pos(ld, ptr, is_absent ? 0 : val->line, is_absent ? 0 : val->col);
        goto out;
    default:
        break;
    }
    if (is_absent) {
        /* A default is the schema author's text, so an error in one has no position. */
        if (f->def && parse_scalar(ld, f, f->type, ptr, f->def, strlen(f->def), 0, 0))
            validate_value(ld, f, ptr, 0, 0);
        record_pos(ld, ptr, 0, 0);
        goto out;
    }
    if (val->kind != CFG_NODE_SCALAR) {
        load_error(ld, val->line, val->col, "expected %s, got %s", type_noun(f->type),
                   cfg_node_kind_name(val));
        goto out;
    }
    if (parse_scalar(ld, f, f->type, ptr, val->text, val->len, val->line, val->col))
        validate_value(ld, f, ptr, val->line, val->col);
    record_pos(ld, ptr, val->line, val->col);
out:
    path_pop(ld, old);
}

static void walk_map(struct load *ld, const cfg_field *fields, void *base, const cfg_node *map,
                     int line, int col)
{
    size_t n_fields = 0;
    while (fields[n_fields].name)
        n_fields++;
    /* For each field, the index of its pair in map, plus one (0: absent). */
    size_t *seen = horus_calloc(n_fields ? n_fields : 1, sizeof(*seen));
    if (map) {
        line = map->line;
        col = map->col;
        for (size_t i = 0; i < map->n_items && !load_is_full(ld); i++) {
            const cfg_node *key = map->items[2 * i];
            if (key->kind != CFG_NODE_SCALAR) {
                load_error(ld, key->line, key->col, "a key must be a plain name, got %s",
                           cfg_node_kind_name(key));
                continue;
            }
            size_t k = 0;
            while (k < n_fields && !(strlen(fields[k].name) == key->len &&
                                     memcmp(fields[k].name, key->text, key->len) == 0))
                k++;
            if (k == n_fields) {
                unknown_key(ld, fields, key);
                continue;
            }
            if (seen[k]) {
                const cfg_node *first = map->items[2 * (seen[k] - 1)];
                size_t old = path_push_key(ld, fields[k].name);
                load_error(ld, key->line, key->col, "duplicate key (first at line %d, column %d)",
                           first->line, first->col);
                path_pop(ld, old);
                continue;
            }
            seen[k] = i + 1;
        }
    }
    for (size_t k = 0; k < n_fields && !load_is_full(ld); k++) {
        const cfg_node *key = seen[k] ? map->items[2 * (seen[k] - 1)] : NULL;
        const cfg_node *val = seen[k] ? map->items[2 * (seen[k] - 1) + 1] : NULL;
        apply_field(ld, &fields[k], base, key, val, line, col);
    }
    free(seen);
}

/* ---- snapshot ---- */

static void check_table(const cfg_field *fields, int depth)
{
    horus_assert(fields && depth < 32);
    for (const cfg_field *f = fields; f->name; f++) {
        if (f->type == CFG_ENUM)
            horus_assert(f->enum_names && f->enum_names[0]);
        if (f->type == CFG_SECTION || f->type == CFG_LIST) {
            horus_assert(f->sub && !f->def);
            check_table(f->sub, depth + 1);
        }
        if (f->type == CFG_LIST)
            horus_assert(f->elem_size > 0);
        if (f->type == CFG_STRING_LIST || f->type == CFG_JSON)
            horus_assert(!f->def);
    }
}

void cfg_errors_add_field(cfg_errors *e, const void *field, const char *fmt, ...)
{
    const struct load *ld = e->load;
    const cfg_pos *pos = ld ? cfg_snapshot_pos(ld->snap, field) : NULL;
    va_list ap;
    va_start(ap, fmt);
    cfg_errors_vadd(e, pos ? pos->line : 0, pos ? pos->col : 0, pos ? pos->path : NULL, fmt, ap);
    va_end(ap);
}

/*
 * The schema pass over root (NULL: no document). name is cited in messages
 * and kept as the snapshot's path.
 */
static int load_tree(const cfg_schema *schema, const char *name, const cfg_node *root,
                     const char *base_dir, bool has_text, cfg_snapshot **out, cfg_errors *errs)
{
    check_table(schema->fields, 0);
    struct load ld = {.schema = schema, .errs = errs, .base_dir = base_dir};
    ld.snap = cfg_snapshot_new_empty(schema, name);
    /* Required keys missing from an empty file are reported at its start. */
    int line = has_text ? 1 : 0;
    if (cfg_node_is_null(root))
        walk_map(&ld, schema->fields, ld.snap->data, NULL, line, line);
    else if (root->kind != CFG_NODE_MAP)
        load_error(&ld, root->line, root->col, "the top level must be a mapping, got %s",
                   cfg_node_kind_name(root));
    else
        walk_map(&ld, schema->fields, ld.snap->data, root, root->line, root->col);

    /* From here on the snapshot's tables are only looked up. */
    if (ld.snap->pos)
        qsort(ld.snap->pos, ld.snap->n_pos, sizeof(*ld.snap->pos), cfg_pos_compare);
    if (ld.snap->masked)
        qsort(ld.snap->masked, ld.snap->n_masked, sizeof(*ld.snap->masked), cfg_masked_compare);
    finish_secrets(ld.snap);
    if (ld.n_err == 0 && schema->validate_cb) {
        size_t before = errs->count;
        void *saved = errs->load;
        errs->load = &ld;
        int rc = schema->validate_cb(ld.snap->data, errs);
        errs->load = saved;
        if (rc < 0 || errs->count != before) {
            if (errs->count == before)
                cfg_errors_add(errs, 0, 0, NULL, "invalid configuration");
            ld.n_err++;
        }
    }
    if (ld.n_err > 0) {
        cfg_snapshot_destroy(ld.snap);
        return HORUS_ECONFIG;
    }
    *out = ld.snap;
    return 0;
}

static int load_text(const cfg_schema *schema, const char *name, const char *text, size_t len,
                     const char *base_dir, cfg_snapshot **out, cfg_errors *errs)
{
    cfg_arena tree;
    cfg_node *root = NULL;
    cfg_arena_init(&tree);
    int rc = cfg_yaml_parse(text, len, &tree, &root, errs);
    if (rc == 0)
        rc = load_tree(schema, name, root, base_dir, true, out, errs);
    cfg_arena_release(&tree);
    return rc;
}

int cfg_load_string(const cfg_schema *schema, const char *name, const char *text, size_t len,
                    cfg_snapshot **out, cfg_errors *errs)
{
    const char *saved = errs->file;
    errs->file = name;
    int rc = load_text(schema, name, text ? text : "", text ? len : 0, NULL, out, errs);
    errs->file = saved;
    return rc;
}

/* Reads at most CFG_TEXT_MAX bytes of path into a new buffer. */
static int read_config(const char *path, char **text, size_t *len, cfg_errors *errs)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int rc = -errno;
        cfg_errors_add(errs, 0, 0, NULL, "cannot read: %s", horus_strerror(rc));
        return rc;
    }
    int rc = 0;
    size_t cap = 4096, n = 0;
    char *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if ((uintmax_t)st.st_size > CFG_TEXT_MAX)
            goto too_big;
        cap = (size_t)st.st_size + 1;
    }
    buf = horus_malloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap > CFG_TEXT_MAX)
                goto too_big;
            cap *= 2;
            buf = horus_realloc(buf, cap);
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            cfg_errors_add(errs, 0, 0, NULL, "cannot read: %s", horus_strerror(rc));
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n > CFG_TEXT_MAX)
            goto too_big;
    }
    *text = buf;
    *len = n;
    buf = NULL;
    goto out;
too_big:
    cfg_errors_add(errs, 0, 0, NULL, "larger than %u bytes", (unsigned)CFG_TEXT_MAX);
    rc = HORUS_ETOOBIG;
out:
    free(buf);
    close(fd);
    return rc;
}

int cfg_load_file(const cfg_schema *schema, const char *path, cfg_snapshot **out, cfg_errors *errs)
{
    const char *saved = errs->file;
    errs->file = path;
    char *text = NULL, *dir = NULL;
    size_t len = 0;
    int rc = read_config(path, &text, &len, errs);
    if (rc == 0) {
        const char *slash = strrchr(path, '/');
        if (slash)
            dir = horus_strndup(path, slash == path ? 1 : (size_t)(slash - path));
        rc = load_text(schema, path, text, len, dir, out, errs);
    }
    free(dir);
    free(text);
    errs->file = saved;
    return rc;
}

int cfg_load_defaults(const cfg_schema *schema, cfg_snapshot **out, cfg_errors *errs)
{
    const char *saved = errs->file;
    errs->file = "<defaults>";
    int rc = load_tree(schema, NULL, NULL, NULL, false, out, errs);
    errs->file = saved;
    return rc;
}
