/*
 * The contract of a bus adapter (docs/conventions.md §2: one table of
 * function pointers per family). An adapter is one client connection to
 * one broker: MQTT (mqtt.c, libmosquitto), NATS JetStream (nats.c,
 * libnats) or AMQP 0-9-1 (amqp.c, librabbitmq). The bus core (bus.c)
 * owns one thread per configured bus; that thread is the only caller of
 * an adapter's functions, so adapters need no locks of their own for
 * these calls (an adapter's library may run threads of its own; it hides
 * them).
 *
 * Reliability lives in the core, not in the adapters: the core reads the
 * persisted outbox in order, hands a batch to publish(), and advances its
 * cursor by the number of messages the adapter says the broker
 * acknowledged (PUBACK for MQTT QoS 1, publisher confirms for AMQP,
 * JetStream acks for NATS). An adapter never reorders: the acknowledged
 * messages are always a prefix of the batch.
 */
#ifndef HORUS_BUS_CLIENT_H
#define HORUS_BUS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One header of a message (AMQP header table, NATS header, MQTT 5 user property). */
struct bus_header {
    const char *name;
    const char *value;
};

/* One message; everything borrowed for the call. */
struct bus_msg {
    /* Where it goes: an MQTT topic, a NATS subject, an AMQP routing key (on the configured
     * exchange). */
    const char *subject;
    const void *body;
    size_t len;
    const struct bus_header *headers;
    size_t nheaders;
    const char *content_type; /* "application/json", "image/jpeg", ...; NULL: none */
    bool is_retained; /* MQTT retain flag; ignored elsewhere */
    bool is_reliable; /* wait for the broker's acknowledgement; false: fire and forget */
};

/* Where a bus stands, for /health and metrics. */
enum bus_state {
    BUS_DISCONNECTED = 0,
    BUS_CONNECTING,
    BUS_CONNECTED,
    BUS_FAILED, /* a cause that retrying will not fix (credentials refused, TLS): see why */
};

/*
 * The adapter's functions. self is the adapter's own state, made by its
 * constructor (bus_mqtt_new and so on) from its configuration section.
 * Every int function returns 0 or a negative code; when it fails it writes
 * a one-line reason into why (cap bytes) that names the broker and the
 * cause ("mqtt 127.0.0.1:1883: connection refused", "amqp: ACCESS_REFUSED
 * - login refused"), never a secret.
 */
struct bus_client_ops {
    const char *name; /* "mqtt", "nats", "amqp" */

    /*
     * Connects (TCP, TLS, login, and what the bus needs before the first
     * publish: the JetStream stream, the AMQP exchange and confirm mode).
     * Blocks at most timeout_ms. -EACCES: credentials, permissions or a
     * certificate refused (the core reports BUS_FAILED and backs off
     * longer); anything else is transient.
     */
    int (*connect)(void *self, int timeout_ms, char *why, size_t cap);

    /*
     * Publishes msgs[0..n) in order and waits, at most timeout_ms, for the
     * broker to acknowledge the reliable ones. *acked: how many messages of
     * the prefix are done (acknowledged, or sent when not reliable).
     * Returns 0 when *acked == n; otherwise a negative code (the
     * connection is then considered lost: the core calls close and
     * connect again before it retries from msgs[*acked]).
     */
    int (*publish)(void *self, const struct bus_msg *msgs, size_t n, int timeout_ms, size_t *acked,
                   char *why, size_t cap);

    /*
     * Gives the adapter time for its own traffic while the core has
     * nothing to publish (keep-alives, incoming MQTT commands), at most
     * timeout_ms. May be NULL. A negative return means the connection is
     * lost.
     */
    int (*idle)(void *self, int timeout_ms, char *why, size_t cap);

    /* Closes the connection (connect may follow). Never fails. */
    void (*close)(void *self);

    /* Closes and frees self. NULL: nothing. */
    void (*free)(void *self);

    /*
     * Where an outbox row of kind ("event", "detection") for camera_id
     * goes on this bus, into out (cap bytes): "<prefix>/events" for MQTT,
     * "horus.events.<camera>" for NATS. May be NULL: the core then uses
     * "horus.<kind>s.<camera>". Pure.
     */
    void (*subject)(void *self, const char *kind, const char *camera_id, char *out, size_t cap);

    /*
     * May be NULL. Whether this node delivers the bus's outbox now (with
     * several nodes on one database one of them does: docs/design/0071;
     * alone, always). Called before the first connect and whenever it
     * changes. Returns 1 when the adapter must connect again for it (the
     * core then closes and connects), else 0. MQTT: only the delivering
     * node keeps <prefix>/available (its last will), answers commands and
     * announces Home Assistant discovery.
     */
    int (*set_delivering)(void *self, bool is_delivering);
};

#endif
