/* Private to src/bus: the adapters the core can make (bus.c's table). */
#ifndef HORUS_BUS_INT_H
#define HORUS_BUS_INT_H

#include "bus.h"
#include "bus_client.h"

/* What an adapter may use besides its configuration (borrowed for its life). */
struct bus_adapter_env {
    sto_db *db; /* what it reads: the cameras MQTT announces to Home Assistant */
    const char *data_dir; /* where event snapshots are (<data>/snapshots/); "" = none */
    metrics_registry *metrics; /* may be NULL: an adapter's own series (MQTT commands) */
    bus_command_fn command; /* NULL: commands are refused */
    void *command_arg;
    /* Wakes the adapter's bus thread out of its idle wait (work arrived from the broker);
     * only signals. Thread: any. */
    void (*wake)(void *arg);
    void *wake_arg;
    /*
     * This node's id when other nodes share the database and the buses (docs/design/0071),
     * else NULL: names that must be one for all of them (MQTT's Home Assistant device ids)
     * come from shared settings, and those that must differ (MQTT client ids) from the node.
     */
    const char *node_id;
};

/*
 * An adapter's constructor: makes the client that c configures, or returns
 * -ENOENT when c does not configure this bus (nothing made). Other errors
 * come with a reason in why. Thread: main.
 */
typedef int (*bus_adapter_make_fn)(const struct bus_config *c, const struct bus_adapter_env *env,
                                   const struct bus_client_ops **ops, void **self, char *why,
                                   size_t cap);

/* MQTT 3.1.1 through libmosquitto (mqtt.c). */
int bus_mqtt_make(const struct bus_config *c, const struct bus_adapter_env *env,
                  const struct bus_client_ops **ops, void **self, char *why, size_t cap);
/* NATS JetStream through libnats (nats.c) and AMQP 0-9-1 through librabbitmq (amqp.c). */
int bus_nats_make(const struct bus_config *c, const struct bus_adapter_env *env,
                  const struct bus_client_ops **ops, void **self, char *why, size_t cap);
int bus_amqp_make(const struct bus_config *c, const struct bus_adapter_env *env,
                  const struct bus_client_ops **ops, void **self, char *why, size_t cap);

/*
 * Publishes, fire and forget, what the frame hub holds for bus_name (a batch of
 * at most BUS_FRAMES_BATCH messages, subjects from ops->subject with kind
 * "frame"), and tells the hub what was sent. Returns 0, or the adapter's
 * failure with why (the connection is then lost). Thread: that bus's.
 */
#define BUS_FRAMES_BATCH 32
int bus_frames_pump(frames_hub *h, const char *bus_name, const struct bus_client_ops *ops,
                    void *self, int timeout_ms, char *why, size_t cap);

#endif
