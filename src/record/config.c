/*
 * DESIGN: the `record:` section's schema table (docs/conventions.md §7:
 * each module owns its table): how many workers the recorder has and how
 * many packets each camera stream may have queued for them
 * (docs/design/0011). Both are read when the recorder starts.
 */
#include "recorder.h"

#include <stddef.h>

const cfg_field rec_config_fields[] = {
    {.name = "threads",
     .type = CFG_INT,
     .offset = offsetof(struct rec_config, threads),
     .def = "0",
     .min = 0,
     .max = 64,
     .help = "Recorder worker threads (rec-0-N) shared by every camera, one camera per worker "
             "at a time; 0 = one per CPU core, at most 4"},
    {.name = "camera_queue",
     .type = CFG_INT,
     .offset = offsetof(struct rec_config, camera_queue),
     .def = "2048",
     .min = 16,
     .max = 1048576,
     .help = "Packets each camera stream may have waiting for the workers; beyond it that "
             "camera's own packets are dropped (horus_record_dropped_packets_total{reason="
             "\"queue_full\"}) and recording resumes at its next keyframe"},
    {0},
};
