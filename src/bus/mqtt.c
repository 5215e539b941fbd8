/*
 * DESIGN: the MQTT adapter (bus_client.h; docs/design/0045). MQTT 3.1.1,
 * or 5 with bus.mqtt.protocol (headers as user properties: mqtt_v5.c),
 * through libmosquitto, whose own network thread (mosquitto_loop_start)
 * keeps the connection alive, answers the broker and reports PUBACKs;
 * the bus thread is the only caller of these functions.
 *
 * Session: a fixed client id and clean session off, so the broker keeps
 * the session (3.1.1; under MQTT 5 the session expires at disconnect, as
 * an asynchronous connect sends no Session Expiry: every connect
 * subscribes again, and nothing Horus relies on lives in it); the last will "<prefix>/available" =
 * "offline" (retained) and, once connected, "online" (retained), as Frigate does. A message is done
 * at its PUBACK (QoS 1): on_publish marks its mid in a bitmap, and publish() reports the prefix of
 * the batch whose mids are marked (a mid's old mark is cleared when it is given out again:
 * publish_tracked). Each connect makes a fresh libmosquitto client, so nothing of a lost connection
 * (in-flight mids) survives into the next one: the core republishes from the first unacknowledged
 * row (at least once).
 *
 * Commands (bus.mqtt.commands, off by default): the adapter subscribes to
 * <prefix>/+/+/set at QoS 0 (a persistent session then queues nothing for
 * a Horus that is away: a command is for now, not for whenever Horus comes
 * back). on_message, on libmosquitto's thread, only copies the message
 * into a small inbox and wakes the bus thread; the bus thread takes the
 * messages out one by one, parses them (mqtt_command.c), applies them
 * through the daemon's bus_command_fn (a storage write) with no lock held,
 * acknowledges each with the camera's state, retained, on
 * <prefix>/<camera>/<command>/state, and counts it in
 * horus_bus_commands_total{bus,command,result}. Every camera's states are
 * published at connect, and those that changed another way (the API) with
 * each <prefix>/stats. Retained messages are
 * refused: the broker replays them at every subscription, so a stale
 * command would undo later changes at each reconnect.
 *
 * Several nodes on one database (docs/design/0071): the node that delivers
 * the outbox is the service as Home Assistant sees it. Only it has
 * <prefix>/available as its last will, answers commands, publishes states
 * and stats and announces discovery (under one device id for all nodes,
 * the topic prefix); a standby connects without a will and publishes its
 * cameras' frames. When the role changes the core connects again
 * (set_delivering), since a will is fixed at connect.
 *
 * Lock: one mutex guards the state the network thread's callbacks write
 * (connack, lost flag and reason, the bitmap, the command inbox); it is
 * never held across a libmosquitto call, a log line or a command.
 */
#include "bus_int.h"
#include "mqtt_command_int.h"
#include "mqtt_counts_int.h"
#include "mqtt_discovery_int.h"
#include "mqtt_ha_int.h"
#include "mqtt_snapshot_int.h"
#include "mqtt_v5_int.h"

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
#define INBOX_MAX 32 /* commands waiting for the bus thread; more are refused */
#define COMMAND_TOPIC_MAX 256
#define COMMAND_PAYLOAD_MAX 8 /* "OFF" fits; a longer payload is refused by its length */
#define HA_REFRESH_MS 2000 /* how often the cameras are read again for Home Assistant */

/* A command message as the broker delivered it, waiting for the bus thread. */
struct command_in {
    char topic[COMMAND_TOPIC_MAX];
    bool is_topic_cut; /* the topic was longer than topic[] */
    char payload[COMMAND_PAYLOAD_MAX];
    size_t len; /* the payload's full length (only the first bytes are kept) */
    bool is_retained;
};

/* The switch states last published for a camera (bus thread only). */
struct switch_states {
    char camera[BUS_COMMAND_CAMERA_MAX + 1];
    uint8_t known, on; /* bit w: switch w published, and as ON */
};

/* The labels of horus_bus_commands_total: the commands, then "unknown". */
#define COMMAND_LABELS 4

