/*
 * Server tests: a real server on 127.0.0.1, port 0, spoken to in raw
 * HTTP/1.1 over a socket. Keep-alive, errors through the mapper, body
 * limits, JSON parsing, parameter and query decoding, HEAD, metrics, the
 * access log, and requests malformed on purpose; deferred (suspended)
 * requests answered from another thread, with clients that leave, deadlines
 * and a server that stops while requests wait.
 *
 * The server updates metrics and writes the access log after the last byte
 * of a reply is sent, so a client can see the reply first; assertions on
 * those poll for up to a few seconds instead of sleeping a fixed time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clock.h"
#include "err.h"
#include "http.h"
#include "log.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY 1024
#define BIG_REPLY_BYTES (8 * 1024 * 1024)

struct fixture {
    metrics_registry *reg;
    http_server *srv;
    unsigned port;
};

struct resp {
    int status;
    char head[8192];
    char *body; /* malloc'd, NUL-terminated */
    size_t body_len;
};

/* ---- the error mapper, as api/errors.c will have it ---- */

static struct http_error_map test_mapper(int rc)
{
    switch (rc) {
    case -ENOENT:
        return (struct http_error_map){.status = 404, .code = "not_found"};
    case -EINVAL:
        return (struct http_error_map){.status = 400, .code = "invalid"};
    case HORUS_EPARSE:
        return (struct http_error_map){.status = 400, .code = "invalid_json"};
    case HORUS_EMETHOD:
        return (struct http_error_map){.status = 405, .code = "method_not_allowed"};
    case HORUS_ETOOBIG:
        return (struct http_error_map){.status = 413, .code = "too_big"};
    case -EACCES:
        return (struct http_error_map){.status = 403, .code = "forbidden"};
    case HORUS_EAUTH:
        return (struct http_error_map){.status = 401, .code = "unauthorized"};
    case -EBUSY:
        return (struct http_error_map){.status = 409, .code = "conflict"};
    case -ENOSPC:
        return (struct http_error_map){.status = 507, .code = "insufficient_storage"};
    case HORUS_EUNAVAIL:
        return (struct http_error_map){.status = 503, .code = "unavailable"};
    default:
        return (struct http_error_map){.status = 500, .code = "internal"};
    }
}

/* ---- handlers ---- */

/* Replies with the principal the gate attached (a string), or "none". */
static atomic_int whoami_served;

static int h_whoami(http_request *req, void *arg)
{
    atomic_fetch_add(&whoami_served, 1);
    const char *who = http_request_principal(req);
    return http_reply(req, 200, "text/plain", who ? who : "none", strlen(who ? who : "none"));
}

static atomic_int principals_freed;
static atomic_int whoami_gated;

static void principal_free(void *p)
{
    free(p);
    atomic_fetch_add(&principals_freed, 1);
}

/*
 * A gate for /whoami: "X-Who: boom" fails with a code, another X-Who is
 * attached as the principal, none is refused with a 401 the gate sends.
 */
static int test_gate(http_request *req, size_t route_index, void *arg)
{
    const char *m, *tmpl;
    assert_true(http_router_route_at(arg, route_index, &m, &tmpl));
    if (strcmp(tmpl, "/whoami") != 0)
        return 0;
    atomic_fetch_add(&whoami_gated, 1);
    const char *who = http_request_header(req, "X-Who");
    if (who && strcmp(who, "boom") == 0)
        return -EBUSY;
    if (!who) {
        http_reply_error(req, HORUS_EAUTH, "who are you");
        return 1;
    }
    http_request_set_principal(req, strdup(who), principal_free);
    return 0;
}

static int h_health(http_request *req, void *arg)
{
    return http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static int h_camera_get(http_request *req, void *arg)
{
    const char *q = http_request_query(req, "q");
    const char *flag = http_request_query(req, "flag");
    json_t *j = json_pack("{s:s,s:s?,s:s?,s:b,s:s}", "id", http_request_param(req, "id"), "q", q,
                          "flag", flag, "missing_is_null", http_request_query(req, "nope") == NULL,
                          "route", http_request_route(req));
    return http_reply_json(req, 200, j);
}

static int h_camera_delete(http_request *req, void *arg)
{
    const char *id = http_request_param(req, "id");
    if (strcmp(id, "busy") == 0)
        return -EBUSY;
    return -ENOENT;
}

static int h_camera_create(http_request *req, void *arg)
{
    json_t *body;
    int rc = http_request_json(req, &body);
    if (rc < 0)
        return rc;
    return http_reply_json(req, 201, body);
}

static int h_headers(http_request *req, void *arg)
{
    http_reply_header(req, "Cache-Control", "max-age=5");
    http_reply_header(req, "X-Echo", http_request_header(req, "x-test"));
    return http_reply_json(req, 200, json_pack("{s:s}", "remote", http_request_remote(req)));
}

static int h_noreply(http_request *req, void *arg)
{
    return 0;
}

static int h_text(http_request *req, void *arg)
{
    size_t len;
    const char *body = http_request_body(req, &len);
    char out[64];
    int n = snprintf(out, sizeof(out), "got %zu bytes: %.10s", len, body);
    int rc = http_reply(req, 200, "text/plain", out, (size_t)n);
    assert_int_equal(http_reply(req, 200, "text/plain", "x", 1), -EALREADY);
    return rc;
}

static int h_big(http_request *req, void *arg)
{
    char *body = malloc(BIG_REPLY_BYTES);
    memset(body, 'x', BIG_REPLY_BYTES);
    return http_reply_owned(req, 200, "application/octet-stream", body, BIG_REPLY_BYTES);
}

/* ---- deferred requests: the handler parks the handle here for the test thread ---- */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    http_deferred *waiting[64]; /* handles not yet taken by the test */
    unsigned nwaiting;
    unsigned ends[3]; /* end_cb calls by reason */
    bool is_auto_release; /* end_cb gives the handle back itself */
} parked = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void defer_end(http_deferred *d, enum http_defer_end why, void *arg)
{
    pthread_mutex_lock(&parked.lock);
    parked.ends[why]++;
    bool is_mine = false;
    if (parked.is_auto_release) {
        for (unsigned i = 0; i < parked.nwaiting; i++) {
            if (parked.waiting[i] == d) {
                parked.waiting[i] = parked.waiting[--parked.nwaiting];
                is_mine = true;
                break;
            }
        }
    }
    pthread_cond_broadcast(&parked.cond);
    pthread_mutex_unlock(&parked.lock);
    if (is_mine)
        http_deferred_release(d);
}

