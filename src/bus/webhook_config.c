/*
 * The `webhooks:` table of horus.yaml (docs/conventions.md §7): how a
 * failing delivery is retried. The targets themselves live in the
 * database (/api/v1/webhooks).
 */
#include "webhook.h"

#include <stddef.h>

#define OFF(f) offsetof(struct bus_webhooks_config, f)

const cfg_field bus_webhooks_fields[] = {
    {.name = "backoff_min",
     .type = CFG_DURATION,
     .offset = OFF(backoff_min_ms),
     .def = "1s",
     .min = 10,
     .max = 3600000,
     .help = "Delay before the first retry of a failed delivery; it doubles at each retry"},
    {.name = "backoff_max",
     .type = CFG_DURATION,
     .offset = OFF(backoff_max_ms),
     .def = "60s",
     .min = 10,
     .max = 3600000,
     .help = "The longest delay between two retries"},
    {.name = "retry_for",
     .type = CFG_DURATION,
     .offset = OFF(retry_for_ms),
     .def = "24h",
     .min = 1000,
     .max = 30LL * 86400 * 1000,
     .help = "A message still failing after this long becomes a dead letter (a receiver down "
             "for less loses nothing)"},
    {0},
};
