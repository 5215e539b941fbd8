/*
 * The AMQP 0-9-1 adapter (src/bus/amqp.c) against a real rabbitmq-server
 * started by the test (its own node name, ports, Mnesia and log folders and
 * config file in a temporary directory; one boot for the whole program,
 * one restart): a batch comes back from durable queues in order with its
 * headers, content type and delivery mode; a message no queue takes is
 * returned and cuts the acknowledged prefix with a reason naming it; a
 * wrong password is -EACCES without the secret in the reason; a broker
 * killed in the middle of a batch leaves an acknowledged prefix that the
 * restarted broker really kept, and the rest publishes after it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "adapter_check.h"
#include "broker.h"
#include "bus_amqp.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER "horus"
#define PASS "amqp-s3cret"

static char dir[256];
static int port, dist_port, tls_port;
static pid_t server = -1;
static char url[128];
static char env[8][320];

static pid_t rabbit_start(void)
{
    char log[300];
    snprintf(log, sizeof log, "%s/rabbit.out", dir);
    char *envp[9];
    for (int i = 0; i < 8; i++)
        envp[i] = env[i];
    envp[8] = NULL;
    char *argv[] = {"/usr/lib/rabbitmq/bin/rabbitmq-server", NULL};
    return broker_spawn(argv, envp, log, port, 60000);
}

/* A plain client of the test's own; NULL when the broker does not take the login (yet). */
static amqp_connection_state_t client_open(void)
{
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    struct timeval tv = {5, 0};
    if (amqp_socket_open_noblock(s, "127.0.0.1", port, &tv) != AMQP_STATUS_OK ||
        amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, USER, PASS).reply_type !=
            AMQP_RESPONSE_NORMAL) {
        amqp_destroy_connection(c);
        return NULL;
    }
    amqp_channel_open(c, 1);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) {
        amqp_destroy_connection(c);
        return NULL;
    }
    return c;
}

static void client_close(amqp_connection_state_t c)
{
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
}

/* Waits until the broker takes logins (the port opens a little before). */
static bool rabbit_ready(void)
{
    for (int i = 0; i < 300; i++) {
        amqp_connection_state_t c = client_open();
        if (c) {
            client_close(c);
            return true;
        }
        broker_sleep_ms(100);
    }
    return false;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/horus-amqp-XXXXXX");
    if (!mkdtemp(dir) || broker_make_certs(dir) < 0)
        return -1;
    port = broker_free_port();
    dist_port = broker_free_port();
    tls_port = broker_free_port();
    snprintf(url, sizeof url, "amqp://%s:%s@127.0.0.1:%d", USER, PASS, port);
    char path[300];
    snprintf(path, sizeof path, "%s/rabbitmq.conf", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
            "listeners.tcp.default = 127.0.0.1:%d\ndefault_user = %s\ndefault_pass = %s\n"
            "loopback_users = none\ndisk_free_limit.absolute = 1MB\n"
            "listeners.ssl.default = 127.0.0.1:%d\nssl_options.cacertfile = %s/ca.pem\n"
            "ssl_options.certfile = %s/server.pem\nssl_options.keyfile = %s/server.key\n"
            "ssl_options.verify = verify_none\nssl_options.fail_if_no_peer_cert = false\n",
            port, USER, PASS, tls_port, dir, dir, dir);
    fclose(f);
    snprintf(path, sizeof path, "%s/enabled_plugins", dir);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("[].\n", f);
    fclose(f);
    snprintf(env[0], sizeof env[0], "HOME=%s", dir);
    snprintf(env[1], sizeof env[1], "RABBITMQ_NODENAME=horus-test-%d@localhost", port);
    snprintf(env[2], sizeof env[2], "RABBITMQ_NODE_PORT=%d", port);
    snprintf(env[3], sizeof env[3], "RABBITMQ_DIST_PORT=%d", dist_port);
    snprintf(env[4], sizeof env[4], "RABBITMQ_MNESIA_BASE=%s/mnesia", dir);
    snprintf(env[5], sizeof env[5], "RABBITMQ_LOG_BASE=%s/log", dir);
    snprintf(env[6], sizeof env[6], "RABBITMQ_CONFIG_FILE=%s/rabbitmq.conf", dir);
    snprintf(env[7], sizeof env[7], "RABBITMQ_ENABLED_PLUGINS_FILE=%s/enabled_plugins", dir);
    server = rabbit_start();
    return server > 0 && rabbit_ready() ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    broker_kill(server);
    broker_rmdir(dir);
    return 0;
}

