/*
 * Webhooks (docs/design/0049-webhooks.md): each enabled target in the
 * `webhooks` table (made through /api/v1/webhooks) is one consumer of the
 * persisted outbox ("webhook:<id>") and one thread "hook-N" that POSTs
 * the messages passing its filter, one at a time and in outbox order,
 * signed with HMAC-SHA256 (webhook_sign.h). A failed delivery is retried
 * with exponential backoff; a message is moved to the target's dead
 * letters after max_attempts refusals that retrying cannot fix (a 4xx
 * other than 408/429) or after retry_for of failures of any kind, so a
 * receiver outage shorter than retry_for loses nothing and keeps order.
 *
 * Lifecycle (docs/conventions.md §6): bus_webhooks_new, _start (reads the
 * targets, starts their threads), bus_webhooks_sync after each change of
 * the table, _stop, _free.
 */
#ifndef HORUS_BUS_WEBHOOK_H
#define HORUS_BUS_WEBHOOK_H

#include "cfg.h"
#include "clock.h"
#include "metrics.h"
#include "storage.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct bus_webhooks bus_webhooks;

/* `webhooks:` section of horus.yaml (webhook_config.c): delivery limits of every target. */
struct bus_webhooks_config {
    int64_t backoff_min_ms, backoff_max_ms, retry_for_ms;
};

extern const cfg_field bus_webhooks_fields[];

struct bus_webhooks_options {
    sto_db *db; /* borrowed; its writer must run while the engine does */
    metrics_registry *metrics; /* borrowed, may be NULL */
    const horus_clock *clock; /* borrowed; NULL = system clock */
    int64_t backoff_min_ms; /* first retry delay; 0 = 1000 */
    int64_t backoff_max_ms; /* the cap of the doubling delay; 0 = 60000 */
    int64_t retry_for_ms; /* a message failing this long goes to the dead letters; 0 = 24 h */
    /*
     * A bus reads the outbox anyway. Each start and sync sets the storage's
     * outbox "wanted" flag (sto_outbox_set_wanted) to this or "a target is
     * enabled", so events and detections append messages only while someone
     * reads them.
     */
    bool is_outbox_wanted;
    /* This node among the nodes of one database (copied; NULL or "" = alone): each target
     * is delivered by one node at a time, renewed every node_ttl_ms / 3 (0071). */
    const char *node_id;
    int64_t node_ttl_ms;
};

/* Makes the engine; starts nothing. Returns 0 or -EINVAL. Thread: main. */
int bus_webhooks_new(const struct bus_webhooks_options *o, bus_webhooks **out);
/* Reads the targets and starts a thread per enabled one. 0 or a storage error. Thread: main. */
int bus_webhooks_start(bus_webhooks *w);
/* Stops every thread (a delivery in flight is abandoned: it is sent again at the next start). */
void bus_webhooks_stop(bus_webhooks *w);
/* Stops and frees. NULL: nothing. Thread: main. */
void bus_webhooks_free(bus_webhooks *w);

/* Re-reads the table: starts, restarts (changed) and stops targets. Thread: any (API). */
int bus_webhooks_sync(bus_webhooks *w);
/* New outbox rows: wakes the targets. Only signals. Thread: any. */
void bus_webhooks_notify(bus_webhooks *w);
/* A target's delivery state, for the API. */
struct bus_webhook_status {
    bool is_running;
    const char *state; /* "idle", "delivering", "retrying", "failing", "disabled" (static) */
    int64_t failures; /* consecutive failed attempts */
    int64_t delivered, dead_lettered; /* since the daemon started */
    int last_status; /* the last HTTP status, 0: none or no answer */
    char last_error[256]; /* "" when the last attempt succeeded */
    int64_t last_attempt_ms, last_success_ms, next_retry_ms; /* Unix ms; 0: never */
    int64_t cursor; /* the outbox seq delivered up to */
};

/* id's state into *out. Returns 0 or -ENOENT (no such running or known target). Thread: any. */
int bus_webhooks_status(bus_webhooks *w, const char *id, struct bus_webhook_status *out);

/* The outcome of one POST. */
struct bus_webhook_result {
    int status; /* HTTP status, 0 when no answer */
    int64_t duration_ms;
    char error[256]; /* "" on 2xx */
};

/*
 * Sends body (a JSON text) to target t now, signed, with type in the
 * X-Horus-Event header and delivery as X-Horus-Delivery, on the caller's
 * thread (the API's "send test"), and fills *out. Returns 0 on a 2xx,
 * else a negative code. Thread: any.
 */
int bus_webhooks_send(bus_webhooks *w, const struct sto_webhook *t, const char *type,
                      const char *delivery, const char *body, struct bus_webhook_result *out);

#endif
