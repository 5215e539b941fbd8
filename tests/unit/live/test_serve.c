/*
 * Tests for src/live/serve.c over real sockets: a core HTTP server whose
 * routes call the live_serve_* functions, fake parts published from the
 * test thread as the recorder would. Blocking reloads answered when the
 * part appears (and not before), requests too far ahead refused, the
 * preload-hinted part, whole segments and init segments by reference,
 * clients that leave while waiting, detach and server stop with waiters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "err.h"
#include "live_fake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct fixture {
    metrics_registry *reg;
    live_hub *hub;
    http_server *srv;
    unsigned port;
    media_part_sink *sink;
    struct live_stream *s;
    struct fake_src src;
};

static struct http_error_map mapper(int rc)
{
    switch (rc) {
    case -ENOENT:
        return (struct http_error_map){.status = 404, .code = "not_found"};
    case -EINVAL:
        return (struct http_error_map){.status = 400, .code = "invalid"};
    case HORUS_EUNAVAIL:
    case HORUS_ESTOPPED:
        return (struct http_error_map){.status = 503, .code = "unavailable"};
    default:
        return (struct http_error_map){.status = 500, .code = "internal"};
    }
}

static int64_t query_int(http_request *req, const char *name)
{
    const char *v = http_request_query(req, name);
    return v ? strtoll(v, NULL, 10) : -1;
}

static const char *stream_of(http_request *req)
{
    const char *s = http_request_query(req, "stream");
    return s ? s : "main";
}

static int not_found(http_request *req, int rc)
{
    if (rc == -ENOENT)
        return http_reply_error(req, -ENOENT, "no live media");
    return rc;
}

/* The viewer's start from base_msn and base_us, as the API passes it. */
static struct live_view view_of(http_request *req)
{
    int64_t msn = query_int(req, "base_msn"), us = query_int(req, "base_us");
    return (struct live_view){
        .is_set = msn >= 0, .msn = (uint64_t)(msn < 0 ? 0 : msn), .base_us = us < 0 ? 0 : us};
}

static int h_playlist(http_request *req, void *arg)
{
    struct live_view v = view_of(req);
    return not_found(
        req, live_serve_playlist(arg, req, http_request_param(req, "cam"), stream_of(req),
                                 http_request_query(req, "legacy"), query_int(req, "_HLS_msn"),
                                 query_int(req, "_HLS_part"), http_request_query(req, "tok"), &v));
}

static int h_part(http_request *req, void *arg)
{
    struct live_view v = view_of(req);
    return not_found(req, live_serve_part(arg, req, http_request_param(req, "cam"), stream_of(req),
                                          http_request_param(req, "name"), &v));
}

static int h_segment(http_request *req, void *arg)
{
    struct live_view v = view_of(req);
    return not_found(req, live_serve_segment(arg, req, http_request_param(req, "cam"),
                                             stream_of(req), http_request_param(req, "name"), &v));
}

static int h_init(http_request *req, void *arg)
{
    return not_found(req, live_serve_init(arg, req, http_request_param(req, "cam"), stream_of(req),
                                          http_request_param(req, "name")));
}

/* The token source of the tests: "<tok>-<camera>-<stream>". */
static int issue_token(void *arg, const char *camera, const char *stream, char *out, size_t cap)
{
    return snprintf(out, cap, "%s-%s-%s", (const char *)arg, camera, stream);
}

