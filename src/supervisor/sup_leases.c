/*
 * DESIGN: the supervisor's side of camera leases (sup_int.h,
 * docs/design/0065-camera-leases.md). Each sync pass reads every lease
 * once; a camera is claimed only when its lease is missing or expired, so
 * a node does not write once a second for each camera another node holds.
 * This node's leases are renewed together, one UPDATE every ttl / 3.
 */
#define LOG_MODULE "supervisor"

#include "sup_int.h"

#include "clock.h"
#include "err.h"
#include "log.h"
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Reads the nodes: whether another node's heartbeat is younger than the
 * TTL (a read error counts as a peer: stopping on a lapse is the safe side
 * when unsure), and whether this node is asked to drain (a read error
 * keeps what was known).
 */
static void read_nodes(struct sup_leases *l, sto_db *db)
{
    struct sto_node *v = NULL;
    size_t n = 0, peers = 0;
    if (sto_nodes_list(db, &v, &n) < 0) {
        l->has_peers = true;
        return;
    }
    bool was_draining = l->is_draining;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].id, l->node) == 0)
            l->is_draining = v[i].draining_ms != 0;
        else if (!v[i].stopped_ms && v[i].heartbeat_ms + l->ttl_ms >= l->now_ms)
            peers++;
    }
    sto_nodes_free(v, n);
    l->has_peers = peers > 0;
    if (l->is_draining != was_draining)
        log_info_kv(LOG_KV({"node_id", l->node}),
                    l->is_draining ? "node drain asked: this node's cameras go to the other nodes"
                                   : "node drain ended: this node takes cameras again");
    if (!l->is_draining || l->has_peers)
        l->is_drain_waiting = false;
    else if (!l->is_drain_waiting) {
        log_warn_kv(LOG_KV({"node_id", l->node}),
                    "node draining, but no other node is alive: it keeps its cameras until one "
                    "starts");
        l->is_drain_waiting = true;
    }
}

int sup_leases_begin(struct sup_leases *l, sto_db *db)
{
    if (!l->node)
        return 0;
    l->now_ms = clock_realtime_ms(clock_system());
    if (l->now_ms >= l->next_renew_ms) {
        int rc = sto_camera_leases_renew(db, l->node, l->now_ms + l->ttl_ms);
        if (rc < 0)
            return rc;
        l->valid_until_ms = l->now_ms + l->ttl_ms; /* from before the write: early, not late */
        l->next_renew_ms = l->now_ms + l->ttl_ms / 3;
        read_nodes(l, db);
        if (l->is_fenced)
            log_info("camera leases renewed again: cameras this node holds start again");
        l->is_fenced = false;
    }
    l->n_giving_up = 0;
    return sto_camera_leases_list(db, &l->v, &l->n);
}

bool sup_leases_lapsed(struct sup_leases *l)
{
    if (!l->node || !l->has_peers || clock_realtime_ms(clock_system()) < l->valid_until_ms)
        return false;
    if (!l->is_fenced)
        log_error_kv(LOG_KV({"node_id", l->node}),
                     "camera leases ran out without a renewal (the database does not answer): "
                     "every camera stops here, so that another node may record it");
    l->is_fenced = true;
    return true;
}

static int by_camera(const void *key, const void *item)
{
    return strcmp(key, ((const struct sto_camera_lease *)item)->camera_id);
}

bool sup_leases_hold(struct sup_leases *l, sto_db *db, const char *camera, int64_t *token,
                     int64_t *not_before_ms)
{
    *token = *not_before_ms = 0;
    if (!l->node)
        return true;
    const struct sto_camera_lease *x =
        l->n ? bsearch(camera, l->v, l->n, sizeof(*l->v), by_camera) : NULL; /* v NULL when 0 */
    if (l->is_draining && l->has_peers) {
        /* Draining: run nothing, claim nothing; what this node holds is given up. */
        if (x && strcmp(x->node_id, l->node) == 0)
            l->n_giving_up++;
        return false;
    }
    if (x && strcmp(x->node_id, l->node) == 0) {
        if (x->expires_ms >= l->now_ms) {
            *token = x->token;
            return true;
        }
    } else if (x && x->expires_ms >= l->now_ms) {
        return false; /* another node's, and alive */
    }
    /* Free, expired, or ours but expired (this node was frozen): claim it now. */
    int rc = sto_camera_lease_claim(db, camera, l->node, l->now_ms, l->now_ms + l->ttl_ms, token);
    if (rc == 0) {
        /* Taken over from a node whose lease ran out: it may have recorded until then. */
        *not_before_ms = x && strcmp(x->node_id, l->node) != 0 ? x->expires_ms : 0;
        log_info_kv(LOG_KV({"camera", camera}, {"node_id", l->node}, {"from", x ? x->node_id : ""}),
                    "camera lease taken: this node records it");
        return true;
    }
    if (rc != -EBUSY)
        log_warn_limited("lease claim", LOG_KV({"camera", camera}), "claim camera lease: %s",
                         horus_strerror(rc));
    return false;
}

void sup_leases_give_up(struct sup_leases *l, sto_db *db)
{
    if (!l->n_giving_up)
        return;
    int rc = sto_camera_leases_release(db, l->node, NULL);
    if (rc < 0)
        log_warn("give up camera leases (drain): %s; retried next pass", horus_strerror(rc));
    else
        log_info_kv(LOG_KV({"node_id", l->node}),
                    "node draining: %zu camera leases given up to the other nodes", l->n_giving_up);
    l->n_giving_up = 0;
}

void sup_leases_end(struct sup_leases *l)
{
    sto_camera_leases_free(l->v, l->n);
    l->v = NULL;
    l->n = 0;
}

void sup_leases_release(struct sup_leases *l, sto_db *db)
{
    sup_leases_end(l);
    if (l->node) {
        int rc = sto_camera_leases_release(db, l->node, NULL);
        if (rc < 0)
            log_warn("give up camera leases: %s", horus_strerror(rc));
    }
    free(l->node);
    l->node = NULL;
}
