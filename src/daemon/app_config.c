/*
 * DESIGN: the root schema of horus.yaml, assembled from the tables that
 * each module owns, plus checks that span sections.
 */
#include "analytics_cfg.h"
#include "app.h"
#include "auth.h"

#include "err.h"
#include "ingest.h"
#include "mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The RTSP client's own check (ingest.h), so a URL it cannot use fails at load. */
static int validate_rtsp_url(const void *value, char *err, size_t size)
{
    const char *url = *(char *const *)value;
    if (!url || !url[0])
        return 0; /* optional fields; required ones are enforced by is_required */
    return ing_url_check(url, err, size);
}

/* A camera's transport: "" (ingest.transport), auto, tcp or udp (docs/design/0034). */
static int validate_camera_transport(const void *value, char *err, size_t size)
{
    const char *s = *(const char *const *)value;
    if (!s || !s[0] || strcmp(s, "auto") == 0 || strcmp(s, "tcp") == 0 || strcmp(s, "udp") == 0)
        return 0;
    snprintf(err, size, "must be auto, tcp or udp");
    return -EINVAL;
}

/* A camera's client: "" (ingest.client), native or libav. */
static int validate_camera_client(const void *value, char *err, size_t size)
{
    const char *s = *(const char *const *)value;
    if (!s || !s[0] || strcmp(s, "native") == 0 || strcmp(s, "libav") == 0)
        return 0;
    snprintf(err, size, "must be native or libav");
    return -EINVAL;
}

/*
 * A camera's analytics: map, checked by the parser the API and the analysis
 * pipeline use; its "PATH: reason" becomes the position and key path of the
 * offending node (docs/design/0039).
 */
static int validate_camera_analytics(const json_t *value, char *where, size_t where_size, char *err,
                                     size_t err_size)
{
    struct det_analytics *a = NULL;
    char *msg = NULL;
    int rc = det_analytics_from_json(value, NULL, 0, &a, &msg);
    det_analytics_free(a);
    if (rc == 0)
        return 0;
    const char *text = msg ? msg : "invalid";
    const char *sep = strstr(text, ": ");
    size_t len = sep ? (size_t)(sep - text) : 0;
    bool is_root = len == strlen("analytics") && strncmp(text, "analytics", len) == 0;
    snprintf(where, where_size, "%.*s", is_root ? 0 : (int)len, text);
    snprintf(err, err_size, "%s", sep ? sep + 2 : text);
    free(msg);
    return -EINVAL;
}

/* One entry of a camera's groups: a name grants can use as "group:NAME". */
static int validate_group(const void *value, char *err, size_t size)
{
    const char *s = *(const char *const *)value;
    if (auth_group_name_is_valid(s))
        return 0;
    snprintf(err, size, "'%.70s' is not a group name", s ? s : "");
    return -EINVAL;
}

/*
 * The `cameras:` tables stay with the root schema: a YAML camera is not
 * ingest's setting but a row the daemon provisions into the database at
 * start and on reload (docs/contract.md §4), which the supervisor then runs.
 */
#define CAM_REC_OFF(f)                                                                             \
    (offsetof(struct app_camera_config, record.f) - offsetof(struct app_camera_config, record))

static const cfg_field camera_record_fields[] = {
    {.name = "enabled",
     .type = CFG_BOOL,
     .offset = CAM_REC_OFF(enabled),
     .def = "true",
     .is_reloadable = true,
     .help = "Record this camera continuously"},
    {.name = "segment_seconds",
     .type = CFG_INT,
     .offset = CAM_REC_OFF(segment_seconds),
     .def = "60",
     .min = 2,
     .max = 3600,
     .is_reloadable = true,
     .help = "Target segment length; cut at the first keyframe after it"},
    {.name = "retention_days",
     .type = CFG_INT,
     .offset = CAM_REC_OFF(retention_days),
     .def = "14",
     .min = 1,
     .max = 3650,
     .is_reloadable = true,
     .help = "Delete recordings older than this"},
    {.name = "max_bytes",
     .type = CFG_BYTES,
     .offset = CAM_REC_OFF(max_bytes),
     .def = "0",
     .is_reloadable = true,
     .help = "Cap on this camera's recordings; 0 = no cap"},
    {0},
};

/* A camera's placement.node: a node id, or "" for any node. */
static int validate_placement_node(const void *value, char *err, size_t size)
{
    return app_node_id_check(value, err, size);
}

static const cfg_field camera_placement_fields[] = {
    {.name = "node",
     .type = CFG_STRING,
     .offset = offsetof(struct app_camera_config, placement.node) -
               offsetof(struct app_camera_config, placement),
     .def = "",
     .validate_cb = validate_placement_node,
     .is_reloadable = true,
     .help = "The one node that may record this camera (it does not fail over); empty = any"},
    {.name = "labels",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct app_camera_config, placement.labels) -
               offsetof(struct app_camera_config, placement),
     .count_offset = offsetof(struct app_camera_config, placement.nlabels) -
                     offsetof(struct app_camera_config, placement),
     .max = 32,
     .validate_cb = app_label_check,
     .pattern_help = "1..64 characters of [a-z0-9_-]",
     .is_reloadable = true,
     .help = "Labels a node must all have (node.labels) to record this camera"},
    {0},
};