static int h_master(http_request *req, void *arg)
{
    const char *tok = http_request_query(req, "tok");
    struct live_token_source src = {.issue = issue_token, .arg = (void *)tok};
    return not_found(
        req, live_serve_master(arg, req, http_request_param(req, "cam"), tok ? &src : NULL));
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->reg = metrics_registry_new();
    struct live_hub_options o = {
        .part_target_ms = 200, .segment_target_ms = 1000, .segments_kept = 3, .metrics = f->reg};
    assert_int_equal(live_hub_new(&o, &f->hub), 0);
    assert_int_equal(live_hub_start(f->hub), 0);
    f->sink = live_hub_attach(f->hub, "cam1", "main");
    f->s = live_hub_find(f->hub, "cam1", "main");
    live_camera_seen(f->s->cam, "127.0.0.1", clock_monotonic_ns(clock_system()));
    fake_src_init(&f->src, 1, 'a');
    assert_int_equal(
        http_server_new(
            &(struct http_server_options){.listen = "127.0.0.1:0", .threads = 2, .metrics = f->reg},
            &f->srv),
        0);
    http_router *r = http_server_router(f->srv);
    http_router_set_error_mapper(r, mapper);
    assert_int_equal(http_router_add(r, "GET", "/live/{cam}/index.m3u8", h_playlist, f->hub), 0);
    assert_int_equal(http_router_add(r, "GET", "/live/{cam}/master.m3u8", h_master, f->hub), 0);
    assert_int_equal(http_router_add(r, "GET", "/live/{cam}/part/{name}", h_part, f->hub), 0);
    assert_int_equal(http_router_add(r, "GET", "/live/{cam}/segment/{name}", h_segment, f->hub), 0);
    assert_int_equal(http_router_add(r, "GET", "/live/{cam}/init/{name}", h_init, f->hub), 0);
    assert_int_equal(http_server_start(f->srv), 0);
    f->port = http_server_port(f->srv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    http_server_free(f->srv); /* stops first: waiters are answered and unparked */
    live_hub_stop(f->hub);
    live_hub_free(f->hub);
    fake_src_release(&f->src);
    metrics_registry_free(f->reg);
    free(f);
    assert_int_equal(media_live_parts(), 0);
    assert_int_equal(media_live_inits(), 0);
    assert_int_equal(live_live_blobs(), 0);
    return 0;
}

/* ---- a tiny client ---- */

struct resp {
    int status;
    char head[4096];
    char *body;
    size_t len;
};

static int client_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void send_get(int fd, const char *path)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
}

static const char *header(const struct resp *r, const char *name)
{
    static char v[256];
    const char *p = r->head;
    size_t n = strlen(name);
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *e = strstr(p, "\r\n");
            snprintf(v, sizeof(v), "%.*s", (int)(e - p - n - 2), p + n + 2);
            return v;
        }
    }
    return NULL;
}

static void read_resp(int fd, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        ssize_t n = recv(fd, r->head + len, 1, 0);
        assert_true(n == 1);
        len++;
        r->head[len] = '\0';
        end = strstr(r->head, "\r\n\r\n");
        assert_true(len < sizeof(r->head) - 1);
    }
    assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    const char *cl = header(r, "Content-Length");
    r->len = cl ? strtoull(cl, NULL, 10) : 0;
    r->body = malloc(r->len + 1);
    size_t got = 0;
    while (got < r->len) {
        ssize_t n = recv(fd, r->body + got, r->len - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
    r->body[r->len] = '\0';
}

static void get(struct fixture *f, const char *path, struct resp *r)
{
    int fd = client_connect(f->port);
    send_get(fd, path);
    read_resp(fd, r);
    close(fd);
}

static bool readable_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits until the stream has n parked waiters. */
static bool waiters_become(struct live_stream *s, size_t n)
{
    for (int i = 0; i < 2000; i++) {
        size_t k = 0;
        pthread_mutex_lock(&s->lock);
        for (struct live_waiter *w = s->waiters; w; w = w->next)
            k++;
        pthread_mutex_unlock(&s->lock);
        if (k == n)
            return true;
        sleep_ms(1);
    }
    return false;
}

static char *path_of(struct fixture *f, const char *kind, uint64_t n, const char *ext)
{
    static char p[256];
    snprintf(p, sizeof(p), "/live/cam1/%s/%s-%llu%s", kind, f->hub->run, (unsigned long long)n,
             ext);
    return p;
}

/* ---- tests ---- */

static void test_playlist_and_media_are_served_with_their_types(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    get(f, "/live/cam1/index.m3u8", &r);
    assert_int_equal(r.status, 404); /* attached, no media yet */
    free(r.body);
    fake_publish(&f->src, f->sink, 12);
    get(f, "/live/cam1/index.m3u8", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"), "application/vnd.apple.mpegurl");
    assert_string_equal(header(&r, "Cache-Control"), "no-cache");
    assert_non_null(strstr(r.body, "#EXT-X-PART:DURATION=0.20000"));
    free(r.body);

    get(f, path_of(f, "part", 3, ".m4s"), &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"), "video/iso.segment");
    assert_non_null(strstr(header(&r, "Cache-Control"), "immutable"));
    assert_string_equal(r.body, "moof+mdat of part 3");
    free(r.body);

    get(f, path_of(f, "init", 1, ".mp4"), &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(header(&r, "Content-Type"), "video/mp4");
    assert_memory_equal(r.body, f->src.init->data, f->src.init->size);
    free(r.body);

    /* A whole segment is its parts back to back; twice from the cache. */
    for (int i = 0; i < 2; i++) {
        get(f, path_of(f, "segment", 0, ".m4s"), &r);
        assert_int_equal(r.status, 200);
        assert_true(strncmp(r.body, "moof+mdat of part 0moof+mdat of part 1", 38) == 0);
        assert_non_null(strstr(r.body, "part 4"));
        assert_null(strstr(r.body, "part 5"));
        free(r.body);
    }
    get(f, path_of(f, "segment", 2, ".m4s"), &r); /* open */
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "not complete yet"));
    free(r.body);
    get(f, "/live/cam1/part/1234-5.m4s", &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "earlier run"));
    free(r.body);
    get(f, path_of(f, "part", 99, ".m4s"), &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "does not exist yet"));
    free(r.body);
    get(f, "/live/cam1/index.m3u8?legacy=1", &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.body, "#EXT-X-PART"));
    free(r.body);
    get(f, "/live/cam1/master.m3u8", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(
        strstr(r.body, "CODECS=\"avc1.64001e\",RESOLUTION=640x360\nindex.m3u8?base_msn="));
    free(r.body);
    get(f, "/live/nope/index.m3u8", &r);
    assert_int_equal(r.status, 404);
    free(r.body);
}

