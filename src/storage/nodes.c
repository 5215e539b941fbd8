/*
 * DESIGN: the nodes repository (docs/design/0064-node-identity.md): one
 * row per node id that shares this index, claimed by one process at a
 * time. A claim is one conditional upsert, so two processes that start
 * together with one id cannot both win: the database serialises the two
 * statements and the second finds the first's fresh heartbeat. Whoever
 * holds the row is then read back. Reads on a reader, writes through the
 * writer thread (waited for). Times come from the database's horus_clock.
 */
#include "storage_int.h"

#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NODE_COLUMNS                                                                               \
    "id, instance, home, hostname, url, version, started_ms, heartbeat_ms, stopped_ms, "           \
    "draining_ms, capacity, labels, rebalance"

void sto_node_release(struct sto_node *n)
{
    if (!n)
        return;
    free(n->id);
    free(n->instance);
    free(n->home);
    free(n->hostname);
    free(n->url);
    free(n->version);
    free(n->labels);
    memset(n, 0, sizeof(*n));
}

static void node_decode(const struct sto_list_kind *kind, const sto_value *c, size_t ncols,
                        void *item)
{
    (void)kind;
    (void)ncols;
    struct sto_node *n = item;
    n->id = sto_col_text(&c[0]);
    n->instance = sto_col_text(&c[1]);
    n->home = sto_col_text(&c[2]);
    n->hostname = sto_col_text(&c[3]);
    n->url = sto_col_text(&c[4]);
    n->version = sto_col_text(&c[5]);
    n->started_ms = sto_col_int(&c[6]);
    n->heartbeat_ms = sto_col_int(&c[7]);
    n->stopped_ms = sto_col_int(&c[8]);
    n->draining_ms = sto_col_int(&c[9]);
    n->capacity = sto_col_int(&c[10]);
    n->labels = sto_col_text(&c[11]);
    n->is_rebalancing = sto_col_int(&c[12]) != 0;
}

static void node_release(const struct sto_list_kind *kind, void *item)
{
    (void)kind;
    sto_node_release(item);
}

static const struct sto_list_kind node_kind = {.size = sizeof(struct sto_node),
                                               .min_cols = 13,
                                               .decode = node_decode,
                                               .release = node_release};

int sto_node_get(sto_db *db, const char *id, struct sto_node *out)
{
    memset(out, 0, sizeof(*out));
    sto_value p[] = {STO_TEXT_V(id)};
    return sto_read_one(db, "SELECT " NODE_COLUMNS " FROM nodes WHERE id = $1", p, 1, &node_kind,
                        out);
}

/* 0 when instance holds id; else -EBUSY with the holder in *holder (or -ENOENT, an error). */
static int held_by(sto_db *db, const char *id, const char *instance, struct sto_node *holder)
{
    int rc = sto_node_get(db, id, holder);
    if (rc < 0)
        return rc;
    if (strcmp(holder->instance, instance) == 0) {
        sto_node_release(holder);
        return 0;
    }
    return -EBUSY;
}

int sto_node_claim(sto_db *db, const struct sto_node *me, int64_t stale_before_ms,
                   struct sto_node *holder)
{
    memset(holder, 0, sizeof(*holder));
    int64_t now = clock_realtime_ms(sto_db_clock(db));
    sto_value p[] = {STO_TEXT_V(me->id),
                     STO_TEXT_V(me->instance),
                     STO_TEXT_V(me->home),
                     STO_TEXT_V(me->hostname),
                     STO_TEXT_V(me->url),
                     STO_TEXT_V(me->version),
                     STO_INT_V(now),
                     STO_INT_V(stale_before_ms),
                     STO_INT_V(me->capacity),
                     STO_TEXT_V(me->labels ? me->labels : ""),
                     STO_INT_V(me->is_rebalancing)};
    int rc = sto_write(db,
                       "INSERT INTO nodes(" NODE_COLUMNS
                       ") VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 0, 0, $9, $10, $11)"
                       " ON CONFLICT(id) DO UPDATE SET instance = excluded.instance,"
                       " home = excluded.home, hostname = excluded.hostname, url = excluded.url,"
                       " version = excluded.version, started_ms = excluded.started_ms,"
                       " heartbeat_ms = excluded.heartbeat_ms, stopped_ms = 0,"
                       " capacity = excluded.capacity, labels = excluded.labels,"
                       " rebalance = excluded.rebalance"
                       " WHERE nodes.stopped_ms <> 0 OR nodes.heartbeat_ms < $8"
                       " OR nodes.home = excluded.home",
                       p, HORUS_ARRAY_LEN(p));
    if (rc < 0)
        return rc;
    rc = held_by(db, me->id, me->instance, holder);
    return rc == -ENOENT ? HORUS_EDB : rc; /* the row was just written */
}

int sto_node_heartbeat(sto_db *db, const char *id, const char *instance, struct sto_node *holder)
{
    memset(holder, 0, sizeof(*holder));
    sto_value p[] = {STO_TEXT_V(id), STO_TEXT_V(instance),
                     STO_INT_V(clock_realtime_ms(sto_db_clock(db)))};
    int rc = sto_write(db,
                       "UPDATE nodes SET heartbeat_ms = $3, stopped_ms = 0"
                       " WHERE id = $1 AND instance = $2",
                       p, 3);
    if (rc < 0)
        return rc;
    rc = held_by(db, id, instance, holder);
    return rc == -ENOENT ? -EBUSY : rc; /* deleted by hand: nobody holds it, nor do we */
}

int sto_node_stop(sto_db *db, const char *id, const char *instance)
{
    sto_value p[] = {STO_TEXT_V(id), STO_TEXT_V(instance),
                     STO_INT_V(clock_realtime_ms(sto_db_clock(db)))};
    return sto_write(db, "UPDATE nodes SET stopped_ms = $3 WHERE id = $1 AND instance = $2", p, 3);
}

int sto_nodes_list(sto_db *db, struct sto_node **out, size_t *n)
{
    return sto_read_list(db, "SELECT " NODE_COLUMNS " FROM nodes ORDER BY id", NULL, 0, &node_kind,
                         (void **)out, n);
}

int sto_node_drain(sto_db *db, const char *id, int64_t draining_ms)
{
    struct sto_node n;
    int rc = sto_node_get(db, id, &n);
    if (rc < 0)
        return rc;
    sto_node_release(&n);
    sto_value p[] = {STO_TEXT_V(id), STO_INT_V(draining_ms)};
    return sto_write(db, "UPDATE nodes SET draining_ms = $2 WHERE id = $1", p, 2);
}

void sto_nodes_free(struct sto_node *v, size_t n)
{
    sto_list_free(&node_kind, v, n);
}
