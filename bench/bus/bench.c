/*
 * Publish throughput of the NATS and AMQP adapters (src/bus) and of a
 * minimal loop on the same client library (the anchor), against one broker.
 * Every mode publishes `total` reliable messages in batches of `batch` and
 * waits for the broker's acknowledgement of each batch before the next
 * (the bus core's pattern: a batch from the outbox, then its cursor moves).
 *
 *   bench nats-adapter  URL TOTAL BATCH     bus_nats_new + publish()
 *   bench nats-anchor   URL TOTAL BATCH     js_PublishMsgAsync + js_PublishAsyncComplete
 *   bench amqp-adapter  URL TOTAL BATCH     bus_amqp_new + publish()
 *   bench amqp-anchor   URL TOTAL BATCH     amqp_basic_publish + waiting for basic.ack
 *
 * Prints one JSON line: mode, messages, seconds, messages per second.
 * Built by bench/bus/run against the ci build's libraries.
 */
#include "bus_amqp.h"
#include "nats.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char body[256];
static struct bus_header headers[] = {{"camera", "cam1"}, {"sequence", "123456"}};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench: %s: %s\n", what, why);
    exit(1);
}

static int run_adapter(void *self, const struct bus_client_ops *ops, long total, int batch)
{
    char why[512];
    if (ops->connect(self, 10000, why, sizeof why) != 0)
        die("connect", why);
    struct bus_msg *m = calloc((size_t)batch, sizeof *m);
    for (int i = 0; i < batch; i++)
        m[i] = (struct bus_msg){.subject = "horus.events.cam1",
                                .body = body,
                                .len = sizeof body,
                                .headers = headers,
                                .nheaders = 2,
                                .content_type = "application/json",
                                .is_reliable = true};
    for (long done = 0; done < total; done += batch) {
        size_t acked = 0;
        if (ops->publish(self, m, (size_t)batch, 30000, &acked, why, sizeof why) != 0)
            die("publish", why);
    }
    free(m);
    ops->free(self);
    return 0;
}

static void nats_anchor(const char *url, long total, int batch)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    if (natsConnection_ConnectTo(&nc, url) != NATS_OK ||
        natsConnection_JetStream(&js, nc, NULL) != NATS_OK)
        die("nats", "connect");
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 30000;
    for (long done = 0; done < total; done += batch) {
        for (int i = 0; i < batch; i++) {
            natsMsg *msg = NULL;
            natsMsg_Create(&msg, "horus.events.cam1", NULL, body, (int)sizeof body);
            natsMsgHeader_Add(msg, "camera", "cam1");
            natsMsgHeader_Add(msg, "sequence", "123456");
            natsMsgHeader_Set(msg, "Content-Type", "application/json");
            if (js_PublishMsgAsync(js, &msg, NULL) != NATS_OK)
                die("nats", "publish");
        }
        if (js_PublishAsyncComplete(js, &po) != NATS_OK)
            die("nats", "complete");
    }
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

static void amqp_anchor(const char *url, long total, int batch)
{
    char *copy = strdup(url);
    struct amqp_connection_info ci;
    amqp_default_connection_info(&ci);
    if (amqp_parse_url(copy, &ci) != AMQP_STATUS_OK)
        die("amqp", "url");
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (amqp_socket_open(s, ci.host, ci.port) != AMQP_STATUS_OK ||
        amqp_login(c, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password)
                .reply_type != AMQP_RESPONSE_NORMAL)
        die("amqp", "login");
    amqp_channel_open(c, 1);
    amqp_exchange_declare(c, 1, amqp_cstring_bytes("horus"), amqp_cstring_bytes("topic"), 0, 1, 0,
                          0, amqp_empty_table);
    amqp_confirm_select(c, 1);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
        die("amqp", "setup");
    amqp_table_entry_t e[2];
    for (int i = 0; i < 2; i++) {
        e[i].key = amqp_cstring_bytes(headers[i].name);
        e[i].value.kind = AMQP_FIELD_KIND_UTF8;
        e[i].value.value.bytes = amqp_cstring_bytes(headers[i].value);
    }
    amqp_basic_properties_t p = {
        ._flags =
            AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG,
        .delivery_mode = AMQP_DELIVERY_PERSISTENT,
        .headers = {.num_entries = 2, .entries = e},
        .content_type = amqp_cstring_bytes("application/json"),
    };
    uint64_t tag = 0;
    for (long done = 0; done < total; done += batch) {
        for (int i = 0; i < batch; i++) {
            if (amqp_basic_publish(c, 1, amqp_cstring_bytes("horus"),
                                   amqp_cstring_bytes("horus.events.cam1"), 1, 0, &p,
                                   (amqp_bytes_t){.len = sizeof body, .bytes = body}) != 0)
                die("amqp", "publish");
        }
        tag += (uint64_t)batch;
        uint64_t confirmed = tag - (uint64_t)batch;
        while (confirmed < tag) {
            amqp_frame_t f;
            if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
                die("amqp", "wait");
            if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
                amqp_basic_ack_t *a = f.payload.method.decoded;
                if (a->multiple || a->delivery_tag == confirmed + 1)
                    confirmed = a->delivery_tag;
            } else if (f.frame_type == AMQP_FRAME_METHOD) {
                die("amqp", "unexpected method (no queue bound? the anchor wants acks only)");
            }
            amqp_maybe_release_buffers(c);
        }
    }
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    free(copy);
}

