/*
 * DESIGN: the `bus:` table of horus.yaml (docs/conventions.md §7) and the
 * one parser of broker URLs. A URL carries no credentials (they are the
 * username and password fields, the password masked as a secret) and no
 * path, so what a bus connects to is exactly scheme, host and port.
 */
#include "bus.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

int bus_url_parse(const char *url, struct bus_url *out, char *why, size_t cap)
{
    *out = (struct bus_url){0};
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep || sep == url || (size_t)(sep - url) >= sizeof(out->scheme)) {
        snprintf(why, cap, "must look like scheme://host[:port]");
        return -EINVAL;
    }
    for (size_t i = 0; url + i < sep; i++) {
        char c = url[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-')) {
            snprintf(why, cap, "the scheme holds a character that is not allowed");
            return -EINVAL;
        }
        out->scheme[i] = c;
    }
    const char *h = sep + 3, *end = h + strcspn(h, "/?#");
    if (*end == '/' && end[1] == '\0')
        ; /* a trailing slash is harmless */
    else if (*end) {
        snprintf(why, cap, "a broker URL has no path, query or fragment");
        return -EINVAL;
    }
    if (memchr(h, '@', (size_t)(end - h))) {
        snprintf(why, cap, "put credentials in username and password, not in the URL");
        return -EINVAL;
    }
    const char *host = h, *host_end, *port = NULL;
    if (*h == '[') {
        host = h + 1;
        host_end = memchr(host, ']', (size_t)(end - host));
        if (!host_end) {
            snprintf(why, cap, "an IPv6 address lacks its ']'");
            return -EINVAL;
        }
        if (host_end + 1 < end) {
            if (host_end[1] != ':') {
                snprintf(why, cap, "expected ':' and a port after ']'");
                return -EINVAL;
            }
            port = host_end + 2;
        }
    } else {
        host_end = memchr(h, ':', (size_t)(end - h));
        if (host_end)
            port = host_end + 1;
        else
            host_end = end;
    }
    size_t hlen = (size_t)(host_end - host);
    if (hlen == 0 || hlen >= sizeof(out->host)) {
        snprintf(why, cap, "the host is missing or too long");
        return -EINVAL;
    }
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c >= 0x7f || strchr("<>\"\\^`{|}%:[]", c)) {
            if (!(c == ':' && *h == '[')) {
                snprintf(why, cap, "the host holds a character that is not allowed");
                return -EINVAL;
            }
        }
    }
    memcpy(out->host, host, hlen);
    if (port) {
        long v = 0;
        const char *p = port;
        for (; p < end && *p != '/'; p++) {
            if (*p < '0' || *p > '9' || v > 65535) {
                snprintf(why, cap, "the port must be 1..65535");
                return -EINVAL;
            }
            v = v * 10 + (*p - '0');
        }
        if (p == port || v < 1 || v > 65535) {
            snprintf(why, cap, "the port must be 1..65535");
            return -EINVAL;
        }
        out->port = (int)v;
    }
    return 0;
}

static int validate_mqtt_url(const void *value, char *err, size_t size)
{
    const char *url = *(char *const *)value;
    if (!url || !url[0])
        return 0;
    struct bus_url u;
    if (bus_url_parse(url, &u, err, size) < 0)
        return -EINVAL;
    if (strcmp(u.scheme, "mqtt") != 0 && strcmp(u.scheme, "mqtts") != 0) {
        snprintf(err, size, "the scheme must be mqtt:// or mqtts://");
        return -EINVAL;
    }
    return 0;
}

/* A topic prefix: printable, no wildcards, no leading or trailing '/'. */
static int validate_topic_prefix(const void *value, char *err, size_t size)
{
    const char *s = *(char *const *)value;
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64 || s[0] == '/' || s[n - 1] == '/') {
        snprintf(err, size, "must be 1..64 characters, not starting or ending with '/'");
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '#' || c == '+') {
            snprintf(err, size, "must not hold spaces, control characters or the wildcards # +");
            return -EINVAL;
        }
    }
    return 0;
}

#define MQ(f) offsetof(struct bus_mqtt_config, f)

static const char *const mqtt_protocols[] = {"3.1.1", "5", NULL};

