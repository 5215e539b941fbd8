/*
 * The constructors of the NATS and AMQP adapters in the core's form
 * (bus_int.h): -ENOENT when the section names no broker, else the
 * adapter made from its section.
 */
#include "bus_int.h"

#include "err.h"

#include <errno.h>
#include <stdio.h>

int bus_nats_make(const struct bus_config *c, const struct bus_adapter_env *env,
                  const struct bus_client_ops **ops, void **self, char *why, size_t cap)
{
    (void)env;
    if (!c->nats.url || !c->nats.url[0])
        return -ENOENT;
    int rc = bus_nats_new(&c->nats, self, ops);
    if (rc < 0)
        snprintf(why, cap, "bus.nats: %s", horus_strerror(rc));
    return rc;
}

int bus_amqp_make(const struct bus_config *c, const struct bus_adapter_env *env,
                  const struct bus_client_ops **ops, void **self, char *why, size_t cap)
{
    (void)env;
    if (!c->amqp.url || !c->amqp.url[0])
        return -ENOENT;
    int rc = bus_amqp_new(&c->amqp, self, ops);
    if (rc < 0)
        snprintf(why, cap, "bus.amqp: %s", horus_strerror(rc));
    return rc;
}
