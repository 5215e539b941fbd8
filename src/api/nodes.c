/*
 * DESIGN: GET /api/v1/nodes (admin; docs/design/0064-node-identity.md):
 * the nodes that share this database, as their rows say, with a state
 * computed against this node's clock and node.ttl: "online" while the
 * heartbeat is fresh, "stopped" after a clean stop, "offline" when the
 * heartbeat ran out (killed, frozen or cut off from the database); and the
 * cameras whose lease each holds now (docs/design/0065), and since when
 * it drains (`horus node drain`, docs/design/0067).
 * Read-only: the rows are written by each node for itself (daemon/node.c).
 */
#include "api_int.h"

#include "clock.h"
#include "err.h"
#include "mem.h"

#include <string.h>

static json_t *ms_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char buf[40];
    clock_format_rfc3339_ms(ms, buf, sizeof(buf));
    return json_string(buf);
}

static const char *node_state(const struct sto_node *n, int64_t now_ms, int64_t ttl_ms)
{
    if (n->stopped_ms > 0)
        return "stopped";
    return now_ms - n->heartbeat_ms <= ttl_ms ? "online" : "offline";
}

static int nodes_get(http_request *req, void *arg)
{
    struct api *a = arg;
    struct sto_node *v;
    size_t n;
    struct sto_camera_lease *leases = NULL;
    size_t nleases = 0;
    int rc = sto_nodes_list(a->db, &v, &n);
    if (rc == 0 && (rc = sto_camera_leases_list(a->db, &leases, &nleases)) < 0)
        sto_nodes_free(v, n);
    if (rc < 0)
        return http_reply_error(req, rc, "read nodes: %s", horus_strerror(rc));
    int64_t now = clock_realtime_ms(a->clock);
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        const struct sto_node *x = &v[i];
        json_t *cams = json_array();
        for (size_t k = 0; k < nleases; k++)
            if (strcmp(leases[k].node_id, x->id) == 0 && leases[k].expires_ms >= now)
                json_array_append_new(cams, json_string(leases[k].camera_id));
        json_array_append_new(
            items, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o}", "id", x->id,
                             "state", node_state(x, now, a->node_ttl_ms), "hostname", x->hostname,
                             "url", x->url, "version", x->version, "self",
                             a->node_id && strcmp(a->node_id, x->id) == 0, "started_at",
                             ms_json(x->started_ms), "heartbeat_at", ms_json(x->heartbeat_ms),
                             "stopped_at", ms_json(x->stopped_ms), "draining_since",
                             ms_json(x->draining_ms), "cameras", cams));
        json_t *item = json_array_get(items, json_array_size(items) - 1);
        json_object_set_new(item, "capacity", json_integer(x->capacity));
        json_object_set_new(item, "labels", api_labels_json(x->labels));
        json_object_set_new(item, "rebalance", json_boolean(x->is_rebalancing));
    }
    sto_nodes_free(v, n);
    sto_camera_leases_free(leases, nleases);
    return http_reply_json(
        req, 200, json_pack("{s:o, s:I}", "nodes", items, "ttl_ms", (json_int_t)a->node_ttl_ms));
}

int api_nodes_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/nodes", nodes_get},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
