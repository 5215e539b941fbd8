/*
 * DESIGN: the horus_playback_* metric families, registered once from one
 * table. Labels are bounded (the playlist type only); per-camera playback
 * traffic is in horus_http_requests_total{route} already.
 */
#include "playback.h"

#include <string.h>

/* Playlist renders take 1-50 ms; the default latency buckets cover that range. */
void pb_metrics_init(struct pb_metrics *m, metrics_registry *reg)
{
    memset(m, 0, sizeof(*m));
    if (!reg)
        return;
    metrics_family *playlists =
        metrics_family_add(reg, &(struct metrics_desc){
                                    .type = METRICS_COUNTER,
                                    .name = "horus_playback_playlist_requests_total",
                                    .help = "Playback playlists rendered, by type (vod or event)",
                                    .labels = "type",
                                });
    m->playlists_vod = metrics_series_get(playlists, "vod");
    m->playlists_event = metrics_series_get(playlists, "event");
    m->render_seconds = metrics_series_get(metrics_family_add(
        reg, &(struct metrics_desc){
                 .type = METRICS_HISTOGRAM,
                 .name = "horus_playback_playlist_render_seconds",
                 .help = "Time to read the index and render one playback playlist",
                 .buckets = metrics_latency_buckets,
                 .nbuckets = metrics_latency_nbuckets,
             }));
    m->media_requests = metrics_series_get(metrics_family_add(
        reg, &(struct metrics_desc){
                 .type = METRICS_COUNTER,
                 .name = "horus_playback_media_requests_total",
                 .help = "Requests for recorded media bytes (whole files or ranges)",
             }));
    m->media_bytes = metrics_series_get(metrics_family_add(
        reg, &(struct metrics_desc){
                 .type = METRICS_COUNTER,
                 .name = "horus_playback_media_bytes_total",
                 .help = "Recorded media bytes queued for sending (a client may leave early)",
             }));
    m->timeline_requests = metrics_series_get(
        metrics_family_add(reg, &(struct metrics_desc){
                                    .type = METRICS_COUNTER,
                                    .name = "horus_playback_timeline_requests_total",
                                    .help = "Recording timelines (spans, gaps, days) served",
                                }));
}
