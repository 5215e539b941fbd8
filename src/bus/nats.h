/*
 * The NATS JetStream bus adapter (libnats): one connection to one
 * nats-server, reliable messages through JetStream with their PubAcks,
 * best-effort ones (frames) as plain core NATS publishes. The contract is
 * bus_client.h; the `bus.nats` section's table is bus_nats_fields.
 */
#ifndef HORUS_BUS_NATS_H
#define HORUS_BUS_NATS_H

#include "bus_client.h"

#include <cfg.h>
#include <stdbool.h>
#include <stdint.h>

/* The `bus.nats` section as the configuration fills it (every string owned by the snapshot). */
struct bus_nats_config {
    char *url; /* nats://host:port or tls://host:port */
    char *username; /* "" or NULL: none */
    char *password; /* secret; with username */
    char *token; /* secret; instead of username/password */
    char *tls_ca; /* PEM file of the CAs that sign the server's certificate; "": the system's */
    bool tls_verify; /* false: accept any server certificate (tests, labs) */
    char *subject_prefix; /* "horus": subjects <prefix>.events.<camera> and so on */
    char *stream; /* the JetStream stream, "HORUS" */
    int64_t max_age_ms; /* stream retention by age; 0: none */
    uint64_t max_bytes; /* stream retention by size; 0: none */
    int64_t replicas; /* stream replicas (1 on a single server) */
};

extern const cfg_field bus_nats_fields[];

/*
 * Makes an adapter for c (every string copied; c may go after the call)
 * and stores its state and function table. Connects to nothing yet.
 * Returns 0, or -EINVAL when c lacks a url, subject prefix or stream.
 * Thread: main.
 */
int bus_nats_new(const struct bus_nats_config *c, void **self_out,
                 const struct bus_client_ops **ops_out);

#endif
