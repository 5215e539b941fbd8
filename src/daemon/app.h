/*
 * The horus executable's wiring: the root configuration (every module's
 * section in one struct) and the `serve` lifecycle. Private to src/daemon/:
 * main.c, app.c and the app_*.c files.
 */
#ifndef HORUS_APP_H
#define HORUS_APP_H

#include "analysis.h"
#include "api.h"
#include "audit.h"
#include "auth_config.h"
#include "bus.h"
#include "cfg.h"
#include "events.h"
#include "frames.h"
#include "ingest.h"
#include "log_config.h"
#include "oidc.h"
#include "playback.h"
#include "recorder.h"
#include "relay.h"
#include "restream.h"
#include "webrtc.h"
#include "storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One camera as declared in YAML; provisioned into the database by ingest (#3). */
struct app_camera_config {
    char *id;
    char *name;
    char *url;
    char *sub_url;
    bool enabled;
    char *transport; /* "", "auto", "tcp", "udp": "" = ingest.transport */
    char *client; /* "", "native", "libav": "" = ingest.client */
    bool tls_verify; /* rtsps://: verify the camera's certificate (default true; 0033) */
    char **groups; /* camera groups grants may name as "group:NAME" */
    char *analytics; /* the analytics: map as compact JSON, validated; NULL = none (0039) */
    size_t ngroups;
    struct {
        bool enabled;
        int64_t segment_seconds;
        int64_t retention_days;
        uint64_t max_bytes;
    } record;
    struct { /* where it may run (docs/design/0069) */
        char *node; /* "" = any node */
        char **labels; /* a node must have them all */
        size_t nlabels;
    } placement;
};

/* `node:` of horus.yaml: this process among the nodes sharing one database (node.c, 0064). */
struct app_node_config {
    char *id; /* "" = the id in <storage.path>/node, made on first start */
    char *url; /* where others reach this node's API; "" = not said */
    int64_t ttl_ms; /* a heartbeat older than this is gone */
    int64_t capacity; /* the most enabled cameras it records; 0 = no limit (0069) */
    char **labels; /* what cameras' placement.labels may ask for */
    size_t nlabels;
    bool rebalance; /* give cameras to nodes with two or more fewer (0069) */
};

extern const cfg_field app_node_fields[];
/* A placement label ([a-z0-9_-], 1..64): the cfg validator of node and camera label lists. */
int app_label_check(const void *value, char *err, size_t size);
/* labels[0..n) as one new comma-separated string, repeats left out ("" when n is 0). */
char *app_labels_join(char *const *labels, size_t n);
/*
 * This data directory's node id for commands run beside or instead of the
 * daemon (horus check): node.id, else <data_dir>/node's; NULL when neither
 * says one (no node has started there). A new string. (node.c)
 */
char *app_node_id_of(const struct app_node_config *c, const char *data_dir);
/* node.id's check (also the id line of <data>/node): 1-64 of A-Z a-z 0-9 . _ - */
int app_node_id_check(const void *value, char *err, size_t size);

struct horus_config {
    struct api_server_config server;
    struct app_node_config node;
    struct sto_storage_config storage;
    struct sto_database_config database;
    struct log_config log;
    struct ing_config ingest;
    struct pb_export_config exports;
    struct live_config live;
    struct rec_config record;
    struct det_config detect;
    struct auth_audit_config audit;
    struct auth_config auth; /* sessions, metrics token, oidc */
    struct sto_secrets_config secrets;
    struct api_vision_config vision; /* POST /v1/vision/detection */
    struct evt_config events;
    struct bus_config bus;
    struct api_detections_config detections; /* POST /api/v1/detections, retention */
    struct bus_webhooks_config webhooks;
    struct frames_config frames; /* JPEG frames for the buses (docs/design/0050) */
    struct restream_config restream; /* the RTSP re-stream server (docs/design/0054) */
    struct webrtc_config webrtc; /* WebRTC out, WHEP (docs/design/0055) */
    struct app_camera_config *cameras;
    size_t ncameras;
};