static const cfg_field camera_fields[] = {
    {.name = "id",
     .type = CFG_STRING,
     .offset = offsetof(struct app_camera_config, id),
     .is_required = true,
     .validate_cb = cfg_validate_id,
     .help = "[a-z0-9_-]{1,64}; used in URLs, file names and metric labels"},
    {.name = "name",
     .type = CFG_STRING,
     .offset = offsetof(struct app_camera_config, name),
     .def = "",
     .is_reloadable = true,
     .help = "Display name"},
    {.name = "url",
     .type = CFG_STRING,
     .offset = offsetof(struct app_camera_config, url),
     .is_required = true,
     .validate_cb = validate_rtsp_url,
     .is_reloadable = true,
     .help = "Main stream RTSP URL; credentials may use ${ENV} or file:PATH"},
    {.name = "sub_url",
     .type = CFG_STRING,
     .offset = offsetof(struct app_camera_config, sub_url),
     .def = "",
     .validate_cb = validate_rtsp_url,
     .is_reloadable = true,
     .help = "Optional low-resolution stream for live grids and analytics"},
    {.name = "enabled",
     .type = CFG_BOOL,
     .offset = offsetof(struct app_camera_config, enabled),
     .def = "true",
     .is_reloadable = true,
     .help = "Connect to this camera"},
    {.name = "transport",
     .type = CFG_STRING,
     .offset = offsetof(struct app_camera_config, transport),
     .def = "",
     .validate_cb = validate_camera_transport,
     .is_reloadable = true,
     .help = "RTP transport: auto (TCP, then UDP if the camera refuses TCP), tcp or udp; "
             "empty = ingest.transport"},
    {.name = "client",
     .type = CFG_STRING,
     .offset = offsetof(struct app_camera_config, client),
     .def = "",
     .validate_cb = validate_camera_client,
     .is_reloadable = true,
     .help = "RTSP client: native or libav; empty = ingest.client"},
    {.name = "tls_verify",
     .type = CFG_BOOL,
     .offset = offsetof(struct app_camera_config, tls_verify),
     .def = "true",
     .is_reloadable = true,
     .help = "rtsps:// only: verify the camera's certificate against the system CAs or "
             "ingest.tls_ca and the URL host; false accepts any certificate (a self-signed "
             "camera) and is logged at each connect"},
    {.name = "groups",
     .type = CFG_STRING_LIST,
     .offset = offsetof(struct app_camera_config, groups),
     .count_offset = offsetof(struct app_camera_config, ngroups),
     .max = 32,
     .validate_cb = validate_group,
     .pattern_help = "1..64 characters of [a-z0-9_-]",
     .is_reloadable = true,
     .help = "Camera groups; user and API key grants may name them as group:NAME"},
    {.name = "analytics",
     .type = CFG_JSON,
     .offset = offsetof(struct app_camera_config, analytics),
     .json_validate_cb = validate_camera_analytics,
     .is_reloadable = true,
     .help = "Analytics: zones, motion masks, tripwires, object filters, as the document of "
             "GET /api/v1/cameras/{id}/analytics (docs/design/0039)"},
    {.name = "record",
     .type = CFG_SECTION,
     .offset = offsetof(struct app_camera_config, record),
     .sub = camera_record_fields,
     .help = "Continuous recording"},
    {.name = "placement",
     .type = CFG_SECTION,
     .offset = offsetof(struct app_camera_config, placement),
     .sub = camera_placement_fields,
     .help = "Which nodes may record this camera when nodes share one database (0069)"},
    {0},
};

