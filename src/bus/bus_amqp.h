/*
 * The AMQP 0-9-1 bus adapter (librabbitmq): one connection and one channel
 * to one broker (RabbitMQ), publishing to a durable topic exchange with
 * publisher confirms. The contract is bus_client.h; the `bus.amqp`
 * section's table is bus_amqp_fields. (Named bus_amqp.h, not amqp.h: that
 * name is librabbitmq's own header.)
 */
#ifndef HORUS_BUS_AMQP_H
#define HORUS_BUS_AMQP_H

#include "bus_client.h"

#include <cfg.h>
#include <stdbool.h>
#include <stdint.h>

/* The `bus.amqp` section as the configuration fills it (every string owned by the snapshot). */
struct bus_amqp_config {
    char *url; /* amqp://user:pass@host:port/vhost or amqps://...; the password is masked when
                  printed */
    char *exchange; /* declared durable, type topic; routing key = the message's subject */
    char *tls_ca; /* amqps: PEM file of the CAs that sign the broker's certificate; "": none set */
    bool tls_verify; /* amqps: check the broker's certificate and name */
    int64_t heartbeat_ms; /* AMQP heartbeat, whole seconds on the wire; 0: none */
};

extern const cfg_field bus_amqp_fields[];

/*
 * Makes an adapter for c (every string copied; c may go after the call)
 * and stores its state and function table. Connects to nothing yet.
 * Returns 0, or -EINVAL when the URL does not parse or the exchange is
 * empty. Thread: main.
 */
int bus_amqp_new(const struct bus_amqp_config *c, void **self_out,
                 const struct bus_client_ops **ops_out);

#endif
