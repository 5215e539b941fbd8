/*
 * DESIGN: the DeepStack / CodeProject.AI detection reply, parsed strictly
 * (a provider is a network peer: whatever it sends must not turn into a
 * crash, a NaN box or a silently wrong label).
 *
 * Coordinates are pixels of the image we sent; they are normalised by its
 * size. A box a pixel or two past an edge is clamped (providers round), a
 * box further out, inverted, or with a confidence outside 0..1 makes the
 * whole reply an error: a provider that gets geometry wrong gets all of it
 * wrong, and an error the breaker sees beats plausible garbage. Labels the
 * labels file does not name are dropped and counted (not appended), so
 * label indexes stay those of the file, which zones and filters refer to.
 */
#include "remote_int.h"

#include "err.h"
#include "mem.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

static int fail(char **errmsg, const char *msg)
{
    *errmsg = horus_strdup(msg);
    return HORUS_EPARSE;
}

/* Reads pred[key] as a number into *v; 0 or -1 with *errmsg set. */
static int coord(json_t *pred, size_t i, const char *key, double *v, char **errmsg)
{
    json_t *j = json_object_get(pred, key);
    if (!json_is_number(j)) {
        *errmsg = horus_asprintf("predictions[%zu].%s: %s", i, key, j ? "not a number" : "missing");
        return -1;
    }
    *v = json_number_value(j);
    if (!isfinite(*v)) {
        *errmsg = horus_asprintf("predictions[%zu].%s: not finite", i, key);
        return -1;
    }
    return 0;
}

/* Normalises pixel coordinate v of an axis of size px; -1 when outside. */
static int normalise(double v, int px, float *out)
{
    if (v < -DET_REMOTE_EDGE_SLACK_PX || v > px + DET_REMOTE_EDGE_SLACK_PX)
        return -1;
    double f = v / px;
    *out = (float)(f < 0 ? 0 : f > 1 ? 1 : f);
    return 0;
}

static int find_label(const char *name, char *const *labels, int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp(labels[i], name) == 0)
            return i;
    return -1;
}

int det_remote_parse(const char *body, size_t len, int width, int height, char *const *labels,
                     int label_count, struct det_box *out, size_t cap, size_t *n, size_t *unknown,
                     char **errmsg)
{
    json_error_t jerr;
    int rc = HORUS_EPARSE;
    *n = 0;
    *unknown = 0;
    *errmsg = NULL;
    if (width < 1 || height < 1)
        return fail(errmsg, "image: bad size");
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        *errmsg = horus_asprintf("reply is not JSON: %s", jerr.text);
        return HORUS_EPARSE;
    }
    if (!json_is_object(root)) {
        fail(errmsg, "reply is not a JSON object");
        goto out;
    }
    json_t *success = json_object_get(root, "success");
    if (!json_is_boolean(success)) {
        fail(errmsg, success ? "success: not a boolean" : "success: missing");
        goto out;
    }
    if (!json_is_true(success)) {
        const char *e = json_string_value(json_object_get(root, "error"));
        *errmsg = horus_asprintf("provider error: %s", e && *e ? e : "(no error text)");
        goto out;
    }
    json_t *preds = json_object_get(root, "predictions");
    if (!json_is_array(preds)) {
        fail(errmsg, preds ? "predictions: not an array" : "predictions: missing");
        goto out;
    }
    size_t i;
    json_t *p;
    json_array_foreach(preds, i, p)
    {
        if (!json_is_object(p)) {
            *errmsg = horus_asprintf("predictions[%zu]: not an object", i);
            goto out;
        }
        const char *label = json_string_value(json_object_get(p, "label"));
        if (!label) {
            *errmsg = horus_asprintf("predictions[%zu].label: missing or not a string", i);
            goto out;
        }
        double c, x0, y0, x1, y1;
        if (coord(p, i, "confidence", &c, errmsg) || coord(p, i, "x_min", &x0, errmsg) ||
            coord(p, i, "y_min", &y0, errmsg) || coord(p, i, "x_max", &x1, errmsg) ||
            coord(p, i, "y_max", &y1, errmsg))
            goto out;
        if (c < 0 || c > 1) {
            *errmsg = horus_asprintf("predictions[%zu].confidence: %g is outside 0..1", i, c);
            goto out;
        }
        struct det_box b = {.score = (float)c};
        static const char *const names[4] = {"x_min", "y_min", "x_max", "y_max"};
        const double v[4] = {x0, y0, x1, y1};
        float *dst[4] = {&b.x0, &b.y0, &b.x1, &b.y1};
        for (int k = 0; k < 4; k++) {
            int px = k % 2 ? height : width;
            if (normalise(v[k], px, dst[k])) {
                *errmsg = horus_asprintf("predictions[%zu].%s: outside the image (%g, image %dx%d)",
                                         i, names[k], v[k], width, height);
                goto out;
            }
        }
        if (x1 < x0 || y1 < y0) {
            *errmsg = horus_asprintf("predictions[%zu]: x_max/y_max before x_min/y_min", i);
            goto out;
        }
        b.label = find_label(label, labels, label_count);
        if (b.label < 0) {
            (*unknown)++;
            continue;
        }
        if (*n < cap)
            out[(*n)++] = b;
    }
    rc = 0;
out:
    if (rc) { /* a reply with an error anywhere gives no boxes at all */
        *n = 0;
        *unknown = 0;
    }
    json_decref(root);
    return rc;
}
