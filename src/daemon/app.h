/*
 * The horus executable's wiring: the root configuration (every module's
 * section in one struct) and the `serve` lifecycle. Private to src/daemon/:
 * main.c, app.c and the app_*.c files.
 */
#ifndef HORUS_APP_H
#define HORUS_APP_H

#include "api.h"
#include "cfg.h"
#include "ingest.h"
#include "log_config.h"
#include "playback.h"
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
    struct {
        bool enabled;
        int64_t segment_seconds;
        int64_t retention_days;
        uint64_t max_bytes;
    } record;
};

struct horus_config {
    struct api_server_config server;
    struct sto_storage_config storage;
    struct sto_database_config database;
    struct log_config log;
    struct ing_config ingest;
    struct pb_export_config exports;
    struct live_config live;
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

/* Runs the daemon until SIGTERM/SIGINT. Returns the process exit code. */
int app_serve(const struct app_overrides *ov);

/* Loads path (NULL = defaults) and prints every error to stderr as FILE:LINE:COL: key: reason. */
int app_config_load(const char *path, cfg_snapshot **out);

/*
 * Takes <data_dir>/horus.lock (flock, non-blocking) so that two daemons, or
 * a daemon and `horus check`, never work on the same data. Creates
 * data_dir. On success *fd holds the lock until closed. On failure writes
 * a sentence into why (naming the holder's pid) and returns -EBUSY or -errno.
 */
int app_data_lock(const char *data_dir, int *fd, char *why, size_t size);

/* ---- camera supervisor (app_cameras.c) ---- */

typedef struct app_cameras app_cameras;
struct rec_recorder;

/* Returns a new supervisor; nothing runs until the first sync. Thread: main. */
app_cameras *app_cameras_new(sto_db *db, struct rec_recorder *recorder, metrics_registry *metrics);
/* Starts, restarts and stops camera pipelines to match the database. Thread: main. */
/*
 * Sets the deadlines and breaker policy for streams started from now on
 * (c is copied; it must have passed validation). Thread: main.
 */
void app_cameras_configure(app_cameras *s, const struct ing_config *c);

void app_cameras_sync(app_cameras *s);
/*
 * Rebuilds the status snapshot the API reads and counts cameras receiving
 * media and cameras whose last attempt failed. Thread: main, after sync.
 */
void app_cameras_refresh_status(app_cameras *s, unsigned *online, unsigned *failed);
/* api_context.camera_status_cb: looks id up in the snapshot. Thread: any. */
bool app_cameras_status(void *arg, const char *id, struct api_camera_status *out);
/* Stops every pipeline and frees s. NULL is a no-op. Thread: main. */
void app_cameras_free(app_cameras *s);

/* ---- playback services (app_snapshot.c) ---- */

/*
 * Creates the snapshot service and the exporter (recovering and starting
 * its workers) and sets api's exports, snapshots and keyframe_cb (served
 * from recorder, borrowed). Call after api's db, data_dir, metrics and
 * clock are set. Returns 0 or a negative code (logged). Thread: main.
 */
int app_playback_start(struct api_context *api, struct rec_recorder *recorder,
                       const struct pb_export_config *exports);
/* Stops the export workers and frees both services. Thread: main, after HTTP stopped. */
void app_playback_stop(struct api_context *api);
/*
 * Live wiring: feeds the recorder into live. (app_cameras.c, set once
 * after app_cameras_new; NULL leaves live view off.) Thread: main.
 */
void app_cameras_set_live(app_cameras *s, live_hub *live);

/* ---- live view wiring (app_live.c) ---- */

struct rec_camera;
/* Returns a new hub for the `live:` settings, or NULL (logged) when it cannot start. */
live_hub *app_live_new(const struct live_config *c, metrics_registry *metrics);
/* Publishes rec's parts into the hub as (camera, stream). h or rec NULL: nothing. */
void app_live_attach(live_hub *h, struct rec_camera *rec, const char *camera, const char *stream);
/* The stream stopped: its live media is dropped and waiting viewers answered. */
void app_live_detach(live_hub *h, const char *camera, const char *stream);
/* After the HTTP server and the recorder are freed. NULL is a no-op. */
void app_live_free(live_hub *h);

/* Registers build info and process metrics (CPU, RSS, fds, start time). */
void app_metrics_register(metrics_registry *r, int64_t started_ms);

#endif
