/*
 * DESIGN: the camera leases repository (docs/design/0065-camera-leases.md):
 * which node records which camera. A claim is one conditional upsert, so
 * of nodes that claim one camera together exactly one holds it; the
 * holder is read back. The token rises only when the lease changes hands.
 * Reads on a reader, writes through the writer thread (waited for).
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void lease_decode(const struct sto_list_kind *kind, const sto_value *c, size_t ncols,
                         void *item)
{
    (void)kind;
    (void)ncols;
    struct sto_camera_lease *l = item;
    l->camera_id = sto_col_text(&c[0]);
    l->node_id = sto_col_text(&c[1]);
    l->expires_ms = sto_col_int(&c[2]);
    l->token = sto_col_int(&c[3]);
    l->since_ms = sto_col_int(&c[4]);
}

static void lease_release(const struct sto_list_kind *kind, void *item)
{
    (void)kind;
    struct sto_camera_lease *l = item;
    free(l->camera_id);
    free(l->node_id);
}

static const struct sto_list_kind lease_kind = {.size = sizeof(struct sto_camera_lease),
                                                .min_cols = 5,
                                                .decode = lease_decode,
                                                .release = lease_release};

void sto_camera_leases_free(struct sto_camera_lease *v, size_t n)
{
    sto_list_free(&lease_kind, v, n);
}

int sto_camera_leases_list(sto_db *db, struct sto_camera_lease **out, size_t *n)
{
    return sto_read_list(db,
                         "SELECT camera_id, node_id, expires_ms, token, since_ms FROM camera_leases"
                         " ORDER BY camera_id",
                         NULL, 0, &lease_kind, (void **)out, n);
}

int sto_camera_lease_get(sto_db *db, const char *camera, struct sto_camera_lease *out)
{
    sto_value p[] = {STO_TEXT_V(camera)};
    return sto_read_one(db,
                        "SELECT camera_id, node_id, expires_ms, token, since_ms FROM camera_leases"
                        " WHERE camera_id = $1",
                        p, 1, &lease_kind, out);
}

void sto_camera_lease_release(struct sto_camera_lease *l)
{
    if (l)
        lease_release(&lease_kind, l);
}

int sto_camera_lease_claim(sto_db *db, const char *camera, const char *node, int64_t now_ms,
                           int64_t expires_ms, int64_t *token)
{
    sto_value p[] = {STO_TEXT_V(camera), STO_TEXT_V(node), STO_INT_V(expires_ms),
                     STO_INT_V(now_ms)};
    int rc = sto_write(db,
                       "INSERT INTO camera_leases(camera_id, node_id, expires_ms, token, since_ms)"
                       " VALUES ($1, $2, $3, 1, $4) ON CONFLICT(camera_id) DO UPDATE SET"
                       " token = CASE WHEN camera_leases.node_id = excluded.node_id"
                       " THEN camera_leases.token ELSE camera_leases.token + 1 END,"
                       " since_ms = CASE WHEN camera_leases.node_id = excluded.node_id"
                       " THEN camera_leases.since_ms ELSE excluded.since_ms END,"
                       " node_id = excluded.node_id, expires_ms = excluded.expires_ms"
                       " WHERE camera_leases.node_id = excluded.node_id"
                       " OR camera_leases.expires_ms < $4",
                       p, HORUS_ARRAY_LEN(p));
    if (rc < 0)
        return rc;
    struct sto_camera_lease l;
    sto_value q[] = {STO_TEXT_V(camera)};
    rc = sto_read_one(db,
                      "SELECT camera_id, node_id, expires_ms, token, since_ms FROM camera_leases"
                      " WHERE camera_id = $1",
                      q, 1, &lease_kind, &l);
    if (rc < 0)
        return rc == -ENOENT ? HORUS_EDB : rc; /* the row was just written */
    rc = strcmp(l.node_id, node) == 0 ? 0 : -EBUSY;
    if (token)
        *token = l.token;
    lease_release(&lease_kind, &l);
    return rc;
}

int sto_camera_leases_renew(sto_db *db, const char *node, int64_t expires_ms)
{
    sto_value p[] = {STO_TEXT_V(node), STO_INT_V(expires_ms)};
    return sto_write(db, "UPDATE camera_leases SET expires_ms = $2 WHERE node_id = $1", p, 2);
}

int sto_camera_leases_release(sto_db *db, const char *node, const char *camera)
{
    if (!camera) {
        sto_value p[] = {STO_TEXT_V(node)};
        return sto_write(db, "DELETE FROM camera_leases WHERE node_id = $1", p, 1);
    }
    sto_value p[] = {STO_TEXT_V(node), STO_TEXT_V(camera)};
    return sto_write(db, "DELETE FROM camera_leases WHERE node_id = $1 AND camera_id = $2", p, 2);
}
