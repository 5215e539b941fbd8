/*
 * DESIGN: one API over many nodes (docs/design/0070-one-api.md). Any node
 * answers the API from the shared index; media bytes live on one node: the
 * live hub and WebRTC of a camera on the node that holds its lease, a
 * recorded file on the node whose row names it. A media request that finds
 * nothing here is redirected (307, the method and body kept) to the node
 * that has it, at its node.url, with the same path and query and a `?t=`
 * token for what the caller was allowed here: the nodes of one database
 * derive their token keys from the secrets key they share, so the target
 * checks the token without a session or header (which a browser does not
 * carry to another origin). Nothing is read on the path that serves: only
 * a miss asks the database who has the media.
 *
 * Thread: http-N.
 */
#include "api_int.h"

#include "clock.h"
#include "err.h"
#include "media_token.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_MAX 2048

/* Whether node row n answers now: a fresh heartbeat, not stopped. */
static bool is_online(const struct api *ctx, const struct sto_node *n)
{
    int64_t now = clock_realtime_ms(ctx->clock);
    return !n->stopped_ms && now - n->heartbeat_ms <= ctx->node_ttl_ms;
}

int api_redirect_to_node(http_request *req, struct api *ctx, const char *node_id,
                         const struct auth_media_scope *scope, char *why, size_t why_size)
{
    why[0] = '\0';
    if (!ctx->db || !ctx->node_id || !node_id || !node_id[0] || strcmp(node_id, ctx->node_id) == 0)
        return 0;
    struct sto_node n;
    int rc = sto_node_get(ctx->db, node_id, &n);
    if (rc < 0) {
        snprintf(why, why_size, "node '%s' has it, and that node is not known here", node_id);
        return 0;
    }
    if (!is_online(ctx, &n)) {
        snprintf(why, why_size, "node '%s' has it, and that node is offline", node_id);
        sto_node_release(&n);
        return 0;
    }
    if (!n.url[0]) {
        snprintf(why, why_size, "node '%s' has it, and it has no node.url to redirect to", node_id);
        sto_node_release(&n);
        return 0;
    }
    char token[AUTH_MEDIA_TOKEN_MAX + 1];
    char query[QUERY_MAX];
    rc = api_media_token(ctx, req, scope, token, sizeof(token));
    int qn = rc < 0 ? rc : http_request_query_encode(req, "t", query, sizeof(query));
    if (qn < 0) {
        snprintf(why, why_size, "node '%s' has it; the redirect failed: %s", node_id,
                 horus_strerror(qn));
        sto_node_release(&n);
        return 0;
    }
    size_t ulen = strlen(n.url);
    while (ulen && n.url[ulen - 1] == '/')
        ulen--;
    char *loc = horus_asprintf("%.*s%s%s%s%s%s", (int)ulen, n.url, http_request_path(req),
                               qn || token[0] ? "?" : "", query, qn && token[0] ? "&" : "",
                               token[0] ? "t=" : "");
    char *full = horus_asprintf("%s%s", loc, token);
    free(loc);
    http_reply_header(req, "Location", full);
    free(full);
    explicit_bzero(token, sizeof(token));
    json_t *body = json_pack("{s:s, s:s}", "node", node_id, "message",
                             "this camera's media is on another node: follow Location");
    sto_node_release(&n);
    http_reply_json(req, 307, body);
    return 1;
}

int api_redirect_to_holder(http_request *req, struct api *ctx, const char *camera,
                           const struct auth_media_scope *scope, char *why, size_t why_size)
{
    why[0] = '\0';
    if (!ctx->db || !ctx->node_id)
        return 0;
    struct sto_camera_lease l;
    if (sto_camera_lease_get(ctx->db, camera, &l) < 0)
        return 0;
    int rc = 0;
    if (l.expires_ms >= clock_realtime_ms(ctx->clock))
        rc = api_redirect_to_node(req, ctx, l.node_id, scope, why, why_size);
    sto_camera_lease_release(&l);
    return rc;
}
