/* Private to src/api: the api object and each handler file's register function. */
#ifndef HORUS_API_INT_H
#define HORUS_API_INT_H

#include "api.h"
#include "auth.h"

#include <pthread.h>
#include <stdatomic.h>

/* ---- media_cache.c: recording key -> file, for media range requests ---- */

#define API_MEDIA_CACHE_SLOTS 1024

struct api_media_ref {
    char path[256]; /* relative to the data directory */
    char sha256[65]; /* "" when unknown */
};

struct api_media_slot {
    uint64_t hash; /* 0 = empty */
    char key[112];
    struct api_media_ref ref;
};

struct api_media_cache {
    pthread_mutex_t lock;
    struct api_media_slot slots[API_MEDIA_CACHE_SLOTS];
};

void api_media_cache_init(struct api_media_cache *c);
void api_media_cache_release(struct api_media_cache *c);
/* Copies the cached file of (camera, stream, start_us) into *out; false when not cached. */
bool api_media_cache_get(struct api_media_cache *c, const char *camera, const char *stream,
                         int64_t start_us, struct api_media_ref *out);
/* Remembers it (replacing whatever shared its slot). */
void api_media_cache_put(struct api_media_cache *c, const char *camera, const char *stream,
                         int64_t start_us, const struct api_media_ref *ref);
/* Forgets it (its file is gone). */
void api_media_cache_drop(struct api_media_cache *c, const char *camera, const char *stream,
                          int64_t start_us);

/*
 * Refused requests already audited (audit_denied.c): a client's first
 * refusal in a window is recorded, later ones only counted and summed up
 * in the client's next entry, and at most API_DENIED_WINDOW_MAX entries a
 * window are written in all, so a scanner cannot fill the disk.
 */
#define API_DENIED_SLOTS 512
#define API_DENIED_WINDOW_MS (60 * 1000)
#define API_DENIED_WINDOW_MAX 60
struct api_denied_slot {
    uint64_t key; /* hash of the client address; 0 = empty */
    char client[64];
    int64_t window_start_ms; /* monotonic */
    uint64_t suppressed; /* refusals not recorded since the client's last entry */
};
struct api_audit_denied {
    pthread_mutex_t lock;
    struct api_denied_slot slots[API_DENIED_SLOTS];
    int64_t window_start_ms; /* the global budget's window */
    unsigned written; /* entries written in that window */
    uint64_t suppressed; /* refusals over the global budget, not yet summed up */
};

/* Cached facts refreshed by the main thread's tick, read by /health. */
struct api_health_cache {
    _Atomic int db_ok;
    _Atomic int disk_ok;
    _Atomic uint64_t disk_free_bytes;
    _Atomic uint64_t disk_total_bytes;
    _Atomic unsigned cameras_total;
    _Atomic unsigned cameras_online; /* from the camera supervisor */
    _Atomic unsigned cameras_failed;
    _Atomic uint64_t hard_free_hundredths; /* hard watermark, 1/100 %; 0 = none */
    /* Why the node is degraded, as last refreshed (system.c). */
    pthread_mutex_t reasons_lock; /* guards reasons_json only; never held across calls */
    char reasons_json[2048]; /* a JSON array of {component, reason, detail}; "[]" when ok */
    char reasons_key[256]; /* "component/reason, ..." of reasons_json: logged when it changes */
};

/* Camera probes running on "api-probe" threads (probe.c). */
struct api_probes {
    pthread_mutex_t lock;
    pthread_cond_t done; /* signalled when running drops to 0 */
    unsigned running;
    atomic_bool is_cancelled; /* set by api_probes_drain: running probes give up at once */
};

/*
 * Media views already audited (audit.c): one entry per viewing, not one
 * per playlist reload or byte range. Keys are hashes of (action, client,
 * object); a slot taken by another key only means an extra entry later.
 */
#define API_AUDIT_SEEN_SLOTS 1024
struct api_audit_seen {
    pthread_mutex_t lock;
    struct {
        uint64_t key; /* 0 = empty */
        int64_t seen_ms; /* monotonic ms of the last request */
    } slots[API_AUDIT_SEEN_SLOTS];
};

