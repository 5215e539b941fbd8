/*
 * DESIGN: the supervisor's side of camera leases (sup_int.h,
 * docs/design/0065-camera-leases.md) and placement (0069). Each sync pass
 * reads the nodes and every lease once, and plans which node should hold
 * each camera (placement.c); a camera is claimed only when its lease is
 * missing or expired and the plan gives it to this node, so a node does
 * not write once a second for each camera another node holds. A camera
 * this node holds but should not (pinned elsewhere, labels it lacks,
 * draining) is given up after its pipeline stopped. A camera planned for
 * another node that has not claimed it within the TTL is claimed here if
 * this node may run it: views of the nodes differ for a moment, never for
 * long. This node's leases are renewed together, one UPDATE every ttl / 3.
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

/* Whether node v is alive by its heartbeat, at the pass's time. */
static bool is_live(const struct sup_leases *l, const struct sto_node *v)
{
    return strcmp(v->id, l->node) == 0 ||
           (!v->stopped_ms && v->heartbeat_ms + l->ttl_ms >= l->now_ms);
}

/*
 * Reads the nodes (kept for the pass's plan): whether another node is
 * alive (a read error counts as a peer: stopping on a lapse is the safe
 * side when unsure), and whether this node is asked to drain (a read
 * error keeps what was known).
 */
static void read_nodes(struct sup_leases *l, sto_db *db)
{
    size_t peers = 0;
    if (sto_nodes_list(db, &l->nodes, &l->nnodes) < 0) {
        l->nodes = NULL;
        l->nnodes = 0;
        l->has_peers = true;
        return;
    }
    bool was_draining = l->is_draining;
    for (size_t i = 0; i < l->nnodes; i++) {
        if (strcmp(l->nodes[i].id, l->node) == 0)
            l->is_draining = l->nodes[i].draining_ms != 0;
        else if (is_live(l, &l->nodes[i]))
            peers++;
    }
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
        if (l->is_fenced)
            log_info("camera leases renewed again: cameras this node holds start again");
        l->is_fenced = false;
    }
    read_nodes(l, db);
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

static const struct sto_camera_lease *lease_of(const struct sup_leases *l, const char *camera)
{
    return l->n ? bsearch(camera, l->v, l->n, sizeof(*l->v), by_camera) : NULL; /* v NULL if 0 */
}

static int node_index(const struct sup_leases *l, const char *id)
{
    for (size_t i = 0; i < l->npn; i++)
        if (strcmp(l->pn[i].id, id) == 0)
            return (int)i;
    return -1;
}

void sup_leases_plan(struct sup_leases *l, const struct sto_camera *cams, size_t n)
{
    if (!l->node)
        return;
    /* Nodes unread (an error): this node alone, as before nodes had rows. */
    bool is_listed = false;
    for (size_t i = 0; i < l->nnodes; i++)
        is_listed = is_listed || strcmp(l->nodes[i].id, l->node) == 0;
    l->npn = l->nnodes + !is_listed;
    l->pn = horus_calloc(l->npn, sizeof(*l->pn));
    for (size_t i = 0; i < l->nnodes; i++) {
        const struct sto_node *v = &l->nodes[i];
        l->pn[i] = (struct sup_place_node){.id = v->id,
                                           .labels = v->labels,
                                           .capacity = v->capacity,
                                           .is_live = is_live(l, v),
                                           .is_draining = v->draining_ms != 0,
                                           .is_rebalancing = v->is_rebalancing};
    }
    if (!is_listed)
        l->pn[l->nnodes] = (struct sup_place_node){.id = l->node, .labels = "", .is_live = true};
    l->self = node_index(l, l->node);
    l->pc = horus_calloc(n ? n : 1, sizeof(*l->pc));
    l->npc = n;
    for (size_t i = 0; i < n; i++) {
        const struct sto_camera_lease *x = lease_of(l, cams[i].id);
        l->pc[i] = (struct sup_place_camera){
            .id = cams[i].id,
            .node = cams[i].placement_node,
            .labels = cams[i].placement_labels,
            .is_enabled = cams[i].enabled,
            .holder = x && x->expires_ms >= l->now_ms ? node_index(l, x->node_id) : -1};
    }
    sup_place_plan(l->pn, l->npn, l->pc, n);
}

const char *sup_leases_chosen(const struct sup_leases *l, size_t i)
{
    return l->node && i < l->npc && l->pc[i].chosen >= 0 ? l->pn[l->pc[i].chosen].id : NULL;
}

/* The wait of camera i, carried from the last pass or begun now. */
static struct sup_lease_wait *wait_of(struct sup_leases *l, const char *camera)
{
    struct sup_lease_wait *w = NULL;
    for (size_t k = 0; k < l->nwaits && !w; k++) /* small: cameras nobody took yet */
        if (l->waits[k].camera && strcmp(l->waits[k].camera, camera) == 0)
            w = &l->waits[k];
    l->next_waits = horus_realloc(l->next_waits, (l->nnext + 1) * sizeof(*l->next_waits));
    struct sup_lease_wait *out = &l->next_waits[l->nnext++];
    if (w) {
        *out = *w;
        w->camera = NULL; /* moved */
    } else {
        *out = (struct sup_lease_wait){.camera = horus_strdup(camera), .since_ms = l->now_ms};
    }
    return out;
}

