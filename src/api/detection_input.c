/*
 * DESIGN: the body of POST /api/v1/detections (docs/design/0046): a JSON
 * array of detections or NDJSON, each item checked field by field, all or
 * nothing. Errors are collected (up to API_DET_ERRORS_MAX) so that a
 * client fixing a batch sees more than the first mistake, and each names
 * its item and field: "items[17].box: x1 must be > x0". Strings of the
 * rows borrow from the parsed documents the batch keeps. No I/O; fuzzed by
 * fuzz_api_detections. Thread: any.
 */
#include "detections_int.h"

#include "api_int.h"
#include "err.h"
#include "mem.h"
#include "query_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The error text being built: the first errors, then a count of the rest. */
struct errs {
    char *why;
    size_t cap, len;
    unsigned n;
};

static void err_add(struct errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void err_add(struct errs *e, const char *fmt, ...)
{
    e->n++;
    if (e->n > API_DET_ERRORS_MAX || e->len + 1 >= e->cap)
        return;
    if (e->len) {
        int w = snprintf(e->why + e->len, e->cap - e->len, "; ");
        e->len += w > 0 ? (size_t)w : 0;
    }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(e->why + e->len, e->cap - e->len, fmt, ap);
    va_end(ap);
    if (w > 0)
        e->len += (size_t)w < e->cap - e->len ? (size_t)w : e->cap - e->len - 1;
}

static bool is_text(const char *s, size_t n, size_t max)
{
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Reads "box"; on failure adds the error naming what is wrong. */
static bool parse_box(const json_t *v, size_t i, struct sto_detection_input *r, struct errs *e)
{
    if (!json_is_array(v) || json_array_size(v) != 4) {
        err_add(e, "items[%zu].box: must be [x0, y0, x1, y1]", i);
        return false;
    }
    double c[4];
    static const char *const names[] = {"x0", "y0", "x1", "y1"};
    for (size_t k = 0; k < 4; k++) {
        const json_t *x = json_array_get(v, k);
        c[k] = json_is_number(x) ? json_number_value(x) : NAN;
        if (!(c[k] >= 0 && c[k] <= 1)) {
            err_add(e, "items[%zu].box: %s must be a number 0..1", i, names[k]);
            return false;
        }
    }
    if (!(c[2] > c[0])) {
        err_add(e, "items[%zu].box: x1 must be > x0", i);
        return false;
    }
    if (!(c[3] > c[1])) {
        err_add(e, "items[%zu].box: y1 must be > y0", i);
        return false;
    }
    r->x0 = c[0];
    r->y0 = c[1];
    r->x1 = c[2];
    r->y1 = c[3];
    return true;
}

/* Checks item i into b->rows[i]; adds its errors to e. */
static void parse_item(struct api_det_batch *b, size_t i, const json_t *item, int64_t now_us,
                       struct errs *e)
{
    if (!json_is_object(item)) {
        err_add(e, "items[%zu]: must be an object", i);
        return;
    }
    struct sto_detection_input *r = &b->rows[i];
    unsigned before = e->n;
    bool has_time = false, has_score = false, has_box = false;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)item, key, v)
    {
        if (strcmp(key, "camera") == 0) {
            if (!json_is_string(v) ||
                !is_text(json_string_value(v), json_string_length(v), API_CAMERA_ID_MAX))
                err_add(e, "items[%zu].camera: must be a camera id (1..%d bytes)", i,
                        API_CAMERA_ID_MAX);
            else
                r->camera_id = json_string_value(v);
        } else if (strcmp(key, "label") == 0) {
            if (!json_is_string(v) ||
                !is_text(json_string_value(v), json_string_length(v), API_DET_LABEL_MAX))
                err_add(e, "items[%zu].label: must be 1..%d characters without control characters",
                        i, API_DET_LABEL_MAX);
            else
                r->label = json_string_value(v);
        } else if (strcmp(key, "time") == 0) {
            if (api_time_parse_json(v, &r->time_us) < 0)
                err_add(e, "items[%zu].time: must be an RFC 3339 time or Unix milliseconds", i);
            else if (r->time_us > now_us + API_DET_FUTURE_US)
                err_add(e, "items[%zu].time: more than %d minutes in the future", i,
                        (int)(API_DET_FUTURE_US / 60000000));
            else if (r->time_us < now_us - API_DET_PAST_US)
                err_add(e, "items[%zu].time: more than %d days in the past", i,
                        (int)(API_DET_PAST_US / 86400000000LL));
            else
                has_time = true;
        } else if (strcmp(key, "score") == 0) {
            if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1))
                err_add(e, "items[%zu].score: must be a number 0..1", i);
            else {
                r->score = json_number_value(v);
                has_score = true;
            }
        } else if (strcmp(key, "box") == 0) {
            has_box = parse_box(v, i, r, e);
        } else if (strcmp(key, "track_id") == 0) {
            if (json_is_integer(v)) {
                snprintf(b->tracks[i], sizeof(b->tracks[i]), "%" JSON_INTEGER_FORMAT,
                         json_integer_value(v));
                r->track_id = b->tracks[i];
            } else if (json_is_string(v) &&
                       is_text(json_string_value(v), json_string_length(v), API_DET_TRACK_MAX)) {
                r->track_id = json_string_value(v);
            } else {
                err_add(e, "items[%zu].track_id: must be an integer or a string of 1..%d bytes", i,
                        API_DET_TRACK_MAX);
            }
        } else if (strcmp(key, "attributes") == 0) {
            char *s = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;
            if (!s || strlen(s) > API_DET_ATTRIBUTES_MAX)
                err_add(e, "items[%zu].attributes: must be a JSON object of at most %d bytes", i,
                        API_DET_ATTRIBUTES_MAX);
            else {
                free(b->attrs[i]);
                b->attrs[i] = s;
                r->attributes = s;
                s = NULL;
            }
            free(s);
        } else {
            err_add(e,
                    "items[%zu].%.32s: unknown field (allowed: camera, time, label, score, box, "
                    "track_id, attributes)",
                    i, key);
        }
    }
    if (e->n != before)
        return;
    if (!r->camera_id)
        err_add(e, "items[%zu].camera: is required", i);
    if (!has_time)
        err_add(e, "items[%zu].time: is required", i);
    if (!r->label)
        err_add(e, "items[%zu].label: is required", i);
    if (!has_score)
        err_add(e, "items[%zu].score: is required", i);
    if (!has_box)
        err_add(e, "items[%zu].box: is required", i);
}

