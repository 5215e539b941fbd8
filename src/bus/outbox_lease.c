/*
 * DESIGN: one node delivers each outbox consumer (docs/design/0071-outbox-
 * across-nodes.md). Nodes of one database share the outbox and its
 * cursors, so two nodes with the same bus, or the same webhook target,
 * would each deliver every message. A consumer's cursor row names the node
 * that delivers it until a time it renews every node.ttl / 3; another node
 * takes over once that time has passed (a crash) or the holder gave it up
 * (a clean stop), and reads the cursor where the holder left it.
 *
 * Thread: the consumer's own (a bus's thread, a webhook target's thread).
 */
#define LOG_MODULE "bus"

#include "outbox_lease.h"

#include "err.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void bus_outbox_lease_init(struct bus_outbox_lease *l, sto_db *db, const char *consumer,
                           const char *node, int64_t ttl_ms, const horus_clock *clock)
{
    memset(l, 0, sizeof(*l));
    l->db = db;
    snprintf(l->consumer, sizeof(l->consumer), "%s", consumer);
    l->node = node && node[0] ? node : NULL;
    l->ttl_ms = ttl_ms > 0 ? ttl_ms : 15000;
    l->clock = clock ? clock : clock_system();
}

enum bus_outbox_hold bus_outbox_lease_hold(struct bus_outbox_lease *l)
{
    if (!l->node)
        return BUS_OUTBOX_HELD;
    int64_t now = clock_realtime_ms(l->clock);
    if (now < l->next_ms)
        return l->is_held && now < l->valid_until_ms ? BUS_OUTBOX_HELD : BUS_OUTBOX_ELSEWHERE;
    int rc = sto_outbox_consumer_claim(l->db, l->consumer, l->node, now, now + l->ttl_ms);
    l->next_ms = now + l->ttl_ms / 3;
    bool was_held = l->is_held;
    if (rc == 0) {
        l->is_held = true;
        l->valid_until_ms = now + l->ttl_ms;
    } else if (rc == -EBUSY || rc == -ENOENT) {
        l->is_held = false;
    } else { /* the database does not answer: hold on while the last renewal lasts */
        log_warn_limited("outbox lease", LOG_KV({"consumer", l->consumer}),
                         "renew the delivery of %s: %s", l->consumer, horus_strerror(rc));
        l->is_held = l->is_held && now < l->valid_until_ms;
    }
    if (l->is_held != was_held || !l->is_said) {
        if (l->is_held)
            log_info_kv(LOG_KV({"consumer", l->consumer}, {"node_id", l->node}),
                        "this node delivers %s's messages", l->consumer);
        else
            log_info_kv(LOG_KV({"consumer", l->consumer}, {"node_id", l->node}),
                        "another node delivers %s's messages; this one stands by", l->consumer);
        l->is_said = true;
    }
    if (l->is_held && !was_held)
        return BUS_OUTBOX_TAKEN;
    return l->is_held ? BUS_OUTBOX_HELD : BUS_OUTBOX_ELSEWHERE;
}

void bus_outbox_lease_release(struct bus_outbox_lease *l)
{
    if (!l->node || !l->is_held)
        return;
    int rc = sto_outbox_consumer_release(l->db, l->consumer, l->node);
    if (rc < 0)
        log_warn_kv(LOG_KV({"consumer", l->consumer}), "give up the delivery of %s: %s",
                    l->consumer, horus_strerror(rc));
    l->is_held = false;
}
