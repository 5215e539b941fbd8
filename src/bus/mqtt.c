/*
 * DESIGN: the MQTT adapter (bus_client.h; docs/design/0045). MQTT 3.1.1
 * through libmosquitto, whose own network thread (mosquitto_loop_start)
 * keeps the connection alive, answers the broker and reports PUBACKs;
 * the bus thread is the only caller of these functions.
 *
 * Session: a fixed client id and clean session off, so the broker keeps
 * the session; the last will "<prefix>/available" = "offline" (retained)
 * and, once connected, "online" (retained), as Frigate does. A message is
 * done at its PUBACK (QoS 1): on_publish marks its mid in a bitmap, and
 * publish() reports the prefix of the batch whose mids are marked. Each
 * connect makes a fresh libmosquitto client, so nothing of a lost
 * connection (in-flight mids) survives into the next one: the core
 * republishes from the first unacknowledged row (at least once).
 *
 * Lock: one mutex guards the state the network thread's callbacks write
 * (connack, lost flag and reason, the bitmap); it is never held across a
 * libmosquitto call.
 */
#include "bus_int.h"
#include "mqtt_counts_int.h"
#include "mqtt_discovery_int.h"
#include "mqtt_snapshot_int.h"

#include "err.h"
#include "log.h"
#include "mem.h"
#include "version.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG_MODULE "bus"

#define MIDS 65536
#define SNAPSHOT_MAX (8 << 20) /* a larger file is not sent */

struct mqtt {
    struct bus_url url;
    char *username, *password, *client_id, *tls_ca; /* owned */
    char prefix[72], topic_available[96], topic_events[96];
    bool tls_verify;
    int qos;
    int keepalive_s;

