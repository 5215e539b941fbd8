/*
 * DESIGN: the preferences repository (docs/design/0027-ui-api.md): one
 * opaque JSON text per principal, keyed by (owner_kind, owner_id): "user"
 * and a user name, or "api_key" and a key id. The API checks the text (an
 * object, at most STO_PREFERENCES_MAX bytes) before it gets here; this
 * file only stores it. Reads on a reader connection; writes through the
 * writer thread as an upsert that lands only while its owner exists (a
 * user deleted, or a key revoked, meanwhile keeps no row), so rows never
 * outlive their owner: the owner's delete or revoke removes them too
 * (identity.c). Thread: any (writes: any but the writer).
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int copy_text_cb(const sto_value *cols, size_t n, void *arg)
{
    if (n > 0 && cols[0].type == STO_TEXT)
        *(char **)arg = sto_col_text(&cols[0]);
    return 1;
}

static bool kind_is_valid(const char *kind)
{
    return strcmp(kind, STO_PREFERENCES_USER) == 0 || strcmp(kind, STO_PREFERENCES_API_KEY) == 0;
}

int sto_preferences_get(sto_db *db, const char *owner_kind, const char *owner_id, char **body)
{
    *body = NULL;
    if (!kind_is_valid(owner_kind))
        return -EINVAL;
    sto_value p[] = {STO_TEXT_V(owner_kind), STO_TEXT_V(owner_id)};
    int rc = sto_read(db, "SELECT body FROM preferences WHERE owner_kind = $1 AND owner_id = $2", p,
                      2, copy_text_cb, body);
    if (rc < 0) {
        free(*body);
        *body = NULL;
        return rc;
    }
    return *body ? 0 : -ENOENT;
}

int sto_preferences_put(sto_db *db, const char *owner_kind, const char *owner_id, const char *body)
{
    if (!kind_is_valid(owner_kind) || strlen(body) > STO_PREFERENCES_MAX)
        return -EINVAL;
    sto_value p[] = {STO_TEXT_V(owner_kind), STO_TEXT_V(owner_id), STO_TEXT_V(body),
                     STO_INT_V(clock_realtime_ms(sto_db_clock(db)))};
    /* Only while the owner exists: a row written after its delete would outlive it. */
    const char *sql =
        strcmp(owner_kind, STO_PREFERENCES_USER) == 0
            ? "INSERT INTO preferences(owner_kind, owner_id, body, updated_at_ms)"
              " SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), $4"
              " WHERE EXISTS (SELECT 1 FROM users WHERE name = $2)"
              " ON CONFLICT(owner_kind, owner_id) DO UPDATE SET body = excluded.body,"
              " updated_at_ms = excluded.updated_at_ms"
            : "INSERT INTO preferences(owner_kind, owner_id, body, updated_at_ms)"
              " SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), $4"
              " WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = $2 AND revoked_at_ms = 0)"
              " ON CONFLICT(owner_kind, owner_id) DO UPDATE SET body = excluded.body,"
              " updated_at_ms = excluded.updated_at_ms";
    return sto_write(db, sql, p, 4);
}
