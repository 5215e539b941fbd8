/*
 * DESIGN: live view's wiring. The hub (src/live) gets its settings from
 * the `live:` section, and every recorded camera stream's rec_camera
 * publishes its parts into the hub's sink for (camera, stream): the
 * recorder and live never include each other, media crosses as
 * media_parts (media/media_part.h). A camera with recording off has no
 * live view (its ingest feeds a null sink); the playlist's 404 says so.
 *
 * Order: the hub is created before the camera supervisor attaches
 * streams, and freed after the HTTP server (no waiting request left) and
 * the recorder (no sink in use) are gone.
 *
 * Thread: main.
 */
#include "app.h"

#include "err.h"
#include "live.h"
#include "log.h"
#include "recorder.h"

#define LOG_MODULE "live"

live_hub *app_live_new(const struct live_config *c, metrics_registry *metrics)
{
    live_hub *h = NULL;
    struct live_hub_options o = {
        .part_target_ms = (uint32_t)c->part_duration_ms,
        .segment_target_ms = (uint32_t)c->segment_target_ms,
        .segments_kept = (uint32_t)c->segments_kept,
        .max_stream_bytes = (size_t)c->max_stream_bytes,
        .metrics = metrics,
    };
    int rc = live_hub_new(&o, &h);
    if (rc == 0)
        rc = live_hub_start(h);
    if (rc < 0) {
        log_error("start live view: %s; live playlists answer 503", horus_strerror(rc));
        live_hub_free(h);
        return NULL;
    }
    return h;
}

void app_live_attach(live_hub *h, struct rec_camera *rec, const char *camera, const char *stream)
{
    if (h && rec)
        rec_camera_set_part_sink(rec, live_hub_attach(h, camera, stream));
}

void app_live_detach(live_hub *h, const char *camera, const char *stream)
{
    if (h)
        live_hub_detach(h, camera, stream);
}

void app_live_free(live_hub *h)
{
    live_hub_stop(h);
    live_hub_free(h);
}
