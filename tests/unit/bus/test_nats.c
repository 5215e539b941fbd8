/*
 * The NATS JetStream adapter (src/bus/nats.c) against a real nats-server
 * (-js, user/password) started by the test on a free port in a temporary
 * directory: the stream is created, a batch comes back from a JetStream
 * consumer in order with its headers and bodies, frames go best effort, an
 * existing stream that does not cover the subjects is refused, a wrong
 * password is -EACCES with a reason that names the server and no secret,
 * and a broker killed in the middle of a batch leaves an acknowledged
 * prefix that the restarted broker really kept.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "adapter_check.h"
#include "broker.h"
#include "nats.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USER "horus"
#define PASS "n4ts-s3cret"

static char dir[256];
static int port, tls_port;
static pid_t server = -1, tls_server = -1;
static char url[64];

static pid_t nats_start(void)
{
    char portstr[16], sd[300], log[300];
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(sd, sizeof sd, "%s/js", dir);
    snprintf(log, sizeof log, "%s/nats.log", dir);
    char *argv[] = {"nats-server", "-js", "-a",     "127.0.0.1", "-p", portstr, "-sd", sd,
                    "--user",      USER,  "--pass", PASS,        NULL};
    return broker_spawn(argv, NULL, log, port, 60000);
}

/* A second server that speaks only TLS, with the certificate broker_make_certs made. */
static pid_t nats_tls_start(void)
{
    char portstr[16], sd[300], log[300], cert[300], key[300];
    snprintf(portstr, sizeof portstr, "%d", tls_port);
    snprintf(sd, sizeof sd, "%s/js-tls", dir);
    snprintf(log, sizeof log, "%s/nats-tls.log", dir);
    snprintf(cert, sizeof cert, "%s/server.pem", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    char *argv[] = {"nats-server", "-js",       "-a",     "127.0.0.1", "-p",     portstr,
                    "-sd",         sd,          "--user", USER,        "--pass", PASS,
                    "--tls",       "--tlscert", cert,     "--tlskey",  key,      NULL};
    return broker_spawn(argv, NULL, log, tls_port, 60000);
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/horus-nats-XXXXXX");
    if (!mkdtemp(dir) || broker_make_certs(dir) < 0)
        return -1;
    port = broker_free_port();
    tls_port = broker_free_port();
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    server = nats_start();
    tls_server = nats_tls_start();
    return server > 0 && tls_server > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    broker_kill(tls_server);
    broker_kill(server);
    broker_rmdir(dir);
    nats_Close();
    return 0;
}

static struct bus_nats_config config(const char *stream, const char *password)
{
    return (struct bus_nats_config){
        .url = url,
        .username = USER,
        .password = (char *)password,
        .tls_verify = true,
        .subject_prefix = "horus",
        .stream = (char *)stream,
        .max_age_ms = 3600000,
        .max_bytes = 64u << 20,
        .replicas = 1,
    };
}

/* A plain client of the test's own: connection and JetStream context. */
struct client {
    natsConnection *nc;
    jsCtx *js;
};

static void client_open(struct client *c)
{
    natsOptions *o = NULL;
    assert_int_equal(natsOptions_Create(&o), NATS_OK);
    natsOptions_SetURL(o, url);
    natsOptions_SetUserInfo(o, USER, PASS);
    natsOptions_SetAllowReconnect(o, false);
    assert_int_equal(natsConnection_Connect(&c->nc, o), NATS_OK);
    natsOptions_Destroy(o);
    assert_int_equal(natsConnection_JetStream(&c->js, c->nc, NULL), NATS_OK);
}

static void client_close(struct client *c)
{
    jsCtx_Destroy(c->js);
    natsConnection_Destroy(c->nc);
}

static uint64_t stream_msgs(struct client *c, const char *stream)
{
    jsStreamInfo *si = NULL;
    if (js_GetStreamInfo(&si, c->js, stream, NULL, NULL) != NATS_OK)
        return 0;
    uint64_t n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

static void publishes_a_batch_that_a_consumer_reads_back_in_order(void **state)
{
    (void)state;
    struct bus_nats_config c = config("HORUS", PASS);
    void *self = NULL;
    const struct bus_client_ops *ops = NULL;
    assert_int_equal(bus_nats_new(&c, &self, &ops), 0);
    assert_string_equal(ops->name, "nats");
    char why[256] = "";
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), 0);

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
    int rc = ops->publish(self, m, N + 1, 5000, &acked, why, sizeof why);
    assert_int_equal(rc, 0);
    assert_int_equal(acked, N + 1);
    assert_int_equal(ops->idle(self, 10, why, sizeof why), 0);

    struct client cl;
    client_open(&cl);
    /* The stream the adapter made covers the three families. */
    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, cl.js, "HORUS", NULL, NULL), NATS_OK);
    assert_int_equal(si->Config->SubjectsLen, 3);
    assert_string_equal(si->Config->Subjects[0], "horus.events.>");
    assert_string_equal(si->Config->Subjects[2], "horus.frames.>");
    assert_true(si->Config->MaxAge == 3600000LL * 1000000LL);
    jsStreamInfo_Destroy(si);

    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    assert_int_equal(js_PullSubscribe(&sub, cl.js, "horus.events.>", "t1", NULL, NULL, &jerr),
                     NATS_OK);
    size_t got = 0;
    while (got < N) {
        natsMsgList list = {0};
        assert_int_equal(natsSubscription_Fetch(&list, sub, N, 5000, &jerr), NATS_OK);
        for (int i = 0; i < list.Count; i++, got++) {
            natsMsg *msg = list.Msgs[i];
            assert_string_equal(natsMsg_GetSubject(msg), m[got].subject);
            assert_int_equal(natsMsg_GetDataLength(msg), (int)m[got].len);
            assert_memory_equal(natsMsg_GetData(msg), bodies[got], m[got].len);
            const char *v = NULL;
            assert_int_equal(natsMsgHeader_Get(msg, "sequence", &v), NATS_OK);
            assert_string_equal(v, seq[got]);
            assert_int_equal(natsMsgHeader_Get(msg, "camera", &v), NATS_OK);
            assert_string_equal(v, got % 2 ? "yard" : "door");
            assert_int_equal(natsMsgHeader_Get(msg, "Content-Type", &v), NATS_OK);
            assert_string_equal(v, "application/json");
            natsMsg_Ack(msg, NULL);
        }
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Destroy(sub);

    /* The frame went core NATS; the stream keeps it since it covers horus.frames.>. */
    natsMsg *last = NULL;
    assert_int_equal(js_GetLastMsg(&last, cl.js, "HORUS", "horus.frames.door", NULL, NULL),
                     NATS_OK);
    assert_int_equal(natsMsg_GetDataLength(last), (int)sizeof frame - 1);
    const char *kf = NULL;
    assert_int_equal(natsMsgHeader_Get(last, "keyframe", &kf), NATS_OK);
    assert_string_equal(kf, "true");
    natsMsg_Destroy(last);
    client_close(&cl);
    ops->free(self);
}

