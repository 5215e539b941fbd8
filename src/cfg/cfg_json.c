/*
 * DESIGN: read-only views of a finished snapshot: the masked JSON dump, the
 * restart diff between two snapshots, and URL password masking. All three
 * walk the schema tables rather than any stored tree, so they see exactly
 * the fields a module declared. Masking errs towards hiding: is_secret and
 * file: values print as "***" whole, ${} parts as "***" in place (the load
 * kept a masked copy of each such string), and every credential form the
 * one masker knows (base/mask.h: URL userinfo, secret-named query
 * parameters, tokens) is masked whether or not it came from a reference. Thread: any; snapshots are
 * immutable.
 */
#include "cfg_int.h"

#include "mask.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>

/* ---- URLs ---- */

bool cfg_url_password(const char *s, size_t *start, size_t *len)
{
    const char *sep = strstr(s, "://");
    if (!sep)
        return false;
    const char *auth = sep + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < auth_len; i++)
        if (auth[i] == '@')
            at = auth + i;
    if (!at)
        return false;
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (!colon || colon + 1 == at)
        return false;
    *start = (size_t)(colon + 1 - s);
    *len = (size_t)(at - colon - 1);
    return true;
}

char *cfg_mask_url(const char *url, char *buf, size_t size)
{
    return horus_mask_url(url, buf, size);
}

/* ---- JSON ---- */

/* A JSON string of s, with bytes that are not valid UTF-8 shown as '?'. */
static json_t *json_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char *copy = horus_strdup(s);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    j = json_string(copy);
    free(copy);
    return j;
}

static json_t *string_json(const cfg_snapshot *s, const cfg_field *f, const char *value)
{
    if (!value)
        return json_null();
    if (f->is_secret)
        return json_string("***");
    const char *masked = cfg_snapshot_masked(s, value);
    const char *text = masked ? masked : value;
    size_t size = strlen(text) + 4;
    char *buf = horus_malloc(size);
    json_t *j = json_text(cfg_mask_url(text, buf, size));
    free(buf);
    return j;
}

static json_t *fields_json(const cfg_snapshot *s, const cfg_field *fields, const void *base);

static json_t *field_json(const cfg_snapshot *s, const cfg_field *f, const unsigned char *base)
{
    const void *ptr = base + f->offset;
    char buf[40];
    switch (f->type) {
    case CFG_STRING:
        return string_json(s, f, *(char *const *)ptr);
    case CFG_INT:
        return json_integer((json_int_t) * (const int64_t *)ptr);
    case CFG_BOOL:
        return json_boolean(*(const bool *)ptr);
    case CFG_ENUM: {
        int i = *(const int *)ptr;
        /* The loader only stores valid indexes, and zero when absent. */
        return json_string(f->enum_names[i]);
    }
    case CFG_BYTES:
        return json_integer((json_int_t) * (const uint64_t *)ptr);
    case CFG_DURATION:
        cfg_format_duration_ms(*(const int64_t *)ptr, buf, sizeof(buf));
        return json_string(buf);
    case CFG_DOUBLE:
        return json_real(*(const double *)ptr);
    case CFG_SECTION:
        return fields_json(s, f->sub, ptr);
    case CFG_LIST: {
        json_t *arr = json_array();
        const unsigned char *items = *(void *const *)ptr;
        size_t n = *(const size_t *)(const void *)(base + f->count_offset);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, fields_json(s, f->sub, items + i * f->elem_size));
        return arr;
    }
    case CFG_JSON: {
        const char *text = *(char *const *)ptr;
        json_t *j = text ? json_loads(text, 0, NULL) : NULL;
        return j ? j : json_null();
    }
    case CFG_STRING_LIST: {
        json_t *arr = json_array();
        char *const *items = *(char **const *)ptr;
        size_t n = *(const size_t *)(const void *)(base + f->count_offset);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, string_json(s, f, items[i]));
        return arr;
    }
    }
    return json_null();
}

static json_t *fields_json(const cfg_snapshot *s, const cfg_field *fields, const void *base)
{
    json_t *obj = json_object();
    for (const cfg_field *f = fields; f->name; f++)
        json_object_set_new(obj, f->name, field_json(s, f, base));
    return obj;
}

json_t *cfg_snapshot_to_json(const cfg_snapshot *s)
{
    return fields_json(s, s->schema->fields, s->data);
}