static void *adapter(const char *u, const struct bus_client_ops **ops)
{
    struct bus_amqp_config c = {
        .url = (char *)u, .exchange = "horus", .tls_verify = true, .heartbeat_ms = 10000};
    void *self = NULL;
    assert_int_equal(bus_amqp_new(&c, &self, ops), 0);
    assert_string_equal((*ops)->name, "amqp");
    return self;
}

/* A durable queue bound to the exchange with key; emptied. */
static void queue_make(amqp_connection_state_t c, const char *q, const char *key)
{
    amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 0, 1, 0, 0, amqp_empty_table);
    assert_int_equal(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
    amqp_queue_bind(c, 1, amqp_cstring_bytes(q), amqp_cstring_bytes("horus"),
                    amqp_cstring_bytes(key), amqp_empty_table);
    assert_int_equal(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
    amqp_queue_purge(c, 1, amqp_cstring_bytes(q));
    assert_int_equal(amqp_get_rpc_reply(c).reply_type, AMQP_RESPONSE_NORMAL);
}

static uint32_t queue_depth(amqp_connection_state_t c, const char *q)
{
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(c, 1, amqp_cstring_bytes(q), 1, 1, 0, 0, amqp_empty_table);
    return ok ? ok->message_count : 0;
}

/* Takes the next message of q (basic.get, auto-ack); false when the queue is empty. */
static bool queue_get(amqp_connection_state_t c, const char *q, amqp_message_t *msg, char *key,
                      size_t cap)
{
    amqp_rpc_reply_t r = amqp_basic_get(c, 1, amqp_cstring_bytes(q), 1);
    assert_int_equal(r.reply_type, AMQP_RESPONSE_NORMAL);
    if (r.reply.id != AMQP_BASIC_GET_OK_METHOD)
        return false;
    amqp_basic_get_ok_t *ok = r.reply.decoded;
    snprintf(key, cap, "%.*s", (int)ok->routing_key.len, (const char *)ok->routing_key.bytes);
    r = amqp_read_message(c, 1, msg, 0);
    assert_int_equal(r.reply_type, AMQP_RESPONSE_NORMAL);
    return true;
}

static const char *header(const amqp_message_t *m, const char *name, char *buf, size_t cap)
{
    const amqp_table_t *t = &m->properties.headers;
    for (int i = 0; i < t->num_entries; i++) {
        const amqp_table_entry_t *e = &t->entries[i];
        if (e->key.len == strlen(name) && memcmp(e->key.bytes, name, e->key.len) == 0 &&
            e->value.kind == AMQP_FIELD_KIND_UTF8) {
            snprintf(buf, cap, "%.*s", (int)e->value.value.bytes.len,
                     (const char *)e->value.value.bytes.bytes);
            return buf;
        }
    }
    return NULL;
}

static void publishes_a_batch_that_a_consumer_reads_back_in_order(void **state)
{
    (void)state;
    const struct bus_client_ops *ops = NULL;
    void *self = adapter(url, &ops);
    char why[512] = "";
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), 0);
    amqp_connection_state_t c = client_open();
    assert_non_null(c);
    queue_make(c, "events", "horus.events.#");
    queue_make(c, "frames", "horus.frames.#");

    enum { N = 200 };
    static struct bus_msg m[N + 1];
    static char bodies[N][32], seq[N][16];
    static struct bus_header h[N][2];
    adapter_make_batch(m, bodies, h, seq, N, 0);
    static const char frame[] = "\xff\xd8jpeg\xff\xd9";
    struct bus_header fh[] = {{"camera", "door"}, {"keyframe", "true"}};
    m[N] = (struct bus_msg){.subject = "horus.frames.door",
                            .body = frame,
                            .len = sizeof frame - 1,
                            .headers = fh,
                            .nheaders = 2,
                            .content_type = "image/jpeg"};
    size_t acked = 0;
    assert_int_equal(ops->publish(self, m, N + 1, 5000, &acked, why, sizeof why), 0);
    assert_int_equal(acked, N + 1);
    assert_int_equal(ops->idle(self, 10, why, sizeof why), 0);

    char key[160], v[64];
    for (size_t i = 0; i < N; i++) {
        amqp_message_t got;
        assert_true(queue_get(c, "events", &got, key, sizeof key));
        assert_string_equal(key, m[i].subject);
        assert_int_equal(got.body.len, m[i].len);
        assert_memory_equal(got.body.bytes, bodies[i], m[i].len);
        assert_string_equal(header(&got, "sequence", v, sizeof v), seq[i]);
        assert_string_equal(header(&got, "camera", v, sizeof v), i % 2 ? "yard" : "door");
        assert_int_equal(got.properties.delivery_mode, AMQP_DELIVERY_PERSISTENT);
        assert_int_equal(got.properties.content_type.len, strlen("application/json"));
        amqp_destroy_message(&got);
    }
    amqp_message_t got;
    assert_false(queue_get(c, "events", &got, key, sizeof key));
    assert_true(queue_get(c, "frames", &got, key, sizeof key));
    assert_string_equal(key, "horus.frames.door");
    assert_memory_equal(got.body.bytes, frame, sizeof frame - 1);
    assert_string_equal(header(&got, "keyframe", v, sizeof v), "true");
    assert_int_equal(got.properties.delivery_mode, AMQP_DELIVERY_NONPERSISTENT);
    amqp_destroy_message(&got);
    client_close(c);
    ops->free(self);
}

