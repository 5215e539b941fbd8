/*
 * Private to src/bus: which node delivers an outbox consumer's messages
 * (outbox_lease.c; docs/design/0071-outbox-across-nodes.md).
 */
#ifndef HORUS_BUS_OUTBOX_LEASE_H
#define HORUS_BUS_OUTBOX_LEASE_H

#include "clock.h"
#include "storage.h"

#include <stdbool.h>
#include <stdint.h>

struct bus_outbox_lease {
    sto_db *db; /* borrowed */
    char consumer[96]; /* "mqtt", "webhook:<id>" */
    const char *node; /* borrowed; NULL = no other node: always held */
    int64_t ttl_ms;
    const horus_clock *clock; /* borrowed */
    int64_t next_ms; /* the next claim or renewal (wall clock, as the rows are) */
    int64_t valid_until_ms; /* the last renewal that committed, plus the TTL */
    bool is_held;
    bool is_said; /* the state was logged */
};

enum bus_outbox_hold {
    BUS_OUTBOX_ELSEWHERE, /* another node delivers: read nothing */
    BUS_OUTBOX_HELD, /* this node delivers */
    BUS_OUTBOX_TAKEN, /* this node delivers from now on: read the cursor again first */
};

void bus_outbox_lease_init(struct bus_outbox_lease *l, sto_db *db, const char *consumer,
                           const char *node, int64_t ttl_ms, const horus_clock *clock);
/*
 * Whether this node delivers the consumer now; claims or renews in the
 * database every ttl / 3, and otherwise answers from what it knows. The
 * consumer's cursor must exist (sto_outbox_cursor_open).
 */
enum bus_outbox_hold bus_outbox_lease_hold(struct bus_outbox_lease *l);
/* Gives the consumer up when held (a clean stop: another node takes it at once). */
void bus_outbox_lease_release(struct bus_outbox_lease *l);

#endif
