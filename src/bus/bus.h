/*
 * The bus module (issue 12; docs/design/0045-bus-and-outbox.md): delivers
 * the persisted outbox (storage's outbox section) to message brokers, at
 * least once and in order, one thread per configured bus ("bus-mqtt", ...).
 * The adapters (bus_client.h) speak each broker's protocol; this core
 * reads the outbox after the bus's cursor, publishes in batches, moves
 * the cursor by what the broker acknowledged, and reconnects with a
 * jittered exponential backoff behind a circuit breaker when the
 * connection fails. Nothing on a recording path calls into it: it only
 * reads the database and is woken by the outbox watcher.
 *
 * Lifecycle (docs/conventions.md §6): bus_new, bus_start, bus_stop,
 * bus_free. The `bus:` section is applied at start only (a change needs a
 * restart).
 */
#ifndef HORUS_BUS_H
#define HORUS_BUS_H

#include "bus_amqp.h"
#include "cfg.h"
#include "nats.h"
#include "clock.h"
#include "frames.h"
#include "metrics.h"
#include "storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* `bus.mqtt` of horus.yaml. */
struct bus_mqtt_config {
    char *url; /* mqtt://host[:1883] or mqtts://host[:8883]; "" = no MQTT */
    char *username; /* "" = none */
    char *password; /* secret: masked wherever config is printed */
    char *client_id; /* fixed, so the broker keeps the session (clean session off) */
    char *topic_prefix; /* "horus": <prefix>/available, <prefix>/events */
    char *tls_ca; /* PEM file of the CAs for mqtts; "" = the system's */
    bool tls_verify; /* check the broker's certificate and name */
    int64_t qos; /* 0 or 1 (1: a message is done at its PUBACK) */
    int protocol; /* enum bus_mqtt_protocol */
    int64_t keepalive_ms;
    int64_t stats_interval_ms; /* <prefix>/stats every so often; 0 = never */
    bool discovery; /* Home Assistant MQTT discovery of the cameras at each connect */
    /* accept <prefix>/<camera>/{recordings,detect,motion}/set (a broker is a shared space) */
    bool commands;
    char *discovery_prefix; /* "homeassistant" */
};

/* bus.mqtt.protocol: the MQTT version spoken to the broker. */
enum bus_mqtt_protocol {
    BUS_MQTT_V311, /* "3.1.1": every broker; no message headers */
    BUS_MQTT_V5, /* "5": headers as user properties, content type, reason codes */
};

/* `bus:` of horus.yaml. */
struct bus_config {
    int64_t outbox_retention_ms; /* outbox rows older than this are dropped, delivered or not */
    int64_t batch_max; /* outbox rows per publish */
    int64_t backoff_min_ms, backoff_max_ms; /* reconnect delays: doubling, capped, jittered */
    int64_t publish_timeout_ms; /* a batch's acknowledgements wait at most this */
    struct bus_mqtt_config mqtt;
    struct bus_nats_config nats; /* url "" = no NATS bus */
    struct bus_amqp_config amqp; /* url "" = no AMQP bus */
};

extern const cfg_field bus_config_fields[];

/* Whether c configures any bus (events then append outbox messages). */
bool bus_config_any(const struct bus_config *c);

/* A broker URL taken apart (bus_url_parse). */
struct bus_url {
    char scheme[16]; /* "mqtt", "mqtts", ... lower case */
    char host[256]; /* a name or an address; IPv6 without brackets */
    int port; /* 0 when the URL has none */
};

/*
 * Parses "scheme://host[:port][/]" (no userinfo: credentials are fields of
 * their own so they can be masked; no path). Returns 0, or -EINVAL with a
 * reason in why. Thread: any (pure; fuzzed by fuzz_bus_url).
 */
int bus_url_parse(const char *url, struct bus_url *out, char *why, size_t cap);

typedef struct bus bus;

/* What an MQTT command switches on a camera (bus.mqtt.commands; docs/design/0045). */
enum bus_switch {
    BUS_SWITCH_RECORDINGS, /* the camera's record.enabled */
    BUS_SWITCH_DETECT, /* the analytics document's enabled */
    BUS_SWITCH_MOTION, /* the analytics document's motion.enabled */
};

/*
 * Sets switch what of camera_id to *set, or only reads it when set is NULL;
 * *is_on receives the state after the call (for the acknowledgement). The
 * change must persist and the camera's pipeline follow it; the daemon
 * implements this (the bus module knows neither the supervisor nor the
 * analytics document). Returns 0; -ENOENT for an unknown camera; -EBUSY
 * when the camera is read-only (provisioned from horus.yaml), *is_on then
 * the unchanged state; another negative code on failure, with a reason in
 * why (cap bytes). Thread: a bus thread; it may wait for the storage
 * writer, never for a broker.
 */
typedef int (*bus_command_fn)(void *arg, const char *camera_id, enum bus_switch what,
                              const bool *set, bool *is_on, char *why, size_t cap);

struct bus_options {
    sto_db *db; /* borrowed; its writer must run while the buses do */
    const char *data_dir; /* borrowed for bus_new: event snapshots for MQTT; NULL = none */
    const struct bus_config *config; /* copied */
    metrics_registry *metrics; /* borrowed; may be NULL */
    const horus_clock *clock; /* borrowed; NULL = system clock */
    bus_command_fn command; /* applies MQTT commands (bus.mqtt.commands); NULL = refuse all */
    void *command_arg; /* command's first argument */
    /* borrowed, may be NULL: frames each bus thread publishes between outbox batches
     * (docs/design/0050); it must outlive the buses */
    frames_hub *frames;
    /* This node among the nodes of one database (copied; NULL or "" = alone): each bus's
     * messages are delivered by one node at a time, renewed every node_ttl_ms / 3 (0071). */
    const char *node_id;
    int64_t node_ttl_ms;
};

/*
 * Makes the buses the config names (none: a bus that does nothing) and
 * registers their metrics; starts nothing. Returns 0, or a negative code
 * with why (an adapter that cannot be made). Thread: main.
 */
int bus_new(const struct bus_options *o, bus **out, char *why, size_t cap);

/* Opens each bus's cursor (at the head for a new one) and starts its thread. Thread: main. */
int bus_start(bus *b);

/*
 * New outbox rows: wakes the bus threads. Only signals, so the outbox
 * watcher (storage, after a commit) may call it. Thread: any.
 */
void bus_notify(bus *b);
/*
 * New frames in the frame hub: wakes the bus threads to publish them,
 * without reading the outbox again. Thread: any.
 */
void bus_notify_frames(bus *b);

/* Stops and joins the threads (a publish in flight ends at its timeout). Twice: nothing. */
void bus_stop(bus *b);

/* Stops, frees. NULL: nothing. Thread: main. */
void bus_free(bus *b);

/*
 * The /health component: a JSON object, {"status": "disabled"} when no
 * bus is configured, else "status" ("ok" when every bus is connected,
 * "degraded") and one member per bus ({"mqtt": {"state", "error",
 * "connected_since", "backlog", "published"}}), into buf (NUL-terminated,
 * truncated to size).
 * Never holds a secret. Thread: any.
 */
void bus_health_text(bus *b, char *buf, size_t size);

#endif
