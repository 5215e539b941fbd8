/*
 * The feed served as Server-Sent Events by a real HTTP server on
 * 127.0.0.1 (src/http/http_stream.c + src/events/feed.c), read by a raw
 * socket client that decodes the chunked body: messages arrive in order,
 * a resume with Last-Event-ID gets exactly the missed ones, keep-alives
 * arrive, a client that stops reading is cut off, a hang-up frees the
 * subscriber, and stopping the server with clients connected ends them
 * cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "feed.h"
#include "http.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KEEPALIVE_MS 150
#define SLOW_BUFFER 16384

static evt_feed *feed;
static atomic_int ends[4]; /* by enum http_stream_end */

struct client {
    http_stream *st;
    evt_feed_sub *sub;
};

static void deliver(const struct evt_feed_msg *m, void *arg)
{
    struct client *c = arg;
    char head[96];
    int n = snprintf(head, sizeof(head), "id: %" PRIu64 "\nevent: %s\ndata: ", m->id, m->type);
    if (http_stream_write(c->st, head, (size_t)n) == 0 &&
        http_stream_write(c->st, m->json, m->json_len) == 0)
        http_stream_write(c->st, "\n\n", 2);
}

static void on_end(http_stream *st, enum http_stream_end why, void *arg)
{
    struct client *c = arg;
    evt_feed_unsubscribe(feed, c->sub);
    atomic_fetch_add(&ends[why], 1);
    http_stream_release(st);
    free(c);
}

static int h_stream(http_request *req, void *arg)
{
    (void)arg;
    const char *last = http_request_header(req, "Last-Event-ID");
    const char *slow = http_request_query(req, "small");
    bool is_quiet = http_request_header(req, "X-Quiet") != NULL;
    struct client *c = calloc(1, sizeof(*c));
    int rc = http_reply_stream(req, 200, "text/event-stream",
                               &(struct http_stream_options){
                                   .buffer_bytes = slow ? SLOW_BUFFER : 0,
                                   .keepalive_ms = is_quiet ? 0 : KEEPALIVE_MS,
                                   .keepalive = ": ping\n\n",
                                   .end_cb = on_end,
                                   .arg = c,
                               },
                               &c->st);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->sub =
        evt_feed_subscribe(feed, last != NULL, last ? strtoull(last, NULL, 10) : 0, deliver, c);
    return 0;
}

static struct http_error_map mapper(int rc)
{
    (void)rc;
    return (struct http_error_map){.status = 500, .code = "internal"};
}

