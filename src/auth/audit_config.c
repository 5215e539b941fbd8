/*
 * DESIGN: the schema table of the `audit:` section (docs/conventions.md
 * §7: each module owns its tables).
 */
#include "audit.h"

#include <stddef.h>

const cfg_field auth_audit_fields[] = {
    {.name = "head_log_interval",
     .type = CFG_DURATION,
     .offset = offsetof(struct auth_audit_config, head_log_interval_ms),
     .def = "1h",
     .min = 1000,
     .max = 86400000,
     .is_reloadable = true,
     .help = "Write the audit chain's head (last id and hash) to the log this often, and at "
             "start and stop; keep those lines where the database cannot rewrite them"},
    {0},
};