    struct mosquitto *mosq; /* owned while connected or connecting */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a callback changed something */
    int connack; /* -1: none yet; else the CONNACK code */
    bool is_connected, is_lost;
    int lost_rc; /* on_disconnect's code */
    char last_error[200]; /* libmosquitto's last error line (TLS, network), "" when none */
    uint8_t acked[MIDS / 8]; /* PUBACKs received, by mid */
    bus_counts *counts; /* owned: open events per camera and label (bus thread only) */
    sto_db *db; /* borrowed: the cameras announced to Home Assistant */
    char *data_dir; /* owned: where event snapshots are; "" = none */
    int64_t stats_interval_ms, started_ms, stats_at_ms; /* monotonic ms; bus thread only */
    bool discovery;
    char discovery_prefix[72];
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    mosquitto_lib_init();
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

/* ---- callbacks (libmosquitto's network thread) ---- */

static void on_connect(struct mosquitto *mosq, void *arg, int rc)
{
    (void)mosq;
    struct mqtt *m = arg;
    pthread_mutex_lock(&m->lock);
    m->connack = rc;
    m->is_connected = rc == 0;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
    (void)mosq;
    struct mqtt *m = arg;
    pthread_mutex_lock(&m->lock);
    m->is_connected = false;
    m->is_lost = true;
    m->lost_rc = rc;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

/* libmosquitto's own errors ("OpenSSL Error[0]: ... certificate verify failed"): the why of
 * a connect that never reaches CONNACK. They name no credential. */
static void on_log(struct mosquitto *mosq, void *arg, int level, const char *text)
{
    (void)mosq;
    struct mqtt *m = arg;
    if (!(level & MOSQ_LOG_ERR) || !text)
        return;
    pthread_mutex_lock(&m->lock);
    if (!m->last_error[0]) /* the first is the cause; later ones repeat it */
        snprintf(m->last_error, sizeof(m->last_error), "%s", text);
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

static void on_publish(struct mosquitto *mosq, void *arg, int mid)
{
    (void)mosq;
    struct mqtt *m = arg;
    if (mid <= 0 || mid >= MIDS)
        return;
    pthread_mutex_lock(&m->lock);
    m->acked[mid / 8] |= (uint8_t)(1u << (mid % 8));
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

/* ---- the adapter ---- */

static const char *endpoint(const struct mqtt *m, char *buf, size_t size)
{
    snprintf(buf, size, "mqtt %s%s%s:%d", strchr(m->url.host, ':') ? "[" : "", m->url.host,
             strchr(m->url.host, ':') ? "]" : "", m->url.port);
    return buf;
}

static void mqtt_close(void *self)
{
    struct mqtt *m = self;
    if (!m->mosq)
        return;
    mosquitto_disconnect(m->mosq);
    mosquitto_loop_stop(m->mosq, false);
    mosquitto_destroy(m->mosq);
    m->mosq = NULL;
    pthread_mutex_lock(&m->lock);
    m->is_connected = false;
    pthread_mutex_unlock(&m->lock);
}

/* The reason of a refused CONNACK: 4 and 5 are credentials (MQTT 3.1.1 §3.2.2.3). */
static int connack_error(int code)
{
    return code == 4 || code == 5 ? -EACCES : -ECONNREFUSED;
}

static void emit_discovery(const char *topic, const char *payload, void *arg)
{
    struct mqtt *m = arg;
    mosquitto_publish(m->mosq, NULL, topic, (int)strlen(payload), payload, 1, true);
}

/*
 * Home Assistant discovery of every camera (retained, so Home Assistant
 * finds them whenever it starts); sent at each connect, without waiting for
 * the acknowledgements: the next connect sends them again.
 */
static void announce_cameras(struct mqtt *m)
{
    char after[128] = "";
    bool has_more = true;
    while (has_more) {
        struct sto_camera *list = NULL;
        size_t n = 0;
        if (sto_camera_list(m->db, after[0] ? after : NULL, 100, &list, &n, &has_more) < 0)
            return;
        for (size_t i = 0; i < n; i++) {
            struct bus_discovery d = {.discovery_prefix = m->discovery_prefix,
                                      .topic_prefix = m->prefix,
                                      .client_id = m->client_id,
                                      .camera_id = list[i].id,
                                      .camera_name = list[i].name};
            bus_discovery_camera(&d, emit_discovery, m);
        }
        if (n > 0)
            snprintf(after, sizeof(after), "%s", list[n - 1].id);
        else
            has_more = false;
        sto_camera_list_free(list, n);
    }
}

static int mqtt_connect(void *self, int timeout_ms, char *why, size_t cap)
{
    struct mqtt *m = self;
    char ep[300];
    endpoint(m, ep, sizeof(ep));
    mqtt_close(m);
    pthread_mutex_lock(&m->lock);
    m->connack = -1;
    m->is_connected = m->is_lost = false;
    m->lost_rc = 0;
    m->last_error[0] = '\0';
    memset(m->acked, 0, sizeof(m->acked));
    pthread_mutex_unlock(&m->lock);

    m->mosq = mosquitto_new(m->client_id, false, m);
    if (!m->mosq) {
        snprintf(why, cap, "%s: make client: %s", ep, strerror(errno));
        return -ENOMEM;
    }
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    /* Small messages, sent as soon as they are made: with Nagle on, a PUBLISH waits for the
     * broker's (delayed) ACK of the previous one, 40-80 ms per event (bench/bus/latency). */
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_log_callback_set(m->mosq, on_log);
    if (m->username[0])
        mosquitto_username_pw_set(m->mosq, m->username, m->password[0] ? m->password : NULL);
    mosquitto_will_set(m->mosq, m->topic_available, 7, "offline", 1, true);
    int rc = MOSQ_ERR_SUCCESS;
    if (strcmp(m->url.scheme, "mqtts") == 0) {
        rc = mosquitto_tls_set(m->mosq, m->tls_ca[0] ? m->tls_ca : NULL,
                               m->tls_ca[0] ? NULL : "/etc/ssl/certs", NULL, NULL, NULL);
        if (rc == MOSQ_ERR_SUCCESS)
            rc = mosquitto_tls_opts_set(m->mosq, m->tls_verify ? 1 : 0, NULL, NULL);
        if (rc == MOSQ_ERR_SUCCESS)
            rc = mosquitto_tls_insecure_set(m->mosq, !m->tls_verify);
        if (rc != MOSQ_ERR_SUCCESS) {
            snprintf(why, cap, "%s: TLS setup (tls_ca '%s'): %s", ep, m->tls_ca,
                     mosquitto_strerror(rc));
            mqtt_close(m);
            return -EACCES;
        }
    }
    rc = mosquitto_connect_async(m->mosq, m->url.host, m->url.port, m->keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS) {
        int err = rc == MOSQ_ERR_ERRNO ? errno : 0;
        snprintf(why, cap, "%s: connect: %s", ep, err ? strerror(err) : mosquitto_strerror(rc));
        mqtt_close(m);
        return err ? -err : -ECONNREFUSED;
    }
    rc = mosquitto_loop_start(m->mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(why, cap, "%s: start network thread: %s", ep, mosquitto_strerror(rc));
        mqtt_close(m);
        return -ENOMEM;
    }
    struct timespec dl;
    deadline_in(&dl, timeout_ms);
    pthread_mutex_lock(&m->lock);
    while (m->connack < 0 && !m->is_lost && !m->last_error[0] &&
           pthread_cond_timedwait(&m->cond, &m->lock, &dl) != ETIMEDOUT)
        ;
    int connack = m->connack, lost_rc = m->lost_rc;
    bool is_lost = m->is_lost;
    char last_error[sizeof(m->last_error)];
    memcpy(last_error, m->last_error, sizeof(last_error));
    pthread_mutex_unlock(&m->lock);
    if (connack == 0) {
        /* Frigate's availability topic; the will turns it "offline" if we vanish. */
        mosquitto_publish(m->mosq, NULL, m->topic_available, 6, "online", 1, true);
        if (m->discovery)
            announce_cameras(m);
        return 0;
    }
    if (connack > 0) {
        snprintf(why, cap, "%s: %s", ep, mosquitto_connack_string(connack));
        rc = connack_error(connack);
    } else if (last_error[0]) {
        /* TLS refusals come this way: the handshake fails before any CONNACK. */
        bool is_tls = strstr(last_error, "SSL") || strstr(last_error, "certificate") ||
                      strstr(last_error, "TLS");
        snprintf(why, cap, "%s: %s%s", ep, is_tls ? "TLS: " : "", last_error);
        rc = is_tls ? -EACCES : -ECONNRESET;
    } else if (is_lost) {
        snprintf(why, cap, "%s: connection lost before CONNACK: %s", ep,
                 lost_rc == MOSQ_ERR_ERRNO || lost_rc == MOSQ_ERR_CONN_LOST
                     ? "closed by the broker or the network"
                     : mosquitto_strerror(lost_rc));
        rc = -ECONNRESET;
    } else {
        snprintf(why, cap, "%s: no CONNACK within %d ms (broker down or unreachable)", ep,
                 timeout_ms);
        rc = -ETIMEDOUT;
    }
    mqtt_close(m);
    return rc;
}

static bool mid_is_acked(const struct mqtt *m, int mid)
{
    return mid > 0 && mid < MIDS && (m->acked[mid / 8] & (1u << (mid % 8)));
}

/* Frigate's <prefix>/<camera>/<label>/snapshot: the best view's JPEG, retained. */
static void publish_snapshot(struct mqtt *m, const struct bus_msg *msg)
{
    char path[PATH_MAX], topic[256];
    if (!m->data_dir[0] || !bus_snapshot_of(msg->body, msg->len, m->data_dir, m->prefix, path,
                                            sizeof(path), topic, sizeof(topic)))
        return;
    FILE *f = fopen(path, "rb");
    if (!f)
        return; /* deleted by retention meanwhile: nothing to show */
    void *jpeg = horus_malloc(SNAPSHOT_MAX);
    size_t n = fread(jpeg, 1, SNAPSHOT_MAX, f);
    bool is_whole = feof(f) && !ferror(f);
    fclose(f);
    if (n > 0 && is_whole)
        mosquitto_publish(m->mosq, NULL, topic, (int)n, jpeg, 0, true);
    free(jpeg);
}

/*
 * Frigate's <prefix>/<camera>/<label> and <prefix>/<camera>/all: the open events
 * the delivered event messages leave, fire and forget (a count is a state, the next
 * change sends it again); for motion events, Frigate's <prefix>/<camera>/motion
 * ON/OFF (retained) instead of a count.
 */
static void publish_counts(struct mqtt *m, const struct bus_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n && m->mosq; i++) {
        if (strcmp(msgs[i].subject, m->topic_events) != 0)
            continue;
        publish_snapshot(m, &msgs[i]);
        struct bus_count out[2];
        size_t k = bus_counts_apply(m->counts, msgs[i].body, msgs[i].len, out);
        for (size_t j = 0; j < k; j++) {
            char topic[sizeof(m->prefix) + 2 * BUS_COUNT_NAME_MAX + 4], text[16];
            snprintf(topic, sizeof(topic), "%.71s/%.79s/%.79s", m->prefix, out[j].camera,
                     out[j].label);
            /* Motion events (label "motion") map to Frigate's <camera>/motion ON/OFF. */
            bool is_motion = strcmp(out[j].label, "motion") == 0;
            int len = is_motion ? snprintf(text, sizeof(text), "%s", out[j].count ? "ON" : "OFF")
                                : snprintf(text, sizeof(text), "%d", out[j].count);
            mosquitto_publish(m->mosq, NULL, topic, len, text, 0, is_motion);
        }
    }
}

static int mqtt_publish(void *self, const struct bus_msg *msgs, size_t n, int timeout_ms,
                        size_t *acked, char *why, size_t cap)
{
    struct mqtt *m = self;
    char ep[300];
    *acked = 0;
    if (!m->mosq) {
        snprintf(why, cap, "%s: not connected", endpoint(m, ep, sizeof(ep)));
        return -ENOTCONN;
    }
    int *mids = horus_calloc(n ? n : 1, sizeof(*mids));
    size_t sent = 0;
    int rc = 0;
    for (; sent < n; sent++) {
        const struct bus_msg *b = &msgs[sent];
        int qos = b->is_reliable ? m->qos : 0;
        int mrc = mosquitto_publish(m->mosq, &mids[sent], b->subject, (int)b->len, b->body, qos,
                                    b->is_retained);
        if (mrc != MOSQ_ERR_SUCCESS) {
            snprintf(why, cap, "%s: publish to '%s': %s", endpoint(m, ep, sizeof(ep)), b->subject,
                     mrc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(mrc));
            rc = mrc == MOSQ_ERR_NO_CONN || mrc == MOSQ_ERR_CONN_LOST ? -ENOTCONN : -EIO;
            break;
        }
    }
    /* Wait for the PUBACKs of what was sent; the prefix acknowledged is what counts. */
    struct timespec dl;
    deadline_in(&dl, timeout_ms);
    pthread_mutex_lock(&m->lock);
    for (;;) {
        while (*acked < sent && mid_is_acked(m, mids[*acked]))
            (*acked)++;
        if (*acked == sent || m->is_lost)
            break;
        if (pthread_cond_timedwait(&m->cond, &m->lock, &dl) == ETIMEDOUT) {
            while (*acked < sent && mid_is_acked(m, mids[*acked]))
                (*acked)++;
            break;
        }
    }
    for (size_t i = 0; i < *acked; i++)
        m->acked[mids[i] / 8] &= (uint8_t) ~(1u << (mids[i] % 8));
    bool is_lost = m->is_lost;
    pthread_mutex_unlock(&m->lock);
    free(mids);
    publish_counts(m, msgs, *acked);
    if (rc == 0 && *acked < n) {
        if (is_lost)
            snprintf(why, cap, "%s: connection lost with %zu of %zu messages unacknowledged",
                     endpoint(m, ep, sizeof(ep)), n - *acked, n);
        else
            snprintf(why, cap, "%s: %zu of %zu messages not acknowledged within %d ms",
                     endpoint(m, ep, sizeof(ep)), n - *acked, n, timeout_ms);
        rc = is_lost ? -ECONNRESET : -ETIMEDOUT;
    }
    return rc;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * <prefix>/stats, a small cousin of Frigate's: the service's uptime and version
 * and each camera's open events, fire and forget.
 */
static void publish_stats(struct mqtt *m)
{
    json_t *cams = json_object();
    char after[128] = "";
    bool has_more = true;
    while (has_more && m->db) {
        struct sto_camera *list = NULL;
        size_t n = 0;
        if (sto_camera_list(m->db, after[0] ? after : NULL, 100, &list, &n, &has_more) < 0)
            break;
        for (size_t i = 0; i < n; i++)
            json_object_set_new(
                cams, list[i].id,
                json_pack("{s:i}", "open_events", bus_counts_open(m->counts, list[i].id)));
        if (n > 0)
            snprintf(after, sizeof(after), "%s", list[n - 1].id);
        else
            has_more = false;
        sto_camera_list_free(list, n);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    json_t *doc =
        json_pack("{s:{s:I, s:s, s:I}, s:o}", "service", "uptime",
                  (json_int_t)((mono_ms() - m->started_ms) / 1000), "version", horus_version(),
                  "last_updated", (json_int_t)now.tv_sec, "cameras", cams);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (text) {
        char topic[96];
        snprintf(topic, sizeof(topic), "%s/stats", m->prefix);
        mosquitto_publish(m->mosq, NULL, topic, (int)strlen(text), text, 0, false);
    }
    free(text);
}

static int mqtt_idle(void *self, int timeout_ms, char *why, size_t cap)
{
    (void)timeout_ms; /* the network thread does the keep-alives: only report a loss */
    struct mqtt *m = self;
    pthread_mutex_lock(&m->lock);
    bool is_lost = m->is_lost || !m->mosq;
    pthread_mutex_unlock(&m->lock);
    if (is_lost) {
        char ep[300];
        snprintf(why, cap, "%s: connection lost", endpoint(m, ep, sizeof(ep)));
        return -ECONNRESET;
    }
    if (m->stats_interval_ms > 0 && mono_ms() >= m->stats_at_ms) {
        m->stats_at_ms = mono_ms() + m->stats_interval_ms;
        publish_stats(m);
    }
    return 0;
}

static void mqtt_free(void *self)
{
    struct mqtt *m = self;
    if (!m)
        return;
    if (m->mosq) {
        /* A clean stop: say so before leaving (the will is for the other cases). */
        int mid = 0;
        if (mosquitto_publish(m->mosq, &mid, m->topic_available, 7, "offline", 1, true) ==
            MOSQ_ERR_SUCCESS) {
            struct timespec dl;
            deadline_in(&dl, 1000);
            pthread_mutex_lock(&m->lock);
            while (!mid_is_acked(m, mid) && !m->is_lost &&
                   pthread_cond_timedwait(&m->cond, &m->lock, &dl) != ETIMEDOUT)
                ;
            pthread_mutex_unlock(&m->lock);
        }
    }
    mqtt_close(m);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m->username);
    free(m->password);
    free(m->client_id);
    free(m->tls_ca);
    bus_counts_free(m->counts);
    free(m->data_dir);
    free(m);
}

static void mqtt_subject(void *self, const char *kind, const char *camera_id, char *out, size_t cap)
{
    struct mqtt *m = self;
    if (strcmp(kind, "event") == 0)
        snprintf(out, cap, "%s", m->topic_events);
    else
        snprintf(out, cap, "%s/%s/%ss", m->prefix, camera_id, kind);
}

static const struct bus_client_ops mqtt_ops = {
    .name = "mqtt",
    .connect = mqtt_connect,
    .publish = mqtt_publish,
    .idle = mqtt_idle,
    .close = mqtt_close,
    .free = mqtt_free,
    .subject = mqtt_subject,
};

int bus_mqtt_make(const struct bus_config *c, const struct bus_adapter_env *env,
                  const struct bus_client_ops **ops, void **self, char *why, size_t cap)
{
    const struct bus_mqtt_config *mc = &c->mqtt;
    if (!mc->url || !mc->url[0])
        return -ENOENT;
    struct bus_url u;
    char reason[160];
    if (bus_url_parse(mc->url, &u, reason, sizeof(reason)) < 0) {
        snprintf(why, cap, "bus.mqtt.url: %s", reason);
        return -EINVAL;
    }
    pthread_once(&lib_once, lib_init);
    struct mqtt *m = horus_calloc(1, sizeof(*m));
    m->url = u;
    if (!m->url.port)
        m->url.port = strcmp(u.scheme, "mqtts") == 0 ? 8883 : 1883;
    m->username = horus_strdup(mc->username ? mc->username : "");
    m->password = horus_strdup(mc->password ? mc->password : "");
    m->client_id = horus_strdup(mc->client_id && mc->client_id[0] ? mc->client_id : "horus");
    m->tls_ca = horus_strdup(mc->tls_ca ? mc->tls_ca : "");
    const char *prefix = mc->topic_prefix && mc->topic_prefix[0] ? mc->topic_prefix : "horus";
    snprintf(m->prefix, sizeof(m->prefix), "%s", prefix);
    snprintf(m->topic_available, sizeof(m->topic_available), "%s/available", prefix);
    snprintf(m->topic_events, sizeof(m->topic_events), "%s/events", prefix);
    m->tls_verify = mc->tls_verify;
    m->qos = mc->qos > 0 ? 1 : 0;
    m->keepalive_s = (int)(mc->keepalive_ms / 1000);
    m->connack = -1;
    m->counts = bus_counts_new();
    m->stats_interval_ms = mc->stats_interval_ms;
    m->started_ms = mono_ms();
    m->stats_at_ms = m->started_ms; /* the first once connected and idle */
    m->db = env->db;
    m->data_dir = horus_strdup(env->data_dir ? env->data_dir : "");
    m->discovery = mc->discovery && env->db;
    snprintf(m->discovery_prefix, sizeof(m->discovery_prefix), "%s",
             mc->discovery_prefix && mc->discovery_prefix[0] ? mc->discovery_prefix
                                                             : "homeassistant");
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    *ops = &mqtt_ops;
    *self = m;
    return 0;
}
