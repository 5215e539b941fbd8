/*
 * DESIGN: the per-camera analytics document (analytics_cfg.h). One strict
 * parser for the API, horus.yaml and the analysis pipeline, so a document
 * the API accepted is one the pipeline can run: every rule lives here and
 * every refusal names the field path the way a user would write it
 * ("zones[1].polygon[3]: must be within 0..1"). The struct has fixed-size
 * arrays (the limits are small) so only label lists are allocated.
 */
#include "analytics_cfg.h"

#include "mem.h"
#include "zones.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse_ctx {
    const char *const *labels; /* borrowed; NULL = any */
    size_t nlabels;
    char *errmsg; /* new, the first error */
};

static int fail(struct parse_ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parse_ctx *c, const char *path, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    free(c->errmsg);
    c->errmsg = horus_asprintf("%s: %s", path, reason);
    return -EINVAL;
}

/* Refuses keys of obj not in allowed (NULL-terminated). */
static int check_keys(struct parse_ctx *c, const char *path, const json_t *obj,
                      const char *const *allowed, const char *allowed_text)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool is_known = false;
        for (size_t i = 0; allowed[i] && !is_known; i++)
            is_known = strcmp(allowed[i], key) == 0;
        if (!is_known) {
            char p[160];
            snprintf(p, sizeof(p), "%s%s%.64s", path, path[0] ? "." : "", key);
            return fail(c, p, "unknown field (allowed: %s)", allowed_text);
        }
    }
    return 0;
}

static void join(char *out, size_t cap, const char *path, const char *key)
{
    snprintf(out, cap, "%s%s%s", path, path[0] ? "." : "", key);
}

static int get_bool(struct parse_ctx *c, const json_t *obj, const char *path, const char *key,
                    bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char p[160];
    join(p, sizeof(p), path, key);
    if (!json_is_boolean(v))
        return fail(c, p, "must be true or false");
    *out = json_is_true(v);
    return 0;
}

static int get_number(struct parse_ctx *c, const json_t *obj, const char *path, const char *key,
                      double min, double max, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char p[160];
    join(p, sizeof(p), path, key);
    if (!json_is_number(v))
        return fail(c, p, "must be a number");
    double d = json_number_value(v);
    if (!isfinite(d) || d < min || d > max)
        return fail(c, p, "must be within %g..%g", min, max);
    *out = d;
    return 0;
}

static int get_choice(struct parse_ctx *c, const json_t *obj, const char *path, const char *key,
                      const char *const *choices, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char p[160], list[128] = "";
    join(p, sizeof(p), path, key);
    for (int i = 0; choices[i]; i++) {
        if (json_is_string(v) && strcmp(json_string_value(v), choices[i]) == 0) {
            *out = i;
            return 0;
        }
        size_t len = strlen(list);
        snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", choices[i]);
    }
    return fail(c, p, "must be one of %s", list);
}

static void label_list_release(struct det_label_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->count = 0;
}

static int parse_labels(struct parse_ctx *c, const json_t *v, const char *path,
                        struct det_label_list *out)
{
    if (!v)
        return 0;
    if (!json_is_array(v))
        return fail(c, path, "must be an array of label names");
    size_t n = json_array_size(v);
    if (n > DET_ANALYTICS_LABELS_MAX)
        return fail(c, path, "at most %d labels", DET_ANALYTICS_LABELS_MAX);
    out->names = horus_calloc(n ? n : 1, sizeof(*out->names));
    for (size_t i = 0; i < n; i++) {
        char p[180];
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > 63)
            return fail(c, p, "must be a label name of 1..63 characters");
        const char *name = json_string_value(s);
        if (c->labels) {
            bool is_known = false;
            for (size_t k = 0; k < c->nlabels && !is_known; k++)
                is_known = strcmp(c->labels[k], name) == 0;
            if (!is_known)
                return fail(c, p, "unknown label '%s' (not one of the detector's labels)", name);
        }
        for (size_t k = 0; k < out->count; k++)
            if (strcmp(out->names[k], name) == 0)
                return fail(c, p, "duplicate label '%s'", name);
        out->names[out->count++] = horus_strdup(name);
    }
    return 0;
}