struct mqtt {
    struct bus_url url;
    char *username, *password, *client_id, *tls_ca; /* owned */
    char prefix[72], topic_available[96], topic_events[96];
    bool tls_verify;
    bool is_v5; /* bus.mqtt.protocol 5: headers as user properties (mqtt_v5.c) */
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
    bus_ha *ha; /* owned: what was announced and retained, to clear what goes (bus thread) */
    bool is_ha_loaded, is_ha_unsaved; /* the saved sets read; a change not saved yet */
    bool is_ha_noted; /* a retained topic was noted since the last round */
    uint64_t ha_print; /* the cameras (ids, updated_at) of the last round */
    int64_t ha_at_ms; /* the next round (monotonic ms) */
    char topic_ha_status[96]; /* <discovery_prefix>/status: Home Assistant's birth message */
    bool is_ha_born; /* guarded by lock: Home Assistant said "online": publish the states */

    /*
     * Whether this node delivers the outbox (set_delivering; bus thread): only then is its
     * last will <prefix>/available and does it answer commands and announce discovery. A
     * standby node of a shared database connects without a will, for its cameras' frames.
     */
    bool is_delivering;
    char discovery_node[72]; /* Home Assistant's <node>: client_id alone, the prefix shared */

    bool commands; /* bus.mqtt.commands */
    char topic_commands[96]; /* <prefix>/+/+/set */
    bus_command_fn command; /* borrowed from the daemon; NULL: every command is refused */
    void *command_arg;
    void (*wake)(void *arg); /* wakes the bus thread: a command arrived */
    void *wake_arg;
    struct command_in inbox[INBOX_MAX]; /* guarded by lock */
    size_t ninbox; /* guarded by lock */
    uint64_t inbox_overflow; /* guarded by lock: commands refused because the inbox was full */
    /* horus_bus_commands_total{bus="mqtt",command,result}: [label][0 applied, 1 refused] */
    metrics_series *m_commands[COMMAND_LABELS][2];
    struct switch_states *states; /* owned: what .../state says now, per camera; bus thread */
    size_t nstates;
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

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/*
 * A command: into the inbox for the bus thread, which is woken. Home
 * Assistant's birth message (<discovery_prefix>/status "online", subscribed
 * with discovery on): a flag, so the bus thread publishes the entities' states
 * again (the counts are not retained).
 */
static void on_message(struct mosquitto *mosq, void *arg, const struct mosquitto_message *msg)
{
    (void)mosq;
    struct mqtt *m = arg;
    if (!msg || !msg->topic)
        return;
    pthread_mutex_lock(&m->lock);
    if (strcmp(msg->topic, m->topic_ha_status) == 0) {
        /* Home Assistant (re)started: its sensors know no state until the next change. */
        m->is_ha_born = m->is_ha_born || (msg->payloadlen == 6 && msg->payload &&
                                          memcmp(msg->payload, "online", 6) == 0);
    } else if (!m->commands) {
        /* a subscription an earlier run with commands on left in the session: ignored */
    } else if (m->ninbox < INBOX_MAX) {
        struct command_in *c = &m->inbox[m->ninbox++];
        size_t n = strlen(msg->topic);
        c->is_topic_cut = n >= sizeof(c->topic);
        snprintf(c->topic, sizeof(c->topic), "%s", msg->topic);
        c->len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
        if (c->len > 0) /* an empty payload (clearing a retained message) has no bytes */
            memcpy(c->payload, msg->payload,
                   c->len < sizeof(c->payload) ? c->len : sizeof(c->payload));
        c->is_retained = msg->retain;
    } else {
        m->inbox_overflow++;
    }
    pthread_mutex_unlock(&m->lock);
    if (m->wake)
        m->wake(m->wake_arg);
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

/* A retained topic of camera published: remembered, so it is cleared when the camera goes. */
static void note_retained(struct mqtt *m, const char *camera, const char *topic)
{
    if (m->ha && bus_ha_note_retained(m->ha, camera, topic))
        m->is_ha_noted = true;
}

/* Retained, QoS 1, not awaited: the next connect sends the configs again. */
static void ha_publish(const char *topic, const char *payload, void *arg)
{
    struct mqtt *m = arg;
    mosquitto_publish(m->mosq, NULL, topic, (int)strlen(payload), payload, 1, true);
}

struct ha_round {
    struct mqtt *m;
    const char *camera;
};

static void ha_want(const char *topic, const char *payload, void *arg)
{
    struct ha_round *r = arg;
    if (bus_ha_want(r->m->ha, r->camera, topic, payload) == -EEXIST)
        log_warn_limited("discovery topic taken",
                         LOG_KV({"camera", r->camera}, {"topic", topic}, {"bus", "mqtt"}),
                         "camera '%s' is not announced on '%s': another camera's entity has "
                         "that topic",
                         r->camera, topic);
}

/*
 * The states of camera's entities as they are now (the counts of its labels
 * and of all, motion ON/OFF retained), so Home Assistant shows 0 and off
 * rather than unknown before the first event.
 */
static void publish_entity_states(struct mqtt *m, const char *camera,
                                  char labels[][BUS_DISCOVERY_LABEL_MAX], size_t nlabels)
{
    char topic[sizeof(m->prefix) + 2 * BUS_COUNT_NAME_MAX + 4], safe[BUS_COUNT_NAME_MAX], text[16];
    for (size_t i = 0; i <= nlabels; i++) {
        bus_counts_topic_safe(safe, sizeof(safe), i < nlabels ? labels[i] : "all");
        int n = i < nlabels ? bus_counts_of(m->counts, camera, labels[i])
                            : bus_counts_open(m->counts, camera);
        snprintf(topic, sizeof(topic), "%.71s/%.79s/%.79s", m->prefix, camera, safe);
        int len = snprintf(text, sizeof(text), "%d", n);
        mosquitto_publish(m->mosq, NULL, topic, len, text, 0, false);
    }
    bool is_motion = bus_counts_of(m->counts, camera, "motion") > 0;
    snprintf(topic, sizeof(topic), "%.71s/%.79s/motion", m->prefix, camera);
    mosquitto_publish(m->mosq, NULL, topic, is_motion ? 2 : 3, is_motion ? "ON" : "OFF", 0, true);
    note_retained(m, camera, topic);
}

/*
 * Home Assistant discovery (docs/design/0045): at each connect (is_connect)
 * every camera's configs, retained, so Home Assistant finds them whenever
 * it starts; then every HA_REFRESH_MS, when the cameras changed (added,
 * deleted, renamed, new analytics labels), the configs that changed, and
 * empty retained payloads for what went away (mqtt_ha.c). The announced
 * sets are saved in the settings, so what went away while Horus was stopped
 * is cleared at the next connect. A failed camera read changes nothing.
 */
static void ha_refresh(struct mqtt *m, bool is_connect, bool is_birth)
{
    if (!m->db || !m->ha || !m->mosq || !m->is_delivering)
        return;
    if (!m->is_ha_loaded) {
        char *text = NULL;
        int rc = sto_setting_get(m->db, BUS_HA_SETTING, &text);
        if (rc < 0 && rc != -ENOENT)
            return; /* not read: saving now would forget what was announced */
        if (rc == 0 && bus_ha_load(m->ha, text, strlen(text)) < 0)
            log_warn_kv(LOG_KV({"bus", "mqtt"}, {"setting", BUS_HA_SETTING}),
                        "the saved Home Assistant topics are unreadable: entities of cameras "
                        "deleted before now may stay in Home Assistant");
        free(text);
        m->is_ha_loaded = true;
    }
    struct sto_camera *cams = NULL;
    size_t n = 0;
    uint64_t print = 0;
    if (bus_ha_cameras(m->db, &cams, &n, &print) < 0)
        return;
    if (!is_connect && !is_birth && print == m->ha_print && !m->is_ha_noted && !m->is_ha_unsaved) {
        sto_camera_list_free(cams, n);
        return;
    }
    m->ha_print = print;
    m->is_ha_noted = false;
    bus_ha_begin(m->ha);
    for (size_t i = 0; i < n; i++) {
        bus_ha_camera(m->ha, cams[i].id);
        char labels[BUS_DISCOVERY_LABELS_MAX][BUS_DISCOVERY_LABEL_MAX];
        size_t nlabels = bus_discovery_labels(cams[i].analytics, labels);
        const char *names[BUS_DISCOVERY_LABELS_MAX];
        for (size_t k = 0; k < nlabels; k++)
            names[k] = labels[k];
        struct bus_discovery d = {.discovery_prefix = m->discovery_prefix,
                                  .topic_prefix = m->prefix,
                                  .client_id = m->discovery_node,
                                  .camera_id = cams[i].id,
                                  .camera_name = cams[i].name,
                                  .has_commands = m->commands,
                                  .labels = names,
                                  .nlabels = nlabels};
        struct ha_round r = {.m = m, .camera = cams[i].id};
        if (m->discovery)
            bus_discovery_camera(&d, ha_want, &r);
    }
    size_t sent = bus_ha_commit(m->ha, is_connect, ha_publish, m);
    for (size_t i = 0; m->discovery && (sent > 0 || is_connect || is_birth) && i < n; i++) {
        char labels[BUS_DISCOVERY_LABELS_MAX][BUS_DISCOVERY_LABEL_MAX];
        size_t nlabels = bus_discovery_labels(cams[i].analytics, labels);
        publish_entity_states(m, cams[i].id, labels, nlabels);
    }
    sto_camera_list_free(cams, n);
    m->is_ha_noted = false; /* what publish_entity_states noted is saved below */
    if (bus_ha_take_dirty(m->ha) || m->is_ha_unsaved) {
        char *text = bus_ha_dump(m->ha);
        int rc = sto_setting_put(m->db, BUS_HA_SETTING, text);
        free(text);
        if (rc < 0)
            log_warn_limited("save announced", LOG_KV({"bus", "mqtt"}),
                             "save the Home Assistant topics announced: %s; trying again",
                             horus_strerror(rc));
        m->is_ha_unsaved = rc < 0;
    }
}

/* The acknowledgement of a command, and the state Home Assistant's switch shows: retained. */
static void publish_state(struct mqtt *m, const char *camera, enum bus_switch what, bool is_on)
{
    struct switch_states *st = NULL;
    for (size_t i = 0; i < m->nstates && !st; i++)
        if (strcmp(m->states[i].camera, camera) == 0)
            st = &m->states[i];
    if (!st) {
        m->states = horus_realloc(m->states, (m->nstates + 1) * sizeof(*m->states));
        st = &m->states[m->nstates++];
        *st = (struct switch_states){0};
        snprintf(st->camera, sizeof(st->camera), "%s", camera);
    }
    st->known |= (uint8_t)(1u << what);
    st->on = (uint8_t)(is_on ? st->on | (1u << what) : st->on & ~(1u << what));
    char topic[sizeof(m->prefix) + BUS_COMMAND_CAMERA_MAX + 32];
    snprintf(topic, sizeof(topic), "%s/%s/%s/state", m->prefix, camera, bus_command_name(what));
    mosquitto_publish(m->mosq, NULL, topic, is_on ? 2 : 3, is_on ? "ON" : "OFF", 0, true);
    note_retained(m, camera, topic);
}

/* Whether camera's switch what was last published as is_on. */
static bool state_is_published(const struct mqtt *m, const char *camera, enum bus_switch what,
                               bool is_on)
{
    for (size_t i = 0; i < m->nstates; i++)
        if (strcmp(m->states[i].camera, camera) == 0)
            return (m->states[i].known & (1u << what)) &&
                   !!(m->states[i].on & (1u << what)) == is_on;
    return false;
}

/*
 * Every camera's switches as they are now: all of them at connect (is_all), so a
 * switch shows its state before any command; later only those that changed
 * another way (the API), with the stats.
 */
static void announce_states(struct mqtt *m, bool is_all)
{
    struct sto_camera *list = NULL;
    size_t n = 0;
    if (!m->command || !m->db || bus_ha_cameras(m->db, &list, &n, NULL) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        for (int w = BUS_SWITCH_RECORDINGS; w <= BUS_SWITCH_MOTION; w++) {
            bool is_on = false;
            char why[160];
            if (m->command(m->command_arg, list[i].id, (enum bus_switch)w, NULL, &is_on, why,
                           sizeof(why)) == 0 &&
                (is_all || !state_is_published(m, list[i].id, (enum bus_switch)w, is_on)))
                publish_state(m, list[i].id, (enum bus_switch)w, is_on);
        }
    }
    sto_camera_list_free(list, n);
}

static void count_command(struct mqtt *m, const char *name, bool is_applied)
{
    size_t k = COMMAND_LABELS - 1; /* "unknown" */
    for (int w = BUS_SWITCH_RECORDINGS; w <= BUS_SWITCH_MOTION; w++)
        if (strcmp(name, bus_command_name((enum bus_switch)w)) == 0)
            k = (size_t)w;
    if (m->m_commands[k][is_applied ? 0 : 1])
        metrics_counter_add(m->m_commands[k][is_applied ? 0 : 1], 1);
}

/*
 * Applies one command through the daemon and acknowledges it with the state
 * it leaves (also when refused for a read-only camera: the switch snaps back).
 * A refusal is logged, limited per cause and topic, and counted. Bus thread.
 */
static void apply_command(struct mqtt *m, const struct command_in *in)
{
    struct bus_command_msg c = {0};
    char why[200] = "";
    const char *cause = "command refused";
    int rc;
    if (in->is_topic_cut) {
        snprintf(c.name, sizeof(c.name), "unknown");
        snprintf(why, sizeof(why), "topic longer than %d bytes", COMMAND_TOPIC_MAX - 1);
        rc = -EINVAL;
    } else {
        rc = bus_command_parse(m->prefix, in->topic, in->payload, in->len, &c, why, sizeof(why));
    }
    if (rc == 0 && in->is_retained) {
        snprintf(why, sizeof(why), "retained message: a command the broker kept is not applied");
        cause = "retained command";
        rc = -EINVAL;
    }
    if (rc == 0 && !m->command) {
        snprintf(why, sizeof(why), "this daemon applies no commands");
        rc = -ENOTSUP;
    }
    bool is_on = false;
    if (rc == 0) {
        char reason[160] = "";
        bool want = c.is_on;
        rc = m->command(m->command_arg, c.camera, c.what, &want, &is_on, reason, sizeof(reason));
        if (rc == 0 || rc == -EBUSY)
            publish_state(m, c.camera, c.what, is_on);
        if (rc == -ENOENT) {
            snprintf(why, sizeof(why), "no camera '%s'", c.camera);
            cause = "command: unknown camera";
        } else if (rc == -EBUSY) {
            snprintf(why, sizeof(why),
                     "camera '%s' is provisioned from horus.yaml (read-only): change it there",
                     c.camera);
            cause = "command: read-only camera";
        } else if (rc < 0) {
            snprintf(why, sizeof(why), "%s", reason[0] ? reason : horus_strerror(rc));
            cause = "command failed";
        }
    }
    count_command(m, c.name, rc == 0);
    if (rc == 0)
        log_info_kv(LOG_KV({"camera", c.camera}, {"bus", "mqtt"}), "%s %s by an MQTT command",
                    c.name, is_on ? "on" : "off");
    else
        log_warn_limited(cause, LOG_KV({"topic", in->topic}, {"bus", "mqtt"}),
                         "ignore MQTT command on '%s': %s", in->topic, why);
}

/* Applies the commands that arrived, one at a time, the lock released around each. */
static void run_commands(struct mqtt *m)
{
    for (;;) {
        struct command_in in;
        pthread_mutex_lock(&m->lock);
        uint64_t overflow = m->inbox_overflow;
        m->inbox_overflow = 0;
        bool has = m->ninbox > 0;
        if (has) {
            in = m->inbox[0];
            memmove(&m->inbox[0], &m->inbox[1], (m->ninbox - 1) * sizeof(m->inbox[0]));
            m->ninbox--;
        }
        pthread_mutex_unlock(&m->lock);
        for (uint64_t i = 0; i < overflow; i++)
            count_command(m, "unknown", false);
        if (overflow)
            log_warn_limited("command inbox full", LOG_KV({"bus", "mqtt"}),
                             "ignored %llu MQTT commands: more than %d arrived at once",
                             (unsigned long long)overflow, INBOX_MAX);
        if (!has)
            return;
        if (m->mosq && m->is_delivering) /* a standby unsubscribed: a straggler is not its */
            apply_command(m, &in);
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
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                         m->is_v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    /* Small messages, sent as soon as they are made: with Nagle on, a PUBLISH waits for the
     * broker's (delayed) ACK of the previous one, 40-80 ms per event (bench/bus/latency). */
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_log_callback_set(m->mosq, on_log);
    if (m->commands || m->discovery)
        mosquitto_message_callback_set(m->mosq, on_message);
    if (m->username[0])
        mosquitto_username_pw_set(m->mosq, m->username, m->password[0] ? m->password : NULL);
    if (m->is_delivering) /* a standby's end says nothing: the delivering node is the service */
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
        if (m->is_delivering)
            mosquitto_publish(m->mosq, NULL, m->topic_available, 6, "online", 1, true);
        /* The broker keeps a session's subscriptions: with commands off, or on a standby
         * node, drop one that an earlier run left behind. */
        if (m->commands && m->is_delivering)
            mosquitto_subscribe(m->mosq, NULL, m->topic_commands, 0);
        else
            mosquitto_unsubscribe(m->mosq, NULL, m->topic_commands);
        if (m->discovery && m->is_delivering)
            mosquitto_subscribe(m->mosq, NULL, m->topic_ha_status, 0);
        else
            mosquitto_unsubscribe(m->mosq, NULL, m->topic_ha_status);
        ha_refresh(m, true, false);
        m->ha_at_ms = mono_ms() + HA_REFRESH_MS;
        if (m->commands && m->is_delivering)
            announce_states(m, true);
        return 0;
    }
    if (connack > 0) {
        snprintf(why, cap, "%s: %s", ep,
                 m->is_v5 ? mosquitto_reason_string(connack) : mosquitto_connack_string(connack));
        rc = bus_mqtt_connack_error(connack);
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

/*
 * Frigate's <prefix>/<camera>/<label>/snapshot: the best view's JPEG, retained;
 * the same on <prefix>/<camera>/snapshot, the newest of any label, which Home
 * Assistant's camera entity shows.
 */
static void publish_snapshot(struct mqtt *m, const struct bus_msg *msg)
{
    struct bus_snapshot s;
    if (!m->data_dir[0] || !bus_snapshot_of(msg->body, msg->len, m->data_dir, m->prefix, &s))
        return;
    FILE *f = fopen(s.path, "rb");
    if (!f)
        return; /* deleted by retention meanwhile: nothing to show */
    void *jpeg = horus_malloc(SNAPSHOT_MAX);
    size_t n = fread(jpeg, 1, SNAPSHOT_MAX, f);
    bool is_whole = feof(f) && !ferror(f);
    fclose(f);
    if (n > 0 && is_whole) {
        mosquitto_publish(m->mosq, NULL, s.topic, (int)n, jpeg, 0, true);
        mosquitto_publish(m->mosq, NULL, s.camera_topic, (int)n, jpeg, 0, true);
        note_retained(m, s.camera, s.topic);
        note_retained(m, s.camera, s.camera_topic);
    }
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
            if (is_motion)
                note_retained(m, out[j].camera, topic);
        }
    }
}

/*
 * mosquitto_publish for a message whose acknowledgement is awaited: its
 * mid's mark is cleared under the lock on_publish takes, so a mark left by
 * an earlier message that had the same mid (mids wrap after 65535, and
 * untracked publishes mark theirs too) is not taken for this one's PUBACK,
 * and this one's PUBACK, which needs the lock, cannot be marked before the
 * clearing. Returns mosquitto_publish's code.
 */
static int publish_tracked(struct mqtt *m, int *mid, const struct bus_msg *b, int qos)
{
    pthread_mutex_lock(&m->lock);
    int mrc = m->is_v5 ? bus_mqtt_publish_v5(m->mosq, mid, b, qos)
                       : mosquitto_publish(m->mosq, mid, b->subject, (int)b->len, b->body, qos,
                                           b->is_retained);
    if (mrc == MOSQ_ERR_SUCCESS && *mid > 0 && *mid < MIDS)
        m->acked[*mid / 8] &= (uint8_t) ~(1u << (*mid % 8));
    pthread_mutex_unlock(&m->lock);
    return mrc;
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
        int mrc = publish_tracked(m, &mids[sent], b, qos);
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
    run_commands(m); /* a long backlog must not hold commands back until it is delivered */
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

/*
 * <prefix>/stats, a small cousin of Frigate's: the service's uptime and version
 * and each camera's open events, fire and forget.
 */
static void publish_stats(struct mqtt *m)
{
    json_t *cams = json_object();
    struct sto_camera *list = NULL;
    size_t n = 0;
    if (m->db && bus_ha_cameras(m->db, &list, &n, NULL) == 0)
        for (size_t i = 0; i < n; i++)
            json_object_set_new(
                cams, list[i].id,
                json_pack("{s:i}", "open_events", bus_counts_open(m->counts, list[i].id)));
    sto_camera_list_free(list, n);
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
    run_commands(m);
    pthread_mutex_lock(&m->lock);
    bool is_birth = m->is_ha_born;
    m->is_ha_born = false;
    pthread_mutex_unlock(&m->lock);
    if (mono_ms() >= m->ha_at_ms || is_birth) {
        m->ha_at_ms = mono_ms() + HA_REFRESH_MS;
        ha_refresh(m, false, is_birth);
    }
    if (m->stats_interval_ms > 0 && mono_ms() >= m->stats_at_ms && m->is_delivering) {
        m->stats_at_ms = mono_ms() + m->stats_interval_ms;
        publish_stats(m);
        if (m->commands)
            announce_states(m, false);
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
        struct bus_msg off = {
            .subject = m->topic_available, .body = "offline", .len = 7, .is_retained = true};
        if (publish_tracked(m, &mid, &off, 1) == MOSQ_ERR_SUCCESS) {
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
    bus_ha_free(m->ha);
    free(m->data_dir);
    free(m->states);
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

static int mqtt_set_delivering(void *self, bool is_delivering)
{
    struct mqtt *m = self;
    if (m->is_delivering == is_delivering)
        return 0;
    m->is_delivering = is_delivering;
    m->is_ha_loaded = false; /* another node may have announced or cleared since: read again */
    return m->mosq ? 1 : 0; /* the will is fixed at connect */
}

static const struct bus_client_ops mqtt_ops = {
    .name = "mqtt",
    .connect = mqtt_connect,
    .publish = mqtt_publish,
    .idle = mqtt_idle,
    .close = mqtt_close,
    .free = mqtt_free,
    .subject = mqtt_subject,
    .set_delivering = mqtt_set_delivering,
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
    if (env->node_id && strcmp(m->client_id, "horus") == 0) {
        /* The default on every node of a shared database: the broker would let one of them
           connect at a time, each cutting the other off. One each, from the node id. */
        free(m->client_id);
        m->client_id = horus_asprintf("horus-%s", env->node_id);
        log_info_kv(LOG_KV({"bus", "mqtt"}, {"client_id", m->client_id}),
                    "bus.mqtt.client_id is the default on a node sharing its database: "
                    "this node's id is added");
    }
    m->tls_ca = horus_strdup(mc->tls_ca ? mc->tls_ca : "");
    const char *prefix = mc->topic_prefix && mc->topic_prefix[0] ? mc->topic_prefix : "horus";
    snprintf(m->prefix, sizeof(m->prefix), "%s", prefix);
    snprintf(m->topic_available, sizeof(m->topic_available), "%s/available", prefix);
    snprintf(m->topic_events, sizeof(m->topic_events), "%s/events", prefix);
    snprintf(m->topic_commands, sizeof(m->topic_commands), "%s/+/+/set", prefix);
    m->is_delivering = true; /* until the core says otherwise (set_delivering) */
    /* Nodes of one database announce one set of devices, whichever of them delivers. */
    snprintf(m->discovery_node, sizeof(m->discovery_node), "%s",
             env->node_id ? prefix : m->client_id);
    m->commands = mc->commands;
    m->command = env->command;
    m->command_arg = env->command_arg;
    m->wake = env->wake;
    m->wake_arg = env->wake_arg;
    if (env->metrics) {
        metrics_family *f = metrics_family_add(
            env->metrics, &(struct metrics_desc){.type = METRICS_COUNTER,
                                                 .name = "horus_bus_commands_total",
                                                 .help = "MQTT commands received, by command "
                                                         "and whether they were applied",
                                                 .labels = "bus,command,result"});
        for (size_t k = 0; f && k < COMMAND_LABELS; k++) {
            const char *name =
                k < COMMAND_LABELS - 1 ? bus_command_name((enum bus_switch)k) : "unknown";
            m->m_commands[k][0] = metrics_series_get(f, "mqtt", name, "applied");
            m->m_commands[k][1] = metrics_series_get(f, "mqtt", name, "refused");
        }
    }
    m->tls_verify = mc->tls_verify;
    m->qos = mc->qos > 0 ? 1 : 0;
    m->is_v5 = mc->protocol == BUS_MQTT_V5;
    m->keepalive_s = (int)(mc->keepalive_ms / 1000);
    m->connack = -1;
    m->counts = bus_counts_new();
    m->stats_interval_ms = mc->stats_interval_ms;
    m->started_ms = mono_ms();
    m->stats_at_ms = m->started_ms; /* the first once connected and idle */
    m->db = env->db;
    m->data_dir = horus_strdup(env->data_dir ? env->data_dir : "");
    m->discovery = mc->discovery && env->db;
    m->ha = bus_ha_new();
    snprintf(m->discovery_prefix, sizeof(m->discovery_prefix), "%s",
             mc->discovery_prefix && mc->discovery_prefix[0] ? mc->discovery_prefix
                                                             : "homeassistant");
    snprintf(m->topic_ha_status, sizeof(m->topic_ha_status), "%s/status", m->discovery_prefix);
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