static bool claim(struct sup_leases *l, sto_db *db, const char *camera,
                  const struct sto_camera_lease *x, int64_t *token, int64_t *not_before_ms)
{
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

enum sup_hold sup_leases_hold(struct sup_leases *l, sto_db *db, size_t i, int64_t *token,
                              int64_t *not_before_ms)
{
    *token = *not_before_ms = 0;
    if (!l->node)
        return SUP_HOLD_YES;
    const struct sup_place_camera *c = &l->pc[i];
    const struct sto_camera_lease *x = lease_of(l, c->id);
    bool is_mine = c->chosen == l->self;
    if (x && x->expires_ms >= l->now_ms) {
        if (strcmp(x->node_id, l->node) != 0)
            return SUP_HOLD_NO; /* another node's, and alive */
        if (is_mine) {
            *token = x->token;
            return SUP_HOLD_YES;
        }
        l->giving_up = horus_realloc(l->giving_up, (l->n_giving_up + 1) * sizeof(*l->giving_up));
        l->giving_up[l->n_giving_up++] = horus_strdup(c->id);
        return SUP_HOLD_GIVE_UP;
    }
    /* Free, expired, or ours but expired (this node was frozen). */
    if (is_mine)
        return claim(l, db, c->id, x, token, not_before_ms) ? SUP_HOLD_YES : SUP_HOLD_NO;
    struct sup_lease_wait *w = wait_of(l, c->id);
    if (c->chosen < 0) {
        if (!w->is_logged) {
            char why[256];
            sup_place_why_not(l->pn, l->npn, c, why, sizeof(why));
            log_warn_kv(LOG_KV({"camera", c->id}, {"node_id", l->node}),
                        "no node may record this camera now: %s", why);
            w->is_logged = true;
        }
        return SUP_HOLD_NO;
    }
    /* Planned for another node that has not taken it within the TTL: take it if allowed. */
    const struct sup_place_node *me = &l->pn[l->self];
    if (l->now_ms - w->since_ms < l->ttl_ms || !sup_place_may_run(me, c) || me->is_draining ||
        !sup_place_has_room(me, c))
        return SUP_HOLD_NO;
    log_warn_kv(LOG_KV({"camera", c->id}, {"planned", l->pn[c->chosen].id}),
                "the node placement chose has not taken this camera within node.ttl: taking it");
    if (!claim(l, db, c->id, x, token, not_before_ms))
        return SUP_HOLD_NO;
    free(w->camera); /* the last wait, just carried on: it ends here */
    l->nnext--;
    return SUP_HOLD_YES;
}

void sup_leases_give_up(struct sup_leases *l, sto_db *db)
{
    size_t given = 0;
    for (size_t i = 0; i < l->n_giving_up; i++) {
        int rc = sto_camera_leases_release(db, l->node, l->giving_up[i]);
        if (rc < 0)
            log_warn_kv(LOG_KV({"camera", l->giving_up[i]}),
                        "give up camera lease: %s; retried next pass", horus_strerror(rc));
        else
            given++;
        free(l->giving_up[i]);
    }
    if (given)
        log_info_kv(LOG_KV({"node_id", l->node}),
                    "%zu camera leases given up to the nodes placement chose", given);
    free(l->giving_up);
    l->giving_up = NULL;
    l->n_giving_up = 0;
}

static void waits_free(struct sup_lease_wait *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].camera);
    free(v);
}

void sup_leases_end(struct sup_leases *l)
{
    sto_camera_leases_free(l->v, l->n);
    l->v = NULL;
    l->n = 0;
    sto_nodes_free(l->nodes, l->nnodes);
    l->nodes = NULL;
    l->nnodes = 0;
    if (l->pc) { /* a planned pass: the waits it carried on replace the last pass's */
        waits_free(l->waits, l->nwaits);
        l->waits = l->next_waits;
        l->nwaits = l->nnext;
        l->next_waits = NULL;
        l->nnext = 0;
    }
    free(l->pn);
    free(l->pc);
    l->pn = NULL;
    l->pc = NULL;
    l->npn = l->npc = 0;
}

void sup_leases_release(struct sup_leases *l, sto_db *db)
{
    sup_leases_end(l);
    waits_free(l->waits, l->nwaits);
    waits_free(l->next_waits, l->nnext);
    l->waits = l->next_waits = NULL;
    l->nwaits = l->nnext = 0;
    for (size_t i = 0; i < l->n_giving_up; i++)
        free(l->giving_up[i]);
    free(l->giving_up);
    l->giving_up = NULL;
    l->n_giving_up = 0;
    if (l->node) {
        int rc = sto_camera_leases_release(db, l->node, NULL);
        if (rc < 0)
            log_warn("give up camera leases: %s", horus_strerror(rc));
    }
    free(l->node);
    l->node = NULL;
}
