/*
 * DESIGN: the `live:` section's schema table (docs/conventions.md §7: each
 * module owns its table). part_duration_ms is handed to the recorder,
 * whose parts are the LL-HLS parts; the rest shapes the hub.
 */
#include "live.h"

#include <stddef.h>

const cfg_field live_config_fields[] = {
    {.name = "part_duration",
     .type = CFG_DURATION,
     .offset = offsetof(struct live_config, part_duration_ms),
     .def = "200ms",
     .min = 50,
     .max = 2000,
     .help = "Length of an LL-HLS part; also the recording fragment, written once per part"},
    {.name = "segment_target",
     .type = CFG_DURATION,
     .offset = offsetof(struct live_config, segment_target_ms),
     .def = "2s",
     .min = 500,
     .max = 30000,
     .help = "A live segment closes at the first keyframe after this long"},
    {.name = "segments_kept",
     .type = CFG_INT,
     .offset = offsetof(struct live_config, segments_kept),
     .def = "4",
     .min = 2,
     .max = 30,
     .help = "Complete segments per camera stream kept in memory and listed in playlists "
             "(one while nobody watched the camera for a minute)"},
    {.name = "max_stream_bytes",
     .type = CFG_BYTES,
     .offset = offsetof(struct live_config, max_stream_bytes),
     .def = "32MiB",
     .min = 1048576,
     .max = 1073741824,
     .help = "Memory cap per camera stream; the oldest segments are dropped first"},
    {0},
};