static const cfg_field mqtt_fields[] = {
    {.name = "url",
     .type = CFG_STRING,
     .offset = MQ(url),
     .def = "",
     .validate_cb = validate_mqtt_url,
     .pattern_help = "mqtt://host[:1883] or mqtts://host[:8883]",
     .help = "The MQTT broker; empty: no MQTT"},
    {.name = "username",
     .type = CFG_STRING,
     .offset = MQ(username),
     .def = "",
     .help = "User name at the broker; empty: none"},
    {.name = "password",
     .type = CFG_STRING,
     .offset = MQ(password),
     .def = "",
     .is_secret = true,
     .help = "Password at the broker (use ${ENV} or file:PATH); masked when printed"},
    {.name = "client_id",
     .type = CFG_STRING,
     .offset = MQ(client_id),
     .def = "horus",
     .help = "A fixed client id, so the broker keeps this client's session; one per node. "
             "The default, on nodes sharing a database, becomes horus-<node id>"},
    {.name = "topic_prefix",
     .type = CFG_STRING,
     .offset = MQ(topic_prefix),
     .def = "horus",
     .validate_cb = validate_topic_prefix,
     .help = "Topics are <prefix>/available and <prefix>/events (Frigate's layout)"},
    {.name = "tls_ca",
     .type = CFG_STRING,
     .offset = MQ(tls_ca),
     .def = "",
     .help = "PEM file of the CAs that sign the broker's certificate (mqtts); empty: the "
             "system's"},
    {.name = "tls_verify",
     .type = CFG_BOOL,
     .offset = MQ(tls_verify),
     .def = "true",
     .help = "Check the broker's certificate and name (mqtts)"},
    {.name = "qos",
     .type = CFG_INT,
     .offset = MQ(qos),
     .def = "1",
     .min = 0,
     .max = 1,
     .help = "1: an event is delivered once the broker acknowledged it (PUBACK); 0: fire and "
             "forget"},
    {.name = "protocol",
     .type = CFG_ENUM,
     .offset = MQ(protocol),
     .def = "3.1.1",
     .enum_names = mqtt_protocols,
     .help = "MQTT version: 3.1.1 (every broker) or 5 (message headers such as a frame's "
             "camera and capture time travel as user properties, with a content type)"},
    {.name = "keepalive",
     .type = CFG_DURATION,
     .offset = MQ(keepalive_ms),
     .def = "30s",
     .min = 5000,
     .max = 3600000,
     .help = "MQTT keep-alive interval"},
    {.name = "stats_interval",
     .type = CFG_DURATION,
     .offset = MQ(stats_interval_ms),
     .def = "60s",
     .min = 0,
     .max = 86400000,
     .help = "Publish <prefix>/stats (uptime, version, open events per camera) this often; 0s: "
             "never"},
    {.name = "discovery",
     .type = CFG_BOOL,
     .offset = MQ(discovery),
     .def = "true",
     .help = "Announce each camera to Home Assistant (MQTT discovery, retained) at each connect"},
    {.name = "discovery_prefix",
     .type = CFG_STRING,
     .offset = MQ(discovery_prefix),
     .def = "homeassistant",
     .validate_cb = validate_topic_prefix,
     .help = "Home Assistant's discovery prefix"},
    {.name = "commands",
     .type = CFG_BOOL,
     .offset = MQ(commands),
     .def = "false",
     .help = "Apply <prefix>/<camera>/recordings/set, detect/set and motion/set (ON or OFF) "
             "and acknowledge them on .../state; off by default: anyone who may publish to "
             "the broker could switch recording off"},
    {0},
};

#define OFF(f) offsetof(struct bus_config, f)

const cfg_field bus_config_fields[] = {
    {.name = "outbox_retention",
     .type = CFG_DURATION,
     .offset = OFF(outbox_retention_ms),
     .def = "7d",
     .min = 1000,
     .max = 365 * 86400000.0,
     .help = "Messages no bus delivered for this long are dropped (and counted)"},
    {.name = "batch_max",
     .type = CFG_INT,
     .offset = OFF(batch_max),
     .def = "100",
     .min = 1,
     .max = 10000,
     .help = "Outbox messages published per batch"},
    {.name = "backoff_min",
     .type = CFG_DURATION,
     .offset = OFF(backoff_min_ms),
     .def = "500ms",
     .min = 10,
     .max = 600000,
     .help = "First delay before reconnecting to a broker; doubles per failure"},
    {.name = "backoff_max",
     .type = CFG_DURATION,
     .offset = OFF(backoff_max_ms),
     .def = "30s",
     .min = 10,
     .max = 3600000,
     .help = "Longest delay between reconnects"},
    {.name = "publish_timeout",
     .type = CFG_DURATION,
     .offset = OFF(publish_timeout_ms),
     .def = "10s",
     .min = 100,
     .max = 600000,
     .help = "A batch not acknowledged by then counts as a lost connection"},
    {.name = "mqtt",
     .type = CFG_SECTION,
     .offset = OFF(mqtt),
     .sub = mqtt_fields,
     .help = "MQTT (Frigate-compatible topics; libmosquitto)"},
    {.name = "nats",
     .type = CFG_SECTION,
     .offset = OFF(nats),
     .sub = bus_nats_fields,
     .help = "NATS JetStream: subjects <prefix>.events.<camera>, .detections., .frames. on a "
             "stream made if missing (libnats)"},
    {.name = "amqp",
     .type = CFG_SECTION,
     .offset = OFF(amqp),
     .sub = bus_amqp_fields,
     .help = "AMQP 0-9-1 (RabbitMQ): a durable topic exchange, routing key <kind>s.<camera> "
             "prefixed horus., publisher confirms (librabbitmq)"},
    {0},
};

bool bus_config_any(const struct bus_config *c)
{
    return c && ((c->mqtt.url && c->mqtt.url[0]) || (c->nats.url && c->nats.url[0]) ||
                 (c->amqp.url && c->amqp.url[0]));
}