extern const cfg_schema horus_config_schema;

/* Command-line overrides of `serve`; NULL = take the config's value. */
struct app_overrides {
    const char *config_path;
    const char *data_dir;
    const char *listen;
};

/* `horus auth ...` (auth_cli.c): argv[0] is "auth". Returns the process exit code. */
int app_auth_cli(int argc, char **argv);

/* Runs the daemon until SIGTERM/SIGINT. Returns the process exit code. */
int app_serve(const struct app_overrides *ov);

/* Loads path (NULL = defaults) and prints every error to stderr as FILE:LINE:COL: key: reason. */
int app_config_load(const char *path, cfg_snapshot **out);

/*
 * `horus user add|passwd|list|disable` and `horus api-key add`
 * (identity_cli.c): argv[0] is "user" / "api-key". They open the database
 * without the data directory's lock, so they work while the daemon runs.
 * Return the exit code: 0, 1 runtime failure, 2 usage.
 */
int app_cmd_user(int argc, char **argv);
int app_cmd_api_key(int argc, char **argv);
/* `horus tenant add|list` (identity_cli.c; docs/design/0024-tenants.md): the same way. */
int app_cmd_tenant(int argc, char **argv);
/* `horus migrate` (migrate_cli.c; docs/design/0062): the index into a new PostgreSQL database. */
int app_cmd_migrate(int argc, char **argv);

/* `horus node drain|undrain ID` (node_cli.c): argv[0] is "node". */
int app_cmd_node(int argc, char **argv);

/*
 * For CLI commands that work on a running install's database: loads the
 * configuration (ov), opens and starts the index. Returns 0, or the exit
 * code after printing why (prefixed "horus <cmd>:"). Close with sto_close
 * and cfg_snapshot_unref. (identity_cli.c)
 */
int app_cli_open_db(const char *cmd, const struct app_overrides *ov, cfg_snapshot **snap,
                    sto_db **db);

/*
 * Takes <data_dir>/horus.lock (flock, non-blocking) so that two daemons, or
 * a daemon and `horus check`, never work on the same data. Creates
 * data_dir. On success *fd holds the lock until closed. On failure writes
 * a sentence into why (naming the holder's pid) and returns -EBUSY or -errno.
 */
int app_data_lock(const char *data_dir, int *fd, char *why, size_t size);

/*
 * Opens the secret box that seals camera passwords (key_text: secrets.key,
 * else <data_dir>/secret.key, created on first start when no row is sealed
 * yet), checks that it holds every key id the database uses, finishes or
 * undoes an interrupted rotation, gives it to db and seals plain camera
 * URLs. db's writer must run. On failure writes a sentence naming the key
 * file into why. Returns 0 or a negative code. Thread: main.
 */
int app_secrets_open(sto_db *db, const char *data_dir, const char *key_text, sto_secret_box **out,
                     char *why, size_t size);

/* `horus secrets rotate [-c FILE] [--data DIR]`. Returns the exit code. */
int app_cmd_secrets(int argc, char **argv);

/* What app_bus_command works with (borrowed; both outlive the buses). */
struct app_bus_commands {
    sto_db *db;
    auth_audit_log *audit; /* may be NULL */
};

/*
 * The daemon's bus_command_fn (bus.h): MQTT commands change the stored
 * camera (arg: a struct app_bus_commands), which the supervisor follows at
 * its next sync; each change is audited as camera.updated by the system
 * actor "mqtt". Thread: a bus thread.
 */
int app_bus_command(void *arg, const char *camera_id, enum bus_switch what, const bool *set,
                    bool *is_on, char *why, size_t cap);

/* Registers build info and process metrics (CPU, RSS, fds, start time). */
void app_metrics_register(metrics_registry *r, int64_t started_ms);

#endif