static int h_defer(http_request *req, void *arg)
{
    const char *t = http_request_query(req, "timeout");
    http_reply_header(req, "X-Before", "1");
    http_deferred *d = http_request_defer(req, t ? (unsigned)atoi(t) : 0, defer_end, NULL);
    assert_non_null(d);
    assert_null(http_request_defer(req, 0, NULL, NULL)); /* once only */
    if (http_request_query(req, "inline")) {
        /* The answer is there before the handler returns: no suspension needed. */
        assert_int_equal(http_deferred_reply(d, 200, "text/plain", "inline", 6), 0);
        return 0;
    }
    if (http_request_query(req, "fail")) {
        http_deferred_release(d);
        return -EBUSY; /* deferred, then failed: the error is the answer */
    }
    pthread_mutex_lock(&parked.lock);
    parked.waiting[parked.nwaiting++] = d;
    pthread_cond_broadcast(&parked.cond);
    pthread_mutex_unlock(&parked.lock);
    return 0;
}

/* Waits until a handler parked a handle and takes it (NULL after 5 s). */
static http_deferred *take_parked(void)
{
    http_deferred *d = NULL;
    pthread_mutex_lock(&parked.lock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (!parked.nwaiting && pthread_cond_timedwait(&parked.cond, &parked.lock, &until) == 0)
        ;
    if (parked.nwaiting)
        d = parked.waiting[--parked.nwaiting];
    pthread_mutex_unlock(&parked.lock);
    return d;
}

/* Waits until end_cb was called n times for why (false after 5 s). */
static bool wait_ends(enum http_defer_end why, unsigned n)
{
    pthread_mutex_lock(&parked.lock);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (parked.ends[why] < n && pthread_cond_timedwait(&parked.cond, &parked.lock, &until) == 0)
        ;
    bool ok = parked.ends[why] >= n;
    pthread_mutex_unlock(&parked.lock);
    return ok;
}

/* ---- fixture ---- */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->reg = metrics_registry_new();
    struct http_server_options opt = {
        .listen = "127.0.0.1:0",
        .threads = 2,
        .max_body_bytes = MAX_BODY,
        .idle_timeout_s = 10,
        .access_log = true,
        .metrics = f->reg,
    };
    assert_int_equal(http_server_new(&opt, &f->srv), 0);
    http_router *r = http_server_router(f->srv);
    http_router_set_error_mapper(r, test_mapper);
    assert_int_equal(http_router_add(r, "GET", "/health", h_health, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/api/v1/cameras/{id}", h_camera_get, NULL), 0);
    assert_int_equal(http_router_add(r, "DELETE", "/api/v1/cameras/{id}", h_camera_delete, NULL),
                     0);
    assert_int_equal(http_router_add(r, "POST", "/api/v1/cameras", h_camera_create, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/headers", h_headers, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/noreply", h_noreply, NULL), 0);
    assert_int_equal(http_router_add(r, "POST", "/text", h_text, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/text", h_text, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/big", h_big, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/defer", h_defer, NULL), 0);
    assert_int_equal(http_router_add(r, "GET", "/whoami", h_whoami, NULL), 0);
    assert_int_equal(http_server_start(f->srv), 0);
    pthread_mutex_lock(&parked.lock);
    parked.nwaiting = 0;
    memset(parked.ends, 0, sizeof(parked.ends));
    parked.is_auto_release = false;
    pthread_mutex_unlock(&parked.lock);
    f->port = http_server_port(f->srv);
    assert_true(f->port > 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    http_server_stop(f->srv);
    http_server_stop(f->srv);
    http_server_free(f->srv);
    metrics_registry_free(f->reg);
    free(f);
    return 0;
}

/* ---- a tiny client ---- */

static int client_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_str(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        s += n;
        len -= (size_t)n;
    }
}

static void send_text(int fd, const char *s)
{
    send_str(fd, s, strlen(s));
}

/* A header's value from the response head, or NULL. Returns a pointer into a static buffer. */
static const char *resp_header(const struct resp *r, const char *name)
{
    static char value[1024];
    size_t nlen = strlen(name);
    const char *line = strstr(r->head, "\r\n");
    while (line && line[2] != '\0') {
        line += 2;
        const char *end = strstr(line, "\r\n");
        if (!end)
            break;
        if ((size_t)(end - line) > nlen && line[nlen] == ':' &&
            strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            while (*v == ' ')
                v++;
            size_t vlen = (size_t)(end - v);
            if (vlen >= sizeof(value))
                vlen = sizeof(value) - 1;
            memcpy(value, v, vlen);
            value[vlen] = '\0';
            return value;
        }
        line = end;
    }
    return NULL;
}

/*
 * Reads one response. Returns 0, or -1 when the peer closed before a full
 * head arrived. is_head: the reply has no body whatever its Content-Length.
 */
static int read_response(int fd, bool is_head, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        /* Peek so that bytes of a pipelined next response stay in the socket. */
        ssize_t n = recv(fd, r->head + len, sizeof(r->head) - 1 - len, MSG_PEEK);
        if (n <= 0)
            return -1;
        r->head[len + (size_t)n] = '\0';
        end = strstr(r->head, "\r\n\r\n");
        size_t take = end ? (size_t)(end + 4 - r->head) - len : (size_t)n;
        ssize_t got = recv(fd, r->head + len, take, 0);
        assert_int_equal(got, (ssize_t)take);
        len += take;
        r->head[len] = '\0';
        end = strstr(r->head, "\r\n\r\n");
        assert_true(end || len < sizeof(r->head) - 1);
    }
    assert_int_equal(sscanf(r->head, "HTTP/1.%*d %d", &r->status), 1);
    const char *cl = resp_header(r, "Content-Length");
    size_t want = cl && !is_head ? strtoull(cl, NULL, 10) : 0;
    r->body = malloc(want + 1);
    while (r->body_len < want) {
        ssize_t n = recv(fd, r->body + r->body_len, want - r->body_len, 0);
        if (n <= 0)
            break;
        r->body_len += (size_t)n;
    }
    r->body[r->body_len] = '\0';
    return 0;
}

static void resp_release(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* Whether the server has closed the connection (EOF within a short wait). */
static bool peer_closed(int fd)
{
    char c;
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = recv(fd, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* One request on a fresh connection. */
static void request_once(const struct fixture *f, const char *raw, bool is_head, struct resp *r)
{
    int fd = client_connect(f->port);
    send_text(fd, raw);
    assert_int_equal(read_response(fd, is_head, r), 0);
    close(fd);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls the rendered registry until it contains needle; see the note at the top. */
static bool metrics_eventually_contain(metrics_registry *reg, const char *needle)
{
    for (int i = 0; i < 3000; i++) {
        size_t len;
        char *text = metrics_render(reg, &len);
        bool found = strstr(text, needle) != NULL;
        if (!found && i == 2999)
            fprintf(stderr, "metrics without '%s':\n%s\n", needle, text);
        free(text);
        if (found)
            return true;
        sleep_ms(1);
    }
    return false;
}

static json_t *body_json(const struct resp *r)
{
    json_error_t err;
    json_t *j = json_loads(r->body, 0, &err);
    if (!j)
        fprintf(stderr, "not JSON (%s): %s\n", err.text, r->body);
    assert_non_null(j);
    return j;
}

static void assert_error_body(const struct resp *r, const char *code, const char *msg_part)
{
    json_t *j = body_json(r);
    const char *c = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    assert_non_null(c);
    assert_non_null(m);
    assert_string_equal(c, code);
    if (!strstr(m, msg_part))
        fprintf(stderr, "message '%s' lacks '%s'\n", m, msg_part);
    assert_non_null(strstr(m, msg_part));
    json_decref(j);
    assert_string_equal(resp_header(r, "Content-Type"), "application/json");
    assert_string_equal(resp_header(r, "Cache-Control"), "no-store");
}

/* ---- tests ---- */

static void test_two_requests_share_one_keep_alive_connection(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    struct resp r;
    for (int i = 0; i < 2; i++) {
        send_text(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_int_equal(read_response(fd, false, &r), 0);
        assert_int_equal(r.status, 200);
        assert_null(resp_header(&r, "Connection"));
        assert_string_equal(r.body, "{\"status\":\"ok\"}");
        assert_string_equal(resp_header(&r, "Content-Type"), "application/json");
        assert_string_equal(resp_header(&r, "Cache-Control"), "no-store");
        resp_release(&r);
    }
    close(fd);
}

static void test_pipelined_requests_are_answered_in_order(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    send_text(fd, "GET /api/v1/cameras/a HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                  "GET /api/v1/cameras/b HTTP/1.1\r\nHost: x\r\n\r\n");
    struct resp r;
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"id\":\"a\""));
    resp_release(&r);
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 404);
    resp_release(&r);
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"id\":\"b\""));
    assert_null(resp_header(&r, "Connection"));
    resp_release(&r);
    close(fd);
}

static void test_unknown_route_replies_404_json_through_the_mapper(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    send_text(fd, "GET /x?token=abc HTTP/1.1\r\nHost: x\r\n\r\n");
    struct resp r;
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 404);
    assert_error_body(&r, "not_found", "no route for GET /x");
    assert_null(strstr(r.body, "token"));
    assert_null(resp_header(&r, "Connection"));
    resp_release(&r);
    /* An error reply does not end the connection. */
    send_text(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    close(fd);
}

static void test_the_gate_runs_before_the_handler_and_its_principal_is_freed(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    atomic_store(&principals_freed, 0);
    atomic_store(&whoami_gated, 0);
    /* Without a gate every handler runs, without a principal. */
    request_once(f, "GET /whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", false, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "none");
    resp_release(&r);
    http_router *router = http_server_router(f->srv);
    http_router_set_gate(router, test_gate, router);
    atomic_store(&whoami_served, 0);
    int fd = client_connect(f->port);
    send_text(fd, "GET /whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Who: alice\r\n\r\n");
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "alice");
    resp_release(&r);
    /* Refused by the gate: its own reply, the handler never runs, the connection stays. */
    send_text(fd, "GET /whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 401);
    assert_error_body(&r, "unauthorized", "who are you");
    resp_release(&r);
    /* A code from the gate goes through the error mapper. */
    send_text(fd, "GET /whoami HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Who: boom\r\n\r\n");
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 409);
    resp_release(&r);
    /* The next request on the connection does not inherit the principal. */
    send_text(fd, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    close(fd);
    assert_int_equal(atomic_load(&whoami_gated), 3);
    assert_int_equal(atomic_load(&whoami_served), 1); /* the refused two never reached it */
    for (int i = 0; i < 100 && atomic_load(&principals_freed) < 1; i++)
        sleep_ms(10);
    assert_int_equal(atomic_load(&principals_freed), 1);
}

static void test_trailing_slash_is_not_found(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request_once(f, "GET /health/ HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 404);
    resp_release(&r);
}

static void test_wrong_method_replies_405_with_allow(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request_once(f, "PUT /api/v1/cameras/a HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", false,
                 &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(resp_header(&r, "Allow"), "GET, HEAD, DELETE");
    assert_error_body(&r, "method_not_allowed", "PUT");
    resp_release(&r);
    request_once(f, "GET /api/v1/cameras HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(resp_header(&r, "Allow"), "POST");
    resp_release(&r);
}

static void test_body_over_the_limit_replies_413_and_closes(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    send_text(fd, "POST /api/v1/cameras HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{");
    struct resp r;
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 413);
    assert_error_body(&r, "too_big", "1000000");
    resp_release(&r);
    assert_true(peer_closed(fd));
    close(fd);
}

static void test_chunked_body_over_the_limit_is_drained_then_413(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    send_text(fd, "POST /text HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    char chunk[600];
    memset(chunk, 'a', sizeof(chunk));
    for (int i = 0; i < 4; i++) {
        send_text(fd, "258\r\n");
        send_str(fd, chunk, sizeof(chunk));
        send_text(fd, "\r\n");
    }
    send_text(fd, "0\r\n\r\n");
    struct resp r;
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 413);
    assert_error_body(&r, "too_big", "limit");
    resp_release(&r);
    close(fd);
}

static void test_chunked_body_under_the_limit_reaches_the_handler(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    send_text(fd, "POST /text HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    struct resp r;
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "got 11 bytes: hello worl");
    assert_string_equal(resp_header(&r, "Content-Type"), "text/plain");
    assert_null(resp_header(&r, "Cache-Control"));
    resp_release(&r);
    close(fd);
}

static void test_malformed_json_replies_400_naming_line_and_column(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"a\": 1,\n \"b\": }";
    char raw[256];
    snprintf(raw, sizeof(raw),
             "POST /api/v1/cameras HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             strlen(body), body);
    struct resp r;
    request_once(f, raw, false, &r);
    assert_int_equal(r.status, 400);
    assert_error_body(&r, "invalid_json", "line 2 column");
    resp_release(&r);
}

static void test_json_that_is_not_an_object_replies_400(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request_once(f, "POST /api/v1/cameras HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n[1,2,3]",
                 false, &r);
    assert_int_equal(r.status, 400);
    assert_error_body(&r, "invalid_json", "not an array");
    resp_release(&r);
    request_once(f, "POST /api/v1/cameras HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", false,
                 &r);
    assert_int_equal(r.status, 400);
    assert_error_body(&r, "invalid_json", "empty");
    resp_release(&r);
    request_once(f,
                 "POST /api/v1/cameras HTTP/1.1\r\nHost: x\r\nContent-Length: 15\r\n\r\n"
                 "{\"a\":1,\"a\":2}  ",
                 false, &r);
    assert_int_equal(r.status, 400);
    assert_error_body(&r, "invalid_json", "duplicate");
    resp_release(&r);
}

static void test_json_object_body_reaches_the_handler_whatever_the_content_type(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request_once(f,
                 "POST /api/v1/cameras HTTP/1.1\r\nHost: x\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 18\r\n\r\n"
                 "{\"id\":\"cam\\u00e9\"}",
                 false, &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "{\"id\":\"cam\xc3\xa9\"}");
    resp_release(&r);
}

static void test_params_and_query_are_percent_decoded(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request_once(f,
                 "GET /api/v1/cameras/front%20door%2Fx?q=a+b%26c&flag&q=second HTTP/1.1\r\n"
                 "Host: x\r\n\r\n",
                 false, &r);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "front door/x");
    assert_string_equal(json_string_value(json_object_get(j, "q")), "a b&c");
    assert_string_equal(json_string_value(json_object_get(j, "flag")), "");
    assert_true(json_is_true(json_object_get(j, "missing_is_null")));
    assert_string_equal(json_string_value(json_object_get(j, "route")), "/api/v1/cameras/{id}");
    json_decref(j);
    resp_release(&r);
}

static void test_bad_escapes_and_dot_segments_reply_400(void **state)
{
    struct fixture *f = *state;
    const char *paths[] = {"/api/v1/cameras/a%00b", "/api/v1/cameras/%zz", "/api/../health",
                           "/api/v1/cameras/%2e%2e", "*"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char raw[256];
        snprintf(raw, sizeof(raw), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
        struct resp r;
        request_once(f, raw, false, &r);
        assert_int_equal(r.status, 400);
        assert_error_body(&r, "invalid", "path");
        resp_release(&r);
    }
}

static void test_overlong_path_replies_400_and_keeps_the_connection(void **state)
{
    struct fixture *f = *state;
    size_t n = HTTP_MAX_PATH + 100;
    char *raw = malloc(n + 64);
    strcpy(raw, "GET /");
    memset(raw + 5, 'a', n);
    strcpy(raw + 5 + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    int fd = client_connect(f->port);
    send_text(fd, raw);
    free(raw);
    struct resp r;
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 400);
    assert_error_body(&r, "invalid", "longer than 2048");
    resp_release(&r);
    send_text(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    close(fd);
}

static void test_head_is_served_by_get_without_a_body(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    send_text(fd, "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n");
    struct resp r;
    assert_int_equal(read_response(fd, true, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_header(&r, "Content-Length"), "15");
    resp_release(&r);
    /* Had a body been sent, it would be read here in place of the next status line. */
    send_text(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    close(fd);
}

static void test_handler_error_codes_go_through_the_mapper(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request_once(f, "DELETE /api/v1/cameras/x HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 404);
    assert_error_body(&r, "not_found", "No such file");
    resp_release(&r);
    request_once(f, "DELETE /api/v1/cameras/busy HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 409);
    assert_error_body(&r, "conflict", "busy");
    resp_release(&r);
}

static void test_errors_map_to_500_internal_without_a_mapper(void **state)
{
    struct fixture *f = *state;
    http_router_set_error_mapper(http_server_router(f->srv), NULL);
    struct resp r;
    request_once(f, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 500);
    assert_error_body(&r, "internal", "no route");
    resp_release(&r);
}

static void test_handler_that_does_not_reply_gets_500(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request_once(f, "GET /noreply HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 500);
    assert_error_body(&r, "internal", "without a reply");
    resp_release(&r);
}

static void test_handler_headers_are_sent_and_override_cache_control(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    request_once(f, "GET /headers HTTP/1.1\r\nHost: x\r\nX-Test: hello\r\n\r\n", false, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(resp_header(&r, "Cache-Control"), "max-age=5");
    assert_string_equal(resp_header(&r, "X-Echo"), "hello");
    assert_string_equal(r.body, "{\"remote\":\"127.0.0.1\"}");
    resp_release(&r);
}

static void test_metrics_count_requests_by_route_template(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    const char *reqs[] = {
        "GET /api/v1/cameras/one HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /api/v1/cameras/two HTTP/1.1\r\nHost: x\r\n\r\n",
        "HEAD /api/v1/cameras/two HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /secret/raw/path HTTP/1.1\r\nHost: x\r\n\r\n",
        "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        send_text(fd, reqs[i]);
        struct resp r;
        assert_int_equal(read_response(fd, strncmp(reqs[i], "HEAD", 4) == 0, &r), 0);
        resp_release(&r);
    }
    assert_true(metrics_eventually_contain(
        f->reg, "horus_http_requests_total{route=\"/api/v1/cameras/{id}\",method=\"GET\","
                "code=\"200\"} 2\n"));
    assert_true(metrics_eventually_contain(
        f->reg, "horus_http_requests_total{route=\"/api/v1/cameras/{id}\",method=\"HEAD\","
                "code=\"200\"} 1\n"));
    assert_true(metrics_eventually_contain(
        f->reg, "horus_http_requests_total{route=\"unmatched\",method=\"GET\",code=\"404\"} 1\n"));
    assert_true(metrics_eventually_contain(
        f->reg,
        "horus_http_requests_total{route=\"unmatched\",method=\"other\",code=\"404\"} 1\n"));
    assert_true(metrics_eventually_contain(
        f->reg, "horus_http_request_duration_seconds_count{route=\"/api/v1/cameras/{id}\","
                "method=\"GET\"} 2\n"));
    assert_true(metrics_eventually_contain(
        f->reg, "horus_http_request_duration_seconds_bucket{route=\"unmatched\",method=\"GET\","
                "le=\"+Inf\"} 1\n"));
    assert_true(metrics_eventually_contain(f->reg, "horus_http_connections 1\n"));
    size_t len;
    char *text = metrics_render(f->reg, &len);
    assert_null(strstr(text, "secret"));
    assert_null(strstr(text, "BREW"));
    free(text);
    close(fd);
    assert_true(metrics_eventually_contain(f->reg, "horus_http_connections 0\n"));
}

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static void test_access_log_has_one_line_without_the_query_string(void **state)
{
    struct fixture *f = *state;
    char path[] = "/tmp/horus-http-test-XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    close(tmp);
    assert_int_equal(log_open(&(struct log_options){
                         .level = LOG_LEVEL_INFO, .format = LOG_FORMAT_JSON, .file = path}),
                     0);
    struct resp r;
    request_once(f, "GET /api/v1/cameras/cam1?token=s3cr3t HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 200);
    size_t body_len = r.body_len;
    resp_release(&r);

    char *text = NULL;
    for (int i = 0; i < 3000; i++) {
        free(text);
        text = read_file(path);
        if (text && strstr(text, "\"module\":\"access\""))
            break;
        sleep_ms(1);
    }
    log_close();
    unlink(path);
    assert_non_null(text);
    const char *line = strstr(text, "\"module\":\"access\"");
    if (!line)
        fprintf(stderr, "log:\n%s\n", text);
    assert_non_null(line);
    char bytes[64];
    snprintf(bytes, sizeof(bytes), "\"bytes\":\"%zu\"", body_len);
    assert_non_null(strstr(line, "\"method\":\"GET\""));
    assert_non_null(strstr(line, "\"path\":\"/api/v1/cameras/cam1\""));
    assert_non_null(strstr(line, "\"status\":\"200\""));
    assert_non_null(strstr(line, bytes));
    assert_non_null(strstr(line, "\"duration_ms\":\""));
    assert_non_null(strstr(line, "\"remote\":\"127.0.0.1\""));
    assert_null(strstr(text, "s3cr3t"));
    free(text);
}

static void test_client_that_disconnects_mid_response_does_no_harm(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 3; i++) {
        int fd = client_connect(f->port);
        int rcvbuf = 4096;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        send_text(fd, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
        char buf[512];
        assert_true(recv(fd, buf, sizeof(buf), 0) > 0);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        close(fd);
    }
    struct resp r;
    request_once(f, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    assert_true(metrics_eventually_contain(f->reg, "horus_http_connections 0\n"));
}

static void test_client_that_disconnects_mid_request_does_no_harm(void **state)
{
    struct fixture *f = *state;
    const char *partial[] = {
        "GET /heal",
        "GET /health HTTP/1.1\r\nHost: x\r\n",
        "POST /api/v1/cameras HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":",
        "POST /text HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    };
    for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
        int fd = client_connect(f->port);
        send_text(fd, partial[i]);
        close(fd);
    }
    struct resp r;
    request_once(f, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);
}

static void test_malformed_requests_do_not_crash_the_server(void **state)
{
    struct fixture *f = *state;
    char *huge_header = malloc(70000);
    strcpy(huge_header, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ");
    size_t off = strlen(huge_header);
    memset(huge_header + off, 'b', 65000);
    strcpy(huge_header + off + 65000, "\r\n\r\n");
    const char *bad[] = {
        "\x01\x02\x03 garbage\r\n\r\n",
        "GET\r\n\r\n",
        "G(T /health HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
        "GET /health HTTP/1.1\r\nNoColonHeader\r\n\r\n",
        "GET http://example.com/health HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /health?%zz=%00&&=&a=%ff HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        huge_header,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int fd = client_connect(f->port);
        send(fd, bad[i], strlen(bad[i]), MSG_NOSIGNAL);
        struct resp r;
        if (read_response(fd, false, &r) == 0) {
            assert_true(r.status >= 200 && r.status < 600);
            if (r.status == 404)
                assert_error_body(&r, "not_found", "no route");
            resp_release(&r);
        }
        close(fd);
    }
    free(huge_header);

    /* A GET with a body is served; the body is read and ignored. */
    struct resp r;
    request_once(f, "GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", false, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    request_once(f, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);
}

static void test_http10_request_is_answered_and_closed(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    send_text(fd, "GET /health HTTP/1.0\r\n\r\n");
    struct resp r;
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    resp_release(&r);
    assert_true(peer_closed(fd));
    close(fd);
}

static void test_server_rejects_bad_listen_addresses(void **state)
{
    const char *bad[] = {"nope",     "127.0.0.1", "127.0.0.1:", ":8080",         "127.0.0.1:99999",
                         "::1:8080", "[::1]8080", "[::1",       "127.0.0.1:80a", "[127.0.0.1]:80"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        http_server *s = (http_server *)(uintptr_t)1;
        assert_int_equal(http_server_new(&(struct http_server_options){.listen = bad[i]}, &s),
                         -EINVAL);
        assert_ptr_equal(s, (http_server *)(uintptr_t)1);
    }
    http_server_free(NULL);
}

static void test_busy_port_is_eaddrinuse(void **state)
{
    struct fixture *f = *state;
    char listen[32];
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", f->port);
    http_server *s;
    assert_int_equal(http_server_new(&(struct http_server_options){.listen = listen}, &s), 0);
    assert_int_equal(http_server_start(s), -EADDRINUSE);
    assert_int_equal(http_server_port(s), 0);
    http_server_free(s);
    assert_int_equal(http_server_start(f->srv), -EALREADY);
}

static void test_ipv6_loopback_listens_on_an_ephemeral_port(void **state)
{
    http_server *s;
    assert_int_equal(
        http_server_new(&(struct http_server_options){.listen = "[::1]:0", .threads = 1}, &s), 0);
    assert_int_equal(http_router_add(http_server_router(s), "GET", "/health", h_health, NULL), 0);
    int rc = http_server_start(s);
    if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT) {
        http_server_free(s);
        skip();
    }
    assert_int_equal(rc, 0);
    unsigned port = http_server_port(s);
    assert_true(port > 0);
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
                              .sin6_port = htons((uint16_t)port),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    send_text(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    struct resp r;
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    close(fd);
    http_server_free(s);
}

static void test_server_stops_with_connections_open(void **state)
{
    struct fixture *f = *state;
    int idle = client_connect(f->port);
    int partial = client_connect(f->port);
    send_text(idle, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    struct resp r;
    assert_int_equal(read_response(idle, false, &r), 0);
    resp_release(&r);
    send_text(partial, "POST /text HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab");
    http_server_stop(f->srv);
    assert_true(peer_closed(idle));
    assert_true(peer_closed(partial));
    close(idle);
    close(partial);
    assert_int_equal(http_server_port(f->srv), 0);
}

static void test_deferred_reply_from_another_thread_keeps_the_connection(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    for (int i = 0; i < 2; i++) {
        send_text(fd, "GET /defer HTTP/1.1\r\nHost: x\r\n\r\n");
        http_deferred *d = take_parked();
        assert_non_null(d);
        /* Nothing is sent while the request waits. */
        char c;
        assert_int_equal(recv(fd, &c, 1, MSG_DONTWAIT), -1);
        http_deferred_header(d, "X-After", "2");
        assert_int_equal(http_deferred_reply(d, 200, "text/plain", "later", 5), 0);
        struct resp r;
        assert_int_equal(read_response(fd, false, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "later");
        assert_string_equal(resp_header(&r, "Content-Type"), "text/plain");
        assert_string_equal(resp_header(&r, "X-Before"), "1");
        assert_string_equal(resp_header(&r, "X-After"), "2");
        resp_release(&r);
    }
    /* Keep-alive goes on with an ordinary request. */
    send_text(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    struct resp r;
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    close(fd);
    assert_true(metrics_eventually_contain(
        f->reg, "horus_http_requests_total{route=\"/defer\",method=\"GET\",code=\"200\"} 2"));
    assert_true(metrics_eventually_contain(
        f->reg, "horus_http_request_duration_seconds_count{route=\"/defer\",method=\"GET\"} 2"));
}

static void test_deferred_reply_before_the_handler_returns_and_errors(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    send_text(fd, "GET /defer?inline=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    struct resp r;
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "inline");
    resp_release(&r);
    /* Deferred and then failed: the handler's error is the answer. */
    send_text(fd, "GET /defer?fail=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 409);
    resp_release(&r);
    /* An error reply from another thread goes through the mapper. */
    send_text(fd, "GET /defer HTTP/1.1\r\nHost: x\r\n\r\n");
    http_deferred *d = take_parked();
    assert_non_null(d);
    assert_int_equal(http_deferred_reply_error(d, -ENOENT, "part %d is gone", 7), 0);
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 404);
    assert_error_body(&r, "not_found", "part 7 is gone");
    resp_release(&r);
    close(fd);
}

static void test_client_that_leaves_while_deferred_is_noticed(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    send_text(fd, "GET /defer HTTP/1.1\r\nHost: x\r\n\r\n");
    http_deferred *d = take_parked();
    assert_non_null(d);
    close(fd);
    assert_true(wait_ends(HTTP_DEFER_CLIENT_GONE, 1));
    /* The owner still holds its handle; replying now sends nothing. */
    assert_int_equal(http_deferred_reply(d, 200, "text/plain", "late", 4), -ECANCELED);
    /* The server is fine. */
    struct resp r;
    request_once(f, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);
}

static void test_deferred_request_past_its_deadline_gets_503(void **state)
{
    struct fixture *f = *state;
    int fd = client_connect(f->port);
    int64_t t0 = clock_monotonic_ns(clock_system());
    send_text(fd, "GET /defer?timeout=150 HTTP/1.1\r\nHost: x\r\n\r\n");
    http_deferred *d = take_parked();
    assert_non_null(d);
    struct resp r;
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_true(clock_monotonic_ns(clock_system()) - t0 >= 150000000);
    assert_int_equal(r.status, 503);
    assert_error_body(&r, "unavailable", "deadline");
    resp_release(&r);
    assert_true(wait_ends(HTTP_DEFER_TIMEOUT, 1));
    http_deferred_release(d);
    /* The connection stays usable. */
    send_text(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(read_response(fd, false, &r), 0);
    assert_int_equal(r.status, 200);
    resp_release(&r);
    close(fd);
}

static void test_server_stop_answers_every_deferred_request(void **state)
{
    struct fixture *f = *state;
    pthread_mutex_lock(&parked.lock);
    parked.is_auto_release = true;
    pthread_mutex_unlock(&parked.lock);
    int fds[5];
    for (int i = 0; i < 5; i++) {
        fds[i] = client_connect(f->port);
        send_text(fds[i], "GET /defer HTTP/1.1\r\nHost: x\r\n\r\n");
    }
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&parked.lock);
        unsigned n = parked.nwaiting;
        pthread_mutex_unlock(&parked.lock);
        if (n == 5)
            break;
        sleep_ms(5);
    }
    http_server_stop(f->srv); /* must not hang on the suspended connections */
    assert_true(wait_ends(HTTP_DEFER_SERVER_STOP, 5));
    for (int i = 0; i < 5; i++) {
        struct resp r;
        assert_int_equal(read_response(fds[i], false, &r), 0);
        assert_int_equal(r.status, 503);
        resp_release(&r);
        close(fds[i]);
    }
    pthread_mutex_lock(&parked.lock);
    assert_int_equal(parked.nwaiting, 0); /* end_cb gave every handle back */
    pthread_mutex_unlock(&parked.lock);
}

struct racer {
    unsigned port;
    atomic_int done;
    /* Results of the replier thread, checked after the join (cmocka asserts longjmp). */
    atomic_uint replies, unexpected;
    atomic_int unexpected_rc;
};

static void *race_replier(void *arg)
{
    struct racer *rc = arg;
    unsigned i = 0;
    while (!atomic_load(&rc->done)) {
        http_deferred *d = NULL;
        pthread_mutex_lock(&parked.lock);
        if (parked.nwaiting)
            d = parked.waiting[--parked.nwaiting];
        pthread_mutex_unlock(&parked.lock);
        if (!d) {
            sleep_ms(0);
            continue;
        }
        if (i++ % 3)
            sleep_ms(i % 2);
        int r = http_deferred_reply(d, 200, "text/plain", "ok", 2);
        atomic_fetch_add(&rc->replies, 1);
        if (r != 0 && r != -ECANCELED) {
            atomic_fetch_add(&rc->unexpected, 1);
            atomic_store(&rc->unexpected_rc, r);
        }
    }
    return NULL;
}

static void test_replies_racing_with_disconnects_do_no_harm(void **state)
{
    struct fixture *f = *state;
    struct racer rc = {.port = f->port};
    pthread_mutex_lock(&parked.lock);
    parked.is_auto_release = true; /* handles of clients that left are given back */
    pthread_mutex_unlock(&parked.lock);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, race_replier, &rc), 0);
    for (int i = 0; i < 200; i++) {
        int fd = client_connect(f->port);
        send_text(fd, "GET /defer HTTP/1.1\r\nHost: x\r\n\r\n");
        if (i % 2) {
            struct resp r;
            assert_int_equal(read_response(fd, false, &r), 0);
            assert_int_equal(r.status, 200);
            resp_release(&r);
        } else if (i % 4 == 0) {
            sleep_ms(1);
        }
        close(fd);
    }
    /* Wait until every request was answered or noticed gone, then stop cleanly. */
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&parked.lock);
        unsigned n = parked.nwaiting;
        pthread_mutex_unlock(&parked.lock);
        if (!n)
            break;
        sleep_ms(5);
    }
    atomic_store(&rc.done, 1);
    assert_int_equal(pthread_join(t, NULL), 0);
    /* Every reply either went out or found its client gone; the odd ones were answered. */
    assert_int_equal(atomic_load(&rc.unexpected), 0);
    assert_int_equal(atomic_load(&rc.unexpected_rc), 0);
    assert_true(atomic_load(&rc.replies) >= 100);
    struct resp r;
    request_once(f, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", false, &r);
    assert_int_equal(r.status, 200);
    resp_release(&r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_two_requests_share_one_keep_alive_connection),
        T(test_pipelined_requests_are_answered_in_order),
        T(test_unknown_route_replies_404_json_through_the_mapper),
        T(test_the_gate_runs_before_the_handler_and_its_principal_is_freed),
        T(test_trailing_slash_is_not_found),
        T(test_wrong_method_replies_405_with_allow),
        T(test_body_over_the_limit_replies_413_and_closes),
        T(test_chunked_body_over_the_limit_is_drained_then_413),
        T(test_chunked_body_under_the_limit_reaches_the_handler),
        T(test_malformed_json_replies_400_naming_line_and_column),
        T(test_json_that_is_not_an_object_replies_400),
        T(test_json_object_body_reaches_the_handler_whatever_the_content_type),
        T(test_params_and_query_are_percent_decoded),
        T(test_bad_escapes_and_dot_segments_reply_400),
        T(test_overlong_path_replies_400_and_keeps_the_connection),
        T(test_head_is_served_by_get_without_a_body),
        T(test_handler_error_codes_go_through_the_mapper),
        T(test_errors_map_to_500_internal_without_a_mapper),
        T(test_handler_that_does_not_reply_gets_500),
        T(test_handler_headers_are_sent_and_override_cache_control),
        T(test_metrics_count_requests_by_route_template),
        T(test_access_log_has_one_line_without_the_query_string),
        T(test_client_that_disconnects_mid_response_does_no_harm),
        T(test_client_that_disconnects_mid_request_does_no_harm),
        T(test_malformed_requests_do_not_crash_the_server),
        T(test_http10_request_is_answered_and_closed),
        cmocka_unit_test(test_server_rejects_bad_listen_addresses),
        T(test_busy_port_is_eaddrinuse),
        cmocka_unit_test(test_ipv6_loopback_listens_on_an_ephemeral_port),
        T(test_server_stops_with_connections_open),
        T(test_deferred_reply_from_another_thread_keeps_the_connection),
        T(test_deferred_reply_before_the_handler_returns_and_errors),
        T(test_client_that_leaves_while_deferred_is_noticed),
        T(test_deferred_request_past_its_deadline_gets_503),
        T(test_server_stop_answers_every_deferred_request),
        T(test_replies_racing_with_disconnects_do_no_harm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
