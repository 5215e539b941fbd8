/* Private to src/api: the api object and each handler file's register function. */
#ifndef HORUS_API_INT_H
#define HORUS_API_INT_H

#include "api.h"
#include "auth.h"
#include "auth_cache.h"
#include "auth_mfa.h"
#include "auth_user.h"
#include "oidc_user.h"

#include <pthread.h>
#include <stdatomic.h>

/* ---- media_cache.c: recording key -> file, for media range requests ---- */

#define API_MEDIA_CACHE_SLOTS 1024

struct api_media_ref {
    char path[256]; /* relative to the data directory */
    char sha256[65]; /* "" when unknown */
    int64_t end_us; /* the row's end: the range a playback media token must overlap */
    bool is_pending; /* from the recorder, not the index: may grow, never cached */
};

struct api_media_slot {
    uint64_t hash; /* 0 = empty */
    char key[112];
    struct api_media_ref ref;
};

/* ---- segments not indexed yet (playback.c; docs/design/0032) ---- */

/* camera/stream's pending segments from the recorder, as playback files. */
struct api_pending {
    struct rec_pending_segment segs[REC_PENDING_MAX]; /* owned copies */
    struct pb_file files[REC_PENDING_MAX]; /* borrow from segs */
    size_t n;
    const struct pb_file *open; /* the one being written, or NULL */
};

/* Fills *p (empty without a recorder or such a camera stream). Never waits. Thread: any. */
void api_pending_read(struct api *ctx, const char *camera, const char *stream,
                      struct api_pending *p);
/* Releases what api_pending_read copied. */
void api_pending_release(struct api_pending *p);

/* The pending file of (id, stream, start_us) into *ref (is_pending). 0 or -ENOENT. */
int api_pending_ref(struct api *ctx, const char *id, const char *stream, int64_t start_us,
                    struct api_media_ref *ref);

/* ---- camera id -> tenant for the gate (camera_tenants.c) ---- */

#define API_CAMERA_TENANT_SLOTS 1024 /* in sets of 8 */
#define API_CAMERA_TENANT_STRIPES 16
#define API_CAMERA_TENANT_TTL_MS 1000

struct api_camera_tenant_slot {
    char id[72]; /* "" = empty */
    char tenant[64];
    uint64_t version; /* sto_access_version read before the row */
    int64_t until_ms; /* monotonic */
};