/* ---- restart diff ---- */

struct diff {
    const cfg_snapshot *new_snap;
    cfg_errors *errs;
    char path[1024];
    size_t path_len;
    size_t n;
};

static size_t diff_push(struct diff *d, const char *key, size_t index, bool is_index)
{
    size_t old = d->path_len;
    int n = is_index ? snprintf(d->path + old, sizeof(d->path) - old, "[%zu]", index)
                     : snprintf(d->path + old, sizeof(d->path) - old, "%s%s", old ? "." : "", key);
    if (n > 0)
        d->path_len = old + (size_t)n < sizeof(d->path) ? old + (size_t)n : sizeof(d->path) - 1;
    return old;
}

static void diff_pop(struct diff *d, size_t old)
{
    d->path_len = old;
    d->path[old] = '\0';
}

static void diff_report(struct diff *d, const void *new_addr)
{
    const cfg_pos *pos = cfg_snapshot_pos(d->new_snap, new_addr);
    cfg_errors_add(d->errs, pos ? pos->line : 0, pos ? pos->col : 0, d->path,
                   "changing it needs a restart");
    d->n++;
}

static bool strings_equal(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool scalar_equal(const cfg_field *f, const void *a, const void *b)
{
    switch (f->type) {
    case CFG_STRING:
    case CFG_JSON:
        return strings_equal(*(char *const *)a, *(char *const *)b);
    case CFG_INT:
    case CFG_DURATION:
        return *(const int64_t *)a == *(const int64_t *)b;
    case CFG_BOOL:
        return *(const bool *)a == *(const bool *)b;
    case CFG_ENUM:
        return *(const int *)a == *(const int *)b;
    case CFG_BYTES:
        return *(const uint64_t *)a == *(const uint64_t *)b;
    case CFG_DOUBLE:
        return *(const double *)a == *(const double *)b;
    case CFG_SECTION:
    case CFG_LIST:
    case CFG_STRING_LIST:
        break;
    }
    return true;
}

static void diff_fields(struct diff *d, const cfg_field *fields, const unsigned char *a,
                        const unsigned char *b);

static void diff_field(struct diff *d, const cfg_field *f, const unsigned char *a,
                       const unsigned char *b)
{
    const void *pa = a + f->offset, *pb = b + f->offset;
    size_t old = diff_push(d, f->name, 0, false);
    if (f->type == CFG_SECTION) {
        diff_fields(d, f->sub, pa, pb);
    } else if (f->type == CFG_LIST || f->type == CFG_STRING_LIST) {
        size_t na = *(const size_t *)(const void *)(a + f->count_offset);
        size_t nb = *(const size_t *)(const void *)(b + f->count_offset);
        const unsigned char *ia = *(void *const *)pa, *ib = *(void *const *)pb;
        bool is_changed = na != nb;
        size_t n = na < nb ? na : nb;
        for (size_t i = 0; i < n; i++) {
            if (f->type == CFG_STRING_LIST) {
                is_changed |= !strings_equal(((char *const *)(const void *)ia)[i],
                                             ((char *const *)(const void *)ib)[i]);
            } else {
                size_t at = diff_push(d, NULL, i, true);
                diff_fields(d, f->sub, ia + i * f->elem_size, ib + i * f->elem_size);
                diff_pop(d, at);
            }
        }
        /* For a LIST, is_changed here means items came or went; fields spoke above. */
        if (is_changed && !f->is_reloadable)
            diff_report(d, pb);
    } else if (!f->is_reloadable && !scalar_equal(f, pa, pb)) {
        diff_report(d, pb);
    }
    diff_pop(d, old);
}

static void diff_fields(struct diff *d, const cfg_field *fields, const unsigned char *a,
                        const unsigned char *b)
{
    for (const cfg_field *f = fields; f->name; f++)
        diff_field(d, f, a, b);
}

size_t cfg_diff_restart_needed(const cfg_snapshot *old_snap, const cfg_snapshot *new_snap,
                               cfg_errors *errs)
{
    horus_assert(old_snap->schema == new_snap->schema);
    struct diff d = {.new_snap = new_snap, .errs = errs};
    diff_fields(&d, new_snap->schema->fields, old_snap->data, new_snap->data);
    return d.n;
}
