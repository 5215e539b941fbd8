/*
 * DESIGN: the daemon's integration modules, in app.c's start order: the
 * frame hub (before the buses, which borrow it), the buses and webhooks
 * (delivering the outbox), and the events engine (which appends to it).
 * app.c keeps the table and the order; the reasons for the order are with
 * each function.
 *
 * Thread: main.
 */
#define LOG_MODULE "bus"

#include "app_int.h"

#include "clock.h"
#include "err.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

/*
 * Events: the engine (evt-w) publishing into the feed, before the cameras, whose
 * analysis reports to its observer, and the API, which posts into it;
 * crash-left open events are ended here.
 */
int app_events_start(struct app *a)
{
    int rc =
        evt_engine_new(&(struct evt_options){.db = a->db,
                                             .data_dir = a->data_dir,
                                             .config = &app_current(a)->events,
                                             .feed = a->feed,
                                             .metrics = a->metrics,
                                             .clock = clock_system(),
                                             .has_outbox = bus_config_any(&app_current(a)->bus)},
                       &a->events);
    if (rc == 0)
        rc = evt_engine_start(a->events);
    if (rc < 0)
        snprintf(a->why, sizeof(a->why), "start events: %s", horus_strerror(rc));
    return rc;
}

/* After the cameras and the API (no more reports or posts): writes what is queued. */
void app_events_stop(struct app *a)
{
    evt_engine_free(a->events);
    a->events = NULL;
}

/* The frame hub has messages: the bus threads take them (a->bus is set before any camera). */
static void frames_ready(void *arg)
{
    struct app *a = arg;
    if (a->bus)
        bus_notify_frames(a->bus);
}

/*
 * Frame publishing (docs/design/0050): the hub and its frm-N workers,
 * before the buses, which borrow it, and the cameras, which attach to it;
 * stopped after both. The `frames:` section applies at start only.
 */
int app_frames_start(struct app *a)
{
    const struct horus_config *c = app_current(a);
    const char *names[3];
    size_t n = 0;
    if (c->bus.mqtt.url && c->bus.mqtt.url[0])
        names[n++] = "mqtt";
    if (c->bus.nats.url && c->bus.nats.url[0])
        names[n++] = "nats";
    if (c->bus.amqp.url && c->bus.amqp.url[0])
        names[n++] = "amqp";
    a->frames = frames_hub_new(&(struct frames_options){.config = &c->frames,
                                                        .buses = names,
                                                        .nbuses = n,
                                                        .metrics = a->metrics,
                                                        .notify = frames_ready,
                                                        .notify_arg = a});
    if (!frames_hub_is_active(a->frames)) {
        frames_hub_free(a->frames);
        a->frames = NULL;
        return 0;
    }
    int rc = frames_hub_start(a->frames);
    if (rc < 0)
        snprintf(a->why, sizeof(a->why), "start frame workers: %s", horus_strerror(rc));
    return rc;
}

void app_frames_stop(struct app *a)
{
    frames_hub_free(a->frames);
    a->frames = NULL;
}

/*
 * Buses: one thread per configured bus delivering the outbox (events append
 * to it in their own transactions). Before events, so that every thread that
 * appends (evt-w, the API's posts) has stopped before the bus and its outbox
 * watcher go; the events that stop ends still reach the outbox and wait for
 * the next start. The `bus:` section applies at start only.
 */
int app_bus_start(struct app *a)
{
    char why[256] = "";
    a->bus_commands = (struct app_bus_commands){.db = a->db, .audit = a->audit};
    int rc = bus_new(&(struct bus_options){.db = a->db,
                                           .data_dir = a->data_dir,
                                           .config = &app_current(a)->bus,
                                           .metrics = a->metrics,
                                           .clock = clock_system(),
                                           .command = app_bus_command,
                                           .command_arg = &a->bus_commands,
                                           .frames = a->frames,
                                           .node_id = app_shared_node_id(a),
                                           .node_ttl_ms = a->node_ttl_ms},
                     &a->bus, why, sizeof(why));
    if (rc == 0)
        rc = bus_start(a->bus);
    if (rc < 0)
        snprintf(a->why, sizeof(a->why), "start buses: %s", why[0] ? why : horus_strerror(rc));
    return rc;
}

/* After events, the API and the cameras: what is still in the outbox waits for the next start. */
void app_bus_stop(struct app *a)
{
    bus_free(a->bus);
    a->bus = NULL;
}

/* New outbox rows (storage calls this after the commit): wakes the buses and the webhooks. */
static void outbox_appended(void *arg)
{
    struct app *a = arg;
    if (a->bus)
        bus_notify(a->bus);
    if (a->webhooks)
        bus_webhooks_notify(a->webhooks);
}

/*
 * This node's id when other nodes may share the database (PostgreSQL), so
 * that one node at a time delivers each bus and webhook (docs/design/0071);
 * NULL alone on SQLite, where nothing changes hands.
 */
const char *app_shared_node_id(const struct app *a)
{
    return a->db && strcmp(sto_backend_name(a->db), "postgres") == 0 ? a->node_id : NULL;
}

#define WEBHOOKS_RESYNC_MS 2000

void app_webhooks_tick(struct app *a)
{
    if (!a->webhooks || !app_shared_node_id(a))
        return;
    int64_t now = clock_monotonic_ns(clock_system()) / 1000000;
    if (now - a->webhooks_synced_ms < WEBHOOKS_RESYNC_MS)
        return;
    a->webhooks_synced_ms = now;
    int rc = bus_webhooks_sync(a->webhooks);
    if (rc < 0)
        log_warn_limited("webhooks resync", LOG_KV({"node_id", a->node_id}),
                         "re-read the webhook targets: %s", horus_strerror(rc));
}

/*
 * Webhook delivery (docs/design/0049): a thread per enabled target of the
 * webhooks table. After the buses and before events, like them; the
 * outbox watcher that wakes both is given to storage here and taken back
 * when webhooks stop (events and the API, which append, have stopped).
 */
int app_webhooks_start(struct app *a)
{
    const struct bus_webhooks_config *c = &app_current(a)->webhooks;
    int rc = bus_webhooks_new(
        &(struct bus_webhooks_options){.db = a->db,
                                       .metrics = a->metrics,
                                       .clock = clock_system(),
                                       .backoff_min_ms = c->backoff_min_ms,
                                       .backoff_max_ms = c->backoff_max_ms,
                                       .retry_for_ms = c->retry_for_ms,
                                       .is_outbox_wanted = bus_config_any(&app_current(a)->bus),
                                       .node_id = app_shared_node_id(a),
                                       .node_ttl_ms = a->node_ttl_ms},
        &a->webhooks);
    if (rc == 0) {
        a->outbox_watch = (struct sto_outbox_watcher){.fn = outbox_appended, .arg = a};
        sto_outbox_watch(a->db, &a->outbox_watch);
        rc = bus_webhooks_start(a->webhooks);
    }
    if (rc < 0)
        snprintf(a->why, sizeof(a->why), "start webhooks: %s", horus_strerror(rc));
    return rc;
}

void app_webhooks_stop(struct app *a)
{
    if (a->db)
        sto_outbox_watch(a->db, NULL);
    bus_webhooks_free(a->webhooks);
    a->webhooks = NULL;
}