static const cfg_field root_fields[] = {
    {.name = "server",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, server),
     .sub = api_server_fields,
     .help = "HTTP server"},
    {.name = "node",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, node),
     .sub = app_node_fields,
     .help = "This process as a node of the database it shares with other nodes; applied at "
             "start"},
    {.name = "storage",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, storage),
     .sub = sto_storage_fields,
     .help = "Where recordings and the index live"},
    {.name = "database",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, database),
     .sub = sto_database_fields,
     .help = "Index database"},
    {.name = "log",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, log),
     .sub = log_config_fields,
     .help = "Logging"},
    {.name = "ingest",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, ingest),
     .sub = ing_config_fields,
     .help = "Camera connections: RTSP client, deadlines and the circuit breaker"},
    {.name = "exports",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, exports),
     .sub = pb_export_fields,
     .help = "Export jobs (MP4 files of recorded ranges)"},
    {.name = "live",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, live),
     .sub = live_config_fields,
     .help = "Live view (LL-HLS)"},
    {.name = "record",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, record),
     .sub = rec_config_fields,
     .help = "Recorder workers and each camera's share of their queue"},
    {.name = "detect",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, detect),
     .sub = det_config_fields,
     .help = "Object detection on the cameras' video (analysis workers, detector, sampling)"},
    {.name = "audit",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, audit),
     .sub = auth_audit_fields,
     .help = "The tamper-evident audit chain"},
    {.name = "auth",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, auth),
     .sub = auth_config_fields,
     .help = "Identity: sessions, the /metrics token, single sign-on"},
    {.name = "secrets",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, secrets),
     .sub = sto_secrets_fields,
     .help = "Encryption of camera passwords and TOTP secrets at rest"},
    {.name = "vision",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, vision),
     .sub = api_vision_fields,
     .help = "Object detection served to other nodes on /v1/vision/detection"},
    {.name = "events",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, events),
     .sub = evt_config_fields,
     .help = "Events: filters, snapshots, recording pins and retention"},
    {.name = "bus",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, bus),
     .sub = bus_config_fields,
     .help = "Message buses fed from the outbox (MQTT, NATS JetStream, AMQP); applied at start"},
    {.name = "detections",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, detections),
     .sub = api_detections_fields,
     .help = "Detections posted by external AI workers: batch limits and retention"},
    {.name = "webhooks",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, webhooks),
     .sub = bus_webhooks_fields,
     .help = "Webhook delivery: retries and dead letters (targets: /api/v1/webhooks)"},
    {.name = "frames",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, frames),
     .sub = frames_config_fields,
     .help = "JPEG frames of chosen cameras published to the buses, best effort; applied at "
             "start"},
    {.name = "restream",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, restream),
     .sub = restream_config_fields,
     .help = "Camera streams served again to RTSP clients from memory (docs/restream.md); "
             "applied at start"},
    {.name = "webrtc",
     .type = CFG_SECTION,
     .offset = offsetof(struct horus_config, webrtc),
     .sub = webrtc_config_fields,
     .help = "WebRTC (WHEP) viewers on one UDP port and/or one ICE-TCP port (docs/webrtc.md); "
             "off unless udp_listen or tcp_listen is set; applied at start"},
    {.name = "cameras",
     .type = CFG_LIST,
     .offset = offsetof(struct horus_config, cameras),
     .count_offset = offsetof(struct horus_config, ncameras),
     .elem_size = sizeof(struct app_camera_config),
     .sub = camera_fields,
     .is_reloadable = true,
     .help = "Cameras provisioned from this file"},
    {0},
};

/* frames.cameras: each camera once, and every bus it names configured (docs/design/0050). */
static int validate_frames(const struct horus_config *c, struct cfg_errors *errs)
{
    const struct frames_config *f = &c->frames;
    int rc = 0;
    for (size_t i = 0; i < f->ncameras; i++) {
        const struct frames_camera_config *fc = &f->cameras[i];
        for (size_t j = 0; j < i && fc->id; j++) {
            if (f->cameras[j].id && strcmp(fc->id, f->cameras[j].id) == 0) {
                cfg_errors_add_field(errs, &fc->id,
                                     "duplicate camera id '%s' (also frames.cameras[%zu])", fc->id,
                                     j);
                rc = -EINVAL;
            }
        }
        for (size_t k = 0; k < fc->nbuses; k++) {
            const char *b = fc->buses[k];
            const char *url = strcmp(b, "mqtt") == 0   ? c->bus.mqtt.url
                              : strcmp(b, "nats") == 0 ? c->bus.nats.url
                                                       : c->bus.amqp.url;
            if (!url || !url[0]) {
                cfg_errors_add_field(errs, &fc->buses[k],
                                     "bus '%s' is not configured (bus.%s.url is empty)", b, b);
                rc = -EINVAL;
            }
        }
    }
    return rc;
}

static int validate_root(void *data, struct cfg_errors *errs)
{
    struct horus_config *c = data;
    int rc = 0;
    struct ing_breaker_policy policy;
    char why[160];
    const void *where = NULL;
    if (ing_config_policy(&c->ingest, &policy, why, sizeof(why), &where) < 0) {
        cfg_errors_add_field(errs, where, "%s", why);
        rc = -EINVAL;
    }
    if (validate_frames(c, errs) < 0)
        rc = -EINVAL;
    for (size_t i = 0; i < c->ncameras; i++) {
        for (size_t j = 0; j < i; j++) {
            if (c->cameras[i].id && c->cameras[j].id &&
                strcmp(c->cameras[i].id, c->cameras[j].id) == 0) {
                cfg_errors_add_field(errs, &c->cameras[i].id,
                                     "duplicate camera id '%s' (also cameras[%zu])",
                                     c->cameras[i].id, j);
                rc = -EINVAL;
            }
        }
    }
    return rc;
}

const cfg_schema horus_config_schema = {
    .fields = root_fields,
    .size = sizeof(struct horus_config),
    .validate_cb = validate_root,
};

int app_config_load(const char *path, cfg_snapshot **out)
{
    cfg_errors errs;
    cfg_errors_init(&errs, path ? path : "(defaults)");
    int rc = path ? cfg_load_file(&horus_config_schema, path, out, &errs)
                  : cfg_load_defaults(&horus_config_schema, out, &errs);
    for (size_t i = 0; i < errs.count; i++)
        fprintf(stderr, "%s\n", errs.items[i]);
    if (rc < 0 && errs.count == 0)
        fprintf(stderr, "%s: %s\n", path ? path : "(defaults)", horus_strerror(rc));
    cfg_errors_release(&errs);
    return rc;
}
