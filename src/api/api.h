/*
 * REST handlers and operational endpoints. The API sits above the
 * supervisor and reaches every service through the typed handles of its
 * options. main creates it with api_new and calls api_register once
 * before the server starts.
 */
#ifndef HORUS_API_H
#define HORUS_API_H

#include "audit.h"
#include "auth_config.h"
#include "media_token.h"
#include "cfg.h"
#include "feed.h"
#include "clock.h"
#include "bus.h"
#include "events.h"
#include "http.h"
#include "ingest.h"
#include "media.h"
#include "live.h"
#include "webrtc.h"
#include "login_limit.h"
#include "oidc.h"
#include "metrics.h"
#include "playback.h"
#include "recorder.h"
#include "restream.h"
#include "storage.h"
#include "supervisor.h"
#include "webhook.h"

#include <stdbool.h>
#include <stdint.h>

/* `server:` section of horus.yaml. */
/* server.rate_limit (docs/design/0020). */
struct api_rate_limit_config {
    int64_t api_per_minute; /* per client address; 0 = no limit */
    int64_t api_burst;
    int64_t media_per_minute;
    int64_t media_burst;
    int64_t principal_per_minute; /* per signed-in principal, API requests */
    int64_t principal_burst;
    int64_t max_clients; /* buckets kept per table */
    char **exempt; /* networks never limited */
    size_t nexempt;
    int64_t login_failures; /* failed logins per user or address before delays start */
    int64_t login_window_ms; /* failures older than this are forgotten */
    int64_t login_max_delay_ms; /* the delays double up to this */
};

/* server.tls: HTTPS (both or neither). */
struct api_tls_config {
    char *cert; /* PEM certificate chain file; "" = no TLS */
    char *key; /* PEM private key file */
};

struct api_server_config {
    char *listen;
    int64_t threads;
    char *media_listen; /* "" = no media listener (docs/design/0059) */
    int64_t media_threads;
    int64_t media_max_connections;
    uint64_t max_body_bytes;
    int64_t idle_timeout_ms;
    int64_t header_timeout_ms;
    int64_t max_connections;
    int64_t max_connections_per_ip; /* 0 = no per-address limit */
    int64_t shutdown_timeout_ms;
    bool access_log;
    char *public_url;
    char **cors_origins; /* "*" or "scheme://host[:port]"; none = CORS off */
    size_t ncors_origins;
    char **trusted_proxies; /* networks whose X-Forwarded-For is believed */
    size_t ntrusted_proxies;
    struct api_rate_limit_config rate_limit;
    struct api_tls_config tls;
    char **hostnames; /* extra names the Host header may carry (docs/design/0017) */
    size_t nhostnames;
    char *web_dir; /* "" = the UI embedded in the binary; else serve this directory */
};

extern const cfg_field api_server_fields[];

/* `vision:` section: the detection this node serves on POST /v1/vision/detection. */
struct api_vision_config {
    bool serve; /* false: the route answers 404 */
    char *model; /* an ONNX model file (the onnx detector, src/detect/object/onnx.h) */
    char *labels; /* its labels file */
    int64_t input_size; /* 0 = the model's own */
    int64_t threads; /* detectors in the pool: requests served at once */
    uint64_t max_body_bytes; /* largest upload the route takes */
    double min_confidence; /* when the request names none */
};

extern const cfg_field api_vision_fields[];

/* `detections:` section: POST /api/v1/detections (docs/design/0046). */
struct api_detections_config {
    int64_t retention_days; /* rows older than this are deleted in batches */
    int64_t max_items; /* detections in one request; more get 413 */
    uint64_t max_body_bytes; /* largest request body; larger get 413 */
    bool events; /* committed detections feed the events engine (docs/design/0051) */
    int64_t idempotency_window_ms; /* an Idempotency-Key is remembered this long */
};

extern const cfg_field api_detections_fields[];

/*
 * The pool of detectors the vision route runs (vision.c): c->threads
 * detectors of c->model, each used by one request at a time. Returns 0
 * and *out (new), or the detector's error with *errmsg (new) naming the
 * file; -ENOTSUP when this build has no ONNX Runtime. Thread: main.
 */
typedef struct api_vision api_vision;
int api_vision_new(const struct api_vision_config *c, api_vision **out, char **errmsg);
/* Closes the pool; NULL does nothing. Call after the HTTP server stopped. Thread: main. */
void api_vision_free(api_vision *v);

typedef struct api api;