struct fixture {
    metrics_registry *reg;
    http_server *srv;
    unsigned port;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->reg = metrics_registry_new();
    feed = evt_feed_new(16);
    for (int i = 0; i < 4; i++)
        atomic_store(&ends[i], 0);
    assert_int_equal(http_server_new(&(struct http_server_options){.listen = "127.0.0.1:0",
                                                                   .threads = 2,
                                                                   .idle_timeout_s = 1,
                                                                   .metrics = f->reg},
                                     &f->srv),
                     0);
    http_router *r = http_server_router(f->srv);
    http_router_set_error_mapper(r, mapper);
    assert_int_equal(http_router_add(r, "GET", "/stream", h_stream, NULL), 0);
    assert_int_equal(http_server_start(f->srv), 0);
    f->port = http_server_port(f->srv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    http_server_free(f->srv);
    assert_int_equal(evt_feed_subscribers(feed), 0);
    evt_feed_free(feed);
    metrics_registry_free(f->reg);
    free(f);
    return 0;
}

/* ---- a client that decodes the chunked body ---- */

struct sse {
    int fd;
    char raw[1 << 16];
    size_t nraw;
    char body[1 << 16];
    size_t nbody;
    bool is_head_done;
    bool is_ended; /* the last chunk came */
    bool is_closed; /* EOF or error */
    char head[4096];
};

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct sse *sse_open(unsigned port, const char *extra, int rcvbuf)
{
    struct sse *c = calloc(1, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    if (rcvbuf)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct timeval tv = {.tv_usec = 100000};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    char req[512];
    int n = snprintf(req, sizeof(req), "GET /stream%s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n",
                     rcvbuf ? "?small=1" : "", extra ? extra : "");
    assert_int_equal(send(c->fd, req, (size_t)n, MSG_NOSIGNAL), n);
    return c;
}

/* Decodes what raw holds into head and body. */
static void sse_decode(struct sse *c)
{
    for (;;) {
        c->raw[c->nraw] = '\0';
        if (!c->is_head_done) {
            char *end = strstr(c->raw, "\r\n\r\n");
            if (!end)
                return;
            size_t hl = (size_t)(end + 4 - c->raw);
            assert_true(hl < sizeof(c->head));
            memcpy(c->head, c->raw, hl);
            c->head[hl] = '\0';
            memmove(c->raw, c->raw + hl, c->nraw - hl);
            c->nraw -= hl;
            c->is_head_done = true;
            continue;
        }
        char *eol = strstr(c->raw, "\r\n");
        if (!eol || c->is_ended)
            return;
        size_t size = strtoul(c->raw, NULL, 16);
        size_t need = (size_t)(eol + 2 - c->raw) + size + 2;
        if (c->nraw < need)
            return;
        if (size == 0)
            c->is_ended = true;
        assert_true(c->nbody + size < sizeof(c->body));
        memcpy(c->body + c->nbody, eol + 2, size);
        c->nbody += size;
        c->body[c->nbody] = '\0';
        memmove(c->raw, c->raw + need, c->nraw - need);
        c->nraw -= need;
    }
}

/* Reads until the body contains needle (or the stream ended); false after timeout_ms. */
static bool sse_wait(struct sse *c, const char *needle, long timeout_ms)
{
    int64_t until = now_ms() + timeout_ms;
    for (;;) {
        sse_decode(c);
        if (needle && strstr(c->body, needle))
            return true;
        if (!needle && (c->is_ended || c->is_closed))
            return true;
        if (c->is_closed || now_ms() > until)
            return false;
        ssize_t n = recv(c->fd, c->raw + c->nraw, sizeof(c->raw) - 1 - c->nraw, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            c->is_closed = true;
        else if (n > 0)
            c->nraw += (size_t)n;
    }
}

static void sse_close(struct sse *c)
{
    close(c->fd);
    free(c);
}

static bool eventually(bool (*cond)(void *), void *arg)
{
    for (int i = 0; i < 500; i++) {
        if (cond(arg))
            return true;
        sleep_ms(10);
    }
    return false;
}

static bool subscribers_are(void *arg)
{
    return evt_feed_subscribers(feed) == (size_t)(uintptr_t)arg;
}

static uint64_t pub(int i)
{
    char json[48];
    snprintf(json, sizeof(json), "{\"n\":%d}", i);
    return evt_feed_publish(feed, "new", "cam1", json);
}

static void test_messages_arrive_in_order(void **state)
{
    struct fixture *f = *state;
    struct sse *c = sse_open(f->port, NULL, 0);
    assert_true(eventually(subscribers_are, (void *)1));
    uint64_t ids[3];
    for (int i = 0; i < 3; i++)
        ids[i] = pub(i);
    char want[512];
    snprintf(want, sizeof(want),
             "id: %" PRIu64 "\nevent: new\ndata: {\"n\":0}\n\n"
             "id: %" PRIu64 "\nevent: new\ndata: {\"n\":1}\n\n"
             "id: %" PRIu64 "\nevent: new\ndata: {\"n\":2}\n\n",
             ids[0], ids[1], ids[2]);
    assert_true(sse_wait(c, want, 3000));
    assert_non_null(strstr(c->head, "HTTP/1.1 200"));
    assert_non_null(strstr(c->head, "Content-Type: text/event-stream"));
    assert_non_null(strstr(c->head, "Transfer-Encoding: chunked"));
    assert_non_null(strstr(c->head, "Cache-Control: no-store"));
    sse_close(c);
    assert_true(eventually(subscribers_are, (void *)0));
    assert_int_equal(atomic_load(&ends[HTTP_STREAM_CLIENT_GONE]), 1);
}

static void test_resume_gets_exactly_the_missed_messages(void **state)
{
    struct fixture *f = *state;
    uint64_t ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = pub(i);
    char hdr[64];
    snprintf(hdr, sizeof(hdr), "Last-Event-ID: %" PRIu64 "\r\n", ids[2]);
    struct sse *c = sse_open(f->port, hdr, 0);
    char want[512];
    snprintf(want, sizeof(want),
             "id: %" PRIu64 "\nevent: new\ndata: {\"n\":3}\n\n"
             "id: %" PRIu64 "\nevent: new\ndata: {\"n\":4}\n\n",
             ids[3], ids[4]);
    assert_true(sse_wait(c, want, 3000));
    assert_string_equal(c->body, want); /* nothing before, nothing twice */
    uint64_t next = pub(5);
    char more[128];
    snprintf(more, sizeof(more), "id: %" PRIu64 "\nevent: new\ndata: {\"n\":5}\n\n", next);
    assert_true(sse_wait(c, more, 3000));
    sse_close(c);

    /* An id the feed no longer knows: one reset carrying the newest id. */
    struct sse *d = sse_open(f->port, "Last-Event-ID: 17\r\n", 0);
    snprintf(want, sizeof(want), "id: %" PRIu64 "\nevent: reset\ndata: {}\n\n", next);
    assert_true(sse_wait(d, want, 3000));
    sse_close(d);
}

static void test_keepalives_arrive_when_idle(void **state)
{
    struct fixture *f = *state;
    struct sse *c = sse_open(f->port, NULL, 0);
    int64_t t0 = now_ms();
    assert_true(sse_wait(c, ": ping\n\n: ping\n\n", 3000)); /* two of them */
    assert_true(now_ms() - t0 >= KEEPALIVE_MS);
    /* Still alive for messages after the pings. */
    uint64_t id = pub(1);
    char want[128];
    snprintf(want, sizeof(want), "id: %" PRIu64 "\n", id);
    assert_true(sse_wait(c, want, 3000));
    sse_close(c);
}

static bool overflowed(void *arg)
{
    (void)arg;
    return atomic_load(&ends[HTTP_STREAM_OVERFLOW]) == 1;
}

static void test_a_client_that_stops_reading_is_cut_off(void **state)
{
    struct fixture *f = *state;
    /* Small socket buffers, a 16 KiB stream buffer, and it never reads: the kernel's buffers
     * fill (a few MB on loopback), then the stream's, then the client is cut off. */
    struct sse *slow = sse_open(f->port, NULL, 4096);
    struct sse *fast = sse_open(f->port, NULL, 0);
    assert_true(eventually(subscribers_are, (void *)2));
    char json[1100];
    memset(json, 'x', sizeof(json));
    memcpy(json, "{\"pad\":\"", 8);
    memcpy(json + sizeof(json) - 3, "\"}", 3);
    uint64_t last = 0;
    for (int i = 0; i < 40000 && !overflowed(NULL); i++) {
        last = evt_feed_publish(feed, "update", "cam1", json);
        if (i % 16 == 0) { /* the fast client keeps up */
            char want[64];
            snprintf(want, sizeof(want), "id: %" PRIu64 "\n", last);
            assert_true(sse_wait(fast, want, 3000));
            fast->nbody = 0;
            fast->body[0] = '\0';
        }
    }
    assert_true(eventually(overflowed, NULL));
    assert_true(eventually(subscribers_are, (void *)1)); /* only the fast one remains */
    uint64_t id = pub(7);
    char want[64];
    snprintf(want, sizeof(want), "id: %" PRIu64 "\n", id);
    assert_true(sse_wait(fast, want, 3000));
    sse_close(fast);
    sse_close(slow);
    assert_true(eventually(subscribers_are, (void *)0));
    assert_int_equal(atomic_load(&ends[HTTP_STREAM_OVERFLOW]), 1);
}

static void test_hang_up_while_idle_frees_the_subscriber(void **state)
{
    struct fixture *f = *state;
    struct sse *c = sse_open(f->port, NULL, 0);
    assert_true(sse_wait(c, ": ping", 3000)); /* connected, then suspended between pings */
    assert_int_equal(evt_feed_subscribers(feed), 1);
    sse_close(c);
    assert_true(eventually(subscribers_are, (void *)0));
    assert_int_equal(atomic_load(&ends[HTTP_STREAM_CLIENT_GONE]), 1);
}

/*
 * A stream suspended past the server's idle timeout (1 s here) is not idle: MHD does not time
 * out suspended connections, and a write resumes it at once.
 */
static void test_a_quiet_stream_outlives_the_idle_timeout(void **state)
{
    struct fixture *f = *state;
    struct sse *c = sse_open(f->port, "X-Quiet: 1\r\n", 0);
    assert_true(eventually(subscribers_are, (void *)1));
    sleep_ms(2500);
    uint64_t id = pub(3);
    char want[64];
    snprintf(want, sizeof(want), "id: %" PRIu64 "\n", id);
    assert_true(sse_wait(c, want, 3000));
    assert_null(strstr(c->body, ": ping")); /* no keep-alive asked for */
    sse_close(c);
    assert_true(eventually(subscribers_are, (void *)0));
}

static void test_stop_with_clients_connected_ends_them_cleanly(void **state)
{
    struct fixture *f = *state;
    struct sse *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = sse_open(f->port, NULL, 0);
    assert_true(eventually(subscribers_are, (void *)3));
    uint64_t id = pub(1);
    char want[64];
    snprintf(want, sizeof(want), "id: %" PRIu64 "\n", id);
    for (int i = 0; i < 3; i++)
        assert_true(sse_wait(c[i], want, 3000));
    int64_t t0 = now_ms();
    http_server_stop(f->srv);
    assert_true(now_ms() - t0 < 2000); /* no waiting for a drain timeout */
    assert_int_equal(evt_feed_subscribers(feed), 0);
    assert_int_equal(atomic_load(&ends[HTTP_STREAM_SERVER_STOP]), 3);
    for (int i = 0; i < 3; i++) {
        assert_true(sse_wait(c[i], NULL, 3000));
        assert_true(c[i]->is_ended); /* the last chunk came: a clean end */
        sse_close(c[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_messages_arrive_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_gets_exactly_the_missed_messages, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keepalives_arrive_when_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_client_that_stops_reading_is_cut_off, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hang_up_while_idle_frees_the_subscriber, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_quiet_stream_outlives_the_idle_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_with_clients_connected_ends_them_cleanly, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
