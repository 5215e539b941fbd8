/*
 * DESIGN: the settings repository: small key/value facts about this node
 * (node_id, the last `horus check` repair). Reads on a reader, writes
 * through the writer thread as an upsert, so a put never races a get into
 * a duplicate key.
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>

static int copy_text_cb(const sto_value *cols, size_t n, void *arg)
{
    if (n > 0 && cols[0].type == STO_TEXT)
        *(char **)arg = sto_col_text(&cols[0]);
    return 1;
}

int sto_setting_get(sto_db *db, const char *key, char **value)
{
    *value = NULL;
    sto_value p[] = {STO_TEXT_V(key)};
    int rc = sto_read(db, "SELECT value FROM settings WHERE key = $1", p, 1, copy_text_cb, value);
    if (rc < 0)
        return rc;
    return *value ? 0 : -ENOENT;
}

int sto_setting_put(sto_db *db, const char *key, const char *value)
{
    sto_value p[] = {STO_TEXT_V(key), STO_TEXT_V(value),
                     STO_INT_V(clock_realtime_ms(sto_db_clock(db)))};
    return sto_write(db,
                     "INSERT INTO settings(key, value, updated_at_ms) VALUES ($1, $2, $3)"
                     " ON CONFLICT(key) DO UPDATE SET value = excluded.value,"
                     " updated_at_ms = excluded.updated_at_ms",
                     p, 3);
}