static int parse_point(struct parse_ctx *c, const json_t *v, const char *path,
                       struct det_point *out)
{
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_number(json_array_get(v, 0)) ||
        !json_is_number(json_array_get(v, 1)))
        return fail(c, path, "must be a point [x, y]");
    double x = json_number_value(json_array_get(v, 0));
    double y = json_number_value(json_array_get(v, 1));
    if (!(x >= 0 && x <= 1 && y >= 0 && y <= 1))
        return fail(c, path, "must be within 0..1");
    out->x = (float)x;
    out->y = (float)y;
    return 0;
}

static int parse_polygon(struct parse_ctx *c, const json_t *v, const char *path,
                         struct det_polygon *out)
{
    if (!v)
        return fail(c, path, "is required");
    if (!json_is_array(v))
        return fail(c, path, "must be an array of points [[x, y], ...]");
    size_t n = json_array_size(v);
    if (n < DET_ANALYTICS_POINTS_MIN || n > DET_ANALYTICS_POINTS_MAX)
        return fail(c, path, "needs %d..%d points, has %zu", DET_ANALYTICS_POINTS_MIN,
                    DET_ANALYTICS_POINTS_MAX, n);
    for (size_t i = 0; i < n; i++) {
        char p[180];
        snprintf(p, sizeof(p), "%s[%zu]", path, i);
        int rc = parse_point(c, json_array_get(v, i), p, &out->points[i]);
        if (rc < 0)
            return rc;
    }
    out->count = n;
    switch (det_polygon_check(out)) {
    case DET_POLYGON_OK:
        return 0;
    case DET_POLYGON_REPEATED_POINT:
        return fail(c, path, "repeated point");
    case DET_POLYGON_SELF_INTERSECTING:
        return fail(c, path, "self-intersecting");
    case DET_POLYGON_ZERO_AREA:
        return fail(c, path, "has zero area");
    }
    return fail(c, path, "invalid polygon");
}

static int parse_name(struct parse_ctx *c, const json_t *obj, const char *path, char *out)
{
    char p[160];
    join(p, sizeof(p), path, "name");
    const json_t *v = json_object_get(obj, "name");
    if (!v)
        return fail(c, p, "is required");
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t len = s ? json_string_length(v) : 0;
    bool is_ok = s && len >= 1 && len <= DET_ANALYTICS_NAME_MAX && strlen(s) == len;
    for (size_t i = 0; is_ok && i < len; i++) {
        char ch = s[i];
        is_ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == ' ' || ch == '_' || ch == '-';
    }
    if (!is_ok)
        return fail(c, p, "must be 1..%d characters of [A-Za-z0-9 _-]", DET_ANALYTICS_NAME_MAX);
    memcpy(out, s, len + 1);
    return 0;
}

static int parse_objects(struct parse_ctx *c, const json_t *v, struct det_analytics *a)
{
    if (!v)
        return 0;
    if (!json_is_object(v))
        return fail(c, "objects", "must be an object");
    static const char *const keys[] = {"labels", "min_score", "min_area", "max_area", NULL};
    int rc = check_keys(c, "objects", v, keys, "labels, min_score, min_area, max_area");
    if (rc == 0)
        rc = parse_labels(c, json_object_get(v, "labels"), "objects.labels", &a->objects.labels);
    double score = a->objects.min_score, amin = a->objects.min_area, amax = a->objects.max_area;
    if (rc == 0)
        rc = get_number(c, v, "objects", "min_score", 0, 1, &score);
    if (rc == 0)
        rc = get_number(c, v, "objects", "min_area", 0, 1, &amin);
    if (rc == 0)
        rc = get_number(c, v, "objects", "max_area", 0, 1, &amax);
    if (rc == 0 && amin > amax)
        rc = fail(c, "objects.max_area", "must not be below objects.min_area");
    a->objects.min_score = (float)score;
    a->objects.min_area = (float)amin;
    a->objects.max_area = (float)amax;
    return rc;
}

