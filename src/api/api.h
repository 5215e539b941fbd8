/*
 * REST handlers and operational endpoints. The only module that may include
 * every other module's public header (CONVENTIONS.md §2). main wires an
 * api_context and calls api_register once before the server starts.
 */
#ifndef HORUS_API_H
#define HORUS_API_H

#include "cfg.h"
#include "clock.h"
#include "http.h"
#include "media.h"
#include "live.h"
#include "metrics.h"
#include "playback.h"
#include "storage.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* `server:` section of horus.yaml. */
struct api_server_config {
    char *listen;
    int64_t threads;
    uint64_t max_body_bytes;
    int64_t idle_timeout_ms;
    int64_t shutdown_timeout_ms;
    bool access_log;
    char *public_url;
    char **cors_origins; /* "*" or "scheme://host[:port]"; none = CORS off */
    size_t ncors_origins;
};

extern const cfg_field api_server_fields[];

/* Cached facts refreshed by the main thread's tick, read by /health. */
struct api_health_cache {
    _Atomic int db_ok;
    _Atomic int disk_ok;
    _Atomic uint64_t disk_free_bytes;
    _Atomic uint64_t disk_total_bytes;
    _Atomic unsigned cameras_total;
    _Atomic unsigned cameras_online; /* set by main from the camera supervisor */
    _Atomic unsigned cameras_failed;
};

/* A camera's pipeline as the supervisor last saw it (for the camera's "status"). */
struct api_camera_status {
    char state[16]; /* "streaming", "connecting", "failed", "disabled", "stopped" */
    char breaker[12]; /* "closed", "open", "half_open" */
    char last_error[160]; /* sentence of the last failure, "" if none; no credentials */
    int64_t next_retry_unix_ms; /* 0 unless waiting to retry */
    uint64_t reconnects;
    bool is_recording;
    char sub_state[16]; /* the sub stream's state; "" when the camera has no sub_url */
};

struct api_context {
    sto_db *db; /* borrowed */
    metrics_registry *metrics; /* borrowed */
    cfg_holder *config; /* borrowed: current snapshot of struct horus_config */
    const horus_clock *clock; /* borrowed */
    const char *data_dir; /* borrowed: effective storage path */
    char data_dir_json[4200]; /* data_dir as a JSON string literal, set by api_register */
    const char *config_path; /* borrowed; NULL when running on defaults */
    const char *node_id; /* borrowed */
    int64_t started_ms;
    int64_t started_mono_ns;
    unsigned cameras_total; /* configured cameras (ingest reports online/failed later) */
    atomic_bool is_stopping; /* set on SIGTERM: /ready answers 503 so traffic drains */
    struct api_health_cache health;
    /*
     * Renders the current config snapshot as JSON (secrets masked). Set by
     * main, which knows the root schema. Returns a new reference.
     */
    json_t *(*config_json_cb)(void *arg);
    void *config_json_arg;
    /*
     * Fills *out for camera id; returns false when the supervisor does not
     * run that camera (yet). NULL until main sets it. Thread: any.
     */
    bool (*camera_status_cb)(void *arg, const char *id, struct api_camera_status *out);
    void *camera_status_arg;
    pb_exporter *exports; /* borrowed; NULL: the export routes answer 503 */
    pb_snapshots *snapshots; /* borrowed; NULL: the snapshot route answers 503 */
    /*
     * Gives a new reference to the latest video keyframe of camera/stream
     * (src/daemon/app_snapshot.c asks the recorder). Returns 0, -ENOENT when that
     * stream is not ingested, -EAGAIN when no keyframe arrived yet. NULL
     * until main sets it. Thread: any; must not block.
     */
    int (*keyframe_cb)(void *arg, const char *camera, const char *stream, media_packet **out);
    void *keyframe_arg;
    /*
     * The start of camera/stream's segment being written (not indexed yet),
     * for timelines that reach now: 0 and *since_us, or -ENOENT. NULL until
     * main sets it. Thread: any.
     */
    int (*recording_since_cb)(void *arg, const char *camera, const char *stream, int64_t *since_us);
    void *recording_since_arg;
    struct pb_metrics playback_metrics; /* set by api_register (api/playback.c) */
    live_hub *live; /* borrowed, may be NULL: live view answers 503 */
};

/*
 * Registers every route on r and sets r's error mapper. ctx must
 * outlive the server. Returns 0 or a router error (a programming bug).
 */
int api_register(http_router *r, struct api_context *ctx);

/*
 * Waits for camera probes still running (each ends within its timeout);
 * their late replies are dropped. Call after http_server_stop. Thread: main.
 */
void api_probes_drain(void);

/* The single map from internal error codes to HTTP statuses (api/errors.c). */
struct http_error_map api_error_map(int rc);

/*
 * Refreshes ctx->health (database ping, data directory free space).
 * Thread: main, once a second.
 */
void api_health_refresh(struct api_context *ctx);

/* The embedded OpenAPI document (JSON text). */
extern const char horus_openapi_json[];
extern const size_t horus_openapi_json_len;

#endif
