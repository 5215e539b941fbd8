/*
 * DESIGN: the "groups" field of cameras and the ?group= filter of their
 * list (docs/design/0016-identity.md, "Camera groups"). Kept beside
 * cameras.c rather than in it: cameras.c owns the camera row, this file
 * owns its memberships (storage/camera_groups.c), which grants name as
 * "group:NAME". A request body's "groups" is taken out of the body before
 * the camera fields are applied and stored after the camera row is
 * written; a reply gets its "groups" from one read (one per page for
 * lists).
 * Thread: http-N.
 */
#include "api_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_camera_groups_release(struct api_camera_groups *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->names[i]);
    free(g->names);
    memset(g, 0, sizeof(*g));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int api_camera_groups_take(http_request *req, json_t *body, struct api_camera_groups *out)
{
    memset(out, 0, sizeof(*out));
    json_t *v = json_object_get(body, "groups");
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > API_CAMERA_GROUPS_MAX) {
        http_reply_error(req, -EINVAL, "groups: must be an array of at most %d group names",
                         API_CAMERA_GROUPS_MAX);
        return -EINVAL;
    }
    out->is_present = true;
    out->names = horus_calloc(json_array_size(v) + 1, sizeof(*out->names));
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || !auth_group_name_is_valid(json_string_value(e))) {
            http_reply_error(req, -EINVAL,
                             "groups[%zu]: must be a group name of 1..%d characters of [a-z0-9_-]",
                             i, AUTH_GROUP_MAX);
            api_camera_groups_release(out);
            return -EINVAL;
        }
        out->names[out->n++] = horus_strdup(json_string_value(e));
    }
    qsort(out->names, out->n, sizeof(*out->names), cmp_str);
    size_t w = 0;
    for (size_t k = 0; k < out->n; k++) {
        if (w > 0 && strcmp(out->names[w - 1], out->names[k]) == 0)
            free(out->names[k]);
        else
            out->names[w++] = out->names[k];
    }
    out->n = w;
    json_object_del(body, "groups");
    return 0;
}

int api_camera_groups_store(struct api *ctx, const char *id, const struct api_camera_groups *g)
{
    struct sto_camera_groups_input in = {
        .id = id, .groups = (const char *const *)g->names, .ngroups = g->n};
    return sto_camera_groups_set(ctx->db, &in, 1);
}

void api_camera_groups_attach(struct api *ctx, json_t *const *cameras, size_t n)
{
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        json_object_set_new(cameras[i], "groups", json_array());
    const char *first = json_string_value(json_object_get(cameras[0], "id"));
    const char *last = json_string_value(json_object_get(cameras[n - 1], "id"));
    struct sto_camera_group *rows = NULL;
    size_t nrows = 0;
    /* A failed read leaves "groups" empty; the camera itself was read fine. */
    if (!first || !last || sto_camera_groups_range(ctx->db, first, last, &rows, &nrows) < 0)
        return;
    /* Both are ordered by id: one merge pass. */
    size_t k = 0;
    for (size_t r = 0; r < nrows; r++) {
        while (k < n &&
               strcmp(json_string_value(json_object_get(cameras[k], "id")), rows[r].camera_id) < 0)
            k++;
        if (k == n)
            break;
        if (strcmp(json_string_value(json_object_get(cameras[k], "id")), rows[r].camera_id) == 0)
            json_array_append_new(json_object_get(cameras[k], "groups"),
                                  json_string(rows[r].group));
    }
    sto_camera_group_list_free(rows, nrows);
}

int api_camera_group_filter(struct api *ctx, http_request *req, char ***ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    const char *group = http_request_query(req, "group");
    if (!group)
        return 0;
    if (!auth_group_name_is_valid(group)) {
        http_reply_error(req, -EINVAL,
                         "group: must be a group name of 1..%d characters of "
                         "[a-z0-9_-]",
                         AUTH_GROUP_MAX);
        return -EINVAL;
    }
    int rc = sto_camera_ids_in_groups(ctx->db, &group, 1, ids, n);
    if (rc < 0)
        http_reply_error(req, rc, "list cameras of group '%s': %s", group, horus_strerror(rc));
    else if (!*ids)
        *ids = horus_calloc(1, sizeof(**ids)); /* non-NULL: the filter is on */
    return rc;
}

bool api_camera_group_has(char *const *ids, size_t n, const char *id)
{
    return !ids || (n > 0 && bsearch(&id, ids, n, sizeof(*ids), cmp_str) != NULL);
}

void api_camera_group_filter_free(char **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}
