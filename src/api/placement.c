/*
 * DESIGN: placement in the API (docs/design/0069-placement.md). A camera's
 * "placement" is {"node": null | id, "labels": [label...]}: the one node
 * that may record it, and labels a node must all have. Labels are stored
 * comma-separated; they are ids ([a-z0-9_-], 1..64), so no label holds a
 * comma. A node's labels are shown the same way in GET /api/v1/nodes.
 */
#include "api_int.h"

#include "cfg.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PLACEMENT_LABELS_MAX 32

json_t *api_labels_json(const char *csv)
{
    json_t *a = json_array();
    for (const char *p = csv ? csv : ""; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n)
            json_array_append_new(a, json_stringn(p, n));
        p += n + (end != NULL);
    }
    return a;
}

json_t *api_placement_json(const char *node, const char *labels)
{
    return json_pack("{s:o, s:o}", "node", node && node[0] ? json_string(node) : json_null(),
                     "labels", api_labels_json(labels));
}

/* A node id as node.id allows it: 1..64 of A-Z a-z 0-9 . _ - (daemon/node.c). */
static bool is_node_id(const char *s)
{
    size_t n = strlen(s);
    return n && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int invalid(http_request *req, const char *field, const char *reason)
{
    http_reply_error(req, -EINVAL, "%s: %s", field, reason);
    return -EINVAL;
}

/* "labels": an array of distinct ids into a new comma-separated string. */
static int labels_of(http_request *req, json_t *v, char **out)
{
    if (!json_is_array(v) || json_array_size(v) > PLACEMENT_LABELS_MAX)
        return invalid(req, "placement.labels", "must be an array of at most 32 labels");
    size_t total = 1, i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        const char *s = json_is_string(x) ? json_string_value(x) : NULL;
        if (!s || !cfg_is_id(s, strlen(s), CFG_ID_MAX)) {
            char field[48];
            snprintf(field, sizeof(field), "placement.labels[%zu]", i);
            return invalid(req, field, "must be 1..64 characters of [a-z0-9_-]");
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(s, json_string_value(json_array_get(v, k))) == 0) {
                char field[48];
                snprintf(field, sizeof(field), "placement.labels[%zu]", i);
                return invalid(req, field, "repeats an earlier label");
            }
        total += strlen(s) + 1;
    }
    char *csv = horus_malloc(total), *p = csv;
    *p = '\0';
    json_array_foreach(v, i, x)
    {
        p += sprintf(p, "%s%s", i ? "," : "", json_string_value(x));
    }
    *out = csv;
    return 0;
}

int api_placement_apply(http_request *req, json_t *v, char **node, char **labels)
{
    if (json_is_null(v)) { /* null: any node */
        free(*node);
        free(*labels);
        *node = horus_strdup("");
        *labels = horus_strdup("");
        return 0;
    }
    if (!json_is_object(v))
        return invalid(req, "placement", "must be an object or null");
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x)
    {
        if (strcmp(key, "node") == 0) {
            const char *s = json_is_null(x) ? "" : json_is_string(x) ? json_string_value(x) : NULL;
            if (!s || (s[0] && !is_node_id(s)))
                return invalid(req, "placement.node",
                               "must be null or a node id of 1..64 characters of "
                               "[A-Za-z0-9._-]");
            free(*node);
            *node = horus_strdup(s);
        } else if (strcmp(key, "labels") == 0) {
            char *csv = NULL;
            if (labels_of(req, x, &csv) < 0)
                return -EINVAL;
            free(*labels);
            *labels = csv;
        } else {
            char field[96];
            snprintf(field, sizeof(field), "placement.%.64s", key);
            return invalid(req, field, "unknown field (allowed: node, labels)");
        }
    }
    return 0;
}