/* Room for n rows. */
static void batch_alloc(struct api_det_batch *b, size_t n)
{
    b->rows = horus_calloc(n ? n : 1, sizeof(*b->rows));
    b->tracks = horus_calloc(n ? n : 1, sizeof(*b->tracks));
    b->attrs = horus_calloc(n ? n : 1, sizeof(*b->attrs));
}

void api_det_batch_release(struct api_det_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; b->attrs && i < b->n; i++)
        free(b->attrs[i]);
    free(b->attrs);
    free(b->tracks);
    free(b->rows);
    for (size_t i = 0; i < b->ndocs; i++)
        json_decref(b->docs[i]);
    free(b->docs);
    memset(b, 0, sizeof(*b));
}

static int too_many(size_t max_items, char *why, size_t cap)
{
    snprintf(why, cap, "items: a batch holds at most %zu detections (detections.max_items)",
             max_items);
    return HORUS_ETOOBIG;
}

static int parse_array(const char *body, size_t len, size_t max_items, struct api_det_batch *b,
                       char *why, size_t cap)
{
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        snprintf(why, cap, "body: not JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        return -EINVAL;
    }
    b->docs = horus_calloc(1, sizeof(*b->docs));
    b->docs[b->ndocs++] = doc;
    if (!json_is_array(doc)) {
        snprintf(why, cap,
                 "body: must be a JSON array of detections (or NDJSON with "
                 "Content-Type: application/x-ndjson)");
        return -EINVAL;
    }
    if (json_array_size(doc) > max_items)
        return too_many(max_items, why, cap);
    return 0;
}

/* Counts the non-blank lines of body (each an item). */
static size_t ndjson_lines(const char *body, size_t len)
{
    size_t n = 0;
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        for (const char *c = p; c < le; c++)
            if (*c != ' ' && *c != '\t' && *c != '\r') {
                n++;
                break;
            }
        p = nl ? nl + 1 : end;
    }
    return n;
}

static int parse_ndjson(const char *body, size_t len, size_t max_items, struct api_det_batch *b,
                        struct errs *e, char *why, size_t cap)
{
    size_t lines = ndjson_lines(body, len);
    if (lines > max_items)
        return too_many(max_items, why, cap);
    b->docs = horus_calloc(lines ? lines : 1, sizeof(*b->docs));
    const char *p = body, *end = body + len;
    size_t line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        bool is_blank = true;
        for (const char *c = p; c < le && is_blank; c++)
            is_blank = *c == ' ' || *c == '\t' || *c == '\r';
        if (!is_blank) {
            json_error_t jerr;
            json_t *doc =
                json_loadb(p, (size_t)(le - p), JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
            size_t i = b->ndocs;
            b->docs[b->ndocs++] = doc; /* NULL for a line that does not parse */
            if (!doc)
                err_add(e, "items[%zu]: not JSON (line %zu column %d): %s", i, line, jerr.column,
                        jerr.text);
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

int api_det_batch_parse(const char *body, size_t len, bool is_ndjson, size_t max_items,
                        int64_t now_us, struct api_det_batch *out, char *why, size_t cap)
{
    memset(out, 0, sizeof(*out));
    why[0] = '\0';
    struct errs e = {.why = why, .cap = cap};
    int rc = is_ndjson ? parse_ndjson(body, len, max_items, out, &e, why, cap)
                       : parse_array(body, len, max_items, out, why, cap);
    if (rc < 0) {
        api_det_batch_release(out);
        return rc;
    }
    size_t n = is_ndjson ? out->ndocs : json_array_size(out->docs[0]);
    batch_alloc(out, n);
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = is_ndjson ? out->docs[i] : json_array_get(out->docs[0], i);
        if (item)
            parse_item(out, i, item, now_us, &e);
    }
    if (e.n == 0 && n == 0)
        err_add(&e, "items: the batch is empty");
    if (e.n > API_DET_ERRORS_MAX && e.len + 1 < cap)
        snprintf(why + e.len, cap - e.len, " (and %u more)", e.n - API_DET_ERRORS_MAX);
    if (e.n > 0) {
        api_det_batch_release(out);
        return -EINVAL;
    }
    return 0;
}

int api_det_idem_key_check(const char *value, char *why, size_t cap)
{
    size_t n = value ? strlen(value) : 0;
    if (n == 0 || n > API_DET_IDEM_KEY_MAX) {
        snprintf(why, cap, "Idempotency-Key: must be 1..%d characters, got %zu",
                 API_DET_IDEM_KEY_MAX, n);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c > 0x7e) {
            snprintf(why, cap, "Idempotency-Key: character %zu is not printable ASCII (0x20..0x7e)",
                     i + 1);
            return -EINVAL;
        }
    }
    return 0;
}