static void test_blocking_reload_returns_when_the_part_is_published(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 7); /* segment 0 holds parts 0..4, segment 1 parts 0..1 */
    int fd = client_connect(f->port);
    send_get(fd, "/live/cam1/index.m3u8?_HLS_msn=1&_HLS_part=2");
    assert_true(waiters_become(f->s, 1));
    assert_false(readable_within(fd, 100)); /* not before the part exists */
    fake_publish(&f->src, f->sink, 1);
    assert_true(readable_within(fd, 2000));
    struct resp r;
    read_resp(fd, &r);
    assert_int_equal(r.status, 200);
    char want[128];
    snprintf(want, sizeof(want), "URI=\"part/%s-7.m4s\"", f->hub->run);
    assert_non_null(strstr(r.body, want));
    free(r.body);
    /* Already there: answered at once, on the same connection. */
    send_get(fd, "/live/cam1/index.m3u8?_HLS_msn=0");
    read_resp(fd, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    close(fd);
    assert_true(waiters_become(f->s, 0));
}

static void test_blocking_reload_too_far_ahead_is_refused(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 7); /* last msn 1 */
    struct resp r;
    get(f, "/live/cam1/index.m3u8?_HLS_msn=4", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "_HLS_msn=4"));
    free(r.body);
    get(f, "/live/cam1/index.m3u8?_HLS_msn=6&_HLS_part=0", &r);
    assert_int_equal(r.status, 400);
    free(r.body);
}

static void test_blocking_reload_times_out_with_503(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 3);
    /* Target duration 1 s: the wait ends after 3 s. */
    struct resp r;
    get(f, "/live/cam1/index.m3u8?_HLS_msn=2", &r);
    assert_int_equal(r.status, 503);
    free(r.body);
    assert_true(waiters_become(f->s, 0));
}

static void test_preload_hinted_part_is_answered_when_published(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 3);
    int fd = client_connect(f->port);
    send_get(fd, path_of(f, "part", 3, ".m4s"));
    assert_true(waiters_become(f->s, 1));
    assert_false(readable_within(fd, 50));
    fake_publish(&f->src, f->sink, 1);
    struct resp r;
    read_resp(fd, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "moof+mdat of part 3");
    free(r.body);
    close(fd);
}

static void test_client_leaving_during_a_blocking_reload_is_unparked(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 3);
    for (int i = 0; i < 3; i++) {
        int fd = client_connect(f->port);
        send_get(fd, "/live/cam1/index.m3u8?_HLS_msn=1&_HLS_part=0");
        assert_true(waiters_become(f->s, 1));
        close(fd);
        assert_true(waiters_become(f->s, 0));
    }
    fake_publish(&f->src, f->sink, 5);
    struct resp r;
    get(f, "/live/cam1/index.m3u8", &r);
    assert_int_equal(r.status, 200);
    free(r.body);
}

