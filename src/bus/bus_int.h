/* Private to src/bus: the adapters the core can make (bus.c's table). */
#ifndef HORUS_BUS_INT_H
#define HORUS_BUS_INT_H

#include "bus.h"
#include "bus_client.h"

/*
 * An adapter's constructor: makes the client that c configures (db borrowed
 * for the adapter's life: what it reads, such as the cameras MQTT announces
 * to Home Assistant), or returns
 * -ENOENT when c does not configure this bus (nothing made). Other errors
 * come with a reason in why. Thread: main.
 */
typedef int (*bus_adapter_make_fn)(const struct bus_config *c, sto_db *db,
                                   const struct bus_client_ops **ops, void **self, char *why,
                                   size_t cap);

/* MQTT 3.1.1 through libmosquitto (mqtt.c). */
int bus_mqtt_make(const struct bus_config *c, sto_db *db, const struct bus_client_ops **ops,
                  void **self, char *why, size_t cap);

#endif
