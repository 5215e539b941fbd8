/*
 * The daemon's composition state, shared by app.c (the lifecycle and the
 * module table) and the files that hold some of its modules' start and
 * stop functions (app_integrations.c: events, frames, buses, webhooks;
 * app_front.c: re-stream, WebRTC, the HTTP listeners).
 * Private to src/daemon/. Thread: main, except where a field says.
 */
#ifndef HORUS_APP_INT_H
#define HORUS_APP_INT_H

#include "app.h"

#include "auth_user.h"
#include "feed.h"
#include "http.h"
#include "http_limit.h"
#include "retention.h"
#include "supervisor.h"
#include "webhook.h"

#include <limits.h>

struct app {
    const struct app_overrides *ov;
    cfg_holder *config; /* owned */
    char *data_dir; /* owned: effective storage path */
    char *config_path; /* owned: absolute path, or NULL */
    int lock_fd; /* holds <data>/horus.lock */
    int64_t started_ms; /* wall clock at start */
    int64_t started_mono_ns;
    metrics_registry *metrics; /* owned */
    metrics_series *m_reload_ok, *m_reload_failed;
    sto_db *db; /* owned */
    auth_audit_log *audit; /* owned */
    sto_secret_box *secrets; /* owned: seals camera passwords at rest (app_secrets.c) */
    auth_media_keys *media_keys; /* owned: signs ?t= media URLs; freed after the HTTP server */
    char *node_id; /* owned: this node's id (node.c) */
    char *node_home, *node_instance; /* owned: the data directory's token, this process's */
    int64_t node_ttl_ms, node_next_beat_ms; /* node.ttl; when the next heartbeat is due */
    bool is_node_claimed; /* the nodes row is this process's */
    bool is_node_lost; /* another process took the id over (logged once) */
    rec_retention *retention; /* owned */
    rec_recorder *recorder; /* owned */
    live_hub *live; /* owned; NULL when live view could not start */
    evt_feed *feed; /* owned: the live events feed (SSE); freed after the HTTP server */
    det_analysis *analysis; /* owned: object detection (idle when detect.enabled is false) */
    sup_supervisor *cameras; /* owned */
    pb_snapshots *snapshots; /* owned */
    pb_exporter *exports; /* owned */
    evt_engine *events; /* owned */
    bus *bus; /* owned: the buses that deliver the outbox (none configured: idle) */
    frames_hub *frames; /* owned: frames for the buses (no camera in frames: idle) */
    bus_webhooks *webhooks; /* owned: webhook delivery */
    int64_t webhooks_synced_ms; /* app_webhooks_tick's last re-read (monotonic) */
    struct app_bus_commands bus_commands; /* what MQTT commands change (app_commands.c) */
    struct sto_outbox_watcher outbox_watch; /* given to storage while webhooks run */
    auth_oidc *oidc; /* owned; NULL when single sign-on is off */
    api_vision *vision; /* owned; NULL unless vision.serve */
    api *api; /* owned */
    http_server *http; /* owned */
    http_server *media_http; /* owned; NULL without server.media_listen */
    http_limiter *limiter; /* owned: the server's rate limits */
    auth_login_limit *login_limit; /* owned: failed-login delays, lent to the API and RTSP */
    relay_hub *relay; /* owned: camera streams' packets for the re-stream server */
    restream_server *restream; /* owned; NULL when restream.rtsp.listen is empty */
    webrtc_server *webrtc; /* owned; NULL when webrtc.udp_listen and tcp_listen are empty */
    char why[PATH_MAX + 256]; /* a failed start's reason, set by the module */
};

/* The current snapshot's settings for a module's start (the holder keeps it alive). */
static inline const struct horus_config *app_current(struct app *a)
{
    cfg_snapshot *snap = cfg_holder_get(a->config);
    const struct horus_config *c = cfg_snapshot_data(snap);
    cfg_snapshot_unref(snap); /* the holder keeps its reference until a reload swaps it */
    return c;
}

/*
 * Modules of app.c's table kept in app_integrations.c. Each start returns 0
 * or a negative code with the reason in a->why; each stop accepts a
 * half-started module.
 */
/* node.c: claims this node's id after storage; renews it from the main loop's tick. */
int app_node_start(struct app *a);
void app_node_stop(struct app *a);
void app_node_tick(struct app *a);
int app_events_start(struct app *a);
void app_events_stop(struct app *a);
int app_frames_start(struct app *a);
void app_frames_stop(struct app *a);
/*
 * This node's id when other nodes may share the database (PostgreSQL);
 * NULL alone on SQLite (app_integrations.c; docs/design/0070, 0071).
 */
const char *app_shared_node_id(const struct app *a);
/*
 * With other nodes on the database: re-reads the webhook targets every
 * few seconds, since a target made or changed through another node's API
 * is synced there only (docs/design/0071). Thread: main.
 */
void app_webhooks_tick(struct app *a);
int app_bus_start(struct app *a);
void app_bus_stop(struct app *a);
int app_webhooks_start(struct app *a);
void app_webhooks_stop(struct app *a);

/* Modules of app.c's table kept in app_front.c, with the same contract. */
int app_restream_start(struct app *a);
void app_restream_stop(struct app *a);
int app_webrtc_start(struct app *a);
void app_webrtc_stop(struct app *a);
int app_http_start(struct app *a);
void app_http_stop(struct app *a);

#endif