static int parse_motion(struct parse_ctx *c, const json_t *v, struct det_analytics *a)
{
    if (!v)
        return 0;
    if (!json_is_object(v))
        return fail(c, "motion", "must be an object");
    static const char *const keys[] = {"enabled", "events", "masks", NULL};
    int rc = check_keys(c, "motion", v, keys, "enabled, events, masks");
    if (rc == 0)
        rc = get_bool(c, v, "motion", "enabled", &a->motion.enabled);
    if (rc == 0)
        rc = get_bool(c, v, "motion", "events", &a->motion.events);
    const json_t *masks = json_object_get(v, "masks");
    if (rc < 0 || !masks)
        return rc;
    if (!json_is_array(masks))
        return fail(c, "motion.masks", "must be an array of polygons");
    if (json_array_size(masks) > DET_ANALYTICS_MASKS_MAX)
        return fail(c, "motion.masks", "at most %d masks", DET_ANALYTICS_MASKS_MAX);
    for (size_t i = 0; i < json_array_size(masks); i++) {
        char p[64];
        snprintf(p, sizeof(p), "motion.masks[%zu]", i);
        rc = parse_polygon(c, json_array_get(masks, i), p, &a->motion.masks[i]);
        if (rc < 0)
            return rc;
        a->motion.mask_count = i + 1;
    }
    return 0;
}

