/*
 * DESIGN: the `bus.amqp` section's schema table (docs/conventions.md §7).
 * Every key needs a restart: the bus thread builds its adapter once. The
 * credentials live in the URL (amqp://user:pass@host:port/vhost), whose
 * password the configuration masks wherever it prints a URL; write it as
 * ${ENV} or file:PATH to keep it out of the file. The URL is parsed by
 * librabbitmq's own parser here, so that a malformed one fails at load.
 */
#include "bus_amqp.h"

#include <amqp.h>
#include <errno.h>
#include <mem.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(struct bus_amqp_config, f)

static int validate_url(const void *value, char *err, size_t size)
{
    const char *u = *(char *const *)value;
    if (!u || !u[0])
        return 0; /* no such bus */
    if (u && (strncmp(u, "amqp://", 7) == 0 || strncmp(u, "amqps://", 8) == 0)) {
        char *copy = horus_strdup(u);
        struct amqp_connection_info info;
        int rc = amqp_parse_url(copy, &info);
        bool ok = rc == AMQP_STATUS_OK && info.host && *info.host;
        free(copy);
        if (ok)
            return 0;
    }
    snprintf(err, size,
             "must be an amqp:// or amqps:// URL: [user[:password]@]host[:port][/vhost]");
    return -EINVAL;
}

/* AMQP short strings; RabbitMQ reserves the amq. prefix. */
static int validate_exchange(const void *value, char *err, size_t size)
{
    const char *x = *(char *const *)value;
    size_t n = x ? strlen(x) : 0;
    if (n > 0 && n <= 127 && strncmp(x, "amq.", 4) != 0 &&
        strspn(x, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:") == n)
        return 0;
    snprintf(err, size, "must be 1..127 characters of [A-Za-z0-9-_.:], not starting with 'amq.'");
    return -EINVAL;
}

const cfg_field bus_amqp_fields[] = {
    {.name = "url",
     .type = CFG_STRING,
     .offset = OFF(url),
     .def = "",
     .validate_cb = validate_url,
     .pattern_help = "amqp://user:password@host:port/vhost",
     .help = "The broker, with credentials and virtual host (amqps:// for TLS); the password is "
             "masked when printed; empty: no AMQP bus"},
    {.name = "exchange",
     .type = CFG_STRING,
     .offset = OFF(exchange),
     .def = "horus",
     .validate_cb = validate_exchange,
     .help = "Topic exchange (declared durable) that messages go to, each with its subject as "
             "the routing key"},
    {.name = "tls_ca",
     .type = CFG_STRING,
     .offset = OFF(tls_ca),
     .def = "",
     .help = "amqps: PEM file of the CAs that sign the broker's certificate"},
    {.name = "tls_verify",
     .type = CFG_BOOL,
     .offset = OFF(tls_verify),
     .def = "true",
     .help = "amqps: check the broker's certificate and name; the URL must name the broker by a "
             "DNS name of its certificate (librabbitmq does not match IP addresses); false: "
             "accept any (labs only)"},
    {.name = "heartbeat",
     .type = CFG_DURATION,
     .offset = OFF(heartbeat_ms),
     .def = "30s",
     .min = 0,
     .max = 3600000,
     .help = "AMQP heartbeat interval, whole seconds (0: none)"},
    {0},
};