static void a_message_no_queue_takes_is_returned_and_ends_the_prefix(void **state)
{
    (void)state;
    const struct bus_client_ops *ops = NULL;
    void *self = adapter(url, &ops);
    char why[512] = "";
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), 0);
    amqp_connection_state_t c = client_open();
    assert_non_null(c);
    queue_make(c, "events", "horus.events.#");
    struct bus_msg m[3] = {
        {.subject = "horus.events.door", .body = "a", .len = 1, .is_reliable = true},
        {.subject = "horus.nowhere.door", .body = "b", .len = 1, .is_reliable = true},
        {.subject = "horus.events.door", .body = "c", .len = 1, .is_reliable = true},
    };
    size_t acked = 99;
    assert_int_equal(ops->publish(self, m, 3, 5000, &acked, why, sizeof why), -EIO);
    assert_int_equal(acked, 1);
    assert_non_null(strstr(why, "returned"));
    assert_non_null(strstr(why, "horus.nowhere.door"));
    assert_non_null(strstr(why, "NO_ROUTE"));
    /*
     * The first went to the queue, and so did the third (published before the
     * return came back, though not acknowledged to the core); after the core
     * reconnects, the rest follows: at least once, the acknowledged prefix first.
     */
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), 0);
    m[1].subject = "horus.events.door";
    assert_int_equal(ops->publish(self, m + 1, 2, 5000, &acked, why, sizeof why), 0);
    assert_int_equal(acked, 2);
    char key[160];
    for (int i = 0; i < 4; i++) {
        amqp_message_t got;
        assert_true(queue_get(c, "events", &got, key, sizeof key));
        assert_int_equal(got.body.len, 1);
        assert_int_equal(((const char *)got.body.bytes)[0], "acbc"[i]);
        amqp_destroy_message(&got);
    }
    amqp_message_t none;
    assert_false(queue_get(c, "events", &none, key, sizeof key));
    client_close(c);
    ops->free(self);
}

static void refuses_a_wrong_password_with_eacces(void **state)
{
    (void)state;
    char bad[128];
    snprintf(bad, sizeof bad, "amqp://%s:wrong-pass-word@127.0.0.1:%d", USER, port);
    const struct bus_client_ops *ops = NULL;
    void *self = adapter(bad, &ops);
    char why[512] = "";
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), -EACCES);
    char where[64];
    snprintf(where, sizeof where, "amqp 127.0.0.1:%d", port);
    assert_non_null(strstr(why, where));
    assert_non_null(strstr(why, "ACCESS_REFUSED"));
    assert_null(strstr(why, "wrong-pass-word"));
    ops->free(self);
}

static void *tls_adapter(const char *ca_file, const struct bus_client_ops **ops)
{
    char tls_url[128], ca[300];
    /* By name: librabbitmq 0.11 checks the certificate's DNS names only, not IP addresses. */
    snprintf(tls_url, sizeof tls_url, "amqps://%s:%s@localhost:%d", USER, PASS, tls_port);
    snprintf(ca, sizeof ca, "%s/%s", dir, ca_file);
    struct bus_amqp_config c = {.url = tls_url,
                                .exchange = "horus",
                                .tls_ca = ca,
                                .tls_verify = true,
                                .heartbeat_ms = 10000};
    void *self = NULL;
    assert_int_equal(bus_amqp_new(&c, &self, ops), 0);
    return self;
}