/* The exchange, and a durable queue "bench" bound to it and emptied: confirms need a route. */
static void amqp_prepare(const char *url)
{
    char *copy = strdup(url);
    struct amqp_connection_info ci;
    amqp_default_connection_info(&ci);
    if (amqp_parse_url(copy, &ci) != AMQP_STATUS_OK)
        die("amqp", "url");
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (amqp_socket_open(s, ci.host, ci.port) != AMQP_STATUS_OK ||
        amqp_login(c, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password)
                .reply_type != AMQP_RESPONSE_NORMAL)
        die("amqp", "login");
    amqp_channel_open(c, 1);
    amqp_exchange_declare(c, 1, amqp_cstring_bytes("horus"), amqp_cstring_bytes("topic"), 0, 1, 0,
                          0, amqp_empty_table);
    amqp_queue_declare(c, 1, amqp_cstring_bytes("bench"), 0, 1, 0, 0, amqp_empty_table);
    amqp_queue_bind(c, 1, amqp_cstring_bytes("bench"), amqp_cstring_bytes("horus"),
                    amqp_cstring_bytes("horus.events.#"), amqp_empty_table);
    amqp_queue_purge(c, 1, amqp_cstring_bytes("bench"));
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
        die("amqp", "prepare");
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    free(copy);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODE URL TOTAL BATCH\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1], *url = argv[2];
    long total = atol(argv[3]);
    int batch = atoi(argv[4]);
    memset(body, 'x', sizeof body);
    double t0 = now_s();
    if (strcmp(mode, "nats-adapter") == 0) {
        struct bus_nats_config c = {.url = (char *)url,
                                    .subject_prefix = "horus",
                                    .stream = "HORUS",
                                    .tls_verify = true,
                                    .max_bytes = 1u << 30,
                                    .replicas = 1};
        void *self;
        const struct bus_client_ops *ops;
        if (bus_nats_new(&c, &self, &ops) != 0)
            die("nats", "new");
        t0 = now_s();
        run_adapter(self, ops, total, batch);
    } else if (strcmp(mode, "nats-anchor") == 0) {
        nats_anchor(url, total, batch);
    } else if (strcmp(mode, "amqp-adapter") == 0) {
        amqp_prepare(url);
        t0 = now_s();
        struct bus_amqp_config c = {.url = (char *)url, .exchange = "horus", .tls_verify = true};
        void *self;
        const struct bus_client_ops *ops;
        if (bus_amqp_new(&c, &self, &ops) != 0)
            die("amqp", "new");
        run_adapter(self, ops, total, batch);
    } else if (strcmp(mode, "amqp-anchor") == 0) {
        amqp_prepare(url);
        t0 = now_s();
        amqp_anchor(url, total, batch);
    } else {
        die("mode", mode);
    }
    double dt = now_s() - t0;
    printf("{\"mode\":\"%s\",\"messages\":%ld,\"batch\":%d,\"seconds\":%.3f,\"rate\":%.0f}\n", mode,
           total, batch, dt, (double)total / dt);
    return 0;
}