static void test_detach_and_stop_answer_the_waiters(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 3);
    int a = client_connect(f->port), b = client_connect(f->port);
    send_get(a, "/live/cam1/index.m3u8?_HLS_msn=2");
    send_get(b, path_of(f, "part", 3, ".m4s"));
    assert_true(waiters_become(f->s, 2));
    live_hub_detach(f->hub, "cam1", "main");
    struct resp r;
    read_resp(a, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "stopped"));
    free(r.body);
    read_resp(b, &r);
    assert_int_equal(r.status, 404);
    free(r.body);
    close(a);
    close(b);

    f->sink = live_hub_attach(f->hub, "cam1", "main");
    f->src.n = 0;
    fake_publish(&f->src, f->sink, 3);
    int c = client_connect(f->port);
    send_get(c, "/live/cam1/index.m3u8?_HLS_msn=3");
    assert_true(waiters_become(f->s, 1));
    http_server_stop(f->srv);
    read_resp(c, &r);
    assert_int_equal(r.status, 503);
    free(r.body);
    close(c);
    assert_true(waiters_become(f->s, 0));
}

static void test_many_waiters_share_one_wakeup(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 3);
    enum { N = 40 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = client_connect(f->port);
        send_get(fds[i], "/live/cam1/index.m3u8?_HLS_msn=0&_HLS_part=3");
    }
    assert_true(waiters_become(f->s, N));
    fake_publish(&f->src, f->sink, 1);
    for (int i = 0; i < N; i++) {
        struct resp r;
        read_resp(fds[i], &r);
        assert_int_equal(r.status, 200);
        free(r.body);
        close(fds[i]);
    }
    size_t len;
    char *text = metrics_render(f->reg, &len);
    assert_non_null(strstr(text, "horus_live_blocking_requests_total{result=\"woken\"} 40"));
    assert_non_null(strstr(text, "horus_live_part_delay_seconds_count{camera=\"cam1\","));
    free(text);
}

/*
 * Asserts that every URI of a playlist (a line that is not a tag, and
 * every URI="..." attribute) ends with query, and that there are some.
 */
static void assert_every_uri_ends_with(const char *body, const char *query)
{
    size_t uris = 0, qlen = strlen(query);
    for (const char *line = body; *line;) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        char buf[512];
        assert_true(n < sizeof(buf));
        memcpy(buf, line, n);
        buf[n] = '\0';
        if (buf[0] == '#') {
            for (char *u = strstr(buf, "URI=\""); u; u = strstr(u, "URI=\"")) {
                u += 5;
                char *end = strchr(u, '"');
                assert_non_null(end);
                *end = '\0';
                if (strlen(u) < qlen || strcmp(u + strlen(u) - qlen, query) != 0)
                    fail_msg("URI '%s' does not end with '%s'", u, query);
                uris++;
                u = end + 1;
            }
        } else if (n) {
            if (n < qlen || strcmp(buf + n - qlen, query) != 0)
                fail_msg("URI '%s' does not end with '%s'", buf, query);
            uris++;
        }
        line += n + (eol ? 1 : 0);
    }
    assert_true(uris > 0);
}