static int parse_zones(struct parse_ctx *c, const json_t *v, struct det_analytics *a)
{
    if (!v)
        return 0;
    if (!json_is_array(v))
        return fail(c, "zones", "must be an array");
    if (json_array_size(v) > DET_ANALYTICS_ZONES_MAX)
        return fail(c, "zones", "at most %d zones", DET_ANALYTICS_ZONES_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *z = json_array_get(v, i);
        struct det_zone *out = &a->zones[i];
        char path[32], p[64];
        snprintf(path, sizeof(path), "zones[%zu]", i);
        if (!json_is_object(z))
            return fail(c, path, "must be an object");
        a->zone_count = i + 1; /* so that free releases its labels */
        static const char *const keys[] = {"name", "polygon", "labels", "loiter_seconds", NULL};
        int rc = check_keys(c, path, z, keys, "name, polygon, labels, loiter_seconds");
        if (rc == 0)
            rc = parse_name(c, z, path, out->name);
        for (size_t k = 0; rc == 0 && k < i; k++)
            if (strcmp(a->zones[k].name, out->name) == 0) {
                join(p, sizeof(p), path, "name");
                rc = fail(c, p, "duplicate zone name '%s'", out->name);
            }
        join(p, sizeof(p), path, "polygon");
        if (rc == 0)
            rc = parse_polygon(c, json_object_get(z, "polygon"), p, &out->polygon);
        join(p, sizeof(p), path, "labels");
        if (rc == 0)
            rc = parse_labels(c, json_object_get(z, "labels"), p, &out->labels);
        if (rc == 0)
            rc = get_number(c, z, path, "loiter_seconds", 0, DET_ANALYTICS_LOITER_MAX,
                            &out->loiter_seconds);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_tripwires(struct parse_ctx *c, const json_t *v, struct det_analytics *a)
{
    if (!v)
        return 0;
    if (!json_is_array(v))
        return fail(c, "tripwires", "must be an array");
    if (json_array_size(v) > DET_ANALYTICS_TRIPWIRES_MAX)
        return fail(c, "tripwires", "at most %d tripwires", DET_ANALYTICS_TRIPWIRES_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *t = json_array_get(v, i);
        struct det_tripwire *out = &a->tripwires[i];
        char path[32], p[64];
        snprintf(path, sizeof(path), "tripwires[%zu]", i);
        if (!json_is_object(t))
            return fail(c, path, "must be an object");
        a->tripwire_count = i + 1;
        static const char *const keys[] = {"name", "line", "labels", NULL};
        int rc = check_keys(c, path, t, keys, "name, line, labels");
        if (rc == 0)
            rc = parse_name(c, t, path, out->name);
        for (size_t k = 0; rc == 0 && k < i; k++)
            if (strcmp(a->tripwires[k].name, out->name) == 0) {
                join(p, sizeof(p), path, "name");
                rc = fail(c, p, "duplicate tripwire name '%s'", out->name);
            }
        join(p, sizeof(p), path, "line");
        const json_t *line = json_object_get(t, "line");
        if (rc == 0 && !line)
            rc = fail(c, p, "is required");
        if (rc == 0 && (!json_is_array(line) || json_array_size(line) != 2))
            rc = fail(c, p, "needs exactly 2 points");
        for (size_t k = 0; rc == 0 && k < 2; k++) {
            char pp[80];
            snprintf(pp, sizeof(pp), "%s[%zu]", p, k);
            rc = parse_point(c, json_array_get(line, k), pp, &out->line[k]);
        }
        if (rc == 0 && fabsf(out->line[0].x - out->line[1].x) < 1e-4f &&
            fabsf(out->line[0].y - out->line[1].y) < 1e-4f)
            rc = fail(c, p, "the 2 points must differ");
        join(p, sizeof(p), path, "labels");
        if (rc == 0)
            rc = parse_labels(c, json_object_get(t, "labels"), p, &out->labels);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void set_defaults(struct det_analytics *a)
{
    a->enabled = true;
    a->fps = 5;
    a->priority = DET_PRIORITY_NORMAL;
    a->stream = DET_STREAM_AUTO;
    a->decode = DET_DECODE_ALL;
    a->objects.min_score = 0.5f;
    a->objects.min_area = 0;
    a->objects.max_area = 1;
    a->motion.enabled = true;
    a->motion.events = false;
}

static const char *const priorities[] = {"low", "normal", "high", NULL};
static const char *const streams[] = {"auto", "sub", "main", NULL};
static const char *const decodes[] = {"all", "keyframes", NULL};

int det_analytics_from_json(const json_t *doc, const char *const *labels, size_t nlabels,
                            struct det_analytics **out, char **errmsg)
{
    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    struct parse_ctx c = {labels, nlabels, NULL};
    struct det_analytics *a = horus_calloc(1, sizeof(*a));
    set_defaults(a);
    int rc = 0;
    if (!json_is_object(doc))
        rc = fail(&c, "analytics", "must be an object");
    static const char *const keys[] = {"enabled", "fps",    "priority", "stream",    "decode",
                                       "objects", "motion", "zones",    "tripwires", NULL};
    if (rc == 0)
        rc = check_keys(&c, "", doc, keys,
                        "enabled, fps, priority, stream, decode, objects, motion, zones, "
                        "tripwires");
    if (rc == 0)
        rc = get_bool(&c, doc, "", "enabled", &a->enabled);
    if (rc == 0)
        rc = get_number(&c, doc, "", "fps", DET_ANALYTICS_FPS_MIN, DET_ANALYTICS_FPS_MAX, &a->fps);
    int choice = (int)a->priority;
    if (rc == 0 && (rc = get_choice(&c, doc, "", "priority", priorities, &choice)) == 0)
        a->priority = (enum det_priority)choice;
    choice = (int)a->stream;
    if (rc == 0 && (rc = get_choice(&c, doc, "", "stream", streams, &choice)) == 0)
        a->stream = (enum det_stream_choice)choice;
    choice = (int)a->decode;
    if (rc == 0 && (rc = get_choice(&c, doc, "", "decode", decodes, &choice)) == 0)
        a->decode = (enum det_decode)choice;
    if (rc == 0)
        rc = parse_objects(&c, json_object_get(doc, "objects"), a);
    if (rc == 0)
        rc = parse_motion(&c, json_object_get(doc, "motion"), a);
    if (rc == 0)
        rc = parse_zones(&c, json_object_get(doc, "zones"), a);
    if (rc == 0)
        rc = parse_tripwires(&c, json_object_get(doc, "tripwires"), a);
    if (rc < 0) {
        det_analytics_free(a);
        if (errmsg)
            *errmsg = c.errmsg;
        else
            free(c.errmsg);
        return rc;
    }
    *out = a;
    return 0;
}

int det_analytics_parse(const char *text, size_t len, const char *const *labels, size_t nlabels,
                        struct det_analytics **out, char **errmsg)
{
    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    size_t blank = 0;
    while (blank < len && (text[blank] == ' ' || text[blank] == '\t' || text[blank] == '\n' ||
                           text[blank] == '\r'))
        blank++;
    if (blank == len) {
        json_t *empty = json_object();
        int rc = det_analytics_from_json(empty, labels, nlabels, out, errmsg);
        json_decref(empty);
        return rc;
    }
    if (len > DET_ANALYTICS_TEXT_MAX) {
        if (errmsg)
            *errmsg = horus_asprintf("analytics: document over %d bytes", DET_ANALYTICS_TEXT_MAX);
        return -EINVAL;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        if (errmsg)
            *errmsg = horus_asprintf("analytics: invalid JSON at line %d column %d: %s", jerr.line,
                                     jerr.column, jerr.text);
        return -EINVAL;
    }
    int rc = det_analytics_from_json(doc, labels, nlabels, out, errmsg);
    json_decref(doc);
    return rc;
}

static json_t *labels_json(const struct det_label_list *l)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < l->count; i++)
        json_array_append_new(arr, json_string(l->names[i]));
    return arr;
}

/* A float as JSON with the 6 significant digits it holds (0.3f prints as 0.3). */
static json_t *real_json(double v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.6g", v);
    return json_real(strtod(buf, NULL));
}

static json_t *polygon_json(const struct det_polygon *p)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < p->count; i++)
        json_array_append_new(
            arr, json_pack("[o, o]", real_json(p->points[i].x), real_json(p->points[i].y)));
    return arr;
}