static void tls_with_the_brokers_ca_connects_and_publishes(void **state)
{
    (void)state;
    const struct bus_client_ops *ops = NULL;
    void *self = tls_adapter("ca.pem", &ops);
    char why[512] = "";
    int rc = ops->connect(self, 5000, why, sizeof why);
    if (rc != 0)
        print_error("%s\n", why);
    assert_int_equal(rc, 0);
    struct bus_msg one = {.subject = "horus.frames.tls", .body = "x", .len = 1};
    size_t acked = 0;
    assert_int_equal(ops->publish(self, &one, 1, 5000, &acked, why, sizeof why), 0);
    assert_int_equal(acked, 1);
    ops->free(self);
}

static void tls_with_an_unknown_ca_is_eacces(void **state)
{
    (void)state;
    const struct bus_client_ops *ops = NULL;
    void *self = tls_adapter("other-ca.pem", &ops);
    char why[512] = "";
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), -EACCES);
    print_message("# %s\n", why);
    char where[64];
    snprintf(where, sizeof where, "amqp localhost:%d: TLS", tls_port);
    assert_non_null(strstr(why, where));
    assert_null(strstr(why, PASS));
    ops->free(self);
}

static void a_stopped_broker_fails_the_publish_at_its_deadline(void **state)
{
    (void)state;
    const struct bus_client_ops *ops = NULL;
    void *self = adapter(url, &ops);
    char why[512] = "";
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), 0);

    adapter_check_stalled_publish(ops, self, server, "horus.nowhere.big");
}

/* Kills the broker once the queue holds at least `at` messages. */
struct killer {
    uint32_t at;
    bool fired;
};

static void *kill_when_stored(void *arg)
{
    struct killer *k = arg;
    amqp_connection_state_t c = client_open();
    for (int i = 0; c && i < 20000 && !k->fired; i++) {
        if (queue_depth(c, "events") >= k->at) {
            broker_kill(server);
            server = -1;
            k->fired = true;
        } else {
            broker_sleep_ms(1);
        }
    }
    if (c)
        amqp_destroy_connection(c);
    return NULL;
}

static void a_broker_killed_mid_batch_leaves_a_kept_acknowledged_prefix(void **state)
{
    (void)state;
    const struct bus_client_ops *ops = NULL;
    void *self = adapter(url, &ops);
    char why[512] = "";
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), 0);
    amqp_connection_state_t c = client_open();
    assert_non_null(c);
    queue_make(c, "events", "horus.events.#");
    client_close(c);

    enum { N = 10000 };
    static struct bus_msg m[N];
    static char bodies[N][32], seq[N][16];
    static struct bus_header h[N][2];
    adapter_make_batch(m, bodies, h, seq, N, 100000);
    struct killer k = {.at = 500};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, kill_when_stored, &k), 0);
    size_t acked = 0;
    int rc = ops->publish(self, m, N, 20000, &acked, why, sizeof why);
    pthread_join(t, NULL);
    assert_true(k.fired);
    assert_true(rc < 0);
    assert_true(acked < N);
    printf("# killed mid-batch: %zu of %d confirmed (%s)\n", acked, N, why);
    assert_non_null(strstr(why, "amqp 127.0.0.1:"));
    ops->close(self);

    /* Restarted on the same Mnesia: every confirmed message is there, in order. */
    server = rabbit_start();
    assert_true(server > 0);
    assert_true(rabbit_ready());
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), 0);
    c = client_open();
    assert_non_null(c);
    uint32_t kept = queue_depth(c, "events");
    assert_true(kept >= acked);
    char key[160];
    for (size_t i = 0; i < acked; i++) {
        amqp_message_t got;
        assert_true(queue_get(c, "events", &got, key, sizeof key));
        assert_int_equal(got.body.len, m[i].len);
        assert_memory_equal(got.body.bytes, bodies[i], m[i].len);
        amqp_destroy_message(&got);
    }

    /* The core resumes from the first unconfirmed message. */
    size_t rest = 0;
    assert_int_equal(ops->publish(self, m + acked, N - acked, 20000, &rest, why, sizeof why), 0);
    assert_int_equal(rest, N - acked);
    assert_int_equal(queue_depth(c, "events"), kept - acked + (N - acked));
    client_close(c);
    ops->free(self);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(publishes_a_batch_that_a_consumer_reads_back_in_order),
        cmocka_unit_test(a_message_no_queue_takes_is_returned_and_ends_the_prefix),
        cmocka_unit_test(refuses_a_wrong_password_with_eacces),
        cmocka_unit_test(tls_with_the_brokers_ca_connects_and_publishes),
        cmocka_unit_test(tls_with_an_unknown_ca_is_eacces),
        cmocka_unit_test(a_stopped_broker_fails_the_publish_at_its_deadline),
        cmocka_unit_test(a_broker_killed_mid_batch_leaves_a_kept_acknowledged_prefix),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