static void test_a_token_reaches_every_uri_of_every_playlist(void **state)
{
    struct fixture *f = *state;
    media_part_sink *sub = live_hub_attach(f->hub, "cam1", "sub");
    struct fake_src sub_src;
    fake_src_init(&sub_src, 1, 's');
    fake_publish(&sub_src, sub, 12);
    fake_publish(&f->src, f->sink, 12); /* complete segments, parts, a preload hint */
    struct resp r;
    get(f, "/live/cam1/index.m3u8?tok=Ab-9_z.~", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "#EXT-X-MAP:URI="));
    assert_non_null(strstr(r.body, "#EXT-X-PRELOAD-HINT"));
    assert_non_null(strstr(r.body, "\nsegment/"));
    assert_every_uri_ends_with(r.body, "?t=Ab-9_z.~");
    free(r.body);
    get(f, "/live/cam1/index.m3u8?tok=Ab-9_z.~&legacy=1", &r);
    assert_int_equal(r.status, 200);
    assert_every_uri_ends_with(r.body, "?t=Ab-9_z.~");
    free(r.body);
    get(f, "/live/cam1/index.m3u8?stream=sub&tok=xyz", &r);
    assert_int_equal(r.status, 200);
    assert_every_uri_ends_with(r.body, "?stream=sub&t=xyz");
    free(r.body);
    /* Without a token the URIs are what they always were. */
    get(f, "/live/cam1/index.m3u8", &r);
    assert_null(strstr(r.body, "t="));
    free(r.body);
    /* The multivariant playlist: each variant with its own stream's token. */
    get(f, "/live/cam1/master.m3u8?tok=m", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\nindex.m3u8?t=m-cam1-main&base_msn="));
    assert_non_null(strstr(r.body, "\nindex.m3u8?stream=sub&t=m-cam1-sub&base_msn="));
    free(r.body);
    /* A blocking reload answered at once carries it too. */
    get(f, "/live/cam1/index.m3u8?_HLS_msn=0&tok=now", &r);
    assert_int_equal(r.status, 200);
    assert_every_uri_ends_with(r.body, "?t=now");
    free(r.body);
    fake_src_release(&sub_src);
}

static void test_waiters_get_the_playlist_of_their_own_token(void **state)
{
    struct fixture *f = *state;
    fake_publish(&f->src, f->sink, 3);
    static const char *paths[] = {
        "/live/cam1/index.m3u8?_HLS_msn=0&_HLS_part=3&tok=win1",
        "/live/cam1/index.m3u8?_HLS_msn=0&_HLS_part=3&tok=win2",
        "/live/cam1/index.m3u8?_HLS_msn=0&_HLS_part=3&tok=win1",
        "/live/cam1/index.m3u8?_HLS_msn=0&_HLS_part=3",
        "/live/cam1/index.m3u8?_HLS_msn=0&_HLS_part=3&tok=win3",
        "/live/cam1/index.m3u8?_HLS_msn=0&_HLS_part=3&tok=win4",
        "/live/cam1/index.m3u8?_HLS_msn=0&_HLS_part=3&tok=win5", /* past FLUSH_RENDERS */
    };
    enum { N = sizeof(paths) / sizeof(paths[0]) };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = client_connect(f->port);
        send_get(fds[i], paths[i]);
    }
    assert_true(waiters_become(f->s, N));
    fake_publish(&f->src, f->sink, 1);
    char *bodies[N];
    for (int i = 0; i < N; i++) {
        struct resp r;
        read_resp(fds[i], &r);
        assert_int_equal(r.status, 200);
        const char *tok = strstr(paths[i], "tok=");
        char query[32];
        snprintf(query, sizeof(query), "?t=%s", tok ? tok + 4 : "");
        if (tok)
            assert_every_uri_ends_with(r.body, query);
        else
            assert_null(strstr(r.body, "t="));
        bodies[i] = r.body;
        close(fds[i]);
    }
    assert_string_equal(bodies[0], bodies[2]);
    assert_string_not_equal(bodies[0], bodies[1]);
    for (int i = 0; i < N; i++)
        free(bodies[i]);
}

/* The tfdt of the part at byte pos of a reply. */
static uint64_t tfdt_at(const struct resp *r, size_t pos)
{
    assert_true(r->len > pos + 68);
    return fake_tfdt(r->body + pos, r->len - pos);
}

