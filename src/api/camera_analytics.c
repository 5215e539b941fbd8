/*
 * DESIGN: /api/v1/cameras/{id}/analytics: a camera's analytics document
 * (zones, motion masks, tripwires, object filters; docs/design/0039).
 * GET (viewer) returns the document with every field, defaults filled in;
 * PUT (operator) replaces it. The body goes through the same strict parser
 * the analysis pipeline runs (det_analytics_from_json), so what is stored
 * always runs; a refusal is 400 naming the field path
 * ("zones[1].polygon: self-intersecting"). The canonical form is stored,
 * so GET returns what PUT stored. Cameras provisioned from horus.yaml are
 * read-only here (409), as for the rest of the camera.
 *
 * Thread: http-N. Reads use the reader pool, writes the writer thread.
 */
#include "api_int.h"

#include "analysis.h"
#include "analytics_cfg.h"
#include "detect.h"
#include "events.h"
#include "err.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The stored document of c, defaults filled in (new), or NULL after replying 500. */
static json_t *document_of(http_request *req, const struct sto_camera *c)
{
    const char *text = c->analytics ? c->analytics : "";
    struct det_analytics *a = NULL;
    char *err = NULL;
    int rc = det_analytics_parse(text, strlen(text), NULL, 0, &a, &err);
    if (rc < 0) { /* only a row written around the API could hold this */
        http_reply_error(req, -EIO, "camera '%s': stored analytics document: %s", c->id,
                         err ? err : "invalid");
        free(err);
        return NULL;
    }
    json_t *j = det_analytics_to_json(a);
    det_analytics_free(a);
    return j;
}

static int analytics_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_camera c;
    if (api_camera_load(req, ctx, http_request_param(req, "id"), &c) < 0)
        return 0;
    json_t *j = document_of(req, &c);
    sto_camera_release(&c);
    return j ? http_reply_json(req, 200, j) : 0;
}

static int analytics_put(http_request *req, void *arg)
{
    struct api *ctx = arg;
    const char *id = http_request_param(req, "id");
    struct sto_camera cur;
    if (api_camera_load(req, ctx, id, &cur) < 0)
        return 0;
    if (cur.provisioned) {
        sto_camera_release(&cur);
        return http_reply_error(req, -EBUSY,
                                "camera '%s' is provisioned from horus.yaml; change its "
                                "analytics there",
                                id);
    }
    json_t *body;
    if (http_request_json(req, &body) < 0) {
        sto_camera_release(&cur);
        return 0;
    }
    struct det_analytics *a = NULL;
    char *err = NULL;
    char **labels = NULL;
    int nlabels = 0;
    if (ctx->analysis)
        det_analysis_labels(ctx->analysis, &labels, &nlabels);
    int rc = det_analytics_from_json(body, (const char *const *)labels, (size_t)nlabels, &a, &err);
    det_labels_free(labels, nlabels);
    json_decref(body);
    if (rc < 0) {
        http_reply_error(req, -EINVAL, "%s", err ? err : "analytics: invalid");
        free(err);
        sto_camera_release(&cur);
        return 0;
    }
    json_t *doc = det_analytics_to_json(a);
    det_analytics_free(a);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    struct sto_camera_input in = sto_camera_input_of(&cur);
    in.analytics = text;
    rc = sto_camera_update(ctx->db, &in);
    free(text);
    sto_camera_release(&cur);
    if (rc < 0) {
        json_decref(doc);
        return http_reply_error(req, rc, "update the analytics of camera '%s': %s", id,
                                horus_strerror(rc));
    }
    json_t *d = json_pack("{s:s, s:[s]}", "method", "PUT", "fields", "analytics");
    auth_audit_request(ctx->audit, req, AUTH_AUDIT_CAMERA_UPDATED, AUTH_AUDIT_OK, "camera", id, d);
    json_decref(d);
    return http_reply_json(req, 200, doc);
}

/* GET /api/v1/cameras/{id}/counters: its tripwire counters since the daemon started. */
static int counters_get(http_request *req, void *arg)
{
    struct api *ctx = arg;
    struct sto_camera c;
    if (api_camera_load(req, ctx, http_request_param(req, "id"), &c) < 0)
        return 0;
    sto_camera_release(&c);
    if (!ctx->events)
        return http_reply_error(req, -EAGAIN, "the events engine is not running");
    return http_reply_json(req, 200,
                           evt_engine_counters(ctx->events, http_request_param(req, "id")));
}

int api_camera_analytics_register(http_router *r, struct api *ctx)
{
    static const struct api_route routes[] = {
        {"GET", "/api/v1/cameras/{id}/analytics", analytics_get},
        {"PUT", "/api/v1/cameras/{id}/analytics", analytics_put},
        {"GET", "/api/v1/cameras/{id}/counters", counters_get},
    };
    return api_routes_add(r, routes, HORUS_ARRAY_LEN(routes), ctx);
}