/* The services the API serves. Every pointer is borrowed and must outlive the api. */
struct api_options {
    sto_db *db;
    auth_audit_log *audit; /* may be NULL: nothing is audited */
    cfg_holder *config; /* the current snapshot, shown (masked) by /api/v1/system/config */
    sup_supervisor *cameras; /* may be NULL: cameras show "stopped" or "disabled" */
    rec_recorder *recorder; /* latest keyframes and open segments; NULL: none */
    pb_exporter *exports; /* may be NULL: the export routes answer 503 */
    pb_snapshots *snapshots; /* may be NULL: the snapshot route answers 503 */
    evt_engine *events; /* may be NULL: the event routes answer 503 */
    bus *bus; /* may be NULL: /health shows the buses as disabled */
    live_hub *live; /* may be NULL: live view answers 503 */
    webrtc_server *webrtc; /* may be NULL: the WHEP routes answer 503 */
    /* the live events feed (GET /api/v1/events/stream); may be NULL: that route answers 503 */
    evt_feed *feed;
    metrics_registry *metrics;
    const horus_clock *clock; /* NULL = the system clock */
    const char *data_dir; /* copied: the effective storage path */
    const char *config_path; /* copied; NULL when running on defaults */
    const char *node_id; /* copied */
    int64_t node_ttl_ms; /* node.ttl: a heartbeat older than this is offline (GET /api/v1/nodes) */
    int64_t started_ms; /* wall clock of the process start (Unix ms) */
    int64_t started_mono_ns; /* monotonic clock of the process start */
    enum ing_client probe_client; /* ingest.client: the client POST /cameras/probe runs */
    const char *probe_tls_ca; /* copied; ingest.tls_ca for rtsps:// probes; NULL = system CAs */
    const struct auth_config *auth; /* copied: session timeouts, metrics token; NULL = defaults */
    const char *public_url; /* copied; server.public_url: same-origin checks, Secure cookies */
    /* Failed-login delays (server.rate_limit.login_*) for the login handler; may be NULL. */
    auth_login_limit *login_limit;
    auth_oidc *oidc; /* single sign-on and IdP bearer tokens; NULL = off */
    /* borrowed, outlives the HTTP server; NULL: no ?t= signed media URLs (no links, no checks) */
    auth_media_keys *media_keys;
    /*
     * A directory to serve the web UI from instead of the build embedded in
     * the binary (development: server.web_dir, HORUS_WEB_DIR); NULL or "" =
     * embedded. Opened by api_new: a missing directory fails it.
     */
    const char *web_dir;
    /* borrowed, outlives the HTTP server; NULL: /v1/vision/detection answers 404 */
    api_vision *vision;
    /* borrowed; its detector's labels check analytics documents; NULL: any label */
    det_analysis *analysis;
    /* copied: detections ingest and retention; NULL = the schema's defaults */
    const struct api_detections_config *detections;
    /* borrowed, outlives the HTTP server; NULL: webhooks are stored but not delivered */
    bus_webhooks *webhooks;
    restream_server *restream; /* borrowed, may be NULL: the RTSP re-stream server is off */
};

/*
 * Creates the API over o's services (nothing is served until
 * api_register). Returns 0 and a new *out, or -errno when o->web_dir
 * cannot be opened (logged, naming it). Thread: main.
 */
int api_new(const struct api_options *o, api **out);

/*
 * Registers every route on r and sets r's error mapper. a must outlive
 * the server. Returns 0 or a router error (a programming bug). Thread: main.
 */
int api_register(api *a, http_router *r);

/*
 * Refreshes the facts /health serves from its cache: database ping, data
 * directory free space, camera count, and the supervisor's counts of
 * cameras receiving media and failing. Thread: main, once a second.
 */
void api_health_refresh(api *a, unsigned cameras_online, unsigned cameras_failed);

/*
 * Sets the hard watermark from storage.min_free_percent: /health is
 * degraded and /ready 503 while the data directory has less than half of
 * it free (the watermark's deletions are not keeping up). 0 turns the
 * check off. Thread: main (start and reload).
 */
void api_health_set_min_free(api *a, double min_free_percent);

/*
 * Applies a reloaded `detections:` section (retention, batch size and the
 * events feed; the body limit keeps its value until a restart). Thread: main.
 */
void api_detections_configure(api *a, const struct api_detections_config *c);

/*
 * Detections retention (docs/design/0046): about once a minute, queues the
 * deletion of a bounded batch of rows older than detections.retention_days,
 * and again on the next tick while full batches go. Never waits for the
 * database. Thread: main, once a second.
 */
void api_detections_tick(api *a);

/* From now on /ready answers 503 "shutting down" so traffic drains. Thread: any. */
void api_set_stopping(api *a);

/*
 * Cancels the camera probes still running (each gives up within ~100 ms)
 * and waits for them; their late replies are dropped. Call after
 * http_server_stop. Thread: main.
 */
void api_probes_drain(api *a);

/* Drains the probes and frees a. NULL is a no-op. Thread: main, after http_server_stop. */
void api_free(api *a);

/* The single map from internal error codes to HTTP statuses (api/errors.c). */
struct http_error_map api_error_map(int rc);

/* The embedded OpenAPI document (JSON text). */
extern const char horus_openapi_json[];
extern const size_t horus_openapi_json_len;

#endif