struct api_camera_tenants {
    pthread_mutex_t locks[API_CAMERA_TENANT_STRIPES];
    struct api_camera_tenant_slot slots[API_CAMERA_TENANT_SLOTS];
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
    _Atomic uint64_t min_free_hundredths; /* storage.min_free_percent, 1/100 % (system_storage.c) */
    /* horus_storage_* gauges, set with the facts above (system.c); NULL without metrics. */
    metrics_series *m_free, *m_size, *m_watermark, *m_writable;
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

/*
 * The ID token of each SSO session (sso.c), for the logout URL's
 * id_token_hint: in memory only, bounded (the oldest goes first), lost on
 * restart. Whether a session is an SSO session is stored with it
 * (sessions.method, the principal's via_sso), not decided here.
 */
#define API_SSO_SESSIONS_MAX 4096
struct api_sso_sessions {
    pthread_mutex_t lock;
    struct api_sso_session {
        char id[AUTH_ID_MAX]; /* the session's id; "" = free */
        char *id_token; /* owned */
        uint64_t seq; /* order of login, to find the oldest */
    } * items; /* owned: API_SSO_SESSIONS_MAX */
    uint64_t seq;
};

struct api {
    sto_db *db; /* borrowed */
    auth_audit_log *audit; /* borrowed, may be NULL: nothing is audited */
    cfg_holder *config; /* borrowed */
    sup_supervisor *cameras; /* borrowed, may be NULL */
    rec_recorder *recorder; /* borrowed, may be NULL */
    pb_exporter *exports; /* borrowed, may be NULL: the export routes answer 503 */
    pb_snapshots *snapshots; /* borrowed, may be NULL: the snapshot route answers 503 */
    evt_engine *events; /* borrowed, may be NULL: the event routes answer 503 */
    bus *bus; /* borrowed, may be NULL: /health shows no bus */
    live_hub *live; /* borrowed, may be NULL: live view answers 503 */
    webrtc_server *webrtc; /* borrowed, may be NULL: WHEP answers 503 */
    api_vision *vision; /* borrowed, may be NULL: the vision route answers 404 */
    det_analysis *analysis; /* borrowed, may be NULL: analytics documents take any label */
    struct api_det *det; /* a reference: detections.c's state (detections_int.h) */
    bus_webhooks *webhooks; /* borrowed, may be NULL: test and redeliver answer 503 */
    restream_server *restream; /* borrowed, may be NULL: the re-stream server is off */
    evt_feed *feed; /* borrowed, may be NULL: the events stream answers 503 */
    metrics_series *sse_clients; /* events_stream.c: horus_events_stream_clients; may be NULL */
    metrics_series *sse_dropped; /* horus_events_stream_dropped_total; may be NULL */
    auth_media_keys *media_keys; /* borrowed, may be NULL: no signed media URLs */
    metrics_registry *metrics; /* borrowed */
    const horus_clock *clock; /* borrowed; never NULL */
    char *data_dir; /* owned */
    char data_dir_json[4200]; /* data_dir as a JSON string literal */
    char *config_path; /* owned; NULL when running on defaults */
    char *node_id; /* owned, may be NULL */
    int64_t node_ttl_ms;
    int64_t started_ms;
    int64_t started_mono_ns;
    enum ing_client probe_client;
    char *probe_tls_ca; /* owned, may be NULL */
    auth_login_limit *login_limit; /* borrowed, may be NULL: check before, record after a login */
    atomic_bool is_stopping; /* set on SIGTERM: /ready answers 503 so traffic drains */
    struct api_health_cache health;
    struct pb_metrics playback_metrics; /* api/playback.c's series */
    struct api_probes probes;
    struct api_media_cache media_cache;
    struct api_camera_tenants camera_tenants; /* gate.c's tenant check (camera_tenants.c) */
    struct api_audit_seen audit_seen;
    struct api_audit_denied audit_denied;
    int web_dir_fd; /* web.c: server.web_dir / HORUS_WEB_DIR opened (O_PATH); -1 = embedded UI */
    /* gate.c: each route's permission, by route index, from openapi.json */
    enum auth_perm *route_perms; /* owned */
    size_t nroute_perms;
    int64_t session_idle_ms;
    int64_t session_max_ms;
    char *metrics_token; /* owned; "" = /metrics is public */
    char *public_url; /* owned; "" when unset */
    enum auth_mfa_policy mfa_policy; /* auth.mfa (mfa.c, the login, the gate) */
    /* sso.c: single sign-on and the IdP's bearer tokens; NULL when SSO is off */
    auth_oidc *oidc; /* borrowed */
    auth_token_cache *jwt_cache; /* owned */
    /* gate.c: verified API keys and sessions, by digest (auth_cache.h); owned */
    auth_cache *cred_cache;
    struct api_sso_sessions sso_sessions;
    char *sso_label; /* owned: auth.oidc.label, the sign-in page's SSO button (preferences.c) */
};

/* ---- camera tenants (camera_tenants.c) ---- */

void api_camera_tenants_init(struct api_camera_tenants *c);
void api_camera_tenants_release(struct api_camera_tenants *c);
/*
 * sto_camera_tenant through a cache of at most API_CAMERA_TENANT_TTL_MS,
 * dropped at once by any camera or tenant write in this process
 * (sto_access_version). out: at least 64 bytes to be cached.
 */
int api_camera_tenant(struct api *a, const char *id, char *out, size_t cap);

/* ---- camera groups (camera_groups.c) ---- */

#define API_CAMERA_GROUPS_MAX 32 /* groups of one camera */

/* A request body's "groups": sorted unique names (owned). */
struct api_camera_groups {
    bool is_present; /* the body had "groups" */
    char **names;
    size_t n;
};

void api_camera_groups_release(struct api_camera_groups *g);
/*
 * Checks and removes "groups" from body into *out. On a bad value replies
 * 400 and returns -EINVAL (*out empty).
 */
int api_camera_groups_take(http_request *req, json_t *body, struct api_camera_groups *out);
/*
 * Placement (placement.c; docs/design/0069): a comma-separated label list
 * as a JSON array; a camera's {"node", "labels"} object; and a request's
 * "placement" value applied to *node and *labels (owned, replaced). On a
 * bad value replies 400 naming the field and returns -EINVAL.
 */
json_t *api_labels_json(const char *csv);
json_t *api_placement_json(const char *node, const char *labels);
int api_placement_apply(http_request *req, json_t *v, char **node, char **labels);
/* Makes camera id's groups g's names. Returns 0 or a storage error. */
int api_camera_groups_store(struct api *ctx, const char *id, const struct api_camera_groups *g);
/* Sets "groups" on each camera JSON object of cameras[0..n), ordered by id (one read). */
void api_camera_groups_attach(struct api *ctx, json_t *const *cameras, size_t n);
/*
 * The ?group= filter of camera lists: *ids (new, sorted) the cameras in the
 * group, NULL when the query has none. On an error replies and returns it.
 */
int api_camera_group_filter(struct api *ctx, http_request *req, char ***ids, size_t *n);
/* Whether id passes the filter ids[0..n) (NULL ids: no filter). */
bool api_camera_group_has(char *const *ids, size_t n, const char *id);
void api_camera_group_filter_free(char **ids, size_t n);

/* One row of a handler file's route table. */
struct api_route {
    const char *method, *tmpl;
    http_handler_cb cb;
};
/* Adds routes[0..n) to r, each with ctx as its argument; returns 0 or the first error. */
int api_routes_add(http_router *r, const struct api_route *routes, size_t n, struct api *ctx);

int api_system_register(http_router *r, struct api *ctx);
/* whep.c: WHEP on /api/v1/cameras/{id}/whep (src/webrtc). */
int api_whep_register(http_router *r, struct api *ctx);
/* vision.c: POST /v1/vision/detection (the DeepStack detection API). */
int api_vision_register(http_router *r, struct api *ctx);
/* web.c: the UI at "/" and every unreserved path ("/{path}", a catch-all route). */
int api_web_register(http_router *r, struct api *ctx);
/* Whether tmpl is one of the UI's routes (public, nothing to authenticate). */
bool api_web_is_route(const char *tmpl);
/* Opens dir (NULL or "": serve the embedded UI) for serving. 0 or -errno (logged). Thread: main. */
int api_web_open(struct api *a, const char *dir);
void api_web_close(struct api *a);
int api_cameras_register(http_router *r, struct api *ctx);
int api_camera_analytics_register(http_router *r, struct api *ctx);
int api_probe_register(http_router *r, struct api *ctx);
int api_exports_register(http_router *r, struct api *ctx);
int api_snapshot_register(http_router *r, struct api *ctx);
int api_playback_register(http_router *r, struct api *ctx);
int api_live_register(http_router *r, struct api *ctx);
int api_audit_register(http_router *r, struct api *ctx);
int api_events_stream_register(http_router *r, struct api *ctx);
/* detections.c: /api/v1/detections (docs/design/0046) */
int api_detections_register(http_router *r, struct api *ctx);
/* events.c: /api/v1/events[...] (docs/design/0040) */
int api_events_register(http_router *r, struct api *ctx);
/*
 * Parses the body of POST /api/v1/events (event_input.c) into *p, whose
 * strings borrow from body, and zones[] (p->zones points there); now_us
 * ends an event given by duration_s alone. Returns 0, or -EINVAL with
 * why naming the field. Pure. Thread: any.
 */
int api_event_input_parse(const json_t *body, int64_t now_us, struct evt_post *p,
                          const char *zones[EVT_ZONES_MAX], char *why, size_t cap);

/*
 * Records a media view (live.started, playback.requested, snapshot,
 * export.downloaded) once per viewing: when the same client asked for the
 * same object (object: the camera and stream, an export id, ...) less than
 * two minutes before, the request continues that viewing and nothing is
 * recorded. Thread: http-N.
 */
void api_audit_view(struct api *ctx, http_request *req, const char *action, const char *target_kind,
                    const char *target_id, const char *object, const json_t *details);
/*
 * api_audit_view with another outcome: the same once-per-two-minutes rule
 * for (action, client, target, object). The gate records refused media
 * tokens with it, so a player retrying its parts writes one entry.
 */
void api_audit_once(struct api *ctx, http_request *req, const char *action,
                    enum auth_audit_outcome outcome, const char *target_kind, const char *target_id,
                    const char *object, const json_t *details);

/* ---- media_share.c: signed media URLs (docs/design/0021) ---- */

/*
 * The media token for scope that the URIs of req's reply carry, into out
 * (cap >= AUTH_MEDIA_TOKEN_MAX): a request authenticated as a principal
 * gets a freshly issued token; a request authorised only by its own ?t=
 * gets that same token back, so a link never renews itself. Returns 0
 * with out "" when signed URLs are off, or the issuer's error.
 * Thread: http-N.
 */
int api_media_token(struct api *ctx, http_request *req, const struct auth_media_scope *scope,
                    char *out, size_t cap);

/* The multivariant playlist's token source over api_media_token; arg is a struct api_token_req. */
struct api_token_req {
    struct api *ctx;
    http_request *req;
};
int api_media_token_issue_cb(void *arg, const char *camera, const char *stream, char *out,
                             size_t cap);

int api_media_share_register(http_router *r, struct api *ctx);

/*
 * One API over many nodes (holder.c; docs/design/0070): when node_id (a
 * recorded file's) or the node holding camera's lease (a live stream's) is
 * another online node with a node.url, replies 307 to the same path and
 * query there, with a ?t= token for scope, and returns 1. Else returns 0
 * (serve or refuse here), with why set to a sentence naming the node when
 * another one has the media but cannot be redirected to ("" otherwise).
 */
int api_redirect_to_node(http_request *req, struct api *ctx, const char *node_id,
                         const struct auth_media_scope *scope, char *why, size_t why_size);
int api_redirect_to_holder(http_request *req, struct api *ctx, const char *camera,
                           const struct auth_media_scope *scope, char *why, size_t why_size);

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
int api_sso_register(http_router *r, struct api *ctx);
void api_sso_init(struct api *ctx);
void api_sso_release(struct api *ctx);

/*
 * When session_id is an SSO session: forgets it and returns a new string
 * with the IdP's logout URL (NULL when the IdP has none). Thread: http-N.
 */
char *api_sso_logout_url(struct api *ctx, const char *session_id);

/*
 * The gate's authenticator for JWT bearer tokens (sso.c): 0 and a new
 * principal (kind AUTH_KIND_JWT), or HORUS_EAUTH for any token that does not
 * verify (also when SSO is off). Thread: http-N.
 */
int api_sso_authenticate_jwt(struct api *ctx, const char *token, struct auth_principal **out);

/*
 * Sets (or, with "" and max_age_s 0, clears) the horus_session cookie
 * (sessions.c): HttpOnly, SameSite=Strict, Path=/, Secure over TLS.
 */
void api_session_cookie_set(struct api *ctx, http_request *req, const char *value,
                            int64_t max_age_s);
int api_keys_register(http_router *r, struct api *ctx);
int api_users_register(http_router *r, struct api *ctx);
/* mfa.c: /api/v1/auth/mfa[...] and DELETE /api/v1/users/{name}/mfa */
int api_mfa_register(http_router *r, struct api *ctx);
/*
 * Replies 401 to a login whose password was right but whose second factor
 * refused it ({"error":{"code":"mfa_required"|"mfa_invalid",...}}) and
 * audits login.failed with the reason. Thread: http-N.
 */
int api_mfa_login_refused(struct api *ctx, http_request *req, const char *user,
                          enum auth_login_mfa why);
/* Audits mfa.recovery_used for a login that passed with a recovery code. */
void api_mfa_recovery_used(struct api *ctx, http_request *req, const struct auth_principal *p);
int api_tenants_register(http_router *r, struct api *ctx);
/* restream.c: GET /api/v1/restream/sessions (admins). */
int api_restream_register(http_router *r, struct api *ctx);
/* webhooks.c: /api/v1/webhooks (admins). */
int api_webhooks_register(http_router *r, struct api *ctx);
/* preferences.c: GET /api/v1/auth/methods and /api/v1/auth/preferences */
int api_preferences_register(http_router *r, struct api *ctx);
/* nodes.c: GET /api/v1/nodes */
int api_nodes_register(http_router *r, struct api *ctx);
/* system_storage.c: GET /api/v1/system/storage */
int api_system_storage_register(http_router *r, struct api *ctx);

/* ---- tenants.c: tenants and the tenant of new objects (docs/design/0024) ---- */

/* Whether id is a tenant id: 1..64 characters of [a-z0-9_-]. */
bool api_tenant_id_is_valid(const char *id);

/*
 * The tenant a new object (camera, user, API key) gets: the body's
 * "tenant" value v (NULL: absent) when the caller is a superadmin (or it
 * names the caller's own), else the caller's tenant. Writes it into out
 * and, when it is not "", the tenant's row (quotas) into *quota (release
 * with sto_tenant_release; zeroed otherwise). Returns 0, or an error after
 * replying: 400 (not an id, no such tenant), 403 (another tenant).
 */
int api_tenant_for_new(struct api *ctx, http_request *req, const json_t *v, char out[AUTH_ID_MAX],
                       struct sto_tenant *quota);

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

/* Whether the caller's camera grant covers camera id (public routes: yes). Tenants: api_may_see. */
bool api_may_see_camera(const http_request *req, const char *id);

/*
 * The one visibility rule for an object at hand (docs/design/0024): the
 * caller's tenant may see tenant (auth_may_see_tenant) and, when the
 * object belongs to a camera (camera_id not NULL), its grant covers it.
 * Public routes: yes. Thread: the handler's.
 */
bool api_may_see(const http_request *req, const char *camera_id, const char *tenant);

/*
 * Whether the caller may see camera id, reading its tenant: 0, -ENOENT
 * (missing, outside the grant or of another tenant: the caller cannot tell
 * which), or a storage error. Thread: the handler's.
 */
int api_camera_visible(struct api *ctx, const http_request *req, const char *id);

/*
 * The {id} path parameter and ?stream= (default "main") of a camera's media
 * routes (live.c): 0 with *stream set, or replies (404 for an id that cannot
 * exist, 400 naming the stream rule) and returns 1.
 */
int api_camera_stream_args(http_request *req, const char **stream);

/*
 * Reads camera id into *out (release with sto_camera_release). When it
 * cannot, replies 404 naming it (or the database error) and returns the
 * error, so the handler just returns. Thread: the handler's. (cameras.c)
 */
int api_camera_load(http_request *req, struct api *ctx, const char *id, struct sto_camera *out);

/*
 * Whether the request reached Horus over TLS, or server.public_url is
 * https (a TLS-terminating proxy in front): the Secure cookie flag.
 */
bool api_request_is_secure(const struct api *ctx, const http_request *req);

/*
 * Parses a time input (Unix milliseconds as a JSON integer or a string, or
 * an RFC 3339 string) into UTC microseconds, within years 1970..9999 so
 * that differences of two never overflow. Returns 0 or -EINVAL.
 */
int api_time_parse_json(const json_t *v, int64_t *out_us);

/* Re-read the camera count /health reports (system.c). */
void api_health_count_cameras(api *ctx);

/*
 * media_rebase.c (docs/design/0074): replies with the file open on fd (stolen)
 * with every fragment's decode time moved so that its first picture is at
 * offset_us of media time: the Range asked for, read and patched, 200/206;
 * opt's ETag gets the offset. A file that is not fMP4 as we write it goes
 * out unchanged (http_reply_file). *body_bytes gets the body length.
 */
int api_media_reply_rebased(http_request *req, int fd, int64_t offset_us,
                            const struct http_file_options *opt, uint64_t *body_bytes);

#endif
