/*
 * DESIGN: camera groups (migration 0011; docs/design/0016-identity.md,
 * "Camera groups"). A camera's groups are rows (camera_id, group_name) so
 * that the question a grant asks, "which cameras are in these groups", is
 * one seek on the group_name index, asked once per request by principals
 * whose grant names a group. The rows are kept apart from the camera row
 * (cameras.c) and written in their own transaction; they leave with the
 * camera through the foreign key's ON DELETE CASCADE, and a write for a
 * camera that does not exist (deleted meanwhile) inserts nothing.
 * Names are checked by the callers (auth_group_name_is_valid).
 * Thread: any but the writer (writes wait for it), reads on a reader.
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sto_camera_group_list_free(struct sto_camera_group *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++) {
        free(list[i].camera_id);
        free(list[i].group);
    }
    free(list);
}

struct group_acc {
    struct sto_camera_group *items;
    size_t n, cap;
};

static int group_row(const sto_value *c, size_t n, void *arg)
{
    struct group_acc *acc = arg;
    if (n < 2)
        return HORUS_EDB;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->items = horus_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    acc->items[acc->n].camera_id = sto_col_text(&c[0]);
    acc->items[acc->n].group = sto_col_text(&c[1]);
    acc->n++;
    return 0;
}

int sto_camera_groups_range(sto_db *db, const char *first_id, const char *last_id,
                            struct sto_camera_group **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct group_acc acc = {0};
    sto_value p[] = {STO_TEXT_V(first_id), STO_TEXT_V(last_id)};
    int rc = sto_read(db,
                      "SELECT camera_id, group_name FROM camera_groups WHERE camera_id >= $1 AND"
                      " camera_id <= $2 ORDER BY camera_id, group_name",
                      p, 2, group_row, &acc);
    if (rc < 0) {
        sto_camera_group_list_free(acc.items, acc.n);
        return rc;
    }
    *out = acc.items;
    *n = acc.n;
    return 0;
}

int sto_camera_groups_set(sto_db *db, const struct sto_camera_groups_input *cams, size_t n)
{
    size_t nst = 0;
    for (size_t i = 0; i < n; i++)
        nst += 1 + cams[i].ngroups;
    if (nst == 0)
        return 0;
    struct sto_stmt *st = horus_calloc(nst, sizeof(*st));
    sto_value(*params)[2] = horus_calloc(nst, sizeof(*params));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        params[k][0] = STO_TEXT_V(cams[i].id);
        st[k] = (struct sto_stmt){"DELETE FROM camera_groups WHERE camera_id = $1", params[k], 1};
        k++;
        for (size_t g = 0; g < cams[i].ngroups; g++) {
            params[k][0] = STO_TEXT_V(cams[i].id);
            params[k][1] = STO_TEXT_V(cams[i].groups[g]);
            /* A camera deleted meanwhile gets no rows (and the foreign key no violation). */
            st[k] = (struct sto_stmt){
                "INSERT INTO camera_groups(camera_id, group_name) SELECT CAST($1 AS TEXT),"
                " CAST($2 AS TEXT) WHERE EXISTS (SELECT 1 FROM cameras WHERE id = $1) ON CONFLICT"
                " (camera_id, group_name) DO NOTHING",
                params[k], 2};
            k++;
        }
    }
    int rc = sto_write_batch_access(db, st, nst);
    free(params);
    free(st);
    return rc;
}

static int id_row(const sto_value *c, size_t n, void *arg)
{
    struct group_acc *acc = arg;
    if (n < 1)
        return HORUS_EDB;
    if (acc->n == acc->cap) {
        acc->cap = acc->cap ? acc->cap * 2 : 16;
        acc->items = horus_realloc(acc->items, acc->cap * sizeof(*acc->items));
    }
    acc->items[acc->n].camera_id = sto_col_text(&c[0]);
    acc->items[acc->n].group = NULL;
    acc->n++;
    return 0;
}

int sto_camera_ids_in_groups(sto_db *db, const char *const *groups, size_t n, char ***ids,
                             size_t *nids)
{
    *ids = NULL;
    *nids = 0;
    if (n == 0)
        return 0;
    if (n > STO_CAMERA_GROUPS_QUERY_MAX)
        return -EINVAL;
    /* "... IN ($1, $2, ...)": at most STO_CAMERA_GROUPS_QUERY_MAX placeholders of 5 bytes. */
    static const char head[] = "SELECT DISTINCT camera_id FROM camera_groups WHERE group_name IN (";
    char sql[sizeof(head) + STO_CAMERA_GROUPS_QUERY_MAX * 6 + 32];
    size_t len = (size_t)snprintf(sql, sizeof(sql), "%s", head);
    sto_value *p = horus_calloc(n, sizeof(*p));
    for (size_t i = 0; i < n; i++) {
        p[i] = STO_TEXT_V(groups[i]);
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s$%zu", i ? ", " : "", i + 1);
    }
    snprintf(sql + len, sizeof(sql) - len, ") ORDER BY camera_id");
    struct group_acc acc = {0};
    int rc = sto_read(db, sql, p, n, id_row, &acc);
    free(p);
    if (rc < 0) {
        sto_camera_group_list_free(acc.items, acc.n);
        return rc;
    }
    char **v = horus_calloc(acc.n ? acc.n : 1, sizeof(*v));
    for (size_t i = 0; i < acc.n; i++)
        v[i] = acc.items[i].camera_id;
    free(acc.items);
    *ids = v;
    *nids = acc.n;
    return 0;
}