json_t *det_analytics_to_json(const struct det_analytics *a)
{
    json_t *masks = json_array();
    for (size_t i = 0; i < a->motion.mask_count; i++)
        json_array_append_new(masks, polygon_json(&a->motion.masks[i]));
    json_t *zones = json_array();
    for (size_t i = 0; i < a->zone_count; i++) {
        const struct det_zone *z = &a->zones[i];
        json_array_append_new(zones, json_pack("{s:s, s:o, s:o, s:o}", "name", z->name, "polygon",
                                               polygon_json(&z->polygon), "labels",
                                               labels_json(&z->labels), "loiter_seconds",
                                               real_json(z->loiter_seconds)));
    }
    json_t *wires = json_array();
    for (size_t i = 0; i < a->tripwire_count; i++) {
        const struct det_tripwire *t = &a->tripwires[i];
        json_t *line =
            json_pack("[[o, o], [o, o]]", real_json(t->line[0].x), real_json(t->line[0].y),
                      real_json(t->line[1].x), real_json(t->line[1].y));
        json_array_append_new(wires, json_pack("{s:s, s:o, s:o}", "name", t->name, "line", line,
                                               "labels", labels_json(&t->labels)));
    }
    return json_pack(
        "{s:b, s:o, s:s, s:s, s:s, s:{s:o, s:o, s:o, s:o}, s:{s:b, s:b, s:o}, s:o, s:o}", "enabled",
        a->enabled, "fps", real_json(a->fps), "priority", priorities[a->priority], "stream",
        streams[a->stream], "decode", decodes[a->decode], "objects", "labels",
        labels_json(&a->objects.labels), "min_score", real_json(a->objects.min_score), "min_area",
        real_json(a->objects.min_area), "max_area", real_json(a->objects.max_area), "motion",
        "enabled", a->motion.enabled, "events", a->motion.events, "masks", masks, "zones", zones,
        "tripwires", wires);
}

void det_analytics_free(struct det_analytics *a)
{
    if (!a)
        return;
    label_list_release(&a->objects.labels);
    for (size_t i = 0; i < a->zone_count; i++)
        label_list_release(&a->zones[i].labels);
    for (size_t i = 0; i < a->tripwire_count; i++)
        label_list_release(&a->tripwires[i].labels);
    free(a);
}

bool det_label_list_has(const struct det_label_list *list, const char *label_name)
{
    if (list->count == 0)
        return true;
    for (size_t i = 0; label_name && i < list->count; i++)
        if (strcmp(list->names[i], label_name) == 0)
            return true;
    return false;
}
