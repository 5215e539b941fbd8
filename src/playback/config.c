/*
 * DESIGN: schema table for the `exports:` section (docs/conventions.md §7).
 */
#include "playback.h"

#include <stddef.h>

const cfg_field pb_export_fields[] = {
    {.name = "workers",
     .type = CFG_INT,
     .offset = offsetof(struct pb_export_config, workers),
     .def = "1",
     .min = 1,
     .max = 16,
     .help = "Export jobs run at once (pb-export-N threads); each streams disk to disk"},
    {.name = "max_queued",
     .type = CFG_INT,
     .offset = offsetof(struct pb_export_config, max_queued),
     .def = "16",
     .min = 1,
     .max = 10000,
     .is_reloadable = true,
     .help = "Jobs waiting for a worker before new exports are refused with 503"},
    {.name = "max_age",
     .type = CFG_DURATION,
     .offset = offsetof(struct pb_export_config, max_age_ms),
     .def = "7d",
     .min = 60000,
     .max = 31536000000,
     .is_reloadable = true,
     .help = "Delete finished exports (file and job) this long after they finished"},
    {.name = "max_duration",
     .type = CFG_DURATION,
     .offset = offsetof(struct pb_export_config, max_duration_ms),
     .def = "24h",
     .min = 1000,
     .max = 2678400000,
     .is_reloadable = true,
     .help = "Longest range one export may cover"},
    {.name = "max_bytes",
     .type = CFG_BYTES,
     .offset = offsetof(struct pb_export_config, max_bytes),
     .def = "0",
     .is_reloadable = true,
     .help = "Quota of all exports together (finished ones, plus the source bytes of queued and "
             "running ones); a new export past it is refused with 507. 0 = no quota"},
    {0},
};
