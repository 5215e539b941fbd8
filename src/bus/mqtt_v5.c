/*
 * DESIGN: MQTT 5's additions to the MQTT client (bus.mqtt.protocol: 5;
 * docs/design/0045). MQTT 3.1.1 has no message headers, so a frame's
 * camera and capture time (docs/design/0050) are lost on it; MQTT 5 user
 * properties carry them, and the content type says what the payload is.
 * The CONNACK's reason codes also change meaning: 5 names a refusal by
 * its own code (0x86 bad user name or password, 0x87 not authorised).
 *
 * Thread: the bus thread (mosquitto copies the properties into its packet).
 */
#include "mqtt_v5_int.h"

#include <errno.h>
#include <mqtt_protocol.h>
#include <string.h>

int bus_mqtt_publish_v5(struct mosquitto *mosq, int *mid, const struct bus_msg *msg, int qos)
{
    mosquitto_property *props = NULL;
    int rc = MOSQ_ERR_SUCCESS;
    for (size_t i = 0; i < msg->nheaders && rc == MOSQ_ERR_SUCCESS; i++)
        rc = mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY,
                                                msg->headers[i].name, msg->headers[i].value);
    if (rc == MOSQ_ERR_SUCCESS && msg->content_type && msg->content_type[0])
        rc = mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, msg->content_type);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_publish_v5(mosq, mid, msg->subject, (int)msg->len, msg->body, qos,
                                  msg->is_retained, props);
    mosquitto_property_free_all(&props);
    return rc;
}

int bus_mqtt_connack_error(int code)
{
    switch (code) {
    case 4: /* 3.1.1: bad user name or password */
    case 5: /* 3.1.1: not authorised */
    case MQTT_RC_BAD_USERNAME_OR_PASSWORD:
    case MQTT_RC_NOT_AUTHORIZED:
    case MQTT_RC_BAD_AUTHENTICATION_METHOD:
        return -EACCES;
    default:
        return -ECONNREFUSED;
    }
}
