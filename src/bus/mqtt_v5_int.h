/* Private to src/bus: what MQTT 5 adds to a publish and a CONNACK (mqtt_v5.c). */
#ifndef HORUS_BUS_MQTT_V5_INT_H
#define HORUS_BUS_MQTT_V5_INT_H

#include "bus_client.h"

#include <mosquitto.h>

/*
 * Publishes msg as mosquitto_publish would, with MQTT 5 properties: each
 * header as a user property and the content type. Returns mosquitto's
 * code (MOSQ_ERR_NOMEM when the properties cannot be made). Thread: the
 * caller of the client's publishes.
 */
int bus_mqtt_publish_v5(struct mosquitto *mosq, int *mid, const struct bus_msg *msg, int qos);

/*
 * The negative code of a refused CONNACK: -EACCES for credentials and
 * permissions (3.1.1: 4, 5; MQTT 5 reason codes 0x86, 0x87, 0x8C),
 * -ECONNREFUSED for the rest.
 */
int bus_mqtt_connack_error(int code);

#endif
