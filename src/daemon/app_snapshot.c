/*
 * DESIGN: wiring for snapshots, exports and timelines. The API reaches the
 * recorder's latest keyframes (api_context.keyframe_cb) and the start of
 * each stream's open segment (recording_since_cb) through callbacks (api
 * never includes record); this file owns the playback services' lifetime inside serve.
 *
 * Thread: main for start/stop; the callback runs on http-N.
 */
#include "app.h"

#include "err.h"
#include "log.h"
#include "recorder.h"

#define LOG_MODULE "main"

static int keyframe_cb(void *arg, const char *camera, const char *stream, media_packet **out)
{
    return rec_recorder_latest_keyframe(arg, camera, stream, out);
}

static int recording_since_cb(void *arg, const char *camera, const char *stream, int64_t *since_us)
{
    return rec_recorder_recording_since(arg, camera, stream, since_us);
}

int app_playback_start(struct api_context *api, struct rec_recorder *recorder,
                       const struct pb_export_config *exports)
{
    api->keyframe_cb = keyframe_cb;
    api->keyframe_arg = recorder;
    api->recording_since_cb = recording_since_cb;
    api->recording_since_arg = recorder;
    api->snapshots = pb_snapshots_new(&(struct pb_snapshot_options){
        .db = api->db, .data_dir = api->data_dir, .metrics = api->metrics});
    int rc = pb_exporter_new(&(struct pb_exporter_options){.db = api->db,
                                                           .data_dir = api->data_dir,
                                                           .config = exports,
                                                           .metrics = api->metrics,
                                                           .clock = api->clock},
                             &api->exports);
    if (rc == 0)
        rc = pb_exporter_start(api->exports);
    if (rc < 0)
        log_error("start exports: %s", horus_strerror(rc));
    return rc;
}

void app_playback_stop(struct api_context *api)
{
    /* Running exports go back to "queued" and run again after the next start. */
    pb_exporter_stop(api->exports);
    pb_exporter_free(api->exports);
    api->exports = NULL;
    pb_snapshots_free(api->snapshots);
    api->snapshots = NULL;
    api->keyframe_cb = NULL;
    api->recording_since_cb = NULL;
}