struct api {
    sto_db *db; /* borrowed */
    auth_audit_log *audit; /* borrowed, may be NULL: nothing is audited */
    cfg_holder *config; /* borrowed */
    sup_supervisor *cameras; /* borrowed, may be NULL */
    rec_recorder *recorder; /* borrowed, may be NULL */
    pb_exporter *exports; /* borrowed, may be NULL: the export routes answer 503 */
    pb_snapshots *snapshots; /* borrowed, may be NULL: the snapshot route answers 503 */
    live_hub *live; /* borrowed, may be NULL: live view answers 503 */
    metrics_registry *metrics; /* borrowed */
    const horus_clock *clock; /* borrowed; never NULL */
    char *data_dir; /* owned */
    char data_dir_json[4200]; /* data_dir as a JSON string literal */
    char *config_path; /* owned; NULL when running on defaults */
    char *node_id; /* owned, may be NULL */
    int64_t started_ms;
    int64_t started_mono_ns;
    enum ing_client probe_client;
    atomic_bool is_stopping; /* set on SIGTERM: /ready answers 503 so traffic drains */
    struct api_health_cache health;
    struct pb_metrics playback_metrics; /* api/playback.c's series */
    struct api_probes probes;
    struct api_media_cache media_cache;
    struct api_audit_seen audit_seen;
    struct api_audit_denied audit_denied;
    /* gate.c: each route's permission, by route index, from openapi.json */
    enum auth_perm *route_perms; /* owned */
    size_t nroute_perms;
    int64_t session_idle_ms;
    int64_t session_max_ms;
    char *metrics_token; /* owned; "" = /metrics is public */
    char *public_url; /* owned; "" when unset */
};

int api_system_register(http_router *r, struct api *ctx);
int api_cameras_register(http_router *r, struct api *ctx);
int api_probe_register(http_router *r, struct api *ctx);
int api_exports_register(http_router *r, struct api *ctx);
int api_snapshot_register(http_router *r, struct api *ctx);
int api_playback_register(http_router *r, struct api *ctx);
int api_live_register(http_router *r, struct api *ctx);
int api_audit_register(http_router *r, struct api *ctx);

/*
 * Records a media view (live.started, playback.requested, snapshot,
 * export.downloaded) once per viewing: when the same client asked for the
 * same object (object: the camera and stream, an export id, ...) less than
 * two minutes before, the request continues that viewing and nothing is
 * recorded. Thread: http-N.
 */
void api_audit_view(struct api *ctx, http_request *req, const char *action, const char *target_kind,
                    const char *target_id, const char *object, const json_t *details);

/* What api_audit_denied_plan decided to write for one refusal. */
struct api_denied_plan {
    bool is_recorded; /* this refusal gets an entry */
    uint64_t suppressed; /* its client's refusals since its last entry */
    uint64_t suppressed_global; /* refusals over the global budget */
    bool has_summary; /* an evicted client's count gets a summary entry */
    char summary_client[64];
    uint64_t summary_count;
};

/*
 * The bookkeeping step of api_audit_denied, pure but for d (locked
 * inside): what to write for a refusal of client at monotonic now_ms.
 * Thread: any.
 */
struct api_denied_plan api_audit_denied_plan(struct api_audit_denied *d, const char *client,
                                             int64_t now_ms);

/*
 * Records a refusal by the gate as "permission.denied" (outcome denied;
 * details: status, reason, the route, and "suppressed": refusals of the
 * same client, or over the global budget, recorded by no entry of their
 * own). p (borrowed, may be NULL) is who was refused. Thread: http-N.
 */
void api_audit_denied(struct api *ctx, http_request *req, const struct auth_principal *p,
                      int status, const char *reason);
int api_auth_register(http_router *r, struct api *ctx);
int api_keys_register(http_router *r, struct api *ctx);
int api_users_register(http_router *r, struct api *ctx);

/* ---- gate.c: who may call what ---- */

/*
 * Reads each route's "x-horus-permission" from the OpenAPI document
 * (doc_json) for every route registered on r, into a new array indexed
 * like http_router_route_at. Returns 0, or -EINVAL with why naming the
 * first route without a permission, with an unknown value, or a document
 * that does not parse.
 */
int api_permissions_load(const char *doc_json, size_t len, const http_router *r,
                         enum auth_perm **out, size_t *n, char *why, size_t why_cap);

/* The gate the router runs before each handler (http_gate_cb); arg is the api. */
int api_gate(http_request *req, size_t route_index, void *arg);

/* The public summary of p: kind, name, role, cameras, must_change_password (sessions.c). */
json_t *api_principal_json(const struct auth_principal *p);

/* The principal the gate attached; NULL on public routes. Thread: the handler's. */
const struct auth_principal *api_principal(const http_request *req);

/* Whether the caller may see camera id (public routes: yes). */
bool api_may_see_camera(const http_request *req, const char *id);

/*
 * Whether the request reached Horus over TLS (the Secure cookie flag).
 * HOOK: true when server.public_url is https; the TLS listener makes it
 * say so for its own connections.
 */
bool api_request_is_secure(const struct api *ctx, const http_request *req);

/*
 * Parses a time input (Unix milliseconds as a JSON integer or a string, or
 * an RFC 3339 string) into UTC microseconds, within years 1970..9999 so
 * that differences of two never overflow. Returns 0 or -EINVAL.
 */
int api_time_parse_json(const json_t *v, int64_t *out_us);

#endif