static void refuses_an_existing_stream_that_misses_the_subjects(void **state)
{
    (void)state;
    struct client cl;
    client_open(&cl);
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char *subjects[] = {"other.>"};
    sc.Name = "OTHER";
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    jsStreamInfo *si = NULL;
    assert_int_equal(js_AddStream(&si, cl.js, &sc, NULL, NULL), NATS_OK);
    jsStreamInfo_Destroy(si);
    client_close(&cl);

    struct bus_nats_config c = config("OTHER", PASS);
    void *self = NULL;
    const struct bus_client_ops *ops = NULL;
    assert_int_equal(bus_nats_new(&c, &self, &ops), 0);
    char why[256] = "";
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), -EINVAL);
    assert_non_null(strstr(why, "stream 'OTHER'"));
    assert_non_null(strstr(why, "horus.events.>"));
    size_t acked = 99;
    struct bus_msg one = {.subject = "horus.events.x", .body = "{}", .len = 2, .is_reliable = true};
    assert_int_equal(ops->publish(self, &one, 1, 100, &acked, why, sizeof why), -ENOTCONN);
    assert_int_equal(acked, 0);
    ops->free(self);
}

static void refuses_a_wrong_password_with_eacces(void **state)
{
    (void)state;
    struct bus_nats_config c = config("HORUS", "wrong-pass-word");
    char with_user[96];
    snprintf(with_user, sizeof with_user, "nats://someone:urlsecret@127.0.0.1:%d", port);
    c.url = with_user;
    void *self = NULL;
    const struct bus_client_ops *ops = NULL;
    assert_int_equal(bus_nats_new(&c, &self, &ops), 0);
    char why[256] = "";
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), -EACCES);
    char where[64];
    snprintf(where, sizeof where, "127.0.0.1:%d", port);
    assert_non_null(strstr(why, where));
    assert_non_null(strstr(why, "authorization"));
    assert_null(strstr(why, "wrong-pass-word"));
    assert_null(strstr(why, "urlsecret"));
    ops->free(self);
}

static void tls_with_the_servers_ca_connects_and_publishes(void **state)
{
    (void)state;
    char tls_url[64], ca[300];
    snprintf(tls_url, sizeof tls_url, "tls://127.0.0.1:%d", tls_port);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    struct bus_nats_config c = config("HORUS", PASS);
    c.url = tls_url;
    c.tls_ca = ca;
    void *self = NULL;
    const struct bus_client_ops *ops = NULL;
    assert_int_equal(bus_nats_new(&c, &self, &ops), 0);
    char why[256] = "";
    int rc = ops->connect(self, 5000, why, sizeof why);
    if (rc != 0)
        print_error("%s\n", why);
    assert_int_equal(rc, 0);
    struct bus_msg one = {
        .subject = "horus.events.tls", .body = "{}", .len = 2, .is_reliable = true};
    size_t acked = 0;
    assert_int_equal(ops->publish(self, &one, 1, 5000, &acked, why, sizeof why), 0);
    assert_int_equal(acked, 1);
    ops->free(self);
}

