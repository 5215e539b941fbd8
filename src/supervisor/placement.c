/*
 * DESIGN: which node should hold each camera (docs/design/0069-placement.md).
 * A pure function of what every node reads at each pass (the nodes, the
 * leases, the cameras' placement), so that the nodes agree without talking:
 * a camera whose holder may still run it stays where it is; any other goes
 * to the least loaded node that may run it and has room, ties to the lowest
 * id, cameras taken in id order. Load and capacity count enabled cameras
 * only. A draining node is a last resort: it keeps, or takes, what no
 * other node may run. The lease claim stays the arbiter when two nodes'
 * views differ for a moment.
 *
 * Rebalancing (node.rebalance): a node that joins, or comes back after its
 * cameras moved away, would otherwise stay empty. When a camera's holder
 * carries at least two cameras more than another node that may run it and
 * has room, it moves there; one move in the whole plan per pass (each
 * leaves a gap of about a GOP in that camera's recording), the one between
 * the most and the least loaded pair, ties to the first camera by id. A
 * move narrows the difference by two, so nothing moves back and forth.
 */
#include "sup_int.h"

#include <stdio.h>
#include <string.h>

/* Whether the comma-separated list csv holds the label [s, s + n). */
static bool has_label(const char *csv, const char *s, size_t n)
{
    for (const char *p = csv; *p;) {
        const char *end = strchr(p, ',');
        size_t k = end ? (size_t)(end - p) : strlen(p);
        if (k == n && memcmp(p, s, n) == 0)
            return true;
        p += k + (end != NULL);
    }
    return false;
}

/* Whether node n has every label of want (comma-separated); into *missing the first it lacks. */
static bool has_labels(const struct sup_place_node *n, const char *want, const char **missing,
                       size_t *missing_len)
{
    for (const char *p = want ? want : ""; *p;) {
        const char *end = strchr(p, ',');
        size_t k = end ? (size_t)(end - p) : strlen(p);
        if (k && !has_label(n->labels ? n->labels : "", p, k)) {
            if (missing) {
                *missing = p;
                *missing_len = k;
            }
            return false;
        }
        p += k + (end != NULL);
    }
    return true;
}

bool sup_place_may_run(const struct sup_place_node *n, const struct sup_place_camera *c)
{
    return n->is_live && (!c->node || !c->node[0] || strcmp(c->node, n->id) == 0) &&
           has_labels(n, c->labels, NULL, NULL);
}

bool sup_place_has_room(const struct sup_place_node *n, const struct sup_place_camera *c)
{
    return !c->is_enabled || n->capacity <= 0 || (int64_t)n->load < n->capacity;
}

/* The least loaded node that may run c and has room, draining ones only if is_draining. */
static int best(const struct sup_place_node *nodes, size_t nn, const struct sup_place_camera *c,
                bool is_draining, int except)
{
    int pick = -1;
    for (size_t i = 0; i < nn; i++)
        if ((int)i != except && nodes[i].is_draining == is_draining &&
            sup_place_may_run(&nodes[i], c) && sup_place_has_room(&nodes[i], c) &&
            (pick < 0 || nodes[i].load < nodes[pick].load))
            pick = (int)i;
    return pick;
}

/* One camera to a less loaded node, when is worth it (see the header comment). */
static void rebalance(struct sup_place_node *nodes, size_t nn, struct sup_place_camera *cams,
                      size_t nc)
{
    int move = -1, to = -1;
    size_t gain = 1; /* a difference of one is as balanced as it gets */
    for (size_t i = 0; i < nc; i++) {
        const struct sup_place_camera *c = &cams[i];
        if (c->holder < 0 || c->chosen != c->holder || !c->is_enabled ||
            nodes[c->holder].is_draining || !nodes[c->holder].is_rebalancing)
            continue;
        int dst = best(nodes, nn, c, false, c->holder);
        if (dst < 0 || nodes[c->holder].load < nodes[dst].load + 2)
            continue;
        if (nodes[c->holder].load - nodes[dst].load > gain) {
            gain = nodes[c->holder].load - nodes[dst].load;
            move = (int)i;
            to = dst;
        }
    }
    if (move < 0)
        return;
    nodes[cams[move].holder].load--;
    nodes[to].load++;
    cams[move].chosen = to;
}

void sup_place_plan(struct sup_place_node *nodes, size_t nn, struct sup_place_camera *cams,
                    size_t nc)
{
    for (size_t i = 0; i < nn; i++)
        nodes[i].load = 0;
    for (size_t i = 0; i < nc; i++)
        if (cams[i].holder >= 0 && cams[i].is_enabled)
            nodes[cams[i].holder].load++;
    /* Held cameras first: they stay unless their holder may not run them. */
    for (size_t i = 0; i < nc; i++) {
        struct sup_place_camera *c = &cams[i];
        c->chosen = -1;
        if (c->holder < 0)
            continue;
        struct sup_place_node *h = &nodes[c->holder];
        bool is_allowed = sup_place_may_run(h, c);
        if (is_allowed && !h->is_draining) {
            c->chosen = c->holder;
            continue;
        }
        if (is_allowed && best(nodes, nn, c, false, c->holder) < 0) {
            c->chosen = c->holder; /* draining, but no other node may take it */
            continue;
        }
        if (c->is_enabled)
            h->load--;
        c->holder = -2; /* to move: placed below with the free ones */
    }
    for (size_t i = 0; i < nc; i++) {
        struct sup_place_camera *c = &cams[i];
        if (c->holder >= 0)
            continue;
        int pick = best(nodes, nn, c, false, -1);
        if (pick < 0)
            pick = best(nodes, nn, c, true, -1);
        c->chosen = pick;
        if (pick >= 0 && c->is_enabled)
            nodes[pick].load++;
    }
    rebalance(nodes, nn, cams, nc);
}

void sup_place_why_not(const struct sup_place_node *nodes, size_t nn,
                       const struct sup_place_camera *c, char *buf, size_t size)
{
    if (c->node && c->node[0]) {
        for (size_t i = 0; i < nn; i++)
            if (strcmp(nodes[i].id, c->node) == 0) {
                const char *missing = NULL;
                size_t k = 0;
                if (!nodes[i].is_live)
                    snprintf(buf, size, "placement.node is '%s', which is offline", c->node);
                else if (!has_labels(&nodes[i], c->labels, &missing, &k))
                    snprintf(buf, size, "placement.node is '%s', which lacks label '%.*s'", c->node,
                             (int)k, missing);
                else
                    snprintf(buf, size,
                             "placement.node is '%s', which is full (node.capacity %lld)", c->node,
                             (long long)nodes[i].capacity);
                return;
            }
        snprintf(buf, size, "placement.node is '%s', which no node sharing the database is",
                 c->node);
        return;
    }
    size_t labelled = 0;
    for (size_t i = 0; i < nn; i++)
        labelled += nodes[i].is_live && sup_place_may_run(&nodes[i], c);
    if (!labelled)
        snprintf(buf, size, "no online node has every label of placement.labels '%s'",
                 c->labels ? c->labels : "");
    else
        snprintf(buf, size, "every online node that may record it is full (node.capacity)");
}