static void test_a_viewer_gets_media_time_from_its_own_start(void **state)
{
    struct fixture *f = *state;
    f->src.is_fmp4 = true;
    fake_publish(&f->src, f->sink, 26); /* 1 s segments: 0..4 complete (2..4 kept), 5 open */
    struct resp r;
    /* A plain player starts three complete segments before the end (2, at 2 s); its view
     * starts a quarter second before that segment's first picture. */
    get(f, "/live/cam1/master.m3u8", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\nindex.m3u8?base_msn=2&base_us=1750000\n"));
    free(r.body);

    /* The playlist of a view lists from its segment on; every part and segment URI carries
     * it, the init's does not (it is the same for everyone). */
    const char *q = "?base_msn=3&base_us=2750000";
    get(f, "/live/cam1/index.m3u8?base_msn=3&base_us=2750000", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "#EXT-X-MEDIA-SEQUENCE:3\n"));
    char seg2[64];
    snprintf(seg2, sizeof(seg2), "segment/%s-2.m4s", f->hub->run);
    assert_null(strstr(r.body, seg2));
    assert_non_null(strstr(r.body, ".mp4\"\n"));
    char *map = strstr(r.body, "#EXT-X-MAP");
    char *after_map = strchr(map, '\n') + 1;
    assert_every_uri_ends_with(after_map, q);
    free(r.body);

    /* Part 15 starts segment 3, at 3 s: 0.25 s for the view, 3 s for everyone else. */
    char path[320];
    snprintf(path, sizeof(path), "%s%s", path_of(f, "part", 15, ".m4s"), q);
    get(f, path, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(tfdt_at(&r, 0), 22500);
    size_t part_len = r.len;
    free(r.body);
    get(f, path_of(f, "part", 15, ".m4s"), &r);
    assert_int_equal(tfdt_at(&r, 0), 270000);
    free(r.body);
    /* A whole segment: every part of it moved. */
    snprintf(path, sizeof(path), "%s%s", path_of(f, "segment", 3, ".m4s"), q);
    get(f, path, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(tfdt_at(&r, 0), 22500);
    assert_int_equal(tfdt_at(&r, part_len), 22500 + FAKE_PART_TICKS);
    free(r.body);
    /* A part from before the view's start (a camera restart's new timeline) goes as recorded. */
    snprintf(path, sizeof(path), "%s?base_msn=3&base_us=100000000", path_of(f, "part", 15, ".m4s"));
    get(f, path, &r);
    assert_int_equal(tfdt_at(&r, 0), 270000);
    free(r.body);
    /* A view from another run (its segment is not here yet): every segment is listed. */
    get(f, "/live/cam1/index.m3u8?base_msn=99&base_us=0", &r);
    assert_non_null(strstr(r.body, "#EXT-X-MEDIA-SEQUENCE:2\n"));
    free(r.body);

    /* Waiting requests keep their view: the hinted next part, and blocking reloads of two
     * views, each answered with its own. */
    int part_fd = client_connect(f->port);
    snprintf(path, sizeof(path), "%s%s", path_of(f, "part", 26, ".m4s"), q);
    send_get(part_fd, path);
    int a = client_connect(f->port), b = client_connect(f->port);
    send_get(a, "/live/cam1/index.m3u8?_HLS_msn=5&_HLS_part=1&base_msn=3&base_us=2750000");
    send_get(b, "/live/cam1/index.m3u8?_HLS_msn=5&_HLS_part=1&base_msn=4&base_us=3750000");
    assert_true(waiters_become(f->s, 3));
    fake_publish(&f->src, f->sink, 1);
    read_resp(part_fd, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(tfdt_at(&r, 0), 26 * FAKE_PART_TICKS - 247500);
    free(r.body);
    read_resp(a, &r);
    assert_non_null(strstr(r.body, "#EXT-X-MEDIA-SEQUENCE:3\n"));
    assert_every_uri_ends_with(strchr(strstr(r.body, "#EXT-X-MAP"), '\n') + 1, q);
    free(r.body);
    read_resp(b, &r);
    assert_non_null(strstr(r.body, "#EXT-X-MEDIA-SEQUENCE:4\n"));
    assert_every_uri_ends_with(strchr(strstr(r.body, "#EXT-X-MAP"), '\n') + 1,
                               "?base_msn=4&base_us=3750000");
    free(r.body);
    close(part_fd);
    close(a);
    close(b);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_playlist_and_media_are_served_with_their_types),
        T(test_blocking_reload_returns_when_the_part_is_published),
        T(test_blocking_reload_too_far_ahead_is_refused),
        T(test_blocking_reload_times_out_with_503),
        T(test_preload_hinted_part_is_answered_when_published),
        T(test_client_leaving_during_a_blocking_reload_is_unparked),
        T(test_detach_and_stop_answer_the_waiters),
        T(test_many_waiters_share_one_wakeup),
        T(test_a_token_reaches_every_uri_of_every_playlist),
        T(test_waiters_get_the_playlist_of_their_own_token),
        T(test_a_viewer_gets_media_time_from_its_own_start),
    };
    return cmocka_run_group_tests_name("live.serve", tests, NULL, NULL);
}