static void tls_with_an_unknown_ca_is_eacces(void **state)
{
    (void)state;
    char tls_url[64], ca[300];
    snprintf(tls_url, sizeof tls_url, "tls://127.0.0.1:%d", tls_port);
    snprintf(ca, sizeof ca, "%s/other-ca.pem", dir);
    struct bus_nats_config c = config("HORUS", PASS);
    c.url = tls_url;
    c.tls_ca = ca;
    void *self = NULL;
    const struct bus_client_ops *ops = NULL;
    assert_int_equal(bus_nats_new(&c, &self, &ops), 0);
    char why[256] = "";
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), -EACCES);
    print_message("# %s\n", why);
    assert_non_null(strstr(why, "TLS"));
    assert_non_null(strstr(why, tls_url));
    ops->free(self);
}

static void a_stopped_server_fails_the_publish_at_its_deadline(void **state)
{
    (void)state;
    struct bus_nats_config c = config("HORUS", PASS);
    void *self = NULL;
    const struct bus_client_ops *ops = NULL;
    assert_int_equal(bus_nats_new(&c, &self, &ops), 0);
    char why[256] = "";
    assert_int_equal(ops->connect(self, 2000, why, sizeof why), 0);

    adapter_check_stalled_publish(ops, self, server, "horus.events.big");
}

/* Kills the server once its stream holds at least `at` messages. */
struct killer {
    uint64_t at;
    bool fired;
};

static void *kill_when_stored(void *arg)
{
    struct killer *k = arg;
    struct client cl;
    client_open(&cl);
    for (int i = 0; i < 5000 && !k->fired; i++) {
        if (stream_msgs(&cl, "HORUS") >= k->at) {
            broker_kill(server);
            server = -1;
            k->fired = true;
        } else {
            broker_sleep_ms(1);
        }
    }
    client_close(&cl);
    return NULL;
}

static void a_broker_killed_mid_batch_leaves_a_kept_acknowledged_prefix(void **state)
{
    (void)state;
    struct bus_nats_config c = config("HORUS", PASS);
    void *self = NULL;
    const struct bus_client_ops *ops = NULL;
    assert_int_equal(bus_nats_new(&c, &self, &ops), 0);
    char why[256] = "";
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), 0);
    struct client cl;
    client_open(&cl);
    uint64_t before = stream_msgs(&cl, "HORUS");
    client_close(&cl);

    enum { N = 10000 };
    static struct bus_msg m[N];
    static char bodies[N][32], seq[N][16];
    static struct bus_header h[N][2];
    adapter_make_batch(m, bodies, h, seq, N, 100000);
    struct killer k = {.at = before + 500};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, kill_when_stored, &k), 0);
    size_t acked = 0;
    int rc = ops->publish(self, m, N, 10000, &acked, why, sizeof why);
    pthread_join(t, NULL);
    assert_true(k.fired);
    assert_true(rc < 0);
    assert_true(acked < N);
    assert_non_null(strstr(why, "nats nats://127.0.0.1:"));
    printf("# killed mid-batch: %zu of %d acknowledged (%s)\n", acked, N, why);
    ops->close(self);

    /* Restarted on the same store: every acknowledged message is there, in order. */
    server = nats_start();
    assert_true(server > 0);
    assert_int_equal(ops->connect(self, 5000, why, sizeof why), 0);
    client_open(&cl);
    for (size_t i = 0; i < acked; i++) {
        natsMsg *got = NULL;
        assert_int_equal(js_GetMsg(&got, cl.js, "HORUS", before + 1 + i, NULL, NULL), NATS_OK);
        assert_int_equal(natsMsg_GetDataLength(got), (int)m[i].len);
        assert_memory_equal(natsMsg_GetData(got), bodies[i], m[i].len);
        natsMsg_Destroy(got);
    }
    uint64_t kept = stream_msgs(&cl, "HORUS");

    /* The core resumes from the first unacknowledged message. */
    size_t rest = 0;
    assert_int_equal(ops->publish(self, m + acked, N - acked, 10000, &rest, why, sizeof why), 0);
    assert_int_equal(rest, N - acked);
    assert_int_equal(stream_msgs(&cl, "HORUS"), kept + (N - acked));
    natsMsg *tail = NULL;
    assert_int_equal(js_GetLastMsg(&tail, cl.js, "HORUS", "horus.events.yard", NULL, NULL),
                     NATS_OK);
    assert_memory_equal(natsMsg_GetData(tail), bodies[N - 1], m[N - 1].len);
    natsMsg_Destroy(tail);
    client_close(&cl);
    ops->free(self);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(publishes_a_batch_that_a_consumer_reads_back_in_order),
        cmocka_unit_test(refuses_an_existing_stream_that_misses_the_subjects),
        cmocka_unit_test(refuses_a_wrong_password_with_eacces),
        cmocka_unit_test(tls_with_the_servers_ca_connects_and_publishes),
        cmocka_unit_test(tls_with_an_unknown_ca_is_eacces),
        cmocka_unit_test(a_stopped_server_fails_the_publish_at_its_deadline),
        cmocka_unit_test(a_broker_killed_mid_batch_leaves_a_kept_acknowledged_prefix),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
